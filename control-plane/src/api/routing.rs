//! Routing policy: rules (`/api/v1/routing-rules`), ownership (`/api/v1/ownership`), digests
//! (`/api/v1/digests`) — read by viewers, written by admins — and where an incident goes and why
//! (`GET /api/v1/incidents/{id}/routing`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::{Manage, Read};
use super::error::{ApiResult, ErrorBody};
use super::{ApiJson, ApiPath, AppState};
use crate::incidents::policy::{
    self, Digest, DigestInput, DigestList, OwnershipEntry, OwnershipInput, OwnershipList, RoutingExplanation,
    RoutingRule, RoutingRuleInput, RoutingRuleList,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(replace_rule, delete_rule))
        .routes(routes!(list_ownership, put_ownership))
        .routes(routes!(delete_ownership))
        .routes(routes!(explain_routing))
        .routes(routes!(list_digests, create_digest))
        .routes(routes!(delete_digest))
}

/// The tenant's routing rules in evaluation order. With none, the default route holds: critical
/// and high incidents go to their owner's channels, or to every channel.
#[utoipa::path(get, path = "/api/v1/routing-rules", tag = "routing", security(("bearer" = ["viewer"])),
    responses((status = 200, body = RoutingRuleList), (status = 403, body = ErrorBody)))]
async fn list_rules(State(state): State<AppState>, Read(caller): Read) -> ApiResult<Json<RoutingRuleList>> {
    Ok(Json(
        policy::list_rules(&state.store.tenant(&caller.tenant)).await?,
    ))
}

/// Adds a rule, e.g. `{"name": "page finance", "expression": "severity >= high and tag = finance",
/// "channel_ids": ["…"], "escalation": [{"after_minutes": 15, "channel_ids": ["…"]}]}`. 400 names
/// the field (an expression's mistake with its column), 409 when the name is taken.
#[utoipa::path(post, path = "/api/v1/routing-rules", tag = "routing", security(("bearer" = ["admin"])),
    request_body = RoutingRuleInput,
    responses((status = 201, body = RoutingRule), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create_rule(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiJson(input): ApiJson<RoutingRuleInput>,
) -> ApiResult<(StatusCode, Json<RoutingRule>)> {
    let by = caller.principal.actor();
    let rule = policy::write_rule(&state.store.tenant(&caller.tenant), None, input, &by).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Replaces a rule whole (the same body as creating one).
#[utoipa::path(put, path = "/api/v1/routing-rules/{id}", tag = "routing", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path, description = "Routing rule id")), request_body = RoutingRuleInput,
    responses((status = 200, body = RoutingRule), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn replace_rule(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<RoutingRuleInput>,
) -> ApiResult<Json<RoutingRule>> {
    let id = super::parse_id(&id, "routing rule")?;
    let by = caller.principal.actor();
    Ok(Json(
        policy::write_rule(&state.store.tenant(&caller.tenant), Some(id), input, &by).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/routing-rules/{id}", tag = "routing", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path, description = "Routing rule id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn delete_rule(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = super::parse_id(&id, "routing rule")?;
    policy::delete_rule(&state.store.tenant(&caller.tenant), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Owners, subscribers and channels per asset, tag, source and the tenant, most specific first
/// (an incident's owner is the first that matches: asset > tag > source > tenant).
#[utoipa::path(get, path = "/api/v1/ownership", tag = "routing", security(("bearer" = ["viewer"])),
    responses((status = 200, body = OwnershipList), (status = 403, body = ErrorBody)))]
async fn list_ownership(State(state): State<AppState>, Read(caller): Read) -> ApiResult<Json<OwnershipList>> {
    Ok(Json(
        policy::list_ownership(&state.store.tenant(&caller.tenant)).await?,
    ))
}

/// Sets who owns an asset, tag, source or the tenant, e.g. `{"scope": "tag", "target": "finance",
/// "owners": ["team-payments"], "channel_ids": ["…"]}` (replacing that entry).
#[utoipa::path(put, path = "/api/v1/ownership", tag = "routing", security(("bearer" = ["admin"])),
    request_body = OwnershipInput,
    responses((status = 200, body = OwnershipEntry), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_ownership(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiJson(input): ApiJson<OwnershipInput>,
) -> ApiResult<Json<OwnershipEntry>> {
    let by = caller.principal.actor();
    Ok(Json(
        policy::put_ownership(&state.store.tenant(&caller.tenant), input, &by).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/ownership/{id}", tag = "routing", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path, description = "Ownership entry id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn delete_ownership(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = super::parse_id(&id, "ownership entry")?;
    policy::delete_ownership(&state.store.tenant(&caller.tenant), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where the incident goes under the current policy and why: its owner (and which entry won),
/// every rule with whether it held, the channels with their reasons, the escalation tiers.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/routing", tag = "routing", security(("bearer" = ["viewer"])),
    params(("id" = Uuid, Path, description = "Incident id")),
    responses((status = 200, body = RoutingExplanation), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn explain_routing(
    State(state): State<AppState>,
    Read(caller): Read,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RoutingExplanation>> {
    let id = super::parse_id(&id, "incident")?;
    Ok(Json(
        policy::explain(&state.store.tenant(&caller.tenant), id).await?,
    ))
}

/// The tenant's daily and weekly digests.
#[utoipa::path(get, path = "/api/v1/digests", tag = "routing", security(("bearer" = ["viewer"])),
    responses((status = 200, body = DigestList), (status = 403, body = ErrorBody)))]
async fn list_digests(State(state): State<AppState>, Read(caller): Read) -> ApiResult<Json<DigestList>> {
    Ok(Json(
        policy::list_digests(&state.store.tenant(&caller.tenant)).await?,
    ))
}

/// Sends a summary of the period's incidents to a channel every day or week, e.g.
/// `{"channel_id": "…", "cadence": "daily", "hour": 8, "timezone": "Europe/Berlin"}`.
#[utoipa::path(post, path = "/api/v1/digests", tag = "routing", security(("bearer" = ["admin"])),
    request_body = DigestInput,
    responses((status = 201, body = Digest), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_digest(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiJson(input): ApiJson<DigestInput>,
) -> ApiResult<(StatusCode, Json<Digest>)> {
    let by = caller.principal.actor();
    let digest = policy::create_digest(&state.store.tenant(&caller.tenant), input, &by).await?;
    Ok((StatusCode::CREATED, Json(digest)))
}

#[utoipa::path(delete, path = "/api/v1/digests/{id}", tag = "routing", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path, description = "Digest id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn delete_digest(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = super::parse_id(&id, "digest")?;
    policy::delete_digest(&state.store.tenant(&caller.tenant), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
