//! A tenant's notification channels; a channel's secret is read only to send with it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use super::handles::TenantStore;

/// One channel as it may be shown (no secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub settings: sqlx::types::Json<serde_json::Value>,
    pub secret_set: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// A channel to store.
pub struct NewChannelRow<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub settings: serde_json::Value,
    pub secret: Option<&'a str>,
    pub created_by: &'a str,
}

const COLUMNS: &str = "id, kind, name, settings, secret IS NOT NULL AS secret_set, created_at, created_by";

impl TenantStore {
    pub async fn insert_channel(&self, channel: &NewChannelRow<'_>) -> StoreResult<ChannelRow> {
        let mut tx = self.begin().await?;
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO channels (id, tenant_id, kind, name, settings, secret, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(self.tenant_id().as_str())
        .bind(channel.kind)
        .bind(channel.name)
        .bind(sqlx::types::Json(&channel.settings))
        .bind(channel.secret)
        .bind(channel.created_by)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The tenant's channels by name.
    pub async fn list_channels(&self) -> StoreResult<Vec<ChannelRow>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM channels WHERE tenant_id = $1 ORDER BY name"
        )))
        .bind(self.tenant_id().as_str())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// One channel with its secret, to send with it.
    pub async fn channel_for_sending(&self, id: Uuid) -> StoreResult<Option<(ChannelRow, Option<String>)>> {
        #[derive(sqlx::FromRow)]
        struct WithSecret {
            #[sqlx(flatten)]
            channel: ChannelRow,
            secret: Option<String>,
        }
        let mut tx = self.begin().await?;
        let row: Option<WithSecret> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS}, secret FROM channels WHERE tenant_id = $1 AND id = $2"
        )))
        .bind(self.tenant_id().as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|row| (row.channel, row.secret)))
    }
}
