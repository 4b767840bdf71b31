//! The transactional outbox: domain events written in the transaction of the change that causes
//! them, then claimed, marked published and pruned by the relay (`events::relay`).
//!
//! Writers call [`append`] on their own transaction's connection, never on a separate one: an event
//! must commit or roll back with its change.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Store, StoreError, StoreResult};
use crate::events::{Event, EventData, EventKind};

/// Writes `events` on `connection` (the caller's transaction), in one statement.
pub async fn append(connection: &mut sqlx::PgConnection, events: &[Event]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut data = Vec::with_capacity(events.len());
    for event in events {
        data.push(event.data.payload().map_err(|error| {
            StoreError::Corrupt(format!("an event's payload cannot be encoded: {error}"))
        })?);
    }
    sqlx::query(
        "INSERT INTO outbox (id, tenant_id, kind, occurred_at, data)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])",
    )
    .bind(events.iter().map(|event| event.id).collect::<Vec<_>>())
    .bind(
        events
            .iter()
            .map(|event| event.tenant.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        events
            .iter()
            .map(|event| event.kind().as_str())
            .collect::<Vec<_>>(),
    )
    .bind(events.iter().map(|event| event.occurred_at).collect::<Vec<_>>())
    .bind(data)
    .execute(connection)
    .await?;
    Ok(())
}

/// An outbox row as the relay reads it.
#[derive(Debug, sqlx::FromRow)]
struct OutboxRow {
    id: Uuid,
    tenant_id: String,
    kind: String,
    occurred_at: DateTime<Utc>,
    data: serde_json::Value,
}

impl OutboxRow {
    fn into_event(self) -> StoreResult<Event> {
        let kind = EventKind::parse(&self.kind).ok_or_else(|| {
            StoreError::Corrupt(format!("outbox row {} has unknown kind `{}`", self.id, self.kind))
        })?;
        let data = EventData::from_payload(kind, self.data).map_err(|error| {
            StoreError::Corrupt(format!(
                "outbox row {} is not a valid `{kind}` payload: {error}",
                self.id
            ))
        })?;
        Ok(Event {
            version: crate::events::ENVELOPE_VERSION,
            id: self.id,
            tenant: self.tenant_id,
            occurred_at: self.occurred_at,
            data,
        })
    }
}

/// A claim on unpublished outbox rows: a transaction holding their row locks. Other replicas skip
/// them until it ends; [`OutboxClaim::mark_published`] commits the marks, dropping it (or a crash)
/// releases them unmarked.
pub struct OutboxClaim {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    /// The events claimed, oldest id first. A row that cannot be read as an event is here as an
    /// error: it is marked published with the rest (it can never be published) and logged.
    pub events: Vec<Result<Event, (Uuid, StoreError)>>,
}

impl OutboxClaim {
    /// Marks `ids` (claimed by this claim) published and commits.
    pub async fn mark_published(mut self, ids: &[Uuid]) -> StoreResult<()> {
        if !ids.is_empty() {
            sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
                .bind(ids)
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Claims up to `limit` unpublished events, oldest first, skipping rows another relay holds.
    pub async fn claim_outbox(&self, limit: i64) -> StoreResult<OutboxClaim> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, tenant_id, kind, occurred_at, data FROM outbox
             WHERE published_at IS NULL
             ORDER BY id LIMIT $1
             FOR UPDATE SKIP LOCKED",
        )
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let events = rows
            .into_iter()
            .map(|row| {
                let id = row.id;
                row.into_event().map_err(|error| (id, error))
            })
            .collect();
        Ok(OutboxClaim { tx, events })
    }

    /// Deletes events published before `before`, at most `limit`; returns how many.
    pub async fn prune_outbox(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        let deleted = sqlx::query(
            "DELETE FROM outbox WHERE id IN
                 (SELECT id FROM outbox WHERE published_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(before)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }

    /// Events not yet published (the outbox depth, for `/metrics`).
    pub async fn outbox_depth(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Writes `events` in a transaction of their own. For changes made elsewhere (tools, tests);
    /// a store function that makes a change calls [`append`] inside its own transaction instead.
    pub async fn record_events(&self, events: &[Event]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        append(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }
}
