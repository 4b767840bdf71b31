//! Synthetic data-quality benchmark: labelled metric series of the kinds the control plane
//! watches (row counts with daily/weekly seasonality and trend, null share, freshness lateness,
//! column count, `freshness_lag` sawtooths of hourly and daily loads, `distribution_drift`), with
//! injected anomalies, tables whose metrics each stay in range while their combination breaks,
//! and evaluations that run the detectors over them.
//!
//! Deterministic: the same seed gives the same series on every platform (own SplitMix64 and
//! Box-Muller, no external crates). Used by tests and by the benchmark runner; no I/O.

use std::fmt;

use std::collections::BTreeMap;

use super::rng::SeededRng;
use super::{DetectorConfig, MetricDetector, SeriesDetector, TableDetector, table_features};

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
    /// A `freshness_lag` series: the next load arrives hours (hourly loads) or a good part of a
    /// day (daily loads) late, the loads due meanwhile skipped.
    OverdueLoad,
    /// A `distribution_drift` series: a column's histogram changes (JS distance 0.15–0.6).
    DistributionShift,
    /// A table: the row count jumps (within its range) while the NULLs and distinct values that
    /// come with new rows do not follow.
    UnfollowedRows,
    /// A table: a column's NULL count stays within its range but no longer matches the rows.
    NullShareBreak,
    /// A table: two columns' means that move together drift apart, each within its range.
    BrokenRelation,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 10] = [
        AnomalyKind::Drop,
        AnomalyKind::Spike,
        AnomalyKind::LevelShift,
        AnomalyKind::LateLoad,
        AnomalyKind::SchemaChange,
        AnomalyKind::OverdueLoad,
        AnomalyKind::DistributionShift,
        AnomalyKind::UnfollowedRows,
        AnomalyKind::NullShareBreak,
        AnomalyKind::BrokenRelation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::Drop => "drop",
            AnomalyKind::Spike => "spike",
            AnomalyKind::LevelShift => "level shift",
            AnomalyKind::LateLoad => "late load",
            AnomalyKind::SchemaChange => "schema change",
            AnomalyKind::OverdueLoad => "overdue load (lag)",
            AnomalyKind::DistributionShift => "distribution drift",
            AnomalyKind::UnfollowedRows => "rows without nulls/distinct (table)",
            AnomalyKind::NullShareBreak => "null share break (table)",
            AnomalyKind::BrokenRelation => "broken relation of means (table)",
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
    /// The stored metric name the series stands for (what picks its detector).
    pub metric: String,
    pub points: Vec<(i64, f64)>,
    pub anomalies: Vec<InjectedAnomaly>,
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
    for (layout_index, cadence) in [Cadence::Hourly, Cadence::Daily].into_iter().enumerate() {
        for variant in 0..SERIES_PER_LAYOUT {
            let mut rng = SeededRng::new(
                seed ^ (((LAYOUTS.len() + layout_index) as u64) << 32) ^ variant.wrapping_mul(0x1000_0001),
            );
            series.push(freshness_lag_series(&mut rng, cadence, variant));
        }
    }
    for (layout_index, cadence) in [Cadence::Hourly, Cadence::Daily].into_iter().enumerate() {
        for variant in 0..SERIES_PER_LAYOUT {
            let mut rng = SeededRng::new(
                seed ^ (((LAYOUTS.len() + 2 + layout_index) as u64) << 32)
                    ^ variant.wrapping_mul(0x1000_0001),
            );
            series.push(drift_series(&mut rng, cadence, variant));
        }
    }
    series
}

/// A `freshness_lag` series: hourly loads collected every 15 minutes for four weeks, or daily
/// loads collected hourly for ten weeks (variants 3 and up load on weekdays only). Loads jitter
/// by a few minutes (hourly) or up to half an hour (daily); the agent's measurement adds up to
/// two seconds. Variant 0 is clean; the others get three overdue loads.
fn freshness_lag_series(rng: &mut SeededRng, cadence: Cadence, variant: u64) -> LabelledSeries {
    let (period, step, days, jitter, clean_days) = match cadence {
        Cadence::Hourly => (HOUR_SECS, 900, 28, 60.0 * (2.0 + 8.0 * rng.uniform()), 3),
        Cadence::Daily => (DAY_SECS, HOUR_SECS, 70, 60.0 * (5.0 + 25.0 * rng.uniform()), 21),
    };
    let weekdays_only = cadence == Cadence::Daily && variant >= 3;
    let offset = match cadence {
        Cadence::Hourly => rng.range(0, 60) as i64 * 60,
        Cadence::Daily => rng.range(0, 6 * 60) as i64 * 60,
    };
    let end = START_TS + days * DAY_SECS;
    // (nominal, actual) load times.
    let mut loads: Vec<(i64, i64)> = Vec::new();
    let mut nominal = START_TS + offset;
    while nominal < end {
        let weekend = matches!(((nominal - START_TS).div_euclid(DAY_SECS)) % 7, 5 | 6);
        if !(weekdays_only && weekend) {
            let actual = nominal + (jitter * (2.0 * rng.uniform() - 1.0)).round() as i64;
            loads.push((nominal, actual));
        }
        nominal += period;
    }
    // Overdue loads: a load arrives `delay` after it was due; the loads due meanwhile never come.
    let mut overdue: Vec<(i64, i64)> = Vec::new();
    if variant != 0 {
        let spacing = match cadence {
            Cadence::Hourly => 72,
            Cadence::Daily => 14,
        };
        let first = loads
            .iter()
            .position(|(nominal, _)| *nominal >= START_TS + clean_days * DAY_SECS)
            .unwrap_or(loads.len());
        let mut index = first + rng.range(0, spacing / 2);
        while overdue.len() < 3 && index + spacing / 2 < loads.len() {
            let due = loads[index].0;
            let delay = match cadence {
                Cadence::Hourly => (HOUR_SECS as f64 * (1.2 + 2.8 * rng.uniform())) as i64,
                Cadence::Daily => (DAY_SECS as f64 * (0.3 + 1.2 * rng.uniform())) as i64,
            };
            overdue.push((due, due + delay));
            index += spacing + rng.range(0, spacing / 2);
        }
    }
    let mut arrivals: Vec<i64> = loads
        .iter()
        .filter(|(nominal, _)| {
            !overdue
                .iter()
                .any(|(due, arrival)| nominal >= due && nominal < arrival)
        })
        .map(|(_, actual)| *actual)
        .chain(overdue.iter().map(|(_, arrival)| *arrival))
        .collect();
    arrivals.sort_unstable();
    let mut points = Vec::new();
    let mut ts = arrivals.first().copied().unwrap_or(START_TS) + step / 2;
    while ts < end {
        let last = arrivals.partition_point(|arrival| *arrival <= ts);
        if let Some(last_load) = last.checked_sub(1).and_then(|index| arrivals.get(index)) {
            let measurement = rng.range(0, 3) as f64;
            points.push((ts, (ts - last_load) as f64 + measurement));
        }
        ts += step;
    }
    let anomalies = overdue
        .iter()
        .filter_map(|(due, arrival)| {
            let start = points.iter().position(|(ts, _)| ts > due)?;
            let end = points.iter().rposition(|(ts, _)| ts < arrival)?;
            (end >= start).then_some(InjectedAnomaly {
                kind: AnomalyKind::OverdueLoad,
                start,
                end,
            })
        })
        .collect();
    let cadence_name = match (cadence, weekdays_only) {
        (Cadence::Hourly, _) => "hourly loads",
        (Cadence::Daily, false) => "daily loads",
        (Cadence::Daily, true) => "weekday loads",
    };
    LabelledSeries {
        name: format!("freshness_lag/{cadence_name}/{variant}"),
        metric: "freshness_lag".to_owned(),
        points,
        anomalies,
    }
}

/// A `distribution_drift` series: sampling noise between consecutive profiles (a column's usual
/// JS distance of 0.005–0.04 give or take a quarter, now and then twice that) with three injected
/// changes of distribution of one or two points each.
fn drift_series(rng: &mut SeededRng, cadence: Cadence, variant: u64) -> LabelledSeries {
    let count = cadence.points();
    let usual = 0.005 + 0.035 * rng.uniform();
    let mut values: Vec<f64> = (0..count)
        .map(|_| {
            let bump = if rng.uniform() < 0.02 {
                1.5 + rng.uniform()
            } else {
                1.0
            };
            usual * bump * (1.0 + 0.25 * rng.normal()).max(0.2)
        })
        .collect();
    let kinds = [AnomalyKind::DistributionShift; 3];
    let anomalies = if variant == 0 {
        Vec::new()
    } else {
        plan_anomalies(rng, &kinds, cadence, count)
            .into_iter()
            .map(|anomaly| InjectedAnomaly {
                end: anomaly.start + usize::from(rng.uniform() < 0.3),
                ..anomaly
            })
            .filter(|anomaly| anomaly.end < count)
            .collect()
    };
    for anomaly in &anomalies {
        for value in &mut values[anomaly.start..=anomaly.end] {
            *value = 0.15 + 0.45 * rng.uniform();
        }
    }
    let cadence_name = match cadence {
        Cadence::Hourly => "hourly",
        Cadence::Daily => "daily",
    };
    LabelledSeries {
        name: format!("distribution_drift/{cadence_name}/{variant}"),
        metric: "distribution_drift".to_owned(),
        points: values
            .iter()
            .enumerate()
            .map(|(index, value)| (START_TS + index as i64 * cadence.step_secs(), *value))
            .collect(),
        anomalies,
    }
}

/// One collection of a table: its time and every metric (metric, column, value).
pub type TableCollection = (i64, Vec<(String, String, f64)>);

/// One table's collections with its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledTable {
    pub name: String,
    pub collections: Vec<TableCollection>,
    pub anomalies: Vec<InjectedAnomaly>,
}

/// Hourly collections of a table, 30 days.
const TABLE_POINTS: usize = 30 * 24;
/// No break in the first week: the model has seen a few hundred rows.
const TABLE_CLEAN_PREFIX_POINTS: usize = 7 * 24;
/// Latent factors are drawn within this many standard deviations at a break, so every metric
/// stays inside its usual range.
const IN_RANGE_SIGMAS: f64 = 1.5;

/// Tables whose metrics each stay within their usual range while their combination breaks: a
/// load table whose batch size varies a lot (row count lognormal, sigma 0.35, autocorrelated),
/// NULLs in `email` and distinct `customer_id`s that follow the rows, a unique `id`, and mean
/// `price` and `total` (about three times the price) that move together. `tables` tables; table
/// 0 is clean, the others get one break of each table kind.
pub fn generate_table_benchmark(seed: u64, tables: u64) -> Vec<LabelledTable> {
    (0..tables)
        .map(|variant| {
            let mut rng = SeededRng::new(seed ^ 0x7AB1E ^ variant.wrapping_mul(0x1000_0001));
            table_series(&mut rng, variant)
        })
        .collect()
}

fn table_series(rng: &mut SeededRng, variant: u64) -> LabelledTable {
    let base_rows = 10f64.powf(3.0 + 2.0 * rng.uniform());
    let null_share = 0.01 + 0.07 * rng.uniform();
    let distinct_share = 0.2 + 0.4 * rng.uniform();
    let base_price = 10.0 + 90.0 * rng.uniform();
    let quantity = 2.0 + 3.0 * rng.uniform();
    let kinds = [
        AnomalyKind::UnfollowedRows,
        AnomalyKind::NullShareBreak,
        AnomalyKind::BrokenRelation,
    ];
    let mut anomalies = Vec::new();
    if variant != 0 {
        let mut order = kinds.to_vec();
        for index in (1..order.len()).rev() {
            order.swap(index, rng.range(0, index + 1));
        }
        let spacing = Cadence::Hourly.spacing();
        let mut position = TABLE_CLEAN_PREFIX_POINTS;
        for kind in order {
            position += rng.range(spacing / 2, spacing);
            let end = position + usize::from(rng.uniform() < 0.3);
            anomalies.push(InjectedAnomaly {
                kind,
                start: position,
                end,
            });
            position = end + spacing;
        }
    }
    let (mut volume, mut price_level) = (0.0f64, 0.0f64);
    let in_range = |rng: &mut SeededRng, shift: f64| {
        // A latent value such that it and `shift` beyond it stay within IN_RANGE_SIGMAS.
        let low = (-IN_RANGE_SIGMAS).max(-IN_RANGE_SIGMAS - shift);
        let high = IN_RANGE_SIGMAS.min(IN_RANGE_SIGMAS - shift);
        low + (high - low) * rng.uniform()
    };
    let collections = (0..TABLE_POINTS)
        .map(|index| {
            volume = 0.6 * volume + 0.8 * rng.normal();
            price_level = 0.8 * price_level + 0.6 * rng.normal();
            let kind = anomalies
                .iter()
                .find(|anomaly| (anomaly.start..=anomaly.end).contains(&index))
                .map(|anomaly| anomaly.kind);
            let (mut rows_factor, mut nulls_factor, mut total_factor) = (1.0, 1.0, 1.0);
            match kind {
                Some(AnomalyKind::UnfollowedRows) => {
                    let factor = 1.6 + 0.6 * rng.uniform();
                    volume = in_range(rng, factor.ln() / 0.35);
                    rows_factor = factor;
                }
                Some(AnomalyKind::NullShareBreak) => {
                    let factor = if rng.uniform() < 0.5 {
                        1.8 + 0.6 * rng.uniform()
                    } else {
                        0.35 + 0.2 * rng.uniform()
                    };
                    volume = in_range(rng, factor.ln() / 0.35);
                    nulls_factor = factor;
                }
                Some(AnomalyKind::BrokenRelation) => {
                    let ratio = 1.15 + 0.2 * rng.uniform();
                    let factor = if rng.uniform() < 0.5 { ratio } else { 1.0 / ratio };
                    price_level = in_range(rng, factor.ln() / 0.15);
                    total_factor = factor;
                }
                _ => {}
            }
            let rows = (base_rows * (0.35 * volume).exp() * (1.0 + 0.01 * rng.normal())).round();
            let nulls = (rows * null_share * nulls_factor * (1.0 + 0.04 * rng.normal())).round();
            let distinct = (rows * distinct_share * (1.0 + 0.02 * rng.normal())).round();
            let price = base_price * (0.15 * price_level).exp();
            let total = price * quantity * total_factor * (1.0 + 0.01 * rng.normal());
            let metrics = [
                ("row_count", "", rows * rows_factor),
                ("null_count", "id", 0.0),
                ("null_count", "email", nulls),
                ("distinct_count", "id", rows * rows_factor),
                ("distinct_count", "customer_id", distinct),
                ("mean", "price", price),
                ("mean", "total", total),
            ];
            (
                START_TS + index as i64 * HOUR_SECS,
                metrics
                    .iter()
                    .map(|(metric, column, value)| ((*metric).to_owned(), (*column).to_owned(), *value))
                    .collect(),
            )
        })
        .collect();
    LabelledTable {
        name: format!("table/hourly/{variant}"),
        collections,
        anomalies,
    }
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
        metric: metric_name.to_owned(),
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
            // Shaped by their own generators.
            AnomalyKind::OverdueLoad
            | AnomalyKind::DistributionShift
            | AnomalyKind::UnfollowedRows
            | AnomalyKind::NullShareBreak
            | AnomalyKind::BrokenRelation => 1,
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
        // Injected by their own generators (`freshness_lag_series`, `drift_series`, `table_series`).
        (
            AnomalyKind::OverdueLoad
            | AnomalyKind::DistributionShift
            | AnomalyKind::UnfollowedRows
            | AnomalyKind::NullShareBreak
            | AnomalyKind::BrokenRelation,
            _,
        ) => {}
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
    /// Kinds injected into the evaluated series, in [`AnomalyKind::ALL`] order.
    pub per_kind: Vec<KindResult>,
    /// Per family of series (the metric part of their names), in order of first appearance.
    pub per_family: Vec<FamilyResult>,
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
            "| series family | series | alerts | true | false | precision | false alerts per normal point |"
        )?;
        writeln!(formatter, "|---|---|---|---|---|---|---|")?;
        for family in &self.per_family {
            writeln!(
                formatter,
                "| {} | {} | {} | {} | {} | {:.3} | {:.5} |",
                family.family,
                family.series,
                family.alerts,
                family.true_alerts,
                family.false_alerts,
                family.precision(),
                family.false_positive_rate()
            )?;
        }
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

/// Runs a fresh [`SeriesDetector`] with `config` over every series, whatever its metric (the
/// detector before the metric-specific ones), and scores its alerts: an anomaly is detected when
/// an alert falls within it; alerts within an anomaly or its recovery grace are true, all
/// others false.
pub fn evaluate(series: &[LabelledSeries], config: &DetectorConfig) -> BenchmarkReport {
    let mut scorer = Scorer::default();
    for labelled in series {
        let mut detector = SeriesDetector::new(config.clone());
        let flags: Vec<(bool, bool)> = labelled
            .points
            .iter()
            .map(|(ts, value)| {
                let verdict = detector.observe(*ts, *value);
                (verdict.anomaly, verdict.warming_up)
            })
            .collect();
        scorer.add(&labelled.name, &labelled.anomalies, &flags);
    }
    scorer.finish()
}

/// Like [`evaluate`] with the detector the control plane picks for each series' metric
/// ([`MetricDetector::for_metric`]).
pub fn evaluate_by_metric(series: &[LabelledSeries]) -> BenchmarkReport {
    let mut scorer = Scorer::default();
    for labelled in series {
        let mut detector = MetricDetector::for_metric(&labelled.metric);
        let flags: Vec<(bool, bool)> = labelled
            .points
            .iter()
            .map(|(ts, value)| {
                let verdict = detector.observe(*ts, *value);
                (verdict.anomaly, verdict.warming_up)
            })
            .collect();
        scorer.add(&labelled.name, &labelled.anomalies, &flags);
    }
    scorer.finish()
}

/// Scores the multivariate table model on each table.
pub fn evaluate_tables(tables: &[LabelledTable]) -> BenchmarkReport {
    let mut scorer = Scorer::default();
    for table in tables {
        let mut detector = TableDetector::new();
        let flags: Vec<(bool, bool)> = table
            .collections
            .iter()
            .map(|(_, metrics)| {
                let features: BTreeMap<String, f64> = table_features(
                    metrics
                        .iter()
                        .map(|(metric, column, value)| (metric.as_str(), column.as_str(), *value)),
                );
                let verdict = detector.observe(&features).verdict;
                (verdict.anomaly, verdict.warming_up)
            })
            .collect();
        scorer.add(&format!("{} (table model)", table.name), &table.anomalies, &flags);
    }
    scorer.finish()
}

/// Scores the per-series detectors on every metric series of each table: a collection alerts
/// when any of its series does (what a table gets without the multivariate model).
pub fn evaluate_tables_per_series(tables: &[LabelledTable]) -> BenchmarkReport {
    let mut scorer = Scorer::default();
    for table in tables {
        let mut detectors: BTreeMap<(String, String), MetricDetector> = BTreeMap::new();
        let flags: Vec<(bool, bool)> = table
            .collections
            .iter()
            .map(|(ts, metrics)| {
                let (mut anomaly, mut warming_up) = (false, false);
                for (metric, column, value) in metrics {
                    let detector = detectors
                        .entry((metric.clone(), column.clone()))
                        .or_insert_with(|| MetricDetector::for_metric(metric));
                    let verdict = detector.observe(*ts, *value);
                    anomaly |= verdict.anomaly;
                    warming_up |= verdict.warming_up;
                }
                (anomaly, warming_up)
            })
            .collect();
        scorer.add(&format!("{} (per-series)", table.name), &table.anomalies, &flags);
    }
    scorer.finish()
}

/// Alerts, true and false, of one family of series (the metric part of their names).
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyResult {
    pub family: String,
    pub series: usize,
    pub alerts: usize,
    pub true_alerts: usize,
    pub false_alerts: usize,
    pub normal_points: usize,
}

impl FamilyResult {
    pub fn precision(&self) -> f64 {
        if self.alerts == 0 {
            1.0
        } else {
            self.true_alerts as f64 / self.alerts as f64
        }
    }

    pub fn false_positive_rate(&self) -> f64 {
        if self.normal_points == 0 {
            0.0
        } else {
            self.false_alerts as f64 / self.normal_points as f64
        }
    }
}

#[derive(Default)]
struct Scorer {
    report: Option<BenchmarkReport>,
    per_kind: BTreeMap<AnomalyKind, KindResult>,
}

impl Scorer {
    /// Scores one series from its per-point (anomaly, warming up) flags.
    fn add(&mut self, name: &str, anomalies: &[InjectedAnomaly], flags: &[(bool, bool)]) {
        let report = self.report.get_or_insert_with(|| BenchmarkReport {
            series: 0,
            per_kind: Vec::new(),
            per_family: Vec::new(),
            alerts: 0,
            true_alerts: 0,
            false_alerts: 0,
            normal_points: 0,
            clean_series: 0,
            clean_series_with_alert: 0,
        });
        report.series += 1;
        let family_name = name.split('/').next().unwrap_or(name).to_owned();
        let family_index = match report
            .per_family
            .iter()
            .position(|family| family.family == family_name)
        {
            Some(index) => index,
            None => {
                report.per_family.push(FamilyResult {
                    family: family_name,
                    series: 0,
                    alerts: 0,
                    true_alerts: 0,
                    false_alerts: 0,
                    normal_points: 0,
                });
                report.per_family.len() - 1
            }
        };
        let attributed = |index: usize| {
            anomalies
                .iter()
                .any(|anomaly| index >= anomaly.start && index <= anomaly.end + RECOVERY_GRACE_POINTS)
        };
        let mut alert_indices = Vec::new();
        let mut normal_points = 0;
        for (index, (anomaly, warming_up)) in flags.iter().enumerate() {
            if *anomaly {
                alert_indices.push(index);
            }
            if !warming_up && !attributed(index) {
                normal_points += 1;
            }
        }
        let true_alerts = alert_indices.iter().filter(|index| attributed(**index)).count();
        let false_alerts = alert_indices.len() - true_alerts;
        report.normal_points += normal_points;
        report.alerts += alert_indices.len();
        report.true_alerts += true_alerts;
        report.false_alerts += false_alerts;
        if let Some(family) = report.per_family.get_mut(family_index) {
            family.series += 1;
            family.alerts += alert_indices.len();
            family.true_alerts += true_alerts;
            family.false_alerts += false_alerts;
            family.normal_points += normal_points;
        }
        for anomaly in anomalies {
            let result = self.per_kind.entry(anomaly.kind).or_insert_with(|| KindResult {
                kind: anomaly.kind,
                injected: 0,
                detected: 0,
                mean_delay_points: 0.0,
            });
            result.injected += 1;
            if let Some(first) = alert_indices
                .iter()
                .find(|index| **index >= anomaly.start && **index <= anomaly.end)
            {
                result.mean_delay_points += (first - anomaly.start) as f64;
                result.detected += 1;
            }
        }
        if anomalies.is_empty() {
            report.clean_series += 1;
            if !alert_indices.is_empty() {
                report.clean_series_with_alert += 1;
            }
        }
    }

    fn finish(self) -> BenchmarkReport {
        let mut report = self.report.unwrap_or(BenchmarkReport {
            series: 0,
            per_kind: Vec::new(),
            per_family: Vec::new(),
            alerts: 0,
            true_alerts: 0,
            false_alerts: 0,
            normal_points: 0,
            clean_series: 0,
            clean_series_with_alert: 0,
        });
        report.per_kind = self
            .per_kind
            .into_values()
            .map(|mut result| {
                if result.detected > 0 {
                    result.mean_delay_points /= result.detected as f64;
                }
                result
            })
            .collect();
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The series of the original layouts (the seasonal detector's benchmark).
    fn original_layouts(series: Vec<LabelledSeries>) -> Vec<LabelledSeries> {
        series
            .into_iter()
            .filter(|series| !matches!(series.metric.as_str(), "freshness_lag" | "distribution_drift"))
            .collect()
    }

    #[test]
    fn generation_is_deterministic_and_labelled() {
        let first = generate_benchmark(7);
        let second = generate_benchmark(7);
        assert_eq!(first, second);
        assert_eq!(first.len(), (LAYOUTS.len() + 4) * SERIES_PER_LAYOUT as usize);
        for series in &first {
            let clean_prefix = match (series.metric.as_str(), series.name.contains("hourly")) {
                ("freshness_lag", true) => 3 * 96,
                ("freshness_lag", false) => 21 * 24,
                (_, true) => HOURLY_CLEAN_PREFIX_POINTS,
                (_, false) => DAILY_CLEAN_PREFIX_POINTS,
            };
            for anomaly in &series.anomalies {
                assert!(anomaly.start > clean_prefix, "{}", series.name);
                assert!(anomaly.start <= anomaly.end && anomaly.end < series.points.len());
            }
        }
        let kinds: std::collections::BTreeSet<AnomalyKind> = first
            .iter()
            .flat_map(|series| series.anomalies.iter().map(|anomaly| anomaly.kind))
            .collect();
        assert_eq!(kinds.len(), AnomalyKind::ALL.len() - 3, "all but the table kinds");
    }

    #[test]
    fn freshness_lag_is_a_sawtooth_and_overdue_loads_grow_it() {
        let series = generate_benchmark(7);
        let lag = series
            .iter()
            .find(|series| series.name == "freshness_lag/hourly loads/1")
            .unwrap();
        // Collected every 15 minutes: the lag grows by 900 s (give or take the measurement's
        // two seconds) until a load resets it.
        let resets = lag.points.windows(2).filter(|pair| pair[1].1 < pair[0].1).count();
        assert!((600..=700).contains(&resets), "{resets} loads seen in four weeks");
        assert_eq!(lag.anomalies.len(), 3);
        for anomaly in &lag.anomalies {
            assert!(lag.points[anomaly.end].1 > 3_600.0, "{anomaly:?}");
        }
    }

    #[test]
    fn table_breaks_keep_every_metric_within_its_usual_range() {
        let tables = generate_table_benchmark(7, SERIES_PER_LAYOUT);
        assert_eq!(tables, generate_table_benchmark(7, SERIES_PER_LAYOUT));
        assert!(tables[0].anomalies.is_empty());
        for table in &tables[1..] {
            assert_eq!(table.anomalies.len(), 3, "{}", table.name);
            for metric in 0..table.collections[0].1.len() {
                let mut normal: Vec<f64> = table
                    .collections
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| !table.anomalies.iter().any(|a| (a.start..=a.end).contains(index)))
                    .map(|(_, (_, metrics))| metrics[metric].2)
                    .collect();
                normal.sort_by(f64::total_cmp);
                let (low, high) = (normal[0], normal[normal.len() - 1]);
                for anomaly in &table.anomalies {
                    for (_, metrics) in &table.collections[anomaly.start..=anomaly.end] {
                        let value = metrics[metric].2;
                        assert!(
                            low <= value && value <= high,
                            "{} {:?}: {} = {value} outside {low}..{high}",
                            table.name,
                            anomaly.kind,
                            metrics[metric].0
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn default_detector_meets_the_benchmark_goal() {
        // Goal: recall >= 0.9 for every kind at <= 5% false positives. Measured with seed 2024:
        // recall 0.969 (drops 9/10, level shifts 19/20, every other kind 100%), 0.032% false
        // alerts per normal point.
        let report = evaluate(
            &original_layouts(generate_benchmark(2024)),
            &DetectorConfig::default(),
        );
        assert!(report.recall() >= 0.9, "{report}");
        for kind in &report.per_kind {
            assert!(kind.recall() >= 0.9, "{report}");
        }
        assert!(report.false_positive_rate() <= 0.05, "{report}");
        assert!(report.precision() >= 0.8, "{report}");
    }

    #[test]
    fn detectors_by_metric_meet_the_goal_where_the_seasonal_one_alone_does_not() {
        // The other series are judged by the seasonal detector either way (the test above).
        let series: Vec<LabelledSeries> = generate_benchmark(2024)
            .into_iter()
            .filter(|series| matches!(series.metric.as_str(), "freshness_lag" | "distribution_drift"))
            .collect();
        let recall_of = |report: &BenchmarkReport, kind: AnomalyKind| {
            report
                .per_kind
                .iter()
                .find(|result| result.kind == kind)
                .map(KindResult::recall)
                .unwrap()
        };
        let before = evaluate(&series, &DetectorConfig::default());
        assert!(recall_of(&before, AnomalyKind::OverdueLoad) < 0.5, "{before}");
        assert!(
            recall_of(&before, AnomalyKind::DistributionShift) < 0.7,
            "{before}"
        );
        let after = evaluate_by_metric(&series);
        for kind in &after.per_kind {
            assert!(kind.recall() >= 0.9, "{after}");
        }
        assert!(after.false_positive_rate() <= 0.05, "{after}");
        for family in &after.per_family {
            assert!(family.false_positive_rate() <= 0.005, "{after}");
        }
    }

    #[test]
    fn the_table_model_finds_the_breaks_the_per_series_detectors_miss() {
        let tables = generate_table_benchmark(2024, SERIES_PER_LAYOUT);
        let per_series = evaluate_tables_per_series(&tables);
        assert!(per_series.recall() <= 0.1, "{per_series}");
        let model = evaluate_tables(&tables);
        for kind in &model.per_kind {
            assert!(kind.recall() >= 0.9, "{model}");
        }
        assert!(model.false_positive_rate() <= 0.005, "{model}");
        assert!(model.precision() >= 0.8, "{model}");
    }
}
