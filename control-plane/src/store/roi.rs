//! What ROI reads of a tenant: the incidents opened in a period (with their asset's tier) and the
//! tenant's cost assumptions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use super::handles::TenantStore;
use crate::roi::{CostSettings, IncidentTimes};

type IncidentRow = (
    Uuid,
    Option<Uuid>,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<bool>,
    bool,
);

type SettingsRow = (
    f64,
    sqlx::types::Json<HashMap<String, f64>>,
    f64,
    f64,
    String,
    DateTime<Utc>,
    String,
);

/// A tenant's stored ROI assumptions.
pub struct StoredCostSettings {
    pub costs: CostSettings,
    pub currency: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl TenantStore {
    /// Incidents opened in `[since, until)`, oldest first.
    pub async fn roi_incidents(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<IncidentTimes>> {
        let mut tx = self.begin().await?;
        let rows: Vec<IncidentRow> = sqlx::query_as(
            "SELECT i.id, i.asset_id, a.tier, i.began_at, i.opened_at, i.resolved_at,
                    i.caught_before_downstream, i.fix_applied
             FROM incidents i
             LEFT JOIN assets a ON a.tenant_id = i.tenant_id AND a.id = i.asset_id
             WHERE i.tenant_id = $1 AND i.opened_at >= $2 AND i.opened_at < $3
             ORDER BY i.opened_at, i.id",
        )
        .bind(self.tenant_id().as_str())
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, asset_id, tier, began_at, opened_at, resolved_at, caught, fix_applied)| IncidentTimes {
                    id,
                    asset_id,
                    tier,
                    began_at,
                    opened_at,
                    resolved_at,
                    caught_before_downstream: caught,
                    fix_applied,
                },
            )
            .collect())
    }

    /// The tenant's ROI assumptions with their currency and who set them when, if it set them.
    pub async fn roi_settings(&self) -> StoreResult<Option<StoredCostSettings>> {
        let mut tx = self.begin().await?;
        let row: Option<SettingsRow> = sqlx::query_as(
            "SELECT engineer_hourly_rate, downtime_hourly_cost, platform_cost_per_month,
                        baseline_detection_hours, currency, updated_at, updated_by
                 FROM roi_settings WHERE tenant_id = $1",
        )
        .bind(self.tenant_id().as_str())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(
            |(rate, costs, platform, baseline, currency, updated_at, updated_by)| StoredCostSettings {
                costs: CostSettings {
                    engineer_hourly_rate: rate,
                    downtime_hourly_cost: costs.0,
                    platform_cost_per_month: platform,
                    baseline_detection_hours: baseline,
                },
                currency,
                updated_at,
                updated_by,
            },
        ))
    }
}

impl TenantStore {
    /// Sets (or, with `None`, clears) an asset's tier; `false` when the asset does not exist.
    pub async fn set_asset_tier(&self, asset: Uuid, tier: Option<&str>) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query("UPDATE assets SET tier = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(self.tenant_id().as_str())
            .bind(asset)
            .bind(tier)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(updated == 1)
    }

    /// Stores the tenant's ROI assumptions (replacing any before) and who set them.
    pub async fn put_roi_settings(
        &self,
        settings: &CostSettings,
        currency: &str,
        by: &str,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO roi_settings (tenant_id, engineer_hourly_rate, downtime_hourly_cost,
                                       platform_cost_per_month, currency, baseline_detection_hours,
                                       updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, now(), $7)
             ON CONFLICT (tenant_id) DO UPDATE SET
                 engineer_hourly_rate = EXCLUDED.engineer_hourly_rate,
                 downtime_hourly_cost = EXCLUDED.downtime_hourly_cost,
                 platform_cost_per_month = EXCLUDED.platform_cost_per_month,
                 currency = EXCLUDED.currency,
                 baseline_detection_hours = EXCLUDED.baseline_detection_hours,
                 updated_at = now(), updated_by = EXCLUDED.updated_by",
        )
        .bind(self.tenant_id().as_str())
        .bind(settings.engineer_hourly_rate)
        .bind(sqlx::types::Json(&settings.downtime_hourly_cost))
        .bind(settings.platform_cost_per_month)
        .bind(currency)
        .bind(settings.baseline_detection_hours)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
