//! Checks on MySQL and MariaDB: the [`CheckExecutor`] over the source's pool.
//!
//! Every session (see `MysqlSource::open`) runs in UTC (`time_zone = '+00:00'`, so `TIMESTAMP` values and `UTC_TIMESTAMP()`
//! agree and `DATETIME` values are read as UTC), with `||` meaning OR as in the `mysql` client, and
//! without `NO_BACKSLASH_ESCAPES` (the dialect escapes backslashes in literals). The dialect is
//! chosen by server: MariaDB and MySQL name their binary collation without padding differently.
//! Distinct statistics use one grouping statement per column (no streamed pass).

use futures::TryStreamExt;
use futures::future::BoxFuture;
use sqlx::mysql::MySqlRow;
use sqlx::{Row, TypeInfo, ValueRef};

use super::MysqlSource;
use crate::checks::dialect::{Dialect, MARIADB, MYSQL, Mysql};
use crate::checks::exec::{CheckExecutor, ExecResult, TextRow, split_dataset};

/// MariaDB 10.2+ (`utf8mb4_nopad_bin`) or MySQL 8.0.17+ (`utf8mb4_0900_bin`, `CAST(… AS DOUBLE)`).
pub(super) fn dialect_for(version: &str) -> Result<&'static Mysql, String> {
    let number: Vec<u32> = version
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|part| part.parse().unwrap_or(0))
        .collect();
    let at_least = |wanted: [u32; 3]| number.as_slice() >= wanted.as_slice();
    if version.to_ascii_lowercase().contains("mariadb") {
        if !at_least([10, 2, 0]) {
            return Err(format!(
                "checks need MariaDB 10.2 or later (binary collations without padding); this server is {version}"
            ));
        }
        Ok(&MARIADB)
    } else {
        if !at_least([8, 0, 17]) {
            return Err(format!(
                "checks need MySQL 8.0.17 or later (utf8mb4_0900_bin, CAST AS DOUBLE); this server is {version}"
            ));
        }
        Ok(&MYSQL)
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

impl CheckExecutor for MysqlSource {
    fn dialect(&self) -> &'static dyn Dialect {
        // `Source::checks` hands this executor out only when the server has a dialect.
        self.dialect.as_ref().map_or(&MYSQL, |dialect| *dialect)
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
