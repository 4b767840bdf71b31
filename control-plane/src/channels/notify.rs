//! Delivering queued notifications: the `deliver_notification` job. A worker claims them in
//! batches and sends a batch's messages concurrently; each outcome is recorded on the
//! notification (sent, or its error), a failure is retried by the queue with back-off and jitter
//! (or after the receiver's `Retry-After`), and after the last attempt the notification is dead,
//! listed in the API until re-sent.
//!
//! A notification already sent is not sent again (a job that ran twice, a re-send of a sent one);
//! a "resolved" waits until its channel's "opened" went out, so a receiver never hears of the end
//! before the start. Every message carries the notification's id (`X-Cwic-Delivery`, and `id` in
//! the body), the same on every attempt: a receiver that got one twice (a replica died between
//! its send and its record) recognises it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::json;
use uuid::Uuid;

use crate::incidents::recommended_action;
use crate::jobs::{ClaimedJob, JobError};
use crate::store::Store;
use crate::store::incidents::DeliveryRow;

/// How many notifications a worker sends at once.
pub const BATCH: usize = 64;
/// How long a "resolved" waits for its "opened" before asking again.
const WAIT_FOR_OPENED: Duration = Duration::from_secs(1);

/// The webhook body of one notification (VISION.md's alert template).
pub fn webhook_body(row: &DeliveryRow, public_url: &str, now: DateTime<Utc>) -> serde_json::Value {
    let link = |path: String| format!("{}{path}", public_url.trim_end_matches('/'));
    let asset = row.asset.clone();
    let heading = match &asset {
        Some(asset) => format!("{asset}: {}", row.title),
        None => row.title.clone(),
    };
    let (kind, title) = match row.event.as_str() {
        "resolved" => ("incident.resolved", format!("Resolved: {heading}")),
        "acknowledged" => ("incident.acknowledged", format!("Acknowledged: {heading}")),
        "escalated" => (
            "incident.escalated",
            format!(
                "[{}] Escalated, not acknowledged: {heading}",
                row.severity.to_uppercase()
            ),
        ),
        _ => (
            "incident.opened",
            format!("[{}] {heading}", row.severity.to_uppercase()),
        ),
    };
    json!({
        "id": row.notification_id,
        "type": kind,
        "tenant": row.tenant_id,
        "sent_at": now,
        "title": title,
        "severity": row.severity,
        "asset": asset,
        "previous_score": row.previous_score,
        "current_score": row.current_score,
        "dimensions": row.dimensions,
        "root_cause": row.root_cause(),
        "recommended_action": recommended_action(&row.source_kind, &row.details.0),
        "routed_by": row.routed_by,
        "tier": row.tier,
        "owner": row.details.0.get("owner"),
        "channel": {"id": row.channel_id, "name": row.channel_name},
        "incident": {
            "id": row.incident_id,
            "status": row.status,
            "severity": row.severity,
            "title": row.title,
            "kind": row.source_kind,
            "rule": row.rule_key,
            "asset": row.asset,
            "asset_id": row.asset_id,
            "alerts": row.alert_count,
            "opened_at": row.opened_at,
            "resolved_at": row.resolved_at,
            "resolution": row.resolution,
        },
        "links": {
            "view": link(format!("/incidents/{}", row.incident_id)),
            "acknowledge": link(format!("/api/v1/incidents/{}/acknowledge", row.incident_id)),
        },
    })
}

/// What one delivery came to.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub notification_id: Uuid,
    pub sent: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub retry_after: Option<Duration>,
    /// What later messages of the incident refer to on this channel (Slack's `ts`).
    pub reference: Option<String>,
    /// Held (the channel's quiet hours, or a "resolved" waiting for its "opened"): not an
    /// attempt, nothing to record.
    pub held: bool,
}

/// Runs a batch of delivery jobs: one outcome per job, in order.
pub async fn run_delivery_jobs(
    store: &Store,
    jobs: &[ClaimedJob],
    public_url: &str,
) -> Vec<Result<(), JobError>> {
    let ids: Vec<Option<Uuid>> = jobs
        .iter()
        .map(|job| {
            job.payload["notification"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok())
        })
        .collect();
    let rows = match store
        .notifications_for_delivery(&ids.iter().flatten().copied().collect::<Vec<_>>())
        .await
    {
        Ok(rows) => rows,
        Err(error) => {
            let message = format!("cannot read the notifications: {error}");
            return jobs
                .iter()
                .map(|_| Err(JobError::from(message.clone())))
                .collect();
        }
    };
    let now = Utc::now();
    let sends = jobs.iter().zip(&ids).map(|(job, id)| {
        let row = id.and_then(|id| rows.iter().find(|row| row.notification_id == id));
        async move {
            let Some(row) = row else {
                // Deleted with its incident or channel: nothing to send.
                return (job, None);
            };
            if row.state == "sent" {
                return (job, None);
            }
            if let Some(quiet) = row
                .settings
                .0
                .get("quiet_hours")
                .and_then(|q| serde_json::from_value::<super::quiet::QuietHours>(q.clone()).ok())
                && !(quiet.critical_through && row.severity == "critical")
                && let Some(until) = quiet.until(now)
            {
                return (
                    job,
                    Some(Delivered {
                        notification_id: row.notification_id,
                        sent: false,
                        status: None,
                        error: Some(format!(
                            "held for the channel's quiet hours until {} ({})",
                            until.format("%Y-%m-%d %H:%M UTC"),
                            quiet.timezone
                        )),
                        retry_after: Some((until - now).to_std().unwrap_or_default()),
                        reference: None,
                        held: true,
                    }),
                );
            }
            if row.event != "opened" && row.opened_state.as_deref() == Some("queued") {
                return (
                    job,
                    Some(Delivered {
                        notification_id: row.notification_id,
                        sent: false,
                        status: None,
                        error: Some("waiting for the opened message to go out first".into()),
                        retry_after: Some(WAIT_FOR_OPENED),
                        reference: None,
                        held: true,
                    }),
                );
            }
            let message = webhook_body(row, public_url, now);
            let failed = |error: String| Delivered {
                notification_id: row.notification_id,
                sent: false,
                status: None,
                error: Some(error),
                retry_after: None,
                reference: None,
                held: false,
            };
            if row.channel_kind == "email" {
                let sent = match super::email::compose(&row.settings.0, &message) {
                    Ok(email) => super::email::send(&row.settings.0, row.secret.as_deref(), email).await,
                    Err(error) => return (job, Some(failed(error))),
                };
                return (
                    job,
                    Some(Delivered {
                        notification_id: row.notification_id,
                        sent: sent.error.is_none(),
                        status: sent.code,
                        error: sent.error,
                        retry_after: None,
                        reference: None,
                        held: false,
                    }),
                );
            }
            let outbound = match super::kinds::render(
                &row.channel_kind,
                &row.settings.0,
                row.secret.as_deref(),
                &message,
                row.opened_ref.as_deref(),
            ) {
                Ok(outbound) => outbound,
                Err(error) => return (job, Some(failed(error))),
            };
            let outcome = super::deliver::send(
                &outbound,
                row.secret.as_deref(),
                now.timestamp(),
                Some(row.notification_id),
            )
            .await;
            let Some(status) = outcome.status else {
                return (job, Some(failed(outcome.message)));
            };
            let verdict = super::kinds::judge(&row.channel_kind, &row.settings.0, status, &outcome.answer);
            (
                job,
                Some(Delivered {
                    notification_id: row.notification_id,
                    sent: verdict.delivered,
                    status: Some(status),
                    error: verdict.error,
                    retry_after: outcome.retry_after,
                    reference: verdict.reference,
                    held: false,
                }),
            )
        }
    });
    // Each outcome is recorded as soon as it is known, not after the whole batch: a replica
    // that dies mid-batch leaves unrecorded only the messages in flight at that moment.
    let recorded = sends.map(|send| async move {
        let (job, delivered) = send.await;
        if let Some(delivered) = &delivered
            && !delivered.held
        {
            let last = job.attempts >= job.max_attempts;
            if let Err(error) = store.record_deliveries(&[(delivered.clone(), last)]).await {
                return (
                    job,
                    Some(Delivered {
                        sent: false,
                        error: Some(format!("cannot record the delivery: {error}")),
                        retry_after: None,
                        ..delivered.clone()
                    }),
                );
            }
        }
        (job, delivered)
    });
    let outcomes = join_all(recorded).await;
    outcomes
        .into_iter()
        .map(|(_, delivered)| match delivered {
            None => Ok(()),
            Some(delivered) if delivered.sent => Ok(()),
            Some(delivered) => Err(JobError {
                message: delivered.error.unwrap_or_else(|| "not delivered".into()),
                retry_after: delivered.retry_after,
                defer: delivered.held,
            }),
        })
        .collect()
}
