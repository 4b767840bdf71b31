//! The `run` path on PostgreSQL: discovery through pg_catalog, one aggregate query per table, and
//! the SQL for lineage (view definitions and `pg_stat_statements`).

use sqlx::Row;

use super::PostgresSource;
use crate::source::{
    CollectedSql, DiscoveredColumn, DiscoveredTable, SourceError, SourceResult, SqlKind, TableKind,
    TableMeasurement,
};

const DISCOVER_SQL: &str = r#"
SELECT n.nspname::text AS schema_name,
       c.relname::text AS table_name,
       c.relkind::text AS relkind,
       a.attname::text AS column_name,
       format_type(a.atttypid, a.atttypmod) AS data_type,
       NOT a.attnotnull AS nullable,
       a.attnum::int4 AS ordinal
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND has_table_privilege(c.oid, 'SELECT')
  -- objects an extension owns (pg_stat_statements' views, PostGIS tables) are not the user's data
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname, a.attnum
"#;

const VIEWS_SQL: &str = r#"
SELECT n.nspname::text AS schema_name, c.relname::text AS view_name, c.relkind::text AS relkind,
       pg_get_viewdef(c.oid, true) AS definition
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_%'
  AND has_table_privilege(c.oid, 'SELECT')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"#;

/// Statements of `pg_stat_statements` that write data: only these carry lineage.
const HISTORY_SQL: &str = r#"
SELECT queryid::text AS query_id, query, calls
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND query ~* '^\s*(insert|merge|update|create\s+(table|view|materialized\s+view|or\s+replace\s+view))'
ORDER BY calls DESC
LIMIT 500
"#;

impl PostgresSource {
    pub(super) async fn collect_lineage_sql(&self) -> SourceResult<Vec<CollectedSql>> {
        let default_schema: String = sqlx::query_scalar("SELECT coalesce(current_schema(), 'public')::text")
            .fetch_one(&self.pool)
            .await
            .map_err(SourceError::CollectSql)?;
        let mut collected = Vec::new();
        for row in sqlx::query(VIEWS_SQL)
            .fetch_all(&self.pool)
            .await
            .map_err(SourceError::CollectSql)?
        {
            let schema: String = row.try_get("schema_name").map_err(SourceError::CollectSql)?;
            let name: String = row.try_get("view_name").map_err(SourceError::CollectSql)?;
            let relkind: String = row.try_get("relkind").map_err(SourceError::CollectSql)?;
            let Some(definition): Option<String> =
                row.try_get("definition").map_err(SourceError::CollectSql)?
            else {
                continue;
            };
            let (kind, create) = if relkind == "m" {
                (SqlKind::MaterializedView, "MATERIALIZED VIEW")
            } else {
                (SqlKind::View, "VIEW")
            };
            collected.push(CollectedSql {
                kind,
                job: format!("{schema}.{name}"),
                sql: format!(
                    "CREATE {create} {}.{} AS {}",
                    quote_ident(&schema),
                    quote_ident(&name),
                    definition.trim().trim_end_matches(';')
                ),
                default_schema: default_schema.clone(),
                calls: 0,
            });
        }
        let has_history: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(SourceError::CollectSql)?;
        if has_history {
            // Installed but not preloaded, or not readable by this role: lineage from views only.
            match sqlx::query(HISTORY_SQL).fetch_all(&self.pool).await {
                Ok(rows) => {
                    for row in rows {
                        collected.push(CollectedSql {
                            kind: SqlKind::Query,
                            job: format!(
                                "query:{}",
                                row.try_get::<String, _>("query_id")
                                    .map_err(SourceError::CollectSql)?
                            ),
                            sql: row.try_get("query").map_err(SourceError::CollectSql)?,
                            default_schema: default_schema.clone(),
                            calls: row.try_get("calls").map_err(SourceError::CollectSql)?,
                        });
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "pg_stat_statements is not readable, skipping query history")
                }
            }
        }
        Ok(collected)
    }

    pub(super) async fn discover_catalog(&self) -> SourceResult<Vec<DiscoveredTable>> {
        let rows = sqlx::query(DISCOVER_SQL)
            .fetch_all(&self.pool)
            .await
            .map_err(SourceError::Discover)?;
        let mut tables: Vec<DiscoveredTable> = Vec::new();
        for row in rows {
            let schema: String = row.try_get("schema_name").map_err(SourceError::Discover)?;
            let name: String = row.try_get("table_name").map_err(SourceError::Discover)?;
            let column = DiscoveredColumn {
                name: row.try_get("column_name").map_err(SourceError::Discover)?,
                data_type: row.try_get("data_type").map_err(SourceError::Discover)?,
                nullable: row.try_get("nullable").map_err(SourceError::Discover)?,
                ordinal: row.try_get("ordinal").map_err(SourceError::Discover)?,
            };
            match tables.last_mut() {
                Some(last) if last.schema == schema && last.name == name => last.columns.push(column),
                _ => {
                    let relkind: String = row.try_get("relkind").map_err(SourceError::Discover)?;
                    let kind = match relkind.as_str() {
                        "v" => TableKind::View,
                        "m" => TableKind::MaterializedView,
                        "f" => TableKind::ForeignTable,
                        _ => TableKind::Table,
                    };
                    tables.push(DiscoveredTable {
                        schema,
                        name,
                        kind,
                        columns: vec![column],
                    });
                }
            }
        }
        Ok(tables)
    }

    pub(super) async fn measure_pushdown(
        &self,
        table: &DiscoveredTable,
        freshness: Option<&str>,
    ) -> SourceResult<TableMeasurement> {
        let sql = measure_sql(table, freshness);
        // Identifiers are quoted by `quote_ident`; no value is spliced into the text.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await
            .map_err(|cause| SourceError::Measure {
                table: format!("{}.{}", table.schema, table.name),
                cause,
            })?;
        let measure_error = |cause| SourceError::Measure {
            table: format!("{}.{}", table.schema, table.name),
            cause,
        };
        let row_count: i64 = row.try_get(0).map_err(measure_error)?;
        let mut null_counts = Vec::with_capacity(table.columns.len());
        for (index, column) in table.columns.iter().enumerate() {
            let nulls: i64 = row.try_get(index + 1).map_err(measure_error)?;
            null_counts.push((column.name.clone(), nulls));
        }
        let newest_micros = match freshness {
            Some(_) => {
                let seconds: Option<f64> = row.try_get(table.columns.len() + 1).map_err(measure_error)?;
                seconds
                    .filter(|seconds| seconds.is_finite())
                    .map(|seconds| (seconds * 1e6).round() as i64)
            }
            None => None,
        };
        Ok(TableMeasurement {
            row_count,
            null_counts,
            newest_micros,
        })
    }
}

/// `SELECT count(*), count(*) - count("a"), …[, epoch of max("fresh")] FROM "schema"."table"`: one
/// scan for all columns. A timestamp without time zone is read as UTC by `EXTRACT(EPOCH …)`.
fn measure_sql(table: &DiscoveredTable, freshness: Option<&str>) -> String {
    let mut sql = String::from("SELECT count(*)::int8");
    for column in &table.columns {
        sql.push_str(&format!(
            ", (count(*) - count({}))::int8",
            quote_ident(&column.name)
        ));
    }
    if let Some(column) = freshness {
        sql.push_str(&format!(
            ", EXTRACT(EPOCH FROM max({}))::float8",
            quote_ident(column)
        ));
    }
    sql.push_str(&format!(
        " FROM {}.{}",
        quote_ident(&table.schema),
        quote_ident(&table.name)
    ));
    sql
}

/// Quotes an identifier the way PostgreSQL's `quote_ident` does for any input.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measure_sql_quotes_every_identifier() {
        let table = DiscoveredTable {
            schema: "Sales".into(),
            name: "odd\"name".into(),
            kind: TableKind::Table,
            columns: vec![
                DiscoveredColumn {
                    name: "id".into(),
                    data_type: "integer".into(),
                    nullable: false,
                    ordinal: 1,
                },
                DiscoveredColumn {
                    name: "e mail".into(),
                    data_type: "text".into(),
                    nullable: true,
                    ordinal: 2,
                },
            ],
        };
        assert_eq!(
            measure_sql(&table, None),
            "SELECT count(*)::int8, (count(*) - count(\"id\"))::int8, (count(*) - count(\"e mail\"))::int8 \
             FROM \"Sales\".\"odd\"\"name\""
        );
    }

    #[test]
    fn the_freshness_column_is_the_first_candidate_with_a_temporal_type() {
        let column = |name: &str, data_type: &str| DiscoveredColumn {
            name: name.into(),
            data_type: data_type.into(),
            nullable: true,
            ordinal: 1,
        };
        let table = DiscoveredTable {
            schema: "public".into(),
            name: "orders".into(),
            kind: TableKind::Table,
            columns: vec![
                column("updated_at", "text"),
                column("Created_At", "timestamp with time zone"),
                column("loaded_at", "date"),
            ],
        };
        let candidates = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>();
        // `updated_at` is text here: skipped. Names compare case-insensitively; order is the config's.
        let chosen = table.freshness_column(&candidates(&["updated_at", "created_at", "loaded_at"]));
        assert_eq!(chosen.map(|c| c.name.as_str()), Some("Created_At"));
        let chosen = table.freshness_column(&candidates(&["loaded_at", "created_at"]));
        assert_eq!(chosen.map(|c| c.name.as_str()), Some("loaded_at"));
        assert!(table.freshness_column(&candidates(&["modified_at"])).is_none());
        assert!(
            measure_sql(&table, Some("Created_At"))
                .contains(", EXTRACT(EPOCH FROM max(\"Created_At\"))::float8 FROM")
        );
    }
}
