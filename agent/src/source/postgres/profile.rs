//! PostgreSQL profiling scan: finds the tables to profile, then streams each one with
//! `COPY (SELECT …) TO STDOUT (FORMAT binary)` through the [`CopyDecoder`] into column batches.
//!
//! One scan per table on a connection of the source's pool. Decoding runs on the caller's task; the
//! batches go into a bounded channel, so a slow consumer slows the scan instead of growing memory.

use std::time::Instant;

use futures::StreamExt;
use sqlx::{PgConnection, Row};

use super::catalog::quote_ident;
use super::copy::{CopyDecoder, CopyError, FieldDecoder};
use crate::profiler::ColumnBatch;
use crate::source::scan::{BatchSink, ReadResult, ScanSummary};

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("listing tables failed: {0}")]
    Discover(#[source] sqlx::Error),
    #[error("reading the table failed: {0}")]
    Read(#[source] sqlx::Error),
    #[error("decoding the COPY stream failed: {0}")]
    Decode(#[from] CopyError),
}

pub type ScanResult<T> = Result<T, ScanError>;

/// A column of a table to profile, as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgColumn {
    pub name: String,
    /// `format_type` text, e.g. `numeric(15,2)` or `timestamp with time zone`.
    pub data_type: String,
    /// The base type's name (a domain's underlying type).
    pub base_type: String,
    pub typmod: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PgTable {
    pub schema: String,
    pub name: String,
    pub columns: Vec<PgColumn>,
    /// The planner's row estimate (`pg_class.reltuples`); `None` when never analysed.
    pub estimated_rows: Option<u64>,
    /// `pg_total_relation_size`: heap, indexes and TOAST.
    pub size_bytes: i64,
}

/// How one column enters the COPY: decoded from its binary form, read as its text form, or left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnPlan {
    Binary(FieldDecoder),
    /// Selected as `column::text`.
    AsText,
    Skip(String),
}

impl ColumnPlan {
    pub fn decoder(&self) -> Option<FieldDecoder> {
        match self {
            ColumnPlan::Binary(decoder) => Some(*decoder),
            ColumnPlan::AsText => Some(FieldDecoder::Text { trim_padding: false }),
            ColumnPlan::Skip(_) => None,
        }
    }
}

/// Largest NUMERIC precision whose values always fit an `i64` mantissa (|x| < 10^18 < 2^63).
const MAX_MANTISSA_PRECISION: i32 = 18;

/// Chooses how to read a column from its base type and type modifier.
pub fn plan_column(column: &PgColumn) -> ColumnPlan {
    let decoder = match column.base_type.as_str() {
        "int2" => FieldDecoder::Int2,
        "int4" => FieldDecoder::Int4,
        "int8" => FieldDecoder::Int8,
        "float4" => FieldDecoder::Float4,
        "float8" => FieldDecoder::Float8,
        "numeric" => FieldDecoder::Numeric {
            scale: numeric_scale(column.typmod),
        },
        "bool" => FieldDecoder::Bool,
        "text" | "varchar" | "name" => FieldDecoder::Text { trim_padding: false },
        // Trailing blanks of character(n) are padding, not data (PostgreSQL ignores them too).
        "bpchar" => FieldDecoder::Text { trim_padding: true },
        "uuid" => FieldDecoder::Uuid,
        "date" => FieldDecoder::Date,
        "timestamp" | "timestamptz" => FieldDecoder::Timestamp,
        "bytea" => return ColumnPlan::Skip("binary data (bytea) is not profiled".to_owned()),
        _ => return ColumnPlan::AsText,
    };
    ColumnPlan::Binary(decoder)
}

/// The scale of `numeric(p, s)` when its values fit an `i64` mantissa; `None` (read as `f64`) for
/// unconstrained, wider or negative-scale numerics.
fn numeric_scale(typmod: i32) -> Option<u32> {
    // PostgreSQL packs ((precision << 16) | scale) + VARHDRSZ (4); -1 means no modifier.
    if typmod < 4 {
        return None;
    }
    let packed = typmod - 4;
    let precision = (packed >> 16) & 0xffff;
    let scale = packed & 0xffff;
    (precision <= MAX_MANTISSA_PRECISION && scale <= precision)
        .then_some(scale)
        .and_then(|scale| u32::try_from(scale).ok())
}

const TABLES_SQL: &str = r#"
SELECT n.nspname::text AS schema_name,
       c.relname::text AS table_name,
       a.attname::text AS column_name,
       format_type(a.atttypid, a.atttypmod) AS data_type,
       COALESCE(bt.typname, t.typname)::text AS base_type,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       c.reltuples::float8 AS reltuples,
       pg_total_relation_size(c.oid)::int8 AS size_bytes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE c.relkind IN ('r', 'p', 'm', 'v', 'f')
  AND ($1::text IS NOT NULL OR c.relkind IN ('r', 'p', 'm'))
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND ($1::text IS NULL OR (n.nspname = $1 AND c.relname = $2))
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY n.nspname, c.relname, a.attnum
"#;

/// The tables to profile: every table and materialised view the role can read, or the one named
/// (which may also be a view or foreign table). An empty list means the named table is not there.
pub async fn list_tables(
    connection: &mut PgConnection,
    only: Option<(&str, &str)>,
) -> ScanResult<Vec<PgTable>> {
    let rows = sqlx::query(TABLES_SQL)
        .bind(only.map(|(schema, _)| schema))
        .bind(only.map(|(_, name)| name))
        .fetch_all(&mut *connection)
        .await
        .map_err(ScanError::Discover)?;
    let mut tables: Vec<PgTable> = Vec::new();
    for row in rows {
        let schema: String = row.try_get("schema_name").map_err(ScanError::Discover)?;
        let name: String = row.try_get("table_name").map_err(ScanError::Discover)?;
        let column = PgColumn {
            name: row.try_get("column_name").map_err(ScanError::Discover)?,
            data_type: row.try_get("data_type").map_err(ScanError::Discover)?,
            base_type: row.try_get("base_type").map_err(ScanError::Discover)?,
            typmod: row.try_get("typmod").map_err(ScanError::Discover)?,
        };
        match tables.last_mut() {
            Some(last) if last.schema == schema && last.name == name => last.columns.push(column),
            _ => {
                let reltuples: f64 = row.try_get("reltuples").map_err(ScanError::Discover)?;
                tables.push(PgTable {
                    schema,
                    name,
                    columns: vec![column],
                    // -1 (PostgreSQL 14+) or 0 before the first VACUUM/ANALYZE: unknown.
                    estimated_rows: (reltuples > 0.0).then_some(reltuples as u64),
                    size_bytes: row.try_get("size_bytes").map_err(ScanError::Discover)?,
                });
            }
        }
    }
    Ok(tables)
}

/// `COPY (SELECT "a", "b"::text, … FROM "schema"."table") TO STDOUT (FORMAT binary)` over the
/// columns that are not skipped, in table order. With `sample_percent`, only a block sample of about
/// that share of the table is read (`TABLESAMPLE SYSTEM`, repeatable so runs compare).
pub fn copy_sql(table: &PgTable, plans: &[ColumnPlan], sample_percent: Option<f64>) -> String {
    let mut select = Vec::new();
    for (column, plan) in table.columns.iter().zip(plans) {
        match plan {
            ColumnPlan::Binary(_) => select.push(quote_ident(&column.name)),
            ColumnPlan::AsText => select.push(format!("{}::text", quote_ident(&column.name))),
            ColumnPlan::Skip(_) => {}
        }
    }
    // With every column skipped, `SELECT FROM` still yields one (empty) tuple per row.
    let list = select.join(", ");
    let sample = sample_percent.map_or(String::new(), |percent| {
        format!(" TABLESAMPLE SYSTEM ({percent}) REPEATABLE (0)")
    });
    format!(
        "COPY (SELECT {list} FROM {}.{}{sample}) TO STDOUT (FORMAT binary)",
        quote_ident(&table.schema),
        quote_ident(&table.name)
    )
}

/// Streams the table through `decoder` into batches of `sink.batch_rows()` rows, sent to the
/// workers in turn.
pub async fn stream_table(
    connection: &mut PgConnection,
    sql: &str,
    mut decoder: CopyDecoder,
    sink: &mut BatchSink,
) -> ReadResult<ScanSummary> {
    let started = Instant::now();
    let batch_rows = sink.batch_rows();
    let shapes = decoder.shapes();
    let mut sent = 0_u64;
    let mut batch = ColumnBatch::new(&shapes, batch_rows);
    let mut stream = connection.copy_out_raw(sql).await.map_err(ScanError::Read)?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(ScanError::Read)?;
        decoder.feed(&chunk, &mut batch).map_err(ScanError::Decode)?;
        if decoder.rows() - sent >= batch_rows as u64 {
            let rows = (decoder.rows() - sent) as usize;
            sent = decoder.rows();
            let full = std::mem::replace(&mut batch, ColumnBatch::new(&shapes, batch_rows));
            sink.send(full, rows).await?;
        }
    }
    drop(stream);
    decoder.finish().map_err(ScanError::Decode)?;
    if decoder.rows() > sent {
        sink.send(batch, (decoder.rows() - sent) as usize).await?;
    }
    Ok(ScanSummary {
        rows: decoder.rows(),
        elapsed: started.elapsed(),
        blocked: sink.blocked(),
        ..ScanSummary::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, base_type: &str, typmod: i32) -> PgColumn {
        PgColumn {
            name: name.to_owned(),
            data_type: base_type.to_owned(),
            base_type: base_type.to_owned(),
            typmod,
        }
    }

    #[test]
    fn numeric_scale_comes_from_the_type_modifier() {
        // numeric(15,2): (15 << 16 | 2) + 4
        assert_eq!(numeric_scale((15 << 16 | 2) + 4), Some(2));
        assert_eq!(numeric_scale((18 << 16) + 4), Some(0));
        assert_eq!(numeric_scale((19 << 16 | 2) + 4), None);
        assert_eq!(numeric_scale(-1), None);
    }

    #[test]
    fn copy_sql_samples_blocks_when_asked() {
        let table = PgTable {
            schema: "public".into(),
            name: "big".into(),
            columns: vec![PgColumn {
                name: "id".into(),
                data_type: "bigint".into(),
                base_type: "int8".into(),
                typmod: -1,
            }],
            estimated_rows: None,
            size_bytes: 0,
        };
        let plans: Vec<ColumnPlan> = table.columns.iter().map(plan_column).collect();
        assert_eq!(
            copy_sql(&table, &plans, Some(2.5)),
            "COPY (SELECT \"id\" FROM \"public\".\"big\" TABLESAMPLE SYSTEM (2.5) REPEATABLE (0)) TO STDOUT (FORMAT binary)"
        );
    }

    #[test]
    fn copy_sql_quotes_casts_and_skips() {
        let table = PgTable {
            schema: "Sales".into(),
            name: "odd\"name".into(),
            columns: vec![
                column("id", "int4", -1),
                column("doc", "jsonb", -1),
                column("blob", "bytea", -1),
            ],
            estimated_rows: None,
            size_bytes: 0,
        };
        let plans: Vec<ColumnPlan> = table.columns.iter().map(plan_column).collect();
        assert_eq!(plans[0], ColumnPlan::Binary(FieldDecoder::Int4));
        assert_eq!(plans[1], ColumnPlan::AsText);
        assert!(matches!(plans[2], ColumnPlan::Skip(_)));
        assert_eq!(
            copy_sql(&table, &plans, None),
            "COPY (SELECT \"id\", \"doc\"::text FROM \"Sales\".\"odd\"\"name\") TO STDOUT (FORMAT binary)"
        );
    }
}
