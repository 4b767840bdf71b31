//! The outbox relay: publishes committed events from the outbox to JetStream, in every replica.
//!
//! Each round claims up to [`CLAIM_LIMIT`] unpublished rows in a transaction with
//! `FOR UPDATE SKIP LOCKED` (another replica's claim is skipped, so two replicas never publish one
//! row in normal operation), publishes them all (pipelined) with `Nats-Msg-Id` = event id, waits
//! for every publish ack, marks the rows published and commits. A crash between publish and commit
//! releases the rows unmarked: the next round (here or in another replica) publishes them again
//! and the stream's duplicate window drops the copies. Published rows are deleted after
//! [`PUBLISHED_RETENTION`]. Must not write events itself: only what a store transaction committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use cwic_shared::subjects::{EVENTS_STREAM, EVENTS_STREAM_SUBJECTS};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::store::{Store, StoreError};

/// Events claimed (and published) per round.
pub const CLAIM_LIMIT: i64 = 500;
/// Pause between rounds when the outbox was empty or the last round failed; a full round is
/// followed by the next at once.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Pause after a failure (broker or database unreachable).
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// How long a published row stays in the outbox (for inspection) before it is pruned.
pub const PUBLISHED_RETENTION: Duration = Duration::from_secs(60 * 60);
/// How often published rows are pruned, and how many per statement.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
const PRUNE_LIMIT: i64 = 10_000;

/// The stream's limits: events older than this, or beyond this size, are discarded oldest first.
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);
pub const STREAM_MAX_BYTES: i64 = 1024 * 1024 * 1024;
/// How long the broker remembers event ids: a republish within it is dropped. Longer than any
/// plausible restart of a crashed relay; consumers skip a later duplicate by id.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Largest event message (an event is small; this bounds a broken one).
const MAX_MESSAGE_BYTES: i32 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot set up the JetStream stream {EVENTS_STREAM}: {0}")]
    Setup(String),
    #[error("publishing an event failed: {0}")]
    Publish(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counters of what the relay did since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Events published and acknowledged by the stream (copies dropped as duplicates included).
    pub published: AtomicU64,
    /// Publishes the stream acknowledged as duplicates (a republish after a crash).
    pub duplicates: AtomicU64,
    /// Outbox rows that are no valid event (marked published without publishing, logged).
    pub unreadable: AtomicU64,
    /// Rounds that failed (broker or database).
    pub failures: AtomicU64,
    /// Published rows deleted.
    pub pruned: AtomicU64,
}

/// The stream definition, shared by the relay and consumers that set it up first.
pub fn stream_config() -> stream::Config {
    stream::Config {
        name: EVENTS_STREAM.to_owned(),
        subjects: vec![EVENTS_STREAM_SUBJECTS.to_owned()],
        retention: stream::RetentionPolicy::Limits,
        storage: stream::StorageType::File,
        discard: stream::DiscardPolicy::Old,
        max_age: STREAM_MAX_AGE,
        max_bytes: STREAM_MAX_BYTES,
        max_message_size: MAX_MESSAGE_BYTES,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    }
}

pub struct Relay {
    jetstream: jetstream::Context,
    store: Store,
    stats: Arc<RelayStats>,
}

impl Relay {
    pub fn new(client: async_nats::Client, store: Store, stats: Arc<RelayStats>) -> Self {
        Self {
            jetstream: jetstream::new(client),
            store,
            stats,
        }
    }

    /// Creates the events stream, or brings its definition up to date. Call before
    /// [`Relay::run`] so a broken broker fails start-up instead of a background task.
    pub async fn prepare(&self) -> Result<(), RelayError> {
        self.jetstream
            .create_or_update_stream(stream_config())
            .await
            .map_err(|error| RelayError::Setup(error.to_string()))?;
        Ok(())
    }

    /// Publishes until cancelled; the round in progress when cancellation arrives is finished.
    pub async fn run(self, cancel: CancellationToken) {
        info!("events relay started");
        let mut prune = tokio::time::interval(PRUNE_INTERVAL);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !cancel.is_cancelled() {
            let pause = match self.round().await {
                Ok(claimed) if claimed as i64 >= CLAIM_LIMIT => Duration::ZERO,
                Ok(_) => POLL_INTERVAL,
                Err(error) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    warn!(%error, "publishing events failed, retrying");
                    RETRY_DELAY
                }
            };
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = prune.tick() => self.prune().await,
                () = tokio::time::sleep(pause) => {}
            }
        }
        info!("events relay stopped");
    }

    /// One round: claim, publish, mark. Returns how many rows were claimed.
    pub async fn round(&self) -> Result<usize, RelayError> {
        let claim = self.store.claim_outbox(CLAIM_LIMIT).await?;
        let claimed = claim.events.len();
        if claimed == 0 {
            claim.mark_published(&[]).await?;
            return Ok(0);
        }
        let mut done: Vec<Uuid> = Vec::with_capacity(claimed);
        let mut acks = Vec::with_capacity(claimed);
        for event in &claim.events {
            let event = match event {
                Ok(event) => event,
                Err((id, error)) => {
                    // Written by a newer version or damaged: it can never be published by this one.
                    self.stats.unreadable.fetch_add(1, Ordering::Relaxed);
                    warn!(%error, event_id = %id, "outbox row is no valid event; marked done without publishing");
                    done.push(*id);
                    continue;
                }
            };
            let body = serde_json::to_vec(event).map_err(|error| {
                RelayError::Publish(format!("event {} cannot be encoded: {error}", event.id))
            })?;
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", event.id.to_string().as_str());
            let ack = self
                .jetstream
                .publish_with_headers(event.subject(), headers, body.into())
                .await
                .map_err(|error| RelayError::Publish(error.to_string()))?;
            acks.push((event.id, ack));
        }
        // Every ack before any mark: an event is marked only once the stream holds it.
        let published = acks.len() as u64;
        for (id, ack) in acks {
            let ack = ack
                .await
                .map_err(|error| RelayError::Publish(format!("event {id}: {error}")))?;
            if ack.duplicate {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
            }
            done.push(id);
        }
        claim.mark_published(&done).await?;
        self.stats.published.fetch_add(published, Ordering::Relaxed);
        debug!(events = claimed, "events published");
        Ok(claimed)
    }

    async fn prune(&self) {
        let Ok(retention) = chrono::Duration::from_std(PUBLISHED_RETENTION) else {
            return;
        };
        let before = chrono::Utc::now() - retention;
        loop {
            match self.store.prune_outbox(before, PRUNE_LIMIT).await {
                Ok(deleted) => {
                    self.stats.pruned.fetch_add(deleted, Ordering::Relaxed);
                    if (deleted as i64) < PRUNE_LIMIT {
                        break;
                    }
                }
                Err(error) => {
                    warn!(%error, "pruning published events failed");
                    break;
                }
            }
        }
    }
}
