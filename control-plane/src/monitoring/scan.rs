//! Continuous detection: each pass judges the stored history of every series that has new points
//! with the detector for its metric ([`MetricDetector::for_metric`]: the seasonal detector of
//! `cwic detect`, the update-rhythm detector for `freshness_lag`, the one-sided rule for
//! `distribution_drift`), then every table with new points with the multivariate table model
//! (events under the metric `table_vector`), applying the feedback users gave on earlier events,
//! and stores the anomaly events it finds.
//!
//! A pass feeds each detector only the points that came since the last pass: a detector's
//! state is saved per series after each pass (`detector_snapshots`, valid while it matches the
//! series' watermark) and read back by the next. Without a valid saved state (the first pass, a
//! build with another [`STATE_VERSION`], feedback given or withdrawn, which resets the
//! watermark) the pass replays the series' last `MAX_JUDGED_POINTS` points (a table's last
//! `MAX_JUDGED_COLLECTIONS` collections) from scratch, so the result depends only on the stored
//! history and the feedback: events without feedback that the detector no longer raises
//! disappear. Resuming gives the verdicts a replay would (detectors are deterministic; the table
//! model's forest is restored from its compact form, saved next to the state when it was
//! retrained, or regrown from the rows it was trained on with its saved rotation and fixed seed)
//! as long as the history is within those bounds. A series' state and watermark are committed
//! together with its events. A table event at a time when one of the table's own series
//! already has an event is not stored: it is the same incident, and the series event says more
//! precisely what happened.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use cwic_shared::TenantId;
use uuid::Uuid;

use crate::detectors::{
    Judgement, MetricDetector, STATE_VERSION, TABLE_VECTOR_METRIC, TableDetector, TableVerdict, Verdict,
    table_features,
};
use crate::scoring::SCORE_METRIC;
use crate::store::intelligence::{Collection, DetectedAnomaly, SeriesDetection, SeriesKey};
use crate::store::snapshots::{DetectorState, FeedbackBySeries};
use crate::store::{Store, StoreResult, TenantStore};

/// Points of history judged per series, at most (the newest).
pub const MAX_JUDGED_POINTS: i64 = 10_000;
/// Collections of a table judged by the table model, at most (the newest): six weeks of hourly
/// collections. A replay retrains the forest every 64 collections, so this bounds its cost.
pub const MAX_JUDGED_COLLECTIONS: i64 = 1_000;
/// Series judged per pass, at most; the rest wait for the next pass.
const SERIES_PER_PASS: i64 = 500;
/// Time between detection passes (the periodic `detection_pass` job's slot).
pub const PASS_INTERVAL: Duration = Duration::from_secs(30);

/// Parses a stored feedback verdict.
pub fn judgement(verdict: &str) -> Option<Judgement> {
    match verdict {
        "expected" => Some(Judgement::Expected),
        "false_positive" => Some(Judgement::FalsePositive),
        _ => None,
    }
}

/// One judged point of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgedPoint {
    pub observed_at: DateTime<Utc>,
    pub value: f64,
    pub verdict: Verdict,
    /// For anomalies: what the point was judged against (the update rhythm of a freshness
    /// series, the usual drift of a drift series); `None` otherwise.
    pub details: Option<serde_json::Value>,
}

/// Judges `points` (oldest first) of `metric` with the detector for that metric, applying
/// `feedback` (verdicts by timestamp): every point with its verdict. The one way to judge a
/// stored series, for detection passes and for the API alike.
pub fn judge(
    metric: &str,
    points: &[(DateTime<Utc>, f64)],
    feedback: &HashMap<DateTime<Utc>, Judgement>,
) -> Vec<JudgedPoint> {
    judge_with(&mut MetricDetector::for_metric(metric), points, feedback)
}

/// Feeds `points` (oldest first, all after the last one `detector` saw) to `detector`, applying
/// `feedback`: every point with its verdict.
pub fn judge_with(
    detector: &mut MetricDetector,
    points: &[(DateTime<Utc>, f64)],
    feedback: &HashMap<DateTime<Utc>, Judgement>,
) -> Vec<JudgedPoint> {
    points
        .iter()
        .map(|(at, value)| {
            let verdict = match feedback.get(at) {
                Some(judgement) => detector.observe_judged(at.timestamp(), *value, *judgement),
                None => detector.observe(at.timestamp(), *value),
            };
            JudgedPoint {
                observed_at: *at,
                value: *value,
                verdict,
                details: verdict.anomaly.then(|| detector.context()).flatten(),
            }
        })
        .collect()
}

/// Judges a table's collections (oldest first) with the table model, applying `feedback`.
pub fn judge_table(
    collections: &[Collection],
    feedback: &HashMap<DateTime<Utc>, Judgement>,
) -> Vec<(DateTime<Utc>, TableVerdict)> {
    judge_table_with(&mut TableDetector::new(), collections, feedback)
}

/// Feeds `collections` (oldest first, all after the last one `detector` saw) to `detector`.
pub fn judge_table_with(
    detector: &mut TableDetector,
    collections: &[Collection],
    feedback: &HashMap<DateTime<Utc>, Judgement>,
) -> Vec<(DateTime<Utc>, TableVerdict)> {
    collections
        .iter()
        .map(|collection| {
            let features = table_features(
                collection
                    .metrics
                    .iter()
                    .map(|(metric, column, value)| (metric.as_str(), column.as_str(), *value)),
            );
            let verdict = match feedback.get(&collection.observed_at) {
                Some(judgement) => detector.observe_judged(&features, *judgement),
                None => detector.observe(&features),
            };
            (collection.observed_at, verdict)
        })
        .collect()
}

/// The stored events' JSON `details` for a table verdict: the features that contributed most.
pub fn table_details(verdict: &TableVerdict) -> serde_json::Value {
    serde_json::json!({ "contributions": verdict.contributions })
}

/// A table's judged collections (for the API): its stored history and feedback replayed.
pub async fn judged_table(
    store: &TenantStore,
    asset: Uuid,
) -> StoreResult<Vec<(DateTime<Utc>, TableVerdict)>> {
    let collections = store.asset_collections(asset, MAX_JUDGED_COLLECTIONS).await?;
    let feedback = parse_feedback(table_feedback(&store.asset_feedback_by_series(asset).await?));
    Ok(judge_table(&collections, &feedback))
}

/// The feedback the table model takes from its asset's: a verdict on any series of the table at
/// a collection is a verdict on the collection (the same incident); where verdicts differ at one
/// time, the table model's own wins, then `expected`.
fn table_feedback(by_series: &FeedbackBySeries) -> Vec<(DateTime<Utc>, String)> {
    let rank = |metric: &str, verdict: &str| (metric != TABLE_VECTOR_METRIC, verdict != "expected");
    let mut chosen: BTreeMap<DateTime<Utc>, (bool, bool, &str)> = BTreeMap::new();
    for ((metric, _), rows) in by_series {
        for (at, verdict) in rows {
            let (table, expected) = rank(metric, verdict);
            let candidate = (table, expected, verdict.as_str());
            chosen
                .entry(*at)
                .and_modify(|best| {
                    if (candidate.0, candidate.1) < (best.0, best.1) {
                        *best = candidate;
                    }
                })
                .or_insert(candidate);
        }
    }
    chosen
        .into_iter()
        .map(|(at, (_, _, verdict))| (at, verdict.to_owned()))
        .collect()
}

fn parse_feedback(rows: Vec<(DateTime<Utc>, String)>) -> HashMap<DateTime<Utc>, Judgement> {
    rows.into_iter()
        .filter_map(|(at, verdict)| judgement(&verdict).map(|judgement| (at, judgement)))
        .collect()
}

/// Judges one table with the table model and stores its events (metric `table_vector`, column
/// `""`), leaving out those at times when one of its series has an event; returns how many
/// events it found. Resumes from the state the last pass saved when there is one (only the
/// collections since are judged); replays the stored history otherwise (first pass, feedback).
pub async fn detect_table(
    store: &Store,
    tenant: &str,
    asset: Uuid,
    feedback: Option<Vec<(DateTime<Utc>, String)>>,
) -> StoreResult<usize> {
    let key = SeriesKey {
        tenant_id: tenant.to_owned(),
        asset_id: asset,
        metric: TABLE_VECTOR_METRIC.to_owned(),
        column_name: String::new(),
    };
    let feedback = match feedback {
        Some(feedback) => feedback,
        None => table_feedback(&store.asset_feedback_by_series(tenant, asset).await?),
    };
    let feedback = parse_feedback(feedback);
    let saved = match store.table_model_snapshot(&key, STATE_VERSION).await? {
        Some(saved) => TableDetector::from_state(&saved.state, saved.model.as_deref())
            .map(|detector| (saved.through, detector)),
        None => None,
    };
    let (mut detector, collections) = match saved {
        Some((through, detector)) => (
            detector,
            store.asset_collections_after(tenant, asset, through).await?,
        ),
        None => (
            TableDetector::new(),
            store
                .asset_collections(tenant, asset, MAX_JUDGED_COLLECTIONS)
                .await?,
        ),
    };
    let judged = judge_table_with(&mut detector, &collections, &feedback);
    let (Some((since, _)), Some((through, _))) = (judged.first(), judged.last()) else {
        return Ok(0);
    };
    let (since, through) = (*since, *through);
    let covered: HashSet<DateTime<Utc>> = store
        .series_event_times(tenant, asset, since, through)
        .await?
        .into_iter()
        .collect();
    let found: Vec<DetectedAnomaly> = judged
        .iter()
        .filter(|(at, verdict)| verdict.verdict.anomaly && !covered.contains(at))
        .map(|(observed_at, verdict)| DetectedAnomaly {
            observed_at: *observed_at,
            value: verdict.value,
            expected_low: verdict.verdict.expected_low,
            expected_high: verdict.verdict.expected_high,
            score: verdict.verdict.score,
            details: Some(table_details(verdict)),
        })
        .collect();
    // The forest is written only when it changed: every `RETRAIN_EVERY` collections at most.
    let model = detector
        .model_changed()
        .then(|| detector.model_to_bytes())
        .flatten();
    let state = detector.to_state().map(|bytes| DetectorState {
        format: STATE_VERSION,
        bytes,
        model,
    });
    let events = found.len();
    store
        .store_detections(&[SeriesDetection {
            series: key,
            since,
            scanned_through: through,
            found,
            state,
        }])
        .await?;
    Ok(events)
}

/// Judges one series and stores its events; returns how many events it found. Resumes from the
/// state the last pass saved when there is one (only the points since are judged); replays the
/// stored history otherwise (first pass, feedback given or withdrawn).
pub async fn detect_series(store: &Store, series: &SeriesKey) -> StoreResult<usize> {
    let saved = store.detector_snapshot(series, STATE_VERSION).await?;
    let Some(detection) = judge_series(store, series, saved, None, None).await? else {
        return Ok(0);
    };
    let events = detection.found.len();
    store.store_detections(&[detection]).await?;
    Ok(events)
}

/// Judges a series from its saved state (`None`: replays its history), reading its new points
/// and its feedback unless they were read with its asset's other series (`points` only for a
/// resumed series); what it found, to store (`None`: no points to judge).
async fn judge_series(
    store: &Store,
    series: &SeriesKey,
    saved: Option<(DateTime<Utc>, Vec<u8>)>,
    points: Option<Vec<(DateTime<Utc>, f64)>>,
    feedback: Option<Vec<(DateTime<Utc>, String)>>,
) -> StoreResult<Option<SeriesDetection>> {
    let Ok(tenant) = TenantId::parse(&series.tenant_id) else {
        return Ok(None);
    };
    let saved = saved
        .and_then(|(through, bytes)| MetricDetector::from_state(&bytes).map(|detector| (through, detector)));
    let (mut detector, points) = match (saved, points) {
        (Some((_, detector)), Some(points)) => (detector, points),
        (Some((through, detector)), None) => (
            detector,
            store
                .series_points_after(series, through, MAX_JUDGED_POINTS)
                .await?,
        ),
        (None, _) => (
            MetricDetector::for_metric(&series.metric),
            store
                .metric_series(
                    &tenant,
                    series.asset_id,
                    &series.metric,
                    &series.column_name,
                    MAX_JUDGED_POINTS,
                )
                .await?
                .unwrap_or_default(),
        ),
    };
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Ok(None);
    };
    let (since, through) = (first.0, last.0);
    let feedback = match feedback {
        Some(feedback) => feedback,
        None => store.series_feedback(series).await?,
    };
    let feedback = parse_feedback(feedback);
    let mut found: Vec<DetectedAnomaly> = judge_with(&mut detector, &points, &feedback)
        .into_iter()
        .filter(|point| point.verdict.anomaly)
        .map(|point| DetectedAnomaly {
            observed_at: point.observed_at,
            value: point.value,
            expected_low: point.verdict.expected_low,
            expected_high: point.verdict.expected_high,
            score: point.verdict.score,
            details: point.details,
        })
        .collect();
    if series.metric == SCORE_METRIC {
        for event in &mut found {
            explain_score_anomaly(store, series, event).await?;
        }
    }
    let state = detector.to_state().map(|bytes| DetectorState {
        format: STATE_VERSION,
        bytes,
        model: None,
    });
    Ok(Some(SeriesDetection {
        series: series.clone(),
        since,
        scanned_through: through,
        found,
        state,
    }))
}

/// A score anomaly explains itself: its `details` gain the score of the collection before and
/// the checks and columns that moved the score between the two, largest first (`causes`, as the
/// score's own `causes_24h`: their contributions sum to the change).
async fn explain_score_anomaly(
    store: &Store,
    series: &SeriesKey,
    event: &mut DetectedAnomaly,
) -> StoreResult<()> {
    let (before, then) = store
        .scores_measured_around(&series.tenant_id, series.asset_id, event.observed_at)
        .await?;
    let (Some(before), Some(then)) = (before, then) else {
        return Ok(());
    };
    let causes = crate::scoring::causes(
        (&before.dimensions, &before.weights),
        (&then.dimensions, &then.weights),
    );
    let mut details = match event.details.take() {
        Some(serde_json::Value::Object(map)) => map,
        Some(other) => serde_json::Map::from_iter([("detector".to_owned(), other)]),
        None => serde_json::Map::new(),
    };
    details.insert("previous_score".to_owned(), serde_json::json!(before.score));
    details.insert("causes".to_owned(), serde_json::json!(causes));
    event.details = Some(serde_json::Value::Object(details));
    Ok(())
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PassOutcome {
    /// Metric series judged.
    pub series: usize,
    /// Tables judged by the table model.
    pub tables: usize,
    pub events: usize,
}

/// One detection pass over every series with new points (up to `SERIES_PER_PASS`), or only over
/// `tenant`'s, then over the tables of those series and every table with new points or reset
/// feedback (the table model runs after the series so it can leave out their incidents).
pub async fn run_pass(store: &Store, tenant: Option<&TenantId>) -> StoreResult<PassOutcome> {
    let mut outcome = PassOutcome::default();
    let mut tables: BTreeSet<(String, Uuid)> = BTreeSet::new();
    for series in store.series_to_scan(tenant, SERIES_PER_PASS).await? {
        outcome.events += detect_series(store, &series).await?;
        outcome.series += 1;
        tables.insert((series.tenant_id.clone(), series.asset_id));
    }
    tables.extend(store.tables_to_scan(tenant, SERIES_PER_PASS).await?);
    for (tenant_id, asset) in tables {
        outcome.events += detect_table(store, &tenant_id, asset, None).await?;
        outcome.tables += 1;
    }
    Ok(outcome)
}

/// What the API may ask of the background work: a detection pass for one tenant now, and the job
/// counts and outbox depth for `/metrics` (it holds the owner store, which the API itself never gets).
#[derive(Clone)]
pub struct BackgroundWork {
    store: Store,
}

impl BackgroundWork {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// [`run_pass`] over `tenant`'s series only.
    pub async fn run_pass(&self, tenant: &TenantId) -> StoreResult<PassOutcome> {
        run_pass(&self.store, Some(tenant)).await
    }

    /// Jobs by kind and state over every tenant (counts only), for `/metrics`.
    pub async fn job_counts(&self) -> StoreResult<Vec<crate::store::jobs::JobCount>> {
        crate::jobs::counts(&self.store).await
    }

    /// Domain events committed but not yet published (all tenants), for `/metrics`.
    pub async fn outbox_depth(&self) -> StoreResult<i64> {
        self.store.outbox_depth().await
    }
}

/// What judging one asset did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssetOutcome {
    /// Metric series judged.
    pub series: usize,
    /// Events the asset's judged series and table have now.
    pub events: usize,
}

/// Judges one asset: each of its series with new points (or reset feedback), then its table
/// model. What a `detect_asset` job runs. `None` when nothing was due (another job judged the
/// asset since this one was enqueued).
pub async fn detect_asset(store: &Store, tenant: &str, asset: Uuid) -> StoreResult<Option<AssetOutcome>> {
    let series = store.asset_series_due(tenant, asset, STATE_VERSION).await?;
    if series.is_empty() && !store.asset_table_due(tenant, asset).await? {
        return Ok(None);
    }
    // The resumed series' new points and the feedback on every series and the table model in
    // two round trips, not two per series.
    let resumed: Vec<(&str, &str, DateTime<Utc>)> = series
        .iter()
        .filter_map(|due| {
            due.saved
                .as_ref()
                .map(|(through, _)| (due.key.metric.as_str(), due.key.column_name.as_str(), *through))
        })
        .collect();
    let mut points = if resumed.is_empty() {
        Default::default()
    } else {
        store
            .asset_points_after(tenant, asset, &resumed, MAX_JUDGED_POINTS)
            .await?
    };
    let mut feedback = store.asset_feedback_by_series(tenant, asset).await?;
    let table_feedback = table_feedback(&feedback);
    let mut outcome = AssetOutcome::default();
    let mut detections = Vec::with_capacity(series.len());
    for series in series {
        let key = (series.key.metric.clone(), series.key.column_name.clone());
        let new_points = series
            .saved
            .is_some()
            .then(|| points.remove(&key).unwrap_or_default());
        let series_feedback = feedback.remove(&key).unwrap_or_default();
        outcome.series += 1;
        if let Some(detection) = judge_series(
            store,
            &series.key,
            series.saved,
            new_points,
            Some(series_feedback),
        )
        .await?
        {
            outcome.events += detection.found.len();
            detections.push(detection);
        }
    }
    // Every series of the asset in one transaction; the table model after them, as it leaves
    // out the times their events cover.
    store.store_detections(&detections).await?;
    outcome.events += detect_table(store, tenant, asset, Some(table_feedback)).await?;
    Ok(Some(outcome))
}

/// Assets with a series or table to judge (new points, or feedback that reset their state), at
/// most `limit`, every tenant's.
pub async fn assets_to_judge(store: &Store, limit: i64) -> StoreResult<Vec<(String, Uuid)>> {
    let mut assets: BTreeSet<(String, Uuid)> = store
        .series_to_scan(None, limit)
        .await?
        .into_iter()
        .map(|series| (series.tenant_id, series.asset_id))
        .collect();
    assets.extend(store.tables_to_scan(None, limit).await?);
    Ok(assets.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap_or_default()
    }

    /// Per time the table model's own verdict, else `expected`, else another series' verdict.
    #[test]
    fn the_table_model_takes_its_own_feedback_first_then_expected() {
        let series = |metric: &str, column: &str| (metric.to_owned(), column.to_owned());
        let rows = |list: &[(i64, &str)]| {
            list.iter()
                .map(|(secs, verdict)| (at(*secs), (*verdict).to_owned()))
                .collect::<Vec<_>>()
        };
        let by_series = FeedbackBySeries::from([
            (
                series("row_count", ""),
                rows(&[(0, "false_positive"), (60, "expected"), (120, "false_positive")]),
            ),
            (
                series("null_count", "email"),
                rows(&[(60, "false_positive"), (120, "expected"), (180, "false_positive")]),
            ),
            (series(TABLE_VECTOR_METRIC, ""), rows(&[(120, "false_positive")])),
        ]);
        assert_eq!(
            table_feedback(&by_series),
            rows(&[
                (0, "false_positive"),
                (60, "expected"),
                (120, "false_positive"),
                (180, "false_positive")
            ])
        );
        assert!(table_feedback(&FeedbackBySeries::new()).is_empty());
    }

    /// A freshness lag collected every 20 minutes of a table loaded hourly, whose loads of hours
    /// 30 to 32 never come.
    fn late_load_lag() -> Vec<(DateTime<Utc>, f64)> {
        (1..(48 * 3))
            .map(|step| {
                let secs = step * 1_200;
                let hour = secs / 3_600;
                let last_load = if (30..33).contains(&hour) {
                    29 * 3_600
                } else {
                    hour * 3_600
                };
                (at(secs), (secs - last_load) as f64)
            })
            .collect()
    }

    #[test]
    fn judge_picks_the_detector_by_metric() {
        let points = late_load_lag();
        let found = |metric: &str| {
            judge(metric, &points, &HashMap::new())
                .into_iter()
                .filter(|point| point.verdict.anomaly)
                .map(|point| (point.observed_at, point.details))
                .collect::<Vec<_>>()
        };
        let late = found("freshness_lag");
        assert_eq!(late.len(), 1, "{late:?}");
        // 29:00 + an hour and the tolerance, at a 20-minute collection.
        assert_eq!(late[0].0, at(29 * 3_600 + 4_800));
        let details = late[0].1.clone().unwrap_or_default();
        assert_eq!(details["expected_interval_secs"], 3_600.0);
        assert_eq!(details["last_update"], at(29 * 3_600).timestamp());
        // The same numbers judged as a level series: the sawtooth itself is the routine.
        assert!(
            found("row_count")
                .iter()
                .all(|(observed_at, _)| *observed_at != late[0].0)
        );
    }

    #[test]
    fn a_detector_resumed_from_its_saved_state_judges_as_a_replay() {
        let mut points = late_load_lag();
        // A level series too: the seasonal detector carries the most state.
        let levels: Vec<(DateTime<Utc>, f64)> = points
            .iter()
            .enumerate()
            .map(|(index, (at, _))| {
                (
                    *at,
                    1_000.0 + 50.0 * ((index * 37) % 11) as f64 + if index == 120 { 900.0 } else { 0.0 },
                )
            })
            .collect();
        for (metric, points) in [("freshness_lag", &mut points), ("row_count", &mut levels.clone())] {
            let replay = judge(metric, points, &HashMap::new());
            for cut in [1, 10, 60, 100, 121] {
                let mut detector = MetricDetector::for_metric(metric);
                judge_with(&mut detector, &points[..cut], &HashMap::new());
                let state = detector.to_state().unwrap();
                let mut resumed = MetricDetector::from_state(&state).unwrap();
                let rest = judge_with(&mut resumed, &points[cut..], &HashMap::new());
                assert_eq!(rest, replay[cut..], "{metric} resumed after {cut} points");
            }
            if metric == "freshness_lag" {
                assert!(
                    replay.iter().any(|point| point.verdict.anomaly),
                    "nothing to compare"
                );
            }
        }
    }

    #[test]
    fn feedback_by_time_applies_to_the_point() {
        let points = late_load_lag();
        let late = at(29 * 3_600 + 4_800);
        let feedback = HashMap::from([(late, Judgement::Expected)]);
        assert!(
            judge("freshness_lag", &points, &feedback)
                .iter()
                .all(|point| !point.verdict.anomaly)
        );
    }
}
