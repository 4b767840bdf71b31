//! The monitoring services the REST API, gRPC, the live feed, alert rules and the question engine
//! call: a series judged by its detector, forecasts with the bound they may cross, early warnings
//! with their wording, anomaly events with feedback, root causes. Each takes the caller's tenant
//! and returns a typed result (its schema is in the OpenAPI document) or a [`ServiceError`].
//!
//! Owns the validation of what a caller asks (a known metric, a column only for column metrics,
//! bounds in order) and the words of a warning. Must not: know about HTTP or parse requests (the
//! handlers do), or hold SQL (the store does).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cwic_shared::{MetricKind, TenantId};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::forecast::{Breach, first_breach, forecast_metric};
use super::{causes, scan};
use crate::detectors::table::Contribution;
use crate::detectors::{Judgement, TABLE_VECTOR_METRIC, Verdict};
use crate::error::{ServiceError, ServiceResult};
use crate::store::TenantStore;
use crate::store::intelligence::AnomalyEvent;

/// Steps ahead a forecast or warning looks when the caller names none.
pub const DEFAULT_HORIZON: usize = 24;
pub const MAX_HORIZON: usize = 1_000;
/// Points of history a forecast is made from, at most (the newest).
const FORECAST_HISTORY_POINTS: i64 = 5_000;
/// Points of history judged by the anomaly detector, at most.
const MAX_JUDGED_POINTS: i64 = 10_000;
pub const DEFAULT_EVENT_LIMIT: i64 = 100;
pub const MAX_EVENT_LIMIT: i64 = 1_000;

/// The stored name of a known metric and its column (`""` for table-level metrics), or the
/// one-line error naming what was wrong.
pub fn series_of(metric: &str, column: Option<String>) -> ServiceResult<(&'static str, String)> {
    // The overall quality score is a table-level series too (one point per scored collection).
    if metric == crate::scoring::SCORE_METRIC {
        if column.as_deref().is_some_and(|column| !column.is_empty()) {
            return Err(ServiceError::bad_field(
                "column",
                format!("metric `{metric}` is measured per table: leave out `column`"),
            ));
        }
        return Ok((crate::scoring::SCORE_METRIC, String::new()));
    }
    let Some(kind) = MetricKind::parse(metric) else {
        return Err(ServiceError::bad_field(
            "metric",
            format!("unknown metric `{metric}`"),
        ));
    };
    let column = column.unwrap_or_default();
    if kind.is_column_level() == column.is_empty() {
        let message = if column.is_empty() {
            format!("metric `{metric}` is measured per column: give `column`")
        } else {
            format!("metric `{metric}` is measured per table: leave out `column`")
        };
        return Err(ServiceError::bad_field("column", message));
    }
    Ok((kind.as_str(), column))
}

/// One point of a series with the detector's verdict on it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JudgedPointBody {
    pub observed_at: DateTime<Utc>,
    /// The metric's value; for `table_vector`, the isolation score.
    pub value: f64,
    pub verdict: Verdict,
    /// `table_vector` only: the features furthest from their usual values, furthest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contributions: Option<Vec<Contribution>>,
}

/// A series as its detector sees it, with the times that open an anomaly event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JudgedSeries {
    pub metric: String,
    /// Empty for table-level metrics and `table_vector`.
    pub column: String,
    pub points: Vec<JudgedPointBody>,
    pub anomalies: Vec<DateTime<Utc>>,
}

/// Judges an asset's series (or, with `table_vector`, its table model) causally, with the users'
/// verdicts on earlier anomalies shaping the band as in the stored detection passes.
pub async fn judged_series(
    store: &TenantStore,
    asset: Uuid,
    metric: &str,
    column: Option<String>,
) -> ServiceResult<JudgedSeries> {
    if metric == TABLE_VECTOR_METRIC {
        if column.is_some() {
            return Err(ServiceError::bad_field(
                "column",
                format!("metric `{TABLE_VECTOR_METRIC}` is measured per table: leave out `column`"),
            ));
        }
        if store.asset_identity(asset).await?.is_none() {
            return Err(ServiceError::not_found("asset"));
        }
        let points: Vec<JudgedPointBody> = scan::judged_table(store, asset)
            .await?
            .into_iter()
            .map(|(observed_at, verdict)| JudgedPointBody {
                observed_at,
                value: verdict.value,
                verdict: verdict.verdict,
                contributions: Some(verdict.contributions),
            })
            .collect();
        return Ok(with_anomalies(TABLE_VECTOR_METRIC, String::new(), points));
    }
    let (metric, column) = series_of(metric, column)?;
    let series = store
        .metric_series(asset, metric, &column, MAX_JUDGED_POINTS)
        .await?
        .ok_or_else(|| ServiceError::not_found("asset"))?;
    let feedback: HashMap<DateTime<Utc>, Judgement> = store
        .series_feedback(asset, metric, &column)
        .await?
        .into_iter()
        .filter_map(|(at, verdict)| scan::judgement(&verdict).map(|judgement| (at, judgement)))
        .collect();
    let points = scan::judge(metric, &series, &feedback)
        .into_iter()
        .map(|point| JudgedPointBody {
            observed_at: point.observed_at,
            value: point.value,
            verdict: point.verdict,
            contributions: None,
        })
        .collect();
    Ok(with_anomalies(metric, column, points))
}

fn with_anomalies(metric: &str, column: String, points: Vec<JudgedPointBody>) -> JudgedSeries {
    let anomalies = points
        .iter()
        .filter(|point| point.verdict.anomaly)
        .map(|point| point.observed_at)
        .collect();
    JudgedSeries {
        metric: metric.to_owned(),
        column,
        points,
        anomalies,
    }
}

/// One forecast step.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastPointBody {
    pub at: Option<DateTime<Utc>>,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// A forecast of a series: its spacing, season and trend, and the steps ahead with their band.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastBody {
    pub interval_secs: i64,
    pub seasonal_period_secs: Option<i64>,
    pub trend_per_day: f64,
    pub residual_sigma: f64,
    pub points: Vec<ForecastPointBody>,
}

/// The first forecast step past a bound.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BreachBody {
    /// `lower` or `upper`.
    pub side: String,
    pub bound: f64,
    pub value: f64,
    /// Whether the whole 95% interval is past the bound at that step, or only the expected value.
    pub certain: bool,
    pub at: Option<DateTime<Utc>>,
    pub in_secs: i64,
}

impl From<&Breach> for BreachBody {
    fn from(breach: &Breach) -> Self {
        BreachBody {
            side: breach.side.to_owned(),
            bound: breach.bound,
            value: breach.value,
            certain: breach.certain,
            at: DateTime::<Utc>::from_timestamp(breach.ts, 0),
            in_secs: breach.in_secs,
        }
    }
}

/// The bounds a forecast was checked against.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoundPair {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A series' forecast and the first bound it is expected to cross, if any.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssetForecast {
    pub metric: String,
    pub column: String,
    pub history_points: usize,
    pub bounds: BoundPair,
    /// Null when the history is too short to forecast.
    pub forecast: Option<ForecastBody>,
    pub breach: Option<BreachBody>,
}

/// What a caller asks a forecast of.
pub struct ForecastRequest {
    pub metric: String,
    pub column: Option<String>,
    pub horizon: Option<usize>,
    /// Bounds to check instead of the stored ones.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

fn forecast_of(
    metric: &str,
    history: &[(DateTime<Utc>, f64)],
    horizon: usize,
    lower: Option<f64>,
    upper: Option<f64>,
) -> (Option<ForecastBody>, Option<Breach>) {
    let series: Vec<(i64, f64)> = history
        .iter()
        .map(|(at, value)| (at.timestamp(), *value))
        .collect();
    let Some(result) = forecast_metric(metric, &series, horizon) else {
        return (None, None);
    };
    let last = series.last().map_or(0, |(ts, _)| *ts);
    let breach = first_breach(&result, last, lower, upper);
    let points = result
        .points
        .iter()
        .map(|point| ForecastPointBody {
            at: DateTime::<Utc>::from_timestamp(point.ts, 0),
            value: point.value,
            low: point.low,
            high: point.high,
        })
        .collect();
    let body = ForecastBody {
        interval_secs: result.interval_secs,
        seasonal_period_secs: result.seasonal_period_secs,
        trend_per_day: result.trend_per_day,
        residual_sigma: result.residual_sigma,
        points,
    };
    (Some(body), breach)
}

/// Forecasts an asset's series `horizon` steps ahead and finds the first crossing of its bounds
/// (the request's, else the stored ones).
pub async fn asset_forecast(
    store: &TenantStore,
    asset: Uuid,
    request: ForecastRequest,
) -> ServiceResult<AssetForecast> {
    let (metric, column) = series_of(&request.metric, request.column)?;
    let horizon = request.horizon.unwrap_or(DEFAULT_HORIZON);
    if !(1..=MAX_HORIZON).contains(&horizon) {
        return Err(ServiceError::bad_field(
            "horizon",
            format!("horizon must be between 1 and {MAX_HORIZON}, got {horizon}"),
        ));
    }
    let history = store
        .metric_series(asset, metric, &column, FORECAST_HISTORY_POINTS)
        .await?
        .ok_or_else(|| ServiceError::not_found("asset"))?;
    let (lower, upper) = if request.lower.is_some() || request.upper.is_some() {
        (request.lower, request.upper)
    } else {
        store
            .metric_bounds(Some(asset))
            .await?
            .into_iter()
            .find(|bound| bound.metric == metric && bound.column == column)
            .map_or((None, None), |bound| (bound.lower_bound, bound.upper_bound))
    };
    let (forecast, breach) = forecast_of(metric, &history, horizon, lower, upper);
    Ok(AssetForecast {
        metric: metric.to_owned(),
        column,
        history_points: history.len(),
        bounds: BoundPair { lower, upper },
        forecast,
        breach: breach.as_ref().map(BreachBody::from),
    })
}

/// A series' bounds as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetricBoundSet {
    pub metric: String,
    pub column: String,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Sets the bounds an asset's series is warned about (at least one, lower below upper).
pub async fn put_bounds(
    store: &TenantStore,
    asset: Uuid,
    metric: &str,
    column: Option<String>,
    lower: Option<f64>,
    upper: Option<f64>,
) -> ServiceResult<MetricBoundSet> {
    let (metric, column) = series_of(metric, column)?;
    match (lower, upper) {
        (None, None) => return Err(ServiceError::bad_field("upper", "give `lower`, `upper` or both")),
        (Some(lower), Some(upper)) if lower >= upper => {
            return Err(ServiceError::bad_field(
                "lower",
                format!("`lower` ({lower}) must be below `upper` ({upper})"),
            ));
        }
        _ => {}
    }
    if !store
        .put_metric_bound(asset, metric, &column, lower, upper)
        .await?
    {
        return Err(ServiceError::not_found("asset"));
    }
    Ok(MetricBoundSet {
        metric: metric.to_owned(),
        column,
        lower,
        upper,
    })
}

/// A bounded series whose forecast crosses its bound within the horizon, in words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Warning {
    pub asset_id: Uuid,
    pub asset: String,
    pub metric: String,
    pub column: String,
    pub breach: BreachBody,
    /// E.g. "public.orders row_count likely below its lower bound 1000 in about 3 h (forecast 912.4)".
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarningList {
    /// Soonest breach first.
    pub items: Vec<Warning>,
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
    format!("{} {unit}", causes::format_value((value * 10.0).round() / 10.0))
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

/// The words of a warning about `asset`'s series crossing a bound.
pub fn warning_message(asset: &str, metric: &str, column: &str, breach: &Breach) -> String {
    if metric == MetricKind::FreshnessLag.as_str() && breach.side == "upper" {
        return format!(
            "{asset} likely later than its {} freshness bound {} (no load expected before then)",
            duration_words(breach.bound),
            in_words(breach.in_secs)
        );
    }
    let series = if column.is_empty() {
        format!("{asset} {metric}")
    } else {
        format!("{asset}.{column} {metric}")
    };
    format!(
        "{series} likely {} its {} bound {} {} (forecast {:.1})",
        if breach.side == "upper" { "above" } else { "below" },
        breach.side,
        breach.bound,
        in_words(breach.in_secs),
        breach.value
    )
}

/// Every bounded series of the tenant whose forecast crosses its bound within `horizon` steps
/// (clamped to 1..=[`MAX_HORIZON`]), soonest first.
pub async fn warnings(store: &TenantStore, horizon: Option<usize>) -> ServiceResult<WarningList> {
    let horizon = horizon.unwrap_or(DEFAULT_HORIZON).clamp(1, MAX_HORIZON);
    let mut items = Vec::new();
    for bound in store.metric_bounds(None).await? {
        let history = store
            .metric_series(
                bound.asset_id,
                &bound.metric,
                &bound.column,
                FORECAST_HISTORY_POINTS,
            )
            .await?
            .unwrap_or_default();
        let (_, breach) = forecast_of(
            &bound.metric,
            &history,
            horizon,
            bound.lower_bound,
            bound.upper_bound,
        );
        let Some(breach) = breach else { continue };
        let message = warning_message(&bound.asset, &bound.metric, &bound.column, &breach);
        items.push(Warning {
            asset_id: bound.asset_id,
            asset: bound.asset,
            metric: bound.metric,
            column: bound.column,
            breach: BreachBody::from(&breach),
            message,
        });
    }
    items.sort_by_key(|item| item.breach.in_secs);
    Ok(WarningList { items })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnomalyEventList {
    pub items: Vec<AnomalyEvent>,
}

/// The tenant's anomaly events, newest first (`open_only`: those without feedback).
pub async fn list_anomalies(
    store: &TenantStore,
    asset: Option<Uuid>,
    open_only: bool,
    limit: Option<i64>,
) -> ServiceResult<AnomalyEventList> {
    let limit = limit.unwrap_or(DEFAULT_EVENT_LIMIT);
    if !(1..=MAX_EVENT_LIMIT).contains(&limit) {
        return Err(ServiceError::bad_field(
            "limit",
            format!("limit must be between 1 and {MAX_EVENT_LIMIT}, got {limit}"),
        ));
    }
    let items = store.list_anomaly_events(asset, open_only, limit).await?;
    Ok(AnomalyEventList { items })
}

/// One anomaly event of the tenant.
pub async fn anomaly(store: &TenantStore, id: Uuid) -> ServiceResult<AnomalyEvent> {
    store
        .get_anomaly_event(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("anomaly"))
}

/// Records (or with `None` clears) a user's verdict on an anomaly; returns the event as it is now.
pub async fn set_feedback(
    store: &TenantStore,
    id: Uuid,
    verdict: Option<&str>,
) -> ServiceResult<AnomalyEvent> {
    if let Some(verdict) = verdict
        && scan::judgement(verdict).is_none()
    {
        return Err(ServiceError::bad_field(
            "verdict",
            format!("verdict must be `expected` or `false_positive`, found `{verdict}`"),
        ));
    }
    if !store.set_anomaly_feedback(id, verdict).await? {
        return Err(ServiceError::not_found("anomaly"));
    }
    anomaly(store, id).await
}

/// An anomaly with its candidate causes, most likely first.
pub async fn anomaly_causes(store: &TenantStore, id: Uuid) -> ServiceResult<causes::CauseReport> {
    let event = anomaly(store, id).await?;
    Ok(causes::analyse(store, event).await?)
}

/// A detection pass over the tenant's series with new points, now.
pub async fn scan_now(
    detection: &scan::BackgroundWork,
    tenant: &TenantId,
) -> ServiceResult<scan::PassOutcome> {
    Ok(detection.run_pass(tenant).await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn breach(side: &'static str, bound: f64, in_secs: i64, value: f64) -> Breach {
        Breach {
            side,
            bound,
            ts: 0,
            value,
            in_secs,
            certain: true,
        }
    }

    #[test]
    fn warnings_are_worded_for_people() {
        assert_eq!(
            warning_message(
                "public.orders",
                "row_count",
                "",
                &breach("lower", 1000.0, 3 * 3600, 912.44)
            ),
            "public.orders row_count likely below its lower bound 1000 in about 3 h (forecast 912.4)"
        );
        assert_eq!(
            warning_message(
                "public.orders",
                "null_count",
                "email",
                &breach("upper", 5.0, 600, 7.0)
            ),
            "public.orders.email null_count likely above its upper bound 5 in about 10 min (forecast 7.0)"
        );
        assert_eq!(
            warning_message(
                "public.orders",
                "freshness_lag",
                "",
                &breach("upper", 7200.0, 3 * 86_400, 0.0)
            ),
            "public.orders likely later than its 2 h freshness bound in about 3 d (no load expected before then)"
        );
    }

    #[test]
    fn a_column_is_asked_only_of_column_metrics() {
        assert_eq!(
            series_of("row_count", None).unwrap(),
            ("row_count", String::new())
        );
        assert_eq!(
            series_of("row_count", Some("id".into()))
                .err()
                .map(|error| error.details),
            Some(serde_json::json!({"field": "column"}))
        );
        assert_eq!(
            series_of("rows", None).err().map(|error| error.message),
            Some("unknown metric `rows`".to_owned())
        );
    }
}
