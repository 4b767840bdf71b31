//! Durable delivery of notifications: the control plane killed with SIGKILL while 1,000 are queued
//! and the receiver is slow, every one arrives after the restart (counted by delivery id); a
//! receiver answering 429 with `Retry-After: 2` is retried no sooner; a notification whose every
//! attempt failed is dead, listed, and re-sent on request. And a person's changes to an incident.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::Utc;
use cwic_control_plane::app::Application;
use cwic_control_plane::events::{CheckResultStored, Event, EventData};
use cwic_control_plane::incidents::engine;
use cwic_control_plane::store::Store;
use cwic_e2e::{ControlPlane, NatsServer, TestDb, mint_token, test_serve_config, wait_for};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn ensure_tenant(db: &TestDb) {
    sqlx::query("INSERT INTO tenants (id, name) VALUES ('acme', 'acme') ON CONFLICT DO NOTHING")
        .execute(&db.pool)
        .await
        .unwrap();
}

async fn insert_asset(db: &TestDb, name: &str) -> Uuid {
    ensure_tenant(db).await;
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

async fn insert_channel(db: &TestDb, name: &str, url: &str) -> Uuid {
    ensure_tenant(db).await;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO channels (id, tenant_id, kind, name, settings, secret)
         VALUES ($1, 'acme', 'webhook', $2, jsonb_build_object('url', $3::text), 'a-secret-of-sixteen-chars')",
    )
    .bind(id)
    .bind(name)
    .bind(url)
    .execute(&db.pool)
    .await
    .unwrap();
    id
}

fn check_event(asset: Uuid, check: &str, status: &str, severity: &str) -> Event {
    Event::at(
        "acme",
        Utc::now(),
        EventData::CheckResultStored(CheckResultStored {
            asset_id: asset,
            check: check.to_owned(),
            status: status.to_owned(),
            severity: severity.to_owned(),
            dimension: "validity".to_owned(),
            observed_at: Utc::now(),
            batch_id: Uuid::now_v7(),
            failing_rows: Some(3),
            total_rows: Some(100),
        }),
    )
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// A slow receiver: each message is held a while, then counted by its delivery id, with the time
/// it first arrived.
#[derive(Default)]
struct Tally {
    arrived: AtomicUsize,
    completed: Mutex<HashMap<String, usize>>,
    first_arrival: Mutex<HashMap<String, Instant>>,
}

#[tokio::test]
async fn queued_notifications_survive_a_sigkill_and_each_arrives_once() {
    let db = TestDb::create("notify_kill").await.unwrap();
    let nats = NatsServer::start().await.unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let tally = Arc::new(Tally::default());
    let keep = tally.clone();
    let app = axum::Router::new().route(
        "/slow",
        post(move |headers: HeaderMap| {
            let keep = keep.clone();
            async move {
                keep.arrived.fetch_add(1, Ordering::SeqCst);
                let id = headers["x-cwic-delivery"].to_str().unwrap().to_owned();
                keep.first_arrival
                    .lock()
                    .unwrap()
                    .entry(id.clone())
                    .or_insert_with(Instant::now);
                tokio::time::sleep(Duration::from_millis(150)).await;
                *keep.completed.lock().unwrap().entry(id).or_default() += 1;
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hooks = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    insert_channel(&db, "slow", &hooks).await;
    let asset = insert_asset(&db, "orders").await;

    // 1,000 critical failures on 1,000 rules: 1,000 incidents, 1,000 queued notifications.
    let events: Vec<Event> = (0..1000)
        .map(|i| check_event(asset, &format!("rule_{i:04}"), "fail", "critical"))
        .collect();
    let applied = engine::apply(&store, &events).await.unwrap();
    assert_eq!((applied.opened, applied.notifications), (1000, 1000));

    let env = vec![("CWIC_JOB_LEASE_MS".to_owned(), "2000".to_owned())];
    let mut control_plane = ControlPlane::start_with_env(&db.url, &nats.url(), env)
        .await
        .unwrap();
    wait_for("some deliveries", Duration::from_secs(60), || async {
        Ok((tally.completed.lock().unwrap().len() >= 200).then_some(()))
    })
    .await
    .unwrap();
    control_plane.kill().unwrap();
    let at_kill = tally.completed.lock().unwrap().len();
    assert!(
        at_kill < 1000,
        "the kill came too late to test anything ({at_kill} delivered)"
    );
    // What arrives before the restart was sent by the dead replica (a request it wrote just
    // before dying may reach the receiver's handler a little after the kill returned).
    let restarted_at = Instant::now();
    control_plane.restart().await.unwrap();
    wait_for("every notification sent", Duration::from_secs(120), || async {
        let sent = count(&db, "SELECT count(*) FROM notifications WHERE state = 'sent'").await;
        Ok((sent == 1000).then_some(()))
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let completed = tally.completed.lock().unwrap().clone();
    let first_arrival = tally.first_arrival.lock().unwrap().clone();
    let repeats: Vec<&String> = completed
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    println!(
        "killed after {at_kill} of 1000 delivered; {} requests arrived in all; {} ids arrived twice",
        tally.arrived.load(Ordering::SeqCst),
        repeats.len()
    );
    // Each notification arrives, under one id; the only repeats are messages that were on the
    // wire when the replica died (sent, not yet recorded), each with the id of its first copy,
    // so that a receiver drops it. At most the two workers' batches were in flight.
    assert_eq!(completed.len(), 1000, "every notification arrives");
    assert!(completed.values().all(|n| *n <= 2), "{completed:?}");
    assert!(repeats.len() <= 2 * 64, "{} repeats", repeats.len());
    for id in &repeats {
        assert!(
            first_arrival[*id] < restarted_at,
            "{id} was repeated without a crash in between"
        );
    }
    assert_eq!(count(&db, "SELECT count(*) FROM notifications").await, 1000);
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_a_dead_notification_is_listed_and_resent() {
    let db = TestDb::create("notify_retry").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let store = Store::connect(&db.url).await.unwrap();

    // `/limited` answers 429 (Retry-After: 2) the first time; `/down` fails until switched on.
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let up = Arc::new(AtomicBool::new(false));
    let (keep, switch) = (arrivals.clone(), up.clone());
    let receiver = axum::Router::new()
        .route(
            "/limited",
            post(move || {
                let keep = keep.clone();
                async move {
                    let mut arrivals = keep.lock().unwrap();
                    arrivals.push(Instant::now());
                    if arrivals.len() == 1 {
                        let mut headers = HeaderMap::new();
                        headers.insert("retry-after", HeaderValue::from_static("2"));
                        (StatusCode::TOO_MANY_REQUESTS, headers).into_response()
                    } else {
                        StatusCode::OK.into_response()
                    }
                }
            }),
        )
        .route(
            "/down",
            post(move || {
                let switch = switch.clone();
                async move {
                    if switch.load(Ordering::SeqCst) {
                        StatusCode::OK
                    } else {
                        StatusCode::BAD_GATEWAY
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hooks = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let limited = insert_channel(&db, "limited", &format!("{hooks}/limited")).await;
    let down = insert_channel(&db, "down", &format!("{hooks}/down")).await;
    let asset = insert_asset(&db, "payments").await;
    let applied = engine::apply(&store, &[check_event(asset, "unique(id)", "fail", "high")])
        .await
        .unwrap();
    assert_eq!((applied.opened, applied.notifications), (1, 2));
    // The failing receiver's notification gets a single attempt, so that it dies now.
    sqlx::query(
        "UPDATE jobs SET max_attempts = 1
         WHERE kind = 'deliver_notification'
           AND (payload->>'notification')::uuid IN (SELECT id FROM notifications WHERE channel_id = $1)",
    )
    .bind(down)
    .execute(&db.pool)
    .await
    .unwrap();

    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));
    wait_for("the retry", Duration::from_secs(30), || async {
        Ok((arrivals.lock().unwrap().len() >= 2).then_some(()))
    })
    .await
    .unwrap();
    let gap = {
        let arrivals = arrivals.lock().unwrap();
        arrivals[1] - arrivals[0]
    };
    assert!(gap >= Duration::from_secs(2), "retried after {gap:?}");
    assert!(gap < Duration::from_secs(6), "retried after {gap:?}");

    let editor = mint_token(&db.url, "acme", "editor").await.unwrap();
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client.get(format!("{base}{path}")).bearer_auth(&editor);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let dead = wait_for("the dead notification", Duration::from_secs(30), || async {
        let page = get("/api/v1/notifications?state=dead".into()).await;
        Ok(page["items"]
            .as_array()
            .filter(|items| items.len() == 1)
            .map(|items| items[0].clone()))
    })
    .await
    .unwrap();
    assert_eq!(dead["channel"], "down");
    assert_eq!(dead["last_status"], 502);
    assert!(dead["last_error"].as_str().unwrap().contains("502"), "{dead}");
    let sent = get("/api/v1/notifications?state=sent".into()).await;
    let sent = &sent["items"].as_array().unwrap()[0];
    assert_eq!(
        (sent["channel_id"].as_str().unwrap(), sent["attempts"].as_i64()),
        (limited.to_string().as_str(), Some(2))
    );

    // Only a dead notification is re-sent; once the receiver is back, it goes out.
    let resend = |id: String| {
        let request = client
            .post(format!("{base}/api/v1/notifications/{id}/resend"))
            .bearer_auth(&editor);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, refused) = resend(sent["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, 409, "{refused}");
    up.store(true, Ordering::SeqCst);
    let (status, queued) = resend(dead["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        (status, queued["state"].as_str()),
        (200, Some("queued")),
        "{queued}"
    );
    wait_for("the re-sent notification", Duration::from_secs(30), || async {
        let page = get("/api/v1/notifications?state=sent".into()).await;
        Ok((page["items"].as_array().unwrap().len() == 2).then_some(()))
    })
    .await
    .unwrap();
    let incident = &get("/api/v1/incidents".into()).await["items"][0];
    let detail = get(format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap())).await;
    let kinds: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"notification_failed") && kinds.contains(&"resent"),
        "{kinds:?}"
    );
    cancel.cancel();
}

#[tokio::test]
async fn people_acknowledge_snooze_resolve_and_close_incidents_and_wrong_input_is_refused() {
    let db = TestDb::create("incident_api").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let store = Store::connect(&db.url).await.unwrap();
    let asset = insert_asset(&db, "orders").await;
    insert_channel(&db, "#data-eng", "http://127.0.0.1:9/nowhere").await;
    let events: Vec<Event> = ["a", "b", "c"]
        .iter()
        .map(|check| check_event(asset, check, "fail", "high"))
        .chain([check_event(asset, "d", "fail", "medium")])
        .collect();
    let applied = engine::apply(&store, &events).await.unwrap();
    assert_eq!(
        (applied.opened, applied.notifications),
        (4, 3),
        "medium is not routed by default"
    );
    // The same events again (a redelivery) change nothing.
    assert_eq!(engine::apply(&store, &events).await.unwrap().alerts, 0);
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));

    let editor = mint_token(&db.url, "acme", "editor").await.unwrap();
    let viewer = mint_token(&db.url, "acme", "viewer").await.unwrap();
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, token: &str, body: Option<Value>| {
        let mut request = client.request(method, format!("{base}{path}")).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, open) = call(
        reqwest::Method::GET,
        "/api/v1/incidents?status=open".into(),
        &viewer,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let items = open["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    for item in items {
        for field in ["id", "status", "severity", "asset", "opened_at", "alerts"] {
            assert!(!item[field].is_null(), "{field} missing: {item}");
        }
        assert_eq!(item["asset"], "public.orders");
    }
    let id = |rule: &str| {
        items
            .iter()
            .find(|item| item["rule"] == format!("check:{rule}"))
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let post = |path: String, body: Option<Value>| call(reqwest::Method::POST, path, &editor, body);

    // Wrong input, each refused naming the field; a viewer may not change anything.
    let (status, error) = call(
        reqwest::Method::GET,
        "/api/v1/incidents?status=burning".into(),
        &viewer,
        None,
    )
    .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("status")),
        "{error}"
    );
    let (status, _) = call(
        reqwest::Method::POST,
        format!("/api/v1/incidents/{}/acknowledge", id("a")),
        &viewer,
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, error) = post(
        format!("/api/v1/incidents/{}/snooze", id("b")),
        Some(json!({"minutes": 0})),
    )
    .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("minutes")),
        "{error}"
    );
    let (status, error) = post(
        format!("/api/v1/incidents/{}/close", id("c")),
        Some(json!({"reason": "meh"})),
    )
    .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("reason")),
        "{error}"
    );
    let (status, _) = post(format!("/api/v1/incidents/{}/acknowledge", Uuid::now_v7()), None).await;
    assert_eq!(status, 404);

    let (status, acked) = post(
        format!("/api/v1/incidents/{}/acknowledge", id("a")),
        Some(json!({"note": "looking"})),
    )
    .await;
    assert_eq!(
        (status, acked["status"].as_str()),
        (200, Some("acknowledged")),
        "{acked}"
    );
    assert!(acked["acknowledged_at"].is_string());
    let (status, snoozed) = post(
        format!("/api/v1/incidents/{}/snooze", id("b")),
        Some(json!({"minutes": 60})),
    )
    .await;
    assert_eq!(
        (status, snoozed["status"].as_str()),
        (200, Some("snoozed")),
        "{snoozed}"
    );
    assert!(snoozed["snoozed_until"].is_string());
    let (status, resolved) = post(
        format!("/api/v1/incidents/{}/resolve", id("a")),
        Some(json!({"note": "reloaded"})),
    )
    .await;
    assert_eq!(
        (status, resolved["status"].as_str()),
        (200, Some("resolved")),
        "{resolved}"
    );
    assert!(resolved["resolution"].as_str().unwrap().ends_with(": reloaded"));
    let (status, again) = post(format!("/api/v1/incidents/{}/resolve", id("a")), None).await;
    assert_eq!(status, 409, "{again}");
    let (status, closed) = post(
        format!("/api/v1/incidents/{}/close", id("c")),
        Some(json!({"reason": "expected"})),
    )
    .await;
    assert_eq!(
        (status, closed["close_reason"].as_str()),
        (200, Some("expected")),
        "{closed}"
    );
    let (status, commented) = post(
        format!("/api/v1/incidents/{}/comments", id("d")),
        Some(json!({"text": "known"})),
    )
    .await;
    assert_eq!(status, 200);
    let last = commented["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["message"].as_str()),
        (Some("comment"), Some("known"))
    );

    let (_, open) = call(
        reqwest::Method::GET,
        "/api/v1/incidents?status=open".into(),
        &viewer,
        None,
    )
    .await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1, "only d is still open");
    let (_, active) = call(
        reqwest::Method::GET,
        "/api/v1/incidents?status=active".into(),
        &viewer,
        None,
    )
    .await;
    assert_eq!(active["items"].as_array().unwrap().len(), 2, "b (snoozed) and d");
    // A resolve told the channel that heard of the opening: a "resolved" is queued for a and c.
    assert_eq!(
        count(&db, "SELECT count(*) FROM notifications WHERE event = 'resolved'").await,
        2
    );
    // A new failure of a resolved rule opens a new incident; one on the open rule joins it.
    let applied = engine::apply(
        &store,
        &[
            check_event(asset, "a", "fail", "high"),
            check_event(asset, "d", "fail", "medium"),
        ],
    )
    .await
    .unwrap();
    assert_eq!((applied.opened, applied.joined), (1, 1));
    // Every change is audited.
    let audited = count(
        &db,
        "SELECT count(*) FROM audit_log WHERE action LIKE 'POST /api/v1/incidents/%'",
    )
    .await;
    assert!(audited >= 5, "{audited} audited changes");
    cancel.cancel();
}

/// What a channel receiver got: (path with query, authorization header, body).
type Captured = Arc<Mutex<Vec<(String, String, Value)>>>;

#[tokio::test]
async fn every_channel_kind_gets_its_own_payload_for_opened_acknowledged_and_resolved() {
    use axum::extract::{OriginalUri, Request};

    let db = TestDb::create("channel_kinds").await.unwrap();
    let mut config = test_serve_config(&db.url);
    config.public_url = Some("https://cwic.example".into());
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let store = Store::connect(&db.url).await.unwrap();
    let captured: Captured = Arc::default();
    let keep = captured.clone();
    let receiver = axum::Router::new().fallback(move |OriginalUri(uri): OriginalUri, request: Request| {
        let keep = keep.clone();
        async move {
            let authorization = request
                .headers()
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap();
            let path = uri.to_string();
            let mut got = keep.lock().unwrap();
            got.push((path.clone(), authorization, body));
            if path.ends_with("chat.postMessage") {
                let ts = format!("1700000000.{:06}", got.len());
                return axum::Json(json!({"ok": true, "channel": "C1", "ts": ts})).into_response();
            }
            (StatusCode::ACCEPTED, axum::Json(json!({"status": "success"}))).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hooks = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));

    let admin = mint_token(&db.url, "acme", "admin").await.unwrap();
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut request = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    for channel in [
        json!({"kind": "slack", "name": "slack bot", "token": "xoxb-test", "channel": "#data-eng",
               "api_url": format!("{hooks}/slack/api")}),
        json!({"kind": "slack", "name": "slack hook", "url": format!("{hooks}/slack/hook")}),
        json!({"kind": "teams", "name": "teams", "url": format!("{hooks}/teams")}),
        json!({"kind": "pagerduty", "name": "pagerduty", "routing_key": "R0UTINGKEY",
               "api_url": format!("{hooks}/pd/v2/enqueue")}),
        json!({"kind": "opsgenie", "name": "opsgenie", "api_key": "genie-key", "api_url": format!("{hooks}/og")}),
    ] {
        let (status, created) = call(reqwest::Method::POST, "/api/v1/channels".into(), Some(channel)).await;
        assert_eq!(status, 201, "{created}");
        assert!(
            created.get("token").is_none()
                && created.get("routing_key").is_none()
                && created.get("api_key").is_none()
        );
    }
    // A kind's missing field is named.
    let (status, error) = call(
        reqwest::Method::POST,
        "/api/v1/channels".into(),
        Some(json!({"kind": "pagerduty", "name": "pd without key"})),
    )
    .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("routing_key")),
        "{error}"
    );
    let (status, error) = call(
        reqwest::Method::POST,
        "/api/v1/channels".into(),
        Some(json!({"kind": "slack", "name": "bot without channel", "token": "xoxb-1"})),
    )
    .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("channel")),
        "{error}"
    );

    let asset = insert_asset(&db, "orders").await;
    let applied = engine::apply(
        &store,
        &[check_event(asset, "not_null(amount)", "fail", "critical")],
    )
    .await
    .unwrap();
    assert_eq!(applied.notifications, 5);
    let incident: Uuid = sqlx::query_scalar("SELECT id FROM incidents")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let wait = |count: usize| {
        let captured = captured.clone();
        async move {
            wait_for("the channels' messages", Duration::from_secs(20), || async {
                Ok((captured.lock().unwrap().len() >= count).then_some(()))
            })
            .await
            .unwrap();
        }
    };
    wait(5).await;
    let (status, _) = call(
        reqwest::Method::POST,
        format!("/api/v1/incidents/{incident}/acknowledge"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    wait(10).await;
    let (status, _) = call(
        reqwest::Method::POST,
        format!("/api/v1/incidents/{incident}/resolve"),
        Some(json!({"note": "reloaded"})),
    )
    .await;
    assert_eq!(status, 200);
    wait(15).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = captured.lock().unwrap().clone();
    assert_eq!(got.len(), 15, "{got:#?}");
    let to = |prefix: &str| -> Vec<(String, String, Value)> {
        got.iter()
            .filter(|(path, _, _)| path.starts_with(prefix))
            .cloned()
            .collect()
    };

    // PagerDuty: trigger, acknowledge, resolve, all by the incident's id.
    let pagerduty = to("/pd/v2/enqueue");
    assert_eq!(pagerduty.len(), 3);
    let trigger = &pagerduty[0].2;
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["routing_key"], "R0UTINGKEY");
    assert_eq!(trigger["dedup_key"], incident.to_string());
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(trigger["payload"]["source"], "public.orders");
    assert_eq!(
        trigger["payload"]["summary"],
        "[CRITICAL] public.orders: check not_null(amount) failed: 3 of 100 rows"
    );
    assert_eq!(
        trigger["links"][0]["href"],
        format!("https://cwic.example/incidents/{incident}")
    );
    assert_eq!(
        pagerduty[1].2,
        json!({"routing_key": "R0UTINGKEY", "event_action": "acknowledge", "dedup_key": incident.to_string()})
    );
    assert_eq!(
        pagerduty[2].2,
        json!({"routing_key": "R0UTINGKEY", "event_action": "resolve", "dedup_key": incident.to_string()})
    );

    // Opsgenie: created with the incident as alias, acknowledged and closed by it.
    let opsgenie = to("/og/");
    assert_eq!(opsgenie.len(), 3);
    assert_eq!(opsgenie[0].0, "/og/v2/alerts");
    assert_eq!(opsgenie[0].1, "GenieKey genie-key");
    assert_eq!(opsgenie[0].2["alias"], incident.to_string());
    assert_eq!(opsgenie[0].2["priority"], "P1");
    assert_eq!(opsgenie[0].2["entity"], "public.orders");
    assert_eq!(
        opsgenie[1].0,
        format!("/og/v2/alerts/{incident}/acknowledge?identifierType=alias")
    );
    assert_eq!(
        opsgenie[2].0,
        format!("/og/v2/alerts/{incident}/close?identifierType=alias")
    );
    assert!(
        opsgenie[2].2["note"].as_str().unwrap().ends_with(": reloaded"),
        "{}",
        opsgenie[2].2
    );

    // Slack's bot: Block Kit, later messages threaded under the first one's ts.
    let bot = to("/slack/api/chat.postMessage");
    assert_eq!(bot.len(), 3);
    assert_eq!(bot[0].1, "Bearer xoxb-test");
    assert_eq!(bot[0].2["channel"], "#data-eng");
    assert!(bot[0].2.get("thread_ts").is_none());
    let first_ts = got
        .iter()
        .position(|(path, _, _)| path.ends_with("chat.postMessage"))
        .map(|index| format!("1700000000.{:06}", index + 1))
        .unwrap();
    assert_eq!(bot[1].2["thread_ts"], first_ts);
    assert_eq!(bot[2].2["thread_ts"], first_ts);
    let blocks = bot[0].2["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], trigger["payload"]["summary"]);
    assert!(
        blocks[1]["fields"][0]["text"]
            .as_str()
            .unwrap()
            .contains("critical")
    );
    assert!(blocks.iter().any(|block| block["type"] == "actions"));
    let hook = to("/slack/hook");
    assert_eq!(hook.len(), 3);
    assert!(hook[0].2.get("channel").is_none() && hook[0].2["blocks"].is_array());
    assert!(
        hook[2].2["text"]
            .as_str()
            .unwrap()
            .starts_with("Resolved: public.orders")
    );

    // Teams: an Adaptive Card.
    let teams = to("/teams");
    assert_eq!(teams.len(), 3);
    let card = &teams[0].2["attachments"][0];
    assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["body"][0]["text"], trigger["payload"]["summary"]);
    assert_eq!(card["content"]["body"][1]["facts"][1]["value"], "public.orders");
    assert_eq!(
        card["content"]["actions"][0]["url"],
        format!("https://cwic.example/incidents/{incident}")
    );
    cancel.cancel();
}

/// A minimal SMTP receiver (RFC 5321's happy path, no TLS): every message's DATA, as received.
async fn smtp_receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let messages: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = messages.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let keep = keep.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.to_ascii_uppercase();
                    if verb.starts_with("EHLO") || verb.starts_with("HELO") {
                        write.write_all(b"250-test\r\n250 8BITMIME\r\n").await.unwrap();
                    } else if verb.starts_with("DATA") {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            data.push_str(&line);
                            data.push('\n');
                        }
                        keep.lock().unwrap().push(data);
                        write.write_all(b"250 queued\r\n").await.unwrap();
                    } else if verb.starts_with("QUIT") {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        write.write_all(b"250 ok\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (port, messages)
}

#[tokio::test]
async fn an_email_channel_sends_html_and_plain_text_over_smtp() {
    let db = TestDb::create("email_channel").await.unwrap();
    let mut config = test_serve_config(&db.url);
    config.public_url = Some("https://cwic.example".into());
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let store = Store::connect(&db.url).await.unwrap();
    let (port, messages) = smtp_receiver().await;
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));
    let admin = mint_token(&db.url, "acme", "admin").await.unwrap();
    let client = reqwest::Client::new();
    let create = |body: Value| {
        let request = client
            .post(format!("{base}/api/v1/channels"))
            .bearer_auth(&admin)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, error) = create(json!({"kind": "email", "name": "bad", "to": ["not an address"],
                                         "from": "cwic@example.com", "smtp_host": "127.0.0.1"}))
    .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("to")),
        "{error}"
    );
    let (status, channel) = create(json!({
        "kind": "email", "name": "data team", "to": ["data@example.com", "oncall@example.com"],
        "from": "CWIC <cwic@example.com>", "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none",
    }))
    .await;
    assert_eq!(status, 201, "{channel}");
    assert_eq!(channel["to"], json!(["data@example.com", "oncall@example.com"]));

    let asset = insert_asset(&db, "orders").await;
    engine::apply(&store, &[check_event(asset, "unique(id)", "fail", "high")])
        .await
        .unwrap();
    wait_for("the email", Duration::from_secs(20), || async {
        Ok((!messages.lock().unwrap().is_empty()).then_some(()))
    })
    .await
    .unwrap();
    let email = messages.lock().unwrap()[0].clone();
    assert!(
        email.contains("Subject: [HIGH] public.orders: check unique(id) failed: 3 of 100 rows"),
        "{email}"
    );
    assert!(
        email.contains("To: data@example.com, oncall@example.com"),
        "{email}"
    );
    assert!(email.contains("multipart/alternative"), "{email}");
    let plain = email.find("Content-Type: text/plain").expect("a plain-text part");
    let html = email.find("Content-Type: text/html").expect("an HTML part");
    assert!(
        plain < html,
        "plain text first, as multipart/alternative orders them"
    );
    // The parts are quoted-printable: soft line breaks (`=` at the end) and `=XX` bytes.
    let decoded = {
        let joined = email.replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
            {
                out.push(byte);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8(out).unwrap()
    };
    assert!(
        decoded.contains("Root cause: 3 of 100 rows of public.orders fail unique(id) (validity)"),
        "{decoded}"
    );
    assert!(
        decoded.contains("<h2>[HIGH] public.orders: check unique(id) failed: 3 of 100 rows</h2>"),
        "{decoded}"
    );
    assert!(
        decoded.contains("View: https://cwic.example/incidents/"),
        "{decoded}"
    );
    // The receiver has the message before the sender has the server's last answer: wait for
    // the record.
    wait_for("the delivery's record", Duration::from_secs(10), || async {
        let sent = count(
            &db,
            "SELECT count(*) FROM notifications WHERE state = 'sent' AND last_status = 250",
        )
        .await;
        Ok((sent == 1).then_some(()))
    })
    .await
    .unwrap();
    cancel.cancel();
}

#[tokio::test]
async fn a_backtest_replays_the_history_through_proposed_rules_with_known_answers() {
    use cwic_control_plane::events::ScoreChanged;

    let db = TestDb::create("backtest").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let store = Store::connect(&db.url).await.unwrap();
    let asset = insert_asset(&db, "orders").await;
    insert_channel(&db, "#data-eng", "http://127.0.0.1:9/nowhere").await;
    let now = Utc::now();
    let ago = |hours: i64| now - chrono::TimeDelta::hours(hours);
    let check = |name: &str, status: &str, severity: &str, at: chrono::DateTime<Utc>| {
        let mut event = check_event(asset, name, status, severity);
        event.occurred_at = at;
        if let EventData::CheckResultStored(check) = &mut event.data {
            check.observed_at = at;
        }
        event
    };
    // a (high): fails 72 h and 71 h ago, passes 70 h ago, fails again 48 h ago: two incidents.
    // b (medium): fails 20 h ago. The score drops 7 points (medium) 12 h ago.
    let history = [
        check("a", "fail", "high", ago(72)),
        check("a", "fail", "high", ago(71)),
        check("a", "pass", "high", ago(70)),
        check("a", "fail", "high", ago(48)),
        check("b", "fail", "medium", ago(20)),
        Event::at(
            "acme",
            ago(12),
            EventData::ScoreChanged(ScoreChanged {
                asset_id: asset,
                previous: Some(90.0),
                score: Some(83.0),
                previous_issues: None,
                issues: None,
            }),
        ),
    ];
    for event in &history {
        engine::apply(&store, std::slice::from_ref(event)).await.unwrap();
    }
    assert_eq!(count(&db, "SELECT count(*) FROM incidents").await, 4);
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));
    let viewer = mint_token(&db.url, "acme", "viewer").await.unwrap();
    let client = reqwest::Client::new();
    let backtest = |body: Value| {
        let request = client
            .post(format!("{base}/api/v1/alert-rules/backtest"))
            .bearer_auth(&viewer)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let channel = |report: &Value| report["notifications"][0].clone();

    // Today's rules: every incident again, the two high ones notified, the first resolved.
    let (status, today) = backtest(json!({"rules": {}})).await;
    assert_eq!(status, 200, "{today}");
    assert_eq!(
        (today["alerts"].as_i64(), today["incidents"].as_i64()),
        (Some(6), Some(4)),
        "{today}"
    );
    assert_eq!(today["actual_incidents"], 4);
    assert_eq!(
        channel(&today),
        json!({"channel": "#data-eng", "opened": 2, "resolved": 1})
    );
    assert_eq!(today["missed"], json!([]));

    // High and above only: b and the score drop would have been missed, and it says why.
    let (_, high) = backtest(json!({"days": 7, "rules": {"min_severity": "high"}})).await;
    assert_eq!(high["incidents"], 2);
    let missed = high["missed"].as_array().unwrap();
    assert_eq!(missed.len(), 2, "{high}");
    assert!(
        missed
            .iter()
            .all(|m| m["why"].as_str().unwrap().contains("below min_severity high")),
        "{high}"
    );
    assert!(
        missed
            .iter()
            .any(|m| m["title"].as_str().unwrap().contains("check b failed"))
    );

    // Score drops from 10 points: the 7-point drop is missed.
    let (_, drops) = backtest(json!({"rules": {"score_drop_points": 10}})).await;
    assert_eq!(drops["incidents"], 3);
    assert!(
        drops["missed"][0]["why"]
            .as_str()
            .unwrap()
            .contains("score dropped less"),
        "{drops}"
    );

    // Medium to the channel: four openings, one resolution.
    let (_, medium) =
        backtest(json!({"rules": {"routes": [{"channel": "#data-eng", "min_severity": "medium"}]}})).await;
    assert_eq!(
        channel(&medium),
        json!({"channel": "#data-eng", "opened": 4, "resolved": 1})
    );

    // Only the last day: b and the score drop.
    let (_, day) = backtest(json!({"days": 1, "rules": {}})).await;
    assert_eq!(
        (day["incidents"].as_i64(), day["actual_incidents"].as_i64()),
        (Some(2), Some(2)),
        "{day}"
    );

    // Wrong input names the field.
    let (status, error) = backtest(json!({"rules": {"routes": [{"channel": "#nope"}]}})).await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("rules.routes[0].channel")),
        "{error}"
    );
    let (status, error) = backtest(json!({"days": 0, "rules": {}})).await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("days")),
        "{error}"
    );
    let (status, error) = backtest(json!({"rules": {"score_drop_points": 2}})).await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("rules.score_drop_points")),
        "{error}"
    );
    cancel.cancel();
}

#[tokio::test]
async fn an_agent_silent_past_the_stale_limit_opens_one_incident_that_its_next_heartbeat_resolves() {
    use cwic_control_plane::events::EventKind;
    use cwic_shared::{AgentId, TenantId};

    let db = TestDb::create("agent_offline").await.unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    ensure_tenant(&db).await;
    insert_channel(&db, "#ops", "http://127.0.0.1:9/nowhere").await;
    sqlx::query(
        "INSERT INTO agents (tenant_id, id, last_seen_at, last_heartbeat_at)
         VALUES ('acme', 'wh-quiet', now() - interval '20 minutes', now() - interval '20 minutes'),
                ('acme', 'wh-alive', now(), now())",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    // The upkeep notices the silence once: one event, however often it runs.
    let went = store.report_offline_agents().await.unwrap();
    assert_eq!(went.len(), 1, "{went:?}");
    assert!(store.report_offline_agents().await.unwrap().is_empty());
    let applied = engine::apply(&store, &went).await.unwrap();
    assert_eq!((applied.opened, applied.notifications), (1, 1));
    let (title, severity, asset): (String, String, Option<Uuid>) =
        sqlx::query_as("SELECT title, severity, asset_id FROM incidents WHERE rule_key = 'agent:wh-quiet'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        title,
        "agent wh-quiet went offline: nothing heard from it for 15 minutes"
    );
    assert_eq!((severity.as_str(), asset), ("high", None));

    // Its next heartbeat: back online, the incident resolves by itself.
    store
        .tenant(&TenantId::parse("acme").unwrap())
        .record_heartbeat(&AgentId::parse("wh-quiet").unwrap(), "1.0", "running")
        .await
        .unwrap();
    let (id, kind, at, data): (Uuid, String, chrono::DateTime<Utc>, Value) = sqlx::query_as(
        "SELECT id, kind, occurred_at, data FROM outbox
         WHERE kind = 'agent.status_changed' AND data->>'liveness' = 'online'
           AND data->>'previous_liveness' <> 'online'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let kind = EventKind::parse(&kind).unwrap();
    let back = Event {
        version: 1,
        id,
        tenant: "acme".into(),
        occurred_at: at,
        data: EventData::from_payload(kind, data).unwrap(),
    };
    let applied = engine::apply(&store, &[back]).await.unwrap();
    assert_eq!(
        (applied.resolved, applied.notifications),
        (1, 1),
        "resolved, and the channel told"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM incidents WHERE rule_key = 'agent:wh-quiet'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "resolved");
    // Silent again later: a new report (the mark was cleared by the heartbeat).
    sqlx::query("UPDATE agents SET last_heartbeat_at = now() - interval '16 minutes', last_seen_at = now() - interval '16 minutes' WHERE id = 'wh-quiet'")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(store.report_offline_agents().await.unwrap().len(), 1);
}

#[tokio::test]
async fn in_a_channels_quiet_hours_only_critical_goes_out_and_the_rest_waits_for_their_end() {
    let db = TestDb::create("quiet_hours").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let store = Store::connect(&db.url).await.unwrap();
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let keep = received.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<Value>| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hooks = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));
    let admin = mint_token(&db.url, "acme", "admin").await.unwrap();
    let create = |body: Value| {
        let request = reqwest::Client::new()
            .post(format!("{base}/api/v1/channels"))
            .bearer_auth(&admin)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    // Quiet from an hour ago to an hour from now, UTC.
    let now = Utc::now();
    let hhmm = |at: chrono::DateTime<Utc>| at.format("%H:%M").to_string();
    let quiet = json!({"from": hhmm(now - chrono::TimeDelta::hours(1)), "to": hhmm(now + chrono::TimeDelta::hours(1))});
    let (status, error) = create(json!({"kind": "webhook", "name": "bad", "url": hooks, "secret": "a-secret-of-sixteen-chars",
                                         "quiet_hours": {"from": "22:00", "to": "07:00", "timezone": "Mars/Olympus"}}))
    .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("quiet_hours.timezone")),
        "{error}"
    );
    let (status, channel) = create(json!({"kind": "webhook", "name": "night", "url": hooks,
                                          "secret": "a-secret-of-sixteen-chars", "quiet_hours": quiet}))
    .await;
    assert_eq!(status, 201, "{channel}");
    assert_eq!(channel["quiet_hours"]["critical_through"], true);

    let asset = insert_asset(&db, "orders").await;
    engine::apply(
        &store,
        &[
            check_event(asset, "a", "fail", "critical"),
            check_event(asset, "b", "fail", "high"),
        ],
    )
    .await
    .unwrap();
    wait_for("the critical message", Duration::from_secs(20), || async {
        Ok((!received.lock().unwrap().is_empty()).then_some(()))
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["severity"], "critical");
    // The high one waits, its attempt not counted, for the end of the quiet hours.
    let (state, attempts): (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM notifications n JOIN incidents i ON i.id = n.incident_id WHERE i.severity = 'high'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("queued", 0));
    let (run_after, job_attempts, why): (chrono::DateTime<Utc>, i32, String) = sqlx::query_as(
        "SELECT j.run_after, j.attempts, j.last_error FROM jobs j
         JOIN notifications n ON n.id = (j.payload->>'notification')::uuid
         JOIN incidents i ON i.id = n.incident_id WHERE i.severity = 'high'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let end = now + chrono::TimeDelta::hours(1);
    assert!(
        (run_after - end).num_seconds().abs() <= 61,
        "{run_after} vs {end}"
    );
    assert_eq!(job_attempts, 0);
    assert!(
        why.starts_with("held for the channel's quiet hours until"),
        "{why}"
    );
    cancel.cancel();
}

/// A receiver that keeps each body with the path it came to.
async fn path_receiver() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let received: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let keep = received.clone();
    let receiver = axum::Router::new().route(
        "/{name}",
        post(
            move |axum::extract::Path(name): axum::extract::Path<String>,
                  axum::Json(body): axum::Json<Value>| {
                let keep = keep.clone();
                async move {
                    keep.lock().unwrap().push((name, body));
                    StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    (base, received)
}

/// The admin's JSON calls: `(status, body)`.
struct Api {
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

async fn notifications_of(db: &TestDb, incident: Uuid) -> Vec<(String, String, String, i16)> {
    sqlx::query_as(
        "SELECT c.name, n.event, n.routed_by, n.tier FROM notifications n JOIN channels c ON c.id = n.channel_id
         WHERE n.incident_id = $1 ORDER BY c.name, n.event, n.tier",
    )
    .bind(incident)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

async fn incident_of(db: &TestDb, rule: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM incidents WHERE rule_key = $1 ORDER BY opened_at DESC LIMIT 1")
        .bind(rule)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn routing_rules_ownership_suppression_and_escalation_decide_who_hears_and_say_why() {
    let db = TestDb::create("routing_rules").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let api = Api {
        base: format!("http://{}", app.local_addr().unwrap()),
        token: mint_token(&db.url, "acme", "admin").await.unwrap(),
    };
    let store = Store::connect(&db.url).await.unwrap();
    let (hooks, received) = path_receiver().await;
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));
    let mut channel = HashMap::new();
    for name in ["data-eng", "pager", "manager"] {
        let (status, created) = api
            .post(
                "/api/v1/channels",
                json!({"kind": "webhook", "name": name, "url": format!("{hooks}/{name}"), "secret": "a-secret-of-sixteen-chars"}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        channel.insert(name, created["id"].as_str().unwrap().to_owned());
    }
    // The asset's checks carry the tag `finance` and the owner `ada`.
    let asset = insert_asset(&db, "orders").await;
    sqlx::query(
        "INSERT INTO check_results (tenant_id, asset_id, check_name, observed_at, batch_id, template, dimension,
                                    severity, status, owner, tags)
         VALUES ('acme', $1, 'setup', now(), gen_random_uuid(), 'not_null', 'completeness', 'low', 'pass', 'ada', '{finance}')",
    )
    .bind(asset)
    .execute(&db.pool)
    .await
    .unwrap();

    // Wrong input is refused with the field, and an expression's mistake with its column.
    let (status, error) = api
        .post(
            "/api/v1/routing-rules",
            json!({"name": "x", "expression": "severity >= hihg", "channel_ids": [channel["pager"]]}),
        )
        .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("expression")),
        "{error}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("at column 13: unknown severity \"hihg\""),
        "{error}"
    );
    let (status, error) = api
        .post(
            "/api/v1/routing-rules",
            json!({"name": "x", "channel_ids": [Uuid::now_v7()]}),
        )
        .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("channel_ids")),
        "{error}"
    );
    let (status, error) = api
        .post("/api/v1/routing-rules", json!({"name": "x", "channel_ids": [channel["pager"]],
                                               "escalation": [{"after_minutes": 0, "channel_ids": [channel["manager"]]}]}))
        .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("escalation[0].after_minutes")),
        "{error}"
    );
    let (status, error) = api
        .call(
            reqwest::Method::PUT,
            "/api/v1/ownership",
            Some(json!({"scope": "team", "target": "x"})),
        )
        .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("scope")),
        "{error}"
    );

    // Ownership: the tag `finance` belongs to team-payments, whose channel is data-eng; the source
    // has an owner too, but the tag is more specific.
    for (scope, target, owner, to) in [
        ("source", "wh", "dw-team", "manager"),
        ("tag", "finance", "team-payments", "data-eng"),
    ] {
        let (status, entry) = api
            .call(
                reqwest::Method::PUT,
                "/api/v1/ownership",
                Some(json!({"scope": scope, "target": target, "owners": [owner], "channel_ids": [channel[to]]})),
            )
            .await;
        assert_eq!(status, 200, "{entry}");
    }
    let (status, rule) = api
        .post(
            "/api/v1/routing-rules",
            json!({"name": "page critical finance", "expression": "severity = critical and tag = finance",
                   "channel_ids": [channel["pager"]], "position": 1,
                   "escalation": [{"after_minutes": 1, "channel_ids": [channel["manager"]]},
                                  {"after_minutes": 30, "channel_ids": [channel["manager"]]}]}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    let (status, rule) = api
        .post(
            "/api/v1/routing-rules",
            json!({"name": "owners hear of high", "expression": "severity >= high and owner in (team-payments, ada)",
                   "to_owners": true, "suppress_minutes": 60, "position": 2}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    let (status, taken) = api
        .post(
            "/api/v1/routing-rules",
            json!({"name": "owners hear of high", "to_owners": true}),
        )
        .await;
    assert_eq!(status, 409, "{taken}");

    // A critical failure: the pager by the first rule, data-eng as the tag's owner by the second.
    engine::apply(
        &store,
        &[check_event(asset, "amount_positive", "fail", "critical")],
    )
    .await
    .unwrap();
    let critical = incident_of(&db, "check:amount_positive").await;
    let sent = notifications_of(&db, critical).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!((sent[0].0.as_str(), sent[0].1.as_str()), ("data-eng", "opened"));
    assert!(
        sent[0].2.contains("rule \"owners hear of high\""),
        "{}",
        sent[0].2
    );
    assert!(
        sent[0]
            .2
            .contains("owned through tag finance (asset > tag > source > tenant)"),
        "{}",
        sent[0].2
    );
    assert_eq!(sent[1].0, "pager");
    assert_eq!(
        sent[1].2,
        "rule \"page critical finance\" matched `severity = critical and tag = finance`"
    );
    let (status, why) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/incidents/{critical}/routing"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{why}");
    assert_eq!(why["owner"]["scope"], "tag");
    assert_eq!(why["owner"]["owners"], json!(["team-payments"]));
    assert_eq!(why["rules"].as_array().unwrap().len(), 2);
    assert_eq!(why["routes"].as_array().unwrap().len(), 2);
    assert_eq!(why["escalation"][0]["after_minutes"], 1);
    assert_eq!(
        why["summary"],
        "matched by page critical finance, owners hear of high"
    );
    wait_for("both messages", Duration::from_secs(20), || async {
        Ok((received.lock().unwrap().len() >= 2).then_some(()))
    })
    .await
    .unwrap();
    let pager = received
        .lock()
        .unwrap()
        .iter()
        .find(|(to, _)| to == "pager")
        .cloned()
        .unwrap();
    assert_eq!(pager.1["owner"]["owners"], json!(["team-payments"]));

    // A medium failure matches no rule: nobody is told, and the timeline says so.
    engine::apply(&store, &[check_event(asset, "email_format", "fail", "medium")])
        .await
        .unwrap();
    let medium = incident_of(&db, "check:email_format").await;
    assert!(notifications_of(&db, medium).await.is_empty());
    let (status, detail) = api
        .call(reqwest::Method::GET, &format!("/api/v1/incidents/{medium}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(
        detail
            .to_string()
            .contains("no routing rule matched this medium incident"),
        "{detail}"
    );

    // Suppression: a high check that fails, passes and fails again within the rule's hour is
    // notified once.
    engine::apply(&store, &[check_event(asset, "ids_unique", "fail", "high")])
        .await
        .unwrap();
    let first = incident_of(&db, "check:ids_unique").await;
    assert_eq!(notifications_of(&db, first).await.len(), 1);
    engine::apply(&store, &[check_event(asset, "ids_unique", "pass", "high")])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    engine::apply(&store, &[check_event(asset, "ids_unique", "fail", "high")])
        .await
        .unwrap();
    let again = incident_of(&db, "check:ids_unique").await;
    assert_ne!(first, again, "a failure after the recovery opens a new incident");
    assert!(notifications_of(&db, again).await.is_empty());
    let suppressed = count(
        &db,
        &format!(
            "SELECT count(*) FROM incident_timeline WHERE incident_id = '{again}' AND kind = 'suppressed'
                  AND message LIKE '%suppression interval 60 min%'"
        ),
    )
    .await;
    assert_eq!(suppressed, 1);

    // Escalation: nobody acknowledged the critical incident for two minutes: the manager hears
    // of tier 1, once however often the upkeep runs; after the acknowledgement nothing more.
    sqlx::query("UPDATE incidents SET opened_at = now() - interval '2 minutes', began_at = now() - interval '2 minutes' WHERE id = $1")
        .bind(critical)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(store.escalate_unacknowledged().await.unwrap(), 1);
    assert_eq!(store.escalate_unacknowledged().await.unwrap(), 0);
    let tiers: Vec<(String, String, String, i16)> = notifications_of(&db, critical)
        .await
        .into_iter()
        .filter(|n| n.1 == "escalated")
        .collect();
    assert_eq!(tiers.len(), 1, "{tiers:?}");
    assert_eq!((tiers[0].0.as_str(), tiers[0].3), ("manager", 1));
    assert!(
        tiers[0].2.contains("not acknowledged within 1 min"),
        "{}",
        tiers[0].2
    );
    wait_for("the escalation", Duration::from_secs(20), || async {
        Ok(received
            .lock()
            .unwrap()
            .iter()
            .find(|(to, body)| to == "manager" && body["type"] == "incident.escalated")
            .cloned())
    })
    .await
    .unwrap();
    let (status, _) = api
        .post(&format!("/api/v1/incidents/{critical}/acknowledge"), json!({}))
        .await;
    assert_eq!(status, 200);
    sqlx::query("UPDATE incidents SET opened_at = now() - interval '2 hours', began_at = now() - interval '2 hours' WHERE id = $1")
        .bind(critical)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        store.escalate_unacknowledged().await.unwrap(),
        0,
        "acknowledged: no tier 2"
    );
    // The acknowledgement went to every channel told, the escalated manager too.
    let acknowledged: Vec<String> = notifications_of(&db, critical)
        .await
        .into_iter()
        .filter(|n| n.1 == "acknowledged")
        .map(|n| n.0)
        .collect();
    assert_eq!(acknowledged, ["data-eng", "manager", "pager"]);

    // Deleting the rules brings back the default route: owners' channels for critical and high.
    let (_, rules) = api
        .call(reqwest::Method::GET, "/api/v1/routing-rules", None)
        .await;
    assert_eq!(rules["items"].as_array().unwrap().len(), 2);
    for rule in rules["items"].as_array().unwrap() {
        let (status, _) = api
            .call(
                reqwest::Method::DELETE,
                &format!("/api/v1/routing-rules/{}", rule["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(status, 204);
    }
    engine::apply(&store, &[check_event(asset, "fresh", "fail", "high")])
        .await
        .unwrap();
    let fresh = notifications_of(&db, incident_of(&db, "check:fresh").await).await;
    assert_eq!(fresh.len(), 1, "{fresh:?}");
    assert_eq!(fresh[0].0, "data-eng");
    assert!(
        fresh[0]
            .2
            .starts_with("default route: no routing rule, so high incidents go to the owner's channels"),
        "{}",
        fresh[0].2
    );
    cancel.cancel();
}

#[tokio::test]
async fn a_daily_digest_summarises_its_period_once_per_period() {
    let db = TestDb::create("digests").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let api = Api {
        base: format!("http://{}", app.local_addr().unwrap()),
        token: mint_token(&db.url, "acme", "admin").await.unwrap(),
    };
    let store = Store::connect(&db.url).await.unwrap();
    let (hooks, received) = path_receiver().await;
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));
    let (_, hook) = api
        .post(
            "/api/v1/channels",
            json!({"kind": "webhook", "name": "digest", "url": format!("{hooks}/digest"),
                                         "secret": "a-secret-of-sixteen-chars"}),
        )
        .await;
    let (_, pager) = api
        .post(
            "/api/v1/channels",
            json!({"kind": "pagerduty", "name": "pd", "routing_key": "R0123456789"}),
        )
        .await;
    // Wrong input: a pager takes no digest; an unknown time zone; a cadence that is not one.
    let (status, error) = api
        .post(
            "/api/v1/digests",
            json!({"channel_id": pager["id"], "cadence": "daily"}),
        )
        .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("channel_id")),
        "{error}"
    );
    let (status, error) = api
        .post(
            "/api/v1/digests",
            json!({"channel_id": hook["id"], "cadence": "daily", "timezone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("timezone")),
        "{error}"
    );
    let (status, error) = api
        .post(
            "/api/v1/digests",
            json!({"channel_id": hook["id"], "cadence": "hourly"}),
        )
        .await;
    assert_eq!(
        (status, error["details"]["field"].as_str()),
        (400, Some("cadence")),
        "{error}"
    );
    let (status, digest) = api
        .post(
            "/api/v1/digests",
            json!({"channel_id": hook["id"], "cadence": "daily", "hour": 0, "min_severity": "medium"}),
        )
        .await;
    assert_eq!(status, 201, "{digest}");
    // A new digest reports only what follows it: nothing is due yet.
    assert_eq!(store.queue_due_digests(Utc::now()).await.unwrap(), 0);

    // Two incidents in the period (a critical one resolved, a medium one open) and a low one the
    // digest leaves out.
    let asset = insert_asset(&db, "orders").await;
    engine::apply(
        &store,
        &[
            check_event(asset, "a", "fail", "critical"),
            check_event(asset, "b", "fail", "medium"),
            check_event(asset, "c", "fail", "low"),
        ],
    )
    .await
    .unwrap();
    engine::apply(&store, &[check_event(asset, "a", "pass", "critical")])
        .await
        .unwrap();
    // The period began two days ago (as if the digest were that old).
    sqlx::query("UPDATE digests SET last_period_end = now() - interval '2 days'")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE incidents SET opened_at = now() - interval '1 hour', began_at = now() - interval '1 hour'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    // Tomorrow 00:30 UTC the period that ended at midnight is due: queued once.
    let tomorrow = (Utc::now() + chrono::TimeDelta::days(1))
        .date_naive()
        .and_hms_opt(0, 30, 0)
        .unwrap()
        .and_utc();
    assert_eq!(store.queue_due_digests(tomorrow).await.unwrap(), 1);
    assert_eq!(
        store.queue_due_digests(tomorrow).await.unwrap(),
        0,
        "a period is queued once"
    );
    let got = wait_for("the digest", Duration::from_secs(20), || async {
        Ok(received
            .lock()
            .unwrap()
            .iter()
            .find(|(_, body)| body["type"] == "digest")
            .cloned())
    })
    .await
    .unwrap();
    let body = got.1;
    assert_eq!(body["type"], "digest");
    assert_eq!(
        body["title"], "Daily digest for acme: 2 opened, 1 resolved, 1 still open",
        "{body}"
    );
    let listed: Vec<&str> = body["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["severity"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["critical", "medium"]);
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("[CRITICAL] public.orders:"),
        "{body}"
    );
    let (_, list) = api.call(reqwest::Method::GET, "/api/v1/digests", None).await;
    assert_eq!(
        list["items"][0]["last_period_end"].as_str().unwrap()[..10],
        tomorrow.to_rfc3339()[..10]
    );
    cancel.cancel();
}

#[tokio::test]
async fn tables_of_one_schema_failing_at_once_group_under_a_parent_naming_the_schema() {
    let db = TestDb::create("schema_group").await.unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let orders = insert_asset(&db, "orders").await;
    let customers = insert_asset(&db, "customers").await;
    let payments = insert_asset(&db, "payments").await;
    // One table failing twice is no schema-wide problem.
    engine::apply(
        &store,
        &[
            check_event(orders, "a", "fail", "high"),
            check_event(orders, "b", "fail", "medium"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM incidents WHERE source_kind = 'upstream'"
        )
        .await,
        0
    );
    // A second table of the schema fails: one parent names the schema, both tables under it.
    engine::apply(&store, &[check_event(customers, "c", "fail", "critical")])
        .await
        .unwrap();
    let (parent, title, severity): (Uuid, String, String) =
        sqlx::query_as("SELECT id, title, severity FROM incidents WHERE source_kind = 'upstream'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        title,
        "shared schema: public in wh (2 tables failing within 60 min)"
    );
    assert_eq!(severity, "critical");
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM incidents WHERE parent_id = '{parent}'")
        )
        .await,
        3
    );
    // A third table joins the same parent.
    engine::apply(&store, &[check_event(payments, "d", "fail", "low")])
        .await
        .unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM incidents WHERE source_kind = 'upstream'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM incidents WHERE parent_id = '{parent}'")
        )
        .await,
        4
    );
    // The parent sends nothing of its own, and ends with its last child.
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM notifications WHERE incident_id = '{parent}'")
        )
        .await,
        0
    );
    engine::apply(
        &store,
        &[
            check_event(orders, "a", "pass", "high"),
            check_event(orders, "b", "pass", "medium"),
            check_event(customers, "c", "pass", "critical"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM incidents WHERE id = '{parent}' AND status = 'open'")
        )
        .await,
        1
    );
    engine::apply(&store, &[check_event(payments, "d", "pass", "low")])
        .await
        .unwrap();
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM incidents WHERE id = '{parent}' AND status = 'resolved'")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_anomalys_incident_gets_the_root_cause_analysis_on_its_timeline() {
    let db = TestDb::create("incident_rca").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let api = Api {
        base: format!("http://{}", app.local_addr().unwrap()),
        token: mint_token(&db.url, "acme", "admin").await.unwrap(),
    };
    let store = Store::connect(&db.url).await.unwrap();
    let asset = insert_asset(&db, "orders").await;
    let at = Utc::now() - chrono::TimeDelta::minutes(30);
    // A check on the table failed just before its row count fell: a likely cause.
    sqlx::query(
        "INSERT INTO check_results (tenant_id, asset_id, check_name, observed_at, batch_id, template, dimension,
                                    severity, status, failing_rows, total_rows)
         VALUES ('acme', $1, 'orders_loaded', $2, gen_random_uuid(), 'row_count_min', 'completeness', 'high', 'fail', 900, 1000)",
    )
    .bind(asset)
    .bind(at - chrono::TimeDelta::minutes(5))
    .execute(&db.pool)
    .await
    .unwrap();
    let anomaly = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO anomaly_events (id, tenant_id, asset_id, metric, column_name, observed_at, value, expected_low,
                                     expected_high, score)
         VALUES ($1, 'acme', $2, 'row_count', '', $3, 100, 950, 1050, 0.95)",
    )
    .bind(anomaly)
    .bind(asset)
    .bind(at)
    .execute(&db.pool)
    .await
    .unwrap();
    let opened = Event::at(
        "acme",
        Utc::now(),
        EventData::AnomalyOpened(cwic_control_plane::events::AnomalyOpened {
            anomaly_id: anomaly,
            asset_id: asset,
            metric: "row_count".into(),
            column: String::new(),
            observed_at: at,
            value: 100.0,
            expected_low: Some(950.0),
            expected_high: Some(1050.0),
            score: 0.95,
        }),
    );
    engine::apply(&store, &[opened]).await.unwrap();
    let incident = incident_of(&db, "anomaly:row_count:").await;
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));
    let message: String = wait_for(
        "the root cause on the timeline",
        Duration::from_secs(30),
        || async {
            Ok(sqlx::query_scalar(
                "SELECT message FROM incident_timeline WHERE incident_id = $1 AND kind = 'root_cause'",
            )
            .bind(incident)
            .fetch_optional(&db.pool)
            .await?)
        },
    )
    .await
    .unwrap();
    // The same analysis the anomaly's causes page shows.
    let (status, report) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/anomalies/{anomaly}/causes"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(message, report["explanation"].as_str().unwrap());
    let (_, detail) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/incidents/{incident}"),
            None,
        )
        .await;
    let causes = detail["details"]["root_causes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!causes.is_empty(), "{detail}");
    assert_eq!(causes[0]["summary"], report["causes"][0]["summary"], "{detail}");
    assert!(detail["timeline"].to_string().contains("root_cause"), "{detail}");
    cancel.cancel();
}

#[tokio::test]
async fn a_burst_over_one_schema_has_one_parent() {
    let db = TestDb::create("schema_burst").await.unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let mut assets = Vec::new();
    for i in 0..50 {
        assets.push(insert_asset(&db, &format!("t{i}")).await);
    }
    for round in 0..3 {
        let events: Vec<Event> = assets
            .iter()
            .map(|a| check_event(*a, &format!("c{round}"), "fail", "high"))
            .collect();
        engine::apply(&store, &events).await.unwrap();
    }
    let parents: Vec<(String, String)> =
        sqlx::query_as("SELECT status, title FROM incidents WHERE source_kind = 'upstream'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(parents.len(), 1, "{parents:?}");
}
