//! Sends spooled batches to JetStream, oldest first, and removes each one only after the broker's ack.
//!
//! Owns the NATS side of delivery. Every publish carries `Nats-Msg-Id: <batch_id>` so the stream drops a
//! resend inside its duplicate window; the control plane drops it after that. Each publish is a
//! `publish` span, child of the collection that made the batch (its trace context kept in the
//! outbox), and sends its own context in the `traceparent` header so that ingest continues the
//! trace. Must not collect data.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, message::PublishMessage};
use backon::{BackoffBuilder as _, ExponentialBuilder};
use cwic_shared::subjects::AgentSubject;
use cwic_shared::{AgentId, TenantId};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, debug_span, info, warn};

use crate::config::NatsUrl;
use crate::metrics::{AgentMetrics, ErrorStage};
use crate::spool::{Spool, SpoolError};

/// First wait after a failed send; doubles (plus jitter) up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
/// How long to wait for the broker's ack of one batch.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the outbox is re-read when nothing wakes the shipper.
const IDLE_POLL: Duration = Duration::from_secs(30);

pub struct Shipper {
    spool: Arc<Spool>,
    jetstream: jetstream::Context,
    wake: Arc<Notify>,
    metrics: Arc<AgentMetrics>,
}

/// The waits between send rounds while the broker is unavailable: from [`FIRST_RETRY_DELAY`],
/// doubling up to [`MAX_RETRY_DELAY`], with jitter so that many agents do not retry in step; never
/// giving up (the outbox keeps the batches).
fn broker_backoff() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(FIRST_RETRY_DELAY)
        .with_max_delay(MAX_RETRY_DELAY)
        .with_jitter()
        .without_max_times()
}

/// Why a send round stopped early.
enum RoundEnd {
    Drained,
    BrokerUnavailable,
}

impl Shipper {
    /// The broker connection, shared with the command listener.
    pub fn client(&self) -> async_nats::Client {
        self.jetstream.client()
    }

    /// Starts the NATS connection in the background; it keeps retrying while the broker is away, so the
    /// agent collects into the outbox from its first minute even with no broker.
    ///
    /// `credentials` is the `.creds` file of an operator-mode broker; `inbox_prefix` is where replies
    /// (JetStream acks) arrive, the one inbox such credentials may subscribe to.
    pub async fn connect(
        nats_url: &NatsUrl,
        credentials: Option<&Path>,
        inbox_prefix: &str,
        spool: Arc<Spool>,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let mut options = async_nats::ConnectOptions::new();
        if let Some(path) = credentials {
            options = options
                .credentials_file(path)
                .await
                .with_context(|| format!("{}: cannot read the NATS credentials file", path.display()))?;
        }
        let client = options
            .custom_inbox_prefix(inbox_prefix)
            .name("cwic-agent")
            .retry_on_initial_connect()
            .max_reconnects(None)
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Connected => info!("connected to the broker"),
                    async_nats::Event::Disconnected => {
                        warn!("disconnected from the broker, batches wait in the outbox")
                    }
                    async_nats::Event::ServerError(error) => warn!(%error, "the broker reported an error"),
                    other => debug!(event = %other, "broker connection event"),
                }
            })
            .connect(nats_url.expose_secret())
            .await?;
        let mut jetstream = jetstream::new(client);
        jetstream.set_timeout(ACK_TIMEOUT);
        Ok(Self {
            spool,
            jetstream,
            wake,
            metrics: Arc::new(AgentMetrics::new()),
        })
    }

    /// Counts into `metrics` (batches sent, outbox depth, publish errors).
    pub fn with_metrics(mut self, metrics: Arc<AgentMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Sends until cancelled. With `finish` cancelled too, returns as soon as the outbox is empty.
    pub async fn run(self, cancel: CancellationToken, finish: CancellationToken) -> Result<(), SpoolError> {
        let mut delays = broker_backoff().build();
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let wait = match self.send_round(&cancel).await? {
                RoundEnd::Drained => {
                    delays = broker_backoff().build();
                    if finish.is_cancelled() && self.spool.pending()?.is_empty() {
                        return Ok(());
                    }
                    IDLE_POLL
                }
                RoundEnd::BrokerUnavailable => {
                    self.metrics.error(ErrorStage::Publish);
                    // Never exhausted (no limit on attempts); the cap is the fallback all the same.
                    delays.next().unwrap_or(MAX_RETRY_DELAY)
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                () = finish.cancelled(), if !finish.is_cancelled() => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn send_round(&self, cancel: &CancellationToken) -> Result<RoundEnd, SpoolError> {
        let pending = self.spool.pending()?;
        self.metrics.set_outbox_depth(pending.len());
        for pending in pending {
            if cancel.is_cancelled() {
                return Ok(RoundEnd::Drained);
            }
            let id = pending.id.clone();
            let Some(spooled) = self.spool.read(&pending)? else {
                continue;
            };
            let subject = match (
                TenantId::parse(&spooled.header.tenant_id),
                AgentId::parse(&spooled.header.agent_id),
            ) {
                (Ok(tenant), Ok(agent)) => AgentSubject::new(tenant, agent, spooled.kind),
                _ => {
                    // Written by this agent from a validated config, so unreachable short of disk damage.
                    warn!(batch_id = %id, "outbox batch has an invalid tenant or agent id, dropping it");
                    self.spool.remove(&pending)?;
                    continue;
                }
            };
            let span = debug_span!(
                "publish",
                otel.kind = "producer",
                messaging.system = "nats",
                messaging.destination.name = %subject,
                batch_id = %id,
            );
            cwic_telemetry::set_parent(&span, cwic_telemetry::context_from_headers(&spooled.context));
            let mut publish = PublishMessage::build()
                .payload(spooled.payload.into())
                .message_id(&id);
            for (name, value) in cwic_telemetry::context_headers(&span) {
                publish = publish.header(name, value);
            }
            let sent = async {
                match self.jetstream.send_publish(subject.to_string(), publish).await {
                    Ok(future) => Ok(future.await),
                    Err(error) => Err(error),
                }
            }
            .instrument(span)
            .await;
            let ack = match sent {
                Ok(ack) => ack,
                Err(error) => {
                    debug!(%error, batch_id = %id, "publish failed");
                    return Ok(RoundEnd::BrokerUnavailable);
                }
            };
            match ack {
                Ok(ack) => {
                    self.spool.remove(&pending)?;
                    self.metrics.sent(spooled.kind);
                    info!(
                        batch_id = %id,
                        kind = spooled.kind.as_str(),
                        stream_sequence = ack.sequence,
                        duplicate = ack.duplicate,
                        "batch delivered"
                    );
                }
                Err(error) => {
                    warn!(%error, batch_id = %id, "broker did not acknowledge the batch, it stays in the outbox");
                    return Ok(RoundEnd::BrokerUnavailable);
                }
            }
        }
        Ok(RoundEnd::Drained)
    }
}
