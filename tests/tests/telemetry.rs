//! Telemetry end to end: one OpenTelemetry trace from the agent's collection through NATS into the
//! control plane's ingest and store, received by a local OTLP/HTTP collector that this test runs;
//! the agent's `--metrics-listen` counters after a run; the control plane's `/metrics` as strict
//! Prometheus text.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use cwic_e2e::{
    AgentSetup, ControlPlane, NatsServer, TestDb, binary, free_port, seed_source, wait_exit, wait_for,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use prost::Message as _;

/// One span as the collector received it.
#[derive(Debug, Clone)]
struct ReceivedSpan {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: BTreeMap<String, String>,
}

/// A minimal OTLP/HTTP trace receiver: `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`.
struct Collector {
    address: SocketAddr,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Collector {
    async fn start() -> anyhow::Result<Self> {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .route("/v1/traces", post(receive))
            .with_state((spans.clone(), requests.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(Self {
            address,
            spans,
            requests,
        })
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }
}

type CollectorState = (Arc<Mutex<Vec<ReceivedSpan>>>, Arc<Mutex<Vec<String>>>);

async fn receive(
    State((spans, requests)): State<CollectorState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> (StatusCode, Vec<u8>) {
    let content_type = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type != "application/x-protobuf" {
        requests
            .lock()
            .unwrap()
            .push(format!("refused: content-type {content_type}"));
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, Vec::new());
    }
    let request = match ExportTraceServiceRequest::decode(body) {
        Ok(request) => request,
        Err(error) => {
            requests.lock().unwrap().push(format!("refused: {error}"));
            return (StatusCode::BAD_REQUEST, Vec::new());
        }
    };
    requests.lock().unwrap().push(format!(
        "{} spans",
        request
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .map(|scope| scope.spans.len())
            .sum::<usize>()
    ));
    let mut received = spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|attribute| attribute.key == "service.name")
            .and_then(|attribute| attribute.value.as_ref())
            .map(text)
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                received.push(ReceivedSpan {
                    service: service.clone(),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: span
                        .attributes
                        .iter()
                        .map(|attribute| {
                            (
                                attribute.key.clone(),
                                attribute.value.as_ref().map(text).unwrap_or_default(),
                            )
                        })
                        .collect(),
                });
            }
        }
    }
    (
        StatusCode::OK,
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

fn text(value: &opentelemetry_proto::tonic::common::v1::AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::IntValue(number)) => number.to_string(),
        Some(any_value::Value::BoolValue(flag)) => flag.to_string(),
        Some(any_value::Value::DoubleValue(number)) => number.to_string(),
        other => format!("{other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Spans export quickly (the SDK's batch delay, in milliseconds), so the test need not wait for
/// a process to stop.
const EXPORT_DELAY_MS: &str = "200";

fn spawn_agent(
    agent: &AgentSetup,
    extra: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<std::process::Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(agent.dir.path().join("agent.log"))?;
    Ok(Command::new(binary("cwic-agent"))
        .args(["run", "--config"])
        .arg(&agent.config_path)
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?)
}

#[tokio::test]
async fn one_trace_spans_the_agent_collection_publish_ingest_and_store() -> anyhow::Result<()> {
    let collector = Collector::start().await?;
    let source = TestDb::create("source").await?;
    seed_source(&source.pool).await?;
    let control_db = TestDb::create("cp").await?;
    let nats = NatsServer::start().await?;
    let control_plane = ControlPlane::start_with_env(
        &control_db.url,
        &nats.url(),
        vec![
            ("CWIC_OTLP_ENDPOINT".to_owned(), collector.endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY".to_owned(), EXPORT_DELAY_MS.to_owned()),
        ],
    )
    .await?;

    let agent = AgentSetup::new("acme", "wh-1", &nats.url(), &source.url, "1h")?;
    let endpoint = collector.endpoint();
    let mut process = spawn_agent(
        &agent,
        &["--runs", "1", "--otlp-endpoint", &endpoint],
        &[("OTEL_BSP_SCHEDULE_DELAY", EXPORT_DELAY_MS)],
    )?;
    let status = wait_exit(&mut process, Duration::from_secs(60)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    assert_eq!(agent.spool_pending(), 0, "the run's batch must be delivered");

    // The agent flushed its spans on exit; the control plane exports its own within the delay.
    // An HTTP request that sends a trace context is traced as part of that trace.
    const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", control_plane.base_url()))
        .header("traceparent", format!("00-{CALLER_TRACE}-00f067aa0ba902b7-01"))
        .send()
        .await?;
    assert_eq!(response.status(), 200);

    // Export is batched by time: wait until every kind of span asserted below has arrived.
    let wanted = [
        ("cwic-agent", "collection"),
        ("cwic-agent", "publish"),
        ("cwic", "ingest"),
        ("cwic", "store"),
        ("cwic", "GET /healthz"),
    ];
    let found = wait_for("every kind of span", Duration::from_secs(30), || {
        let spans = collector.spans();
        async move {
            Ok(wanted
                .iter()
                .all(|(service, name)| {
                    spans
                        .iter()
                        .any(|span| span.service == *service && span.name == *name)
                })
                .then_some(()))
        }
    })
    .await;
    if let Err(error) = found {
        anyhow::bail!(
            "{error}\nreceived: {:#?}\nrequests: {:?}\ncontrol plane log:\n{}\nagent log:\n{}",
            collector.spans(),
            collector.requests.lock().unwrap(),
            control_plane.log(),
            agent.log()
        );
    }
    let spans = collector.spans();
    let by_id: BTreeMap<&str, &ReceivedSpan> =
        spans.iter().map(|span| (span.span_id.as_str(), span)).collect();
    let named = |service: &str, name: &str| -> Vec<&ReceivedSpan> {
        spans
            .iter()
            .filter(|span| span.service == service && span.name == name)
            .collect()
    };

    // The metric batch's journey: its publish, then its ingest and store in the control plane.
    let metrics_publish = named("cwic-agent", "publish")
        .into_iter()
        .find(|span| {
            span.attributes
                .get("messaging.destination.name")
                .is_some_and(|subject| subject == "cwic.acme.agent.wh-1.metrics")
        })
        .unwrap_or_else(|| panic!("no publish span of the metrics batch: {spans:#?}"));
    let trace = metrics_publish.trace_id.clone();
    let ingest = named("cwic", "ingest")
        .into_iter()
        .find(|span| span.parent_span_id == metrics_publish.span_id)
        .unwrap_or_else(|| panic!("no ingest span under the agent's publish span: {spans:#?}"));
    assert_eq!(ingest.trace_id, trace, "ingest continues the agent's trace");
    assert_eq!(ingest.attributes.get("outcome").map(String::as_str), Some("ack"));
    let store = named("cwic", "store")
        .into_iter()
        .find(|span| span.parent_span_id == ingest.span_id)
        .unwrap_or_else(|| panic!("no store span under the ingest span: {spans:#?}"));
    assert_eq!(store.trace_id, trace);
    assert_eq!(
        store.attributes.get("batch_id"),
        metrics_publish.attributes.get("batch_id"),
        "the stored batch is the one published"
    );

    // Upstream, the publish hangs from the collection that measured the tables (through the outbox).
    let collection = by_id
        .get(metrics_publish.parent_span_id.as_str())
        .unwrap_or_else(|| panic!("the publish span's parent was not exported: {spans:#?}"));
    assert_eq!(
        (collection.service.as_str(), collection.name.as_str()),
        ("cwic-agent", "collection")
    );
    assert_eq!(collection.trace_id, trace);
    assert_eq!(
        collection.attributes.get("source").map(String::as_str),
        Some("warehouse")
    );
    let measured: BTreeSet<&str> = named("cwic-agent", "measure")
        .into_iter()
        .filter(|span| span.trace_id == trace)
        .filter_map(|span| span.attributes.get("table").map(String::as_str))
        .collect();
    assert!(
        measured.contains("public.customers") && measured.contains("public.orders"),
        "the source queries of every table are in the trace: {measured:?}"
    );
    // Every span of this trace leads up to the collection: one tree, not pieces sharing an id.
    for span in spans.iter().filter(|span| span.trace_id == trace) {
        let mut at: &ReceivedSpan = span;
        let mut hops = 0;
        while !at.parent_span_id.is_empty() {
            at = *by_id
                .get(at.parent_span_id.as_str())
                .unwrap_or_else(|| panic!("span {} has a parent that was never exported", span.name));
            hops += 1;
            assert!(hops < 20, "a cycle in the trace");
        }
        assert_eq!(
            at.span_id, collection.span_id,
            "{} is not under the collection",
            span.name
        );
    }
    // The collection is the trace's root, and the only trace every publish of this run belongs to.
    assert!(collection.parent_span_id.is_empty());
    let publish_traces: BTreeSet<&str> = named("cwic-agent", "publish")
        .iter()
        .map(|span| span.trace_id.as_str())
        .collect();
    assert_eq!(publish_traces, BTreeSet::from([trace.as_str()]));

    let http = named("cwic", "GET /healthz");
    assert!(
        http.iter().any(|span| span.trace_id == CALLER_TRACE
            && span.parent_span_id == "00f067aa0ba902b7"
            && span.attributes.get("url.path").map(String::as_str) == Some("/healthz")),
        "the request span continues the caller's trace: {http:#?}"
    );

    // /metrics is still strict Prometheus text, with what this run stored.
    let response = reqwest::get(format!("{}/metrics", control_plane.base_url())).await?;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()?
            .starts_with("application/openmetrics-text"),
        "{:?}",
        response.headers()
    );
    let text = response.text().await?;
    let samples = strict_prometheus_samples(&text);
    assert!(samples["cwic_ingest_batches_stored_total"] >= 1.0, "{text}");
    assert!(samples["cwic_ingest_points_stored_total"] > 0.0, "{text}");
    assert_eq!(samples["cwic_ingest_rejected_total"], 0.0, "{text}");
    assert!(samples.contains_key("cwic_ingest_consumer_lag_messages{consumer=\"metrics\"}"));
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_owned())))?;
    let stored = parsed
        .samples
        .iter()
        .find(|sample| sample.metric == "cwic_ingest_batches_stored_total")
        .expect("prometheus-parse reads the stored batches");
    assert!(matches!(
        stored.value,
        prometheus_parse::Value::Counter(value) | prometheus_parse::Value::Untyped(value) if value >= 1.0
    ));
    Ok(())
}

/// Checks every line of an OpenMetrics/Prometheus text exposition strictly (HELP and TYPE
/// comments, samples `name{label="value",...} number` after their TYPE, `# EOF` last) and returns
/// the samples by `name{labels}`.
fn strict_prometheus_samples(text: &str) -> BTreeMap<String, f64> {
    let sample = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|NaN|[+-]Inf)$"#,
    )
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.last(),
        Some(&"# EOF"),
        "the exposition must end with # EOF:\n{text}"
    );
    let mut typed = BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            assert!(
                rest.split_once(' ').is_some_and(|(_, help)| !help.is_empty()),
                "bad HELP: {line}"
            );
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("bad TYPE: {line}"));
            assert!(["counter", "gauge"].contains(&kind), "unexpected type in {line}");
            typed.insert(name.to_owned());
        } else {
            let captures = sample
                .captures(line)
                .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
            let name = &captures[1];
            let family = name.strip_suffix("_total").unwrap_or(name);
            assert!(
                typed.contains(family) || typed.contains(name),
                "sample before its TYPE: {line}"
            );
            let labels = captures.get(2).map_or("", |labels| labels.as_str());
            samples.insert(format!("{name}{labels}"), captures[3].parse().unwrap());
        }
    }
    samples
}

#[tokio::test]
async fn the_agent_serves_its_counters_on_metrics_listen() -> anyhow::Result<()> {
    let source = TestDb::create("source").await?;
    seed_source(&source.pool).await?;
    let control_db = TestDb::create("cp").await?;
    let nats = NatsServer::start().await?;
    let _control_plane = ControlPlane::start(&control_db.url, &nats.url()).await?;
    let agent = AgentSetup::new("acme", "wh-1", &nats.url(), &source.url, "1h")?;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // No run limit: the endpoint lives as long as the agent; the first run starts at once.
    let mut process = spawn_agent(&agent, &["--metrics-listen", &listen], &[])?;
    let url = format!("http://{listen}/metrics");
    let client = reqwest::Client::new();
    let scraped = wait_for("the agent's first run sent", Duration::from_secs(60), || {
        let request = client.get(&url).send();
        async move {
            let Ok(response) = request.await else {
                return Ok(None);
            };
            let text = response.text().await?;
            let samples = strict_prometheus_samples(&text);
            let sent = |kind: &str| {
                samples
                    .get(&format!("cwic_agent_batches_sent_total{{kind=\"{kind}\"}}"))
                    .copied()
                    .unwrap_or(0.0)
            };
            let done = sent("metrics") >= 1.0
                && sent("lineage") >= 1.0
                && samples.get("cwic_agent_outbox_batches") == Some(&0.0);
            Ok(done.then_some(samples))
        }
    })
    .await;
    let samples = match scraped {
        Ok(samples) => samples,
        Err(error) => {
            let _ = process.kill();
            anyhow::bail!("{error}\nagent log:\n{}", agent.log());
        }
    };
    Command::new("kill")
        .args(["-TERM", &process.id().to_string()])
        .status()?;
    let status = wait_exit(&mut process, Duration::from_secs(30)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());

    // One run over the seeded source: four tables measured (1000 + 2500 + 0 + 3 rows; the view is
    // described, not counted), one metric batch and one lineage batch (the view's SQL), all sent.
    let expect = |key: &str, value: f64| {
        assert_eq!(samples.get(key), Some(&value), "{key} in {samples:#?}");
    };
    expect(
        "cwic_agent_collections_total{source=\"warehouse\",outcome=\"ok\"}",
        1.0,
    );
    expect("cwic_agent_rows_scanned_total{source=\"warehouse\"}", 3503.0);
    expect("cwic_agent_batches_spooled_total{kind=\"metrics\"}", 1.0);
    expect("cwic_agent_batches_sent_total{kind=\"metrics\"}", 1.0);
    expect("cwic_agent_batches_spooled_total{kind=\"lineage\"}", 1.0);
    expect("cwic_agent_batches_sent_total{kind=\"lineage\"}", 1.0);
    expect("cwic_agent_outbox_batches", 0.0);
    for stage in ["collection", "table", "lineage", "publish"] {
        expect(&format!("cwic_agent_errors_total{{stage=\"{stage}\"}}"), 0.0);
    }
    Ok(())
}
