//! Ingest: a durable JetStream consumer that stores agent batches in PostgreSQL.
//!
//! Owns the stream and consumer definitions and the ack discipline: a message is acknowledged only
//! after its transaction committed (or it was a duplicate, or it can never be stored). Malformed input
//! is rejected, logged and counted, and never stops the consumer. Must not run SQL itself: that is
//! the store's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use cwic_proto::Message as _;
use cwic_proto::agent::v1::{LineageBatch, MetricBatch};
use cwic_shared::subjects::{
    AGENT_STREAM, AGENT_STREAM_SUBJECTS, AgentSubject, AgentSubjectKind, LINEAGE_FILTER, METRICS_FILTER,
};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::lineage::{
    self,
    job::{DatasetRef, JobLineage, LineageOrigin},
};
use crate::store::{IncomingBatch, IngestOutcome, Store, StoreError};

/// The durable consumers that feed the store: one per kind of agent message, so slow lineage
/// parsing never delays metrics. Each is named `<prefix>-<installation id>`: replicas of one
/// installation share them (and split the work), another installation on the same broker has its
/// own and never takes this one's messages.
pub const INGEST_CONSUMER_PREFIX: &str = "cwic-ingest";
pub const LINEAGE_CONSUMER_PREFIX: &str = "cwic-lineage";
/// Deliveries of one message before it goes to the dead-letter store instead of being handled
/// again. A message that crashed the process (or timed out) on each of these is set aside on the
/// next, unread.
pub const MAX_DELIVERIES: i64 = 5;
/// Largest message accepted, by the stream and by the consumer: nats-server's default `max_payload`.
/// Agents split their batches to stay below it.
pub const MAX_MESSAGE_BYTES: i32 = 1024 * 1024;
/// How long the stream remembers message ids for deduplication. Resends after this window are
/// still dropped by the store's batch-id check.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(60 * 60);
/// How long agent traffic stays in the stream (for replay by new consumers).
const RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// How long an unacknowledged message waits before redelivery.
const ACK_WAIT: Duration = Duration::from_secs(60);
/// Redelivery delay after a database failure.
const RETRY_DELAY: Duration = Duration::from_secs(2);
/// Groups stored at the same time by one consumer.
const STORE_CONCURRENCY: usize = 2;
/// Most messages stored in one transaction.
const MAX_GROUP: usize = 200;
/// How long to wait for one more message while gathering a group: short, so a lone batch is
/// stored at once.
const GATHER_WAIT: Duration = Duration::from_millis(5);
/// How often the consumers' lag is read from the broker.
const LAG_INTERVAL: Duration = Duration::from_secs(5);
/// Delay before reconnecting the consumer after the message stream failed.
const RESUBSCRIBE_DELAY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot connect to the broker at {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("cannot set up the JetStream stream or consumer: {0}")]
    Setup(String),
}

/// Counters of what ingest did since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct IngestStats {
    pub batches_stored: AtomicU64,
    pub points_stored: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    pub store_failures: AtomicU64,
    pub lineage_batches_stored: AtomicU64,
    pub lineage_statements_unreadable: AtomicU64,
    /// Metric messages in the stream not yet stored (pending plus delivered-unacknowledged), as of
    /// the last look at the consumer.
    pub metrics_lag: AtomicU64,
    /// The same for lineage messages.
    pub lineage_lag: AtomicU64,
    /// Messages not stored, by tenant and kind (`invalid`, `dead_letter`).
    pub rejected_by_tenant: std::sync::Mutex<std::collections::BTreeMap<(String, &'static str), u64>>,
}

impl IngestStats {
    fn count_reject(&self, tenant: &str, kind: &'static str) {
        if let Ok(mut counts) = self.rejected_by_tenant.lock() {
            *counts.entry((tenant.to_owned(), kind)).or_default() += 1;
        }
    }

    /// Rejects by tenant and kind, for `/metrics`.
    pub fn rejects(&self) -> Vec<((String, &'static str), u64)> {
        self.rejected_by_tenant
            .lock()
            .map(|counts| counts.iter().map(|(key, count)| (key.clone(), *count)).collect())
            .unwrap_or_default()
    }
}

impl IngestService {
    /// The broker connection, shared with the API for commands to agents.
    pub fn client(&self) -> async_nats::Client {
        self.jetstream.client()
    }
}

pub struct IngestService {
    jetstream: jetstream::Context,
    store: Store,
    stats: Arc<IngestStats>,
    /// `cwic-ingest-<installation>`.
    metrics_consumer: String,
    /// `cwic-lineage-<installation>`.
    lineage_consumer: String,
}

/// What to do with one message after handling it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Disposition {
    Ack,
    /// Never deliverable (malformed, spoofed): acknowledge as terminated so it is not redelivered.
    Reject(String),
    /// Cannot be stored (refused by its own content, or delivered too often): kept in the
    /// dead-letter store with the reason, then terminated.
    DeadLetter(String),
    /// Storing this message failed by itself; ask for redelivery later.
    Retry,
    /// The store is unreachable: ask for redelivery, and pause the consumer until it is back.
    Unavailable,
}

/// A decoded metric batch waiting to be stored, with where it came from.
struct PendingBatch {
    index: usize,
    subject: AgentSubject,
    batch: MetricBatch,
    sequence: Option<u64>,
    deliveries: i64,
}

/// Whether the database refused what was sent (a data exception, a constraint, a limit), as
/// opposed to being unreachable: a refusal will repeat on every delivery.
fn refused_by_database(error: &StoreError) -> bool {
    match error {
        StoreError::InvalidBatch(_) => true,
        StoreError::Database(sqlx::Error::Database(database)) => database
            .code()
            .is_some_and(|code| code.starts_with("22") || code.starts_with("23") || code.starts_with("54")),
        _ => false,
    }
}

/// What becomes of a message whose storing failed with `error` on its `deliveries`-th delivery: a
/// batch our own checks refuse is set aside at once; one the database refuses is retried, then (on
/// the last delivery before the limit) set aside with the database's reason; an unreachable store
/// pauses the consumer.
fn after_failure(error: &StoreError, deliveries: i64) -> Disposition {
    if let StoreError::InvalidBatch(reason) = error {
        // Our own validation: it refuses the same way on every delivery.
        return Disposition::DeadLetter(format!("refused: {reason}"));
    }
    if !refused_by_database(error) {
        Disposition::Unavailable
    } else if deliveries >= MAX_DELIVERIES {
        Disposition::DeadLetter(format!(
            "refused by the database on each of {deliveries} deliveries: {error}"
        ))
    } else {
        Disposition::Retry
    }
}

/// A batch must name the tenant and agent it was published as: the broker's subject permissions
/// vouch for the subject, not for the body.
fn check_sender(tenant_id: &str, agent_id: &str, subject: &AgentSubject) -> Result<(), String> {
    if tenant_id == subject.tenant.as_str() && agent_id == subject.agent.as_str() {
        return Ok(());
    }
    Err(format!(
        "batch claims tenant `{tenant_id}` agent `{agent_id}` but was published as tenant `{}` agent `{}`",
        subject.tenant, subject.agent
    ))
}

impl IngestService {
    pub async fn connect(
        nats_url: &str,
        store: Store,
        stats: Arc<IngestStats>,
        installation: &str,
    ) -> Result<Self, IngestError> {
        Self::connect_with_options(
            nats_url,
            async_nats::ConnectOptions::new(),
            store,
            stats,
            installation,
        )
        .await
    }

    /// Like [`IngestService::connect`], starting from `options` (e.g. operator-mode credentials).
    pub async fn connect_with_options(
        nats_url: &str,
        options: async_nats::ConnectOptions,
        store: Store,
        stats: Arc<IngestStats>,
        installation: &str,
    ) -> Result<Self, IngestError> {
        let client = options
            .name("cwic-control-plane")
            .max_reconnects(None)
            .connect(nats_url)
            .await
            .map_err(|error| IngestError::Connect {
                url: nats_url.to_owned(),
                cause: error.to_string(),
            })?;
        let metrics_consumer = format!("{INGEST_CONSUMER_PREFIX}-{installation}");
        let lineage_consumer = format!("{LINEAGE_CONSUMER_PREFIX}-{installation}");
        info!(
            metrics_consumer,
            lineage_consumer, installation, "ingest reads these durable consumers"
        );
        Ok(Self {
            jetstream: jetstream::new(client),
            store,
            stats,
            metrics_consumer,
            lineage_consumer,
        })
    }

    /// Creates the agent stream and a durable consumer if they do not exist.
    async fn consumer(
        &self,
        name: &str,
        filter: &str,
    ) -> Result<jetstream::consumer::Consumer<pull::Config>, IngestError> {
        // Create, or bring an existing stream's definition up to date (e.g. its subjects).
        self.jetstream
            .create_or_update_stream(stream::Config {
                name: AGENT_STREAM.to_owned(),
                subjects: AGENT_STREAM_SUBJECTS
                    .iter()
                    .map(|subject| (*subject).to_owned())
                    .collect(),
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: RETENTION,
                max_message_size: MAX_MESSAGE_BYTES,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|error| IngestError::Setup(error.to_string()))?;
        let stream = self
            .jetstream
            .get_stream(AGENT_STREAM)
            .await
            .map_err(|error| IngestError::Setup(error.to_string()))?;
        stream
            .get_or_create_consumer(
                name,
                pull::Config {
                    durable_name: Some(name.to_owned()),
                    filter_subject: filter.to_owned(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    max_ack_pending: 1_000,
                    // A backstop: the handler dead-letters a message on delivery MAX_DELIVERIES + 1
                    // before reading it, so the broker should never have to give up on one.
                    max_deliver: MAX_DELIVERIES + 3,
                    ..Default::default()
                },
            )
            .await
            .map_err(|error| IngestError::Setup(error.to_string()))
    }

    /// Sets up the stream and consumers; call before [`IngestService::run`] so a broken broker fails
    /// start-up instead of a background task.
    pub async fn prepare(&self) -> Result<(), IngestError> {
        self.consumer(&self.metrics_consumer, METRICS_FILTER).await?;
        self.consumer(&self.lineage_consumer, LINEAGE_FILTER).await?;
        Ok(())
    }

    /// Consumes until cancelled. The messages being handled when cancellation arrives are finished
    /// first.
    pub async fn run(self, cancel: CancellationToken) {
        info!("ingest started");
        tokio::join!(
            self.consume(&self.metrics_consumer, METRICS_FILTER, &cancel),
            self.consume(&self.lineage_consumer, LINEAGE_FILTER, &cancel)
        );
        info!("ingest stopped");
    }

    async fn consume(&self, name: &str, filter: &str, cancel: &CancellationToken) {
        let lag = if name == self.metrics_consumer {
            &self.stats.metrics_lag
        } else {
            &self.stats.lineage_lag
        };
        while !cancel.is_cancelled() {
            let mut consumer = self.consumer(name, filter).await;
            let messages = match &consumer {
                Ok(consumer) => consumer.messages().await.map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            let mut lag_timer = tokio::time::interval(LAG_INTERVAL);
            lag_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut messages = match messages {
                Ok(messages) => messages,
                Err(error) => {
                    warn!(%error, consumer = name, "cannot subscribe to the consumer, retrying");
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        () = tokio::time::sleep(RESUBSCRIBE_DELAY) => continue,
                    }
                }
            };
            // Up to STORE_CONCURRENCY groups are stored at once (PostgreSQL uses a core per
            // transaction); the store's lock order keeps concurrent groups from deadlocking.
            let mut in_flight = FuturesUnordered::new();
            let mut store_down = false;
            loop {
                let next = tokio::select! {
                    () = cancel.cancelled() => break,
                    Some(unavailable) = in_flight.next(), if !in_flight.is_empty() => {
                        if unavailable {
                            store_down = true;
                            break;
                        }
                        continue;
                    }
                    _ = lag_timer.tick() => {
                        if let Ok(consumer) = &mut consumer
                            && let Ok(info) = consumer.info().await
                        {
                            lag.store(info.num_pending + info.num_ack_pending as u64, Ordering::Relaxed);
                        }
                        continue;
                    }
                    next = messages.next(), if in_flight.len() < STORE_CONCURRENCY => next,
                };
                match next {
                    Some(Ok(first)) => {
                        let mut group = vec![first];
                        // Take what is already waiting (up to a group), so one transaction stores many.
                        while group.len() < MAX_GROUP {
                            match tokio::time::timeout(GATHER_WAIT, messages.next()).await {
                                Ok(Some(Ok(message))) => group.push(message),
                                Ok(Some(Err(error))) => {
                                    warn!(%error, consumer = name, "message stream error");
                                    break;
                                }
                                Ok(None) | Err(_) => break,
                            }
                        }
                        in_flight.push(self.handle_group(group));
                    }
                    Some(Err(error)) => {
                        warn!(%error, consumer = name, "message stream error");
                        if matches!(error.kind(), pull::MessagesErrorKind::MissingHeartbeat) {
                            break;
                        }
                    }
                    None => break,
                }
            }
            // Finish (and settle) what was taken before leaving or resubscribing.
            while in_flight.next().await.is_some() {}
            drop(messages);
            // The database is unreachable: stop pulling (so waiting messages are not redelivered
            // over and over, each delivery counting towards the dead-letter limit) until it answers.
            if store_down {
                warn!(
                    consumer = name,
                    "the database is unreachable, ingest pauses until it answers"
                );
                loop {
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(RETRY_DELAY) => {}
                    }
                    if self.store.ping().await.is_ok() {
                        info!(consumer = name, "the database answers again, ingest resumes");
                        break;
                    }
                }
            }
        }
    }

    /// Handles a group of messages: metric batches are stored together in one transaction, lineage
    /// batches one by one; then every message is settled (ack, term or nak).
    async fn handle_group(&self, messages: Vec<jetstream::Message>) -> bool {
        let mut dispositions: Vec<Option<Disposition>> = vec![None; messages.len()];
        let mut metric_batches: Vec<PendingBatch> = Vec::new();
        for (index, message) in messages.iter().enumerate() {
            let info = message.info().ok();
            let deliveries = info.as_ref().map_or(1, |info| info.delivered);
            if deliveries > MAX_DELIVERIES {
                dispositions[index] = Some(Disposition::DeadLetter(format!(
                    "delivered {deliveries} times without being stored (the control plane may have stopped \
                     while handling it); set aside unread"
                )));
                continue;
            }
            let Some(subject) = AgentSubject::parse(&message.subject) else {
                dispositions[index] = Some(Disposition::Reject(
                    "subject is not cwic.<tenant>.agent.<agent>.<kind>".to_owned(),
                ));
                continue;
            };
            if message.payload.len() > MAX_MESSAGE_BYTES as usize {
                dispositions[index] = Some(Disposition::Reject(format!(
                    "payload of {} bytes is over the limit",
                    message.payload.len()
                )));
                continue;
            }
            match subject.kind {
                AgentSubjectKind::Metrics => match MetricBatch::decode(message.payload.as_ref()) {
                    Ok(batch) => match check_sender(&batch.tenant_id, &batch.agent_id, &subject) {
                        Ok(()) => {
                            let sequence = info.as_ref().map(|info| info.stream_sequence);
                            metric_batches.push(PendingBatch {
                                index,
                                subject,
                                batch,
                                sequence,
                                deliveries,
                            });
                        }
                        Err(reason) => dispositions[index] = Some(Disposition::Reject(reason)),
                    },
                    Err(error) => {
                        dispositions[index] = Some(Disposition::Reject(format!(
                            "payload is not a MetricBatch: {error}"
                        )));
                    }
                },
                AgentSubjectKind::Lineage => {
                    dispositions[index] = Some(self.store_lineage(message, &subject, deliveries).await)
                }
                other => {
                    dispositions[index] = Some(Disposition::Reject(format!(
                        "no ingest for `{}` messages",
                        other.as_str()
                    )));
                }
            }
        }
        if !metric_batches.is_empty() {
            for (index, disposition) in self.store_metrics(&metric_batches).await {
                dispositions[index] = Some(disposition);
            }
        }
        // A batch that failed by itself is retried on its own schedule (the nak's delay) and
        // delays no other; an unreachable store pauses the consumer (see `consume`).
        let mut unavailable = false;
        for (message, disposition) in messages.iter().zip(dispositions) {
            let disposition = disposition.unwrap_or(Disposition::Retry);
            unavailable |= disposition == Disposition::Unavailable;
            self.settle(message, disposition).await;
        }
        unavailable
    }

    /// Keeps a message that cannot be stored in the dead-letter store, with the tenant its subject
    /// names and the reason; `false` when even that failed (the message is then redelivered).
    async fn dead_letter(&self, message: &jetstream::Message, reason: &str) -> bool {
        let tenant =
            AgentSubject::parse(&message.subject).map_or_else(String::new, |s| s.tenant.as_str().to_owned());
        let info = message.info().ok();
        let consumer = info.as_ref().map_or("", |info| info.consumer);
        let letter = crate::store::DeadLetter {
            tenant: &tenant,
            consumer,
            subject: &message.subject,
            stream_sequence: info.as_ref().map(|info| info.stream_sequence),
            deliveries: info.as_ref().map_or(1, |info| info.delivered),
            reason,
            payload: &message.payload,
        };
        match self.store.insert_dead_letter(&letter).await {
            Ok(()) => {
                self.stats.count_reject(&tenant, "dead_letter");
                warn!(subject = %message.subject, tenant, reason, "agent message dead-lettered");
                true
            }
            Err(error) => {
                error!(%error, subject = %message.subject, "cannot store a dead letter, it will be redelivered");
                false
            }
        }
    }

    async fn settle(&self, message: &jetstream::Message, disposition: Disposition) {
        let ack = match &disposition {
            Disposition::Ack => message.ack().await,
            Disposition::Reject(reason) => {
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                let tenant = AgentSubject::parse(&message.subject).map(|s| s.tenant.as_str().to_owned());
                self.stats
                    .count_reject(tenant.as_deref().unwrap_or(""), "invalid");
                warn!(subject = %message.subject, reason = %reason, "rejected agent message");
                message.ack_with(AckKind::Term).await
            }
            Disposition::DeadLetter(reason) => {
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                if self.dead_letter(message, reason).await {
                    message.ack_with(AckKind::Term).await
                } else {
                    message.ack_with(AckKind::Nak(Some(RETRY_DELAY))).await
                }
            }
            Disposition::Retry | Disposition::Unavailable => {
                message.ack_with(AckKind::Nak(Some(RETRY_DELAY))).await
            }
        };
        if let Err(error) = ack {
            // The store is idempotent: if this ack was lost, the redelivery is recognised as a duplicate.
            warn!(%error, subject = %message.subject, "acknowledging a message failed");
        }
    }

    /// Records the lineage of every statement in a batch. Recording is idempotent (the same SQL gives
    /// the same graph), so a redelivered batch changes nothing; a statement that cannot be read is
    /// counted and skipped, the rest are recorded.
    async fn store_lineage(
        &self,
        message: &jetstream::Message,
        subject: &AgentSubject,
        deliveries: i64,
    ) -> Disposition {
        let batch = match LineageBatch::decode(message.payload.as_ref()) {
            Ok(batch) => batch,
            Err(error) => return Disposition::Reject(format!("payload is not a LineageBatch: {error}")),
        };
        if let Err(reason) = check_sender(&batch.tenant_id, &batch.agent_id, subject) {
            return Disposition::Reject(reason);
        }
        let event_time = match crate::store::agent_time(batch.collected_at_unix_ms) {
            Ok(time) => time,
            Err(error) => return Disposition::Reject(error.to_string()),
        };
        let mut jobs = Vec::with_capacity(batch.statements.len());
        let mut refused = None;
        {
            // The dialect is not `Send`: parse everything before the first await.
            let (dialect, _) = lineage::dialect_for_name(&batch.dialect);
            for statement in &batch.statements {
                let job = DatasetRef {
                    namespace: batch.source_name.clone(),
                    name: statement.job.clone(),
                };
                match JobLineage::from_sql_text(
                    job,
                    LineageOrigin::Sql,
                    event_time,
                    &batch.source_name,
                    &statement.default_schema,
                    dialect.as_ref(),
                    &statement.sql,
                ) {
                    Ok((lineage, _)) => jobs.push(lineage),
                    Err(error) if error.is_over_limit() => {
                        refused = Some(format!("statement of job `{}`: {error}", statement.job));
                        break;
                    }
                    Err(error) => {
                        self.stats
                            .lineage_statements_unreadable
                            .fetch_add(1, Ordering::Relaxed);
                        warn!(%error, job = %statement.job, source = %batch.source_name, "sql from the agent is unreadable, skipped");
                    }
                }
            }
        }
        // SQL past the analyzer's limits is no dialect gap but a broken or hostile sender: the
        // whole batch is set aside where an admin sees it.
        if let Some(reason) = refused {
            return Disposition::DeadLetter(reason);
        }
        if let Err(error) = lineage::service::record_jobs(&self.store.tenant(&subject.tenant), &jobs).await {
            self.stats.store_failures.fetch_add(1, Ordering::Relaxed);
            error!(%error, batch_id = %batch.batch_id, deliveries, "storing lineage failed");
            return after_failure(&error, deliveries);
        }
        self.stats.lineage_batches_stored.fetch_add(1, Ordering::Relaxed);
        debug!(batch_id = %batch.batch_id, jobs = jobs.len(), "lineage stored");
        Disposition::Ack
    }

    /// Stores metric batches in one transaction; returns the disposition of each by its index.
    async fn store_metrics(&self, batches: &[PendingBatch]) -> Vec<(usize, Disposition)> {
        let incoming: Vec<IncomingBatch<'_>> = batches
            .iter()
            .map(|pending| IncomingBatch {
                tenant: &pending.subject.tenant,
                agent: &pending.subject.agent,
                batch: &pending.batch,
                stream_sequence: pending.sequence,
            })
            .collect();
        let started = std::time::Instant::now();
        let stored = self.store.ingest_batches(&incoming).await;
        debug!(
            batches = batches.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "group stored"
        );
        match stored {
            Ok(outcomes) => batches
                .iter()
                .zip(outcomes)
                .map(|(PendingBatch { index, subject, batch, .. }, outcome)| {
                    let disposition = match outcome {
                        IngestOutcome::Stored { points } => {
                            self.stats.batches_stored.fetch_add(1, Ordering::Relaxed);
                            self.stats.points_stored.fetch_add(points as u64, Ordering::Relaxed);
                            debug!(batch_id = %batch.batch_id, tenant = %subject.tenant, points, "batch stored");
                            Disposition::Ack
                        }
                        IngestOutcome::Duplicate => {
                            self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                            debug!(batch_id = %batch.batch_id, "duplicate batch skipped");
                            Disposition::Ack
                        }
                        IngestOutcome::Invalid(reason) => Disposition::Reject(reason),
                    };
                    (*index, disposition)
                })
                .collect(),
            // Only a refusal can be one batch's fault; an unreachable database fails every batch
            // alike (and each alone would wait out the pool's timeout).
            Err(error) if batches.len() > 1 && refused_by_database(&error) => {
                // One batch may be what the database refused: store each alone, so that one fails
                // by itself and the others (of any tenant) are stored now, not after its retries.
                warn!(%error, batches = batches.len(), "storing a group failed, storing its batches one by one");
                let mut dispositions = Vec::with_capacity(batches.len());
                for one in batches {
                    let mut single = Box::pin(self.store_metrics(std::slice::from_ref(one))).await;
                    dispositions.append(&mut single);
                }
                dispositions
            }
            Err(error) => {
                self.stats.store_failures.fetch_add(1, Ordering::Relaxed);
                batches
                    .iter()
                    .map(|pending| {
                        error!(%error, batch_id = %pending.batch.batch_id, tenant = %pending.subject.tenant,
                               deliveries = pending.deliveries, "storing a batch failed");
                        (pending.index, after_failure(&error, pending.deliveries))
                    })
                    .collect()
            }
        }
    }
}
