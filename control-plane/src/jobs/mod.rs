//! The job queue's runtime: a worker per replica that claims due jobs from PostgreSQL
//! (`FOR UPDATE SKIP LOCKED`, see [`Store::claim_jobs`]) and runs them under a lease it renews,
//! retries with exponential back-off and jitter, and a scheduler that enqueues periodic jobs once
//! per slot whatever the number of replicas (a dedupe key per slot).
//!
//! Owns: leases, renewal, retry timing, dead-lettering, periodic enqueueing and pruning of old
//! rows. Must not: know what a job does (a [`JobHandler`] runs it), hold work only in memory (all
//! that must survive a crash is a row), or assume it is the only replica.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::store::Store;
pub use crate::store::jobs::{ClaimedJob, JobCount, JobRecord, NewJob};

/// How long a claim holds a job before another replica may take it over (renewed every third
/// of it while the job runs).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// How often an idle worker looks for due jobs.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// How often a replica's delivery worker looks for due notifications: people wait for these.
pub const DEFAULT_DELIVERY_POLL: Duration = Duration::from_millis(100);
/// Attempts before a job is dead.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;
/// Succeeded jobs are kept this long (their dedupe keys with them), dead ones and the detection
/// audit trail for [`DEAD_KEPT`].
const SUCCEEDED_KEPT: Duration = Duration::from_secs(3_600);
const DEAD_KEPT: Duration = Duration::from_secs(7 * 86_400);
/// First retry delay and the cap of the exponential back-off.
const RETRY_MIN_DELAY: Duration = Duration::from_secs(2);
const RETRY_MAX_DELAY: Duration = Duration::from_secs(600);

/// The queue's settings for one replica.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// This replica's name in `lease_owner` (and the detection audit trail).
    pub replica: String,
    pub lease: Duration,
    pub poll: Duration,
    /// Time between detection passes (the periodic `detection_pass` job's slot).
    pub detection_every: Duration,
    /// Time between SLA evaluations (the periodic `evaluate_slas` job's slot).
    pub sla_every: Duration,
    /// How often the delivery worker looks for due notifications.
    pub delivery_poll: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            replica: default_replica_name(),
            lease: DEFAULT_LEASE,
            poll: DEFAULT_POLL,
            detection_every: crate::monitoring::scan::PASS_INTERVAL,
            sla_every: crate::slas::service::EVALUATION_INTERVAL,
            delivery_poll: DEFAULT_DELIVERY_POLL,
        }
    }
}

/// `<host>-<pid>-<random>`: unique per process, readable in the jobs list.
pub fn default_replica_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "cwic".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &random[..6])
}

/// Why an attempt failed (kept in `last_error`), and when the job may run again when the
/// handler knows better than the back-off (a receiver's `Retry-After`).
#[derive(Debug, Clone, PartialEq)]
pub struct JobError {
    pub message: String,
    pub retry_after: Option<Duration>,
    /// Not a failure: run again after `retry_after` without counting this attempt (a
    /// notification held for its channel's quiet hours).
    pub defer: bool,
}

impl From<String> for JobError {
    fn from(message: String) -> Self {
        Self {
            message,
            retry_after: None,
            defer: false,
        }
    }
}

impl From<&str> for JobError {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What [`JobHandler::run_batch`] returns: one outcome per job, in order.
pub type BatchOutcomes<'a> = Pin<Box<dyn Future<Output = Vec<Result<(), JobError>>> + Send + 'a>>;

/// Runs jobs of the kinds it knows. An error is retried (then dead-lettered); a job of a kind it
/// does not know fails the same way, with a message that names the kind.
pub trait JobHandler: Send + Sync + 'static {
    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
    ) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'a>>;

    /// How many due jobs of `kind` a worker claims and hands to [`JobHandler::run_batch`]
    /// together (1: one at a time). For kinds whose jobs are cheap and share their reads and
    /// writes (scoring after a collection wave).
    fn batch_limit(&self, _kind: &str) -> usize {
        1
    }

    /// Runs jobs of one kind together: one outcome per job, in their order. The default runs
    /// them one after another.
    fn run_batch<'a>(&'a self, jobs: &'a [ClaimedJob]) -> BatchOutcomes<'a> {
        run_each(self, jobs)
    }
}

/// Runs jobs one after another through [`JobHandler::run`] (the default batch).
pub fn run_each<'a, H: JobHandler + ?Sized>(handler: &'a H, jobs: &'a [ClaimedJob]) -> BatchOutcomes<'a> {
    Box::pin(async move {
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            outcomes.push(handler.run(job).await);
        }
        outcomes
    })
}

/// The delay before retry number `attempt` (1 = after the first failure): exponential from
/// [`RETRY_MIN_DELAY`] doubling up to [`RETRY_MAX_DELAY`], with jitter so replicas that failed
/// together do not retry together.
pub fn retry_delay(attempt: i32) -> Duration {
    let steps = usize::try_from(attempt.max(1) - 1).unwrap_or(0);
    ExponentialBuilder::default()
        .with_min_delay(RETRY_MIN_DELAY)
        .with_max_delay(RETRY_MAX_DELAY)
        .with_jitter()
        .without_max_times()
        .build()
        .nth(steps)
        .unwrap_or(RETRY_MAX_DELAY)
}

/// Claims and runs jobs until `cancel` fires: one at a time, or a batch of one kind when the
/// handler runs that kind in batches ([`JobHandler::batch_limit`]). Jobs in progress at shutdown
/// are given back (queued again, the attempt not counted).
pub async fn run_worker(
    store: Store,
    handler: Arc<dyn JobHandler>,
    config: JobsConfig,
    cancel: CancellationToken,
) {
    info!(replica = %config.replica, lease_ms = config.lease.as_millis() as u64, "job worker started");
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let claimed = match store.claim_jobs(&config.replica, config.lease, 1).await {
            Ok(claimed) => claimed,
            Err(error) => {
                warn!(%error, "cannot claim jobs; retrying");
                Vec::new()
            }
        };
        let Some(first) = claimed.into_iter().next() else {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(config.poll) => continue,
            }
        };
        let limit = handler.batch_limit(&first.kind);
        let span = info_span!("job", kind = %first.kind, id = %first.id, attempt = first.attempts,
                              batch = tracing::field::Empty);
        let mut jobs = vec![first];
        if limit > 1 {
            let more = i64::try_from(limit - 1).unwrap_or(i64::MAX);
            match store
                .claim_more_jobs(&config.replica, config.lease, &jobs[0].kind, more)
                .await
            {
                Ok(more) => jobs.extend(more),
                Err(error) => warn!(%error, "cannot claim more jobs for a batch; running one"),
            }
            span.record("batch", jobs.len());
        }
        run_jobs(&store, handler.as_ref(), &config, jobs, &cancel)
            .instrument(span)
            .await;
    }
}

/// Claims and runs only jobs of `kind`, in batches of the handler's [`JobHandler::batch_limit`],
/// polling every `poll` when idle: a worker for work people wait on (notifications), so that it
/// never queues behind a long detection pass. Jobs of `kind` are also claimed by [`run_worker`].
pub async fn run_kind_worker(
    store: Store,
    handler: Arc<dyn JobHandler>,
    config: JobsConfig,
    kind: &'static str,
    poll: Duration,
    cancel: CancellationToken,
) {
    let limit = i64::try_from(handler.batch_limit(kind).max(1)).unwrap_or(1);
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let jobs = match store
            .claim_more_jobs(&config.replica, config.lease, kind, limit)
            .await
        {
            Ok(jobs) => jobs,
            Err(error) => {
                warn!(%error, kind, "cannot claim jobs; retrying");
                Vec::new()
            }
        };
        if jobs.is_empty() {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(poll) => continue,
            }
        }
        let span = info_span!("jobs", kind, batch = jobs.len());
        run_jobs(&store, handler.as_ref(), &config, jobs, &cancel)
            .instrument(span)
            .await;
    }
}

async fn run_jobs(
    store: &Store,
    handler: &dyn JobHandler,
    config: &JobsConfig,
    jobs: Vec<ClaimedJob>,
    cancel: &CancellationToken,
) {
    let work = match jobs.as_slice() {
        [job] => Box::pin(async move { vec![handler.run(job).await] }),
        batch => handler.run_batch(batch),
    };
    tokio::pin!(work);
    let mut renew = tokio::time::interval((config.lease / 3).max(Duration::from_millis(50)));
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate; the claim itself set the lease.
    renew.tick().await;
    let mut lost: Vec<uuid::Uuid> = Vec::new();
    let outcomes = loop {
        tokio::select! {
            outcomes = &mut work => break Some(outcomes),
            _ = renew.tick() => {
                let held: Vec<ClaimedJob> =
                    jobs.iter().filter(|job| !lost.contains(&job.id)).cloned().collect();
                match store.renew_job_leases(&held, config.lease).await {
                    Ok(taken) if taken.len() == held.len() => {
                        warn!("lost the jobs' leases (another replica took them over); abandoning them");
                        return;
                    }
                    Ok(taken) => {
                        if !taken.is_empty() {
                            warn!(taken = taken.len(), "another replica took over some of the batch's jobs");
                        }
                        lost.extend(taken);
                    }
                    Err(error) => warn!(%error, "cannot renew the jobs' leases"),
                }
            },
            _ = cancel.cancelled() => break None,
        }
    };
    let held = jobs.iter().filter(|job| !lost.contains(&job.id));
    let Some(outcomes) = outcomes else {
        for job in held {
            if let Err(error) = store.release_job(job).await {
                warn!(%error, id = %job.id, "cannot give the job back; its lease will expire and it runs again");
            }
        }
        return;
    };
    let mut succeeded = Vec::new();
    for (job, outcome) in jobs.iter().zip(outcomes) {
        if lost.contains(&job.id) {
            continue;
        }
        match outcome {
            Ok(()) => succeeded.push(job.clone()),
            Err(error) if error.defer => {
                let delay = error.retry_after.unwrap_or(RETRY_MIN_DELAY);
                let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                if let Err(failure) = store.defer_job(job, &error.message, at).await {
                    warn!(error = %failure, id = %job.id, "cannot defer the job; its lease will expire and it runs again");
                }
            }
            Err(error) => {
                let retry_at = (job.attempts < job.max_attempts).then(|| {
                    let delay = error.retry_after.unwrap_or_else(|| retry_delay(job.attempts));
                    Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
                });
                match retry_at {
                    Some(at) => warn!(%error, id = %job.id, retry_at = %at, "job failed; will retry"),
                    None => warn!(%error, id = %job.id, "job failed on its last attempt; dead"),
                }
                match store.fail_job(job, &error.message, retry_at).await {
                    Ok(true) => {}
                    Ok(false) => warn!(id = %job.id, "the job's lease was taken over before it was settled"),
                    Err(error) => {
                        warn!(%error, id = %job.id, "cannot settle the job; its lease will expire and it runs again")
                    }
                }
            }
        }
    }
    match store.complete_jobs(&succeeded).await {
        Ok(done) if done == succeeded.len() as u64 => {}
        Ok(done) => warn!(
            settled = done,
            succeeded = succeeded.len(),
            "some jobs' leases were taken over before they were settled"
        ),
        Err(error) => warn!(%error, "cannot settle the jobs; their leases will expire and they run again"),
    }
}

/// Enqueues `kind` for each slot of `every` (at once, then every `every`) until `cancel` fires,
/// and prunes old rows. Every replica runs one; the dedupe key per slot makes one job of it.
pub async fn run_scheduler(store: Store, kind: &'static str, every: Duration, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        match store
            .enqueue_periodic_job(kind, every, DEFAULT_MAX_ATTEMPTS)
            .await
        {
            Ok(Some(id)) => tracing::debug!(%id, kind, "periodic job enqueued"),
            Ok(None) => {}
            Err(error) => warn!(%error, kind, "cannot enqueue the periodic job"),
        }
        let now = Utc::now();
        let before = |kept: Duration| now - chrono::Duration::from_std(kept).unwrap_or(chrono::Duration::MAX);
        if let Err(error) = store.prune_jobs(before(SUCCEEDED_KEPT), before(DEAD_KEPT)).await {
            warn!(%error, "cannot prune old jobs");
        }
    }
}

/// Job counts by kind and state, for `/metrics`.
pub async fn counts(store: &Store) -> crate::store::StoreResult<Vec<JobCount>> {
    store.job_counts().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_exponentially_within_jitter_and_are_capped() {
        for attempt in 1..=12 {
            let delay = retry_delay(attempt);
            let base = RETRY_MIN_DELAY
                .saturating_mul(1 << (attempt - 1).min(20))
                .min(RETRY_MAX_DELAY);
            // backon's jitter adds up to one more base delay.
            assert!(
                delay >= base && delay <= base * 2,
                "attempt {attempt}: {delay:?} vs {base:?}"
            );
        }
    }
}
