//! Sends spooled batches to JetStream, oldest first, and removes each one only after the broker's ack.
//!
//! Owns the NATS side of delivery. Every publish carries `Nats-Msg-Id: <batch_id>` so the stream drops a
//! resend inside its duplicate window; the control plane drops it after that. Must not collect data.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, message::PublishMessage};
use cwic_shared::subjects::AgentSubject;
use cwic_shared::{AgentId, TenantId};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::NatsUrl;
use crate::spool::{Spool, SpoolError};

/// First wait after a failed send; doubles up to [`MAX_RETRY_DELAY`].
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
        })
    }

    /// Sends until cancelled. With `finish` cancelled too, returns as soon as the outbox is empty.
    pub async fn run(self, cancel: CancellationToken, finish: CancellationToken) -> Result<(), SpoolError> {
        let mut delay = FIRST_RETRY_DELAY;
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let wait = match self.send_round(&cancel).await? {
                RoundEnd::Drained => {
                    delay = FIRST_RETRY_DELAY;
                    if finish.is_cancelled() && self.spool.pending()?.is_empty() {
                        return Ok(());
                    }
                    IDLE_POLL
                }
                RoundEnd::BrokerUnavailable => {
                    let wait = delay;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                    wait
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
        for pending in self.spool.pending()? {
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
            let publish = PublishMessage::build()
                .payload(spooled.payload.into())
                .message_id(&id);
            let ack = match self.jetstream.send_publish(subject.to_string(), publish).await {
                Ok(future) => future.await,
                Err(error) => {
                    debug!(%error, batch_id = %id, "publish failed");
                    return Ok(RoundEnd::BrokerUnavailable);
                }
            };
            match ack {
                Ok(ack) => {
                    self.spool.remove(&pending)?;
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
