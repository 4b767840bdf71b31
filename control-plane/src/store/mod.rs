//! PostgreSQL persistence: metadata (tenants, agents, assets, columns) and metric history.
//!
//! Owns every SQL statement of the control plane and the migrations. Every query takes the tenant as
//! an argument from the caller's authenticated context; nothing here decides who may see what. Must
//! not know about HTTP or NATS.

pub mod agents;
mod assets;
mod auth;
mod dead_letters;
mod ingest;
pub mod intelligence;
pub mod lineage;
pub mod outbox;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cwic_shared::TenantId;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

pub use assets::{AssetDetail, AssetSummary, CheckSummary, ColumnDetail, MetricPoint, MetricQuery, Page};
pub use auth::{
    ApiTokenInfo, AuditEntry, AuditQuery, AuditRecord, LoginCandidate, Member, PendingSsoLogin, Refresh,
    SsoConnectionInfo,
};
pub use dead_letters::{DeadLetter, DeadLetterRecord};
pub use ingest::{IncomingBatch, IngestOutcome, agent_time};

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
    #[error("stored data is not what the code expects: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone)]
pub struct Store {
    /// The system pool (the database owner): ingest, sign-in lookups, background work.
    pool: PgPool,
    /// The API's pool for tenant data: connections act as the role `cwic_api`, which row-level
    /// security confines to the tenant [`Store::scoped`] names per transaction (none otherwise).
    api: PgPool,
    /// Months whose `metric_points` partition is known to exist.
    partitions: Arc<Mutex<HashSet<chrono::NaiveDate>>>,
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
            .connect_lazy_with(options.clone());
        let api = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|connection, _| {
                // The role row-level security applies to (migration ..._row_level_security).
                Box::pin(async move {
                    sqlx::raw_sql("SET ROLE cwic_api")
                        .execute(connection)
                        .await
                        .map(|_| ())
                })
            })
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            api,
            partitions: Arc::default(),
        })
    }

    /// A store over one pool for everything (tests that bring their own pool).
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            api: pool.clone(),
            pool,
            partitions: Arc::default(),
        }
    }

    /// A transaction that row-level security confines to `tenant`: tables with a `tenant_wall`
    /// policy show and accept only that tenant's rows, whatever the query says. (A store made with
    /// [`Store::from_pool`] has no separate API role, so there the policies do not apply.)
    pub async fn scoped(&self, tenant: &TenantId) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.api.begin().await?;
        sqlx::query("SELECT set_config('cwic.tenant', $1, true)")
            .bind(tenant.as_str())
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    fn partitions_known(&self, month: chrono::NaiveDate) -> bool {
        self.partitions.lock().is_ok_and(|known| known.contains(&month))
    }

    fn remember_partition(&self, month: chrono::NaiveDate) {
        if let Ok(mut known) = self.partitions.lock() {
            known.insert(month);
        }
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
        self.api.close().await;
    }
}
