//! Checks on MySQL and MariaDB: the [`CheckExecutor`] over a sqlx MySQL pool.
//!
//! Every session runs in UTC (`time_zone = '+00:00'`, so `TIMESTAMP` values and `UTC_TIMESTAMP()`
//! agree and `DATETIME` values are read as UTC), with `||` meaning OR as in the `mysql` client, and
//! without `NO_BACKSLASH_ESCAPES` (the dialect escapes backslashes in literals). The dialect is
//! chosen by server: MariaDB and MySQL name their binary collation without padding differently.
//! Distinct statistics use one grouping statement per column (no streamed pass).

use std::str::FromStr;
use std::time::Duration;

use futures::TryStreamExt;
use futures::future::BoxFuture;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions, MySqlRow};
use sqlx::{ConnectOptions, Executor, MySqlPool, Row, TypeInfo, ValueRef};

use super::dialect::{Dialect, MARIADB, MYSQL, Mysql};
use super::exec::{CheckExecutor, ExecResult, TextRow};

/// How long connecting may take before the source counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct MysqlExecutor {
    pool: MySqlPool,
    dialect: &'static Mysql,
}

/// Connects to `mysql://…` or `mariadb://…`.
pub async fn connect(url: &str) -> anyhow::Result<MysqlExecutor> {
    // sqlx knows only the mysql:// scheme; MariaDB URLs are the same thing.
    let normalized = match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_owned(),
    };
    let options = MySqlConnectOptions::from_str(&normalized)
        .map_err(|error| {
            anyhow::anyhow!("expected a source URL like mysql://user:password@host/database: {error}")
        })?
        .timezone(Some("+00:00".to_owned()))
        .pipes_as_concat(false)
        .charset("utf8mb4")
        .disable_statement_logging();
    let pool = MySqlPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(CONNECT_TIMEOUT)
        .after_connect(|connection, _| {
            Box::pin(async move {
                connection
                    .execute("SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
                    .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|error| anyhow::anyhow!("cannot connect to the source: {error}"))?;
    let (version,): (String,) = sqlx::query_as("SELECT CAST(VERSION() AS CHAR)")
        .fetch_one(&pool)
        .await
        .map_err(|error| anyhow::anyhow!("cannot read the server version: {error}"))?;
    let dialect = dialect_for(&version)?;
    Ok(MysqlExecutor { pool, dialect })
}

/// MariaDB 10.2+ (`utf8mb4_nopad_bin`) or MySQL 8.0.17+ (`utf8mb4_0900_bin`, `CAST(… AS DOUBLE)`).
fn dialect_for(version: &str) -> anyhow::Result<&'static Mysql> {
    let number: Vec<u32> = version
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|part| part.parse().unwrap_or(0))
        .collect();
    let at_least = |wanted: [u32; 3]| number.as_slice() >= wanted.as_slice();
    if version.to_ascii_lowercase().contains("mariadb") {
        anyhow::ensure!(
            at_least([10, 2, 0]),
            "checks need MariaDB 10.2 or later (binary collations without padding); this server is {version}"
        );
        Ok(&MARIADB)
    } else {
        anyhow::ensure!(
            at_least([8, 0, 17]),
            "checks need MySQL 8.0.17 or later (utf8mb4_0900_bin, CAST AS DOUBLE); this server is {version}"
        );
        Ok(&MYSQL)
    }
}

fn split_dataset(dataset: &str) -> (Option<&str>, &str) {
    match dataset.split_once('.') {
        Some((schema, table)) => (Some(schema), table),
        None => (None, dataset),
    }
}

/// Every value as text. The planner casts what it selects to text; other values (the catalog, user
/// SQL in fix logs) are decoded by their type.
fn text_row(row: &MySqlRow) -> ExecResult<TextRow> {
    (0..row.columns().len())
        .map(|index| {
            let raw = row.try_get_raw(index)?;
            if raw.is_null() {
                return Ok(None);
            }
            let kind = raw.type_info().name().to_ascii_uppercase();
            Ok(Some(match kind.as_str() {
                "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
                    row.try_get_unchecked::<i64, _>(index)?.to_string()
                }
                "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED"
                | "BIGINT UNSIGNED" => row.try_get_unchecked::<u64, _>(index)?.to_string(),
                "FLOAT" => row.try_get_unchecked::<f32, _>(index)?.to_string(),
                "DOUBLE" => row.try_get_unchecked::<f64, _>(index)?.to_string(),
                "DATE" => row.try_get_unchecked::<chrono::NaiveDate, _>(index)?.to_string(),
                "DATETIME" | "TIMESTAMP" => row
                    .try_get_unchecked::<chrono::NaiveDateTime, _>(index)?
                    .format("%Y-%m-%d %H:%M:%S%.f")
                    .to_string(),
                // Text, DECIMAL (sent as digits), JSON, ENUM/SET; binary strings lossily.
                _ => String::from_utf8_lossy(row.try_get_unchecked::<&[u8], _>(index)?).into_owned(),
            }))
        })
        .collect()
}

/// The column type as the catalog has it, its base name, and the standard SQL name where MySQL's
/// differs, so `schema_column_types` accepts `integer` for `int` as on PostgreSQL.
fn type_names(column_type: &str, data_type: &str) -> String {
    let standard = match data_type {
        "int" => Some("integer"),
        "decimal" => Some("numeric"),
        "double" => Some("double precision"),
        "float" => Some("real"),
        "varchar" => Some("character varying"),
        "char" => Some("character"),
        "tinyint" if column_type.starts_with("tinyint(1)") => Some("boolean"),
        _ => None,
    };
    match standard {
        Some(standard) => format!("{column_type}|{data_type}|{standard}"),
        None => format!("{column_type}|{data_type}"),
    }
}

impl CheckExecutor for MysqlExecutor {
    fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    fn fetch_one<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, ExecResult<TextRow>> {
        Box::pin(async move {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(&self.pool)
                .await?;
            text_row(&row)
        })
    }

    fn fetch_rows<'a>(&'a self, sql: &'a str, limit: usize) -> BoxFuture<'a, ExecResult<Vec<TextRow>>> {
        Box::pin(async move {
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&self.pool);
            let mut out = Vec::new();
            while out.len() < limit
                && let Some(row) = rows.try_next().await?
            {
                out.push(text_row(&row)?);
            }
            Ok(out)
        })
    }

    fn columns<'a>(&'a self, dataset: &'a str) -> BoxFuture<'a, ExecResult<Vec<(String, String)>>> {
        Box::pin(async move {
            let (schema, table) = split_dataset(dataset);
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT CAST(COLUMN_NAME AS CHAR), CAST(LOWER(COLUMN_TYPE) AS CHAR), \
                 CAST(LOWER(DATA_TYPE) AS CHAR) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            )
            .bind(schema)
            .bind(table)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(name, column_type, data_type)| (name, type_names(&column_type, &data_type)))
                .collect())
        })
    }

    fn not_null_columns<'a>(&'a self, dataset: &'a str) -> BoxFuture<'a, ExecResult<Vec<String>>> {
        Box::pin(async move {
            let (schema, table) = split_dataset(dataset);
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND IS_NULLABLE = 'NO' \
                 ORDER BY ORDINAL_POSITION",
            )
            .bind(schema)
            .bind(table)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.into_iter().map(|(name,)| name).collect())
        })
    }

    /// Statements in one transaction. DDL commits implicitly in MySQL, so callers run it before.
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
    fn the_dialect_follows_the_server() {
        assert_eq!(
            dialect_for("10.11.19-MariaDB-0+deb12u1").unwrap().literal("x"),
            MARIADB.literal("x")
        );
        assert_eq!(dialect_for("8.0.36").unwrap().literal("x"), MYSQL.literal("x"));
        assert!(
            dialect_for("5.7.44")
                .unwrap_err()
                .to_string()
                .contains("MySQL 8.0.17 or later")
        );
        assert!(dialect_for("10.1.48-MariaDB").is_err());
    }

    #[test]
    fn types_carry_their_standard_names() {
        assert_eq!(type_names("int(11)", "int"), "int(11)|int|integer");
        assert_eq!(type_names("tinyint(1)", "tinyint"), "tinyint(1)|tinyint|boolean");
        assert_eq!(type_names("text", "text"), "text|text");
    }
}
