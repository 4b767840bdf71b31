//! Checks on SQLite: the [`CheckExecutor`] over the source's pool (opened with the REGEXP function).

use futures::TryStreamExt;
use futures::future::BoxFuture;
use sqlx::{Row, TypeInfo, ValueRef};

use super::SqliteSource;
use crate::checks::dialect::{Dialect, Sqlite};
use crate::checks::exec::{CheckExecutor, ExecResult, TextRow, split_dataset};

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

impl CheckExecutor for SqliteSource {
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
