//! PostgreSQL persistence: metadata (tenants, agents, assets, columns) and metric history.
//!
//! Owns every SQL statement of the control plane and the migrations. Every query takes the tenant
//! from the caller's authenticated context; nothing here decides who may see what. Must not know
//! about HTTP or NATS.
//!
//! Three handles (see `handles`): [`Store`] is the owner (ingest, migrations, background jobs, the
//! command line); [`ApiStore`] is what the REST and gRPC APIs hold, giving out only a
//! [`TenantStore`] (row-level security on every statement) and the [`IdentityStore`] (the
//! cross-tenant sign-in lookups).

pub mod agents;
mod assets;
mod auth;
pub mod channels;
pub mod contracts;
mod dead_letters;
mod handles;
pub mod incidents;
mod ingest;
pub mod intelligence;
pub mod jobs;
pub mod lineage;
pub mod outbox;
pub mod roi;
pub mod routing;
pub mod scores;
pub mod slas;
pub mod snapshots;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

pub use assets::{AssetDetail, AssetSummary, CheckSummary, ColumnDetail, MetricPoint, MetricQuery, Page};
pub use auth::{
    ApiTokenInfo, AuditEntry, AuditQuery, AuditRecord, LoginCandidate, Member, PendingSsoLogin, Refresh,
    SsoConnectionInfo,
};
pub use dead_letters::{DeadLetter, DeadLetterRecord};
pub use handles::{ApiStore, IdentityStore, Scoped, TenantStore};
pub use ingest::{IncomingBatch, IngestOutcome, agent_time};

/// The control plane's migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

const MAX_CONNECTIONS: u32 = 10;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// A pooled connection idle at least this long is pinged before it is handed out; one in use a
/// moment ago is not (the ping is a round trip, and most acquires follow closely on the last in
/// a job's or a request's run of queries: pinging each cost a detection pass ~8 % of its CPU).
/// A connection that broke meanwhile fails its query, which the job queue retries.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(5);

/// The settings both pools share.
fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|connection, metadata| {
            Box::pin(async move {
                if metadata.idle_for >= PING_WHEN_IDLE_FOR {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
}

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
    /// security confines to the tenant a [`TenantStore`] names per transaction (none otherwise).
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
        let pool = pool_options().connect_lazy_with(options.clone());
        let api = pool_options()
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

    /// A store over one pool for everything (tests that bring their own pool). Tenant handles made
    /// from it still act as `cwic_api` with row-level security: [`TenantStore::begin`] sets the
    /// role in each transaction.
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            api: pool.clone(),
            pool,
            partitions: Arc::default(),
        }
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
