//! The job queue's table (`jobs`) and the detection audit trail (`detection_runs`). Owner pool:
//! background work, not the API (which reads a tenant's jobs through [`Store::scoped`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Store, StoreResult};

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// `None` for a system job (no tenant).
    pub tenant_id: Option<String>,
    pub kind: &'static str,
    pub payload: serde_json::Value,
    /// At most one job of this kind with this key while the row is kept (a periodic slot).
    pub dedupe_key: Option<String>,
    /// At most one queued or running job of this kind with this key at a time.
    pub pending_key: Option<String>,
    pub max_attempts: i32,
}

/// A job a worker holds under a lease.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub tenant_id: Option<String>,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Including this one.
    pub attempts: i32,
    pub max_attempts: i32,
    /// Fences this claim: once another replica took the job over, this token no longer matches.
    pub lease_token: Uuid,
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct JobRecord {
    pub id: Uuid,
    /// `detect_asset`, ...
    pub kind: String,
    /// `queued`, `running`, `succeeded` or `dead` (failed `max_attempts` times).
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// When a queued job may run next (after a failure: the back-off).
    pub run_after: DateTime<Utc>,
    /// The error of the last failed attempt, if any.
    pub last_error: Option<String>,
    /// The replica holding or last holding the job.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// How many jobs of a kind are in a state (for `/metrics`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct JobCount {
    pub kind: String,
    pub state: String,
    pub count: i64,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Enqueues a job unless a job of the same kind and pending key succeeded at or after
    /// `since` (a fan-out that listed its work at `since` would only repeat it); `None` then, or
    /// when a job with its dedupe key (or a pending one with its pending key) exists already.
    pub async fn enqueue_job_unless_done_since(
        &self,
        job: &NewJob,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<Uuid>> {
        Ok(sqlx::query_scalar(
            "INSERT INTO jobs (id, tenant_id, kind, payload, dedupe_key, pending_key, max_attempts)
             SELECT $1, $2, $3, $4, $5, $6, $7
             WHERE NOT EXISTS (SELECT 1 FROM jobs done
                               WHERE done.state = 'succeeded' AND done.finished_at >= $8
                                 AND done.kind = $3 AND done.pending_key = $6)
             ON CONFLICT DO NOTHING
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(&job.tenant_id)
        .bind(job.kind)
        .bind(&job.payload)
        .bind(&job.dedupe_key)
        .bind(&job.pending_key)
        .bind(job.max_attempts)
        .bind(since)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The database's clock (the one job times are recorded by).
    pub async fn database_now(&self) -> StoreResult<DateTime<Utc>> {
        Ok(sqlx::query_scalar("SELECT now()").fetch_one(&self.pool).await?)
    }

    /// Enqueues the system job `kind` for the current slot of `every` (by the database's clock,
    /// so replicas agree): once per slot however many replicas call it, and not while an earlier
    /// slot's job is still queued or running (a slow pass makes later slots skip, not pile up).
    /// The payload is `{"slot": <unix ms of the slot's start>}`. `None` when nothing was enqueued.
    pub async fn enqueue_periodic_job(
        &self,
        kind: &'static str,
        every: Duration,
        max_attempts: i32,
    ) -> StoreResult<Option<Uuid>> {
        Ok(sqlx::query_scalar(
            "INSERT INTO jobs (id, kind, payload, dedupe_key, pending_key, max_attempts)
             SELECT $1, $2, jsonb_build_object('slot', slot), 'slot:' || slot, 'periodic', $4
             FROM (SELECT (floor(extract(epoch FROM now()) * 1000 / $3) * $3)::bigint AS slot) s
             ON CONFLICT DO NOTHING
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(kind)
        .bind(millis(every).max(1))
        .bind(max_attempts)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Claims up to `limit` due jobs for `owner` under a lease of `lease`: queued jobs whose
    /// `run_after` has come, and running jobs whose lease expired (their replica died or hung).
    /// Rows another worker is claiming are skipped, not waited for. A job whose lease expired on
    /// its last attempt is dead instead.
    pub async fn claim_jobs(&self, owner: &str, lease: Duration, limit: i64) -> StoreResult<Vec<ClaimedJob>> {
        sqlx::query(
            "UPDATE jobs SET state = 'dead', finished_at = now(), updated_at = now(),
                    last_error = 'the lease of ' || coalesce(lease_owner, 'a replica')
                                 || ' expired on the last attempt'
                                 || coalesce(' (before: ' || last_error || ')', '')
             WHERE state = 'running' AND lease_until < now() AND attempts >= max_attempts",
        )
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query_as(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
                    lease_token = gen_random_uuid(), lease_until = now() + $2 * interval '1 millisecond',
                    updated_at = now()
             WHERE id IN (SELECT id FROM jobs
                          WHERE (state = 'queued' AND run_after <= now())
                             OR (state = 'running' AND lease_until < now())
                          ORDER BY run_after, id
                          LIMIT $3
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, tenant_id, kind, payload, attempts, max_attempts, lease_token",
        )
        .bind(owner)
        .bind(millis(lease))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Claims up to `limit` more due jobs of `kind` for `owner` (a worker filling a batch after
    /// [`Store::claim_jobs`] gave it one of a kind its handler runs in batches).
    pub async fn claim_more_jobs(
        &self,
        owner: &str,
        lease: Duration,
        kind: &str,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedJob>> {
        Ok(sqlx::query_as(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
                    lease_token = gen_random_uuid(), lease_until = now() + $2 * interval '1 millisecond',
                    updated_at = now()
             WHERE id IN (SELECT id FROM jobs
                          WHERE kind = $4 AND ((state = 'queued' AND run_after <= now())
                                               OR (state = 'running' AND lease_until < now()
                                                   AND attempts < max_attempts))
                          ORDER BY run_after, id
                          LIMIT $3
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, tenant_id, kind, payload, attempts, max_attempts, lease_token",
        )
        .bind(owner)
        .bind(millis(lease))
        .bind(limit)
        .bind(kind)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Extends the leases of jobs this claim holds; returns those it lost (taken over).
    pub async fn renew_job_leases(&self, jobs: &[ClaimedJob], lease: Duration) -> StoreResult<Vec<Uuid>> {
        let renewed: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE jobs j SET lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
             FROM UNNEST($1::uuid[], $2::uuid[]) AS x (id, token)
             WHERE j.id = x.id AND j.lease_token = x.token AND j.state = 'running'
             RETURNING j.id",
        )
        .bind(jobs.iter().map(|job| job.id).collect::<Vec<_>>())
        .bind(jobs.iter().map(|job| job.lease_token).collect::<Vec<_>>())
        .bind(millis(lease))
        .fetch_all(&self.pool)
        .await?;
        Ok(jobs
            .iter()
            .map(|job| job.id)
            .filter(|id| !renewed.contains(id))
            .collect())
    }

    /// Marks jobs done in one statement; returns how many this claim still held.
    pub async fn complete_jobs(&self, jobs: &[ClaimedJob]) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE jobs j SET state = 'succeeded', finished_at = now(), updated_at = now(),
                    lease_until = NULL, lease_token = NULL
             FROM UNNEST($1::uuid[], $2::uuid[]) AS x (id, token)
             WHERE j.id = x.id AND j.lease_token = x.token AND j.state = 'running'",
        )
        .bind(jobs.iter().map(|job| job.id).collect::<Vec<_>>())
        .bind(jobs.iter().map(|job| job.lease_token).collect::<Vec<_>>())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Marks a job done; false when this claim no longer held it.
    pub async fn complete_job(&self, job: &ClaimedJob) -> StoreResult<bool> {
        Ok(self.complete_jobs(std::slice::from_ref(job)).await? == 1)
    }

    /// Records a failed attempt: queued again at `retry_at`, or dead (with `None`). The error is
    /// kept either way. False when this claim no longer held the job.
    pub async fn fail_job(
        &self,
        job: &ClaimedJob,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        let failed = sqlx::query(
            "UPDATE jobs SET state = CASE WHEN $4::timestamptz IS NULL THEN 'dead' ELSE 'queued' END,
                    run_after = coalesce($4, run_after), last_error = $3, updated_at = now(),
                    finished_at = CASE WHEN $4::timestamptz IS NULL THEN now() END,
                    lease_until = NULL, lease_token = NULL
             WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(job.lease_token)
        .bind(error)
        .bind(retry_at)
        .execute(&self.pool)
        .await?;
        Ok(failed.rows_affected() == 1)
    }

    /// Puts a job off until `at` without counting the attempt (it did not fail: it must wait).
    pub async fn defer_job(&self, job: &ClaimedJob, why: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let deferred = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, run_after = $3, last_error = $4,
                    updated_at = now(), lease_until = NULL, lease_token = NULL
             WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(job.lease_token)
        .bind(at)
        .bind(why)
        .execute(&self.pool)
        .await?;
        Ok(deferred.rows_affected() == 1)
    }

    /// Gives a job back unfinished (shutdown): queued at once, the attempt not counted.
    pub async fn release_job(&self, job: &ClaimedJob) -> StoreResult<bool> {
        let released = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, updated_at = now(),
                    lease_until = NULL, lease_token = NULL
             WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(job.lease_token)
        .execute(&self.pool)
        .await?;
        Ok(released.rows_affected() == 1)
    }

    /// Deletes succeeded jobs finished before `succeeded_before`, dead ones and detection runs
    /// before `kept_since`; returns how many jobs went.
    pub async fn prune_jobs(
        &self,
        succeeded_before: DateTime<Utc>,
        kept_since: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let jobs = sqlx::query(
            "DELETE FROM jobs WHERE (state = 'succeeded' AND finished_at < $1)
                                 OR (state = 'dead' AND finished_at < $2)",
        )
        .bind(succeeded_before)
        .bind(kept_since)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM detection_runs WHERE judged_at < $1")
            .bind(kept_since)
            .execute(&self.pool)
            .await?;
        Ok(jobs.rows_affected())
    }

    /// Jobs by kind and state, all tenants and system jobs.
    pub async fn job_counts(&self) -> StoreResult<Vec<JobCount>> {
        Ok(sqlx::query_as(
            "SELECT kind, state, count(*) AS count FROM jobs GROUP BY kind, state ORDER BY kind, state",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that `judged_by` judged an asset (for the pass of `pass_slot`).
    pub async fn record_detection_run(
        &self,
        tenant: &str,
        asset: Uuid,
        pass_slot: Option<i64>,
        judged_by: &str,
        series: usize,
        events: usize,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO detection_runs (id, tenant_id, asset_id, pass_slot, judged_by, series, events)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(tenant)
        .bind(asset)
        .bind(pass_slot)
        .bind(judged_by)
        .bind(i32::try_from(series).unwrap_or(i32::MAX))
        .bind(i32::try_from(events).unwrap_or(i32::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether an asset's table model is behind its newest point (or was never run, or feedback
    /// reset it).
    pub async fn asset_table_due(&self, tenant: &str, asset: Uuid) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (
                 SELECT 1 FROM (SELECT max(observed_at) AS latest FROM metric_points
                                WHERE tenant_id = $1 AND asset_id = $2) p
                 LEFT JOIN detection_state s ON s.tenant_id = $1 AND s.asset_id = $2
                      AND s.metric = $3 AND s.column_name = ''
                 WHERE p.latest IS NOT NULL AND (s.scanned_through IS NULL OR s.scanned_through < p.latest))",
        )
        .bind(tenant)
        .bind(asset)
        .bind(crate::detectors::TABLE_VECTOR_METRIC)
        .fetch_one(&self.pool)
        .await?)
    }
}

impl crate::store::TenantStore {
    /// The tenant's jobs, newest first.
    pub async fn list_jobs(&self, limit: i64) -> StoreResult<Vec<JobRecord>> {
        let mut tx = self.begin().await?;
        let jobs = sqlx::query_as(
            "SELECT id, kind, state, attempts, max_attempts, run_after, last_error, lease_owner,
                    lease_until, payload, created_at, updated_at, finished_at
             FROM jobs WHERE tenant_id = $1
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(self.tenant_id().as_str())
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(jobs)
    }
}
