//! Tenant isolation, tested where it is enforced: PostgreSQL row-level security on every table that
//! carries a `tenant_id` (whichever migration added it, metric partitions included), the API's
//! tenant-scoped store handle, and every tenant-data route of the REST API called by another tenant.
//!
//! The seeding fills every such table for tenant acme through the real flows where there is one
//! (an agent batch through ingest, API calls) and by direct inserts as the owner for the rest; a
//! table that a later migration adds and nobody seeds fails the test until it is seeded here.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use cwic_control_plane::app::Application;
use cwic_control_plane::store::{DeadLetter, Store};
use cwic_e2e::{TestDb, add_user, mint_token, test_serve_config};
use cwic_proto::agent::v1::{
    AssetKind, AssetObservation, CheckResult, Column, Metric, MetricBatch, SegmentCount,
};
use cwic_shared::{AgentId, TenantId};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Every table of the public schema with a `tenant_id` column (partitioned parents and their
/// partitions alike).
const TENANT_TABLES: &str = "
    SELECT c.relname::text FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p')
    ORDER BY 1";

struct Api {
    base: String,
    client: reqwest::Client,
    cancel: CancellationToken,
}

impl Api {
    async fn start(db: &TestDb) -> Self {
        let app = Application::build(test_serve_config(&db.url)).await.unwrap();
        let base = format!("http://{}", app.local_addr().unwrap());
        let cancel = CancellationToken::new();
        tokio::spawn(app.run(cancel.clone()));
        Self {
            base,
            client: reqwest::Client::new(),
            cancel,
        }
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A call that must succeed (seeding).
    async fn ok(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method.clone(), path, token, body).await;
        assert!(status < 300, "{method} {path}: {status} {answer}");
        answer
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// One collection of acme's warehouse: a table with two columns, segment counts and check results.
fn acme_batch(collected_at_unix_ms: i64, rows: f64) -> MetricBatch {
    MetricBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: "acme".into(),
        agent_id: "acme-wh".into(),
        agent_version: "0.1.0".into(),
        collected_at_unix_ms,
        finished_at_unix_ms: collected_at_unix_ms + 5,
        source_name: "acme-warehouse".into(),
        source_kind: "postgres".into(),
        assets: vec![AssetObservation {
            schema: "public".into(),
            name: "acme_orders".into(),
            kind: AssetKind::Table as i32,
            columns: vec![
                Column {
                    name: "id".into(),
                    data_type: "bigint".into(),
                    nullable: false,
                    ordinal: 1,
                },
                Column {
                    name: "region".into(),
                    data_type: "text".into(),
                    nullable: true,
                    ordinal: 2,
                },
            ],
            metrics: vec![
                Metric {
                    name: "row_count".into(),
                    column: String::new(),
                    value: rows,
                },
                Metric {
                    name: "null_count".into(),
                    column: "region".into(),
                    value: 1.0,
                },
            ],
            segments: vec![SegmentCount {
                column: "id".into(),
                segment_column: "region".into(),
                segment_value: "north".into(),
                rows: rows as u64,
                nulls: 0,
            }],
            checks: vec![CheckResult {
                name: "acme_orders_have_ids".into(),
                template: "not_null".into(),
                dimension: "completeness".into(),
                severity: "high".into(),
                status: "fail".into(),
                columns: vec!["id".into()],
                failing_rows: Some(1),
                total_rows: Some(rows as u64),
                message: "1 row without id".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// What the seeding made, for the API test to ask for.
struct Seeded {
    /// acme's owner, signed in through the API.
    acme: String,
    asset: String,
    anomaly: String,
    sla: String,
    incident: String,
}

/// Fills every tenant table for acme; returns acme's ids.
async fn seed_acme(db: &TestDb, api: &Api) -> Seeded {
    // Ingest, as the agent's batches arrive: tenants, agents, assets, asset_columns,
    // metric_points (and its month's partition), ingested_batches, check_results, segment_counts.
    let store = Store::connect(&db.url).await.unwrap();
    let (tenant, agent) = (
        TenantId::parse("acme").unwrap(),
        AgentId::parse("acme-wh").unwrap(),
    );
    let hour = 3_600_000;
    for (n, rows) in [10.0, 11.0, 12.0, 13.0, 500.0].into_iter().enumerate() {
        store
            .ingest_batch(
                &tenant,
                &agent,
                &acme_batch(1_700_000_000_000 + n as i64 * hour, rows),
                Some(1),
            )
            .await
            .unwrap();
    }
    // What ingest sets aside.
    store
        .insert_dead_letter(&DeadLetter {
            tenant: "acme",
            consumer: "cwic-ingest-test",
            subject: "cwic.acme.agent.acme-wh.metrics",
            stream_sequence: Some(1),
            deliveries: 5,
            reason: "acme's refused batch",
            payload: b"x",
        })
        .await
        .unwrap();

    // Through the API: users and memberships (the operator's add-user), refresh_tokens and
    // audit_log (sign-in), api_tokens, agent_enrollment_tokens, sso_connections, lineage_nodes and
    // lineage_edges, metric_bounds, detection_state (a detection pass), the agent's config.
    let user = add_user(&db.url, "acme", "ada@acme.example", "ada-password-12", "owner")
        .await
        .unwrap();
    let session = api
        .client
        .post(format!("{}/api/v1/auth/login", api.base))
        .json(&json!({"email": "ada@acme.example", "password": "ada-password-12", "tenant": "acme"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let acme = session["access_token"].as_str().unwrap().to_owned();
    let (_, assets) = api.call(Method::GET, "/api/v1/assets", &acme, None).await;
    let asset = assets["items"][0]["id"].as_str().unwrap().to_owned();
    api.ok(
        Method::POST,
        "/api/v1/tokens",
        &acme,
        Some(json!({"name": "acme-ci", "role": "viewer"})),
    )
    .await;
    api.ok(
        Method::POST,
        "/api/v1/agents/enrollment-tokens",
        &acme,
        Some(json!({"agent_id": "acme-wh-2"})),
    )
    .await;
    let connection = api
        .ok(
            Method::POST,
            "/api/v1/sso/connections",
            &acme,
            Some(
                json!({"name": "acme-corp", "issuer_url": "https://idp.acme.example",
                        "client_id": "acme-client", "client_secret": "s"}),
            ),
        )
        .await;
    api.ok(
        Method::POST,
        "/api/v1/lineage/sql",
        &acme,
        Some(json!({"namespace": "acme-warehouse", "dialect": "postgres",
                    "sql": "INSERT INTO mart.acme_totals SELECT count(id) AS orders FROM public.acme_orders"})),
    )
    .await;
    api.ok(
        Method::PUT,
        &format!("/api/v1/assets/{asset}/bounds"),
        &acme,
        Some(json!({"metric": "row_count", "lower": 1.0, "upper": 100.0})),
    )
    .await;
    api.ok(Method::POST, "/api/v1/anomalies/scan", &acme, Some(json!({})))
        .await;
    let response = api
        .client
        .put(format!("{}/api/v1/agents/acme-wh/config", api.base))
        .bearer_auth(&acme)
        .header("content-type", "application/yaml")
        .body("version: 1\n# acme-config\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    // Direct inserts as the owner where no flow runs without an outside identity provider (a
    // sign-in in flight, a linked identity), and an anomaly event whatever the detector judged.
    let connection_id = uuid::Uuid::parse_str(connection["id"].as_str().unwrap()).unwrap();
    sqlx::query(
        "INSERT INTO sso_logins (state, tenant_id, connection_id, pkce_verifier, nonce, callback_url, redirect_to)
         VALUES ('acme-state', 'acme', $1, 'v', 'n', 'https://cwic.example/cb', '/')",
    )
    .bind(connection_id)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO sso_identities (connection_id, subject, tenant_id, user_id) VALUES ($1, 'acme-subject', 'acme', $2)",
    )
    .bind(connection_id)
    .bind(user)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO anomaly_events (id, tenant_id, asset_id, metric, column_name, observed_at, value, score)
         VALUES ($1, 'acme', $2::uuid, 'null_count', 'region', '2023-11-14T22:13:20Z', 1, 0.9)
         ON CONFLICT DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(&asset)
    .execute(&db.pool)
    .await
    .unwrap();
    // Background work's tables (jobs, detection runs, detector snapshots) and the events outbox
    // fill only when the job worker or ingest ran by then: seed a row of each as their owner would.
    for (statement, with_asset) in [
        (
            "INSERT INTO jobs (id, tenant_id, kind) VALUES ($1, 'acme', 'detect_asset')",
            false,
        ),
        (
            "INSERT INTO detection_runs (id, tenant_id, asset_id, judged_by, series, events)
             VALUES ($1, 'acme', $2::uuid, 'replica-a', 1, 0)",
            true,
        ),
        (
            "INSERT INTO detector_snapshots (tenant_id, asset_id, metric, through, format, state)
             SELECT 'acme', $2::uuid, 'row_count', now(), 1, decode('00', 'hex')
             WHERE $1::uuid IS NOT NULL ON CONFLICT DO NOTHING",
            true,
        ),
        (
            "INSERT INTO outbox (id, tenant_id, kind, occurred_at, data)
             VALUES ($1, 'acme', 'metrics.stored', now(), '{}') ON CONFLICT DO NOTHING",
            false,
        ),
        // Scores: until the score engine has run, a score and the tenant's weights.
        (
            "INSERT INTO asset_scores (tenant_id, asset_id, computed_at, score, coverage, dimensions, weights)
             SELECT 'acme', $2::uuid, now(), 90, 0.5, '{}', '{}'
             WHERE $1::uuid IS NOT NULL ON CONFLICT DO NOTHING",
            true,
        ),
        (
            "INSERT INTO score_weights (tenant_id, weights)
             SELECT 'acme', '{}' WHERE $1::uuid IS NOT NULL ON CONFLICT DO NOTHING",
            false,
        ),
        (
            "INSERT INTO asset_score_weights (tenant_id, asset_id, weights)
             SELECT 'acme', $2::uuid, '{}' WHERE $1::uuid IS NOT NULL ON CONFLICT DO NOTHING",
            true,
        ),
        (
            "INSERT INTO score_check_dimensions (tenant_id, asset_id, check_name, dimension)
             SELECT 'acme', $2::uuid, 'c', 'accuracy' WHERE $1::uuid IS NOT NULL ON CONFLICT DO NOTHING",
            true,
        ),
        // SLAs, their evaluations, ROI settings and incidents.
        (
            "INSERT INTO slas (id, tenant_id, name, asset_id, freshness_bound_minutes)
             VALUES ($1, 'acme', 'orders fresh', $2::uuid, 60)",
            true,
        ),
        (
            "INSERT INTO sla_evaluations (tenant_id, sla_id, objective, evaluated_at, window_minutes,
                 evaluated_minutes, met_minutes, budget_minutes, spent_minutes, breached)
             SELECT 'acme', id, 'freshness', now(), 43200, 60, 60, 432, 0, false
             FROM slas WHERE tenant_id = 'acme' AND $1::uuid IS NOT NULL LIMIT 1",
            false,
        ),
        (
            "INSERT INTO roi_settings (tenant_id, engineer_hourly_rate, downtime_hourly_cost,
                 platform_cost_per_month)
             SELECT 'acme', 100, '{\"default\": 500}', 1000
             WHERE $1::uuid IS NOT NULL ON CONFLICT DO NOTHING",
            false,
        ),
        (
            "INSERT INTO channels (id, tenant_id, kind, name, settings, secret)
             VALUES ($1, 'acme', 'webhook', 'acme hook', '{\"url\": \"https://hooks.acme.example/x\"}', 'acme-secret-0123456789')",
            false,
        ),
        (
            "INSERT INTO ownerships (id, tenant_id, scope, target, owners, channel_ids)
             SELECT $1, 'acme', 'tag', 'acme-corp', '{ada@acme.example}', ARRAY[id] FROM channels WHERE tenant_id = 'acme'",
            false,
        ),
        (
            "INSERT INTO routing_rules (id, tenant_id, name, expression, channel_ids)
             SELECT $1, 'acme', 'acme-ci page', 'severity >= high', ARRAY[id] FROM channels WHERE tenant_id = 'acme'",
            false,
        ),
        (
            "INSERT INTO digests (id, tenant_id, channel_id, cadence, last_period_end)
             SELECT $1, 'acme', id, 'daily', now() FROM channels WHERE tenant_id = 'acme'",
            false,
        ),
        (
            "INSERT INTO asset_contracts (tenant_id, asset_id, contract_id, dataset, document)
             SELECT 'acme', $2::uuid, 'acme-orders', 'acme_orders',
                    'dataContractSpecification: 1.1.0\nid: acme-orders\ninfo:\n  title: Orders\n  version: 1.0.0\n'
                    || 'models:\n  acme_orders:\n    fields:\n      id:\n        type: integer\n        required: true\n'
             WHERE $1::uuid IS NOT NULL",
            true,
        ),
        (
            "INSERT INTO incidents (id, tenant_id, asset_id, source_kind, severity, title, began_at, opened_at)
             VALUES ($1, 'acme', $2::uuid, 'anomaly', 'high', 'row count drop', now(), now())",
            true,
        ),
    ] {
        let query = sqlx::query(sqlx::AssertSqlSafe(statement)).bind(uuid::Uuid::now_v7());
        let query = if with_asset { query.bind(&asset) } else { query };
        query.execute(&db.pool).await.unwrap();
    }
    let anomaly: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM anomaly_events WHERE tenant_id = 'acme' LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let sla: uuid::Uuid = sqlx::query_scalar("SELECT id FROM slas WHERE tenant_id = 'acme' LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    // Alerts, an incident with its timeline and a notification with its delivery job, through
    // the incident engine: a failing high-severity check routed to the tenant's channel.
    let failed = cwic_control_plane::events::Event::at(
        "acme",
        chrono::Utc::now(),
        cwic_control_plane::events::EventData::CheckResultStored(
            cwic_control_plane::events::CheckResultStored {
                asset_id: asset.parse().unwrap(),
                check: "acme_orders_have_ids".into(),
                status: "fail".into(),
                severity: "high".into(),
                dimension: "completeness".into(),
                observed_at: chrono::Utc::now(),
                batch_id: uuid::Uuid::now_v7(),
                failing_rows: Some(1),
                total_rows: Some(2),
            },
        ),
    );
    let applied = cwic_control_plane::incidents::engine::apply(&store, &[failed])
        .await
        .unwrap();
    assert_eq!((applied.opened, applied.notifications), (1, 1));
    let incident: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM incidents WHERE tenant_id = 'acme' AND rule_key <> '' LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    store.close().await;

    let tables: Vec<String> = sqlx::query_scalar(TENANT_TABLES)
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let mut empty = Vec::new();
    for table in &tables {
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{table}\" WHERE tenant_id = 'acme'"
        )))
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if rows == 0 {
            empty.push(table.clone());
        }
    }
    assert!(
        empty.is_empty(),
        "tenant tables the seeding leaves empty (seed them in seed_acme, through their flow if it has one): {empty:?}"
    );
    Seeded {
        acme,
        asset,
        anomaly: anomaly.to_string(),
        sla: sla.to_string(),
        incident: incident.to_string(),
    }
}

#[tokio::test]
async fn every_tenant_table_has_row_level_security_that_the_api_role_cannot_escape() {
    let db = TestDb::create("isolation").await.unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    // A metric partition made on demand must carry the wall too.
    store
        .ingest_batch(
            &TenantId::parse("acme").unwrap(),
            &AgentId::parse("acme-wh").unwrap(),
            &acme_batch(1_700_000_000_000, 10.0),
            None,
        )
        .await
        .unwrap();
    store.close().await;

    let tables: Vec<String> = sqlx::query_scalar(TENANT_TABLES)
        .fetch_all(&db.pool)
        .await
        .unwrap();
    for expected in [
        "assets",
        "metric_points",
        "metric_points_202311",
        "memberships",
        "audit_log",
    ] {
        assert!(
            tables.iter().any(|table| table == expected),
            "{expected} in {tables:?}"
        );
    }
    // Enabled, with the policy for the API role that both filters (USING) and refuses (WITH CHECK)
    // by the transaction's tenant, on a table the API role does not own. Row-level security is
    // not FORCEd: the owner (ingest's COPY, background jobs) must not be restricted, and FORCE
    // only matters to a table's owner, which cwic_api never is (checked here).
    let unguarded: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text,
                concat_ws(', ',
                    CASE WHEN NOT c.relrowsecurity THEN 'row-level security disabled' END,
                    CASE WHEN p.polname IS NULL THEN 'no tenant_wall policy' END,
                    CASE WHEN p.polname IS NOT NULL AND NOT ('cwic_api'::regrole::oid = ANY (p.polroles))
                         THEN 'the policy is not for cwic_api' END,
                    CASE WHEN p.polname IS NOT NULL AND p.polcmd <> '*' THEN 'the policy covers only some commands' END,
                    CASE WHEN p.polname IS NOT NULL AND NOT p.polpermissive THEN 'the policy is restrictive only' END,
                    CASE WHEN p.polname IS NOT NULL AND (
                              pg_get_expr(p.polqual, p.polrelid) IS DISTINCT FROM
                                  '(tenant_id = current_setting(''cwic.tenant''::text, true))'
                           OR pg_get_expr(p.polwithcheck, p.polrelid) IS DISTINCT FROM
                                  '(tenant_id = current_setting(''cwic.tenant''::text, true))')
                         THEN 'the policy does not compare tenant_id with cwic.tenant' END,
                    CASE WHEN c.relowner = 'cwic_api'::regrole::oid THEN 'owned by cwic_api' END)
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
         LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = 'tenant_wall'
         WHERE c.relkind IN ('r', 'p')
         ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let unguarded: Vec<_> = unguarded
        .into_iter()
        .filter(|(_, problems)| !problems.is_empty())
        .collect();
    assert!(
        unguarded.is_empty(),
        "tenant tables without a sound wall: {unguarded:?}"
    );
    // Any other policy on these tables would widen what the API role sees (policies are OR-ed).
    let extra: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, p.polname::text FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
         WHERE p.polname <> 'tenant_wall' AND p.polpermissive",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        extra.is_empty(),
        "permissive policies besides tenant_wall: {extra:?}"
    );
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'cwic_api'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(
        !superuser && !bypass,
        "cwic_api must not bypass row-level security"
    );
}

#[tokio::test]
async fn another_tenant_reads_and_changes_nothing_in_any_tenant_table() {
    let db = TestDb::create("isolation").await.unwrap();
    let api = Api::start(&db).await;
    seed_acme(&db, &api).await;

    let tables: Vec<String> = sqlx::query_scalar(TENANT_TABLES)
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert!(tables.len() >= 21, "{tables:?}");
    for table in &tables {
        let acme_rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{table}\" WHERE tenant_id = 'acme'"
        )))
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert!(acme_rows > 0, "{table} has no row of acme to protect");
        // As the API role: another tenant, no tenant at all, and acme itself.
        for (as_tenant, expected) in [(Some("globex"), 0), (None, 0), (Some("acme"), acme_rows)] {
            let mut tx = db.pool.begin().await.unwrap();
            sqlx::raw_sql("SET LOCAL ROLE cwic_api")
                .execute(&mut *tx)
                .await
                .unwrap();
            if let Some(tenant) = as_tenant {
                sqlx::query("SELECT set_config('cwic.tenant', $1, true)")
                    .bind(tenant)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            let seen: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM \"{table}\"")))
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
            assert_eq!(
                seen, expected,
                "{table} read by the API role as tenant {as_tenant:?}"
            );
            if as_tenant == Some("globex") {
                // Writes reach no row of acme's either (the audit log refuses them outright).
                for statement in [
                    format!("UPDATE \"{table}\" SET tenant_id = 'globex'"),
                    format!("DELETE FROM \"{table}\""),
                ] {
                    sqlx::raw_sql("SAVEPOINT attempt")
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    match sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                        .execute(&mut *tx)
                        .await
                    {
                        Ok(done) => assert_eq!(done.rows_affected(), 0, "{statement} as globex"),
                        Err(error) => {
                            assert!(
                                table == "audit_log" && error.to_string().contains("permission denied"),
                                "{statement} as globex: {error}"
                            );
                            sqlx::raw_sql("ROLLBACK TO SAVEPOINT attempt")
                                .execute(&mut *tx)
                                .await
                                .unwrap();
                        }
                    }
                }
            }
            tx.rollback().await.unwrap();
        }
    }
    // A row written as acme's by another tenant is refused by the policy's check.
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::raw_sql("SET LOCAL ROLE cwic_api; SELECT set_config('cwic.tenant', 'globex', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let error = sqlx::query(
        "INSERT INTO metric_bounds (tenant_id, asset_id, metric, column_name)
         SELECT 'acme', id, 'distinct_count', 'id' FROM assets WHERE tenant_id = 'acme'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    assert_eq!(
        error.rows_affected(),
        0,
        "globex sees no asset of acme's to bound"
    );
    let error = sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, target, outcome, source_ip, details)
         VALUES ('acme', 'mallory', 'forged', '', 'success', '', '{}')",
    )
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn a_tenant_handle_is_walled_even_on_a_single_owner_pool() {
    let db = TestDb::create("isolation").await.unwrap();
    // A store over the owner's pool alone (as tests make them): its tenant handles still act as
    // the API role in every transaction.
    let store = Store::from_pool(db.pool.clone());
    store.migrate().await.unwrap();
    let acme = TenantId::parse("acme").unwrap();
    store
        .ingest_batch(
            &acme,
            &AgentId::parse("acme-wh").unwrap(),
            &acme_batch(1_700_000_000_000, 10.0),
            None,
        )
        .await
        .unwrap();
    let globex = store.tenant(&TenantId::parse("globex").unwrap());
    assert_eq!(globex.list_assets(None, 10, 0).await.unwrap().total, 0);
    assert_eq!(
        store.tenant(&acme).list_assets(None, 10, 0).await.unwrap().total,
        1
    );
    let mut tx = globex.begin().await.unwrap();
    let (user, tenant): (String, String) =
        sqlx::query_as("SELECT current_user::text, current_setting('cwic.tenant')")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!((user.as_str(), tenant.as_str()), ("cwic_api", "globex"));
    // A query that names acme outright still sees nothing of it.
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM metric_points WHERE tenant_id = 'acme'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    tx.rollback().await.unwrap();
    // The API's handle on the same store answers the same way.
    let api = store.api();
    assert_eq!(
        api.tenant(&TenantId::parse("globex").unwrap())
            .list_agents()
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(api.tenant(&acme).list_agents().await.unwrap().len(), 1);
}

#[tokio::test]
async fn another_tenants_token_gets_nothing_of_acme_from_any_read_route() {
    let db = TestDb::create("isolation").await.unwrap();
    let api = Api::start(&db).await;
    let seeded = seed_acme(&db, &api).await;
    let globex = mint_token(&db.url, "globex", "owner").await.unwrap();

    // What only acme's data contains: if one of these comes back to globex, a route leaked.
    let names = [
        "acme_orders",
        "acme_totals",
        "acme-warehouse",
        "ada@acme.example",
        "acme-ci",
        "acme-corp",
        "acme-wh",
        "acme_orders_have_ids",
        "acme's refused batch",
        "idp.acme.example",
    ];
    let ids = [seeded.asset.as_str(), seeded.anomaly.as_str()];

    let (status, document) = api.call(Method::GET, "/api/v1/openapi.json", &globex, None).await;
    assert_eq!(status, 200);
    let mut acme_answers = String::new();
    let mut checked = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        if item.get("get").is_none()
            || template.starts_with("/api/v1/auth/sso")
            || template == "/api/v1/openapi.json"
        {
            continue;
        }
        let id = if template.starts_with("/api/v1/anomalies/") {
            &seeded.anomaly
        } else if template.starts_with("/api/v1/slas/") {
            &seeded.sla
        } else if template.starts_with("/api/v1/incidents/") {
            &seeded.incident
        } else {
            &seeded.asset
        };
        let query = match template.as_str() {
            "/api/v1/assets/{id}/anomalies" | "/api/v1/assets/{id}/forecast" => {
                "?metric=row_count".to_owned()
            }
            "/api/v1/lineage/path" => {
                "?namespace=acme-warehouse&from_dataset=public.acme_orders&to_dataset=mart.acme_totals"
                    .to_owned()
            }
            "/api/v1/lineage/upstream" => "?namespace=acme-warehouse&dataset=mart.acme_totals".to_owned(),
            "/api/v1/lineage/downstream" | "/api/v1/lineage/impact" => {
                "?namespace=acme-warehouse&dataset=public.acme_orders".to_owned()
            }
            "/api/v1/anomalies" => format!("?asset={}", seeded.asset),
            _ => String::new(),
        };
        let path = format!("{}{query}", template.replace("{id}", id));

        // acme itself is answered, with its data: the markers are real.
        let (status, answer) = api.call(Method::GET, &path, &seeded.acme, None).await;
        assert_eq!(status, 200, "GET {path} as acme: {answer}");
        acme_answers.push_str(&answer.to_string());

        let (status, answer) = api.call(Method::GET, &path, &globex, None).await;
        let text = answer.to_string();
        assert!(
            status == 200 || status == 404,
            "GET {path} as globex: {status} {answer}"
        );
        // Nothing of acme's comes back but what the caller named itself (a 404 may repeat it).
        for marker in names.iter().chain(&ids).filter(|marker| !path.contains(**marker)) {
            assert!(
                !text.contains(marker),
                "GET {path} as globex shows acme's `{marker}`: {answer}"
            );
        }
        checked.push(template.clone());
    }
    for marker in names.iter().chain(&ids) {
        assert!(
            acme_answers.contains(marker),
            "no route showed acme its own `{marker}`: the check above proves nothing for it"
        );
    }
    for expected in [
        "/api/v1/assets",
        "/api/v1/assets/{id}",
        "/api/v1/assets/{id}/checks",
        "/api/v1/assets/{id}/metrics",
        "/api/v1/anomalies/{id}",
        "/api/v1/anomalies/{id}/causes",
        "/api/v1/lineage/impact",
        "/api/v1/members",
        "/api/v1/tokens",
        "/api/v1/audit",
        "/api/v1/sso/connections",
        "/api/v1/dead-letters",
        "/api/v1/agents",
        "/api/v1/warnings",
        "/api/v1/slas",
        "/api/v1/slas/{id}/compliance",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/notifications",
        "/api/v1/routing-rules",
        "/api/v1/ownership",
        "/api/v1/digests",
        "/api/v1/incidents/{id}/routing",
    ] {
        assert!(
            checked.iter().any(|route| route == expected),
            "{expected} not in {checked:?}"
        );
    }
}
