//! Incidents and their notifications through the real pipeline: an agent's failing check reaches
//! the control plane over NATS, opens one incident and sends one signed webhook; the next
//! collection with the same failure sends nothing; the data fixed, the incident resolves and one
//! "resolved" goes out. A person's acknowledge, snooze, resolve and close through the API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use cwic_e2e::{ControlPlane, mint_token, wait_exit, wait_for};
use serde_json::{Value, json};

/// What the receiver got: (signature, delivery id, body).
type Received = Arc<Mutex<Vec<(String, String, Value)>>>;

async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let keep = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default()
                };
                keep.lock().unwrap().push((
                    header("x-cwic-signature"),
                    header("x-cwic-delivery"),
                    serde_json::from_slice(&body).unwrap(),
                ));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, received)
}

async fn call(
    control_plane: &ControlPlane,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", control_plane.base_url()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json::<Value>().await.unwrap_or(Value::Null))
}

fn of_type<'a>(received: &'a [(String, String, Value)], kind: &str) -> Vec<&'a (String, String, Value)> {
    received
        .iter()
        .filter(|(_, _, body)| body["type"] == kind)
        .collect()
}

#[tokio::test]
async fn a_failing_check_opens_one_incident_notifies_once_and_resolves_when_the_data_is_fixed() {
    let stack = cwic_e2e::Stack::start().await.unwrap();
    let control_plane = &stack.control_plane;
    let admin = mint_token(&stack.control_db.url, "acme", "admin").await.unwrap();
    let (hooks, received) = receiver().await;
    let secret = "incident-test-secret-0123456789";
    let (status, channel) = call(
        control_plane,
        reqwest::Method::POST,
        "/api/v1/channels",
        &admin,
        Some(
            json!({"kind": "webhook", "name": "#data-eng", "url": format!("{hooks}/hook"), "secret": secret}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{channel}");

    let agent = stack.agent("acme", "1h").unwrap();
    std::fs::write(
        agent.dir.path().join("checks.yml"),
        "version: 1\ndatasets:\n  - dataset: customers\n    checks:\n      - template: not_null\n        column: email\n        \
         severity: critical\n      - template: not_null\n        column: country\n",
    )
    .unwrap();
    let config = std::fs::read_to_string(&agent.config_path).unwrap();
    std::fs::write(&agent.config_path, format!("{config}    checks: checks.yml\n")).unwrap();
    let collect = || async {
        let mut process = agent.spawn(1).unwrap();
        let status = wait_exit(&mut process, Duration::from_secs(120)).await.unwrap();
        assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    };

    // The first collection: not_null(email) fails (142 customers have none) → one critical
    // incident, one signed "opened" message.
    collect().await;
    let open = wait_for("an open incident", Duration::from_secs(30), || async {
        let page = control_plane.get("/api/v1/incidents?status=open", "acme").await?;
        Ok(page["items"]
            .as_array()
            .filter(|items| !items.is_empty())
            .cloned())
    })
    .await
    .unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    let incident = &open[0];
    assert_eq!(incident["severity"], "critical");
    assert_eq!(incident["asset"], "public.customers");
    assert_eq!(incident["alerts"], 1);
    assert_eq!(incident["rule"], "check:not_null(email)");
    assert!(incident["opened_at"].is_string());
    let id = incident["id"].as_str().unwrap().to_owned();
    wait_for("the opened message", Duration::from_secs(15), || async {
        Ok((!received.lock().unwrap().is_empty()).then_some(()))
    })
    .await
    .unwrap();
    {
        let got = received.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "{got:?}");
        let (signature, delivery, body) = &got[0];
        assert_eq!(body["type"], "incident.opened");
        assert_eq!(body["id"].as_str().unwrap(), delivery);
        assert_eq!(body["severity"], "critical");
        assert_eq!(body["asset"], "public.customers");
        assert_eq!(body["incident"]["id"].as_str().unwrap(), id);
        assert!(
            body["title"].as_str().unwrap().contains("not_null(email)"),
            "{body}"
        );
        assert!(body["root_cause"].as_str().unwrap().contains("142 of"), "{body}");
        assert_eq!(body["dimensions"], json!(["completeness"]));
        assert!(
            body["recommended_action"]
                .as_str()
                .unwrap()
                .contains("cwic-agent fix")
        );
        assert!(
            body["links"]["acknowledge"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/api/v1/incidents/{id}/acknowledge"))
        );
        assert!(signature.starts_with("t="), "{signature}");
    }

    // The same failure again: the alert joins the incident, nothing new is sent.
    collect().await;
    wait_for("the second alert to join", Duration::from_secs(30), || async {
        let detail = control_plane
            .get(&format!("/api/v1/incidents/{id}"), "acme")
            .await?;
        Ok((detail["alerts"] == 2).then_some(()))
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        received.lock().unwrap().len(),
        1,
        "a repeat failure sends nothing"
    );
    let open = control_plane
        .get("/api/v1/incidents?status=open", "acme")
        .await
        .unwrap();
    assert_eq!(open["items"].as_array().unwrap().len(), 1);

    // The data fixed: the check passes on the next collection, the incident resolves by itself
    // with a note, and one "resolved" goes to the channel.
    sqlx::query("UPDATE customers SET email = 'fixed' || id || '@example.com' WHERE email IS NULL")
        .execute(&stack.source.pool)
        .await
        .unwrap();
    collect().await;
    let resolved = wait_for("the incident to resolve", Duration::from_secs(30), || async {
        let detail = control_plane
            .get(&format!("/api/v1/incidents/{id}"), "acme")
            .await?;
        Ok((detail["status"] == "resolved").then_some(detail))
    })
    .await
    .unwrap();
    assert!(
        resolved["resolution"]
            .as_str()
            .unwrap()
            .starts_with("resolved automatically: check not_null(email) passed"),
        "{resolved}"
    );
    let kinds: Vec<&str> = resolved["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["kind"].as_str().unwrap())
        .collect();
    for kind in ["alert", "opened", "notified", "recovery", "resolved"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    wait_for("the resolved message", Duration::from_secs(15), || async {
        Ok((received.lock().unwrap().len() >= 2).then_some(()))
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = received.lock().unwrap().clone();
    assert_eq!(of_type(&got, "incident.opened").len(), 1, "{got:?}");
    assert_eq!(of_type(&got, "incident.resolved").len(), 1, "{got:?}");
    assert_eq!(got.len(), 2);
    let notifications = &resolved["notifications"];
    assert_eq!(notifications.as_array().unwrap().len(), 2, "{notifications}");
    assert!(
        notifications
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["state"] == "sent")
    );
    let open = control_plane
        .get("/api/v1/incidents?status=open", "acme")
        .await
        .unwrap();
    assert!(open["items"].as_array().unwrap().is_empty());
}

/// Two views read one table whose amounts are broken: each view's failing check opens an
/// incident, and the two go under one parent incident that names the table they share (the
/// agent's lineage from the views' definitions).
#[tokio::test]
async fn incidents_downstream_of_one_broken_table_group_under_a_parent_naming_it() {
    let stack = cwic_e2e::Stack::start().await.unwrap();
    let control_plane = &stack.control_plane;
    sqlx::raw_sql(
        "CREATE VIEW orders_first_half AS SELECT * FROM orders WHERE id % 100 < 50;
         CREATE VIEW orders_second_half AS SELECT * FROM orders WHERE id % 100 >= 50;",
    )
    .execute(&stack.source.pool)
    .await
    .unwrap();
    let agent = stack.agent("acme", "1h").unwrap();
    std::fs::write(
        agent.dir.path().join("checks.yml"),
        "version: 1\ndatasets:\n  - dataset: orders_first_half\n    checks:\n      - template: not_null\n        column: amount\n\
         \x20 - dataset: orders_second_half\n    checks:\n      - template: not_null\n        column: amount\n",
    )
    .unwrap();
    let config = std::fs::read_to_string(&agent.config_path).unwrap();
    std::fs::write(&agent.config_path, format!("{config}    checks: checks.yml\n")).unwrap();
    // Two collections: lineage and check results travel in separate batches, and an alert that
    // joins an incident groups it as well as one that opens it.
    for _ in 0..2 {
        let mut process = agent.spawn(1).unwrap();
        let status = wait_exit(&mut process, Duration::from_secs(120)).await.unwrap();
        assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    }

    let parent = wait_for("a parent incident", Duration::from_secs(30), || async {
        let page = control_plane.get("/api/v1/incidents?status=open", "acme").await?;
        Ok(page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|incident| incident["kind"] == "upstream")
            .cloned())
    })
    .await
    .unwrap();
    assert_eq!(
        parent["title"], "shared upstream cause: public.orders",
        "{parent}"
    );
    assert_eq!(
        parent["asset"], "public.orders",
        "the root is an asset CWIC observes"
    );
    let page = control_plane
        .get("/api/v1/incidents?status=open", "acme")
        .await
        .unwrap();
    let mut children: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|incident| incident["parent_id"] == parent["id"])
        .map(|incident| incident["asset"].as_str().unwrap())
        .collect();
    children.sort();
    assert_eq!(
        children,
        ["public.orders_first_half", "public.orders_second_half"],
        "{page}"
    );
    let detail = control_plane
        .get(
            &format!("/api/v1/incidents/{}", parent["id"].as_str().unwrap()),
            "acme",
        )
        .await
        .unwrap();
    let grouped = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["kind"] == "grouped")
        .unwrap();
    assert!(
        grouped["message"]
            .as_str()
            .unwrap()
            .contains("read public.orders"),
        "{grouped}"
    );
}
