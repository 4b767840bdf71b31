//! SLAs and ROI through the REST API of an in-process control plane on a fresh database: ROI from
//! incidents with known start, detection and resolution times gives the exact data downtime, each
//! figure naming its incidents; with no incidents the endpoint says there is nothing to compute.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use chrono::{Duration, Utc};
use cwic_control_plane::app::Application;
use cwic_e2e::{TestDb, mint_token, test_serve_config};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn get(base: &str, path: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn ids(figure: &Value) -> Vec<String> {
    let mut ids: Vec<String> = figure["incident_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn roi_downtime_is_exact_and_nothing_is_invented_without_incidents() {
    let db = TestDb::create("slas_roi").await.unwrap();
    let token = mint_token(&db.url, "acme", "viewer").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));

    // No incidents: nothing to compute, no figures.
    let (status, body) = get(&base, "/api/v1/roi?period=30d", &token).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["figures"].is_null(), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("nothing to compute"),
        "{body}"
    );

    // Three incidents, whole seconds: (began, opened, resolved) in minutes before now.
    let now = Utc::now();
    let incidents = [(300, 270, Some(150)), (200, 140, Some(110)), (100, 94, None)];
    let mut expected_seconds = 0_i64;
    let mut all = Vec::new();
    for (began, opened, resolved) in incidents {
        let id = Uuid::now_v7();
        all.push(id.to_string());
        let began_at = now - Duration::minutes(began);
        let opened_at = now - Duration::minutes(opened);
        let resolved_at = resolved.map(|m| now - Duration::minutes(m));
        expected_seconds += (opened_at - began_at).num_seconds();
        if let Some(resolved_at) = resolved_at {
            expected_seconds += (resolved_at - opened_at).num_seconds();
        }
        sqlx::query(
            "INSERT INTO incidents (id, tenant_id, source_kind, severity, title, began_at,
                 opened_at, resolved_at, status, caught_before_downstream)
             VALUES ($1, 'acme', 'anomaly', 'high', 'row count drop', $2, $3, $4,
                     CASE WHEN $4 IS NULL THEN 'open' ELSE 'resolved' END, true)",
        )
        .bind(id)
        .bind(began_at)
        .bind(opened_at)
        .bind(resolved_at)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    // Another tenant's incident never counts.
    sqlx::query("INSERT INTO tenants (id, name) VALUES ('globex', 'globex') ON CONFLICT DO NOTHING")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO incidents (id, tenant_id, source_kind, severity, title, began_at, opened_at)
         VALUES ($1, 'globex', 'anomaly', 'low', 'x', now() - interval '1 day', now())",
    )
    .bind(Uuid::now_v7())
    .execute(&db.pool)
    .await
    .unwrap();

    let (status, body) = get(&base, "/api/v1/roi?period=30d", &token).await;
    assert_eq!(status, 200, "{body}");
    let figures = &body["figures"];
    all.sort();
    assert_eq!(figures["incidents"]["value"], 3.0);
    assert_eq!(ids(&figures["incidents"]), all);
    // Resolved incidents: exact. The open one resolves "until now" (the server's now, a moment
    // after ours), so its resolve part is at least 94 minutes and a little more.
    let detect = figures["detect_hours"]["value"].as_f64().unwrap();
    assert!(
        (detect * 3600.0 - (30.0 + 60.0 + 6.0) * 60.0).abs() < 1e-6,
        "{detect}"
    );
    let downtime = figures["downtime_hours"]["value"].as_f64().unwrap() * 3600.0;
    let open_part = downtime - expected_seconds as f64;
    assert!(
        (94.0 * 60.0..94.0 * 60.0 + 60.0).contains(&open_part),
        "downtime {downtime} s, expected {expected_seconds} s + the open incident's ~5640 s"
    );
    assert_eq!(figures["unresolved"]["value"], 1.0);
    assert_eq!(figures["caught_before_downstream"]["value"], 3.0);
    assert!(figures["money"].is_null(), "no cost settings: no money figures");

    let (status, body) = get(&base, "/api/v1/roi?period=3w", &token).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"]["field"], "period");
    cancel.cancel();
}
