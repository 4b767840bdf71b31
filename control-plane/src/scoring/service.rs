//! The scoring service: `score_asset` jobs, run in batches (evidence → score → history rows
//! and `score.changed` events) and what the API asks of scores.
//!
//! Owns: when and how a score is recomputed (as a job, enqueued with its evidence by ingest, so
//! any replica may run it) and the API's answers. Must not: compute outside a job, or read a
//! tenant's data for the API other than through its [`TenantStore`].

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Dimensions, Weights, score};
use crate::error::{ServiceError, ServiceResult};
use crate::jobs::{ClaimedJob, JobError};
use crate::store::scores::{GroupScore, ScorePoint, ScoreRecord};
use crate::store::{Store, TenantStore};

pub use crate::store::scores::SCORE_ASSET;

/// How many due `score_asset` jobs a worker scores together: their evidence is read, and their
/// history rows and events written, with one statement each per tenant.
pub const SCORE_BATCH: usize = 500;

/// Runs `score_asset` jobs together: scores each asset from its current evidence and keeps the
/// results. One outcome per job, in order; a malformed job fails alone, a tenant whose batch
/// cannot be stored fails its jobs (they are retried).
pub async fn run_score_jobs(store: &Store, jobs: &[ClaimedJob]) -> Vec<Result<(), JobError>> {
    let mut outcomes: Vec<Result<(), JobError>> = vec![Ok(()); jobs.len()];
    let mut by_tenant: BTreeMap<&str, Vec<(usize, Uuid)>> = BTreeMap::new();
    for (index, job) in jobs.iter().enumerate() {
        match (
            job.tenant_id.as_deref(),
            job.payload["asset_id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok()),
        ) {
            (Some(tenant), Some(asset)) => by_tenant.entry(tenant).or_default().push((index, asset)),
            _ => {
                outcomes[index] = Err(format!(
                    "a score_asset job needs a tenant and an asset_id, got tenant {:?} and payload {}",
                    job.tenant_id, job.payload
                )
                .into())
            }
        }
    }
    for (tenant, members) in by_tenant {
        let assets: Vec<Uuid> = members.iter().map(|(_, asset)| *asset).collect();
        if let Err(error) = score_assets(store, tenant, &assets).await {
            for (index, asset) in members {
                outcomes[index] = Err(format!("cannot score asset {asset}: {error}").into());
            }
        }
    }
    outcomes
}

/// Scores a tenant's assets now from their current evidence and keeps the results (the jobs'
/// work). Assets that no longer exist are skipped; returns how many were scored.
pub async fn score_assets(store: &Store, tenant: &str, assets: &[Uuid]) -> crate::store::StoreResult<usize> {
    let evidence = store.score_evidence(tenant, assets).await?;
    if evidence.is_empty() {
        return Ok(0);
    }
    let tenant_weights = store.score_weights(tenant).await?;
    let own: Vec<Uuid> = evidence.keys().copied().collect();
    let own = store.asset_score_weights(tenant, &own).await?;
    let records: Vec<ScoreRecord> = evidence
        .into_iter()
        .map(|(asset, measured)| {
            let weights = own.get(&asset).copied().unwrap_or(tenant_weights);
            ScoreRecord {
                asset,
                computed: score(&measured.evidence, &weights),
                issues: measured.evidence.issues(),
                weights,
                measured_at: measured.measured_at,
            }
        })
        .collect();
    store.record_scores(tenant, &records).await?;
    Ok(records.len())
}

/// An asset's score as `GET /api/v1/assets/{id}/score` returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssetScore {
    pub asset_id: Uuid,
    /// 0-100, or null when no dimension has evidence ("not measured").
    pub score: Option<f64>,
    /// The weight share of the measured dimensions, 0-1.
    pub coverage: f64,
    /// When it was computed; null when the asset was never scored.
    pub computed_at: Option<DateTime<Utc>>,
    pub weights: Weights,
    /// Each of the seven dimensions: its score (null: not measured) and the evidence behind it.
    pub dimensions: Dimensions,
    /// Score now minus the score 24 hours ago (null when either is unknown).
    pub trend_24h: Option<f64>,
    /// Score now minus the score 7 days ago (null when either is unknown).
    pub trend_7d: Option<f64>,
    /// What moved the score over the last 24 hours: the checks and columns whose points changed,
    /// the largest first; their contributions sum to `trend_24h`. Empty when nothing moved or
    /// there is no score from 24 hours ago.
    pub causes_24h: Vec<super::Cause>,
    /// The same over 7 days (summing to `trend_7d`).
    pub causes_7d: Vec<super::Cause>,
}

/// The asset's latest score with its trends; a never-scored asset answers "not measured".
pub async fn asset_score(store: &TenantStore, asset: Uuid) -> ServiceResult<AssetScore> {
    let latest = store
        .latest_score(asset)
        .await?
        .ok_or_else(|| ServiceError::not_found("asset"))?;
    let Some(latest) = latest else {
        return Ok(AssetScore {
            asset_id: asset,
            score: None,
            coverage: 0.0,
            computed_at: None,
            weights: Weights::default(),
            dimensions: Dimensions::default(),
            trend_24h: None,
            trend_7d: None,
            causes_24h: Vec::new(),
            causes_7d: Vec::new(),
        });
    };
    let now = Utc::now();
    let mut trends = [None, None];
    let mut causes = [Vec::new(), Vec::new()];
    for ((trend, causes), back) in trends
        .iter_mut()
        .zip(causes.iter_mut())
        .zip([Duration::hours(24), Duration::days(7)])
    {
        let Some(before) = store.score_at(asset, now - back).await? else {
            continue;
        };
        if let (Some(current), Some(was)) = (latest.score, before.score) {
            *trend = Some(current - was);
            *causes = super::causes(
                (&before.dimensions, &before.weights),
                (&latest.dimensions, &latest.weights),
            );
        }
    }
    let [causes_24h, causes_7d] = causes;
    Ok(AssetScore {
        asset_id: latest.asset_id,
        score: latest.score,
        coverage: latest.coverage,
        computed_at: Some(latest.computed_at),
        weights: latest.weights,
        dimensions: latest.dimensions,
        trend_24h: trends[0],
        trend_7d: trends[1],
        causes_24h,
        causes_7d,
    })
}

/// The asset's score history since `since` (default: 7 days ago).
pub async fn score_history(
    store: &TenantStore,
    asset: Uuid,
    since: Option<DateTime<Utc>>,
) -> ServiceResult<Vec<ScorePoint>> {
    let since = since.unwrap_or_else(|| Utc::now() - Duration::days(7));
    store
        .score_history(asset, since)
        .await?
        .ok_or_else(|| ServiceError::not_found("asset"))
}

/// Group scores by `source`, `tag` or `tenant`.
pub async fn group_scores(store: &TenantStore, group_by: &str) -> ServiceResult<Vec<GroupScore>> {
    if !matches!(group_by, "source" | "tag" | "tenant") {
        return Err(ServiceError::bad_field(
            "group_by",
            format!("group_by must be source, tag or tenant, got {group_by:?}"),
        ));
    }
    Ok(store.group_scores(group_by).await?)
}

/// Validates and stores the tenant's weights.
pub async fn put_weights(store: &TenantStore, weights: &Weights, by: &str) -> ServiceResult<Weights> {
    weights.validate()?;
    store.put_score_weights(weights, by).await?;
    Ok(*weights)
}

/// A check's dimension on an asset, as `PUT /api/v1/assets/{id}/checks/{check}/dimension` returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckDimension {
    pub asset_id: Uuid,
    pub check_name: String,
    /// The dimension the check counts in now.
    pub dimension: String,
    /// The dimension its template gives it.
    pub template_dimension: String,
    /// Whether `dimension` is an override.
    pub overridden: bool,
}

/// Makes a check count in `dimension` (one of the seven) instead of its template's, or with
/// `None` back in its template's; the asset is rescored.
pub async fn put_check_dimension(
    store: &TenantStore,
    asset: Uuid,
    check: &str,
    dimension: Option<&str>,
) -> ServiceResult<CheckDimension> {
    if let Some(dimension) = dimension
        && !super::DIMENSIONS.contains(&dimension)
    {
        return Err(ServiceError::bad_field(
            "dimension",
            format!(
                "dimension: one of {}, or null for the template's; got {dimension:?}",
                super::DIMENSIONS.join(", ")
            ),
        ));
    }
    let template = store
        .put_check_dimension(asset, check, dimension)
        .await?
        .ok_or_else(|| ServiceError::not_found("check result of this asset"))?;
    Ok(CheckDimension {
        asset_id: asset,
        check_name: check.to_owned(),
        dimension: dimension.unwrap_or(&template).to_owned(),
        overridden: dimension.is_some_and(|d| d != template),
        template_dimension: template,
    })
}

/// Validates and sets an asset's own weights (`None`: back to the tenant's); the asset is rescored.
pub async fn put_asset_weights(
    store: &TenantStore,
    asset: Uuid,
    weights: Option<&Weights>,
    by: &str,
) -> ServiceResult<()> {
    if let Some(weights) = weights {
        weights.validate()?;
    }
    if store.put_asset_score_weights(asset, weights, by).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("asset"))
    }
}
