//! SLAs with error budgets: each objective of an SLA (target score, open critical incidents,
//! freshness bound, availability, time to acknowledge and to resolve) is evaluated per minute over
//! a rolling window, and the minutes it was not met are spent from the window's error budget
//! (`(1 - target) × window`).
//!
//! Owns: the pure computation (this file: per-minute series from evidence, the budget, the burn
//! rate and the projected exhaustion). Must not: do I/O, or know about HTTP; the service that
//! reads evidence through the store and writes evaluations and events sits beside it.

use chrono::{DateTime, Duration, DurationRound, Utc};

pub mod service;

/// One SLA objective, as stored in `sla_evaluations.objective`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    Score,
    OpenCritical,
    Freshness,
    Availability,
    Acknowledge,
    Resolve,
}

impl Objective {
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::Score => "score",
            Objective::OpenCritical => "open_critical",
            Objective::Freshness => "freshness",
            Objective::Availability => "availability",
            Objective::Acknowledge => "acknowledge",
            Objective::Resolve => "resolve",
        }
    }

    /// For a person: "freshness", "time to acknowledge", ...
    pub fn describe(self) -> &'static str {
        match self {
            Objective::Score => "quality score",
            Objective::OpenCritical => "open critical incidents",
            Objective::Freshness => "freshness",
            Objective::Availability => "availability",
            Objective::Acknowledge => "time to acknowledge",
            Objective::Resolve => "time to resolve",
        }
    }
}

/// The minutes of a window `[start, end)`, both truncated to the minute: minute `i` is
/// `start + i min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// The `minutes` minutes that end at `now` (truncated to the minute).
    pub fn ending_at(now: DateTime<Utc>, minutes: i64) -> Self {
        let end = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
        Self {
            start: end - Duration::minutes(minutes),
            end,
        }
    }

    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes().max(0)
    }

    fn minute(&self, i: i64) -> DateTime<Utc> {
        self.start + Duration::minutes(i)
    }
}

/// Per-minute state of one objective: `None` before there is any evidence (not evaluated, not
/// spent), else whether it was met in that minute.
pub type Minutes = Vec<Option<bool>>;

/// Freshness: minute `m` meets the bound when the data's latest update at or before `m` is at most
/// `bound` old. `updates` are the times the data changed (any order).
pub fn freshness_minutes(window: Window, updates: &[DateTime<Utc>], bound: Duration) -> Minutes {
    let mut updates = updates.to_vec();
    updates.sort_unstable();
    let mut next = 0;
    let mut latest: Option<DateTime<Utc>> = None;
    (0..window.minutes())
        .map(|i| {
            let minute = window.minute(i);
            while next < updates.len() && updates[next] <= minute {
                latest = Some(updates[next]);
                next += 1;
            }
            latest.map(|at| minute - at <= bound)
        })
        .collect()
}

/// A step function carried forward: minute `m` takes the state of the latest observation at or
/// before `m` (score ≥ target, last collection succeeded, open criticals ≤ maximum, …).
pub fn step_minutes(window: Window, observations: &[(DateTime<Utc>, bool)]) -> Minutes {
    let mut observations = observations.to_vec();
    observations.sort_unstable_by_key(|(at, _)| *at);
    let mut next = 0;
    let mut state = None;
    (0..window.minutes())
        .map(|i| {
            let minute = window.minute(i);
            while next < observations.len() && observations[next].0 <= minute {
                state = Some(observations[next].1);
                next += 1;
            }
            state
        })
        .collect()
}

/// One deadline: `(opened_at, done_at, within)`.
pub type Deadline = (DateTime<Utc>, Option<DateTime<Utc>>, Duration);

/// Deadlines (acknowledge, resolve): each item is `(opened_at, done_at, within)`; the minutes after
/// `opened_at + within` until `done_at` (or the window's end) are missed. Every other minute is met.
pub fn deadline_minutes(window: Window, items: &[Deadline]) -> Minutes {
    (0..window.minutes())
        .map(|i| {
            let minute = window.minute(i);
            let missed = items.iter().any(|(opened, done, within)| {
                let due = *opened + *within;
                minute >= due && done.is_none_or(|done| minute < done)
            });
            Some(!missed)
        })
        .collect()
}

/// Open items (incidents: `(opened_at, closed_at)`) at each minute, met while at most `max` are
/// open (`opened_at ≤ m < closed_at`). Always evaluated: no incident is a met minute.
pub fn open_count_minutes(
    window: Window,
    items: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    max: i64,
) -> Minutes {
    (0..window.minutes())
        .map(|i| {
            let minute = window.minute(i);
            let open = items
                .iter()
                .filter(|(opened, closed)| *opened <= minute && closed.is_none_or(|closed| minute < closed))
                .count();
            Some(open as i64 <= max)
        })
        .collect()
}

/// How far back the availability objective looks from each minute.
pub const AVAILABILITY_LOOKBACK: Duration = Duration::hours(24);

/// Availability: minute `m` is met when of the collections in `(m − lookback, m]` at least the
/// share `min_share` succeeded; no collection in that span: not evaluated. `collections` are
/// `(collected_at, succeeded)` in any order.
pub fn share_minutes(
    window: Window,
    collections: &[(DateTime<Utc>, bool)],
    lookback: Duration,
    min_share: f64,
) -> Minutes {
    let mut collections = collections.to_vec();
    collections.sort_unstable_by_key(|(at, _)| *at);
    let (mut added, mut removed) = (0, 0);
    let (mut total, mut succeeded) = (0_i64, 0_i64);
    (0..window.minutes())
        .map(|i| {
            let minute = window.minute(i);
            while added < collections.len() && collections[added].0 <= minute {
                total += 1;
                succeeded += i64::from(collections[added].1);
                added += 1;
            }
            while removed < added && collections[removed].0 <= minute - lookback {
                total -= 1;
                succeeded -= i64::from(collections[removed].1);
                removed += 1;
            }
            (total > 0).then_some(succeeded as f64 >= min_share * total as f64)
        })
        .collect()
}

/// An objective over several assets (an SLA on a tag): a minute is missed when any asset missed
/// it, met when the others that have evidence met it, not evaluated when none has evidence.
pub fn all_met(series: &[Minutes], minutes: i64) -> Minutes {
    (0..usize::try_from(minutes).unwrap_or(0))
        .map(|i| {
            let states = series.iter().filter_map(|s| s.get(i).copied().flatten());
            states.fold(None, |acc, met| Some(acc.unwrap_or(true) && met))
        })
        .collect()
}

/// An objective's error budget over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub window_minutes: i64,
    pub evaluated_minutes: i64,
    pub met_minutes: i64,
    /// `met / evaluated` (1 when nothing was evaluated).
    pub compliance: f64,
    /// `(1 - target) × window_minutes`.
    pub budget_minutes: f64,
    pub spent_minutes: f64,
    pub remaining_minutes: f64,
    /// Spend over the last hour relative to the sustainable rate `(1 - target)`: 1 spends the budget
    /// exactly over the window, 0 spends nothing.
    pub burn_rate: f64,
    /// When the remaining budget runs out at the last hour's spend; `None` when nothing is being
    /// spent or it is already exhausted.
    pub exhausts_at: Option<DateTime<Utc>>,
    /// The objective is breached: the budget is spent.
    pub exhausted: bool,
}

/// How many trailing minutes the burn rate looks at.
pub const BURN_LOOKBACK_MINUTES: usize = 60;

pub fn budget(window: Window, target: f64, minutes: &[Option<bool>]) -> Budget {
    let window_minutes = window.minutes();
    let evaluated = minutes.iter().filter(|m| m.is_some()).count() as i64;
    let met = minutes.iter().filter(|m| **m == Some(true)).count() as i64;
    let spent = (evaluated - met) as f64;
    let budget_minutes = (1.0 - target) * window_minutes as f64;
    let remaining = budget_minutes - spent;
    let tail = &minutes[minutes.len().saturating_sub(BURN_LOOKBACK_MINUTES)..];
    let tail_evaluated = tail.iter().filter(|m| m.is_some()).count();
    let tail_missed = tail.iter().filter(|m| **m == Some(false)).count();
    let spend_rate = if tail_evaluated == 0 {
        0.0
    } else {
        tail_missed as f64 / tail_evaluated as f64
    };
    let burn_rate = if target < 1.0 {
        spend_rate / (1.0 - target)
    } else {
        0.0
    };
    let exhausted = remaining <= 0.0;
    let exhausts_at = (!exhausted && spend_rate > 0.0).then(|| {
        let minutes_left = remaining / spend_rate;
        window.end + Duration::seconds((minutes_left * 60.0).round() as i64)
    });
    Budget {
        window_minutes,
        evaluated_minutes: evaluated,
        met_minutes: met,
        compliance: if evaluated == 0 {
            1.0
        } else {
            met as f64 / evaluated as f64
        },
        budget_minutes,
        spent_minutes: spent,
        remaining_minutes: remaining,
        burn_rate,
        exhausts_at,
        exhausted,
    }
}

/// How far ahead the forecast of an objective's series is followed to project the exhaustion of
/// its budget.
pub const PROJECTION_HORIZON: Duration = Duration::days(7);

/// When `remaining` budget minutes run out if the objective is met or not as `future` says,
/// minute by minute from `window.start` (`None`: not within the window, or nothing left to run
/// out). Like [`Budget::exhausts_at`], it leaves out the budget minutes that leave the rolling
/// window meanwhile.
pub fn projected_exhaustion(
    remaining: f64,
    window: Window,
    future: &[Option<bool>],
) -> Option<DateTime<Utc>> {
    if remaining <= 0.0 {
        return None;
    }
    let mut spent = 0.0;
    for (i, met) in future
        .iter()
        .enumerate()
        .take(usize::try_from(window.minutes()).unwrap_or(0))
    {
        if *met == Some(false) {
            spent += 1.0;
            if spent >= remaining {
                return Some(window.minute(i as i64) + Duration::minutes(1));
            }
        }
    }
    None
}

/// Parses a window such as `30d`, `12h` or `90m` into minutes.
pub fn parse_window(text: &str) -> Option<i64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let number: i64 = number.parse().ok().filter(|n| *n > 0)?;
    let per = match unit {
        "d" => 24 * 60,
        "h" => 60,
        "m" => 1,
        _ => return None,
    };
    number.checked_mul(per).filter(|m| *m <= 366 * 24 * 60)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is a failed test
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minute)
    }

    fn window(minutes: i64) -> Window {
        Window {
            start: at(0),
            end: at(minutes),
        }
    }

    #[test]
    fn freshness_is_met_while_the_latest_update_is_within_the_bound() {
        // Updates at 0 and 100, bound 60 min: minutes 0..=60 and 100..=119 met, 61..=99 missed.
        let minutes = freshness_minutes(window(120), &[at(100), at(0)], Duration::minutes(60));
        assert_eq!(minutes.len(), 120);
        assert_eq!(minutes.iter().filter(|m| **m == Some(false)).count(), 39);
        assert_eq!(minutes[60], Some(true));
        assert_eq!(minutes[61], Some(false));
        assert_eq!(minutes[100], Some(true));
    }

    #[test]
    fn minutes_before_any_evidence_are_not_evaluated() {
        let minutes = freshness_minutes(window(10), &[at(5)], Duration::minutes(60));
        assert_eq!(minutes[..5], [None; 5]);
        let b = budget(window(10), 0.9, &minutes);
        assert_eq!(b.evaluated_minutes, 5);
        assert_eq!(b.spent_minutes, 0.0);
    }

    #[test]
    fn budget_spends_the_missed_minutes() {
        // 30 days at 99 %: a 432-minute budget; 39 minutes missed.
        let w = window(30 * 24 * 60);
        let minutes = freshness_minutes(w, &[at(0), at(100)], Duration::minutes(60));
        let b = budget(w, 0.99, &minutes);
        assert_eq!(b.budget_minutes.round(), 432.0);
        assert_eq!(b.spent_minutes, 39.0 + (30 * 24 * 60 - 161) as f64);
        assert!(b.exhausted);
        assert_eq!(b.exhausts_at, None);

        let updates: Vec<_> = (0..30 * 24).map(|h| at(h * 60)).collect();
        let b = budget(w, 0.99, &freshness_minutes(w, &updates, Duration::minutes(60)));
        assert_eq!(b.spent_minutes, 0.0);
        assert_eq!(b.compliance, 1.0);
        assert_eq!(b.burn_rate, 0.0);
    }

    #[test]
    fn the_projection_spends_the_budget_on_the_forecast_misses() {
        let window = window(10);
        // Met for 3 minutes, then missed: 2.5 minutes of budget run out in the 6th minute.
        let future: Vec<Option<bool>> = [true, true, true, false, true, false, false, false, false, false]
            .into_iter()
            .map(Some)
            .collect();
        assert_eq!(projected_exhaustion(2.5, window, &future), Some(at(7)));
        assert_eq!(projected_exhaustion(3.0, window, &future), Some(at(7)));
        assert_eq!(
            projected_exhaustion(7.0, window, &future),
            None,
            "not within the horizon"
        );
        assert_eq!(projected_exhaustion(0.0, window, &future), None, "already spent");
        assert_eq!(
            projected_exhaustion(1.0, window, &[None; 10]),
            None,
            "no forecast"
        );
    }

    #[test]
    fn burn_rate_and_exhaustion_follow_the_last_hour() {
        // Met everywhere except the last 6 of the last 60 minutes: spend 10 % against a 1 % budget.
        let w = window(1000);
        let mut minutes = vec![Some(true); 1000];
        for m in &mut minutes[994..] {
            *m = Some(false);
        }
        let b = budget(w, 0.99, &minutes);
        assert!((b.burn_rate - 10.0).abs() < 1e-9);
        assert!((b.remaining_minutes - 4.0).abs() < 1e-9);
        // 4 minutes left at 0.1 min/min: 40 minutes.
        assert_eq!(b.exhausts_at, Some(at(1040)));
    }

    #[test]
    fn steps_and_deadlines() {
        let minutes = step_minutes(window(10), &[(at(2), true), (at(5), false)]);
        assert_eq!(minutes[1], None);
        assert_eq!(minutes[4], Some(true));
        assert_eq!(minutes[5], Some(false));
        let minutes = deadline_minutes(window(10), &[(at(0), Some(at(7)), Duration::minutes(3))]);
        assert_eq!(minutes.iter().filter(|m| **m == Some(false)).count(), 4);
    }

    #[test]
    fn open_criticals_availability_and_many_assets() {
        // Two incidents overlapping in minutes 5..8: at most one may be open.
        let minutes = open_count_minutes(window(12), &[(at(2), Some(at(8))), (at(5), None)], 1);
        assert_eq!(minutes.iter().filter(|m| **m == Some(false)).count(), 3);
        assert_eq!(minutes[4], Some(true));
        assert_eq!(minutes[8], Some(true));

        // Collections every 10 minutes, the one at 20 failed; a 30-minute lookback and at least
        // 3 of 4 succeeding: with 3 in the span, minutes 20..=39 see 2 of 3 (missed).
        let collections: Vec<_> = (0..6).map(|k| (at(k * 10), k != 2)).collect();
        let minutes = share_minutes(window(60), &collections, Duration::minutes(30), 0.75);
        assert_eq!(minutes[0], Some(true));
        assert_eq!(minutes[19], Some(true));
        assert_eq!(minutes[20], Some(false));
        assert_eq!(minutes[49], Some(false));
        assert_eq!(minutes[50], Some(true));
        assert_eq!(
            share_minutes(window(5), &[], Duration::minutes(30), 0.5),
            vec![None; 5]
        );

        let merged = all_met(
            &[vec![None, Some(true), Some(true)], vec![None, None, Some(false)]],
            3,
        );
        assert_eq!(merged, vec![None, Some(true), Some(false)]);
    }

    #[test]
    fn windows_parse() {
        assert_eq!(parse_window("30d"), Some(43_200));
        assert_eq!(parse_window("12h"), Some(720));
        assert_eq!(parse_window("0d"), None);
        assert_eq!(parse_window("d"), None);
        assert_eq!(parse_window("3w"), None);
    }
}
