//! Quality scores: an asset's score with its evidence and trends, its history, group scores by
//! source, tag or tenant, and the tenant's dimension weights.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::{Manage, Read, Write};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::scoring::Weights;
use crate::scoring::service::{self, AssetScore, CheckDimension};
use crate::store::scores::{GroupScore, ScorePoint};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(asset_score))
        .routes(routes!(score_history))
        .routes(routes!(group_scores))
        .routes(routes!(put_score_weights))
        .routes(routes!(put_asset_score_weights, delete_asset_score_weights))
        .routes(routes!(put_check_dimension))
}

/// The asset's latest quality score: overall (null when nothing is measured) with its coverage,
/// the weights, each of the seven dimensions with the checks and metrics behind it, and the
/// trends over 24 hours and 7 days. A dimension without evidence is null ("not measured").
#[utoipa::path(get, path = "/api/v1/assets/{id}/score", tag = "scores", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 200, body = AssetScore), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn asset_score(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AssetScore>> {
    let id = super::parse_asset_id(&id)?;
    Ok(Json(
        service::asset_score(&state.store.tenant(&caller.tenant), id).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HistoryParams {
    /// RFC 3339; default 7 days ago.
    since: Option<DateTime<Utc>>,
}

/// An asset's score history, oldest first.
#[derive(Serialize, ToSchema)]
struct ScoreHistory {
    items: Vec<ScorePoint>,
}

/// Every computation of the asset's score since `since` (default 7 days), oldest first.
#[utoipa::path(get, path = "/api/v1/assets/{id}/score/history", tag = "scores", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Asset id"), HistoryParams),
    responses((status = 200, body = ScoreHistory), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn score_history(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> ApiResult<Json<ScoreHistory>> {
    let id = super::parse_asset_id(&id)?;
    let items = service::score_history(&state.store.tenant(&caller.tenant), id, params.since).await?;
    Ok(Json(ScoreHistory { items }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct GroupParams {
    /// `source`, `tag` (the tags of the asset's checks) or `tenant`; default `tenant`.
    group_by: Option<String>,
}

/// Group scores, from each asset's latest score.
#[derive(Serialize, ToSchema)]
struct GroupScores {
    group_by: String,
    items: Vec<GroupScore>,
}

/// Scores of the tenant's sources, tags or the tenant itself: the mean of the latest scores of
/// their measured assets.
#[utoipa::path(get, path = "/api/v1/scores", tag = "scores", security(("bearer" = ["viewer"])),
    params(GroupParams),
    responses((status = 200, body = GroupScores), (status = 400, body = ErrorBody)))]
async fn group_scores(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<GroupParams>,
) -> ApiResult<Json<GroupScores>> {
    let group_by = params.group_by.unwrap_or_else(|| "tenant".to_owned());
    let items = service::group_scores(&state.store.tenant(&caller.tenant), &group_by).await?;
    Ok(Json(GroupScores { group_by, items }))
}

/// The seven dimension weights, each in [0, 1], summing to 1.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WeightsRequest {
    completeness: Option<f64>,
    accuracy: Option<f64>,
    consistency: Option<f64>,
    timeliness: Option<f64>,
    uniqueness: Option<f64>,
    validity: Option<f64>,
    integrity: Option<f64>,
}

impl WeightsRequest {
    fn weights(&self) -> ApiResult<Weights> {
        let need = |value: Option<f64>, field: &str| {
            value
                .ok_or_else(|| ApiError::bad_field(field, format!("{field}: all seven weights are required")))
        };
        Ok(Weights {
            completeness: need(self.completeness, "completeness")?,
            accuracy: need(self.accuracy, "accuracy")?,
            consistency: need(self.consistency, "consistency")?,
            timeliness: need(self.timeliness, "timeliness")?,
            uniqueness: need(self.uniqueness, "uniqueness")?,
            validity: need(self.validity, "validity")?,
            integrity: need(self.integrity, "integrity")?,
        })
    }
}

/// Sets the tenant's dimension weights (admin): all seven, each in [0, 1], summing to 1 (± 1e-6);
/// otherwise 400 naming the field. Scores computed from now on use them.
#[utoipa::path(put, path = "/api/v1/settings/score-weights", tag = "scores", security(("bearer" = ["admin"])),
    request_body = WeightsRequest,
    responses((status = 200, body = Weights), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_score_weights(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiJson(request): ApiJson<WeightsRequest>,
) -> ApiResult<Json<Weights>> {
    let weights = request.weights()?;
    let by = caller.principal.actor();
    Ok(Json(
        service::put_weights(&state.store.tenant(&caller.tenant), &weights, &by).await?,
    ))
}

/// Sets an asset's own dimension weights (admin), used instead of the tenant's: all seven, each in
/// [0, 1], summing to 1; otherwise 400 naming the field. The asset is rescored with them.
#[utoipa::path(put, path = "/api/v1/assets/{id}/score-weights", tag = "scores", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path, description = "Asset id")),
    request_body = WeightsRequest,
    responses((status = 200, body = Weights), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn put_asset_score_weights(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<WeightsRequest>,
) -> ApiResult<Json<Weights>> {
    let id = super::parse_asset_id(&id)?;
    let weights = request.weights()?;
    let by = caller.principal.actor();
    service::put_asset_weights(&state.store.tenant(&caller.tenant), id, Some(&weights), &by).await?;
    Ok(Json(weights))
}

/// Removes an asset's own weights (admin): it is scored with the tenant's again.
#[utoipa::path(delete, path = "/api/v1/assets/{id}/score-weights", tag = "scores", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn delete_asset_score_weights(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::http::StatusCode> {
    let id = super::parse_asset_id(&id)?;
    let by = caller.principal.actor();
    service::put_asset_weights(&state.store.tenant(&caller.tenant), id, None, &by).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The dimension a check counts in: one of the seven, or null for its template's.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DimensionRequest {
    dimension: Option<String>,
}

/// Makes a check of an asset count in another dimension than its template's (editor), or with
/// `null` in its template's again. The asset is rescored.
#[utoipa::path(put, path = "/api/v1/assets/{id}/checks/{check}/dimension", tag = "scores",
    security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Asset id"), ("check" = String, Path, description = "Check name")),
    request_body = DimensionRequest,
    responses((status = 200, body = CheckDimension), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn put_check_dimension(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiPath((id, check)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<DimensionRequest>,
) -> ApiResult<Json<CheckDimension>> {
    let id = super::parse_asset_id(&id)?;
    Ok(Json(
        service::put_check_dimension(
            &state.store.tenant(&caller.tenant),
            id,
            &check,
            request.dimension.as_deref(),
        )
        .await?,
    ))
}
