//! The one error every service returns: a machine-readable [`ErrorCode`], a message that says what
//! was wrong and what to do, and structured `details`. The code maps to the HTTP status (the REST
//! API's `{code, message, details}` body, built in `api::error`) and to the gRPC `tonic::Code`, so
//! REST, gRPC and the coming WebSocket feed refuse the same request the same way.
//!
//! Owns the mapping of store failures: what the database refused because of the value sent (a
//! data exception, a duplicate, a broken reference or check) is the caller's to fix and never a
//! 5xx; anything else is logged with its cause and answered opaquely. Must not know about HTTP
//! bodies or tonic transports beyond the code mapping.

use serde_json::{Value, json};
use tracing::error;

use crate::store::StoreError;

/// Machine-readable error codes. Each maps to one HTTP status and one gRPC code.
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
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::BadRequest,
        ErrorCode::TenantRequired,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::MethodNotAllowed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

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

    /// The HTTP status of a REST response with this code.
    pub fn status(self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
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

    /// The gRPC code of a refusal with this code.
    pub fn grpc_code(self) -> tonic::Code {
        use tonic::Code;
        match self {
            ErrorCode::BadRequest | ErrorCode::TenantRequired => Code::InvalidArgument,
            ErrorCode::Unauthenticated => Code::Unauthenticated,
            ErrorCode::Forbidden => Code::PermissionDenied,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::Conflict => Code::AlreadyExists,
            ErrorCode::MethodNotAllowed => Code::Unimplemented,
            ErrorCode::PayloadTooLarge => Code::OutOfRange,
            ErrorCode::UnsupportedMediaType => Code::InvalidArgument,
            ErrorCode::RateLimited => Code::ResourceExhausted,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::Internal => Code::Internal,
        }
    }
}

/// What a service refused or failed to do.
#[derive(Debug)]
pub struct ServiceError {
    pub code: ErrorCode,
    pub message: String,
    /// What was wrong, e.g. `{"field": "limit"}`; null when there is nothing more to say.
    pub details: Value,
    /// Seconds for the `Retry-After` header of a 429.
    pub retry_after: Option<u64>,
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl std::fmt::Display for ServiceError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ServiceError {}

impl ServiceError {
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
        Self::new(ErrorCode::BadRequest, message).with_details(details)
    }

    /// A bad value in one named request field.
    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        Self::bad_request(message, json!({"field": field}))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// An unexpected failure: the cause goes to the log, the caller gets an opaque message.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        error!(%error, "{context}");
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        if let StoreError::InvalidBatch(reason) = &error {
            return Self::bad_request(reason.clone(), Value::Null);
        }
        if let StoreError::Database(sqlx::Error::RowNotFound) = &error {
            return Self::new(ErrorCode::NotFound, "not found");
        }
        if let StoreError::Database(sqlx::Error::Database(database)) = &error
            && let Some(code) = database.code()
        {
            let sqlstate = json!({"sqlstate": code});
            // Class 22: a data exception (a value out of range, text the type cannot hold).
            if code.starts_with("22") {
                return Self::bad_request(format!("a value was refused: {}", database.message()), sqlstate);
            }
            match code.as_ref() {
                "23505" => return Self::new(ErrorCode::Conflict, "it exists already").with_details(sqlstate),
                "23503" => {
                    return Self::new(
                        ErrorCode::NotFound,
                        "it refers to something that does not exist (or no longer does)",
                    )
                    .with_details(sqlstate);
                }
                "23502" | "23514" => {
                    return Self::bad_request(
                        format!("a value was refused: {}", database.message()),
                        sqlstate,
                    );
                }
                _ => {}
            }
        }
        error!(%error, "request failed in the store");
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl From<ServiceError> for tonic::Status {
    fn from(error: ServiceError) -> Self {
        tonic::Status::new(error.code.grpc_code(), error.message)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_one_http_status_and_one_grpc_code() {
        for code in ErrorCode::ALL {
            let status = code.status();
            let grpc = code.grpc_code();
            // Caller's faults are 4xx and never a gRPC Internal/Unknown; only Internal is a 500.
            if code == ErrorCode::Internal {
                assert_eq!(status.as_u16(), 500);
                assert_eq!(grpc, tonic::Code::Internal);
            } else if code == ErrorCode::Unavailable {
                assert_eq!(status.as_u16(), 503);
                assert_eq!(grpc, tonic::Code::Unavailable);
            } else {
                assert!(status.is_client_error(), "{code:?} is {status}");
                assert!(
                    !matches!(grpc, tonic::Code::Internal | tonic::Code::Unknown),
                    "{code:?}"
                );
            }
        }
        assert_eq!(ErrorCode::NotFound.grpc_code(), tonic::Code::NotFound);
        assert_eq!(ErrorCode::Conflict.grpc_code(), tonic::Code::AlreadyExists);
        assert_eq!(
            ErrorCode::Unauthenticated.grpc_code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(ErrorCode::Forbidden.grpc_code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn a_service_error_becomes_a_status_with_its_code_and_message() {
        let status = tonic::Status::from(ServiceError::bad_field("agent_id", "agent_id: not an id"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(status.message(), "agent_id: not an id");
        let missing = tonic::Status::from(ServiceError::from(StoreError::Database(sqlx::Error::RowNotFound)));
        assert_eq!(missing.code(), tonic::Code::NotFound);
    }
}
