//! The `run` path of engines without [`Capabilities::pushdown_measure`](super::Capabilities) (MySQL/MariaDB,
//! SQLite, files): discovery is the source's profiling listing, and a measurement is one scan of the
//! table through the same source, counting rows and NULLs per column from the batches' validity masks.
//!
//! A column the scan does not read (a type that is not profiled) or that fails to decode gets no NULL
//! count rather than a wrong one. Must not keep anything but the last listing.

use std::sync::{Mutex, PoisonError};

use tokio::sync::mpsc;

use super::scan::{BatchSink, TableInfo};
use super::{
    DiscoveredColumn, DiscoveredTable, Source, SourceError, SourceResult, TableKind, TableMeasurement,
};
use crate::profiler::{ColumnBatch, ColumnValues};

/// Rows per batch of a measuring scan.
const BATCH_ROWS: usize = 4096;

/// The tables the last discovery listed: a measuring scan needs the listing's column shapes.
#[derive(Default)]
pub struct Listed(Mutex<Vec<TableInfo>>);

impl Listed {
    fn find(&self, schema: &str, name: &str) -> Option<TableInfo> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|info| info.schema == schema && info.name == name)
            .cloned()
    }
}

/// Every table of the source's profiling listing, as `kind` (`url` names the source in errors);
/// `listed` keeps the listing for [`measure`].
pub async fn discover<S: Source + ?Sized>(
    source: &S,
    listed: &Listed,
    url: &str,
    kind: TableKind,
) -> SourceResult<Vec<DiscoveredTable>> {
    let tables = source
        .list_tables(None)
        .await
        .map_err(|error| SourceError::Listing(format!("{url}: {error}")))?;
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
    *listed.0.lock().unwrap_or_else(PoisonError::into_inner) = tables;
    Ok(discovered)
}

/// Row count, NULL counts and the newest value of `freshness` in one scan of a discovered table.
pub async fn measure<S: Source + ?Sized>(
    source: &S,
    listed: &Listed,
    table: &DiscoveredTable,
    freshness: Option<&str>,
) -> SourceResult<TableMeasurement> {
    let label = format!("{}.{}", table.schema, table.name);
    let measure_error = |cause: String| SourceError::Scan {
        table: label.clone(),
        cause,
    };
    let Some(info) = listed.find(&table.schema, &table.name) else {
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
    let scanned = source.scan(&info, None, &mut sink).await;
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
