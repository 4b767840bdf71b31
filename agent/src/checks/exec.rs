//! Where checks touch a database: a small executor trait with one implementation per engine, over
//! sqlx pools. It runs the SQL the planner built and reads every value as text (the planner casts),
//! lists a dataset's columns from the catalog, and computes distinct-value statistics.
//!
//! Kept apart from `source/` (profiling) on purpose: checks push SQL down, profiling pulls data out.

use std::str::FromStr;

use futures::TryStreamExt;
use futures::future::BoxFuture;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, Row, SqlitePool, TypeInfo, ValueRef};

use super::dialect::{Dialect, Postgres, Sqlite};
use super::stream::{StreamCounters, StreamSpec, StreamStats};

pub type ExecResult<T> = Result<T, sqlx::Error>;

/// One row of text values (NULL as `None`).
pub type TextRow = Vec<Option<String>>;

/// Bytes of whole COPY rows handed to the judging thread at once: small enough that a batch and its
/// field bounds stay in a core's L2 cache while every column walks it.
const STREAM_BATCH_BYTES: usize = 1 << 18;

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

    /// Whether the engine can stream a table to the agent for checks judged there
    /// (`checks::stream`).
    fn can_stream(&self) -> bool {
        false
    }

    /// One streamed pass over the dataset, judged in the agent (see `checks::stream`).
    fn streamed_stats<'a>(
        &'a self,
        _dataset: &'a str,
        _spec: &'a StreamSpec,
    ) -> BoxFuture<'a, ExecResult<StreamStats>> {
        Box::pin(async {
            Err(sqlx::Error::Protocol(
                "streamed passes are not supported by this engine".into(),
            ))
        })
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

/// Streams `COPY … TO STDOUT` text to `sender` in runs of whole rows.
async fn copy_to(
    connection: &mut sqlx::PgConnection,
    sql: &str,
    sender: tokio::sync::mpsc::Sender<Vec<u8>>,
) -> ExecResult<()> {
    let mut stream = connection.copy_out_raw(sql).await?;
    let mut pending: Vec<u8> = Vec::with_capacity(STREAM_BATCH_BYTES + 4096);
    while let Some(chunk) = stream.try_next().await? {
        pending.extend_from_slice(&chunk);
        if pending.len() >= STREAM_BATCH_BYTES
            && let Some(end) = pending.iter().rposition(|byte| *byte == b'\n')
        {
            let rest = pending.split_off(end + 1);
            let full = std::mem::replace(&mut pending, rest);
            if sender.send(full).await.is_err() {
                return Ok(());
            }
        }
    }
    if !pending.is_empty() {
        let _ = sender.send(pending).await;
    }
    Ok(())
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

    fn can_stream(&self) -> bool {
        true
    }

    fn streamed_stats<'a>(
        &'a self,
        dataset: &'a str,
        spec: &'a StreamSpec,
    ) -> BoxFuture<'a, ExecResult<StreamStats>> {
        Box::pin(async move {
            let filter = spec
                .where_
                .as_ref()
                .map(|filter| format!(" WHERE {filter}"))
                .unwrap_or_default();
            let sql = format!(
                "COPY (SELECT {} FROM {}{filter}) TO STDOUT",
                spec.fields.join(", "),
                Postgres.table(dataset)
            );
            let mut counters = StreamCounters::new(spec).map_err(sqlx::Error::Protocol)?;
            // Judging runs on a blocking thread fed with ~256 KiB runs of whole rows, so the server
            // keeps producing while the agent counts.
            let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
            let judge = tokio::task::spawn_blocking(move || {
                while let Some(lines) = receiver.blocking_recv() {
                    counters.add_lines(&lines);
                }
                counters.finish()
            });
            // A connection of its own: a COPY that fails (a filter the server rejects) leaves the
            // connection mid-protocol, so it is closed rather than returned to the pool.
            let mut connection = self.pool.acquire().await?;
            let streamed = copy_to(&mut connection, &sql, sender).await;
            if streamed.is_err() {
                connection.close_on_drop();
            }
            streamed?;
            judge
                .await
                .map_err(|error| sqlx::Error::Protocol(format!("the judging thread failed: {error}")))
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
