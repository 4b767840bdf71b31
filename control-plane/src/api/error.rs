//! The one error body of the REST API: `{"code": ..., "message": ..., "details": ...}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracing::error;

use crate::store::StoreError;

/// Machine-readable error codes. Each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    TenantRequired,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::TenantRequired => "tenant_required",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest | ErrorCode::TenantRequired => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Value,
    /// Seconds for the `Retry-After` header of a 429.
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn rate_limited(message: impl Into<String>, retry_after_seconds: u64) -> Self {
        Self {
            code: ErrorCode::RateLimited,
            message: message.into(),
            details: json!({"retry_after_seconds": retry_after_seconds}),
            retry_after: Some(retry_after_seconds),
        }
    }

    pub fn bad_request(message: impl Into<String>, details: Value) -> Self {
        Self {
            code: ErrorCode::BadRequest,
            message: message.into(),
            details,
            retry_after: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

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

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        // What the database refused because of the value sent (a data exception, a duplicate)
        // is the caller's to fix; anything else is unexpected: the full cause goes to the log,
        // the client gets an opaque message.
        if let StoreError::InvalidBatch(reason) = &error {
            return Self::bad_request(reason.clone(), Value::Null);
        }
        if let StoreError::Database(sqlx::Error::Database(database)) = &error
            && let Some(code) = database.code()
        {
            if code.starts_with("22") {
                return Self::bad_request(
                    format!("a value was refused: {}", database.message()),
                    json!({"sqlstate": code}),
                );
            }
            if code == "23505" {
                return Self::new(ErrorCode::Conflict, "it exists already");
            }
        }
        error!(%error, "request failed in the store");
        Self::new(ErrorCode::Internal, "internal error")
    }
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
