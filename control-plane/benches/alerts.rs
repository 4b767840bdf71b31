//! A burst of alerts through the whole incident path, in a fresh PostgreSQL database and a real
//! nats-server: `--alerts` failing check results written to the outbox in one transaction (as one
//! large ingest would), published by the events relay, turned into incidents by the incident
//! engine, routed to a webhook channel and delivered by the delivery worker to a local receiver.
//! Prints the alerts applied per second and the latency from each notification's event to its
//! sending (p50, p99, max).
//!
//! Severities cycle critical, high, medium, low (the default route notifies the first two), over
//! `--assets` tables with `--alerts / --assets` checks each: every alert opens its own incident
//! (one asset and rule), the burst's worst case for notifications.
//!
//! Then a steady phase: `--steady` more alerts at 100 per second (10 every 100 ms, on new rules),
//! the latency of a page when the control plane is not catching up with a burst.
//!
//! `DATABASE_URL=postgres://… NATS_URL=nats://… cargo bench -p cwic-control-plane --bench alerts [-- --alerts N --assets A --steady S]`

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use cwic_control_plane::app::{Application, ServeConfig};
use cwic_control_plane::events::{CheckResultStored, Event, EventData};
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
    let alerts = argument("--alerts", 10_000);
    let assets = argument("--assets", 1_000).max(1);
    let steady = argument("--steady", 500);
    let admin = std::env::var("DATABASE_URL")
        .context("set DATABASE_URL to a PostgreSQL server (a fresh database is made on it)")?;
    let nats = std::env::var("NATS_URL").context("set NATS_URL to a nats-server with JetStream")?;
    let name = format!("cwic_bench_alerts_{}", Uuid::new_v4().simple());
    let mut connection = PgConnection::connect(&admin).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut connection)
        .await?;
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => anyhow::bail!("DATABASE_URL {admin} has no database part"),
    };
    let result = run(&url, &nats, &name, alerts, assets, steady).await;
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

async fn scalar(pool: &sqlx::PgPool, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await?)
}

async fn latencies(pool: &sqlx::PgPool, since: chrono::DateTime<Utc>) -> anyhow::Result<(f64, f64, f64)> {
    Ok(sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms)
         FROM (SELECT extract(epoch FROM sent_at - event_at)::float8 * 1000 AS ms FROM notifications
               WHERE state = 'sent' AND event_at >= $1) s",
    )
    .bind(since)
    .fetch_one(pool)
    .await?)
}

fn failure(asset: Uuid, check: String, severity: &str, at: chrono::DateTime<Utc>) -> Event {
    Event::at(
        TENANT,
        at,
        EventData::CheckResultStored(CheckResultStored {
            asset_id: asset,
            check,
            status: "fail".to_owned(),
            severity: severity.to_owned(),
            dimension: "validity".to_owned(),
            observed_at: at,
            batch_id: Uuid::nil(),
            failing_rows: Some(1),
            total_rows: Some(100),
        }),
    )
}

async fn run(
    url: &str,
    nats: &str,
    name: &str,
    alerts: usize,
    assets: usize,
    steady: usize,
) -> anyhow::Result<()> {
    // The receiver: answers at once, like a healthy webhook endpoint.
    let receiver = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let config = ServeConfig {
        database_url: url.to_owned(),
        nats_url: Some(nats.to_owned()),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        console_dir: "/nonexistent".into(),
        jwt_keys: Some("bench:bench-signing-key-0123456789abcdef".to_owned()),
        rate_limits: Default::default(),
        public_url: None,
        // Its own consumers on the shared broker.
        installation_id: Some(name.replace("cwic_bench_alerts_", "b")[..20].to_owned()),
        jobs: Default::default(),
        events_relay: true,
    };
    let app = Application::build(config).await?;
    let pool = sqlx::PgPool::connect(url).await?;
    sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING")
        .bind(TENANT)
        .execute(&pool)
        .await?;
    let asset_ids: Vec<Uuid> = (0..assets).map(|_| Uuid::now_v7()).collect();
    sqlx::query(
        "INSERT INTO assets (id, tenant_id, source_name, source_kind, schema_name, name, kind, agent_id,
                             first_seen_at, last_seen_at)
         SELECT id, $1, 'wh', 'postgres', 'public', 't' || n, 'table', 'a', now(), now()
         FROM UNNEST($2::uuid[]) WITH ORDINALITY AS x (id, n)",
    )
    .bind(TENANT)
    .bind(&asset_ids)
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO channels (id, tenant_id, kind, name, settings, secret)
         VALUES ($1, $2, 'webhook', 'bench', jsonb_build_object('url', $3::text), 'bench-secret-0123456789')",
    )
    .bind(Uuid::now_v7())
    .bind(TENANT)
    .bind(&hook)
    .execute(&pool)
    .await?;
    let cancel = CancellationToken::new();
    let serving = tokio::spawn(app.run(cancel.clone()));

    let severities = ["critical", "high", "medium", "low"];
    let now = Utc::now();
    let events: Vec<Event> = (0..alerts)
        .map(|i| {
            failure(
                asset_ids[i % assets],
                format!("check_{}", i / assets),
                severities[i % severities.len()],
                now,
            )
        })
        .collect();
    let routed = (0..alerts).filter(|i| i % severities.len() < 2).count() as i64;
    let mut tx = pool.begin().await?;
    for chunk in events.chunks(5_000) {
        cwic_control_plane::store::outbox::append(&mut tx, chunk).await?;
    }
    let started = Instant::now();
    tx.commit().await?;

    let deadline = Duration::from_secs(600);
    let mut applied_after = None;
    let mut published_after = None;
    let mut reported = Instant::now();
    loop {
        let stored = scalar(&pool, "SELECT count(*) FROM alerts").await?;
        let sent = scalar(&pool, "SELECT count(*) FROM notifications WHERE state = 'sent'").await?;
        let unpublished = scalar(&pool, "SELECT count(*) FROM outbox WHERE published_at IS NULL").await?;
        if published_after.is_none() && unpublished == 0 {
            published_after = Some(started.elapsed());
        }
        if reported.elapsed() >= Duration::from_secs(1) {
            reported = Instant::now();
            eprintln!(
                "  {:>5.1} s: {unpublished} events unpublished, {stored} alerts stored, {sent} notifications sent",
                started.elapsed().as_secs_f64()
            );
        }
        if applied_after.is_none() && stored >= alerts as i64 {
            applied_after = Some(started.elapsed());
        }
        if applied_after.is_some() && sent >= routed {
            break;
        }
        if started.elapsed() > deadline {
            anyhow::bail!("after {deadline:?}: {stored} of {alerts} alerts stored, {sent} of {routed} sent");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_sent = started.elapsed();
    let applied_after = applied_after.unwrap_or(all_sent);
    let incidents = scalar(&pool, "SELECT count(*) FROM incidents").await?;
    let parents: Vec<(String, String, i32)> =
        sqlx::query_as("SELECT rule_key, status, alert_count FROM incidents WHERE source_kind = 'upstream' ORDER BY opened_at")
            .fetch_all(&pool)
            .await?;
    for (rule, status, children) in &parents {
        println!("  parent {rule} ({status}): {children} incidents under it");
    }
    let (p50, p99, max) = latencies(&pool, now).await?;
    println!(
        "alerts: {alerts} failing checks on {assets} tables in one burst → {incidents} incidents, {routed} notifications"
    );
    println!(
        "  applied (relay → broker → engine → alerts, incidents, notifications queued): {:.2} s, {:.0} alerts/s",
        applied_after.as_secs_f64(),
        alerts as f64 / applied_after.as_secs_f64()
    );
    if let Some(published) = published_after {
        println!(
            "  relay: every event published after {:.2} s",
            published.as_secs_f64()
        );
    }
    println!(
        "  all {routed} notifications sent after {:.2} s ({:.0}/s)",
        all_sent.as_secs_f64(),
        routed as f64 / all_sent.as_secs_f64()
    );
    println!("  event → notification sent: p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms");

    // Steady: 10 alerts every 100 ms, each its own new incident, half of them routed.
    let steady_from = Utc::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    for round in 0..steady.div_ceil(10) {
        ticker.tick().await;
        let at = Utc::now();
        let events: Vec<Event> = (0..10)
            .map(|i| {
                failure(
                    asset_ids[i % assets],
                    format!("steady_{round}_{i}"),
                    severities[i % 4],
                    at,
                )
            })
            .collect();
        let mut tx = pool.begin().await?;
        cwic_control_plane::store::outbox::append(&mut tx, &events).await?;
        tx.commit().await?;
    }
    let expected = routed + (steady.div_ceil(10) * 10 / 2) as i64;
    let waited = Instant::now();
    while scalar(&pool, "SELECT count(*) FROM notifications WHERE state = 'sent'").await? < expected {
        if waited.elapsed() > Duration::from_secs(120) {
            anyhow::bail!("the steady phase's notifications were not all sent within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (p50, p99, max) = latencies(&pool, steady_from).await?;
    println!(
        "steady: {} alerts at 100/s → event → notification sent: p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms",
        steady.div_ceil(10) * 10
    );
    cancel.cancel();
    let _ = serving.await;
    pool.close().await;
    Ok(())
}
