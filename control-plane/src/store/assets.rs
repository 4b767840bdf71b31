//! Reading assets, their columns and their metric history.

use chrono::{DateTime, Utc};
use cwic_shared::TenantId;
use serde::Serialize;
use uuid::Uuid;

use super::{Store, StoreResult, TenantStore};

/// A page of a list, with the total count for the same filter.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AssetSummary {
    pub id: Uuid,
    pub source_name: String,
    pub source_kind: String,
    pub schema_name: String,
    pub name: String,
    pub kind: String,
    pub agent_id: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The asset's tier for the cost of its downtime (`PUT /api/v1/assets/{id}/tier`); `None`:
    /// the ROI settings' `default`.
    pub tier: Option<String>,
    /// Latest measured row count; `None` for assets that are described but not measured (views).
    pub row_count: Option<f64>,
    pub column_count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssetDetail {
    #[serde(flatten)]
    pub summary: AssetSummary,
    pub columns: Vec<ColumnDetail>,
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ColumnDetail {
    pub name: String,
    pub ordinal: i32,
    pub data_type: String,
    pub nullable: bool,
    /// Latest NULL count, if the asset is measured.
    pub null_count: Option<f64>,
}

/// One check's outcome in one collection.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CheckRun {
    pub check_name: String,
    pub observed_at: DateTime<Utc>,
    pub template: String,
    pub dimension: String,
    pub severity: String,
    /// `pass`, `fail` or `error`.
    pub status: String,
    pub columns: Vec<String>,
    pub failing_rows: Option<i64>,
    pub total_rows: Option<i64>,
    /// The measured value of a metric check, as text.
    pub value: String,
    pub message: String,
    pub owner: String,
    pub tags: Vec<String>,
}

/// A check's latest outcome and its recent record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckSummary {
    #[serde(flatten)]
    pub latest: CheckRun,
    /// Statuses of its latest runs, newest first (at most [`CHECK_HISTORY`]).
    pub history: Vec<CheckStatusAt>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckStatusAt {
    pub observed_at: DateTime<Utc>,
    pub status: String,
    pub failing_rows: Option<i64>,
}

/// Runs per check in [`CheckSummary::history`].
pub const CHECK_HISTORY: usize = 30;

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MetricPoint {
    pub metric: String,
    /// Empty for table-level metrics.
    pub column: String,
    pub observed_at: DateTime<Utc>,
    pub value: f64,
    pub batch_id: Uuid,
}

#[derive(Debug, Default)]
pub struct MetricQuery {
    pub metric: Option<String>,
    pub column: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: i64,
}

const SUMMARY_SELECT: &str = "
SELECT a.id, a.source_name, a.source_kind, a.schema_name, a.name, a.kind, a.agent_id,
       a.first_seen_at, a.last_seen_at, a.last_error, a.tier,
       (SELECT m.value FROM metric_points m
         WHERE m.asset_id = a.id AND m.metric = 'row_count' AND m.column_name = ''
         ORDER BY m.observed_at DESC LIMIT 1) AS row_count,
       (SELECT count(*) FROM asset_columns c
         WHERE c.asset_id = a.id AND c.last_seen_at = a.last_seen_at) AS column_count
FROM assets a";

impl TenantStore {
    /// Whether the tenant has this asset, in the caller's scoped transaction.
    pub(super) async fn asset_exists(
        tx: &mut sqlx::PgConnection,
        tenant: &TenantId,
        id: Uuid,
    ) -> StoreResult<bool> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM assets WHERE tenant_id = $1 AND id = $2)")
                .bind(tenant.as_str())
                .bind(id)
                .fetch_one(tx)
                .await?,
        )
    }

    /// One metric series of an asset, oldest first, at most the newest `limit` points; `None` when
    /// the asset does not exist for this tenant.
    pub async fn metric_series(
        &self,
        id: Uuid,
        metric: &str,
        column: &str,
        limit: i64,
    ) -> StoreResult<Option<Vec<(DateTime<Utc>, f64)>>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id();
        if !Self::asset_exists(&mut tx, tenant, id).await? {
            return Ok(None);
        }
        let mut points: Vec<(DateTime<Utc>, f64)> = sqlx::query_as(
            "SELECT observed_at, value FROM metric_points
             WHERE tenant_id = $1 AND asset_id = $2 AND metric = $3 AND column_name = $4
             ORDER BY observed_at DESC LIMIT $5",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(metric)
        .bind(column)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        points.reverse();
        Ok(Some(points))
    }

    /// Assets of a tenant ordered by source, schema and name; `search` matches part of `schema.name`.
    pub async fn list_assets(
        &self,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Page<AssetSummary>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id();
        let pattern = search.map(|text| {
            format!(
                "%{}%",
                text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
            )
        });
        let items = sqlx::query_as::<_, AssetSummary>(sqlx::AssertSqlSafe(format!(
            "{SUMMARY_SELECT}
             WHERE a.tenant_id = $1 AND ($2::text IS NULL OR (a.schema_name || '.' || a.name) ILIKE $2)
             ORDER BY a.source_name, a.schema_name, a.name
             LIMIT $3 OFFSET $4"
        )))
        .bind(tenant.as_str())
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *tx)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM assets a
             WHERE a.tenant_id = $1 AND ($2::text IS NULL OR (a.schema_name || '.' || a.name) ILIKE $2)",
        )
        .bind(tenant.as_str())
        .bind(&pattern)
        .fetch_one(&mut *tx)
        .await?;
        Ok(Page {
            items,
            total,
            limit,
            offset,
        })
    }

    /// One asset with its current columns (those seen in its latest observation); `None` when the
    /// asset does not exist for this tenant.
    pub async fn get_asset(&self, id: Uuid) -> StoreResult<Option<AssetDetail>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id();
        let Some(summary) = sqlx::query_as::<_, AssetSummary>(sqlx::AssertSqlSafe(format!(
            "{SUMMARY_SELECT} WHERE a.tenant_id = $1 AND a.id = $2"
        )))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let columns = sqlx::query_as::<_, ColumnDetail>(
            "SELECT c.name, c.ordinal, c.data_type, c.nullable,
                    (SELECT m.value FROM metric_points m
                      WHERE m.asset_id = c.asset_id AND m.metric = 'null_count' AND m.column_name = c.name
                      ORDER BY m.observed_at DESC LIMIT 1) AS null_count
             FROM asset_columns c JOIN assets a ON a.id = c.asset_id
             WHERE c.tenant_id = $1 AND c.asset_id = $2 AND c.last_seen_at = a.last_seen_at
             ORDER BY c.ordinal",
        )
        .bind(tenant.as_str())
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        Ok(Some(AssetDetail { summary, columns }))
    }

    /// Metric history of an asset, newest first; `None` when the asset does not exist for this tenant.
    pub async fn asset_metrics(
        &self,
        id: Uuid,
        query: &MetricQuery,
    ) -> StoreResult<Option<Vec<MetricPoint>>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id();
        if !Self::asset_exists(&mut tx, tenant, id).await? {
            return Ok(None);
        }
        let points = sqlx::query_as::<_, MetricPoint>(
            "SELECT metric, column_name AS column, observed_at, value, batch_id
             FROM metric_points
             WHERE tenant_id = $1 AND asset_id = $2
               AND ($3::text IS NULL OR metric = $3)
               AND ($4::text IS NULL OR column_name = $4)
               AND ($5::timestamptz IS NULL OR observed_at >= $5)
               AND ($6::timestamptz IS NULL OR observed_at < $6)
             ORDER BY observed_at DESC, metric, column_name
             LIMIT $7",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(&query.metric)
        .bind(&query.column)
        .bind(query.since)
        .bind(query.until)
        .bind(query.limit)
        .fetch_all(&mut *tx)
        .await?;
        Ok(Some(points))
    }

    /// Every check that ran on the asset, with its latest outcome first-failing-first (error, fail,
    /// then pass; by severity within) and the statuses of its recent runs; `None` when the asset
    /// does not exist for this tenant.
    pub async fn asset_checks(&self, id: Uuid) -> StoreResult<Option<Vec<CheckSummary>>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id();
        if !Self::asset_exists(&mut tx, tenant, id).await? {
            return Ok(None);
        }
        let runs = sqlx::query_as::<_, CheckRun>(
            "SELECT check_name, observed_at, template, dimension, severity, status, columns, failing_rows,
                    total_rows, value, message, owner, tags
             FROM (SELECT *, row_number() OVER (PARTITION BY check_name ORDER BY observed_at DESC) AS n
                   FROM check_results WHERE tenant_id = $1 AND asset_id = $2) AS recent
             WHERE n <= $3
             ORDER BY check_name, observed_at DESC",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(CHECK_HISTORY as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut summaries: Vec<CheckSummary> = Vec::new();
        for run in runs {
            let at = CheckStatusAt {
                observed_at: run.observed_at,
                status: run.status.clone(),
                failing_rows: run.failing_rows,
            };
            match summaries.last_mut() {
                Some(summary) if summary.latest.check_name == run.check_name => summary.history.push(at),
                _ => summaries.push(CheckSummary {
                    latest: run,
                    history: vec![at],
                }),
            }
        }
        let status_rank = |status: &str| match status {
            "error" => 0,
            "fail" => 1,
            _ => 2,
        };
        let severity_rank = |severity: &str| match severity {
            "critical" => 0,
            "high" => 1,
            "medium" => 2,
            _ => 3,
        };
        summaries.sort_by(|a, b| {
            (
                status_rank(&a.latest.status),
                severity_rank(&a.latest.severity),
                &a.latest.check_name,
            )
                .cmp(&(
                    status_rank(&b.latest.status),
                    severity_rank(&b.latest.severity),
                    &b.latest.check_name,
                ))
        });
        Ok(Some(summaries))
    }
}

impl Store {
    /// [`TenantStore::metric_series`] for background work that holds the owner store.
    pub async fn metric_series(
        &self,
        tenant: &TenantId,
        id: Uuid,
        metric: &str,
        column: &str,
        limit: i64,
    ) -> StoreResult<Option<Vec<(DateTime<Utc>, f64)>>> {
        self.tenant(tenant).metric_series(id, metric, column, limit).await
    }
}
