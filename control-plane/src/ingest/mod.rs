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
use cwic_proto::agent::v1::MetricBatch;
use cwic_shared::subjects::{
    AGENT_STREAM, AGENT_STREAM_SUBJECTS, AgentSubject, AgentSubjectKind, METRICS_FILTER,
};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::store::{IngestOutcome, Store, StoreError};

/// The durable consumer that feeds the store.
pub const INGEST_CONSUMER: &str = "cwic-ingest";
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
}

pub struct IngestService {
    jetstream: jetstream::Context,
    store: Store,
    stats: Arc<IngestStats>,
}

/// What to do with one message after handling it.
#[derive(Debug, PartialEq, Eq)]
enum Disposition {
    Ack,
    /// Never deliverable (malformed, spoofed): acknowledge as terminated so it is not redelivered.
    Reject(String),
    /// The store failed; ask for redelivery later.
    Retry,
}

impl IngestService {
    pub async fn connect(nats_url: &str, store: Store, stats: Arc<IngestStats>) -> Result<Self, IngestError> {
        let client = async_nats::ConnectOptions::new()
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

    /// Creates the agent stream and the durable ingest consumer if they do not exist.
    async fn consumer(&self) -> Result<jetstream::consumer::Consumer<pull::Config>, IngestError> {
        let stream = self
            .jetstream
            .get_or_create_stream(stream::Config {
                name: AGENT_STREAM.to_owned(),
                subjects: vec![AGENT_STREAM_SUBJECTS.to_owned()],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: RETENTION,
                max_message_size: MAX_MESSAGE_BYTES,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|error| IngestError::Setup(error.to_string()))?;
        stream
            .get_or_create_consumer(
                INGEST_CONSUMER,
                pull::Config {
                    durable_name: Some(INGEST_CONSUMER.to_owned()),
                    filter_subject: METRICS_FILTER.to_owned(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    max_ack_pending: 1_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|error| IngestError::Setup(error.to_string()))
    }

    /// Sets up the stream and consumer; call before [`IngestService::run`] so a broken broker fails
    /// start-up instead of a background task.
    pub async fn prepare(&self) -> Result<(), IngestError> {
        self.consumer().await.map(|_| ())
    }

    /// Consumes until cancelled. The message being handled when cancellation arrives is finished first.
    pub async fn run(self, cancel: CancellationToken) {
        info!(consumer = INGEST_CONSUMER, "ingest started");
        while !cancel.is_cancelled() {
            let messages = match self.consumer().await {
                Ok(consumer) => consumer.messages().await.map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            let mut messages = match messages {
                Ok(messages) => messages,
                Err(error) => {
                    warn!(%error, "cannot subscribe to the ingest consumer, retrying");
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        () = tokio::time::sleep(RESUBSCRIBE_DELAY) => continue,
                    }
                }
            };
            loop {
                let next = tokio::select! {
                    () = cancel.cancelled() => break,
                    next = messages.next() => next,
                };
                match next {
                    Some(Ok(message)) => self.handle(message).await,
                    Some(Err(error)) => {
                        warn!(%error, "ingest message stream error");
                        if matches!(error.kind(), pull::MessagesErrorKind::MissingHeartbeat) {
                            break;
                        }
                    }
                    None => break,
                }
            }
        }
        info!("ingest stopped");
    }

    async fn handle(&self, message: jetstream::Message) {
        let sequence = message.info().ok().map(|info| info.stream_sequence);
        let disposition = self.store_message(&message, sequence).await;
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
        if disposition == Disposition::Retry {
            tokio::time::sleep(RETRY_DELAY).await;
        }
    }

    async fn store_message(&self, message: &jetstream::Message, sequence: Option<u64>) -> Disposition {
        let Some(subject) = AgentSubject::parse(&message.subject) else {
            return Disposition::Reject("subject is not cwic.<tenant>.agent.<agent>.<kind>".to_owned());
        };
        if subject.kind != AgentSubjectKind::Metrics {
            return Disposition::Reject(format!("no ingest for `{}` messages", subject.kind.as_str()));
        }
        if message.payload.len() > MAX_MESSAGE_BYTES as usize {
            return Disposition::Reject(format!(
                "payload of {} bytes is over the limit",
                message.payload.len()
            ));
        }
        let batch = match MetricBatch::decode(message.payload.as_ref()) {
            Ok(batch) => batch,
            Err(error) => return Disposition::Reject(format!("payload is not a MetricBatch: {error}")),
        };
        if batch.tenant_id != subject.tenant.as_str() || batch.agent_id != subject.agent.as_str() {
            return Disposition::Reject(format!(
                "batch claims tenant `{}` agent `{}` but was published as tenant `{}` agent `{}`",
                batch.tenant_id, batch.agent_id, subject.tenant, subject.agent
            ));
        }
        match self
            .store
            .ingest_batch(&subject.tenant, &subject.agent, &batch, sequence)
            .await
        {
            Ok(IngestOutcome::Stored { points }) => {
                self.stats.batches_stored.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .points_stored
                    .fetch_add(points as u64, Ordering::Relaxed);
                debug!(batch_id = %batch.batch_id, tenant = %subject.tenant, points, "batch stored");
                Disposition::Ack
            }
            Ok(IngestOutcome::Duplicate) => {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                debug!(batch_id = %batch.batch_id, "duplicate batch skipped");
                Disposition::Ack
            }
            Err(StoreError::InvalidBatch(reason)) => Disposition::Reject(reason),
            Err(error) => {
                self.stats.store_failures.fetch_add(1, Ordering::Relaxed);
                error!(%error, batch_id = %batch.batch_id, "storing a batch failed, it will be redelivered");
                Disposition::Retry
            }
        }
    }
}
