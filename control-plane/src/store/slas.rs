//! What SLAs read and write of a tenant: the SLA rows, and the evidence of their objectives
//! (the freshness lag points the agent ships as `freshness_lag`, in seconds).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use super::handles::TenantStore;

/// One stored SLA.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaRow {
    pub id: Uuid,
    pub name: String,
    pub asset_id: Option<Uuid>,
    pub tag: Option<String>,
    pub target: f64,
    pub window_minutes: i32,
    pub freshness_bound_minutes: Option<i32>,
    pub min_score: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

macro_rules! columns {
    () => {
        "id, name, asset_id, tag, target, window_minutes, freshness_bound_minutes, min_score, created_at, created_by"
    };
}

/// A new SLA, validated by the service.
#[derive(Debug, Clone)]
pub struct NewSla {
    pub name: String,
    pub asset_id: Uuid,
    pub target: f64,
    pub window_minutes: i32,
    pub freshness_bound_minutes: Option<i32>,
    pub min_score: Option<f64>,
    pub created_by: String,
}

impl TenantStore {
    /// Whether the asset exists in this tenant.
    pub async fn sla_asset_exists(&self, asset_id: Uuid) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let found: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM assets WHERE tenant_id = $1 AND id = $2")
            .bind(self.tenant_id().as_str())
            .bind(asset_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(found.is_some())
    }

    pub async fn insert_sla(&self, sla: &NewSla) -> StoreResult<SlaRow> {
        let mut tx = self.begin().await?;
        let row: SlaRow = sqlx::query_as(concat!(
            "INSERT INTO slas (id, tenant_id, name, asset_id, target, window_minutes,
                               freshness_bound_minutes, min_score, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
            columns!()
        ))
        .bind(Uuid::new_v4())
        .bind(self.tenant_id().as_str())
        .bind(&sla.name)
        .bind(sla.asset_id)
        .bind(sla.target)
        .bind(sla.window_minutes)
        .bind(sla.freshness_bound_minutes)
        .bind(sla.min_score)
        .bind(&sla.created_by)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The tenant's SLAs, oldest first.
    pub async fn list_slas(&self) -> StoreResult<Vec<SlaRow>> {
        let mut tx = self.begin().await?;
        let rows: Vec<SlaRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM slas WHERE tenant_id = $1 ORDER BY created_at, id"
        ))
        .bind(self.tenant_id().as_str())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn get_sla(&self, id: Uuid) -> StoreResult<Option<SlaRow>> {
        let mut tx = self.begin().await?;
        let row: Option<SlaRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM slas WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(self.tenant_id().as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The times the asset's data was last updated, as seen by each `freshness_lag` point observed
    /// in `[since, until)` and the last one before `since` (`observed_at − lag`).
    pub async fn freshness_updates(
        &self,
        asset_id: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        let mut tx = self.begin().await?;
        let rows: Vec<(DateTime<Utc>,)> = sqlx::query_as(
            "SELECT observed_at - make_interval(secs => value) FROM (
                 (SELECT observed_at, value FROM metric_points
                  WHERE tenant_id = $1 AND asset_id = $2 AND metric = 'freshness_lag'
                    AND column_name = '' AND observed_at < $3
                  ORDER BY observed_at DESC LIMIT 1)
                 UNION ALL
                 (SELECT observed_at, value FROM metric_points
                  WHERE tenant_id = $1 AND asset_id = $2 AND metric = 'freshness_lag'
                    AND column_name = '' AND observed_at >= $3 AND observed_at < $4)
             ) p",
        )
        .bind(self.tenant_id().as_str())
        .bind(asset_id)
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|(at,)| at).collect())
    }

    /// The asset's measured scores computed in `[since, until)` and the last one before `since`
    /// (scores that measured nothing are not evidence).
    pub async fn score_observations(
        &self,
        asset_id: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, f64)>> {
        let mut tx = self.begin().await?;
        let rows: Vec<(DateTime<Utc>, f64)> = sqlx::query_as(
            "(SELECT computed_at, score FROM asset_scores
              WHERE tenant_id = $1 AND asset_id = $2 AND score IS NOT NULL AND computed_at < $3
              ORDER BY computed_at DESC LIMIT 1)
             UNION ALL
             (SELECT computed_at, score FROM asset_scores
              WHERE tenant_id = $1 AND asset_id = $2 AND score IS NOT NULL
                AND computed_at >= $3 AND computed_at < $4)",
        )
        .bind(self.tenant_id().as_str())
        .bind(asset_id)
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }
}
