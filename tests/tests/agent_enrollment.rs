//! Agent enrollment over gRPC (TLS) and broker isolation with nats-server in operator mode: real
//! `cwic` and `cwic-agent` binaries, a real nats-server and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use cwic_e2e::{
    AgentApiSetup, AgentSetup, ControlPlane, NatsServer, TestDb, binary, mint_token, seed_source, wait_exit,
    wait_for,
};
use cwic_proto::Message;
use cwic_proto::agent::v1::agent_service_client::AgentServiceClient;
use cwic_proto::agent::v1::{
    AssetKind, AssetObservation, EnrollRequest, GetConfigRequest, HeartbeatRequest, Metric, MetricBatch,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

/// A control plane serving gRPC with TLS, on an operator-mode broker (or a plain one).
struct Enrollment {
    control_plane: ControlPlane,
    _nats: NatsServer,
    db: TestDb,
    api: AgentApiSetup,
    nats_url: String,
}

impl Enrollment {
    async fn start(operator_broker: bool) -> anyhow::Result<Self> {
        let db = TestDb::create("enroll").await?;
        let api = AgentApiSetup::new()?;
        let nats = if operator_broker {
            NatsServer::start_operator(&api.auth).await?
        } else {
            NatsServer::start().await?
        };
        let nats_url = nats.url();
        let control_plane =
            ControlPlane::start_with_env(&db.url, &nats_url, api.env(operator_broker)).await?;
        Ok(Self {
            control_plane,
            _nats: nats,
            db,
            api,
            nats_url,
        })
    }

    /// `cwic agents token create` (the bootstrap CLI).
    fn cli_token(&self, tenant: &str, extra: &[&str]) -> String {
        let output = Command::new(binary("cwic"))
            .args(["agents", "token", "create", "--tenant", tenant])
            .args(extra)
            .env("CWIC_DATABASE_URL", &self.db.url)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// POST /api/v1/agents/enrollment-tokens as `tenant`.
    async fn api_token(&self, tenant: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/api/v1/agents/enrollment-tokens",
                self.control_plane.base_url()
            ))
            .bearer_auth(mint_token(&self.db.url, tenant, "admin").await.unwrap())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    /// `cwic-agent enroll` into `out`.
    fn enroll(&self, token: &str, out: &Path, extra: &[&str]) -> Output {
        Command::new(binary("cwic-agent"))
            .args([
                "enroll",
                "--control-plane",
                &self.api.grpc_url(),
                "--token",
                token,
                "--ca",
            ])
            .arg(self.api.ca_path())
            .arg("--out")
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    }

    async fn grpc(&self) -> AgentServiceClient<Channel> {
        let ca = std::fs::read(self.api.ca_path()).unwrap();
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(ca))
            .domain_name("localhost");
        let channel = Channel::from_shared(self.api.grpc_url())
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .unwrap();
        AgentServiceClient::new(channel)
    }

    async fn agents(&self, tenant: &str) -> Vec<Value> {
        self.control_plane.get("/api/v1/agents", tenant).await.unwrap()["items"]
            .as_array()
            .unwrap()
            .clone()
    }
}

fn identity(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("identity.json")).unwrap()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn an_enrollment_token_works_once_before_expiry_and_only_for_its_tenant() -> anyhow::Result<()> {
    let env = Enrollment::start(true).await?;
    let dirs: Vec<tempfile::TempDir> = (0..6).map(|_| tempfile::tempdir().unwrap()).collect();

    // A valid token enrolls once.
    let token = env.cli_token("acme", &[]);
    assert!(token.starts_with("cwic_enroll_"), "{token}");
    let first = env.enroll(
        &token,
        dirs[0].path(),
        &["--tenant", "acme", "--agent-id", "wh-1"],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let id = identity(dirs[0].path());
    assert_eq!(
        (id["tenant_id"].as_str(), id["agent_id"].as_str()),
        (Some("acme"), Some("wh-1"))
    );
    assert!(id["agent_token"].as_str().unwrap().starts_with("cwic_agent_"));
    let creds = std::fs::read_to_string(dirs[0].path().join("nats.creds"))?;
    assert!(
        creds.contains("-----BEGIN NATS USER JWT-----") && creds.contains("-----BEGIN USER NKEY SEED-----")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(dirs[0].path().join("nats.creds"))?
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    // The second use fails, and writes nothing.
    let again = env.enroll(&token, dirs[1].path(), &[]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("the enrollment token was already used"),
        "{}",
        stderr(&again)
    );
    assert!(!dirs[1].path().join("identity.json").exists());

    // Another tenant's token cannot enroll into acme, and the refusal does not spend it.
    let other = env
        .api_token("globex", json!({"agent_id": "gx-7", "expires_in": "1h"}))
        .await;
    assert_eq!(other["tenant_id"], "globex");
    let other_token = other["token"].as_str().unwrap();
    let refused = env.enroll(other_token, dirs[2].path(), &["--tenant", "acme"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("the enrollment token belongs to another tenant than `acme`"),
        "{}",
        stderr(&refused)
    );
    let wrong_agent = env.enroll(other_token, dirs[2].path(), &["--agent-id", "wh-1"]);
    assert!(stderr(&wrong_agent).contains("the enrollment token is for agent `gx-7`, not `wh-1`"));
    let own = env.enroll(other_token, dirs[3].path(), &[]);
    assert!(own.status.success(), "{}", stderr(&own));
    let id = identity(dirs[3].path());
    assert_eq!(
        (id["tenant_id"].as_str(), id["agent_id"].as_str()),
        (Some("globex"), Some("gx-7"))
    );

    // An expired token fails.
    let expiring = env.api_token("acme", json!({"expires_in": "1h"})).await;
    sqlx::query("UPDATE agent_enrollment_tokens SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(uuid::Uuid::parse_str(expiring["id"].as_str().unwrap())?)
        .execute(&env.db.pool)
        .await?;
    let expired = env.enroll(expiring["token"].as_str().unwrap(), dirs[4].path(), &[]);
    assert!(
        stderr(&expired).contains("the enrollment token expired"),
        "{}",
        stderr(&expired)
    );

    // A request with a key that is not a NATS user key is refused before the token is spent.
    let kept = env.api_token("acme", json!({"agent_id": "wh-9"})).await;
    let refused = env
        .grpc()
        .await
        .enroll(EnrollRequest {
            enrollment_token: kept["token"].as_str().unwrap().to_owned(),
            nats_public_key: nkeys::KeyPair::new_account().public_key(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused
            .message()
            .starts_with("nats_public_key: expected a NATS user public key")
    );
    let spent: Option<String> =
        sqlx::query_scalar("SELECT used_by FROM agent_enrollment_tokens WHERE id = $1")
            .bind(uuid::Uuid::parse_str(kept["id"].as_str().unwrap())?)
            .fetch_one(&env.db.pool)
            .await?;
    assert_eq!(spent, None);

    // Bad token requests get a 400 naming the field.
    for (body, field) in [
        (json!({"expires_in": "soon"}), "expires_in"),
        (json!({"expires_in": "90d"}), "expires_in"),
        (json!({"agent_id": "Bad.Id"}), "agent_id"),
    ] {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/api/v1/agents/enrollment-tokens",
                env.control_plane.base_url()
            ))
            .bearer_auth(mint_token(&env.db.url, "acme", "admin").await.unwrap())
            .json(&body)
            .send()
            .await?;
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await?;
        assert_eq!(error["code"], "bad_request");
        assert_eq!(error["details"]["field"], field, "{error}");
    }

    // A made-up token fails.
    let unknown = env.enroll("cwic_enroll_made-up", dirs[5].path(), &[]);
    assert!(
        stderr(&unknown).contains("unknown enrollment token"),
        "{}",
        stderr(&unknown)
    );

    // Each tenant sees only its own agent; tokens are stored hashed, never in plain text.
    let acme = env.agents("acme").await;
    assert_eq!(acme.len(), 1);
    assert_eq!(acme[0]["id"], "wh-1");
    let globex = env.agents("globex").await;
    assert_eq!(globex.len(), 1);
    assert_eq!(globex[0]["id"], "gx-7");
    let (tokens, used, plain): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(used_at), count(*) FILTER (WHERE position($1::bytea IN token_hash) > 0)
         FROM agent_enrollment_tokens",
    )
    .bind(token.as_bytes())
    .fetch_one(&env.db.pool)
    .await?;
    assert_eq!((tokens, used, plain), (4, 2, 0));
    Ok(())
}

/// A batch as an agent would publish it.
fn batch(tenant: &str, agent: &str) -> MetricBatch {
    let now = chrono_now_ms();
    MetricBatch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.into(),
        agent_id: agent.into(),
        agent_version: "0.1.0".into(),
        collected_at_unix_ms: now,
        finished_at_unix_ms: now + 1,
        source_name: "forged".into(),
        source_kind: "postgres".into(),
        assets: vec![AssetObservation {
            schema: "public".into(),
            name: "forged".into(),
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
    }
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A NATS connection with the given `.creds`, reporting server errors on a channel.
async fn connect_with(
    url: &str,
    creds: &Path,
    inbox: &str,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::with_credentials_file(creds)
        .await
        .unwrap()
        .custom_inbox_prefix(inbox)
        .event_callback(move |event| {
            let sender = sender.clone();
            async move {
                if let async_nats::Event::ServerError(error) = event {
                    let _ = sender.send(error.to_string());
                }
            }
        })
        .connect(url)
        .await
        .unwrap();
    (client, receiver)
}

async fn next_error(errors: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), errors.recv())
        .await
        .expect("the server reported no error")
        .unwrap()
        .to_lowercase()
}

#[tokio::test]
async fn an_enrolled_agent_ships_through_the_operator_mode_broker_and_cannot_impersonate()
-> anyhow::Result<()> {
    let env = Enrollment::start(true).await?;
    let source = TestDb::create("source").await?;
    seed_source(&source.pool).await?;
    let agent = AgentSetup::new("acme", "wh-1", &env.nats_url, &source.url, "1h")?;
    let token = env.cli_token("acme", &["--agent-id", "wh-1"]);
    let enrolled = env.enroll(&token, agent.dir.path(), &[]);
    assert!(enrolled.status.success(), "{}", stderr(&enrolled));

    // The agent config names the credentials file written next to it by `cwic-agent enroll`.
    let mut config = std::fs::read_to_string(&agent.config_path)?;
    config.push_str("nats:\n  credentials: nats.creds\n");
    std::fs::write(&agent.config_path, config)?;
    let mut process = agent.spawn(1)?;
    let status = wait_exit(&mut process, Duration::from_secs(60)).await?;
    assert!(status.success(), "agent failed: {status}\n{}", agent.log());
    assert_eq!(
        agent.spool_pending(),
        0,
        "the outbox must be empty after a delivered run"
    );

    // Stored, with the numbers of the source: 4 tables and a view; customers has 1,000 rows.
    let assets = wait_for("all assets stored", Duration::from_secs(30), || async {
        let page = env.control_plane.get("/api/v1/assets", "acme").await?;
        Ok((page["total"] == 5).then_some(page))
    })
    .await?;
    assert!(
        assets["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["agent_id"] == "wh-1")
    );
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&source.pool)
        .await?;
    let stored: f64 = sqlx::query_scalar(
        "SELECT value FROM metric_points p JOIN assets a ON a.id = p.asset_id
         WHERE a.tenant_id = 'acme' AND a.name = 'customers' AND p.metric = 'row_count' AND p.column_name = ''",
    )
    .fetch_one(&env.db.pool)
    .await?;
    assert_eq!(stored, customers as f64);
    // The agent also reported itself, last as it stopped: online, with a heartbeat and a batch.
    let agents = env.agents("acme").await;
    assert_eq!(agents.len(), 1);
    assert_eq!(
        (
            agents[0]["id"].as_str(),
            agents[0]["status"].as_str(),
            agents[0]["reported_status"].as_str()
        ),
        (Some("wh-1"), Some("online"), Some("stopped"))
    );
    assert_eq!(agents[0]["version"], env!("CARGO_PKG_VERSION"));
    assert!(agents[0]["last_heartbeat_at"].is_string() && agents[0]["last_batch_at"].is_string());

    // Without credentials the operator-mode broker lets nobody in.
    let anonymous = async_nats::ConnectOptions::new().connect(&env.nats_url).await;
    assert!(anonymous.is_err(), "an anonymous connection must be refused");

    let batches_before: i64 = sqlx::query_scalar("SELECT count(*) FROM ingested_batches")
        .fetch_one(&env.db.pool)
        .await?;
    assert!(batches_before >= 1);

    // The agent's own credentials, used directly.
    let creds = agent.dir.path().join("nats.creds");
    let (client, mut errors) = connect_with(&env.nats_url, &creds, "_INBOX.cwic.acme.wh-1").await;
    let jetstream = async_nats::jetstream::new(client.clone());
    for forged in [("acme", "wh-2"), ("globex", "wh-1")] {
        let subject = format!("cwic.{}.agent.{}.metrics", forged.0, forged.1);
        let payload = batch(forged.0, forged.1).encode_to_vec();
        // Plain publish: the server answers with a permissions violation.
        client.publish(subject.clone(), payload.clone().into()).await?;
        client.flush().await?;
        let error = next_error(&mut errors).await;
        assert!(
            error.contains(&format!("permissions violation for publish to \"{subject}\"")),
            "{error}"
        );
        // JetStream publish: no ack ever comes.
        let ack = jetstream.publish(subject.clone(), payload.into()).await?;
        assert!(
            tokio::time::timeout(Duration::from_secs(3), ack)
                .await
                .map_or(true, |ack| ack.is_err())
        );
        let _ = next_error(&mut errors).await;
    }
    // Another agent's command subject cannot be subscribed to; its own can.
    let mut foreign = client.subscribe("cwic.acme.agent.wh-2.cmd").await?;
    client.flush().await?;
    let error = next_error(&mut errors).await;
    assert!(
        error.contains("permissions violation for subscription to \"cwic.acme.agent.wh-2.cmd\""),
        "{error}"
    );
    let mut own = client.subscribe("cwic.acme.agent.wh-1.cmd").await?;
    client.flush().await?;

    // The control plane's credentials can reach both; only the agent's own subject is delivered.
    let (control, _) = connect_with(
        &env.nats_url,
        &env.api.dir.path().join("control-plane.creds"),
        "_INBOX",
    )
    .await;
    control
        .publish("cwic.acme.agent.wh-2.cmd", "reload".into())
        .await?;
    control
        .publish("cwic.acme.agent.wh-1.cmd", "run-now".into())
        .await?;
    control.flush().await?;
    let delivered = tokio::time::timeout(Duration::from_secs(5), futures_next(&mut own))
        .await?
        .unwrap();
    assert_eq!(&delivered.payload[..], b"run-now");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), futures_next(&mut foreign))
            .await
            .map_or(true, |m| m.is_none())
    );

    // A legitimate batch sent after the forged ones is stored; the forged ones never were.
    let ack = jetstream
        .publish(
            "cwic.acme.agent.wh-1.metrics",
            batch("acme", "wh-1").encode_to_vec().into(),
        )
        .await?
        .await?;
    let stored_after = wait_for("the legitimate batch stored", Duration::from_secs(30), || async {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM ingested_batches")
            .fetch_one(&env.db.pool)
            .await?;
        Ok((count == batches_before + 1).then_some(count))
    })
    .await?;
    assert_eq!(stored_after, batches_before + 1);
    // The stream, asked per subject: the agent's own metrics are there, the forged subjects never were.
    let stream = async_nats::jetstream::new(control)
        .get_stream("CWIC_AGENT")
        .await?;
    let own_message = stream
        .get_last_raw_message_by_subject("cwic.acme.agent.wh-1.metrics")
        .await?;
    assert_eq!(own_message.sequence, ack.sequence);
    for forged in ["cwic.acme.agent.wh-2.metrics", "cwic.globex.agent.wh-1.metrics"] {
        assert!(
            stream.get_last_raw_message_by_subject(forged).await.is_err(),
            "{forged} must not be in the stream"
        );
    }
    let subjects = stream.info_with_subjects("cwic.*.agent.*.metrics").await?;
    let mut counts: Vec<(String, usize)> = futures::TryStreamExt::try_collect(subjects).await?;
    counts.sort();
    assert_eq!(
        counts
            .iter()
            .map(|(subject, _)| subject.as_str())
            .collect::<Vec<_>>(),
        ["cwic.acme.agent.wh-1.metrics"]
    );
    assert_eq!(
        counts[0].1 as i64, stored_after,
        "one stream message per stored batch"
    );
    let forged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM agents WHERE (tenant_id, id) IN (('acme', 'wh-2'), ('globex', 'wh-1'))",
    )
    .fetch_one(&env.db.pool)
    .await?;
    assert_eq!(forged, 0);
    let tenants: Vec<String> = sqlx::query_scalar("SELECT id FROM tenants ORDER BY id")
        .fetch_all(&env.db.pool)
        .await?;
    assert_eq!(tenants, ["acme"]);
    Ok(())
}

async fn futures_next(subscriber: &mut async_nats::Subscriber) -> Option<async_nats::Message> {
    use futures::StreamExt;
    subscriber.next().await
}

#[tokio::test]
async fn heartbeats_make_an_agent_online_and_age_makes_it_stale_then_offline() -> anyhow::Result<()> {
    let env = Enrollment::start(false).await?;
    let dir = tempfile::tempdir()?;
    let token = env.cli_token("acme", &["--agent-id", "wh-1"]);
    let enrolled = env.enroll(&token, dir.path(), &[]);
    assert!(enrolled.status.success(), "{}", stderr(&enrolled));
    let id = identity(dir.path());
    assert!(
        !dir.path().join("nats.creds").exists(),
        "a plain broker needs no credentials"
    );

    // Enrolled but never heard from: offline.
    let agents = env.agents("acme").await;
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["status"], "offline");
    assert_eq!(agents[0]["last_heartbeat_at"], Value::Null);
    assert_eq!(agents[0]["last_batch_at"], Value::Null);

    let mut grpc = env.grpc().await;
    let bearer = format!("Bearer {}", id["agent_token"].as_str().unwrap());
    let mut request = tonic::Request::new(HeartbeatRequest {
        agent_version: "9.9.9".into(),
        status: "running".into(),
    });
    request.metadata_mut().insert("authorization", bearer.parse()?);
    grpc.heartbeat(request).await?;
    let agents = env.agents("acme").await;
    assert_eq!(
        (
            agents[0]["id"].as_str(),
            agents[0]["status"].as_str(),
            agents[0]["version"].as_str(),
            agents[0]["reported_status"].as_str()
        ),
        (Some("wh-1"), Some("online"), Some("9.9.9"), Some("running"))
    );
    assert!(
        env.agents("globex").await.is_empty(),
        "another tenant sees no agent"
    );

    // A wrong agent token is refused.
    let mut forged = tonic::Request::new(HeartbeatRequest::default());
    forged
        .metadata_mut()
        .insert("authorization", "Bearer cwic_agent_nope".parse()?);
    assert_eq!(
        grpc.heartbeat(forged).await.unwrap_err().code(),
        tonic::Code::Unauthenticated
    );
    assert_eq!(
        grpc.heartbeat(HeartbeatRequest::default())
            .await
            .unwrap_err()
            .code(),
        tonic::Code::Unauthenticated
    );

    // Age: 2 minutes since the last heartbeat is stale, 20 minutes is offline.
    for (age, expected) in [("2 minutes", "stale"), ("20 minutes", "offline")] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE agents SET last_heartbeat_at = now() - interval '{age}' WHERE id = 'wh-1'"
        )))
        .execute(&env.db.pool)
        .await?;
        assert_eq!(env.agents("acme").await[0]["status"], expected, "after {age}");
    }

    // The config document stored in the control plane is what GetConfig returns.
    let yaml = "version: 1\nschedule:\n  every: 5m\n";
    let response = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/agents/wh-1/config",
            env.control_plane.base_url()
        ))
        .bearer_auth(mint_token(&env.db.url, "acme", "admin").await.unwrap())
        .body(yaml)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let mut request = tonic::Request::new(GetConfigRequest {});
    request.metadata_mut().insert("authorization", bearer.parse()?);
    let config = grpc.get_config(request).await?.into_inner();
    assert_eq!((config.config_yaml.as_str(), config.revision), (yaml, 1));
    let missing = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/agents/wh-1/config",
            env.control_plane.base_url()
        ))
        .bearer_auth(mint_token(&env.db.url, "globex", "admin").await.unwrap())
        .body(yaml)
        .send()
        .await?;
    assert_eq!(
        missing.status(),
        404,
        "another tenant cannot write this agent's config"
    );
    Ok(())
}
