//! Saved detector state per series (`detector_snapshots`), so a detection pass feeds a detector
//! only the points that came since, and the history after a saved state. Owner pool: background
//! work only.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::intelligence::{Collection, SeriesKey};
use super::{Store, StoreResult};

/// A series of an asset: `(metric, column)`.
pub type SeriesName = (String, String);
/// Points of several series: `(observed_at, value)` each, oldest first.
pub type PointsBySeries = HashMap<SeriesName, Vec<(DateTime<Utc>, f64)>>;
/// Feedback on several series: `(observed_at, verdict)` each, oldest first.
pub type FeedbackBySeries = HashMap<SeriesName, Vec<(DateTime<Utc>, String)>>;

/// Feedback rows `(metric, column, observed_at, verdict)`, oldest first within a series, by series.
pub(super) fn by_series(rows: Vec<(String, String, DateTime<Utc>, String)>) -> FeedbackBySeries {
    let mut feedback = FeedbackBySeries::new();
    for (metric, column, at, verdict) in rows {
        feedback.entry((metric, column)).or_default().push((at, verdict));
    }
    feedback
}

/// A detector's serialised state and the format (state version) it was written in, and the
/// table model's forest when it changed (`None` keeps the stored one).
#[derive(Debug, Clone)]
pub struct DetectorState {
    pub format: i16,
    pub bytes: Vec<u8>,
    pub model: Option<Vec<u8>>,
}

/// A table model's saved state: the time of the last collection it saw, its state, and its
/// forest as last saved (which the state says whether it belongs to).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SavedTableModel {
    pub through: DateTime<Utc>,
    pub state: Vec<u8>,
    pub model: Option<Vec<u8>>,
}

/// A series due for detection with the state the last pass saved, when it is still valid.
#[derive(Debug, Clone)]
pub struct DueSeries {
    pub key: SeriesKey,
    /// Time of the last point the saved detector saw, and its state.
    pub saved: Option<(DateTime<Utc>, Vec<u8>)>,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    tenant_id: String,
    asset_id: Uuid,
    metric: String,
    column_name: String,
    through: Option<DateTime<Utc>>,
    state: Option<Vec<u8>>,
}

impl Store {
    /// An asset's series whose newest point is newer than the last detection over them, each
    /// with its detector's saved state when that is valid (as [`Store::detector_snapshot`]
    /// gives it): one query for what would otherwise be one per series.
    pub async fn asset_series_due(
        &self,
        tenant: &str,
        asset: Uuid,
        format: i16,
    ) -> StoreResult<Vec<DueSeries>> {
        let rows: Vec<DueRow> = sqlx::query_as(
            "SELECT p.tenant_id, p.asset_id, p.metric, p.column_name, d.through, d.state
             FROM (SELECT tenant_id, asset_id, metric, column_name, max(observed_at) AS latest
                   FROM metric_points WHERE tenant_id = $1 AND asset_id = $2
                   GROUP BY tenant_id, asset_id, metric, column_name) p
             LEFT JOIN detection_state s ON s.tenant_id = p.tenant_id AND s.asset_id = p.asset_id
                  AND s.metric = p.metric AND s.column_name = p.column_name
             LEFT JOIN detector_snapshots d ON d.tenant_id = s.tenant_id AND d.asset_id = s.asset_id
                  AND d.metric = s.metric AND d.column_name = s.column_name
                  AND d.through = s.scanned_through AND d.format = $3
             WHERE s.scanned_through IS NULL OR s.scanned_through < p.latest
             ORDER BY p.metric, p.column_name",
        )
        .bind(tenant)
        .bind(asset)
        .bind(format)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| DueSeries {
                key: SeriesKey {
                    tenant_id: row.tenant_id,
                    asset_id: row.asset_id,
                    metric: row.metric,
                    column_name: row.column_name,
                },
                saved: row.through.zip(row.state),
            })
            .collect())
    }

    /// The saved state of a series' detector and the time of the last point it has seen, when it
    /// was saved in `format` and is the state of the last pass over the series (its time is the
    /// series' detection watermark: feedback, which resets the watermark, voids it).
    pub async fn detector_snapshot(
        &self,
        series: &SeriesKey,
        format: i16,
    ) -> StoreResult<Option<(DateTime<Utc>, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT d.through, d.state FROM detector_snapshots d
             JOIN detection_state s ON s.tenant_id = d.tenant_id AND s.asset_id = d.asset_id
                  AND s.metric = d.metric AND s.column_name = d.column_name
                  AND s.scanned_through = d.through
             WHERE d.tenant_id = $1 AND d.asset_id = $2 AND d.metric = $3 AND d.column_name = $4
               AND d.format = $5",
        )
        .bind(&series.tenant_id)
        .bind(series.asset_id)
        .bind(&series.metric)
        .bind(&series.column_name)
        .bind(format)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// [`Store::detector_snapshot`] of a table model, with its saved forest.
    pub async fn table_model_snapshot(
        &self,
        series: &SeriesKey,
        format: i16,
    ) -> StoreResult<Option<SavedTableModel>> {
        Ok(sqlx::query_as(
            "SELECT d.through, d.state, d.model FROM detector_snapshots d
             JOIN detection_state s ON s.tenant_id = d.tenant_id AND s.asset_id = d.asset_id
                  AND s.metric = d.metric AND s.column_name = d.column_name
                  AND s.scanned_through = d.through
             WHERE d.tenant_id = $1 AND d.asset_id = $2 AND d.metric = $3 AND d.column_name = $4
               AND d.format = $5",
        )
        .bind(&series.tenant_id)
        .bind(series.asset_id)
        .bind(&series.metric)
        .bind(&series.column_name)
        .bind(format)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A series' points after `after`, oldest first, at most `limit`.
    pub async fn series_points_after(
        &self,
        series: &SeriesKey,
        after: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<(DateTime<Utc>, f64)>> {
        Ok(sqlx::query_as(
            "SELECT observed_at, value FROM metric_points
             WHERE tenant_id = $1 AND asset_id = $2 AND metric = $3 AND column_name = $4
               AND observed_at > $5
             ORDER BY observed_at LIMIT $6",
        )
        .bind(&series.tenant_id)
        .bind(series.asset_id)
        .bind(&series.metric)
        .bind(&series.column_name)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The new points of several series of one asset in one round trip: for each
    /// `(metric, column, after)`, its points after `after`, oldest first, at most `limit` each.
    pub async fn asset_points_after(
        &self,
        tenant: &str,
        asset: Uuid,
        series: &[(&str, &str, DateTime<Utc>)],
        limit: i64,
    ) -> StoreResult<PointsBySeries> {
        let rows: Vec<(String, String, DateTime<Utc>, f64)> = sqlx::query_as(
            "SELECT x.metric, x.column_name, p.observed_at, p.value
             FROM UNNEST($3::text[], $4::text[], $5::timestamptz[]) AS x (metric, column_name, after)
             CROSS JOIN LATERAL (
                 SELECT observed_at, value FROM metric_points
                 WHERE tenant_id = $1 AND asset_id = $2 AND metric = x.metric
                   AND column_name = x.column_name AND observed_at > x.after
                 ORDER BY observed_at LIMIT $6) p
             ORDER BY x.metric, x.column_name, p.observed_at",
        )
        .bind(tenant)
        .bind(asset)
        .bind(series.iter().map(|(metric, _, _)| *metric).collect::<Vec<_>>())
        .bind(series.iter().map(|(_, column, _)| *column).collect::<Vec<_>>())
        .bind(series.iter().map(|(_, _, after)| *after).collect::<Vec<_>>())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut points = PointsBySeries::new();
        for (metric, column, at, value) in rows {
            points.entry((metric, column)).or_default().push((at, value));
        }
        Ok(points)
    }

    /// The feedback on every series of an asset and on its table model, by series, each oldest
    /// first.
    pub async fn asset_feedback_by_series(&self, tenant: &str, asset: Uuid) -> StoreResult<FeedbackBySeries> {
        let rows: Vec<(String, String, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT metric, column_name, observed_at, feedback FROM anomaly_events
             WHERE tenant_id = $1 AND asset_id = $2 AND feedback IS NOT NULL
             ORDER BY metric, column_name, observed_at",
        )
        .bind(tenant)
        .bind(asset)
        .fetch_all(&self.pool)
        .await?;
        Ok(by_series(rows))
    }

    /// An asset's collections after `after`, oldest first.
    pub async fn asset_collections_after(
        &self,
        tenant: &str,
        asset: Uuid,
        after: DateTime<Utc>,
    ) -> StoreResult<Vec<Collection>> {
        let rows: Vec<(DateTime<Utc>, String, String, f64)> = sqlx::query_as(
            "SELECT observed_at, metric, column_name, value FROM metric_points
             WHERE tenant_id = $1 AND asset_id = $2 AND observed_at > $3
             ORDER BY observed_at, metric, column_name",
        )
        .bind(tenant)
        .bind(asset)
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        let mut collections: Vec<Collection> = Vec::new();
        for (observed_at, metric, column, value) in rows {
            match collections.last_mut() {
                Some(last) if last.observed_at == observed_at => last.metrics.push((metric, column, value)),
                _ => collections.push(Collection {
                    observed_at,
                    metrics: vec![(metric, column, value)],
                }),
            }
        }
        Ok(collections)
    }
}
