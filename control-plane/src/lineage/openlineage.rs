//! OpenLineage run events (the `RunEvent` of the OpenLineage spec), as the OpenLineage HTTP transport
//! posts them, so Airflow, Spark and dbt integrations report to CWIC unchanged. Column lineage comes
//! from the `columnLineage` dataset facet or, when absent, from the job's `sql` facet.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::job::{ColumnLink, ColumnRef, DatasetRef, JobLineage, LineageOrigin};
use super::{EdgeKind, dialect_for_name};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    pub event_type: Option<String>,
    pub event_time: DateTime<Utc>,
    pub job: Job,
    #[serde(default)]
    pub inputs: Vec<Dataset>,
    #[serde(default)]
    pub outputs: Vec<Dataset>,
    pub producer: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Job {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub facets: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct Dataset {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub facets: Map<String, Value>,
}

impl Dataset {
    fn reference(&self) -> DatasetRef {
        DatasetRef {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// Maps OpenLineage's transformation description to an edge kind.
fn edge_kind(input_field: &Value, field: &Value) -> EdgeKind {
    let subtypes: Vec<&str> = input_field["transformations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|transformation| transformation["subtype"].as_str())
        .collect();
    if subtypes.contains(&"AGGREGATION") {
        EdgeKind::Aggregate
    } else if subtypes.iter().any(|subtype| *subtype != "IDENTITY") {
        EdgeKind::Expression
    } else if !subtypes.is_empty() || field["transformationType"].as_str() == Some("IDENTITY") {
        EdgeKind::Direct
    } else {
        EdgeKind::Expression
    }
}

impl RunEvent {
    /// The lineage this event reports; `None` for events that change nothing (failed or aborted runs,
    /// events without datasets).
    pub fn lineage(&self) -> Option<JobLineage> {
        if matches!(self.event_type.as_deref(), Some("FAIL" | "ABORT"))
            || (self.inputs.is_empty() && self.outputs.is_empty())
        {
            return None;
        }
        let job = DatasetRef {
            namespace: self.job.namespace.clone(),
            name: self.job.name.clone(),
        };
        let mut lineage = JobLineage {
            job: job.clone(),
            origin: LineageOrigin::OpenLineage,
            event_time: self.event_time,
            inputs: self.inputs.iter().map(Dataset::reference).collect(),
            outputs: self.outputs.iter().map(Dataset::reference).collect(),
            columns: Vec::new(),
        };
        for output in &self.outputs {
            let Some(fields) = output
                .facets
                .get("columnLineage")
                .and_then(|facet| facet["fields"].as_object())
            else {
                continue;
            };
            for (target_column, field) in fields {
                for input_field in field["inputFields"].as_array().into_iter().flatten() {
                    let (Some(namespace), Some(name), Some(column)) = (
                        input_field["namespace"].as_str(),
                        input_field["name"].as_str(),
                        input_field["field"].as_str(),
                    ) else {
                        continue;
                    };
                    lineage.columns.push(ColumnLink {
                        source: ColumnRef {
                            dataset: DatasetRef {
                                namespace: namespace.to_owned(),
                                name: name.to_owned(),
                            },
                            column: column.to_owned(),
                        },
                        target: ColumnRef {
                            dataset: output.reference(),
                            column: target_column.clone(),
                        },
                        kind: edge_kind(input_field, field),
                    });
                }
            }
        }
        if lineage.columns.is_empty()
            && let Some(query) = self
                .job
                .facets
                .get("sql")
                .and_then(|facet| facet["query"].as_str())
        {
            let dialect_name = self.job.facets["sql"]["dialect"].as_str().unwrap_or("ansi");
            let (dialect, _) = dialect_for_name(dialect_name);
            let namespace = self
                .outputs
                .first()
                .or(self.inputs.first())
                .map_or("", |dataset| dataset.namespace.as_str());
            if let Ok((from_sql, _)) = JobLineage::from_sql_text(
                job,
                LineageOrigin::OpenLineage,
                self.event_time,
                namespace,
                "public",
                dialect.as_ref(),
                query,
            ) {
                lineage.columns = from_sql.columns;
            }
        }
        lineage.columns.sort();
        lineage.columns.dedup();
        Some(lineage)
    }
}
