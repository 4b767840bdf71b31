//! Cost of scoring 10,000 tables × 30 columns after one collection wave (a row count and 30 NULL
//! counts per table, 310,000 points, and 3 check results per table), in a fresh PostgreSQL
//! database: the `score_asset` jobs the wave enqueued, claimed and run by `--workers` job workers
//! (`jobs::run_worker`, in batches) as replicas would (evidence read, score computed, history row and
//! `score.changed` event written). Also prints the pure computation's time alone.
//!
//! `DATABASE_URL=postgres://… cargo bench -p cwic-control-plane --bench scoring [-- --assets N --columns C --workers W]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use cwic_control_plane::background::Background;
use cwic_control_plane::jobs::{JobsConfig, run_worker};
use cwic_control_plane::scoring::{CheckEvidence, TableEvidence, Weights, score};
use cwic_control_plane::store::Store;
use sqlx::{Connection, PgConnection};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TENANT: &str = "bench";

fn argument(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let assets = argument("--assets", 10_000);
    let columns = argument("--columns", 30);
    let workers = argument("--workers", 4);
    let admin = std::env::var("DATABASE_URL")
        .context("set DATABASE_URL to a PostgreSQL server (a fresh database is made on it)")?;
    let name = format!("cwic_bench_scoring_{}", Uuid::new_v4().simple());
    let mut connection = PgConnection::connect(&admin).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut connection)
        .await?;
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => anyhow::bail!("DATABASE_URL {admin} has no database part"),
    };
    let result = run(&url, assets, columns, workers).await;
    // An autovacuum worker (a superuser's backend, which FORCE may not end) can hold the database
    // for a moment after the run's writes: try again shortly.
    for attempt in 1.. {
        let dropped = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut connection)
        .await;
        match dropped {
            Ok(_) => break,
            Err(error) if attempt >= 20 => return Err(error).context(format!("cannot drop {name}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    result
}

fn pure(assets: usize, columns: usize) -> Duration {
    let evidence = TableEvidence {
        rows: Some(10_000.0),
        column_nulls: (0..columns).map(|c| (format!("c{c}"), (c * 7) as f64)).collect(),
        checks: ["validity", "uniqueness", "accuracy"]
            .iter()
            .map(|dimension| CheckEvidence {
                name: format!("{dimension}_check"),
                template: "t".to_owned(),
                dimension: (*dimension).to_owned(),
                severity: "high".to_owned(),
                status: "fail".to_owned(),
                failing_rows: Some(10),
                total_rows: Some(10_000),
            })
            .collect(),
    };
    let weights = Weights::default();
    let started = Instant::now();
    let mut sum = 0.0;
    for _ in 0..assets {
        sum += score(&evidence, &weights).score.unwrap_or(0.0);
    }
    assert!(sum > 0.0);
    started.elapsed()
}

async fn run(url: &str, assets: usize, columns: usize, workers: usize) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let seeding = Instant::now();
    let pool = sqlx::PgPool::connect(url).await?;
    let now = Utc::now();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO tenants (id, name) VALUES ('{TENANT}', '{TENANT}');
         SELECT cwic_metric_partition(now()::date);
         INSERT INTO assets (id, tenant_id, source_name, source_kind, schema_name, name, kind, agent_id,
                             first_seen_at, last_seen_at)
         SELECT gen_random_uuid(), '{TENANT}', 'warehouse', 'postgres', 'public', 'table_' || i, 'table', 'wh-1',
                now(), now()
         FROM generate_series(1, {assets}) AS i;"
    )))
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO metric_points (tenant_id, asset_id, metric, column_name, observed_at, batch_id, value)
         SELECT $1, a.id, 'row_count', '', $2, a.id, 10000 FROM assets a",
    )
    .bind(TENANT)
    .bind(now)
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO metric_points (tenant_id, asset_id, metric, column_name, observed_at, batch_id, value)
         SELECT $1, a.id, 'null_count', 'c' || c, $2, a.id, (c * 37) % 500
         FROM assets a, generate_series(1, $3) AS c",
    )
    .bind(TENANT)
    .bind(now)
    .bind(columns as i32)
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO check_results (tenant_id, asset_id, check_name, observed_at, batch_id, template, dimension,
                                    severity, status, failing_rows, total_rows)
         SELECT $1, a.id, d || '_check', $2, a.id, 't', d, 'high', 'fail', 10, 10000
         FROM assets a, unnest(ARRAY['validity', 'uniqueness', 'accuracy']) AS d",
    )
    .bind(TENANT)
    .bind(now)
    .execute(&pool)
    .await?;
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM assets ORDER BY id")
        .fetch_all(&pool)
        .await?;
    let pairs: Vec<(&str, Uuid)> = ids.iter().map(|id| (TENANT, *id)).collect();
    let mut tx = pool.begin().await?;
    cwic_control_plane::store::scores::enqueue_scoring(&mut tx, &pairs).await?;
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    println!(
        "seeded {assets} tables x {columns} columns (one collection wave, {} points, {} check results) in {:.1} s",
        assets * (columns + 1),
        assets * 3,
        seeding.elapsed().as_secs_f64()
    );

    let pure = pure(assets, columns);
    println!("pure computation: {assets} scores in {:.3} s", pure.as_secs_f64());

    let started = Instant::now();
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let replica = format!("bench-{worker}");
        let handler = Arc::new(Background::new(store.clone(), &replica));
        let config = JobsConfig {
            replica,
            poll: Duration::from_millis(5),
            ..JobsConfig::default()
        };
        tasks.push(tokio::spawn(run_worker(
            store.clone(),
            handler,
            config,
            cancel.clone(),
        )));
    }
    loop {
        let (pending, dead): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE state IN ('queued', 'running')), count(*) FILTER (WHERE state = 'dead')
             FROM jobs",
        )
        .fetch_one(&pool)
        .await?;
        anyhow::ensure!(dead == 0, "{dead} scoring jobs died");
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    cancel.cancel();
    for task in tasks {
        task.await?;
    }
    let done: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'")
        .fetch_one(&pool)
        .await?;
    let scored: i64 = sqlx::query_scalar("SELECT count(*) FROM asset_scores")
        .fetch_one(&pool)
        .await?;
    println!(
        "scored {scored} tables through {done} score_asset jobs ({workers} workers): {:.2} s wall ({:.0} tables/s); goal < 5 s",
        elapsed.as_secs_f64(),
        scored as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
