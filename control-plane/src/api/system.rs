//! Liveness, readiness and Prometheus metrics.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;
use super::error::{ApiError, ErrorCode};

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

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let stats = &state.ingest_stats;
    let mut body = String::new();
    for (name, help, value) in [
        (
            "cwic_ingest_batches_stored_total",
            "Agent batches stored.",
            &stats.batches_stored,
        ),
        (
            "cwic_ingest_points_stored_total",
            "Metric points stored.",
            &stats.points_stored,
        ),
        (
            "cwic_ingest_duplicates_total",
            "Batches skipped because their id was stored before.",
            &stats.duplicates,
        ),
        (
            "cwic_ingest_rejected_total",
            "Messages rejected as malformed or spoofed.",
            &stats.rejected,
        ),
        (
            "cwic_ingest_store_failures_total",
            "Batches that failed to store and were redelivered.",
            &stats.store_failures,
        ),
        (
            "cwic_ingest_lineage_batches_stored_total",
            "Lineage batches recorded.",
            &stats.lineage_batches_stored,
        ),
        (
            "cwic_ingest_lineage_statements_unreadable_total",
            "Agent SQL statements skipped because no lineage could be read from them.",
            &stats.lineage_statements_unreadable,
        ),
    ] {
        let _ = writeln!(
            body,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            value.load(Ordering::Relaxed)
        );
    }
    for (consumer, value) in [("metrics", &stats.metrics_lag), ("lineage", &stats.lineage_lag)] {
        if consumer == "metrics" {
            let _ = writeln!(
                body,
                "# HELP cwic_ingest_consumer_lag_messages Messages in the stream not yet stored.\n\
                 # TYPE cwic_ingest_consumer_lag_messages gauge"
            );
        }
        let _ = writeln!(
            body,
            "cwic_ingest_consumer_lag_messages{{consumer=\"{consumer}\"}} {}",
            value.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        body,
        "# HELP cwic_ingest_rejects_total Agent messages not stored, by tenant and kind (invalid: \
         malformed or spoofed, terminated; dead_letter: set aside in the dead-letter store, e.g. \
         refused by the database on every delivery).\n# TYPE cwic_ingest_rejects_total counter"
    );
    for ((tenant, kind), count) in stats.rejects() {
        let _ = writeln!(
            body,
            "cwic_ingest_rejects_total{{tenant=\"{tenant}\",kind=\"{kind}\"}} {count}"
        );
    }
    // The job queue, from the database (every replica reports the same shared figures).
    match state.detection.job_counts().await {
        Ok(counts) => {
            let _ = writeln!(
                body,
                "# HELP cwic_jobs Background jobs by kind and state (queued, running, succeeded, dead).\n\
                 # TYPE cwic_jobs gauge"
            );
            for count in counts {
                let _ = writeln!(
                    body,
                    "cwic_jobs{{kind=\"{}\",state=\"{}\"}} {}",
                    count.kind, count.state, count.count
                );
            }
        }
        Err(error) => tracing::warn!(%error, "cannot count jobs for /metrics"),
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
