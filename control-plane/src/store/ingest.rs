//! Storing one agent batch in one transaction, idempotently by batch id.

use chrono::{DateTime, TimeZone, Utc};
use cwic_proto::agent::v1::{AssetKind, MetricBatch};
use cwic_shared::{AgentId, MetricKind, TenantId};
use uuid::Uuid;

use super::{Store, StoreError, StoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// The batch was new and is stored, with this many metric points.
    Stored { points: usize },
    /// The batch id was stored before; nothing changed.
    Duplicate,
}

fn asset_kind_name(kind: i32) -> &'static str {
    match AssetKind::try_from(kind).unwrap_or(AssetKind::Unspecified) {
        AssetKind::Table => "table",
        AssetKind::View => "view",
        AssetKind::MaterializedView => "materialized_view",
        AssetKind::ForeignTable => "foreign_table",
        AssetKind::File => "file",
        AssetKind::Unspecified => "unknown",
    }
}

fn timestamp(unix_ms: i64) -> StoreResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(unix_ms)
        .single()
        .ok_or_else(|| StoreError::InvalidBatch(format!("collected_at_unix_ms {unix_ms} is out of range")))
}

/// Checks what the database cannot: names and numbers a well-behaved agent sends. Returns the batch id.
fn validate(batch: &MetricBatch) -> StoreResult<Uuid> {
    let batch_id = Uuid::parse_str(&batch.batch_id)
        .map_err(|_| StoreError::InvalidBatch(format!("batch_id `{}` is not a UUID", batch.batch_id)))?;
    if batch.source_name.is_empty() {
        return Err(StoreError::InvalidBatch("source_name is empty".to_owned()));
    }
    let mut assets_seen = std::collections::HashSet::new();
    for asset in &batch.assets {
        if asset.name.is_empty() {
            return Err(StoreError::InvalidBatch("an asset has an empty name".to_owned()));
        }
        if !assets_seen.insert((asset.schema.as_str(), asset.name.as_str())) {
            return Err(StoreError::InvalidBatch(format!(
                "asset {}.{} appears twice",
                asset.schema, asset.name
            )));
        }
        let mut metrics_seen = std::collections::HashSet::new();
        for metric in &asset.metrics {
            if !metrics_seen.insert((metric.name.as_str(), metric.column.as_str())) {
                return Err(StoreError::InvalidBatch(format!(
                    "metric `{}` of column `{}` on {}.{} appears twice",
                    metric.name, metric.column, asset.schema, asset.name
                )));
            }
            let Some(kind) = MetricKind::parse(&metric.name) else {
                return Err(StoreError::InvalidBatch(format!(
                    "unknown metric `{}`",
                    metric.name
                )));
            };
            if kind.is_column_level() == metric.column.is_empty() {
                return Err(StoreError::InvalidBatch(format!(
                    "metric `{}` on {}.{} {} a column",
                    metric.name,
                    asset.schema,
                    asset.name,
                    if kind.is_column_level() {
                        "needs"
                    } else {
                        "must not name"
                    }
                )));
            }
            if !metric.value.is_finite() {
                return Err(StoreError::InvalidBatch(format!(
                    "metric `{}` has a non-finite value",
                    metric.name
                )));
            }
        }
    }
    Ok(batch_id)
}

impl Store {
    /// Stores a batch: tenant and agent bookkeeping, assets, columns and metric points, all in one
    /// transaction. A batch id already stored yields [`IngestOutcome::Duplicate`] and changes nothing,
    /// so redelivery after a crash between commit and ack is harmless.
    ///
    /// Until agent enrollment exists, a tenant is created the first time one of its agents reports; the
    /// broker's subject permissions decide who may publish as which tenant.
    pub async fn ingest_batch(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        batch: &MetricBatch,
        stream_sequence: Option<u64>,
    ) -> StoreResult<IngestOutcome> {
        let batch_id = validate(batch)?;
        let collected_at = timestamp(batch.collected_at_unix_ms)?;
        let points: usize = batch.assets.iter().map(|asset| asset.metrics.len()).sum();

        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(tenant.as_str())
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO ingested_batches (tenant_id, batch_id, agent_id, source_name, collected_at, stream_sequence, points)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (tenant_id, batch_id) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(batch_id)
        .bind(agent.as_str())
        .bind(&batch.source_name)
        .bind(collected_at)
        .bind(stream_sequence.map(|sequence| sequence as i64))
        .bind(points as i32)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(IngestOutcome::Duplicate);
        }

        sqlx::query(
            "INSERT INTO agents (tenant_id, id, version, first_seen_at, last_seen_at) VALUES ($1, $2, $3, now(), now())
             ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version, last_seen_at = now()",
        )
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .bind(&batch.agent_version)
        .execute(&mut *tx)
        .await?;

        for asset in &batch.assets {
            // A late batch (sent from an outbox after newer ones) must not roll "last seen" back.
            let asset_id: Uuid = sqlx::query_scalar(
                "INSERT INTO assets (id, tenant_id, source_name, source_kind, schema_name, name, kind, agent_id,
                                     first_seen_at, last_seen_at, last_error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, NULLIF($10, ''))
                 ON CONFLICT (tenant_id, source_name, schema_name, name) DO UPDATE SET
                     source_kind = CASE WHEN EXCLUDED.last_seen_at >= assets.last_seen_at
                                        THEN EXCLUDED.source_kind ELSE assets.source_kind END,
                     kind = CASE WHEN EXCLUDED.last_seen_at >= assets.last_seen_at
                                 THEN EXCLUDED.kind ELSE assets.kind END,
                     agent_id = CASE WHEN EXCLUDED.last_seen_at >= assets.last_seen_at
                                     THEN EXCLUDED.agent_id ELSE assets.agent_id END,
                     last_error = CASE WHEN EXCLUDED.last_seen_at >= assets.last_seen_at
                                       THEN EXCLUDED.last_error ELSE assets.last_error END,
                     first_seen_at = LEAST(assets.first_seen_at, EXCLUDED.first_seen_at),
                     last_seen_at = GREATEST(assets.last_seen_at, EXCLUDED.last_seen_at)
                 RETURNING id",
            )
            .bind(Uuid::now_v7())
            .bind(tenant.as_str())
            .bind(&batch.source_name)
            .bind(&batch.source_kind)
            .bind(&asset.schema)
            .bind(&asset.name)
            .bind(asset_kind_name(asset.kind))
            .bind(agent.as_str())
            .bind(collected_at)
            .bind(&asset.error)
            .fetch_one(&mut *tx)
            .await?;

            if !asset.columns.is_empty() {
                let names: Vec<&str> = asset.columns.iter().map(|column| column.name.as_str()).collect();
                let ordinals: Vec<i32> = asset.columns.iter().map(|column| column.ordinal).collect();
                let types: Vec<&str> = asset
                    .columns
                    .iter()
                    .map(|column| column.data_type.as_str())
                    .collect();
                let nullables: Vec<bool> = asset.columns.iter().map(|column| column.nullable).collect();
                sqlx::query(
                    "INSERT INTO asset_columns (tenant_id, asset_id, name, ordinal, data_type, nullable,
                                                first_seen_at, last_seen_at)
                     SELECT $1, $2, c.name, c.ordinal, c.data_type, c.nullable, $7, $7
                     FROM UNNEST($3::text[], $4::int4[], $5::text[], $6::bool[]) AS c (name, ordinal, data_type, nullable)
                     ON CONFLICT (asset_id, name) DO UPDATE SET
                         ordinal = CASE WHEN EXCLUDED.last_seen_at >= asset_columns.last_seen_at
                                        THEN EXCLUDED.ordinal ELSE asset_columns.ordinal END,
                         data_type = CASE WHEN EXCLUDED.last_seen_at >= asset_columns.last_seen_at
                                          THEN EXCLUDED.data_type ELSE asset_columns.data_type END,
                         nullable = CASE WHEN EXCLUDED.last_seen_at >= asset_columns.last_seen_at
                                         THEN EXCLUDED.nullable ELSE asset_columns.nullable END,
                         first_seen_at = LEAST(asset_columns.first_seen_at, EXCLUDED.first_seen_at),
                         last_seen_at = GREATEST(asset_columns.last_seen_at, EXCLUDED.last_seen_at)",
                )
                .bind(tenant.as_str())
                .bind(asset_id)
                .bind(&names)
                .bind(&ordinals)
                .bind(&types)
                .bind(&nullables)
                .bind(collected_at)
                .execute(&mut *tx)
                .await?;
            }

            if !asset.metrics.is_empty() {
                let metric_names: Vec<&str> =
                    asset.metrics.iter().map(|metric| metric.name.as_str()).collect();
                let columns: Vec<&str> = asset
                    .metrics
                    .iter()
                    .map(|metric| metric.column.as_str())
                    .collect();
                let values: Vec<f64> = asset.metrics.iter().map(|metric| metric.value).collect();
                sqlx::query(
                    "INSERT INTO metric_points (tenant_id, asset_id, metric, column_name, observed_at, batch_id, value)
                     SELECT $1, $2, p.metric, p.column_name, $6, $7, p.value
                     FROM UNNEST($3::text[], $4::text[], $5::float8[]) AS p (metric, column_name, value)",
                )
                .bind(tenant.as_str())
                .bind(asset_id)
                .bind(&metric_names)
                .bind(&columns)
                .bind(&values)
                .bind(collected_at)
                .bind(batch_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(IngestOutcome::Stored { points })
    }
}
