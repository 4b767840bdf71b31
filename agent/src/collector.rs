//! One collection run over one source: discover, measure every selected table, build a batch.
//!
//! Owns turning source observations into the wire message. A failure on one table becomes that asset's
//! `error` and the rest of the run goes on. Must not publish: the batch goes to the spool.

use std::time::{SystemTime, UNIX_EPOCH};

use cwic_proto::agent::v1::{
    AssetKind, AssetObservation, Column, LineageBatch, Metric, MetricBatch, SqlStatement, SqlStatementKind,
};
use cwic_shared::MetricKind;
use tracing::{Instrument as _, info, warn};
use uuid::Uuid;

use crate::config::{AgentConfig, SourceConfig};
use crate::histogram_memory::ProfileMemory;
use crate::source::{ConnectedSource, DiscoveredTable, Source, SourceResult, SqlKind, TableKind};

/// Largest encoded batch: well under nats-server's default 1 MiB `max_payload`, leaving room for headers.
const MAX_BATCH_BYTES: usize = 768 * 1024;

/// Collects one source. Fails only when discovery fails (the source is unusable); per-table failures
/// are recorded in the batch. A run over many tables is split into several batches, each below
/// [`MAX_BATCH_BYTES`] and each with its own id. Measures, profiles, segment counts and checks share
/// the source's one pool.
#[tracing::instrument(name = "collect_metrics", level = "debug", skip_all, fields(source = %source_config.name))]
pub async fn collect(
    config: &AgentConfig,
    source_config: &SourceConfig,
    connected: &ConnectedSource,
) -> SourceResult<Vec<MetricBatch>> {
    let source = connected.source.as_ref();
    let collected_at = unix_ms_now();
    let tables = source
        .discover()
        .instrument(tracing::debug_span!("discover"))
        .await?;
    let selected: Vec<DiscoveredTable> = tables
        .into_iter()
        .filter(|table| source_config.selects(&table.schema, &table.name))
        .collect();
    let mut assets = Vec::with_capacity(selected.len());
    for table in &selected {
        assets.push(observe(source, table, &source_config.freshness_columns, collected_at).await);
    }
    if source_config.profile {
        let mut memory = ProfileMemory::open(&config.state_dir, &source_config.name);
        crate::profile_wire::profile_assets(source, &mut assets, &mut memory).await;
        if let Err(error) = memory.save() {
            warn!(%error, dir = %config.state_dir.display(), "cannot remember this run's profiles; drift is measured against the previous ones");
        }
    }
    if source_config.profile || connected.checks.is_some() {
        pushdown(config, source_config, connected, &mut assets).await;
    }
    let template = MetricBatch {
        batch_id: String::new(),
        tenant_id: config.tenant.to_string(),
        agent_id: config.agent_id.to_string(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        collected_at_unix_ms: collected_at,
        finished_at_unix_ms: unix_ms_now(),
        source_name: source_config.name.clone(),
        source_kind: source.engine().name.to_owned(),
        assets: Vec::new(),
    };
    let tables = assets.len();
    let batches = split_into_batches(&template, assets, MAX_BATCH_BYTES);
    info!(
        source = %source_config.name,
        tables,
        batches = batches.len(),
        elapsed_ms = template.finished_at_unix_ms - template.collected_at_unix_ms,
        "collection finished"
    );
    Ok(batches)
}

/// Segment counts (profiled sources) and check results (sources with a check suite): statements
/// pushed down to engines that run checks ([`Capabilities::checks`](crate::source::Capabilities)). A
/// failure is logged and, for checks, the metrics already measured are shipped either way.
async fn pushdown(
    config: &AgentConfig,
    source_config: &SourceConfig,
    connected: &ConnectedSource,
    assets: &mut [AssetObservation],
) {
    if !connected.source.capabilities().checks {
        return;
    }
    let executor = match connected.source.checks() {
        Ok(executor) => executor,
        Err(error) => {
            warn!(%error, source = %source_config.name, "segment counts and checks skipped");
            return;
        }
    };
    if source_config.profile {
        for asset in assets.iter_mut().filter(|asset| !asset.profiles.is_empty()) {
            let (counts, errors) = crate::segments::measure(executor, asset).await;
            for error in errors {
                warn!(%error, table = %format!("{}.{}", asset.schema, asset.name), "segment counts failed");
            }
            asset.segments = counts;
        }
    }
    if let Some(suite) = &connected.checks {
        crate::checks::ship::run_and_attach(&config.state_dir, &source_config.name, executor, suite, assets)
            .await;
    }
}

/// Packs assets greedily into batches of at most `max_bytes` encoded (an asset larger than that on its
/// own travels alone). Every batch gets a fresh UUIDv7 id; an empty run yields one empty batch so the
/// control plane still learns the agent ran.
fn split_into_batches(
    template: &MetricBatch,
    assets: Vec<AssetObservation>,
    max_bytes: usize,
) -> Vec<MetricBatch> {
    let new_batch = || MetricBatch {
        batch_id: Uuid::now_v7().to_string(),
        ..template.clone()
    };
    let mut batches = vec![new_batch()];
    let mut size = 0;
    for asset in assets {
        // Field tag + length prefix + body, as prost encodes a repeated message field.
        let asset_size = prost::Message::encoded_len(&asset) + 8;
        if size + asset_size > max_bytes && batches.last().is_some_and(|batch| !batch.assets.is_empty()) {
            batches.push(new_batch());
            size = 0;
        }
        size += asset_size;
        if let Some(batch) = batches.last_mut() {
            batch.assets.push(asset);
        }
    }
    batches
}

#[tracing::instrument(name = "measure", level = "debug", skip_all, fields(table = %format_args!("{}.{}", table.schema, table.name)))]
async fn observe(
    source: &dyn Source,
    table: &DiscoveredTable,
    freshness_columns: &[String],
    collected_at_ms: i64,
) -> AssetObservation {
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
        ..Default::default()
    };
    if !table.kind.is_measured() {
        return observation;
    }
    let freshness = table
        .freshness_column(freshness_columns)
        .map(|column| column.name.as_str());
    match source.measure(table, freshness).await {
        Ok(measurement) => {
            if let Some(newest) = measurement.newest_micros {
                // Negative when the newest value lies in the future (clock skew, planned rows):
                // kept as measured, the control plane judges it.
                let lag_seconds = (collected_at_ms as f64 - newest as f64 / 1000.0) / 1000.0;
                observation.metrics.push(Metric {
                    name: MetricKind::FreshnessLag.as_str().to_owned(),
                    column: String::new(),
                    value: lag_seconds,
                });
            }
            observation.metrics.push(Metric {
                name: MetricKind::RowCount.as_str().to_owned(),
                column: String::new(),
                value: measurement.row_count as f64,
            });
            observation
                .metrics
                .extend(measurement.null_counts.into_iter().map(|(column, nulls)| Metric {
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

/// The source's SQL for lineage as one batch; `None` when the source has none, or when it is the same
/// SQL as `previous` (a hash of the last batch sent: unchanged SQL changes no lineage).
#[tracing::instrument(name = "collect_lineage", level = "debug", skip_all, fields(source = %source_config.name))]
pub async fn collect_lineage(
    config: &AgentConfig,
    source_config: &SourceConfig,
    source: &dyn Source,
    previous: &mut Option<u64>,
) -> SourceResult<Option<LineageBatch>> {
    if !source.capabilities().lineage {
        return Ok(None);
    }
    let collected_at = unix_ms_now();
    let statements: Vec<SqlStatement> = source
        .collect_sql()
        .await?
        .into_iter()
        .map(|sql| SqlStatement {
            kind: match sql.kind {
                SqlKind::View => SqlStatementKind::View,
                SqlKind::MaterializedView => SqlStatementKind::MaterializedView,
                SqlKind::Query => SqlStatementKind::Query,
            } as i32,
            job: sql.job,
            sql: sql.sql,
            default_schema: sql.default_schema,
            calls: sql.calls,
        })
        .collect();
    if statements.is_empty() {
        return Ok(None);
    }
    let fingerprint = statements
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, statement| {
            (statement.job.bytes().chain(statement.sql.bytes())).fold(hash, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            })
        });
    if *previous == Some(fingerprint) {
        return Ok(None);
    }
    *previous = Some(fingerprint);
    info!(source = %source_config.name, statements = statements.len(), "sql for lineage collected");
    Ok(Some(LineageBatch {
        batch_id: Uuid::now_v7().to_string(),
        tenant_id: config.tenant.to_string(),
        agent_id: config.agent_id.to_string(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        collected_at_unix_ms: collected_at,
        source_name: source_config.name.clone(),
        source_kind: source.engine().name.to_owned(),
        dialect: source.engine().lineage_dialect.to_owned(),
        statements,
    }))
}

fn asset_kind(kind: TableKind) -> AssetKind {
    match kind {
        TableKind::Table => AssetKind::Table,
        TableKind::View => AssetKind::View,
        TableKind::MaterializedView => AssetKind::MaterializedView,
        TableKind::ForeignTable => AssetKind::ForeignTable,
        TableKind::File => AssetKind::File,
    }
}

fn unix_ms_now() -> i64 {
    // A clock before 1970 is a broken host; report it as 0 rather than fail the collection.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(name: &str, columns: usize) -> AssetObservation {
        AssetObservation {
            schema: "public".into(),
            name: name.into(),
            metrics: (0..columns)
                .map(|index| Metric {
                    name: "null_count".into(),
                    column: format!("column_{index}"),
                    value: 1.0,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn splits_large_runs_below_the_size_limit_and_keeps_every_asset() {
        let template = MetricBatch {
            tenant_id: "acme".into(),
            source_name: "w".into(),
            ..Default::default()
        };
        let assets: Vec<_> = (0..100).map(|index| asset(&format!("t{index}"), 50)).collect();
        let one_asset = prost::Message::encoded_len(&assets[0]);
        let batches = split_into_batches(&template, assets, one_asset * 10);
        assert!(batches.len() >= 10, "{} batches", batches.len());
        let mut names: Vec<String> = batches
            .iter()
            .flat_map(|b| b.assets.iter().map(|a| a.name.clone()))
            .collect();
        assert_eq!(names.len(), 100);
        names.dedup();
        assert_eq!(names.len(), 100);
        for batch in &batches {
            assert!(
                prost::Message::encoded_len(batch) <= one_asset * 10 + 64,
                "batch too large"
            );
            assert_eq!(batch.tenant_id, "acme");
        }
        let mut ids: Vec<&str> = batches.iter().map(|b| b.batch_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), batches.len(), "batch ids must be unique");
    }

    #[test]
    fn an_empty_run_is_one_empty_batch() {
        let batches = split_into_batches(&MetricBatch::default(), Vec::new(), 1024);
        assert_eq!(batches.len(), 1);
        assert!(batches[0].assets.is_empty());
    }
}
