//! Subscribing to one tenant's events, idempotently by event id: the helper the live feed, the
//! alert engine and the score engine read events with.
//!
//! An [`EventConsumer`] reads `cwic.<tenant>.events.>` (or one kind) from the events stream with
//! either an ordered consumer (ephemeral, no acks: a live view that may start anywhere) or a
//! durable one (named, acknowledged: work that must see every event after a restart). Either way
//! an event id seen before is skipped ([`SeenIds`]), so a republished event is handled once. A
//! durable consumer that must survive its own restarts idempotently keeps its effects keyed by
//! event id as well (the in-memory set starts empty). Must not publish: only the relay does.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::DeliverPolicy, consumer::pull};
use cwic_shared::TenantId;
use cwic_shared::subjects::{EVENTS_STREAM, tenant_events_filter};
use futures::StreamExt;
use uuid::Uuid;

use super::{Event, EventKind};

/// Ids remembered by default: far more than are republished around one crash.
pub const DEFAULT_SEEN_CAPACITY: usize = 100_000;
/// How long a durable consumer's message may stay unacknowledged before redelivery.
const ACK_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error(
        "cannot subscribe to the events of tenant `{tenant}`: {cause} (is the control plane's events relay running?)"
    )]
    Subscribe { tenant: String, cause: String },
    #[error("reading events failed: {0}")]
    Stream(String),
    #[error("message {sequence} on `{subject}` is no event: {cause}")]
    Malformed {
        subject: String,
        sequence: u64,
        cause: String,
    },
    #[error("acknowledging event {id} failed: {cause}")]
    Ack { id: Uuid, cause: String },
}

/// The last ids seen, at most `capacity` (the oldest are forgotten first).
#[derive(Debug)]
pub struct SeenIds {
    ids: HashSet<Uuid>,
    order: VecDeque<Uuid>,
    capacity: usize,
}

impl SeenIds {
    pub fn new(capacity: usize) -> Self {
        Self {
            ids: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `id`; false when it was seen before (and is still remembered).
    pub fn insert(&mut self, id: Uuid) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// One event as received, with its place in the stream.
#[derive(Debug)]
pub struct Received {
    pub event: Event,
    pub stream_sequence: u64,
    /// Set for a durable consumer: acknowledged by [`Received::ack`].
    message: Option<jetstream::Message>,
}

impl Received {
    /// Acknowledges the event (durable consumers; a no-op for ordered ones). Ack after the
    /// event's effect is done: an unacknowledged event is delivered again.
    pub async fn ack(&self) -> Result<(), ConsumeError> {
        match &self.message {
            Some(message) => message.ack().await.map_err(|error| ConsumeError::Ack {
                id: self.event.id,
                cause: error.to_string(),
            }),
            None => Ok(()),
        }
    }
}

enum Messages {
    Ordered(Box<pull::Ordered>),
    Durable(Box<pull::Stream>),
}

/// A subscription to one tenant's events; see the module doc.
pub struct EventConsumer {
    tenant: TenantId,
    messages: Messages,
    seen: SeenIds,
    skipped: u64,
}

fn filter(tenant: &TenantId, kind: Option<EventKind>) -> String {
    match kind {
        Some(kind) => cwic_shared::subjects::event_subject(tenant, kind.as_str()),
        None => tenant_events_filter(tenant),
    }
}

impl EventConsumer {
    /// An ordered (ephemeral, unacknowledged) consumer of `tenant`'s events, or of one `kind`,
    /// starting where `deliver` says (`DeliverPolicy::All` replays what the stream holds,
    /// `DeliverPolicy::New` only what comes next).
    pub async fn ordered(
        jetstream: &jetstream::Context,
        tenant: &TenantId,
        kind: Option<EventKind>,
        deliver: DeliverPolicy,
    ) -> Result<Self, ConsumeError> {
        let subscribe = |cause: String| ConsumeError::Subscribe {
            tenant: tenant.to_string(),
            cause,
        };
        let stream = jetstream
            .get_stream(EVENTS_STREAM)
            .await
            .map_err(|error| subscribe(error.to_string()))?;
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: filter(tenant, kind),
                deliver_policy: deliver,
                ..Default::default()
            })
            .await
            .map_err(|error| subscribe(error.to_string()))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|error| subscribe(error.to_string()))?;
        Ok(Self {
            tenant: tenant.clone(),
            messages: Messages::Ordered(Box::new(messages)),
            seen: SeenIds::new(DEFAULT_SEEN_CAPACITY),
            skipped: 0,
        })
    }

    /// A durable consumer `name` of `tenant`'s events (or one `kind`): created on first use
    /// (starting where `deliver` says), resumed where it left off afterwards. Events must be
    /// acknowledged ([`Received::ack`]).
    pub async fn durable(
        jetstream: &jetstream::Context,
        tenant: &TenantId,
        name: &str,
        kind: Option<EventKind>,
        deliver: DeliverPolicy,
    ) -> Result<Self, ConsumeError> {
        let subscribe = |cause: String| ConsumeError::Subscribe {
            tenant: tenant.to_string(),
            cause,
        };
        let stream = jetstream
            .get_stream(EVENTS_STREAM)
            .await
            .map_err(|error| subscribe(error.to_string()))?;
        let consumer: jetstream::consumer::Consumer<pull::Config> = stream
            .get_or_create_consumer(
                name,
                pull::Config {
                    durable_name: Some(name.to_owned()),
                    filter_subject: filter(tenant, kind),
                    deliver_policy: deliver,
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    max_ack_pending: 1_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|error| subscribe(error.to_string()))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|error| subscribe(error.to_string()))?;
        Ok(Self {
            tenant: tenant.clone(),
            messages: Messages::Durable(Box::new(messages)),
            seen: SeenIds::new(DEFAULT_SEEN_CAPACITY),
            skipped: 0,
        })
    }

    /// The next event not seen before; `None` when the subscription ended. A message that is no
    /// event of this tenant is an error (and, for a durable consumer, terminated so it does not
    /// come back); the caller logs it and reads on.
    pub async fn next(&mut self) -> Option<Result<Received, ConsumeError>> {
        loop {
            let message = match &mut self.messages {
                Messages::Ordered(messages) => messages
                    .next()
                    .await?
                    .map_err(|error| ConsumeError::Stream(error.to_string())),
                Messages::Durable(messages) => messages
                    .next()
                    .await?
                    .map_err(|error| ConsumeError::Stream(error.to_string())),
            };
            let message = match message {
                Ok(message) => message,
                Err(error) => return Some(Err(error)),
            };
            let sequence = message.info().map_or(0, |info| info.stream_sequence);
            let durable = matches!(self.messages, Messages::Durable(_));
            let event = serde_json::from_slice::<Event>(&message.payload)
                .map_err(|error| error.to_string())
                .and_then(|event| {
                    if event.tenant == self.tenant.as_str() && event.subject() == message.subject.as_str() {
                        Ok(event)
                    } else {
                        Err(format!(
                            "event {} of tenant `{}` kind `{}` does not belong on this subject",
                            event.id,
                            event.tenant,
                            event.kind()
                        ))
                    }
                });
            let event = match event {
                Ok(event) => event,
                Err(cause) => {
                    if durable {
                        // Best effort: a failed term only means it is delivered (and refused) again.
                        let _ = message.ack_with(AckKind::Term).await;
                    }
                    return Some(Err(ConsumeError::Malformed {
                        subject: message.subject.to_string(),
                        sequence,
                        cause,
                    }));
                }
            };
            if !self.seen.insert(event.id) {
                self.skipped += 1;
                if durable && let Err(error) = message.ack().await {
                    return Some(Err(ConsumeError::Ack {
                        id: event.id,
                        cause: error.to_string(),
                    }));
                }
                continue;
            }
            return Some(Ok(Received {
                event,
                stream_sequence: sequence,
                message: durable.then_some(message),
            }));
        }
    }

    /// Events skipped because their id was seen before.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_ids_skip_repeats_and_forget_the_oldest() {
        let mut seen = SeenIds::new(2);
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert!(seen.insert(a));
        assert!(!seen.insert(a));
        assert!(seen.insert(b));
        assert!(seen.insert(c));
        assert_eq!(seen.len(), 2);
        // `a` was forgotten to make room; `b` and `c` are remembered.
        assert!(!seen.insert(b));
        assert!(!seen.insert(c));
        assert!(seen.insert(a));
    }
}
