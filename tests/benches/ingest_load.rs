//! Ingest load benchmark: a load generator publishes realistic agent batches to a real nats-server as
//! fast as JetStream acknowledges them, while a real `cwic serve` (release build) stores them in a
//! fresh PostgreSQL database. Prints sustained metric points stored per second and the p50/p99 delay
//! from publish to commit. Goal (issue: control plane core): >= 100,000 points/s, p99 < 1 s.
//!
//! `cargo build --release --bins && cargo bench -p cwic-e2e --bench ingest_load -- [batches] [agents]`

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cwic_e2e::{ControlPlane, NatsServer, TestDb, wait_for};
use cwic_proto::Message;
use cwic_proto::agent::v1::{AssetKind, AssetObservation, Column, Metric, MetricBatch};

/// A warehouse-like batch: 20 tables of 24 columns, a row count and a NULL count per column.
const TABLES: usize = 20;
const COLUMNS: usize = 24;

fn batch(tenant: &str, agent: &str, sequence: usize) -> MetricBatch {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64);
    MetricBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.into(),
        agent_id: agent.into(),
        agent_version: "bench".into(),
        collected_at_unix_ms: now_ms,
        finished_at_unix_ms: now_ms,
        source_name: "warehouse".into(),
        source_kind: "postgres".into(),
        assets: (0..TABLES)
            .map(|table| AssetObservation {
                schema: "public".into(),
                name: format!("table_{table}"),
                kind: AssetKind::Table as i32,
                columns: (0..COLUMNS)
                    .map(|column| Column {
                        name: format!("column_{column}"),
                        data_type: "bigint".into(),
                        nullable: true,
                        ordinal: column as i32 + 1,
                    })
                    .collect(),
                metrics: std::iter::once(Metric {
                    name: "row_count".into(),
                    column: String::new(),
                    value: (sequence * 1000 + table) as f64,
                })
                .chain((0..COLUMNS).map(|column| Metric {
                    name: "null_count".into(),
                    column: format!("column_{column}"),
                    value: (sequence % 97 + column) as f64,
                }))
                .collect(),
                error: String::new(),
                ..Default::default()
            })
            .collect(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let batches = args.first().copied().unwrap_or(400);
    let agents = args.get(1).copied().unwrap_or(4).max(1);
    let points_per_batch = TABLES * (COLUMNS + 1);

    let db = TestDb::create("bench").await?;
    let nats = NatsServer::start().await?;
    let control_plane = ControlPlane::start(&db.url, &nats.url()).await?;
    let jetstream = async_nats::jetstream::new(async_nats::connect(nats.url()).await?);

    println!(
        "ingest load: {batches} batches of {points_per_batch} points ({} points) from {agents} agents",
        batches * points_per_batch
    );
    let started = Instant::now();
    let mut acks = Vec::with_capacity(batches);
    for sequence in 0..batches {
        let agent = format!("agent-{}", sequence % agents);
        let message = batch("bench", &agent, sequence);
        let subject = format!("cwic.bench.agent.{agent}.metrics");
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", message.batch_id.as_str());
        acks.push(
            jetstream
                .publish_with_headers(subject, headers, message.encode_to_vec().into())
                .await?,
        );
    }
    for ack in acks {
        ack.await?;
    }
    let published = started.elapsed();
    let pool = db.pool.clone();
    wait_for("every batch stored", Duration::from_secs(600), || {
        let pool = pool.clone();
        async move {
            let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM ingested_batches")
                .fetch_one(&pool)
                .await?;
            Ok((stored as usize >= batches).then_some(()))
        }
    })
    .await?;
    let elapsed = started.elapsed();
    // The agents' points (scoring adds a `quality_score` point per scored collection).
    let points: i64 =
        sqlx::query_scalar("SELECT count(*) FROM metric_points WHERE metric <> 'quality_score'")
            .fetch_one(&db.pool)
            .await?;
    let (p50, p99): (f64, f64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), percentile_cont(0.99) WITHIN GROUP (ORDER BY d)
         FROM (SELECT extract(epoch FROM ingested_at - collected_at) * 1000 AS d FROM ingested_batches) AS delays",
    )
    .fetch_one(&db.pool)
    .await?;
    anyhow::ensure!(
        points as usize == batches * points_per_batch,
        "stored {points} points"
    );
    println!("published and acknowledged in {:.2} s", published.as_secs_f64());
    println!(
        "stored {points} points in {:.2} s: {:.0} points/s sustained",
        elapsed.as_secs_f64(),
        points as f64 / elapsed.as_secs_f64()
    );
    println!("publish-to-stored delay: p50 {p50:.0} ms, p99 {p99:.0} ms");
    if std::env::var_os("CWIC_BENCH_LOG").is_some() {
        for line in control_plane
            .log()
            .lines()
            .filter(|line| line.contains("group stored"))
        {
            println!("{line}");
        }
    }
    drop(control_plane);
    Ok(())
}
