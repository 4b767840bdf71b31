//! Reading `timestamp,value` series (NAB's CSV layout) into points the detector can consume.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// One row of a series: the timestamp exactly as written (so alerts can quote it back), the
/// same instant as unix seconds, and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    pub raw_timestamp: String,
    pub ts: i64,
    pub value: f64,
}

/// A series file that cannot be read; each message names the 1-based line and what was expected.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SeriesError {
    #[error("line 1: expected a header line such as `timestamp,value`, found an empty input")]
    Empty,
    #[error("line 1: expected a header line such as `timestamp,value`, found the data row `{found}`")]
    MissingHeader { found: String },
    #[error("line {line}: expected 2 comma-separated fields `timestamp,value`, found {found}")]
    FieldCount { line: usize, found: usize },
    #[error("line {line}: expected a timestamp such as `2014-04-01 00:00:00` or RFC 3339, found `{found}`")]
    Timestamp { line: usize, found: String },
    #[error("line {line}: expected a finite number as value, found `{found}`")]
    Value { line: usize, found: String },
}

pub type SeriesResult<T> = Result<T, SeriesError>;

/// Naive layouts tried in order after RFC 3339; naive times are read as UTC.
const NAIVE_DATETIME_FORMATS: [&str; 3] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"];

/// Parses `timestamp,value` CSV text with one header line. Blank lines are skipped, fields may be
/// wrapped in double quotes, and `\r\n` line ends are accepted.
pub fn read_series_csv(text: &str) -> SeriesResult<Vec<SeriesPoint>> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_end_matches('\r')));
    let header = lines.find(|(_, line)| !line.trim().is_empty());
    let Some((_, header)) = header else {
        return Err(SeriesError::Empty);
    };
    let header_fields = split_fields(header);
    if let Some(first) = header_fields.first()
        && parse_timestamp(first).is_some()
    {
        return Err(SeriesError::MissingHeader {
            found: header.trim().to_string(),
        });
    }
    let mut points = Vec::new();
    for (line_number, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_fields(line);
        let [raw_timestamp, raw_value] = fields.as_slice() else {
            return Err(SeriesError::FieldCount {
                line: line_number,
                found: fields.len(),
            });
        };
        let ts = parse_timestamp(raw_timestamp).ok_or_else(|| SeriesError::Timestamp {
            line: line_number,
            found: (*raw_timestamp).to_string(),
        })?;
        let value = raw_value
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| SeriesError::Value {
                line: line_number,
                found: (*raw_value).to_string(),
            })?;
        points.push(SeriesPoint {
            raw_timestamp: (*raw_timestamp).to_string(),
            ts,
            value,
        });
    }
    Ok(points)
}

fn split_fields(line: &str) -> Vec<&str> {
    line.split(',')
        .map(|field| field.trim().trim_matches('"'))
        .collect()
}

/// Unix seconds of a timestamp in RFC 3339, NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]` (as UTC), or a
/// bare `YYYY-MM-DD` date (midnight UTC), as daily data-quality metrics are often written.
pub fn parse_timestamp(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(raw) {
        return Some(instant.timestamp());
    }
    for format in NAIVE_DATETIME_FORMATS {
        if let Ok(naive) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(naive.and_utc().timestamp());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nab_rows_and_keeps_the_raw_timestamp() {
        let text = "timestamp,value\n2014-04-01 00:00:00,12.5\r\n2014-04-01 00:05:00,13\n\n";
        let points = read_series_csv(text).unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].raw_timestamp, "2014-04-01 00:00:00");
        assert_eq!(points[0].ts, 1_396_310_400);
        assert_eq!(points[1].ts - points[0].ts, 300);
        assert_eq!(points[1].value, 13.0);
    }

    #[test]
    fn accepts_rfc3339_fractional_seconds_and_bare_dates() {
        assert_eq!(parse_timestamp("2014-04-01T02:00:00+02:00"), Some(1_396_310_400));
        assert_eq!(parse_timestamp("2014-04-01 00:00:00.000000"), Some(1_396_310_400));
        assert_eq!(parse_timestamp("2014-04-01"), Some(1_396_310_400));
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn header_only_is_an_empty_series() {
        assert_eq!(read_series_csv("timestamp,value\n").unwrap(), Vec::new());
    }

    #[test]
    fn errors_name_the_line_and_what_was_expected() {
        let bad_value = read_series_csv("timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,abc\n");
        assert_eq!(
            bad_value.unwrap_err().to_string(),
            "line 3: expected a finite number as value, found `abc`"
        );
        let bad_ts = read_series_csv("timestamp,value\nnot-a-time,1\n").unwrap_err();
        assert_eq!(
            bad_ts.to_string(),
            "line 2: expected a timestamp such as `2014-04-01 00:00:00` or RFC 3339, found `not-a-time`"
        );
        let fields = read_series_csv("timestamp,value\n2014-04-01 00:00:00,1,2\n").unwrap_err();
        assert_eq!(
            fields.to_string(),
            "line 2: expected 2 comma-separated fields `timestamp,value`, found 3"
        );
        let no_header = read_series_csv("2014-04-01 00:00:00,1\n").unwrap_err();
        assert!(
            no_header
                .to_string()
                .starts_with("line 1: expected a header line")
        );
        assert_eq!(read_series_csv("").unwrap_err(), SeriesError::Empty);
        let nan = read_series_csv("timestamp,value\n2014-04-01 00:00:00,NaN\n").unwrap_err();
        assert_eq!(
            nan,
            SeriesError::Value {
                line: 2,
                found: "NaN".to_string()
            }
        );
    }

    #[test]
    fn error_messages_are_lower_case_without_trailing_period() {
        let errors = [
            SeriesError::Empty,
            SeriesError::FieldCount { line: 4, found: 1 },
            SeriesError::Value {
                line: 2,
                found: "x".to_string(),
            },
        ];
        for error in errors {
            let text = error.to_string();
            assert!(!text.ends_with('.'), "{text}");
            assert_eq!(text.chars().next(), Some('l'), "{text}");
        }
    }
}
