//! Notification channels over real HTTP: a signed webhook created through the API (its secret never
//! returned), a test message received by a local HTTP server this test starts, its signature checked
//! independently (Python's hmac), and a receiver that refuses or is not there reported as such.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use cwic_control_plane::app::Application;
use cwic_e2e::{TestDb, free_port, mint_token, test_serve_config};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// What the receiver got: the signature header and the body.
type Received = Arc<Mutex<Vec<(Option<String>, Vec<u8>)>>>;

/// A local webhook receiver: `/ok` takes a message, `/refuse` answers 500.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let keep = received.clone();
    let app = axum::Router::new()
        .route(
            "/ok",
            post(move |headers: HeaderMap, body: Bytes| {
                let keep = keep.clone();
                async move {
                    let signature = headers
                        .get("x-cwic-signature")
                        .map(|v| v.to_str().unwrap().to_owned());
                    keep.lock().unwrap().push((signature, body.to_vec()));
                    StatusCode::OK
                }
            }),
        )
        .route("/refuse", post(|| async { StatusCode::INTERNAL_SERVER_ERROR }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, received)
}

/// HMAC-SHA256 hex by Python's standard library: an implementation that is not ours.
fn python_hmac(secret: &str, message: &[u8]) -> String {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; key = sys.argv[1].encode(); \
             print(hmac.new(key, sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
            secret,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(message)?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn a_signed_webhook_channel_sends_a_test_message_the_receiver_can_verify() {
    let db = TestDb::create("channels").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));
    let admin = mint_token(&db.url, "acme", "admin").await.unwrap();
    let viewer = mint_token(&db.url, "acme", "viewer").await.unwrap();
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut request = client.request(method, format!("{base}{path}")).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (hooks, received) = receiver().await;
    let secret = "a-long-shared-secret-0123456789";

    // Wrong input is refused naming the field.
    for (body, field) in [
        (
            json!({"kind": "carrier-pigeon", "name": "x", "url": format!("{hooks}/ok"), "secret": secret}),
            "kind",
        ),
        (
            json!({"kind": "webhook", "name": "x", "url": "ftp://nowhere", "secret": secret}),
            "url",
        ),
        (
            json!({"kind": "webhook", "name": "x", "url": format!("{hooks}/ok"), "secret": "short"}),
            "secret",
        ),
        (
            json!({"kind": "webhook", "name": " ", "url": format!("{hooks}/ok"), "secret": secret}),
            "name",
        ),
    ] {
        let (status, answer) = call(reqwest::Method::POST, "/api/v1/channels", &admin, Some(body)).await;
        assert_eq!(
            (status, answer["details"]["field"].as_str()),
            (400, Some(field)),
            "{answer}"
        );
    }

    let (status, created) = call(
        reqwest::Method::POST,
        "/api/v1/channels",
        &admin,
        Some(json!({"kind": "webhook", "name": "on-call hook", "url": format!("{hooks}/ok"), "secret": secret})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["secret_set"], true);
    let (status, again) = call(
        reqwest::Method::POST,
        "/api/v1/channels",
        &admin,
        Some(json!({"kind": "webhook", "name": "on-call hook", "url": format!("{hooks}/ok"), "secret": secret})),
    )
    .await;
    assert_eq!(status, 409, "a name is taken once: {again}");
    let (status, listed) = call(reqwest::Method::GET, "/api/v1/channels", &viewer, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["name"], "on-call hook");
    assert!(
        !listed.to_string().contains(secret) && !created.to_string().contains(secret),
        "the secret is never returned: {listed}"
    );

    // The test message arrives once, signed so that the receiver can verify it with the secret.
    let id = created["id"].as_str().unwrap();
    let (status, sent) = call(
        reqwest::Method::POST,
        &format!("/api/v1/channels/{id}/test"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(
        (sent["delivered"].as_bool(), sent["status"].as_u64()),
        (Some(true), Some(200)),
        "{sent}"
    );
    let (signature, body) = received.lock().unwrap().pop().unwrap();
    let signature = signature.expect("an X-Cwic-Signature header");
    let (t, v1) = signature.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
    assert!(
        (0..60).contains(&age),
        "t is the send time in unix seconds: {signature}"
    );
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(&body);
    assert_eq!(
        v1.strip_prefix("v1=").unwrap(),
        python_hmac(secret, &signed),
        "{signature}"
    );
    assert_ne!(
        v1.strip_prefix("v1=").unwrap(),
        python_hmac("another-secret-entirely", &signed)
    );
    let message: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (&message["type"], &message["tenant"], &message["channel"]["name"]),
        (&json!("test"), &json!("acme"), &json!("on-call hook")),
        "{message}"
    );

    // A receiver that refuses, or that is not there, is reported, not hidden.
    for (name, url, expected) in [
        ("refusing", format!("{hooks}/refuse"), "500"),
        (
            "gone",
            format!("http://127.0.0.1:{}/x", free_port()),
            "cannot connect",
        ),
    ] {
        let (_, channel) = call(
            reqwest::Method::POST,
            "/api/v1/channels",
            &admin,
            Some(json!({"kind": "webhook", "name": name, "url": url, "secret": secret})),
        )
        .await;
        let id = channel["id"].as_str().unwrap();
        let (status, sent) = call(
            reqwest::Method::POST,
            &format!("/api/v1/channels/{id}/test"),
            &admin,
            None,
        )
        .await;
        assert_eq!((status, &sent["delivered"]), (200, &json!(false)), "{sent}");
        assert!(sent["message"].as_str().unwrap().contains(expected), "{sent}");
    }
    assert!(received.lock().unwrap().is_empty(), "nothing else arrived");
    cancel.cancel();
}
