//! SQLite: discovery and profiling scans through `sqlite_schema`, `PRAGMA table_info` and one `SELECT`
//! per table ([`profile`]), run-path measures as one such scan (no pushdown), and the checks executor
//! ([`checks`]), all over one pool on the database file (with the REGEXP function the check dialect
//! uses). A missing file is an error, never created.
//!
//! Owns the conversation with a SQLite file. Must not compute statistics or judge checks.

mod checks;
mod profile;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection, SqlitePool};

use super::registry::{Address, Engine, OpenFuture};
use super::scan::{BatchSink, ReadError, ReadResult, ScanSummary, TableInfo, TableName};
use super::{
    Capabilities, DiscoveredTable, MAX_CONNECTIONS, Source, SourceError, SourceResult, TableKind,
    TableMeasurement, measure_by_scan,
};
use crate::checks::exec::CheckExecutor;

pub static ENGINE: Engine = Engine {
    name: "sqlite",
    title: "SQLite",
    schemes: &["sqlite"],
    aliases: &[],
    address: Address::Path { example: ".db" },
    takes_plain_paths: false,
    default_schema: None,
    lineage_dialect: "sqlite",
    capabilities: Capabilities {
        pushdown_measure: false,
        copy_streaming: false,
        sampling: false,
        checks: true,
        streamed_checks: false,
        fixes: true,
        lineage: false,
    },
    open,
};

fn open(url: &str) -> OpenFuture<'_> {
    Box::pin(async move { Ok(Arc::new(SqliteSource::open(url).await?) as Arc<dyn Source>) })
}

pub struct SqliteSource {
    pool: SqlitePool,
    /// The database file.
    path: PathBuf,
    url: String,
    /// What the last discovery listed: a run-path measure scans with the listing's column shapes.
    listed: measure_by_scan::Listed,
}

impl SqliteSource {
    /// Opens `sqlite://path`, `sqlite:path` or `sqlite:///absolute/path` (query parameters such as
    /// `?mode=ro` pass to SQLite).
    pub async fn open(url: &str) -> SourceResult<Self> {
        let connect_error = |cause: String| SourceError::Connect {
            url: url.to_owned(),
            cause,
        };
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = PathBuf::from(rest.split('?').next().unwrap_or(rest));
        if !path.is_file() {
            return Err(connect_error(format!("no database file at {}", path.display())));
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{rest}"))
            .map_err(|error| connect_error(format!("expected a URL like sqlite://path/to/file.db: {error}")))?
            .with_regexp()
            // A full-table read is slow by nature: no statement text in the logs.
            .disable_statement_logging();
        let probe = options
            .connect()
            .await
            .map_err(|error| connect_error(error.to_string()))?;
        let _ = probe.close().await;
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            path,
            url: url.to_owned(),
            listed: measure_by_scan::Listed::default(),
        })
    }

    async fn acquire(&self) -> ReadResult<sqlx::pool::PoolConnection<sqlx::Sqlite>> {
        self.pool.acquire().await.map_err(|error| ReadError::Connect {
            url: self.url.clone(),
            cause: error.to_string(),
        })
    }
}

impl Source for SqliteSource {
    fn engine(&self) -> &'static Engine {
        &ENGINE
    }

    fn discover(&self) -> BoxFuture<'_, SourceResult<Vec<DiscoveredTable>>> {
        Box::pin(measure_by_scan::discover(
            self,
            &self.listed,
            &self.url,
            TableKind::Table,
        ))
    }

    fn measure<'a>(
        &'a self,
        table: &'a DiscoveredTable,
        freshness: Option<&'a str>,
    ) -> BoxFuture<'a, SourceResult<TableMeasurement>> {
        Box::pin(measure_by_scan::measure(self, &self.listed, table, freshness))
    }

    fn list_tables<'a>(&'a self, only: Option<&'a TableName>) -> BoxFuture<'a, ReadResult<Vec<TableInfo>>> {
        Box::pin(self.list(only))
    }

    fn scan<'a>(
        &'a self,
        table: &'a TableInfo,
        sample_percent: Option<f64>,
        sink: &'a mut BatchSink,
    ) -> BoxFuture<'a, ReadResult<ScanSummary>> {
        Box::pin(self.scan_table(table, sample_percent, sink))
    }

    fn checks(&self) -> SourceResult<&dyn CheckExecutor> {
        Ok(self)
    }
}
