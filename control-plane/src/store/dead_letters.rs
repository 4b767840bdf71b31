//! The dead-letter store: agent messages that could not be stored, kept with the tenant their
//! subject names and the reason, instead of being redelivered forever or dropped unseen. Also the
//! installation's id, which names the durable consumers.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::{Store, StoreResult, TenantStore};

/// A message to set aside.
pub struct DeadLetter<'a> {
    pub tenant: &'a str,
    pub consumer: &'a str,
    pub subject: &'a str,
    pub stream_sequence: Option<u64>,
    pub deliveries: i64,
    pub reason: &'a str,
    pub payload: &'a [u8],
}

/// A dead letter as the API lists it (the payload's size, not its bytes).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeadLetterRecord {
    pub id: Uuid,
    pub consumer: String,
    pub subject: String,
    pub stream_sequence: Option<i64>,
    /// How often the broker had delivered the message when it was set aside.
    pub deliveries: i32,
    pub reason: String,
    pub payload_bytes: i32,
    pub received_at: DateTime<Utc>,
}

/// Longest reason stored.
const MAX_REASON_CHARS: usize = 2_000;

impl Store {
    /// Keeps a message in the dead-letter store; a message set aside before (same consumer and
    /// stream sequence, e.g. after a lost ack) is kept once.
    pub async fn insert_dead_letter(&self, letter: &DeadLetter<'_>) -> StoreResult<()> {
        let reason: String = letter.reason.chars().take(MAX_REASON_CHARS).collect();
        sqlx::query(
            "INSERT INTO dead_letters (id, tenant_id, consumer, subject, stream_sequence, deliveries, reason, payload)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (consumer, stream_sequence) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(letter.tenant)
        .bind(letter.consumer)
        .bind(letter.subject)
        .bind(letter.stream_sequence.map(|sequence| sequence as i64))
        .bind(i32::try_from(letter.deliveries).unwrap_or(i32::MAX))
        .bind(reason)
        .bind(letter.payload)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// This installation's id (made by the migrations, shared by every replica on this database).
    pub async fn installation_id(&self) -> StoreResult<String> {
        Ok(sqlx::query_scalar("SELECT id FROM installation")
            .fetch_one(&self.pool)
            .await?)
    }
}

impl TenantStore {
    /// The tenant's dead letters, newest first (through row-level security).
    pub async fn dead_letters(&self, limit: i64) -> StoreResult<Vec<DeadLetterRecord>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT id, consumer, subject, stream_sequence, deliveries, reason, length(payload), received_at
             FROM dead_letters WHERE tenant_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2",
        )
        .bind(self.tenant_id().as_str())
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(DeadLetterRecord {
                    id: row.try_get(0)?,
                    consumer: row.try_get(1)?,
                    subject: row.try_get(2)?,
                    stream_sequence: row.try_get(3)?,
                    deliveries: row.try_get(4)?,
                    reason: row.try_get(5)?,
                    payload_bytes: row.try_get(6)?,
                    received_at: row.try_get(7)?,
                })
            })
            .collect()
    }
}
