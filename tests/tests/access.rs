//! Who may do what, over real HTTP against a real database: every route of the OpenAPI document with
//! every role and another tenant, sign-in with refresh-token rotation, API tokens, the audit log and
//! rate limits.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::num::NonZeroU32;

use cwic_control_plane::api::access::RateLimitConfig;
use cwic_control_plane::app::{Application, ServeConfig};
use cwic_control_plane::store::Store;
use cwic_e2e::{TestDb, add_user, mint_token, test_serve_config};
use cwic_proto::agent::v1::{AssetKind, AssetObservation, Metric, MetricBatch};
use cwic_shared::{AgentId, TenantId};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

struct Server {
    base: String,
    client: reqwest::Client,
    cancel: CancellationToken,
}

impl Server {
    async fn start(config: ServeConfig) -> Self {
        let app = Application::build(config).await.unwrap();
        let base = format!("http://{}", app.local_addr().unwrap());
        let cancel = CancellationToken::new();
        tokio::spawn(app.run(cancel.clone()));
        Self {
            base,
            client: reqwest::Client::new(),
            cancel,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The role a route needs, read from its `bearer` security requirement; `None` for public routes.
fn required_role(operation: &Value) -> Option<&str> {
    operation["security"]
        .as_array()?
        .iter()
        .find_map(|requirement| requirement["bearer"][0].as_str())
}

const ROLES: [&str; 4] = ["viewer", "editor", "admin", "owner"];

fn rank(role: &str) -> usize {
    ROLES.iter().position(|known| *known == role).unwrap()
}

#[tokio::test]
async fn every_route_answers_each_role_and_never_crosses_tenants() {
    let db = TestDb::create("access").await.unwrap();
    let server = Server::start(test_serve_config(&db.url)).await;
    let store = Store::from_pool(db.pool.clone());
    let mut tokens = Vec::new();
    for role in ROLES {
        tokens.push((role, mint_token(&db.url, "acme", role).await.unwrap()));
    }
    let other_tenant = mint_token(&db.url, "globex", "owner").await.unwrap();
    let asset = seed_asset(&store, &db.pool, "acme").await;
    let member = add_user(&db.url, "acme", "target@acme.test", "a-long-password", "viewer")
        .await
        .unwrap();
    // Lineage in acme, so the lineage routes have something to find (and to leak, if they could).
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/lineage/sql",
            Some(tokens[1].1.as_str()),
            Some(&json!({"namespace": "acme-warehouse", "dialect": "postgres",
                         "sql": "INSERT INTO mart.acme_totals SELECT sum(amount) AS total FROM public.acme_orders"})),
        )
        .await;
    assert_eq!(status, 200);

    let (status, document) = server.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let paths = document["paths"].as_object().unwrap();
    assert!(
        paths.len() >= 15,
        "the document lists every route: {:?}",
        paths.keys()
    );
    let mut checked = 0;
    for (template, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let Some(needed) = required_role(operation) else {
                assert!(
                    template.starts_with("/api/v1/auth/") && template != "/api/v1/auth/me",
                    "{method} {template} declares no role but is not a sign-in route"
                );
                continue;
            };
            let method: Method = method.to_uppercase().parse().unwrap();
            // A fresh target per call for the routes that delete or change it.
            let token_target = {
                let (_, created) = server
                    .call(
                        Method::POST,
                        "/api/v1/tokens",
                        Some(tokens[3].1.as_str()),
                        Some(&json!({"name": "target", "role": "viewer"})),
                    )
                    .await;
                created["id"].as_str().unwrap().to_owned()
            };
            let path = template.replace("{user_id}", &member.to_string()).replace(
                "{id}",
                if template.starts_with("/api/v1/tokens") {
                    &token_target
                } else {
                    &asset
                },
            );
            let query = match template.as_str() {
                "/api/v1/lineage/path" => {
                    "?namespace=acme-warehouse&from_dataset=public.acme_orders&to_dataset=mart.acme_totals"
                }
                "/api/v1/lineage/upstream" | "/api/v1/lineage/downstream" | "/api/v1/lineage/impact" => {
                    "?namespace=acme-warehouse&dataset=public.acme_orders"
                }
                _ => "",
            };
            let path = format!("{path}{query}");
            let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));

            let (status, answer) = server.call(method.clone(), &path, None, body.as_ref()).await;
            assert_eq!(status, 401, "{method} {path} without a token: {answer}");
            assert_eq!(answer["code"], "unauthenticated");
            let (status, _) = server
                .call(method.clone(), &path, Some("cwic_pat_forged"), body.as_ref())
                .await;
            assert_eq!(status, 401, "{method} {path} with a forged token");

            for (role, token) in &tokens {
                let (status, answer) = server
                    .call(method.clone(), &path, Some(token), body.as_ref())
                    .await;
                if rank(role) < rank(needed) {
                    assert_eq!(
                        status, 403,
                        "{method} {path} as {role} (needs {needed}): {answer}"
                    );
                    assert_eq!(answer["details"]["required_role"], needed);
                } else {
                    assert!(
                        status != 401 && status != 403 && status < 500,
                        "{method} {path} as {role} (needs {needed}) got {status}: {answer}"
                    );
                }
            }

            let (status, answer) = server
                .call(method.clone(), &path, Some(&other_tenant), body.as_ref())
                .await;
            let text = answer.to_string();
            // Nothing of acme's that the caller did not name itself may come back. (The audit log
            // shows the other tenant its own requests, ids it sent included; what must not show is
            // acme's activity, such as acme's successful lineage upload.)
            if template == "/api/v1/audit" {
                let records = answer.as_array().cloned().unwrap_or_default();
                assert!(
                    records
                        .iter()
                        .all(|record| !(record["action"] == "POST /api/v1/lineage/sql"
                            && record["outcome"] == "success")),
                    "another tenant reads acme's audit log: {answer}"
                );
                checked += 1;
                continue;
            }
            let mut secrets = vec![asset.clone(), member.to_string(), token_target.clone()];
            secrets.push("target@acme.test".to_owned());
            if !path.contains("acme_totals") {
                secrets.push("acme_totals".to_owned());
            }
            for secret in &secrets {
                assert!(
                    !text.contains(secret),
                    "{method} {path} as another tenant's owner ({status}) leaks `{secret}`: {text}"
                );
            }
            if template.contains('{') || !query.is_empty() {
                assert!(
                    status == 404 || status == 400,
                    "{method} {path} on another tenant's resource must be 404, got {status}: {text}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 18, "checked {checked} operations");
}

#[tokio::test]
async fn sign_in_rotates_refresh_tokens_and_a_replayed_one_ends_the_session() {
    let db = TestDb::create("access").await.unwrap();
    let server = Server::start(test_serve_config(&db.url)).await;
    add_user(
        &db.url,
        "acme",
        "Ada@Acme.test",
        "correct horse battery",
        "editor",
    )
    .await
    .unwrap();
    let login = |password: &'static str| json!({"email": "ada@acme.test", "password": password});

    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&login("wrong password")),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (401, json!("unauthenticated")));
    let (status, unknown) = server
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"email": "nobody@acme.test", "password": "x"})),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        unknown["message"], body["message"],
        "no hint which addresses exist"
    );

    let (status, session) = server
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&login("correct horse battery")),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(
        (session["tenant"].clone(), session["role"].clone()),
        (json!("acme"), json!("editor"))
    );
    assert_eq!(session["expires_in"], 900);
    let access = session["access_token"].as_str().unwrap();
    let (status, me) = server
        .call(Method::GET, "/api/v1/auth/me", Some(access), None)
        .await;
    assert_eq!(
        (status, me["actor"].clone(), me["role"].clone()),
        (200, json!("user:ada@acme.test"), json!("editor"))
    );
    // An editor's access token is not an admin's.
    let (status, _) = server
        .call(Method::GET, "/api/v1/tokens", Some(access), None)
        .await;
    assert_eq!(status, 403);

    let first = session["refresh_token"].as_str().unwrap().to_owned();
    assert!(first.starts_with("cwic_rt_"));
    let (status, _) = server
        .call(Method::GET, "/api/v1/assets", Some(&first), None)
        .await;
    assert_eq!(status, 401, "a refresh token is not an access token");
    let (status, rotated) = server
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(&json!({"refresh_token": first})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let (status, _) = server
        .call(
            Method::GET,
            "/api/v1/assets",
            rotated["access_token"].as_str(),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Replaying the rotated token (as a thief would) revokes the whole family, the current one too.
    let (status, replay) = server
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(&json!({"refresh_token": first})),
        )
        .await;
    assert_eq!(status, 401);
    assert!(
        replay["message"].as_str().unwrap().contains("already used"),
        "{replay}"
    );
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(&json!({"refresh_token": second})),
        )
        .await;
    assert_eq!(status, 401, "the family is revoked");

    // Logout ends a fresh session.
    let (_, session) = server
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&login("correct horse battery")),
        )
        .await;
    let refresh = session["refresh_token"].as_str().unwrap();
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/auth/logout",
            None,
            Some(&json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(&json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(status, 401);

    // A member of two tenants chooses one.
    add_user(
        &db.url,
        "globex",
        "ada@acme.test",
        "correct horse battery",
        "viewer",
    )
    .await
    .unwrap();
    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&login("correct horse battery")),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (400, json!("tenant_required")));
    assert_eq!(body["details"]["tenants"], json!(["acme", "globex"]));
    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"email": "ada@acme.test", "password": "correct horse battery", "tenant": "globex"})),
        )
        .await;
    assert_eq!((status, body["role"].clone()), (200, json!("viewer")));

    // Every attempt is in the audit log, failures included, with the client address.
    let outcomes: Vec<(Option<String>, String, String, String)> = sqlx::query_as(
        "SELECT tenant_id, actor, outcome, source_ip FROM audit_log WHERE action = 'login' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let summary: Vec<(Option<&str>, &str, &str)> = outcomes
        .iter()
        .map(|(tenant, actor, outcome, _)| (tenant.as_deref(), actor.as_str(), outcome.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (None, "user:ada@acme.test", "denied"),
            (None, "user:nobody@acme.test", "denied"),
            (Some("acme"), "user:ada@acme.test", "success"),
            (Some("acme"), "user:ada@acme.test", "success"),
            (Some("globex"), "user:ada@acme.test", "success"),
        ]
    );
    assert!(outcomes.iter().all(|row| row.3 == "127.0.0.1"));
}

#[tokio::test]
async fn api_tokens_are_shown_once_scoped_to_a_role_and_revocable() {
    let db = TestDb::create("access").await.unwrap();
    let server = Server::start(test_serve_config(&db.url)).await;
    let admin = mint_token(&db.url, "acme", "admin").await.unwrap();
    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&admin),
            Some(&json!({"name": "ci", "role": "owner"})),
        )
        .await;
    assert_eq!(
        (status, body["details"]["field"].clone()),
        (403, json!("role")),
        "{body}"
    );
    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&admin),
            Some(&json!({"name": 5, "role": "viewer"})),
        )
        .await;
    assert_eq!(
        (status, body["details"]["field"].clone()),
        (400, json!("name")),
        "{body}"
    );
    let (status, created) = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&admin),
            Some(&json!({"name": "ci", "role": "editor", "expires_in_days": 30})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["token"].as_str().unwrap();
    let (status, listed) = server
        .call(Method::GET, "/api/v1/tokens", Some(&admin), None)
        .await;
    assert_eq!(status, 200);
    assert!(
        !listed.to_string().contains(secret),
        "the secret is shown only once"
    );
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE name = 'ci'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32, "only the SHA-256 is stored");

    let (status, me) = server
        .call(Method::GET, "/api/v1/auth/me", Some(secret), None)
        .await;
    assert_eq!((status, me["role"].clone()), (200, json!("editor")));
    let used: bool = sqlx::query_scalar("SELECT last_used_at IS NOT NULL FROM api_tokens WHERE name = 'ci'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(used, "a use of the token is recorded");
    let (status, _) = server
        .call(Method::GET, "/api/v1/audit", Some(secret), None)
        .await;
    assert_eq!(status, 403);
    let id = created["id"].as_str().unwrap();
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = server
        .call(Method::GET, "/api/v1/auth/me", Some(secret), None)
        .await;
    assert_eq!(
        (status, body["message"].clone()),
        (401, json!("the API token is unknown, revoked or expired"))
    );

    // The audit log recorded the changes, is readable by admins and cannot be rewritten.
    let (status, records) = server
        .call(
            Method::GET,
            "/api/v1/audit?action=/api/v1/tokens",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let actions: Vec<(String, String)> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|record| {
            (
                record["action"].as_str().unwrap().to_owned(),
                record["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("DELETE /api/v1/tokens/{id}".to_owned(), "success".to_owned()),
            ("POST /api/v1/tokens".to_owned(), "success".to_owned()),
            ("POST /api/v1/tokens".to_owned(), "rejected".to_owned()),
            ("POST /api/v1/tokens".to_owned(), "denied".to_owned()),
        ]
    );
    assert!(
        records[0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("token:test-admin:")
    );
    assert_eq!(records[0]["target"], format!("/api/v1/tokens/{id}"));
    assert_eq!(records[0]["source_ip"], "127.0.0.1");
    for statement in [
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let error = sqlx::query(statement).execute(&db.pool).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{statement}: {error}");
    }
}

#[tokio::test]
async fn a_caller_over_its_rate_is_told_when_to_retry() {
    let db = TestDb::create("access").await.unwrap();
    let mut config = test_serve_config(&db.url);
    config.rate_limits = RateLimitConfig {
        per_second: NonZeroU32::new(1).unwrap(),
        burst: NonZeroU32::new(3).unwrap(),
        logins_per_minute: NonZeroU32::new(2).unwrap(),
    };
    let server = Server::start(config).await;
    let viewer = mint_token(&db.url, "acme", "viewer").await.unwrap();
    let other = mint_token(&db.url, "acme", "viewer").await.unwrap();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            server
                .call(Method::GET, "/api/v1/assets", Some(&viewer), None)
                .await
                .0,
        );
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let response = server
        .client
        .get(format!("{}/api/v1/assets", server.base))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    // Limits are per caller: another token is unaffected.
    assert_eq!(
        server
            .call(Method::GET, "/api/v1/assets", Some(&other), None)
            .await
            .0,
        200
    );
    // Password guessing is limited per address, before the password is even checked.
    let guess = json!({"email": "ada@acme.test", "password": "guess"});
    let mut logins = Vec::new();
    for _ in 0..3 {
        logins.push(
            server
                .call(Method::POST, "/api/v1/auth/login", None, Some(&guess))
                .await
                .0,
        );
    }
    assert_eq!(logins, vec![401, 401, 429]);
}

/// One observed table in `tenant`; returns its asset id.
async fn seed_asset(store: &Store, pool: &sqlx::PgPool, tenant: &str) -> String {
    let batch = MetricBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.into(),
        agent_id: "wh-1".into(),
        agent_version: "0.1.0".into(),
        collected_at_unix_ms: 1_700_000_000_000,
        finished_at_unix_ms: 1_700_000_000_005,
        source_name: format!("{tenant}-warehouse"),
        source_kind: "postgres".into(),
        assets: vec![AssetObservation {
            schema: "public".into(),
            name: format!("{tenant}_orders"),
            kind: AssetKind::Table as i32,
            columns: vec![],
            metrics: vec![Metric {
                name: "row_count".into(),
                column: String::new(),
                value: 42.0,
            }],
            error: String::new(),
            ..Default::default()
        }],
    };
    store
        .ingest_batch(
            &TenantId::parse(tenant).unwrap(),
            &AgentId::parse("wh-1").unwrap(),
            &batch,
            None,
        )
        .await
        .unwrap();
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM assets WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(pool)
        .await
        .unwrap();
    id.to_string()
}
