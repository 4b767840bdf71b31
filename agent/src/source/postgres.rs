//! PostgreSQL: discovery through pg_catalog and one aggregate query per table.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};

use super::{
    CONNECT_TIMEOUT, DiscoveredColumn, DiscoveredTable, SourceError, SourceResult, TableKind,
    TableMeasurement,
};
use crate::config::SourceUrl;

/// Connections kept open to a customer's database: measurements run one table at a time.
const MAX_CONNECTIONS: u32 = 2;

pub struct PostgresSource {
    pool: PgPool,
}

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
ORDER BY n.nspname, c.relname, a.attnum
"#;

impl PostgresSource {
    pub async fn connect(url: &SourceUrl) -> SourceResult<Self> {
        let connect_error = |cause: String| SourceError::Connect {
            url: url.to_string(),
            cause,
        };
        let options: PgConnectOptions = url
            .expose_secret()
            .parse()
            .map_err(|error: sqlx::Error| connect_error(error.to_string()))?;
        let options = options.application_name("cwic-agent");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|error| connect_error(error.to_string()))?;
        Ok(Self { pool })
    }

    pub async fn discover(&self) -> SourceResult<Vec<DiscoveredTable>> {
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

    pub async fn measure(&self, table: &DiscoveredTable) -> SourceResult<TableMeasurement> {
        let sql = measure_sql(table);
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
        Ok(TableMeasurement {
            row_count,
            null_counts,
        })
    }
}

/// `SELECT count(*), count(*) - count("a"), … FROM "schema"."table"`: one scan for all columns.
fn measure_sql(table: &DiscoveredTable) -> String {
    let mut sql = String::from("SELECT count(*)::int8");
    for column in &table.columns {
        sql.push_str(&format!(
            ", (count(*) - count({}))::int8",
            quote_ident(&column.name)
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
pub(super) fn quote_ident(name: &str) -> String {
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
            measure_sql(&table),
            "SELECT count(*)::int8, (count(*) - count(\"id\"))::int8, (count(*) - count(\"e mail\"))::int8 \
             FROM \"Sales\".\"odd\"\"name\""
        );
    }
}
