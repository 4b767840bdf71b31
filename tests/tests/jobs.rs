//! The job queue across replicas: two real `cwic serve` processes on one PostgreSQL database and
//! one nats-server split the detection work so that every asset is judged exactly once per pass,
//! and a replica SIGKILLed while it holds a job's lease has the job taken over by the other once
//! the lease expires.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::BTreeMap;
use std::time::Duration;

use cwic_control_plane::store::Store;
use cwic_e2e::{ControlPlane, NatsServer, TestDb, wait_for};
use cwic_proto::agent::v1::{AssetKind, AssetObservation, Column, Metric, MetricBatch};
use cwic_shared::{AgentId, TenantId};
use sqlx::PgPool;
use uuid::Uuid;

/// 2026-01-01T00:00:00Z.
const START_SECS: i64 = 1_767_225_600;
const QUARTER_SECS: i64 = 900;

/// A table's collection: rows, NULLs of two columns and a freshness lag, varying a little.
fn table(name: &str, step: i64) -> AssetObservation {
    let wobble = ((step * 37) % 11) as f64;
    let rows = 10_000.0 + 50.0 * wobble;
    let metric = |name: &str, column: &str, value: f64| Metric {
        name: name.into(),
        column: column.into(),
        value,
    };
    AssetObservation {
        schema: "public".into(),
        name: name.into(),
        kind: AssetKind::Table as i32,
        columns: ["email", "amount"]
            .iter()
            .enumerate()
            .map(|(index, column)| Column {
                name: (*column).into(),
                data_type: "text".into(),
                nullable: true,
                ordinal: index as i32 + 1,
            })
            .collect(),
        metrics: vec![
            metric("row_count", "", rows),
            metric("null_count", "email", rows * 0.02 + wobble),
            metric("null_count", "amount", rows * 0.01 + wobble / 2.0),
            metric("freshness_lag", "", ((step % 4) * QUARTER_SECS) as f64),
        ],
        error: String::new(),
        ..Default::default()
    }
}

/// Stores one collection of `tables` at collection number `step` (15 minutes apart).
async fn ingest(store: &Store, step: i64, tables: &[String]) {
    let at_ms = (START_SECS + step * QUARTER_SECS) * 1_000;
    let batch = MetricBatch {
        batch_id: Uuid::now_v7().to_string(),
        tenant_id: "acme".into(),
        agent_id: "wh-1".into(),
        agent_version: "0.1.0".into(),
        collected_at_unix_ms: at_ms,
        finished_at_unix_ms: at_ms + 5,
        source_name: "warehouse".into(),
        source_kind: "postgres".into(),
        assets: tables.iter().map(|name| table(name, step)).collect(),
    };
    let tenant = TenantId::parse("acme").unwrap();
    let agent = AgentId::parse("wh-1").unwrap();
    store.ingest_batch(&tenant, &agent, &batch, None).await.unwrap();
}

async fn migrated(db: &TestDb) -> Store {
    let store = Store::from_pool(db.pool.clone());
    store.migrate().await.unwrap();
    store
}

fn replica_env(name: &str, lease_ms: u64) -> Vec<(String, String)> {
    [
        ("CWIC_REPLICA_NAME", name.to_owned()),
        ("CWIC_JOB_LEASE_MS", lease_ms.to_string()),
        ("CWIC_JOB_POLL_MS", "50".to_owned()),
        ("CWIC_DETECTION_INTERVAL_MS", "500".to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

/// (asset, pass slot, judged by) of every detection run, oldest first.
async fn runs(pool: &PgPool) -> Vec<(Uuid, Option<i64>, String)> {
    sqlx::query_as("SELECT asset_id, pass_slot, judged_by FROM detection_runs ORDER BY judged_at, id")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn passes_done(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'detection_pass' AND state = 'succeeded'")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_judge_every_asset_exactly_once_per_pass() {
    const ASSETS: usize = 24;
    let db = TestDb::create("jobs_split").await.unwrap();
    let store = migrated(&db).await;
    let tables: Vec<String> = (0..ASSETS).map(|index| format!("orders_{index:02}")).collect();
    // Four days of history, stored before either replica runs.
    for step in 0..(4 * 96) {
        ingest(&store, step, &tables).await;
    }
    let nats = NatsServer::start().await.unwrap();
    let a = ControlPlane::start_with_env(&db.url, &nats.url(), replica_env("replica-a", 10_000))
        .await
        .unwrap();
    let b = ControlPlane::start_with_env(&db.url, &nats.url(), replica_env("replica-b", 10_000))
        .await
        .unwrap();
    let logs = || format!("replica a:\n{}\nreplica b:\n{}", a.log(), b.log());

    let first = wait_for("every asset judged", Duration::from_secs(240), || async {
        let runs = runs(&db.pool).await;
        Ok((runs.len() >= ASSETS).then_some(runs))
    })
    .await
    .unwrap_or_else(|error| panic!("{error}\n{}", logs()));
    // Passes keep coming every half second: three more must not judge anything again (no new
    // points), while each replica took part of the work.
    let seen = passes_done(&db.pool).await;
    wait_for("three more passes", Duration::from_secs(60), || async {
        Ok((passes_done(&db.pool).await >= seen + 3).then_some(()))
    })
    .await
    .unwrap();
    let after = runs(&db.pool).await;
    assert_eq!(after.len(), ASSETS, "{after:?}");
    let mut per_asset: BTreeMap<Uuid, usize> = BTreeMap::new();
    for (asset, _, _) in &after {
        *per_asset.entry(*asset).or_default() += 1;
    }
    assert_eq!(per_asset.len(), ASSETS);
    assert!(per_asset.values().all(|count| *count == 1), "{per_asset:?}");
    let by = |name: &str| first.iter().filter(|(_, _, judged_by)| judged_by == name).count();
    assert!(
        by("replica-a") > 0 && by("replica-b") > 0,
        "the replicas did not split the work: a judged {}, b {}",
        by("replica-a"),
        by("replica-b")
    );

    // One new collection per asset: the next pass judges each asset once more, once.
    ingest(&store, 4 * 96, &tables).await;
    wait_for("every asset judged again", Duration::from_secs(120), || async {
        Ok((runs(&db.pool).await.len() >= 2 * ASSETS).then_some(()))
    })
    .await
    .unwrap_or_else(|error| panic!("{error}\n{}", logs()));
    let seen = passes_done(&db.pool).await;
    wait_for("three more passes", Duration::from_secs(60), || async {
        Ok((passes_done(&db.pool).await >= seen + 3).then_some(()))
    })
    .await
    .unwrap();
    let all = runs(&db.pool).await;
    assert_eq!(all.len(), 2 * ASSETS, "{all:?}");
    let mut slots: BTreeMap<Uuid, Vec<Option<i64>>> = BTreeMap::new();
    for (asset, slot, _) in &all {
        slots.entry(*asset).or_default().push(*slot);
    }
    for (asset, slots) in &slots {
        assert_eq!(slots.len(), 2, "asset {asset}: {slots:?}");
        assert!(
            slots[0].is_some() && slots[0] < slots[1],
            "asset {asset}: {slots:?}"
        );
    }
    // Nothing failed, nothing is left over.
    let unfinished: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT kind, state, last_error FROM jobs WHERE state <> 'succeeded' OR last_error IS NOT NULL",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        unfinished
            .iter()
            .all(|(kind, state, error)| kind == "detection_pass"
                && (state == "queued" || state == "running")
                && error.is_none()),
        "{unfinished:?}"
    );

    // The jobs are visible to the tenant's admins, each with its state and attempts.
    let jobs = a
        .get_as("/api/v1/jobs?limit=1000", "acme", "admin")
        .await
        .unwrap();
    // (Each stored batch also queues the scoring of its assets: those jobs are not judged here.)
    let items: Vec<&serde_json::Value> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|job| job["kind"] != "score_asset")
        .collect();
    assert_eq!(items.len(), 2 * ASSETS, "{jobs}");
    // (An attempt may be more than one on a loaded machine: a lease that ran out before its
    // renewal is taken over, and the fenced first holder records nothing.)
    assert!(
        items.iter().all(|job| job["kind"] == "detect_asset"
            && job["state"] == "succeeded"
            && job["attempts"].as_i64().is_some_and(|attempts| attempts >= 1)
            && job["last_error"].is_null()),
        "{jobs}"
    );
    // A viewer may not see them; another tenant sees none.
    assert!(a.get_as("/api/v1/jobs", "acme", "viewer").await.is_err());
    let other = a.get_as("/api/v1/jobs", "globex", "admin").await.unwrap();
    assert_eq!(other["items"].as_array().unwrap().len(), 0);
    let metrics = reqwest::get(format!("{}/metrics", b.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "cwic_jobs{{kind=\"detect_asset\",state=\"succeeded\"}} {}",
            2 * ASSETS
        )),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_job_is_taken_over_after_its_lease_expires() {
    const LEASE_MS: u64 = 3_000;
    let db = TestDb::create("jobs_lease").await.unwrap();
    let store = migrated(&db).await;
    // Enough history (three weeks of 15-minute collections) that judging the asset takes a while.
    let tables = vec!["big_orders".to_owned()];
    for step in 0..(21 * 96) {
        ingest(&store, step, &tables).await;
    }
    let nats = NatsServer::start().await.unwrap();
    let mut a = ControlPlane::start_with_env(&db.url, &nats.url(), replica_env("replica-a", LEASE_MS))
        .await
        .unwrap();
    let (job, lease_until): (Uuid, chrono::DateTime<chrono::Utc>) = wait_for(
        "replica a to hold the asset's job",
        Duration::from_secs(120),
        || async {
            Ok(sqlx::query_as(
                "SELECT id, lease_until FROM jobs
                 WHERE kind = 'detect_asset' AND state = 'running' AND lease_owner = 'replica-a'",
            )
            .fetch_optional(&db.pool)
            .await?)
        },
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\n{}", a.log()));
    a.kill().unwrap();
    // The lease as the dead replica last renewed it.
    let lease_until: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT lease_until FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&db.pool)
            .await
            .map(|renewed: chrono::DateTime<chrono::Utc>| renewed.max(lease_until))
            .unwrap();
    let state: String = sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        state, "running",
        "replica a finished the job before it was killed"
    );

    let b = ControlPlane::start_with_env(&db.url, &nats.url(), replica_env("replica-b", LEASE_MS))
        .await
        .unwrap();
    let (attempts, owner, updated_at): (i32, String, chrono::DateTime<chrono::Utc>) = wait_for(
        "replica b to finish the job",
        Duration::from_secs(180),
        || async {
            Ok(sqlx::query_as(
                "SELECT attempts, lease_owner, updated_at FROM jobs WHERE id = $1 AND state = 'succeeded'",
            )
            .bind(job)
            .fetch_optional(&db.pool)
            .await?)
        },
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\n{}", b.log()));
    assert_eq!(attempts, 2, "the takeover is the job's second attempt");
    assert_eq!(owner, "replica-b");
    assert!(updated_at > lease_until);
    // Judged once, by the survivor, and not before the dead replica's lease had expired.
    let runs: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT judged_by, judged_at FROM detection_runs")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].0, "replica-b");
    assert!(
        runs[0].1 > lease_until,
        "{runs:?} before the lease ended at {lease_until}"
    );
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM detection_state WHERE scanned_through IS NOT NULL")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(
        events >= 4,
        "the survivor judged the asset's series and table: {events} watermarks"
    );
}

/// Scoring after a collection wave runs in batches: two in-process workers share 1,100
/// `score_asset` jobs, claiming up to `SCORE_BATCH` at a time; every table is scored exactly once,
/// a malformed job fails alone (dead on its only attempt, its error kept) and the others are
/// settled a batch at a time (one `finished_at` per settling statement).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn score_jobs_run_in_batches_and_a_bad_one_fails_alone() {
    use std::sync::Arc;

    use cwic_control_plane::background::Background;
    use cwic_control_plane::jobs::{JobsConfig, run_worker};
    use cwic_control_plane::scoring::service::SCORE_BATCH;
    use tokio_util::sync::CancellationToken;

    const TABLES: usize = 1_100;
    let db = TestDb::create("jobs_score_batch").await.unwrap();
    let store = migrated(&db).await;
    let tables: Vec<String> = (0..TABLES).map(|i| format!("t_{i:04}")).collect();
    ingest(&store, 0, &tables).await;
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, kind, payload, max_attempts)
         VALUES (gen_random_uuid(), 'acme', 'score_asset', '{\"asset_id\": \"not-a-uuid\"}', 1)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let queued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'score_asset' AND state = 'queued'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(queued, TABLES as i64 + 1, "ingest queues one job per table");

    let cancel = CancellationToken::new();
    let workers: Vec<_> = ["worker-a", "worker-b"]
        .into_iter()
        .map(|replica| {
            let handler = Arc::new(Background::new(store.clone(), replica));
            let config = JobsConfig {
                replica: replica.to_owned(),
                poll: Duration::from_millis(20),
                ..JobsConfig::default()
            };
            tokio::spawn(run_worker(store.clone(), handler, config, cancel.clone()))
        })
        .collect();
    wait_for("the score jobs to settle", Duration::from_secs(120), || async {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE kind = 'score_asset' AND state IN ('queued', 'running')",
        )
        .fetch_one(&db.pool)
        .await?;
        Ok((pending == 0).then_some(()))
    })
    .await
    .unwrap();
    cancel.cancel();
    for worker in workers {
        worker.await.unwrap();
    }

    let per_asset: Vec<(i64,)> = sqlx::query_as(
        "SELECT count(s.asset_id) FROM assets a LEFT JOIN asset_scores s ON s.asset_id = a.id GROUP BY a.id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(per_asset.len(), TABLES);
    assert!(
        per_asset.iter().all(|(scores,)| *scores == 1),
        "every table scored exactly once"
    );
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE kind = 'score.changed'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(events, TABLES as i64, "a first score is a change");
    // Completeness of one table as SQL computes it from its last collection.
    let (stored, expected): (f64, f64) = sqlx::query_as(
        "SELECT (s.dimensions -> 'completeness' ->> 'score')::float8,
                100 * (1 - sum(m.value) FILTER (WHERE m.metric = 'null_count')
                           / (2 * max(m.value) FILTER (WHERE m.metric = 'row_count')))
         FROM assets a JOIN asset_scores s ON s.asset_id = a.id JOIN metric_points m ON m.asset_id = a.id
         WHERE a.name = 't_0007' GROUP BY s.dimensions",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!((stored - expected).abs() < 1e-9, "{stored} vs {expected}");

    let (state, error): (String, Option<String>) = sqlx::query_as(
        "SELECT state, last_error FROM jobs WHERE kind = 'score_asset' AND payload ->> 'asset_id' = 'not-a-uuid'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(state, "dead");
    assert!(
        error
            .as_deref()
            .unwrap_or("")
            .contains("needs a tenant and an asset_id"),
        "{error:?}"
    );
    let (succeeded, settlements, owners): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT finished_at), count(DISTINCT lease_owner) FROM jobs
         WHERE kind = 'score_asset' AND state = 'succeeded'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(succeeded, TABLES as i64);
    let fewest = TABLES.div_ceil(SCORE_BATCH) as i64;
    assert!(
        (fewest..=fewest + 4).contains(&settlements),
        "{succeeded} jobs settled in {settlements} statements (at least {fewest} batches of {SCORE_BATCH})"
    );
    assert!(owners >= 1);
}
