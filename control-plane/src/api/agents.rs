//! `/api/v1/agents`: the tenant's agents with their liveness, enrollment tokens, config documents.

//! Each handler parses the request and calls one function of [`crate::agents`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use cwic_shared::AgentId;
use serde::Deserialize;
use serde_json::json;

use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::{Manage, Read};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{ApiJson, ApiPath, AppState};
use crate::agents::commands::{self, CommandReply, CommandRequest};
use crate::agents::service::{self, AgentConfigRevision, AgentList, CreatedEnrollmentToken};
pub use crate::agents::service::{DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME, parse_lifetime};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents))
        .routes(routes!(create_enrollment_token))
        .routes(routes!(put_agent_config))
        .routes(routes!(send_command))
        .routes(routes!(list_dead_letters))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeadLetterParams {
    /// 1 to 1000, default 100.
    limit: Option<i64>,
}

/// Agent messages of the tenant that could not be stored (malformed, refused by the database,
/// SQL past the analyzer's limits, or delivered too often without being settled), newest first,
/// each with its reason. They are kept, not redelivered.
#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "agents", security(("bearer" = ["admin"])),
    params(DeadLetterParams),
    responses((status = 200, body = DeadLetterList), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_dead_letters(
    State(state): State<AppState>,
    Manage(caller): Manage,
    super::ApiQuery(params): super::ApiQuery<DeadLetterParams>,
) -> ApiResult<Json<DeadLetterList>> {
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            format!("limit must be between 1 and 1000, got {limit}"),
            json!({"field": "limit"}),
        ));
    }
    Ok(Json(DeadLetterList(
        state.store.tenant(&caller.tenant).dead_letters(limit).await?,
    )))
}

/// Dead letters, newest first (a JSON array).
#[derive(serde::Serialize, ToSchema)]
#[serde(transparent)]
struct DeadLetterList(Vec<crate::store::DeadLetterRecord>);

fn parse_agent(id: &str) -> ApiResult<AgentId> {
    AgentId::parse(id).map_err(|error| ApiError::bad_request(error.to_string(), json!({"field": "id"})))
}

/// Sends a command to a connected agent and returns its answer (request/reply on the agent's
/// command subject). Every command is in the audit log.
#[utoipa::path(post, path = "/api/v1/agents/{id}/commands", tag = "agents", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Agent id")), request_body = CommandRequest,
    responses((status = 200, body = CommandReply, description = "The agent's answer: `{ok, message}`, and for `fix` `fix: {dataset, check, fix, rows_affected, sql, applied, id, rows_changed}`"),
              (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn send_command(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<CommandRequest>,
) -> ApiResult<Json<CommandReply>> {
    let agent = parse_agent(&id)?;
    Ok(Json(
        commands::send_command(
            state.nats.as_ref(),
            &state.store.tenant(&caller.tenant),
            &agent,
            request,
            &caller.principal.actor(),
        )
        .await?,
    ))
}

/// The tenant's agents: online (heartbeat or batch within 90 s), stale (15 min) or offline, and
/// their versions.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", security(("bearer" = ["viewer"])),
    responses((status = 200, body = AgentList), (status = 401, body = ErrorBody)))]
async fn list_agents(State(state): State<AppState>, Read(caller): Read) -> ApiResult<Json<AgentList>> {
    Ok(Json(
        service::list_agents(&state.store.tenant(&caller.tenant)).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    /// Binds the token to one agent id; any id when absent.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    agent_id: Option<AgentId>,
    /// A duration such as `15m`, `24h` or `7d`.
    #[serde(default)]
    expires_in: Option<String>,
}

/// Creates a one-time enrollment token; the token is in this response only.
#[utoipa::path(post, path = "/api/v1/agents/enrollment-tokens", tag = "agents", security(("bearer" = ["admin"])),
    request_body = TokenRequest,
    responses((status = 201, body = CreatedEnrollmentToken), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_enrollment_token(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiJson(request): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedEnrollmentToken>)> {
    let created = service::create_enrollment_token(
        &state.store.tenant(&caller.tenant),
        request.agent_id.as_ref(),
        request.expires_in.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Stores the agent's config document (YAML text) that `GetConfig` returns.
#[utoipa::path(put, path = "/api/v1/agents/{id}/config", tag = "agents", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Agent id")),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = AgentConfigRevision), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_agent_config(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Json<AgentConfigRevision>> {
    let agent = parse_agent(&id)?;
    Ok(Json(
        service::put_agent_config(&state.store.tenant(&caller.tenant), &agent, &body).await?,
    ))
}
