//! Synthetic data-quality benchmark: labelled metric series of the kinds the control plane
//! watches (row counts with daily/weekly seasonality and trend, null share, freshness lateness,
//! column count), with injected anomalies, and an evaluation that runs the detector over them.
//!
//! Deterministic: the same seed gives the same series on every platform (own SplitMix64 and
//! Box-Muller, no external crates). Used by tests and by the benchmark runner; no I/O.

use std::fmt;

use super::{DetectorConfig, SeriesDetector};

/// 2024-01-01T00:00:00Z, a Monday, so weekends fall on days 5 and 6 of each week.
const START_TS: i64 = 1_704_067_200;
const HOUR_SECS: i64 = 3_600;
const DAY_SECS: i64 = 86_400;
/// Ten weeks of hourly points.
const HOURLY_POINTS: usize = 70 * 24;
/// Forty weeks of daily points.
const DAILY_POINTS: usize = 280;
/// No anomaly is injected in the first four weeks of hourly data (the weekly cycle must have
/// been seen three times before the detector models it) nor in the first ten weeks of daily
/// data (a quarter of the series; NAB keeps its first 15% clean for the same reason).
const HOURLY_CLEAN_PREFIX_POINTS: usize = 28 * 24;
const DAILY_CLEAN_PREFIX_POINTS: usize = 70;
/// An alert up to this many points after an anomaly ends is the recovery of the same incident,
/// neither a second detection nor a false one.
const RECOVERY_GRACE_POINTS: usize = 12;
/// Series generated per metric layout.
const SERIES_PER_LAYOUT: u64 = 6;

/// What an injected anomaly does to the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// Row count falls to a fraction of normal for a few points (a partial load).
    Drop,
    /// A short burst far above normal (duplicate load, null-share burst).
    Spike,
    /// A lasting change of level (a source starts sending more or less).
    LevelShift,
    /// Freshness lateness climbs while a load does not arrive.
    LateLoad,
    /// The column count changes (a column dropped or added).
    SchemaChange,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 5] = [
        AnomalyKind::Drop,
        AnomalyKind::Spike,
        AnomalyKind::LevelShift,
        AnomalyKind::LateLoad,
        AnomalyKind::SchemaChange,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::Drop => "drop",
            AnomalyKind::Spike => "spike",
            AnomalyKind::LevelShift => "level shift",
            AnomalyKind::LateLoad => "late load",
            AnomalyKind::SchemaChange => "schema change",
        }
    }
}

/// One labelled anomaly: the points `start..=end` (indices into the series) are anomalous.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InjectedAnomaly {
    pub kind: AnomalyKind,
    pub start: usize,
    pub end: usize,
}

/// A generated metric series with its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSeries {
    pub name: String,
    pub points: Vec<(i64, f64)>,
    pub anomalies: Vec<InjectedAnomaly>,
}

/// Deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in `low..high` (`low` when the range is empty).
    pub fn range(&mut self, low: usize, high: usize) -> usize {
        if high <= low {
            return low;
        }
        low + (self.uniform() * (high - low) as f64) as usize
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.uniform()).max(f64::MIN_POSITIVE).ln()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    RowCount,
    NullShare,
    FreshnessLateness,
    ColumnCount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cadence {
    Hourly,
    Daily,
}

impl Cadence {
    fn step_secs(self) -> i64 {
        match self {
            Cadence::Hourly => HOUR_SECS,
            Cadence::Daily => DAY_SECS,
        }
    }

    fn clean_prefix_points(self) -> usize {
        match self {
            Cadence::Hourly => HOURLY_CLEAN_PREFIX_POINTS,
            Cadence::Daily => DAILY_CLEAN_PREFIX_POINTS,
        }
    }

    fn points(self) -> usize {
        match self {
            Cadence::Hourly => HOURLY_POINTS,
            Cadence::Daily => DAILY_POINTS,
        }
    }

    /// Minimum distance between two injected anomalies: three days of hourly data, three weeks
    /// of daily data, so each is judged against a settled model.
    fn spacing(self) -> usize {
        match self {
            Cadence::Hourly => 72,
            Cadence::Daily => 21,
        }
    }
}

/// The metric layouts of the benchmark and the anomaly kinds injected into each.
const LAYOUTS: [(Metric, Cadence, &[AnomalyKind]); 7] = [
    (
        Metric::RowCount,
        Cadence::Hourly,
        &[AnomalyKind::Drop, AnomalyKind::Spike, AnomalyKind::LevelShift],
    ),
    (
        Metric::RowCount,
        Cadence::Daily,
        &[AnomalyKind::Drop, AnomalyKind::Spike, AnomalyKind::LevelShift],
    ),
    (
        Metric::NullShare,
        Cadence::Hourly,
        &[AnomalyKind::Spike, AnomalyKind::LevelShift],
    ),
    (
        Metric::NullShare,
        Cadence::Daily,
        &[AnomalyKind::Spike, AnomalyKind::LevelShift],
    ),
    (
        Metric::FreshnessLateness,
        Cadence::Hourly,
        &[AnomalyKind::LateLoad],
    ),
    (Metric::ColumnCount, Cadence::Hourly, &[AnomalyKind::SchemaChange]),
    (Metric::ColumnCount, Cadence::Daily, &[AnomalyKind::SchemaChange]),
];

/// The whole benchmark for one seed: every layout, `SERIES_PER_LAYOUT` series each, the first
/// of which carries no anomaly (to measure false alerts on clean data).
pub fn generate_benchmark(seed: u64) -> Vec<LabelledSeries> {
    let mut series = Vec::new();
    for (layout_index, (metric, cadence, kinds)) in LAYOUTS.iter().enumerate() {
        for variant in 0..SERIES_PER_LAYOUT {
            let series_seed = seed ^ ((layout_index as u64) << 32) ^ variant.wrapping_mul(0x1000_0001);
            let mut rng = SeededRng::new(series_seed);
            let clean = variant == 0;
            series.push(generate_series(
                &mut rng,
                *metric,
                *cadence,
                if clean { &[] } else { kinds },
                variant,
            ));
        }
    }
    series
}

fn generate_series(
    rng: &mut SeededRng,
    metric: Metric,
    cadence: Cadence,
    kinds: &[AnomalyKind],
    variant: u64,
) -> LabelledSeries {
    let count = cadence.points();
    let step = cadence.step_secs();
    let mut values = normal_values(rng, metric, cadence, count);
    let anomalies = plan_anomalies(rng, kinds, cadence, count);
    for anomaly in &anomalies {
        inject(rng, &mut values, metric, *anomaly);
    }
    let points = values
        .iter()
        .enumerate()
        .map(|(index, value)| (START_TS + index as i64 * step, *value))
        .collect();
    let metric_name = match metric {
        Metric::RowCount => "row_count",
        Metric::NullShare => "null_share",
        Metric::FreshnessLateness => "freshness_lateness_min",
        Metric::ColumnCount => "column_count",
    };
    let cadence_name = match cadence {
        Cadence::Hourly => "hourly",
        Cadence::Daily => "daily",
    };
    LabelledSeries {
        name: format!("{metric_name}/{cadence_name}/{variant}"),
        points,
        anomalies,
    }
}

/// The metric without anomalies.
fn normal_values(rng: &mut SeededRng, metric: Metric, cadence: Cadence, count: usize) -> Vec<f64> {
    let step_hours = (cadence.step_secs() / HOUR_SECS) as f64;
    // Per-series character: size, growth, strength of the cycles, noise.
    let base = 10f64.powf(3.0 + 3.0 * rng.uniform());
    let growth_per_day = 0.004 * rng.uniform();
    let daily_amplitude = 0.2 + 0.4 * rng.uniform();
    let weekend_factor = 0.4 + 0.5 * rng.uniform();
    let noise = 0.01 + 0.03 * rng.uniform();
    let null_base = 0.005 + 0.05 * rng.uniform();
    let lateness_base = 15.0 + 45.0 * rng.uniform();
    let columns = (8 + rng.range(0, 40)) as f64;
    (0..count)
        .map(|index| {
            let hours = index as f64 * step_hours;
            let day = hours / 24.0;
            let hour_of_day = hours % 24.0;
            let weekend = matches!((day as usize) % 7, 5 | 6);
            match metric {
                Metric::RowCount => {
                    let daily = match cadence {
                        Cadence::Hourly => {
                            1.0 + daily_amplitude * (std::f64::consts::TAU * (hour_of_day - 8.0) / 24.0).sin()
                        }
                        Cadence::Daily => 1.0,
                    };
                    let weekly = if weekend { weekend_factor } else { 1.0 };
                    let trend = 1.0 + growth_per_day * day;
                    (base * daily * weekly * trend * (1.0 + noise * rng.normal()))
                        .round()
                        .max(0.0)
                }
                Metric::NullShare => (null_base * (1.0 + 0.1 * rng.normal())).clamp(0.0, 1.0),
                Metric::FreshnessLateness => lateness_base + rng.exponential(lateness_base * 0.2),
                Metric::ColumnCount => columns,
            }
        })
        .collect()
}

/// Places one anomaly of each kind (in random order) after the clean prefix, well apart.
fn plan_anomalies(
    rng: &mut SeededRng,
    kinds: &[AnomalyKind],
    cadence: Cadence,
    count: usize,
) -> Vec<InjectedAnomaly> {
    let mut order: Vec<AnomalyKind> = kinds.to_vec();
    for index in (1..order.len()).rev() {
        order.swap(index, rng.range(0, index + 1));
    }
    // Lasting changes go last so the others are judged on the usual level.
    order.sort_by_key(|kind| matches!(kind, AnomalyKind::LevelShift | AnomalyKind::SchemaChange));
    let spacing = cadence.spacing();
    let mut position = cadence.clean_prefix_points();
    let mut anomalies = Vec::new();
    for kind in order {
        position += rng.range(spacing / 2, spacing);
        let length = match kind {
            AnomalyKind::Drop => rng.range(1, 4),
            AnomalyKind::Spike => rng.range(1, 3),
            AnomalyKind::LateLoad => rng.range(2, 6),
            AnomalyKind::LevelShift | AnomalyKind::SchemaChange => count.saturating_sub(position),
        };
        let end = (position + length.max(1) - 1).min(count - 1);
        if position >= count {
            break;
        }
        anomalies.push(InjectedAnomaly {
            kind,
            start: position,
            end,
        });
        position = end + spacing;
    }
    anomalies
}

fn inject(rng: &mut SeededRng, values: &mut [f64], metric: Metric, anomaly: InjectedAnomaly) {
    let Some(span) = values.get_mut(anomaly.start..=anomaly.end) else {
        return;
    };
    match (anomaly.kind, metric) {
        (AnomalyKind::Drop, _) => {
            let keep = 0.05 + 0.45 * rng.uniform();
            span.iter_mut().for_each(|value| *value = (*value * keep).round());
        }
        (AnomalyKind::Spike, Metric::NullShare) => {
            let burst = 0.1 + 0.3 * rng.uniform();
            span.iter_mut()
                .for_each(|value| *value = (*value + burst).min(1.0));
        }
        (AnomalyKind::Spike, _) => {
            let factor = 2.0 + 2.0 * rng.uniform();
            span.iter_mut()
                .for_each(|value| *value = (*value * factor).round());
        }
        (AnomalyKind::LevelShift, Metric::NullShare) => {
            let factor = 2.0 + 2.0 * rng.uniform();
            span.iter_mut()
                .for_each(|value| *value = (*value * factor).min(1.0));
        }
        (AnomalyKind::LevelShift, _) => {
            let factor = if rng.uniform() < 0.5 {
                0.4 + 0.2 * rng.uniform()
            } else {
                1.5 + 0.5 * rng.uniform()
            };
            span.iter_mut()
                .for_each(|value| *value = (*value * factor).round());
        }
        (AnomalyKind::LateLoad, _) => {
            // No load arrives: lateness grows by the hour until it finally does.
            for (hours_late, value) in span.iter_mut().enumerate() {
                *value += 60.0 * (hours_late + 1) as f64;
            }
        }
        (AnomalyKind::SchemaChange, _) => {
            let change = if rng.uniform() < 0.5 {
                -1.0
            } else {
                1.0 + rng.range(0, 3) as f64
            };
            span.iter_mut()
                .for_each(|value| *value = (*value + change).max(1.0));
        }
    }
}

/// Recall for one anomaly kind.
#[derive(Debug, Clone, PartialEq)]
pub struct KindResult {
    pub kind: AnomalyKind,
    pub injected: usize,
    pub detected: usize,
    /// Points from an anomaly's start to its first alert, averaged over detected anomalies.
    pub mean_delay_points: f64,
}

impl KindResult {
    pub fn recall(&self) -> f64 {
        if self.injected == 0 {
            1.0
        } else {
            self.detected as f64 / self.injected as f64
        }
    }
}

/// Outcome of running the detector over a benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkReport {
    pub series: usize,
    pub per_kind: Vec<KindResult>,
    pub alerts: usize,
    pub true_alerts: usize,
    pub false_alerts: usize,
    /// Points outside every anomaly (and its recovery grace) after the detector's warm-up.
    pub normal_points: usize,
    /// Clean series (no injected anomaly) and how many of them raised any alert.
    pub clean_series: usize,
    pub clean_series_with_alert: usize,
}

impl BenchmarkReport {
    pub fn precision(&self) -> f64 {
        if self.alerts == 0 {
            1.0
        } else {
            self.true_alerts as f64 / self.alerts as f64
        }
    }

    pub fn recall(&self) -> f64 {
        let injected: usize = self.per_kind.iter().map(|kind| kind.injected).sum();
        let detected: usize = self.per_kind.iter().map(|kind| kind.detected).sum();
        if injected == 0 {
            1.0
        } else {
            detected as f64 / injected as f64
        }
    }

    /// False alerts per normal point.
    pub fn false_positive_rate(&self) -> f64 {
        if self.normal_points == 0 {
            0.0
        } else {
            self.false_alerts as f64 / self.normal_points as f64
        }
    }
}

impl fmt::Display for BenchmarkReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            formatter,
            "| anomaly kind | injected | detected | recall | mean delay (points) |"
        )?;
        writeln!(formatter, "|---|---|---|---|---|")?;
        for kind in &self.per_kind {
            writeln!(
                formatter,
                "| {} | {} | {} | {:.3} | {:.2} |",
                kind.kind.name(),
                kind.injected,
                kind.detected,
                kind.recall(),
                kind.mean_delay_points
            )?;
        }
        writeln!(
            formatter,
            "| all | {} | {} | {:.3} | |",
            self.per_kind.iter().map(|kind| kind.injected).sum::<usize>(),
            self.per_kind.iter().map(|kind| kind.detected).sum::<usize>(),
            self.recall()
        )?;
        writeln!(formatter)?;
        writeln!(
            formatter,
            "series: {}  alerts: {}  true: {}  false: {}  precision: {:.3}  false-positive rate: {:.5} per normal point ({} normal points)  clean series with an alert: {}/{}",
            self.series,
            self.alerts,
            self.true_alerts,
            self.false_alerts,
            self.precision(),
            self.false_positive_rate(),
            self.normal_points,
            self.clean_series_with_alert,
            self.clean_series
        )
    }
}

/// Runs a fresh detector with `config` over every series and scores its alerts: an anomaly is
/// detected when an alert falls within it; alerts within an anomaly or its recovery grace are
/// true, all others false.
pub fn evaluate(series: &[LabelledSeries], config: &DetectorConfig) -> BenchmarkReport {
    let mut per_kind: Vec<KindResult> = AnomalyKind::ALL
        .iter()
        .map(|kind| KindResult {
            kind: *kind,
            injected: 0,
            detected: 0,
            mean_delay_points: 0.0,
        })
        .collect();
    let mut report = BenchmarkReport {
        series: series.len(),
        per_kind: Vec::new(),
        alerts: 0,
        true_alerts: 0,
        false_alerts: 0,
        normal_points: 0,
        clean_series: 0,
        clean_series_with_alert: 0,
    };
    for labelled in series {
        let mut detector = SeriesDetector::new(config.clone());
        let mut alert_indices = Vec::new();
        for (index, (ts, value)) in labelled.points.iter().enumerate() {
            let verdict = detector.observe(*ts, *value);
            if verdict.anomaly {
                alert_indices.push(index);
            }
            let attributed = labelled
                .anomalies
                .iter()
                .any(|anomaly| index >= anomaly.start && index <= anomaly.end + RECOVERY_GRACE_POINTS);
            if !verdict.warming_up && !attributed {
                report.normal_points += 1;
            }
        }
        for &index in &alert_indices {
            let attributed = labelled
                .anomalies
                .iter()
                .any(|anomaly| index >= anomaly.start && index <= anomaly.end + RECOVERY_GRACE_POINTS);
            report.alerts += 1;
            if attributed {
                report.true_alerts += 1;
            } else {
                report.false_alerts += 1;
            }
        }
        for anomaly in &labelled.anomalies {
            let Some(result) = per_kind.iter_mut().find(|result| result.kind == anomaly.kind) else {
                continue;
            };
            result.injected += 1;
            if let Some(first) = alert_indices
                .iter()
                .find(|index| **index >= anomaly.start && **index <= anomaly.end)
            {
                result.mean_delay_points += (first - anomaly.start) as f64;
                result.detected += 1;
            }
        }
        if labelled.anomalies.is_empty() {
            report.clean_series += 1;
            if !alert_indices.is_empty() {
                report.clean_series_with_alert += 1;
            }
        }
    }
    for result in &mut per_kind {
        if result.detected > 0 {
            result.mean_delay_points /= result.detected as f64;
        }
    }
    report.per_kind = per_kind;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_labelled() {
        let first = generate_benchmark(7);
        let second = generate_benchmark(7);
        assert_eq!(first, second);
        assert_eq!(first.len(), LAYOUTS.len() * SERIES_PER_LAYOUT as usize);
        for series in &first {
            let clean_prefix = if series.name.contains("hourly") {
                HOURLY_CLEAN_PREFIX_POINTS
            } else {
                DAILY_CLEAN_PREFIX_POINTS
            };
            for anomaly in &series.anomalies {
                assert!(anomaly.start > clean_prefix, "{}", series.name);
                assert!(anomaly.end < series.points.len());
            }
        }
        let kinds: std::collections::BTreeSet<AnomalyKind> = first
            .iter()
            .flat_map(|series| series.anomalies.iter().map(|anomaly| anomaly.kind))
            .collect();
        assert_eq!(kinds.len(), AnomalyKind::ALL.len());
    }

    #[test]
    fn default_detector_meets_the_benchmark_goal() {
        // Goal: recall >= 0.9 for every kind at <= 5% false positives. Measured with seed 2024:
        // recall 0.969 (drops 9/10, level shifts 19/20, every other kind 100%), 0.032% false
        // alerts per normal point.
        let report = evaluate(&generate_benchmark(2024), &DetectorConfig::default());
        assert!(report.recall() >= 0.9, "{report}");
        for kind in &report.per_kind {
            assert!(kind.recall() >= 0.9, "{report}");
        }
        assert!(report.false_positive_rate() <= 0.05, "{report}");
        assert!(report.precision() >= 0.8, "{report}");
    }
}
