//! Sign-in and access management: `/api/v1/auth/*` (login, refresh, logout, me), members, API tokens
//! and the audit log.
//!
//! The refresh token travels in an HttpOnly cookie scoped to `/api/v1/auth` for the console, and in
//! the JSON body for other clients; either may be presented back.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cwic_shared::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::access::{Manage, Read, client_ip};
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::{ApiJson, ApiPath, ApiQuery, AppState, text};
use crate::auth::{
    ACCESS_TOKEN_TTL, Caller, MembershipChange, MembershipRefusal, OpaqueToken, REFRESH_TOKEN_TTL, Role,
    TokenKind, UNKNOWN_USER_HASH, hash_password, hash_token, verify_password,
};
use crate::store::{ApiTokenInfo, AuditEntry, AuditQuery, AuditRecord, Member, Refresh, SsoConnectionInfo};

const REFRESH_COOKIE: &str = "cwic_refresh";
const COOKIE_PATH: &str = "/api/v1/auth";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_members, add_member))
        .routes(routes!(change_member, remove_member))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(audit_log))
        .routes(routes!(sso_start))
        .routes(routes!(sso_callback))
        .routes(routes!(list_sso, create_sso))
        .routes(routes!(delete_sso))
}

/// The parts of a request the sign-in routes record: client address and whether it came over TLS.
pub struct ClientInfo {
    ip: String,
    ip_addr: Option<std::net::IpAddr>,
    https: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip_addr = client_ip(parts);
        Ok(Self {
            ip: ip_addr.map(|ip| ip.to_string()).unwrap_or_default(),
            ip_addr,
            https: parts
                .headers
                .get("x-forwarded-proto")
                .is_some_and(|value| value.as_bytes() == b"https"),
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
    /// Which tenant to act in; needed only for members of several tenants.
    tenant: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Session {
    access_token: String,
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// Also set as an HttpOnly cookie for browsers.
    refresh_token: String,
    tenant: String,
    role: Role,
    email: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token; browsers may omit it and send the cookie instead.
    refresh_token: Option<String>,
}

fn audit_login(
    tenant: Option<TenantId>,
    email: &str,
    outcome: &str,
    reason: &str,
    client: &ClientInfo,
) -> AuditEntry {
    AuditEntry {
        tenant,
        actor: format!("user:{}", email.to_lowercase()),
        action: "login".to_owned(),
        target: "password".to_owned(),
        outcome: outcome.to_owned(),
        source_ip: client.ip.clone(),
        details: json!({"reason": reason}),
    }
}

fn refresh_cookie(session: &Session, https: bool) -> String {
    format!(
        "{REFRESH_COOKIE}={}; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age={}{}",
        session.refresh_token,
        REFRESH_TOKEN_TTL.num_seconds(),
        if https { "; Secure" } else { "" }
    )
}

fn session_response(session: Session, https: bool) -> Response {
    let cookie = refresh_cookie(&session, https);
    let mut response = Json(session).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn new_session(
    state: &AppState,
    user: Uuid,
    email: &str,
    tenant: &TenantId,
    role: Role,
    family: Uuid,
) -> ApiResult<Session> {
    let refresh = OpaqueToken::generate(TokenKind::Refresh).map_err(internal)?;
    state
        .store
        .tenant(tenant)
        .insert_refresh_token(user, family, &refresh.hash, Utc::now() + REFRESH_TOKEN_TTL)
        .await?;
    Ok(Session {
        access_token: state.keys.issue(user, email, tenant, role).map_err(internal)?,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_TTL.num_seconds(),
        refresh_token: refresh.text,
        tenant: tenant.as_str().to_owned(),
        role,
        email: email.to_owned(),
    })
}

fn internal(error: anyhow::Error) -> ApiError {
    tracing::error!(%error, "cannot issue a token");
    ApiError::new(ErrorCode::Internal, "internal error")
}

/// Signs in with e-mail and password; returns an access token and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Session), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    if let Some(ip) = client.ip_addr {
        state.limits.charge_login(ip)?;
    }
    let candidate = state.store.identity().login_candidate(&request.email).await?;
    let stored = candidate.as_ref().and_then(|user| user.password_hash.as_deref());
    let password_ok =
        verify_password(&request.password, stored.unwrap_or(UNKNOWN_USER_HASH)) && stored.is_some();
    let denied = || ApiError::new(ErrorCode::Unauthenticated, "wrong e-mail address or password");
    let Some(user) = candidate.filter(|_| password_ok) else {
        state
            .store
            .identity()
            .append_audit(&audit_login(
                None,
                &request.email,
                "denied",
                "bad credentials",
                &client,
            ))
            .await?;
        return Err(denied());
    };
    let chosen = match &request.tenant {
        Some(wanted) => user
            .memberships
            .iter()
            .find(|(tenant, _)| tenant.as_str() == wanted),
        None if user.memberships.len() == 1 => user.memberships.first(),
        None if user.memberships.is_empty() => None,
        None => {
            let tenants: Vec<&str> = user
                .memberships
                .iter()
                .map(|(tenant, _)| tenant.as_str())
                .collect();
            return Err(ApiError::new(
                ErrorCode::TenantRequired,
                format!(
                    "this account belongs to several tenants; choose one of: {}",
                    tenants.join(", ")
                ),
            )
            .with_details(json!({"field": "tenant", "tenants": tenants})));
        }
    };
    let Some((tenant, role)) = chosen.cloned() else {
        state
            .store
            .identity()
            .append_audit(&audit_login(
                None,
                &user.email,
                "denied",
                "not a member of the tenant",
                &client,
            ))
            .await?;
        return Err(denied());
    };
    let session = new_session(&state, user.id, &user.email, &tenant, role, Uuid::now_v7()).await?;
    state
        .store
        .identity()
        .append_audit(&audit_login(
            Some(tenant),
            &user.email,
            "success",
            "password",
            &client,
        ))
        .await?;
    Ok(session_response(session, client.https))
}

/// The optional JSON body of refresh and logout (browsers send none and rely on the cookie).
fn refresh_body(body: &[u8]) -> ApiResult<Option<RefreshRequest>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|error| {
        ApiError::bad_request(
            format!("invalid JSON body: {error}"),
            json!({"field": "refresh_token"}),
        )
    })
}

fn presented_refresh(headers: &HeaderMap, body: Option<RefreshRequest>) -> Option<String> {
    body.and_then(|body| body.refresh_token).or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == REFRESH_COOKIE)
            .map(|(_, value)| value.to_owned())
    })
}

/// Trades a refresh token for a new access token and a new refresh token (the old one stops
/// working; presenting it again revokes the whole session).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Session), (status = 401, body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let presented = presented_refresh(&headers, refresh_body(&body)?)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "no refresh token presented"))?;
    let next = OpaqueToken::generate(TokenKind::Refresh).map_err(internal)?;
    let expires = Utc::now() + REFRESH_TOKEN_TTL;
    match state
        .store
        .identity()
        .rotate_refresh_token(&hash_token(&presented), &next.hash, expires)
        .await?
    {
        Refresh::Rotated {
            user,
            email,
            tenant,
            role,
        } => {
            let session = Session {
                access_token: state.keys.issue(user, &email, &tenant, role).map_err(internal)?,
                token_type: "Bearer",
                expires_in: ACCESS_TOKEN_TTL.num_seconds(),
                refresh_token: next.text,
                tenant: tenant.as_str().to_owned(),
                role,
                email,
            };
            Ok(session_response(session, client.https))
        }
        Refresh::Reused => {
            state
                .store
                .identity()
                .append_audit(&AuditEntry {
                    tenant: None,
                    actor: "anonymous".to_owned(),
                    action: "refresh".to_owned(),
                    target: "session".to_owned(),
                    outcome: "denied".to_owned(),
                    source_ip: client.ip.clone(),
                    details: json!({"reason": "a rotated refresh token was presented again; session revoked"}),
                })
                .await?;
            Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "this refresh token was already used; the session is revoked, sign in again",
            ))
        }
        Refresh::Invalid => Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "the refresh token is unknown or expired; sign in again",
        )),
    }
}

/// Ends the session: its refresh tokens stop working (access tokens expire within 15 minutes).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204)))]
async fn logout(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    if let Some(presented) = presented_refresh(&headers, refresh_body(&body)?) {
        let known = state
            .store
            .identity()
            .revoke_refresh_family(&hash_token(&presented))
            .await?;
        state
            .store
            .identity()
            .append_audit(&AuditEntry {
                tenant: None,
                actor: "session".to_owned(),
                action: "logout".to_owned(),
                target: "session".to_owned(),
                outcome: if known { "success" } else { "rejected" }.to_owned(),
                source_ip: client.ip,
                details: json!({}),
            })
            .await?;
    }
    let cookie = format!("{REFRESH_COOKIE}=; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    tenant: String,
    role: Role,
    /// `user:<email>` or `token:<name>:<id>`.
    actor: String,
}

/// Who the bearer token belongs to.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = ["viewer"])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(Read(caller): Read) -> Json<Me> {
    Json(Me {
        tenant: caller.tenant.as_str().to_owned(),
        role: caller.role,
        actor: caller.principal.actor(),
    })
}

/// Members of the tenant and their roles.
#[utoipa::path(get, path = "/api/v1/members", tag = "access", security(("bearer" = ["viewer"])),
    responses((status = 200, body = MemberList), (status = 401, body = ErrorBody)))]
async fn list_members(State(state): State<AppState>, Read(caller): Read) -> ApiResult<Json<MemberList>> {
    Ok(Json(MemberList(
        state.store.tenant(&caller.tenant).members().await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    email: String,
    role: Role,
    #[serde(default)]
    display_name: String,
    /// Sets a password for local sign-in; omit for SSO-only members.
    password: Option<String>,
}

const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (argon2 hashes any length; this bounds the work per request).
const MAX_PASSWORD_CHARS: usize = 1024;

fn refused(refusal: MembershipRefusal) -> ApiError {
    let code = match refusal {
        MembershipRefusal::GrantAbove { .. } | MembershipRefusal::OnlyOwnerChangesOwner => {
            ErrorCode::Forbidden
        }
        MembershipRefusal::LastOwner => ErrorCode::Conflict,
        MembershipRefusal::NotMember => ErrorCode::NotFound,
    };
    let field = matches!(refusal, MembershipRefusal::GrantAbove { .. }).then_some("role");
    ApiError::new(code, refusal.to_string()).with_details(json!({"field": field}))
}

fn check_grant(caller: &Caller, role: Role) -> ApiResult<()> {
    crate::auth::check_membership_change(caller.role, None, MembershipChange::Set(role), 1).map_err(refused)
}

fn password_hash(password: &str) -> ApiResult<String> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(ApiError::bad_request(
            format!("a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
            json!({"field": "password"}),
        ));
    }
    hash_password(password).map_err(internal)
}

/// Adds a member: creates the user when the e-mail address is new, or invites the existing user
/// into this tenant. An existing user's password and profile are theirs: they are set here only by
/// an owner of the only tenant the user belongs to (this one), and every such change is audited in
/// each of the user's tenants. Changing an existing member's role follows the same rule as `PATCH`.
#[utoipa::path(post, path = "/api/v1/members", tag = "access", security(("bearer" = ["admin"])),
    request_body = NewMember,
    responses((status = 201, body = Member), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn add_member(
    State(state): State<AppState>,
    Manage(caller): Manage,
    client: ClientInfo,
    ApiJson(request): ApiJson<NewMember>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    check_grant(&caller, request.role)?;
    let email = text::field("email", request.email.trim(), 1, 254)?.to_lowercase();
    if !email.contains('@') {
        return Err(ApiError::bad_request(
            format!("`{email}` is not an e-mail address"),
            json!({"field": "email"}),
        ));
    }
    let display_name = text::field("display_name", request.display_name.trim(), 0, 200)?;
    let hash = request.password.as_deref().map(password_hash).transpose()?;
    let user = match state.store.identity().login_candidate(&email).await? {
        None => {
            match state
                .store
                .identity()
                .create_user(&email, display_name, hash.as_deref())
                .await?
            {
                Some(user) => user,
                None => {
                    return Err(ApiError::new(
                        ErrorCode::Conflict,
                        "the user was created at the same moment; retry",
                    ));
                }
            }
        }
        Some(existing) => {
            let name = (!display_name.is_empty()).then_some(display_name);
            if hash.is_some() || name.is_some() {
                if caller.role != Role::Owner || !existing.belongs_only_to(&caller.tenant) {
                    return Err(ApiError::new(
                        ErrorCode::Conflict,
                        "a user with this e-mail address exists: add them without a password or display \
                         name; only they, or an owner of the only tenant they belong to, change those",
                    )
                    .with_details(
                        json!({"field": if hash.is_some() { "password" } else { "display_name" }}),
                    ));
                }
                state
                    .store
                    .identity()
                    .set_user_credentials(
                        existing.id,
                        hash.as_deref(),
                        name,
                        &caller.principal.actor(),
                        &client.ip,
                    )
                    .await?;
            }
            existing.id
        }
    };
    state
        .store
        .tenant(&caller.tenant)
        .change_membership(caller.role, user, MembershipChange::Set(request.role))
        .await?
        .map_err(refused)?;
    let member = state
        .store
        .tenant(&caller.tenant)
        .members()
        .await?
        .into_iter()
        .find(|member| member.user_id == user)
        .ok_or_else(|| ApiError::not_found("member"))?;
    Ok((StatusCode::CREATED, Json(member)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    role: Role,
}

/// Changes a member's role.
#[utoipa::path(patch, path = "/api/v1/members/{user_id}", tag = "access", security(("bearer" = ["admin"])),
    params(("user_id" = Uuid, Path)), request_body = RoleChange,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn change_member(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(user): ApiPath<Uuid>,
    ApiJson(change): ApiJson<RoleChange>,
) -> ApiResult<StatusCode> {
    if state
        .store
        .tenant(&caller.tenant)
        .membership(user)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("member"));
    }
    state
        .store
        .tenant(&caller.tenant)
        .change_membership(caller.role, user, MembershipChange::Set(change.role))
        .await?
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a member from the tenant; the API tokens they made stop working.
#[utoipa::path(delete, path = "/api/v1/members/{user_id}", tag = "access", security(("bearer" = ["admin"])),
    params(("user_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn remove_member(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(user): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .store
        .tenant(&caller.tenant)
        .change_membership(caller.role, user, MembershipChange::Remove)
        .await?
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "access", security(("bearer" = ["admin"])),
    responses((status = 200, body = ApiTokenList), (status = 403, body = ErrorBody)))]
async fn list_tokens(State(state): State<AppState>, Manage(caller): Manage) -> ApiResult<Json<ApiTokenList>> {
    Ok(Json(ApiTokenList(
        state.store.tenant(&caller.tenant).api_tokens().await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    role: Role,
    /// Days until the token expires; omit for a token that lives until revoked.
    expires_in_days: Option<u32>,
}

/// Longest token lifetime: ten years.
const MAX_TOKEN_DAYS: u32 = 3650;

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// The secret, shown this once. Send it as `Authorization: Bearer <token>`.
    token: String,
    #[serde(flatten)]
    info: ApiTokenInfo,
}

/// Creates an API token for automation, scoped to a role no higher than the caller's.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "access", security(("bearer" = ["admin"])),
    request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiJson(request): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    check_grant(&caller, request.role)?;
    let name = text::field("name", request.name.trim(), 1, 100)?;
    let expires_at: Option<DateTime<Utc>> = match request.expires_in_days {
        Some(days) if !(1..=MAX_TOKEN_DAYS).contains(&days) => {
            return Err(ApiError::bad_request(
                format!("expires_in_days must be between 1 and {MAX_TOKEN_DAYS}, got {days}"),
                json!({"field": "expires_in_days"}),
            ));
        }
        Some(days) => Some(Utc::now() + chrono::Duration::days(i64::from(days))),
        None => None,
    };
    let secret = OpaqueToken::generate(TokenKind::Api).map_err(internal)?;
    let info = state
        .store
        .tenant(&caller.tenant)
        .create_api_token(
            name,
            request.role,
            &secret.hash,
            &caller.principal.actor(),
            caller.principal.acting_user(),
            expires_at,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: secret.text,
            info,
        }),
    ))
}

/// Revokes an API token at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "access", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    if state.store.tenant(&caller.tenant).revoke_api_token(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("token"))
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Exact actor, e.g. `user:ada@example.com`.
    actor: Option<String>,
    /// Part of the action, e.g. `POST /api/v1/tokens` or `login`.
    action: Option<String>,
    since: Option<DateTime<Utc>>,
    /// Records older than this id (the last id of the previous page).
    before: Option<i64>,
    /// 1 to 1000, default 100.
    limit: Option<i64>,
}

/// The tenant's audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "access", security(("bearer" = ["admin"])),
    params(AuditParams),
    responses((status = 200, body = AuditRecordList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn audit_log(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditRecordList>> {
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            format!("limit must be between 1 and 1000, got {limit}"),
            json!({"field": "limit"}),
        ));
    }
    let query = AuditQuery {
        actor: params.actor,
        action: params.action,
        since: params.since,
        before_id: params.before,
        limit,
    };
    Ok(Json(AuditRecordList(
        state.store.tenant(&caller.tenant).audit(&query).await?,
    )))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SsoStartParams {
    /// The connection's name; may be left out when the tenant has only one.
    connection: Option<String>,
    /// Console path to return to after sign-in (a path on this server), default `/`.
    redirect_to: Option<String>,
}

/// Where the provider sends the browser back: `--public-url`, or this request's own host.
fn callback_url(state: &AppState, headers: &HeaderMap, https: bool) -> ApiResult<String> {
    let base = match &state.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| ApiError::bad_request("the request has no Host header", Value::Null))?;
            format!("{}://{host}", if https { "https" } else { "http" })
        }
    };
    Ok(format!("{base}/api/v1/auth/sso/callback"))
}

fn sso_failure(error: crate::sso::SsoError) -> ApiError {
    tracing::warn!(%error, "single sign-on failed");
    ApiError::new(
        ErrorCode::Unauthenticated,
        format!("single sign-on failed: {error}"),
    )
}

/// Starts single sign-on: redirects the browser to the tenant's identity provider (authorization
/// code flow with PKCE).
#[utoipa::path(get, path = "/api/v1/auth/sso/{tenant}/start", tag = "auth",
    params(("tenant" = String, Path), SsoStartParams),
    responses((status = 303, description = "To the identity provider"), (status = 404, body = ErrorBody)))]
async fn sso_start(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    ApiQuery(params): ApiQuery<SsoStartParams>,
    headers: HeaderMap,
    client: ClientInfo,
) -> ApiResult<Response> {
    let redirect_to = match params.redirect_to.as_deref() {
        None => "/".to_owned(),
        Some(wanted) => text::same_origin_path(wanted).ok_or_else(|| {
            ApiError::bad_request(
                "redirect_to must be a path on this server, like /assets",
                json!({"field": "redirect_to"}),
            )
        })?,
    };
    let no_connection = || ApiError::not_found("single sign-on connection");
    let tenant = TenantId::parse(&tenant).map_err(|_| no_connection())?;
    let (connection_id, connection) = state
        .store
        .tenant(&tenant)
        .sso_connection(params.connection.as_deref())
        .await?
        .ok_or_else(no_connection)?;
    let callback = callback_url(&state, &headers, client.https)?;
    let authorization = crate::sso::authorize(&connection, &callback)
        .await
        .map_err(sso_failure)?;
    state
        .store
        .tenant(&tenant)
        .insert_sso_login(
            &authorization.state,
            connection_id,
            &authorization.pkce_verifier,
            &authorization.nonce,
            &callback,
            &redirect_to,
        )
        .await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, authorization.url)]).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SsoCallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The identity provider's redirect back: verifies the sign-in, provisions the user into the
/// connection's tenant on first login (with the connection's default role), starts a session and
/// returns the browser to the console.
#[utoipa::path(get, path = "/api/v1/auth/sso/callback", tag = "auth", params(SsoCallbackParams),
    responses((status = 303, description = "To the console, signed in"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
async fn sso_callback(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<SsoCallbackParams>,
    client: ClientInfo,
) -> ApiResult<Response> {
    let pending = match &params.state {
        Some(login_state) => state.store.identity().take_sso_login(login_state).await?,
        None => None,
    };
    let Some(pending) = pending else {
        return Err(ApiError::bad_request(
            "this sign-in attempt is unknown or expired; start again",
            json!({"field": "state"}),
        ));
    };
    let audit = |outcome: &str, actor: String, reason: String| AuditEntry {
        tenant: Some(pending.tenant.clone()),
        actor,
        action: "login".to_owned(),
        target: "sso".to_owned(),
        outcome: outcome.to_owned(),
        source_ip: client.ip.clone(),
        details: json!({"reason": reason, "issuer": pending.connection.issuer_url}),
    };
    let code = match (&params.code, &params.error) {
        (Some(code), None) => code,
        (_, error) => {
            let reason = format!(
                "{}: {}",
                error.as_deref().unwrap_or("no code"),
                params.error_description.as_deref().unwrap_or("")
            );
            state
                .store
                .identity()
                .append_audit(&audit("denied", "anonymous".to_owned(), reason.clone()))
                .await?;
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                format!("the identity provider refused: {reason}"),
            ));
        }
    };
    let identity = match crate::sso::complete(
        &pending.connection,
        &pending.callback_url,
        code,
        &pending.pkce_verifier,
        &pending.nonce,
    )
    .await
    {
        Ok(identity) => identity,
        Err(error) => {
            state
                .store
                .identity()
                .append_audit(&audit("denied", "anonymous".to_owned(), error.to_string()))
                .await?;
            return Err(sso_failure(error));
        }
    };
    let user = match provisioned_user(&state, &pending, &identity).await? {
        Ok(user) => user,
        Err(reason) => {
            state
                .store
                .identity()
                .append_audit(&audit(
                    "denied",
                    format!("user:{}", identity.email),
                    reason.to_owned(),
                ))
                .await?;
            return Err(ApiError::new(ErrorCode::Forbidden, reason));
        }
    };
    let role = match state.store.tenant(&pending.tenant).membership(user).await? {
        Some(role) => role,
        None => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "this account is not a member of the tenant",
            ));
        }
    };
    let session = new_session(
        &state,
        user,
        &identity.email,
        &pending.tenant,
        role,
        Uuid::now_v7(),
    )
    .await?;
    state
        .store
        .identity()
        .append_audit(&audit(
            "success",
            format!("user:{}", identity.email),
            format!("sso subject {}", identity.subject),
        ))
        .await?;
    let separator = if pending.redirect_to.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!("{}{separator}sso=1", pending.redirect_to);
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::SET_COOKIE, refresh_cookie(&session, client.https)),
        ],
    )
        .into_response())
}

/// The user a verified sign-in through a connection stands for. A connection provisions and links
/// only its own identities, by the provider's subject: a first sign-in creates the user (with the
/// connection's default role) when the e-mail address is new, or links a user who is already a
/// member of the connection's tenant. A user known only to other tenants is refused, and no
/// sign-in ever changes an existing user's profile or password. `Err` says why it was refused.
async fn provisioned_user(
    state: &AppState,
    pending: &crate::store::PendingSsoLogin,
    identity: &crate::sso::Identity,
) -> ApiResult<Result<Uuid, &'static str>> {
    let store = state.store.tenant(&pending.tenant);
    if let Some(user) = store
        .sso_identity(pending.connection_id, &identity.subject)
        .await?
    {
        return Ok(Ok(user));
    }
    let email = identity.email.to_lowercase();
    if text::field("email", &email, 3, 254).is_err() || !email.contains('@') {
        return Ok(Err("the identity provider sent no usable e-mail address"));
    }
    let user = match state.store.identity().login_candidate(&email).await? {
        // Linked by e-mail address only when the user is this tenant's alone (a member here and
        // nowhere else): another tenant's user is never reached through this tenant's provider.
        Some(existing) if existing.belongs_only_to(&pending.tenant) => existing.id,
        Some(_) => {
            return Ok(Err(
                "an account with this e-mail address exists outside this tenant and is not linked to \
                 this identity provider; sign in with its password",
            ));
        }
        None => {
            let name: String = identity
                .name
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect();
            let Some(user) = state.store.identity().create_user(&email, &name, None).await? else {
                return Ok(Err("the account was created at the same moment; sign in again"));
            };
            let added = store
                .change_membership(
                    Role::Admin,
                    user,
                    MembershipChange::AddIfAbsent(pending.default_role),
                )
                .await?;
            if added.is_err() {
                return Ok(Err("the connection cannot provision this role"));
            }
            user
        }
    };
    store
        .link_sso_identity(pending.connection_id, &identity.subject, user)
        .await?;
    Ok(Ok(user))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSsoConnection {
    /// A short name, used in the sign-in URL when the tenant has several.
    name: String,
    /// The provider's issuer, e.g. `https://login.example.com` (discovery at
    /// `/.well-known/openid-configuration` below it).
    issuer_url: String,
    client_id: String,
    client_secret: String,
    /// Role of users provisioned on their first sign-in (viewer unless set).
    default_role: Option<Role>,
}

/// The tenant's single sign-on connections (never their client secrets).
#[utoipa::path(get, path = "/api/v1/sso/connections", tag = "access", security(("bearer" = ["admin"])),
    responses((status = 200, body = SsoConnectionList), (status = 403, body = ErrorBody)))]
async fn list_sso(
    State(state): State<AppState>,
    Manage(caller): Manage,
) -> ApiResult<Json<SsoConnectionList>> {
    Ok(Json(SsoConnectionList(
        state.store.tenant(&caller.tenant).sso_connections().await?,
    )))
}

/// Connects an OpenID Connect identity provider; its users sign in at
/// `/api/v1/auth/sso/{tenant}/start` and are provisioned on first login.
#[utoipa::path(post, path = "/api/v1/sso/connections", tag = "access", security(("bearer" = ["admin"])),
    request_body = NewSsoConnection,
    responses((status = 201, body = SsoConnectionInfo), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_sso(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiJson(request): ApiJson<NewSsoConnection>,
) -> ApiResult<(StatusCode, Json<SsoConnectionInfo>)> {
    let default_role = request.default_role.unwrap_or(Role::Viewer);
    if default_role == Role::Owner {
        return Err(ApiError::bad_request(
            "SSO cannot provision owners",
            json!({"field": "default_role"}),
        ));
    }
    check_grant(&caller, default_role)?;
    let name = text::field("name", request.name.trim(), 1, 100)?;
    text::field("issuer_url", &request.issuer_url, 1, 2048)?;
    text::field("client_id", &request.client_id, 1, 1024)?;
    text::field("client_secret", &request.client_secret, 1, 4096)?;
    let parsed = url_is_http(&request.issuer_url);
    if !parsed {
        return Err(ApiError::bad_request(
            format!("issuer_url `{}` is not an http(s) URL", request.issuer_url),
            json!({"field": "issuer_url"}),
        ));
    }
    let connection = crate::sso::Connection {
        issuer_url: request.issuer_url,
        client_id: request.client_id,
        client_secret: request.client_secret,
    };
    let created = state
        .store
        .tenant(&caller.tenant)
        .create_sso_connection(name, &connection, default_role)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Conflict, format!("a connection named `{name}` exists")))?;
    Ok((StatusCode::CREATED, Json(created)))
}

fn url_is_http(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://")) && text.len() > "https://".len()
}

/// Removes a single sign-on connection (its users keep their memberships).
#[utoipa::path(delete, path = "/api/v1/sso/connections/{id}", tag = "access", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_sso(
    State(state): State<AppState>,
    Manage(caller): Manage,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    if state
        .store
        .tenant(&caller.tenant)
        .delete_sso_connection(id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("single sign-on connection"))
    }
}
/// The tenant's members (a JSON array).
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
struct MemberList(Vec<Member>);

/// The tenant's API tokens (never their secrets) (a JSON array).
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
struct ApiTokenList(Vec<ApiTokenInfo>);

/// Audit records, newest first (a JSON array).
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
struct AuditRecordList(Vec<AuditRecord>);

/// The tenant's single sign-on connections (a JSON array).
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
struct SsoConnectionList(Vec<SsoConnectionInfo>);
