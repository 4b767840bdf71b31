//! `/api/v1/assets`: tables, views and files the agents observed, and their metric history.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Read;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{ApiPath, ApiQuery, AppState};
use crate::monitoring::service::{self, JudgedSeries};
use crate::store::{AssetDetail, AssetSummary, CheckSummary, MetricPoint, MetricQuery, Page};

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1_000;
const DEFAULT_METRIC_LIMIT: i64 = 1_000;
const MAX_METRIC_LIMIT: i64 = 10_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_assets))
        .routes(routes!(get_asset))
        .routes(routes!(asset_metrics))
        .routes(routes!(asset_anomalies))
        .routes(routes!(asset_checks))
}

/// The checks agents run on the asset: each check's latest outcome (failing first, by severity)
/// with the statuses of its recent runs. Failing samples stay on the agents and are not here.
#[utoipa::path(get, path = "/api/v1/assets/{id}/checks", tag = "assets", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 200, body = CheckList), (status = 404, body = ErrorBody)))]
async fn asset_checks(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CheckList>> {
    let id = super::parse_asset_id(&id)?;
    let items: Vec<CheckSummary> = state
        .store
        .tenant(&caller.tenant)
        .asset_checks(id)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    Ok(Json(CheckList { items }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// 1 to 1000, default 100.
    limit: Option<i64>,
    offset: Option<i64>,
    /// Part of `schema.name`, case-insensitive.
    q: Option<String>,
}

fn bounded(field: &str, value: Option<i64>, default: i64, max: i64) -> ApiResult<i64> {
    match value {
        None => Ok(default),
        Some(value) if (1..=max).contains(&value) => Ok(value),
        Some(value) => Err(ApiError::bad_request(
            format!("{field} must be between 1 and {max}, got {value}"),
            json!({"field": field}),
        )),
    }
}

/// Tables, views and files the tenant's agents observed, with their latest row count.
#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", security(("bearer" = ["viewer"])),
    params(ListParams),
    responses((status = 200, body = Page<AssetSummary>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
async fn list_assets(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<AssetSummary>>> {
    let limit = bounded("limit", params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let offset = params.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request(
            "offset must not be negative",
            json!({"field": "offset"}),
        ));
    }
    let search = params.q.as_deref().filter(|text| !text.is_empty());
    Ok(Json(
        state
            .store
            .tenant(&caller.tenant)
            .list_assets(search, limit, offset)
            .await?,
    ))
}

/// One asset with its columns and their latest NULL counts.
#[utoipa::path(get, path = "/api/v1/assets/{id}", tag = "assets", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Asset id")),
    responses((status = 200, body = AssetDetail), (status = 404, body = ErrorBody)))]
async fn get_asset(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AssetDetail>> {
    let id = super::parse_asset_id(&id)?;
    state
        .store
        .tenant(&caller.tenant)
        .get_asset(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("asset"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct MetricParams {
    metric: Option<String>,
    column: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: Option<i64>,
}

/// The asset's metric history, oldest first.
#[utoipa::path(get, path = "/api/v1/assets/{id}/metrics", tag = "assets", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Asset id"), MetricParams),
    responses((status = 200, body = MetricPointList), (status = 404, body = ErrorBody)))]
async fn asset_metrics(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<MetricParams>,
) -> ApiResult<Json<MetricPointList>> {
    let id = super::parse_asset_id(&id)?;
    let query = MetricQuery {
        metric: params.metric,
        column: params.column,
        since: params.since,
        until: params.until,
        limit: bounded("limit", params.limit, DEFAULT_METRIC_LIMIT, MAX_METRIC_LIMIT)?,
    };
    let items: Vec<MetricPoint> = state
        .store
        .tenant(&caller.tenant)
        .asset_metrics(id, &query)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    Ok(Json(MetricPointList { items }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AnomalyParams {
    /// A metric name, e.g. `row_count`, `null_count` or `freshness_lag`, or `table_vector` for the
    /// multivariate model over all of the table's metrics.
    metric: String,
    /// The column of a column-level metric.
    column: Option<String>,
}

/// A metric series as the anomaly detector for its metric sees it (the seasonal detector; the
/// update rhythm for `freshness_lag`, whose band is `[0, expected interval + tolerance]`; the
/// one-sided rule for `distribution_drift`), or with `metric=table_vector` the table model's
/// verdict on each collection (value = isolation score, with the features that contributed
/// most): every point with the expected band it was judged against, and the points that open an
/// anomaly event. Causal: each verdict uses only the points before it, so the band is what the
/// detector expected at that time.
#[utoipa::path(get, path = "/api/v1/assets/{id}/anomalies", tag = "assets", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Asset id"), AnomalyParams),
    responses((status = 200, body = JudgedSeries), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn asset_anomalies(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<AnomalyParams>,
) -> ApiResult<Json<JudgedSeries>> {
    let id = super::parse_asset_id(&id)?;
    Ok(Json(
        service::judged_series(
            &state.store.tenant(&caller.tenant),
            id,
            &params.metric,
            params.column,
        )
        .await?,
    ))
}

/// The checks of an asset.
#[derive(Serialize, ToSchema)]
struct CheckList {
    items: Vec<CheckSummary>,
}

/// Metric points, oldest first.
#[derive(Serialize, ToSchema)]
struct MetricPointList {
    items: Vec<MetricPoint>,
}
