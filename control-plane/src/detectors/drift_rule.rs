//! Distribution drift: the detector for `distribution_drift` series (Jensen–Shannon distance,
//! 0..1, between a column's histogram and the one of the previous profile).
//!
//! A dedicated one-sided rule rather than [`SeriesDetector`] with a floor, because drift is
//! already a difference between consecutive profiles: level and seasonality are gone, a
//! lasting change of distribution shows as one high point (the next profile compares with the
//! changed one), a lower value is never a problem, and two changes of the same size are two
//! incidents — where the series detector's novelty rule would take the second for routine. The
//! rule: a point alerts when it is above `ABSOLUTE_FLOOR` (JS distances below 0.1 are sampling
//! noise between histograms of a few thousand rows) and more than `THRESHOLD_SIGMAS` robust
//! standard deviations above the median of the recent normal points and more than
//! `ROUTINE_FACTOR` times their 99th percentile, so a column whose histogram always moves a lot,
//! or now and then does, needs a bigger move. Consecutive high points are one event.
//! The band is `[0, bar]`.
//!
//! [`SeriesDetector`]: super::SeriesDetector

use super::Verdict;
use super::detector::Judgement;
use super::window::SortedWindow;

/// Below this Jensen–Shannon distance a drift never alerts.
pub const ABSOLUTE_FLOOR: f64 = 0.1;
/// No alert before this many points: fewer cannot tell the column's usual drift.
pub const MIN_POINTS: usize = 8;
/// Recent normal points the usual level and spread come from.
const HISTORY_POINTS: usize = 200;
/// An alert must be this many robust standard deviations above the usual level ...
const THRESHOLD_SIGMAS: f64 = 6.0;
/// ... with the standard deviation never below this (JS distance units).
const MIN_SIGMA: f64 = 0.005;
const MAD_TO_SIGMA: f64 = 1.4826;
/// ... and this many times the routine extreme (the 99th percentile of recent normal points).
const ROUTINE_FACTOR: f64 = 2.0;
const ROUTINE_QUANTILE: f64 = 0.99;
/// A drift a user marked as a false positive, and up to this multiple of its excess over the
/// usual level, is routine from then on.
const ACCEPTED_MARGIN: f64 = 1.5;

/// Streaming drift detector for one `distribution_drift` series. Causal.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DriftDetector {
    normal: SortedWindow,
    in_event: bool,
    /// Largest accepted excess over the usual level (false-positive feedback).
    accepted_excess: f64,
}

impl Default for DriftDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl DriftDetector {
    pub fn new() -> Self {
        Self {
            normal: SortedWindow::new(HISTORY_POINTS),
            in_event: false,
            accepted_excess: 0.0,
        }
    }

    /// The usual drift (median of recent normal points) and the bar above which a point alerts;
    /// `None` while warming up.
    pub fn expectation(&self) -> Option<(f64, f64)> {
        if self.normal.len() < MIN_POINTS {
            return None;
        }
        let median = self.normal.median()?;
        let deviations: Vec<f64> = self.normal.values().map(|value| (value - median).abs()).collect();
        let sigma = (MAD_TO_SIGMA * super::window::median_of(&deviations)?).max(MIN_SIGMA);
        let routine = self.normal.quantile(ROUTINE_QUANTILE)?;
        let bar = (median + THRESHOLD_SIGMAS * sigma)
            .max(ROUTINE_FACTOR * routine)
            .max(ABSOLUTE_FLOOR)
            .max(median + ACCEPTED_MARGIN * self.accepted_excess);
        Some((median, bar))
    }

    pub fn observe(&mut self, ts: i64, value: f64) -> Verdict {
        self.observe_inner(ts, value, None)
    }

    /// Like [`observe`](Self::observe) for a judged point; never alerts. [`Judgement::Expected`]
    /// leaves the point out; [`Judgement::FalsePositive`] learns it and raises the bar to
    /// `ACCEPTED_MARGIN` times its excess over the usual level.
    pub fn observe_judged(&mut self, ts: i64, value: f64, judgement: Judgement) -> Verdict {
        self.observe_inner(ts, value, Some(judgement))
    }

    fn observe_inner(&mut self, _ts: i64, value: f64, judgement: Option<Judgement>) -> Verdict {
        let expectation = self.expectation();
        if !value.is_finite() {
            return Verdict {
                expected_low: None,
                expected_high: None,
                score: 0.0,
                anomaly: false,
                warming_up: expectation.is_none(),
            };
        }
        let Some((median, bar)) = expectation else {
            self.normal.push(value);
            return Verdict {
                expected_low: None,
                expected_high: None,
                score: 0.0,
                anomaly: false,
                warming_up: true,
            };
        };
        let sigma = (bar - median) / THRESHOLD_SIGMAS;
        let score = (value - median) / sigma.max(MIN_SIGMA);
        let high = value > bar;
        let anomaly = high && !self.in_event && judgement.is_none();
        self.in_event = high;
        match judgement {
            Some(Judgement::Expected) => {}
            Some(Judgement::FalsePositive) => {
                self.accepted_excess = self.accepted_excess.max(value - median);
                self.normal.push(value);
            }
            // A drift that alerted is not what this column usually does.
            None if high => {}
            None => self.normal.push(value),
        }
        Verdict {
            expected_low: Some(0.0),
            expected_high: Some(bar),
            score,
            anomaly,
            warming_up: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::rng::SeededRng;

    /// Daily profiles whose drift is sampling noise around `level`.
    fn noise(points: usize, level: f64, seed: u64) -> Vec<f64> {
        let mut rng = SeededRng::new(seed);
        (0..points)
            .map(|_| level * (0.5 + rng.exponential(0.5)))
            .collect()
    }

    fn alerts(values: &[f64]) -> Vec<usize> {
        let mut detector = DriftDetector::new();
        values
            .iter()
            .enumerate()
            .filter(|(index, value)| detector.observe(*index as i64 * 86_400, **value).anomaly)
            .map(|(index, _)| index)
            .collect()
    }

    #[test]
    fn sampling_noise_never_alerts_and_a_drift_does() {
        let mut values = noise(300, 0.02, 1);
        assert_eq!(alerts(&values), Vec::<usize>::new());
        values[120] = 0.25;
        values[121] = 0.22;
        values[200] = 0.14;
        assert_eq!(alerts(&values), vec![120, 200]);
    }

    #[test]
    fn a_column_that_always_moves_needs_a_bigger_move() {
        let mut values = noise(200, 0.15, 2);
        assert_eq!(alerts(&values), Vec::<usize>::new());
        values[150] = 0.25;
        assert_eq!(alerts(&values), Vec::<usize>::new(), "within the usual moves");
        values[150] = 0.9;
        assert_eq!(alerts(&values), vec![150]);
    }

    #[test]
    fn cold_start_never_alerts() {
        let mut detector = DriftDetector::new();
        for (index, value) in [0.01, 0.9, 0.01, 0.8, 0.02, 0.7, 0.01].iter().enumerate() {
            let verdict = detector.observe(index as i64, *value);
            assert!(verdict.warming_up && !verdict.anomaly);
        }
    }

    #[test]
    fn feedback_raises_the_bar_or_leaves_the_point_out() {
        let mut values = noise(200, 0.02, 3);
        values[100] = 0.3;
        values[150] = 0.35;
        assert_eq!(alerts(&values), vec![100, 150]);
        let judged = |judgement: Judgement| {
            let mut detector = DriftDetector::new();
            values
                .iter()
                .enumerate()
                .filter(|(index, value)| {
                    let ts = *index as i64 * 86_400;
                    if *index == 100 {
                        detector.observe_judged(ts, **value, judgement).anomaly
                    } else {
                        detector.observe(ts, **value).anomaly
                    }
                })
                .map(|(index, _)| index)
                .collect::<Vec<usize>>()
        };
        assert_eq!(judged(Judgement::FalsePositive), Vec::<usize>::new());
        assert_eq!(judged(Judgement::Expected), vec![150]);
        let mut detector = DriftDetector::new();
        for (index, value) in values.iter().enumerate().take(100) {
            detector.observe(index as i64, *value);
        }
        let (_, bar) = detector.expectation().unwrap();
        assert!((ABSOLUTE_FLOOR..0.2).contains(&bar), "bar {bar}");
    }
}
