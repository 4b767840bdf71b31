//! Storing one agent batch in one transaction, idempotently by batch id.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use cwic_proto::agent::v1::{AssetKind, AssetObservation, Column, MetricBatch};
use cwic_shared::{AgentId, MetricKind, TenantId};
use uuid::Uuid;

use super::{Store, StoreError, StoreResult, outbox};
use crate::events::{
    AssetDiscovered, CheckResultStored, CollectionChanged, ColumnTypeChange, Event, EventData, MetricsStored,
    SchemaChanged,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// The batch was new and is stored, with this many metric points.
    Stored { points: usize },
    /// The batch id was stored before (or earlier in the same group); nothing changed.
    Duplicate,
    /// The batch breaks a rule the database cannot check; it is not stored and never will be.
    Invalid(String),
}

/// One agent batch to store, with the identity the broker vouched for.
pub struct IncomingBatch<'a> {
    pub tenant: &'a TenantId,
    pub agent: &'a AgentId,
    pub batch: &'a MetricBatch,
    pub stream_sequence: Option<u64>,
}

/// The newest observation of one asset within a group, and when the group first saw it.
struct NewestAsset<'a> {
    batch: &'a Checked<'a>,
    asset: &'a AssetObservation,
    first_seen: DateTime<Utc>,
}

/// The newest observation of one column within a group.
struct NewestColumn<'a> {
    tenant: &'a str,
    column: &'a Column,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

/// A batch that passed validation, ready to be written.
struct Checked<'a> {
    index: usize,
    incoming: &'a IncomingBatch<'a>,
    batch_id: Uuid,
    collected_at: DateTime<Utc>,
    points: usize,
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

/// Times an agent may report: from the Unix epoch to 2200-01-01 (PostgreSQL stores far more, but a
/// time outside this is a broken clock or a forged batch, and a year like -251000 is refused by
/// the database only after the group's transaction began).
const EARLIEST_MS: i64 = 0;
const LATEST_MS: i64 = 7_258_118_400_000;

/// A time an agent reported, if it is one an agent may report.
pub fn agent_time(unix_ms: i64) -> StoreResult<DateTime<Utc>> {
    if !(EARLIEST_MS..LATEST_MS).contains(&unix_ms) {
        return Err(StoreError::InvalidBatch(format!(
            "collected_at_unix_ms {unix_ms} is outside 1970-01-01 to 2200-01-01"
        )));
    }
    Utc.timestamp_millis_opt(unix_ms)
        .single()
        .ok_or_else(|| StoreError::InvalidBatch(format!("collected_at_unix_ms {unix_ms} is out of range")))
}

/// Longest name (schema, table, column, metric, check, source) a batch may carry, in bytes.
const MAX_NAME_BYTES: usize = 1_024;
/// Longest free text (error and check messages, profile values), in bytes.
const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Checks one text field of a batch: no NUL (PostgreSQL cannot store it) and within its limit.
fn text(field: &str, value: &str, max: usize) -> StoreResult<()> {
    if value.contains('\0') {
        return Err(StoreError::InvalidBatch(format!(
            "{field} contains a NUL character"
        )));
    }
    if value.len() > max {
        return Err(StoreError::InvalidBatch(format!(
            "{field} has {} bytes, more than {max}",
            value.len()
        )));
    }
    Ok(())
}

/// Every text field of a batch, as the database will store it.
fn check_texts(batch: &MetricBatch) -> StoreResult<()> {
    for (field, value) in [
        ("tenant_id", &batch.tenant_id),
        ("agent_id", &batch.agent_id),
        ("agent_version", &batch.agent_version),
        ("source_name", &batch.source_name),
        ("source_kind", &batch.source_kind),
    ] {
        text(field, value, MAX_NAME_BYTES)?;
    }
    if batch.finished_at_unix_ms != 0 {
        agent_time(batch.finished_at_unix_ms)
            .map_err(|_| StoreError::InvalidBatch("finished_at_unix_ms is out of range".to_owned()))?;
    }
    for asset in &batch.assets {
        text("asset schema", &asset.schema, MAX_NAME_BYTES)?;
        text("asset name", &asset.name, MAX_NAME_BYTES)?;
        text("asset error", &asset.error, MAX_TEXT_BYTES)?;
        text("schema_fingerprint", &asset.schema_fingerprint, MAX_NAME_BYTES)?;
        for column in &asset.columns {
            text("column name", &column.name, MAX_NAME_BYTES)?;
            text("column data_type", &column.data_type, MAX_NAME_BYTES)?;
        }
        for metric in &asset.metrics {
            text("metric name", &metric.name, MAX_NAME_BYTES)?;
            text("metric column", &metric.column, MAX_NAME_BYTES)?;
        }
        for check in &asset.checks {
            for (field, value, max) in [
                ("check name", &check.name, MAX_NAME_BYTES),
                ("check template", &check.template, MAX_NAME_BYTES),
                ("check value", &check.value, MAX_TEXT_BYTES),
                ("check message", &check.message, MAX_TEXT_BYTES),
                ("check owner", &check.owner, MAX_NAME_BYTES),
            ] {
                text(field, value, max)?;
            }
            for value in check.columns.iter().chain(&check.tags) {
                text("check column or tag", value, MAX_NAME_BYTES)?;
            }
        }
        for segment in &asset.segments {
            text("segment column", &segment.column, MAX_NAME_BYTES)?;
            text("segment_column", &segment.segment_column, MAX_NAME_BYTES)?;
            text("segment_value", &segment.segment_value, MAX_TEXT_BYTES)?;
        }
        for profile in &asset.profiles {
            for (field, value) in [
                ("profile column", &profile.column),
                ("profile kind", &profile.kind),
                ("profile min", &profile.min),
                ("profile max", &profile.max),
                ("profile semantic_type", &profile.semantic_type),
                ("profile error", &profile.error),
            ] {
                text(field, value, MAX_TEXT_BYTES)?;
            }
            let quantiles = profile.quantiles.iter().map(|q| &q.value);
            let top = profile.top_values.iter().map(|t| &t.value);
            let histogram = profile
                .histogram
                .iter()
                .flat_map(|h| h.edges.iter().chain(&h.values).chain(std::iter::once(&h.kind)));
            for value in quantiles.chain(top).chain(histogram) {
                text("profile value", value, MAX_TEXT_BYTES)?;
            }
        }
    }
    Ok(())
}

/// Checks what the database cannot: names and numbers a well-behaved agent sends. Returns the batch id.
fn validate(batch: &MetricBatch) -> StoreResult<Uuid> {
    let batch_id = Uuid::parse_str(&batch.batch_id)
        .map_err(|_| StoreError::InvalidBatch(format!("batch_id `{}` is not a UUID", batch.batch_id)))?;
    if batch.source_name.is_empty() {
        return Err(StoreError::InvalidBatch("source_name is empty".to_owned()));
    }
    check_texts(batch)?;
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
        for check in &asset.checks {
            let unexpected = |field: &str, value: &str, expected: &[&str]| {
                Some(format!(
                    "{field} `{value}`, expected one of {}",
                    expected.join(", ")
                ))
            };
            let problem = if check.name.is_empty() {
                Some("an empty name".to_owned())
            } else if !DIMENSIONS.contains(&check.dimension.as_str()) {
                unexpected("dimension", &check.dimension, &DIMENSIONS)
            } else if !SEVERITIES.contains(&check.severity.as_str()) {
                unexpected("severity", &check.severity, &SEVERITIES)
            } else if !STATUSES.contains(&check.status.as_str()) {
                unexpected("status", &check.status, &STATUSES)
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(StoreError::InvalidBatch(format!(
                    "check `{}` on {}.{} has {problem}",
                    check.name, asset.schema, asset.name
                )));
            }
        }
        let mut checks_seen = std::collections::HashSet::new();
        for check in &asset.checks {
            if !checks_seen.insert(check.name.as_str()) {
                return Err(StoreError::InvalidBatch(format!(
                    "check `{}` on {}.{} appears twice",
                    check.name, asset.schema, asset.name
                )));
            }
        }
        let mut segments_seen = std::collections::HashSet::new();
        for segment in &asset.segments {
            let key = (
                segment.column.as_str(),
                segment.segment_column.as_str(),
                segment.segment_value.as_str(),
            );
            if segment.column.is_empty() || segment.segment_column.is_empty() || !segments_seen.insert(key) {
                return Err(StoreError::InvalidBatch(format!(
                    "segment count of `{}` by `{}` = `{}` on {}.{} is unnamed or appears twice",
                    segment.column, segment.segment_column, segment.segment_value, asset.schema, asset.name
                )));
            }
            if segment.nulls > segment.rows {
                return Err(StoreError::InvalidBatch(format!(
                    "segment count of `{}` by `{}` has more NULLs than rows",
                    segment.column, segment.segment_column
                )));
            }
        }
    }
    Ok(batch_id)
}

/// The seven quality dimensions (DESIGN.md), as agents name them.
const DIMENSIONS: [&str; 7] = [
    "completeness",
    "validity",
    "accuracy",
    "consistency",
    "uniqueness",
    "timeliness",
    "integrity",
];
const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];
const STATUSES: [&str; 3] = ["pass", "fail", "error"];

/// Rows for `COPY metric_points ... (FORMAT binary)`: PostgreSQL's binary copy format, written
/// directly (no text formatting or escaping of names, no parsing on the server side).
#[derive(Default)]
struct PointsCopy {
    buffer: Vec<u8>,
    rows: usize,
}

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

impl PointsCopy {
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        tenant: &str,
        asset: Uuid,
        metric: &str,
        column: &str,
        observed_at: DateTime<Utc>,
        batch: Uuid,
        value: f64,
    ) {
        if self.rows == 0 {
            self.buffer.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
            self.buffer.extend_from_slice(&0_i32.to_be_bytes()); // flags
            self.buffer.extend_from_slice(&0_i32.to_be_bytes()); // header extension length
        }
        self.rows += 1;
        self.buffer.extend_from_slice(&7_i16.to_be_bytes());
        self.field(tenant.as_bytes());
        self.field(asset.as_bytes());
        self.field(metric.as_bytes());
        self.field(column.as_bytes());
        let micros = observed_at.timestamp_micros() - PG_EPOCH_OFFSET_MICROS;
        self.field(&micros.to_be_bytes());
        self.field(batch.as_bytes());
        self.field(&value.to_bits().to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        // Names come from validated batches far below 2 GiB; a longer one cannot be framed.
        let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
        self.buffer.extend_from_slice(&len.to_be_bytes());
        self.buffer.extend_from_slice(bytes);
    }

    fn finish(mut self) -> Vec<u8> {
        self.buffer.extend_from_slice(&(-1_i16).to_be_bytes());
        self.buffer
    }
}

impl Store {
    /// Makes sure the monthly partitions of `metric_points` exist for these times. Each month is
    /// created once (its own short statement, outside the ingest transaction), then remembered.
    async fn ensure_partitions(&self, times: impl Iterator<Item = DateTime<Utc>>) -> StoreResult<()> {
        let months: BTreeSet<chrono::NaiveDate> =
            times.filter_map(|time| time.date_naive().with_day(1)).collect();
        for month in months {
            if self.partitions_known(month) {
                continue;
            }
            let create = sqlx::query("SELECT cwic_metric_partition($1)").bind(month);
            if let Err(error) = create.execute(&self.pool).await {
                // Another replica may have created it at the same moment: try once more, which
                // finds it (IF NOT EXISTS) or reports the real problem.
                tracing::debug!(%error, %month, "creating a metric partition raced, retrying");
                sqlx::query("SELECT cwic_metric_partition($1)")
                    .bind(month)
                    .execute(&self.pool)
                    .await?;
            }
            self.remember_partition(month);
        }
        Ok(())
    }

    /// The ids of every asset the batches observe, creating the ones never seen before (committed at
    /// once; their details are brought up to date by the group's transaction).
    async fn ensure_assets(
        &self,
        checked: &[Checked<'_>],
    ) -> StoreResult<HashMap<(String, String, String, String), Uuid>> {
        let mut wanted: BTreeMap<(&str, &str, &str, &str), (&Checked<'_>, &AssetObservation)> =
            BTreeMap::new();
        for c in checked {
            for asset in &c.incoming.batch.assets {
                wanted
                    .entry((
                        c.incoming.tenant.as_str(),
                        c.incoming.batch.source_name.as_str(),
                        asset.schema.as_str(),
                        asset.name.as_str(),
                    ))
                    .or_insert((c, asset));
            }
        }
        let rows: Vec<_> = wanted.iter().collect();
        let lookup = || {
            sqlx::query_as::<_, (Uuid, String, String, String, String)>(
                "SELECT a.id, a.tenant_id, a.source_name, a.schema_name, a.name
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS k (t, s, sc, n)
                 JOIN assets a ON a.tenant_id = k.t AND a.source_name = k.s AND a.schema_name = k.sc AND a.name = k.n",
            )
            .bind(rows.iter().map(|(key, _)| key.0).collect::<Vec<_>>())
            .bind(rows.iter().map(|(key, _)| key.1).collect::<Vec<_>>())
            .bind(rows.iter().map(|(key, _)| key.2).collect::<Vec<_>>())
            .bind(rows.iter().map(|(key, _)| key.3).collect::<Vec<_>>())
        };
        let mut ids: HashMap<(String, String, String, String), Uuid> = lookup()
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(id, tenant, source, schema, name)| ((tenant, source, schema, name), id))
            .collect();
        let missing: Vec<_> = rows
            .iter()
            .filter(|(key, _)| {
                !ids.contains_key(&(
                    key.0.to_owned(),
                    key.1.to_owned(),
                    key.2.to_owned(),
                    key.3.to_owned(),
                ))
            })
            .collect();
        if missing.is_empty() {
            return Ok(ids);
        }
        // The assets this statement creates (not those a concurrent group created first) are
        // discovered: their events commit with them.
        let mut tx = self.pool.begin().await?;
        let created: Vec<(Uuid, String, String, String, String, String, String)> = sqlx::query_as(
            "INSERT INTO assets (id, tenant_id, source_name, source_kind, schema_name, name, kind, agent_id,
                                 first_seen_at, last_seen_at, last_error)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                  $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[])
             ON CONFLICT (tenant_id, source_name, schema_name, name) DO NOTHING
             RETURNING id, tenant_id, source_name, schema_name, name, kind, agent_id",
        )
        .bind(missing.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
        .bind(missing.iter().map(|(key, _)| key.0).collect::<Vec<_>>())
        .bind(missing.iter().map(|(key, _)| key.1).collect::<Vec<_>>())
        .bind(missing.iter().map(|(_, (c, _))| c.incoming.batch.source_kind.as_str()).collect::<Vec<_>>())
        .bind(missing.iter().map(|(key, _)| key.2).collect::<Vec<_>>())
        .bind(missing.iter().map(|(key, _)| key.3).collect::<Vec<_>>())
        .bind(missing.iter().map(|(_, (_, asset))| asset_kind_name(asset.kind)).collect::<Vec<_>>())
        .bind(missing.iter().map(|(_, (c, _))| c.incoming.agent.as_str()).collect::<Vec<_>>())
        .bind(missing.iter().map(|(_, (c, _))| c.collected_at).collect::<Vec<_>>())
        .bind(missing.iter().map(|(_, (c, _))| c.collected_at).collect::<Vec<_>>())
        .bind(
            missing
                .iter()
                .map(|(_, (_, asset))| (!asset.error.is_empty()).then_some(asset.error.as_str()))
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        let now = Utc::now();
        let discovered: Vec<Event> = created
            .into_iter()
            .map(|(asset_id, tenant, source, schema, name, asset_kind, agent)| {
                Event::at(
                    &tenant,
                    now,
                    EventData::AssetDiscovered(AssetDiscovered {
                        asset_id,
                        source,
                        schema,
                        name,
                        asset_kind,
                        agent,
                    }),
                )
            })
            .collect();
        outbox::append(&mut tx, &discovered).await?;
        tx.commit().await?;
        // Whoever inserted them (this statement or a concurrent group), they exist now.
        ids = lookup()
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(id, tenant, source, schema, name)| ((tenant, source, schema, name), id))
            .collect();
        Ok(ids)
    }

    /// Stores one batch; see [`Store::ingest_batches`]. An invalid batch is an `InvalidBatch` error.
    pub async fn ingest_batch(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        batch: &MetricBatch,
        stream_sequence: Option<u64>,
    ) -> StoreResult<IngestOutcome> {
        let incoming = [IncomingBatch {
            tenant,
            agent,
            batch,
            stream_sequence,
        }];
        match self.ingest_batches(&incoming).await?.pop() {
            Some(IngestOutcome::Invalid(reason)) => Err(StoreError::InvalidBatch(reason)),
            Some(outcome) => Ok(outcome),
            None => Err(StoreError::InvalidBatch("no outcome for the batch".to_owned())),
        }
    }

    /// Stores a group of batches in one transaction: tenant and agent bookkeeping, assets, columns
    /// and metric points, each kind in one statement for the whole group. Returns one outcome per
    /// batch, in order. A batch id stored before yields [`IngestOutcome::Duplicate`] and changes
    /// nothing, so redelivery after a crash between commit and ack is harmless; an invalid batch
    /// yields [`IngestOutcome::Invalid`] without affecting the others. A database error fails the
    /// whole group; ingest then stores its batches one by one, so only the batch at fault fails.
    ///
    /// A tenant is created the first time one of its agents reports (or its first enrollment token
    /// is made); the broker's subject permissions decide who may publish as which tenant.
    pub async fn ingest_batches(&self, group: &[IncomingBatch<'_>]) -> StoreResult<Vec<IngestOutcome>> {
        let mut outcomes: Vec<IngestOutcome> = Vec::with_capacity(group.len());
        let mut checked = Vec::with_capacity(group.len());
        for (index, incoming) in group.iter().enumerate() {
            let validated = validate(incoming.batch)
                .and_then(|batch_id| Ok((batch_id, agent_time(incoming.batch.collected_at_unix_ms)?)));
            match validated {
                Ok((batch_id, collected_at)) => {
                    let points = incoming
                        .batch
                        .assets
                        .iter()
                        .map(|asset| asset.metrics.len())
                        .sum();
                    checked.push(Checked {
                        index,
                        incoming,
                        batch_id,
                        collected_at,
                        points,
                    });
                    outcomes.push(IngestOutcome::Duplicate);
                }
                Err(StoreError::InvalidBatch(reason)) => outcomes.push(IngestOutcome::Invalid(reason)),
                Err(error) => return Err(error),
            }
        }
        if checked.is_empty() {
            return Ok(outcomes);
        }

        self.ensure_partitions(checked.iter().map(|c| c.collected_at))
            .await?;
        // Tenants and assets seen for the first time are created first, each in one short statement
        // committed at once: the group's transaction below then takes no lock on a shared row until
        // its last statements, so concurrent groups overlap in the bulk of the work (the COPY).
        let tenants: Vec<&str> = checked
            .iter()
            .map(|c| c.incoming.tenant.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        sqlx::query("INSERT INTO tenants (id, name) SELECT t, t FROM UNNEST($1::text[]) AS t ON CONFLICT (id) DO NOTHING")
            .bind(&tenants)
            .execute(&self.pool)
            .await?;
        let known_ids = self.ensure_assets(&checked).await?;
        let mut tx = self.pool.begin().await?;

        // The idempotency record: only batches whose id is new go on (inserted in id order, like
        // every other statement here, for a lock order concurrent transactions share).
        let mut in_order: Vec<&Checked<'_>> = checked.iter().collect();
        in_order.sort_by_key(|c| (c.incoming.tenant.as_str(), c.batch_id));
        let new_ids: HashSet<(String, Uuid)> = sqlx::query_as::<_, (String, Uuid)>(
            "INSERT INTO ingested_batches (tenant_id, batch_id, agent_id, source_name, collected_at, stream_sequence, points)
             SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::int8[], $7::int4[])
             ON CONFLICT (tenant_id, batch_id) DO NOTHING
             RETURNING tenant_id, batch_id",
        )
        .bind(in_order.iter().map(|c| c.incoming.tenant.as_str()).collect::<Vec<_>>())
        .bind(in_order.iter().map(|c| c.batch_id).collect::<Vec<_>>())
        .bind(in_order.iter().map(|c| c.incoming.agent.as_str()).collect::<Vec<_>>())
        .bind(in_order.iter().map(|c| c.incoming.batch.source_name.as_str()).collect::<Vec<_>>())
        .bind(in_order.iter().map(|c| c.collected_at).collect::<Vec<_>>())
        .bind(in_order.iter().map(|c| c.incoming.stream_sequence.map(|s| s as i64)).collect::<Vec<_>>())
        .bind(in_order.iter().map(|c| c.points as i32).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        // A batch delivered twice within one group counts once: the first copy.
        let mut taken = HashSet::new();
        let fresh: Vec<&Checked<'_>> = checked
            .iter()
            .filter(|c| {
                let key = (c.incoming.tenant.as_str().to_owned(), c.batch_id);
                new_ids.contains(&key) && taken.insert(key)
            })
            .collect();
        if fresh.is_empty() {
            tx.commit().await?;
            return Ok(outcomes);
        }

        // Metric points of every fresh batch in one binary COPY (the bulk of every group).
        let mut copy = PointsCopy::default();
        for c in &fresh {
            for asset in &c.incoming.batch.assets {
                let key = (
                    c.incoming.tenant.as_str().to_owned(),
                    c.incoming.batch.source_name.clone(),
                    asset.schema.clone(),
                    asset.name.clone(),
                );
                let Some(&id) = known_ids.get(&key) else { continue };
                for metric in &asset.metrics {
                    copy.row(
                        c.incoming.tenant.as_str(),
                        id,
                        &metric.name,
                        &metric.column,
                        c.collected_at,
                        c.batch_id,
                        metric.value,
                    );
                }
            }
        }
        if copy.rows > 0 {
            let mut writer = tx
                .copy_in_raw(
                    "COPY metric_points (tenant_id, asset_id, metric, column_name, observed_at, batch_id, value)
                     FROM STDIN (FORMAT binary)",
                )
                .await?;
            writer.send(copy.finish()).await?;
            writer.finish().await?;
        }
        let mut events = store_checks_and_segments(&mut tx, &fresh, &known_ids).await?;
        // Then the bookkeeping rows every group shares (agents, assets, columns), locked only from
        // here to the commit. Ordered maps throughout: concurrent transactions (several
        // control-plane replicas share the durable consumer) then lock shared rows in the same
        // order and cannot deadlock.
        let mut agents: BTreeMap<(&str, &str), &str> = BTreeMap::new();
        for c in &fresh {
            agents.insert(
                (c.incoming.tenant.as_str(), c.incoming.agent.as_str()),
                &c.incoming.batch.agent_version,
            );
        }
        sqlx::query(
            "INSERT INTO agents (tenant_id, id, version, first_seen_at, last_seen_at)
             SELECT t, a, v, now(), now() FROM UNNEST($1::text[], $2::text[], $3::text[]) AS x (t, a, v)
             ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version, last_seen_at = now()",
        )
        .bind(agents.keys().map(|(tenant, _)| *tenant).collect::<Vec<_>>())
        .bind(agents.keys().map(|(_, agent)| *agent).collect::<Vec<_>>())
        .bind(agents.values().copied().collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;

        // Assets: one row per identity, from its newest observation in the group (one statement
        // cannot update a row twice); first seen is the oldest.
        type AssetKey<'k> = (&'k str, &'k str, &'k str, &'k str);
        let mut assets: BTreeMap<AssetKey<'_>, NewestAsset<'_>> = BTreeMap::new();
        for c in &fresh {
            for asset in &c.incoming.batch.assets {
                let key = (
                    c.incoming.tenant.as_str(),
                    c.incoming.batch.source_name.as_str(),
                    asset.schema.as_str(),
                    asset.name.as_str(),
                );
                let entry = assets.entry(key).or_insert(NewestAsset {
                    batch: c,
                    asset,
                    first_seen: c.collected_at,
                });
                entry.first_seen = entry.first_seen.min(c.collected_at);
                if c.collected_at >= entry.batch.collected_at {
                    entry.batch = c;
                    entry.asset = asset;
                }
            }
        }
        let asset_rows: Vec<(&AssetKey<'_>, &NewestAsset<'_>)> = assets.iter().collect();
        type Upserted = (
            Uuid,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let upserted: Vec<Upserted> = sqlx::query_as::<_, Upserted>(
            "INSERT INTO assets (id, tenant_id, source_name, source_kind, schema_name, name, kind, agent_id,
                                 first_seen_at, last_seen_at, last_error)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                  $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[])
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
             RETURNING id, tenant_id, source_name, schema_name, name, last_error,
                       -- The statement's snapshot: the error before this statement.
                       (SELECT o.last_error FROM assets o WHERE o.id = assets.id)",
        )
        .bind(asset_rows.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
        .bind(asset_rows.iter().map(|(key, _)| key.0).collect::<Vec<_>>())
        .bind(asset_rows.iter().map(|(key, _)| key.1).collect::<Vec<_>>())
        .bind(asset_rows.iter().map(|(_, newest)| newest.batch.incoming.batch.source_kind.as_str()).collect::<Vec<_>>())
        .bind(asset_rows.iter().map(|(key, _)| key.2).collect::<Vec<_>>())
        .bind(asset_rows.iter().map(|(key, _)| key.3).collect::<Vec<_>>())
        .bind(asset_rows.iter().map(|(_, newest)| asset_kind_name(newest.asset.kind)).collect::<Vec<_>>())
        .bind(asset_rows.iter().map(|(_, newest)| newest.batch.incoming.agent.as_str()).collect::<Vec<_>>())
        .bind(asset_rows.iter().map(|(_, newest)| newest.first_seen).collect::<Vec<_>>())
        .bind(asset_rows.iter().map(|(_, newest)| newest.batch.collected_at).collect::<Vec<_>>())
        .bind(
            asset_rows
                .iter()
                .map(|(_, newest)| (!newest.asset.error.is_empty()).then_some(newest.asset.error.as_str()))
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        // A collection that failed on an asset (its newest observation carries an error) is an
        // event each time; the first one without an error after it, a recovery.
        let failed_at = Utc::now();
        for (id, tenant, _, _, _, error, before) in &upserted {
            let data = match (error, before) {
                (Some(error), _) => EventData::CollectionFailed(CollectionChanged {
                    asset_id: *id,
                    error: Some(error.clone()),
                    previous_error: before.clone(),
                }),
                (None, Some(before)) => EventData::CollectionRecovered(CollectionChanged {
                    asset_id: *id,
                    error: None,
                    previous_error: Some(before.clone()),
                }),
                (None, None) => continue,
            };
            events.push(Event::at(tenant, failed_at, data));
        }
        let asset_ids: HashMap<(String, String, String, String), Uuid> = upserted
            .into_iter()
            .map(|(id, tenant, source, schema, name, _, _)| ((tenant, source, schema, name), id))
            .collect();
        let asset_id = |c: &Checked<'_>, asset: &AssetObservation| {
            asset_ids
                .get(&(
                    c.incoming.tenant.as_str().to_owned(),
                    c.incoming.batch.source_name.clone(),
                    asset.schema.clone(),
                    asset.name.clone(),
                ))
                .copied()
        };

        events.extend(schema_changes(&mut tx, &assets, &asset_ids).await?);

        // Columns: one row per (asset, column), from the newest observation.
        let mut columns: BTreeMap<(Uuid, &str), NewestColumn<'_>> = BTreeMap::new();
        for c in &fresh {
            for asset in &c.incoming.batch.assets {
                let Some(id) = asset_id(c, asset) else { continue };
                for column in &asset.columns {
                    let entry = columns.entry((id, column.name.as_str())).or_insert(NewestColumn {
                        tenant: c.incoming.tenant.as_str(),
                        column,
                        first_seen: c.collected_at,
                        last_seen: c.collected_at,
                    });
                    entry.first_seen = entry.first_seen.min(c.collected_at);
                    if c.collected_at >= entry.last_seen {
                        entry.column = column;
                        entry.last_seen = c.collected_at;
                    }
                }
            }
        }
        if !columns.is_empty() {
            let rows: Vec<_> = columns.iter().collect();
            sqlx::query(
                "INSERT INTO asset_columns (tenant_id, asset_id, name, ordinal, data_type, nullable, first_seen_at, last_seen_at)
                 SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::int4[], $5::text[], $6::bool[],
                                      $7::timestamptz[], $8::timestamptz[])
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
            .bind(rows.iter().map(|(_, newest)| newest.tenant).collect::<Vec<_>>())
            .bind(rows.iter().map(|((id, _), _)| *id).collect::<Vec<_>>())
            .bind(rows.iter().map(|((_, name), _)| *name).collect::<Vec<_>>())
            .bind(rows.iter().map(|(_, newest)| newest.column.ordinal).collect::<Vec<_>>())
            .bind(rows.iter().map(|(_, newest)| newest.column.data_type.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|(_, newest)| newest.column.nullable).collect::<Vec<_>>())
            .bind(rows.iter().map(|(_, newest)| newest.first_seen).collect::<Vec<_>>())
            .bind(rows.iter().map(|(_, newest)| newest.last_seen).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        }

        // Every asset's collection, succeeded or not (availability SLAs, failed-collection alerts).
        let collections: Vec<(&str, Uuid, DateTime<Utc>, Uuid, &str)> = fresh
            .iter()
            .flat_map(|c| {
                c.incoming.batch.assets.iter().filter_map(move |asset| {
                    asset_id(c, asset).map(|id| {
                        (
                            c.incoming.tenant.as_str(),
                            id,
                            c.collected_at,
                            c.batch_id,
                            asset.error.as_str(),
                        )
                    })
                })
            })
            .collect();
        if !collections.is_empty() {
            sqlx::query(
                "INSERT INTO asset_collections (tenant_id, asset_id, collected_at, batch_id, succeeded, error)
                 SELECT t, a, at, b, e = '', nullif(e, '')
                 FROM UNNEST($1::text[], $2::uuid[], $3::timestamptz[], $4::uuid[], $5::text[]) AS x (t, a, at, b, e)
                 ON CONFLICT DO NOTHING",
            )
            .bind(collections.iter().map(|row| row.0).collect::<Vec<_>>())
            .bind(collections.iter().map(|row| row.1).collect::<Vec<_>>())
            .bind(collections.iter().map(|row| row.2).collect::<Vec<_>>())
            .bind(collections.iter().map(|row| row.3).collect::<Vec<_>>())
            .bind(collections.iter().map(|row| row.4).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        }

        // One event per stored batch (with its counts), in the transaction that stores it.
        let now = Utc::now();
        events.extend(fresh.iter().map(|c| {
            let batch = c.incoming.batch;
            Event::at(
                c.incoming.tenant.as_str(),
                now,
                EventData::MetricsStored(MetricsStored {
                    batch_id: c.batch_id,
                    agent: c.incoming.agent.as_str().to_owned(),
                    source: batch.source_name.clone(),
                    collected_at: c.collected_at,
                    assets: count(batch.assets.len()),
                    points: count(c.points),
                    check_results: count(batch.assets.iter().map(|asset| asset.checks.len()).sum()),
                }),
            )
        }));
        outbox::append(&mut tx, &events).await?;
        // The stored metrics and check results are new evidence: each asset's score is
        // recomputed by a job enqueued with it (in asset order, like the other shared rows).
        let scored: BTreeSet<(&str, Uuid)> = fresh
            .iter()
            .flat_map(|c| c.incoming.batch.assets.iter().map(move |asset| (c, asset)))
            .filter_map(|(c, asset)| asset_id(c, asset).map(|id| (c.incoming.tenant.as_str(), id)))
            .collect();
        super::scores::enqueue_scoring(&mut tx, &scored.into_iter().collect::<Vec<_>>()).await?;

        tx.commit().await?;
        for c in fresh {
            outcomes[c.index] = IngestOutcome::Stored { points: c.points };
        }
        Ok(outcomes)
    }
}

/// A count for an event payload (batches are far below 4 billion of anything).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Columns as an agent reported them: name → (data type, nullable).
type ColumnSet<'c> = BTreeMap<&'c str, (&'c str, bool)>;

/// Schema changes of the group: for each asset whose newest observation in the group lists columns
/// and is newer than the last one stored, the columns added, removed or retyped since that one.
/// Called after the group's upsert of `assets` locked the asset rows, so a concurrent group on the
/// same asset waits for this one to commit and then compares with what this one stored.
async fn schema_changes(
    tx: &mut sqlx::PgConnection,
    assets: &BTreeMap<(&str, &str, &str, &str), NewestAsset<'_>>,
    asset_ids: &HashMap<(String, String, String, String), Uuid>,
) -> StoreResult<Vec<Event>> {
    let observed: Vec<(Uuid, &NewestAsset<'_>)> = assets
        .iter()
        .filter(|(_, newest)| !newest.asset.columns.is_empty())
        .filter_map(|(key, newest)| {
            let key = (
                key.0.to_owned(),
                key.1.to_owned(),
                key.2.to_owned(),
                key.3.to_owned(),
            );
            asset_ids.get(&key).map(|&id| (id, newest))
        })
        .collect();
    if observed.is_empty() {
        return Ok(Vec::new());
    }
    // (asset, column, data type, nullable, last seen)
    type StoredColumn = (Uuid, String, String, bool, DateTime<Utc>);
    let stored: Vec<StoredColumn> = sqlx::query_as(
        "SELECT asset_id, name, data_type, nullable, last_seen_at FROM asset_columns WHERE asset_id = ANY($1)",
    )
    .bind(observed.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    let mut by_asset: HashMap<Uuid, Vec<&StoredColumn>> = HashMap::new();
    for column in &stored {
        by_asset.entry(column.0).or_default().push(column);
    }
    let mut events = Vec::new();
    let now = Utc::now();
    for (asset_id, newest) in observed {
        // An asset never seen with columns has no schema to change (its discovery is the event).
        let Some(columns) = by_asset.get(&asset_id) else {
            continue;
        };
        let Some(latest) = columns.iter().map(|column| column.4).max() else {
            continue;
        };
        if newest.batch.collected_at <= latest {
            continue;
        }
        let before: ColumnSet<'_> = columns
            .iter()
            .filter(|column| column.4 == latest)
            .map(|column| (column.1.as_str(), (column.2.as_str(), column.3)))
            .collect();
        let after: ColumnSet<'_> = newest
            .asset
            .columns
            .iter()
            .map(|column| (column.name.as_str(), (column.data_type.as_str(), column.nullable)))
            .collect();
        let added: Vec<String> = after
            .keys()
            .filter(|name| !before.contains_key(*name))
            .map(|name| (*name).to_owned())
            .collect();
        let removed: Vec<String> = before
            .keys()
            .filter(|name| !after.contains_key(*name))
            .map(|name| (*name).to_owned())
            .collect();
        let changed: Vec<ColumnTypeChange> = after
            .iter()
            .filter_map(|(name, &(data_type, nullable))| {
                let &(previous_type, previous_nullable) = before.get(name)?;
                (previous_type != data_type || previous_nullable != nullable).then(|| ColumnTypeChange {
                    column: (*name).to_owned(),
                    previous_type: previous_type.to_owned(),
                    data_type: data_type.to_owned(),
                    previous_nullable,
                    nullable,
                })
            })
            .collect();
        if added.is_empty() && removed.is_empty() && changed.is_empty() {
            continue;
        }
        events.push(Event::at(
            newest.batch.incoming.tenant.as_str(),
            now,
            EventData::SchemaChanged(SchemaChanged {
                asset_id,
                batch_id: newest.batch.batch_id,
                observed_at: newest.batch.collected_at,
                added,
                removed,
                changed,
            }),
        ));
    }
    Ok(events)
}

/// Check results and segment counts of the fresh batches, each kind in one statement. Rows are
/// keyed by observation time, so a batch stored once (the idempotency record) writes them once.
/// Returns a `check_result.stored` event for each check result written.
async fn store_checks_and_segments(
    tx: &mut sqlx::PgConnection,
    fresh: &[&Checked<'_>],
    known_ids: &HashMap<(String, String, String, String), Uuid>,
) -> StoreResult<Vec<Event>> {
    let observed = fresh.iter().flat_map(|c| {
        c.incoming.batch.assets.iter().filter_map(move |asset| {
            let key = (
                c.incoming.tenant.as_str().to_owned(),
                c.incoming.batch.source_name.clone(),
                asset.schema.clone(),
                asset.name.clone(),
            );
            known_ids.get(&key).map(|&id| (c, asset, id))
        })
    });
    let mut checks = CheckRows::default();
    let mut segments = SegmentRows::default();
    for (c, asset, id) in observed {
        for check in &asset.checks {
            checks.tenant.push(c.incoming.tenant.as_str());
            checks.asset.push(id);
            checks.name.push(check.name.as_str());
            checks.observed.push(c.collected_at);
            checks.batch.push(c.batch_id);
            checks.template.push(check.template.as_str());
            checks.dimension.push(check.dimension.as_str());
            checks.severity.push(check.severity.as_str());
            checks.status.push(check.status.as_str());
            // Postgres arrays of arrays must be rectangular: columns and tags travel as JSON.
            checks.columns.push(serde_json::json!(check.columns));
            checks
                .failing
                .push(check.failing_rows.map(|rows| rows.min(i64::MAX as u64) as i64));
            checks
                .total
                .push(check.total_rows.map(|rows| rows.min(i64::MAX as u64) as i64));
            checks.value.push(check.value.as_str());
            checks.message.push(check.message.as_str());
            checks.owner.push(check.owner.as_str());
            checks.tags.push(serde_json::json!(check.tags));
        }
        for segment in &asset.segments {
            segments.tenant.push(c.incoming.tenant.as_str());
            segments.asset.push(id);
            segments.column.push(segment.column.as_str());
            segments.segment_column.push(segment.segment_column.as_str());
            segments.segment_value.push(segment.segment_value.as_str());
            segments.observed.push(c.collected_at);
            segments.rows.push(segment.rows as f64);
            segments.nulls.push(segment.nulls as f64);
        }
    }
    let mut events = Vec::new();
    if !checks.tenant.is_empty() {
        type Stored = (
            String,
            Uuid,
            String,
            String,
            String,
            String,
            DateTime<Utc>,
            Uuid,
            Option<i64>,
            Option<i64>,
        );
        let stored: Vec<Stored> = sqlx::query_as(
            "INSERT INTO check_results (tenant_id, asset_id, check_name, observed_at, batch_id, template, dimension,
                                        severity, status, columns, failing_rows, total_rows, value, message, owner, tags)
             SELECT t, a, n, o, b, tp, d, sv, st,
                    ARRAY(SELECT jsonb_array_elements_text(cols)), fr, tr, v, m, ow,
                    ARRAY(SELECT jsonb_array_elements_text(tg))
               FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::uuid[], $6::text[], $7::text[],
                           $8::text[], $9::text[], $10::jsonb[], $11::int8[], $12::int8[], $13::text[], $14::text[],
                           $15::text[], $16::jsonb[])
                    AS x (t, a, n, o, b, tp, d, sv, st, cols, fr, tr, v, m, ow, tg)
             ON CONFLICT (tenant_id, asset_id, check_name, observed_at) DO NOTHING
             RETURNING tenant_id, asset_id, check_name, status, severity, dimension, observed_at, batch_id,
                       failing_rows, total_rows",
        )
        .bind(&checks.tenant)
        .bind(&checks.asset)
        .bind(&checks.name)
        .bind(&checks.observed)
        .bind(&checks.batch)
        .bind(&checks.template)
        .bind(&checks.dimension)
        .bind(&checks.severity)
        .bind(&checks.status)
        .bind(&checks.columns)
        .bind(&checks.failing)
        .bind(&checks.total)
        .bind(&checks.value)
        .bind(&checks.message)
        .bind(&checks.owner)
        .bind(&checks.tags)
        .fetch_all(&mut *tx)
        .await?;
        let now = Utc::now();
        events.extend(stored.into_iter().map(
            |(
                tenant,
                asset_id,
                check,
                status,
                severity,
                dimension,
                observed_at,
                batch_id,
                failing_rows,
                total_rows,
            )| {
                Event::at(
                    &tenant,
                    now,
                    EventData::CheckResultStored(CheckResultStored {
                        asset_id,
                        check,
                        status,
                        severity,
                        dimension,
                        observed_at,
                        batch_id,
                        failing_rows,
                        total_rows,
                    }),
                )
            },
        ));
    }
    if !segments.tenant.is_empty() {
        sqlx::query(
            "INSERT INTO segment_counts (tenant_id, asset_id, column_name, segment_column, segment_value, observed_at,
                                         row_count, null_count)
             SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                                  $7::float8[], $8::float8[])
             ON CONFLICT (tenant_id, asset_id, column_name, segment_column, segment_value, observed_at)
             DO UPDATE SET row_count = EXCLUDED.row_count, null_count = EXCLUDED.null_count",
        )
        .bind(&segments.tenant)
        .bind(&segments.asset)
        .bind(&segments.column)
        .bind(&segments.segment_column)
        .bind(&segments.segment_value)
        .bind(&segments.observed)
        .bind(&segments.rows)
        .bind(&segments.nulls)
        .execute(&mut *tx)
        .await?;
    }
    Ok(events)
}

/// Columns of a check-results insert.
#[derive(Default)]
struct CheckRows<'a> {
    tenant: Vec<&'a str>,
    asset: Vec<Uuid>,
    name: Vec<&'a str>,
    observed: Vec<DateTime<Utc>>,
    batch: Vec<Uuid>,
    template: Vec<&'a str>,
    dimension: Vec<&'a str>,
    severity: Vec<&'a str>,
    status: Vec<&'a str>,
    columns: Vec<serde_json::Value>,
    failing: Vec<Option<i64>>,
    total: Vec<Option<i64>>,
    value: Vec<&'a str>,
    message: Vec<&'a str>,
    owner: Vec<&'a str>,
    tags: Vec<serde_json::Value>,
}

/// Columns of a segment-counts insert.
#[derive(Default)]
struct SegmentRows<'a> {
    tenant: Vec<&'a str>,
    asset: Vec<Uuid>,
    column: Vec<&'a str>,
    segment_column: Vec<&'a str>,
    segment_value: Vec<&'a str>,
    observed: Vec<DateTime<Utc>>,
    rows: Vec<f64>,
    nulls: Vec<f64>,
}
