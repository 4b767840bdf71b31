//! The ROI report as the API returns it: [`report`] reads a tenant's incidents of a period and its
//! cost assumptions through the tenant handle and runs the pure computation of [`super::compute`].

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ServiceResult;
use crate::store::TenantStore;

/// A figure and the incidents it was computed from.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoiFigure {
    pub value: f64,
    pub incident_ids: Vec<Uuid>,
}

impl From<super::Figure> for RoiFigure {
    fn from(figure: super::Figure) -> Self {
        Self {
            value: figure.value,
            incident_ids: figure.incident_ids,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoiAssetDowntime {
    /// `null`: incidents that are not about one asset.
    pub asset_id: Option<Uuid>,
    pub detect_hours: RoiFigure,
    pub resolve_hours: RoiFigure,
    pub downtime_hours: RoiFigure,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoiMoney {
    pub gains: RoiFigure,
    pub investment: f64,
    /// `(gains − investment) / investment × 100`; `null` when the investment is 0.
    pub roi_percent: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoiFigures {
    pub incidents: RoiFigure,
    pub unresolved: RoiFigure,
    /// Σ (opened_at − began_at).
    pub detect_hours: RoiFigure,
    /// Σ (resolved_at − opened_at); an unresolved incident counts until `until`.
    pub resolve_hours: RoiFigure,
    /// Σ (detect + resolve).
    pub downtime_hours: RoiFigure,
    pub per_asset: Vec<RoiAssetDowntime>,
    pub caught_before_downstream: RoiFigure,
    pub fixes_applied: RoiFigure,
    /// Present once the tenant set its cost assumptions (`roi_settings`).
    pub hours_saved: Option<RoiFigure>,
    pub money: Option<RoiMoney>,
}

/// `GET /api/v1/roi`: `figures` is `null` when no incident was opened in the period, and
/// `message` says there is nothing to compute.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoiReport {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub period_days: i64,
    pub figures: Option<RoiFigures>,
    pub message: Option<String>,
}

pub async fn report(store: &TenantStore, period_days: i64, now: DateTime<Utc>) -> ServiceResult<RoiReport> {
    let since = now - Duration::days(period_days);
    let incidents = store.roi_incidents(since, now).await?;
    let settings = store.roi_settings().await?;
    let computed = super::compute(&incidents, now, period_days as f64, settings.as_ref());
    let message = computed.is_none().then(|| {
        format!("no incidents were opened in the last {period_days} days: there is nothing to compute")
    });
    let figures = computed.map(|report| RoiFigures {
        incidents: report.incidents.into(),
        unresolved: report.unresolved.into(),
        detect_hours: report.detect_hours.into(),
        resolve_hours: report.resolve_hours.into(),
        downtime_hours: report.downtime_hours.into(),
        per_asset: report
            .per_asset
            .into_iter()
            .map(|asset| RoiAssetDowntime {
                asset_id: asset.asset_id,
                detect_hours: asset.detect_hours.into(),
                resolve_hours: asset.resolve_hours.into(),
                downtime_hours: asset.downtime_hours.into(),
            })
            .collect(),
        caught_before_downstream: report.caught_before_downstream.into(),
        fixes_applied: report.fixes_applied.into(),
        hours_saved: settings.is_some().then(|| report.hours_saved.into()),
        money: report.money.map(|money| RoiMoney {
            gains: money.gains.into(),
            investment: money.investment,
            roi_percent: money.roi_percent,
        }),
    });
    Ok(RoiReport {
        since,
        until: now,
        period_days,
        figures,
        message,
    })
}
