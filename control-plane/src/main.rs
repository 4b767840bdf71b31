//! `cwic`: the control plane's command line (serve, migrate, and the offline `detect` and `lineage`).

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cwic_control_plane::agents;
use cwic_control_plane::api;
use cwic_control_plane::api::access::RateLimitConfig;
use cwic_control_plane::app::{AgentApiConfig, Application, ServeConfig};
use cwic_control_plane::auth::{self, Role};
use cwic_control_plane::broker::BrokerAuth;
use cwic_control_plane::detectors::{self, DetectorConfig};
use cwic_control_plane::grpc::GrpcTlsFiles;
use cwic_control_plane::lineage;
use cwic_control_plane::store::Store;
use cwic_control_plane::telemetry::{self, LogFormat};
use cwic_shared::TenantId;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

#[derive(Parser)]
#[command(
    name = "cwic",
    version,
    about = "CWIC control plane: ingest, store and serve data-quality metrics"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CWIC_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
// Parsed once at start; the size of the `serve` variant costs nothing.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Apply database migrations and exit.
    Migrate {
        /// PostgreSQL URL of the control plane's own database.
        #[arg(long, env = "CWIC_DATABASE_URL")]
        database_url: String,
    },
    /// Run the control plane: ingest from JetStream, serve the REST API and the console.
    ///
    /// Applies pending migrations first. Stops gracefully on SIGTERM or Ctrl-C: in-flight requests
    /// finish and the batch being stored is committed and acknowledged.
    Serve {
        /// PostgreSQL URL of the control plane's own database.
        #[arg(long, env = "CWIC_DATABASE_URL")]
        database_url: String,
        /// NATS server with JetStream that agents publish to.
        #[arg(long, env = "CWIC_NATS_URL", default_value = "nats://127.0.0.1:4222")]
        nats_url: String,
        /// Address for HTTP (API and console).
        #[arg(long, env = "CWIC_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Folder holding the built console (`console/dist`).
        #[arg(long, env = "CWIC_CONSOLE_DIR", default_value = "console/dist")]
        console_dir: PathBuf,
        /// Access-token signing keys as `kid:secret[,kid:secret...]`; the first signs, all verify
        /// (rotate by putting a new key first). Secrets need at least 32 bytes. Without it a random
        /// key is used and sessions end when the control plane restarts.
        #[arg(long, env = "CWIC_JWT_KEYS", hide_env_values = true)]
        jwt_keys: Option<String>,
        /// API requests per second allowed per token, user or anonymous client address.
        #[arg(long, env = "CWIC_RATE_LIMIT", default_value_t = RateLimitConfig::default().per_second)]
        rate_limit: NonZeroU32,
        /// Requests a caller may burst above the per-second rate.
        #[arg(long, env = "CWIC_RATE_BURST", default_value_t = RateLimitConfig::default().burst)]
        rate_burst: NonZeroU32,
        /// This server's external base URL (e.g. https://cwic.example.com), used in single sign-on
        /// callbacks; default: the Host of each request.
        #[arg(long, env = "CWIC_PUBLIC_URL")]
        public_url: Option<String>,
        /// Names this installation's durable consumers on the broker (cwic-ingest-<id>,
        /// cwic-lineage-<id>), so two deployments sharing a broker never take each other's
        /// batches; default: the id stored in the database, which all replicas on it share.
        #[arg(long, env = "CWIC_INSTALLATION_ID")]
        installation_id: Option<String>,
        /// Publish outbox events to the broker (`on`); `off` holds them in the outbox (tests of
        /// crash recovery; another replica's relay still publishes them).
        #[arg(long, env = "CWIC_EVENTS_RELAY", default_value = "on", value_parser = ["on", "off"], hide = true)]
        events_relay: String,
        /// Login attempts per minute per client address.
        #[arg(long, env = "CWIC_LOGIN_RATE", default_value_t = RateLimitConfig::default().logins_per_minute)]
        login_rate: NonZeroU32,
        /// OpenTelemetry collector to export traces to over OTLP/HTTP (protobuf), e.g.
        /// http://127.0.0.1:4318 (spans go to <endpoint>/v1/traces). Off when unset.
        #[arg(long, env = "CWIC_OTLP_ENDPOINT")]
        otlp_endpoint: Option<String>,
        #[command(flatten)]
        agent_api: AgentApiArgs,
        #[command(flatten)]
        jobs: JobsArgs,
    },
    /// Add a user to a tenant (creating both when needed), e.g. the first owner
    ///
    /// The password is read from the environment variable named by --password-env (never from the
    /// command line, where other users of the machine could see it).
    AddUser {
        /// PostgreSQL URL of the control plane's own database (migrations are applied first).
        #[arg(long, env = "CWIC_DATABASE_URL")]
        database_url: String,
        /// The tenant (created when missing), e.g. `acme`.
        #[arg(long)]
        tenant: TenantId,
        /// The user's e-mail address, their sign-in name.
        #[arg(long)]
        email: String,
        /// viewer, editor, admin or owner.
        #[arg(long, default_value = "viewer")]
        role: Role,
        /// Name of the environment variable holding the password (at least 12 characters).
        #[arg(long, default_value = "CWIC_PASSWORD")]
        password_env: String,
    },
    /// Create an API token for automation and print it once
    CreateToken {
        /// PostgreSQL URL of the control plane's own database (migrations are applied first).
        #[arg(long, env = "CWIC_DATABASE_URL")]
        database_url: String,
        /// The tenant (created when missing), e.g. `acme`.
        #[arg(long)]
        tenant: TenantId,
        /// A name that says what uses the token.
        #[arg(long)]
        name: String,
        /// viewer, editor, admin or owner.
        #[arg(long, default_value = "viewer")]
        role: Role,
        /// Days until the token expires; default never.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Manage agents: enrollment tokens for bootstrap.
    Agents {
        #[command(subcommand)]
        command: AgentsCommand,
    },
    /// Set up the broker's operator-mode auth (nats-server JWT accounts).
    Broker {
        #[command(subcommand)]
        command: BrokerCommand,
    },
    /// Print the table and column lineage of SQL read on stdin, offline
    ///
    /// Reads one or more statements (a script: temporary tables and CTEs resolve through) and prints
    /// `{"source_tables": [...], "target_tables": [...], "column_edges": [[source, target], ...]}`.
    Lineage {
        /// SQL dialect: ansi, postgres, mysql, mariadb, hive, sparksql, databricks, snowflake, bigquery,
        /// tsql, redshift, athena, oracle, vertica, duckdb, sqlite (others fall back to a generic one).
        #[arg(long, default_value = "ansi")]
        dialect: String,
    },
    /// Print the REST API's OpenAPI document (openapi.json), offline
    ///
    /// The same document the server serves at /api/v1/openapi.json; the console's TypeScript types
    /// are generated from it (`scripts/build-console`).
    Openapi,
    /// Find anomalies in a `timestamp,value` CSV series, offline
    ///
    /// Judges the series the way the control plane judges metric history: causal (each verdict uses
    /// only earlier points) and with one configuration for every series.
    /// Prints `{"anomalies": ["<timestamp as in the file>", ...]}`, one timestamp per anomaly event.
    Detect {
        /// CSV file with a header line and `timestamp,value` rows.
        #[arg(long)]
        input: PathBuf,
    },
}

/// The agent-facing side of `cwic serve`: gRPC and broker credentials.
#[derive(clap::Args)]
struct AgentApiArgs {
    /// Address for the agents' gRPC API (TLS); not served when absent.
    #[arg(long, env = "CWIC_GRPC_LISTEN", requires_all = ["grpc_tls_cert", "grpc_tls_key"])]
    grpc_listen: Option<SocketAddr>,
    /// PEM certificate (chain) of the gRPC API.
    #[arg(long, env = "CWIC_GRPC_TLS_CERT")]
    grpc_tls_cert: Option<PathBuf>,
    /// PEM private key of the gRPC API.
    #[arg(long, env = "CWIC_GRPC_TLS_KEY")]
    grpc_tls_key: Option<PathBuf>,
    /// NATS `.creds` file for the control plane's own broker connection (operator mode).
    #[arg(long, env = "CWIC_NATS_CREDENTIALS")]
    nats_credentials: Option<PathBuf>,
    /// The broker account's nkey seed file, to issue enrolled agents their NATS credentials.
    #[arg(long, env = "CWIC_NATS_ACCOUNT_SEED_FILE")]
    nats_account_seed_file: Option<PathBuf>,
}

/// The job queue's knobs; hidden: the defaults serve production, tests shorten them.
#[derive(clap::Args)]
struct JobsArgs {
    /// Milliseconds a replica holds a job before another may take it over (renewed while it runs).
    #[arg(long, env = "CWIC_JOB_LEASE_MS", hide = true)]
    job_lease_ms: Option<u64>,
    /// Milliseconds an idle worker waits before looking for due jobs again.
    #[arg(long, env = "CWIC_JOB_POLL_MS", hide = true)]
    job_poll_ms: Option<u64>,
    /// Milliseconds between detection passes.
    #[arg(long, env = "CWIC_DETECTION_INTERVAL_MS", hide = true)]
    detection_interval_ms: Option<u64>,
    /// Milliseconds between SLA evaluations.
    #[arg(long, env = "CWIC_SLA_INTERVAL_MS", hide = true)]
    sla_interval_ms: Option<u64>,
    /// This replica's name in job leases and the detection audit trail; default host-pid-random.
    #[arg(long, env = "CWIC_REPLICA_NAME", hide = true)]
    replica_name: Option<String>,
}

impl JobsArgs {
    fn config(self) -> cwic_control_plane::jobs::JobsConfig {
        let defaults = cwic_control_plane::jobs::JobsConfig::default();
        let millis = |value: Option<u64>, default: std::time::Duration| {
            value.map_or(default, |ms| std::time::Duration::from_millis(ms.max(1)))
        };
        cwic_control_plane::jobs::JobsConfig {
            lease: millis(self.job_lease_ms, defaults.lease),
            poll: millis(self.job_poll_ms, defaults.poll),
            detection_every: millis(self.detection_interval_ms, defaults.detection_every),
            sla_every: millis(self.sla_interval_ms, defaults.sla_every),
            replica: self.replica_name.unwrap_or(defaults.replica),
            delivery_poll: defaults.delivery_poll,
        }
    }
}

#[derive(Subcommand)]
enum AgentsCommand {
    /// Enrollment tokens: one-time secrets that an agent trades for its identity.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a one-time enrollment token and print it (it is shown only once).
    Create {
        /// PostgreSQL URL of the control plane's own database.
        #[arg(long, env = "CWIC_DATABASE_URL")]
        database_url: String,
        /// The tenant the agent will belong to.
        #[arg(long)]
        tenant: TenantId,
        /// Bind the token to this agent id (otherwise the agent chooses or one is generated).
        #[arg(long)]
        agent_id: Option<cwic_shared::AgentId>,
        /// Lifetime, such as 15m, 24h or 7d.
        #[arg(long, default_value = "24h")]
        expires_in: String,
    },
}

#[derive(Subcommand)]
enum BrokerCommand {
    /// Generate an operator, a system account and the CWIC account, and write into DIR:
    /// `nats-auth.conf` (include it in nats-server.conf), `account.seed` (for
    /// `cwic serve --nats-account-seed-file`) and `control-plane.creds` (for `--nats-credentials`).
    Init {
        #[arg(long)]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let otlp_endpoint = match &cli.command {
        Command::Serve { otlp_endpoint, .. } => otlp_endpoint.clone(),
        _ => None,
    };
    // Every recursive structure built from input is bounded (lineage::limits, serde_json's and
    // prost's recursion limits) so that its walks fit a 2 MiB stack; 8 MiB is the margin.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Inside the runtime: the span exporter's task runs on it.
    let telemetry = {
        let _runtime = runtime.enter();
        telemetry::init(cli.log_format, otlp_endpoint.as_deref())
    };
    let telemetry = match telemetry {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Migrate { database_url } => {
                Store::connect(&database_url)
                    .await
                    .context("cannot open the control plane's database")?
                    .migrate()
                    .await?;
                info!("migrations applied");
                Ok(())
            }
            Command::AddUser {
                database_url,
                tenant,
                email,
                role,
                password_env,
            } => {
                let password = std::env::var(&password_env).with_context(|| {
                    format!("set the password in the environment variable {password_env}")
                })?;
                if password.chars().count() < 12 {
                    anyhow::bail!("{password_env}: a password needs at least 12 characters");
                }
                let store = open_migrated(&database_url).await?;
                store.ensure_tenant(&tenant, tenant.as_str()).await?;
                let hash = auth::hash_password(&password)?;
                store
                    .add_user_as_operator(&tenant, &email, &hash, role)
                    .await?
                    .map_err(|refusal| anyhow::anyhow!("{email} in tenant {tenant}: {refusal}"))?;
                println!("{} is {role} of tenant {tenant}", email.to_lowercase());
                Ok(())
            }
            Command::CreateToken {
                database_url,
                tenant,
                name,
                role,
                expires_in_days,
            } => {
                let store = open_migrated(&database_url).await?;
                store.ensure_tenant(&tenant, tenant.as_str()).await?;
                let secret = auth::OpaqueToken::generate(auth::TokenKind::Api)?;
                let expires =
                    expires_in_days.map(|days| chrono::Utc::now() + chrono::Duration::days(days.into()));
                store
                    .tenant(&tenant)
                    .create_api_token(&name, role, &secret.hash, "cli", None, expires)
                    .await?;
                println!("{}", secret.text);
                Ok(())
            }
            Command::Detect { input } => detect(&input),
            Command::Agents {
                command:
                    AgentsCommand::Token {
                        command:
                            TokenCommand::Create {
                                database_url,
                                tenant,
                                agent_id,
                                expires_in,
                            },
                    },
            } => create_enrollment_token(&database_url, &tenant, agent_id.as_ref(), &expires_in).await,
            Command::Broker {
                command: BrokerCommand::Init { dir },
            } => {
                BrokerAuth::generate().write_to(&dir)?;
                println!("wrote {}", dir.display());
                Ok(())
            }
            Command::Lineage { dialect } => lineage(&dialect),
            Command::Openapi => {
                print!("{}", api::openapi::document_json());
                Ok(())
            }
            Command::Serve {
                database_url,
                nats_url,
                listen,
                console_dir,
                jwt_keys,
                rate_limit,
                rate_burst,
                login_rate,
                public_url,
                installation_id,
                events_relay,
                agent_api,
                jobs,
                otlp_endpoint: _,
            } => {
                let config = ServeConfig {
                    database_url,
                    nats_url: Some(nats_url),
                    listen,
                    console_dir,
                    jwt_keys,
                    rate_limits: RateLimitConfig {
                        per_second: rate_limit,
                        burst: rate_burst,
                        logins_per_minute: login_rate,
                    },
                    public_url,
                    installation_id,
                    jobs: jobs.config(),
                    events_relay: events_relay == "on",
                };
                let grpc = match (
                    agent_api.grpc_listen,
                    agent_api.grpc_tls_cert,
                    agent_api.grpc_tls_key,
                ) {
                    (Some(address), Some(cert_pem), Some(key_pem)) => {
                        Some((address, GrpcTlsFiles { cert_pem, key_pem }))
                    }
                    _ => None,
                };
                let agent_api = AgentApiConfig {
                    nats_credentials: agent_api.nats_credentials,
                    nats_account_seed: agent_api.nats_account_seed_file,
                    grpc,
                };
                let app = Application::build_with_agent_api(config, agent_api).await?;
                let cancel = CancellationToken::new();
                tokio::spawn(cancel_on_signal(cancel.clone()));
                app.run(cancel).await
            }
        }
    });
    // The runtime still runs the exporter's task: the last spans are sent before it is dropped.
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", cwic_shared::error_chain(error.chain()));
            ExitCode::FAILURE
        }
    }
}

async fn open_migrated(database_url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(database_url)
        .await
        .context("cannot open the control plane's database")?;
    store.migrate().await?;
    Ok(store)
}

async fn cancel_on_signal(cancel: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            error!(%error, "cannot listen for SIGTERM");
            let _ = ctrl_c.await;
        }
    }
    info!("stop requested, finishing in-flight work");
    cancel.cancel();
}

async fn create_enrollment_token(
    database_url: &str,
    tenant: &TenantId,
    agent: Option<&cwic_shared::AgentId>,
    expires_in: &str,
) -> anyhow::Result<()> {
    agents::service::parse_lifetime(expires_in).map_err(|error| anyhow::anyhow!("--expires-in: {error}"))?;
    let store = Store::connect(database_url)
        .await
        .context("cannot open the control plane's database")?;
    store.migrate().await?;
    let created = agents::service::create_enrollment_token(&store.tenant(tenant), agent, Some(expires_in))
        .await
        .map_err(|error| anyhow::anyhow!("{}", error.message))?;
    store.close().await;
    println!("{}", created.token);
    Ok(())
}

fn detect(input: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(input)
        .map_err(|error| anyhow::anyhow!("{}: cannot read the file: {error}", input.display()))?;
    let points =
        detectors::read_series_csv(&text).map_err(|error| anyhow::anyhow!("{}: {error}", input.display()))?;
    let anomalies = detectors::detect_anomalies(&points, &DetectorConfig::default());
    println!("{}", serde_json::json!({ "anomalies": anomalies }));
    Ok(())
}

fn lineage(dialect_name: &str) -> anyhow::Result<()> {
    let mut sql = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut sql)
        .map_err(|error| anyhow::anyhow!("cannot read SQL from stdin: {error}"))?;
    let (dialect, known) = lineage::dialect_for_name(dialect_name);
    if !known {
        eprintln!("warning: unknown dialect `{dialect_name}`, using a generic dialect");
    }
    let detailed = lineage::analyze_script_detailed(&sql, dialect.as_ref())?;
    for warning in &detailed.warnings {
        eprintln!("warning: {warning}");
    }
    println!("{}", serde_json::to_string(&detailed.to_script_lineage())?);
    Ok(())
}
