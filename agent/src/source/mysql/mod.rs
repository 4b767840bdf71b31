//! MySQL and MariaDB: discovery and profiling scans through `information_schema` and one streaming
//! `SELECT` per table ([`profile`]), run-path measures as one such scan (no pushdown), and the checks
//! executor ([`checks`]), all over one pool.
//!
//! Every session of the pool runs in UTC (`time_zone = '+00:00'`: `TIMESTAMP` values and
//! `UTC_TIMESTAMP()` agree, `DATETIME` values are read as UTC), with `||` meaning OR as in the `mysql`
//! client, utf8mb4, and without `NO_BACKSLASH_ESCAPES` (the check dialect escapes backslashes).
//!
//! Owns the conversation with a MySQL or MariaDB server. Must not compute statistics or judge checks.

mod checks;
mod profile;

use std::str::FromStr;
use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, MySqlPool};

use super::registry::{Address, Engine, OpenFuture, redact};
use super::scan::{BatchSink, ReadError, ReadResult, ScanSummary, TableInfo, TableName};
use super::{
    CONNECT_TIMEOUT, Capabilities, DiscoveredTable, MAX_CONNECTIONS, Source, SourceError, SourceResult,
    TableKind, TableMeasurement, measure_by_scan,
};
use crate::checks::dialect::Mysql;
use crate::checks::exec::CheckExecutor;

pub static ENGINE: Engine = Engine {
    name: "mysql",
    title: "MySQL/MariaDB",
    schemes: &["mysql", "mariadb"],
    aliases: &[],
    address: Address::Host,
    takes_plain_paths: false,
    default_schema: None,
    lineage_dialect: "mysql",
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
    Box::pin(async move { Ok(Arc::new(MysqlSource::open(url).await?) as Arc<dyn Source>) })
}

pub struct MysqlSource {
    pool: MySqlPool,
    /// The URL without its password, for messages.
    url: String,
    /// The check dialect of this server, or why it runs no checks (too old).
    dialect: Result<&'static Mysql, String>,
    /// What the last discovery listed: a run-path measure scans with the listing's column shapes.
    listed: measure_by_scan::Listed,
}

impl MysqlSource {
    pub async fn open(url: &str) -> SourceResult<Self> {
        let connect_error = |cause: String| SourceError::Connect {
            url: redact(url),
            cause,
        };
        // sqlx knows only the mysql:// scheme; MariaDB URLs are the same thing.
        let normalized = match url.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => url.to_owned(),
        };
        let options = MySqlConnectOptions::from_str(&normalized)
            .map_err(|error| connect_error(error.to_string()))?
            .timezone(Some("+00:00".to_owned()))
            .pipes_as_concat(false)
            .charset("utf8mb4")
            // A full-table read is slow by nature: no statement text in the logs.
            .disable_statement_logging();
        // One direct connection first, to read the version: the pool would retry until its timeout
        // and hide the reason a server is unreachable.
        let mut probe = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
            .await
            .map_err(|_| connect_error(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|error| connect_error(error.to_string()))?;
        let version: Result<(String,), sqlx::Error> = sqlx::query_as("SELECT CAST(VERSION() AS CHAR)")
            .fetch_one(&mut probe)
            .await;
        let _ = probe.close().await;
        let (version,) =
            version.map_err(|error| connect_error(format!("cannot read the server version: {error}")))?;
        let pool = MySqlPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    connection
                        .execute(
                            "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')",
                        )
                        .await?;
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            url: redact(url),
            dialect: checks::dialect_for(&version),
            listed: measure_by_scan::Listed::default(),
        })
    }

    async fn acquire(&self) -> ReadResult<sqlx::pool::PoolConnection<sqlx::MySql>> {
        self.pool.acquire().await.map_err(|error| ReadError::Connect {
            url: self.url.clone(),
            cause: error.to_string(),
        })
    }
}

impl Source for MysqlSource {
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
        match &self.dialect {
            Ok(_) => Ok(self),
            Err(why) => Err(SourceError::Unsupported(why.clone())),
        }
    }
}
