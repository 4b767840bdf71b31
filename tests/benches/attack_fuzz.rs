//! A bounded fuzz run of the entry points the first security review broke: `POST
//! /api/v1/lineage/sql`, `/lineage/dbt`, `/lineage` (OpenLineage) and the ingest decoder (metric
//! and lineage messages on the broker), with deep and long inputs: operator, set-operation and
//! parenthesis chains around the analyzer's limit and far past it, deeply nested JSON, NUL and
//! control characters, megabyte names, random bytes. A real control plane (`cwic serve`) on a real
//! PostgreSQL and nats-server; the run fails on the first 5xx or when the process dies.
//!
//! `cargo bench -p cwic-e2e --bench attack_fuzz -- [seconds] [seed]` (default 60 s, seed 1).
//! Needs `scripts/dev-services start` and `cargo build --workspace --bins`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cwic_e2e::{ControlPlane, NatsServer, TestDb, mint_token};
use cwic_proto::Message;
use cwic_proto::agent::v1::{AssetObservation, LineageBatch, Metric, MetricBatch, SqlStatement};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const OPERATORS: &[&str] = &[
    "+",
    "-",
    "*",
    " AND ",
    " OR ",
    "||",
    "::int",
    " UNION ALL SELECT ",
    " = ",
    "[1]",
];

/// A statement with a chain of `terms` terms, some of them wrapped in parentheses.
fn chain(rng: &mut StdRng, terms: usize) -> String {
    let mut sql = String::from("INSERT INTO t SELECT a");
    let op = OPERATORS[rng.gen_range(0..OPERATORS.len())];
    for _ in 1..terms {
        sql.push_str(op);
        if rng.gen_bool(0.05) {
            sql.push_str("(a)");
        } else {
            sql.push('a');
        }
    }
    sql.push_str(" FROM s");
    sql
}

fn nested(rng: &mut StdRng, depth: usize) -> String {
    let open = ["(", "(SELECT ", "CASE WHEN ", "f("][rng.gen_range(0..4)];
    format!("SELECT {}1{} FROM t", open.repeat(depth), ")".repeat(depth))
}

fn sql(rng: &mut StdRng) -> String {
    match rng.gen_range(0..6) {
        0 => {
            let terms = rng.gen_range(1..4_000);
            chain(rng, terms)
        }
        1 => {
            let terms = rng.gen_range(4_000..200_000);
            chain(rng, terms)
        }
        2 => {
            let depth = rng.gen_range(1..400);
            nested(rng, depth)
        }
        3 => format!("SELECT \"{}\" FROM t", "x".repeat(rng.gen_range(1..2_000_000))),
        4 => format!(
            "INSERT INTO t SELECT 'a\u{0}b', \u{7}c FROM s{}",
            "\u{1}".repeat(rng.gen_range(0..100))
        ),
        _ => (0..rng.gen_range(1..20_000))
            .map(|_| rng.gen_range(32u8..127) as char)
            .collect(),
    }
}

fn deep_json(depth: usize) -> Value {
    let mut value = json!("leaf");
    for _ in 0..depth {
        value = json!({"a": [value]});
    }
    value
}

fn manifest(rng: &mut StdRng) -> Value {
    let code = sql(rng);
    let mut manifest = json!({
        "metadata": {"project_name": "fuzz", "adapter_type": "postgres"},
        "nodes": {"model.fuzz.m": {"resource_type": "model", "name": "x".repeat(rng.gen_range(1..3_000)),
                  "schema": "public", "depends_on": {"nodes": []}, "compiled_code": code}},
        "sources": {}
    });
    if rng.gen_bool(0.2) {
        manifest["metadata"]["extra"] = deep_json(rng.gen_range(100..2_000));
    }
    manifest
}

fn openlineage(rng: &mut StdRng) -> Value {
    let name = "n".repeat(rng.gen_range(0..5_000));
    let mut event = json!({
        "eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00Z",
        "run": {"runId": "0190b6e4-0000-7000-8000-000000000000"},
        "job": {"namespace": "wh", "name": name, "facets": {"sql": {"query": sql(rng)}}},
        "inputs": [{"namespace": "wh", "name": "a"}], "outputs": [{"namespace": "wh", "name": "b"}]
    });
    if rng.gen_bool(0.2) {
        event["run"]["facets"] = deep_json(rng.gen_range(100..2_000));
    }
    event
}

fn metric_batch(rng: &mut StdRng) -> Vec<u8> {
    let text = |rng: &mut StdRng| match rng.gen_range(0..4) {
        0 => "t".to_owned(),
        1 => "n\u{0}ul".to_owned(),
        2 => "x".repeat(rng.gen_range(1..200_000)),
        _ => (0..rng.gen_range(0..40))
            .map(|_| rng.gen_range(0u8..127) as char)
            .collect(),
    };
    if rng.gen_bool(0.1) {
        return (0..rng.gen_range(0..10_000)).map(|_| rng.r#gen::<u8>()).collect();
    }
    MetricBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: "fuzz".into(),
        agent_id: "wh-1".into(),
        collected_at_unix_ms: [1_700_000_000_000, i64::MIN, i64::MAX, -8_000_000_000_000_000]
            [rng.gen_range(0..4)],
        source_name: text(rng),
        source_kind: "postgres".into(),
        assets: vec![AssetObservation {
            schema: text(rng),
            name: text(rng),
            metrics: vec![Metric {
                name: "row_count".into(),
                column: String::new(),
                value: [5.0, f64::NAN, f64::MAX][rng.gen_range(0..3)],
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
    .encode_to_vec()
}

fn lineage_batch(rng: &mut StdRng) -> Vec<u8> {
    LineageBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: "fuzz".into(),
        agent_id: "wh-1".into(),
        collected_at_unix_ms: 1_700_000_000_000,
        source_name: "warehouse".into(),
        dialect: "postgres".into(),
        statements: vec![SqlStatement {
            job: "view:public.v".into(),
            sql: sql(rng).chars().take(900_000).collect(),
            default_schema: "public".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
    .encode_to_vec()
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let seconds: u64 = args.next().and_then(|arg| arg.parse().ok()).unwrap_or(60);
    let seed: u64 = args.next().and_then(|arg| arg.parse().ok()).unwrap_or(1);
    match run(Duration::from_secs(seconds), seed).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(budget: Duration, seed: u64) -> anyhow::Result<bool> {
    let db = TestDb::create("fuzz").await?;
    let nats = NatsServer::start().await?;
    let control_plane = ControlPlane::start(&db.url, &nats.url()).await?;
    let editor = mint_token(&db.url, "fuzz", "editor").await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let jetstream = async_nats::jetstream::new(async_nats::connect(nats.url()).await?);
    let base = control_plane.base_url();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut statuses: BTreeMap<(&str, u16), u64> = BTreeMap::new();
    let (mut published, mut bytes_sent) = (0_u64, 0_usize);
    let started = Instant::now();
    while started.elapsed() < budget {
        let (route, body) = match rng.gen_range(0..5) {
            0 | 1 => (
                "/api/v1/lineage/sql",
                json!({"namespace": "wh", "dialect": "postgres", "sql": sql(&mut rng)}),
            ),
            2 => ("/api/v1/lineage/dbt", manifest(&mut rng)),
            3 => ("/api/v1/lineage", openlineage(&mut rng)),
            _ => {
                let (subject, payload) = if rng.gen_bool(0.5) {
                    ("cwic.fuzz.agent.wh-1.metrics", metric_batch(&mut rng))
                } else {
                    ("cwic.fuzz.agent.wh-1.lineage", lineage_batch(&mut rng))
                };
                if payload.len() < 1024 * 1024 {
                    jetstream.publish(subject, payload.into()).await?.await?;
                    published += 1;
                }
                continue;
            }
        };
        let text = serde_json::to_string(&body)?;
        bytes_sent += text.len();
        let status = match client
            .post(format!("{base}{route}"))
            .bearer_auth(&editor)
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await
        {
            Ok(response) => response.status().as_u16(),
            Err(error) => {
                eprintln!(
                    "FAIL: {route}: no answer ({error}); control plane log:\n{}",
                    control_plane.log()
                );
                return Ok(false);
            }
        };
        *statuses.entry((route, status)).or_default() += 1;
        if status >= 500 {
            eprintln!(
                "FAIL: {route} answered {status} (seed {seed}); control plane log:\n{}",
                control_plane.log()
            );
            return Ok(false);
        }
    }
    // Let ingest work off what was published; the process must still be up.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let alive = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    let metrics = client.get(format!("{base}/metrics")).send().await?.text().await?;
    let rejects: u64 = metrics
        .lines()
        .filter(|line| line.starts_with("cwic_ingest_rejects_total{tenant=\"fuzz\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    let requests: u64 = statuses.values().sum();
    println!(
        "attack fuzz (seed {seed}, {:.0} s): {requests} requests ({:.1} MB), {published} broker messages, \
         {rejects} messages rejected or dead-lettered, 0 answers >= 500, process alive: {alive}",
        started.elapsed().as_secs_f64(),
        bytes_sent as f64 / 1e6
    );
    for ((route, status), count) in &statuses {
        println!("  {route:<24} {status}  {count}");
    }
    if !alive {
        eprintln!("FAIL: the control plane died; log:\n{}", control_plane.log());
    }
    Ok(alive)
}
