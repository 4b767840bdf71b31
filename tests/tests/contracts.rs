//! `cwic-agent contract lint|test|diff` on real example contracts from the ODCS and
//! datacontract.com repositories (tests/data/contracts, see LICENSES.md there): lint errors with
//! file:line:column, `test` exit codes against seeded PostgreSQL tables (met, then violated, with
//! JUnit; the same contract on MariaDB and SQLite), `diff` finding a dropped column; and a contract
//! attached to an asset in the control plane, run by the enrolled agent on every collection.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use std::time::Duration;

use cwic_e2e::{
    AgentApiSetup, AgentSetup, ControlPlane, MysqlDb, NatsServer, TestDb, binary, mint_token,
    repository_root, wait_exit, wait_for,
};
use serde_json::{Value, json};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

fn contract(name: &str) -> PathBuf {
    repository_root().join("tests/data/contracts").join(name)
}

fn agent(args: &[&str], dir: &Path) -> Output {
    Command::new(binary("cwic-agent"))
        .args(args)
        .current_dir(dir)
        .env("CWIC_LOG", "error")
        .output()
        .unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn lint_accepts_the_upstream_examples() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "column-completeness.odcs.yaml",
        "column-validity.odcs.yaml",
        "database-table-sla.odcs.yaml",
        "full-example.odcs.yaml",
        "orders-latest.datacontract.yaml",
    ] {
        let path = contract(name);
        let output = agent(&["contract", "lint", path.to_str().unwrap()], dir.path());
        assert_eq!(code(&output), 0, "{name}: {}", text(&output.stderr));
        assert!(
            text(&output.stdout).contains(": ok: "),
            "{name}: {}",
            text(&output.stdout)
        );
    }
    let path = contract("orders-latest.datacontract.yaml");
    let output = agent(
        &["contract", "lint", "--format", "json", path.to_str().unwrap()],
        dir.path(),
    );
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let levels = body["sla"]["service_levels"].as_array().unwrap();
    let freshness = levels.iter().find(|l| l["kind"] == "freshness").unwrap();
    assert_eq!(freshness["threshold_seconds"], 90000.0);
    assert_eq!(freshness["element"], "orders.order_timestamp");
    let availability = levels.iter().find(|l| l["kind"] == "availability").unwrap();
    assert_eq!(availability["percentage"], 99.9);
}

#[test]
fn lint_reports_each_broken_node_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(contract("column-completeness.odcs.yaml")).unwrap();
    let broken = original
        .replace("logicalType: number", "logicalType: numbr")
        .replace("mustBe: 0", "mustBe: zero");
    std::fs::write(dir.path().join("broken.odcs.yaml"), broken).unwrap();
    let output = agent(&["contract", "lint", "broken.odcs.yaml"], dir.path());
    assert_eq!(code(&output), 1);
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "error: broken.odcs.yaml:20:20: schema[0].properties[0].logicalType: expected one of string, date, \
             timestamp, time, number, integer, object, array, boolean, found `numbr`",
            "error: broken.odcs.yaml:26:17: schema[0].properties[0].quality[0].mustBe: expected a number, found `zero`",
        ],
        "{stderr}"
    );
}

const ORDERS: &str = r#"
CREATE TABLE orders (order_id text, order_timestamp timestamptz, order_total bigint, customer_id text,
  customer_email_address text, processed_timestamp timestamptz);
CREATE TABLE line_items (lines_item_id text, order_id text, sku text);
INSERT INTO orders
SELECT md5(i::text)::uuid::text, now() - i * interval '1 hour', 1000 + i, (1000000000 + i)::text,
       'customer' || i || '@example.com', now()
FROM generate_series(1, 10) AS i;
INSERT INTO line_items
SELECT 'LI-' || i, md5((1 + i % 10)::text)::uuid::text, (5901234123457 + i)::text
FROM generate_series(1, 10) AS i;
"#;

#[tokio::test]
async fn test_exits_0_when_met_and_1_with_junit_when_violated() {
    let db = TestDb::create("contract").await.unwrap();
    sqlx::raw_sql(ORDERS).execute(&db.pool).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = contract("orders-latest.datacontract.yaml");
    let path = path.to_str().unwrap();
    let output = agent(&["contract", "test", path, "--source", &db.url], dir.path());
    assert_eq!(
        code(&output),
        0,
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout)
            .contains("contract urn:datacontract:checkout:orders-latest met: 20 checks passed"),
        "{}",
        text(&output.stdout)
    );

    // One order without an e-mail address and with a duplicated id; a line item of no order.
    sqlx::raw_sql(
        "INSERT INTO orders SELECT order_id, order_timestamp, order_total, customer_id, NULL, now() \
         FROM orders LIMIT 1; INSERT INTO line_items VALUES ('LI-99', '00000000-0000-0000-0000-000000000000', 'ABCDEFGH1');",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let junit = dir.path().join("contract.xml");
    let output = agent(
        &[
            "contract",
            "test",
            path,
            "--source",
            &db.url,
            "--format",
            "json",
            "--junit",
            junit.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(body["met"], false);
    let failed: Vec<String> = body["scan"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "pass")
        .map(|r| {
            format!(
                "{}.{}={}",
                r["dataset"].as_str().unwrap(),
                r["check"].as_str().unwrap(),
                r["failing_rows"]
            )
        })
        .collect();
    assert_eq!(
        failed,
        [
            "orders.unique(order_id)=2",
            "orders.required(customer_email_address)=1",
            "orders.primary_key(order_id)=2",
            "line_items.foreign_key(order_id)=1",
        ],
        "{body:#}"
    );
    assert_eq!(body["violations"], 4);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure").count(), 4, "{xml}");
}

#[tokio::test]
async fn odcs_contract_checks_types_and_primary_key() {
    let db = TestDb::create("contract_odcs").await.unwrap();
    sqlx::raw_sql(
        r#"CREATE TABLE "Air_Quality" ("UniqueID" int); INSERT INTO "Air_Quality" VALUES (1), (2), (3);"#,
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = contract("column-completeness.odcs.yaml");
    let path = path.to_str().unwrap();
    let output = agent(&["contract", "test", path, "--source", &db.url], dir.path());
    assert_eq!(
        code(&output),
        0,
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );

    sqlx::raw_sql(r#"INSERT INTO "Air_Quality" VALUES (NULL), (3);"#)
        .execute(&db.pool)
        .await
        .unwrap();
    let output = agent(
        &["contract", "test", path, "--source", &db.url, "--format", "json"],
        dir.path(),
    );
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let failed: Vec<&str> = body["scan"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "pass")
        .map(|r| r["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        ["primary_key(UniqueID)", "not_null(UniqueID)"],
        "{body:#}"
    );

    // A retyped column fails the type check.
    sqlx::raw_sql(r#"ALTER TABLE "Air_Quality" ALTER COLUMN "UniqueID" TYPE text;"#)
        .execute(&db.pool)
        .await
        .unwrap();
    let output = agent(
        &["contract", "test", path, "--source", &db.url, "--format", "json"],
        dir.path(),
    );
    assert_eq!(code(&output), 1);
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let types = body["scan"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == "contract_column_types")
        .unwrap()
        .clone();
    assert_eq!(types["status"], "fail", "{types:#}");
}

#[test]
fn diff_finds_a_dropped_column_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let old = std::fs::read_to_string(contract("orders-latest.datacontract.yaml")).unwrap();
    let dropped = "      customer_id:\n        description: Unique identifier for the customer.\n        type: text\n        minLength: 10\n        maxLength: 20\n";
    assert!(old.contains(dropped));
    let new = old.replace(dropped, "").replace(
        "threshold: 25h\n    timestampField",
        "threshold: 48h\n    timestampField",
    );
    std::fs::write(dir.path().join("new.yaml"), new).unwrap();
    let old_path = contract("orders-latest.datacontract.yaml");
    let output = agent(
        &["contract", "diff", old_path.to_str().unwrap(), "new.yaml"],
        dir.path(),
    );
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "breaking: orders.customer_id: column dropped",
            "breaking: service_levels.freshness: service level loosened from 25h to 2d",
            "non-breaking: orders.customer_id: rule removed: length_between (length in [10, 20])",
            "2 breaking, 1 non-breaking changes",
        ],
        "{stdout}"
    );
    let same = agent(
        &[
            "contract",
            "diff",
            old_path.to_str().unwrap(),
            old_path.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code(&same), 0);
    assert_eq!(text(&same.stdout), "0 breaking, 0 non-breaking changes\n");
}

/// The example rows of orders-latest (its `examples:` block), with UUIDs for the order ids, as the
/// contract's `format: uuid` asks; one statement per line for MysqlDb.
const PORTABLE_ORDERS: &str = "CREATE TABLE orders (order_id varchar(36), order_timestamp timestamp NULL, order_total bigint, customer_id varchar(20), customer_email_address varchar(100), processed_timestamp timestamp NULL);
CREATE TABLE line_items (lines_item_id varchar(10), order_id varchar(36), sku varchar(20));
INSERT INTO orders VALUES ('243c25e5-a081-43a9-aeab-6d5d5b6c1001', '2030-09-09 08:30:00', 2500, '1000000001', 'mary.taylor82@example.com', '2030-09-09 08:31:00'), ('243c25e5-a081-43a9-aeab-6d5d5b6c1002', '2030-09-08 15:45:00', 1800, '1000000002', 'michael.miller83@example.com', '2030-09-09 08:31:00'), ('243c25e5-a081-43a9-aeab-6d5d5b6c1003', '2030-09-07 12:15:00', 3200, '1000000003', 'michael.smith5@example.com', '2030-09-09 08:31:00'), ('243c25e5-a081-43a9-aeab-6d5d5b6c1004', '2030-09-06 19:20:00', 1500, '1000000004', 'elizabeth.moore80@example.com', '2030-09-09 08:31:00'), ('243c25e5-a081-43a9-aeab-6d5d5b6c1005', '2030-09-05 10:10:00', 4200, '1000000004', 'elizabeth.moore80@example.com', '2030-09-09 08:31:00');
INSERT INTO line_items VALUES ('LI-1', '243c25e5-a081-43a9-aeab-6d5d5b6c1001', '5901234123457'), ('LI-2', '243c25e5-a081-43a9-aeab-6d5d5b6c1001', '4001234567890'), ('LI-3', '243c25e5-a081-43a9-aeab-6d5d5b6c1002', '5901234123457'), ('LI-4', '243c25e5-a081-43a9-aeab-6d5d5b6c1002', '2001234567893'), ('LI-5', '243c25e5-a081-43a9-aeab-6d5d5b6c1003', '4001234567890')";

const NULL_EMAIL: &str = "INSERT INTO orders VALUES ('243c25e5-a081-43a9-aeab-6d5d5b6c1006', '2030-09-04 14:55:00', 2800, '1000000005', NULL, '2030-09-09 08:31:00')";

fn failing(output: &Output) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    body["scan"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "pass")
        .map(|r| {
            format!(
                "{}.{}={}",
                r["dataset"].as_str().unwrap(),
                r["check"].as_str().unwrap(),
                r["failing_rows"]
            )
        })
        .collect()
}

#[tokio::test]
async fn the_same_contract_runs_on_mariadb_and_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = contract("orders-latest.datacontract.yaml");
    let path = path.to_str().unwrap();

    let mysql = MysqlDb::create("contract", PORTABLE_ORDERS).await.unwrap();
    let sqlite_path = dir.path().join("orders.db");
    let mut sqlite = SqliteConnectOptions::new()
        .filename(&sqlite_path)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(PORTABLE_ORDERS).execute(&mut sqlite).await.unwrap();
    let sqlite_url = format!("sqlite://{}", sqlite_path.display());

    for (engine, url) in [("mariadb", mysql.url.as_str()), ("sqlite", sqlite_url.as_str())] {
        let output = agent(
            &["contract", "test", path, "--source", url, "--format", "json"],
            dir.path(),
        );
        assert_eq!(
            code(&output),
            0,
            "{engine}: {:?} {}",
            failing(&output),
            text(&output.stderr)
        );
    }

    let mut conn = sqlx::MySqlConnection::connect(&mysql.url).await.unwrap();
    sqlx::raw_sql(NULL_EMAIL).execute(&mut conn).await.unwrap();
    sqlx::raw_sql(NULL_EMAIL).execute(&mut sqlite).await.unwrap();
    for (engine, url) in [("mariadb", mysql.url.as_str()), ("sqlite", sqlite_url.as_str())] {
        let output = agent(
            &["contract", "test", path, "--source", url, "--format", "json"],
            dir.path(),
        );
        assert_eq!(code(&output), 1, "{engine}: {}", text(&output.stderr));
        assert_eq!(
            failing(&output),
            ["orders.required(customer_email_address)=1"],
            "{engine}"
        );
    }
}

/// A source's `contracts:` runs the contract's checks on every collection: the results reach the
/// control plane tagged with the contract's id (so its tag score and tag SLAs follow it), and a
/// contract that cannot be read stops the agent with the key and the contract's file:line.
#[tokio::test]
async fn a_sources_contracts_run_on_every_collection_tagged_with_the_contract() {
    use std::time::Duration;

    let stack = cwic_e2e::Stack::start().await.unwrap();
    let agent = stack.agent("acme", "1h").unwrap();
    let contract = "apiVersion: v3.0.2\nkind: DataContract\nid: crm-customers\nversion: 1.0.0\nstatus: active\n\
                    schema:\n  - name: customers\n    properties:\n      - name: id\n        physicalType: integer\n        \
                    primaryKey: true\n      - name: email\n        physicalType: text\n        required: true\n";
    std::fs::write(agent.dir.path().join("crm.odcs.yaml"), contract).unwrap();
    let config = std::fs::read_to_string(&agent.config_path).unwrap();
    std::fs::write(
        &agent.config_path,
        format!("{config}    contracts: crm.odcs.yaml\n"),
    )
    .unwrap();
    let mut process = agent.spawn(1).unwrap();
    let status = cwic_e2e::wait_exit(&mut process, Duration::from_secs(120))
        .await
        .unwrap();
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());

    let control_plane = &stack.control_plane;
    let customers = cwic_e2e::wait_for("the customers table", Duration::from_secs(30), || async {
        let page = control_plane.get("/api/v1/assets?q=customers", "acme").await?;
        Ok(page["items"][0]["id"].as_str().map(str::to_owned))
    })
    .await
    .unwrap();
    let checks = control_plane
        .get(&format!("/api/v1/assets/{customers}/checks"), "acme")
        .await
        .unwrap();
    let mut outcomes: Vec<(String, String)> = checks["items"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|check| {
            let tags = check["tags"].as_array().unwrap();
            assert!(tags.contains(&"contract:crm-customers".into()), "{check}");
        })
        .map(|check| {
            (
                check["check_name"].as_str().unwrap().to_owned(),
                check["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    outcomes.sort();
    // 142 of the seeded customers have no e-mail address; ids are unique.
    assert!(
        outcomes.contains(&("required(email)".to_owned(), "fail".to_owned())),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&("primary_key(id)".to_owned(), "pass".to_owned())),
        "{outcomes:?}"
    );
    // Scoring runs as a job after the batch is stored: wait for the contract's tag group.
    let groups = cwic_e2e::wait_for("the contract's score group", Duration::from_secs(30), || async {
        let groups = control_plane.get("/api/v1/scores?group_by=tag", "acme").await?;
        let found = groups["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|group| group["group"] == "contract:crm-customers");
        Ok(found.then_some(groups))
    })
    .await;
    assert!(groups.is_ok(), "{groups:?}");

    // A broken contract: the agent refuses to start, naming the key, the file and the line.
    std::fs::write(
        agent.dir.path().join("crm.odcs.yaml"),
        contract.replace("physicalType: text", "physicalType: [text]"),
    )
    .unwrap();
    let mut process = agent.spawn(1).unwrap();
    let status = cwic_e2e::wait_exit(&mut process, Duration::from_secs(60))
        .await
        .unwrap();
    let log = agent.log();
    assert!(!status.success(), "{log}");
    assert!(log.contains("sources[0].contracts"), "{log}");
    assert!(log.contains("crm.odcs.yaml:"), "{log}");
}

/// The status of the contract attached to `asset`, once `until` holds for it.
async fn contract_status(control_plane: &ControlPlane, asset: &str, until: impl Fn(&Value) -> bool) -> Value {
    wait_for("the contract's status", Duration::from_secs(30), || async {
        let body = control_plane
            .get(&format!("/api/v1/assets/{asset}/contract"), "acme")
            .await?;
        Ok(until(&body["status"]).then_some(body))
    })
    .await
    .unwrap()
}

fn failing_checks(status: &Value) -> Vec<String> {
    let mut names: Vec<String> = status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "pass")
        .map(|c| format!("{}={}", c["name"].as_str().unwrap(), c["failing_rows"]))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_contract_attached_in_the_control_plane_runs_on_every_collection_of_its_asset() {
    let source = TestDb::create("attached_src").await.unwrap();
    sqlx::raw_sql(ORDERS).execute(&source.pool).await.unwrap();
    let control_db = TestDb::create("attached_cp").await.unwrap();
    let nats = NatsServer::start().await.unwrap();
    let api = AgentApiSetup::new().unwrap();
    let control_plane = ControlPlane::start_with_env(&control_db.url, &nats.url(), api.env(false))
        .await
        .unwrap();
    let agent = AgentSetup::new("acme", "wh-1", &nats.url(), &source.url, "1h").unwrap();
    let state = agent.dir.path().join("state");
    let mut config = std::fs::read_to_string(&agent.config_path).unwrap();
    config.push_str(&format!("state_dir: {}\n", state.display()));
    std::fs::write(&agent.config_path, config).unwrap();
    let token = Command::new(binary("cwic"))
        .args([
            "agents",
            "token",
            "create",
            "--tenant",
            "acme",
            "--agent-id",
            "wh-1",
        ])
        .env("CWIC_DATABASE_URL", &control_db.url)
        .output()
        .unwrap();
    assert!(token.status.success(), "{}", text(&token.stderr));
    let enrolled = Command::new(binary("cwic-agent"))
        .args([
            "enroll",
            "--control-plane",
            &api.grpc_url(),
            "--token",
            text(&token.stdout).trim(),
            "--ca",
        ])
        .arg(api.ca_path())
        .arg("--out")
        .arg(agent.dir.path())
        .output()
        .unwrap();
    assert!(enrolled.status.success(), "{}", text(&enrolled.stderr));
    let collect = || async {
        let mut child = agent.spawn(1).unwrap();
        let status = wait_exit(&mut child, Duration::from_secs(60)).await.unwrap();
        assert!(status.success(), "{}", agent.log());
    };

    // A first collection makes the tables assets of the control plane.
    collect().await;
    let orders = wait_for("the orders asset", Duration::from_secs(30), || async {
        let assets = control_plane.get("/api/v1/assets", "acme").await?;
        Ok(assets["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "orders")
            .map(|a| a["id"].as_str().unwrap().to_owned()))
    })
    .await
    .unwrap();
    let editor = mint_token(&control_db.url, "acme", "editor").await.unwrap();
    let put = |body: Value| {
        reqwest::Client::new()
            .put(format!(
                "{}/api/v1/assets/{orders}/contract",
                control_plane.base_url()
            ))
            .bearer_auth(&editor)
            .json(&body)
            .send()
    };

    // A broken document is refused at its line, nothing attached.
    let response = put(json!({"document": "dataContractSpecification: 1.1.0\nid: broken\ninfo:\n  title: Broken\n  version: 1.0.0\nmodels:\n  orders:\n    fields: [1, 2]\n"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["details"]["field"], "document", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("document:8:13: models.orders.fields: expected a mapping"),
        "{body}"
    );
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/assets/{orders}/contract",
            control_plane.base_url()
        ))
        .bearer_auth(&editor)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // The datacontract.com example describes orders and line_items: the orders model is chosen by name.
    let document = std::fs::read_to_string(contract("orders-latest.datacontract.yaml")).unwrap();
    let response = put(json!({ "document": document })).await.unwrap();
    assert_eq!(response.status(), 200);
    let attached: Value = response.json().await.unwrap();
    assert_eq!(attached["contract_id"], "urn:datacontract:checkout:orders-latest");
    assert_eq!(attached["dataset"], "orders");
    assert_eq!(attached["asset"], "warehouse.public.orders");
    assert_eq!(attached["status"]["state"], "not_evaluated", "{attached:#}");
    assert!(
        attached["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["template"] == "email"),
        "{attached:#}"
    );

    // Its freshness (25h) and availability (99.9%) levels became one SLA of the asset; retention
    // has no CWIC objective and says so.
    let sla = attached["sla_id"]
        .as_str()
        .expect("an SLA from the service levels")
        .to_owned();
    let slas = control_plane.get("/api/v1/slas", "acme").await.unwrap();
    let made = slas["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sla.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{slas:#}"));
    assert_eq!(
        (
            &made["freshness_bound_minutes"],
            &made["min_availability"],
            &made["contract_id"]
        ),
        (
            &json!(1500),
            &json!(0.999),
            &json!("urn:datacontract:checkout:orders-latest")
        ),
        "{made:#}"
    );
    let retention = attached["service_levels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "retention")
        .unwrap();
    assert_eq!(retention["objective"], Value::Null);
    assert!(
        retention["note"]
            .as_str()
            .unwrap()
            .contains("no retention objective")
    );

    // The next collection fetches it and runs it: every check passes on the seeded rows.
    collect().await;
    let met = contract_status(&control_plane, &orders, |s| s["state"] != "not_evaluated").await;
    assert_eq!(met["status"]["state"], "met", "{met:#}");
    assert_eq!(met["status"]["passed"], 12, "{met:#}");
    let cached = std::fs::read_to_string(state.join("attached-contracts.json")).unwrap();
    assert!(
        cached.contains("urn:datacontract:checkout:orders-latest"),
        "{cached}"
    );

    // A duplicated order without an e-mail address: the next collection finds the violations.
    let evaluated = met["status"]["evaluated_at"].clone();
    sqlx::raw_sql(
        "INSERT INTO orders SELECT order_id, order_timestamp, order_total, customer_id, NULL, now() FROM orders LIMIT 1",
    )
    .execute(&source.pool)
    .await
    .unwrap();
    collect().await;
    let violated = contract_status(&control_plane, &orders, |s| s["evaluated_at"] != evaluated).await;
    assert_eq!(violated["status"]["state"], "violated", "{violated:#}");
    assert_eq!(
        failing_checks(&violated["status"]),
        [
            "primary_key(order_id)=2",
            "required(customer_email_address)=1",
            "unique(order_id)=2"
        ],
        "{violated:#}"
    );
    assert!(
        violated["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("violated: 3 of 12 checks fail"),
        "{violated:#}"
    );

    // Detached: gone from the API, and its SLA with it.
    let response = reqwest::Client::new()
        .delete(format!(
            "{}/api/v1/assets/{orders}/contract",
            control_plane.base_url()
        ))
        .bearer_auth(&editor)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(
        control_plane
            .get(&format!("/api/v1/assets/{orders}/contract"), "acme")
            .await
            .is_err()
    );
    let slas = control_plane.get("/api/v1/slas", "acme").await.unwrap();
    assert!(
        slas["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != sla.as_str()),
        "{slas:#}"
    );
}
