//! MySQL and MariaDB: discovery through `information_schema`, one streaming `SELECT` per table whose
//! select list converts every column in SQL to a value the batch builder takes as is (integers as
//! `SIGNED`, decimals as text, temporals as microseconds since the epoch in UTC, text as utf8mb4).
//!
//! The session runs in UTC (`time_zone = '+00:00'`), so `TIMESTAMP` columns come out as UTC instants
//! and `DATETIME` / `DATE` values are taken as UTC wall-clock times.

use std::time::Instant;

use futures::TryStreamExt;
use sqlx::Row;
use sqlx::mysql::MySqlRow;

use super::MysqlSource;
use crate::profiler::ColumnShape;
use crate::source::scan::{
    BatchSink, CellValue, ColumnInfo, ReadError, ReadResult, RowBatcher, ScanSummary, TableInfo, TableName,
    parse_float, parse_mantissa,
};

/// Largest DECIMAL precision whose values always fit an `i64` mantissa.
const MAX_MANTISSA_PRECISION: u32 = 18;

const TABLES_SQL: &str = r#"
SELECT CAST(c.TABLE_SCHEMA AS CHAR) AS table_schema,
       CAST(c.TABLE_NAME AS CHAR) AS table_name,
       CAST(c.COLUMN_NAME AS CHAR) AS column_name,
       CAST(LOWER(c.DATA_TYPE) AS CHAR) AS data_type,
       CAST(LOWER(c.COLUMN_TYPE) AS CHAR) AS column_type,
       CAST(c.NUMERIC_PRECISION AS SIGNED) AS numeric_precision,
       CAST(c.NUMERIC_SCALE AS SIGNED) AS numeric_scale,
       CAST(t.TABLE_ROWS AS SIGNED) AS table_rows,
       CAST(COALESCE(t.DATA_LENGTH, 0) + COALESCE(t.INDEX_LENGTH, 0) AS SIGNED) AS size_bytes,
       CAST(DATE_FORMAT(t.UPDATE_TIME, '%Y-%m-%dT%H:%i:%sZ') AS CHAR) AS update_time
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = COALESCE(?, DATABASE())
  AND (? IS NULL OR c.TABLE_NAME = ?)
  AND (? IS NOT NULL OR t.TABLE_TYPE = 'BASE TABLE')
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION
"#;

/// How a column is selected and decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// `CAST(col AS SIGNED)`, as `i64`.
    Signed,
    /// `CAST(col AS SIGNED)`, non-zero is true (`tinyint(1)`, MySQL's BOOLEAN).
    Boolean,
    /// `CAST(col AS CHAR)`, parsed into an `i64` (BIGINT UNSIGNED may not fit).
    UnsignedText,
    /// `CAST(col AS DOUBLE)`.
    Double,
    /// `CAST(col AS CHAR)` parsed into a mantissa at this scale.
    Decimal(u32),
    /// `CAST(col AS CHAR)` parsed as a number (decimals too wide for a mantissa).
    DecimalAsFloat,
    /// `TIMESTAMPDIFF(MICROSECOND, '1970-01-01', col)`.
    Micros,
    /// `CONVERT(col USING utf8mb4)`.
    Text,
}

impl Read {
    fn shape(self) -> ColumnShape {
        match self {
            Read::Signed | Read::UnsignedText => ColumnShape::Integer,
            Read::Boolean => ColumnShape::Boolean,
            Read::Double | Read::DecimalAsFloat => ColumnShape::Float,
            Read::Decimal(scale) => ColumnShape::Decimal(scale),
            Read::Micros => ColumnShape::Micros,
            Read::Text => ColumnShape::Text,
        }
    }

    fn select(self, column: &str) -> String {
        let column = quote_ident(column);
        match self {
            Read::Signed | Read::Boolean => format!("CAST({column} AS SIGNED)"),
            Read::UnsignedText | Read::Decimal(_) | Read::DecimalAsFloat => {
                format!("CAST({column} AS CHAR)")
            }
            Read::Double => format!("CAST({column} AS DOUBLE)"),
            Read::Micros => format!("TIMESTAMPDIFF(MICROSECOND, TIMESTAMP'1970-01-01 00:00:00', {column})"),
            Read::Text => format!("CONVERT({column} USING utf8mb4)"),
        }
    }
}

/// Chooses how to read a column from `DATA_TYPE`, `COLUMN_TYPE` and the decimal precision/scale.
fn plan(
    data_type: &str,
    column_type: &str,
    precision: Option<i64>,
    scale: Option<i64>,
) -> Result<Read, String> {
    let unsigned = column_type.contains("unsigned");
    Ok(match data_type {
        "tinyint" if column_type.starts_with("tinyint(1)") => Read::Boolean,
        "bool" | "boolean" => Read::Boolean,
        "bigint" if unsigned => Read::UnsignedText,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => Read::Signed,
        "float" | "double" | "real" | "double precision" => Read::Double,
        "decimal" | "numeric" | "dec" | "fixed" => {
            match (
                precision.and_then(|p| u32::try_from(p).ok()),
                scale.and_then(|s| u32::try_from(s).ok()),
            ) {
                (Some(precision), Some(scale)) if precision <= MAX_MANTISSA_PRECISION => Read::Decimal(scale),
                _ => Read::DecimalAsFloat,
            }
        }
        "date" | "datetime" | "timestamp" => Read::Micros,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" | "json"
        | "time" | "uuid" | "inet4" | "inet6" => Read::Text,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            return Err(format!("binary data ({data_type}) is not profiled"));
        }
        other => return Err(format!("the type {other} is not profiled")),
    })
}

/// Quotes an identifier with backticks.
fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

impl MysqlSource {
    pub(super) async fn list(&self, only: Option<&TableName>) -> ReadResult<Vec<TableInfo>> {
        let mut connection = self.acquire().await?;
        let schema = only.and_then(|name| name.schema.clone());
        let name = only.map(|name| name.name.clone());
        let rows = sqlx::query(TABLES_SQL)
            .bind(schema)
            .bind(name.clone())
            .bind(name.clone())
            .bind(name)
            .fetch_all(&mut *connection)
            .await
            .map_err(|error| ReadError::Discover(error.to_string()));
        drop(connection);
        let mut tables: Vec<TableInfo> = Vec::new();
        let discover = |error: sqlx::Error| ReadError::Discover(error.to_string());
        for row in rows? {
            let schema: String = row.try_get("table_schema").map_err(discover)?;
            let name: String = row.try_get("table_name").map_err(discover)?;
            let data_type: String = row.try_get("data_type").map_err(discover)?;
            let column_type: String = row.try_get("column_type").map_err(discover)?;
            let read = plan(
                &data_type,
                &column_type,
                row.try_get("numeric_precision").map_err(discover)?,
                row.try_get("numeric_scale").map_err(discover)?,
            );
            let column = ColumnInfo {
                name: row.try_get("column_name").map_err(discover)?,
                data_type: column_type,
                read: read.map(Read::shape),
            };
            match tables.last_mut() {
                Some(last) if last.schema == schema && last.name == name => last.columns.push(column),
                _ => {
                    let rows: Option<i64> = row.try_get("table_rows").map_err(discover)?;
                    tables.push(TableInfo {
                        schema,
                        name,
                        columns: vec![column],
                        estimated_rows: rows.and_then(|rows| u64::try_from(rows).ok()),
                        size_bytes: row.try_get("size_bytes").map_err(discover)?,
                        modified_at: row.try_get("update_time").map_err(discover)?,
                    });
                }
            }
        }
        Ok(tables)
    }

    pub(super) async fn scan_table(
        &self,
        table: &TableInfo,
        sample_percent: Option<f64>,
        sink: &mut BatchSink,
    ) -> ReadResult<ScanSummary> {
        let started = Instant::now();
        let mut summary = ScanSummary::default();
        if sample_percent.is_some() {
            summary.warn("sampling is not supported for MySQL; the whole table was read".to_owned());
        }
        // The read plan again, from the column types the listing recorded.
        let mut reads = Vec::new();
        let mut select = Vec::new();
        for column in &table.columns {
            if column.read.is_err() {
                continue;
            }
            let (data_type, precision, scale) = parse_column_type(&column.data_type);
            let read = plan(&data_type, &column.data_type, precision, scale)
                .map_err(|message| ReadError::Read(format!("{}: {message}", column.name)))?;
            select.push(read.select(&column.name));
            reads.push(read);
        }
        let sql = format!(
            "SELECT {} FROM {}.{}",
            if select.is_empty() {
                "1".to_owned()
            } else {
                select.join(", ")
            },
            quote_ident(&table.schema),
            quote_ident(&table.name)
        );
        let mut connection = self.acquire().await?;
        let mut batcher = RowBatcher::new(reads.iter().map(|read| read.shape()).collect(), sink.batch_rows());
        let mut row_number = 0_u64;
        let result = async {
            // Identifiers are quoted by `quote_ident`; no value is spliced into the text.
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *connection);
            while let Some(row) = rows
                .try_next()
                .await
                .map_err(|error| ReadError::Read(error.to_string()))?
            {
                row_number += 1;
                for (index, read) in reads.iter().enumerate() {
                    batcher.push_decoded(index, row_number, || decode(&row, index, *read));
                }
                batcher.end_row(sink).await?;
            }
            drop(rows);
            batcher.flush(sink).await
        }
        .await;
        if result.is_err() {
            // A read ended early may leave rows unread on the connection: closed, not pooled.
            connection.close_on_drop();
        }
        result?;
        summary.rows = row_number;
        summary.elapsed = started.elapsed();
        summary.blocked = sink.blocked();
        Ok(summary)
    }
}

/// `decimal(15,2) unsigned` → (`decimal`, Some(15), Some(2)).
fn parse_column_type(column_type: &str) -> (String, Option<i64>, Option<i64>) {
    let (name, rest) = column_type.split_once('(').unwrap_or((column_type, ""));
    let name = name.split_whitespace().next().unwrap_or(name).to_owned();
    let arguments = rest.split_once(')').map_or("", |(arguments, _)| arguments);
    let mut numbers = arguments.split(',').map(|part| part.trim().parse::<i64>().ok());
    let precision = numbers.next().flatten();
    let scale = numbers.next().flatten();
    let scale = if name == "decimal" || name == "numeric" {
        scale.or(Some(0))
    } else {
        scale
    };
    (name, precision, scale)
}

fn decode(row: &MySqlRow, index: usize, read: Read) -> Result<CellValue<'_>, String> {
    let error = |error: sqlx::Error| error.to_string();
    Ok(match read {
        Read::Signed | Read::Micros => {
            let value: Option<i64> = row.try_get(index).map_err(error)?;
            match (value, read) {
                (None, _) => CellValue::Null,
                (Some(value), Read::Micros) => CellValue::Micros(value),
                (Some(value), _) => CellValue::Integer(value),
            }
        }
        Read::Boolean => {
            let value: Option<i64> = row.try_get(index).map_err(error)?;
            value.map_or(CellValue::Null, |value| CellValue::Boolean(value != 0))
        }
        Read::Double => {
            let value: Option<f64> = row.try_get(index).map_err(error)?;
            value.map_or(CellValue::Null, CellValue::Float)
        }
        Read::UnsignedText | Read::Decimal(_) | Read::DecimalAsFloat => {
            let value: Option<&str> = row.try_get(index).map_err(error)?;
            match (value, read) {
                (None, _) => CellValue::Null,
                (Some(text), Read::UnsignedText) => CellValue::Integer(
                    text.parse::<i64>()
                        .map_err(|_| format!("the value {text} does not fit a signed 64-bit integer"))?,
                ),
                (Some(text), Read::Decimal(scale)) => CellValue::Mantissa(
                    parse_mantissa(text, scale)
                        .ok_or_else(|| format!("`{text}` is not a decimal of scale {scale}"))?,
                ),
                (Some(text), _) => {
                    CellValue::Float(parse_float(text).ok_or_else(|| format!("`{text}` is not a number"))?)
                }
            }
        }
        Read::Text => {
            let value: Option<&str> = row.try_get(index).map_err(error)?;
            value.map_or(CellValue::Null, CellValue::Text)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_pick_the_read() {
        assert_eq!(plan("tinyint", "tinyint(1)", None, None), Ok(Read::Boolean));
        assert_eq!(plan("tinyint", "tinyint(4)", None, None), Ok(Read::Signed));
        assert_eq!(
            plan("bigint", "bigint(20) unsigned", None, None),
            Ok(Read::UnsignedText)
        );
        assert_eq!(
            plan("decimal", "decimal(15,2)", Some(15), Some(2)),
            Ok(Read::Decimal(2))
        );
        assert_eq!(
            plan("decimal", "decimal(30,2)", Some(30), Some(2)),
            Ok(Read::DecimalAsFloat)
        );
        assert_eq!(plan("datetime", "datetime(6)", None, None), Ok(Read::Micros));
        assert!(plan("blob", "blob", None, None).is_err());
        assert_eq!(
            parse_column_type("decimal(15,2) unsigned"),
            ("decimal".into(), Some(15), Some(2))
        );
        assert_eq!(parse_column_type("int(11)"), ("int".into(), Some(11), None));
        assert_eq!(
            Read::Micros.select("a`b"),
            "TIMESTAMPDIFF(MICROSECOND, TIMESTAMP'1970-01-01 00:00:00', `a``b`)"
        );
    }
}
