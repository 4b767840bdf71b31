//! Incidents and their notifications: `GET /api/v1/incidents` (viewer), `GET
//! /api/v1/incidents/{id}`, and the changes a person makes (editor):
//! `POST /api/v1/incidents/{id}/acknowledge|resolve|snooze|close|comments`; dead notifications
//! (`GET /api/v1/notifications?state=dead`) and their re-send (editor).

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::{Read, Write};
use super::error::{ApiResult, ErrorBody};
use super::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::incidents::backtest::BacktestReport;
use crate::incidents::service::{
    self, BacktestRequest, Close, Comment, Incident, IncidentDetail, IncidentList, IncidentNote,
    Notification, NotificationList, Snooze,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents))
        .routes(routes!(get_incident))
        .routes(routes!(acknowledge_incident))
        .routes(routes!(resolve_incident))
        .routes(routes!(snooze_incident))
        .routes(routes!(close_incident))
        .routes(routes!(comment_incident))
        .routes(routes!(list_notifications))
        .routes(routes!(resend_notification))
        .routes(routes!(backtest_rules))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct IncidentParams {
    /// `open`, `acknowledged`, `snoozed`, `resolved`, `closed`, or `active` (the first three).
    status: Option<String>,
    /// `critical`, `high`, `medium` or `low`.
    severity: Option<String>,
    /// Only this asset's incidents.
    asset: Option<String>,
    /// 1 to 1,000; default 100.
    limit: Option<i64>,
}

/// The tenant's incidents, newest first: `?status=open` lists the ones nobody has acknowledged.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", security(("bearer" = ["viewer"])),
    params(IncidentParams),
    responses((status = 200, body = IncidentList), (status = 400, body = ErrorBody)))]
async fn list_incidents(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<IncidentParams>,
) -> ApiResult<Json<IncidentList>> {
    let asset = params
        .asset
        .as_deref()
        .map(|id| super::parse_id(id, "asset"))
        .transpose()?;
    Ok(Json(
        service::list(
            &state.store.tenant(&caller.tenant),
            params.status.as_deref(),
            params.severity.as_deref(),
            asset,
            params.limit,
        )
        .await?,
    ))
}

/// One incident with its timeline (alerts, recoveries, changes, notifications) and where it was sent.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, body = IncidentDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_incident(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<IncidentDetail>> {
    let id = super::parse_id(&id, "incident")?;
    Ok(Json(service::get(&state.store.tenant(&caller.tenant), id).await?))
}

/// Someone is on it: notifications stop escalating. 409 when it already ended.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/acknowledge", tag = "incidents", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Incident id")), request_body(content = Option<IncidentNote>),
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn acknowledge_incident(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiPath(id): ApiPath<String>,
    body: Option<ApiJson<IncidentNote>>,
) -> ApiResult<Json<Incident>> {
    let id = super::parse_id(&id, "incident")?;
    let input = body.map(|ApiJson(note)| note).unwrap_or_default();
    Ok(Json(
        service::acknowledge(
            &state.store.tenant(&caller.tenant),
            id,
            input,
            &caller.principal.actor(),
        )
        .await?,
    ))
}

/// Ends the incident; every channel told of its opening is told it is resolved.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", tag = "incidents", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Incident id")), request_body(content = Option<IncidentNote>),
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn resolve_incident(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiPath(id): ApiPath<String>,
    body: Option<ApiJson<IncidentNote>>,
) -> ApiResult<Json<Incident>> {
    let id = super::parse_id(&id, "incident")?;
    let input = body.map(|ApiJson(note)| note).unwrap_or_default();
    Ok(Json(
        service::resolve(
            &state.store.tenant(&caller.tenant),
            id,
            input,
            &caller.principal.actor(),
        )
        .await?,
    ))
}

/// Quiet until a time (`until`, RFC 3339) or for `minutes`; it opens again when the time comes.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/snooze", tag = "incidents", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Incident id")), request_body = Snooze,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn snooze_incident(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<Snooze>,
) -> ApiResult<Json<Incident>> {
    let id = super::parse_id(&id, "incident")?;
    Ok(Json(
        service::snooze(
            &state.store.tenant(&caller.tenant),
            id,
            input,
            &caller.principal.actor(),
            Utc::now(),
        )
        .await?,
    ))
}

/// Closes it as `expected` or `no_action_needed`; an anomaly's incident passes the verdict to its
/// detector (`expected`, or `false_positive` for no action needed), as anomaly feedback does.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/close", tag = "incidents", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Incident id")), request_body = Close,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn close_incident(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<Close>,
) -> ApiResult<Json<Incident>> {
    let id = super::parse_id(&id, "incident")?;
    Ok(Json(
        service::close(
            &state.store.tenant(&caller.tenant),
            id,
            input,
            &caller.principal.actor(),
        )
        .await?,
    ))
}

/// Adds a comment to the incident's timeline.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/comments", tag = "incidents", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Incident id")), request_body = Comment,
    responses((status = 200, body = IncidentDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn comment_incident(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<Comment>,
) -> ApiResult<Json<IncidentDetail>> {
    let id = super::parse_id(&id, "incident")?;
    Ok(Json(
        service::comment(
            &state.store.tenant(&caller.tenant),
            id,
            input,
            &caller.principal.actor(),
        )
        .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct NotificationParams {
    /// `queued`, `sent` or `dead` (every attempt failed: re-send it).
    state: Option<String>,
    /// 1 to 1,000; default 100.
    limit: Option<i64>,
}

/// Notifications, newest first; `?state=dead` is the dead-letter list.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "incidents", security(("bearer" = ["viewer"])),
    params(NotificationParams),
    responses((status = 200, body = NotificationList), (status = 400, body = ErrorBody)))]
async fn list_notifications(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiQuery(params): ApiQuery<NotificationParams>,
) -> ApiResult<Json<NotificationList>> {
    Ok(Json(
        service::notifications(
            &state.store.tenant(&caller.tenant),
            params.state.as_deref(),
            params.limit,
        )
        .await?,
    ))
}

/// Queues a dead notification again with a fresh set of attempts; 409 unless it is dead.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/resend", tag = "incidents", security(("bearer" = ["editor"])),
    params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 200, body = Notification), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn resend_notification(
    State(state): State<AppState>,
    Write(caller): Write,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Notification>> {
    let id = super::parse_id(&id, "notification")?;
    Ok(Json(
        service::resend(&state.store.tenant(&caller.tenant), id, &caller.principal.actor()).await?,
    ))
}

/// Replays the stored alerts of the last `days` (default 7) through a proposed rule set
/// (severity and score-drop thresholds, grouping window, suppression, routes) and says how many
/// incidents and notifications per channel it would have made, and which past incidents it would
/// have missed. Changes nothing.
#[utoipa::path(post, path = "/api/v1/alert-rules/backtest", tag = "incidents", security(("bearer" = ["viewer"])),
    request_body = BacktestRequest,
    responses((status = 200, body = BacktestReport), (status = 400, body = ErrorBody)))]
async fn backtest_rules(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiJson(input): ApiJson<BacktestRequest>,
) -> ApiResult<Json<BacktestReport>> {
    Ok(Json(
        service::backtest(&state.store.tenant(&caller.tenant), input, Utc::now()).await?,
    ))
}
