//! Building and running the control plane: one factory that tests and `cwic serve` share.
//!
//! `Application::build` binds the listener (port 0 in tests), prepares the database and the broker,
//! and returns before serving, so callers learn the address first. `run` serves until cancelled and
//! stops the HTTP server, the ingest consumer and the events relay together.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::api::access::{RateLimitConfig, RateLimits};
use crate::api::{self, AppState};
use crate::auth::JwtKeys;
use crate::broker::AgentSigner;
use crate::events::relay::{Relay, RelayStats};
use crate::grpc::{AgentGrpcService, GrpcTlsFiles};
use crate::ingest::{IngestService, IngestStats};
use crate::store::Store;
use crate::telemetry::Metrics;

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub database_url: String,
    /// The broker to ingest from; `None` serves the API without ingest.
    pub nats_url: Option<String>,
    pub listen: SocketAddr,
    pub console_dir: PathBuf,
    /// Access-token signing keys, `kid:secret[,kid:secret...]` (the first signs). `None` makes a
    /// random key: sessions end when the process restarts.
    pub jwt_keys: Option<String>,
    pub rate_limits: RateLimitConfig,
    /// External base URL, e.g. `https://cwic.example.com`, for single sign-on callbacks; `None`
    /// uses the Host of each request.
    pub public_url: Option<String>,
    /// Names this installation's durable consumers on the broker (`cwic-ingest-<id>`); `None`
    /// uses the id the migrations stored in the database, which every replica on it shares.
    pub installation_id: Option<String>,
    /// The job queue's lease, poll and detection-pass intervals, and this replica's name.
    pub jobs: crate::jobs::JobsConfig,
    /// Runs the events relay (outbox → broker) when there is a broker; `false` leaves events in
    /// the outbox for another replica (or a later start) to publish.
    pub events_relay: bool,
}

/// The agent-facing side: broker credentials and the gRPC API. `Default` is the plain set-up (no
/// broker auth, no gRPC), which `Application::build` uses.
#[derive(Debug, Clone, Default)]
pub struct AgentApiConfig {
    /// `.creds` file the control plane connects to an operator-mode broker with.
    pub nats_credentials: Option<PathBuf>,
    /// The broker account's nkey seed, to sign enrolled agents' user JWTs.
    pub nats_account_seed: Option<PathBuf>,
    /// Where the gRPC `AgentService` listens, with its TLS certificate and key.
    pub grpc: Option<(SocketAddr, GrpcTlsFiles)>,
}

pub struct Application {
    grpc: Option<(TcpListener, tonic::transport::ServerTlsConfig, AgentGrpcService)>,
    listener: TcpListener,
    router: axum::Router,
    ingest: Option<IngestService>,
    relay: Option<Relay>,
    incidents: Option<crate::incidents::engine::IncidentEngine>,
    public_url: Option<String>,
    store: Store,
    jobs: crate::jobs::JobsConfig,
}

impl Application {
    pub async fn build(config: ServeConfig) -> anyhow::Result<Self> {
        Self::build_with_agent_api(config, AgentApiConfig::default()).await
    }

    pub async fn build_with_agent_api(
        config: ServeConfig,
        agent_api: AgentApiConfig,
    ) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url)
            .await
            .context("cannot open the control plane's database")?;
        store.migrate().await.context("cannot apply migrations")?;
        let stats = Arc::new(IngestStats::default());
        // Names the installation's durable consumers (ingest, incidents) when there is a broker.
        let installation = match (&config.nats_url, &config.installation_id) {
            (None, _) => None,
            (Some(_), Some(id)) => Some(id.clone()),
            (Some(_), None) => Some(
                store
                    .installation_id()
                    .await
                    .context("cannot read the installation id")?,
            ),
        };
        let ingest = match (&config.nats_url, &installation) {
            (Some(url), Some(installation)) => {
                if installation.is_empty()
                    || installation.len() > 32
                    || !installation
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    anyhow::bail!(
                        "installation id `{installation}`: expected 1 to 32 letters, digits, `-` or `_`"
                    );
                }
                let mut options = async_nats::ConnectOptions::new();
                if let Some(path) = &agent_api.nats_credentials {
                    options = options.credentials_file(path).await.with_context(|| {
                        format!("{}: cannot read the NATS credentials file", path.display())
                    })?;
                }
                let service = IngestService::connect_with_options(
                    url,
                    options,
                    store.clone(),
                    stats.clone(),
                    installation,
                )
                .await?;
                service.prepare().await?;
                Some(service)
            }
            _ => None,
        };
        let relay = match &ingest {
            Some(service) if config.events_relay => {
                let relay = Relay::new(service.client(), store.clone(), Arc::new(RelayStats::default()));
                relay.prepare().await?;
                Some(relay)
            }
            Some(_) => {
                warn!("the events relay is off: events stay in the outbox until a relay publishes them");
                None
            }
            None => None,
        };
        // The incident engine reads every tenant's events; each replica runs one on the shared
        // durable consumer (the broker splits the events between them).
        let incidents = match (&ingest, &installation) {
            (Some(service), Some(installation)) => {
                let engine = crate::incidents::engine::IncidentEngine::new(
                    service.client(),
                    store.clone(),
                    installation,
                );
                engine.prepare().await?;
                Some(engine)
            }
            _ => None,
        };
        let public_url = config.public_url.clone();
        let keys = match &config.jwt_keys {
            Some(spec) => JwtKeys::parse(spec).context("invalid --jwt-keys")?,
            None => {
                warn!("no --jwt-keys configured: using a random signing key, sessions end on restart");
                JwtKeys::ephemeral()?
            }
        };
        let state = AppState {
            store: store.api(),
            detection: crate::monitoring::scan::BackgroundWork::new(store.clone()),
            keys,
            limits: Arc::new(RateLimits::new(config.rate_limits)),
            public_url: config.public_url,
            metrics: Arc::new(Metrics::new(&stats)),
            nats: ingest.as_ref().map(IngestService::client),
        };
        let router = api::router(state, &config.console_dir);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let signer = match &agent_api.nats_account_seed {
            Some(path) => Some(AgentSigner::from_seed_file(path)?),
            None => None,
        };
        let grpc = match &agent_api.grpc {
            Some((address, tls)) => {
                let grpc_listener = TcpListener::bind(address)
                    .await
                    .with_context(|| format!("cannot listen for grpc on {address}"))?;
                let service = AgentGrpcService::new(store.api(), signer);
                Some((grpc_listener, tls.load()?, service))
            }
            None => None,
        };
        Ok(Self {
            grpc,
            listener,
            router,
            ingest,
            relay,
            incidents,
            public_url,
            store,
            jobs: config.jobs,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The gRPC API's address, when it is served.
    pub fn local_grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc
            .as_ref()
            .and_then(|(listener, _, _)| listener.local_addr().ok())
    }

    /// Serves until `cancel` fires, then drains in-flight requests and the message being ingested.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let address = self.listener.local_addr()?;
        info!(%address, "serving http");
        let ingest_task = self
            .ingest
            .map(|service| tokio::spawn(service.run(cancel.clone())));
        let relay_task = self.relay.map(|relay| tokio::spawn(relay.run(cancel.clone())));
        let incidents_task = self
            .incidents
            .map(|engine| tokio::spawn(engine.run(cancel.clone())));
        let grpc_task = self.grpc.map(|(listener, tls, service)| {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                let served = crate::grpc::serve(listener, tls, service, cancel.clone()).await;
                // A failed gRPC server takes the whole control plane down, like a failed HTTP one.
                cancel.cancel();
                served
            })
        });
        // Background work is rows in the job queue: these tasks only enqueue and claim it, so
        // work a crash interrupts is taken over by this or another replica after its lease.
        let jobs = self.jobs;
        let scheduler_task = tokio::spawn(crate::jobs::run_scheduler(
            self.store.clone(),
            crate::monitoring::detection_jobs::DETECTION_PASS,
            jobs.detection_every,
            cancel.clone(),
        ));
        let sla_scheduler_task = tokio::spawn(crate::jobs::run_scheduler(
            self.store.clone(),
            crate::slas::service::EVALUATE_SLAS,
            jobs.sla_every,
            cancel.clone(),
        ));
        let upkeep_task = tokio::spawn(crate::jobs::run_scheduler(
            self.store.clone(),
            crate::background::INCIDENT_UPKEEP,
            crate::incidents::UPKEEP_INTERVAL,
            cancel.clone(),
        ));
        let handler: Arc<dyn crate::jobs::JobHandler> = Arc::new(
            crate::background::Background::new(self.store.clone(), &jobs.replica)
                .with_public_url(self.public_url.clone()),
        );
        // Notifications have a worker of their own: a long detection pass never delays a page.
        let delivery_task = tokio::spawn(crate::jobs::run_kind_worker(
            self.store.clone(),
            handler.clone(),
            jobs.clone(),
            crate::store::incidents::DELIVER_NOTIFICATION,
            jobs.delivery_poll,
            cancel.clone(),
        ));
        let worker_task = tokio::spawn(crate::jobs::run_worker(
            self.store.clone(),
            handler,
            jobs,
            cancel.clone(),
        ));
        let shutdown = cancel.clone();
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        // The server can also stop on its own (listener error): take ingest down with it.
        cancel.cancel();
        if let Some(task) = ingest_task {
            task.await.context("the ingest task panicked")?;
        }
        if let Some(task) = relay_task {
            task.await.context("the events relay task panicked")?;
        }
        if let Some(task) = incidents_task {
            task.await.context("the incident engine panicked")?;
        }
        if let Some(task) = grpc_task {
            task.await.context("the grpc task panicked")??;
        }
        scheduler_task.await.context("the job scheduler panicked")?;
        sla_scheduler_task.await.context("the SLA scheduler panicked")?;
        upkeep_task
            .await
            .context("the incident upkeep scheduler panicked")?;
        delivery_task.await.context("the delivery worker panicked")?;
        worker_task.await.context("the job worker panicked")?;
        self.store.close().await;
        info!("control plane stopped");
        served.context("http server failed")
    }
}
