//! Freshness lateness: the detector for `freshness_lag` series (seconds from a table's newest
//! value to the collection).
//!
//! A lag series is a sawtooth: it grows with the time since the last load and falls when a load
//! arrives. Judging it point by point against a level (what [`SeriesDetector`] does) sees the
//! teeth, not the rhythm; this detector learns the rhythm instead. Each point gives the time of
//! the table's last update (`observed_at − lag`); a later last update than before is an update
//! event, and the time between two update events is one interval. The expected interval is the
//! median of the recent intervals, with a tolerance of `TOLERANCE_SIGMAS` robust standard
//! deviations (MAD) of them, floored relative to the interval so a punctual cron job does not
//! alert on a minute's delay. A point is late when the time since the last update exceeds the
//! expected interval plus the tolerance; each overdue load alerts once, at the first collection
//! that sees it late. The band is `[0, expected interval + tolerance]` in lag seconds.
//!
//! Weekly rhythm (no loads on weekends, one long gap a week): when at least
//! `MIN_WEEKLY_MATCHES` earlier intervals started at the same position in earlier weeks (within
//! half an interval, at most `WEEKLY_WINDOW_MAX_SECS`) and the lower median of those is longer
//! than the usual interval, that is the expected length of the current interval: the weekend gap
//! is expected after two weeks and still alerts if it grows beyond what it was. The first two
//! weekends of a weekday-only table alert (cold start of the weekly rhythm).
//!
//! [`SeriesDetector`]: super::SeriesDetector

use std::collections::VecDeque;

use super::Verdict;
use super::detector::Judgement;
use super::window::median_of;

/// No alert before this many intervals between updates are known.
pub const MIN_INTERVALS: usize = 4;
/// Recent intervals whose median and MAD are the expected interval and its spread.
const RECENT_INTERVALS: usize = 64;
/// Intervals kept for the weekly rhythm: eight weeks of hourly loads.
const KEPT_INTERVALS: usize = 8 * 7 * 24;
/// A newest value moving forward by at most this much is measurement jitter (the agent's clock
/// against the batch's collection time), not a load.
const UPDATE_JITTER_SECS: i64 = 5;
/// Consistency constant turning a median absolute deviation into a normal standard deviation.
const MAD_TO_SIGMA: f64 = 1.4826;
/// Late means beyond the expected interval by this many robust standard deviations ...
const TOLERANCE_SIGMAS: f64 = 4.0;
/// ... with the standard deviation never below this share of the interval (a load every hour
/// on the minute still gets `4 × 3% × 60` = 7 minutes), ...
const RELATIVE_SIGMA_FLOOR: f64 = 0.03;
/// ... nor below this many seconds.
const MIN_SIGMA_SECS: f64 = 15.0;
const WEEK_SECS: i64 = 7 * 86_400;
/// Earlier intervals that started at the same weekly position needed before their length is
/// expected instead of the usual one.
const MIN_WEEKLY_MATCHES: usize = 2;
/// Same weekly position: within half the expected interval, at most this far.
const WEEKLY_WINDOW_MAX_SECS: f64 = 3.0 * 3_600.0;
/// An overdue load a user marked as a false positive, and up to this multiple of its excess
/// beyond the band, is on time from then on.
const ACCEPTED_MARGIN: f64 = 1.5;

/// What the detector expects of the current interval, for display and explanations.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rhythm {
    /// Unix seconds of the table's last update as the last point saw it.
    pub last_update: i64,
    /// Expected seconds between updates for the current interval.
    pub expected_interval_secs: f64,
    /// Allowed delay beyond it before a load counts as late.
    pub tolerance_secs: f64,
    /// True when the expectation comes from the same position in earlier weeks.
    pub weekly: bool,
    /// Intervals learned so far.
    pub intervals: usize,
}

/// Streaming lateness detector for one `freshness_lag` series. Causal: a verdict depends only
/// on the points observed so far.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FreshnessDetector {
    last_update: Option<i64>,
    /// (start, length) of past intervals between updates, oldest first.
    intervals: VecDeque<(i64, i64)>,
    /// The current interval already alerted (one alert per overdue load).
    alerted: bool,
    /// The current interval was judged expected (planned): neither alerted nor learned.
    excused: bool,
    /// The current interval was judged a false positive: its whole length is accepted when it ends.
    accepting: bool,
    /// Largest accepted excess beyond the band, in seconds (false-positive feedback).
    accepted_excess_secs: f64,
    rhythm: Option<Rhythm>,
}

impl FreshnessDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// The expectation the last verdict was made against (`None` while warming up).
    pub fn rhythm(&self) -> Option<Rhythm> {
        self.rhythm
    }

    /// Verdict for the lag `lag_secs` collected at `ts` (unix seconds).
    pub fn observe(&mut self, ts: i64, lag_secs: f64) -> Verdict {
        self.observe_inner(ts, lag_secs, None)
    }

    /// Like [`observe`](Self::observe) for a point a user judged after it alerted; never alerts.
    /// [`Judgement::Expected`] (a planned pause) excuses the current interval: it neither alerts
    /// nor becomes part of the rhythm. [`Judgement::FalsePositive`] accepts the delay of the whole
    /// interval (known when the next load arrives): up to `ACCEPTED_MARGIN` times its excess beyond
    /// the band is on time from then on.
    pub fn observe_judged(&mut self, ts: i64, lag_secs: f64, judgement: Judgement) -> Verdict {
        self.observe_inner(ts, lag_secs, Some(judgement))
    }

    fn observe_inner(&mut self, ts: i64, lag_secs: f64, judgement: Option<Judgement>) -> Verdict {
        if !lag_secs.is_finite() {
            return Verdict {
                expected_low: None,
                expected_high: None,
                score: 0.0,
                anomaly: false,
                warming_up: self.intervals.len() < MIN_INTERVALS,
            };
        }
        // A negative lag (a clock ahead of the collector's) means just updated.
        let update = ts - lag_secs.max(0.0).round() as i64;
        match self.last_update {
            None => self.last_update = Some(update),
            Some(previous) if update > previous + UPDATE_JITTER_SECS => {
                if self.accepting
                    && let Some(rhythm) = self.rhythm
                {
                    let excess =
                        (update - previous) as f64 - rhythm.expected_interval_secs - rhythm.tolerance_secs;
                    self.accept(excess);
                }
                if !self.excused {
                    if self.intervals.len() == KEPT_INTERVALS {
                        self.intervals.pop_front();
                    }
                    self.intervals.push_back((previous, update - previous));
                }
                self.last_update = Some(update);
                self.alerted = false;
                self.excused = false;
                self.accepting = false;
            }
            // The newest rows were removed: the table is as old as what is left, no load.
            Some(previous) if update < previous - UPDATE_JITTER_SECS => self.last_update = Some(update),
            Some(_) => {}
        }
        let last_update = self.last_update.unwrap_or(update);
        self.rhythm = self.expect(last_update);
        let Some(rhythm) = self.rhythm else {
            return Verdict {
                expected_low: None,
                expected_high: None,
                score: 0.0,
                anomaly: false,
                warming_up: true,
            };
        };
        let since = (ts - last_update) as f64;
        let allowed = rhythm.expected_interval_secs + rhythm.tolerance_secs + self.accepted_excess_secs;
        let sigma = rhythm.tolerance_secs / TOLERANCE_SIGMAS;
        let score = (since - rhythm.expected_interval_secs) / sigma;
        let late = since > allowed;
        let anomaly = match judgement {
            None => late && !self.alerted && !self.excused,
            Some(Judgement::Expected) => {
                self.excused = true;
                false
            }
            Some(Judgement::FalsePositive) => {
                self.accept(since - rhythm.expected_interval_secs - rhythm.tolerance_secs);
                self.accepting = true;
                false
            }
        };
        if late {
            // Whether it alerted or was judged, this overdue load has been reported.
            self.alerted = true;
        }
        Verdict {
            expected_low: Some(0.0),
            expected_high: Some(
                rhythm.expected_interval_secs + rhythm.tolerance_secs + self.accepted_excess_secs,
            ),
            score,
            anomaly,
            warming_up: false,
        }
    }

    /// Accepts `excess` seconds beyond the band (and up to `ACCEPTED_MARGIN` times as much).
    fn accept(&mut self, excess: f64) {
        self.accepted_excess_secs = self.accepted_excess_secs.max(ACCEPTED_MARGIN * excess.max(0.0));
    }

    /// The expected length and tolerance of the interval that started at `start`.
    fn expect(&self, start: i64) -> Option<Rhythm> {
        if self.intervals.len() < MIN_INTERVALS {
            return None;
        }
        let recent: Vec<f64> = self
            .intervals
            .iter()
            .rev()
            .take(RECENT_INTERVALS)
            .map(|(_, length)| *length as f64)
            .collect();
        let median = median_of(&recent)?;
        let deviations: Vec<f64> = recent.iter().map(|length| (length - median).abs()).collect();
        let mad_sigma = MAD_TO_SIGMA * median_of(&deviations)?;
        let sigma_for = |expected: f64| mad_sigma.max(RELATIVE_SIGMA_FLOOR * expected).max(MIN_SIGMA_SECS);

        let window = (median / 2.0).min(WEEKLY_WINDOW_MAX_SECS);
        let mut weekly: Vec<f64> = self
            .intervals
            .iter()
            .filter(|(past_start, _)| {
                let ago = start - past_start;
                let offset =
                    (ago.rem_euclid(WEEK_SECS) as f64).min((WEEK_SECS - ago.rem_euclid(WEEK_SECS)) as f64);
                ago as f64 >= WEEK_SECS as f64 - window && offset <= window
            })
            .map(|(_, length)| *length as f64)
            .collect();
        weekly.sort_by(f64::total_cmp);
        // The lower median: one late load among the matches does not become the rhythm. Only a
        // longer interval than usual is taken from the weekly position (a weekend); a shorter one
        // is more often the catch-up load right after a late one than a rhythm.
        let weekly_expected = (weekly.len() >= MIN_WEEKLY_MATCHES).then(|| weekly[(weekly.len() - 1) / 2]);
        let (expected, is_weekly) = match weekly_expected {
            Some(weekly) if weekly > median => (weekly, true),
            _ => (median, false),
        };
        Some(Rhythm {
            last_update: start,
            expected_interval_secs: expected,
            tolerance_secs: TOLERANCE_SIGMAS * sigma_for(expected),
            weekly: is_weekly,
            intervals: self.intervals.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600;
    /// 2024-01-01T00:00:00Z, a Monday.
    const START: i64 = 1_704_067_200;

    /// Lag collected every `step` seconds of a table loaded at `loads` (sorted unix seconds).
    fn lag_series(loads: &[i64], step: i64, until: i64) -> Vec<(i64, f64)> {
        let mut points = Vec::new();
        let mut ts = loads[0] + step / 2;
        while ts < until {
            let last = loads
                .iter()
                .rev()
                .find(|load| **load <= ts)
                .copied()
                .unwrap_or(loads[0]);
            points.push((ts, (ts - last) as f64));
            ts += step;
        }
        points
    }

    fn alerts(points: &[(i64, f64)]) -> Vec<i64> {
        let mut detector = FreshnessDetector::new();
        points
            .iter()
            .filter(|(ts, lag)| detector.observe(*ts, *lag).anomaly)
            .map(|(ts, _)| *ts)
            .collect()
    }

    /// Hourly loads with a few minutes of deterministic jitter.
    fn hourly_loads(hours: i64) -> Vec<i64> {
        (0..hours)
            .map(|hour| START + hour * HOUR + (hour * 37 % 11) * 60)
            .collect()
    }

    #[test]
    fn on_time_loads_with_jitter_never_alert_and_the_band_is_the_rhythm() {
        let loads = hourly_loads(24 * 10);
        let points = lag_series(&loads, 900, START + 24 * 10 * HOUR);
        assert_eq!(alerts(&points), Vec::<i64>::new());
        let mut detector = FreshnessDetector::new();
        let mut last = None;
        for (ts, lag) in &points {
            last = Some(detector.observe(*ts, *lag));
        }
        let verdict = last.unwrap();
        let rhythm = detector.rhythm().unwrap();
        assert!(
            (rhythm.expected_interval_secs - 3_600.0).abs() <= 300.0,
            "{rhythm:?}"
        );
        assert_eq!(verdict.expected_low, Some(0.0));
        let high = verdict.expected_high.unwrap();
        assert!((3_600.0..2.0 * 3_600.0).contains(&high), "band up to {high}");
    }

    #[test]
    fn a_late_load_alerts_once_at_the_first_late_collection() {
        let mut loads = hourly_loads(24 * 10);
        // Hours 100..=102 do not load: the load of hour 103 is the next one.
        loads.retain(|load| !(START + 100 * HOUR..START + 103 * HOUR).contains(load));
        let points = lag_series(&loads, 900, START + 24 * 10 * HOUR);
        let found = alerts(&points);
        assert_eq!(found.len(), 1, "{found:?}");
        let late_by = found[0] - (START + 99 * HOUR);
        // Overdue after an hour and a bit of tolerance, seen within a collection step.
        assert!(
            (3_600 + 400..3_600 + 3_600).contains(&late_by),
            "alert {late_by} s after the last load"
        );
    }

    #[test]
    fn cold_start_never_alerts_before_the_rhythm_is_known() {
        let mut detector = FreshnessDetector::new();
        // Three loads, then a week without one.
        for (ts, lag) in [
            (START, 10.0),
            (START + HOUR, 5.0),
            (START + 2 * HOUR, 8.0),
            (START + 200 * HOUR, 7_000.0),
        ] {
            let verdict = detector.observe(ts, lag);
            assert!(!verdict.anomaly);
            assert!(verdict.warming_up);
            assert_eq!(verdict.expected_high, None);
        }
    }

    #[test]
    fn weekday_loads_learn_the_weekend_after_two_weeks() {
        // Daily loads at 02:00 on weekdays only, collected hourly, five weeks.
        let loads: Vec<i64> = (0..35)
            .filter(|day| day % 7 < 5)
            .map(|day| START + day * 86_400 + 2 * HOUR + (day * 13 % 7) * 60)
            .collect();
        let points = lag_series(&loads, HOUR, START + 35 * 86_400);
        let found = alerts(&points);
        // The first two weekends are late by the daily rhythm; from the third on they are the rhythm.
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|ts| *ts < START + 21 * 86_400), "{found:?}");
        // A load missing on a Wednesday of week five still alerts.
        let mut loads = loads;
        loads.retain(|load| !(START + 30 * 86_400..START + 31 * 86_400).contains(load));
        let found = alerts(&lag_series(&loads, HOUR, START + 35 * 86_400));
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            (START + 30 * 86_400..START + 31 * 86_400).contains(&found[2]),
            "{found:?}"
        );
    }

    #[test]
    fn feedback_accepts_the_delay_or_excuses_the_interval() {
        let mut loads = hourly_loads(24 * 10);
        // Two outages of two missed loads, two days apart.
        loads.retain(|load| {
            !(START + 100 * HOUR..START + 102 * HOUR).contains(load)
                && !(START + 150 * HOUR..START + 152 * HOUR).contains(load)
        });
        let points = lag_series(&loads, 900, START + 24 * 10 * HOUR);
        let plain = alerts(&points);
        assert_eq!(plain.len(), 2, "{plain:?}");
        let judged = |judgement: Judgement| {
            let mut detector = FreshnessDetector::new();
            points
                .iter()
                .filter(|(ts, lag)| {
                    if *ts == plain[0] {
                        detector.observe_judged(*ts, *lag, judgement).anomaly
                    } else {
                        detector.observe(*ts, *lag).anomaly
                    }
                })
                .map(|(ts, _)| *ts)
                .collect::<Vec<i64>>()
        };
        // A false positive: the same delay is on time from then on.
        assert_eq!(judged(Judgement::FalsePositive), Vec::<i64>::new());
        // Expected (planned): this outage excused, the later one still alerts.
        assert_eq!(judged(Judgement::Expected), vec![plain[1]]);
    }

    #[test]
    fn a_non_finite_lag_is_ignored() {
        let mut detector = FreshnessDetector::new();
        assert!(!detector.observe(START, f64::NAN).anomaly);
        assert_eq!(detector.rhythm(), None);
    }
}
