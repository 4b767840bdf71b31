//! Where checks touch a database: a small executor trait with one implementation per engine, over
//! sqlx pools. It runs the SQL the planner built and reads every value as text (the planner casts),
//! lists a dataset's columns from the catalog, and computes distinct-value statistics.
//!
//! Kept apart from `source/` (profiling) on purpose: checks push SQL down, profiling pulls data out.

use std::str::FromStr;

use futures::TryStreamExt;
use futures::future::BoxFuture;
use hashbrown::HashMap;
use sqlx::postgres::{PgPoolCopyExt, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, Row, SqlitePool, TypeInfo, ValueRef};

use super::dialect::{Dialect, Postgres, Sqlite};

pub type ExecResult<T> = Result<T, sqlx::Error>;

/// One row of text values (NULL as `None`).
pub type TextRow = Vec<Option<String>>;

/// Distinct-value statistics of one column: `[distinct values, values seen more than once, rows
/// holding such values, non-null rows]`.
pub type DistinctStats = [u64; 4];

/// A column read by a streamed pass.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamColumn {
    pub name: String,
    /// `char(n)`: trailing spaces are padding and dropped before patterns, as a cast to text does.
    pub blank_padded: bool,
    /// Regular expressions judged on every value: `(pattern, fails_on_match)`; NULLs never fail.
    pub patterns: Vec<(String, bool)>,
}

/// Bytes of whole COPY rows handed to the hashing thread at once.
const STREAM_BATCH_BYTES: usize = 1 << 20;

/// Most patterns judged per column in a streamed pass (one bit each per distinct value).
pub const MAX_STREAM_PATTERNS: usize = 32;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamStats {
    pub rows: u64,
    pub distinct: Vec<DistinctStats>,
    /// Per column, per pattern: rows that fail it.
    pub pattern_failing: Vec<Vec<u64>>,
}

pub trait CheckExecutor: Send + Sync {
    fn dialect(&self) -> &'static dyn Dialect;

    /// Runs a statement returning one row and reads each value as text.
    fn fetch_one<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, ExecResult<TextRow>>;

    /// Runs a statement and reads up to `limit` rows as text.
    fn fetch_rows<'a>(&'a self, sql: &'a str, limit: usize) -> BoxFuture<'a, ExecResult<Vec<TextRow>>>;

    /// The dataset's columns and their type names in table order; empty when the table does not exist.
    fn columns<'a>(&'a self, dataset: &'a str) -> BoxFuture<'a, ExecResult<Vec<(String, String)>>>;

    /// Columns the catalog declares NOT NULL.
    fn not_null_columns<'a>(&'a self, dataset: &'a str) -> BoxFuture<'a, ExecResult<Vec<String>>>;

    /// Distinct-value statistics (and regular-expression failures) of several columns in one
    /// streamed pass over the data, when the engine has a cheaper way than one grouping statement
    /// per column.
    fn streamed_stats<'a>(
        &'a self,
        _dataset: &'a str,
        _columns: &'a [StreamColumn],
        _filter: Option<&'a str>,
    ) -> Option<BoxFuture<'a, ExecResult<StreamStats>>> {
        None
    }

    /// Runs statements in one transaction (fix scripts); returns the rows each statement affected.
    fn execute_in_transaction<'a>(&'a self, statements: &'a [String]) -> BoxFuture<'a, ExecResult<Vec<u64>>>;
}

/// Connects to a source URL: `postgres://…`/`postgresql://…`, `mysql://…`/`mariadb://…` or
/// `sqlite://path`.
pub async fn connect(url: &str) -> anyhow::Result<Box<dyn CheckExecutor>> {
    if url.starts_with("mysql://") || url.starts_with("mariadb://") {
        Ok(Box::new(super::exec_mysql::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(url)
            .await
            .map_err(|error| anyhow::anyhow!("cannot connect to the source: {error}"))?;
        Ok(Box::new(PgExecutor { pool }))
    } else if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|error| anyhow::anyhow!("expected a source URL like sqlite://path/to/file.db: {error}"))?
            .with_regexp();
        if !std::path::Path::new(path).is_file() {
            anyhow::bail!("cannot open the source: no SQLite file at {path}");
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|error| anyhow::anyhow!("cannot open the source: {error}"))?;
        Ok(Box::new(SqliteExecutor { pool }))
    } else {
        anyhow::bail!(
            "expected a source URL starting with postgres://, postgresql://, mysql://, mariadb:// or sqlite://"
        )
    }
}

fn split_dataset(dataset: &str) -> (Option<&str>, &str) {
    match dataset.split_once('.') {
        Some((schema, table)) => (Some(schema), table),
        None => (None, dataset),
    }
}

pub struct PgExecutor {
    pub pool: PgPool,
}

fn pg_text_row(row: &sqlx::postgres::PgRow) -> ExecResult<TextRow> {
    (0..row.columns().len())
        .map(|index| row.try_get::<Option<String>, _>(index))
        .collect()
}

impl CheckExecutor for PgExecutor {
    fn dialect(&self) -> &'static dyn Dialect {
        &Postgres
    }

    fn fetch_one<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, ExecResult<TextRow>> {
        Box::pin(async move {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(&self.pool)
                .await?;
            pg_text_row(&row)
        })
    }

    fn fetch_rows<'a>(&'a self, sql: &'a str, limit: usize) -> BoxFuture<'a, ExecResult<Vec<TextRow>>> {
        Box::pin(async move {
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&self.pool);
            let mut out = Vec::new();
            while out.len() < limit
                && let Some(row) = rows.try_next().await?
            {
                out.push(pg_text_row(&row)?);
            }
            Ok(out)
        })
    }

    fn columns<'a>(&'a self, dataset: &'a str) -> BoxFuture<'a, ExecResult<Vec<(String, String)>>> {
        Box::pin(async move {
            let (schema, table) = split_dataset(dataset);
            let rows = sqlx::query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text \
                 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE n.nspname = COALESCE($1, current_schema()) AND c.relname = $2 \
                 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            )
            .bind(schema)
            .bind(table)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let name: String = row.try_get(0)?;
                    let formatted: String = row.try_get(1)?;
                    let short: String = row.try_get(2)?;
                    Ok((name, format!("{formatted}|{short}")))
                })
                .collect()
        })
    }

    fn not_null_columns<'a>(&'a self, dataset: &'a str) -> BoxFuture<'a, ExecResult<Vec<String>>> {
        Box::pin(async move {
            let (schema, table) = split_dataset(dataset);
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT a.attname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = COALESCE($1, current_schema()) AND c.relname = $2 \
                 AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull ORDER BY a.attnum",
            )
            .bind(schema)
            .bind(table)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.into_iter().map(|(name,)| name).collect())
        })
    }

    fn streamed_stats<'a>(
        &'a self,
        dataset: &'a str,
        columns: &'a [StreamColumn],
        filter: Option<&'a str>,
    ) -> Option<BoxFuture<'a, ExecResult<StreamStats>>> {
        // One COPY of the projected columns beats one GROUP BY scan per column from three columns
        // on (BENCHMARKS.md: 16 columns of lineitem, 69 s as GROUPING SETS in the server).
        if columns.len() < 3 {
            return None;
        }
        Some(Box::pin(async move {
            let dialect = Postgres;
            let list: Vec<String> = columns
                .iter()
                .map(|column| dialect.quote_ident(&column.name))
                .collect();
            let filter = filter
                .map(|filter| format!(" WHERE {filter}"))
                .unwrap_or_default();
            let sql = format!(
                "COPY (SELECT {} FROM {}{filter}) TO STDOUT",
                list.join(", "),
                dialect.table(dataset)
            );
            let mut counters = DistinctCounters::new(columns).map_err(sqlx::Error::Protocol)?;
            // Hashing runs on a blocking thread fed with ~1 MiB runs of whole rows, so the server
            // keeps producing while the agent counts.
            let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
            let hasher = tokio::task::spawn_blocking(move || {
                while let Some(lines) = receiver.blocking_recv() {
                    counters.add_lines(&lines);
                }
                counters.finish()
            });
            let mut stream = self.pool.copy_out_raw(&sql).await?;
            let mut pending: Vec<u8> = Vec::with_capacity(STREAM_BATCH_BYTES + 4096);
            while let Some(chunk) = stream.try_next().await? {
                pending.extend_from_slice(&chunk);
                if pending.len() >= STREAM_BATCH_BYTES
                    && let Some(end) = pending.iter().rposition(|byte| *byte == b'\n')
                {
                    let rest = pending.split_off(end + 1);
                    let full = std::mem::replace(&mut pending, rest);
                    if sender.send(full).await.is_err() {
                        break;
                    }
                }
            }
            if !pending.is_empty() {
                let _ = sender.send(pending).await;
            }
            drop(sender);
            hasher
                .await
                .map_err(|error| sqlx::Error::Protocol(format!("the hashing thread failed: {error}")))
        }))
    }

    fn execute_in_transaction<'a>(&'a self, statements: &'a [String]) -> BoxFuture<'a, ExecResult<Vec<u64>>> {
        Box::pin(async move {
            let mut transaction = self.pool.begin().await?;
            let mut affected = Vec::new();
            for statement in statements {
                let result = sqlx::query(sqlx::AssertSqlSafe(statement.as_str()))
                    .execute(&mut *transaction)
                    .await?;
                affected.push(result.rows_affected());
            }
            transaction.commit().await?;
            Ok(affected)
        })
    }
}

/// Exact distinct counting over COPY text rows: each field's bytes (PostgreSQL's text form, whose
/// escaping is one-to-one) hashed to 64 bits; `\N` is NULL. A 64-bit hash collides with
/// probability ~n²/2⁶⁵, about 10⁻⁶ for six million distinct values. Patterns are judged once per
/// distinct value (on the unescaped text) and the verdict kept beside its count.
struct DistinctCounters {
    /// Per column: hash → (rows, pattern failure bits).
    maps: Vec<HashMap<u64, (u32, u32)>>,
    non_null: Vec<u64>,
    patterns: Vec<Vec<(regex::Regex, bool)>>,
    blank_padded: Vec<bool>,
    rows: u64,
}

impl DistinctCounters {
    fn new(columns: &[StreamColumn]) -> Result<Self, String> {
        let patterns = columns
            .iter()
            .map(|column| {
                column
                    .patterns
                    .iter()
                    .take(MAX_STREAM_PATTERNS)
                    .map(|(pattern, fails_on_match)| {
                        regex::Regex::new(pattern)
                            .map(|regex| (regex, *fails_on_match))
                            .map_err(|error| format!("pattern `{pattern}`: {error}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            maps: columns.iter().map(|_| HashMap::new()).collect(),
            non_null: vec![0; columns.len()],
            patterns,
            blank_padded: columns.iter().map(|column| column.blank_padded).collect(),
            rows: 0,
        })
    }

    fn add_lines(&mut self, lines: &[u8]) {
        // Every row ends with a newline; an empty line is a row of one empty text.
        let lines = lines.strip_suffix(b"\n").unwrap_or(lines);
        if lines.is_empty() && self.maps.len() > 1 {
            return;
        }
        for line in lines.split(|byte| *byte == b'\n') {
            self.rows += 1;
            for (index, field) in line
                .split(|byte| *byte == b'\t')
                .enumerate()
                .take(self.maps.len())
            {
                if field == b"\\N" {
                    continue;
                }
                self.non_null[index] += 1;
                let patterns = &self.patterns[index];
                let padded = self.blank_padded[index];
                let entry = self.maps[index]
                    .entry(xxhash_rust::xxh3::xxh3_64(field))
                    .or_insert_with(|| (0, failure_bits(patterns, padded, field)));
                entry.0 = entry.0.saturating_add(1);
            }
        }
    }

    fn finish(self) -> StreamStats {
        let distinct = self
            .maps
            .iter()
            .zip(&self.non_null)
            .map(|(map, non_null)| {
                let (mut repeated_values, mut repeated_rows) = (0_u64, 0_u64);
                for (count, _) in map.values().filter(|(count, _)| *count > 1) {
                    repeated_values += 1;
                    repeated_rows += u64::from(*count);
                }
                [map.len() as u64, repeated_values, repeated_rows, *non_null]
            })
            .collect();
        let pattern_failing = self
            .maps
            .iter()
            .zip(&self.patterns)
            .map(|(map, patterns)| {
                (0..patterns.len())
                    .map(|bit| {
                        map.values()
                            .filter(|(_, bits)| bits & (1 << bit) != 0)
                            .map(|(count, _)| u64::from(*count))
                            .sum()
                    })
                    .collect()
            })
            .collect();
        StreamStats {
            rows: self.rows,
            distinct,
            pattern_failing,
        }
    }
}

/// Which patterns a COPY text field fails, as bits.
fn failure_bits(patterns: &[(regex::Regex, bool)], blank_padded: bool, field: &[u8]) -> u32 {
    if patterns.is_empty() {
        return 0;
    }
    let text = unescape_copy_text(field);
    let text = if blank_padded {
        text.trim_end_matches(' ')
    } else {
        text.as_str()
    };
    let mut bits = 0;
    for (bit, (regex, fails_on_match)) in patterns.iter().enumerate() {
        if regex.is_match(text) == *fails_on_match {
            bits |= 1 << bit;
        }
    }
    bits
}

/// The value of a COPY text field: `\\`, `\n`, `\t`, `\r`, `\b`, `\f`, `\v`, octal `\NNN` and
/// `\xHH` escapes undone.
fn unescape_copy_text(field: &[u8]) -> String {
    if !field.contains(&b'\\') {
        return String::from_utf8_lossy(field).into_owned();
    }
    let mut out = Vec::with_capacity(field.len());
    let mut index = 0;
    while index < field.len() {
        let byte = field[index];
        if byte != b'\\' || index + 1 == field.len() {
            out.push(byte);
            index += 1;
            continue;
        }
        let next = field[index + 1];
        index += 2;
        match next {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = u32::from(next - b'0');
                while index < field.len() && value < 32 && (b'0'..=b'7').contains(&field[index]) {
                    value = value * 8 + u32::from(field[index] - b'0');
                    index += 1;
                }
                out.push(u8::try_from(value & 0xff).unwrap_or(0));
            }
            b'x' => {
                let digits: Vec<u8> = field[index..]
                    .iter()
                    .take(2)
                    .take_while(|digit| digit.is_ascii_hexdigit())
                    .copied()
                    .collect();
                index += digits.len();
                let value = u8::from_str_radix(std::str::from_utf8(&digits).unwrap_or("0"), 16).unwrap_or(0);
                out.push(value);
            }
            other => out.push(other),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct SqliteExecutor {
    pub pool: SqlitePool,
}

fn sqlite_text_row(row: &sqlx::sqlite::SqliteRow) -> ExecResult<TextRow> {
    (0..row.columns().len())
        .map(|index| {
            // Expressions have no declared type: ask the value itself.
            let raw = row.try_get_raw(index)?;
            if raw.is_null() {
                return Ok(None);
            }
            let kind = raw.type_info().name().to_ascii_uppercase();
            Ok(match kind.as_str() {
                "INTEGER" => row.try_get::<Option<i64>, _>(index)?.map(|v| v.to_string()),
                "REAL" => row.try_get::<Option<f64>, _>(index)?.map(|v| v.to_string()),
                _ => row.try_get::<Option<String>, _>(index)?,
            })
        })
        .collect()
}

impl CheckExecutor for SqliteExecutor {
    fn dialect(&self) -> &'static dyn Dialect {
        &Sqlite
    }

    fn fetch_one<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, ExecResult<TextRow>> {
        Box::pin(async move {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(&self.pool)
                .await?;
            sqlite_text_row(&row)
        })
    }

    fn fetch_rows<'a>(&'a self, sql: &'a str, limit: usize) -> BoxFuture<'a, ExecResult<Vec<TextRow>>> {
        Box::pin(async move {
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&self.pool);
            let mut out = Vec::new();
            while out.len() < limit
                && let Some(row) = rows.try_next().await?
            {
                out.push(sqlite_text_row(&row)?);
            }
            Ok(out)
        })
    }

    fn columns<'a>(&'a self, dataset: &'a str) -> BoxFuture<'a, ExecResult<Vec<(String, String)>>> {
        Box::pin(async move {
            let (schema, table) = split_dataset(dataset);
            let rows = sqlx::query("SELECT name, type FROM pragma_table_info(?1, ?2) ORDER BY cid")
                .bind(table)
                .bind(schema.unwrap_or("main"))
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?)))
                .collect()
        })
    }

    fn not_null_columns<'a>(&'a self, dataset: &'a str) -> BoxFuture<'a, ExecResult<Vec<String>>> {
        Box::pin(async move {
            let (schema, table) = split_dataset(dataset);
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT name FROM pragma_table_info(?1, ?2) WHERE \"notnull\" = 1 ORDER BY cid",
            )
            .bind(table)
            .bind(schema.unwrap_or("main"))
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.into_iter().map(|(name,)| name).collect())
        })
    }

    fn execute_in_transaction<'a>(&'a self, statements: &'a [String]) -> BoxFuture<'a, ExecResult<Vec<u64>>> {
        Box::pin(async move {
            let mut transaction = self.pool.begin().await?;
            let mut affected = Vec::new();
            for statement in statements {
                let result = sqlx::query(sqlx::AssertSqlSafe(statement.as_str()))
                    .execute(&mut *transaction)
                    .await?;
                affected.push(result.rows_affected());
            }
            transaction.commit().await?;
            Ok(affected)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_counters_count_values_repeats_nulls_and_pattern_failures_per_column() {
        let column = |name: &str, padded: bool, patterns: Vec<(String, bool)>| StreamColumn {
            name: name.into(),
            blank_padded: padded,
            patterns,
        };
        let mut counters = DistinctCounters::new(&[
            column("a", true, vec![("^[ab]$".into(), false)]),
            column("b", false, vec![("^1$".into(), true), ("^[0-9]$".into(), false)]),
        ])
        .unwrap();
        counters.add_lines(b"a  \t1\nb\t1\na\t\\N\nc\t2\n");
        counters.add_lines(b"a\t3\n");
        let stats = counters.finish();
        assert_eq!(stats.rows, 5);
        // "a  " and "a" hash apart (distinct in char(n) only after a cast); both match after trimming.
        assert_eq!(stats.distinct, vec![[4, 1, 2, 5], [3, 1, 2, 4]]);
        assert_eq!(stats.pattern_failing, vec![vec![1], vec![2, 0]]);

        let mut one = DistinctCounters::new(&[column("x", false, vec![])]).unwrap();
        one.add_lines(b"\nx\n");
        one.add_lines(b"\n");
        assert_eq!(
            one.finish().distinct,
            vec![[2, 1, 2, 3]],
            "empty texts are values"
        );
    }

    #[test]
    fn copy_text_escapes_are_undone() {
        assert_eq!(unescape_copy_text(b"a\\tb\\\\c\\nd"), "a\tb\\c\nd");
        assert_eq!(unescape_copy_text(b"\\101\\x42"), "AB");
        assert_eq!(unescape_copy_text(b"plain"), "plain");
    }
}
