//! ROI from data downtime (`GET /api/v1/roi?period=30d`): the figures of the incidents opened in
//! the period, each with the incident ids it came from (viewer); the tenant's cost assumptions
//! behind the money figures (`GET` viewer, `PUT /api/v1/settings/roi` admin).

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::access::{Manage, Read};
use super::error::{ApiError, ApiResult, ErrorBody};
use crate::roi::service::{self, AssetTier, RoiReport, RoiSettings, RoiSettingsView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_roi))
        .routes(routes!(get_roi_settings, put_roi_settings))
        .routes(routes!(put_asset_tier))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RoiParams {
    /// Whole days, e.g. `30d` (the default), 1 to 366.
    period: Option<String>,
}

/// Data downtime (time to detect from when the problem began, plus time to resolve), incidents
/// caught before a downstream consumer, fixes applied, and hours and money saved under the
/// tenant's cost assumptions. With no incidents in the period, `figures` is null and `message`
/// says there is nothing to compute.
#[utoipa::path(get, path = "/api/v1/roi", tag = "roi", security(("bearer" = ["viewer"])),
    params(RoiParams),
    responses((status = 200, body = RoiReport), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn get_roi(
    State(state): State<AppState>,
    Read(caller): Read,
    super::ApiQuery(params): super::ApiQuery<RoiParams>,
) -> ApiResult<Json<RoiReport>> {
    let text = params.period.unwrap_or_else(|| "30d".to_owned());
    let days = text
        .strip_suffix('d')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| (1..=366).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(
                format!("period must be whole days such as 30d (1 to 366), got {text:?}"),
                json!({"field": "period"}),
            )
        })?;
    Ok(Json(
        service::report(&state.store.tenant(&caller.tenant), days, Utc::now()).await?,
    ))
}

/// The tenant's cost assumptions (engineer hourly rate, cost of an hour of downtime per asset
/// tier, platform cost, the detection-time counterfactual); 404 saying how to set them when unset.
#[utoipa::path(get, path = "/api/v1/settings/roi", tag = "roi", security(("bearer" = ["viewer"])),
    responses((status = 200, body = RoiSettingsView), (status = 404, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn get_roi_settings(
    State(state): State<AppState>,
    Read(caller): Read,
) -> ApiResult<Json<RoiSettingsView>> {
    Ok(Json(
        service::settings(&state.store.tenant(&caller.tenant)).await?,
    ))
}

/// Sets the tenant's cost assumptions (admin): every amount a number ≥ 0, a `default` tier cost,
/// an ISO 4217 currency; otherwise 400 naming the field. ROI reports from now on use them.
#[utoipa::path(put, path = "/api/v1/settings/roi", tag = "roi", security(("bearer" = ["admin"])),
    request_body = RoiSettings,
    responses((status = 200, body = RoiSettingsView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn put_roi_settings(
    State(state): State<AppState>,
    Manage(caller): Manage,
    super::ApiJson(settings): super::ApiJson<RoiSettings>,
) -> ApiResult<Json<RoiSettingsView>> {
    let by = caller.principal.actor();
    Ok(Json(
        service::put_settings(&state.store.tenant(&caller.tenant), &settings, &by).await?,
    ))
}

/// Sets an asset's tier (admin): the cost of an hour of its downtime in ROI reports is the ROI
/// settings' cost of that tier (their `default` for a tier they do not name); `{"tier": null}`
/// clears it. 400 naming `tier` for a bad name, 404 for an unknown asset.
#[utoipa::path(put, path = "/api/v1/assets/{id}/tier", tag = "roi", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path, description = "Asset id")),
    request_body = AssetTier,
    responses((status = 200, body = AssetTier), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn put_asset_tier(
    State(state): State<AppState>,
    Manage(caller): Manage,
    super::ApiPath(id): super::ApiPath<String>,
    super::ApiJson(tier): super::ApiJson<AssetTier>,
) -> ApiResult<Json<AssetTier>> {
    let id = super::parse_asset_id(&id)?;
    Ok(Json(
        service::put_asset_tier(&state.store.tenant(&caller.tenant), id, tier).await?,
    ))
}
