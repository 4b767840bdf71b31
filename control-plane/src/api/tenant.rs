//! Which tenant a request acts for.
//!
//! Until authentication lands (JWT and API tokens carry the tenant), the tenant comes from the
//! `X-Cwic-Tenant` header or, when absent, the server's `--default-tenant`. Handlers only ever see a
//! [`TenantScope`], so switching its source to the token changes no handler.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use cwic_shared::TenantId;
use serde_json::json;

use super::AppState;
use super::error::{ApiError, ErrorCode};

pub const TENANT_HEADER: &str = "x-cwic-tenant";

pub struct TenantScope(pub TenantId);

impl FromRequestParts<AppState> for TenantScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match parts.headers.get(TENANT_HEADER) {
            Some(value) => {
                let text = value.to_str().map_err(|_| {
                    ApiError::bad_request(
                        "header x-cwic-tenant is not valid text",
                        json!({"field": TENANT_HEADER}),
                    )
                })?;
                TenantId::parse(text).map(TenantScope).map_err(|error| {
                    ApiError::bad_request(error.to_string(), json!({"field": TENANT_HEADER}))
                })
            }
            None => state.default_tenant.clone().map(TenantScope).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::TenantRequired,
                    "set the x-cwic-tenant header to choose a tenant",
                )
            }),
        }
    }
}
