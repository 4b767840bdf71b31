//! `/api/v1/lineage`: recording lineage (OpenLineage run events, SQL, dbt manifests) and reading the
//! graph (upstream, downstream, impact, path) as of any moment.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::{Read, Write};
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::{ApiJson, ApiQuery, AppState, text};
use crate::lineage::job::{DatasetRef, JobLineage, LineageOrigin};
use crate::lineage::openlineage::RunEvent;
use crate::lineage::{analyze_script_detailed, dbt, dialect_for_name};
use crate::store::lineage::{Direction, Granularity, LineageNode, MAX_DEPTH};

/// dbt manifests of large projects run to tens of megabytes.
const MANIFEST_LIMIT_BYTES: usize = 64 * 1024 * 1024;
const DEFAULT_DEPTH: u32 = 5;
const IMPACT_DEPTH: u32 = 10;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_openlineage))
        .routes(routes!(record_sql))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(record_dbt))
                .layer(DefaultBodyLimit::max(MANIFEST_LIMIT_BYTES)),
        )
        .routes(routes!(upstream))
        .routes(routes!(downstream))
        .routes(routes!(impact))
        .routes(routes!(path))
}

/// OpenLineage HTTP transport endpoint (`POST {url}/api/v1/lineage` with a RunEvent body).
#[utoipa::path(post, path = "/api/v1/lineage", tag = "lineage", security(("bearer" = ["editor"])),
    request_body(content = Value, description = "An OpenLineage RunEvent"),
    responses((status = 200, body = Value), (status = 400, body = ErrorBody)))]
async fn record_openlineage(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiJson(event): ApiJson<RunEvent>,
) -> ApiResult<Json<Value>> {
    let Some(lineage) = event.lineage() else {
        return Ok(Json(json!({"recorded": false})));
    };
    let change = state
        .store
        .tenant(&caller.tenant)
        .record_lineage(&lineage)
        .await?;
    Ok(Json(json!({"recorded": !change.stale, "change": change})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SqlLineageRequest {
    /// Where the tables live: the agent's source name for a warehouse.
    namespace: String,
    /// Dialect name, e.g. postgres, snowflake, bigquery; unknown names use a generic dialect.
    dialect: String,
    sql: String,
    /// The job that runs this SQL (a view, a scheduled query); defaults to one derived from the text.
    job: Option<String>,
    /// Schema of tables the SQL names without one.
    #[serde(default = "default_schema")]
    default_schema: String,
    event_time: Option<DateTime<Utc>>,
}

fn default_schema() -> String {
    "public".to_owned()
}

/// A stable job name for SQL without one: FNV-1a of the text.
fn sql_job_name(sql: &str) -> String {
    let hash = sql.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("sql:{hash:016x}")
}

/// Records the lineage of a SQL script (tables and columns it reads and writes).
#[utoipa::path(post, path = "/api/v1/lineage/sql", tag = "lineage", security(("bearer" = ["editor"])),
    request_body = SqlLineageRequest,
    responses((status = 200, body = Value), (status = 400, body = ErrorBody)))]
async fn record_sql(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiJson(request): ApiJson<SqlLineageRequest>,
) -> ApiResult<Json<Value>> {
    text::field("namespace", &request.namespace, 1, 1024)?;
    text::field("dialect", &request.dialect, 0, 100)?;
    text::field("default_schema", &request.default_schema, 0, 1024)?;
    if let Some(job) = &request.job {
        text::field("job", job, 1, 1024)?;
    }
    // Parsing is CPU work: off the async workers (the dialect is not `Send`, so it is made there).
    let sql = request.sql.clone();
    let dialect_name = request.dialect.clone();
    let analysis = tokio::task::spawn_blocking(move || {
        let (dialect, known) = dialect_for_name(&dialect_name);
        analyze_script_detailed(&sql, dialect.as_ref()).map(|detailed| (detailed, known))
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "lineage analysis failed");
        ApiError::new(ErrorCode::Internal, "internal error")
    })?;
    let (detailed, known) = analysis.map_err(|error| {
        let code = if matches!(error, crate::lineage::LineageError::TooLarge { .. }) {
            ErrorCode::PayloadTooLarge
        } else {
            ErrorCode::BadRequest
        };
        ApiError::new(code, error.to_string()).with_details(json!({"field": "sql"}))
    })?;
    let job = DatasetRef {
        namespace: request.namespace.clone(),
        name: request.job.clone().unwrap_or_else(|| sql_job_name(&request.sql)),
    };
    let lineage = JobLineage::from_sql(
        job,
        LineageOrigin::Sql,
        request.event_time.unwrap_or_else(Utc::now),
        &request.namespace,
        &request.default_schema,
        &detailed,
    );
    let change = state
        .store
        .tenant(&caller.tenant)
        .record_lineage(&lineage)
        .await?;
    let mut warnings = detailed.warnings.clone();
    if !known {
        warnings.push(format!(
            "unknown dialect `{}`, a generic dialect was used",
            request.dialect
        ));
    }
    Ok(Json(json!({
        "recorded": !change.stale,
        "change": change,
        "source_tables": lineage.inputs,
        "target_tables": lineage.outputs,
        "column_edges": lineage.columns.len(),
        "warnings": warnings,
    })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DbtParams {
    /// Namespace of the warehouse the models live in; default from the manifest's adapter.
    namespace: Option<String>,
}

/// Records the lineage of every model in a dbt `manifest.json` (the request body).
#[utoipa::path(post, path = "/api/v1/lineage/dbt", tag = "lineage", security(("bearer" = ["editor"])),
    params(DbtParams), request_body(content = Value, description = "dbt manifest.json"),
    responses((status = 200, body = Value), (status = 400, body = ErrorBody)))]
async fn record_dbt(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiQuery(params): ApiQuery<DbtParams>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    if let Some(namespace) = &params.namespace {
        text::field("namespace", namespace, 1, 1024)?;
    }
    if text::json_has_nul(&body) {
        return Err(ApiError::bad_request(
            "the manifest contains a NUL character (\\u0000) in a string",
            Value::Null,
        ));
    }
    let namespace = params.namespace.clone();
    let manifest =
        tokio::task::spawn_blocking(move || dbt::read_manifest(&body, namespace.as_deref(), Utc::now()))
            .await
            .map_err(|error| {
                tracing::error!(%error, "reading a dbt manifest failed");
                ApiError::new(ErrorCode::Internal, "internal error")
            })?
            .map_err(|error| ApiError::bad_request(error.to_string(), Value::Null))?;
    let (mut opened, mut closed) = (0, 0);
    for job in &manifest.jobs {
        let change = state.store.tenant(&caller.tenant).record_lineage(job).await?;
        opened += change.opened;
        closed += change.closed;
    }
    Ok(Json(json!({
        "project": manifest.project,
        "jobs": manifest.jobs.len(),
        "edges_opened": opened,
        "edges_closed": closed,
        "warnings": manifest.warnings,
    })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct WalkParams {
    namespace: String,
    dataset: String,
    column: Option<String>,
    depth: Option<u32>,
    /// Read the graph as it was at this moment (RFC 3339); default now.
    as_of: Option<DateTime<Utc>>,
}

async fn find_node(
    state: &AppState,
    tenant: &cwic_shared::TenantId,
    namespace: &str,
    dataset: &str,
    column: Option<&str>,
) -> ApiResult<LineageNode> {
    state
        .store
        .tenant(tenant)
        .find_lineage_node(namespace, dataset, column)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                match column {
                    Some(column) => format!("no lineage for column {namespace}/{dataset}.{column}"),
                    None => format!("no lineage for dataset {namespace}/{dataset}"),
                },
            )
        })
}

async fn walk(
    state: AppState,
    tenant: cwic_shared::TenantId,
    params: WalkParams,
    direction: Direction,
) -> ApiResult<Json<Value>> {
    let depth = params.depth.unwrap_or(DEFAULT_DEPTH);
    if !(1..=MAX_DEPTH).contains(&depth) {
        return Err(ApiError::bad_request(
            format!("depth must be between 1 and {MAX_DEPTH}, got {depth}"),
            json!({"field": "depth"}),
        ));
    }
    let root = find_node(
        &state,
        &tenant,
        &params.namespace,
        &params.dataset,
        params.column.as_deref(),
    )
    .await?;
    let granularity = if params.column.is_some() {
        Granularity::Column
    } else {
        Granularity::Table
    };
    let as_of = params.as_of.unwrap_or_else(Utc::now);
    let walk = state
        .store
        .tenant(&tenant)
        .walk_lineage(root, direction, granularity, depth, as_of)
        .await?;
    Ok(Json(json!(walk)))
}

/// Datasets (or, with `column`, columns) the given one is derived from.
#[utoipa::path(get, path = "/api/v1/lineage/upstream", tag = "lineage", security(("bearer" = ["viewer"])),
    params(WalkParams), responses((status = 200, body = Value), (status = 404, body = ErrorBody)))]
async fn upstream(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<WalkParams>,
) -> ApiResult<Json<Value>> {
    walk(state, caller.tenant, params, Direction::Upstream).await
}

/// Datasets (or, with `column`, columns) derived from the given one.
#[utoipa::path(get, path = "/api/v1/lineage/downstream", tag = "lineage", security(("bearer" = ["viewer"])),
    params(WalkParams), responses((status = 200, body = Value), (status = 404, body = ErrorBody)))]
async fn downstream(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<WalkParams>,
) -> ApiResult<Json<Value>> {
    walk(state, caller.tenant, params, Direction::Downstream).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ImpactParams {
    namespace: String,
    dataset: String,
    as_of: Option<DateTime<Utc>>,
}

/// Every dataset downstream of one, with the measured asset it is (if any) and the jobs that carry
/// the data there.
#[utoipa::path(get, path = "/api/v1/lineage/impact", tag = "lineage", security(("bearer" = ["viewer"])),
    params(ImpactParams), responses((status = 200, body = Value), (status = 404, body = ErrorBody)))]
async fn impact(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<ImpactParams>,
) -> ApiResult<Json<Value>> {
    let root = find_node(&state, &caller.tenant, &params.namespace, &params.dataset, None).await?;
    let as_of = params.as_of.unwrap_or_else(Utc::now);
    let walk = state
        .store
        .tenant(&caller.tenant)
        .walk_lineage(
            root,
            Direction::Downstream,
            Granularity::Table,
            IMPACT_DEPTH,
            as_of,
        )
        .await?;
    let impacted: Vec<Value> = walk
        .nodes
        .iter()
        .map(|reached| {
            let mut jobs: Vec<&str> = walk
                .edges
                .iter()
                .filter(|edge| edge.target == reached.node.id)
                .map(|edge| edge.job.as_str())
                .collect();
            jobs.sort_unstable();
            jobs.dedup();
            json!({
                "namespace": reached.node.namespace,
                "dataset": reached.node.dataset,
                "depth": reached.depth,
                "asset_id": reached.node.asset_id,
                "via_jobs": jobs,
            })
        })
        .collect();
    Ok(Json(
        json!({"root": walk.root, "as_of": as_of, "impacted": impacted}),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PathParams {
    namespace: String,
    from_dataset: String,
    from_column: Option<String>,
    /// Namespace of the end, when it differs from the start's.
    to_namespace: Option<String>,
    to_dataset: String,
    to_column: Option<String>,
    as_of: Option<DateTime<Utc>>,
}

/// The shortest lineage path between two datasets or two columns.
#[utoipa::path(get, path = "/api/v1/lineage/path", tag = "lineage", security(("bearer" = ["viewer"])),
    params(PathParams), responses((status = 200, body = Value), (status = 400, body = ErrorBody),
                                  (status = 404, body = ErrorBody)))]
async fn path(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<PathParams>,
) -> ApiResult<Json<Value>> {
    if params.from_column.is_some() != params.to_column.is_some() {
        return Err(ApiError::bad_request(
            "give both from_column and to_column (a column path) or neither (a table path)",
            json!({"field": "to_column"}),
        ));
    }
    let from = find_node(
        &state,
        &caller.tenant,
        &params.namespace,
        &params.from_dataset,
        params.from_column.as_deref(),
    )
    .await?;
    let to_namespace = params.to_namespace.as_deref().unwrap_or(&params.namespace);
    let to = find_node(
        &state,
        &caller.tenant,
        to_namespace,
        &params.to_dataset,
        params.to_column.as_deref(),
    )
    .await?;
    let as_of = params.as_of.unwrap_or_else(Utc::now);
    let path = state
        .store
        .tenant(&caller.tenant)
        .lineage_path(&from, &to, as_of)
        .await?;
    Ok(Json(json!({"as_of": as_of, "path": path})))
}
