//! Quality scores' rows: the evidence a score is computed from (last measured metrics, latest
//! check results), the `asset_scores` history with its `score.changed` event, per-tenant weights
//! and the group aggregates. The computation itself is `crate::scoring`.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Store, StoreError, StoreResult, TenantStore, outbox};
use crate::events::{Event, EventData, ScoreChanged};
use crate::scoring::{CheckEvidence, Computed, Dimensions, TableEvidence, Weights};

/// The job kind that scores one asset (payload `{"asset_id"}`), enqueued with its evidence;
/// workers run due ones in batches.
pub const SCORE_ASSET: &str = "score_asset";

/// The batch id of the `quality_score` points scoring writes (they come from no agent batch).
const SCORE_POINTS_BATCH: Uuid = Uuid::nil();

/// An asset's evidence and when it was measured (the time of the collection its row count
/// comes from; `None` when it has none).
#[derive(Debug, Clone, Default)]
pub struct AssetEvidence {
    pub evidence: TableEvidence,
    pub measured_at: Option<DateTime<Utc>>,
}

/// One computation to keep: the asset's score, the weights it used, and when its evidence was
/// measured (where its point goes in the asset's `quality_score` series).
#[derive(Debug, Clone)]
pub struct ScoreRecord {
    pub asset: Uuid,
    pub computed: Computed,
    /// How many of the asset's checks fail (its open issues).
    pub issues: i32,
    pub weights: Weights,
    pub measured_at: Option<DateTime<Utc>>,
}

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
type CheckRow = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
);

type ScoreRow = (
    Uuid,
    DateTime<Utc>,
    Option<f64>,
    f64,
    serde_json::Value,
    serde_json::Value,
);

/// A [`ScoreRow`] with whether it is the computation at the time asked for (else the one before).
type AroundRow = (
    bool,
    Uuid,
    DateTime<Utc>,
    Option<f64>,
    f64,
    serde_json::Value,
    serde_json::Value,
);

impl Store {
    /// The last computations of an asset's score over its evidence as measured at `at` and over
    /// the collection before it (a score anomaly's causes compare the two); `None` for either
    /// when there is none.
    pub async fn scores_measured_around(
        &self,
        tenant: &str,
        asset: Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<(Option<StoredScore>, Option<StoredScore>)> {
        let rows: Vec<AroundRow> = sqlx::query_as(
            "(SELECT false, asset_id, computed_at, score, coverage, dimensions, weights FROM asset_scores
                  WHERE tenant_id = $1 AND asset_id = $2 AND measured_at < $3
                  ORDER BY measured_at DESC, computed_at DESC LIMIT 1)
                 UNION ALL
                 (SELECT true, asset_id, computed_at, score, coverage, dimensions, weights FROM asset_scores
                  WHERE tenant_id = $1 AND asset_id = $2 AND measured_at = $3
                  ORDER BY computed_at DESC LIMIT 1)",
        )
        .bind(tenant)
        .bind(asset)
        .bind(at)
        .fetch_all(&self.pool)
        .await?;
        let (mut before, mut then) = (None, None);
        for (current, asset, computed_at, score, coverage, dimensions, weights) in rows {
            let stored = decode_score(asset, computed_at, score, coverage, dimensions, weights)?;
            if current {
                then = Some(stored);
            } else {
                before = Some(stored);
            }
        }
        Ok((before, then))
    }

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

    /// Assets' evidence: `row_count` and the columns' `null_count` of each one's latest
    /// collection, and the latest result of each of its checks, in three statements whatever
    /// the number of assets. Assets that do not exist (deleted since) are left out.
    pub async fn score_evidence(
        &self,
        tenant: &str,
        assets: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, AssetEvidence>> {
        let existing: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM assets WHERE tenant_id = $1 AND id = ANY($2)")
                .bind(tenant)
                .bind(assets)
                .fetch_all(&self.pool)
                .await?;
        let mut evidence: HashMap<Uuid, AssetEvidence> = existing
            .iter()
            .map(|asset| (*asset, AssetEvidence::default()))
            .collect();
        if existing.is_empty() {
            return Ok(evidence);
        }
        let metrics: Vec<(Uuid, DateTime<Utc>, String, String, f64)> = sqlx::query_as(
            "SELECT x.id, l.observed_at, m.metric, m.column_name, m.value
             FROM UNNEST($2::uuid[]) AS x (id)
             CROSS JOIN LATERAL (
                 SELECT observed_at, batch_id FROM metric_points
                 WHERE asset_id = x.id AND metric = 'row_count' AND column_name = '' AND tenant_id = $1
                 ORDER BY observed_at DESC, batch_id DESC LIMIT 1) l
             JOIN metric_points m
                 ON m.asset_id = x.id AND m.observed_at = l.observed_at AND m.batch_id = l.batch_id
             WHERE m.tenant_id = $1 AND m.metric IN ('row_count', 'null_count')
             ORDER BY x.id, m.metric, m.column_name",
        )
        .bind(tenant)
        .bind(&existing)
        .fetch_all(&self.pool)
        .await?;
        for (asset, measured_at, metric, column, value) in metrics {
            let Some(AssetEvidence {
                evidence,
                measured_at: at,
            }) = evidence.get_mut(&asset)
            else {
                continue;
            };
            *at = Some(measured_at);
            match metric.as_str() {
                "row_count" => evidence.rows = Some(value),
                _ if !column.is_empty() => evidence.column_nulls.push((column, value)),
                _ => {}
            }
        }
        let checks: Vec<CheckRow> = sqlx::query_as(
            "SELECT DISTINCT ON (c.asset_id, c.check_name) c.asset_id, c.check_name, c.template,
                    coalesce(o.dimension, c.dimension), c.severity, c.status, c.failing_rows, c.total_rows
             FROM check_results c
             LEFT JOIN score_check_dimensions o
                 ON o.tenant_id = c.tenant_id AND o.asset_id = c.asset_id AND o.check_name = c.check_name
             WHERE c.tenant_id = $1 AND c.asset_id = ANY($2)
             ORDER BY c.asset_id, c.check_name, c.observed_at DESC",
        )
        .bind(tenant)
        .bind(&existing)
        .fetch_all(&self.pool)
        .await?;
        for (asset, name, template, dimension, severity, status, failing_rows, total_rows) in checks {
            if let Some(AssetEvidence { evidence, .. }) = evidence.get_mut(&asset) {
                evidence.checks.push(CheckEvidence {
                    name,
                    template,
                    dimension,
                    severity,
                    status,
                    failing_rows,
                    total_rows,
                });
            }
        }
        Ok(evidence)
    }

    /// The assets' own weights, for those that have them (else the tenant's apply).
    pub async fn asset_score_weights(
        &self,
        tenant: &str,
        assets: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, Weights>> {
        let rows: Vec<(Uuid, serde_json::Value)> = sqlx::query_as(
            "SELECT asset_id, weights FROM asset_score_weights WHERE tenant_id = $1 AND asset_id = ANY($2)",
        )
        .bind(tenant)
        .bind(assets)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(asset, value)| {
                serde_json::from_value(value)
                    .map(|weights| (asset, weights))
                    .map_err(|error| StoreError::Corrupt(format!("asset_score_weights.weights: {error}")))
            })
            .collect()
    }

    /// Keeps computations (each with the weights it used) in the history and, for each score
    /// that moved (or is the asset's first), a `score.changed` event, all in one transaction.
    /// Returns how many changed.
    pub async fn record_scores(&self, tenant: &str, records: &[ScoreRecord]) -> StoreResult<usize> {
        if records.is_empty() {
            return Ok(0);
        }
        let mut records: Vec<&ScoreRecord> = records.iter().collect();
        records.sort_by_key(|record| record.asset);
        records.dedup_by_key(|record| record.asset);
        let assets: Vec<Uuid> = records.iter().map(|record| record.asset).collect();
        let mut tx = self.pool.begin().await?;
        // One computation of an asset at a time (two replicas' batches, or a batch and a retry);
        // taken in the assets' order so that two overlapping batches cannot deadlock.
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended(a::text, 13))
             FROM UNNEST($1::uuid[]) AS x (a) ORDER BY a",
        )
        .bind(&assets)
        .execute(&mut *tx)
        .await?;
        // (computed at, score, coverage, open issues) of each asset's last computation.
        type Last = (DateTime<Utc>, Option<f64>, f64, Option<i32>);
        type Row = (Uuid, DateTime<Utc>, Option<f64>, f64, Option<i32>);
        let previous: Vec<Row> = sqlx::query_as(
            "SELECT x.a, p.computed_at, p.score, p.coverage, p.issues
             FROM UNNEST($2::uuid[]) AS x (a)
             CROSS JOIN LATERAL (SELECT computed_at, score, coverage, issues FROM asset_scores
                                 WHERE tenant_id = $1 AND asset_id = x.a
                                 ORDER BY computed_at DESC LIMIT 1) p",
        )
        .bind(tenant)
        .bind(&assets)
        .fetch_all(&mut *tx)
        .await?;
        let previous: HashMap<Uuid, Last> = previous
            .into_iter()
            .map(|(asset, at, score, coverage, issues)| (asset, (at, score, coverage, issues)))
            .collect();
        // PostgreSQL keeps microseconds: compare at that precision.
        let now = Utc::now().trunc_subsecs(6);
        let mut at = Vec::with_capacity(assets.len());
        let mut scores = Vec::with_capacity(assets.len());
        let mut coverages = Vec::with_capacity(assets.len());
        let mut dimensions = Vec::with_capacity(assets.len());
        let mut weights = Vec::with_capacity(assets.len());
        let mut events = Vec::new();
        let mut measured = Vec::with_capacity(assets.len());
        let mut issue_counts = Vec::with_capacity(assets.len());
        for ScoreRecord {
            asset,
            computed,
            issues,
            weights: used,
            measured_at,
        } in records.iter().copied()
        {
            measured.push(*measured_at);
            issue_counts.push(*issues);
            weights.push(
                serde_json::to_value(used)
                    .map_err(|error| StoreError::Corrupt(format!("a score's weights: {error}")))?,
            );
            let before = previous.get(asset);
            // History is keyed by time: a computation never lands on or before the last one.
            at.push(match before {
                Some((last, _, _, _)) if *last >= now => *last + chrono::Duration::microseconds(1),
                _ => now,
            });
            scores.push(computed.score.map(|s| s.clamp(0.0, 100.0)));
            coverages.push(computed.coverage);
            dimensions.push(
                serde_json::to_value(&computed.dimensions)
                    .map_err(|error| StoreError::Corrupt(format!("a score's dimensions: {error}")))?,
            );
            let changed = match before {
                None => true,
                Some((_, score, coverage, before_issues)) => {
                    let moved = match (score, computed.score) {
                        (Some(a), Some(b)) => (a - b).abs() > 1e-9,
                        (a, b) => a.is_some() != b.is_some(),
                    };
                    moved || (coverage - computed.coverage).abs() > 1e-9 || *before_issues != Some(*issues)
                }
            };
            if changed {
                events.push(Event::at(
                    tenant,
                    now,
                    EventData::ScoreChanged(ScoreChanged {
                        asset_id: *asset,
                        previous: before.and_then(|(_, score, _, _)| *score),
                        score: computed.score,
                        previous_issues: before.and_then(|(_, _, _, issues)| *issues),
                        issues: Some(*issues),
                    }),
                ));
            }
        }
        sqlx::query(
            "INSERT INTO asset_scores (tenant_id, asset_id, computed_at, score, coverage, dimensions, weights,
                                       measured_at, issues)
             SELECT $1, a, at, s, c, d, w, m, i
             FROM UNNEST($2::uuid[], $3::timestamptz[], $4::float8[], $5::float8[], $6::jsonb[], $7::jsonb[],
                         $8::timestamptz[], $9::int[])
                  AS x (a, at, s, c, d, w, m, i)",
        )
        .bind(tenant)
        .bind(&assets)
        .bind(&at)
        .bind(&scores)
        .bind(&coverages)
        .bind(&dimensions)
        .bind(&weights)
        .bind(&measured)
        .bind(&issue_counts)
        .execute(&mut *tx)
        .await?;
        // Each measured score is its collection's point in the asset's score series (a later
        // computation over the same collection, after a weight change, replaces it).
        sqlx::query(
            "INSERT INTO metric_points (tenant_id, asset_id, metric, column_name, observed_at, batch_id, value)
             SELECT $1, a, $2, '', m, $3, s
             FROM UNNEST($4::uuid[], $5::timestamptz[], $6::float8[]) AS x (a, m, s)
             WHERE m IS NOT NULL AND s IS NOT NULL
             ON CONFLICT (asset_id, metric, column_name, observed_at, batch_id) DO UPDATE
             SET value = EXCLUDED.value",
        )
        .bind(tenant)
        .bind(crate::scoring::SCORE_METRIC)
        .bind(SCORE_POINTS_BATCH)
        .bind(&assets)
        .bind(&measured)
        .bind(&scores)
        .execute(&mut *tx)
        .await?;
        outbox::append(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(events.len())
    }
}

impl TenantStore {
    /// The asset's latest score; outer `None` when the asset does not exist, inner when it was
    /// never scored.
    pub async fn latest_score(&self, asset: Uuid) -> StoreResult<Option<Option<StoredScore>>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id().as_str().to_owned();
        if !Self::asset_exists(&mut tx, self.tenant_id(), asset).await? {
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
        if !Self::asset_exists(&mut tx, self.tenant_id(), asset).await? {
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

    /// The asset's latest score at or before `at` (for trends and their causes).
    pub async fn score_at(&self, asset: Uuid, at: DateTime<Utc>) -> StoreResult<Option<StoredScore>> {
        let mut tx = self.begin().await?;
        let row: Option<ScoreRow> = sqlx::query_as(
            "SELECT asset_id, computed_at, score, coverage, dimensions, weights FROM asset_scores
             WHERE tenant_id = $1 AND asset_id = $2 AND computed_at <= $3
             ORDER BY computed_at DESC LIMIT 1",
        )
        .bind(self.tenant_id().as_str())
        .bind(asset)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(|(a, at, score, coverage, dimensions, weights)| {
            decode_score(a, at, score, coverage, dimensions, weights)
        })
        .transpose()
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

    /// Sets the tenant's weights (validated by the caller) and queues the rescoring of every asset
    /// in the same transaction.
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
        let tenant = self.tenant_id().as_str().to_owned();
        let scored: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM assets WHERE tenant_id = $1")
            .bind(&tenant)
            .fetch_all(&mut *tx)
            .await?;
        let pairs: Vec<(&str, Uuid)> = scored.iter().map(|asset| (tenant.as_str(), *asset)).collect();
        enqueue_scoring(&mut tx, &pairs).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl TenantStore {
    /// Sets (or with `None` removes) the dimension a check of an asset counts in, and queues the
    /// asset's rescoring in the same transaction. The check's dimension from its template (its
    /// latest result's) is returned; `None` when the asset has no result of that check.
    pub async fn put_check_dimension(
        &self,
        asset: Uuid,
        check: &str,
        dimension: Option<&str>,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id().as_str().to_owned();
        let template: Option<String> = sqlx::query_scalar(
            "SELECT dimension FROM check_results WHERE tenant_id = $1 AND asset_id = $2 AND check_name = $3
             ORDER BY observed_at DESC LIMIT 1",
        )
        .bind(&tenant)
        .bind(asset)
        .bind(check)
        .fetch_optional(&mut *tx)
        .await?;
        if template.is_none() {
            return Ok(None);
        }
        match dimension {
            Some(dimension) => {
                sqlx::query(
                    "INSERT INTO score_check_dimensions (tenant_id, asset_id, check_name, dimension)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (tenant_id, asset_id, check_name) DO UPDATE SET dimension = EXCLUDED.dimension",
                )
                .bind(&tenant)
                .bind(asset)
                .bind(check)
                .bind(dimension)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM score_check_dimensions WHERE tenant_id = $1 AND asset_id = $2 AND check_name = $3",
                )
                .bind(&tenant)
                .bind(asset)
                .bind(check)
                .execute(&mut *tx)
                .await?;
            }
        }
        enqueue_scoring(&mut tx, &[(tenant.as_str(), asset)]).await?;
        tx.commit().await?;
        Ok(template)
    }

    /// Sets (or with `None` removes) an asset's own weights and queues its rescoring in the same
    /// transaction; `false` when the asset does not exist.
    pub async fn put_asset_score_weights(
        &self,
        asset: Uuid,
        weights: Option<&Weights>,
        by: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let tenant = self.tenant_id().as_str().to_owned();
        if !Self::asset_exists(&mut tx, self.tenant_id(), asset).await? {
            return Ok(false);
        }
        match weights {
            Some(weights) => {
                let value = serde_json::to_value(weights)
                    .map_err(|error| StoreError::Corrupt(format!("score weights: {error}")))?;
                sqlx::query(
                    "INSERT INTO asset_score_weights (tenant_id, asset_id, weights, updated_at, updated_by)
                     VALUES ($1, $2, $3, now(), $4)
                     ON CONFLICT (tenant_id, asset_id) DO UPDATE SET weights = EXCLUDED.weights,
                         updated_at = now(), updated_by = EXCLUDED.updated_by",
                )
                .bind(&tenant)
                .bind(asset)
                .bind(value)
                .bind(by)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM asset_score_weights WHERE tenant_id = $1 AND asset_id = $2")
                    .bind(&tenant)
                    .bind(asset)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        enqueue_scoring(&mut tx, &[(tenant.as_str(), asset)]).await?;
        tx.commit().await?;
        Ok(true)
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
