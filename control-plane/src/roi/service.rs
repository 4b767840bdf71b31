//! The ROI report as the API returns it: [`report`] reads a tenant's incidents of a period and its
//! cost assumptions through the tenant handle and runs the pure computation of [`super::compute`].

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ErrorCode, ServiceError, ServiceResult};
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
    let settings = store.roi_settings().await?.map(|stored| stored.costs);
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

/// The tenant's cost assumptions behind the money figures of `GET /api/v1/roi`
/// (`PUT /api/v1/settings/roi`, admin).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoiSettings {
    /// What an hour of an engineer's time costs (≥ 0).
    pub engineer_hourly_rate: f64,
    /// Cost of an hour of downtime per asset tier (each ≥ 0), e.g. `{"tier-1": 5000, "default": 500}`;
    /// `default` (required) applies to assets without a tier or with a tier not listed.
    pub downtime_hourly_cost: std::collections::HashMap<String, f64>,
    /// What the platform costs per month (≥ 0): the investment of the ROI formula.
    pub platform_cost_per_month: f64,
    /// How long a problem went unnoticed before CWIC, in hours (≥ 0; default 24): the
    /// counterfactual the hours saved are measured against.
    #[serde(default = "default_baseline_hours")]
    pub baseline_detection_hours: f64,
    /// ISO 4217 code of the amounts (default `USD`).
    #[serde(default = "default_currency")]
    pub currency: String,
}

fn default_baseline_hours() -> f64 {
    24.0
}

fn default_currency() -> String {
    "USD".to_owned()
}

/// The stored assumptions with who set them and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoiSettingsView {
    #[serde(flatten)]
    pub settings: RoiSettings,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl RoiSettings {
    /// Every amount finite and ≥ 0, a `default` tier cost, a three-letter currency; otherwise the
    /// error names the field.
    pub fn validate(&self) -> ServiceResult<()> {
        let amount = |field: String, value: f64| {
            if value.is_finite() && value >= 0.0 {
                Ok(())
            } else {
                Err(ServiceError::bad_field(
                    &field,
                    format!("{field} must be a number ≥ 0, got {value}"),
                ))
            }
        };
        amount("engineer_hourly_rate".to_owned(), self.engineer_hourly_rate)?;
        amount("platform_cost_per_month".to_owned(), self.platform_cost_per_month)?;
        amount(
            "baseline_detection_hours".to_owned(),
            self.baseline_detection_hours,
        )?;
        let mut tiers: Vec<(&String, &f64)> = self.downtime_hourly_cost.iter().collect();
        tiers.sort_by(|a, b| a.0.cmp(b.0));
        for (tier, cost) in tiers {
            if tier.trim().is_empty() {
                return Err(ServiceError::bad_field(
                    "downtime_hourly_cost",
                    "downtime_hourly_cost: a tier name cannot be empty",
                ));
            }
            amount(format!("downtime_hourly_cost.{tier}"), *cost)?;
        }
        if !self.downtime_hourly_cost.contains_key("default") {
            return Err(ServiceError::bad_field(
                "downtime_hourly_cost.default",
                "downtime_hourly_cost needs a `default` entry: the cost of an hour of downtime of an asset without a listed tier",
            ));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ServiceError::bad_field(
                "currency",
                format!(
                    "currency must be an ISO 4217 code such as USD or EUR, got {:?}",
                    self.currency
                ),
            ));
        }
        Ok(())
    }
}

/// The tenant's assumptions; 404 (saying how to set them) when it has none.
pub async fn settings(store: &TenantStore) -> ServiceResult<RoiSettingsView> {
    let Some(stored) = store.roi_settings().await? else {
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            "no ROI cost assumptions yet: an admin sets them with PUT /api/v1/settings/roi",
        ));
    };
    Ok(RoiSettingsView {
        settings: RoiSettings {
            engineer_hourly_rate: stored.costs.engineer_hourly_rate,
            downtime_hourly_cost: stored.costs.downtime_hourly_cost,
            platform_cost_per_month: stored.costs.platform_cost_per_month,
            baseline_detection_hours: stored.costs.baseline_detection_hours,
            currency: stored.currency,
        },
        updated_at: stored.updated_at,
        updated_by: stored.updated_by,
    })
}

/// Validates and stores the tenant's assumptions; reports from now on use them.
pub async fn put_settings(
    store: &TenantStore,
    settings: &RoiSettings,
    by: &str,
) -> ServiceResult<RoiSettingsView> {
    settings.validate()?;
    let costs = super::CostSettings {
        engineer_hourly_rate: settings.engineer_hourly_rate,
        downtime_hourly_cost: settings.downtime_hourly_cost.clone(),
        platform_cost_per_month: settings.platform_cost_per_month,
        baseline_detection_hours: settings.baseline_detection_hours,
    };
    store.put_roi_settings(&costs, &settings.currency, by).await?;
    self::settings(store).await
}

/// `PUT /api/v1/assets/{id}/tier`: the tier the cost of the asset's downtime is taken from.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetTier {
    /// Lower-case letters, digits, `-` and `_`, 1 to 63 characters, starting with a letter or a
    /// digit (`tier-1`, `critical`); `null` clears it (the settings' `default` applies).
    pub tier: Option<String>,
}

/// Sets or clears an asset's tier; 400 naming `tier` when it is not a tier name, 404 when there
/// is no such asset.
pub async fn put_asset_tier(
    store: &TenantStore,
    asset: uuid::Uuid,
    tier: AssetTier,
) -> ServiceResult<AssetTier> {
    if let Some(name) = &tier.tier {
        let valid = (1..=63).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid {
            return Err(ServiceError::bad_field(
                "tier",
                format!(
                    "tier must be 1 to 63 lower-case letters, digits, - or _ starting with a letter or digit \
                     (such as tier-1), got {name:?}"
                ),
            ));
        }
    }
    if !store.set_asset_tier(asset, tier.tier.as_deref()).await? {
        return Err(ServiceError::not_found("asset"));
    }
    Ok(tier)
}
