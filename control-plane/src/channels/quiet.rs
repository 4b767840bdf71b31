//! Quiet hours per channel (pure): between `from` and `to` in the channel's time zone (IANA name,
//! through jiff and the system's tz database), notifications wait until the quiet period ends —
//! except critical ones when `critical_through` is on (the default). A period may cross midnight
//! (`22:00` to `07:00`).

use chrono::{DateTime, Utc};
use jiff::civil::Time;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A channel's quiet hours as the API takes and shows them (stored in its settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, when quiet starts.
    pub from: String,
    /// `HH:MM`, when it ends (before `from`: the next day).
    pub to: String,
    /// An IANA time zone, e.g. `Europe/Berlin`; default `UTC`.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Critical notifications go through anyway; default true.
    #[serde(default = "yes")]
    pub critical_through: bool,
}

fn utc() -> String {
    "UTC".to_owned()
}

fn yes() -> bool {
    true
}

fn minutes(text: &str, field: &str) -> Result<i32, String> {
    let (hours, mins) = text
        .split_once(':')
        .ok_or_else(|| format!("quiet_hours.{field}: expected HH:MM, got {text:?}"))?;
    match (hours.parse::<i32>(), mins.parse::<i32>()) {
        (Ok(h), Ok(m)) if (0..24).contains(&h) && (0..60).contains(&m) && mins.len() == 2 => Ok(h * 60 + m),
        _ => Err(format!(
            "quiet_hours.{field}: expected HH:MM from 00:00 to 23:59, got {text:?}"
        )),
    }
}

impl QuietHours {
    /// Checks the times and the time zone; the error names the field.
    pub fn check(&self) -> Result<(), (String, String)> {
        let from = minutes(&self.from, "from").map_err(|e| ("quiet_hours.from".to_owned(), e))?;
        let to = minutes(&self.to, "to").map_err(|e| ("quiet_hours.to".to_owned(), e))?;
        if from == to {
            return Err((
                "quiet_hours.to".to_owned(),
                "quiet_hours.to: must differ from quiet_hours.from".to_owned(),
            ));
        }
        TimeZone::get(&self.timezone).map_err(|error| {
            (
                "quiet_hours.timezone".to_owned(),
                format!(
                    "quiet_hours.timezone: {:?} is no known time zone ({error})",
                    self.timezone
                ),
            )
        })?;
        Ok(())
    }

    /// When the quiet period around `now` ends; `None` when `now` is not in one (or the settings
    /// cannot be read, which creation prevents).
    pub fn until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = minutes(&self.from, "from").ok()?;
        let to = minutes(&self.to, "to").ok()?;
        let tz = TimeZone::get(&self.timezone).ok()?;
        let local = jiff::Timestamp::from_second(now.timestamp())
            .ok()?
            .to_zoned_datetime(tz.clone());
        let time = local.time();
        let at = i32::from(time.hour()) * 60 + i32::from(time.minute());
        let (quiet, tomorrow) = if from < to {
            (from <= at && at < to, false)
        } else {
            (at >= from || at < to, at >= from)
        };
        if !quiet {
            return None;
        }
        let mut day = local.date();
        if tomorrow {
            day = day.tomorrow().ok()?;
        }
        let end = Time::new(i8::try_from(to / 60).ok()?, i8::try_from(to % 60).ok()?, 0, 0).ok()?;
        let end = day.to_datetime(end).to_zoned_datetime(tz).ok()?;
        DateTime::from_timestamp(end.timestamp().as_second(), 0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn quiet(from: &str, to: &str, timezone: &str) -> QuietHours {
        QuietHours {
            from: from.into(),
            to: to.into(),
            timezone: timezone.into(),
            critical_through: true,
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_night_in_berlin_ends_at_seven_local_time() {
        let night = quiet("22:00", "07:00", "Europe/Berlin");
        assert!(night.check().is_ok());
        // 21:30 UTC in December is 22:30 in Berlin: quiet until 07:00 Berlin = 06:00 UTC.
        assert_eq!(
            night.until(utc("2026-12-07T21:30:00Z")),
            Some(utc("2026-12-08T06:00:00Z"))
        );
        // 03:00 Berlin: the same night, ending the same morning.
        assert_eq!(
            night.until(utc("2026-12-08T02:00:00Z")),
            Some(utc("2026-12-08T06:00:00Z"))
        );
        // Noon: not quiet. In July (UTC+2) 07:00 Berlin is 05:00 UTC.
        assert_eq!(night.until(utc("2026-12-08T11:00:00Z")), None);
        assert_eq!(
            night.until(utc("2026-07-08T04:00:00Z")),
            Some(utc("2026-07-08T05:00:00Z"))
        );
    }

    #[test]
    fn a_daytime_period_and_wrong_settings() {
        let lunch = quiet("12:00", "13:30", "UTC");
        assert_eq!(
            lunch.until(utc("2026-12-08T12:10:00Z")),
            Some(utc("2026-12-08T13:30:00Z"))
        );
        assert_eq!(lunch.until(utc("2026-12-08T13:30:00Z")), None);
        assert_eq!(
            quiet("25:00", "07:00", "UTC").check().unwrap_err().0,
            "quiet_hours.from"
        );
        assert_eq!(
            quiet("22:00", "22:00", "UTC").check().unwrap_err().0,
            "quiet_hours.to"
        );
        assert_eq!(
            quiet("22:00", "07:00", "Mars/Olympus").check().unwrap_err().0,
            "quiet_hours.timezone"
        );
    }
}
