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

    /// Distinct-value statistics of several columns in one streamed pass over the data, when the
    /// engine has a cheaper way than one grouping statement per column.
    fn streamed_distinct_stats<'a>(
        &'a self,
        _dataset: &'a str,
        _columns: &'a [String],
        _filter: Option<&'a str>,
    ) -> Option<BoxFuture<'a, ExecResult<Vec<DistinctStats>>>> {
        None
    }

    /// Runs statements in one transaction (fix scripts); returns the rows each statement affected.
    fn execute_in_transaction<'a>(&'a self, statements: &'a [String]) -> BoxFuture<'a, ExecResult<Vec<u64>>>;
}

/// Connects to a source URL: `postgres://…`/`postgresql://…` or `sqlite://path`.
pub async fn connect(url: &str) -> anyhow::Result<Box<dyn CheckExecutor>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
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
        anyhow::bail!("expected a source URL starting with postgres://, postgresql:// or sqlite://")
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

    fn streamed_distinct_stats<'a>(
        &'a self,
        dataset: &'a str,
        columns: &'a [String],
        filter: Option<&'a str>,
    ) -> Option<BoxFuture<'a, ExecResult<Vec<DistinctStats>>>> {
        // One COPY of the projected columns beats one GROUP BY scan per column from three columns
        // on (BENCHMARKS.md: 16 columns of lineitem, 69 s as GROUPING SETS in the server).
        if columns.len() < 3 {
            return None;
        }
        Some(Box::pin(async move {
            let dialect = Postgres;
            let list: Vec<String> = columns.iter().map(|column| dialect.quote_ident(column)).collect();
            let filter = filter
                .map(|filter| format!(" WHERE {filter}"))
                .unwrap_or_default();
            let sql = format!(
                "COPY (SELECT {} FROM {}{filter}) TO STDOUT",
                list.join(", "),
                dialect.table(dataset)
            );
            let mut stream = self.pool.copy_out_raw(&sql).await?;
            let mut counters = DistinctCounters::new(columns.len());
            let mut pending: Vec<u8> = Vec::new();
            while let Some(chunk) = stream.try_next().await? {
                if pending.is_empty() && chunk.ends_with(b"\n") {
                    counters.add_lines(&chunk);
                } else {
                    pending.extend_from_slice(&chunk);
                    if let Some(end) = pending.iter().rposition(|byte| *byte == b'\n') {
                        counters.add_lines(&pending[..=end]);
                        pending.drain(..=end);
                    }
                }
            }
            Ok(counters.finish())
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
/// probability ~n²/2⁶⁵, about 10⁻⁶ for six million distinct values.
struct DistinctCounters {
    maps: Vec<HashMap<u64, u32>>,
    non_null: Vec<u64>,
}

impl DistinctCounters {
    fn new(columns: usize) -> Self {
        Self {
            maps: (0..columns).map(|_| HashMap::new()).collect(),
            non_null: vec![0; columns],
        }
    }

    fn add_lines(&mut self, lines: &[u8]) {
        // Every row ends with a newline; an empty line is a row of one empty text.
        let lines = lines.strip_suffix(b"\n").unwrap_or(lines);
        if lines.is_empty() && self.maps.len() > 1 {
            return;
        }
        for line in lines.split(|byte| *byte == b'\n') {
            for (index, field) in line
                .split(|byte| *byte == b'\t')
                .enumerate()
                .take(self.maps.len())
            {
                if field == b"\\N" {
                    continue;
                }
                self.non_null[index] += 1;
                let count = self.maps[index]
                    .entry(xxhash_rust::xxh3::xxh3_64(field))
                    .or_insert(0);
                *count = count.saturating_add(1);
            }
        }
    }

    fn finish(self) -> Vec<DistinctStats> {
        self.maps
            .iter()
            .zip(self.non_null)
            .map(|(map, non_null)| {
                let (mut repeated_values, mut repeated_rows) = (0_u64, 0_u64);
                for count in map.values().filter(|count| **count > 1) {
                    repeated_values += 1;
                    repeated_rows += u64::from(*count);
                }
                [map.len() as u64, repeated_values, repeated_rows, non_null]
            })
            .collect()
    }
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
    fn distinct_counters_count_values_repeats_and_nulls_per_column() {
        let mut counters = DistinctCounters::new(2);
        counters.add_lines(b"a\t1\nb\t1\na\t\\N\nc\t2\n");
        counters.add_lines(b"a\t3\n");
        assert_eq!(counters.finish(), vec![[3, 1, 3, 5], [3, 1, 2, 4]]);
        let mut one = DistinctCounters::new(1);
        one.add_lines(b"\nx\n");
        one.add_lines(b"\n");
        assert_eq!(one.finish(), vec![[2, 1, 2, 3]], "empty texts are values");
    }
}
