//! Checks on PostgreSQL: the [`CheckExecutor`] over the source's pool, with streamed passes judged in
//! the agent from `COPY … TO STDOUT` text.

use futures::TryStreamExt;
use futures::future::BoxFuture;
use sqlx::Row;

use super::PostgresSource;
use crate::checks::dialect::{Dialect, Postgres};
use crate::checks::exec::{CheckExecutor, ExecResult, TextRow, split_dataset};
use crate::checks::stream::{StreamCounters, StreamSpec, StreamStats};

/// Bytes of whole COPY rows handed to the judging thread at once: small enough that a batch and its
/// field bounds stay in a core's L2 cache while every column walks it.
const STREAM_BATCH_BYTES: usize = 1 << 18;

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

impl CheckExecutor for PostgresSource {
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
        super::ENGINE.capabilities.streamed_checks
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
