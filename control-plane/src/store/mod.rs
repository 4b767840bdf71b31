//! PostgreSQL persistence: metadata (tenants, agents, assets, columns) and metric history.
//!
//! Owns every SQL statement of the control plane and the migrations. Every query takes the tenant as
//! an argument from the caller's authenticated context; nothing here decides who may see what. Must
//! not know about HTTP or NATS.

mod assets;
mod ingest;
pub mod intelligence;
pub mod lineage;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

pub use assets::{AssetDetail, AssetSummary, ColumnDetail, MetricPoint, MetricQuery, Page};
pub use ingest::{IncomingBatch, IngestOutcome};

/// The control plane's migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

const MAX_CONNECTIONS: u32 = 10;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid batch: {0}")]
    InvalidBatch(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Opens a pool and its first connection, so a wrong URL or an unreachable server is reported
    /// at start-up with the driver's own reason (connection refused, password authentication failed).
    /// Later outages are retried by the pool and reported through readiness.
    pub async fn connect(database_url: &str) -> StoreResult<Self> {
        let options: PgConnectOptions = database_url.parse::<PgConnectOptions>()?.application_name("cwic");
        // One direct connection first: the pool would retry until its timeout and hide the reason.
        PgConnection::connect_with(&options).await?.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Applies pending migrations; sqlx serialises concurrent runs with an advisory lock.
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
