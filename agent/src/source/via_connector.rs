//! The `run` path for engines other than PostgreSQL (MySQL/MariaDB, SQLite, files): discovery is the
//! profiling connector's table listing, and a measurement is one scan of the table through the same
//! connector, counting rows and NULLs per column from the batches' validity masks.
//!
//! A column the connector does not read (a type that is not profiled) or that fails to decode gets
//! no NULL count rather than a wrong one.

use tokio::sync::{Mutex, mpsc};

use super::connector::{AnyConnector, BatchSink, Connector, TableInfo};
use super::{DiscoveredColumn, DiscoveredTable, SourceError, SourceResult, TableKind, TableMeasurement};
use crate::config::SourceUrl;
use crate::profiler::{ColumnBatch, ColumnValues};

/// Rows per batch of a measuring scan.
const BATCH_ROWS: usize = 4096;

pub struct ConnectorSource {
    url: String,
    /// The connector and the tables it listed last (a scan needs the listing's column shapes).
    state: Mutex<(AnyConnector, Vec<TableInfo>)>,
}

impl ConnectorSource {
    pub async fn connect(url: &SourceUrl) -> SourceResult<Self> {
        let connector =
            AnyConnector::open(url.expose_secret())
                .await
                .map_err(|error| SourceError::Connect {
                    url: url.to_string(),
                    cause: error.to_string(),
                })?;
        Ok(Self {
            url: url.to_string(),
            state: Mutex::new((connector, Vec::new())),
        })
    }

    pub async fn discover(&self) -> SourceResult<Vec<DiscoveredTable>> {
        let mut state = self.state.lock().await;
        let (connector, listed) = &mut *state;
        let tables = connector
            .list_tables(None)
            .await
            .map_err(|error| SourceError::Listing(format!("{}: {error}", self.url)))?;
        let kind = if connector.kind() == "file" {
            TableKind::File
        } else {
            TableKind::Table
        };
        let discovered = tables
            .iter()
            .map(|table| DiscoveredTable {
                schema: table.schema.clone(),
                name: table.name.clone(),
                kind,
                columns: table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(index, column)| DiscoveredColumn {
                        name: column.name.clone(),
                        data_type: column.data_type.clone(),
                        // The listings do not all know; NULLs are counted either way.
                        nullable: true,
                        ordinal: i32::try_from(index + 1).unwrap_or(i32::MAX),
                    })
                    .collect(),
            })
            .collect();
        *listed = tables;
        Ok(discovered)
    }

    pub async fn measure(
        &self,
        table: &DiscoveredTable,
        freshness: Option<&str>,
    ) -> SourceResult<TableMeasurement> {
        let label = format!("{}.{}", table.schema, table.name);
        let measure_error = |cause: String| SourceError::Scan {
            table: label.clone(),
            cause,
        };
        let mut state = self.state.lock().await;
        let (connector, listed) = &mut *state;
        let Some(info) = listed
            .iter()
            .find(|info| info.schema == table.schema && info.name == table.name)
            .cloned()
        else {
            return Err(measure_error("the table was not discovered".to_owned()));
        };
        let read: Vec<String> = info.read_columns().into_iter().map(|(name, _)| name).collect();
        let fresh_index = freshness.and_then(|wanted| read.iter().position(|name| name == wanted));
        let (sender, mut receiver) = mpsc::channel::<ColumnBatch>(2);
        let width = read.len();
        let counter = tokio::spawn(async move {
            let mut nulls = vec![0_u64; width];
            let mut failed = vec![false; width];
            let mut newest: Option<i64> = None;
            while let Some(batch) = receiver.recv().await {
                for (index, column) in batch.columns.iter().enumerate() {
                    if let (Some(count), Some(failed)) = (nulls.get_mut(index), failed.get_mut(index)) {
                        *count += column.valid.iter().filter(|valid| !**valid).count() as u64;
                        *failed |= column.failed.is_some();
                    }
                    if Some(index) == fresh_index
                        && let ColumnValues::Micros(values) = &column.values
                    {
                        let batch_newest = values
                            .iter()
                            .zip(&column.valid)
                            .filter(|(_, valid)| **valid)
                            .map(|(micros, _)| *micros)
                            .max();
                        newest = newest.max(batch_newest);
                    }
                }
            }
            (nulls, failed, newest)
        });
        let mut sink = BatchSink::new(vec![sender], BATCH_ROWS, |_| {});
        let scanned = connector.scan(&info, None, &mut sink).await;
        sink.close();
        drop(sink);
        let (nulls, failed, newest) = counter.await.map_err(|error| measure_error(error.to_string()))?;
        // A file without a freshness column is as fresh as its last modification.
        let newest_micros = newest.or_else(|| match (freshness, &info.modified_at) {
            (None, Some(modified)) => chrono::DateTime::parse_from_rfc3339(modified)
                .ok()
                .map(|at| at.timestamp_micros()),
            _ => None,
        });
        let summary = scanned.map_err(|error| measure_error(error.to_string()))?;
        Ok(TableMeasurement {
            row_count: i64::try_from(summary.rows).unwrap_or(i64::MAX),
            null_counts: read
                .into_iter()
                .zip(nulls.into_iter().zip(failed))
                .filter(|(_, (_, failed))| !failed)
                .map(|(name, (nulls, _))| (name, i64::try_from(nulls).unwrap_or(i64::MAX)))
                .collect(),
            newest_micros,
        })
    }
}
