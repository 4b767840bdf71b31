//! Data sources: connecting, discovering tables and columns, and measuring them with pushdown SQL
//! ([`Source`], the agent's `run` path, PostgreSQL today), and reading them for the profiler
//! ([`connector::Connector`]: PostgreSQL, MySQL/MariaDB, SQLite, CSV, NDJSON and Parquet files).
//!
//! Owns the conversation with the customer's engine. Must not publish or persist anything: it returns
//! observations and batches, and the collector or the profiler turns them into results.

pub mod connector;
pub mod files;
pub mod mysql;
pub mod parquet_file;
pub mod pg_copy;
pub mod pg_profile;
mod postgres;
pub mod sqlite;
mod via_connector;

use std::path::Path;
use std::time::Duration;

use crate::config::{ConfigError, SourceConfig, SourceKind};

/// How long connecting to a source may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot connect to {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("discovering tables failed: {0}")]
    Discover(#[source] sqlx::Error),
    #[error("reading SQL for lineage failed: {0}")]
    CollectSql(#[source] sqlx::Error),
    #[error("measuring {table} failed: {cause}")]
    Measure { table: String, cause: sqlx::Error },
    #[error("discovering tables failed: {0}")]
    Listing(String),
    #[error("measuring {table} failed: {cause}")]
    Scan { table: String, cause: String },
}

pub type SourceResult<T> = Result<T, SourceError>;

/// A table-like object found by discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredTable {
    pub schema: String,
    pub name: String,
    pub kind: TableKind,
    pub columns: Vec<DiscoveredColumn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Table,
    View,
    MaterializedView,
    ForeignTable,
    /// A file (CSV, NDJSON, Parquet) read as a table.
    File,
}

impl TableKind {
    /// Whether counting rows is a plain scan of stored data (views run their query instead, so they are
    /// described but not measured).
    pub fn is_measured(self) -> bool {
        matches!(
            self,
            TableKind::Table | TableKind::MaterializedView | TableKind::File
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredColumn {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
    pub ordinal: i32,
}

/// SQL found in a source for lineage: a view's definition or a data-changing statement of the
/// query history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedSql {
    pub kind: SqlKind,
    /// `schema.view` for views, the query id for history.
    pub job: String,
    pub sql: String,
    pub default_schema: String,
    pub calls: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlKind {
    View,
    MaterializedView,
    Query,
}

/// What one measuring scan of a table found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMeasurement {
    pub row_count: i64,
    /// NULL count per column, in the table's column order.
    pub null_counts: Vec<(String, i64)>,
    /// The newest value of the freshness column asked for, as microseconds since the Unix epoch
    /// (UTC; a timestamp without time zone is read as UTC); `None` when the table is empty or the
    /// column holds only NULLs.
    pub newest_micros: Option<i64>,
}

/// Whether a column type, as the engine names it, holds dates or timestamps.
pub fn is_temporal_type(data_type: &str) -> bool {
    let lower = data_type.to_ascii_lowercase();
    lower.starts_with("timestamp") || lower.starts_with("date") || lower.starts_with("datetime")
}

impl DiscoveredTable {
    /// The table's freshness column: the first of `candidates` (compared case-insensitively) that
    /// the table has with a date or timestamp type.
    pub fn freshness_column(&self, candidates: &[String]) -> Option<&DiscoveredColumn> {
        candidates.iter().find_map(|candidate| {
            self.columns.iter().find(|column| {
                column.name.eq_ignore_ascii_case(candidate) && is_temporal_type(&column.data_type)
            })
        })
    }
}

/// A connected source.
pub enum Source {
    Postgres(postgres::PostgresSource),
    /// MySQL/MariaDB, SQLite and files, through their profiling connector.
    Connector(SourceKind, Box<via_connector::ConnectorSource>),
}

impl Source {
    pub async fn connect(config: &SourceConfig) -> SourceResult<Self> {
        match config.url.kind() {
            SourceKind::Postgres => Ok(Source::Postgres(
                postgres::PostgresSource::connect(&config.url).await?,
            )),
            kind @ (SourceKind::Mysql | SourceKind::Sqlite | SourceKind::File) => Ok(Source::Connector(
                kind,
                Box::new(via_connector::ConnectorSource::connect(&config.url).await?),
            )),
        }
    }

    pub async fn discover(&self) -> SourceResult<Vec<DiscoveredTable>> {
        match self {
            Source::Postgres(source) => source.discover().await,
            Source::Connector(_, source) => source.discover().await,
        }
    }

    /// The SQL dialect name of this source, as `cwic lineage --dialect` names it.
    pub fn dialect(&self) -> &'static str {
        match self {
            Source::Postgres(_) => "postgres",
            Source::Connector(SourceKind::Mysql, _) => "mysql",
            Source::Connector(SourceKind::Sqlite, _) => "sqlite",
            Source::Connector(_, _) => "ansi",
        }
    }

    /// View definitions and, where the source keeps one, the data-changing statements of its query
    /// history, for lineage (PostgreSQL only so far).
    pub async fn collect_sql(&self) -> SourceResult<Vec<CollectedSql>> {
        match self {
            Source::Postgres(source) => source.collect_sql().await,
            Source::Connector(..) => Ok(Vec::new()),
        }
    }

    /// Measures row count, per-column NULL counts and the newest value of `freshness` (a temporal
    /// column of the table) in one scan of the table.
    pub async fn measure(
        &self,
        table: &DiscoveredTable,
        freshness: Option<&str>,
    ) -> SourceResult<TableMeasurement> {
        match self {
            Source::Postgres(source) => source.measure(table, freshness).await,
            Source::Connector(_, source) => source.measure(table, freshness).await,
        }
    }
}

/// Connects every configured source, failing with a config error that names the source's `url` key
/// when one cannot be reached, so a typo is found at start-up rather than at the first schedule.
pub async fn connect_all(file: &Path, sources: &[SourceConfig]) -> Result<Vec<Source>, ConfigError> {
    let mut connected = Vec::with_capacity(sources.len());
    for (index, config) in sources.iter().enumerate() {
        let source = Source::connect(config).await.map_err(|error| {
            ConfigError::at_key(
                file,
                format!("sources[{index}].url"),
                format!(
                    "{error} (expected a reachable {} server)",
                    config.url.kind().as_str()
                ),
            )
        })?;
        connected.push(source);
        if let Some(checks) = &config.checks {
            let key = format!("sources[{index}].checks");
            if !matches!(
                config.url.kind(),
                SourceKind::Postgres | SourceKind::Mysql | SourceKind::Sqlite
            ) {
                return Err(ConfigError::at_key(
                    file,
                    key,
                    format!(
                        "checks run on PostgreSQL, MySQL/MariaDB and SQLite sources; this one is {}",
                        config.url.kind().as_str()
                    ),
                ));
            }
            crate::checks::model::CheckSuite::load(checks)
                .map_err(|error| ConfigError::at_key(file, key, error.to_string()))?;
        }
    }
    Ok(connected)
}
