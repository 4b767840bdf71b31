//! The REST API and the store behind it, in process: idempotent ingest, late batches, tenant scoping
//! and the one error body shape. Each test has its own database.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use cwic_control_plane::app::Application;
use cwic_control_plane::store::{IncomingBatch, IngestOutcome, Store, StoreError};
use cwic_e2e::{TestDb, mint_token, test_serve_config};
use cwic_proto::agent::v1::{AssetKind, AssetObservation, Column, Metric, MetricBatch};
use cwic_shared::{AgentId, TenantId};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn batch(tenant: &str, collected_at_unix_ms: i64, columns: &[&str], rows: f64) -> MetricBatch {
    MetricBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.into(),
        agent_id: "wh-1".into(),
        agent_version: "0.1.0".into(),
        collected_at_unix_ms,
        finished_at_unix_ms: collected_at_unix_ms + 5,
        source_name: "warehouse".into(),
        source_kind: "postgres".into(),
        assets: vec![AssetObservation {
            schema: "public".into(),
            name: "orders".into(),
            kind: AssetKind::Table as i32,
            columns: columns
                .iter()
                .enumerate()
                .map(|(index, name)| Column {
                    name: (*name).into(),
                    data_type: "integer".into(),
                    nullable: true,
                    ordinal: index as i32 + 1,
                })
                .collect(),
            metrics: std::iter::once(Metric {
                name: "row_count".into(),
                column: String::new(),
                value: rows,
            })
            .chain(columns.iter().map(|name| Metric {
                name: "null_count".into(),
                column: (*name).into(),
                value: 2.0,
            }))
            .collect(),
            error: String::new(),
            ..Default::default()
        }],
    }
}

struct Running {
    base: String,
    database_url: String,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn serve(db: &TestDb) -> Running {
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run(cancel.clone()));
    Running {
        base,
        database_url: db.url.clone(),
        cancel,
        task,
    }
}

impl Running {
    /// GET as a viewer of `tenant`, or without credentials.
    async fn get(&self, path: &str, tenant: Option<&str>) -> (u16, Value) {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.base));
        if let Some(tenant) = tenant {
            request = request.bearer_auth(mint_token(&self.database_url, tenant, "viewer").await.unwrap());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.task.await.unwrap().unwrap();
    }
}

fn ids() -> (TenantId, AgentId) {
    (TenantId::parse("acme").unwrap(), AgentId::parse("wh-1").unwrap())
}

#[tokio::test]
async fn a_batch_is_stored_once_however_often_it_arrives() {
    let db = TestDb::create("api").await.unwrap();
    let store = Store::from_pool(db.pool.clone());
    store.migrate().await.unwrap();
    let (tenant, agent) = ids();
    let batch = batch("acme", 1_700_000_000_000, &["id", "amount"], 10.0);
    assert_eq!(
        store
            .ingest_batch(&tenant, &agent, &batch, Some(1))
            .await
            .unwrap(),
        IngestOutcome::Stored { points: 3 }
    );
    for _ in 0..3 {
        assert_eq!(
            store
                .ingest_batch(&tenant, &agent, &batch, Some(1))
                .await
                .unwrap(),
            IngestOutcome::Duplicate
        );
    }
    let points: i64 = sqlx::query_scalar("SELECT count(*) FROM metric_points")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(points, 3);
}

#[tokio::test]
async fn invalid_batches_are_refused_with_the_reason() {
    let db = TestDb::create("api").await.unwrap();
    let store = Store::from_pool(db.pool.clone());
    store.migrate().await.unwrap();
    let (tenant, agent) = ids();
    let mut bad = batch("acme", 1_700_000_000_000, &["id"], 1.0);
    bad.assets[0].metrics.push(Metric {
        name: "rows_total".into(),
        column: String::new(),
        value: 1.0,
    });
    let error = store.ingest_batch(&tenant, &agent, &bad, None).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::InvalidBatch(reason) if reason == "unknown metric `rows_total`"),
        "{error}"
    );
    let mut bad = batch("acme", 1_700_000_000_000, &["id"], 1.0);
    bad.batch_id = "not-a-uuid".into();
    let error = store.ingest_batch(&tenant, &agent, &bad, None).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid batch: batch_id `not-a-uuid` is not a UUID"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM ingested_batches")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "a refused batch leaves nothing behind");
}

#[tokio::test]
async fn a_late_batch_adds_history_but_does_not_roll_the_schema_back() {
    let db = TestDb::create("api").await.unwrap();
    let running = serve(&db).await;
    let store = Store::from_pool(db.pool.clone());
    let (tenant, agent) = ids();
    let newer = batch("acme", 1_700_000_600_000, &["id", "amount", "currency"], 12.0);
    let older = batch("acme", 1_700_000_000_000, &["id", "amount"], 10.0);
    store.ingest_batch(&tenant, &agent, &newer, None).await.unwrap();
    store.ingest_batch(&tenant, &agent, &older, None).await.unwrap();

    let (status, page) = running.get("/api/v1/assets", Some("acme")).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 1);
    let asset = &page["items"][0];
    assert_eq!(asset["row_count"], 12.0, "the latest observation wins");
    assert_eq!(asset["column_count"], 3);
    assert_eq!(asset["last_seen_at"], "2023-11-14T22:23:20Z");
    let id = asset["id"].as_str().unwrap();
    let (_, detail) = running.get(&format!("/api/v1/assets/{id}"), Some("acme")).await;
    let names: Vec<&str> = detail["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "amount", "currency"]);
    let (_, history) = running
        .get(
            &format!("/api/v1/assets/{id}/metrics?metric=row_count"),
            Some("acme"),
        )
        .await;
    let values: Vec<f64> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [12.0, 10.0], "newest first, both observations kept");
    running.stop().await;
}

#[tokio::test]
async fn tenants_see_only_their_own_assets() {
    let db = TestDb::create("api").await.unwrap();
    let running = serve(&db).await;
    let store = Store::from_pool(db.pool.clone());
    let agent = AgentId::parse("wh-1").unwrap();
    store
        .ingest_batch(
            &TenantId::parse("acme").unwrap(),
            &agent,
            &batch("acme", 1_700_000_000_000, &["id"], 1.0),
            None,
        )
        .await
        .unwrap();
    store
        .ingest_batch(
            &TenantId::parse("globex").unwrap(),
            &agent,
            &batch("globex", 1_700_000_000_000, &["id"], 2.0),
            None,
        )
        .await
        .unwrap();
    let (_, acme) = running.get("/api/v1/assets", Some("acme")).await;
    let (_, globex) = running.get("/api/v1/assets", Some("globex")).await;
    assert_eq!(
        (acme["total"].clone(), globex["total"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(acme["items"][0]["row_count"], 1.0);
    let globex_id = globex["items"][0]["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/assets/{globex_id}"),
        format!("/api/v1/assets/{globex_id}/metrics"),
    ] {
        let (status, body) = running.get(&path, Some("acme")).await;
        assert_eq!(
            (status, body),
            (
                404,
                json!({"code": "not_found", "message": "asset not found", "details": null})
            )
        );
    }
    running.stop().await;
}

#[tokio::test]
async fn bad_requests_get_one_error_shape_naming_the_problem() {
    let db = TestDb::create("api").await.unwrap();
    let running = serve(&db).await;
    let (status, body) = running.get("/api/v1/assets", None).await;
    assert_eq!((status, body["code"].clone()), (401, json!("unauthenticated")));
    let (status, body) = running.get("/api/v1/assets?limit=0", Some("acme")).await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "limit must be between 1 and 1000, got 0");
    assert_eq!(body["details"]["field"], "limit");
    let (status, body) = running.get("/api/v1/assets?limt=5", Some("acme")).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("unknown field `limt`"),
        "{body}"
    );
    let (status, body) = running.get("/api/v1/assets/123", Some("acme")).await;
    assert_eq!(
        (status, body["message"].clone()),
        (400, json!("asset id `123` is not a UUID"))
    );
    let (status, body) = running.get("/api/v1/nothing-here", Some("acme")).await;
    assert_eq!((status, body["code"].clone()), (404, json!("not_found")));
    running.stop().await;
}

#[tokio::test]
async fn concurrent_groups_sharing_assets_and_batches_store_each_batch_once() {
    // Several control-plane replicas share the durable consumer: their groups overlap in assets
    // (row locks) and, after a redelivery, in batch ids. Neither may deadlock or double a point.
    let db = TestDb::create("api").await.unwrap();
    let store = Store::from_pool(db.pool.clone());
    store.migrate().await.unwrap();
    let (tenant, agent) = ids();
    let shared: Vec<MetricBatch> = (0..20)
        .map(|i| batch("acme", 1_700_000_000_000 + i, &["id", "amount"], i as f64))
        .collect();
    let rounds = 8;
    let mut tasks = Vec::new();
    for replica in 0..rounds {
        let store = store.clone();
        let (tenant, agent) = (tenant.clone(), agent.clone());
        // Each replica gets every shared batch, in a different order, plus one batch of its own.
        let mut group: Vec<MetricBatch> = shared.clone();
        group.rotate_left(replica * 3 % shared.len());
        if replica % 2 == 1 {
            group.reverse();
        }
        group.push(batch(
            "acme",
            1_700_000_100_000 + replica as i64,
            &["id", "amount"],
            99.0,
        ));
        tasks.push(tokio::spawn(async move {
            let incoming: Vec<IncomingBatch<'_>> = group
                .iter()
                .map(|batch| IncomingBatch {
                    tenant: &tenant,
                    agent: &agent,
                    batch,
                    stream_sequence: None,
                })
                .collect();
            store.ingest_batches(&incoming).await.map(|outcomes| {
                outcomes
                    .iter()
                    .filter(|outcome| matches!(outcome, IngestOutcome::Stored { .. }))
                    .count()
            })
        }));
    }
    let mut stored = 0;
    for task in tasks {
        stored += task.await.unwrap().expect("no deadlock, no error");
    }
    assert_eq!(
        stored,
        20 + rounds,
        "every distinct batch stored exactly once across replicas"
    );
    let points: i64 = sqlx::query_scalar("SELECT count(*) FROM metric_points")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(points, (20 + rounds as i64) * 3);
}

#[tokio::test]
async fn stored_history_is_judged_with_an_expected_band_and_the_spike_is_flagged() {
    let db = TestDb::create("api").await.unwrap();
    let running = serve(&db).await;
    let store = Store::from_pool(db.pool.clone());
    let (tenant, agent) = ids();
    let start_ms = 1_767_225_600_000_i64; // 2026-01-01T00:00:00Z
    // The detector warms up for three days: the spike comes on day four.
    let spike_hour = 84;
    for hour in 0..96_i64 {
        let rows = if hour == spike_hour {
            5_000.0
        } else {
            1_000.0 + ((hour * 37) % 11) as f64
        };
        let batch = batch("acme", start_ms + hour * 3_600_000, &["id"], rows);
        store.ingest_batch(&tenant, &agent, &batch, None).await.unwrap();
    }
    let (_, page) = running.get("/api/v1/assets", Some("acme")).await;
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();

    let (status, judged) = running
        .get(
            &format!("/api/v1/assets/{id}/anomalies?metric=row_count"),
            Some("acme"),
        )
        .await;
    assert_eq!(status, 200, "{judged}");
    assert_eq!(
        judged["anomalies"],
        json!(["2026-01-04T12:00:00Z"]),
        "only the spike at hour 84"
    );
    let points = judged["points"].as_array().unwrap();
    assert_eq!(points.len(), 96);
    assert_eq!(
        points[0]["verdict"]["warming_up"], true,
        "no verdict from the first points"
    );
    let before = &points[spike_hour as usize - 1];
    let (low, high) = (
        before["verdict"]["expected_low"].as_f64().unwrap(),
        before["verdict"]["expected_high"].as_f64().unwrap(),
    );
    let value = before["value"].as_f64().unwrap();
    assert!(
        low <= value && value <= high && high < 5_000.0,
        "band {low}..{high} around {value}"
    );

    let (status, body) = running
        .get(
            &format!("/api/v1/assets/{id}/anomalies?metric=null_count"),
            Some("acme"),
        )
        .await;
    assert_eq!(
        (status, body["message"].clone()),
        (
            400,
            json!("metric `null_count` is measured per column: give `column`")
        )
    );
    let (status, _) = running
        .get(
            &format!("/api/v1/assets/{id}/anomalies?metric=row_count"),
            Some("globex"),
        )
        .await;
    assert_eq!(status, 404);
    running.stop().await;
}

#[tokio::test]
async fn metric_history_lands_in_monthly_partitions_created_on_demand() {
    let db = TestDb::create("api").await.unwrap();
    let store = Store::from_pool(db.pool.clone());
    store.migrate().await.unwrap();
    let (tenant, agent) = ids();
    // 2023-11-14 22:13 UTC, the last millisecond of November 2023, and 2024-01-01 00:00 UTC.
    for at in [1_700_000_000_000, 1_701_388_799_999, 1_704_067_200_000] {
        store
            .ingest_batch(&tenant, &agent, &batch("acme", at, &["id", "amount"], 10.0), None)
            .await
            .unwrap();
    }
    let partitions: Vec<(String, i64)> =
        sqlx::query_as("SELECT tableoid::regclass::text, count(*) FROM metric_points GROUP BY 1 ORDER BY 1")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        partitions,
        vec![
            ("metric_points_202311".to_owned(), 6),
            ("metric_points_202401".to_owned(), 3)
        ]
    );
    // A second store (another replica) finds the partitions already there.
    let other = Store::from_pool(db.pool.clone());
    other
        .ingest_batch(
            &tenant,
            &agent,
            &batch("acme", 1_700_000_000_001, &["id"], 1.0),
            None,
        )
        .await
        .unwrap();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM metric_points")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(total, 11);
}

#[tokio::test]
async fn row_level_security_confines_a_scoped_transaction_to_its_tenant() {
    let db = TestDb::create("api").await.unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let (acme, agent) = ids();
    let globex = TenantId::parse("globex").unwrap();
    store
        .ingest_batch(
            &acme,
            &agent,
            &batch("acme", 1_700_000_000_000, &["id"], 1.0),
            None,
        )
        .await
        .unwrap();
    store
        .ingest_batch(
            &globex,
            &agent,
            &batch("globex", 1_700_000_000_000, &["id", "x"], 1.0),
            None,
        )
        .await
        .unwrap();

    // Queries that "forget" the tenant filter still see only the scoped tenant's rows.
    let mut tx = store.scoped(&acme).await.unwrap();
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM assets), (SELECT count(*) FROM asset_columns),
                (SELECT count(*) FROM metric_points)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(counts, (1, 1, 2));
    // Writing another tenant's row is refused by the policy's check.
    let asset: uuid::Uuid = sqlx::query_scalar("SELECT id FROM assets")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let error = sqlx::query(
        "INSERT INTO metric_points (tenant_id, asset_id, metric, column_name, observed_at, batch_id, value)
         VALUES ('globex', $1, 'row_count', '', '2023-11-14T22:13:20Z', $2, 1)",
    )
    .bind(asset)
    .bind(uuid::Uuid::now_v7())
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
    drop(tx);

    // A tenant without rows sees nothing at all, while the owner (ingest) sees everything.
    let mut tx = store.scoped(&TenantId::parse("nobody").unwrap()).await.unwrap();
    let unscoped: i64 = sqlx::query_scalar("SELECT count(*) FROM assets")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(unscoped, 0);
    drop(tx);
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM assets")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(all, 2);
    store.close().await;
}
