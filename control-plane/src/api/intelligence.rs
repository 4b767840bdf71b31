//! Intelligence endpoints: forecasts and early warnings, persisted anomaly events with feedback,
//! and root-cause analysis. Every handler is scoped to the caller's tenant.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use cwic_shared::{MetricKind, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::{Read, Write};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::auth::Caller;
use crate::monitoring::forecast::{Breach, first_breach, forecast_metric};
use crate::monitoring::{causes, scan};
use crate::store::Store;

const DEFAULT_HORIZON: usize = 24;
const MAX_HORIZON: usize = 1_000;
/// Points of history a forecast is made from, at most (the newest).
const FORECAST_HISTORY_POINTS: i64 = 5_000;
const DEFAULT_EVENT_LIMIT: i64 = 100;
const MAX_EVENT_LIMIT: i64 = 1_000;

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

fn parse_uuid(what: &str, id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id)
        .map_err(|_| ApiError::bad_request(format!("{what} id `{id}` is not a UUID"), json!({"field": "id"})))
}

/// The stored name of a known metric and its column (`""` for table-level metrics), or the one-line
/// error naming what was wrong.
fn series_of(metric: &str, column: Option<String>) -> ApiResult<(&'static str, String)> {
    let Some(kind) = MetricKind::parse(metric) else {
        return Err(ApiError::bad_request(
            format!("unknown metric `{metric}`"),
            json!({"field": "metric"}),
        ));
    };
    let column = column.unwrap_or_default();
    if kind.is_column_level() == column.is_empty() {
        let message = if column.is_empty() {
            format!("metric `{metric}` is measured per column: give `column`")
        } else {
            format!("metric `{metric}` is measured per table: leave out `column`")
        };
        return Err(ApiError::bad_request(message, json!({"field": "column"})));
    }
    Ok((kind.as_str(), column))
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

fn forecast_json(
    metric: &str,
    history: &[(DateTime<Utc>, f64)],
    horizon: usize,
    lower: Option<f64>,
    upper: Option<f64>,
) -> (Value, Option<Breach>) {
    let series: Vec<(i64, f64)> = history
        .iter()
        .map(|(at, value)| (at.timestamp(), *value))
        .collect();
    let Some(result) = forecast_metric(metric, &series, horizon) else {
        return (Value::Null, None);
    };
    let last = series.last().map_or(0, |(ts, _)| *ts);
    let breach = first_breach(&result, last, lower, upper);
    let at = |ts: i64| DateTime::<Utc>::from_timestamp(ts, 0);
    let points: Vec<Value> = result
        .points
        .iter()
        .map(|point| json!({"at": at(point.ts), "value": point.value, "low": point.low, "high": point.high}))
        .collect();
    (
        json!({
            "interval_secs": result.interval_secs,
            "seasonal_period_secs": result.seasonal_period_secs,
            "trend_per_day": result.trend_per_day,
            "residual_sigma": result.residual_sigma,
            "points": points,
        }),
        breach,
    )
}

fn breach_json(breach: &Breach) -> Value {
    json!({
        "side": breach.side, "bound": breach.bound, "value": breach.value, "certain": breach.certain,
        "at": DateTime::<Utc>::from_timestamp(breach.ts, 0), "in_secs": breach.in_secs,
    })
}

/// "2 h", "90 min", "1.5 d": a bound in seconds as people write it.
fn duration_words(secs: f64) -> String {
    let (value, unit) = if secs >= 2.0 * 86_400.0 {
        (secs / 86_400.0, "d")
    } else if secs >= 2.0 * 3_600.0 {
        (secs / 3_600.0, "h")
    } else {
        (secs / 60.0, "min")
    };
    format!(
        "{} {unit}",
        crate::monitoring::causes::format_value((value * 10.0).round() / 10.0)
    )
}

/// "in about 3 h", "in about 2 d", "in about 20 min".
fn in_words(secs: i64) -> String {
    if secs < 2 * 3_600 {
        format!("in about {} min", (secs as f64 / 60.0).round())
    } else if secs < 2 * 86_400 {
        format!("in about {} h", (secs as f64 / 3_600.0).round())
    } else {
        format!("in about {} d", (secs as f64 / 86_400.0).round())
    }
}

#[utoipa::path(get, path = "/api/v1/assets/{id}/forecast", tag = "intelligence", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Asset id"), ForecastParams),
    responses((status = 200, body = Value), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn asset_forecast(
    State(state): State<AppState>,
    Read(Caller { tenant, .. }): Read,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ForecastParams>,
) -> ApiResult<Json<Value>> {
    let id = parse_uuid("asset", &id)?;
    let (metric, column) = series_of(&params.metric, params.column)?;
    let horizon = params.horizon.unwrap_or(DEFAULT_HORIZON);
    if !(1..=MAX_HORIZON).contains(&horizon) {
        return Err(ApiError::bad_request(
            format!("horizon must be between 1 and {MAX_HORIZON}, got {horizon}"),
            json!({"field": "horizon"}),
        ));
    }
    let history = state
        .store
        .metric_series(&tenant, id, metric, &column, FORECAST_HISTORY_POINTS)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    let (lower, upper) = if params.lower.is_some() || params.upper.is_some() {
        (params.lower, params.upper)
    } else {
        state
            .store
            .metric_bounds(&tenant, Some(id))
            .await?
            .into_iter()
            .find(|bound| bound.metric == metric && bound.column == column)
            .map_or((None, None), |bound| (bound.lower_bound, bound.upper_bound))
    };
    let (forecast, breach) = forecast_json(metric, &history, horizon, lower, upper);
    Ok(Json(json!({
        "metric": metric, "column": column, "history_points": history.len(),
        "bounds": {"lower": lower, "upper": upper},
        "forecast": forecast,
        "breach": breach.as_ref().map(breach_json),
    })))
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
    responses((status = 200, body = Value), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_bounds(
    State(state): State<AppState>,
    Write(Caller { tenant, .. }): Write,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<BoundsBody>,
) -> ApiResult<Json<Value>> {
    let id = parse_uuid("asset", &id)?;
    let (metric, column) = series_of(&body.metric, body.column)?;
    match (body.lower, body.upper) {
        (None, None) => {
            return Err(ApiError::bad_request(
                "give `lower`, `upper` or both",
                json!({"field": "upper"}),
            ));
        }
        (Some(lower), Some(upper)) if lower >= upper => {
            return Err(ApiError::bad_request(
                format!("`lower` ({lower}) must be below `upper` ({upper})"),
                json!({"field": "lower"}),
            ));
        }
        _ => {}
    }
    if !state
        .store
        .put_metric_bound(&tenant, id, metric, &column, body.lower, body.upper)
        .await?
    {
        return Err(ApiError::not_found("asset"));
    }
    Ok(Json(
        json!({"metric": metric, "column": column, "lower": body.lower, "upper": body.upper}),
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
    params(WarningParams), responses((status = 200, body = Value), (status = 400, body = ErrorBody)))]
async fn warnings(
    State(state): State<AppState>,
    Read(Caller { tenant, .. }): Read,
    ApiQuery(params): ApiQuery<WarningParams>,
) -> ApiResult<Json<Value>> {
    let horizon = params.horizon.unwrap_or(DEFAULT_HORIZON).clamp(1, MAX_HORIZON);
    let mut items = Vec::new();
    for bound in state.store.metric_bounds(&tenant, None).await? {
        let history = state
            .store
            .metric_series(
                &tenant,
                bound.asset_id,
                &bound.metric,
                &bound.column,
                FORECAST_HISTORY_POINTS,
            )
            .await?
            .unwrap_or_default();
        let (_, breach) = forecast_json(
            &bound.metric,
            &history,
            horizon,
            bound.lower_bound,
            bound.upper_bound,
        );
        let Some(breach) = breach else { continue };
        let series = if bound.column.is_empty() {
            format!("{} {}", bound.asset, bound.metric)
        } else {
            format!("{}.{} {}", bound.asset, bound.column, bound.metric)
        };
        let message = if bound.metric == MetricKind::FreshnessLag.as_str() && breach.side == "upper" {
            format!(
                "{} likely later than its {} freshness bound {} (no load expected before then)",
                bound.asset,
                duration_words(breach.bound),
                in_words(breach.in_secs)
            )
        } else {
            format!(
                "{series} likely {} its {} bound {} {} (forecast {:.1})",
                if breach.side == "upper" { "above" } else { "below" },
                breach.side,
                breach.bound,
                in_words(breach.in_secs),
                breach.value
            )
        };
        items.push(json!({
            "asset_id": bound.asset_id, "asset": bound.asset, "metric": bound.metric,
            "column": bound.column, "breach": breach_json(&breach), "message": message,
        }));
    }
    items.sort_by_key(|item| item["breach"]["in_secs"].as_i64().unwrap_or(i64::MAX));
    Ok(Json(json!({"items": items})))
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
    params(AnomalyListParams), responses((status = 200, body = Value), (status = 400, body = ErrorBody)))]
async fn list_anomalies(
    State(state): State<AppState>,
    Read(Caller { tenant, .. }): Read,
    ApiQuery(params): ApiQuery<AnomalyListParams>,
) -> ApiResult<Json<Value>> {
    let asset = params
        .asset
        .as_deref()
        .map(|id| parse_uuid("asset", id))
        .transpose()?;
    let limit = params.limit.unwrap_or(DEFAULT_EVENT_LIMIT);
    if !(1..=MAX_EVENT_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            format!("limit must be between 1 and {MAX_EVENT_LIMIT}, got {limit}"),
            json!({"field": "limit"}),
        ));
    }
    let items = state
        .store
        .list_anomaly_events(&tenant, asset, params.open.unwrap_or(false), limit)
        .await?;
    Ok(Json(json!({"items": items})))
}

/// Runs a detection pass over the tenant's series with new points now (the background task does
/// the same for every tenant periodically).
#[utoipa::path(post, path = "/api/v1/anomalies/scan", tag = "intelligence", security(("bearer" = ["editor"])),
    responses((status = 200, body = Value)))]
async fn scan_now(
    State(state): State<AppState>,
    Write(Caller { tenant, .. }): Write,
) -> ApiResult<Json<Value>> {
    let outcome = scan::run_pass(&state.store, Some(&tenant)).await?;
    Ok(Json(json!(outcome)))
}

async fn load_event(
    store: &Store,
    tenant: &TenantId,
    id: &str,
) -> ApiResult<crate::store::intelligence::AnomalyEvent> {
    let id = parse_uuid("anomaly", id)?;
    store
        .get_anomaly_event(tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("anomaly"))
}

#[utoipa::path(get, path = "/api/v1/anomalies/{id}", tag = "intelligence", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Anomaly id")), responses((status = 200, body = Value), (status = 404, body = ErrorBody)))]
async fn get_anomaly(
    State(state): State<AppState>,
    Read(Caller { tenant, .. }): Read,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(load_event(&state.store, &tenant, &id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    /// `expected` or `false_positive`.
    verdict: String,
}

async fn set_feedback(
    state: &AppState,
    tenant: &TenantId,
    id: &str,
    verdict: Option<&str>,
) -> ApiResult<Json<Value>> {
    let uuid = parse_uuid("anomaly", id)?;
    if !state.store.set_anomaly_feedback(tenant, uuid, verdict).await? {
        return Err(ApiError::not_found("anomaly"));
    }
    Ok(Json(json!(load_event(&state.store, tenant, id).await?)))
}

#[utoipa::path(post, path = "/api/v1/anomalies/{id}/feedback", tag = "intelligence", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Anomaly id")), request_body = FeedbackBody,
    responses((status = 200, body = Value), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn post_feedback(
    State(state): State<AppState>,
    Write(Caller { tenant, .. }): Write,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<FeedbackBody>,
) -> ApiResult<Json<Value>> {
    if scan::judgement(&body.verdict).is_none() {
        return Err(ApiError::bad_request(
            format!(
                "verdict must be `expected` or `false_positive`, found `{}`",
                body.verdict
            ),
            json!({"field": "verdict"}),
        ));
    }
    set_feedback(&state, &tenant, &id, Some(&body.verdict)).await
}

#[utoipa::path(delete, path = "/api/v1/anomalies/{id}/feedback", tag = "intelligence", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Anomaly id")), responses((status = 200, body = Value), (status = 404, body = ErrorBody)))]
async fn delete_feedback(
    State(state): State<AppState>,
    Write(Caller { tenant, .. }): Write,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    set_feedback(&state, &tenant, &id, None).await
}

#[utoipa::path(get, path = "/api/v1/anomalies/{id}/causes", tag = "intelligence", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Anomaly id")), responses((status = 200, body = Value), (status = 404, body = ErrorBody)))]
async fn anomaly_causes(
    State(state): State<AppState>,
    Read(Caller { tenant, .. }): Read,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let event = load_event(&state.store, &tenant, &id).await?;
    let report = causes::analyse(&state.store, &tenant, event).await?;
    Ok(Json(json!(report)))
}
