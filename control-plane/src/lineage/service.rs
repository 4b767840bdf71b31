//! The lineage services the REST API, ingest and the coming feed and question engine call:
//! recording lineage read from SQL, dbt manifests and OpenLineage run events, and reading the graph
//! (walks, impact, paths) as of any moment. The one module of `lineage` that calls the store;
//! parsing stays in the pure modules beside it.
//!
//! Owns: running the CPU-heavy parsing off the async workers, naming SQL jobs without a name, the
//! shapes of the results. Must not: know about HTTP, or hold SQL (the store does).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::job::{DatasetRef, JobLineage, LineageOrigin};
use super::openlineage::RunEvent;
use super::{LineageError, dbt, dialect_for_name};
use crate::error::{ErrorCode, ServiceError, ServiceResult};
use crate::store::lineage::{Direction, Granularity, LineageChange, LineageNode, LineageWalk, MAX_DEPTH};
use crate::store::{StoreResult, TenantStore};

pub const DEFAULT_DEPTH: u32 = 5;
const IMPACT_DEPTH: u32 = 10;

/// Stores the lineage of `jobs` in order, stopping at the first failure; the edges opened and
/// closed in all, `stale` when every job was older than what is stored.
pub async fn record_jobs(store: &TenantStore, jobs: &[JobLineage]) -> StoreResult<LineageChange> {
    let mut total = LineageChange {
        opened: 0,
        closed: 0,
        stale: !jobs.is_empty(),
    };
    for job in jobs {
        let change = store.record_lineage(job).await?;
        total.opened += change.opened;
        total.closed += change.closed;
        total.stale &= change.stale;
    }
    Ok(total)
}

/// Whether a run event's lineage was stored, and what it changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineageRecorded {
    /// False when the event carries no lineage or is older than what is stored.
    pub recorded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<LineageChange>,
}

/// Records the lineage of an OpenLineage run event (none for events that carry none).
pub async fn record_openlineage(store: &TenantStore, event: RunEvent) -> ServiceResult<LineageRecorded> {
    let Some(lineage) = event.lineage() else {
        return Ok(LineageRecorded {
            recorded: false,
            change: None,
        });
    };
    let change = store.record_lineage(&lineage).await?;
    Ok(LineageRecorded {
        recorded: !change.stale,
        change: Some(change),
    })
}

/// A SQL script to record the lineage of.
pub struct SqlScript {
    /// Where the tables live: the agent's source name for a warehouse.
    pub namespace: String,
    pub dialect: String,
    pub sql: String,
    /// The job that runs the SQL; default one named from the text.
    pub job: Option<String>,
    pub default_schema: String,
    pub event_time: Option<DateTime<Utc>>,
}

/// What recording a SQL script found and stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SqlLineageRecorded {
    pub recorded: bool,
    pub change: LineageChange,
    pub source_tables: Vec<DatasetRef>,
    pub target_tables: Vec<DatasetRef>,
    /// Column edges found.
    pub column_edges: usize,
    /// Statements left out, and an unknown dialect.
    pub warnings: Vec<String>,
}

/// A stable job name for SQL without one: FNV-1a of the text.
fn sql_job_name(sql: &str) -> String {
    let hash = sql.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("sql:{hash:016x}")
}

/// Records the lineage of a SQL script (tables and columns it reads and writes).
pub async fn record_sql(store: &TenantStore, script: SqlScript) -> ServiceResult<SqlLineageRecorded> {
    let job = DatasetRef {
        namespace: script.namespace.clone(),
        name: script.job.clone().unwrap_or_else(|| sql_job_name(&script.sql)),
    };
    let event_time = script.event_time.unwrap_or_else(Utc::now);
    let (namespace, default_schema, sql, dialect_name) = (
        script.namespace.clone(),
        script.default_schema.clone(),
        script.sql,
        script.dialect.clone(),
    );
    // Parsing is CPU work: off the async workers (the dialect is not `Send`, so it is made there).
    let analysis = tokio::task::spawn_blocking(move || {
        let (dialect, known) = dialect_for_name(&dialect_name);
        JobLineage::from_sql_text(
            job,
            LineageOrigin::Sql,
            event_time,
            &namespace,
            &default_schema,
            dialect.as_ref(),
            &sql,
        )
        .map(|found| (found, known))
    })
    .await
    .map_err(|error| ServiceError::internal("lineage analysis failed", error))?;
    let ((lineage, mut warnings), known) = analysis.map_err(|error| {
        let code = if matches!(error, LineageError::TooLarge { .. }) {
            ErrorCode::PayloadTooLarge
        } else {
            ErrorCode::BadRequest
        };
        ServiceError::new(code, error.to_string()).with_details(serde_json::json!({"field": "sql"}))
    })?;
    let change = store.record_lineage(&lineage).await?;
    if !known {
        warnings.push(format!(
            "unknown dialect `{}`, a generic dialect was used",
            script.dialect
        ));
    }
    Ok(SqlLineageRecorded {
        recorded: !change.stale,
        change,
        source_tables: lineage.inputs,
        target_tables: lineage.outputs,
        column_edges: lineage.columns.len(),
        warnings,
    })
}

/// What recording a dbt manifest stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DbtLineageRecorded {
    pub project: String,
    /// Models read.
    pub jobs: usize,
    pub edges_opened: u64,
    pub edges_closed: u64,
    /// Models whose SQL could not be read (their table lineage is kept).
    pub warnings: Vec<String>,
}

/// Records the lineage of every model in a dbt `manifest.json`; `namespace` defaults to the one
/// named from the manifest's adapter.
pub async fn record_dbt(
    store: &TenantStore,
    manifest: impl AsRef<[u8]> + Send + 'static,
    namespace: Option<String>,
) -> ServiceResult<DbtLineageRecorded> {
    let manifest = tokio::task::spawn_blocking(move || {
        dbt::read_manifest(manifest.as_ref(), namespace.as_deref(), Utc::now())
    })
    .await
    .map_err(|error| ServiceError::internal("reading a dbt manifest failed", error))?
    .map_err(|error| ServiceError::bad_request(error.to_string(), serde_json::Value::Null))?;
    let change = record_jobs(store, &manifest.jobs).await?;
    Ok(DbtLineageRecorded {
        project: manifest.project,
        jobs: manifest.jobs.len(),
        edges_opened: change.opened,
        edges_closed: change.closed,
        warnings: manifest.warnings,
    })
}

/// The node of a dataset (or one of its columns), or a not-found error naming it.
pub async fn find_node(
    store: &TenantStore,
    namespace: &str,
    dataset: &str,
    column: Option<&str>,
) -> ServiceResult<LineageNode> {
    store
        .find_lineage_node(namespace, dataset, column)
        .await?
        .ok_or_else(|| {
            ServiceError::new(
                ErrorCode::NotFound,
                match column {
                    Some(column) => format!("no lineage for column {namespace}/{dataset}.{column}"),
                    None => format!("no lineage for dataset {namespace}/{dataset}"),
                },
            )
        })
}

/// Where a walk starts and how far it goes.
pub struct WalkRequest {
    pub namespace: String,
    pub dataset: String,
    /// A column walk when given, a table walk otherwise.
    pub column: Option<String>,
    pub depth: Option<u32>,
    pub as_of: Option<DateTime<Utc>>,
}

/// Datasets (or columns) upstream or downstream of one, as the graph was at `as_of` (default now).
pub async fn walk(
    store: &TenantStore,
    request: WalkRequest,
    direction: Direction,
) -> ServiceResult<LineageWalk> {
    let depth = request.depth.unwrap_or(DEFAULT_DEPTH);
    if !(1..=MAX_DEPTH).contains(&depth) {
        return Err(ServiceError::bad_field(
            "depth",
            format!("depth must be between 1 and {MAX_DEPTH}, got {depth}"),
        ));
    }
    let root = find_node(
        store,
        &request.namespace,
        &request.dataset,
        request.column.as_deref(),
    )
    .await?;
    let granularity = if request.column.is_some() {
        Granularity::Column
    } else {
        Granularity::Table
    };
    let as_of = request.as_of.unwrap_or_else(Utc::now);
    Ok(store
        .walk_lineage(root, direction, granularity, depth, as_of)
        .await?)
}

/// A dataset downstream of the impact's root.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImpactedDataset {
    pub namespace: String,
    pub dataset: String,
    pub depth: u32,
    /// The measured asset it is, if any.
    pub asset_id: Option<Uuid>,
    /// The jobs that carry the data there.
    pub via_jobs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Impact {
    pub root: LineageNode,
    pub as_of: DateTime<Utc>,
    pub impacted: Vec<ImpactedDataset>,
}

/// Every dataset downstream of one, with the measured asset it is and the jobs that lead there.
pub async fn impact(
    store: &TenantStore,
    namespace: &str,
    dataset: &str,
    as_of: Option<DateTime<Utc>>,
) -> ServiceResult<Impact> {
    let root = find_node(store, namespace, dataset, None).await?;
    let as_of = as_of.unwrap_or_else(Utc::now);
    let walk = store
        .walk_lineage(
            root,
            Direction::Downstream,
            Granularity::Table,
            IMPACT_DEPTH,
            as_of,
        )
        .await?;
    let impacted = walk
        .nodes
        .iter()
        .map(|reached| {
            let mut jobs: Vec<String> = walk
                .edges
                .iter()
                .filter(|edge| edge.target == reached.node.id)
                .map(|edge| edge.job.clone())
                .collect();
            jobs.sort_unstable();
            jobs.dedup();
            ImpactedDataset {
                namespace: reached.node.namespace.clone(),
                dataset: reached.node.dataset.clone(),
                depth: reached.depth,
                asset_id: reached.node.asset_id,
                via_jobs: jobs,
            }
        })
        .collect();
    Ok(Impact {
        root: walk.root,
        as_of,
        impacted,
    })
}

/// The two ends of a path.
pub struct PathRequest {
    pub namespace: String,
    pub from_dataset: String,
    pub from_column: Option<String>,
    pub to_namespace: Option<String>,
    pub to_dataset: String,
    pub to_column: Option<String>,
    pub as_of: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineagePath {
    pub as_of: DateTime<Utc>,
    /// The nodes from start to end; null when no path joins them.
    pub path: Option<Vec<LineageNode>>,
}

/// The shortest lineage path between two datasets or two columns.
pub async fn path(store: &TenantStore, request: PathRequest) -> ServiceResult<LineagePath> {
    if request.from_column.is_some() != request.to_column.is_some() {
        return Err(ServiceError::bad_field(
            "to_column",
            "give both from_column and to_column (a column path) or neither (a table path)",
        ));
    }
    let from = find_node(
        store,
        &request.namespace,
        &request.from_dataset,
        request.from_column.as_deref(),
    )
    .await?;
    let to_namespace = request.to_namespace.as_deref().unwrap_or(&request.namespace);
    let to = find_node(
        store,
        to_namespace,
        &request.to_dataset,
        request.to_column.as_deref(),
    )
    .await?;
    let as_of = request.as_of.unwrap_or_else(Utc::now);
    let path = store.lineage_path(&from, &to, as_of).await?;
    Ok(LineagePath { as_of, path })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sql_without_a_job_gets_a_stable_name_from_its_text() {
        assert_eq!(sql_job_name("select 1"), sql_job_name("select 1"));
        assert_ne!(sql_job_name("select 1"), sql_job_name("select 2"));
        assert!(sql_job_name("").starts_with("sql:"));
        assert_eq!(sql_job_name("").len(), "sql:".len() + 16);
    }
}
