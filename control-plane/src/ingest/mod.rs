//! Ingest: a durable JetStream consumer that stores agent batches in PostgreSQL.
//!
//! Owns the stream and consumer definitions and the ack discipline: a message is acknowledged only
//! after its transaction committed (or it was a duplicate, or it can never be stored). Malformed input
//! is rejected, logged and counted, and never stops the consumer. Must not run SQL itself: that is
//! the store's.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use backon::{ExponentialBuilder, Retryable as _};
use cwic_proto::Message as _;
use cwic_proto::agent::v1::{LineageBatch, MetricBatch};
use cwic_shared::subjects::{
    AGENT_STREAM, AGENT_STREAM_SUBJECTS, AgentSubject, AgentSubjectKind, LINEAGE_FILTER, METRICS_FILTER,
};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, Span, debug, debug_span, error, info, warn};

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
/// Redelivery delay after a database failure; also the first wait between pings while ingest
/// pauses for an unreachable database.
const RETRY_DELAY: Duration = Duration::from_secs(2);
/// Longest wait between pings while ingest pauses.
const MAX_PAUSE_PING_DELAY: Duration = Duration::from_secs(10);
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

/// Counters of what ingest did since start, for `/metrics` (registered by
/// [`crate::telemetry::Metrics`]; each is a shared handle, so the registry reads what ingest counts).
#[derive(Debug)]
pub struct IngestStats {
    pub batches_stored: Counter,
    pub points_stored: Counter,
    pub duplicates: Counter,
    pub rejected: Counter,
    pub store_failures: Counter,
    pub lineage_batches_stored: Counter,
    pub lineage_statements_unreadable: Counter,
    /// Messages in the stream not yet stored (pending plus delivered-unacknowledged), by consumer,
    /// as of the last look at it.
    pub consumer_lag: Family<ConsumerLabels, Gauge>,
    /// Messages not stored, by tenant and kind (`invalid`, `dead_letter`).
    pub rejects: Family<RejectLabels, Counter>,
}

/// Which of ingest's two consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerKind {
    Metrics,
    Lineage,
}

impl ConsumerKind {
    /// The `consumer` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Metrics => "metrics",
            Self::Lineage => "lineage",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ConsumerLabels {
    pub consumer: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RejectLabels {
    pub tenant: String,
    pub kind: &'static str,
}

impl Default for IngestStats {
    fn default() -> Self {
        let consumer_lag = Family::<ConsumerLabels, Gauge>::default();
        // Both consumers are served from the start, at 0.
        for consumer in [ConsumerKind::Metrics, ConsumerKind::Lineage] {
            // The guard only holds the family's lock while the gauge is created.
            drop(consumer_lag.get_or_create(&ConsumerLabels {
                consumer: consumer.as_str(),
            }));
        }
        Self {
            batches_stored: Counter::default(),
            points_stored: Counter::default(),
            duplicates: Counter::default(),
            rejected: Counter::default(),
            store_failures: Counter::default(),
            lineage_batches_stored: Counter::default(),
            lineage_statements_unreadable: Counter::default(),
            consumer_lag,
            rejects: Family::default(),
        }
    }
}

impl IngestStats {
    pub(crate) fn count_reject(&self, tenant: &str, kind: &'static str) {
        self.rejects
            .get_or_create(&RejectLabels {
                tenant: tenant.to_owned(),
                kind,
            })
            .inc();
    }

    pub(crate) fn set_lag(&self, consumer: ConsumerKind, messages: u64) {
        self.consumer_lag
            .get_or_create(&ConsumerLabels {
                consumer: consumer.as_str(),
            })
            .set(i64::try_from(messages).unwrap_or(i64::MAX));
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

impl Disposition {
    /// How the `ingest` span records it.
    fn name(&self) -> &'static str {
        match self {
            Self::Ack => "ack",
            Self::Reject(_) => "reject",
            Self::DeadLetter(_) => "dead_letter",
            Self::Retry => "retry",
            Self::Unavailable => "unavailable",
        }
    }
}

/// A decoded metric batch waiting to be stored, with where it came from.
struct PendingBatch {
    index: usize,
    /// The message's `ingest` span (disabled when nothing records spans).
    span: Span,
    subject: AgentSubject,
    batch: MetricBatch,
    sequence: Option<u64>,
    deliveries: i64,
}

/// The waits between pings while ingest pauses for an unreachable database: from [`RETRY_DELAY`],
/// doubling up to [`MAX_PAUSE_PING_DELAY`], with jitter so replicas do not ping in step; never
/// giving up (the pause ends when the database answers or the control plane stops).
fn database_pause() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(RETRY_DELAY)
        .with_max_delay(MAX_PAUSE_PING_DELAY)
        .with_jitter()
        .without_max_times()
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
        let kind = if name == self.metrics_consumer {
            ConsumerKind::Metrics
        } else {
            ConsumerKind::Lineage
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
                            self.stats.set_lag(kind, info.num_pending + info.num_ack_pending as u64);
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
                        let span = debug_span!("ingest_group", consumer = name, messages = group.len());
                        in_flight.push(self.handle_group(group).instrument(span));
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
                let answered = (|| self.store.ping())
                    .retry(database_pause())
                    .notify(|error, wait| {
                        debug!(%error, consumer = name, wait_ms = wait.as_millis() as u64, "the database still does not answer");
                    });
                tokio::select! {
                    () = cancel.cancelled() => return,
                    answered = answered => {
                        if answered.is_ok() {
                            info!(consumer = name, "the database answers again, ingest resumes");
                        }
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
        // One span per message, continuing the trace the agent sent in the message headers: the
        // agent's collection and publish, then this ingest and its store, are one trace.
        let spans: Vec<Span> = messages
            .iter()
            .map(|message| {
                let span = debug_span!(
                    "ingest",
                    otel.kind = "consumer",
                    messaging.destination.name = %message.subject,
                    outcome = tracing::field::Empty,
                );
                cwic_telemetry::continue_from_nats(&span, message.headers.as_ref());
                span
            })
            .collect();
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
                                span: spans[index].clone(),
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
                    dispositions[index] = Some(
                        self.store_lineage(message, &subject, deliveries)
                            .instrument(spans[index].clone())
                            .await,
                    )
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
        for ((message, disposition), span) in messages.iter().zip(dispositions).zip(spans) {
            let disposition = disposition.unwrap_or(Disposition::Retry);
            unavailable |= disposition == Disposition::Unavailable;
            span.record("outcome", disposition.name());
            self.settle(message, disposition).instrument(span).await;
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
                self.stats.rejected.inc();
                let tenant = AgentSubject::parse(&message.subject).map(|s| s.tenant.as_str().to_owned());
                self.stats
                    .count_reject(tenant.as_deref().unwrap_or(""), "invalid");
                warn!(subject = %message.subject, reason = %reason, "rejected agent message");
                message.ack_with(AckKind::Term).await
            }
            Disposition::DeadLetter(reason) => {
                self.stats.rejected.inc();
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
                        self.stats.lineage_statements_unreadable.inc();
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
        // Lives (and so lasts, in the trace) until the jobs are recorded or one fails.
        let _store_span = debug_span!(
            "store",
            otel.kind = "client",
            db.system.name = "postgresql",
            jobs = jobs.len()
        );
        if let Err(error) = lineage::service::record_jobs(&self.store.tenant(&subject.tenant), &jobs).await {
            self.stats.store_failures.inc();
            error!(%error, batch_id = %batch.batch_id, deliveries, "storing lineage failed");
            return after_failure(&error, deliveries);
        }
        self.stats.lineage_batches_stored.inc();
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
        // One `store` span in each batch's trace, all lasting the one transaction they share.
        let store_spans: Vec<Span> = batches
            .iter()
            .map(|pending| {
                debug_span!(
                    parent: &pending.span,
                    "store",
                    otel.kind = "client",
                    db.system.name = "postgresql",
                    batch_id = %pending.batch.batch_id,
                    batches_in_transaction = batches.len(),
                )
            })
            .collect();
        let started = std::time::Instant::now();
        let stored = self.store.ingest_batches(&incoming).await;
        drop(store_spans);
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
                            self.stats.batches_stored.inc();
                            self.stats.points_stored.inc_by(points as u64);
                            debug!(batch_id = %batch.batch_id, tenant = %subject.tenant, points, "batch stored");
                            Disposition::Ack
                        }
                        IngestOutcome::Duplicate => {
                            self.stats.duplicates.inc();
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
                self.stats.store_failures.inc();
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
