//! dbt `manifest.json`: one job per model (and snapshot), its inputs from `depends_on`, and column
//! lineage from the model's compiled SQL.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::dialect_for_name;
use super::job::{DatasetRef, JobLineage, LineageOrigin};

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("not a dbt manifest: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct Manifest {
    metadata: Metadata,
    #[serde(default)]
    nodes: BTreeMap<String, Node>,
    #[serde(default)]
    sources: BTreeMap<String, Source>,
}

#[derive(Deserialize)]
struct Metadata {
    generated_at: Option<DateTime<Utc>>,
    adapter_type: Option<String>,
    project_name: Option<String>,
}

#[derive(Deserialize)]
struct Node {
    resource_type: String,
    schema: String,
    name: String,
    alias: Option<String>,
    compiled_code: Option<String>,
    compiled_sql: Option<String>,
    #[serde(default)]
    depends_on: DependsOn,
}

#[derive(Deserialize, Default)]
struct DependsOn {
    #[serde(default)]
    nodes: Vec<String>,
}

#[derive(Deserialize)]
struct Source {
    schema: String,
    name: String,
    identifier: Option<String>,
}

/// The jobs of a manifest, plus a warning per model whose SQL could not be read (its table-level
/// lineage from `depends_on` is still kept).
pub struct ManifestLineage {
    pub project: String,
    pub jobs: Vec<JobLineage>,
    pub warnings: Vec<String>,
}

/// Reads a manifest. Datasets are named `schema.table` inside `namespace` (use the agent's source
/// name for the warehouse dbt builds, so lineage meets the assets the agent measures).
pub fn read_manifest(
    json: &[u8],
    namespace: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ManifestLineage, ManifestError> {
    let manifest: Manifest =
        serde_json::from_slice(json).map_err(|error| ManifestError::Invalid(error.to_string()))?;
    let project = manifest
        .metadata
        .project_name
        .clone()
        .unwrap_or_else(|| "dbt".to_owned());
    let namespace = namespace.map_or_else(|| project.clone(), str::to_owned);
    let event_time = manifest.metadata.generated_at.unwrap_or(now);
    let dialect_name = manifest.metadata.adapter_type.as_deref().unwrap_or("ansi");
    let (dialect, _) = dialect_for_name(dialect_name);
    let relation = |schema: &str, table: &str| DatasetRef {
        namespace: namespace.clone(),
        name: format!("{}.{}", schema.to_lowercase(), table.to_lowercase()),
    };
    let mut datasets: BTreeMap<&str, DatasetRef> = BTreeMap::new();
    for (id, node) in &manifest.nodes {
        if matches!(node.resource_type.as_str(), "model" | "seed" | "snapshot") {
            datasets.insert(
                id,
                relation(&node.schema, node.alias.as_deref().unwrap_or(&node.name)),
            );
        }
    }
    for (id, source) in &manifest.sources {
        datasets.insert(
            id,
            relation(
                &source.schema,
                source.identifier.as_deref().unwrap_or(&source.name),
            ),
        );
    }

    let mut jobs = Vec::new();
    let mut warnings = Vec::new();
    for (id, node) in &manifest.nodes {
        if !matches!(node.resource_type.as_str(), "model" | "snapshot") {
            continue;
        }
        let Some(output) = datasets.get(id.as_str()).cloned() else {
            continue;
        };
        let inputs: Vec<DatasetRef> = node
            .depends_on
            .nodes
            .iter()
            .filter_map(|dependency| datasets.get(dependency.as_str()).cloned())
            .collect();
        let job = DatasetRef {
            namespace: format!("dbt://{project}"),
            name: id.clone(),
        };
        let mut lineage = JobLineage {
            job: job.clone(),
            origin: LineageOrigin::Dbt,
            event_time,
            inputs: inputs.clone(),
            outputs: vec![output.clone()],
            columns: Vec::new(),
        };
        if let Some(sql) = node.compiled_code.as_deref().or(node.compiled_sql.as_deref()) {
            let script = format!(
                "CREATE TABLE {} AS {}",
                output.name,
                sql.trim().trim_end_matches(';')
            );
            match JobLineage::from_sql_text(
                job,
                LineageOrigin::Dbt,
                event_time,
                &namespace,
                &node.schema.to_lowercase(),
                dialect.as_ref(),
                &script,
            ) {
                Ok((from_sql, _)) => {
                    lineage.columns = from_sql.columns;
                    for input in from_sql.inputs {
                        if !lineage.inputs.contains(&input) {
                            lineage.inputs.push(input);
                        }
                    }
                }
                Err(error) => warnings.push(format!("{id}: {error}")),
            }
        }
        jobs.push(lineage);
    }
    Ok(ManifestLineage {
        project,
        jobs,
        warnings,
    })
}
