//! The replica's job handler: routes each background job to the capability that runs it —
//! `score_asset` (in batches) to scoring, `evaluate_slas` to SLAs, `deliver_notification` (in
//! concurrent batches) to channels, `incident_upkeep` to incidents, the detection kinds to
//! monitoring.
//!
//! Owns only the routing. Must not: hold logic of its own (each capability's service does the
//! work), or know how jobs are claimed (that is `jobs`).

use crate::jobs::{BatchOutcomes, ClaimedJob, JobError, JobHandler};
use crate::monitoring::detection_jobs::DetectionJobs;
use crate::scoring::service::{SCORE_ASSET, SCORE_BATCH, run_score_jobs};
use crate::slas::service::{EVALUATE_SLAS, run_evaluation_job};
use crate::store::Store;
use crate::store::incidents::DELIVER_NOTIFICATION;

/// The periodic upkeep of incidents: snoozes that ended, agents gone silent, escalations due,
/// digests whose period ended.
pub const INCIDENT_UPKEEP: &str = "incident_upkeep";

pub struct Background {
    pub store: Store,
    pub detection: DetectionJobs,
    /// The console's external URL, for links in notifications ("" links relative).
    pub public_url: String,
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
            public_url: String::new(),
        }
    }

    /// Links in notifications start with `url` (e.g. `https://cwic.example.com`).
    pub fn with_public_url(mut self, url: Option<String>) -> Self {
        self.public_url = url.unwrap_or_default();
        self
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
            DELIVER_NOTIFICATION => Box::pin(async move {
                crate::channels::notify::run_delivery_jobs(
                    &self.store,
                    std::slice::from_ref(job),
                    &self.public_url,
                )
                .await
                .pop()
                .unwrap_or(Ok(()))
            }),
            INCIDENT_UPKEEP => Box::pin(async move {
                self.store
                    .wake_snoozed_incidents()
                    .await
                    .map_err(|error| JobError::from(format!("cannot wake snoozed incidents: {error}")))?;
                self.store
                    .report_offline_agents()
                    .await
                    .map_err(|error| JobError::from(format!("cannot report offline agents: {error}")))?;
                self.store
                    .escalate_unacknowledged()
                    .await
                    .map_err(|error| JobError::from(format!("cannot escalate incidents: {error}")))?;
                self.store
                    .queue_due_digests(chrono::Utc::now())
                    .await
                    .map(|_| ())
                    .map_err(|error| JobError::from(format!("cannot queue digests: {error}")))
            }),
            crate::store::incidents::EXPLAIN_INCIDENT => {
                Box::pin(crate::incidents::service::run_explain_job(&self.store, job))
            }
            crate::channels::digest::DELIVER_DIGEST => Box::pin(crate::channels::digest::run_digest_job(
                &self.store,
                job,
                &self.public_url,
            )),
            _ => self.detection.run(job),
        }
    }

    fn batch_limit(&self, kind: &str) -> usize {
        match kind {
            SCORE_ASSET => SCORE_BATCH,
            DELIVER_NOTIFICATION => crate::channels::notify::BATCH,
            _ => 1,
        }
    }

    fn run_batch<'a>(&'a self, jobs: &'a [ClaimedJob]) -> BatchOutcomes<'a> {
        if jobs.iter().all(|job| job.kind == SCORE_ASSET) {
            Box::pin(run_score_jobs(&self.store, jobs))
        } else if jobs.iter().all(|job| job.kind == DELIVER_NOTIFICATION) {
            Box::pin(crate::channels::notify::run_delivery_jobs(
                &self.store,
                jobs,
                &self.public_url,
            ))
        } else {
            crate::jobs::run_each(self, jobs)
        }
    }
}
