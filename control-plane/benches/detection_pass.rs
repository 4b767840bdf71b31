//! Cost of a detection pass over 1,000 assets × 30 days of 15-minute collections (row_count, the
//! NULL counts of two columns, freshness_lag: 4 series per asset, 11.5 million points), in a
//! fresh PostgreSQL database: (a) the first pass over all history, (b) a steady-state pass after
//! one new collection per asset. Each pass runs through the job queue as a replica would (the
//! periodic pass job, its per-asset jobs claimed one by one) and prints the process's CPU time
//! (user + system, all threads, from /proc/self/stat) and wall time. PostgreSQL's own CPU is not
//! included.
//!
//! `DATABASE_URL=postgres://… cargo bench -p cwic-control-plane --bench detection_pass [-- --assets N --days D --rounds R]`
//!
//! (b) runs R times (default 5), each after one more collection per asset; the median is judged.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use cwic_control_plane::jobs::JobHandler;
use cwic_control_plane::monitoring::detection_jobs::{DETECTION_PASS, DetectionJobs};
use cwic_control_plane::store::Store;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const TENANT: &str = "bench";
const STEP_SECS: i64 = 900;
/// 2026-01-01T00:00:00Z.
const START_SECS: i64 = 1_767_225_600;

fn argument(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// CPU time of this process so far (user + system, every thread).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in clock ticks
    // (USER_HZ, 100 on Linux).
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// One of the metrics of asset `asset` at collection `step`.
fn values(asset: usize, step: i64) -> [(&'static str, &'static str, f64); 4] {
    let hour = (step * STEP_SECS / 3_600) % 24;
    let cycle = 1.0 + 0.2 * (std::f64::consts::TAU * hour as f64 / 24.0).sin();
    let noise = (((step as usize * 7_919 + asset * 104_729) % 1_000) as f64 / 1_000.0) - 0.5;
    let rows = (10_000.0 + 100.0 * asset as f64) * cycle * (1.0 + 0.02 * noise);
    // Loaded hourly, collected every 15 minutes.
    let lag = ((step * STEP_SECS) % 3_600) as f64 + 30.0 * (noise + 0.5);
    [
        ("row_count", "", rows.round()),
        ("null_count", "email", (rows * (0.02 + 0.002 * noise)).round()),
        ("null_count", "amount", (rows * (0.01 + 0.001 * noise)).round()),
        ("freshness_lag", "", lag.round()),
    ]
}

fn at(step: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(START_SECS + step * STEP_SECS, 0).unwrap_or_default()
}

async fn copy_points(
    pool: &sqlx::PgPool,
    assets: &[Uuid],
    steps: std::ops::Range<i64>,
) -> anyhow::Result<u64> {
    let mut connection = pool.acquire().await?;
    let mut copy = connection
        .copy_in_raw(
            "COPY metric_points (tenant_id, asset_id, metric, column_name, observed_at, batch_id, value) FROM STDIN",
        )
        .await?;
    let mut rows = 0u64;
    for step in steps {
        let batch = Uuid::now_v7();
        let stamp = at(step).to_rfc3339();
        let mut text = String::with_capacity(assets.len() * 4 * 120);
        for (index, asset) in assets.iter().enumerate() {
            for (metric, column, value) in values(index, step) {
                let _ = writeln!(
                    text,
                    "{TENANT}\t{asset}\t{metric}\t{column}\t{stamp}\t{batch}\t{value}"
                );
                rows += 1;
            }
        }
        copy.send(text.as_bytes()).await?;
    }
    copy.finish().await?;
    Ok(rows)
}

/// Runs one pass as the job queue does: enqueue the pass, then claim and run jobs until none is
/// left. Returns the number of jobs run.
async fn pass(store: &Store, handler: &DetectionJobs) -> anyhow::Result<usize> {
    // A slot of its own for each pass (a minute apart would do; the bench does not wait).
    store
        .enqueue_periodic_job(DETECTION_PASS, Duration::from_millis(1), 1)
        .await?
        .context("the pass job was not enqueued")?;
    let mut jobs = 0;
    loop {
        let claimed = store.claim_jobs("bench", Duration::from_secs(600), 1).await?;
        let Some(job) = claimed.into_iter().next() else {
            break;
        };
        handler
            .run(&job)
            .await
            .map_err(|error| anyhow::anyhow!("job {} ({}) failed: {error}", job.id, job.kind))?;
        store.complete_job(&job).await?;
        jobs += 1;
    }
    Ok(jobs)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let asset_count = argument("--assets", 1_000);
    let days = argument("--days", 30) as i64;
    let admin = std::env::var("DATABASE_URL")
        .context("set DATABASE_URL to a PostgreSQL server (a fresh database is made on it)")?;
    let name = format!("cwic_bench_detect_{}", Uuid::new_v4().simple());
    let mut connection = PgConnection::connect(&admin).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut connection)
        .await?;
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => anyhow::bail!("DATABASE_URL {admin} has no database part"),
    };
    let result = run(&url, asset_count, days, argument("--rounds", 5)).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut connection)
    .await?;
    result
}

async fn run(url: &str, asset_count: usize, days: i64, rounds_count: usize) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let pool = PgPoolOptions::new().max_connections(2).connect(url).await?;
    let steps = days * 86_400 / STEP_SECS;
    let seeding = Instant::now();
    sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $1)")
        .bind(TENANT)
        .execute(&pool)
        .await?;
    let assets: Vec<Uuid> = (0..asset_count).map(|_| Uuid::now_v7()).collect();
    for chunk in assets.chunks(500) {
        let ids: Vec<Uuid> = chunk.to_vec();
        sqlx::query(
            "INSERT INTO assets (id, tenant_id, source_name, source_kind, schema_name, name, kind, agent_id,
                                 first_seen_at, last_seen_at)
             SELECT id, $2, 'warehouse', 'postgres', 'public', 'table_' || id, 'table', 'wh-1', $3, $3
             FROM unnest($1::uuid[]) AS id",
        )
        .bind(&ids)
        .bind(TENANT)
        .bind(at(0))
        .execute(&pool)
        .await?;
    }
    sqlx::query(
        "SELECT cwic_metric_partition(month::date)
         FROM generate_series(date_trunc('month', $1::timestamptz), $2::timestamptz, interval '1 month') AS month",
    )
    .bind(at(0))
    .bind(at(steps + 1))
    .execute(&pool)
    .await?;
    let rows = copy_points(&pool, &assets, 0..steps).await?;
    sqlx::query("ANALYZE metric_points").execute(&pool).await?;
    println!(
        "seeded {asset_count} assets x {days} days of 15-minute collections: {rows} points in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let handler = DetectionJobs {
        store: store.clone(),
        replica: "bench".to_owned(),
    };
    let measure = |label: &'static str| {
        let cpu = cpu_time();
        let wall = Instant::now();
        move |jobs: usize| {
            let cpu = cpu_time().saturating_sub(cpu);
            println!(
                "{label}: {jobs} jobs, CPU {:.2} s (user+sys of this process), wall {:.2} s",
                cpu.as_secs_f64(),
                wall.elapsed().as_secs_f64()
            );
            cpu
        }
    };
    let done = measure("(a) first pass over all history");
    let jobs = pass(&store, &handler).await?;
    done(jobs);

    // Several steady-state rounds, each after one more collection per asset: the CPU clock ticks
    // in 10 ms, so one round of a few assets is coarse; the median round is judged.
    let mut rounds = Vec::new();
    for round in 0..rounds_count.max(1) as i64 {
        copy_points(&pool, &assets, steps + round..steps + round + 1).await?;
        let done = measure("(b) steady-state pass after one new collection per asset");
        let jobs = pass(&store, &handler).await?;
        rounds.push(done(jobs));
    }
    rounds.sort();
    let steady = rounds[rounds.len() / 2];
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM anomaly_events")
        .fetch_one(&pool)
        .await?;
    // The goal is for a fleet of 1,000 assets: judged per asset, so scaled from this run's.
    let per_asset = steady.as_secs_f64() / assets.len().max(1) as f64;
    let fleet = per_asset * 1_000.0;
    println!(
        "anomaly events stored: {events}; steady state (median of {} rounds) {:.1} ms CPU per asset, \
         ≈ {fleet:.1} s per 1,000 assets; goal < 10 s per 1,000 assets ({})",
        rounds.len(),
        per_asset * 1_000.0,
        if fleet < 10.0 { "met" } else { "NOT met" }
    );
    store.close().await;
    Ok(())
}
