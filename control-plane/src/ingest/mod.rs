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
use chrono::{TimeZone, Utc};
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
use crate::store::{IncomingBatch, IngestOutcome, Store};

/// The durable consumers that feed the store: one per kind of agent message, so slow lineage
/// parsing never delays metrics.
pub const INGEST_CONSUMER: &str = "cwic-ingest";
pub const LINEAGE_CONSUMER: &str = "cwic-lineage";
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
}

/// What to do with one message after handling it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Disposition {
    Ack,
    /// Never deliverable (malformed, spoofed): acknowledge as terminated so it is not redelivered.
    Reject(String),
    /// The store failed; ask for redelivery later.
    Retry,
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
    pub async fn connect(nats_url: &str, store: Store, stats: Arc<IngestStats>) -> Result<Self, IngestError> {
        Self::connect_with_options(nats_url, async_nats::ConnectOptions::new(), store, stats).await
    }

    /// Like [`IngestService::connect`], starting from `options` (e.g. operator-mode credentials).
    pub async fn connect_with_options(
        nats_url: &str,
        options: async_nats::ConnectOptions,
        store: Store,
        stats: Arc<IngestStats>,
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
        Ok(Self {
            jetstream: jetstream::new(client),
            store,
            stats,
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
                    ..Default::default()
                },
            )
            .await
            .map_err(|error| IngestError::Setup(error.to_string()))
    }

    /// Sets up the stream and consumers; call before [`IngestService::run`] so a broken broker fails
    /// start-up instead of a background task.
    pub async fn prepare(&self) -> Result<(), IngestError> {
        self.consumer(INGEST_CONSUMER, METRICS_FILTER).await?;
        self.consumer(LINEAGE_CONSUMER, LINEAGE_FILTER).await?;
        Ok(())
    }

    /// Consumes until cancelled. The messages being handled when cancellation arrives are finished
    /// first.
    pub async fn run(self, cancel: CancellationToken) {
        info!("ingest started");
        tokio::join!(
            self.consume(INGEST_CONSUMER, METRICS_FILTER, &cancel),
            self.consume(LINEAGE_CONSUMER, LINEAGE_FILTER, &cancel)
        );
        info!("ingest stopped");
    }

    async fn consume(&self, name: &str, filter: &str, cancel: &CancellationToken) {
        let lag = if name == INGEST_CONSUMER {
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
            loop {
                let next = tokio::select! {
                    () = cancel.cancelled() => break,
                    Some(()) = in_flight.next(), if !in_flight.is_empty() => continue,
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
        }
    }

    /// Handles a group of messages: metric batches are stored together in one transaction, lineage
    /// batches one by one; then every message is settled (ack, term or nak).
    async fn handle_group(&self, messages: Vec<jetstream::Message>) {
        let mut dispositions: Vec<Option<Disposition>> = vec![None; messages.len()];
        let mut metric_batches: Vec<(usize, AgentSubject, MetricBatch, Option<u64>)> = Vec::new();
        for (index, message) in messages.iter().enumerate() {
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
                            let sequence = message.info().ok().map(|info| info.stream_sequence);
                            metric_batches.push((index, subject, batch, sequence));
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
                    dispositions[index] = Some(self.store_lineage(message, &subject).await)
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
        let mut retry = false;
        for (message, disposition) in messages.iter().zip(dispositions) {
            let disposition = disposition.unwrap_or(Disposition::Retry);
            retry |= disposition == Disposition::Retry;
            self.settle(message, disposition).await;
        }
        if retry {
            tokio::time::sleep(RETRY_DELAY).await;
        }
    }

    async fn settle(&self, message: &jetstream::Message, disposition: Disposition) {
        let ack = match &disposition {
            Disposition::Ack => message.ack().await,
            Disposition::Reject(reason) => {
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                warn!(subject = %message.subject, reason = %reason, "rejected agent message");
                message.ack_with(AckKind::Term).await
            }
            Disposition::Retry => message.ack_with(AckKind::Nak(Some(RETRY_DELAY))).await,
        };
        if let Err(error) = ack {
            // The store is idempotent: if this ack was lost, the redelivery is recognised as a duplicate.
            warn!(%error, subject = %message.subject, "acknowledging a message failed");
        }
    }

    /// Records the lineage of every statement in a batch. Recording is idempotent (the same SQL gives
    /// the same graph), so a redelivered batch changes nothing; a statement that cannot be read is
    /// counted and skipped, the rest are recorded.
    async fn store_lineage(&self, message: &jetstream::Message, subject: &AgentSubject) -> Disposition {
        let batch = match LineageBatch::decode(message.payload.as_ref()) {
            Ok(batch) => batch,
            Err(error) => return Disposition::Reject(format!("payload is not a LineageBatch: {error}")),
        };
        if let Err(reason) = check_sender(&batch.tenant_id, &batch.agent_id, subject) {
            return Disposition::Reject(reason);
        }
        let Some(event_time) = Utc.timestamp_millis_opt(batch.collected_at_unix_ms).single() else {
            return Disposition::Reject(format!(
                "collected_at_unix_ms {} is out of range",
                batch.collected_at_unix_ms
            ));
        };
        let mut jobs = Vec::with_capacity(batch.statements.len());
        {
            // The dialect is not `Send`: parse everything before the first await.
            let (dialect, _) = lineage::dialect_for_name(&batch.dialect);
            for statement in &batch.statements {
                match lineage::analyze_script_detailed(&statement.sql, dialect.as_ref()) {
                    Ok(detailed) => jobs.push(JobLineage::from_sql(
                        DatasetRef {
                            namespace: batch.source_name.clone(),
                            name: statement.job.clone(),
                        },
                        LineageOrigin::Sql,
                        event_time,
                        &batch.source_name,
                        &statement.default_schema,
                        &detailed,
                    )),
                    Err(error) => {
                        self.stats
                            .lineage_statements_unreadable
                            .fetch_add(1, Ordering::Relaxed);
                        warn!(%error, job = %statement.job, source = %batch.source_name, "sql from the agent is unreadable, skipped");
                    }
                }
            }
        }
        for job in &jobs {
            if let Err(error) = self.store.record_lineage(&subject.tenant, job).await {
                self.stats.store_failures.fetch_add(1, Ordering::Relaxed);
                error!(%error, batch_id = %batch.batch_id, "storing lineage failed, it will be redelivered");
                return Disposition::Retry;
            }
        }
        self.stats.lineage_batches_stored.fetch_add(1, Ordering::Relaxed);
        debug!(batch_id = %batch.batch_id, jobs = jobs.len(), "lineage stored");
        Disposition::Ack
    }

    /// Stores metric batches in one transaction; returns the disposition of each by its index.
    async fn store_metrics(
        &self,
        batches: &[(usize, AgentSubject, MetricBatch, Option<u64>)],
    ) -> Vec<(usize, Disposition)> {
        let incoming: Vec<IncomingBatch<'_>> = batches
            .iter()
            .map(|(_, subject, batch, sequence)| IncomingBatch {
                tenant: &subject.tenant,
                agent: &subject.agent,
                batch,
                stream_sequence: *sequence,
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
                .map(|((index, subject, batch, _), outcome)| {
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
            Err(error) => {
                self.stats.store_failures.fetch_add(1, Ordering::Relaxed);
                error!(%error, batches = batches.len(), "storing batches failed, they will be redelivered");
                batches.iter().map(|(index, ..)| (*index, Disposition::Retry)).collect()
            }
        }
    }
}
