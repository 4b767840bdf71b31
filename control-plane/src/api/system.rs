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

/// Every registered metric in the OpenMetrics text format (which Prometheus scrapes); the job
/// counts are read from the database first (every replica reports the same shared figures).
async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    match state.detection.job_counts().await {
        Ok(counts) => state.metrics.set_job_counts(
            counts
                .into_iter()
                .map(|count| (count.kind, count.state, count.count)),
        ),
        Err(error) => tracing::warn!(%error, "cannot count jobs for /metrics"),
    }
    match state.detection.outbox_depth().await {
        Ok(depth) => state.metrics.set_outbox_depth(depth),
        Err(error) => tracing::warn!(%error, "cannot count the outbox for /metrics"),
    }
    let text = state.metrics.encode().map_err(|error| {
        tracing::error!(%error, "cannot encode the metrics");
        ApiError::new(ErrorCode::Internal, "cannot encode the metrics")
    })?;
    Ok(([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], text))
}
