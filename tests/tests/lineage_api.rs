//! Lineage through the API: a dbt manifest and OpenLineage events build a graph in PostgreSQL; upstream,
//! downstream, impact and path read it, as of now and as of earlier moments (time travel).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use cwic_control_plane::app::Application;
use cwic_control_plane::store::Store;
use cwic_e2e::{TestDb, mint_token, test_serve_config};
use cwic_proto::agent::v1::{AssetObservation, Metric, MetricBatch};
use cwic_shared::{AgentId, TenantId};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

struct Api {
    base: String,
    database_url: String,
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
            database_url: db.url.clone(),
            client: reqwest::Client::new(),
            cancel,
        }
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(mint_token(&self.database_url, "acme", "editor").await.unwrap())
            .json(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn get_as(&self, tenant: &str, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(mint_token(&self.database_url, tenant, "viewer").await.unwrap())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.get_as("acme", path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn manifest(generated_at: &str, stg_orders_source: &str) -> Value {
    json!({
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                     "generated_at": generated_at, "adapter_type": "postgres", "project_name": "shop_dbt"},
        "sources": {
            "source.shop_dbt.raw.orders": {"database": "wh", "schema": "raw", "name": "orders", "identifier": "orders"},
            "source.shop_dbt.raw.orders_v2": {"database": "wh", "schema": "raw", "name": "orders_v2", "identifier": "orders_v2"},
            "source.shop_dbt.raw.customers": {"database": "wh", "schema": "raw", "name": "customers", "identifier": "customers"}
        },
        "nodes": {
            "model.shop_dbt.stg_orders": {
                "resource_type": "model", "database": "wh", "schema": "analytics", "name": "stg_orders", "alias": "stg_orders",
                "compiled_code": format!("select id as order_id, customer_id, amount from \"wh\".\"raw\".\"{stg_orders_source}\""),
                "depends_on": {"nodes": [format!("source.shop_dbt.raw.{stg_orders_source}")]}
            },
            "model.shop_dbt.customer_revenue": {
                "resource_type": "model", "database": "wh", "schema": "analytics", "name": "customer_revenue",
                "compiled_code": "select c.id as customer_id, c.country, sum(o.amount) as revenue\nfrom \"wh\".\"analytics\".\"stg_orders\" o\njoin \"wh\".\"raw\".\"customers\" c on c.id = o.customer_id\ngroup by c.id, c.country",
                "depends_on": {"nodes": ["model.shop_dbt.stg_orders", "source.shop_dbt.raw.customers"]}
            },
            "test.shop_dbt.not_null_stg_orders_order_id": {
                "resource_type": "test", "database": "wh", "schema": "analytics", "name": "not_null",
                "depends_on": {"nodes": ["model.shop_dbt.stg_orders"]}
            }
        }
    })
}

fn names(nodes: &Value) -> Vec<String> {
    let mut names: Vec<String> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|node| match node["column"].as_str() {
            Some(column) => format!("{}.{column}", node["dataset"].as_str().unwrap()),
            None => node["dataset"].as_str().unwrap().to_owned(),
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn dbt_and_openlineage_build_a_graph_that_can_be_read_as_of_any_time() {
    let db = TestDb::create("lineage").await.unwrap();
    let api = Api::start(&db).await;

    let (status, body) = api
        .post(
            "/api/v1/lineage/dbt?namespace=shop",
            &manifest("2026-01-01T00:00:00Z", "orders"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["jobs"].clone(), body["warnings"].clone()),
        (json!(2), json!([]))
    );
    let opened_first = body["edges_opened"].as_u64().unwrap();
    assert!(opened_first > 0);
    // Posting the same manifest again changes nothing.
    let (_, again) = api
        .post(
            "/api/v1/lineage/dbt?namespace=shop",
            &manifest("2026-01-01T00:00:00Z", "orders"),
        )
        .await;
    assert_eq!(
        (again["edges_opened"].clone(), again["edges_closed"].clone()),
        (json!(0), json!(0))
    );

    // Table-level upstream of the mart, and column-level upstream of its revenue column.
    let upstream = api
        .get("/api/v1/lineage/upstream?namespace=shop&dataset=analytics.customer_revenue")
        .await;
    assert_eq!(
        names(&upstream["nodes"]),
        ["analytics.stg_orders", "raw.customers", "raw.orders"]
    );
    let revenue = api
        .get("/api/v1/lineage/upstream?namespace=shop&dataset=analytics.customer_revenue&column=revenue")
        .await;
    assert_eq!(
        names(&revenue["nodes"]),
        ["analytics.stg_orders.amount", "raw.orders.amount"]
    );
    let kinds: Vec<&str> = revenue["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["aggregate", "direct"],
        "sum(amount) aggregates; the staging model copies"
    );

    // An OpenLineage run (as Airflow would post it) exports the mart; its column lineage joins the graph.
    let event = json!({
        "eventType": "COMPLETE", "eventTime": "2026-01-01T06:00:00Z",
        "run": {"runId": "0190f0c2-0000-7000-8000-000000000001"},
        "job": {"namespace": "airflow", "name": "export_revenue"},
        "inputs": [{"namespace": "shop", "name": "analytics.customer_revenue"}],
        "outputs": [{"namespace": "shop", "name": "reporting.revenue_export", "facets": {"columnLineage": {
            "_producer": "https://example.test", "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ColumnLineageDatasetFacet.json",
            "fields": {"total": {"inputFields": [{"namespace": "shop", "name": "analytics.customer_revenue", "field": "revenue",
                                                   "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]}}}}}],
        "producer": "https://github.com/apache/airflow", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    });
    let (status, body) = api.post("/api/v1/lineage", &event).await;
    assert_eq!((status, body["recorded"].clone()), (200, json!(true)), "{body}");

    let path = api
        .get("/api/v1/lineage/path?namespace=shop&from_dataset=raw.orders&from_column=amount&to_dataset=reporting.revenue_export&to_column=total")
        .await;
    assert_eq!(
        names(&path["path"]),
        [
            "analytics.customer_revenue.revenue",
            "analytics.stg_orders.amount",
            "raw.orders.amount",
            "reporting.revenue_export.total"
        ]
    );
    assert_eq!(
        path["path"][0]["dataset"], "raw.orders",
        "the path runs from the source to the target"
    );

    // Impact of the raw table: everything downstream, with the jobs that carry the data.
    let impact = api
        .get("/api/v1/lineage/impact?namespace=shop&dataset=raw.orders")
        .await;
    let impacted: Vec<(String, u64)> = impact["impacted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            (
                node["dataset"].as_str().unwrap().to_owned(),
                node["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        impacted,
        [
            ("analytics.stg_orders".into(), 1),
            ("analytics.customer_revenue".into(), 2),
            ("reporting.revenue_export".into(), 3)
        ]
    );
    assert_eq!(impact["impacted"][2]["via_jobs"], json!(["export_revenue"]));

    // The staging model moves to a new source table: time travel shows both worlds.
    let (_, changed) = api
        .post(
            "/api/v1/lineage/dbt?namespace=shop",
            &manifest("2026-02-01T00:00:00Z", "orders_v2"),
        )
        .await;
    assert!(changed["edges_closed"].as_u64().unwrap() > 0, "{changed}");
    let now = api
        .get("/api/v1/lineage/upstream?namespace=shop&dataset=analytics.stg_orders")
        .await;
    assert_eq!(names(&now["nodes"]), ["raw.orders_v2"]);
    let january = api
        .get(
            "/api/v1/lineage/upstream?namespace=shop&dataset=analytics.stg_orders&as_of=2026-01-15T00:00:00Z",
        )
        .await;
    assert_eq!(names(&january["nodes"]), ["raw.orders"]);
    let before = api
        .get(
            "/api/v1/lineage/upstream?namespace=shop&dataset=analytics.stg_orders&as_of=2025-12-01T00:00:00Z",
        )
        .await;
    assert_eq!(
        names(&before["nodes"]),
        Vec::<String>::new(),
        "nothing was known before the first manifest"
    );
    let old_impact = api
        .get("/api/v1/lineage/impact?namespace=shop&dataset=raw.orders")
        .await;
    assert_eq!(
        old_impact["impacted"],
        json!([]),
        "raw.orders feeds nothing any more"
    );

    // A stale manifest (older than what is recorded) is ignored rather than rewinding the graph.
    let (_, stale) = api
        .post(
            "/api/v1/lineage/dbt?namespace=shop",
            &manifest("2026-01-01T00:00:00Z", "orders"),
        )
        .await;
    assert_eq!(stale["edges_opened"], 0);
    assert_eq!(
        names(
            &api.get("/api/v1/lineage/upstream?namespace=shop&dataset=analytics.stg_orders")
                .await["nodes"]
        ),
        ["raw.orders_v2"]
    );

    // Another tenant sees none of it.
    let (status, _) = api
        .get_as(
            "globex",
            "/api/v1/lineage/upstream?namespace=shop&dataset=analytics.stg_orders",
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn sql_lineage_links_to_measured_assets_and_bad_input_is_named() {
    let db = TestDb::create("lineage").await.unwrap();
    let api = Api::start(&db).await;
    let store = Store::from_pool(db.pool.clone());
    let batch = MetricBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: "acme".into(),
        agent_id: "wh-1".into(),
        collected_at_unix_ms: 1_700_000_000_000,
        source_name: "shop".into(),
        source_kind: "postgres".into(),
        assets: vec![AssetObservation {
            schema: "public".into(),
            name: "daily_sales".into(),
            metrics: vec![Metric {
                name: "row_count".into(),
                column: String::new(),
                value: 3.0,
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    store
        .ingest_batch(
            &TenantId::parse("acme").unwrap(),
            &AgentId::parse("wh-1").unwrap(),
            &batch,
            None,
        )
        .await
        .unwrap();

    let request = json!({
        "namespace": "shop", "dialect": "postgres", "job": "refresh_daily_sales",
        "sql": "INSERT INTO daily_sales (day, total)\nSELECT date_trunc('day', ordered_at), sum(total_amount) FROM orders GROUP BY 1"
    });
    let (status, body) = api.post("/api/v1/lineage/sql", &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["source_tables"],
        json!([{"namespace": "shop", "name": "public.orders"}])
    );
    let impact = api
        .get("/api/v1/lineage/impact?namespace=shop&dataset=public.orders")
        .await;
    let asset_id: String = sqlx::query_scalar("SELECT id::text FROM assets WHERE name = 'daily_sales'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        impact["impacted"][0]["asset_id"],
        json!(asset_id),
        "lineage meets the asset the agent measures"
    );
    let total = api
        .get("/api/v1/lineage/upstream?namespace=shop&dataset=public.daily_sales&column=total")
        .await;
    assert_eq!(names(&total["nodes"]), ["public.orders.total_amount"]);
    assert_eq!(total["edges"][0]["kind"], "aggregate");

    let (status, body) = api
        .post(
            "/api/v1/lineage/sql",
            &json!({"namespace": "shop", "dialect": "postgres", "sql": "SELECT FROM WHERE ,,"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("sql syntax error at line 1, column "),
        "{body}"
    );
    let (status, body) = api
        .post(
            "/api/v1/lineage",
            &json!({"eventTime": "2026-01-01T00:00:00Z", "job": {"namespace": "x"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"]["field"], "job", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("missing field `name`"),
        "{body}"
    );
    let (status, body) = api
        .get_as(
            "acme",
            "/api/v1/lineage/upstream?namespace=shop&dataset=public.nothing",
        )
        .await;
    assert_eq!(
        (status, body["message"].clone()),
        (404, json!("no lineage for dataset shop/public.nothing"))
    );
    let (status, body) = api
        .get_as(
            "acme",
            "/api/v1/lineage/upstream?namespace=shop&dataset=public.orders&depth=99",
        )
        .await;
    assert_eq!((status, body["details"]["field"].clone()), (400, json!("depth")));
}
