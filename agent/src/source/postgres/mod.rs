//! PostgreSQL: discovery through pg_catalog and one aggregate query per table ([`catalog`]), lineage
//! SQL from view definitions and `pg_stat_statements`, profiling scans as one binary
//! `COPY (SELECT …) TO STDOUT` per table ([`profile`], decoded by [`copy`]), and the checks executor
//! with streamed passes ([`checks`]), all over one pool.
//!
//! Owns the conversation with a PostgreSQL server. Must not compute statistics or judge checks: it
//! hands batches to the profiler and rows to the check planner.

mod catalog;
mod checks;
pub mod copy;
pub mod profile;

use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use self::copy::{CopyDecoder, FieldDecoder};
use self::profile::{ColumnPlan, PgTable};
use super::registry::{Address, Engine, OpenFuture, redact};
use super::scan::{BatchSink, ColumnInfo, ReadError, ReadResult, ScanSummary, TableInfo, TableName};
use super::{
    CONNECT_TIMEOUT, Capabilities, CollectedSql, DiscoveredTable, MAX_CONNECTIONS, Source, SourceError,
    SourceResult, TableMeasurement,
};
use crate::checks::exec::CheckExecutor;

pub static ENGINE: Engine = Engine {
    name: "postgres",
    title: "PostgreSQL",
    schemes: &["postgres"],
    aliases: &["postgresql"],
    address: Address::Host,
    takes_plain_paths: false,
    default_schema: Some("public"),
    lineage_dialect: "postgres",
    capabilities: Capabilities {
        pushdown_measure: true,
        copy_streaming: true,
        sampling: true,
        checks: true,
        streamed_checks: true,
        fixes: true,
        lineage: true,
    },
    open,
};

fn open(url: &str) -> OpenFuture<'_> {
    Box::pin(async move { Ok(Arc::new(PostgresSource::open(url).await?) as Arc<dyn Source>) })
}

pub struct PostgresSource {
    pool: PgPool,
    /// The URL without its password, for messages.
    url: String,
    /// The catalog's view of each table the profiler listed (base types and type modifiers pick the
    /// decoders of its scan).
    listed: Mutex<Vec<PgTable>>,
}

impl PostgresSource {
    pub async fn open(url: &str) -> SourceResult<Self> {
        let connect_error = |cause: String| SourceError::Connect {
            url: redact(url),
            cause,
        };
        let options: PgConnectOptions = url
            .parse()
            .map_err(|error: sqlx::Error| connect_error(error.to_string()))?;
        let options = options.application_name("cwic-agent");
        // One direct connection first: the pool would retry until its timeout and hide the reason.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| connect_error(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|error| connect_error(error.to_string()))?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            url: redact(url),
            listed: Mutex::new(Vec::new()),
        })
    }

    async fn acquire(&self) -> ReadResult<sqlx::pool::PoolConnection<sqlx::Postgres>> {
        self.pool.acquire().await.map_err(|error| ReadError::Connect {
            url: self.url.clone(),
            cause: error.to_string(),
        })
    }

    async fn list(&self, only: Option<&TableName>) -> ReadResult<Vec<TableInfo>> {
        let mut connection = self.acquire().await?;
        let found = match only {
            None => profile::list_tables(&mut connection, None).await,
            Some(name) => {
                let schema = name.schema.as_deref().unwrap_or("public");
                profile::list_tables(&mut connection, Some((schema, &name.name))).await
            }
        }?;
        let infos = found.iter().map(info).collect();
        let mut listed = self.listed.lock().unwrap_or_else(PoisonError::into_inner);
        // The source lives for a session: a table listed again replaces what it was, never piles up.
        if only.is_none() {
            listed.clear();
        }
        listed.retain(|known| {
            !found
                .iter()
                .any(|table| table.schema == known.schema && table.name == known.name)
        });
        listed.extend(found);
        Ok(infos)
    }

    async fn scan_table(
        &self,
        table: &TableInfo,
        sample_percent: Option<f64>,
        sink: &mut BatchSink,
    ) -> ReadResult<ScanSummary> {
        let pg_table = self
            .listed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|known| known.schema == table.schema && known.name == table.name)
            .cloned();
        let Some(pg_table) = pg_table else {
            return Err(ReadError::Read(format!("{} was not listed", table.label())));
        };
        let plans: Vec<ColumnPlan> = pg_table.columns.iter().map(profile::plan_column).collect();
        let decoder = CopyDecoder::new(plans.iter().filter_map(ColumnPlan::decoder).collect());
        let sql = profile::copy_sql(&pg_table, &plans, sample_percent);
        let mut connection = self.acquire().await?;
        let scanned = profile::stream_table(&mut connection, &sql, decoder, sink).await;
        if scanned.is_err() {
            // A COPY ended early leaves the connection mid-protocol: closed, not returned to the pool.
            connection.close_on_drop();
        }
        scanned
    }
}

/// The profiler's view of a listed table.
fn info(table: &PgTable) -> TableInfo {
    TableInfo {
        schema: table.schema.clone(),
        name: table.name.clone(),
        columns: table
            .columns
            .iter()
            .map(|column| ColumnInfo {
                name: column.name.clone(),
                data_type: column.data_type.clone(),
                read: match profile::plan_column(column) {
                    ColumnPlan::Skip(reason) => Err(reason),
                    plan => plan
                        .decoder()
                        .map(FieldDecoder::shape)
                        .ok_or_else(|| "column was not read".to_owned()),
                },
            })
            .collect(),
        estimated_rows: table.estimated_rows,
        size_bytes: Some(table.size_bytes),
        modified_at: None,
    }
}

impl Source for PostgresSource {
    fn engine(&self) -> &'static Engine {
        &ENGINE
    }

    fn discover(&self) -> BoxFuture<'_, SourceResult<Vec<DiscoveredTable>>> {
        Box::pin(self.discover_catalog())
    }

    fn measure<'a>(
        &'a self,
        table: &'a DiscoveredTable,
        freshness: Option<&'a str>,
    ) -> BoxFuture<'a, SourceResult<TableMeasurement>> {
        Box::pin(self.measure_pushdown(table, freshness))
    }

    fn collect_sql(&self) -> BoxFuture<'_, SourceResult<Vec<CollectedSql>>> {
        Box::pin(self.collect_lineage_sql())
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
