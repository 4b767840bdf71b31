//! Building and running the control plane: one factory that tests and `cwic serve` share.
//!
//! `Application::build` binds the listener (port 0 in tests), prepares the database and the broker,
//! and returns before serving, so callers learn the address first. `run` serves until cancelled and
//! stops the HTTP server and the ingest consumer together.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use cwic_shared::TenantId;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::api::{self, AppState};
use crate::ingest::{IngestService, IngestStats};
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub database_url: String,
    /// The broker to ingest from; `None` serves the API without ingest.
    pub nats_url: Option<String>,
    pub listen: SocketAddr,
    pub console_dir: PathBuf,
    pub default_tenant: Option<TenantId>,
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
        let state = AppState {
            store: store.clone(),
            default_tenant: config.default_tenant,
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
        let detection_task = tokio::spawn(crate::intelligence::scan::run_forever(
            self.store.clone(),
            crate::intelligence::scan::PASS_INTERVAL,
            cancel.clone(),
        ));
        let shutdown = cancel.clone();
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        // The server can also stop on its own (listener error): take ingest down with it.
        cancel.cancel();
        if let Some(task) = ingest_task {
            task.await.context("the ingest task panicked")?;
        }
        detection_task
            .await
            .context("the anomaly detection task panicked")?;
        self.store.close().await;
        info!("control plane stopped");
        served.context("http server failed")
    }
}
