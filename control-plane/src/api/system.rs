//! Liveness, readiness and Prometheus metrics.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use crate::telemetry::METRICS_CONTENT_TYPE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
}

async fn ready(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await.map_err(|error| {
        tracing::warn!(%error, "readiness check failed");
        ApiError::new(ErrorCode::Unavailable, "database unreachable")
    })?;
    Ok("ready")
}

/// Every registered metric in the OpenMetrics text format (which Prometheus scrapes).
async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let text = state.metrics.encode().map_err(|error| {
        tracing::error!(%error, "cannot encode the metrics");
        ApiError::new(ErrorCode::Internal, "cannot encode the metrics")
    })?;
    Ok(([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], text))
}
