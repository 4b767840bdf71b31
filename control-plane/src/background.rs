//! The replica's job handler: routes each background job to the capability that runs it —
//! `score_asset` (in batches) to scoring, `evaluate_slas` to SLAs, the detection kinds to
//! monitoring.
//!
//! Owns only the routing. Must not: hold logic of its own (each capability's service does the
//! work), or know how jobs are claimed (that is `jobs`).

use crate::jobs::{BatchOutcomes, ClaimedJob, JobError, JobHandler};
use crate::monitoring::detection_jobs::DetectionJobs;
use crate::scoring::service::{SCORE_ASSET, SCORE_BATCH, run_score_jobs};
use crate::slas::service::{EVALUATE_SLAS, run_evaluation_job};
use crate::store::Store;

pub struct Background {
    pub store: Store,
    pub detection: DetectionJobs,
}

impl Background {
    /// The handler of a replica named `replica` (its name in the detection audit trail).
    pub fn new(store: Store, replica: &str) -> Self {
        Self {
            detection: DetectionJobs {
                store: store.clone(),
                replica: replica.to_owned(),
            },
            store,
        }
    }
}

impl JobHandler for Background {
    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), JobError>> + Send + 'a>> {
        match job.kind.as_str() {
            SCORE_ASSET => Box::pin(async move {
                run_score_jobs(&self.store, std::slice::from_ref(job))
                    .await
                    .pop()
                    .unwrap_or(Ok(()))
            }),
            EVALUATE_SLAS => Box::pin(run_evaluation_job(&self.store)),
            _ => self.detection.run(job),
        }
    }

    fn batch_limit(&self, kind: &str) -> usize {
        if kind == SCORE_ASSET { SCORE_BATCH } else { 1 }
    }

    fn run_batch<'a>(&'a self, jobs: &'a [ClaimedJob]) -> BatchOutcomes<'a> {
        if jobs.iter().all(|job| job.kind == SCORE_ASSET) {
            Box::pin(run_score_jobs(&self.store, jobs))
        } else {
            crate::jobs::run_each(self, jobs)
        }
    }
}
