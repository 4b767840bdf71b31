//! SLAs with error budgets: `GET /api/v1/slas` (viewer), `POST /api/v1/slas` (editor) and
//! `GET /api/v1/slas/{id}/compliance?window=30d` (viewer; `format=csv` or `Accept: text/csv` for
//! the same figures as CSV).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::access::{Read, Write};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::slas::service::{self, CreateSla, Sla, SlaCompliance};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_slas, create_sla))
        .routes(routes!(sla_compliance))
}

#[derive(Serialize, ToSchema)]
pub struct SlaList {
    pub items: Vec<Sla>,
}

/// The tenant's SLAs, oldest first.
#[utoipa::path(get, path = "/api/v1/slas", tag = "slas", security(("bearer" = ["viewer"])),
    responses((status = 200, body = SlaList), (status = 403, body = ErrorBody)))]
async fn list_slas(State(state): State<AppState>, Read(caller): Read) -> ApiResult<Json<SlaList>> {
    Ok(Json(SlaList {
        items: service::list(&state.store.tenant(&caller.tenant)).await?,
    }))
}

/// Creates an SLA on one asset (a freshness bound evaluated per minute against the error budget
/// `(1 − target) × window`).
#[utoipa::path(post, path = "/api/v1/slas", tag = "slas", security(("bearer" = ["editor"])),
    request_body = CreateSla,
    responses((status = 201, body = Sla), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_sla(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiJson(request): ApiJson<CreateSla>,
) -> ApiResult<(StatusCode, Json<Sla>)> {
    let created = service::create(
        &state.store.tenant(&caller.tenant),
        request,
        &caller.principal.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ComplianceParams {
    /// Such as `30d`, `12h`, `90m`; at most 366d. Default: the SLA's own window.
    window: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

/// Each objective's compliance over the window ending now: compliance %, budget, spent and
/// remaining minutes, burn rate, projected exhaustion, breached.
#[utoipa::path(get, path = "/api/v1/slas/{id}/compliance", tag = "slas", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "SLA id"), ComplianceParams),
    responses((status = 200, description = "The SLA's compliance over the window: JSON, or CSV with `format=csv` or `Accept: text/csv`",
               content((SlaCompliance = "application/json"), (String = "text/csv"))),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn sla_compliance(
    State(state): State<AppState>,
    Read(caller): Read,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ComplianceParams>,
) -> ApiResult<Response> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::bad_request(format!("SLA id `{id}` is not a UUID"), json!({"field": "id"})))?;
    // Without `window`, the SLA's own window (set when it was created).
    let minutes = match params.window {
        None => None,
        Some(text) => Some(crate::slas::parse_window(&text).ok_or_else(|| {
            ApiError::bad_request(
                format!("window must be such as 30d, 12h or 90m (at most 366d), got {text:?}"),
                json!({"field": "window"}),
            )
        })?),
    };
    let csv = match params.format.as_deref() {
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv")),
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::bad_request(
                format!("format must be json or csv, got {other:?}"),
                json!({"field": "format"}),
            ));
        }
    };
    let report = service::compliance(&state.store.tenant(&caller.tenant), id, minutes, Utc::now()).await?;
    Ok(if csv {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            service::to_csv(&report),
        )
            .into_response()
    } else {
        Json(report).into_response()
    })
}
