//! SQLite: discovery through `sqlite_schema` and `PRAGMA table_info`, one `SELECT` per table.
//!
//! SQLite types are per value, so the column's declared type picks its shape (SQLite's own affinity
//! rules, plus BOOLEAN and DATE/TIME names) and each value is decoded by its storage class
//! (`typeof`). A value that does not fit the column (text in an INTEGER column) fails that column
//! with its row number; the other columns complete. Temporal columns take ISO-8601 text (a zone
//! offset is honoured, none means UTC) or integer Unix seconds.

use std::time::Instant;

use futures::TryStreamExt;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteSource;
use crate::profiler::ColumnShape;
use crate::source::files::modified_at;
use crate::source::scan::{
    BatchSink, CellValue, ColumnInfo, ReadError, ReadResult, RowBatcher, ScanSummary, TableInfo, TableName,
    parse_timestamp,
};

/// The shape a declared type gives a column, after SQLite's affinity rules (section 3.1 of its
/// datatype page) with BOOLEAN and date/time names recognised first.
fn shape_of(declared: &str) -> Result<ColumnShape, String> {
    let upper = declared.to_ascii_uppercase();
    Ok(if upper.contains("BOOL") {
        ColumnShape::Boolean
    } else if upper.contains("DATE") || upper.contains("TIME") {
        ColumnShape::Micros
    } else if upper.contains("INT") {
        ColumnShape::Integer
    } else if upper.contains("CHAR") || upper.contains("CLOB") || upper.contains("TEXT") {
        ColumnShape::Text
    } else if upper.contains("BLOB") {
        return Err("binary data (BLOB) is not profiled".to_owned());
    } else if upper.is_empty() {
        // No declared type: values keep whatever class they were stored with.
        ColumnShape::Text
    } else {
        // REAL, FLOAT, DOUBLE, NUMERIC, DECIMAL: stored as integers or reals.
        ColumnShape::Float
    })
}

/// Quotes an identifier with double quotes.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl SqliteSource {
    pub(super) async fn list(&self, only: Option<&TableName>) -> ReadResult<Vec<TableInfo>> {
        let discover = |error: sqlx::Error| ReadError::Discover(error.to_string());
        let mut connection = self.acquire().await?;
        let listed: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .fetch_all(&mut *connection)
        .await
        .map_err(discover)?;
        let modified = modified_at(&self.path);
        let mut tables = Vec::new();
        for (name, kind) in listed {
            let wanted = match only {
                Some(only) => only.matches("main", &name),
                None => kind == "table",
            };
            if !wanted {
                continue;
            }
            let columns: Vec<(String, String)> =
                sqlx::query_as("SELECT name, type FROM pragma_table_info(?) ORDER BY cid")
                    .bind(&name)
                    .fetch_all(&mut *connection)
                    .await
                    .map_err(discover)?;
            // Pages of the table and its indexes; `dbstat` is compiled into the bundled SQLite.
            let size: Option<i64> = sqlx::query_scalar(
                "SELECT sum(pgsize) FROM dbstat WHERE name = ?1 \
                 OR name IN (SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1)",
            )
            .bind(&name)
            .fetch_one(&mut *connection)
            .await
            .ok()
            .flatten();
            tables.push(TableInfo {
                schema: "main".to_owned(),
                name,
                columns: columns
                    .into_iter()
                    .map(|(name, declared)| ColumnInfo {
                        name,
                        read: shape_of(&declared),
                        data_type: if declared.is_empty() {
                            "ANY".to_owned()
                        } else {
                            declared
                        },
                    })
                    .collect(),
                estimated_rows: None,
                size_bytes: size,
                modified_at: modified.clone(),
            });
        }
        drop(connection);
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
            summary.warn("sampling is not supported for SQLite; the whole table was read".to_owned());
        }
        let read: Vec<&ColumnInfo> = table
            .columns
            .iter()
            .filter(|column| column.read.is_ok())
            .collect();
        let shapes: Vec<ColumnShape> = read
            .iter()
            .filter_map(|column| column.read.clone().ok())
            .collect();
        let mut select: Vec<String> = Vec::new();
        for column in &read {
            let name = quote_ident(&column.name);
            select.push(format!("typeof({name})"));
            select.push(name);
        }
        let sql = format!(
            "SELECT {} FROM {}",
            if select.is_empty() {
                "1".to_owned()
            } else {
                select.join(", ")
            },
            quote_ident(&table.name)
        );
        let mut connection = self.acquire().await?;
        let mut batcher = RowBatcher::new(shapes.clone(), sink.batch_rows());
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
                for (index, shape) in shapes.iter().enumerate() {
                    batcher.push_decoded(index, row_number, || decode(&row, index, *shape));
                }
                batcher.end_row(sink).await?;
            }
            drop(rows);
            batcher.flush(sink).await
        }
        .await;
        if result.is_err() {
            // A read ended early may leave a statement open on the connection: closed, not pooled.
            connection.close_on_drop();
        }
        result?;
        summary.rows = row_number;
        summary.elapsed = started.elapsed();
        summary.blocked = sink.blocked();
        Ok(summary)
    }
}

/// Decodes column `index` (selected as `typeof(c), c`) by its storage class.
fn decode(row: &SqliteRow, index: usize, shape: ColumnShape) -> Result<CellValue<'_>, String> {
    let error = |error: sqlx::Error| error.to_string();
    let class: &str = row.try_get(2 * index).map_err(error)?;
    let at = 2 * index + 1;
    Ok(match (class, shape) {
        ("null", _) => CellValue::Null,
        ("integer", ColumnShape::Boolean) => {
            CellValue::Boolean(row.try_get::<i64, _>(at).map_err(error)? != 0)
        }
        ("integer", ColumnShape::Micros) => {
            let seconds: i64 = row.try_get(at).map_err(error)?;
            CellValue::Micros(
                seconds
                    .checked_mul(1_000_000)
                    .ok_or_else(|| format!("{seconds} is out of range for Unix seconds"))?,
            )
        }
        ("integer", ColumnShape::Text) => {
            return Err("expected text, found an integer".to_owned());
        }
        ("integer", _) => CellValue::Integer(row.try_get(at).map_err(error)?),
        ("real", ColumnShape::Float) => CellValue::Float(row.try_get(at).map_err(error)?),
        ("text", ColumnShape::Text) => CellValue::Text(row.try_get(at).map_err(error)?),
        ("text", ColumnShape::Micros) => {
            let text: &str = row.try_get(at).map_err(error)?;
            CellValue::Micros(
                parse_timestamp(text).ok_or_else(|| format!("`{text}` is not a date or timestamp"))?,
            )
        }
        ("text", ColumnShape::Boolean) => {
            let text: &str = row.try_get(at).map_err(error)?;
            CellValue::Boolean(
                crate::source::scan::parse_boolean(text)
                    .ok_or_else(|| format!("`{text}` is not a boolean"))?,
            )
        }
        (class, _) => {
            let expected = match shape {
                ColumnShape::Integer | ColumnShape::Decimal(_) => "an integer",
                ColumnShape::Float => "a number",
                ColumnShape::Text => "text",
                ColumnShape::Micros => "a date or timestamp",
                ColumnShape::Boolean => "a boolean",
            };
            return Err(format!("expected {expected}, found a value of class {class}"));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_follow_affinity() {
        assert_eq!(shape_of("INTEGER"), Ok(ColumnShape::Integer));
        assert_eq!(shape_of("BIGINT"), Ok(ColumnShape::Integer));
        assert_eq!(shape_of("varchar(20)"), Ok(ColumnShape::Text));
        assert_eq!(shape_of("REAL"), Ok(ColumnShape::Float));
        assert_eq!(shape_of("DECIMAL(15,2)"), Ok(ColumnShape::Float));
        assert_eq!(shape_of("BOOLEAN"), Ok(ColumnShape::Boolean));
        assert_eq!(shape_of("TIMESTAMP"), Ok(ColumnShape::Micros));
        assert_eq!(shape_of("DATE"), Ok(ColumnShape::Micros));
        assert!(shape_of("BLOB").is_err());
    }
}
