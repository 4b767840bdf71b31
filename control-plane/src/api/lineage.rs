//! `/api/v1/lineage`: recording lineage (OpenLineage run events, SQL, dbt manifests) and reading the
//! graph (upstream, downstream, impact, path) as of any moment. Each handler parses the request
//! and calls one function of [`crate::lineage::service`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::{Read, Write};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{ApiJson, ApiQuery, AppState, text};
use crate::lineage::openlineage::RunEvent;
use crate::lineage::service::{
    self, DbtLineageRecorded, Impact, LineagePath, LineageRecorded, PathRequest, SqlLineageRecorded,
    SqlScript, WalkRequest,
};
use crate::store::lineage::{Direction, LineageWalk};

/// dbt manifests of large projects run to tens of megabytes.
const MANIFEST_LIMIT_BYTES: usize = 64 * 1024 * 1024;

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
    responses((status = 200, body = LineageRecorded), (status = 400, body = ErrorBody)))]
async fn record_openlineage(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiJson(event): ApiJson<RunEvent>,
) -> ApiResult<Json<LineageRecorded>> {
    Ok(Json(
        service::record_openlineage(&state.store.tenant(&caller.tenant), event).await?,
    ))
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

/// Records the lineage of a SQL script (tables and columns it reads and writes).
#[utoipa::path(post, path = "/api/v1/lineage/sql", tag = "lineage", security(("bearer" = ["editor"])),
    request_body = SqlLineageRequest,
    responses((status = 200, body = SqlLineageRecorded), (status = 400, body = ErrorBody)))]
async fn record_sql(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiJson(request): ApiJson<SqlLineageRequest>,
) -> ApiResult<Json<SqlLineageRecorded>> {
    text::field("namespace", &request.namespace, 1, 1024)?;
    text::field("dialect", &request.dialect, 0, 100)?;
    text::field("default_schema", &request.default_schema, 0, 1024)?;
    if let Some(job) = &request.job {
        text::field("job", job, 1, 1024)?;
    }
    let script = SqlScript {
        namespace: request.namespace,
        dialect: request.dialect,
        sql: request.sql,
        job: request.job,
        default_schema: request.default_schema,
        event_time: request.event_time,
    };
    Ok(Json(
        service::record_sql(&state.store.tenant(&caller.tenant), script).await?,
    ))
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
    responses((status = 200, body = DbtLineageRecorded), (status = 400, body = ErrorBody)))]
async fn record_dbt(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiQuery(params): ApiQuery<DbtParams>,
    body: Bytes,
) -> ApiResult<Json<DbtLineageRecorded>> {
    if let Some(namespace) = &params.namespace {
        text::field("namespace", namespace, 1, 1024)?;
    }
    if text::json_has_nul(&body) {
        return Err(ApiError::bad_request(
            "the manifest contains a NUL character (\\u0000) in a string",
            Value::Null,
        ));
    }
    Ok(Json(
        service::record_dbt(&state.store.tenant(&caller.tenant), body, params.namespace).await?,
    ))
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

impl From<WalkParams> for WalkRequest {
    fn from(params: WalkParams) -> Self {
        WalkRequest {
            namespace: params.namespace,
            dataset: params.dataset,
            column: params.column,
            depth: params.depth,
            as_of: params.as_of,
        }
    }
}

/// Datasets (or, with `column`, columns) the given one is derived from.
#[utoipa::path(get, path = "/api/v1/lineage/upstream", tag = "lineage", security(("bearer" = ["viewer"])),
    params(WalkParams), responses((status = 200, body = LineageWalk), (status = 404, body = ErrorBody)))]
async fn upstream(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<WalkParams>,
) -> ApiResult<Json<LineageWalk>> {
    Ok(Json(
        service::walk(
            &state.store.tenant(&caller.tenant),
            params.into(),
            Direction::Upstream,
        )
        .await?,
    ))
}

/// Datasets (or, with `column`, columns) derived from the given one.
#[utoipa::path(get, path = "/api/v1/lineage/downstream", tag = "lineage", security(("bearer" = ["viewer"])),
    params(WalkParams), responses((status = 200, body = LineageWalk), (status = 404, body = ErrorBody)))]
async fn downstream(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<WalkParams>,
) -> ApiResult<Json<LineageWalk>> {
    Ok(Json(
        service::walk(
            &state.store.tenant(&caller.tenant),
            params.into(),
            Direction::Downstream,
        )
        .await?,
    ))
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
    params(ImpactParams), responses((status = 200, body = Impact), (status = 404, body = ErrorBody)))]
async fn impact(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<ImpactParams>,
) -> ApiResult<Json<Impact>> {
    Ok(Json(
        service::impact(
            &state.store.tenant(&caller.tenant),
            &params.namespace,
            &params.dataset,
            params.as_of,
        )
        .await?,
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
    params(PathParams), responses((status = 200, body = LineagePath), (status = 400, body = ErrorBody),
                                  (status = 404, body = ErrorBody)))]
async fn path(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<PathParams>,
) -> ApiResult<Json<LineagePath>> {
    let request = PathRequest {
        namespace: params.namespace,
        from_dataset: params.from_dataset,
        from_column: params.from_column,
        to_namespace: params.to_namespace,
        to_dataset: params.to_dataset,
        to_column: params.to_column,
        as_of: params.as_of,
    };
    Ok(Json(
        service::path(&state.store.tenant(&caller.tenant), request).await?,
    ))
}
