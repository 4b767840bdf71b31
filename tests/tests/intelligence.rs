//! Intelligence over stored history, through the API against a real PostgreSQL: forecasts that
//! follow a known trend and daily cycle and predict a bound breach (early warnings), detection
//! passes that persist anomaly events, feedback that is visible and reversible, root-cause
//! ranking with a known upstream failure and a segment-specific NULL burst, a late load found by
//! the freshness rhythm, and a table whose metrics each stay in range while their combination
//! breaks, found by the multivariate table model.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use cwic_control_plane::app::Application;
use cwic_control_plane::detectors::rng::SeededRng;
use cwic_control_plane::detectors::{DetectorConfig, SeriesDetector};
use cwic_control_plane::store::Store;
use cwic_e2e::{TestDb, mint_token, test_serve_config};
use cwic_proto::agent::v1::{
    AssetKind, AssetObservation, CheckResult, Column, Metric, MetricBatch, SegmentCount,
};
use cwic_shared::{AgentId, TenantId};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// 2026-01-01T00:00:00Z.
const START_SECS: i64 = 1_767_225_600;
const HOUR_SECS: i64 = 3_600;

/// `2026-01-DDTHH:00:00Z` for an hour since the start (within January).
fn stamp(hour: i64) -> String {
    format!("2026-01-{:02}T{:02}:00:00Z", 1 + hour / 24, hour % 24)
}

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

    async fn send(
        &self,
        method: reqwest::Method,
        tenant: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(mint_token(&self.database_url, tenant, "editor").await.unwrap());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, "acme", path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        let (status, reply) = self.send(reqwest::Method::POST, "acme", path, Some(body)).await;
        assert_eq!(status, 200, "POST {path}: {reply}");
        reply
    }

    /// Runs a detection pass now; returns how many series it judged.
    async fn scan(&self) -> u64 {
        self.post("/api/v1/anomalies/scan", &json!({})).await["series"]
            .as_u64()
            .unwrap()
    }

    async fn asset_id(&self, name: &str) -> String {
        let page = self.get(&format!("/api/v1/assets?q={name}")).await;
        let item = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["name"] == name)
            .unwrap_or_else(|| panic!("no asset {name} in {page}"));
        item["id"].as_str().unwrap().to_owned()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// One table's observation: its columns, its row count and per-column NULL counts.
fn table(name: &str, rows: f64, nulls: &[(&str, f64)]) -> AssetObservation {
    AssetObservation {
        schema: "public".into(),
        name: name.into(),
        kind: AssetKind::Table as i32,
        columns: nulls
            .iter()
            .enumerate()
            .map(|(index, (column, _))| Column {
                name: (*column).into(),
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
        .chain(nulls.iter().map(|(column, count)| Metric {
            name: "null_count".into(),
            column: (*column).into(),
            value: *count,
        }))
        .collect(),
        error: String::new(),
        ..Default::default()
    }
}

async fn ingest(store: &Store, hour: i64, assets: Vec<AssetObservation>) {
    ingest_at(store, START_SECS + hour * HOUR_SECS, assets).await;
}

/// Ingests one batch collected at `secs` (unix seconds).
async fn ingest_at(store: &Store, secs: i64, assets: Vec<AssetObservation>) {
    let at_ms = secs * 1_000;
    let batch = MetricBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: "acme".into(),
        agent_id: "wh-1".into(),
        agent_version: "0.1.0".into(),
        collected_at_unix_ms: at_ms,
        finished_at_unix_ms: at_ms + 5,
        source_name: "warehouse".into(),
        source_kind: "postgres".into(),
        assets,
    };
    let tenant = TenantId::parse("acme").unwrap();
    let agent = AgentId::parse("wh-1").unwrap();
    store.ingest_batch(&tenant, &agent, &batch, None).await.unwrap();
}

fn daily_cycle(hour: i64) -> f64 {
    100.0 * (std::f64::consts::TAU * (hour % 24) as f64 / 24.0).sin()
}

/// Row count of the forecast test: +10 rows an hour, a daily swing of +-100, noise within +-5.
fn trending_rows(hour: i64) -> f64 {
    1_000.0 + 10.0 * hour as f64 + daily_cycle(hour) + ((hour * 37) % 11) as f64 - 5.0
}

#[tokio::test]
async fn forecasts_follow_the_trend_and_daily_cycle_and_warn_before_a_bound_is_crossed() {
    let db = TestDb::create("intel").await.unwrap();
    let api = Api::start(&db).await;
    let store = Store::from_pool(db.pool.clone());
    let history_hours = 24 * 14;
    for hour in 0..history_hours {
        ingest(
            &store,
            hour,
            vec![table("events", trending_rows(hour), &[("id", 0.0)])],
        )
        .await;
    }
    let id = api.asset_id("events").await;

    let body = api
        .get(&format!(
            "/api/v1/assets/{id}/forecast?metric=row_count&horizon=48"
        ))
        .await;
    let forecast = &body["forecast"];
    assert_eq!(body["history_points"], history_hours);
    assert_eq!(forecast["interval_secs"], HOUR_SECS);
    assert_eq!(forecast["seasonal_period_secs"], 86_400);
    let trend = forecast["trend_per_day"].as_f64().unwrap();
    assert!((trend - 240.0).abs() < 5.0, "trend {trend} per day");
    let points = forecast["points"].as_array().unwrap();
    assert_eq!(points.len(), 48);
    for (step, point) in points.iter().enumerate() {
        let hour = history_hours + step as i64;
        let truth = 1_000.0 + 10.0 * hour as f64 + daily_cycle(hour);
        let (value, low, high) = (
            point["value"].as_f64().unwrap(),
            point["low"].as_f64().unwrap(),
            point["high"].as_f64().unwrap(),
        );
        assert_eq!(point["at"], stamp(hour));
        assert!(
            (value - truth).abs() < 15.0,
            "hour {hour}: forecast {value}, truth {truth}"
        );
        assert!(
            low < truth && truth < high,
            "hour {hour}: {truth} outside {low}..{high}"
        );
    }
    assert_eq!(body["breach"], Value::Null, "no bound set yet");

    // An upper bound the trend crosses within the horizon: the warning names the first hour the
    // noiseless truth is past it, give or take one step of forecast error.
    let bound = 4_700.0;
    let crossing = (history_hours..history_hours + 48)
        .find(|hour| 1_000.0 + 10.0 * *hour as f64 + daily_cycle(*hour) > bound)
        .unwrap();
    let (status, reply) = api
        .send(
            reqwest::Method::PUT,
            "acme",
            &format!("/api/v1/assets/{id}/bounds"),
            Some(&json!({"metric": "row_count", "upper": bound})),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    // A bounded series the forecast stays inside does not warn.
    let (status, _) = api
        .send(
            reqwest::Method::PUT,
            "acme",
            &format!("/api/v1/assets/{id}/bounds"),
            Some(&json!({"metric": "null_count", "column": "id", "upper": 10.0})),
        )
        .await;
    assert_eq!(status, 200);

    let warnings = api.get("/api/v1/warnings?horizon=48").await;
    let items = warnings["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{warnings}");
    let breach = &items[0]["breach"];
    assert_eq!(breach["side"], "upper");
    let hours_ahead = breach["in_secs"].as_i64().unwrap() / HOUR_SECS;
    let breach_hour = history_hours - 1 + hours_ahead;
    assert!(
        (breach_hour - crossing).abs() <= 1,
        "breach at hour {breach_hour}, truth crosses at {crossing}"
    );
    assert_eq!(breach["at"], stamp(breach_hour));
    assert_eq!(
        items[0]["message"],
        format!(
            "public.events row_count likely above its upper bound 4700 in about {hours_ahead} h (forecast {:.1})",
            breach["value"].as_f64().unwrap()
        )
    );
    // The same breach through the per-asset forecast, and nothing for another tenant.
    let body = api
        .get(&format!(
            "/api/v1/assets/{id}/forecast?metric=row_count&horizon=48"
        ))
        .await;
    assert_eq!(&body["breach"], breach);
    let (status, other) = api
        .send(reqwest::Method::GET, "globex", "/api/v1/warnings", None)
        .await;
    assert_eq!((status, other), (200, json!({"items": []})));

    let (status, error) = api
        .send(
            reqwest::Method::GET,
            "acme",
            &format!("/api/v1/assets/{id}/forecast?metric=row_count&horizon=0"),
            None,
        )
        .await;
    assert_eq!(
        (status, error["message"].clone()),
        (400, json!("horizon must be between 1 and 1000, got 0"))
    );
}

/// Hourly row counts with a daily cycle and two bursts up at the same hour of the day: the second
/// 1.3 times as far out as the first.
fn bursty_rows(hour: i64) -> f64 {
    let cycle = 1.0 + 0.3 * (std::f64::consts::TAU * (hour % 24) as f64 / 24.0).sin();
    let noise = 1.0 + 0.02 * (((hour * 37) % 11) as f64 - 5.0) / 5.0;
    let burst = match hour {
        300 => 3.0,
        492 => 3.6,
        _ => 1.0,
    };
    1_000.0 * cycle * noise * burst
}

/// Waits until the control plane's worker has run every score job the stored batches queued
/// (each scored collection is a point of the table's `quality_score` series).
async fn scored(db: &TestDb) {
    let pool = db.pool.clone();
    cwic_e2e::wait_for("the score jobs", std::time::Duration::from_secs(60), || {
        let pool = pool.clone();
        async move {
            let pending: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE kind = 'score_asset' AND state IN ('queued', 'running')",
            )
            .fetch_one(&pool)
            .await?;
            Ok((pending == 0).then_some(()))
        }
    })
    .await
    .unwrap();
}

fn event_hours(events: &Value) -> Vec<(i64, Value)> {
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            let hour = (0..24 * 31)
                .find(|hour| event["observed_at"] == stamp(*hour))
                .unwrap();
            (hour, event["feedback"].clone())
        })
        .collect()
}

#[tokio::test]
async fn detection_passes_store_events_and_feedback_is_visible_and_reversible() {
    let db = TestDb::create("intel").await.unwrap();
    let api = Api::start(&db).await;
    let store = Store::from_pool(db.pool.clone());
    let hours = 24 * 25;
    for hour in 0..hours {
        ingest(
            &store,
            hour,
            vec![table("orders", bursty_rows(hour), &[("id", 0.0)])],
        )
        .await;
    }
    let id = api.asset_id("orders").await;

    // The detector alone, on the same history: the persisted events must be exactly its alerts.
    let mut detector = SeriesDetector::new(DetectorConfig::default());
    let expected: Vec<i64> = (0..hours)
        .filter(|hour| {
            detector
                .observe(START_SECS + hour * HOUR_SECS, bursty_rows(*hour))
                .anomaly
        })
        .collect();
    assert_eq!(expected, vec![300, 492]);

    // Three series: row_count, null_count of id, and the quality score of each scored collection
    // (once the control plane's worker scored the batches); the background task may have judged
    // them first.
    scored(&db).await;
    let judged = api.scan().await;
    assert!(judged <= 3);
    assert_eq!(api.scan().await, 0, "nothing new to judge");
    let all = api.get(&format!("/api/v1/anomalies?asset={id}")).await;
    assert_eq!(
        event_hours(&all),
        vec![(492, Value::Null), (300, Value::Null)],
        "newest first"
    );
    let first = all["items"][1].clone();
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(first["metric"], "row_count");
    assert_eq!(first["asset"], "public.orders");
    let (low, high, value) = (
        first["expected_low"].as_f64().unwrap(),
        first["expected_high"].as_f64().unwrap(),
        first["value"].as_f64().unwrap(),
    );
    assert!(
        low < high && high < value,
        "the burst is above its band {low}..{high}: {value}"
    );

    // A false positive: the band widens, so the later, comparable burst is no longer an anomaly.
    let marked = api
        .post(
            &format!("/api/v1/anomalies/{first_id}/feedback"),
            &json!({"verdict": "false_positive"}),
        )
        .await;
    assert_eq!(marked["feedback"], "false_positive");
    // Feedback makes the series be judged again (by this pass or the background task's).
    api.scan().await;
    let all = api.get(&format!("/api/v1/anomalies?asset={id}")).await;
    assert_eq!(event_hours(&all), vec![(300, json!("false_positive"))]);
    let open = api.get("/api/v1/anomalies?open=true").await;
    assert_eq!(open["items"], json!([]));
    // The asset's judged history (what the console draws) applies the same feedback.
    let judged_history = api
        .get(&format!("/api/v1/assets/{id}/anomalies?metric=row_count"))
        .await;
    assert_eq!(
        judged_history["anomalies"].as_array().unwrap().len(),
        0,
        "{judged_history}"
    );

    // Withdrawn: both are anomalies again.
    let (status, cleared) = api
        .send(
            reqwest::Method::DELETE,
            "acme",
            &format!("/api/v1/anomalies/{first_id}/feedback"),
            None,
        )
        .await;
    assert_eq!((status, cleared["feedback"].clone()), (200, Value::Null));
    api.scan().await;
    let all = api.get(&format!("/api/v1/anomalies?asset={id}")).await;
    assert_eq!(event_hours(&all), vec![(492, Value::Null), (300, Value::Null)]);
    let judged_history = api
        .get(&format!("/api/v1/assets/{id}/anomalies?metric=row_count"))
        .await;
    assert_eq!(
        judged_history["anomalies"].as_array().unwrap().len(),
        2,
        "{judged_history}"
    );

    // Expected (planned): left out of the model, so the later burst stays an anomaly.
    api.post(
        &format!("/api/v1/anomalies/{first_id}/feedback"),
        &json!({"verdict": "expected"}),
    )
    .await;
    api.scan().await;
    let all = api.get("/api/v1/anomalies").await;
    assert_eq!(
        event_hours(&all),
        vec![(492, Value::Null), (300, json!("expected"))]
    );
    let open = api.get("/api/v1/anomalies?open=true").await;
    assert_eq!(event_hours(&open), vec![(492, Value::Null)]);

    let (status, error) = api
        .send(
            reqwest::Method::POST,
            "acme",
            &format!("/api/v1/anomalies/{first_id}/feedback"),
            Some(&json!({"verdict": "fine"})),
        )
        .await;
    assert_eq!(
        (status, error["message"].clone()),
        (
            400,
            json!("verdict must be `expected` or `false_positive`, found `fine`")
        )
    );
    let (status, _) = api
        .send(
            reqwest::Method::DELETE,
            "globex",
            &format!("/api/v1/anomalies/{first_id}/feedback"),
            None,
        )
        .await;
    assert_eq!(status, 404, "another tenant's anomaly");
    let (status, other) = api
        .send(reqwest::Method::GET, "globex", "/api/v1/anomalies", None)
        .await;
    assert_eq!((status, other), (200, json!({"items": []})));
}

fn noisy(hour: i64, level: f64) -> f64 {
    level + ((hour * 37) % 11) as f64
}

#[tokio::test]
async fn root_causes_rank_the_upstream_failure_and_the_null_segment_first() {
    let db = TestDb::create("intel").await.unwrap();
    let api = Api::start(&db).await;
    let store = Store::from_pool(db.pool.clone());
    // raw_orders feeds orders (a load job). At hour 200 raw_orders loads a tenth of its rows and
    // an hour later so does orders; at hour 150 orders.amount has a burst of NULLs, almost all of
    // them in region `eu`.
    for hour in 0..240 {
        let raw_rows = if hour == 200 { 100.0 } else { noisy(hour, 1_000.0) };
        let rows = if hour == 201 { 100.0 } else { noisy(hour, 1_000.0) };
        let amount_nulls = if hour == 150 {
            300.0
        } else {
            2.0 + ((hour * 7) % 3) as f64
        };
        let mut orders = table("orders", rows, &[("id", 0.0), ("amount", amount_nulls)]);
        // The agent's segment counts by region and its check on amount, for the hours around the burst.
        if (140..=150).contains(&hour) {
            let (eu, us, apac) = if hour == 150 { (290, 6, 4) } else { (1, 1, 0) };
            orders.segments = [("eu", 400, eu), ("us", 500, us), ("apac", 100, apac)]
                .into_iter()
                .map(|(value, rows, nulls)| SegmentCount {
                    column: "amount".into(),
                    segment_column: "region".into(),
                    segment_value: value.into(),
                    rows,
                    nulls,
                })
                .collect();
            let failing = amount_nulls as u64;
            orders.checks = vec![CheckResult {
                name: "amount_not_null_share".into(),
                template: "null_share_max".into(),
                dimension: "completeness".into(),
                severity: "high".into(),
                status: if hour == 150 { "fail" } else { "pass" }.into(),
                columns: vec!["amount".into()],
                failing_rows: Some(failing),
                total_rows: Some(rows as u64),
                ..Default::default()
            }];
        }
        ingest(
            &store,
            hour,
            vec![table("raw_orders", raw_rows, &[("id", 0.0)]), orders],
        )
        .await;
    }
    let event = json!({
        "eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00Z",
        "run": {"runId": "0190f0c2-0000-7000-8000-0000000000aa"},
        "job": {"namespace": "airflow", "name": "load_orders"},
        "inputs": [{"namespace": "warehouse", "name": "public.raw_orders"}],
        "outputs": [{"namespace": "warehouse", "name": "public.orders"}],
        "producer": "https://github.com/apache/airflow",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    });
    assert_eq!(api.post("/api/v1/lineage", &event).await["recorded"], true);
    api.scan().await;
    let events = api.get("/api/v1/anomalies?limit=1000").await;
    let find = |asset: &str, metric: &str, column: &str, hour: i64| {
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|event| {
                event["asset"] == asset
                    && event["metric"] == metric
                    && event["column"] == column
                    && event["observed_at"] == stamp(hour)
            })
            .unwrap_or_else(|| panic!("no {asset} {metric} {column} anomaly at hour {hour}: {events}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Every injected failure was detected: the causes are anomalies themselves.
    find("public.raw_orders", "row_count", "", 200);

    let drop = find("public.orders", "row_count", "", 201);
    let report = api.get(&format!("/api/v1/anomalies/{drop}/causes")).await;
    let causes = report["causes"].as_array().unwrap();
    assert_eq!(causes[0]["kind"], "upstream_anomaly", "{report}");
    assert_eq!(causes[0]["details"]["event"]["asset"], "public.raw_orders");
    assert_eq!(causes[0]["details"]["event"]["observed_at"], stamp(200));
    assert_eq!(causes[0]["details"]["hops"], 1);
    let explanation = report["explanation"].as_str().unwrap();
    assert!(
        explanation.starts_with("Row_count of public.orders was 100 at 2026-01-09 09:00 UTC")
            && explanation.contains(
                "Most likely cause: upstream row_count of public.raw_orders was 100 at 2026-01-09 08:00 UTC"
            ),
        "{explanation}"
    );

    let burst = find("public.orders", "null_count", "amount", 150);
    let report = api.get(&format!("/api/v1/anomalies/{burst}/causes")).await;
    let causes = report["causes"].as_array().unwrap();
    assert_eq!(causes[0]["kind"], "segment", "{report}");
    assert_eq!(causes[0]["details"]["segment_column"], "region");
    assert_eq!(causes[0]["details"]["segment_value"], "eu");
    // Increases over the usual counts: eu 289, us 5, apac 4.
    let share = causes[0]["score"].as_f64().unwrap();
    assert!((share - 289.0 / 298.0).abs() < 1e-9, "share {share}");
    assert!(
        report["explanation"]
            .as_str()
            .unwrap()
            .contains("Most likely cause: region = eu holds 97% of the new NULLs in amount"),
        "{report}"
    );
    // The check on amount that began failing with the burst is the next candidate.
    assert_eq!(causes[1]["kind"], "failing_check", "{report}");
    assert_eq!(
        causes[1]["details"]["check"]["check_name"],
        "amount_not_null_share"
    );
    assert!(
        causes[1]["summary"]
            .as_str()
            .unwrap()
            .contains("check amount_not_null_share (completeness) began to fail"),
        "{report}"
    );
    // A check that was already failing before the window is not a new cause: only hour 150 turned.
    assert_eq!(
        causes
            .iter()
            .filter(|cause| cause["kind"] == "failing_check")
            .count(),
        1,
        "{report}"
    );

    let (status, _) = api
        .send(
            reqwest::Method::GET,
            "globex",
            &format!("/api/v1/anomalies/{burst}/causes"),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

/// An asset observation with the given metrics (metric, column, value) and those columns.
fn observation(name: &str, metrics: &[(&str, &str, f64)]) -> AssetObservation {
    let mut columns: Vec<&str> = metrics
        .iter()
        .map(|(_, column, _)| *column)
        .filter(|column| !column.is_empty())
        .collect();
    columns.dedup();
    AssetObservation {
        schema: "public".into(),
        name: name.into(),
        kind: AssetKind::Table as i32,
        columns: columns
            .iter()
            .enumerate()
            .map(|(index, column)| Column {
                name: (*column).into(),
                data_type: "numeric".into(),
                nullable: true,
                ordinal: index as i32 + 1,
            })
            .collect(),
        metrics: metrics
            .iter()
            .map(|(name, column, value)| Metric {
                name: (*name).into(),
                column: (*column).into(),
                value: *value,
            })
            .collect(),
        error: String::new(),
        ..Default::default()
    }
}

fn stamp_secs(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn a_late_load_and_a_broken_table_are_found_by_their_models_and_feedback_applies() {
    let db = TestDb::create("intel").await.unwrap();
    let api = Api::start(&db).await;
    let store = Store::from_pool(db.pool.clone());

    // `loads`: loaded hourly at about :05, its freshness lag collected every 20 minutes for three
    // days. The loads of hours 50, 51 and 52 never come; hour 53's does.
    let loads: Vec<i64> = (0..72)
        .filter(|hour| !(50..53).contains(hour))
        .map(|hour| START_SECS + hour * HOUR_SECS + 300 + (hour * 37 % 7) * 60)
        .collect();
    let mut collection = loads[0] + 600;
    while collection < START_SECS + 72 * HOUR_SECS {
        let last = loads.iter().rev().find(|load| **load <= collection).unwrap();
        ingest_at(
            &store,
            collection,
            vec![observation(
                "loads",
                &[("freshness_lag", "", (collection - last) as f64)],
            )],
        )
        .await;
        collection += 1_200;
    }

    // `sales`: hourly batches of varying size for 15 days; NULL emails and distinct customers
    // follow the rows, total follows price. At hour 300 the row count is 1.8 times an ordinary
    // batch (within the usual range) while NULLs and distinct customers stay those of the
    // ordinary batch.
    let mut rng = SeededRng::new(42);
    let mut volume = 0.0f64;
    for hour in 0..360 {
        volume = 0.6 * volume + 0.8 * rng.normal();
        let mut rows = (20_000.0 * (0.35 * volume).exp()).round();
        if hour == 300 {
            rows = 16_000.0;
        }
        let nulls = (rows * 0.03 * (1.0 + 0.04 * rng.normal())).round();
        let distinct = (rows * 0.4 * (1.0 + 0.02 * rng.normal())).round();
        let price = 40.0 * (0.15 * rng.normal()).exp();
        let total = price * 3.0 * (1.0 + 0.01 * rng.normal());
        let reported_rows = if hour == 300 { rows * 1.8 } else { rows };
        ingest(
            &store,
            hour,
            vec![observation(
                "sales",
                &[
                    ("row_count", "", reported_rows),
                    ("null_count", "email", nulls),
                    ("distinct_count", "customer_id", distinct),
                    ("mean", "price", price),
                    ("mean", "total", total),
                ],
            )],
        )
        .await;
    }
    let loads_id = api.asset_id("loads").await;
    let sales_id = api.asset_id("sales").await;
    // The pass judges the score series too: with scoring half done it would judge half a history.
    scored(&db).await;
    api.scan().await;

    // One late load, seen at the first collection more than an hour and a tolerance after the
    // load of hour 49; the band is [0, expected interval + tolerance].
    let events = api.get(&format!("/api/v1/anomalies?asset={loads_id}")).await;
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{events}");
    let late = &items[0];
    assert_eq!(
        (late["metric"].as_str(), late["column"].as_str()),
        (Some("freshness_lag"), Some(""))
    );
    let last_load = loads[49];
    let high = late["expected_high"].as_f64().unwrap();
    assert_eq!(late["expected_low"], 0.0);
    assert!((3_600.0..5_400.0).contains(&high), "band up to {high} s");
    let lag = late["value"].as_f64().unwrap();
    assert!(
        high < lag && lag <= high + 1_200.0,
        "lag {lag} against band {high}"
    );
    let observed = chrono::DateTime::parse_from_rfc3339(late["observed_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(
        observed - last_load,
        lag as i64,
        "the lag is the time since the last load"
    );
    assert!(observed < loads[50], "found before the load of hour 53 arrived");
    let interval = late["details"]["expected_interval_secs"].as_f64().unwrap();
    assert!((interval - 3_600.0).abs() <= 300.0, "{late}");
    assert_eq!(late["details"]["last_update"], last_load);
    // The judged history draws the same band and finds the same point.
    let judged = api
        .get(&format!(
            "/api/v1/assets/{loads_id}/anomalies?metric=freshness_lag"
        ))
        .await;
    assert_eq!(judged["anomalies"], json!([stamp_secs(observed)]));

    // Early warnings follow the load rhythm: hourly loads keep the lag under a 2 h bound, but not
    // under a 30 min one, which the lag crosses before the next load is due.
    let bound = |upper: f64| {
        let api = &api;
        let loads_id = loads_id.clone();
        async move {
            let (status, reply) = api
                .send(
                    reqwest::Method::PUT,
                    "acme",
                    &format!("/api/v1/assets/{loads_id}/bounds"),
                    Some(&json!({"metric": "freshness_lag", "upper": upper})),
                )
                .await;
            assert_eq!(status, 200, "{reply}");
            api.get("/api/v1/warnings?horizon=24").await
        }
    };
    let loose = bound(7_200.0).await;
    assert_eq!(loose["items"], json!([]), "{loose}");
    let tight = bound(1_800.0).await;
    let warning = &tight["items"][0];
    assert_eq!(warning["metric"], "freshness_lag", "{tight}");
    assert!(warning["breach"]["in_secs"].as_i64().unwrap() <= 3_600, "{tight}");
    let message = warning["message"].as_str().unwrap();
    assert!(
        message.starts_with("public.loads likely later than its 30 min freshness bound in about"),
        "{message}"
    );

    // The broken batch: one table_vector event, explained by the shares that did not follow the
    // rows, and no series of the table alerted then (each metric stayed within its range).
    let events = api
        .get(&format!("/api/v1/anomalies?asset={sales_id}&limit=1000"))
        .await;
    let items = events["items"].as_array().unwrap();
    let table_events: Vec<&Value> = items
        .iter()
        .filter(|event| event["metric"] == "table_vector")
        .collect();
    assert_eq!(table_events.len(), 1, "{events}");
    let broken = table_events[0];
    assert_eq!(broken["observed_at"], stamp(300));
    assert_eq!(broken["column"], "");
    assert!(broken["value"].as_f64().unwrap() > broken["expected_high"].as_f64().unwrap());
    let first = broken["details"]["contributions"][0]["feature"].as_str().unwrap();
    assert!(
        ["null_share:email", "distinct_ratio:customer_id"].contains(&first),
        "{broken}"
    );
    assert!(
        items.iter().all(|event| event["observed_at"] != stamp(300)
                || event["metric"] == "table_vector"
                // The score follows the same shares; whether it leaves its band depends on how the
                // score jobs were batched, so it is not asserted either way.
                || event["metric"] == "quality_score"),
        "{events}"
    );

    let report = api
        .get(&format!(
            "/api/v1/anomalies/{}/causes",
            broken["id"].as_str().unwrap()
        ))
        .await;
    let explanation = report["explanation"].as_str().unwrap();
    assert!(
        explanation.starts_with(&format!(
            "The combination of public.sales's metrics was unusual at 2026-01-13 12:00 UTC (isolation score {:.3}",
            broken["value"].as_f64().unwrap()
        )) && explanation.contains(&format!("furthest from usual: {first} ")),
        "{explanation}"
    );

    // Feedback on the table event: a false positive leaves it judged and no longer an anomaly in
    // the judged history; withdrawn, the history shows it again.
    let broken_id = broken["id"].as_str().unwrap().to_owned();
    let history_path = format!("/api/v1/assets/{sales_id}/anomalies?metric=table_vector");
    assert_eq!(api.get(&history_path).await["anomalies"], json!([stamp(300)]));
    api.post(
        &format!("/api/v1/anomalies/{broken_id}/feedback"),
        &json!({"verdict": "false_positive"}),
    )
    .await;
    api.scan().await;
    assert_eq!(api.get(&history_path).await["anomalies"], json!([]));
    let open = api
        .get(&format!("/api/v1/anomalies?asset={sales_id}&open=true"))
        .await;
    assert!(
        open["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|event| event["metric"] != "table_vector"),
        "{open}"
    );
    let (status, _) = api
        .send(
            reqwest::Method::DELETE,
            "acme",
            &format!("/api/v1/anomalies/{broken_id}/feedback"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    api.scan().await;
    assert_eq!(api.get(&history_path).await["anomalies"], json!([stamp(300)]));
    let events = api
        .get(&format!("/api/v1/anomalies?asset={sales_id}&limit=1000"))
        .await;
    let open_table: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["metric"] == "table_vector" && event["feedback"].is_null())
        .collect();
    assert_eq!(open_table.len(), 1, "{events}");
}

/// Scores are series: each scored collection is a point of the table's `quality_score` series,
/// which detection judges like any metric. A check whose failing rows jump lowers the score; the
/// drop is an anomaly whose details name that check as the cause (its contribution is the
/// drop), and the score series has a forecast.
#[tokio::test]
async fn a_score_drop_is_an_anomaly_that_names_the_check_that_moved_it() {
    let db = TestDb::create("score_series").await.unwrap();
    let api = Api::start(&db).await;
    let store = Store::from_pool(db.pool.clone());
    let hours = 24 * 8;
    let drop_at = 24 * 7;
    let mut asset: Option<uuid::Uuid> = None;
    for hour in 0..hours {
        let rows = 1_000.0;
        // A few failing rows as routine noise, then a fifth of the table fails from `drop_at`.
        let failing = if hour >= drop_at {
            200
        } else {
            (hour * 7 % 5) as u64
        };
        let mut orders = table("orders", rows, &[("id", 0.0)]);
        orders.checks = vec![CheckResult {
            name: "amount_positive".into(),
            template: "range".into(),
            dimension: "validity".into(),
            severity: "high".into(),
            status: if failing > 10 { "fail" } else { "pass" }.into(),
            columns: vec!["amount".into()],
            failing_rows: Some(failing),
            total_rows: Some(rows as u64),
            ..Default::default()
        }];
        ingest(&store, hour, vec![orders]).await;
        // Scored after each collection, as the score job does when the batch is stored (the
        // control plane's own worker may score it too: the same collection gives the same point).
        let id = match asset {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::parse_str(&api.asset_id("orders").await).unwrap();
                asset = Some(id);
                id
            }
        };
        cwic_control_plane::scoring::service::score_assets(&store, "acme", &[id])
            .await
            .unwrap();
    }
    let id = asset.unwrap().to_string();

    // One score point per collection, at the collection's time.
    let points: Vec<(chrono::DateTime<chrono::Utc>, f64)> = sqlx::query_as(
        "SELECT observed_at, value FROM metric_points WHERE metric = 'quality_score' ORDER BY observed_at",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(points.len(), hours as usize);
    assert_eq!(points[0].0.timestamp(), START_SECS);
    let (before, after) = (points[drop_at as usize - 1].1, points[drop_at as usize].1);
    assert!(after < before - 1.0, "the score drops: {before} -> {after}");

    api.scan().await;
    let events = api.get(&format!("/api/v1/anomalies?asset={id}")).await;
    let score_events: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["metric"] == "quality_score")
        .collect();
    assert_eq!(score_events.len(), 1, "one score anomaly: {events}");
    let drop = score_events[0];
    assert_eq!(drop["observed_at"], stamp(drop_at));
    let details = &drop["details"];
    assert!(close(&details["previous_score"], before), "{details}");
    let causes = details["causes"].as_array().unwrap();
    assert_eq!(causes[0]["name"], "amount_positive", "{details}");
    assert_eq!(causes[0]["dimension"], "validity");
    let total: f64 = causes
        .iter()
        .map(|cause| cause["contribution"].as_f64().unwrap())
        .sum();
    assert!(
        (total - (after - before)).abs() < 1e-6,
        "causes sum to the drop: {total} vs {}",
        after - before
    );

    // The score series has a forecast like any metric; a column is refused for it.
    let body = api
        .get(&format!(
            "/api/v1/assets/{id}/forecast?metric=quality_score&horizon=6"
        ))
        .await;
    assert_eq!(body["history_points"], hours);
    assert_eq!(body["forecast"]["points"].as_array().unwrap().len(), 6);
    let (status, refused) = api
        .send(
            reqwest::Method::GET,
            "acme",
            &format!("/api/v1/assets/{id}/forecast?metric=quality_score&column=id"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{refused}");
}

fn close(actual: &Value, expected: f64) -> bool {
    actual
        .as_f64()
        .is_some_and(|value| (value - expected).abs() < 1e-6)
}
