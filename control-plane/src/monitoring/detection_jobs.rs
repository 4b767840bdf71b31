//! Detection as jobs: the periodic `detection_pass` job (one per slot, a system job) fans out one
//! `detect_asset` job per asset with new points or reset feedback; any replica's worker judges
//! an asset's series and then its table model ([`scan::detect_asset`]) and records who judged it.
//!
//! Owns: the two job kinds and their payloads. Must not: judge anything itself (that is `scan`),
//! or run an asset's detection outside a job (two replicas would judge it twice).

use std::future::Future;
use std::pin::Pin;

use serde_json::json;
use uuid::Uuid;

use super::scan;
use crate::jobs::{ClaimedJob, DEFAULT_MAX_ATTEMPTS, JobError, JobHandler, NewJob};
use crate::store::Store;

/// The periodic pass (system job, payload `{"slot": <unix ms>}`).
pub const DETECTION_PASS: &str = "detection_pass";
/// One asset of a pass (payload `{"asset_id", "slot"}`).
pub const DETECT_ASSET: &str = "detect_asset";
/// Assets fanned out per pass, at most; the rest come with the next pass.
const ASSETS_PER_PASS: i64 = 100_000;

/// Runs the detection job kinds.
pub struct DetectionJobs {
    pub store: Store,
    /// This replica's name, for the audit trail.
    pub replica: String,
}

impl JobHandler for DetectionJobs {
    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
    ) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'a>> {
        Box::pin(async move {
            match job.kind.as_str() {
                DETECTION_PASS => self.fan_out(job).await,
                DETECT_ASSET => self.detect(job).await,
                other => Err(format!(
                    "this control plane does not know the job kind {other:?} (a newer version enqueued it?)"
                )
                .into()),
            }
        })
    }
}

impl DetectionJobs {
    async fn fan_out(&self, job: &ClaimedJob) -> Result<(), JobError> {
        let slot = job.payload["slot"].as_i64();
        // An asset whose job finished after this listing began was judged on points at least
        // as new as the listing saw: it is not enqueued again (its job may finish between the
        // listing and the enqueueing, when the pending key no longer holds it back).
        let listed_at = self
            .store
            .database_now()
            .await
            .map_err(|error| format!("cannot read the database's clock: {error}"))?;
        let assets = scan::assets_to_judge(&self.store, ASSETS_PER_PASS)
            .await
            .map_err(|error| format!("cannot list the assets to judge: {error}"))?;
        let mut enqueued = 0usize;
        for (tenant, asset) in &assets {
            let job = detect_asset_job(tenant, *asset, slot);
            if self
                .store
                .enqueue_job_unless_done_since(&job, listed_at)
                .await
                .map_err(|error| format!("cannot enqueue the detection of asset {asset}: {error}"))?
                .is_some()
            {
                enqueued += 1;
            }
        }
        if enqueued > 0 {
            tracing::info!(
                assets = assets.len(),
                enqueued,
                ?slot,
                "detection pass fanned out"
            );
        }
        Ok(())
    }

    async fn detect(&self, job: &ClaimedJob) -> Result<(), JobError> {
        let (Some(tenant), Some(asset)) = (
            job.tenant_id.as_deref(),
            job.payload["asset_id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok()),
        ) else {
            return Err(format!(
                "a detect_asset job needs a tenant and an asset_id, got tenant {:?} and payload {}",
                job.tenant_id, job.payload
            )
            .into());
        };
        let Some(outcome) = scan::detect_asset(&self.store, tenant, asset)
            .await
            .map_err(|error| format!("cannot judge asset {asset}: {error}"))?
        else {
            return Ok(());
        };
        self.store
            .record_detection_run(
                tenant,
                asset,
                job.payload["slot"].as_i64(),
                &self.replica,
                outcome.series,
                outcome.events,
            )
            .await
            .map_err(|error| format!("cannot record the detection of asset {asset}: {error}"))?;
        Ok(())
    }
}

/// The job that judges one asset for the pass of `slot`: once per pass (dedupe key) and one at
/// a time per asset (pending key), so two passes never judge an asset concurrently.
pub fn detect_asset_job(tenant: &str, asset: Uuid, slot: Option<i64>) -> NewJob {
    NewJob {
        tenant_id: Some(tenant.to_owned()),
        kind: DETECT_ASSET,
        payload: json!({"asset_id": asset, "slot": slot}),
        dedupe_key: slot.map(|slot| format!("{slot}:{asset}")),
        pending_key: Some(asset.to_string()),
        max_attempts: DEFAULT_MAX_ATTEMPTS,
    }
}
