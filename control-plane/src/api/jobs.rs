//! The job queue as the API shows it: a tenant's jobs with their state, attempts, last error and
//! next run (admin).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::access::Manage;
use super::error::{ApiError, ApiResult, ErrorBody};
use crate::store::jobs::JobRecord;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_jobs))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct JobParams {
    /// 1 to 1000, default 100.
    limit: Option<i64>,
}

/// A page of the tenant's jobs, newest first.
#[derive(Serialize, ToSchema)]
struct JobList {
    items: Vec<JobRecord>,
}

/// The tenant's background jobs (detection of its assets, ...), newest first: state (`queued`,
/// `running`, `succeeded`, `dead`), attempts, the last error and when a queued job runs next.
/// System jobs (the periodic pass) belong to no tenant and are not listed.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", security(("bearer" = ["admin"])),
    params(JobParams),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_jobs(
    State(state): State<AppState>,
    Manage(caller): Manage,
    super::ApiQuery(params): super::ApiQuery<JobParams>,
) -> ApiResult<Json<JobList>> {
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            format!("limit must be between 1 and 1000, got {limit}"),
            json!({"field": "limit"}),
        ));
    }
    Ok(Json(JobList {
        items: state.store.tenant(&caller.tenant).list_jobs(limit).await?,
    }))
}
