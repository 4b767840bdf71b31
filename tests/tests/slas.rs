//! SLAs and ROI through the REST API of an in-process control plane on a fresh database: ROI from
//! incidents with known start, detection and resolution times gives the exact data downtime, each
//! figure naming its incidents; with no incidents the endpoint says there is nothing to compute.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use chrono::{DateTime, Duration, DurationRound, Utc};
use cwic_control_plane::app::Application;
use cwic_e2e::{TestDb, mint_token, test_serve_config};
use serde_json::{Value, json};
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

/// A table of tenant acme, as an agent would have reported it; its id.
async fn insert_asset(db: &TestDb, name: &str) -> Uuid {
    let asset = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO assets (id, tenant_id, source_name, source_kind, schema_name, name, kind,
             agent_id, first_seen_at, last_seen_at)
         VALUES ($1, 'acme', 'wh', 'postgres', 'public', $2, 'table', 'a1', now(), now())",
    )
    .bind(asset)
    .bind(name)
    .execute(&db.pool)
    .await
    .unwrap();
    asset
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
    let mut all_by_start = Vec::new();
    let mut all = Vec::new();
    for (began, opened, resolved) in incidents {
        let id = Uuid::now_v7();
        all.push(id.to_string());
        all_by_start.push(id.to_string());
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

    // Cost assumptions: unset is a 404 that says how to set them; only an admin sets them, and
    // a bad value is a 400 naming the field.
    let (status, body) = get(&base, "/api/v1/settings/roi", &token).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("PUT /api/v1/settings/roi"),
        "{body}"
    );
    let admin = mint_token(&db.url, "acme", "admin").await.unwrap();
    let good = json!({"engineer_hourly_rate": 100, "downtime_hourly_cost": {"default": 500, "tier-1": 5000},
                      "platform_cost_per_month": 300, "baseline_detection_hours": 24});
    let (status, body) = put(&base, "/api/v1/settings/roi", &token, &good).await;
    assert_eq!(status, 403, "a viewer cannot set them: {body}");
    for (field, bad) in [
        (
            "engineer_hourly_rate",
            json!({"engineer_hourly_rate": -1, "downtime_hourly_cost": {"default": 1}, "platform_cost_per_month": 0}),
        ),
        (
            "downtime_hourly_cost.default",
            json!({"engineer_hourly_rate": 1, "downtime_hourly_cost": {"tier-1": 1}, "platform_cost_per_month": 0}),
        ),
        (
            "downtime_hourly_cost.tier-1",
            json!({"engineer_hourly_rate": 1, "downtime_hourly_cost": {"default": 1, "tier-1": -5}, "platform_cost_per_month": 0}),
        ),
        (
            "currency",
            json!({"engineer_hourly_rate": 1, "downtime_hourly_cost": {"default": 1}, "platform_cost_per_month": 0, "currency": "usd"}),
        ),
    ] {
        let (status, body) = put(&base, "/api/v1/settings/roi", &admin, &bad).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["details"]["field"], field, "{body}");
    }
    let (status, body) = put(&base, "/api/v1/settings/roi", &admin, &good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["currency"], "USD", "{body}");
    let (status, body) = get(&base, "/api/v1/settings/roi", &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["downtime_hourly_cost"]["tier-1"], 5000.0, "{body}");
    // With them the money figures appear: each incident saved (24 h − its time to detect) of an
    // engineer hour and an hour of downtime of an untiered asset; investment = a month's cost.
    let (status, body) = get(&base, "/api/v1/roi?period=30d", &token).await;
    assert_eq!(status, 200, "{body}");
    let figures = &body["figures"];
    let saved = 3.0 * 24.0 - (30.0 + 60.0 + 6.0) / 60.0;
    assert!(
        (figures["hours_saved"]["value"].as_f64().unwrap() - saved).abs() < 1e-9,
        "{body}"
    );
    let money = &figures["money"];
    assert!(
        (money["gains"]["value"].as_f64().unwrap() - saved * 600.0).abs() < 1e-6,
        "{body}"
    );
    assert!(
        (money["investment"].as_f64().unwrap() - 300.0).abs() < 1e-9,
        "{body}"
    );
    let roi = (saved * 600.0 - 300.0) / 300.0 * 100.0;
    assert!(
        (money["roi_percent"].as_f64().unwrap() - roi).abs() < 1e-6,
        "{body}"
    );
    assert_eq!(ids(&money["gains"]), all, "{body}");

    // An asset of tier-1: the first incident's downtime (30 min to detect, 23.5 h saved) now
    // costs 5,000 an hour instead of the default 500. Only an admin sets a tier; a bad name is a
    // 400 naming `tier`, an unknown asset a 404.
    let asset = insert_asset(&db, "orders").await;
    sqlx::query("UPDATE incidents SET asset_id = $1 WHERE id = $2")
        .bind(asset)
        .bind(Uuid::parse_str(&all_by_start[0]).unwrap())
        .execute(&db.pool)
        .await
        .unwrap();
    let tier_path = format!("/api/v1/assets/{asset}/tier");
    let (status, body) = put(&base, &tier_path, &token, &json!({"tier": "tier-1"})).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = put(&base, &tier_path, &admin, &json!({"tier": "Tier 1"})).await;
    assert_eq!(
        (status, body["details"]["field"].clone()),
        (400, json!("tier")),
        "{body}"
    );
    let (status, body) = put(
        &base,
        &format!("/api/v1/assets/{}/tier", Uuid::now_v7()),
        &admin,
        &json!({"tier": "tier-1"}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = put(&base, &tier_path, &admin, &json!({"tier": "tier-1"})).await;
    assert_eq!((status, body["tier"].clone()), (200, json!("tier-1")), "{body}");
    let (status, body) = get(&base, &format!("/api/v1/assets/{asset}"), &token).await;
    assert_eq!((status, body["tier"].clone()), (200, json!("tier-1")), "{body}");
    let (_, body) = get(&base, "/api/v1/roi?period=30d", &token).await;
    let gains = body["figures"]["money"]["gains"]["value"].as_f64().unwrap();
    let expected = saved * 600.0 + 23.5 * (5_000.0 - 500.0);
    assert!(
        (gains - expected).abs() < 1e-6,
        "gains {gains}, expected {expected}: {body}"
    );
    // Cleared, the default applies again.
    let (status, body) = put(&base, &tier_path, &admin, &json!({"tier": null})).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = get(&base, "/api/v1/roi?period=30d", &token).await;
    let gains = body["figures"]["money"]["gains"]["value"].as_f64().unwrap();
    assert!((gains - saved * 600.0).abs() < 1e-6, "{body}");

    let (status, body) = get(&base, "/api/v1/roi?period=3w", &token).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"]["field"], "period");
    cancel.cancel();
}

async fn put(base: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .put(format!("{base}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn post(base: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The test's own per-minute freshness computation: minute `m` of `[end − window, end)` is met
/// when the latest update at or before it is at most `bound` minutes old; no update yet: not
/// evaluated.
fn expected(end: DateTime<Utc>, window: i64, bound: i64, updates: &[DateTime<Utc>]) -> (i64, i64) {
    let (mut evaluated, mut met) = (0, 0);
    for i in 0..window {
        let minute = end - Duration::minutes(window - i);
        if let Some(latest) = updates.iter().filter(|u| **u <= minute).max() {
            evaluated += 1;
            if minute - *latest <= Duration::minutes(bound) {
                met += 1;
            }
        }
    }
    (evaluated, met)
}

#[tokio::test]
async fn freshness_sla_compliance_and_budget_are_exact_to_the_minute() {
    let db = TestDb::create("slas_freshness").await.unwrap();
    let viewer = mint_token(&db.url, "acme", "viewer").await.unwrap();
    let editor = mint_token(&db.url, "acme", "editor").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));

    let asset = insert_asset(&db, "orders").await;
    // Freshness history, minute-exact: (minutes before now, lag in seconds); the data was updated
    // at observed_at − lag.
    let t0 = Utc::now().duration_trunc(Duration::minutes(1)).unwrap();
    let points = [(1400, 600.0), (1000, 0.0), (500, 1800.0), (30, 0.0)];
    let mut updates = Vec::new();
    for (before, lag) in points {
        let observed_at = t0 - Duration::minutes(before);
        updates.push(observed_at - Duration::seconds(lag as i64));
        for month in [observed_at, t0] {
            sqlx::query("SELECT cwic_metric_partition($1)")
                .bind(month.date_naive())
                .execute(&db.pool)
                .await
                .unwrap();
        }
        sqlx::query(
            "INSERT INTO metric_points (tenant_id, asset_id, metric, column_name, observed_at, batch_id, value)
             VALUES ('acme', $1, 'freshness_lag', '', $2, $3, $4)",
        )
        .bind(asset)
        .bind(observed_at)
        .bind(Uuid::now_v7())
        .bind(lag)
        .execute(&db.pool)
        .await
        .unwrap();
    }

    // Writes need editor; bad input names its field.
    let sla = json!({"name": "orders fresh", "asset_id": asset, "target": 0.1, "window": "1d",
                     "freshness_bound_minutes": 60});
    let (status, body) = post(&base, "/api/v1/slas", &viewer, &sla).await;
    assert_eq!(status, 403, "{body}");
    let mut bad = sla.clone();
    bad["target"] = json!(1.5);
    let (status, body) = post(&base, "/api/v1/slas", &editor, &bad).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"]["field"], "target");
    let mut bad = sla.clone();
    bad["asset_id"] = json!(Uuid::now_v7());
    let (status, body) = post(&base, "/api/v1/slas", &editor, &bad).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"]["field"], "asset_id");
    let (status, created) = post(&base, "/api/v1/slas", &editor, &sla).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, list) = get(&base, "/api/v1/slas", &viewer).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], id.as_str());

    let (status, body) = get(&base, &format!("/api/v1/slas/{id}/compliance?window=1d"), &viewer).await;
    assert_eq!(status, 200, "{body}");
    // The server's window end (its now, truncated) is t0 or a minute later if a minute turned.
    let end: DateTime<Utc> = body["window_end"].as_str().unwrap().parse().unwrap();
    assert!(end == t0 || end == t0 + Duration::minutes(1), "{body}");
    let (evaluated, met) = expected(end, 1440, 60, &updates);
    let objective = &body["objectives"][0];
    assert_eq!(objective["objective"], "freshness");
    assert_eq!(objective["evaluated_minutes"], evaluated);
    assert_eq!(objective["met_minutes"], met);
    let percent = met as f64 / evaluated as f64 * 100.0;
    assert!(
        (objective["compliance_percent"].as_f64().unwrap() - percent).abs() < 1e-9,
        "{body}"
    );
    let budget = (1.0 - 0.1) * 1440.0;
    let spent = (evaluated - met) as f64;
    assert!(
        (objective["budget_minutes"].as_f64().unwrap() - budget).abs() < 1e-9,
        "{body}"
    );
    assert_eq!(objective["spent_minutes"].as_f64().unwrap(), spent);
    assert!(
        (objective["remaining_minutes"].as_f64().unwrap() - (budget - spent)).abs() < 1e-9,
        "{body}"
    );
    assert_eq!(objective["breached"], budget - spent <= 0.0);
    assert!(
        spent > 0.0 && budget - spent > 0.0,
        "the history spends part of the budget: {body}"
    );

    // The same figures as CSV (format=csv or Accept: text/csv).
    for request in [
        reqwest::Client::new()
            .get(format!("{base}/api/v1/slas/{id}/compliance?window=1d&format=csv"))
            .bearer_auth(&viewer),
        reqwest::Client::new()
            .get(format!("{base}/api/v1/slas/{id}/compliance?window=1d"))
            .header("accept", "text/csv")
            .bearer_auth(&viewer),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let text = response.text().await.unwrap();
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("sla_id,objective,"), "{text}");
        let row: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(row[1], "freshness");
        assert_eq!(row[8].parse::<f64>().unwrap(), budget);
    }

    // A score objective: the latest measured score carried forward, met when at least 80.
    let scores = [(600, 90.0), (300, 50.0), (100, 95.0)];
    for (before, score) in scores {
        sqlx::query(
            "INSERT INTO asset_scores (tenant_id, asset_id, computed_at, score, coverage, dimensions, weights)
             VALUES ('acme', $1, $2, $3, 1, '{}', '{}')",
        )
        .bind(asset)
        .bind(t0 - Duration::minutes(before))
        .bind(score)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    let (status, created) = post(
        &base,
        "/api/v1/slas",
        &editor,
        &json!({"name": "orders good", "asset_id": asset, "target": 0.9, "window": "1d", "min_score": 80}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let score_id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = get(
        &base,
        &format!("/api/v1/slas/{score_id}/compliance?window=1d"),
        &viewer,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let end: DateTime<Utc> = body["window_end"].as_str().unwrap().parse().unwrap();
    let (mut evaluated, mut met) = (0_i64, 0_i64);
    for i in 0..1440 {
        let minute = end - Duration::minutes(1440 - i);
        if let Some((_, score)) = scores
            .iter()
            .map(|(before, score)| (t0 - Duration::minutes(*before), *score))
            .filter(|(at, _)| *at <= minute)
            .max_by_key(|(at, _)| *at)
        {
            evaluated += 1;
            met += i64::from(score >= 80.0);
        }
    }
    let objective = &body["objectives"][0];
    assert_eq!(objective["objective"], "score", "{body}");
    assert_eq!(objective["evaluated_minutes"], evaluated, "{body}");
    assert_eq!(objective["met_minutes"], met, "{body}");
    let spent = (evaluated - met) as f64;
    assert_eq!(objective["spent_minutes"].as_f64().unwrap(), spent);
    assert!(
        (objective["remaining_minutes"].as_f64().unwrap() - (0.1 * 1440.0 - spent)).abs() < 1e-9,
        "{body}"
    );
    assert_eq!(objective["breached"], true, "{body}");

    // Without `window` the SLA's own window (1d here, not the 30d default of a new SLA).
    let (status, body) = get(&base, &format!("/api/v1/slas/{id}/compliance"), &viewer).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["objectives"][0]["window_minutes"], 1440, "{body}");

    let (status, body) = get(&base, &format!("/api/v1/slas/{id}/compliance?window=2w"), &viewer).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"]["field"], "window");
    let (status, body) = get(
        &base,
        &format!("/api/v1/slas/{}/compliance", Uuid::now_v7()),
        &viewer,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    cancel.cancel();
}

/// The test's own availability: minute `m` is met when of the collections in `(m − 24 h, m]` at
/// least `min` succeeded; none: not evaluated.
fn availability(
    end: DateTime<Utc>,
    window: i64,
    min: f64,
    collections: &[(DateTime<Utc>, bool)],
) -> Vec<Option<bool>> {
    (0..window)
        .map(|i| {
            let minute = end - Duration::minutes(window - i);
            let span: Vec<bool> = collections
                .iter()
                .filter(|(at, _)| *at <= minute && *at > minute - Duration::hours(24))
                .map(|(_, ok)| *ok)
                .collect();
            (!span.is_empty())
                .then(|| span.iter().filter(|ok| **ok).count() as f64 >= min * span.len() as f64)
        })
        .collect()
}

/// Availability, open criticals and the time to acknowledge, on an asset and on a tag (two
/// assets), exact to the minute; the evaluator job of the running control plane keeps each
/// objective's state and emits `sla.breached` and `sla.budget_exhausted` once per transition.
#[tokio::test]
async fn every_objective_is_evaluated_continuously_and_breaches_become_events_once() {
    let db = TestDb::create("slas_objectives").await.unwrap();
    let viewer = mint_token(&db.url, "acme", "viewer").await.unwrap();
    let editor = mint_token(&db.url, "acme", "editor").await.unwrap();
    let mut config = test_serve_config(&db.url);
    config.jobs.sla_every = std::time::Duration::from_millis(300);
    config.jobs.poll = std::time::Duration::from_millis(50);
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));

    let t0 = Utc::now().duration_trunc(Duration::minutes(1)).unwrap();
    let (orders, payments) = (
        insert_asset(&db, "orders").await,
        insert_asset(&db, "payments").await,
    );
    let mut collections = std::collections::BTreeMap::new();
    for asset in [orders, payments] {
        sqlx::query(
            "INSERT INTO check_results (tenant_id, asset_id, check_name, observed_at, batch_id, template,
                 dimension, severity, status, tags)
             VALUES ('acme', $1, 'rows', now(), $2, 'row_count', 'completeness', 'high', 'pass', '{finance}')",
        )
        .bind(asset)
        .bind(Uuid::now_v7())
        .execute(&db.pool)
        .await
        .unwrap();
        // A collection every 20 minutes over the last 27 hours (72 in any 24 h). Orders failed
        // 10 times 22 to 25 hours ago (leaving the 24 h span during the window: missed, then
        // met), payments its last 10 times (entering it: met, then missed).
        let mut history = Vec::new();
        for k in 0..81_i64 {
            let at = t0 - Duration::minutes(20 * k) - Duration::seconds(30);
            let ok = if asset == orders {
                !(66..=75).contains(&k)
            } else {
                k >= 10
            };
            history.push((at, ok));
            sqlx::query(
                "INSERT INTO asset_collections (tenant_id, asset_id, collected_at, batch_id, succeeded, error)
                 VALUES ('acme', $1, $2, $3, $4, CASE WHEN $4 THEN NULL ELSE 'connection refused' END)",
            )
            .bind(asset)
            .bind(at)
            .bind(Uuid::now_v7())
            .bind(ok)
            .execute(&db.pool)
            .await
            .unwrap();
        }
        collections.insert(asset, history);
    }
    // A critical incident on orders, opened 30 minutes ago, neither acknowledged nor resolved.
    sqlx::query(
        "INSERT INTO incidents (id, tenant_id, asset_id, source_kind, severity, title, began_at, opened_at)
         VALUES ($1, 'acme', $2, 'check', 'critical', 'orders: 12 % NULL emails', $3, $3)",
    )
    .bind(Uuid::now_v7())
    .bind(orders)
    .bind(t0 - Duration::minutes(30))
    .execute(&db.pool)
    .await
    .unwrap();

    // Bad input names its field: both an asset and a tag, a share above 1.
    for (field, bad) in [
        (
            "asset_id",
            json!({"name": "x", "asset_id": orders, "tag": "finance", "max_open_critical": 0}),
        ),
        ("asset_id", json!({"name": "x", "max_open_critical": 0})),
        (
            "min_availability",
            json!({"name": "x", "tag": "finance", "min_availability": 1.5}),
        ),
        (
            "ack_within_minutes",
            json!({"name": "x", "tag": "finance", "ack_within_minutes": 0}),
        ),
    ] {
        let (status, body) = post(&base, "/api/v1/slas", &editor, &bad).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["details"]["field"], field, "{body}");
    }
    let (status, on_orders) = post(
        &base,
        "/api/v1/slas",
        &editor,
        &json!({"name": "orders operated", "asset_id": orders, "target": 0.9, "window": "2h",
                "max_open_critical": 0, "ack_within_minutes": 10, "resolve_within_minutes": 240,
                "min_availability": 0.9}),
    )
    .await;
    assert_eq!(status, 201, "{on_orders}");
    let (status, on_finance) = post(
        &base,
        "/api/v1/slas",
        &editor,
        &json!({"name": "finance available", "tag": "finance", "target": 0.5, "window": "2h",
                "min_availability": 0.9}),
    )
    .await;
    assert_eq!(status, 201, "{on_finance}");
    assert_eq!(on_finance["tag"], "finance");
    assert!(on_finance["asset_id"].is_null());

    let objective = |body: &Value, name: &str| -> Value {
        body["objectives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["objective"] == name)
            .unwrap_or_else(|| panic!("no {name} in {body}"))
            .clone()
    };
    let counts = |minutes: &[Option<bool>]| {
        (
            minutes.iter().filter(|m| m.is_some()).count() as i64,
            minutes.iter().filter(|m| **m == Some(true)).count() as i64,
        )
    };
    let id = on_orders["id"].as_str().unwrap();
    let (status, body) = get(&base, &format!("/api/v1/slas/{id}/compliance"), &viewer).await;
    assert_eq!(status, 200, "{body}");
    let end: DateTime<Utc> = body["window_end"].as_str().unwrap().parse().unwrap();
    let opened = t0 - Duration::minutes(30);
    // Open criticals: every minute from the opening on is missed.
    let missed = (end - opened).num_minutes();
    let open = objective(&body, "open_critical");
    assert_eq!(open["evaluated_minutes"], 120, "{open}");
    assert_eq!(open["spent_minutes"].as_f64().unwrap(), missed as f64, "{open}");
    assert_eq!(open["met_now"], false, "{open}");
    assert_eq!(
        open["breached"], true,
        "30 minutes spend a 12-minute budget: {open}"
    );
    // Acknowledge within 10 minutes: missed from 10 minutes after the opening.
    let ack = objective(&body, "acknowledge");
    assert_eq!(
        ack["spent_minutes"].as_f64().unwrap(),
        (missed - 10) as f64,
        "{ack}"
    );
    assert_eq!(ack["breached"], true, "{ack}");
    // Resolve within 4 hours: nothing missed yet.
    let resolve = objective(&body, "resolve");
    assert_eq!(resolve["spent_minutes"].as_f64().unwrap(), 0.0, "{resolve}");
    assert_eq!(resolve["met_now"], true, "{resolve}");
    let available = objective(&body, "availability");
    let (evaluated, met) = counts(&availability(end, 120, 0.9, &collections[&orders]));
    assert_eq!(available["evaluated_minutes"], evaluated, "{available}");
    assert_eq!(available["met_minutes"], met, "{available}");
    assert!(
        evaluated > met && met > 0,
        "the history spends part of it: {available}"
    );

    // The tag's SLA: a minute is met when both assets met it.
    let id = on_finance["id"].as_str().unwrap();
    let (status, body) = get(&base, &format!("/api/v1/slas/{id}/compliance"), &viewer).await;
    assert_eq!(status, 200, "{body}");
    let end: DateTime<Utc> = body["window_end"].as_str().unwrap().parse().unwrap();
    let a = availability(end, 120, 0.9, &collections[&orders]);
    let b = availability(end, 120, 0.9, &collections[&payments]);
    let both: Vec<Option<bool>> = a
        .iter()
        .zip(&b)
        .map(|(a, b)| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(true) && b.unwrap_or(true)),
        })
        .collect();
    let (evaluated, met) = counts(&both);
    let available = objective(&body, "availability");
    assert_eq!(available["evaluated_minutes"], evaluated, "{available}");
    assert_eq!(available["met_minutes"], met, "{available}");
    assert!(
        counts(&a).1 > met,
        "payments' failures count against the tag: {available}"
    );

    // The evaluator (every 300 ms here) records each objective and emits each transition once.
    let events = || async {
        let rows: Vec<(String, Value)> =
            sqlx::query_as("SELECT kind, data FROM outbox WHERE kind LIKE 'sla.%' ORDER BY occurred_at, id")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        rows
    };
    let evaluations_done = || async {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE kind = 'evaluate_slas' AND state = 'succeeded'",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        done
    };
    cwic_e2e::wait_for(
        "an evaluation of every objective",
        std::time::Duration::from_secs(60),
        || async {
            let objectives: i64 =
                sqlx::query_scalar("SELECT count(DISTINCT (sla_id, objective)) FROM sla_evaluations")
                    .fetch_one(&db.pool)
                    .await?;
            Ok((objectives == 5).then_some(()))
        },
    )
    .await
    .unwrap();
    // A few more evaluations of the same state: no new events, no new rows.
    let seen = evaluations_done().await;
    cwic_e2e::wait_for(
        "three more evaluations",
        std::time::Duration::from_secs(60),
        || async { Ok((evaluations_done().await >= seen + 3).then_some(())) },
    )
    .await
    .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sla_evaluations")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 5, "one kept row per objective while its state holds");
    let first = events().await;
    let orders_id = on_orders["id"].as_str().unwrap();
    let of = |kind: &str, objective: &str| {
        first
            .iter()
            .filter(|(k, data)| k == kind && data["objective"] == objective && data["sla_id"] == orders_id)
            .count()
    };
    assert_eq!(of("sla.breached", "open_critical"), 1, "{first:?}");
    assert_eq!(of("sla.budget_exhausted", "open_critical"), 1, "{first:?}");
    assert_eq!(of("sla.breached", "acknowledge"), 1, "{first:?}");
    assert_eq!(of("sla.breached", "resolve"), 0, "{first:?}");
    let breach = first
        .iter()
        .find(|(k, data)| k == "sla.breached" && data["objective"] == "open_critical")
        .unwrap();
    assert_eq!(breach.1["asset_id"], orders.to_string());
    assert!(
        breach.1["description"]
            .as_str()
            .unwrap()
            .starts_with("orders operated: open critical incidents not met"),
        "{breach:?}"
    );
    let (met_now, breached): (Option<bool>, bool) = sqlx::query_as(
        "SELECT met_now, breached FROM sla_evaluations WHERE objective = 'open_critical'
         ORDER BY evaluated_at DESC LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((met_now, breached), (Some(false), true));

    // Acknowledged and resolved (two minutes ago: the last evaluated minute is the one before
    // now's): met again, and a recovery is no new breach.
    sqlx::query(
        "UPDATE incidents SET acknowledged_at = now() - interval '2 minutes',
                              resolved_at = now() - interval '2 minutes', status = 'resolved'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    cwic_e2e::wait_for(
        "open criticals met again",
        std::time::Duration::from_secs(60),
        || async {
            let met: Option<bool> = sqlx::query_scalar(
                "SELECT met_now FROM sla_evaluations WHERE objective = 'open_critical'
             ORDER BY evaluated_at DESC LIMIT 1",
            )
            .fetch_one(&db.pool)
            .await?;
            Ok((met == Some(true)).then_some(()))
        },
    )
    .await
    .unwrap();
    let after = events().await;
    assert_eq!(
        after
            .iter()
            .filter(|(k, data)| k == "sla.breached" && data["objective"] == "open_critical")
            .count(),
        1,
        "a recovery is no new breach: {after:?}"
    );
    cancel.cancel();
}

/// A score SLA projects its budget's exhaustion from the forecast of the asset's `quality_score`
/// series: a score falling a quarter point an hour crosses the minimum about 32 hours ahead, and
/// the untouched budget of 144 minutes runs out 2.4 hours after that; with a minimum the forecast
/// does not reach within 7 days, there is no projection.
#[tokio::test]
async fn a_score_slas_exhaustion_is_projected_from_the_score_forecast() {
    let db = TestDb::create("slas_projection").await.unwrap();
    let viewer = mint_token(&db.url, "acme", "viewer").await.unwrap();
    let editor = mint_token(&db.url, "acme", "editor").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));

    let asset = insert_asset(&db, "orders").await;
    // A week of hourly scores ending now: 90 falling 0.25 an hour (to 48), with a little noise.
    let now = Utc::now().duration_trunc(Duration::hours(1)).unwrap();
    let hours = 7 * 24;
    for hour in 0..=hours {
        let observed_at = now - Duration::hours(hours - hour);
        sqlx::query("SELECT cwic_metric_partition($1)")
            .bind(observed_at.date_naive())
            .execute(&db.pool)
            .await
            .unwrap();
        let noise = ((hour * 37) % 11 - 5) as f64 * 0.05;
        sqlx::query(
            "INSERT INTO metric_points (tenant_id, asset_id, metric, column_name, observed_at, batch_id, value)
             VALUES ('acme', $1, 'quality_score', '', $2, $3, $4)",
        )
        .bind(asset)
        .bind(observed_at)
        .bind(Uuid::nil())
        .bind(90.0 - 0.25 * hour as f64 + noise)
        .execute(&db.pool)
        .await
        .unwrap();
    }

    let compliance = |min_score: f64| {
        let (base, editor, viewer) = (base.clone(), editor.clone(), viewer.clone());
        async move {
            let sla = json!({"name": format!("orders above {min_score}"), "asset_id": asset,
                             "target": 0.9, "window": "1d", "min_score": min_score});
            let (status, created) = post(&base, "/api/v1/slas", &editor, &sla).await;
            assert_eq!(status, 201, "{created}");
            let id = created["id"].as_str().unwrap().to_owned();
            let (status, body) = get(&base, &format!("/api/v1/slas/{id}/compliance"), &viewer).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let body = compliance(40.0).await;
    let objective = &body["objectives"][0];
    assert_eq!(objective["objective"], "score");
    assert!(
        (objective["remaining_minutes"].as_f64().unwrap() - 144.0).abs() < 1e-9,
        "{body}"
    );
    // No computation was kept yet: nothing is spent, so the last hour projects nothing.
    assert_eq!(objective["exhausts_at"], Value::Null);
    let projected: DateTime<Utc> = objective["forecast_exhausts_at"]
        .as_str()
        .unwrap_or_else(|| panic!("a projection: {body}"))
        .parse()
        .unwrap();
    // The trend crosses 40 at 48 / 0.25 = 32 h after the last point; then 144 minutes.
    let expected = now + Duration::hours(32) + Duration::minutes(144);
    let off = (projected - expected).num_minutes().abs();
    assert!(
        off <= 90,
        "projected {projected}, expected about {expected} ({off} min off)"
    );

    let body = compliance(0.0).await;
    assert_eq!(
        body["objectives"][0]["forecast_exhausts_at"],
        Value::Null,
        "{body}"
    );
    cancel.cancel();
}
