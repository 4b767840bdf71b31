//! The streaming detector: one instance per series, fed one point at a time.
//!
//! For every point, before looking at its value, the detector forecasts it as
//! `level + seasonal offset`: the level is the median of the last few deseasonalized values (so
//! it re-baselines by itself a few points after a level shift and follows a trend), and the
//! seasonal offset comes from a daily or weekly profile found in the history so far. Two scores
//! judge the point:
//!
//! - the *point score*: the residual over a robust spread of past residuals, floored so a
//!   near-constant series does not alert on tiny noise (spikes, drops);
//! - the *shift score*: the mean of the last few deseasonalized values against the means of
//!   equally long blocks before them (sustained shifts in level or in the density of spikes).
//!
//! Each score has its own threshold learned from the series' own past: `threshold_factor` times
//! its routine extreme (a high quantile of past scores), never below `min_score`. A series whose
//! normal life is bursty thus needs a bigger excursion to alert than a quiet one, with one
//! configuration for all. Consecutive unusual points form one event, which alerts once, at its
//! start; while an event lasts its scores are recorded capped at the routine level, so an anomaly
//! does not teach the detector that the next one is normal. A score joins the history its
//! threshold is learned from only once the points it was computed from have left its window
//! (`baseline_points` later for the point score, `shift_points` for the shift score), and the
//! scores still waiting when an event opens are capped as its build-up: otherwise a shift that
//! grows over several points raises its own threshold on the way up and never alerts.
//!
//! A bursty series also repeats its bursts: a spike clearly smaller than one the series already
//! made in the same direction within its memory is part of its routine, whether or not that
//! earlier one alerted. The point score therefore alerts only on a magnitude that is new or
//! comparable to the largest seen (beyond `NOVELTY_MARGIN` times the largest earlier
//! same-direction point score), unless the deviation lasts `SUSTAINED_POINTS` points in a row: a
//! drop or a level shift that holds is news however large the past spikes were.
//!
//! Thresholds early in a series' life rest on few scores, whose high quantile is about their
//! maximum and understates the routine extreme; the threshold therefore also fits an exponential
//! tail to the top `TAIL_SHARE` of past scores (peaks over threshold) and uses the larger of the
//! two. The shift score alerts only once its threshold rests on `shift_warm_up_blocks` blocks
//! spanning `shift_warm_up_secs`. After an alert the series has a quiet period (`quiet_points`
//! points, at most `quiet_secs`): a new excursion in the same direction is taken for an
//! aftershock of the same incident and alerts only if it holds (`QUIET_SUSTAINED_POINTS` points
//! over `QUIET_SUSTAINED_SECS`, or a shift), while one in the other direction alerts as usual.

use std::collections::VecDeque;

use super::seasonality::{SeasonalProfile, find_seasonality};
use super::window::{SortedWindow, median_of};
use super::{DetectorConfig, Verdict};

/// A user's judgement of an alert, fed back into the detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Planned (a backfill, a migration): the point is left out of the model.
    Expected,
    /// Normal for this series: learned as routine, and the band widened to cover it.
    FalsePositive,
}

/// Consistency constant turning a median absolute deviation into a normal standard deviation.
const MAD_TO_SIGMA: f64 = 1.4826;
/// The same for a mean absolute deviation, used when more than half of the residuals are zero.
const MEAN_ABS_TO_SIGMA: f64 = 1.2533;
/// Spacings remembered to estimate the sampling interval (a median, so a few gaps do not matter).
const INTERVAL_SAMPLES: usize = 64;
/// Re-run the seasonality search after this many points or this much time, whichever comes
/// first, so 5-minute series pay for it about once an hour of data and daily series every point
/// (their history is short).
const SEASONALITY_REFRESH_POINTS: usize = 12;
const SEASONALITY_REFRESH_SECS: i64 = 3_600;
/// Scores are capped before they enter the history so one absurd value cannot dominate it.
const MAX_RECORDED_SCORE: f64 = 1e6;
/// A point score alerts only beyond this share of the largest earlier point score in the same
/// direction: an excursion clearly smaller than one the series has already made is routine for
/// it, while one of about the same size or larger is not.
const NOVELTY_MARGIN: f64 = 0.9;
/// A deviation past the threshold on this many consecutive points in the same direction alerts
/// whatever the earlier excursions were: spikes are brief, a drop or a shift that holds is not.
const SUSTAINED_POINTS: usize = 3;
/// Inside the quiet period after an alert, a deviation must hold this many points in a row (or
/// show as a shift) to alert: a burst of a few points is an aftershock, a changed level is news.
const QUIET_SUSTAINED_POINTS: usize = 4;
const QUIET_SUSTAINED_SECS: i64 = 7_200;
/// A deviation a user marked as a false positive, and up to this multiple of it in the same
/// direction, is inside the band from then on.
const ACCEPTED_MARGIN: f64 = 1.5;
/// Share of the largest past scores the tail of the score distribution is fitted to.
const TAIL_SHARE: f64 = 0.02;

/// Streaming anomaly detector for one series. Causal by construction: a verdict depends only on
/// the points observed so far.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SeriesDetector {
    config: DetectorConfig,
    points_seen: usize,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    spacings: VecDeque<i64>,
    history: VecDeque<(i64, f64)>,
    seasonal: Option<SeasonalProfile>,
    points_since_refresh: usize,
    last_refresh_ts: Option<i64>,
    abs_residuals: SortedWindow,
    point_scores: ScoreHistory,
    shift_scores: ScoreHistory,
    peaks: PeakMemory,
    /// Consecutive points whose point score is past its threshold, and their direction.
    run_points: usize,
    run_sign: f64,
    run_start_ts: i64,
    event: EventState,
    /// Largest accepted (false-positive) point scores upwards and downwards.
    accepted: (f64, f64),
    /// Point count and timestamp of the last alert, for the quiet period.
    last_alert: Option<(usize, i64, f64)>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct EventState {
    active: bool,
    calm_points: usize,
    points_since_end: usize,
    /// The event opened inside the quiet period and has not alerted (yet).
    silenced: bool,
}

/// What the model expects for the next point: a centre and a spread (one robust sigma).
#[derive(Debug, Clone, Copy)]
struct Forecast {
    center: f64,
    spread: f64,
}

impl SeriesDetector {
    pub fn new(config: DetectorConfig) -> Self {
        let abs_residuals = SortedWindow::new(config.scale_points);
        // A point score shares its forecast's inputs with the next `baseline_points` scores, a
        // shift score its block with the next `shift_points`: only older scores are independent
        // evidence of what is routine.
        let point_scores = ScoreHistory::new(config.score_history_points, config.baseline_points);
        let shift_scores = ScoreHistory::new(config.score_history_points, config.shift_points);
        let peaks = PeakMemory::new(config.score_history_points, config.baseline_points);
        Self {
            config,
            points_seen: 0,
            first_ts: None,
            last_ts: None,
            spacings: VecDeque::with_capacity(INTERVAL_SAMPLES),
            history: VecDeque::new(),
            seasonal: None,
            points_since_refresh: 0,
            last_refresh_ts: None,
            abs_residuals,
            point_scores,
            shift_scores,
            peaks,
            run_points: 0,
            run_sign: 0.0,
            run_start_ts: 0,
            event: EventState {
                active: false,
                calm_points: 0,
                points_since_end: usize::MAX / 2,
                silenced: false,
            },
            last_alert: None,
            accepted: (0.0, 0.0),
        }
    }

    /// Period of the seasonal cycle currently modelled, in seconds (`None` when there is none).
    pub fn seasonal_period_secs(&self) -> Option<i64> {
        self.seasonal.as_ref().map(|profile| profile.period_secs)
    }

    /// Verdict for the point at `ts` (unix seconds) using only this point and earlier ones, then
    /// learns from it. A non-finite value is reported as unscored and otherwise ignored.
    pub fn observe(&mut self, ts: i64, value: f64) -> Verdict {
        self.observe_inner(ts, value, false)
    }

    /// Like [`observe`](Self::observe) for a point a user has judged after it alerted. The
    /// verdict never alerts. [`Judgement::Expected`] (a planned one-off) leaves the model as if the
    /// point had not been seen; [`Judgement::FalsePositive`] learns it as routine and widens the
    /// band in its direction to `ACCEPTED_MARGIN` times its score from then on.
    pub fn observe_judged(&mut self, ts: i64, value: f64, judgement: Judgement) -> Verdict {
        match judgement {
            Judgement::Expected => {
                let mut probe = self.clone();
                let verdict = probe.observe_inner(ts, value, true);
                Verdict {
                    anomaly: false,
                    ..verdict
                }
            }
            Judgement::FalsePositive => {
                if let Some(forecast) = self.forecast(ts).filter(|_| value.is_finite()) {
                    let score = (value - forecast.center) / forecast.spread;
                    let slot = if score >= 0.0 {
                        &mut self.accepted.0
                    } else {
                        &mut self.accepted.1
                    };
                    *slot = slot.max(score.abs().min(MAX_RECORDED_SCORE));
                }
                self.observe_inner(ts, value, true)
            }
        }
    }

    /// The widest accepted deviation (from false-positive feedback) in the direction of `score`.
    fn accepted_in_direction(&self, score: f64) -> f64 {
        ACCEPTED_MARGIN
            * if score >= 0.0 {
                self.accepted.0
            } else {
                self.accepted.1
            }
    }

    fn observe_inner(&mut self, ts: i64, value: f64, accept: bool) -> Verdict {
        let warming_up = self.is_warming_up(ts);
        if !value.is_finite() {
            return Verdict {
                expected_low: None,
                expected_high: None,
                score: 0.0,
                anomaly: false,
                warming_up,
            };
        }
        self.maybe_refresh_seasonality(ts);
        let point_threshold = learned_threshold(&self.point_scores.settled, &self.config);
        let shift_threshold = learned_threshold(&self.shift_scores.settled, &self.config);
        let forecast = self.forecast(ts);
        let shift_score = self.shift_score(ts, value);
        let score = forecast.map_or(0.0, |forecast| (value - forecast.center) / forecast.spread);
        let point_bar = self.point_alert_level(score, point_threshold);
        if self.run_points == 1 {
            self.run_start_ts = ts;
        }
        // The shift score may alert only once its threshold rests on enough independent blocks
        // and on long enough a stretch of the series' life.
        let settled_shifts = self.shift_scores.settled.len();
        let shift_settled = settled_shifts
            >= self.config.shift_warm_up_blocks * self.config.shift_points.max(1)
            && self
                .typical_interval_secs()
                .is_some_and(|interval| settled_shifts as i64 * interval >= self.config.shift_warm_up_secs);
        let shift_excess = shift_score
            .filter(|_| shift_settled)
            .map_or(0.0, |shift| shift.abs() / shift_threshold);
        let excess = if accept {
            0.0
        } else {
            (score.abs() / point_bar).max(shift_excess)
        };
        let calm = score.abs() < self.config.event_exit_score
            && shift_score.is_none_or(|shift| shift.abs() < self.config.event_exit_score);
        let was_in_event = self.event.active;
        let opened = self.update_event(excess, calm, warming_up);
        let sustained = (self.run_points >= QUIET_SUSTAINED_POINTS
            && ts - self.run_start_ts >= QUIET_SUSTAINED_SECS)
            || shift_excess > 1.0;
        let anomaly = self.gate_alert(ts, opened, sustained, score.signum());
        if forecast.is_some() && !warming_up {
            // Uncapped, event or not: a burst that alerted is still one the series has made.
            self.peaks.push(score);
        }
        if self.event.active && !was_in_event && !warming_up {
            // The scores that led up to the event are its build-up, not routine.
            let factor = self.config.threshold_factor;
            self.point_scores.cap_pending(point_threshold / factor);
            self.shift_scores.cap_pending(shift_threshold / factor);
        }

        // An event's scores are recorded no higher than the routine level they broke out of.
        let in_event = self.event.active && !warming_up;
        let cap_for = |threshold: f64| {
            if in_event {
                threshold / self.config.threshold_factor
            } else {
                MAX_RECORDED_SCORE
            }
        };
        // The first scores rest on a spread learned from a handful of residuals: not recorded.
        let spread_settled = self.abs_residuals.len() >= self.config.warm_up_points;
        let recorded_point = forecast
            .filter(|_| spread_settled)
            .map(|_| score.abs().min(cap_for(point_threshold)));
        let recorded_shift = shift_score
            .filter(|_| spread_settled)
            .map(|shift| shift.abs().min(cap_for(shift_threshold)));
        let residual = forecast.map(|forecast| value - forecast.center);
        self.learn(ts, value, residual, recorded_point, recorded_shift);

        let below = point_threshold.max(self.accepted_in_direction(-1.0));
        let above = point_threshold.max(self.accepted_in_direction(1.0));
        Verdict {
            expected_low: forecast.map(|forecast| forecast.center - below * forecast.spread),
            expected_high: forecast.map(|forecast| forecast.center + above * forecast.spread),
            score,
            anomaly,
            warming_up,
        }
    }

    /// The point score this point must exceed: the learned threshold, raised to
    /// `NOVELTY_MARGIN` times the largest earlier same-direction score unless the deviation has
    /// lasted `SUSTAINED_POINTS` points. Also advances the run of consecutive deviations.
    fn point_alert_level(&mut self, score: f64, threshold: f64) -> f64 {
        let threshold = threshold.max(self.accepted_in_direction(score));
        if score.abs() <= threshold {
            self.run_points = 0;
        } else if self.run_points > 0 && score.signum() == self.run_sign {
            self.run_points += 1;
        } else {
            self.run_points = 1;
            self.run_sign = score.signum();
        }
        if self.run_points >= SUSTAINED_POINTS {
            return threshold;
        }
        threshold.max(NOVELTY_MARGIN * self.peaks.largest_in_direction(score))
    }

    fn is_warming_up(&self, ts: i64) -> bool {
        let span = self.first_ts.map_or(0, |first| ts - first);
        self.points_seen < self.config.warm_up_points || span < self.config.warm_up_secs
    }

    fn seasonal_offset(&self, ts: i64) -> f64 {
        self.seasonal
            .as_ref()
            .map_or(0.0, |profile| profile.offset_at(ts))
    }

    fn forecast(&self, ts: i64) -> Option<Forecast> {
        let recent: Vec<f64> = self
            .history
            .iter()
            .rev()
            .take(self.config.baseline_points)
            .map(|&(past_ts, past_value)| past_value - self.seasonal_offset(past_ts))
            .collect();
        let level = median_of(&recent)?;
        let center = level + self.seasonal_offset(ts);
        let magnitudes: Vec<f64> = recent.iter().map(|value| value.abs()).collect();
        let typical_magnitude = median_of(&magnitudes).unwrap_or(0.0).max(center.abs());
        let floor = self
            .config
            .absolute_floor
            .max(self.config.relative_floor * typical_magnitude);
        Some(Forecast {
            center,
            spread: self.current_spread(floor),
        })
    }

    /// Standardized difference between the mean of the last `shift_points` deseasonalized values
    /// (this one included) and the means of equally long blocks in the reference window before
    /// them. Block means carry the series' own autocorrelation and spikiness into the spread
    /// (the batch-means method), so bursty series need a bigger shift.
    fn shift_score(&self, ts: i64, value: f64) -> Option<f64> {
        let needed = self.config.shift_points + self.config.shift_reference_points;
        if self.history.len() + 1 < needed {
            return None;
        }
        let mut window: Vec<f64> = self
            .history
            .iter()
            .skip(self.history.len() + 1 - needed)
            .map(|&(past_ts, past_value)| past_value - self.seasonal_offset(past_ts))
            .collect();
        window.push(value - self.seasonal_offset(ts));
        block_shift_score(&window, &self.config)
    }

    /// Re-scores the kept history under the current model, so the learned thresholds and the
    /// spread reflect it at once instead of the scores measured before the model changed.
    fn rescore_history(&mut self) {
        let deseasonalized: Vec<f64> = self
            .history
            .iter()
            .map(|&(ts, value)| value - self.seasonal_offset(ts))
            .collect();
        let baseline = self.config.baseline_points.max(1);
        let residuals: Vec<f64> = (1..deseasonalized.len())
            .filter_map(|index| {
                let level = median_of(deseasonalized.get(index.saturating_sub(baseline)..index)?)?;
                Some(deseasonalized.get(index)? - level)
            })
            .collect();
        self.abs_residuals.clear();
        // Peaks measured against the old model say nothing about the size of bursts under the new.
        self.peaks.clear();
        for residual in &residuals {
            self.abs_residuals.push(residual.abs());
        }
        let magnitudes: Vec<f64> = self.history.iter().map(|(_, value)| value.abs()).collect();
        let floor = self
            .config
            .absolute_floor
            .max(self.config.relative_floor * median_of(&magnitudes).unwrap_or(0.0));
        let spread = self.current_spread(floor);
        self.point_scores.clear();
        for residual in residuals.iter().skip(self.config.warm_up_points) {
            self.point_scores
                .push((residual.abs() / spread).min(MAX_RECORDED_SCORE));
        }
        self.shift_scores.clear();
        let needed = self.config.shift_points + self.config.shift_reference_points;
        for end in needed..=deseasonalized.len() {
            if let Some(score) = deseasonalized
                .get(end - needed..end)
                .and_then(|window| block_shift_score(window, &self.config))
            {
                self.shift_scores.push(score.abs().min(MAX_RECORDED_SCORE));
            }
        }
    }

    /// One robust sigma of the recent residuals, never below `floor`.
    fn current_spread(&self, floor: f64) -> f64 {
        let robust = self
            .abs_residuals
            .median()
            .map_or(0.0, |median| MAD_TO_SIGMA * median);
        let spread = if robust > 0.0 {
            robust
        } else {
            self.abs_residuals
                .mean()
                .map_or(0.0, |mean| MEAN_ABS_TO_SIGMA * mean)
        };
        spread.max(floor).max(f64::MIN_POSITIVE)
    }

    /// Applies the quiet period: an event opening within `quiet_points` points and `quiet_secs`
    /// seconds of the last alert stays silent unless it holds (a sustained run or a shift), in
    /// which case it alerts when it does. True when this point raises an alert.
    fn gate_alert(&mut self, ts: i64, opened: bool, sustained: bool, direction: f64) -> bool {
        if opened {
            let quiet = self
                .last_alert
                .is_some_and(|(alert_point, alert_ts, alert_direction)| {
                    self.points_seen - alert_point < self.config.quiet_points
                        && ts - alert_ts < self.config.quiet_secs
                        && direction == alert_direction
                });
            self.event.silenced = quiet && !sustained;
            if self.event.silenced {
                return false;
            }
        } else if !(self.event.active && self.event.silenced && sustained) {
            return false;
        }
        self.event.silenced = false;
        self.last_alert = Some((self.points_seen, ts, direction));
        true
    }

    /// Advances the event state; true only when this point opens a new alerting event. `excess`
    /// is the largest score-to-threshold ratio of this point; `calm` says every score is low.
    fn update_event(&mut self, excess: f64, calm: bool, warming_up: bool) -> bool {
        let unusual = !warming_up && excess > 1.0;
        let event = &mut self.event;
        if event.active {
            if calm {
                event.calm_points += 1;
                if event.calm_points >= self.config.event_calm_points {
                    event.active = false;
                    event.silenced = false;
                    event.points_since_end = 0;
                }
            } else {
                event.calm_points = 0;
            }
            return false;
        }
        event.points_since_end = event.points_since_end.saturating_add(1);
        if !unusual {
            return false;
        }
        event.active = true;
        event.calm_points = 0;
        // Inside the refractory period the excursion continues the previous event silently.
        event.points_since_end > self.config.refractory_points
    }

    fn learn(
        &mut self,
        ts: i64,
        value: f64,
        residual: Option<f64>,
        point_score: Option<f64>,
        shift_score: Option<f64>,
    ) {
        if let Some(last) = self.last_ts
            && ts > last
        {
            if self.spacings.len() == INTERVAL_SAMPLES {
                self.spacings.pop_front();
            }
            self.spacings.push_back(ts - last);
        }
        if let Some(residual) = residual {
            self.abs_residuals.push(residual.abs());
        }
        if let Some(score) = point_score {
            self.point_scores.push(score.min(MAX_RECORDED_SCORE));
        }
        if let Some(score) = shift_score {
            self.shift_scores.push(score.min(MAX_RECORDED_SCORE));
        }
        if self.history.len() >= self.config.history_points.max(1) {
            self.history.pop_front();
        }
        self.history.push_back((ts, value));
        self.points_seen += 1;
        self.points_since_refresh += 1;
        self.first_ts.get_or_insert(ts);
        self.last_ts = Some(ts);
    }

    fn typical_interval_secs(&self) -> Option<i64> {
        let spacings: Vec<f64> = self.spacings.iter().map(|spacing| *spacing as f64).collect();
        median_of(&spacings).map(|median| median.round() as i64)
    }

    fn maybe_refresh_seasonality(&mut self, ts: i64) {
        if !self.config.seasonality {
            return;
        }
        let due_by_time = self
            .last_refresh_ts
            .is_none_or(|last| ts - last >= SEASONALITY_REFRESH_SECS);
        if self.points_since_refresh < SEASONALITY_REFRESH_POINTS && !due_by_time {
            return;
        }
        let Some(interval) = self.typical_interval_secs() else {
            return;
        };
        self.points_since_refresh = 0;
        self.last_refresh_ts = Some(ts);
        let history: Vec<(i64, f64)> = self.history.iter().copied().collect();
        // A cycle once found is kept until the search finds another one: a few noisy days must
        // not make the model flap between seasonal and flat.
        let Some(found) = find_seasonality(&history, interval) else {
            return;
        };
        let changed = self.seasonal_period_secs() != Some(found.period_secs);
        self.seasonal = Some(found);
        if changed {
            // Scores measured against another model are not comparable with the ones to come.
            self.rescore_history();
        }
    }
}

/// Past scores of one kind. A score joins the history the threshold is learned from only after
/// `delay` more points: until then it is not independent of the scores to come, and an event
/// that starts in the meantime caps it as part of its build-up (a slowly growing shift must not
/// raise its own threshold on the way up).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct ScoreHistory {
    settled: SortedWindow,
    pending: VecDeque<f64>,
    delay: usize,
}

impl ScoreHistory {
    fn new(capacity: usize, delay: usize) -> Self {
        Self {
            settled: SortedWindow::new(capacity),
            pending: VecDeque::with_capacity(delay + 1),
            delay,
        }
    }

    fn push(&mut self, score: f64) {
        if !score.is_finite() {
            return;
        }
        self.pending.push_back(score);
        while self.pending.len() > self.delay {
            if let Some(oldest) = self.pending.pop_front() {
                self.settled.push(oldest);
            }
        }
    }

    fn cap_pending(&mut self, cap: f64) {
        for score in &mut self.pending {
            *score = score.min(cap);
        }
    }

    fn clear(&mut self) {
        self.settled.clear();
        self.pending.clear();
    }
}

/// Signed point scores of the last `capacity` points. As with [`ScoreHistory`], a score counts
/// only after `delay` more points, so the build-up of an excursion is not compared with itself.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct PeakMemory {
    scores: VecDeque<f64>,
    capacity: usize,
    delay: usize,
}

impl PeakMemory {
    fn new(capacity: usize, delay: usize) -> Self {
        Self {
            scores: VecDeque::new(),
            capacity: capacity.max(1),
            delay,
        }
    }

    fn push(&mut self, score: f64) {
        if !score.is_finite() {
            return;
        }
        if self.scores.len() >= self.capacity + self.delay {
            self.scores.pop_front();
        }
        self.scores
            .push_back(score.clamp(-MAX_RECORDED_SCORE, MAX_RECORDED_SCORE));
    }

    /// The largest settled score in the direction of `score` (as a magnitude; 0 when none).
    fn largest_in_direction(&self, score: f64) -> f64 {
        let settled = self.scores.len().saturating_sub(self.delay);
        self.scores
            .iter()
            .take(settled)
            .map(|past| past * score.signum())
            .fold(0.0, f64::max)
    }

    fn clear(&mut self) {
        self.scores.clear();
    }
}

/// The alert threshold for one kind of score: `threshold_factor` times the series' routine
/// extreme (the `threshold_quantile` of its past scores), never below `min_score`.
fn learned_threshold(scores: &SortedWindow, config: &DetectorConfig) -> f64 {
    if scores.len() < config.min_scores_for_learned_threshold {
        return config.min_score;
    }
    let empirical = scores.quantile(config.threshold_quantile);
    // With few scores the empirical quantile is about their maximum, which understates how far
    // the series' routine reaches; the exponential tail fit extrapolates it instead.
    let extrapolated = scores.tail_quantile(config.threshold_quantile, TAIL_SHARE);
    let routine = match (empirical, extrapolated) {
        (Some(empirical), Some(extrapolated)) => Some(empirical.max(extrapolated)),
        (empirical, extrapolated) => empirical.or(extrapolated),
    };
    routine.map_or(config.min_score, |routine| {
        (config.threshold_factor * routine).max(config.min_score)
    })
}

/// Standardized difference between the mean of the last `shift_points` values of `window`
/// (oldest first) and the means of equally long blocks before them. Block means carry the
/// series' own autocorrelation and spikiness into the spread (the batch-means method), so a
/// bursty series needs a bigger shift.
fn block_shift_score(window: &[f64], config: &DetectorConfig) -> Option<f64> {
    let block = config.shift_points;
    if block == 0 || config.shift_reference_points < 2 * block || window.len() < block * 3 {
        return None;
    }
    let (reference, recent) = window.split_at(window.len() - block);
    let recent_mean = recent.iter().sum::<f64>() / block as f64;
    let skip = reference.len() % block;
    let block_means: Vec<f64> = reference
        .get(skip..)?
        .chunks_exact(block)
        .map(|chunk| chunk.iter().sum::<f64>() / block as f64)
        .collect();
    let count = block_means.len() as f64;
    if count < 2.0 {
        return None;
    }
    let mean = block_means.iter().sum::<f64>() / count;
    let variance = block_means
        .iter()
        .map(|block_mean| (block_mean - mean).powi(2))
        .sum::<f64>()
        / (count - 1.0);
    let floor = config.absolute_floor.max(config.relative_floor * mean.abs());
    Some((recent_mean - mean) / variance.sqrt().max(floor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_settle_only_after_their_delay() {
        let mut history = ScoreHistory::new(100, 3);
        for score in [1.0, 2.0, 3.0] {
            history.push(score);
        }
        assert_eq!(history.settled.len(), 0);
        history.push(4.0);
        assert_eq!(history.settled.len(), 1);
        assert_eq!(history.settled.quantile(1.0), Some(1.0));
        history.push(f64::NAN);
        assert_eq!(history.settled.len(), 1);
    }

    #[test]
    fn peaks_count_only_once_settled_and_per_direction() {
        let mut peaks = PeakMemory::new(4, 2);
        peaks.push(5.0);
        peaks.push(-7.0);
        assert_eq!(peaks.largest_in_direction(1.0), 0.0);
        peaks.push(0.5);
        peaks.push(9.0);
        assert_eq!(peaks.largest_in_direction(1.0), 5.0);
        assert_eq!(peaks.largest_in_direction(-2.0), 7.0);
        // Capacity 4 plus 2 pending: four more points push the 5.0 and the -7.0 out of memory.
        for _ in 0..4 {
            peaks.push(0.1);
        }
        assert_eq!(peaks.largest_in_direction(1.0), 9.0);
        assert_eq!(peaks.largest_in_direction(-1.0), 0.0);
        peaks.push(f64::NAN);
        peaks.clear();
        assert_eq!(peaks.largest_in_direction(1.0), 0.0);
    }

    #[test]
    fn an_event_caps_its_build_up_before_it_settles() {
        let mut history = ScoreHistory::new(100, 2);
        for score in [1.0, 1.0, 8.0, 9.0] {
            history.push(score);
        }
        history.cap_pending(2.0);
        history.push(0.5);
        history.push(0.5);
        assert_eq!(history.settled.quantile(1.0), Some(2.0));
        history.clear();
        assert_eq!(history.settled.len(), 0);
    }
}
