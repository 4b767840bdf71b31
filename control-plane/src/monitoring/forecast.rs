//! Forecasting one metric series ahead with prediction intervals, and the first predicted breach
//! of a bound (an early warning).
//!
//! Model: the daily or weekly cycle the anomaly detector's seasonality search finds (when there
//! is one) plus a straight-line trend fitted by least squares to the last `FIT_POINTS`
//! deseasonalized values. The interval is the usual one for a new observation of a linear fit,
//! `z * sigma * sqrt(1 + 1/n + (t - mean t)^2 / Sxx)`, with sigma a robust (MAD) spread of the
//! fit's residuals, so it widens the further out the forecast goes. Pure: no I/O.
//!
//! `freshness_lag` series are sawtooths, not levels: [`forecast_metric`] forecasts them from the
//! update rhythm the freshness detector learned instead — the lag grows until the next expected
//! load and restarts there; a load already overdue is not assumed to come, so the lag keeps
//! growing (which is what a freshness bound warns about).

use serde::Serialize;

use cwic_shared::MetricKind;

use crate::detectors::FreshnessDetector;
use crate::detectors::seasonality::{SeasonalProfile, find_seasonality};
use crate::detectors::window::median_of;

/// Points the trend is fitted to: two weeks of hourly data, ten days of 5-minute data would be
/// 2,880, so long 5-minute series are fitted on their last 2.4 days.
const FIT_POINTS: usize = 336;
/// Fewest points a forecast is made from.
pub const MIN_POINTS: usize = 8;
/// Two-sided 95% normal quantile: the interval covers 95% of outcomes under the model.
const Z_95: f64 = 1.959_964;
const MAD_TO_SIGMA: f64 = 1.4826;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastPoint {
    /// Unix seconds.
    pub ts: i64,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// Typical spacing of the history, which is also the forecast's step.
    pub interval_secs: i64,
    /// The cycle modelled, if any.
    pub seasonal_period_secs: Option<i64>,
    /// Fitted trend, in the series' unit per day.
    pub trend_per_day: f64,
    /// Robust spread of the residuals (one sigma).
    pub residual_sigma: f64,
    pub points: Vec<ForecastPoint>,
}

/// The first forecast step whose expected value crosses a bound.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    /// `upper` or `lower`.
    pub side: &'static str,
    pub bound: f64,
    pub ts: i64,
    pub value: f64,
    /// Seconds from the last observed point to the breach.
    pub in_secs: i64,
    /// Whether the whole 95% interval is past the bound at that step (a near-certain breach) or
    /// only the expected value.
    pub certain: bool,
}

/// Forecast `horizon` steps past the last point of `history` (time-ordered `(unix secs, value)`);
/// `None` with fewer than `MIN_POINTS` finite points or no positive spacing.
pub fn forecast(history: &[(i64, f64)], horizon: usize) -> Option<Forecast> {
    let history: Vec<(i64, f64)> = history
        .iter()
        .copied()
        .filter(|(_, value)| value.is_finite())
        .collect();
    if history.len() < MIN_POINTS {
        return None;
    }
    let spacings: Vec<f64> = history
        .windows(2)
        .map(|pair| (pair[1].0 - pair[0].0) as f64)
        .filter(|spacing| *spacing > 0.0)
        .collect();
    let interval_secs = median_of(&spacings)?.round() as i64;
    if interval_secs <= 0 {
        return None;
    }
    let seasonal: Option<SeasonalProfile> = find_seasonality(&history, interval_secs);
    let offset = |ts: i64| seasonal.as_ref().map_or(0.0, |profile| profile.offset_at(ts));
    let fit: Vec<(f64, f64)> = history
        .iter()
        .skip(history.len().saturating_sub(FIT_POINTS))
        .map(|&(ts, value)| (ts as f64, value - offset(ts)))
        .collect();
    let n = fit.len() as f64;
    let mean_t = fit.iter().map(|(t, _)| t).sum::<f64>() / n;
    let mean_y = fit.iter().map(|(_, y)| y).sum::<f64>() / n;
    let sxx: f64 = fit.iter().map(|(t, _)| (t - mean_t).powi(2)).sum();
    let sxy: f64 = fit.iter().map(|(t, y)| (t - mean_t) * (y - mean_y)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = mean_y - slope * mean_t;
    let residuals: Vec<f64> = fit
        .iter()
        .map(|(t, y)| (y - (intercept + slope * t)).abs())
        .collect();
    let sigma = MAD_TO_SIGMA * median_of(&residuals).unwrap_or(0.0);
    let last_ts = history.last()?.0;
    let points = (1..=horizon)
        .map(|step| {
            let ts = last_ts + step as i64 * interval_secs;
            let t = ts as f64;
            let value = intercept + slope * t + offset(ts);
            let leverage = if sxx > 0.0 {
                (t - mean_t).powi(2) / sxx
            } else {
                0.0
            };
            let half = Z_95 * sigma * (1.0 + 1.0 / n + leverage).sqrt();
            ForecastPoint {
                ts,
                value,
                low: value - half,
                high: value + half,
            }
        })
        .collect();
    Some(Forecast {
        interval_secs,
        seasonal_period_secs: seasonal.as_ref().map(|profile| profile.period_secs),
        trend_per_day: slope * 86_400.0,
        residual_sigma: sigma,
        points,
    })
}

/// The forecast for a series of metric `metric`: the update rhythm for `freshness_lag`, the
/// trend-and-cycle model for every other metric.
pub fn forecast_metric(metric: &str, history: &[(i64, f64)], horizon: usize) -> Option<Forecast> {
    match MetricKind::parse(metric) {
        Some(MetricKind::FreshnessLag) => freshness_forecast(history, horizon),
        _ => forecast(history, horizon),
    }
}

/// Lag forecast of a `freshness_lag` series from its learned update rhythm: at each step, the time
/// since the latest load expected by then (loads every expected interval after the last one),
/// within the tolerance either way; `None` while the rhythm is not learned.
pub fn freshness_forecast(history: &[(i64, f64)], horizon: usize) -> Option<Forecast> {
    let mut detector = FreshnessDetector::new();
    for &(ts, lag) in history.iter().filter(|(_, lag)| lag.is_finite()) {
        detector.observe(ts, lag);
    }
    let rhythm = detector.rhythm()?;
    let last_ts = history.last()?.0;
    let spacings: Vec<f64> = history
        .windows(2)
        .map(|pair| (pair[1].0 - pair[0].0) as f64)
        .filter(|spacing| *spacing > 0.0)
        .collect();
    let step = median_of(&spacings)?.round() as i64;
    let interval = rhythm.expected_interval_secs.max(1.0);
    if step <= 0 {
        return None;
    }
    let last_update = rhythm.last_update as f64;
    let overdue = (last_ts as f64) > last_update + interval + rhythm.tolerance_secs;
    let points = (1..=horizon)
        .map(|k| {
            let ts = last_ts + k as i64 * step;
            let since = ts as f64 - last_update;
            // Loads at last_update + n × interval (n ≥ 1), unless the next one is already overdue.
            let value = if overdue || since < interval {
                since
            } else {
                since - (since / interval).floor() * interval
            };
            ForecastPoint {
                ts,
                value,
                low: (value - rhythm.tolerance_secs).max(0.0),
                high: (value + rhythm.tolerance_secs).min(since),
            }
        })
        .collect();
    Some(Forecast {
        interval_secs: step,
        seasonal_period_secs: Some(interval.round() as i64),
        trend_per_day: 0.0,
        residual_sigma: rhythm.tolerance_secs / 4.0,
        points,
    })
}

/// The first step of `forecast` whose expected value is above `upper` or below `lower`.
pub fn first_breach(
    forecast: &Forecast,
    last_ts: i64,
    lower: Option<f64>,
    upper: Option<f64>,
) -> Option<Breach> {
    forecast.points.iter().find_map(|point| {
        let (side, bound, certain) = match (lower, upper) {
            (_, Some(upper)) if point.value > upper => ("upper", upper, point.low > upper),
            (Some(lower), _) if point.value < lower => ("lower", lower, point.high < lower),
            _ => return None,
        };
        Some(Breach {
            side,
            bound,
            ts: point.ts,
            value: point.value,
            in_secs: point.ts - last_ts,
            certain,
        })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600;
    const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn daily_cycle(hour: i64) -> f64 {
        100.0 * (std::f64::consts::TAU * (hour % 24) as f64 / 24.0).sin()
    }

    #[test]
    fn a_trend_with_a_daily_cycle_is_continued() {
        // 10 rows more every hour, a daily swing of +-100, small deterministic noise.
        let history: Vec<(i64, f64)> = (0..24 * 14)
            .map(|hour| {
                let noise = ((hour * 37) % 11) as f64 - 5.0;
                (
                    START + hour * HOUR,
                    1_000.0 + 10.0 * hour as f64 + daily_cycle(hour) + noise,
                )
            })
            .collect();
        let result = forecast(&history, 48).unwrap();
        assert_eq!(result.interval_secs, HOUR);
        assert_eq!(result.seasonal_period_secs, Some(86_400));
        assert!(
            (result.trend_per_day - 240.0).abs() < 5.0,
            "{}",
            result.trend_per_day
        );
        for (step, point) in result.points.iter().enumerate() {
            let hour = 24 * 14 + step as i64;
            let truth = 1_000.0 + 10.0 * hour as f64 + daily_cycle(hour);
            assert!(
                (point.value - truth).abs() < 15.0,
                "step {step}: {} vs {truth}",
                point.value
            );
            assert!(point.low < truth && truth < point.high);
        }
        let widths: Vec<f64> = result.points.iter().map(|point| point.high - point.low).collect();
        assert!(
            widths.windows(2).all(|pair| pair[1] >= pair[0]),
            "intervals widen"
        );
    }

    #[test]
    fn the_first_crossing_of_a_bound_is_the_breach() {
        // Freshness lateness growing 5 minutes per hour from 30: the first hour past the
        // 120-minute bound is hour 19 (125), 10 hours after the last of 10 points.
        let history: Vec<(i64, f64)> = (0..10)
            .map(|hour| (START + hour * HOUR, 30.0 + 5.0 * hour as f64))
            .collect();
        let result = forecast(&history, 24).unwrap();
        let breach = first_breach(&result, START + 9 * HOUR, None, Some(120.0)).unwrap();
        assert_eq!((breach.side, breach.in_secs), ("upper", 10 * HOUR));
        assert!((breach.value - 125.0).abs() < 1e-6);
        assert!(breach.certain, "a noiseless trend has a zero-width interval");
        assert_eq!(
            first_breach(&result, START + 9 * HOUR, Some(0.0), Some(1_000.0)),
            None
        );
        assert!(forecast(&history[..5], 24).is_none());
    }

    /// Hourly loads at :05, collected every 10 minutes: the lag series as an agent ships it.
    fn hourly_loads(hours: i64) -> Vec<(i64, f64)> {
        (0..hours * 6)
            .map(|k| {
                let ts = START + 600 * (k + 1);
                let since_hour = (ts - START) % HOUR;
                let last_load = if since_hour >= 300 {
                    ts - since_hour + 300
                } else {
                    ts - since_hour - HOUR + 300
                };
                (ts, (ts - last_load) as f64)
            })
            .collect()
    }

    #[test]
    fn freshness_follows_the_load_rhythm_and_warns_only_for_a_tighter_bound_or_an_overdue_load() {
        let history = hourly_loads(24);
        let forecast = forecast_metric("freshness_lag", &history, 36).unwrap();
        // The lag restarts every hour: it never grows past an hour plus a little.
        assert!(
            forecast.points.iter().all(|point| point.value <= HOUR as f64),
            "{forecast:?}"
        );
        assert_eq!(forecast.seasonal_period_secs, Some(HOUR));
        let last = history.last().unwrap().0;
        // A 2 h bound is never crossed; a 30 min bound is, before the next load.
        assert!(first_breach(&forecast, last, None, Some(7_200.0)).is_none());
        let tight = first_breach(&forecast, last, None, Some(1_800.0)).unwrap();
        assert!(tight.in_secs <= HOUR, "{tight:?}");

        // Loads stop: three hours on, the next load is overdue and the lag is forecast to keep
        // growing past a 6 h bound.
        let mut stalled = history.clone();
        let last_load = last - last % HOUR + 300 - if last % HOUR >= 300 { 0 } else { HOUR };
        for k in 1..=18 {
            let ts = last + 600 * k;
            stalled.push((ts, (ts - last_load) as f64));
        }
        let forecast = forecast_metric("freshness_lag", &stalled, 36).unwrap();
        let breach = first_breach(
            &forecast,
            stalled.last().unwrap().0,
            None,
            Some(6.0 * HOUR as f64),
        )
        .unwrap();
        let expected = last_load + 6 * HOUR - stalled.last().unwrap().0;
        assert!(
            (breach.in_secs - expected).abs() <= 600,
            "{breach:?}, expected in {expected} s"
        );
        // Other metrics keep the trend model.
        assert!(forecast_metric("row_count", &history, 4).is_some());
        assert!(
            freshness_forecast(&history[..12], 4).is_none(),
            "two loads are no rhythm yet"
        );
    }
}
