//! Data sources: one [`Source`] trait every engine implements, and one [`registry`] that picks the
//! engine from a URL. A source is opened once per session (`cwic-agent run`, again on reload) or per
//! command (`profile`, `scan`, `fix`) and holds one connection pool, shared by discovery, measuring,
//! profiling scans, checks, segment counts and fixes. What an engine can do is in its
//! [`Capabilities`], never in a match on the URL scheme.
//!
//! Engines, one module each: [`postgres`] (binary COPY scans, pushdown measures, lineage from views
//! and `pg_stat_statements`, checks with streamed passes, fixes), [`mysql`] (MySQL and MariaDB),
//! [`sqlite`], [`files`] (CSV, NDJSON, Parquet). Adding an engine: a module implementing [`Source`]
//! with its `ENGINE`, and one line in [`registry::ENGINES`]. [`scan`] holds the shapes a profiling
//! scan hands over (batches, table listings) and [`measure_by_scan`] the run-path measures of the
//! engines that cannot push them down.
//!
//! Owns the conversation with the customer's engine. Must not publish or persist anything: it returns
//! observations and batches, and the collector or the profiler turns them into results.

pub mod files;
pub mod measure_by_scan;
pub mod mysql;
pub mod postgres;
pub mod registry;
pub mod scan;
pub mod sqlite;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

pub use registry::{Engine, open};
use scan::{BatchSink, ReadResult, ScanSummary, TableInfo, TableName};

use crate::checks::exec::CheckExecutor;
use crate::checks::model::CheckSuite;
use crate::config::{ConfigError, SourceConfig};

/// How long connecting to a source may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections a source's pool keeps at most: a profiling scan or a streamed check pass holds one for
/// the length of a table, the planner's statements take another.
const MAX_CONNECTIONS: u32 = 4;

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
    /// The engine cannot do what was asked (checks on files, checks on a MySQL older than 8.0.17).
    #[error("{0}")]
    Unsupported(String),
}

pub type SourceResult<T> = Result<T, SourceError>;

/// What an engine can do beyond listing and scanning tables. Callers ask these flags, never the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Run-path measures (row and NULL counts, newest value) are one aggregate statement in the
    /// engine; without it a measure is one scan of the table through the profiling read.
    pub pushdown_measure: bool,
    /// Profiling scans stream the table with the engine's bulk protocol (PostgreSQL binary COPY)
    /// rather than row by row.
    pub copy_streaming: bool,
    /// A profiling scan can read a block sample of the table (`--sample`); the others read all of it.
    pub sampling: bool,
    /// Check files run here, as SQL the planner builds for the engine's dialect ([`Source::checks`]),
    /// and segment counts of profiled tables with them.
    pub checks: bool,
    /// Checks judged in the agent over one streamed pass of the table (distinct statistics).
    pub streamed_checks: bool,
    /// Fix scripts apply here, in one transaction with a before-image.
    pub fixes: bool,
    /// SQL for lineage: view definitions and the data-changing statements of the query log.
    pub lineage: bool,
}

/// A source opened through the [`registry`]: the run path's discovery and measures, the profiler's
/// listing and scan, lineage SQL, and the checks executor, over one connection pool.
pub trait Source: Send + Sync {
    fn engine(&self) -> &'static Engine;

    /// What the engine can do.
    fn capabilities(&self) -> Capabilities {
        self.engine().capabilities
    }

    /// Every table-like object of the source, with its columns (the `run` path).
    fn discover(&self) -> BoxFuture<'_, SourceResult<Vec<DiscoveredTable>>>;

    /// Row count, per-column NULL counts and the newest value of `freshness` (a temporal column of
    /// the table) in one pass over the table.
    fn measure<'a>(
        &'a self,
        table: &'a DiscoveredTable,
        freshness: Option<&'a str>,
    ) -> BoxFuture<'a, SourceResult<TableMeasurement>>;

    /// View definitions and, where the source keeps one, the data-changing statements of its query
    /// history, for lineage (engines with [`Capabilities::lineage`]).
    fn collect_sql(&self) -> BoxFuture<'_, SourceResult<Vec<CollectedSql>>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The tables to profile: every table the role can read, or the one named (which may be a view).
    /// An empty list means the named table is not there.
    fn list_tables<'a>(&'a self, only: Option<&'a TableName>) -> BoxFuture<'a, ReadResult<Vec<TableInfo>>>;

    /// Streams a listed table into batches of `sink.batch_rows()` rows holding the columns whose
    /// `read` is a shape, in table order. With `sample_percent`, engines with
    /// [`Capabilities::sampling`] read about that share of the table; the others read all of it and
    /// say so in the summary's warnings.
    fn scan<'a>(
        &'a self,
        table: &'a TableInfo,
        sample_percent: Option<f64>,
        sink: &'a mut BatchSink,
    ) -> BoxFuture<'a, ReadResult<ScanSummary>>;

    /// The checks executor over this source's pool, or why the engine runs no checks.
    fn checks(&self) -> SourceResult<&dyn CheckExecutor> {
        Err(SourceError::Unsupported(format!(
            "checks run on {} sources; this one is {}",
            registry::titles_with(|capabilities| capabilities.checks),
            self.engine().name
        )))
    }
}

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

/// A configured source, opened, with its check suite parsed (once per session: at start and on reload).
#[derive(Clone)]
pub struct ConnectedSource {
    pub source: Arc<dyn Source>,
    pub checks: Option<Arc<CheckSuite>>,
}

/// Opens every configured source and parses its check file, failing with a config error that names
/// the source's `url` (or `checks`) key when one cannot be used, so a typo is found at start-up rather
/// than at the first schedule. The contracts `attached` in the control plane join the checks of
/// their source (a check named like one the config already runs on that table is left out, logged).
pub async fn connect_all(
    file: &Path,
    sources: &[SourceConfig],
    attached: &[crate::attached::Attached],
) -> Result<Vec<ConnectedSource>, ConfigError> {
    let mut connected = Vec::with_capacity(sources.len());
    for (index, config) in sources.iter().enumerate() {
        let engine = config.url.kind();
        let source = (engine.open)(config.url.expose_secret()).await.map_err(|error| {
            ConfigError::at_key(
                file,
                format!("sources[{index}].url"),
                format!("{error} (expected a reachable {} server)", engine.name),
            )
        })?;
        let mut suite: Option<CheckSuite> = None;
        for (key, path) in [("checks", &config.checks), ("contracts", &config.contracts)] {
            let Some(path) = path else { continue };
            let key = format!("sources[{index}].{key}");
            if !engine.capabilities.checks {
                return Err(ConfigError::at_key(
                    file,
                    key,
                    format!(
                        "checks and contracts run on {} sources; this one is {}",
                        registry::titles_with(|capabilities| capabilities.checks),
                        engine.name
                    ),
                ));
            }
            let loaded = if key.ends_with("contracts") {
                crate::contracts::translate::load_suites(path, engine.name)
            } else {
                CheckSuite::load(path).map_err(|error| error.to_string())
            }
            .map_err(|error| ConfigError::at_key(file, key, error))?;
            suite
                .get_or_insert_with(|| CheckSuite { datasets: Vec::new() })
                .datasets
                .extend(loaded.datasets);
        }
        if attached.iter().any(|contract| contract.source == config.name) {
            if engine.capabilities.checks {
                let contracts = crate::attached::suite_for(&config.name, attached, engine.name);
                let suite = suite.get_or_insert_with(|| CheckSuite { datasets: Vec::new() });
                for mut dataset in contracts.datasets {
                    let runs: Vec<&str> = suite
                        .datasets
                        .iter()
                        .filter(|d| d.dataset == dataset.dataset)
                        .flat_map(|d| d.checks.iter().map(|c| c.name.as_str()))
                        .collect();
                    let (clashing, kept): (Vec<_>, Vec<_>) = dataset
                        .checks
                        .into_iter()
                        .partition(|c| runs.contains(&c.name.as_str()));
                    for check in clashing {
                        tracing::warn!(
                            source = %config.name,
                            dataset = %dataset.dataset,
                            check = %check.name,
                            "an attached contract's check is named like one the config runs; left out"
                        );
                    }
                    dataset.checks = kept;
                    suite.datasets.push(dataset);
                }
            } else {
                tracing::warn!(
                    source = %config.name,
                    engine = engine.name,
                    "contracts are attached to this source's tables, but checks do not run on its engine"
                );
            }
        }
        let checks = suite.map(Arc::new);
        connected.push(ConnectedSource { source, checks });
    }
    Ok(connected)
}
