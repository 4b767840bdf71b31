//! The control plane's telemetry: log and trace set-up for every `cwic` command (through
//! cwic-telemetry), the spans of HTTP requests, and the Prometheus registry behind `/metrics`.
//!
//! Owns the name, help text and labels of every metric the control plane exposes. The registry
//! belongs to one `Application` (tests run several control planes in one process), never to the
//! process. Must not count anything itself: each capability owns its counters (ingest's
//! [`IngestStats`]); this module only registers them.

use std::fmt;

use axum::http::Request;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tracing::Span;

use crate::ingest::IngestStats;

/// Log output format on stderr.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The log filter when `CWIC_LOG` is not set.
const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,async_nats=warn,tower_http=warn";

/// Installs the global subscriber (filter from `CWIC_LOG`, e.g. `debug` or `cwic=debug`) and, with
/// `otlp_endpoint`, the span export. With an endpoint it must run inside the tokio runtime.
pub fn init(
    format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> Result<cwic_telemetry::Telemetry, cwic_telemetry::TelemetryError> {
    cwic_telemetry::init(&cwic_telemetry::TelemetryConfig {
        service_name: "cwic",
        log_format: match format {
            LogFormat::Text => cwic_telemetry::LogFormat::Text,
            LogFormat::Json => cwic_telemetry::LogFormat::Json,
        },
        default_log_filter: DEFAULT_LOG_FILTER,
        otlp_endpoint,
    })
}

/// The span of one HTTP request (for `TraceLayer::make_span_with`): method and path, never the
/// query string (it may hold a ticket), continuing the caller's trace when it sends `traceparent`.
/// At `debug` level: with the default log filter and no export it is never built.
pub fn http_request_span<B>(request: &Request<B>) -> Span {
    let span = tracing::debug_span!(
        "http_request",
        otel.kind = "server",
        otel.name = %format_args!("{} {}", request.method(), request.uri().path()),
        http.request.method = %request.method(),
        url.path = request.uri().path(),
    );
    cwic_telemetry::continue_from_http(&span, request.headers());
    span
}

/// Every metric `/metrics` serves, registered once per application.
pub struct Metrics {
    registry: Registry,
    /// Background jobs by kind and state, refreshed from the database before each encoding.
    jobs: Family<Vec<(String, String)>, Gauge>,
    /// Domain events written but not yet published by the relay, refreshed like `jobs`.
    outbox_depth: Gauge,
}

/// The content type of [`Metrics::encode`]'s text.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Metrics {
    /// Registers ingest's counters. (The job queue's and the outbox relay's go here too, once they
    /// exist: a counter they own, or a gauge family that the `/metrics` handler refreshes from the
    /// store before encoding.)
    pub fn new(ingest: &IngestStats) -> Self {
        let mut registry = Registry::default();
        // Counter names without `_total`: the OpenMetrics encoder appends it to the sample.
        let counters = [
            (
                "cwic_ingest_batches_stored",
                "Agent batches stored.",
                &ingest.batches_stored,
            ),
            (
                "cwic_ingest_points_stored",
                "Metric points stored.",
                &ingest.points_stored,
            ),
            (
                "cwic_ingest_duplicates",
                "Batches skipped because their id was stored before.",
                &ingest.duplicates,
            ),
            (
                "cwic_ingest_rejected",
                "Messages rejected as malformed or spoofed.",
                &ingest.rejected,
            ),
            (
                "cwic_ingest_store_failures",
                "Batches that failed to store and were redelivered.",
                &ingest.store_failures,
            ),
            (
                "cwic_ingest_lineage_batches_stored",
                "Lineage batches recorded.",
                &ingest.lineage_batches_stored,
            ),
            (
                "cwic_ingest_lineage_statements_unreadable",
                "Agent SQL statements skipped because no lineage could be read from them.",
                &ingest.lineage_statements_unreadable,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "cwic_ingest_consumer_lag_messages",
            "Messages in the stream not yet stored, by consumer.",
            ingest.consumer_lag.clone(),
        );
        registry.register(
            "cwic_ingest_rejects",
            "Agent messages not stored, by tenant and kind (invalid: malformed or spoofed, terminated; \
             dead_letter: set aside in the dead-letter store, e.g. refused by the database on every \
             delivery).",
            ingest.rejects.clone(),
        );
        let jobs = Family::<Vec<(String, String)>, Gauge>::default();
        registry.register(
            "cwic_jobs",
            "Background jobs by kind and state (queued, running, succeeded, dead), all replicas.",
            jobs.clone(),
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "cwic_events_outbox_depth",
            "Domain events committed but not yet published on the broker.",
            outbox_depth.clone(),
        );
        Self {
            registry,
            jobs,
            outbox_depth,
        }
    }

    /// Replaces the job counts with `counts` (kind, state, count).
    pub fn set_job_counts(&self, counts: impl IntoIterator<Item = (String, String, i64)>) {
        self.jobs.clear();
        for (kind, state, count) in counts {
            self.jobs
                .get_or_create(&vec![("kind".to_owned(), kind), ("state".to_owned(), state)])
                .set(count);
        }
    }

    /// Sets the number of events waiting in the outbox.
    pub fn set_outbox_depth(&self, depth: i64) {
        self.outbox_depth.set(depth);
    }

    /// The OpenMetrics text of every registered metric.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn serves_every_ingest_metric_under_its_historic_name() {
        let stats = IngestStats::default();
        stats.batches_stored.inc_by(3);
        stats.count_reject("acme", "dead_letter");
        stats.count_reject("acme", "dead_letter");
        stats.set_lag(crate::ingest::ConsumerKind::Metrics, 7);
        let text = Metrics::new(&stats).encode().unwrap();
        for line in [
            "cwic_ingest_batches_stored_total 3",
            "cwic_ingest_points_stored_total 0",
            "cwic_ingest_duplicates_total 0",
            "cwic_ingest_rejected_total 0",
            "cwic_ingest_store_failures_total 0",
            "cwic_ingest_lineage_batches_stored_total 0",
            "cwic_ingest_lineage_statements_unreadable_total 0",
            "cwic_ingest_consumer_lag_messages{consumer=\"metrics\"} 7",
            "cwic_ingest_consumer_lag_messages{consumer=\"lineage\"} 0",
            "cwic_ingest_rejects_total{tenant=\"acme\",kind=\"dead_letter\"} 2",
            "# TYPE cwic_ingest_consumer_lag_messages gauge",
            "# TYPE cwic_ingest_rejects counter",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
