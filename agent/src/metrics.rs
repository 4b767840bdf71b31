//! The agent's Prometheus metrics: collections, rows scanned, batches spooled and sent, outbox
//! depth and errors, served as OpenMetrics text by `cwic-agent run --metrics-listen <addr>`.
//!
//! Owns the metric names and labels and the small HTTP endpoint. The registry belongs to one `run`
//! (no process-wide state). Must not decide anything from the counts: they are only observed.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use cwic_proto::agent::v1::MetricBatch;
use cwic_shared::MetricKind;
use cwic_shared::subjects::AgentSubjectKind;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

const CONTENT_TYPE_OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CollectionLabels {
    source: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StageLabels {
    stage: &'static str,
}

/// Where an error happened.
#[derive(Debug, Clone, Copy)]
pub enum ErrorStage {
    /// A source's collection failed as a whole (discovery).
    Collection,
    /// One table could not be measured (the rest of the collection went on).
    Table,
    /// Collecting the SQL for lineage failed.
    Lineage,
    /// The broker was unreachable or did not acknowledge a batch (it stays in the outbox).
    Publish,
}

impl ErrorStage {
    fn as_str(self) -> &'static str {
        match self {
            Self::Collection => "collection",
            Self::Table => "table",
            Self::Lineage => "lineage",
            Self::Publish => "publish",
        }
    }
}

/// The agent's counters, shared by the collection loop and the shipper.
pub struct AgentMetrics {
    registry: Registry,
    collections: Family<CollectionLabels, Counter>,
    rows_scanned: Family<SourceLabels, Counter>,
    batches_spooled: Family<KindLabels, Counter>,
    batches_sent: Family<KindLabels, Counter>,
    outbox_depth: Gauge,
    errors: Family<StageLabels, Counter>,
}

impl Default for AgentMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl AgentMetrics {
    pub fn new() -> Self {
        let mut metrics = Self {
            registry: Registry::default(),
            collections: Family::default(),
            rows_scanned: Family::default(),
            batches_spooled: Family::default(),
            batches_sent: Family::default(),
            outbox_depth: Gauge::default(),
            errors: Family::default(),
        };
        // Counter names without `_total`: the OpenMetrics encoder appends it to the sample.
        let registry = &mut metrics.registry;
        registry.register(
            "cwic_agent_collections",
            "Collection runs over a source, by source and outcome (ok, failed).",
            metrics.collections.clone(),
        );
        registry.register(
            "cwic_agent_rows_scanned",
            "Rows counted in the tables measured, by source.",
            metrics.rows_scanned.clone(),
        );
        registry.register(
            "cwic_agent_batches_spooled",
            "Batches written to the outbox, by kind (metrics, lineage).",
            metrics.batches_spooled.clone(),
        );
        registry.register(
            "cwic_agent_batches_sent",
            "Batches the broker acknowledged (and so removed from the outbox), by kind.",
            metrics.batches_sent.clone(),
        );
        registry.register(
            "cwic_agent_outbox_batches",
            "Batches waiting in the outbox.",
            metrics.outbox_depth.clone(),
        );
        registry.register(
            "cwic_agent_errors",
            "Errors by stage (collection, table, lineage, publish).",
            metrics.errors.clone(),
        );
        // Every stage is served from the start, at 0.
        for stage in [
            ErrorStage::Collection,
            ErrorStage::Table,
            ErrorStage::Lineage,
            ErrorStage::Publish,
        ] {
            // The guard only holds the family's lock while the counter is created.
            drop(metrics.errors.get_or_create(&StageLabels {
                stage: stage.as_str(),
            }));
        }
        metrics
    }

    /// A source's collection produced `batches`: counts the run, the rows of every measured table
    /// and the tables that failed.
    pub fn collected(&self, source: &str, batches: &[MetricBatch]) {
        self.collections
            .get_or_create(&CollectionLabels {
                source: source.to_owned(),
                outcome: "ok",
            })
            .inc();
        let assets = batches.iter().flat_map(|batch| &batch.assets);
        let mut rows = 0_u64;
        for asset in assets {
            if !asset.error.is_empty() {
                self.error(ErrorStage::Table);
            }
            rows += asset
                .metrics
                .iter()
                .filter(|metric| metric.name == MetricKind::RowCount.as_str() && metric.column.is_empty())
                // Row counts are whole and non-negative; `as` saturates anything else to a bound.
                .map(|metric| metric.value as u64)
                .sum::<u64>();
        }
        self.rows_scanned
            .get_or_create(&SourceLabels {
                source: source.to_owned(),
            })
            .inc_by(rows);
    }

    /// A source's collection failed as a whole.
    pub fn collection_failed(&self, source: &str) {
        self.collections
            .get_or_create(&CollectionLabels {
                source: source.to_owned(),
                outcome: "failed",
            })
            .inc();
        self.error(ErrorStage::Collection);
    }

    pub fn error(&self, stage: ErrorStage) {
        self.errors
            .get_or_create(&StageLabels {
                stage: stage.as_str(),
            })
            .inc();
    }

    /// A batch was written to the outbox.
    pub fn spooled(&self, kind: AgentSubjectKind) {
        self.batches_spooled
            .get_or_create(&KindLabels { kind: kind.as_str() })
            .inc();
        self.outbox_depth.inc();
    }

    /// The broker acknowledged a batch, which left the outbox.
    pub fn sent(&self, kind: AgentSubjectKind) {
        self.batches_sent
            .get_or_create(&KindLabels { kind: kind.as_str() })
            .inc();
        self.outbox_depth.dec();
    }

    /// The outbox holds `batches` (as just listed).
    pub fn set_outbox_depth(&self, batches: usize) {
        self.outbox_depth.set(i64::try_from(batches).unwrap_or(i64::MAX));
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Binds `address` for `/metrics` (a taken port fails the start, not a background task).
pub async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("--metrics-listen {address}: cannot listen"))
}

/// Serves `GET /metrics` until cancelled.
pub async fn serve(listener: TcpListener, metrics: Arc<AgentMetrics>, cancel: CancellationToken) {
    if let Ok(address) = listener.local_addr() {
        info!(%address, "serving metrics on /metrics");
    }
    let router = Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(metrics);
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await;
    if let Err(error) = served {
        warn!(%error, "the metrics endpoint stopped");
    }
}

async fn metrics_text(State(metrics): State<Arc<AgentMetrics>>) -> impl IntoResponse {
    match metrics.encode() {
        Ok(text) => (StatusCode::OK, [(CONTENT_TYPE, CONTENT_TYPE_OPENMETRICS)], text).into_response(),
        Err(error) => {
            warn!(%error, "cannot encode the metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode the metrics").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use cwic_proto::agent::v1::{AssetObservation, Metric};

    #[test]
    fn counts_runs_rows_batches_and_errors() {
        let metrics = AgentMetrics::new();
        let batch = MetricBatch {
            assets: vec![
                AssetObservation {
                    metrics: vec![
                        Metric {
                            name: "row_count".into(),
                            column: String::new(),
                            value: 1000.0,
                        },
                        Metric {
                            name: "null_count".into(),
                            column: "email".into(),
                            value: 5.0,
                        },
                    ],
                    ..Default::default()
                },
                AssetObservation {
                    error: "permission denied".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        metrics.collected("warehouse", &[batch]);
        metrics.collection_failed("lake");
        metrics.set_outbox_depth(2);
        metrics.spooled(AgentSubjectKind::Metrics);
        metrics.sent(AgentSubjectKind::Metrics);
        metrics.sent(AgentSubjectKind::Metrics);
        let text = metrics.encode().unwrap();
        for line in [
            "cwic_agent_collections_total{source=\"warehouse\",outcome=\"ok\"} 1",
            "cwic_agent_collections_total{source=\"lake\",outcome=\"failed\"} 1",
            "cwic_agent_rows_scanned_total{source=\"warehouse\"} 1000",
            "cwic_agent_batches_spooled_total{kind=\"metrics\"} 1",
            "cwic_agent_batches_sent_total{kind=\"metrics\"} 2",
            "cwic_agent_outbox_batches 1",
            "cwic_agent_errors_total{stage=\"table\"} 1",
            "cwic_agent_errors_total{stage=\"collection\"} 1",
            "cwic_agent_errors_total{stage=\"publish\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
        }
    }
}
