//! Quality scores through the real pipeline: an agent collects the seeded source, the control
//! plane scores each table as a job when the batch is stored, and the API's numbers are checked
//! against SQL on the source.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use cwic_e2e::{Stack, mint_token, wait_exit, wait_for};
use serde_json::{Value, json};

const CHECKS: &str = r#"version: 1
datasets:
  - dataset: public.customers
    checks:
      - template: unique
        column: id
        severity: high
        tags: [crm]
      - template: accepted_values
        params: { column: country, values: [GB, DE] }
        severity: medium
        tags: [crm]
"#;

async fn run_agent(agent: &cwic_e2e::AgentSetup) -> anyhow::Result<()> {
    let mut process = agent.spawn(1)?;
    let status = wait_exit(&mut process, Duration::from_secs(120)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    Ok(())
}

fn close(actual: &Value, expected: f64) -> bool {
    actual
        .as_f64()
        .is_some_and(|value| (value - expected).abs() < 1e-6)
}

#[tokio::test]
async fn scores_are_evidence_weighted_honest_about_coverage_and_explain_themselves() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let (source, control_plane) = (&stack.source, &stack.control_plane);
    let agent = stack.agent("acme", "1h")?;
    run_agent(&agent).await?;

    let assets = wait_for("the assets in the API", Duration::from_secs(30), || async {
        let page = control_plane.get("/api/v1/assets", "acme").await?;
        Ok((page["total"] == 5).then_some(page))
    })
    .await?;
    let customers = assets["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|asset| asset["name"] == "customers")
        .map(|asset| asset["id"].as_str().unwrap().to_owned())
        .unwrap();
    let path = format!("/api/v1/assets/{customers}/score");

    // Completeness = 100 × (1 − null cells / cells), by SQL on the source.
    let (nulls, rows): (i64, i64) = sqlx::query_as(
        "SELECT sum((id IS NULL)::int + (email IS NULL)::int + (phone IS NULL)::int
                    + (country IS NULL)::int + (created_at IS NULL)::int), count(*)
         FROM customers",
    )
    .fetch_one(&source.pool)
    .await?;
    let expected_completeness = 100.0 * (1.0 - nulls as f64 / (rows as f64 * 5.0));

    let first = wait_for("the first score", Duration::from_secs(60), || async {
        let score = control_plane.get(&path, "acme").await?;
        Ok((!score["computed_at"].is_null()).then_some(score))
    })
    .await?;
    assert!(
        close(
            &first["dimensions"]["completeness"]["score"],
            expected_completeness
        ),
        "{first}"
    );
    assert_eq!(
        first["dimensions"]["completeness"]["evidence"]
            .as_array()
            .unwrap()
            .len(),
        5,
        "{first}"
    );
    for dimension in [
        "accuracy",
        "consistency",
        "timeliness",
        "uniqueness",
        "validity",
        "integrity",
    ] {
        assert!(
            first["dimensions"][dimension]["score"].is_null(),
            "{dimension} has no evidence: {first}"
        );
    }
    assert!(close(&first["coverage"], 0.2), "{first}");
    assert!(close(&first["score"], expected_completeness), "{first}");
    assert!(close(&first["weights"]["accuracy"], 0.25), "{first}");

    // A passing uniqueness check and a validity check failing on a share of its rows.
    std::fs::write(agent.dir.path().join("checks.yml"), CHECKS)?;
    let config = std::fs::read_to_string(&agent.config_path)?;
    std::fs::write(&agent.config_path, format!("{config}    checks: checks.yml\n"))?;
    run_agent(&agent).await?;
    let second = wait_for("the score with checks", Duration::from_secs(60), || async {
        let score = control_plane.get(&path, "acme").await?;
        Ok((!score["dimensions"]["validity"]["score"].is_null()
            && !score["dimensions"]["uniqueness"]["score"].is_null())
        .then_some(score))
    })
    .await?;
    let failing: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE country NOT IN ('GB', 'DE')")
        .fetch_one(&source.pool)
        .await?;
    let expected_validity = 100.0 * (1.0 - failing as f64 / rows as f64);
    assert!(
        close(&second["dimensions"]["validity"]["score"], expected_validity),
        "{second}"
    );
    assert!(
        close(&second["dimensions"]["uniqueness"]["score"], 100.0),
        "{second}"
    );
    // Coverage grew by the two dimensions' weights; completeness did not move.
    assert!(close(&second["coverage"], 0.35), "{second}");
    assert!(
        close(
            &second["dimensions"]["completeness"]["score"],
            expected_completeness
        ),
        "{second}"
    );
    let expected = (0.2 * expected_completeness + 0.1 * 100.0 + 0.05 * expected_validity) / 0.35;
    assert!(close(&second["score"], expected), "{second}");
    let evidence = &second["dimensions"]["validity"]["evidence"][0];
    assert_eq!(evidence["kind"], "check", "{second}");
    assert_eq!(evidence["severity"], "medium", "{second}");
    assert!(second["dimensions"]["accuracy"]["score"].is_null(), "{second}");

    // A score explains its trend: with the first computation 25 hours back, the checks that
    // arrived since are the causes, and their contributions sum to the 24-hour trend.
    sqlx::query(
        "INSERT INTO asset_scores (tenant_id, asset_id, computed_at, score, coverage, dimensions, weights)
         SELECT tenant_id, asset_id, computed_at - interval '25 hours', score, coverage, dimensions, weights
         FROM asset_scores WHERE asset_id = $1::uuid ORDER BY computed_at LIMIT 1",
    )
    .bind(&customers)
    .execute(&stack.control_db.pool)
    .await?;
    let explained = control_plane.get(&path, "acme").await?;
    let trend = explained["trend_24h"].as_f64().unwrap();
    let causes = explained["causes_24h"].as_array().unwrap();
    let total: f64 = causes.iter().map(|c| c["contribution"].as_f64().unwrap()).sum();
    assert!((total - trend).abs() < 1e-6, "{total} vs {trend}: {explained}");
    let validity = causes
        .iter()
        .find(|c| c["dimension"] == "validity")
        .unwrap_or_else(|| panic!("the validity check is a cause: {explained}"));
    assert!(validity["before"].is_null(), "{validity}");
    assert!(close(&validity["after"], expected_validity), "{validity}");

    // History and groups.
    let history = control_plane
        .get(&format!("{path}/history?since=2000-01-01T00:00:00Z"), "acme")
        .await?;
    assert!(history["items"].as_array().unwrap().len() >= 2, "{history}");
    let groups = control_plane
        .get("/api/v1/scores?group_by=source", "acme")
        .await?;
    assert_eq!(groups["items"][0]["group"], "warehouse", "{groups}");
    let tags = control_plane.get("/api/v1/scores?group_by=tag", "acme").await?;
    assert_eq!(tags["items"][0]["group"], "crm", "{tags}");
    assert!(close(&tags["items"][0]["score"], expected), "{tags}");

    // Weights: validated, naming the field.
    let token = mint_token(&stack.control_db.url, "acme", "admin").await?;
    let put = |body: Value| {
        let token = token.clone();
        let url = format!("{}/api/v1/settings/score-weights", control_plane.base_url());
        async move {
            let response = reqwest::Client::new()
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            let status = response.status().as_u16();
            anyhow::Ok((status, response.json::<Value>().await?))
        }
    };
    let mut weights = json!({"completeness": 0.2, "accuracy": 0.25, "consistency": 0.2, "timeliness": 0.15,
                             "uniqueness": 0.1, "validity": 0.05, "integrity": 0.05});
    weights["accuracy"] = json!(1.5);
    let (status, body) = put(weights.clone()).await?;
    assert_eq!(
        (status, &body["details"]["field"]),
        (400, &json!("accuracy")),
        "{body}"
    );
    weights["accuracy"] = json!(0.3);
    let (status, body) = put(weights.clone()).await?;
    assert_eq!(
        (status, &body["details"]["field"]),
        (400, &json!("weights")),
        "{body}"
    );
    weights.as_object_mut().unwrap().remove("integrity");
    let (status, body) = put(weights.clone()).await?;
    assert_eq!(
        (status, &body["details"]["field"]),
        (400, &json!("integrity")),
        "{body}"
    );
    weights["integrity"] = json!(0.0);
    let (status, body) = put(weights).await?;
    assert_eq!(status, 200, "{body}");
    // Changing the weights rescores every asset (the measured dimensions' weights did not move,
    // so neither did the score; the weights it was computed with did).
    let rescored = wait_for(
        "the rescoring with the new weights",
        Duration::from_secs(60),
        || async {
            let score = control_plane.get(&path, "acme").await?;
            Ok(close(&score["weights"]["accuracy"], 0.3).then_some(score))
        },
    )
    .await?;
    assert!(close(&rescored["score"], expected), "{rescored}");

    let send = |method: reqwest::Method, path: String, token: String, body: Option<Value>| {
        let url = format!("{}{path}", control_plane.base_url());
        async move {
            let request = reqwest::Client::new().request(method, url).bearer_auth(token);
            let request = match body {
                Some(body) => request.json(&body),
                None => request,
            };
            let response = request.send().await?;
            let status = response.status().as_u16();
            let text = response.text().await?;
            anyhow::Ok((
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            ))
        }
    };
    // A check counted in another dimension than its template's: the failing validity check now
    // weighs on accuracy, validity is not measured any more, coverage follows the weights.
    let editor = mint_token(&stack.control_db.url, "acme", "editor").await?;
    let check = second["dimensions"]["validity"]["evidence"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let dimension_path = format!("/api/v1/assets/{customers}/checks/{check}/dimension");
    let (status, body) = send(
        reqwest::Method::PUT,
        dimension_path.clone(),
        editor.clone(),
        Some(json!({"dimension": "accurate"})),
    )
    .await?;
    assert_eq!(
        (status, &body["details"]["field"]),
        (400, &json!("dimension")),
        "{body}"
    );
    let (status, body) = send(
        reqwest::Method::PUT,
        format!("/api/v1/assets/{customers}/checks/no_such_check/dimension"),
        editor.clone(),
        Some(json!({"dimension": "accuracy"})),
    )
    .await?;
    assert_eq!(status, 404, "{body}");
    let (status, body) = send(
        reqwest::Method::PUT,
        dimension_path.clone(),
        editor.clone(),
        Some(json!({"dimension": "accuracy"})),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["template_dimension"], "validity", "{body}");
    assert_eq!(body["overridden"], true, "{body}");
    let moved = wait_for(
        "the check counted in accuracy",
        Duration::from_secs(60),
        || async {
            let score = control_plane.get(&path, "acme").await?;
            Ok(score["dimensions"]["validity"]["score"]
                .is_null()
                .then_some(score))
        },
    )
    .await?;
    assert!(
        close(&moved["dimensions"]["accuracy"]["score"], expected_validity),
        "{moved}"
    );
    assert!(close(&moved["coverage"], 0.2 + 0.3 + 0.1), "{moved}");

    // An asset's own weights replace the tenant's for it alone; removing them restores them.
    let weights_path = format!("/api/v1/assets/{customers}/score-weights");
    let own = json!({"completeness": 1.0, "accuracy": 0, "consistency": 0, "timeliness": 0,
                     "uniqueness": 0, "validity": 0, "integrity": 0});
    let (status, body) = send(
        reqwest::Method::PUT,
        weights_path.clone(),
        editor.clone(),
        Some(own.clone()),
    )
    .await?;
    assert_eq!(status, 403, "an editor cannot set weights: {body}");
    let (status, body) = send(
        reqwest::Method::PUT,
        weights_path.clone(),
        token.clone(),
        Some(own),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let weighted = wait_for("the asset's own weights", Duration::from_secs(60), || async {
        let score = control_plane.get(&path, "acme").await?;
        Ok(close(&score["weights"]["completeness"], 1.0).then_some(score))
    })
    .await?;
    assert!(close(&weighted["score"], expected_completeness), "{weighted}");
    assert!(close(&weighted["coverage"], 1.0), "{weighted}");
    let (status, body) = send(reqwest::Method::DELETE, weights_path, token.clone(), None).await?;
    assert_eq!(status, 204, "{body}");
    let restored = wait_for("the tenant's weights again", Duration::from_secs(60), || async {
        let score = control_plane.get(&path, "acme").await?;
        Ok(close(&score["weights"]["completeness"], 0.2).then_some(score))
    })
    .await?;
    assert!(close(&restored["coverage"], 0.6), "{restored}");
    Ok(())
}
