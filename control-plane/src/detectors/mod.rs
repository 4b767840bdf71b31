//! Detector algorithms (pure, no I/O) for metric series and tables: the streaming, causal detector behind `cwic detect` and
//! behind the control plane's alerts on data-quality metrics (row counts, null shares, freshness
//! lateness, distribution drift, schema size), and the multivariate model over a table's metric
//! vector.
//!
//! Owns: reading `timestamp,value` series, the per-series model (level, daily/weekly seasonality,
//! robust spread, learned alert threshold), the event logic that turns unusual points into one
//! alert per anomaly, the dedicated detectors for `freshness_lag` (update rhythm) and
//! `distribution_drift` (one-sided, absolute floor), [`MetricDetector`] which picks the detector
//! for a metric name (the one way to judge a stored series), the isolation-forest table model,
//! and a synthetic data-quality benchmark for all of them.
//!
//! Must not: look at a point later than the one it judges (every verdict is causal), take
//! per-series tuning (one [`DetectorConfig`] serves every series), do I/O, touch storage or
//! alert channels, or panic on any input.

mod detector;
pub mod drift_rule;
pub mod forest;
pub mod freshness;
pub mod rng;
pub(crate) mod seasonality;
mod series;
pub mod synthetic;
pub mod table;
pub(crate) mod window;

pub use detector::{Judgement, SeriesDetector};
pub use drift_rule::DriftDetector;
pub use freshness::FreshnessDetector;
pub use series::{SeriesError, SeriesPoint, read_series_csv};
pub use table::{TABLE_VECTOR_METRIC, TableDetector, TableVerdict, table_features};

use cwic_shared::MetricKind;

/// The detector for one stored metric series, chosen by the metric's name: the rhythm detector
/// for `freshness_lag`, the one-sided drift rule for `distribution_drift`, the seasonal
/// [`SeriesDetector`] with the default configuration for every other metric.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum MetricDetector {
    Series(Box<SeriesDetector>),
    Freshness(FreshnessDetector),
    Drift(DriftDetector),
}

/// Version of the detectors' serialised state: bump it whenever a detector's fields or logic
/// change, so state saved by an older build is replayed from history instead of read.
pub const STATE_VERSION: i16 = 3;

impl MetricDetector {
    /// The detector's whole state as bytes, for [`MetricDetector::from_state`].
    pub fn to_state(&self) -> Option<Vec<u8>> {
        postcard::to_allocvec(self).ok()
    }

    /// A detector from [`MetricDetector::to_state`]'s bytes; `None` for bytes it cannot read.
    pub fn from_state(bytes: &[u8]) -> Option<Self> {
        postcard::from_bytes(bytes).ok()
    }

    pub fn for_metric(metric: &str) -> Self {
        match MetricKind::parse(metric) {
            Some(MetricKind::FreshnessLag) => Self::Freshness(FreshnessDetector::new()),
            Some(MetricKind::DistributionDrift) => Self::Drift(DriftDetector::new()),
            _ => Self::Series(Box::new(SeriesDetector::new(DetectorConfig::default()))),
        }
    }

    pub fn observe(&mut self, ts: i64, value: f64) -> Verdict {
        match self {
            Self::Series(detector) => detector.observe(ts, value),
            Self::Freshness(detector) => detector.observe(ts, value),
            Self::Drift(detector) => detector.observe(ts, value),
        }
    }

    /// The verdict on a point a user judged (see each detector's `observe_judged`).
    pub fn observe_judged(&mut self, ts: i64, value: f64, judgement: Judgement) -> Verdict {
        match self {
            Self::Series(detector) => detector.observe_judged(ts, value, judgement),
            Self::Freshness(detector) => detector.observe_judged(ts, value, judgement),
            Self::Drift(detector) => detector.observe_judged(ts, value, judgement),
        }
    }

    /// What the last verdict was judged against, for an event's explanation: the update rhythm
    /// of a freshness series, the usual drift and bar of a drift series; `None` otherwise.
    pub fn context(&self) -> Option<serde_json::Value> {
        match self {
            Self::Series(_) => None,
            Self::Freshness(detector) => detector
                .rhythm()
                .and_then(|rhythm| serde_json::to_value(rhythm).ok()),
            Self::Drift(detector) => detector
                .expectation()
                .map(|(usual, bar)| serde_json::json!({"usual_drift": usual, "bar": bar})),
        }
    }
}

/// One detector configuration for every series (no per-series tuning). Counts are in points,
/// durations in seconds. The defaults are the configuration `cwic detect` ships with.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DetectorConfig {
    /// No alert before this many points have been seen ...
    pub warm_up_points: usize,
    /// ... nor before the series spans this long.
    pub warm_up_secs: i64,
    /// Points whose median (after removing seasonality) is the expected level.
    pub baseline_points: usize,
    /// Past residuals whose median absolute value gives the expected spread.
    pub scale_points: usize,
    /// Points averaged by the shift score ...
    pub shift_points: usize,
    /// ... and the window before them they are compared with.
    pub shift_reference_points: usize,
    /// Past scores the alert thresholds are learned from.
    pub score_history_points: usize,
    /// Past scores needed before the learned threshold is used (`min_score` alone until then).
    pub min_scores_for_learned_threshold: usize,
    /// The learned threshold is `threshold_factor` times this quantile of past scores ...
    pub threshold_quantile: f64,
    pub threshold_factor: f64,
    /// ... and never below this many robust standard deviations.
    pub min_score: f64,
    /// An event ends after `event_calm_points` consecutive points with every score below
    /// `event_exit_score` ...
    pub event_exit_score: f64,
    pub event_calm_points: usize,
    /// ... and a new one cannot alert within this many points of the end of the last one.
    pub refractory_points: usize,
    /// The expected spread is never below `relative_floor` times the level's magnitude ...
    pub relative_floor: f64,
    /// ... nor below this absolute amount (in the series' unit).
    pub absolute_floor: f64,
    /// The shift score may alert only once its threshold is learned from this many blocks of
    /// `shift_points` settled scores (shift scores overlap, so far fewer are independent).
    pub shift_warm_up_blocks: usize,
    /// ... and on settled scores spanning at least this long.
    pub shift_warm_up_secs: i64,
    /// After an alert, a new excursion within `quiet_points` points and `quiet_secs` seconds
    /// alerts only if it holds (a sustained run or a shift): the aftershocks and recovery of one
    /// incident are one alert.
    pub quiet_points: usize,
    pub quiet_secs: i64,
    /// Search for and model daily and weekly cycles.
    pub seasonality: bool,
    /// Raw points kept for the seasonality search and the shift score.
    pub history_points: usize,
}

/// Points needed before the first alert: fewer cannot tell noise from signal.
const DEFAULT_WARM_UP_POINTS: usize = 14;
/// Three days of history before the first alert, so a daily shape is not taken for an anomaly
/// and the spread has seen more than one quiet night.
const DEFAULT_WARM_UP_SECS: i64 = 3 * 86_400;
/// Twelve points: an hour of 5-minute data, half a day of hourly data, 12 days of daily data.
/// Short enough to re-baseline six points after a level shift, long enough to ignore a spike.
const DEFAULT_BASELINE_POINTS: usize = 12;
/// About 2 days of 5-minute data (or 3 weeks of hourly data) of residuals for the spread.
const DEFAULT_SCALE_POINTS: usize = 576;
/// Three hours of 5-minute data, a day and a half of hourly data: long enough that a shift in level or in
/// the density of spikes stands out from single-point noise.
const DEFAULT_SHIFT_POINTS: usize = 36;
/// Two days of 5-minute data (24 blocks of 24 points) as the reference for the shift score.
const DEFAULT_SHIFT_REFERENCE_POINTS: usize = 576;
/// Two blocks of shift scores spanning three days before a shift alerts: 24 blocks of 5-minute
/// data, 2 of hourly data.
const DEFAULT_SHIFT_WARM_UP_BLOCKS: usize = 2;
const DEFAULT_SHIFT_WARM_UP_SECS: i64 = 3 * 86_400;
/// A day of 5-minute data, 12 days of hourly data ...
const DEFAULT_QUIET_POINTS: usize = 288;
/// ... but never more than a week.
const DEFAULT_QUIET_SECS: i64 = 7 * 86_400;
/// Two weeks of 5-minute data, nearly 6 months of hourly data.
const DEFAULT_SCORE_HISTORY_POINTS: usize = 4_032;
/// The routine extreme of fewer than 10 scores says too little; `min_score` rules until then.
const DEFAULT_MIN_SCORES_FOR_LEARNED_THRESHOLD: usize = 10;
/// The 99.9th percentile: the routine extreme of a series is what it reaches a few times in
/// its last few thousand points ...
const DEFAULT_THRESHOLD_QUANTILE: f64 = 0.999;
/// ... and an alert must be twice as far out as that.
const DEFAULT_THRESHOLD_FACTOR: f64 = 2.0;
/// Six robust standard deviations: rare under any bell-shaped noise (about 2 in a billion).
const DEFAULT_MIN_SCORE: f64 = 6.0;
/// Back within three robust standard deviations counts as calm ...
const DEFAULT_EVENT_EXIT_SCORE: f64 = 3.0;
/// ... for six points in a row before an event ends ...
const DEFAULT_EVENT_CALM_POINTS: usize = 6;
/// ... and another twelve before a new event may alert: one flapping incident, one alert.
const DEFAULT_REFRACTORY_POINTS: usize = 12;
/// With `min_score` 6 the smallest change that can alert is 1.2% of the level: below that a
/// near-constant series is noise for every metric we track, while one column more or less in a
/// table of up to 80 columns still alerts.
const DEFAULT_RELATIVE_FLOOR: f64 = 0.002;
/// Below this nothing is measurable in any unit we store.
const DEFAULT_ABSOLUTE_FLOOR: f64 = 1e-9;
/// Two weeks of 5-minute data, almost six months of hourly data, eleven years of daily data.
const DEFAULT_HISTORY_POINTS: usize = 4_032;

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            warm_up_points: DEFAULT_WARM_UP_POINTS,
            warm_up_secs: DEFAULT_WARM_UP_SECS,
            baseline_points: DEFAULT_BASELINE_POINTS,
            scale_points: DEFAULT_SCALE_POINTS,
            shift_points: DEFAULT_SHIFT_POINTS,
            shift_reference_points: DEFAULT_SHIFT_REFERENCE_POINTS,
            score_history_points: DEFAULT_SCORE_HISTORY_POINTS,
            min_scores_for_learned_threshold: DEFAULT_MIN_SCORES_FOR_LEARNED_THRESHOLD,
            threshold_quantile: DEFAULT_THRESHOLD_QUANTILE,
            threshold_factor: DEFAULT_THRESHOLD_FACTOR,
            min_score: DEFAULT_MIN_SCORE,
            event_exit_score: DEFAULT_EVENT_EXIT_SCORE,
            event_calm_points: DEFAULT_EVENT_CALM_POINTS,
            refractory_points: DEFAULT_REFRACTORY_POINTS,
            relative_floor: DEFAULT_RELATIVE_FLOOR,
            absolute_floor: DEFAULT_ABSOLUTE_FLOOR,
            shift_warm_up_blocks: DEFAULT_SHIFT_WARM_UP_BLOCKS,
            shift_warm_up_secs: DEFAULT_SHIFT_WARM_UP_SECS,
            quiet_points: DEFAULT_QUIET_POINTS,
            quiet_secs: DEFAULT_QUIET_SECS,
            seasonality: true,
            history_points: DEFAULT_HISTORY_POINTS,
        }
    }
}

/// The detector's judgement of one point.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Verdict {
    /// Expected band for this point (what a UI draws); `None` before the first forecast.
    pub expected_low: Option<f64>,
    pub expected_high: Option<f64>,
    /// Signed distance from the expected value in robust standard deviations.
    pub score: f64,
    /// True only at the start of an anomaly event, so one alert per event.
    pub anomaly: bool,
    /// True while the detector has too little history to alert.
    pub warming_up: bool,
}

/// Whole-series convenience used by `cwic detect`: the raw timestamps of the points that open an
/// anomaly event, in series order.
pub fn detect_anomalies(points: &[SeriesPoint], config: &DetectorConfig) -> Vec<String> {
    let mut detector = SeriesDetector::new(config.clone());
    points
        .iter()
        .filter(|point| detector.observe(point.ts, point.value).anomaly)
        .map(|point| point.raw_timestamp.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::rng::SeededRng;
    use super::*;

    const HOUR: i64 = 3_600;
    const START: i64 = 1_704_067_200;

    /// Hourly series with a daily cycle and 2% noise around `level`.
    fn hourly_series(hours: usize, level: f64, seed: u64) -> Vec<SeriesPoint> {
        let mut rng = SeededRng::new(seed);
        (0..hours)
            .map(|hour| {
                let cycle = 1.0 + 0.3 * (std::f64::consts::TAU * (hour % 24) as f64 / 24.0).sin();
                let ts = START + hour as i64 * HOUR;
                SeriesPoint {
                    raw_timestamp: ts.to_string(),
                    ts,
                    value: level * cycle * (1.0 + 0.02 * rng.normal()),
                }
            })
            .collect()
    }

    fn alert_indices(points: &[SeriesPoint]) -> Vec<usize> {
        let mut detector = SeriesDetector::new(DetectorConfig::default());
        points
            .iter()
            .enumerate()
            .filter(|(_, point)| detector.observe(point.ts, point.value).anomaly)
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn seasonal_series_without_anomalies_raises_no_alert() {
        let points = hourly_series(24 * 30, 1_000.0, 1);
        assert_eq!(alert_indices(&points), Vec::<usize>::new());
    }

    #[test]
    fn a_spike_alerts_once_at_the_spike() {
        let mut points = hourly_series(24 * 20, 1_000.0, 2);
        points[400].value *= 3.0;
        assert_eq!(alert_indices(&points), vec![400]);
    }

    #[test]
    fn a_smaller_repeat_of_a_spike_is_routine_but_a_comparable_one_alerts() {
        // All three at the same hour of the day, so only their size differs.
        let mut points = hourly_series(24 * 25, 1_000.0, 8);
        points[300].value *= 3.0;
        // Half as far out four days later (still dozens of sigmas): the series has done more.
        points[396].value *= 2.0;
        // As far out as the first one again: that is not routine.
        points[492].value *= 3.0;
        assert_eq!(alert_indices(&points), vec![300, 492]);
    }

    #[test]
    fn aftershocks_within_the_quiet_period_stay_silent_but_the_other_direction_alerts() {
        let mut points = hourly_series(24 * 25, 1_000.0, 10);
        points[300].value *= 3.0;
        // Two days later a comparable burst up: the same incident flaring again.
        points[348].value *= 3.2;
        // A day later a drop: not an aftershock of a burst up.
        points[372].value *= 0.2;
        // Beyond the week of quiet, a burst up alerts again.
        points[480].value *= 3.5;
        assert_eq!(alert_indices(&points), vec![300, 372, 480]);
    }

    #[test]
    fn feedback_widens_the_band_or_leaves_the_point_out() {
        let mut points = hourly_series(24 * 25, 1_000.0, 11);
        points[300].value *= 3.0;
        points[492].value *= 3.6;
        let judged = |judgement: Option<Judgement>| {
            let mut detector = SeriesDetector::new(DetectorConfig::default());
            points
                .iter()
                .enumerate()
                .filter(|(index, point)| match (judgement, *index == 300) {
                    (Some(judgement), true) => {
                        detector.observe_judged(point.ts, point.value, judgement).anomaly
                    }
                    _ => detector.observe(point.ts, point.value).anomaly,
                })
                .map(|(index, _)| index)
                .collect::<Vec<usize>>()
        };
        assert_eq!(judged(None), vec![300, 492]);
        // A false positive: a burst up to 1.5 times as far out is routine from then on.
        assert_eq!(judged(Some(Judgement::FalsePositive)), Vec::<usize>::new());
        // Expected (planned): left out, so the later, bigger burst still alerts.
        assert_eq!(judged(Some(Judgement::Expected)), vec![492]);
    }

    #[test]
    fn a_sustained_shift_alerts_even_after_a_bigger_spike() {
        let mut points = hourly_series(24 * 25, 1_000.0, 9);
        points[300].value *= 4.0;
        for point in &mut points[400..] {
            point.value *= 1.6;
        }
        let alerts = alert_indices(&points);
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert_eq!(alerts[0], 300);
        assert!((400..404).contains(&alerts[1]), "{alerts:?}");
    }

    #[test]
    fn a_drop_alerts_once_at_its_start() {
        let mut points = hourly_series(24 * 20, 1_000.0, 3);
        for point in &mut points[400..403] {
            point.value *= 0.3;
        }
        assert_eq!(alert_indices(&points), vec![400]);
    }

    #[test]
    fn a_level_shift_alerts_once_then_rebaselines() {
        let mut points = hourly_series(24 * 25, 1_000.0, 4);
        for point in &mut points[400..] {
            point.value *= 1.6;
        }
        assert_eq!(alert_indices(&points), vec![400]);
    }

    #[test]
    fn a_gradual_level_shift_alerts_once_while_it_builds_up() {
        // Halving over twelve hours: every step is small, the whole is not. Its own rising scores
        // must not become the routine that its threshold is learned from.
        let mut points = hourly_series(24 * 25, 1_000.0, 7);
        for (offset, point) in points[400..].iter_mut().enumerate() {
            let progress = (offset as f64 / 12.0).min(1.0);
            point.value *= 1.0 - 0.5 * progress;
        }
        let alerts = alert_indices(&points);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!((400..424).contains(&alerts[0]), "{alerts:?}");
    }

    #[test]
    fn the_expected_band_holds_normal_points_and_learns_the_cycle() {
        let points = hourly_series(24 * 12, 1_000.0, 5);
        let mut detector = SeriesDetector::new(DetectorConfig::default());
        let mut inside = 0;
        let mut judged = 0;
        for point in &points {
            let verdict = detector.observe(point.ts, point.value);
            if let (Some(low), Some(high), false) =
                (verdict.expected_low, verdict.expected_high, verdict.warming_up)
            {
                judged += 1;
                inside += usize::from(low <= point.value && point.value <= high);
                assert!(low < high);
            }
        }
        assert_eq!(inside, judged);
        assert!(judged > 200);
        assert_eq!(detector.seasonal_period_secs(), Some(86_400));
    }

    #[test]
    fn detection_is_causal_for_every_prefix() {
        let mut points = hourly_series(24 * 20, 500.0, 6);
        points[300].value *= 4.0;
        for point in &mut points[380..] {
            point.value *= 0.5;
        }
        let config = DetectorConfig::default();
        let full = detect_anomalies(&points, &config);
        assert!(!full.is_empty());
        for cut in [1, 3, 30, 250, 301, 379, 381, 400, points.len()] {
            let prefix = detect_anomalies(&points[..cut], &config);
            let cut_stamps: Vec<&String> = points[..cut].iter().map(|point| &point.raw_timestamp).collect();
            let expected: Vec<String> = full
                .iter()
                .filter(|stamp| cut_stamps.contains(stamp))
                .cloned()
                .collect();
            assert_eq!(prefix, expected, "prefix of {cut} points");
        }
    }

    #[test]
    fn cold_start_never_alerts() {
        let mut detector = SeriesDetector::new(DetectorConfig::default());
        let first = detector.observe(START, 1.0);
        assert!(first.warming_up);
        assert_eq!((first.expected_low, first.expected_high), (None, None));
        let wild = [1.0, 1_000_000.0, -5.0, 0.0, 7e9];
        for (index, value) in wild.iter().enumerate() {
            let verdict = detector.observe(START + (index as i64 + 1) * HOUR, *value);
            assert!(!verdict.anomaly);
            assert!(verdict.warming_up);
        }
    }

    #[test]
    fn near_constant_series_ignores_tiny_changes_but_not_real_ones() {
        let mut points: Vec<SeriesPoint> = (0..200)
            .map(|hour| {
                let ts = START + hour * HOUR;
                SeriesPoint {
                    raw_timestamp: ts.to_string(),
                    ts,
                    value: 24.0,
                }
            })
            .collect();
        // 0.05% wobble on a flat metric: noise.
        points[100].value = 24.01;
        assert_eq!(alert_indices(&points), Vec::<usize>::new());
        // One column more: a schema change.
        for point in &mut points[150..] {
            point.value = 25.0;
        }
        assert_eq!(alert_indices(&points), vec![150]);
    }

    #[test]
    fn non_finite_values_are_skipped() {
        let mut detector = SeriesDetector::new(DetectorConfig::default());
        for hour in 0..50 {
            detector.observe(START + hour * HOUR, 10.0 + (hour % 3) as f64);
        }
        let verdict = detector.observe(START + 50 * HOUR, f64::NAN);
        assert!(!verdict.anomaly);
        assert_eq!(verdict.score, 0.0);
        assert!(!detector.observe(START + 51 * HOUR, 11.0).anomaly);
    }
}
