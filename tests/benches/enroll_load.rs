//! Enrollment and broker-isolation benchmark.
//!
//! 1. Enrollment: `N` one-time tokens, then `N` `Enroll` calls over gRPC + TLS (8 in flight, each on
//!    its own TLS connection, as agents would) against a real `cwic serve`; prints enrollments/s and
//!    p50/p99 latency. Each call hashes the token, locks and spends it in PostgreSQL, creates the
//!    agent and signs its NATS user JWT.
//! 2. Publish cost of per-agent permissions: JetStream publishes (acked, 16 in flight) of a 2 KiB
//!    payload through nats-server 2.9 in plain mode, in operator mode with unrestricted
//!    credentials, and in operator mode with an enrolled agent's restricted credentials.
//!
//! Measures what the binaries do in the build they were built with; the figures in BENCHMARKS.md
//! name it. `cargo build --workspace --bins && cargo bench --profile dev -p cwic-e2e --bench
//! enroll_load -- [enrollments] [publishes]`

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark driver: a panic is a failed run

use std::time::{Duration, Instant};

use cwic_e2e::{AgentApiSetup, ControlPlane, NatsServer, TestDb, binary};
use cwic_proto::agent::v1::EnrollRequest;
use cwic_proto::agent::v1::agent_service_client::AgentServiceClient;
use futures::StreamExt;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

const ENROLL_CONCURRENCY: usize = 8;
const PUBLISH_IN_FLIGHT: usize = 16;
const PAYLOAD_BYTES: usize = 2048;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn publish_rate(client: async_nats::Client, subject: &str, count: usize) -> f64 {
    let jetstream = async_nats::jetstream::new(client);
    let payload = bytes::Bytes::from(vec![b'x'; PAYLOAD_BYTES]);
    let started = Instant::now();
    futures::stream::iter(0..count)
        .map(|_| {
            let jetstream = jetstream.clone();
            let payload = payload.clone();
            let subject = subject.to_owned();
            async move { jetstream.publish(subject, payload).await.unwrap().await.unwrap() }
        })
        .buffer_unordered(PUBLISH_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    count as f64 / started.elapsed().as_secs_f64()
}

async fn ensure_stream(client: &async_nats::Client) {
    async_nats::jetstream::new(client.clone())
        .get_or_create_stream(async_nats::jetstream::stream::Config {
            // The control plane's stream on the operator-mode server; the same one on the plain server.
            name: cwic_shared::subjects::AGENT_STREAM.into(),
            subjects: cwic_shared::subjects::AGENT_STREAM_SUBJECTS
                .iter()
                .map(|subject| (*subject).into())
                .collect(),
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let enrollments = args.first().copied().unwrap_or(200);
    let publishes = args.get(1).copied().unwrap_or(20_000);

    let db = TestDb::create("enrollbench").await?;
    let api = AgentApiSetup::new()?;
    let nats = NatsServer::start_operator(&api.auth).await?;
    let control_plane = ControlPlane::start_with_env(&db.url, &nats.url(), api.env(true)).await?;

    // 1. Enrollment.
    let client = reqwest::Client::new();
    let admin = cwic_e2e::mint_token(&db.url, "bench", "admin").await?;
    let mut tokens = Vec::with_capacity(enrollments);
    for _ in 0..enrollments {
        let response: serde_json::Value = client
            .post(format!(
                "{}/api/v1/agents/enrollment-tokens",
                control_plane.base_url()
            ))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"expires_in": "1h"}))
            .send()
            .await?
            .json()
            .await?;
        tokens.push(response["token"].as_str().unwrap().to_owned());
    }
    let ca = std::fs::read(api.ca_path())?;
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(tokens.into_iter().enumerate())
        .map(|(index, token)| {
            let ca = ca.clone();
            let url = api.grpc_url();
            async move {
                let begun = Instant::now();
                let tls = ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(ca))
                    .domain_name("localhost");
                let channel = Channel::from_shared(url)
                    .unwrap()
                    .tls_config(tls)
                    .unwrap()
                    .connect()
                    .await
                    .unwrap();
                AgentServiceClient::new(channel)
                    .enroll(EnrollRequest {
                        enrollment_token: token,
                        agent_id: format!("agent-{index}"),
                        nats_public_key: nkeys::KeyPair::new_user().public_key(),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                begun.elapsed()
            }
        })
        .buffer_unordered(ENROLL_CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();
    latencies.sort();
    let enrolled: i64 = sqlx::query_scalar("SELECT count(*) FROM agents WHERE enrolled_at IS NOT NULL")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(enrolled as usize, enrollments);
    println!(
        "enroll: {enrollments} agents in {:.2} s = {:.0} enrollments/s ({ENROLL_CONCURRENCY} in flight, new TLS \
         connection each); latency p50 {:.1} ms, p99 {:.1} ms",
        elapsed.as_secs_f64(),
        enrollments as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );

    // 2. Publish cost of per-agent permissions. The agent's credentials come from a real enrollment.
    let agent_dir = tempfile::tempdir()?;
    let token = control_plane_token(&db.url);
    let status = std::process::Command::new(binary("cwic-agent"))
        .args([
            "enroll",
            "--control-plane",
            &api.grpc_url(),
            "--token",
            &token,
            "--agent-id",
            "wh-1",
            "--ca",
        ])
        .arg(api.ca_path())
        .arg("--out")
        .arg(agent_dir.path())
        .stdout(std::process::Stdio::null())
        .status()?;
    assert!(status.success());
    let full = async_nats::ConnectOptions::with_credentials_file(api.dir.path().join("control-plane.creds"))
        .await?
        .connect(nats.url())
        .await?;
    ensure_stream(&full).await;
    let restricted = async_nats::ConnectOptions::with_credentials_file(agent_dir.path().join("nats.creds"))
        .await?
        .custom_inbox_prefix("_INBOX.cwic.bench.wh-1")
        .connect(nats.url())
        .await?;
    let plain_server = NatsServer::start().await?;
    let plain = async_nats::connect(plain_server.url()).await?;
    ensure_stream(&plain).await;

    let subject = "cwic.bench.agent.wh-1.bench";
    // Warm-up, then alternate the three modes twice and keep the best of each (shared host).
    publish_rate(plain.clone(), subject, publishes / 10).await;
    let mut best = [0f64; 3];
    for _ in 0..2 {
        best[0] = best[0].max(publish_rate(plain.clone(), subject, publishes).await);
        best[1] = best[1].max(publish_rate(full.clone(), subject, publishes).await);
        best[2] = best[2].max(publish_rate(restricted.clone(), subject, publishes).await);
    }
    println!(
        "publish ({publishes} x {PAYLOAD_BYTES} B, JetStream acked, {PUBLISH_IN_FLIGHT} in flight, best of 2): \
         plain {:.0}/s, operator unrestricted {:.0}/s, operator agent-restricted {:.0}/s ({:+.1} % vs plain)",
        best[0],
        best[1],
        best[2],
        (best[2] / best[0] - 1.0) * 100.0
    );
    Ok(())
}

fn control_plane_token(database_url: &str) -> String {
    let output = std::process::Command::new(binary("cwic"))
        .args([
            "agents",
            "token",
            "create",
            "--tenant",
            "bench",
            "--agent-id",
            "wh-1",
        ])
        .env("CWIC_DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}
