//! Finding a daily or weekly cycle in the history seen so far, and the seasonal profile that
//! removes it.
//!
//! The history is resampled onto a grid of `buckets_per_period` slots per candidate period,
//! detrended with a centred moving average one period long, and the autocorrelation at a lag of
//! one period decides whether the cycle is real. The profile is the per-bucket median of the
//! detrended values, so a past anomaly does not bend it.

use super::window::median_of;

/// One day, in seconds.
pub(crate) const DAY_SECS: i64 = 86_400;
/// One week, in seconds.
pub(crate) const WEEK_SECS: i64 = 7 * DAY_SECS;
/// Candidate periods, shortest first: data-quality metrics follow the working day and week.
const CANDIDATE_PERIODS: [i64; 2] = [DAY_SECS, WEEK_SECS];
/// Upper bound on buckets per period: 5-minute resolution for a day (288) is enough to follow a
/// daily shape, and it keeps a weekly profile at about 35-minute resolution.
const MAX_BUCKETS_PER_PERIOD: usize = 288;
/// A cycle needs at least this many buckets to have a shape (a weekly cycle of daily points has 7).
const MIN_BUCKETS_PER_PERIOD: usize = 4;
/// Whole periods of history needed before a cycle is trusted: one is lost to detrending and the
/// autocorrelation needs at least one more period of pairs.
const MIN_PERIODS_OF_HISTORY: f64 = 3.0;
/// Weakest autocorrelation accepted as seasonality, however much history there is.
const MIN_SEASONAL_AUTOCORRELATION: f64 = 0.3;
/// The autocorrelation must also clear this many standard errors (1/sqrt(pairs)) of pure noise,
/// so a short history does not adopt a cycle by chance.
const SEASONAL_SIGNIFICANCE: f64 = 2.5;
/// A weekly profile has seven times fewer samples per bucket than a daily one; prefer it only
/// when its autocorrelation beats the daily one by this much (a weekday/weekend pattern does).
const WEEKLY_PREFERENCE_MARGIN: f64 = 0.05;
/// Grids larger than this are not built (bounds the cost of one refresh).
const MAX_GRID_SLOTS: usize = 20_000;

/// A repeating offset added to the level: `offset_at(ts)` is the expected departure of a value at
/// that time of day (or week) from the series' level.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SeasonalProfile {
    pub(crate) period_secs: i64,
    pub(crate) autocorrelation: f64,
    offsets: Vec<f64>,
}

impl SeasonalProfile {
    pub(crate) fn offset_at(&self, ts: i64) -> f64 {
        let bucket = bucket_of(ts, self.period_secs, self.offsets.len());
        self.offsets.get(bucket).copied().unwrap_or(0.0)
    }
}

fn bucket_of(ts: i64, period_secs: i64, buckets: usize) -> usize {
    let phase = ts.rem_euclid(period_secs) as f64 / period_secs as f64;
    ((phase * buckets as f64) as usize).min(buckets.saturating_sub(1))
}

/// The strongest significant daily or weekly cycle in `history` (time-ordered `(ts, value)`), or
/// `None` when there is none or too little history. `interval_secs` is the typical spacing.
pub(crate) fn find_seasonality(history: &[(i64, f64)], interval_secs: i64) -> Option<SeasonalProfile> {
    let span = match (history.first(), history.last()) {
        (Some(first), Some(last)) => last.0 - first.0,
        _ => return None,
    };
    // Every candidate is judged on the series detrended over the longest period it could have:
    // a one-day moving average would swallow a weekend dip and flatter the daily cycle.
    let detrend_secs = CANDIDATE_PERIODS
        .iter()
        .copied()
        .filter(|period| span as f64 >= MIN_PERIODS_OF_HISTORY * *period as f64)
        .max()?;
    let mut best: Option<SeasonalProfile> = None;
    for period_secs in CANDIDATE_PERIODS {
        let Some(candidate) = fit_period(history, interval_secs, period_secs, detrend_secs) else {
            continue;
        };
        best = match best {
            Some(current)
                if candidate.autocorrelation <= current.autocorrelation + WEEKLY_PREFERENCE_MARGIN =>
            {
                Some(current)
            }
            _ => Some(candidate),
        };
    }
    best
}

fn fit_period(
    history: &[(i64, f64)],
    interval_secs: i64,
    period_secs: i64,
    detrend_secs: i64,
) -> Option<SeasonalProfile> {
    let (first_ts, last_ts) = (history.first()?.0, history.last()?.0);
    if interval_secs <= 0 || ((last_ts - first_ts) as f64) < MIN_PERIODS_OF_HISTORY * period_secs as f64 {
        return None;
    }
    let buckets = ((period_secs as f64 / interval_secs as f64).round() as usize).min(MAX_BUCKETS_PER_PERIOD);
    if buckets < MIN_BUCKETS_PER_PERIOD {
        return None;
    }
    let slot_secs = period_secs as f64 / buckets as f64;
    // Slots start on a bucket boundary so slot `i` and bucket `(first_bucket + i) % buckets` agree.
    let grid_start = first_ts.div_euclid(period_secs) * period_secs;
    let slot_count = ((last_ts - grid_start) as f64 / slot_secs) as usize + 1;
    if slot_count > MAX_GRID_SLOTS {
        return None;
    }
    let mut sums = vec![0.0; slot_count];
    let mut counts = vec![0usize; slot_count];
    for &(ts, value) in history {
        let slot = ((ts - grid_start) as f64 / slot_secs) as usize;
        if let (Some(sum), Some(count)) = (sums.get_mut(slot), counts.get_mut(slot)) {
            *sum += value;
            *count += 1;
        }
    }
    let grid: Vec<Option<f64>> = sums
        .iter()
        .zip(&counts)
        .map(|(sum, count)| (*count > 0).then(|| sum / *count as f64))
        .collect();
    let detrend_slots = ((detrend_secs as f64 / slot_secs).round() as usize).max(buckets);
    if detrend_slots > slot_count {
        return None;
    }
    let detrended = detrend(&grid, detrend_slots);
    let autocorrelation = lag_correlation(&detrended, buckets)?;
    let pairs = detrended
        .iter()
        .zip(detrended.iter().skip(buckets))
        .filter(|(a, b)| a.is_some() && b.is_some())
        .count();
    let needed = MIN_SEASONAL_AUTOCORRELATION.max(SEASONAL_SIGNIFICANCE / (pairs as f64).sqrt());
    if autocorrelation < needed {
        return None;
    }
    let mut per_bucket: Vec<Vec<f64>> = vec![Vec::new(); buckets];
    for (slot, value) in detrended.iter().enumerate() {
        if let (Some(value), Some(bucket_values)) = (value, per_bucket.get_mut(slot % buckets)) {
            bucket_values.push(*value);
        }
    }
    let mut offsets: Vec<f64> = per_bucket
        .iter()
        .map(|values| median_of(values).unwrap_or(0.0))
        .collect();
    let mean = offsets.iter().sum::<f64>() / buckets as f64;
    for offset in &mut offsets {
        *offset -= mean;
    }
    Some(SeasonalProfile {
        period_secs,
        autocorrelation,
        offsets,
    })
}

/// Subtracts a centred moving average one period long; slots without a full window, or without
/// data, become `None`.
fn detrend(grid: &[Option<f64>], period_slots: usize) -> Vec<Option<f64>> {
    let mut prefix_sum = vec![0.0; grid.len() + 1];
    let mut prefix_count = vec![0usize; grid.len() + 1];
    for (index, value) in grid.iter().enumerate() {
        prefix_sum[index + 1] = prefix_sum[index] + value.unwrap_or(0.0);
        prefix_count[index + 1] = prefix_count[index] + usize::from(value.is_some());
    }
    let half = period_slots / 2;
    grid.iter()
        .enumerate()
        .map(|(index, value)| {
            let value = (*value)?;
            let start = index.checked_sub(half)?;
            let end = start + period_slots;
            if end > grid.len() {
                return None;
            }
            let count = prefix_count[end] - prefix_count[start];
            // Require most of the window so gaps do not fake a trend.
            if count * 2 < period_slots {
                return None;
            }
            Some(value - (prefix_sum[end] - prefix_sum[start]) / count as f64)
        })
        .collect()
}

/// Pearson correlation between the series and itself `lag` slots later, over slots where both exist.
fn lag_correlation(values: &[Option<f64>], lag: usize) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = values
        .iter()
        .zip(values.iter().skip(lag))
        .filter_map(|(a, b)| Some(((*a)?, (*b)?)))
        .collect();
    if pairs.len() < lag.max(MIN_BUCKETS_PER_PERIOD) {
        return None;
    }
    let count = pairs.len() as f64;
    let mean_a = pairs.iter().map(|p| p.0).sum::<f64>() / count;
    let mean_b = pairs.iter().map(|p| p.1).sum::<f64>() / count;
    let (mut covariance, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for (a, b) in &pairs {
        covariance += (a - mean_a) * (b - mean_b);
        var_a += (a - mean_a).powi(2);
        var_b += (b - mean_b).powi(2);
    }
    let denominator = (var_a * var_b).sqrt();
    if denominator <= f64::EPSILON * count {
        // A flat detrended series has no cycle to speak of.
        return None;
    }
    Some(covariance / denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly(days: usize, mut value_at: impl FnMut(usize) -> f64) -> Vec<(i64, f64)> {
        (0..days * 24)
            .map(|hour| {
                (
                    1_700_000_000 - 1_700_000_000 % DAY_SECS + hour as i64 * 3600,
                    value_at(hour),
                )
            })
            .collect()
    }

    #[test]
    fn finds_a_daily_cycle_and_its_shape() {
        let history = hourly(6, |hour| {
            100.0 + 30.0 * ((hour % 24) as f64 / 24.0 * std::f64::consts::TAU).sin()
        });
        let profile = find_seasonality(&history, 3600).unwrap();
        assert_eq!(profile.period_secs, DAY_SECS);
        assert!(profile.autocorrelation > 0.9);
        let six_am = history[6].0;
        assert!(
            (profile.offset_at(six_am) - 30.0).abs() < 1.0,
            "{}",
            profile.offset_at(six_am)
        );
    }

    #[test]
    fn prefers_weekly_when_weekends_differ() {
        let history = hourly(28, |hour| {
            let weekend = matches!((hour / 24) % 7, 2 | 3);
            let daily = 20.0 * ((hour % 24) as f64 / 24.0 * std::f64::consts::TAU).sin();
            if weekend { 40.0 } else { 100.0 + daily }
        });
        assert_eq!(find_seasonality(&history, 3600).unwrap().period_secs, WEEK_SECS);
    }

    #[test]
    fn no_cycle_in_noise_or_short_history() {
        let mut state = 12_345u64;
        let history = hourly(10, |_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (state >> 33) as f64 / (1u64 << 31) as f64
        });
        assert_eq!(find_seasonality(&history, 3600), None);
        let short = hourly(2, |hour| (hour % 24) as f64);
        assert_eq!(find_seasonality(&short, 3600), None);
    }
}
