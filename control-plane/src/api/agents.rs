//! `/api/v1/agents`: the tenant's agents with their liveness, enrollment tokens, config documents.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use cwic_shared::AgentId;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::{Manage, Read};
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::{ApiJson, ApiPath, AppState};
use crate::auth::OpaqueToken;
use crate::grpc::ENROLLMENT_TOKEN_PREFIX;

/// Lifetime of an enrollment token when the request names none.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Longest lifetime an enrollment token may have.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// Largest agent config document accepted.
const MAX_CONFIG_BYTES: usize = 256 * 1024;

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
    responses((status = 200, body = Vec<crate::store::DeadLetterRecord>), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_dead_letters(
    State(state): State<AppState>,
    Manage(caller): Manage,
    super::ApiQuery(params): super::ApiQuery<DeadLetterParams>,
) -> ApiResult<Json<Vec<crate::store::DeadLetterRecord>>> {
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            format!("limit must be between 1 and 1000, got {limit}"),
            json!({"field": "limit"}),
        ));
    }
    Ok(Json(
        state.store.tenant(&caller.tenant).dead_letters(limit).await?,
    ))
}

/// How long the control plane waits for an agent to answer a command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);
/// A fix runs a statement over the table (and copies the rows it changes): it may take a while.
const FIX_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CommandRequest {
    /// `run_now` (collect at once), `reload_config` (re-read the config file and restart with it) or
    /// `fix` (preview, apply or undo the fix of a check in a source's check suite).
    command: String,
    /// `fix`: the source, by its name in the agent's config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    /// `fix`: the dataset, when several have a check of that name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dataset: Option<String>,
    /// `fix`: the check's name, e.g. `trimmed(name)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    check: Option<String>,
    /// `fix`: apply it (one transaction, with a before-image); without it, a dry run that changes
    /// nothing and tells how many rows would change.
    #[serde(default)]
    apply: bool,
    /// `fix`: undo the applied fix with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    undo: Option<String>,
}

const COMMANDS: [&str; 3] = ["run_now", "reload_config", "fix"];

/// Sends a command to a connected agent and returns its answer (request/reply on the agent's
/// command subject). Every command is in the audit log.
#[utoipa::path(post, path = "/api/v1/agents/{id}/commands", tag = "agents", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Agent id")), request_body = CommandRequest,
    responses((status = 200, body = Value, description = "The agent's answer: `{ok, message}`, and for `fix` `fix: {dataset, check, fix, rows_affected, sql, applied, id, rows_changed}`"),
              (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn send_command(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<CommandRequest>,
) -> ApiResult<Json<Value>> {
    let agent = AgentId::parse(&id)
        .map_err(|error| ApiError::bad_request(error.to_string(), json!({"field": "id"})))?;
    if !COMMANDS.contains(&request.command.as_str()) {
        return Err(ApiError::bad_request(
            format!(
                "unknown command `{}` (expected run_now, reload_config or fix)",
                request.command
            ),
            json!({"field": "command"}),
        ));
    }
    for (field, value) in [
        ("source", &request.source),
        ("dataset", &request.dataset),
        ("check", &request.check),
        ("undo", &request.undo),
    ] {
        if let Some(value) = value {
            super::text::field(field, value, 1, 1024)?;
        }
    }
    let is_fix = request.command == "fix";
    let fix_fields = request.source.is_some()
        || request.dataset.is_some()
        || request.check.is_some()
        || request.apply
        || request.undo.is_some();
    if !is_fix && fix_fields {
        return Err(ApiError::bad_request(
            format!("`{}` takes no other field", request.command),
            json!({"field": "command"}),
        ));
    }
    if is_fix && request.source.is_none() {
        return Err(ApiError::bad_request(
            "`fix` needs `source`",
            json!({"field": "source"}),
        ));
    }
    if is_fix && request.check.is_none() == request.undo.is_none() {
        return Err(ApiError::bad_request(
            "`fix` needs either `check` (to preview or apply) or `undo` (an applied fix's id)",
            json!({"field": "check"}),
        ));
    }
    let Some(nats) = &state.nats else {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "this control plane has no broker connection",
        ));
    };
    let subject = cwic_shared::subjects::command_subject(&caller.tenant, &agent);
    let payload =
        serde_json::to_vec(&request).map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
    let timeout = if is_fix { FIX_TIMEOUT } else { COMMAND_TIMEOUT };
    let reply = tokio::time::timeout(
        timeout,
        nats.send_request(
            subject,
            async_nats::Request::new()
                .payload(payload.into())
                .timeout(Some(timeout)),
        ),
    )
    .await;
    let not_listening = || {
        ApiError::new(
            ErrorCode::Conflict,
            format!("agent `{agent}` is not connected (no answer on its command subject)"),
        )
    };
    let message = match reply {
        Ok(Ok(message)) => message,
        Ok(Err(error)) if error.kind() == async_nats::RequestErrorKind::NoResponders => {
            return Err(not_listening());
        }
        Ok(Err(_)) | Err(_) => return Err(not_listening()),
    };
    let answer: Value = serde_json::from_slice(&message.payload)
        .unwrap_or_else(|_| json!({"ok": false, "message": "the agent's answer is not JSON"}));
    Ok(Json(
        json!({"agent_id": agent, "command": request.command, "answer": answer}),
    ))
}

/// The tenant's agents: online (heartbeat or batch within 90 s), stale (15 min) or offline, and
/// their versions.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", security(("bearer" = ["viewer"])),
    responses((status = 200, body = Value, description = "`{\"items\": [agent]}`"), (status = 401, body = ErrorBody)))]
async fn list_agents(State(state): State<AppState>, Read(caller): Read) -> ApiResult<Json<Value>> {
    let agents = state.store.tenant(&caller.tenant).list_agents().await?;
    Ok(Json(json!({ "items": agents })))
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

/// Parses a token lifetime such as `90s`, `15m`, `24h`, `7d` (at most [`MAX_TOKEN_LIFETIME`]).
pub fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let expected = "expected a duration like 15m, 24h or 7d";
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{expected}, found `{text}`"))?;
    let seconds = match unit {
        "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3600),
        "d" => number.saturating_mul(86_400),
        _ => return Err(format!("{expected}, found `{text}`")),
    };
    let lifetime = Duration::from_secs(seconds);
    if lifetime.is_zero() || lifetime > MAX_TOKEN_LIFETIME {
        return Err(format!("expected a duration between 1s and 30d, found `{text}`"));
    }
    Ok(lifetime)
}

/// Creates a one-time enrollment token; the token is in this response only.
#[utoipa::path(post, path = "/api/v1/agents/enrollment-tokens", tag = "agents", security(("bearer" = ["admin"])),
    request_body = TokenRequest,
    responses((status = 201, body = Value), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_enrollment_token(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiJson(request): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let lifetime = match request.expires_in.as_deref() {
        Some(text) => parse_lifetime(text)
            .map_err(|message| ApiError::bad_request(message, json!({"field": "expires_in"})))?,
        None => DEFAULT_TOKEN_LIFETIME,
    };
    let expires_at = Utc::now()
        + chrono::Duration::from_std(lifetime)
            .map_err(|_| ApiError::bad_request("expires_in is too long", json!({"field": "expires_in"})))?;
    let OpaqueToken { text: token, hash } =
        OpaqueToken::with_prefix(ENROLLMENT_TOKEN_PREFIX).map_err(|error| {
            tracing::error!(%error, "cannot make an enrollment token");
            ApiError::new(ErrorCode::Internal, "internal error")
        })?;
    let created = state
        .store
        .tenant(&caller.tenant)
        .create_enrollment_token(&hash, request.agent_id.as_ref(), expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": created.id,
            "tenant_id": caller.tenant,
            "agent_id": created.agent_id,
            "expires_at": created.expires_at,
            "token": token,
        })),
    ))
}

/// Stores the agent's config document (YAML text) that `GetConfig` returns.
#[utoipa::path(put, path = "/api/v1/agents/{id}/config", tag = "agents", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Agent id")),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = Value), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_agent_config(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let agent = AgentId::parse(&id)
        .map_err(|error| ApiError::bad_request(error.to_string(), json!({"field": "id"})))?;
    if body.len() > MAX_CONFIG_BYTES {
        return Err(ApiError::bad_request(
            format!("the config document is larger than {MAX_CONFIG_BYTES} bytes"),
            json!({"field": "body"}),
        ));
    }
    let yaml = std::str::from_utf8(&body).map_err(|_| {
        ApiError::bad_request("the config document is not UTF-8 text", json!({"field": "body"}))
    })?;
    let revision = state
        .store
        .tenant(&caller.tenant)
        .set_agent_config(&agent, yaml)
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    Ok(Json(json!({ "agent_id": agent, "revision": revision })))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_with_units_and_bounds() {
        assert_eq!(parse_lifetime("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_lifetime("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_lifetime("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_lifetime("30d").unwrap(), MAX_TOKEN_LIFETIME);
        assert_eq!(
            parse_lifetime("31d").unwrap_err(),
            "expected a duration between 1s and 30d, found `31d`"
        );
        assert_eq!(
            parse_lifetime("0s").unwrap_err(),
            "expected a duration between 1s and 30d, found `0s`"
        );
        assert_eq!(
            parse_lifetime("soon").unwrap_err(),
            "expected a duration like 15m, 24h or 7d, found `soon`"
        );
        assert!(parse_lifetime("5w").is_err());
    }
}
