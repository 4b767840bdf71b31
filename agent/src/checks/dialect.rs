//! SQL dialects: everything the templates need that differs between engines (quoting, regular
//! expressions, casts, dates). Templates only build SQL through this trait, so adding an engine
//! (MySQL: backtick quoting, `REGEXP_LIKE`, `CAST(x AS CHAR)`, `TIMESTAMPDIFF`) is one new impl.

pub trait Dialect: Sync + Send {
    fn name(&self) -> &'static str;

    /// A quoted identifier.
    fn quote_ident(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    /// A quoted `schema.table` (or `table`).
    fn table(&self, dataset: &str) -> String {
        dataset
            .split('.')
            .map(|part| self.quote_ident(part))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A string literal.
    fn literal(&self, value: &str) -> String {
        format!("'{}'", value.replace('\'', "''"))
    }

    /// A condition true when the text `expr` matches `pattern` (POSIX-style regular expression).
    fn regex_match(&self, expr: &str, pattern: &str) -> String;

    /// `expr` as text.
    fn as_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS TEXT)")
    }

    /// `expr` as a floating-point number.
    fn as_float(&self, expr: &str) -> String;

    /// Length in characters.
    fn char_length(&self, expr: &str) -> String {
        format!("LENGTH({expr})")
    }

    /// A date literal (`YYYY-MM-DD`) comparable with date and timestamp columns.
    fn date_literal(&self, date: &str) -> String;

    /// The current timestamp, comparable with the engine's timestamp values.
    fn now(&self) -> String;

    /// The timestamp `seconds` ago.
    fn seconds_ago(&self, seconds: f64) -> String;

    /// Seconds from timestamp `from` to timestamp `to` (a number).
    fn seconds_between(&self, from: &str, to: &str) -> String;

    /// The sample standard deviation aggregate, when the engine has one (else the planner sums
    /// squares).
    fn stddev_samp(&self, _expr: &str) -> Option<String> {
        None
    }

    /// The "shape" of a text: every digit becomes `9`, every ASCII letter `a`, the rest stays.
    fn shape(&self, expr: &str) -> String;
}

const DIGITS: &str = "0123456789";
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

pub struct Postgres;

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn regex_match(&self, expr: &str, pattern: &str) -> String {
        format!("{expr} ~ {}", self.literal(pattern))
    }

    fn as_float(&self, expr: &str) -> String {
        format!("CAST({expr} AS DOUBLE PRECISION)")
    }

    fn date_literal(&self, date: &str) -> String {
        format!("CAST({} AS TIMESTAMPTZ)", self.literal(date))
    }

    fn now(&self) -> String {
        "CURRENT_TIMESTAMP".into()
    }

    fn seconds_ago(&self, seconds: f64) -> String {
        format!("(CURRENT_TIMESTAMP - INTERVAL '{seconds} seconds')")
    }

    fn seconds_between(&self, from: &str, to: &str) -> String {
        format!("EXTRACT(EPOCH FROM (CAST({to} AS TIMESTAMPTZ) - CAST({from} AS TIMESTAMPTZ)))")
    }

    fn stddev_samp(&self, expr: &str) -> Option<String> {
        Some(format!("STDDEV_SAMP({expr})"))
    }

    fn shape(&self, expr: &str) -> String {
        format!(
            "TRANSLATE({expr}, '{DIGITS}{LETTERS}', '{}{}')",
            "9".repeat(DIGITS.len()),
            "a".repeat(LETTERS.len())
        )
    }
}

/// SQLite: dates and timestamps are ISO-8601 text (`YYYY-MM-DD[ HH:MM:SS]`), which compare
/// correctly as text; `REGEXP` is registered by the connection (sqlx `regexp` feature).
pub struct Sqlite;

impl Dialect for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn regex_match(&self, expr: &str, pattern: &str) -> String {
        format!("{expr} REGEXP {}", self.literal(pattern))
    }

    fn as_float(&self, expr: &str) -> String {
        format!("CAST({expr} AS REAL)")
    }

    fn date_literal(&self, date: &str) -> String {
        self.literal(date)
    }

    fn now(&self) -> String {
        "datetime('now')".into()
    }

    fn seconds_ago(&self, seconds: f64) -> String {
        format!("datetime('now', '-{seconds} seconds')")
    }

    fn seconds_between(&self, from: &str, to: &str) -> String {
        format!("((julianday({to}) - julianday({from})) * 86400.0)")
    }

    fn shape(&self, expr: &str) -> String {
        let mut out = expr.to_owned();
        for digit in DIGITS.chars() {
            out = format!("REPLACE({out}, '{digit}', '9')");
        }
        for letter in LETTERS.chars() {
            out = format!("REPLACE({out}, '{letter}', 'a')");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_embedded_quotes() {
        assert_eq!(Postgres.table("public.my\"t"), "\"public\".\"my\"\"t\"");
        assert_eq!(Sqlite.literal("it's"), "'it''s'");
        assert_eq!(Postgres.regex_match("x", "^a'b$"), "x ~ '^a''b$'");
    }
}
