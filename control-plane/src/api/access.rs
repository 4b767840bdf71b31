//! Who may call what: bearer authentication, the role each route declares, rate limits and the audit
//! trail of every mutating request.
//!
//! Every request under `/api` passes [`guard`]: a bearer token (an access JWT or an API token) becomes
//! a [`Caller`] in the request's extensions — a token that does not verify is a 401 at once, never
//! anonymous — then the caller's (or, anonymous, the client IP's) rate limit is charged, and after
//! the handler a mutating request is written to the audit log with its outcome.
//!
//! A handler declares the role it needs by the extractor it takes: [`Read`] (viewer), [`Write`]
//! (editor), [`Manage`] (admin) or [`Own`] (owner). They are the only way to a tenant, so a handler
//! cannot reach tenant data without declaring a role.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cwic_shared::TenantId;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;
use tracing::warn;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use crate::auth::{Caller, Principal, Role, TokenKind, hash_token};
use crate::store::AuditEntry;

/// Requests per second (sustained, and burst) allowed per caller and per anonymous client IP.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitConfig {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
    /// Login attempts per minute per client IP (brute-force protection).
    pub logins_per_minute: NonZeroU32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_second: NonZeroU32::MIN.saturating_add(49),
            burst: NonZeroU32::MIN.saturating_add(199),
            logins_per_minute: NonZeroU32::MIN.saturating_add(19),
        }
    }
}

pub struct RateLimits {
    requests: DefaultKeyedRateLimiter<String>,
    logins: DefaultKeyedRateLimiter<IpAddr>,
    seen: AtomicU64,
}

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            requests: RateLimiter::keyed(Quota::per_second(config.per_second).allow_burst(config.burst)),
            logins: RateLimiter::keyed(Quota::per_minute(config.logins_per_minute)),
            seen: AtomicU64::new(0),
        }
    }

    /// Charges one request to `key`; the wait in whole seconds when over the limit.
    fn charge(&self, key: &String) -> Result<(), u64> {
        // Forget idle keys now and then so the table stays as small as the set of active callers.
        if self.seen.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.requests.retain_recent();
            self.logins.retain_recent();
        }
        self.requests
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()).as_secs() + 1)
    }

    /// Charges one login attempt to the client address.
    pub fn charge_login(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.logins.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now()).as_secs() + 1;
            ApiError::rate_limited("too many login attempts from this address", wait)
        })
    }
}

/// The client's address as the listener saw it (no proxy headers are trusted).
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// The middleware in front of every API route: authenticate, rate-limit, run, audit.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let ip = client_ip(&parts);
    let caller = match authenticate(&state, &parts).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let rate_key = match (&caller, ip) {
        (Some(caller), _) => caller.principal.rate_key(),
        (None, Some(ip)) => format!("ip:{ip}"),
        (None, None) => "ip:unknown".to_owned(),
    };
    if let Err(wait) = state.limits.charge(&rate_key) {
        return ApiError::rate_limited("too many requests", wait).into_response();
    }
    let method = parts.method.clone();
    let action = format!(
        "{method} {}",
        parts
            .extensions
            .get::<MatchedPath>()
            .map_or(parts.uri.path(), MatchedPath::as_str)
    );
    let target = parts.uri.path().to_owned();
    if let Some(caller) = &caller {
        parts.extensions.insert(caller.clone());
    }
    let response = next.run(Request::from_parts(parts, body)).await;
    // Sign-in routes write their own, richer records (they know the account being tried).
    let mutating = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if mutating && !target.starts_with("/api/v1/auth/") {
        let status = response.status();
        let entry = AuditEntry {
            tenant: caller.as_ref().map(|caller| caller.tenant.clone()),
            actor: caller
                .as_ref()
                .map_or_else(|| "anonymous".to_owned(), |caller| caller.principal.actor()),
            action,
            target,
            outcome: outcome(status.as_u16()).to_owned(),
            source_ip: ip.map(|ip| ip.to_string()).unwrap_or_default(),
            details: json!({"status": status.as_u16()}),
        };
        if let Err(error) = state.store.identity().append_audit(&entry).await {
            // The change is done; losing its record is an operator-visible failure, not the client's.
            warn!(%error, action = %entry.action, "cannot write the audit record");
        }
    }
    response
}

pub fn outcome(status: u16) -> &'static str {
    match status {
        200..=399 => "success",
        401 | 403 => "denied",
        400..=499 => "rejected",
        _ => "failed",
    }
}

/// The caller named by the `Authorization: Bearer` header, if any. A header that is present but
/// does not verify is an error: a client with a broken token must learn it, not be served as
/// anonymous.
async fn authenticate(state: &AppState, parts: &Parts) -> Result<Option<Caller>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|text| {
            text.strip_prefix("Bearer ")
                .or_else(|| text.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <token>`"))?;
    match TokenKind::of(token) {
        Some(TokenKind::Api) => {
            let found = state
                .store
                .identity()
                .authenticate_api_token(&hash_token(token))
                .await?;
            let (principal, tenant, role) =
                found.ok_or_else(|| unauthenticated("the API token is unknown, revoked or expired"))?;
            Ok(Some(Caller {
                principal,
                tenant,
                role,
            }))
        }
        Some(TokenKind::Refresh) => Err(unauthenticated(
            "a refresh token cannot call the API; trade it at POST /api/v1/auth/refresh",
        )),
        None => {
            let claims = state
                .keys
                .verify(token)
                .ok_or_else(|| unauthenticated("the access token is invalid or expired"))?;
            let tenant = TenantId::parse(&claims.tid)
                .map_err(|_| unauthenticated("the access token names no valid tenant"))?;
            // The membership as it is now (one primary-key read): a removed member's access token
            // stops at once, a demoted member's acts with the lower role.
            let current = state
                .store
                .tenant(&tenant)
                .membership(claims.sub)
                .await?
                .ok_or_else(|| {
                    unauthenticated("the access token's user is no longer a member of the tenant")
                })?;
            Ok(Some(Caller {
                principal: Principal::User {
                    id: claims.sub,
                    email: claims.email,
                },
                tenant,
                role: claims.role.min(current),
            }))
        }
    }
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

fn caller_with(parts: &Parts, needed: Role) -> Result<Caller, ApiError> {
    let caller =
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            unauthenticated("sign in or send an API token as `Authorization: Bearer <token>`")
        })?;
    if caller.role < needed {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("this needs the {needed} role; the caller is {}", caller.role),
        )
        .with_details(json!({"required_role": needed, "role": caller.role})));
    }
    Ok(caller)
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub Caller);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
                caller_with(parts, $role).map($name)
            }
        }
    };
}

role_extractor!(
    /// Reading anything in the caller's tenant: viewer and up.
    Read,
    Role::Viewer
);
role_extractor!(
    /// Changing data-quality content (lineage, feedback, checks): editor and up.
    Write,
    Role::Editor
);
role_extractor!(
    /// Managing members, tokens, agents and reading the audit log: admin and up.
    Manage,
    Role::Admin
);
role_extractor!(
    /// Managing owners and the tenant itself: owner only.
    Own,
    Role::Owner
);

/// Shared rate limiter state, cheap to clone into the router's state.
pub type SharedLimits = Arc<RateLimits>;
