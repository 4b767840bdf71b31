//! One collection run over one source: discover, measure every selected table, build a batch.
//!
//! Owns turning source observations into the wire message. A failure on one table becomes that asset's
//! `error` and the rest of the run goes on. Must not publish: the batch goes to the spool.

use std::time::{SystemTime, UNIX_EPOCH};

use cwic_proto::agent::v1::{AssetKind, AssetObservation, Column, Metric, MetricBatch};
use cwic_shared::MetricKind;
use tracing::{info, warn};
use uuid::Uuid;

use crate::config::{AgentConfig, SourceConfig};
use crate::source::{DiscoveredTable, Source, SourceResult, TableKind};

/// Collects one batch for one source. Fails only when discovery fails (the source is unusable);
/// per-table failures are recorded in the batch.
pub async fn collect(config: &AgentConfig, source_config: &SourceConfig, source: &Source) -> SourceResult<MetricBatch> {
    let collected_at = unix_ms_now();
    let tables = source.discover().await?;
    let selected: Vec<DiscoveredTable> =
        tables.into_iter().filter(|table| source_config.selects(&table.schema, &table.name)).collect();
    let mut assets = Vec::with_capacity(selected.len());
    for table in &selected {
        assets.push(observe(source, table).await);
    }
    let batch = MetricBatch {
        batch_id: Uuid::now_v7().to_string(),
        tenant_id: config.tenant.to_string(),
        agent_id: config.agent_id.to_string(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        collected_at_unix_ms: collected_at,
        finished_at_unix_ms: unix_ms_now(),
        source_name: source_config.name.clone(),
        source_kind: source_config.url.kind().as_str().to_owned(),
        assets,
    };
    info!(
        source = %source_config.name,
        batch_id = %batch.batch_id,
        tables = batch.assets.len(),
        elapsed_ms = batch.finished_at_unix_ms - batch.collected_at_unix_ms,
        "collection finished"
    );
    Ok(batch)
}

async fn observe(source: &Source, table: &DiscoveredTable) -> AssetObservation {
    let mut observation = AssetObservation {
        schema: table.schema.clone(),
        name: table.name.clone(),
        kind: asset_kind(table.kind) as i32,
        columns: table
            .columns
            .iter()
            .map(|column| Column {
                name: column.name.clone(),
                data_type: column.data_type.clone(),
                nullable: column.nullable,
                ordinal: column.ordinal,
            })
            .collect(),
        metrics: Vec::new(),
        error: String::new(),
    };
    if !table.kind.is_measured() {
        return observation;
    }
    match source.measure(table).await {
        Ok(measurement) => {
            observation.metrics.push(Metric {
                name: MetricKind::RowCount.as_str().to_owned(),
                column: String::new(),
                value: measurement.row_count as f64,
            });
            observation.metrics.extend(measurement.null_counts.into_iter().map(|(column, nulls)| Metric {
                name: MetricKind::NullCount.as_str().to_owned(),
                column,
                value: nulls as f64,
            }));
        }
        Err(error) => {
            warn!(%error, table = %format!("{}.{}", table.schema, table.name), "measuring table failed");
            observation.error = error.to_string();
        }
    }
    observation
}

fn asset_kind(kind: TableKind) -> AssetKind {
    match kind {
        TableKind::Table => AssetKind::Table,
        TableKind::View => AssetKind::View,
        TableKind::MaterializedView => AssetKind::MaterializedView,
        TableKind::ForeignTable => AssetKind::ForeignTable,
    }
}

fn unix_ms_now() -> i64 {
    // A clock before 1970 is a broken host; report it as 0 rather than fail the collection.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64)
}
