//! Quality scores' rows: the evidence a score is computed from (last measured metrics, latest
//! check results), the `asset_scores` history with its `score.changed` event, per-tenant weights
//! and the group aggregates. The computation itself is `crate::scoring`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Store, StoreError, StoreResult, TenantStore, outbox};
use crate::events::{Event, EventData, ScoreChanged};
use crate::scoring::{CheckEvidence, Computed, Dimensions, TableEvidence, Weights};

/// The job kind that scores one asset (payload `{"asset_id"}`), enqueued with its evidence.
pub const SCORE_ASSET: &str = "score_asset";

/// One stored computation of an asset's score.
#[derive(Debug, Clone)]
pub struct StoredScore {
    pub asset_id: Uuid,
    pub computed_at: DateTime<Utc>,
    pub score: Option<f64>,
    pub coverage: f64,
    pub dimensions: Dimensions,
    pub weights: Weights,
}

/// A point of an asset's score history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ScorePoint {
    pub computed_at: DateTime<Utc>,
    /// 0-100, or null when nothing was measured.
    pub score: Option<f64>,
    /// The weight share measured, 0-1.
    pub coverage: f64,
}

/// A group's score: the mean of its assets' latest scores (assets not measured at all left out).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GroupScore {
    /// The source name, the tag, or the tenant id.
    pub group: String,
    /// Mean of the measured assets' scores, 0-100; null when none is measured.
    pub score: Option<f64>,
    /// Mean coverage over the group's scored assets, 0-1.
    pub coverage: f64,
    /// Assets with a score row.
    pub assets: i64,
    /// Of them, those with at least one measured dimension.
    pub measured_assets: i64,
}

fn decode_score(
    asset_id: Uuid,
    computed_at: DateTime<Utc>,
    score: Option<f64>,
    coverage: f64,
    dimensions: serde_json::Value,
    weights: serde_json::Value,
) -> StoreResult<StoredScore> {
    Ok(StoredScore {
        asset_id,
        computed_at,
        score,
        coverage,
        dimensions: serde_json::from_value(dimensions)
            .map_err(|error| StoreError::Corrupt(format!("asset_scores.dimensions: {error}")))?,
        weights: serde_json::from_value(weights)
            .map_err(|error| StoreError::Corrupt(format!("asset_scores.weights: {error}")))?,
    })
}

/// A check result's columns as the evidence query reads them.
type CheckRow = (String, String, String, String, String, Option<i64>, Option<i64>);

type ScoreRow = (
    Uuid,
    DateTime<Utc>,
    Option<f64>,
    f64,
    serde_json::Value,
    serde_json::Value,
);

impl Store {
    /// The tenant's weights (DESIGN.md's defaults when it set none).
    pub async fn score_weights(&self, tenant: &str) -> StoreResult<Weights> {
        let stored: Option<serde_json::Value> =
            sqlx::query_scalar("SELECT weights FROM score_weights WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_optional(&self.pool)
                .await?;
        match stored {
            None => Ok(Weights::default()),
            Some(value) => serde_json::from_value(value)
                .map_err(|error| StoreError::Corrupt(format!("score_weights.weights: {error}"))),
        }
    }

    /// An asset's evidence: `row_count` and the columns' `null_count` of its latest collection,
    /// and the latest result of each check. `None` when the asset does not exist.
    pub async fn score_evidence(&self, tenant: &str, asset: Uuid) -> StoreResult<Option<TableEvidence>> {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM assets WHERE tenant_id = $1 AND id = $2)")
                .bind(tenant)
                .bind(asset)
                .fetch_one(&self.pool)
                .await?;
        if !exists {
            return Ok(None);
        }
        let metrics: Vec<(String, String, f64)> = sqlx::query_as(
            "WITH latest AS (
                 SELECT observed_at, batch_id FROM metric_points
                 WHERE asset_id = $2 AND metric = 'row_count' AND column_name = '' AND tenant_id = $1
                 ORDER BY observed_at DESC, batch_id DESC LIMIT 1)
             SELECT m.metric, m.column_name, m.value FROM metric_points m JOIN latest l
                 ON m.observed_at = l.observed_at AND m.batch_id = l.batch_id
             WHERE m.asset_id = $2 AND m.tenant_id = $1 AND m.metric IN ('row_count', 'null_count')
             ORDER BY m.metric, m.column_name",
        )
        .bind(tenant)
        .bind(asset)
        .fetch_all(&self.pool)
        .await?;
        let mut evidence = TableEvidence::default();
        for (metric, column, value) in metrics {
            match metric.as_str() {
                "row_count" => evidence.rows = Some(value),
                _ if !column.is_empty() => evidence.column_nulls.push((column, value)),
                _ => {}
            }
        }
        let checks: Vec<CheckRow> = sqlx::query_as(
            "SELECT DISTINCT ON (c.check_name) c.check_name, c.template, coalesce(o.dimension, c.dimension),
                    c.severity, c.status, c.failing_rows, c.total_rows
             FROM check_results c
             LEFT JOIN score_check_dimensions o
                 ON o.tenant_id = c.tenant_id AND o.asset_id = c.asset_id AND o.check_name = c.check_name
             WHERE c.tenant_id = $1 AND c.asset_id = $2
             ORDER BY c.check_name, c.observed_at DESC",
        )
        .bind(tenant)
        .bind(asset)
        .fetch_all(&self.pool)
        .await?;
        evidence.checks = checks
            .into_iter()
            .map(
                |(name, template, dimension, severity, status, failing_rows, total_rows)| CheckEvidence {
                    name,
                    template,
                    dimension,
                    severity,
                    status,
                    failing_rows,
                    total_rows,
                },
            )
            .collect();
        Ok(Some(evidence))
    }

    /// Keeps a computation in the history and, when the score moved (or is the first), a
    /// `score.changed` event in the same transaction. Returns whether the score changed.
    pub async fn record_score(
        &self,
        tenant: &str,
        asset: Uuid,
        computed: &Computed,
        weights: &Weights,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // One computation of an asset at a time (two replicas' jobs, or a job and its retry).
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 13))")
            .bind(asset.to_string())
            .execute(&mut *tx)
            .await?;
        let previous: Option<(Option<f64>, f64)> = sqlx::query_as(
            "SELECT score, coverage FROM asset_scores WHERE tenant_id = $1 AND asset_id = $2
             ORDER BY computed_at DESC LIMIT 1",
        )
        .bind(tenant)
        .bind(asset)
        .fetch_optional(&mut *tx)
        .await?;
        let dimensions = serde_json::to_value(&computed.dimensions)
            .map_err(|error| StoreError::Corrupt(format!("a score's dimensions: {error}")))?;
        let weights_json = serde_json::to_value(weights)
            .map_err(|error| StoreError::Corrupt(format!("a score's weights: {error}")))?;
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO asset_scores (tenant_id, asset_id, computed_at, score, coverage, dimensions, weights)
             VALUES ($1, $2, greatest($3, (SELECT max(computed_at) + interval '1 microsecond' FROM asset_scores
                                             WHERE tenant_id = $1 AND asset_id = $2)), $4, $5, $6, $7)",
        )
        .bind(tenant)
        .bind(asset)
        .bind(now)
        .bind(computed.score.map(|s| s.clamp(0.0, 100.0)))
        .bind(computed.coverage)
        .bind(dimensions)
        .bind(weights_json)
        .execute(&mut *tx)
        .await?;
        let changed = match previous {
            None => true,
            Some((score, coverage)) => {
                let moved = match (score, computed.score) {
                    (Some(a), Some(b)) => (a - b).abs() > 1e-9,
                    (a, b) => a.is_some() != b.is_some(),
                };
                moved || (coverage - computed.coverage).abs() > 1e-9
            }
        };
        if changed {
            let event = Event::at(
                tenant,
                now,
                EventData::ScoreChanged(ScoreChanged {
                    asset_id: asset,
                    previous: previous.and_then(|(score, _)| score),
                    score: computed.score,
                }),
            );
            outbox::append(&mut tx, &[event]).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}

impl TenantStore {
    /// The asset's latest score; outer `None` when the asset does not exist, inner when it was
    /// never scored.
    pub async fn latest_score(&self, asset: Uuid) -> StoreResult<Option<Option<StoredScore>>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id().as_str().to_owned();
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM assets WHERE tenant_id = $1 AND id = $2)")
                .bind(&tenant)
                .bind(asset)
                .fetch_one(&mut *tx)
                .await?;
        if !exists {
            return Ok(None);
        }
        let row: Option<ScoreRow> = sqlx::query_as(
            "SELECT asset_id, computed_at, score, coverage, dimensions, weights FROM asset_scores
             WHERE tenant_id = $1 AND asset_id = $2 ORDER BY computed_at DESC LIMIT 1",
        )
        .bind(&tenant)
        .bind(asset)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(match row {
            None => None,
            Some((a, at, score, coverage, dimensions, weights)) => {
                Some(decode_score(a, at, score, coverage, dimensions, weights)?)
            }
        }))
    }

    /// The asset's score history since `since`, oldest first; `None` when the asset does not exist.
    pub async fn score_history(
        &self,
        asset: Uuid,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<Vec<ScorePoint>>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id().as_str().to_owned();
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM assets WHERE tenant_id = $1 AND id = $2)")
                .bind(&tenant)
                .bind(asset)
                .fetch_one(&mut *tx)
                .await?;
        if !exists {
            return Ok(None);
        }
        let points = sqlx::query_as::<_, ScorePoint>(
            "SELECT computed_at, score, coverage FROM asset_scores
             WHERE tenant_id = $1 AND asset_id = $2 AND computed_at >= $3
             ORDER BY computed_at LIMIT 10000",
        )
        .bind(&tenant)
        .bind(asset)
        .bind(since)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(points))
    }

    /// The asset's latest score at or before `at` (for trends).
    pub async fn score_at(&self, asset: Uuid, at: DateTime<Utc>) -> StoreResult<Option<f64>> {
        let mut tx = self.begin().await?;
        let score: Option<Option<f64>> = sqlx::query_scalar(
            "SELECT score FROM asset_scores WHERE tenant_id = $1 AND asset_id = $2 AND computed_at <= $3
             ORDER BY computed_at DESC LIMIT 1",
        )
        .bind(self.tenant_id().as_str())
        .bind(asset)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(score.flatten())
    }

    /// Group scores from each asset's latest score: by `source`, `tag` (the tags of the asset's
    /// latest check results) or `tenant`.
    pub async fn group_scores(&self, group_by: &str) -> StoreResult<Vec<GroupScore>> {
        let key = match group_by {
            "source" => "a.source_name",
            "tag" => "t.tag",
            _ => "a.tenant_id",
        };
        let tags = if group_by == "tag" {
            "JOIN LATERAL (SELECT DISTINCT unnest(c.tags) AS tag FROM check_results c
                           WHERE c.tenant_id = a.tenant_id AND c.asset_id = a.id) t ON true"
        } else {
            ""
        };
        let sql = format!(
            "WITH latest AS (
                 SELECT DISTINCT ON (asset_id) asset_id, score, coverage FROM asset_scores
                 WHERE tenant_id = $1 ORDER BY asset_id, computed_at DESC)
             SELECT {key} AS \"group\", avg(l.score) AS score, coalesce(avg(l.coverage), 0) AS coverage,
                    count(*) AS assets, count(l.score) AS measured_assets
             FROM latest l JOIN assets a ON a.id = l.asset_id AND a.tenant_id = $1 {tags}
             GROUP BY 1 ORDER BY 1"
        );
        let mut tx = self.begin().await?;
        let groups = sqlx::query_as::<_, GroupScore>(sqlx::AssertSqlSafe(sql))
            .bind(self.tenant_id().as_str())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(groups)
    }

    /// Sets the tenant's weights (validated by the caller); each asset's next computation uses them.
    pub async fn put_score_weights(&self, weights: &Weights, by: &str) -> StoreResult<()> {
        let value = serde_json::to_value(weights)
            .map_err(|error| StoreError::Corrupt(format!("score weights: {error}")))?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO score_weights (tenant_id, weights, updated_at, updated_by) VALUES ($1, $2, now(), $3)
             ON CONFLICT (tenant_id) DO UPDATE SET weights = EXCLUDED.weights, updated_at = now(),
                                                   updated_by = EXCLUDED.updated_by",
        )
        .bind(self.tenant_id().as_str())
        .bind(value)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Enqueues a `score_asset` job for each `(tenant, asset)` in the caller's transaction (at most
/// one pending per asset: a queued job reads the newest evidence when it runs).
pub async fn enqueue_scoring(
    connection: &mut sqlx::PgConnection,
    assets: &[(&str, Uuid)],
) -> StoreResult<()> {
    if assets.is_empty() {
        return Ok(());
    }
    // One queued job per asset is enough (it reads the evidence when it runs), but a job already
    // running may have read it before this batch: then a follow-up is queued under a second key,
    // or this batch's evidence would wait for the next batch.
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, kind, payload, pending_key, max_attempts)
         SELECT i, t, $4, jsonb_build_object('asset_id', a),
                CASE WHEN EXISTS (SELECT FROM jobs r WHERE r.kind = $4 AND r.pending_key = a::text
                                  AND r.state = 'running')
                     THEN a::text || ':next' ELSE a::text END,
                5
         FROM UNNEST($1::uuid[], $2::text[], $3::uuid[]) AS x (i, t, a)
         ON CONFLICT DO NOTHING",
    )
    .bind(assets.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
    .bind(assets.iter().map(|(tenant, _)| *tenant).collect::<Vec<_>>())
    .bind(assets.iter().map(|(_, asset)| *asset).collect::<Vec<_>>())
    .bind(SCORE_ASSET)
    .execute(connection)
    .await?;
    Ok(())
}
