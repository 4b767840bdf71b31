//! The channel capability: create, list, send a test message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ServiceError, ServiceResult};
use crate::store::TenantStore;
use crate::store::channels::{ChannelRow, NewChannelRow};

/// The kinds a channel can be created with now (issue 14 adds the others as they land).
pub const KINDS: &[&str] = &["webhook"];

/// `POST /api/v1/channels`: `{"kind": "webhook", "name": "...", "url": "...", "secret": "..."}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// `webhook`: a signed JSON POST (`X-Cwic-Signature`).
    pub kind: String,
    /// Unique in the tenant, 1 to 200 characters, e.g. `#data-eng` or `on-call webhook`.
    pub name: String,
    /// `webhook`: where to POST, `http(s)://…`.
    pub url: Option<String>,
    /// `webhook`: the signing key (at least 16 characters); stored, never returned.
    pub secret: Option<String>,
}

/// A channel as the API shows it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Channel {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    /// `webhook`: where it POSTs.
    pub url: Option<String>,
    /// Whether a secret is stored (it is never shown).
    pub secret_set: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    pub items: Vec<Channel>,
}

/// What became of a test message.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestDelivery {
    pub delivered: bool,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// One sentence, e.g. "delivered: the receiver answered 200 OK".
    pub message: String,
    pub elapsed_ms: u64,
}

impl From<ChannelRow> for Channel {
    fn from(row: ChannelRow) -> Self {
        Self {
            id: row.id,
            url: row
                .settings
                .0
                .get("url")
                .and_then(|u| u.as_str())
                .map(str::to_owned),
            kind: row.kind,
            name: row.name,
            secret_set: row.secret_set,
            created_at: row.created_at,
            created_by: row.created_by,
        }
    }
}

pub async fn create(store: &TenantStore, input: NewChannel, by: &str) -> ServiceResult<Channel> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ServiceError::bad_field("name", "name: 1 to 200 characters"));
    }
    if !KINDS.contains(&input.kind.as_str()) {
        return Err(ServiceError::bad_field(
            "kind",
            format!("kind: one of {} (got {:?})", KINDS.join(", "), input.kind),
        ));
    }
    let url = input
        .url
        .as_deref()
        .map(str::trim)
        .ok_or_else(|| ServiceError::bad_field("url", "url: a webhook needs the URL to POST to"))?;
    super::check_url(url).map_err(|message| ServiceError::bad_field("url", message))?;
    let secret = input
        .secret
        .as_deref()
        .ok_or_else(|| ServiceError::bad_field("secret", "secret: a webhook needs a signing secret"))?;
    if secret.chars().count() < super::MIN_SECRET_LEN || secret.len() > 1000 {
        return Err(ServiceError::bad_field(
            "secret",
            format!("secret: {} to 1000 characters", super::MIN_SECRET_LEN),
        ));
    }
    let row = store
        .insert_channel(&NewChannelRow {
            kind: &input.kind,
            name,
            settings: json!({ "url": url }),
            secret: Some(secret),
            created_by: by,
        })
        .await?;
    Ok(row.into())
}

pub async fn list(store: &TenantStore) -> ServiceResult<ChannelList> {
    Ok(ChannelList {
        items: store
            .list_channels()
            .await?
            .into_iter()
            .map(Channel::from)
            .collect(),
    })
}

/// Sends a test message through the channel now and says what the receiver answered.
pub async fn send_test(store: &TenantStore, id: Uuid, now: DateTime<Utc>) -> ServiceResult<TestDelivery> {
    let (channel, secret) = store
        .channel_for_sending(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("channel"))?;
    let url = channel
        .settings
        .0
        .get("url")
        .and_then(|u| u.as_str())
        .ok_or_else(|| ServiceError::internal("channel", "a webhook without a url"))?
        .to_owned();
    let body = json!({
        "type": "test",
        "tenant": store.tenant_id().as_str(),
        "channel": { "id": channel.id, "name": channel.name },
        "sent_at": now,
        "title": "CWIC test message",
        "text": format!("This is a test message from CWIC to the channel {:?}. Alerts routed here look like this.", channel.name),
    });
    let bytes = serde_json::to_vec(&body).map_err(|error| ServiceError::internal("test message", error))?;
    let outcome = super::deliver::post_json(&url, secret.as_deref(), bytes, now.timestamp(), None).await;
    Ok(TestDelivery {
        delivered: outcome.delivered,
        status: outcome.status,
        message: outcome.message,
        elapsed_ms: u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}
