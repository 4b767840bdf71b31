//! Continuous detection: each pass judges the stored history of every series that has new points
//! with the streaming detector (the same one as `cwic detect`), applying the feedback users gave
//! on earlier events, and stores the anomaly events it finds.
//!
//! A pass replays a series' last `MAX_JUDGED_POINTS` points from scratch, so its result depends
//! only on the stored history and the feedback: giving or withdrawing feedback makes the next pass
//! revisit the series, and events without feedback that the detector no longer raises disappear.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cwic_shared::TenantId;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::anomaly::{DetectorConfig, Judgement, SeriesDetector, Verdict};
use crate::store::intelligence::{DetectedAnomaly, SeriesKey};
use crate::store::{Store, StoreResult};

/// Points of history judged per series, at most (the newest).
pub const MAX_JUDGED_POINTS: i64 = 10_000;
/// Series judged per pass, at most; the rest wait for the next pass.
const SERIES_PER_PASS: i64 = 500;
/// Time between passes of the background task.
pub const PASS_INTERVAL: Duration = Duration::from_secs(30);

/// Parses a stored feedback verdict.
pub fn judgement(verdict: &str) -> Option<Judgement> {
    match verdict {
        "expected" => Some(Judgement::Expected),
        "false_positive" => Some(Judgement::FalsePositive),
        _ => None,
    }
}

/// Judges `points` (oldest first) with the default detector, applying `feedback` (verdicts by
/// timestamp): every point with its verdict.
pub fn judge(
    points: &[(DateTime<Utc>, f64)],
    feedback: &HashMap<DateTime<Utc>, Judgement>,
) -> Vec<(DateTime<Utc>, f64, Verdict)> {
    let mut detector = SeriesDetector::new(DetectorConfig::default());
    points
        .iter()
        .map(|(at, value)| {
            let verdict = match feedback.get(at) {
                Some(judgement) => detector.observe_judged(at.timestamp(), *value, *judgement),
                None => detector.observe(at.timestamp(), *value),
            };
            (*at, *value, verdict)
        })
        .collect()
}

/// Judges one series and stores its events; returns how many events the series has now.
pub async fn detect_series(store: &Store, series: &SeriesKey) -> StoreResult<usize> {
    let Ok(tenant) = TenantId::parse(&series.tenant_id) else {
        return Ok(0);
    };
    let points = store
        .metric_series(
            &tenant,
            series.asset_id,
            &series.metric,
            &series.column_name,
            MAX_JUDGED_POINTS,
        )
        .await?
        .unwrap_or_default();
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Ok(0);
    };
    let (since, through) = (first.0, last.0);
    let feedback: HashMap<DateTime<Utc>, Judgement> = store
        .series_feedback(series)
        .await?
        .into_iter()
        .filter_map(|(at, verdict)| judgement(&verdict).map(|judgement| (at, judgement)))
        .collect();
    let found: Vec<DetectedAnomaly> = judge(&points, &feedback)
        .into_iter()
        .filter(|(_, _, verdict)| verdict.anomaly)
        .map(|(observed_at, value, verdict)| DetectedAnomaly {
            observed_at,
            value,
            expected_low: verdict.expected_low,
            expected_high: verdict.expected_high,
            score: verdict.score,
        })
        .collect();
    store
        .replace_detected_events(series, since, through, &found)
        .await?;
    Ok(found.len())
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassOutcome {
    pub series: usize,
    pub events: usize,
}

/// One detection pass over every series with new points (up to `SERIES_PER_PASS`), or only over
/// `tenant`'s.
pub async fn run_pass(store: &Store, tenant: Option<&TenantId>) -> StoreResult<PassOutcome> {
    let mut outcome = PassOutcome::default();
    for series in store.series_to_scan(tenant, SERIES_PER_PASS).await? {
        outcome.events += detect_series(store, &series).await?;
        outcome.series += 1;
    }
    Ok(outcome)
}

/// Runs a pass every `every` until `cancel` fires (the first at once). A failed pass is logged
/// and retried at the next tick.
pub async fn run_forever(store: Store, every: Duration, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        // A pass in progress is abandoned on shutdown: each series' result is one transaction.
        let outcome = tokio::select! {
            _ = cancel.cancelled() => break,
            outcome = run_pass(&store, None) => outcome,
        };
        match outcome {
            Ok(outcome) if outcome.series > 0 => {
                info!(
                    series = outcome.series,
                    events = outcome.events,
                    "anomaly detection pass"
                )
            }
            Ok(_) => {}
            Err(error) => warn!(%error, "anomaly detection pass failed"),
        }
    }
}
