//! SQL dialects: everything the templates need that differs between engines (quoting, regular
//! expressions, casts, dates, how text compares). Templates only build SQL through this trait, so
//! adding an engine is one new impl ([`Mysql`]: backtick quoting, `REGEXP`, `CAST(x AS CHAR)`,
//! `TIMESTAMPDIFF`, binary collations).

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

    /// `expr` as a value that compares byte for byte when it is text (case and trailing spaces
    /// count), as PostgreSQL and SQLite compare text by default.
    fn exact(&self, expr: &str) -> String {
        expr.to_owned()
    }

    /// `left <operator> right` with text compared as [`Dialect::exact`] does and other values by
    /// their type.
    fn compare(&self, left: &str, operator: &str, right: &str) -> String {
        format!("{left} {operator} {right}")
    }

    /// A `GROUP BY` or `COUNT(DISTINCT …)` item that tells the values of `expr` apart exactly.
    fn group_key(&self, expr: &str) -> String {
        expr.to_owned()
    }
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
        nested_replace_shape(expr)
    }
}

/// [`Dialect::shape`] as nested `REPLACE`s (case-sensitive in SQLite, MySQL and MariaDB alike).
fn nested_replace_shape(expr: &str) -> String {
    let mut out = expr.to_owned();
    for digit in DIGITS.chars() {
        out = format!("REPLACE({out}, '{digit}', '9')");
    }
    for letter in LETTERS.chars() {
        out = format!("REPLACE({out}, '{letter}', 'a')");
    }
    out
}

/// MySQL 8 and MariaDB (the executor picks the value by server). Their default collations ignore
/// case, and MariaDB's and MySQL's `*_bin` ones trailing spaces (PAD SPACE), so every literal and
/// every text the templates compare carries an explicit binary collation without padding:
/// comparisons with a text column then go by bytes, while numbers and dates still compare as
/// numbers and dates (an explicit collation only decides between texts). Group keys add the exact
/// text beside the value. Regular expressions (`REGEXP`: PCRE in MariaDB, ICU in MySQL) see `\z`
/// where the pattern says `$`, which in both would also match before a final newline. Timestamps
/// are UTC: the session runs with `time_zone = '+00:00'`.
#[derive(Debug)]
pub struct Mysql {
    /// utf8mb4's binary collation without padding.
    binary_collation: &'static str,
}

/// MySQL 8.0.17 or later.
pub static MYSQL: Mysql = Mysql {
    binary_collation: "utf8mb4_0900_bin",
};

/// MariaDB 10.2 or later.
pub static MARIADB: Mysql = Mysql {
    binary_collation: "utf8mb4_nopad_bin",
};

impl Dialect for Mysql {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn quote_ident(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('`', "``"))
    }

    /// utf8mb4 whatever the connection's character set, backslashes escaped (the executor keeps
    /// `NO_BACKSLASH_ESCAPES` out of the session), in the binary collation.
    fn literal(&self, value: &str) -> String {
        format!(
            "_utf8mb4'{}' COLLATE {}",
            value.replace('\\', "\\\\").replace('\'', "''"),
            self.binary_collation
        )
    }

    fn regex_match(&self, expr: &str, pattern: &str) -> String {
        format!("{expr} REGEXP {}", self.literal(&end_of_text_anchors(pattern)))
    }

    fn as_text(&self, expr: &str) -> String {
        format!(
            "CAST({expr} AS CHAR CHARACTER SET utf8mb4) COLLATE {}",
            self.binary_collation
        )
    }

    fn as_float(&self, expr: &str) -> String {
        format!("CAST({expr} AS DOUBLE)")
    }

    fn char_length(&self, expr: &str) -> String {
        format!("CHAR_LENGTH({expr})")
    }

    fn date_literal(&self, date: &str) -> String {
        format!("CAST({} AS DATETIME(6))", self.literal(date))
    }

    fn now(&self) -> String {
        "UTC_TIMESTAMP(6)".into()
    }

    fn seconds_ago(&self, seconds: f64) -> String {
        let micros = (seconds * 1e6).round();
        format!("(UTC_TIMESTAMP(6) - INTERVAL {micros} MICROSECOND)")
    }

    fn seconds_between(&self, from: &str, to: &str) -> String {
        format!("(TIMESTAMPDIFF(MICROSECOND, {from}, {to}) / 1E6)")
    }

    fn stddev_samp(&self, expr: &str) -> Option<String> {
        Some(format!("STDDEV_SAMP({expr})"))
    }

    fn shape(&self, expr: &str) -> String {
        nested_replace_shape(expr)
    }

    fn exact(&self, expr: &str) -> String {
        self.as_text(expr)
    }

    /// Numbers, dates and binary strings (collation `binary`) compare by value, texts by bytes.
    fn compare(&self, left: &str, operator: &str, right: &str) -> String {
        format!(
            "IF(COLLATION({left}) = 'binary' OR COLLATION({right}) = 'binary', {left} {operator} {right}, {} {operator} {})",
            self.exact(left),
            self.exact(right)
        )
    }

    /// The value (numbers group as numbers) and its exact text (texts group by bytes).
    fn group_key(&self, expr: &str) -> String {
        format!("{expr}, {}", self.exact(expr))
    }
}

/// `pattern` with every `$` anchor (outside a bracket expression, not escaped) replaced by `\z`,
/// so that it matches only at the very end as in PostgreSQL and Rust.
fn end_of_text_anchors(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` right after `[` or `[^` is a member, not the end.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            // A POSIX class (`[:alpha:]`) or collating element inside a bracket expression.
            '[' if in_class && matches!(chars.peek(), Some(':' | '.' | '=')) => {
                out.push(c);
                let mut previous = None;
                for (index, next) in chars.by_ref().enumerate() {
                    out.push(next);
                    if next == ']' && index > 1 && matches!(previous, Some(':' | '.' | '=')) {
                        break;
                    }
                    previous = Some(next);
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class => out.push_str("\\z"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_embedded_quotes() {
        assert_eq!(Postgres.table("public.my\"t"), "\"public\".\"my\"\"t\"");
        assert_eq!(Sqlite.literal("it's"), "'it''s'");
        assert_eq!(Postgres.regex_match("x", "^a'b$"), "x ~ '^a''b$'");
        assert_eq!(MARIADB.table("db.my`t"), "`db`.`my``t`");
        assert_eq!(
            MARIADB.literal("it's a\\b"),
            "_utf8mb4'it''s a\\\\b' COLLATE utf8mb4_nopad_bin"
        );
    }

    #[test]
    fn mysql_patterns_anchor_at_the_very_end() {
        assert_eq!(end_of_text_anchors("^a$"), "^a\\z");
        assert_eq!(end_of_text_anchors("^(a$|b)$"), "^(a\\z|b)\\z");
        assert_eq!(end_of_text_anchors("^[$]\\$x[]$]$"), "^[$]\\$x[]$]\\z");
        assert_eq!(end_of_text_anchors("[^]$]"), "[^]$]");
        assert_eq!(end_of_text_anchors("^[[:alpha:]$]+$"), "^[[:alpha:]$]+\\z");
        assert_eq!(
            MYSQL.regex_match("v", "^\\.$"),
            "v REGEXP _utf8mb4'^\\\\.\\\\z' COLLATE utf8mb4_0900_bin"
        );
    }
}
