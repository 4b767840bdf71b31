//! What an agent measures besides row and NULL counts, end to end through the broker into the control
//! plane: check results of the source's check suite (exact failing counts, in the API), freshness lag
//! of each table's freshness column, distribution drift against the profile of the previous run, and
//! segment counts by low-cardinality columns (checked against SQL on the source).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use cwic_e2e::{Stack, wait_exit, wait_for};
use serde_json::Value;

const CHECKS: &str = r#"version: 1
datasets:
  - dataset: public.customers
    checks:
      - template: not_null
        column: email
        severity: high
        owner: crm-team
        tags: [pii]
      - template: accepted_values
        params: { column: country, values: [GB, DE] }
        severity: medium
      - template: row_count_between
        params: { min: 1, max: 10 }
        severity: low
  - dataset: orders
    checks:
      - template: not_null
        column: customer_id
      - template: not_null
        column: missing_column
"#;

async fn run_agent(agent: &cwic_e2e::AgentSetup) -> anyhow::Result<()> {
    let mut process = agent.spawn(1)?;
    let status = wait_exit(&mut process, Duration::from_secs(120)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    Ok(())
}

#[tokio::test]
async fn checks_freshness_drift_and_segments_reach_the_control_plane() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let (source, control_plane) = (&stack.source, &stack.control_plane);
    let agent = stack.agent("acme", "1h")?;
    std::fs::write(agent.dir.path().join("checks.yml"), CHECKS)?;
    let config = std::fs::read_to_string(&agent.config_path)?.replace(
        "sources:\n",
        &format!(
            "state_dir: {}\nsources:\n",
            agent.dir.path().join("state").display()
        ),
    );
    std::fs::write(
        &agent.config_path,
        format!("{config}    profile: true\n    checks: checks.yml\n"),
    )?;
    run_agent(&agent).await?;

    let assets = wait_for("the assets in the API", Duration::from_secs(30), || async {
        let page = control_plane.get("/api/v1/assets", "acme").await?;
        Ok((page["total"] == 5).then_some(page))
    })
    .await?;
    let asset_id = |name: &str| {
        assets["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|asset| asset["name"] == name)
            .map(|asset| asset["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let (customers, orders) = (asset_id("customers"), asset_id("orders"));

    // Check results, with the failing counts SQL gives.
    let (null_emails, not_gb_de): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE email IS NULL), count(*) FILTER (WHERE country NOT IN ('GB', 'DE'))
         FROM customers",
    )
    .fetch_one(&source.pool)
    .await?;
    let checks = control_plane
        .get(&format!("/api/v1/assets/{customers}/checks"), "acme")
        .await?;
    let items = checks["items"].as_array().unwrap();
    let by_template = |template: &str| -> &Value {
        items
            .iter()
            .find(|check| check["template"] == template)
            .unwrap_or_else(|| panic!("no {template} result: {checks}"))
    };
    let not_null = by_template("not_null");
    assert_eq!(not_null["status"], "fail", "{not_null}");
    assert_eq!(not_null["failing_rows"], null_emails);
    assert_eq!(not_null["total_rows"], 1000);
    assert_eq!(not_null["severity"], "high");
    assert_eq!(not_null["dimension"], "completeness");
    assert_eq!(not_null["owner"], "crm-team");
    assert_eq!(not_null["tags"], serde_json::json!(["pii"]));
    assert_eq!(not_null["columns"], serde_json::json!(["email"]));
    assert_eq!(by_template("accepted_values")["failing_rows"], not_gb_de);
    let row_count = by_template("row_count_between");
    assert_eq!(row_count["status"], "fail");
    assert_eq!(row_count["value"], "1000");
    // Failing checks come first, the most severe first.
    assert_eq!(items.len(), 3);
    let rank = |check: &Value| {
        let status = ["error", "fail", "pass"]
            .iter()
            .position(|s| check["status"] == *s);
        let severity = ["critical", "high", "medium", "low"]
            .iter()
            .position(|s| check["severity"] == *s);
        (status.unwrap(), severity.unwrap())
    };
    assert!(
        items.windows(2).all(|pair| rank(&pair[0]) <= rank(&pair[1])),
        "{checks}"
    );
    let templates: Vec<&str> = items
        .iter()
        .map(|check| check["template"].as_str().unwrap())
        .collect();
    assert_eq!(templates, ["not_null", "accepted_values", "row_count_between"]);
    let order_checks = control_plane
        .get(&format!("/api/v1/assets/{orders}/checks"), "acme")
        .await?;
    let order_items = order_checks["items"].as_array().unwrap();
    assert_eq!(order_items.len(), 2, "{order_checks}");
    // A check on a missing column is an error result; the rest of the suite ran.
    assert_eq!(order_items[0]["status"], "error", "{order_checks}");
    assert!(
        order_items[0]["message"]
            .as_str()
            .unwrap()
            .contains("missing_column")
    );
    assert_eq!(order_items[1]["status"], "pass");

    // Freshness: customers' newest created_at is an hour before the run.
    let freshness = control_plane
        .get(
            &format!("/api/v1/assets/{customers}/metrics?metric=freshness_lag"),
            "acme",
        )
        .await?;
    let lag = freshness["items"][0]["value"].as_f64().unwrap();
    assert!((3600.0..3600.0 + 120.0).contains(&lag), "lag {lag}: {freshness}");
    // orders has no temporal column: no freshness.
    let orders_freshness = control_plane
        .get(
            &format!("/api/v1/assets/{orders}/metrics?metric=freshness_lag"),
            "acme",
        )
        .await?;
    assert_eq!(orders_freshness["items"], serde_json::json!([]));

    // Segment counts by country (3 values, not personal data); e-mail (PII) is never a segment.
    let segments: Vec<(String, String, f64, f64)> = sqlx::query_as(
        "SELECT segment_column, segment_value, row_count, null_count FROM segment_counts
         WHERE column_name = 'email' ORDER BY segment_column, segment_value",
    )
    .fetch_all(&stack.control_db.pool)
    .await?;
    let expected: Vec<(String, String, f64, f64)> = sqlx::query_as(
        "SELECT 'country', country, count(*)::float8, (count(*) - count(email))::float8 FROM customers
         GROUP BY country ORDER BY country",
    )
    .fetch_all(&source.pool)
    .await?;
    let by_country: Vec<_> = segments
        .iter()
        .filter(|row| row.0 == "country")
        .cloned()
        .collect();
    assert_eq!(by_country, expected, "{}", agent.log());
    let segment_columns: Vec<&str> = segments.iter().map(|row| row.0.as_str()).collect();
    assert!(!segment_columns.contains(&"email") && !segment_columns.contains(&"phone"));

    // Drift: the first run has nothing to compare with. Move orders' amounts up and run again.
    let drift_points = |asset: String| {
        let control_plane = &control_plane;
        async move {
            control_plane
                .get(
                    &format!("/api/v1/assets/{asset}/metrics?metric=distribution_drift"),
                    "acme",
                )
                .await
                .unwrap()["items"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    assert!(drift_points(orders.clone()).await.is_empty());
    sqlx::query("UPDATE orders SET amount = amount + 5000 WHERE id % 2 = 0")
        .execute(&source.pool)
        .await?;
    run_agent(&agent).await?;
    let drift = wait_for("drift metrics", Duration::from_secs(30), || async {
        let points = drift_points(orders.clone()).await;
        Ok((!points.is_empty()).then_some(points))
    })
    .await?;
    let of = |column: &str| {
        drift
            .iter()
            .find(|point| point["column"] == column)
            .unwrap_or_else(|| panic!("no drift of {column}: {drift:?}"))["value"]
            .as_f64()
            .unwrap()
    };
    assert!(of("amount") > 0.3, "amount drift {}", of("amount"));
    assert!(
        of("customer_id") < 0.01,
        "customer_id drift {}",
        of("customer_id")
    );
    // Check history: two runs of each check.
    let checks = control_plane
        .get(&format!("/api/v1/assets/{customers}/checks"), "acme")
        .await?;
    assert_eq!(checks["items"][0]["history"].as_array().unwrap().len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_broken_check_file_stops_the_agent_at_start_naming_file_and_line() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let agent = stack.agent("acme", "1h")?;
    std::fs::write(
        agent.dir.path().join("checks.yml"),
        "version: 1\ndatasets:\n  - dataset: customers\n    checks:\n      - template: not_nul\n        column: email\n",
    )?;
    let config = std::fs::read_to_string(&agent.config_path)?;
    std::fs::write(&agent.config_path, format!("{config}    checks: checks.yml\n"))?;
    let output = std::process::Command::new(cwic_e2e::binary("cwic-agent"))
        .args(["validate", "--config"])
        .arg(&agent.config_path)
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("sources[0].checks"), "{stderr}");
    assert!(stderr.contains("checks.yml:5:"), "{stderr}");
    assert!(
        stderr.contains("not_null"),
        "the closest template is suggested: {stderr}"
    );
    Ok(())
}

#[tokio::test]
async fn a_mariadb_source_ships_check_results_and_freshness_too() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let mariadb = cwic_e2e::MysqlDb::create(
        "observe",
        "CREATE TABLE orders (id int NOT NULL, status varchar(20), amount decimal(10,2), updated_at datetime);\n\
         INSERT INTO orders VALUES (1, 'paid', 10.5, UTC_TIMESTAMP() - INTERVAL 3 HOUR),\n\
           (2, 'PAID', NULL, UTC_TIMESTAMP() - INTERVAL 2 HOUR), (3, 'new', NULL, NULL);\n",
    )
    .await?;
    let agent = cwic_e2e::AgentSetup::new("acme", "wh-1", &stack.nats.url(), &mariadb.url, "1h")?;
    std::fs::write(
        agent.dir.path().join("checks.yml"),
        "version: 1\ndatasets:\n  - dataset: orders\n    checks:\n      - template: not_null\n        column: amount\n      \
         - template: accepted_values\n        params: { column: status, values: [paid, new] }\n",
    )?;
    let config = std::fs::read_to_string(&agent.config_path)?;
    std::fs::write(&agent.config_path, format!("{config}    checks: checks.yml\n"))?;
    run_agent(&agent).await?;
    let control_plane = &stack.control_plane;
    let assets = wait_for(
        "the MariaDB table in the API",
        Duration::from_secs(30),
        || async {
            let page = control_plane.get("/api/v1/assets", "acme").await?;
            Ok((page["total"] == 1).then_some(page))
        },
    )
    .await?;
    let orders = assets["items"][0]["id"].as_str().unwrap().to_owned();
    let checks = control_plane
        .get(&format!("/api/v1/assets/{orders}/checks"), "acme")
        .await?;
    let failing = |template: &str| {
        checks["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|check| check["template"] == template)
            .unwrap_or_else(|| panic!("no {template}: {checks}"))["failing_rows"]
            .clone()
    };
    assert_eq!(failing("not_null"), 2, "{checks}");
    // Compared byte for byte as on PostgreSQL: 'PAID' is not 'paid'.
    assert_eq!(failing("accepted_values"), 1, "{checks}");
    let freshness = control_plane
        .get(
            &format!("/api/v1/assets/{orders}/metrics?metric=freshness_lag"),
            "acme",
        )
        .await?;
    let lag = freshness["items"][0]["value"].as_f64().unwrap();
    assert!((7200.0..7200.0 + 120.0).contains(&lag), "lag {lag}: {freshness}");
    Ok(())
}
