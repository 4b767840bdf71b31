//! `/api/v1/assets`: tables, views and files the agents observed, and their metric history.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::access::Read;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{ApiPath, ApiQuery, AppState};
use crate::detectors::{Judgement, TABLE_VECTOR_METRIC};
use crate::monitoring::scan;
use crate::store::intelligence::SeriesKey;
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
    responses((status = 200, body = serde_json::Value, description = "`{\"items\": [CheckSummary]}`"),
              (status = 404, body = ErrorBody)))]
async fn asset_checks(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = parse_id(&id)?;
    let checks: Vec<CheckSummary> = state
        .store
        .asset_checks(&caller.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    Ok(Json(json!({ "items": checks })))
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

fn parse_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id)
        .map_err(|_| ApiError::bad_request(format!("asset id `{id}` is not a UUID"), json!({"field": "id"})))
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
            .list_assets(&caller.tenant, search, limit, offset)
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
    let id = parse_id(&id)?;
    state
        .store
        .get_asset(&caller.tenant, id)
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
    responses((status = 200, body = serde_json::Value, description = "`{\"items\": [MetricPoint]}`"),
              (status = 404, body = ErrorBody)))]
async fn asset_metrics(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<MetricParams>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = parse_id(&id)?;
    let query = MetricQuery {
        metric: params.metric,
        column: params.column,
        since: params.since,
        until: params.until,
        limit: bounded("limit", params.limit, DEFAULT_METRIC_LIMIT, MAX_METRIC_LIMIT)?,
    };
    let points: Vec<MetricPoint> = state
        .store
        .asset_metrics(&caller.tenant, id, &query)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    Ok(Json(json!({ "items": points })))
}

/// Points of history judged by the anomaly detector, at most.
const MAX_JUDGED_POINTS: i64 = 10_000;

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
    responses((status = 200, body = serde_json::Value, description = "Points with verdicts and anomaly times"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn asset_anomalies(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<AnomalyParams>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = parse_id(&id)?;
    if params.metric == TABLE_VECTOR_METRIC {
        if params.column.is_some() {
            return Err(ApiError::bad_request(
                format!("metric `{TABLE_VECTOR_METRIC}` is measured per table: leave out `column`"),
                json!({"field": "column"}),
            ));
        }
        if state.store.asset_identity(&caller.tenant, id).await?.is_none() {
            return Err(ApiError::not_found("asset"));
        }
        let mut anomalies = Vec::new();
        let points: Vec<serde_json::Value> = scan::judged_table(&state.store, caller.tenant.as_str(), id)
            .await?
            .into_iter()
            .map(|(observed_at, verdict)| {
                if verdict.verdict.anomaly {
                    anomalies.push(observed_at);
                }
                json!({"observed_at": observed_at, "value": verdict.value, "verdict": verdict.verdict,
                       "contributions": verdict.contributions})
            })
            .collect();
        return Ok(Json(
            json!({"metric": TABLE_VECTOR_METRIC, "column": "", "points": points, "anomalies": anomalies}),
        ));
    }
    let Some(kind) = cwic_shared::MetricKind::parse(&params.metric) else {
        return Err(ApiError::bad_request(
            format!("unknown metric `{}`", params.metric),
            json!({"field": "metric"}),
        ));
    };
    let column = params.column.unwrap_or_default();
    if kind.is_column_level() == column.is_empty() {
        let message = if column.is_empty() {
            format!("metric `{}` is measured per column: give `column`", params.metric)
        } else {
            format!(
                "metric `{}` is measured per table: leave out `column`",
                params.metric
            )
        };
        return Err(ApiError::bad_request(message, json!({"field": "column"})));
    }
    let series = state
        .store
        .metric_series(&caller.tenant, id, kind.as_str(), &column, MAX_JUDGED_POINTS)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    // Users' verdicts on earlier anomalies shape the band, as in the stored detection passes.
    let key = SeriesKey {
        tenant_id: caller.tenant.as_str().to_owned(),
        asset_id: id,
        metric: kind.as_str().to_owned(),
        column_name: column.clone(),
    };
    let feedback: HashMap<DateTime<Utc>, Judgement> = state
        .store
        .series_feedback(&key)
        .await?
        .into_iter()
        .filter_map(|(at, verdict)| scan::judgement(&verdict).map(|judgement| (at, judgement)))
        .collect();
    let mut anomalies = Vec::new();
    let points: Vec<serde_json::Value> = scan::judge(kind.as_str(), &series, &feedback)
        .into_iter()
        .map(|point| {
            if point.verdict.anomaly {
                anomalies.push(point.observed_at);
            }
            json!({"observed_at": point.observed_at, "value": point.value, "verdict": point.verdict})
        })
        .collect();
    Ok(Json(
        json!({"metric": kind.as_str(), "column": column, "points": points, "anomalies": anomalies}),
    ))
}
