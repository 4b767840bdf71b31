//! Building and running the control plane: one factory that tests and `cwic serve` share.
//!
//! `Application::build` binds the listener (port 0 in tests), prepares the database and the broker,
//! and returns before serving, so callers learn the address first. `run` serves until cancelled and
//! stops the HTTP server and the ingest consumer together.

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
use crate::ingest::{IngestService, IngestStats};
use crate::store::Store;

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
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    ingest: Option<IngestService>,
    store: Store,
}

impl Application {
    pub async fn build(config: ServeConfig) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url)
            .await
            .context("cannot open the control plane's database")?;
        store.migrate().await.context("cannot apply migrations")?;
        let stats = Arc::new(IngestStats::default());
        let ingest = match &config.nats_url {
            Some(url) => {
                let service = IngestService::connect(url, store.clone(), stats.clone()).await?;
                service.prepare().await?;
                Some(service)
            }
            None => None,
        };
        let keys = match &config.jwt_keys {
            Some(spec) => JwtKeys::parse(spec).context("invalid --jwt-keys")?,
            None => {
                warn!("no --jwt-keys configured: using a random signing key, sessions end on restart");
                JwtKeys::ephemeral()?
            }
        };
        let state = AppState {
            store: store.clone(),
            keys,
            limits: Arc::new(RateLimits::new(config.rate_limits)),
            public_url: config.public_url,
            ingest_stats: stats,
        };
        let router = api::router(state, &config.console_dir);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        Ok(Self {
            listener,
            router,
            ingest,
            store,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `cancel` fires, then drains in-flight requests and the message being ingested.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let address = self.listener.local_addr()?;
        info!(%address, "serving http");
        let ingest_task = self
            .ingest
            .map(|service| tokio::spawn(service.run(cancel.clone())));
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
        self.store.close().await;
        info!("control plane stopped");
        served.context("http server failed")
    }
}
