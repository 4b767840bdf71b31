//! The one error body of the REST API: `{"code": ..., "message": ..., "details": ...}`, built from
//! the services' [`ServiceError`](crate::error::ServiceError) (whose code also maps to gRPC).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use crate::error::{ErrorCode, ServiceError as ApiError, ServiceResult as ApiResult};

impl ApiError {
    /// The error for a status some other layer chose (axum's rejections), with its text.
    pub fn from_status(status: StatusCode, message: impl Into<String>) -> Self {
        let code = match status.as_u16() {
            401 => ErrorCode::Unauthenticated,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::Unavailable,
            500..=599 => ErrorCode::Internal,
            _ => ErrorCode::BadRequest,
        };
        let mut message = message.into();
        if message.is_empty() {
            message = status.canonical_reason().unwrap_or("error").to_lowercase();
        }
        if code == ErrorCode::PayloadTooLarge {
            message = "the request body is over this route's size limit".to_owned();
        }
        Self::new(code, message)
    }
}

/// Longest message an error body carries; longer ones are cut (a client's 50 MB input is never
/// echoed back).
const MAX_MESSAGE_CHARS: usize = 1_000;
/// Largest `details` an error body carries, serialized.
const MAX_DETAILS_BYTES: usize = 4_096;

/// The error body as the OpenAPI document describes it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable: bad_request, tenant_required, unauthenticated, forbidden, not_found,
    /// conflict, method_not_allowed, payload_too_large, unsupported_media_type, rate_limited,
    /// unavailable, internal.
    pub code: String,
    pub message: String,
    /// What was wrong, e.g. `{"field": "limit"}`; null when there is nothing more to say.
    pub details: Value,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut message = self.message;
        if message.chars().count() > MAX_MESSAGE_CHARS {
            message = message.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + " …(cut)";
        }
        let mut details = self.details;
        if serde_json::to_vec(&details).map_or(0, |bytes| bytes.len()) > MAX_DETAILS_BYTES {
            details = json!({"cut": "the details were too long to return"});
        }
        let body = json!({"code": self.code.as_str(), "message": message, "details": details});
        let mut response = (self.code.status(), Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
