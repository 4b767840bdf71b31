//! Single sign-on against a real OpenID Connect provider (node-oidc-provider, started by the test):
//! authorization code + PKCE through the provider's sign-in and consent pages, users provisioned on
//! first login into the connection's tenant, sessions through the refresh cookie.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use cwic_control_plane::app::Application;
use cwic_e2e::{TestDb, free_port, mint_token, repository_root, test_serve_config};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

struct Provider {
    issuer: String,
    child: Child,
    /// Kept open: the provider must not write into a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Provider {
    fn start(redirect_uri: &str) -> Self {
        let dir = repository_root().join("tests/oidc");
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "run `npm ci --prefix tests/oidc` first (the test command does)"
        );
        let port = free_port();
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .args([&port.to_string(), "cwic", "provider-secret", redirect_uri])
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(std::env::temp_dir().join(format!("cwic-oidc-{port}.log"))).unwrap(),
            )
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let issuer = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("provider did not start: {line:?}"))
            .to_owned();
        Self {
            issuer,
            child,
            _stdout: stdout,
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser: keeps cookies, follows redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

/// Walks the provider's development sign-in and consent pages as `login`; returns where the browser
/// ends up and that page's status.
async fn sign_in(browser: &reqwest::Client, start: &str, login: &str) -> (String, u16) {
    let page = browser.get(start).send().await.unwrap();
    let login_page = page.url().to_string();
    assert!(
        login_page.contains("/interaction/"),
        "expected the provider's sign-in page, got {login_page}"
    );
    let page = browser
        .post(&login_page)
        .form(&[("prompt", "login"), ("login", login), ("password", "anything")])
        .send()
        .await
        .unwrap();
    let mut url = page.url().to_string();
    let mut status = page.status().as_u16();
    if url.contains("/interaction/") {
        let page = browser
            .post(&url)
            .form(&[("prompt", "consent")])
            .send()
            .await
            .unwrap();
        url = page.url().to_string();
        status = page.status().as_u16();
        if status != 200 {
            let body = page.text().await.unwrap_or_default();
            url = format!("{url} -> {body}");
        }
    }
    (url, status)
}

/// The session a signed-in browser gets by trading its refresh cookie.
async fn refreshed_session(browser: &reqwest::Client, base: &str) -> Value {
    browser
        .post(format!("{base}/api/v1/auth/refresh"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn users_sign_in_through_their_identity_provider_and_are_provisioned_once() {
    let db = TestDb::create("sso").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));
    let provider = Provider::start(&format!("{base}/api/v1/auth/sso/callback"));

    let admin = mint_token(&db.url, "acme", "admin").await.unwrap();
    let api = reqwest::Client::new();
    let created = api
        .post(format!("{base}/api/v1/sso/connections"))
        .bearer_auth(&admin)
        .json(
            &json!({"name": "corp", "issuer_url": provider.issuer, "client_id": "cwic",
                      "client_secret": "provider-secret", "default_role": "editor"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let listed: Value = api
        .get(format!("{base}/api/v1/sso/connections"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !listed.to_string().contains("provider-secret"),
        "the client secret never comes back"
    );

    // First sign-in: provisioned into acme with the connection's default role.
    let alice = browser();
    let (landed, status) = sign_in(
        &alice,
        &format!("{base}/api/v1/auth/sso/acme/start?redirect_to=/assets"),
        "alice",
    )
    .await;
    assert_eq!(
        (landed.as_str(), status),
        (format!("{base}/assets?sso=1").as_str(), 200)
    );
    let session = refreshed_session(&alice, &base).await;
    assert_eq!(
        (
            session["email"].clone(),
            session["tenant"].clone(),
            session["role"].clone()
        ),
        (json!("alice@corp.test"), json!("acme"), json!("editor")),
        "{session}"
    );
    let me: Value = api
        .get(format!("{base}/api/v1/auth/me"))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["actor"], "user:alice@corp.test");

    // An admin lowers her role; signing in again keeps the membership as it is, one user, no copy.
    let user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'alice@corp.test'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let changed = api
        .patch(format!("{base}/api/v1/members/{user}"))
        .bearer_auth(&admin)
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    let again = browser();
    let (landed, _) = sign_in(&again, &format!("{base}/api/v1/auth/sso/acme/start"), "alice").await;
    assert_eq!(landed, format!("{base}/?sso=1"));
    let session = refreshed_session(&again, &base).await;
    assert_eq!(session["role"], "viewer");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
    let password: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(password, None, "SSO users have no local password");

    // Unknown tenants and connections, foreign redirects and replayed callbacks are refused.
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let status = |url: String| {
        let client = no_follow.clone();
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(format!("{base}/api/v1/auth/sso/globex/start")).await, 404);
    assert_eq!(
        status(format!("{base}/api/v1/auth/sso/acme/start?connection=other")).await,
        404
    );
    assert_eq!(
        status(format!(
            "{base}/api/v1/auth/sso/acme/start?redirect_to=https://evil.test/"
        ))
        .await,
        400
    );
    let start = no_follow
        .get(format!("{base}/api/v1/auth/sso/acme/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&provider.issuer), "{location}");
    assert!(
        location.contains("code_challenge_method=S256"),
        "PKCE: {location}"
    );
    let state = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == "state")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    let forged = status(format!(
        "{base}/api/v1/auth/sso/callback?code=made-up&state={state}"
    ))
    .await;
    assert_eq!(forged, 401, "a made-up code fails at the provider");
    let replay = status(format!(
        "{base}/api/v1/auth/sso/callback?code=made-up&state={state}"
    ))
    .await;
    assert_eq!(replay, 400, "a state works once");

    let outcomes: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, outcome FROM audit_log WHERE action = 'login' AND target = 'sso' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        outcomes,
        vec![
            ("user:alice@corp.test".to_owned(), "success".to_owned()),
            ("user:alice@corp.test".to_owned(), "success".to_owned()),
            ("anonymous".to_owned(), "denied".to_owned()),
        ]
    );
    cancel.cancel();
}

/// Finding 7 of the security review: tenant alpha's identity provider asserting the e-mail address
/// of a user of tenant beta neither adds that user to alpha nor rewrites what beta sees of them.
/// A user who belongs to alpha alone is linked by subject on their first SSO sign-in.
#[tokio::test]
async fn a_tenants_identity_provider_cannot_reach_another_tenants_user() {
    let db = TestDb::create("sso_foreign").await.unwrap();
    let app = Application::build(test_serve_config(&db.url)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let cancel = CancellationToken::new();
    tokio::spawn(app.run(cancel.clone()));
    let provider = Provider::start(&format!("{base}/api/v1/auth/sso/callback"));

    cwic_e2e::add_user(&db.url, "beta", "victim@corp.test", "victim-password", "owner")
        .await
        .unwrap();
    sqlx::query("UPDATE users SET display_name = 'Victim Person' WHERE email = 'victim@corp.test'")
        .execute(&db.pool)
        .await
        .unwrap();
    cwic_e2e::add_user(&db.url, "alpha", "ada@corp.test", "ada-password-12", "editor")
        .await
        .unwrap();
    let admin = mint_token(&db.url, "alpha", "admin").await.unwrap();
    let created = reqwest::Client::new()
        .post(format!("{base}/api/v1/sso/connections"))
        .bearer_auth(&admin)
        .json(
            &json!({"name": "corp", "issuer_url": provider.issuer, "client_id": "cwic",
                      "client_secret": "provider-secret", "default_role": "admin"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let attacker = browser();
    let (landed, status) = sign_in(
        &attacker,
        &format!("{base}/api/v1/auth/sso/alpha/start"),
        "victim",
    )
    .await;
    assert_eq!(status, 403, "{landed}");
    let memberships: Vec<String> = sqlx::query_scalar(
        "SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE u.email = 'victim@corp.test' ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        memberships,
        vec!["beta".to_owned()],
        "the victim was added to alpha"
    );
    let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE email = 'victim@corp.test'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(name, "Victim Person");
    let denied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE tenant_id = 'alpha' AND action = 'login' AND outcome = 'denied'
           AND actor = 'user:victim@corp.test'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(denied, 1);

    // Alpha's own user is linked (by the provider's subject from now on) and keeps the role alpha gave.
    let ada = browser();
    let (landed, status) = sign_in(&ada, &format!("{base}/api/v1/auth/sso/alpha/start"), "ada").await;
    assert_eq!(
        (landed.as_str(), status),
        (format!("{base}/?sso=1").as_str(), 200)
    );
    let session = refreshed_session(&ada, &base).await;
    assert_eq!(session["role"], "editor", "{session}");
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM sso_identities WHERE subject = 'ada'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(linked, 1);
    cancel.cancel();
}
