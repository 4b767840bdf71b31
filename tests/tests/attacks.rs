//! The attacks of the first security review, performed against a running control plane (and, for
//! the broker findings, a real nats-server): each must be refused, and the process must stay up.
//! One test per finding; the fuzz run of the same entry points is `benches/attack_fuzz.rs`. Finding 10
//! (row-level security on every tenant table) is tested in `isolation.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::{Duration, Instant};

use cwic_control_plane::app::Application;
use cwic_e2e::{ControlPlane, NatsServer, TestDb, add_user, binary, mint_token, test_serve_config, wait_for};
use cwic_proto::Message;
use cwic_proto::agent::v1::{AssetObservation, LineageBatch, Metric, MetricBatch, SqlStatement};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

struct Api {
    base: String,
    client: reqwest::Client,
    _cancel: Option<CancellationToken>,
}

impl Api {
    /// A control plane in this process (no broker).
    async fn start(db: &TestDb) -> Self {
        let app = Application::build(test_serve_config(&db.url)).await.unwrap();
        let base = format!("http://{}", app.local_addr().unwrap());
        let cancel = CancellationToken::new();
        tokio::spawn(app.run(cancel.clone()));
        Self::at(base, Some(cancel))
    }

    fn at(base: String, cancel: Option<CancellationToken>) -> Self {
        Self {
            base,
            client: reqwest::Client::new(),
            _cancel: cancel,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value, String) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body, content_type)
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, body, _) = self.send(request).await;
        (status, body)
    }

    async fn login(&self, email: &str, password: &str, tenant: &str) -> (u16, Value) {
        let request = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": email, "password": password, "tenant": tenant}));
        let (status, body, _) = self.send(request).await;
        (status, body)
    }

    async fn alive(&self) -> bool {
        self.client
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
    }
}

/// An error answer in the API's one JSON shape.
fn assert_json_error(status: u16, body: &Value, expected: u16, what: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    assert!(
        body["code"].is_string() && body["message"].is_string(),
        "{what}: not the JSON error body: {body}"
    );
}

#[tokio::test]
async fn finding_1_an_admin_cannot_take_over_another_tenants_user() {
    let db = TestDb::create("attack1").await.unwrap();
    let api = Api::start(&db).await;
    add_user(&db.url, "beta", "bob@beta.example", "bob-own-password", "owner")
        .await
        .unwrap();
    let alpha_admin = mint_token(&db.url, "alpha", "admin").await.unwrap();

    // The attack: "add" beta's owner to alpha with a password of the attacker's choosing.
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/members",
            &alpha_admin,
            Some(json!({"email": "bob@beta.example", "role": "viewer",
                        "password": "attacker-chosen-pw", "display_name": "Pwned"})),
        )
        .await;
    assert_json_error(status, &body, 409, "setting another tenant's user's password");
    let (status, _) = api.login("bob@beta.example", "attacker-chosen-pw", "beta").await;
    assert_eq!(status, 401, "the attacker's password must not sign in");
    let (status, session) = api.login("bob@beta.example", "bob-own-password", "beta").await;
    assert_eq!(status, 200, "the victim's own password keeps working: {session}");
    assert_eq!(session["role"], "owner");

    // Inviting the existing user (no credentials) works and touches nothing of theirs.
    let (status, member) = api
        .call(
            Method::POST,
            "/api/v1/members",
            &alpha_admin,
            Some(json!({"email": "bob@beta.example", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{member}");
    assert_eq!(member["display_name"], "");
    let (status, _) = api.login("bob@beta.example", "bob-own-password", "beta").await;
    assert_eq!(status, 200);
    // Now a member of both, still only their own password works in either tenant.
    let (status, _) = api.login("bob@beta.example", "bob-own-password", "alpha").await;
    assert_eq!(status, 200);
    // Even now alpha's admin (not an owner of bob's only tenant) cannot reset it.
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/members",
            &alpha_admin,
            Some(json!({"email": "bob@beta.example", "role": "viewer", "password": "attacker-chosen-pw"})),
        )
        .await;
    assert_json_error(status, &body, 409, "resetting a shared user's password");
    let hash: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'bob@beta.example'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(cwic_control_plane::auth::verify_password(
        "bob-own-password",
        hash.as_deref().unwrap()
    ));

    // An owner resetting the password of a user only their tenant has is audited there.
    add_user(
        &db.url,
        "alpha",
        "carol@alpha.example",
        "carol-first-pass",
        "viewer",
    )
    .await
    .unwrap();
    let alpha_owner = mint_token(&db.url, "alpha", "owner").await.unwrap();
    let (status, _) = api
        .call(
            Method::POST,
            "/api/v1/members",
            &alpha_owner,
            Some(json!({"email": "carol@alpha.example", "role": "viewer", "password": "carol-new-password"})),
        )
        .await;
    assert_eq!(status, 201);
    let changes: Vec<String> = sqlx::query_scalar(
        "SELECT tenant_id FROM audit_log WHERE action = 'credentials_changed' AND target = 'user:carol@alpha.example'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(changes, vec!["alpha".to_owned()]);
}

#[tokio::test]
async fn finding_5_and_8_memberships_follow_one_rule_and_tokens_die_with_their_creator() {
    let db = TestDb::create("attack5").await.unwrap();
    let api = Api::start(&db).await;
    let owner = add_user(&db.url, "alpha", "olga@alpha.example", "olga-password-1", "owner")
        .await
        .unwrap();
    add_user(&db.url, "alpha", "adam@alpha.example", "adam-password-1", "admin")
        .await
        .unwrap();
    let (_, session) = api.login("adam@alpha.example", "adam-password-1", "alpha").await;
    let admin = session["access_token"].as_str().unwrap().to_owned();

    // Demoting the only owner through POST, PATCH or DELETE: all refused.
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/members",
            &admin,
            Some(json!({"email": "olga@alpha.example", "role": "viewer"})),
        )
        .await;
    assert_json_error(status, &body, 403, "POST demoting the owner");
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/members/{owner}"),
            &admin,
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_json_error(status, &body, 403, "PATCH demoting the owner");
    let (status, body) = api
        .call(Method::DELETE, &format!("/api/v1/members/{owner}"), &admin, None)
        .await;
    assert_json_error(status, &body, 403, "DELETE of the owner");
    let (_, members) = api.call(Method::GET, "/api/v1/members", &admin, None).await;
    let olga = members
        .as_array()
        .unwrap()
        .iter()
        .find(|member| member["email"] == "olga@alpha.example")
        .unwrap();
    assert_eq!(olga["role"], "owner");
    // The owner cannot leave the tenant without an owner either.
    let (_, session) = api.login("olga@alpha.example", "olga-password-1", "alpha").await;
    let owner_token = session["access_token"].as_str().unwrap().to_owned();
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/members",
            &owner_token,
            Some(json!({"email": "olga@alpha.example", "role": "admin"})),
        )
        .await;
    assert_json_error(status, &body, 409, "the last owner stepping down");

    // The admin makes an admin token; demoted to viewer, the token is a viewer's; removed, it dies.
    let (status, created) = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({"name": "adam's automation", "role": "admin"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let (status, _) = api.call(Method::GET, "/api/v1/tokens", &token, None).await;
    assert_eq!(status, 200);
    let adam: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'adam@alpha.example'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/members/{adam}"),
            &owner_token,
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = api.call(Method::GET, "/api/v1/tokens", &token, None).await;
    assert_eq!(status, 403, "the token holds no more than its creator's role now");
    let (status, _) = api.call(Method::GET, "/api/v1/tokens", &admin, None).await;
    assert_eq!(
        status, 403,
        "the demoted member's access token acts as a viewer at once"
    );
    let (status, _) = api.call(Method::GET, "/api/v1/assets", &token, None).await;
    assert_eq!(status, 200);
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("/api/v1/members/{adam}"),
            &owner_token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = api.call(Method::GET, "/api/v1/assets", &token, None).await;
    assert_json_error(status, &body, 401, "a token of a removed member");
    let (status, body) = api.call(Method::GET, "/api/v1/assets", &admin, None).await;
    assert_json_error(status, &body, 401, "the removed member's access token");
}

#[tokio::test]
async fn finding_6_sso_redirects_stay_on_this_server() {
    let db = TestDb::create("attack6").await.unwrap();
    let api = Api::start(&db).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for evil in [
        "/%09/evil.example/phish",
        "/%0A/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "https://evil.example/",
        "/%2F/evil.example",
    ] {
        let url = format!("{}/api/v1/auth/sso/alpha/start?redirect_to={evil}", api.base);
        let response = client.get(&url).send().await.unwrap();
        let status = response.status().as_u16();
        assert!(response.headers().get("location").is_none(), "{evil}: redirected");
        let body: Value = response.json().await.unwrap();
        assert!(status == 400, "{evil}: {status} {body}");
        assert!(body["code"].is_string(), "{evil}: {body}");
    }
}

#[tokio::test]
async fn finding_8_bad_input_gets_a_4xx_json_error() {
    let db = TestDb::create("attack8").await.unwrap();
    let api = Api::start(&db).await;
    let admin = mint_token(&db.url, "alpha", "admin").await.unwrap();
    let editor = mint_token(&db.url, "alpha", "editor").await.unwrap();

    let cases: Vec<(Method, &str, &str, Option<Value>, u16)> = vec![
        (
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({"name": "x", "role": "viewer", "expires_in_days": 100_000_000})),
            400,
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({"name": "a\u{0}b", "role": "viewer"})),
            400,
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({"name": "", "role": "viewer"})),
            400,
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({"name": "x".repeat(1_000_000), "role": "viewer"})),
            400,
        ),
        (
            Method::POST,
            "/api/v1/members",
            &admin,
            Some(json!({"email": "a\u{0}@b.example", "role": "viewer"})),
            400,
        ),
        (
            Method::POST,
            "/api/v1/members",
            &admin,
            Some(json!({"email": format!("{}@b.example", "x".repeat(300)), "role": "viewer"})),
            400,
        ),
        (
            Method::POST,
            "/api/v1/sso/connections",
            &admin,
            Some(json!({"name": "corp\u{0}", "issuer_url": "https://idp.example",
            "client_id": "c", "client_secret": "s"})),
            400,
        ),
        (
            Method::POST,
            "/api/v1/sso/connections",
            &admin,
            Some(json!({"name": "", "issuer_url": "https://idp.example",
            "client_id": "c", "client_secret": "s"})),
            400,
        ),
        (Method::GET, "/api/v1/assets?q=%00", &admin, None, 400),
        (
            Method::POST,
            "/api/v1/lineage",
            &editor,
            Some(
                json!({"eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00Z",
            "run": {"runId": "0190b6e4-0000-7000-8000-000000000000"}, "job": {"namespace": "n\u{0}", "name": "j"},
            "inputs": [{"namespace": "n\u{0}", "name": "a"}], "outputs": [{"namespace": "n", "name": "b"}]}),
            ),
            400,
        ),
        (Method::DELETE, "/api/v1/tokens/not-a-uuid", &admin, None, 400),
        (
            Method::PATCH,
            "/api/v1/members/not-a-uuid",
            &admin,
            Some(json!({"role": "viewer"})),
            400,
        ),
    ];
    for (method, path, token, body, expected) in cases {
        let what = format!("{method} {path}");
        let (status, answer) = api.call(method, path, token, body).await;
        assert_json_error(status, &answer, expected, &what);
    }

    // A dbt manifest with a NUL, and a 50 MB broken one whose error does not echo it.
    let post_raw = |path: &str, body: Vec<u8>, content_type: &str| {
        api.client
            .post(format!("{}{path}", api.base))
            .bearer_auth(&editor)
            .header("content-type", content_type)
            .body(body)
    };
    let manifest = br#"{"metadata": {"project_name": "p\u0000"}, "nodes": {}, "sources": {}}"#.to_vec();
    let (status, body, _) = api
        .send(post_raw("/api/v1/lineage/dbt", manifest, "application/json"))
        .await;
    assert_json_error(status, &body, 400, "a manifest with NUL");
    let mut huge = br#"{"metadata": {"project_name": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 50 * 1024 * 1024));
    huge.extend_from_slice(br#""}, "nodes": 7}"#);
    let (status, body, _) = api
        .send(post_raw("/api/v1/lineage/dbt", huge, "application/json"))
        .await;
    assert_json_error(status, &body, 400, "a 50 MB broken manifest");
    assert!(
        body.to_string().len() < 8 * 1024,
        "error body of {} bytes",
        body.to_string().len()
    );

    // Over the body limit: 413 in JSON. Wrong content type: 415 with a readable message.
    let big =
        serde_json::to_vec(&json!({"namespace": "n", "dialect": "postgres", "sql": "x".repeat(3 << 20)}))
            .unwrap();
    let (status, body, content_type) = api
        .send(post_raw("/api/v1/lineage/sql", big, "application/json"))
        .await;
    assert_json_error(status, &body, 413, "a body over the limit");
    assert!(content_type.starts_with("application/json"));
    let (status, body, _) = api
        .send(post_raw("/api/v1/lineage/sql", b"{}".to_vec(), "text/plain"))
        .await;
    assert_json_error(status, &body, 415, "wrong content type");
    assert_eq!(
        body["message"],
        "send the body as JSON with the header `Content-Type: application/json`"
    );

    // The OpenAPI document: a path parameter is one the path names; query parameters are in: query.
    let (_, document) = api.call(Method::GET, "/api/v1/openapi.json", &admin, None).await;
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                assert_eq!(
                    parameter["in"] == "path",
                    in_path,
                    "{method} {path}: parameter {name} is in {}",
                    parameter["in"]
                );
            }
        }
    }
    assert!(api.alive().await);
}

fn deep_sql(terms: usize) -> String {
    format!("INSERT INTO t SELECT a{} FROM s", "+a".repeat(terms - 1))
}

#[tokio::test]
async fn finding_2_deep_sql_is_refused_and_the_process_stays_up() {
    let db = TestDb::create("attack2").await.unwrap();
    let nats = NatsServer::start().await.unwrap();
    let control_plane = ControlPlane::start(&db.url, &nats.url()).await.unwrap();
    let api = Api::at(control_plane.base_url(), None);
    let editor = mint_token(&db.url, "alpha", "editor").await.unwrap();

    for terms in [50_000, 1_000_000] {
        let (status, body) = api
            .call(
                Method::POST,
                "/api/v1/lineage/sql",
                &editor,
                Some(json!({"namespace": "wh", "dialect": "postgres", "sql": deep_sql(terms)})),
            )
            .await;
        assert!((400..500).contains(&status), "{terms} terms: {status} {body}");
        assert!(body["code"].is_string(), "{body}");
        assert!(api.alive().await, "the process died on {terms} terms");
    }
    // Through dbt: the model's SQL is refused with a warning, the manifest's other lineage kept.
    let manifest = json!({
        "metadata": {"project_name": "shop", "adapter_type": "postgres"},
        "nodes": {"model.shop.deep": {"resource_type": "model", "name": "deep", "schema": "public",
                  "depends_on": {"nodes": []}, "compiled_code": deep_sql(50_000)[14..].to_owned()}},
        "sources": {}
    });
    let (status, body) = api
        .call(Method::POST, "/api/v1/lineage/dbt", &editor, Some(manifest))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["warnings"][0]
            .as_str()
            .unwrap()
            .contains("nested too deeply"),
        "{body}"
    );
    // Still answering, and ordinary SQL is still recorded.
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/lineage/sql",
            &editor,
            Some(json!({"namespace": "wh", "dialect": "postgres", "sql": "INSERT INTO t SELECT a + b AS c FROM s"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["column_edges"], 2);

    // Offline: an error and exit code 1, not an abort.
    let mut child = std::process::Command::new(binary("cwic"))
        .args(["lineage", "--dialect", "postgres"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(deep_sql(400_000).as_bytes())
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nested too deeply at line 1"), "{stderr}");
}

fn lineage_batch(tenant: &str, agent: &str, sql: &str) -> LineageBatch {
    LineageBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.into(),
        agent_id: agent.into(),
        collected_at_unix_ms: 1_700_000_000_000,
        source_name: "warehouse".into(),
        dialect: "postgres".into(),
        statements: vec![SqlStatement {
            job: "view:public.v".into(),
            sql: sql.into(),
            default_schema: "public".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn dead_letters(control_plane: &ControlPlane, db: &TestDb, tenant: &str) -> Vec<Value> {
    let admin = mint_token(&db.url, tenant, "admin").await.unwrap();
    let api = Api::at(control_plane.base_url(), None);
    let (status, body) = api.call(Method::GET, "/api/v1/dead-letters", &admin, None).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

async fn metrics_text(control_plane: &ControlPlane) -> String {
    reqwest::get(format!("{}/metrics", control_plane.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn finding_3_a_poison_lineage_message_is_dead_lettered_and_never_crash_loops() {
    let db = TestDb::create("attack3").await.unwrap();
    let nats = NatsServer::start().await.unwrap();
    let mut control_plane = ControlPlane::start(&db.url, &nats.url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let publish = |batch: LineageBatch| {
        let jetstream = jetstream.clone();
        async move {
            jetstream
                .publish("cwic.acme.agent.wh-1.lineage", batch.encode_to_vec().into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    };

    publish(lineage_batch("acme", "wh-1", &deep_sql(50_000))).await;
    let letters = wait_for(
        "the poison message dead-lettered",
        Duration::from_secs(20),
        || async {
            let letters = dead_letters(&control_plane, &db, "acme").await;
            Ok((!letters.is_empty()).then_some(letters))
        },
    )
    .await
    .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["subject"], "cwic.acme.agent.wh-1.lineage");
    assert!(
        letters[0]["reason"]
            .as_str()
            .unwrap()
            .contains("nested too deeply"),
        "{}",
        letters[0]
    );
    assert!(
        dead_letters(&control_plane, &db, "globex").await.is_empty(),
        "another tenant sees it"
    );
    let metrics = metrics_text(&control_plane).await;
    assert!(
        metrics.contains("cwic_ingest_rejects_total{tenant=\"acme\",kind=\"dead_letter\"} 1"),
        "{metrics}"
    );
    // Alive, and the next good batch is recorded.
    publish(lineage_batch("acme", "wh-1", "CREATE VIEW v AS SELECT a FROM s")).await;
    wait_for("the good lineage stored", Duration::from_secs(20), || async {
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM lineage_edges WHERE tenant_id = 'acme'")
            .fetch_one(&db.pool)
            .await?;
        Ok((stored > 0).then_some(()))
    })
    .await
    .unwrap();

    // A message that was delivered (and left unsettled, as by a process that died on it) more
    // often than the limit is set aside unread on its next delivery.
    control_plane.terminate().unwrap();
    publish(lineage_batch("acme", "wh-1", "CREATE VIEW w AS SELECT b FROM s")).await;
    let installation: String = sqlx::query_scalar("SELECT id FROM installation")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let consumer: async_nats::jetstream::consumer::PullConsumer = jetstream
        .get_stream("CWIC_AGENT")
        .await
        .unwrap()
        .get_consumer(&format!("cwic-lineage-{installation}"))
        .await
        .unwrap();
    let max = cwic_control_plane::ingest::MAX_DELIVERIES;
    for delivery in 1..=max {
        use futures::StreamExt;
        let mut batch = consumer
            .fetch()
            .max_messages(1)
            .expires(Duration::from_secs(5))
            .messages()
            .await
            .unwrap();
        let message = batch.next().await.expect("the message is delivered").unwrap();
        assert_eq!(message.info().unwrap().delivered, delivery);
        message
            .ack_with(async_nats::jetstream::AckKind::Nak(None))
            .await
            .unwrap();
    }
    control_plane.restart().await.unwrap();
    let letters = wait_for(
        "the crash-looping message dead-lettered",
        Duration::from_secs(20),
        || async {
            let letters = dead_letters(&control_plane, &db, "acme").await;
            Ok((letters.len() == 2).then_some(letters))
        },
    )
    .await
    .unwrap();
    assert_eq!(letters[0]["deliveries"], max + 1);
    assert!(
        letters[0]["reason"]
            .as_str()
            .unwrap()
            .contains("set aside unread"),
        "{}",
        letters[0]
    );
    let api = Api::at(control_plane.base_url(), None);
    assert!(api.alive().await);
    let log = control_plane.log();
    assert!(
        log.contains(&format!("cwic-lineage-{installation}")),
        "the log names the consumer"
    );

    // What our own checks refuse (a 2 KB job name) is set aside at once, not after five tries.
    let mut long_name = lineage_batch("acme", "wh-1", "CREATE VIEW x AS SELECT c FROM s");
    long_name.statements[0].job = "j".repeat(2_048);
    publish(long_name).await;
    let letters = wait_for(
        "the refused batch dead-lettered",
        Duration::from_secs(20),
        || async {
            let letters = dead_letters(&control_plane, &db, "acme").await;
            Ok((letters.len() == 3).then_some(letters))
        },
    )
    .await
    .unwrap();
    assert_eq!(letters[0]["deliveries"], 1);
    assert!(
        letters[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("refused: lineage name"),
        "{}",
        letters[0]
    );
}

fn metric_batch(tenant: &str, asset: &str, collected_at_unix_ms: i64) -> MetricBatch {
    MetricBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.into(),
        agent_id: "wh-1".into(),
        collected_at_unix_ms,
        source_name: "warehouse".into(),
        source_kind: "postgres".into(),
        assets: vec![AssetObservation {
            schema: "public".into(),
            name: asset.into(),
            metrics: vec![Metric {
                name: "row_count".into(),
                column: String::new(),
                value: 5.0,
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn stored_batches(db: &TestDb, tenant: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ingested_batches WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn finding_4_one_tenants_bad_batch_never_holds_back_another_tenants() {
    let db = TestDb::create("attack4").await.unwrap();
    // Any refusal by the database (here a trigger standing in for one nobody foresaw) must fail
    // the batch that caused it alone.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.name = 'poison' THEN RAISE EXCEPTION 'poison asset' USING ERRCODE = '22000'; END IF;
             RETURN NEW;
         END $$;",
    )
    .execute(&db.pool)
    .await
    .ok();
    let nats = NatsServer::start().await.unwrap();
    let control_plane = ControlPlane::start(&db.url, &nats.url()).await.unwrap();
    sqlx::raw_sql(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON assets FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let jetstream = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let publish = |subject: &'static str, batch: MetricBatch| {
        let jetstream = jetstream.clone();
        async move {
            jetstream
                .publish(subject, batch.encode_to_vec().into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    };
    // Refused at decode: a NUL in a name, a year far before the epoch.
    publish(
        "cwic.evil.agent.wh-1.metrics",
        metric_batch("evil", "na\u{0}me", 1_700_000_000_000),
    )
    .await;
    publish(
        "cwic.evil.agent.wh-1.metrics",
        metric_batch("evil", "t", -8_000_000_000_000_000),
    )
    .await;
    // Refused by the database.
    publish(
        "cwic.evil.agent.wh-1.metrics",
        metric_batch("evil", "poison", 1_700_000_000_000),
    )
    .await;
    // While they are there, every good batch of another tenant is stored within a second.
    for round in 0..20 {
        let published = Instant::now();
        publish(
            "cwic.good.agent.wh-1.metrics",
            metric_batch("good", &format!("t{round}"), 1_700_000_000_000),
        )
        .await;
        wait_for("the good batch stored", Duration::from_secs(1), || async {
            Ok((stored_batches(&db, "good").await == round + 1).then_some(()))
        })
        .await
        .unwrap_or_else(|error| panic!("round {round}: {error} after {:?}", published.elapsed()));
    }
    assert_eq!(stored_batches(&db, "evil").await, 0);
    // The database's refusal is retried, then set aside with its reason.
    let letters = wait_for(
        "the refused batch dead-lettered",
        Duration::from_secs(40),
        || async {
            let letters = dead_letters(&control_plane, &db, "evil").await;
            Ok((!letters.is_empty()).then_some(letters))
        },
    )
    .await
    .unwrap();
    assert!(
        letters[0]["reason"].as_str().unwrap().contains("poison asset"),
        "{}",
        letters[0]
    );
    let metrics = metrics_text(&control_plane).await;
    assert!(
        metrics.contains("cwic_ingest_rejects_total{tenant=\"evil\",kind=\"invalid\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cwic_ingest_rejects_total{tenant=\"evil\",kind=\"dead_letter\"} 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("tenant=\"good\""), "{metrics}");
    let log = control_plane.log();
    assert!(log.contains("contains a NUL character"), "{log}");
    assert!(log.contains("is outside 1970-01-01 to 2200-01-01"), "{log}");
}

#[tokio::test]
async fn finding_9_two_installations_on_one_broker_each_get_every_batch() {
    let first_db = TestDb::create("attack9a").await.unwrap();
    let second_db = TestDb::create("attack9b").await.unwrap();
    let nats = NatsServer::start().await.unwrap();
    let first = ControlPlane::start(&first_db.url, &nats.url()).await.unwrap();
    let second = ControlPlane::start(&second_db.url, &nats.url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    for round in 0..20 {
        let batch = metric_batch("acme", &format!("t{round}"), 1_700_000_000_000);
        jetstream
            .publish("cwic.acme.agent.wh-1.metrics", batch.encode_to_vec().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    for db in [&first_db, &second_db] {
        wait_for("all 20 batches stored", Duration::from_secs(20), || async {
            Ok((stored_batches(db, "acme").await == 20).then_some(()))
        })
        .await
        .unwrap();
    }
    for (control_plane, db) in [(&first, &first_db), (&second, &second_db)] {
        let installation: String = sqlx::query_scalar("SELECT id FROM installation")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert!(
            control_plane
                .log()
                .contains(&format!("cwic-ingest-{installation}"))
        );
    }
}
