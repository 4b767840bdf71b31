//! The channel capability: create, list, send a test message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ServiceError, ServiceResult};
use crate::store::TenantStore;
use crate::store::channels::{ChannelRow, NewChannelRow};

pub use super::kinds::KINDS;

/// `POST /api/v1/channels`: `{"kind": "webhook", "name": "...", "url": "...", "secret": "..."}`;
/// the other kinds take their own fields (below). Secrets are stored and never returned.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// `webhook` (a signed JSON POST, `X-Cwic-Signature`), `slack` (an incoming webhook `url`, or a
    /// bot `token` and `channel`), `teams` (a workflow or incoming webhook `url`), `pagerduty` (an
    /// Events API v2 `routing_key`) or `opsgenie` (an `api_key`).
    pub kind: String,
    /// Unique in the tenant, 1 to 200 characters, e.g. `#data-eng` or `on-call webhook`.
    pub name: String,
    /// `webhook`, `teams`, `slack` (incoming webhook): where to POST, `http(s)://…`.
    pub url: Option<String>,
    /// `webhook`: the signing key (at least 16 characters).
    pub secret: Option<String>,
    /// `slack` with a bot: its token (`xoxb-…`), sent as `Authorization: Bearer`.
    pub token: Option<String>,
    /// `slack` with a bot: the channel to post in, e.g. `#data-eng` or `C0123456789`.
    pub channel: Option<String>,
    /// `pagerduty`: the integration's routing key.
    pub routing_key: Option<String>,
    /// `opsgenie`: the API integration's key, sent as `Authorization: GenieKey …`.
    pub api_key: Option<String>,
    /// `email`: the recipients.
    pub to: Option<Vec<String>>,
    /// `email`: the sender, e.g. `CWIC <cwic@example.com>`.
    pub from: Option<String>,
    /// `email`: the SMTP server's host name.
    pub smtp_host: Option<String>,
    /// `email`: its port (default 587 for `starttls`, 465 for `tls`, 25 for `none`).
    pub smtp_port: Option<u16>,
    /// `email`: `starttls` (the default), `tls` (implicit TLS) or `none` (a relay on a trusted network).
    pub smtp_tls: Option<String>,
    /// `email`: the SMTP user, when the server wants one.
    pub username: Option<String>,
    /// `email`: the SMTP user's password.
    pub password: Option<String>,
    /// Any kind: hours in which only critical notifications go out (the rest wait until they end).
    pub quiet_hours: Option<super::quiet::QuietHours>,
    /// `slack` (bot), `pagerduty`, `opsgenie`: another API base, e.g. `https://api.eu.opsgenie.com`
    /// (default: the service's public API).
    pub api_url: Option<String>,
}

/// A channel as the API shows it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Channel {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    /// Where it POSTs (`webhook`, `teams`, `slack` incoming webhook).
    pub url: Option<String>,
    /// `slack` with a bot: the channel it posts in.
    pub channel: Option<String>,
    /// Another API base than the service's, when one was given.
    pub api_url: Option<String>,
    /// `email`: the recipients, the sender and the SMTP server.
    pub to: Option<Vec<String>>,
    pub from: Option<String>,
    pub smtp_host: Option<String>,
    /// When only critical notifications go out.
    pub quiet_hours: Option<super::quiet::QuietHours>,
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
        let setting = |key: &str| {
            row.settings
                .0
                .get(key)
                .and_then(|u| u.as_str())
                .map(str::to_owned)
        };
        Self {
            id: row.id,
            url: setting("url"),
            channel: setting("channel"),
            api_url: setting("api_url"),
            to: row
                .settings
                .0
                .get("to")
                .and_then(|to| serde_json::from_value(to.clone()).ok()),
            from: setting("from"),
            smtp_host: setting("smtp_host"),
            quiet_hours: row
                .settings
                .0
                .get("quiet_hours")
                .and_then(|q| serde_json::from_value(q.clone()).ok()),
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
    let url = |what: &str| -> ServiceResult<String> {
        let url = input
            .url
            .as_deref()
            .map(str::trim)
            .ok_or_else(|| ServiceError::bad_field("url", format!("url: {what}")))?;
        super::check_url(url).map_err(|message| ServiceError::bad_field("url", message))?;
        Ok(url.to_owned())
    };
    let key = |field: &'static str, value: &Option<String>, what: &str| -> ServiceResult<String> {
        let value = value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ServiceError::bad_field(field, format!("{field}: {what}")))?;
        if value.len() > 1000 {
            return Err(ServiceError::bad_field(
                field,
                format!("{field}: at most 1000 characters"),
            ));
        }
        Ok(value.to_owned())
    };
    let mut settings = serde_json::Map::new();
    if let Some(quiet) = &input.quiet_hours {
        quiet
            .check()
            .map_err(|(field, message)| ServiceError::bad_field(&field, message))?;
        settings.insert("quiet_hours".into(), json!(quiet));
    }
    if let Some(api) = input.api_url.as_deref().map(str::trim) {
        super::check_url(api)
            .map_err(|message| ServiceError::bad_field("api_url", message.replacen("url:", "api_url:", 1)))?;
        settings.insert("api_url".into(), json!(api));
    }
    let secret = match input.kind.as_str() {
        "webhook" => {
            settings.insert("url".into(), json!(url("a webhook needs the URL to POST to")?));
            let secret = key("secret", &input.secret, "a webhook needs a signing secret")?;
            if secret.chars().count() < super::MIN_SECRET_LEN {
                return Err(ServiceError::bad_field(
                    "secret",
                    format!("secret: {} to 1000 characters", super::MIN_SECRET_LEN),
                ));
            }
            Some(secret)
        }
        "slack" if input.token.is_some() => {
            settings.insert(
                "channel".into(),
                json!(key(
                    "channel",
                    &input.channel,
                    "a Slack bot needs the channel to post in"
                )?),
            );
            Some(key("token", &input.token, "the bot's token")?)
        }
        "slack" => {
            settings.insert(
                "url".into(),
                json!(url(
                    "a Slack channel needs an incoming webhook url, or a bot token and channel"
                )?),
            );
            None
        }
        "teams" => {
            settings.insert(
                "url".into(),
                json!(url("a Teams channel needs its workflow webhook url")?),
            );
            None
        }
        "email" => {
            let to = input
                .to
                .as_ref()
                .filter(|to| !to.is_empty() && to.len() <= 50)
                .ok_or_else(|| ServiceError::bad_field("to", "to: 1 to 50 recipient addresses"))?;
            for address in to {
                super::email::check_address(address)
                    .map_err(|message| ServiceError::bad_field("to", format!("to: {message}")))?;
            }
            let from = key("from", &input.from, "the sender's address")?;
            super::email::check_address(&from)
                .map_err(|message| ServiceError::bad_field("from", format!("from: {message}")))?;
            let host = key("smtp_host", &input.smtp_host, "the SMTP server's host name")?;
            let tls = input.smtp_tls.clone().unwrap_or_else(|| "starttls".into());
            if !super::email::TLS_MODES.contains(&tls.as_str()) {
                return Err(ServiceError::bad_field(
                    "smtp_tls",
                    format!(
                        "smtp_tls: one of {} (got {tls:?})",
                        super::email::TLS_MODES.join(", ")
                    ),
                ));
            }
            settings.insert("to".into(), json!(to));
            settings.insert("from".into(), json!(from));
            settings.insert("smtp_host".into(), json!(host));
            settings.insert("smtp_tls".into(), json!(tls));
            if let Some(port) = input.smtp_port {
                settings.insert("smtp_port".into(), json!(port));
            }
            if let Some(user) = &input.username {
                settings.insert(
                    "username".into(),
                    json!(key("username", &Some(user.clone()), "the SMTP user")?),
                );
            }
            input.password.clone()
        }
        "pagerduty" => Some(key(
            "routing_key",
            &input.routing_key,
            "a PagerDuty channel needs the integration's routing key",
        )?),
        "opsgenie" => Some(key(
            "api_key",
            &input.api_key,
            "an Opsgenie channel needs the API integration's key",
        )?),
        _ => unreachable!("checked against KINDS"),
    };
    let row = store
        .insert_channel(&NewChannelRow {
            kind: &input.kind,
            name,
            settings: serde_json::Value::Object(settings),
            secret: secret.as_deref(),
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
    let message = json!({
        "id": Uuid::now_v7(),
        "type": "test",
        "tenant": store.tenant_id().as_str(),
        "channel": { "id": channel.id, "name": channel.name },
        "sent_at": now,
        "title": "CWIC test message",
        "severity": "low",
        "asset": null,
        "text": format!("This is a test message from CWIC to the channel {:?}. Alerts routed here look like this.", channel.name),
        "recommended_action": "Nothing: this is a test.",
        "dimensions": [],
        "incident": { "id": format!("cwic-test-{}", channel.id), "kind": "test", "rule": "test", "alerts": 0 },
        "links": {},
    });
    if channel.kind == "email" {
        let started = std::time::Instant::now();
        let email = super::email::compose(&channel.settings.0, &message)
            .map_err(|error| ServiceError::internal("channel", error))?;
        let sent = super::email::send(&channel.settings.0, secret.as_deref(), email).await;
        return Ok(TestDelivery {
            delivered: sent.error.is_none(),
            status: sent.code,
            message: sent.error.unwrap_or_else(|| {
                format!("delivered: the SMTP server answered {}", sent.code.unwrap_or(250))
            }),
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
    }
    let outbound = super::kinds::render(
        &channel.kind,
        &channel.settings.0,
        secret.as_deref(),
        &message,
        None,
    )
    .map_err(|error| ServiceError::internal("channel", error))?;
    let outcome = super::deliver::send(&outbound, secret.as_deref(), now.timestamp(), None).await;
    let (delivered, message) = match outcome.status {
        Some(status) => {
            let verdict = super::kinds::judge(&channel.kind, &channel.settings.0, status, &outcome.answer);
            let message = verdict.error.map_or_else(
                || outcome.message.clone(),
                |error| format!("not delivered: {error}"),
            );
            (verdict.delivered, message)
        }
        None => (false, outcome.message.clone()),
    };
    Ok(TestDelivery {
        delivered,
        status: outcome.status,
        message,
        elapsed_ms: u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}
