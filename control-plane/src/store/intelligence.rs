//! Intelligence tables: persisted anomaly events and their feedback, the detection watermark per
//! series, metric bounds for early warnings, and per-segment counts for root-cause analysis.

use chrono::{DateTime, Utc};
use cwic_shared::TenantId;
use serde::Serialize;
use uuid::Uuid;

use super::snapshots::{DetectorState, FeedbackBySeries, by_series};
use super::{Store, StoreResult, TenantStore, outbox};
use crate::events::{AnomalyCloseReason, AnomalyClosed, AnomalyOpened, Event, EventData};

/// One metric series: an asset's metric, for one column or (column `""`) the whole table.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SeriesKey {
    pub tenant_id: String,
    pub asset_id: Uuid,
    pub metric: String,
    pub column_name: String,
}

/// An anomaly event as stored, with the asset's name for display.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AnomalyEvent {
    pub id: Uuid,
    pub asset_id: Uuid,
    /// `schema.name` of the asset.
    pub asset: String,
    pub source_name: String,
    pub metric: String,
    /// Empty for table-level metrics.
    #[sqlx(rename = "column_name")]
    pub column: String,
    pub observed_at: DateTime<Utc>,
    pub value: f64,
    pub expected_low: Option<f64>,
    pub expected_high: Option<f64>,
    pub score: f64,
    pub detected_at: DateTime<Utc>,
    /// `expected` or `false_positive` once a user judged it.
    pub feedback: Option<String>,
    pub feedback_at: Option<DateTime<Utc>>,
    /// What the point was judged against (rhythm, usual drift, contributing features), if any.
    pub details: Option<serde_json::Value>,
}

/// An anomaly the detector found, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedAnomaly {
    pub observed_at: DateTime<Utc>,
    pub value: f64,
    pub expected_low: Option<f64>,
    pub expected_high: Option<f64>,
    pub score: f64,
    pub details: Option<serde_json::Value>,
}

/// What detection found over one series' points from `since` through `scanned_through`, and the
/// detector's state as of `scanned_through` when it keeps one.
#[derive(Debug, Clone)]
pub struct SeriesDetection {
    pub series: SeriesKey,
    pub since: DateTime<Utc>,
    pub scanned_through: DateTime<Utc>,
    pub found: Vec<DetectedAnomaly>,
    pub state: Option<DetectorState>,
}

/// Every metric of an asset observed at one time: (metric, column, value).
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub observed_at: DateTime<Utc>,
    pub metrics: Vec<(String, String, f64)>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MetricBound {
    pub asset_id: Uuid,
    pub asset: String,
    pub metric: String,
    #[sqlx(rename = "column_name")]
    pub column: String,
    pub lower_bound: Option<f64>,
    pub upper_bound: Option<f64>,
}

/// Counts of one segment (a value of the segment column) at one observation.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SegmentCount {
    pub observed_at: DateTime<Utc>,
    pub segment_column: String,
    pub segment_value: String,
    pub row_count: f64,
    pub null_count: f64,
}

/// A column of an asset with when it was first and last seen (schema changes).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ColumnSeen {
    pub asset_id: Uuid,
    pub asset: String,
    pub name: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub asset_first_seen_at: DateTime<Utc>,
    pub asset_last_seen_at: DateTime<Utc>,
}

/// A check that started failing (its run before passed, or it had none) on one of the assets.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CheckTurnedFailing {
    pub asset_id: Uuid,
    pub asset: String,
    pub check_name: String,
    pub template: String,
    pub dimension: String,
    pub severity: String,
    pub status: String,
    pub columns: Vec<String>,
    pub failing_rows: Option<i64>,
    pub total_rows: Option<i64>,
    pub message: String,
    pub observed_at: DateTime<Utc>,
}

const EVENT_SELECT: &str = "
SELECT e.id, e.asset_id, a.schema_name || '.' || a.name AS asset, a.source_name, e.metric, e.column_name,
       e.observed_at, e.value, e.expected_low, e.expected_high, e.score, e.detected_at, e.feedback,
       e.feedback_at, e.details
FROM anomaly_events e JOIN assets a ON a.id = e.asset_id";

impl Store {
    /// Series whose newest point is newer than the last detection pass over them, at most `limit`.
    /// Only `tenant`'s series when given.
    pub async fn series_to_scan(&self, tenant: Option<&TenantId>, limit: i64) -> StoreResult<Vec<SeriesKey>> {
        Ok(sqlx::query_as(
            "SELECT p.tenant_id, p.asset_id, p.metric, p.column_name
             FROM (SELECT tenant_id, asset_id, metric, column_name, max(observed_at) AS latest
                   FROM metric_points GROUP BY tenant_id, asset_id, metric, column_name) p
             LEFT JOIN detection_state s ON s.tenant_id = p.tenant_id AND s.asset_id = p.asset_id
                  AND s.metric = p.metric AND s.column_name = p.column_name
             WHERE (s.scanned_through IS NULL OR s.scanned_through < p.latest)
               AND ($2::text IS NULL OR p.tenant_id = $2)
             ORDER BY p.tenant_id, p.asset_id, p.metric, p.column_name
             LIMIT $1",
        )
        .bind(limit)
        .bind(tenant.map(TenantId::as_str))
        .fetch_all(&self.pool)
        .await?)
    }

    /// [`TenantStore::series_feedback`] for a series of any tenant (background detection: the
    /// owner pool, one round trip).
    pub async fn series_feedback(&self, series: &SeriesKey) -> StoreResult<Vec<(DateTime<Utc>, String)>> {
        Ok(sqlx::query_as(
            "SELECT observed_at, feedback FROM anomaly_events
             WHERE tenant_id = $1 AND asset_id = $2 AND metric = $3 AND column_name = $4
               AND feedback IS NOT NULL
             ORDER BY observed_at",
        )
        .bind(&series.tenant_id)
        .bind(series.asset_id)
        .bind(&series.metric)
        .bind(&series.column_name)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores the result of a detection pass over a series' points from `since` through
    /// `scanned_through`: events without feedback that the pass no longer finds are removed, new
    /// ones added, and events with feedback kept as they are.
    pub async fn replace_detected_events(
        &self,
        series: &SeriesKey,
        since: DateTime<Utc>,
        scanned_through: DateTime<Utc>,
        found: &[DetectedAnomaly],
    ) -> StoreResult<()> {
        self.store_detections(&[SeriesDetection {
            series: series.clone(),
            since,
            scanned_through,
            found: found.to_vec(),
            state: None,
        }])
        .await
    }

    /// Stores what detection found over several series (each at most once), in one transaction
    /// and a handful of statements whatever their number: each series' events as
    /// [`Store::replace_detected_events`] does, its watermark, and its detector's state when it
    /// has one (the watermark and the state it matches are committed together, so a crash cannot
    /// leave one without the other). The diff of events, opened and closed, goes to the outbox.
    pub async fn store_detections(&self, detections: &[SeriesDetection]) -> StoreResult<()> {
        if detections.is_empty() {
            return Ok(());
        }
        let tenants: Vec<&str> = detections.iter().map(|d| d.series.tenant_id.as_str()).collect();
        let assets: Vec<Uuid> = detections.iter().map(|d| d.series.asset_id).collect();
        let metrics: Vec<&str> = detections.iter().map(|d| d.series.metric.as_str()).collect();
        let columns: Vec<&str> = detections.iter().map(|d| d.series.column_name.as_str()).collect();
        let throughs: Vec<DateTime<Utc>> = detections.iter().map(|d| d.scanned_through).collect();
        let indexes: Vec<i32> = (0..detections.len() as i32).collect();
        // Every found event, flattened: its series' index and its own fields.
        let mut found_series = Vec::new();
        let mut found_ids = Vec::new();
        let mut found_at = Vec::new();
        let mut values = Vec::new();
        let mut lows = Vec::new();
        let mut highs = Vec::new();
        let mut scores = Vec::new();
        let mut details = Vec::new();
        let mut found_by_id: std::collections::HashMap<Uuid, (usize, usize)> = Default::default();
        for (index, detection) in detections.iter().enumerate() {
            for (position, event) in detection.found.iter().enumerate() {
                let id = Uuid::now_v7();
                found_by_id.insert(id, (index, position));
                found_series.push(index as i32);
                found_ids.push(id);
                found_at.push(event.observed_at);
                values.push(event.value);
                lows.push(event.expected_low);
                highs.push(event.expected_high);
                scores.push(event.score);
                details.push(event.details.clone());
            }
        }
        let mut tx = self.pool.begin().await?;
        // The diff of each series' events before and after is published: events the pass no
        // longer finds close, new ones open (an event found again is neither).
        let closed: Vec<(i32, Uuid, DateTime<Utc>)> = sqlx::query_as(
            "DELETE FROM anomaly_events a
             USING UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::int4[])
                   AS s(tenant_id, asset_id, metric, column_name, since, idx)
             WHERE a.tenant_id = s.tenant_id AND a.asset_id = s.asset_id AND a.metric = s.metric
               AND a.column_name = s.column_name AND a.feedback IS NULL AND a.observed_at >= s.since
               AND NOT EXISTS (SELECT 1 FROM UNNEST($7::int4[], $8::timestamptz[]) AS f(idx, observed_at)
                               WHERE f.idx = s.idx AND f.observed_at = a.observed_at)
             RETURNING s.idx, a.id, a.observed_at",
        )
        .bind(&tenants)
        .bind(&assets)
        .bind(&metrics)
        .bind(&columns)
        .bind(detections.iter().map(|d| d.since).collect::<Vec<_>>())
        .bind(&indexes)
        .bind(&found_series)
        .bind(&found_at)
        .fetch_all(&mut *tx)
        .await?;
        let now = Utc::now();
        let mut events: Vec<Event> = closed
            .into_iter()
            .map(|(index, anomaly_id, observed_at)| {
                let series = &detections[index as usize].series;
                Event::at(
                    &series.tenant_id,
                    now,
                    EventData::AnomalyClosed(AnomalyClosed {
                        anomaly_id,
                        asset_id: series.asset_id,
                        metric: series.metric.clone(),
                        column: series.column_name.clone(),
                        observed_at,
                        reason: AnomalyCloseReason::NoLongerDetected,
                        feedback: None,
                    }),
                )
            })
            .collect();
        if !found_ids.is_empty() {
            // `xmax = 0`: the row was inserted (with the id given here), not updated (an event
            // found before, which keeps its id).
            let written: Vec<(Uuid, bool)> = sqlx::query_as(
                "INSERT INTO anomaly_events (id, tenant_id, asset_id, metric, column_name, observed_at, value,
                                             expected_low, expected_high, score, details)
                 SELECT f.id, s.tenant_id, s.asset_id, s.metric, s.column_name, f.observed_at, f.value,
                        f.expected_low, f.expected_high, f.score, f.details
                 FROM UNNEST($1::uuid[], $2::int4[], $3::timestamptz[], $4::float8[], $5::float8[],
                             $6::float8[], $7::float8[], $8::jsonb[])
                      AS f(id, idx, observed_at, value, expected_low, expected_high, score, details)
                 JOIN UNNEST($9::text[], $10::uuid[], $11::text[], $12::text[], $13::int4[])
                      AS s(tenant_id, asset_id, metric, column_name, idx) ON s.idx = f.idx
                 ON CONFLICT (tenant_id, asset_id, metric, column_name, observed_at) DO UPDATE
                 SET value = EXCLUDED.value, expected_low = EXCLUDED.expected_low,
                     expected_high = EXCLUDED.expected_high, score = EXCLUDED.score,
                     details = EXCLUDED.details
                 WHERE anomaly_events.feedback IS NULL
                 RETURNING id, xmax = 0",
            )
            .bind(&found_ids)
            .bind(&found_series)
            .bind(&found_at)
            .bind(&values)
            .bind(&lows)
            .bind(&highs)
            .bind(&scores)
            .bind(&details)
            .bind(&tenants)
            .bind(&assets)
            .bind(&metrics)
            .bind(&columns)
            .bind(&indexes)
            .fetch_all(&mut *tx)
            .await?;
            let mut opened: Vec<(usize, usize, Uuid)> = written
                .into_iter()
                .filter(|(_, inserted)| *inserted)
                .filter_map(|(id, _)| {
                    found_by_id
                        .get(&id)
                        .map(|&(index, position)| (index, position, id))
                })
                .collect();
            opened.sort_unstable();
            for (index, position, anomaly_id) in opened {
                let detection = &detections[index];
                let event = &detection.found[position];
                events.push(Event::at(
                    &detection.series.tenant_id,
                    now,
                    EventData::AnomalyOpened(AnomalyOpened {
                        anomaly_id,
                        asset_id: detection.series.asset_id,
                        metric: detection.series.metric.clone(),
                        column: detection.series.column_name.clone(),
                        observed_at: event.observed_at,
                        value: event.value,
                        expected_low: event.expected_low,
                        expected_high: event.expected_high,
                        score: event.score,
                    }),
                ));
            }
        }
        outbox::append(&mut tx, &events).await?;
        // The watermarks and the detector states they match, in one statement.
        let saved: Vec<(&SeriesDetection, &DetectorState)> = detections
            .iter()
            .filter_map(|detection| detection.state.as_ref().map(|state| (detection, state)))
            .collect();
        sqlx::query(
            "WITH watermarks AS (
                 INSERT INTO detection_state (tenant_id, asset_id, metric, column_name, scanned_through)
                 SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
                 ON CONFLICT (tenant_id, asset_id, metric, column_name) DO UPDATE
                 SET scanned_through = EXCLUDED.scanned_through)
             INSERT INTO detector_snapshots (tenant_id, asset_id, metric, column_name, through, format, state, model)
             SELECT * FROM UNNEST($6::text[], $7::uuid[], $8::text[], $9::text[], $10::timestamptz[],
                                  $11::int2[], $12::bytea[], $13::bytea[])
             ON CONFLICT (tenant_id, asset_id, metric, column_name) DO UPDATE
             SET through = EXCLUDED.through, format = EXCLUDED.format, state = EXCLUDED.state,
                 model = COALESCE(EXCLUDED.model, detector_snapshots.model)",
        )
        .bind(&tenants)
        .bind(&assets)
        .bind(&metrics)
        .bind(&columns)
        .bind(&throughs)
        .bind(saved.iter().map(|(d, _)| d.series.tenant_id.as_str()).collect::<Vec<_>>())
        .bind(saved.iter().map(|(d, _)| d.series.asset_id).collect::<Vec<_>>())
        .bind(saved.iter().map(|(d, _)| d.series.metric.as_str()).collect::<Vec<_>>())
        .bind(saved.iter().map(|(d, _)| d.series.column_name.as_str()).collect::<Vec<_>>())
        .bind(saved.iter().map(|(d, _)| d.scanned_through).collect::<Vec<_>>())
        .bind(saved.iter().map(|(_, state)| state.format).collect::<Vec<_>>())
        .bind(saved.iter().map(|(_, state)| state.bytes.as_slice()).collect::<Vec<_>>())
        .bind(saved.iter().map(|(_, state)| state.model.as_deref()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Assets whose newest metric point is newer than the last table-model pass over them (or that
    /// were never judged, or whose table-vector state feedback reset), at most `limit`; only
    /// `tenant`'s when given.
    pub async fn tables_to_scan(
        &self,
        tenant: Option<&TenantId>,
        limit: i64,
    ) -> StoreResult<Vec<(String, Uuid)>> {
        Ok(sqlx::query_as(
            "SELECT p.tenant_id, p.asset_id
             FROM (SELECT tenant_id, asset_id, max(observed_at) AS latest
                   FROM metric_points GROUP BY tenant_id, asset_id) p
             LEFT JOIN detection_state s ON s.tenant_id = p.tenant_id AND s.asset_id = p.asset_id
                  AND s.metric = $3 AND s.column_name = ''
             WHERE (s.scanned_through IS NULL OR s.scanned_through < p.latest)
               AND ($2::text IS NULL OR p.tenant_id = $2)
             ORDER BY p.tenant_id, p.asset_id
             LIMIT $1",
        )
        .bind(limit)
        .bind(tenant.map(TenantId::as_str))
        .bind(crate::detectors::TABLE_VECTOR_METRIC)
        .fetch_all(&self.pool)
        .await?)
    }

    /// An asset's last `limit` collections (every metric observed at one time), oldest first.
    pub async fn asset_collections(
        &self,
        tenant: &str,
        asset: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<Collection>> {
        let rows: Vec<(DateTime<Utc>, String, String, f64)> = sqlx::query_as(
            "SELECT observed_at, metric, column_name, value FROM metric_points
             WHERE tenant_id = $1 AND asset_id = $2
               AND observed_at >= (SELECT min(observed_at) FROM
                                     (SELECT DISTINCT observed_at FROM metric_points
                                      WHERE tenant_id = $1 AND asset_id = $2
                                      ORDER BY observed_at DESC LIMIT $3) newest)
             ORDER BY observed_at, metric, column_name",
        )
        .bind(tenant)
        .bind(asset)
        .bind(limit)
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

    /// Times at which an asset has events of its own measured series in `[from, until]`, with or
    /// without feedback: not the table model's, and not the quality score's (a score derived from
    /// the same collection must not hide the table model's more specific finding).
    pub async fn series_event_times(
        &self,
        tenant: &str,
        asset: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT observed_at FROM anomaly_events
             WHERE tenant_id = $1 AND asset_id = $2 AND metric <> $3 AND metric <> $6
               AND observed_at >= $4 AND observed_at <= $5",
        )
        .bind(tenant)
        .bind(asset)
        .bind(crate::detectors::TABLE_VECTOR_METRIC)
        .bind(from)
        .bind(until)
        .bind(crate::scoring::SCORE_METRIC)
        .fetch_all(&self.pool)
        .await?)
    }
}

impl TenantStore {
    /// Feedback given on a series' events: (observed_at, verdict), oldest first.
    pub async fn series_feedback(
        &self,
        asset: Uuid,
        metric: &str,
        column: &str,
    ) -> StoreResult<Vec<(DateTime<Utc>, String)>> {
        let mut tx = self.begin().await?;
        Ok(sqlx::query_as(
            "SELECT observed_at, feedback FROM anomaly_events
             WHERE tenant_id = $1 AND asset_id = $2 AND metric = $3 AND column_name = $4
               AND feedback IS NOT NULL
             ORDER BY observed_at",
        )
        .bind(self.tenant_id().as_str())
        .bind(asset)
        .bind(metric)
        .bind(column)
        .fetch_all(&mut *tx)
        .await?)
    }

    /// `source_name` and `schema.name` of an asset, for finding it in the lineage graph.
    pub async fn asset_identity(&self, id: Uuid) -> StoreResult<Option<(String, String)>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        Ok(sqlx::query_as(
            "SELECT source_name, schema_name || '.' || name FROM assets WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?)
    }

    /// An asset's last `limit` collections (every metric observed at one time), oldest first.
    pub async fn asset_collections(&self, asset: Uuid, limit: i64) -> StoreResult<Vec<Collection>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let rows: Vec<(DateTime<Utc>, String, String, f64)> = sqlx::query_as(
            "SELECT observed_at, metric, column_name, value FROM metric_points
             WHERE tenant_id = $1 AND asset_id = $2
               AND observed_at >= (SELECT min(observed_at) FROM
                                     (SELECT DISTINCT observed_at FROM metric_points
                                      WHERE tenant_id = $1 AND asset_id = $2
                                      ORDER BY observed_at DESC LIMIT $3) newest)
             ORDER BY observed_at, metric, column_name",
        )
        .bind(tenant.as_str())
        .bind(asset)
        .bind(limit)
        .fetch_all(&mut *tx)
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

    /// The feedback on every series of an asset and on its table model, by series, each oldest
    /// first (as [`Store::asset_feedback_by_series`], in the tenant's scoped transaction).
    pub async fn asset_feedback_by_series(&self, asset: Uuid) -> StoreResult<FeedbackBySeries> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let rows: Vec<(String, String, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT metric, column_name, observed_at, feedback FROM anomaly_events
             WHERE tenant_id = $1 AND asset_id = $2 AND feedback IS NOT NULL
             ORDER BY metric, column_name, observed_at",
        )
        .bind(tenant.as_str())
        .bind(asset)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(by_series(rows))
    }

    /// A tenant's anomaly events, newest first; only one asset's when `asset` is given, only those
    /// without feedback when `open_only`.
    pub async fn list_anomaly_events(
        &self,
        asset: Option<Uuid>,
        open_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<AnomalyEvent>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{EVENT_SELECT}
             WHERE e.tenant_id = $1 AND ($2::uuid IS NULL OR e.asset_id = $2)
               AND (NOT $3 OR e.feedback IS NULL)
             ORDER BY e.observed_at DESC, e.id LIMIT $4"
        )))
        .bind(tenant.as_str())
        .bind(asset)
        .bind(open_only)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?)
    }

    pub async fn get_anomaly_event(&self, id: Uuid) -> StoreResult<Option<AnomalyEvent>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{EVENT_SELECT} WHERE e.tenant_id = $1 AND e.id = $2"
        )))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?)
    }

    /// Sets (or with `None` clears) the feedback on an event and makes the next detection pass
    /// revisit its series. False when there is no such event for this tenant.
    pub async fn set_anomaly_feedback(&self, id: Uuid, verdict: Option<&str>) -> StoreResult<bool> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        // The previous verdict, read under the row's lock: only a first verdict closes the event.
        // (tenant, asset, metric, column, observed at, previous verdict)
        type Judged = (String, Uuid, String, String, DateTime<Utc>, Option<String>);
        let judged: Option<Judged> = sqlx::query_as(
            "WITH previous AS (SELECT id, feedback FROM anomaly_events WHERE tenant_id = $1 AND id = $2 FOR UPDATE)
             UPDATE anomaly_events e
             SET feedback = $3, feedback_at = CASE WHEN $3 IS NULL THEN NULL ELSE now() END
             FROM previous WHERE e.id = previous.id
             RETURNING e.tenant_id, e.asset_id, e.metric, e.column_name, e.observed_at, previous.feedback",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(verdict)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((tenant_id, asset_id, metric, column_name, observed_at, previous)) = judged else {
            return Ok(false);
        };
        if let (None, Some(verdict)) = (previous, verdict) {
            let closed = Event::at(
                &tenant_id,
                Utc::now(),
                EventData::AnomalyClosed(AnomalyClosed {
                    anomaly_id: id,
                    asset_id,
                    metric: metric.clone(),
                    column: column_name.clone(),
                    observed_at,
                    reason: AnomalyCloseReason::Feedback,
                    feedback: Some(verdict.to_owned()),
                }),
            );
            outbox::append(&mut tx, std::slice::from_ref(&closed)).await?;
        }
        let series = SeriesKey {
            tenant_id,
            asset_id,
            metric,
            column_name,
        };
        sqlx::query(
            "DELETE FROM detection_state
             WHERE tenant_id = $1 AND asset_id = $2 AND metric = $3 AND column_name = $4",
        )
        .bind(&series.tenant_id)
        .bind(series.asset_id)
        .bind(&series.metric)
        .bind(&series.column_name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets the bounds of a series; false when the asset does not exist for this tenant.
    pub async fn put_metric_bound(
        &self,
        asset: Uuid,
        metric: &str,
        column: &str,
        lower: Option<f64>,
        upper: Option<f64>,
    ) -> StoreResult<bool> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        if !Self::asset_exists(&mut tx, tenant, asset).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO metric_bounds (tenant_id, asset_id, metric, column_name, lower_bound, upper_bound)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id, asset_id, metric, column_name) DO UPDATE
             SET lower_bound = EXCLUDED.lower_bound, upper_bound = EXCLUDED.upper_bound, updated_at = now()",
        )
        .bind(tenant.as_str())
        .bind(asset)
        .bind(metric)
        .bind(column)
        .bind(lower)
        .bind(upper)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A tenant's bounds, or one asset's.
    pub async fn metric_bounds(&self, asset: Option<Uuid>) -> StoreResult<Vec<MetricBound>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        Ok(sqlx::query_as(
            "SELECT b.asset_id, a.schema_name || '.' || a.name AS asset, b.metric, b.column_name,
                    b.lower_bound, b.upper_bound
             FROM metric_bounds b JOIN assets a ON a.id = b.asset_id
             WHERE b.tenant_id = $1 AND ($2::uuid IS NULL OR b.asset_id = $2)
             ORDER BY a.schema_name, a.name, b.metric, b.column_name",
        )
        .bind(tenant.as_str())
        .bind(asset)
        .fetch_all(&mut *tx)
        .await?)
    }

    /// Grouped counts of a column observed in `[from, until]`, oldest first.
    pub async fn segment_counts(
        &self,
        asset: Uuid,
        column: &str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<SegmentCount>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        Ok(sqlx::query_as(
            "SELECT observed_at, segment_column, segment_value, row_count, null_count FROM segment_counts
             WHERE tenant_id = $1 AND asset_id = $2 AND column_name = $3
               AND observed_at >= $4 AND observed_at <= $5
             ORDER BY observed_at, segment_column, segment_value",
        )
        .bind(tenant.as_str())
        .bind(asset)
        .bind(column)
        .bind(from)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?)
    }

    /// Anomaly events without feedback on any of `assets` observed in `[from, until]`.
    pub async fn events_on_assets(
        &self,
        assets: &[Uuid],
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<AnomalyEvent>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{EVENT_SELECT}
             WHERE e.tenant_id = $1 AND e.asset_id = ANY($2) AND e.feedback IS NULL
               AND e.observed_at >= $3 AND e.observed_at <= $4
             ORDER BY e.observed_at"
        )))
        .bind(tenant.as_str())
        .bind(assets)
        .bind(from)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?)
    }

    /// Columns of `assets` with their first and last sighting, to find schema changes.
    pub async fn columns_seen(&self, assets: &[Uuid]) -> StoreResult<Vec<ColumnSeen>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        Ok(sqlx::query_as(
            "SELECT c.asset_id, a.schema_name || '.' || a.name AS asset, c.name, c.first_seen_at,
                    c.last_seen_at, a.first_seen_at AS asset_first_seen_at,
                    a.last_seen_at AS asset_last_seen_at
             FROM asset_columns c JOIN assets a ON a.id = c.asset_id
             WHERE c.tenant_id = $1 AND c.asset_id = ANY($2)
             ORDER BY a.schema_name, a.name, c.ordinal",
        )
        .bind(tenant.as_str())
        .bind(assets)
        .fetch_all(&mut *tx)
        .await?)
    }

    /// Checks of `assets` whose run between `from` and `until` failed (or errored) while the run
    /// before it passed or did not exist: the failures that began in the window.
    pub async fn checks_turned_failing(
        &self,
        assets: &[Uuid],
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<CheckTurnedFailing>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        Ok(sqlx::query_as(
            "SELECT r.asset_id, a.schema_name || '.' || a.name AS asset, r.check_name, r.template, r.dimension,
                    r.severity, r.status, r.columns, r.failing_rows, r.total_rows, r.message, r.observed_at
             FROM (SELECT c.*, lag(c.status) OVER (PARTITION BY c.asset_id, c.check_name ORDER BY c.observed_at)
                              AS previous_status
                   FROM check_results c
                   WHERE c.tenant_id = $1 AND c.asset_id = ANY($2) AND c.observed_at <= $4) AS r
             JOIN assets a ON a.id = r.asset_id
             WHERE r.observed_at >= $3 AND r.status <> 'pass'
               AND (r.previous_status IS NULL OR r.previous_status = 'pass')
             ORDER BY r.observed_at",
        )
        .bind(tenant.as_str())
        .bind(assets)
        .bind(from)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?)
    }
}
