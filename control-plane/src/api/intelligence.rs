//! Intelligence endpoints: forecasts and early warnings, persisted anomaly events with feedback,
//! and root-cause analysis. Each handler parses the request and calls one function of
//! [`crate::monitoring::service`], scoped to the caller's tenant.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::{Read, Write};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::auth::Caller;
use crate::monitoring::causes::CauseReport;
use crate::monitoring::scan::PassOutcome;
use crate::monitoring::service::{
    self, AnomalyEventList, AssetForecast, ForecastRequest, MetricBoundSet, WarningList,
};
use crate::store::intelligence::AnomalyEvent;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(asset_forecast))
        .routes(routes!(put_bounds))
        .routes(routes!(warnings))
        .routes(routes!(list_anomalies))
        .routes(routes!(scan_now))
        .routes(routes!(get_anomaly))
        .routes(routes!(post_feedback, delete_feedback))
        .routes(routes!(anomaly_causes))
}

pub(super) fn parse_uuid(what: &str, id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id)
        .map_err(|_| ApiError::bad_request(format!("{what} id `{id}` is not a UUID"), json!({"field": "id"})))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ForecastParams {
    metric: String,
    column: Option<String>,
    /// Steps ahead, each one typical spacing of the history.
    horizon: Option<usize>,
    /// Bounds to check instead of the stored ones.
    lower: Option<f64>,
    upper: Option<f64>,
}

#[utoipa::path(get, path = "/api/v1/assets/{id}/forecast", tag = "intelligence", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Asset id"), ForecastParams),
    responses((status = 200, body = AssetForecast), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn asset_forecast(
    State(state): State<AppState>,
    Read(Caller { tenant, .. }): Read,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ForecastParams>,
) -> ApiResult<Json<AssetForecast>> {
    let id = parse_uuid("asset", &id)?;
    let request = ForecastRequest {
        metric: params.metric,
        column: params.column,
        horizon: params.horizon,
        lower: params.lower,
        upper: params.upper,
    };
    Ok(Json(
        service::asset_forecast(&state.store.tenant(&tenant), id, request).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BoundsBody {
    metric: String,
    column: Option<String>,
    lower: Option<f64>,
    upper: Option<f64>,
}

#[utoipa::path(put, path = "/api/v1/assets/{id}/bounds", tag = "intelligence", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Asset id")), request_body = BoundsBody,
    responses((status = 200, body = MetricBoundSet), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_bounds(
    State(state): State<AppState>,
    Write(Caller { tenant, .. }): Write,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<BoundsBody>,
) -> ApiResult<Json<MetricBoundSet>> {
    let id = parse_uuid("asset", &id)?;
    Ok(Json(
        service::put_bounds(
            &state.store.tenant(&tenant),
            id,
            &body.metric,
            body.column,
            body.lower,
            body.upper,
        )
        .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct WarningParams {
    horizon: Option<usize>,
}

/// Every bounded series of the tenant whose forecast crosses its bound within the horizon.
#[utoipa::path(get, path = "/api/v1/warnings", tag = "intelligence", security(("bearer" = ["viewer"])),
    params(WarningParams), responses((status = 200, body = WarningList), (status = 400, body = ErrorBody)))]
async fn warnings(
    State(state): State<AppState>,
    Read(Caller { tenant, .. }): Read,
    ApiQuery(params): ApiQuery<WarningParams>,
) -> ApiResult<Json<WarningList>> {
    Ok(Json(
        service::warnings(&state.store.tenant(&tenant), params.horizon).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AnomalyListParams {
    asset: Option<String>,
    /// Only events without feedback.
    open: Option<bool>,
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/anomalies", tag = "intelligence", security(("bearer" = ["viewer"])),
    params(AnomalyListParams), responses((status = 200, body = AnomalyEventList), (status = 400, body = ErrorBody)))]
async fn list_anomalies(
    State(state): State<AppState>,
    Read(Caller { tenant, .. }): Read,
    ApiQuery(params): ApiQuery<AnomalyListParams>,
) -> ApiResult<Json<AnomalyEventList>> {
    let asset = params
        .asset
        .as_deref()
        .map(|id| parse_uuid("asset", id))
        .transpose()?;
    let open = params.open.unwrap_or(false);
    Ok(Json(
        service::list_anomalies(&state.store.tenant(&tenant), asset, open, params.limit).await?,
    ))
}

/// Runs a detection pass over the tenant's series with new points now (the background task does
/// the same for every tenant periodically).
#[utoipa::path(post, path = "/api/v1/anomalies/scan", tag = "intelligence", security(("bearer" = ["editor"])),
    responses((status = 200, body = PassOutcome)))]
async fn scan_now(
    State(state): State<AppState>,
    Write(Caller { tenant, .. }): Write,
) -> ApiResult<Json<PassOutcome>> {
    Ok(Json(service::scan_now(&state.detection, &tenant).await?))
}

#[utoipa::path(get, path = "/api/v1/anomalies/{id}", tag = "intelligence", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Anomaly id")),
    responses((status = 200, body = AnomalyEvent), (status = 404, body = ErrorBody)))]
async fn get_anomaly(
    State(state): State<AppState>,
    Read(Caller { tenant, .. }): Read,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AnomalyEvent>> {
    let id = parse_uuid("anomaly", &id)?;
    Ok(Json(service::anomaly(&state.store.tenant(&tenant), id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    /// `expected` or `false_positive`.
    verdict: String,
}

#[utoipa::path(post, path = "/api/v1/anomalies/{id}/feedback", tag = "intelligence", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Anomaly id")), request_body = FeedbackBody,
    responses((status = 200, body = AnomalyEvent), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn post_feedback(
    State(state): State<AppState>,
    Write(Caller { tenant, .. }): Write,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<FeedbackBody>,
) -> ApiResult<Json<AnomalyEvent>> {
    let id = parse_uuid("anomaly", &id)?;
    Ok(Json(
        service::set_feedback(&state.store.tenant(&tenant), id, Some(&body.verdict)).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/anomalies/{id}/feedback", tag = "intelligence", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Anomaly id")),
    responses((status = 200, body = AnomalyEvent), (status = 404, body = ErrorBody)))]
async fn delete_feedback(
    State(state): State<AppState>,
    Write(Caller { tenant, .. }): Write,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AnomalyEvent>> {
    let id = parse_uuid("anomaly", &id)?;
    Ok(Json(
        service::set_feedback(&state.store.tenant(&tenant), id, None).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/anomalies/{id}/causes", tag = "intelligence", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Anomaly id")),
    responses((status = 200, body = CauseReport), (status = 404, body = ErrorBody)))]
async fn anomaly_causes(
    State(state): State<AppState>,
    Read(Caller { tenant, .. }): Read,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CauseReport>> {
    let id = parse_uuid("anomaly", &id)?;
    Ok(Json(
        service::anomaly_causes(&state.store.tenant(&tenant), id).await?,
    ))
}
