//! What one job did to the graph: its input and output datasets and column edges, from any source of
//! lineage (a SQL script, a dbt model, an OpenLineage run event). The store records a `JobLineage`
//! as the job's current lineage, closing edges it no longer has.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DetailedLineage, EdgeKind};

/// A dataset: `namespace` is where it lives (a source name, an OpenLineage namespace), `name` its
/// `schema.table` (or a path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatasetRef {
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnRef {
    pub dataset: DatasetRef,
    pub column: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ColumnLink {
    pub source: ColumnRef,
    pub target: ColumnRef,
    pub kind: EdgeKind,
}

/// Where lineage came from; stored with every edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineageOrigin {
    Sql,
    Dbt,
    OpenLineage,
}

impl LineageOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LineageOrigin::Sql => "sql",
            LineageOrigin::Dbt => "dbt",
            LineageOrigin::OpenLineage => "openlineage",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLineage {
    pub job: DatasetRef,
    pub origin: LineageOrigin,
    pub event_time: DateTime<Utc>,
    pub inputs: Vec<DatasetRef>,
    pub outputs: Vec<DatasetRef>,
    pub columns: Vec<ColumnLink>,
}

/// Longest namespace, dataset or column name recorded, in bytes.
pub const MAX_NAME_BYTES: usize = 1_024;

impl JobLineage {
    /// The first name that cannot be recorded: empty where a name is needed, over
    /// [`MAX_NAME_BYTES`], or holding a NUL (which PostgreSQL cannot store).
    pub fn check_names(&self) -> Result<(), String> {
        let datasets = std::iter::once(&self.job)
            .chain(&self.inputs)
            .chain(&self.outputs)
            .chain(
                self.columns
                    .iter()
                    .flat_map(|link| [&link.source.dataset, &link.target.dataset]),
            );
        let columns = self
            .columns
            .iter()
            .flat_map(|link| [link.source.column.as_str(), link.target.column.as_str()]);
        let names = datasets
            .flat_map(|dataset| [dataset.namespace.as_str(), dataset.name.as_str()])
            .chain(columns);
        for name in names {
            if name.is_empty() || name.len() > MAX_NAME_BYTES || name.contains('\0') {
                let shown: String = name.chars().take(80).collect();
                return Err(format!(
                    "lineage name `{shown}` must have 1 to {MAX_NAME_BYTES} bytes and no NUL"
                ));
            }
        }
        Ok(())
    }
}

/// Names a dataset of a SQL script inside `namespace`: `<default>` becomes `default_schema`, and a
/// `database.schema.table` name keeps `schema.table`, so the same table written with or without its
/// database is one node.
pub fn dataset_from_sql(namespace: &str, default_schema: &str, table: &str) -> DatasetRef {
    let name = match table.strip_prefix("<default>.") {
        Some(rest) => format!("{default_schema}.{rest}"),
        None => {
            let parts: Vec<&str> = table.rsplitn(3, '.').collect();
            match parts.as_slice() {
                [name, schema, _database] => format!("{schema}.{name}"),
                _ => table.to_owned(),
            }
        }
    };
    DatasetRef {
        namespace: namespace.to_owned(),
        name,
    }
}

/// Splits `schema.table.column` into its dataset and column; `None` for a bare column that no single
/// table could be attributed to (such an edge is not stored).
pub fn column_from_sql(namespace: &str, default_schema: &str, qualified: &str) -> Option<ColumnRef> {
    let (table, column) = qualified.rsplit_once('.')?;
    Some(ColumnRef {
        dataset: dataset_from_sql(namespace, default_schema, table),
        column: column.to_owned(),
    })
}

impl JobLineage {
    /// The lineage of the SQL text `sql` run by `job`, read in `dialect`, with a warning for each
    /// statement left out: the one path from SQL to a [`JobLineage`] (the REST API, agent lineage
    /// batches, dbt models and OpenLineage SQL facets all take it). An error when nothing could
    /// be read or the text is over the analyzer's limits.
    pub fn from_sql_text(
        job: DatasetRef,
        origin: LineageOrigin,
        event_time: DateTime<Utc>,
        namespace: &str,
        default_schema: &str,
        dialect: &dyn sqlparser::dialect::Dialect,
        sql: &str,
    ) -> super::LineageResult<(Self, Vec<String>)> {
        let detailed = super::analyze_script_detailed(sql, dialect)?;
        let lineage = Self::from_sql(job, origin, event_time, namespace, default_schema, &detailed);
        Ok((lineage, detailed.warnings))
    }

    /// The lineage of an analysed SQL script run by `job`.
    pub fn from_sql(
        job: DatasetRef,
        origin: LineageOrigin,
        event_time: DateTime<Utc>,
        namespace: &str,
        default_schema: &str,
        lineage: &DetailedLineage,
    ) -> Self {
        let dataset = |table: &String| dataset_from_sql(namespace, default_schema, table);
        let mut columns: Vec<ColumnLink> = lineage
            .column_edges
            .iter()
            .filter_map(|edge| {
                Some(ColumnLink {
                    source: column_from_sql(namespace, default_schema, &edge.source)?,
                    target: column_from_sql(namespace, default_schema, &edge.target)?,
                    kind: edge.kind,
                })
            })
            .collect();
        columns.sort();
        columns.dedup();
        JobLineage {
            job,
            origin,
            event_time,
            inputs: lineage.source_tables.iter().map(dataset).collect(),
            outputs: lineage.target_tables.iter().map(dataset).collect(),
            columns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_names_become_dataset_names() {
        assert_eq!(
            dataset_from_sql("shop", "public", "<default>.orders").name,
            "public.orders"
        );
        assert_eq!(
            dataset_from_sql("shop", "public", "sales.orders").name,
            "sales.orders"
        );
        assert_eq!(
            dataset_from_sql("shop", "public", "analytics.sales.orders").name,
            "sales.orders"
        );
        let column = column_from_sql("shop", "public", "<default>.orders.amount").unwrap();
        assert_eq!(
            (column.dataset.name.as_str(), column.column.as_str()),
            ("public.orders", "amount")
        );
        assert_eq!(column_from_sql("shop", "public", "amount"), None);
    }
}
