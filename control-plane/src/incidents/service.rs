//! The incident capability for people: list and read incidents with their timelines and
//! notifications, acknowledge, snooze, resolve, close (as expected, or as needing no action:
//! an anomaly's incident closed so passes the verdict to its detector), comment; list dead
//! notifications and re-send them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ErrorCode, ServiceError, ServiceResult};
use crate::store::TenantStore;
use crate::store::incidents::{Change, IncidentFilter};

/// The statuses an incident can have, and `active` (open, acknowledged or snoozed) for filters.
pub const STATUSES: &[&str] = &["open", "acknowledged", "snoozed", "resolved", "closed"];

/// Most incidents one page lists.
pub const MAX_LIMIT: i64 = 1000;

/// An incident as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Incident {
    pub id: Uuid,
    /// `open`, `acknowledged`, `snoozed`, `resolved` or `closed`.
    pub status: String,
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    /// The asset's qualified name, `schema.table`; null for a tenant-level incident.
    pub asset: Option<String>,
    pub asset_id: Option<Uuid>,
    /// The first alert's line, e.g. "check not_null(email) failed: 142 of 1,000 rows".
    pub title: String,
    /// `check_failed`, `check_error`, `anomaly`, `score_drop`, `schema_change`, `sla_breach` or `sla_budget`.
    pub kind: String,
    /// What its alerts group by on the asset: `check:<name>`, `anomaly:<metric>:<column>`, `score_drop` …
    pub rule: String,
    /// Alerts joined.
    pub alerts: i32,
    /// When the problem began (its first alert's observation) and when CWIC opened the incident.
    pub began_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub last_alert_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// `expected` or `no_action_needed`, for a closed incident.
    pub close_reason: Option<String>,
    /// How it ended: "resolved automatically: check … passed", or a person's note.
    pub resolution: Option<String>,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentList {
    pub items: Vec<Incident>,
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `alert`, `recovery`, `opened`, `severity_raised`, `acknowledged`, `snoozed`, `snooze_ended`,
    /// `resolved`, `closed`, `comment`, `notified`, `notification_failed`, `resent`.
    pub kind: String,
    /// Who: a user, a token, or `cwic`.
    pub actor: String,
    pub message: String,
}

/// One message about an incident to one channel.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Notification {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub channel_id: Uuid,
    pub channel: String,
    /// `opened` or `resolved`.
    pub event: String,
    /// `queued`, `sent` or `dead` (every attempt failed; re-send it).
    pub state: String,
    pub attempts: i32,
    /// The receiver's last HTTP status.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// Why it went to this channel.
    pub routed_by: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<Notification>,
}

/// An incident with what happened to it and where it was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    /// What to do about it.
    pub recommended_action: String,
    /// Its evidence: the check and rows, the metric and band, the scores; `owner` (who owns it and
    /// why) and `root_causes` (the RCA engine's likeliest, for an anomaly) once known.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// Oldest first: its alerts and recoveries, and every change.
    pub timeline: Vec<TimelineEntry>,
    pub notifications: Vec<Notification>,
}

/// `POST /api/v1/incidents/{id}/acknowledge|resolve`: an optional note for the timeline.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentNote {
    /// Up to 2,000 characters.
    pub note: Option<String>,
}

/// `POST /api/v1/incidents/{id}/snooze`: until a time, or for a number of minutes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Snooze {
    /// RFC 3339, in the future (at most 30 days ahead).
    pub until: Option<DateTime<Utc>>,
    /// 1 to 43,200 (30 days); used when `until` is not given.
    pub minutes: Option<i64>,
    pub note: Option<String>,
}

/// `POST /api/v1/incidents/{id}/close`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Close {
    /// `expected` (the data is right: teach the detector) or `no_action_needed`.
    pub reason: String,
    pub note: Option<String>,
}

/// `POST /api/v1/incidents/{id}/comments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    /// 1 to 2,000 characters.
    pub text: String,
}

fn note(text: Option<String>) -> ServiceResult<Option<String>> {
    match text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
        Some(text) if text.chars().count() > 2000 => {
            Err(ServiceError::bad_field("note", "note: at most 2000 characters"))
        }
        other => Ok(other),
    }
}

/// Incidents, newest first; `status` is one of [`STATUSES`] or `active`.
pub async fn list(
    store: &TenantStore,
    status: Option<&str>,
    severity: Option<&str>,
    asset: Option<Uuid>,
    limit: Option<i64>,
) -> ServiceResult<IncidentList> {
    let statuses: Option<Vec<String>> = match status {
        None => None,
        Some("active") => Some(vec!["open".into(), "acknowledged".into(), "snoozed".into()]),
        Some(status) if STATUSES.contains(&status) => Some(vec![status.to_owned()]),
        Some(other) => {
            return Err(ServiceError::bad_field(
                "status",
                format!(
                    "status: one of {}, or active (got {other:?})",
                    STATUSES.join(", ")
                ),
            ));
        }
    };
    if let Some(severity) = severity
        && crate::incidents::Severity::parse(severity).is_none()
    {
        return Err(ServiceError::bad_field(
            "severity",
            format!("severity: critical, high, medium or low (got {severity:?})"),
        ));
    }
    let limit = limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ServiceError::bad_field(
            "limit",
            format!("limit: 1 to {MAX_LIMIT}"),
        ));
    }
    let items = store
        .list_incidents(&IncidentFilter {
            statuses,
            severity: severity.map(str::to_owned),
            asset,
            limit,
        })
        .await?;
    Ok(IncidentList { items })
}

pub async fn get(store: &TenantStore, id: Uuid) -> ServiceResult<IncidentDetail> {
    let incident = store
        .get_incident(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("incident"))?;
    let details = store.incident_details(id).await?;
    let timeline = store.incident_timeline(id).await?;
    let notifications = store.incident_notifications(Some(id), None, 1000).await?;
    Ok(IncidentDetail {
        recommended_action: super::recommended_action(&incident.kind, &details),
        details,
        incident,
        timeline,
        notifications,
    })
}

fn refuse(incident: &Incident, action: &str) -> ServiceError {
    ServiceError::new(
        ErrorCode::Conflict,
        format!("the incident is {}: it cannot be {action}", incident.status),
    )
    .with_details(serde_json::json!({"status": incident.status}))
}

async fn current(store: &TenantStore, id: Uuid) -> ServiceResult<Incident> {
    store
        .get_incident(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("incident"))
}

fn ended(incident: &Incident) -> bool {
    matches!(incident.status.as_str(), "resolved" | "closed")
}

pub async fn acknowledge(
    store: &TenantStore,
    id: Uuid,
    input: IncidentNote,
    by: &str,
) -> ServiceResult<Incident> {
    let incident = current(store, id).await?;
    if ended(&incident) {
        return Err(refuse(&incident, "acknowledged"));
    }
    if incident.status == "acknowledged" {
        return Ok(incident);
    }
    let note = note(input.note)?;
    let message = match &note {
        Some(note) => format!("acknowledged by {by}: {note}"),
        None => format!("acknowledged by {by}"),
    };
    store
        .change_incident(id, Change::Acknowledge, by, &message)
        .await?;
    current(store, id).await
}

pub async fn resolve(
    store: &TenantStore,
    id: Uuid,
    input: IncidentNote,
    by: &str,
) -> ServiceResult<Incident> {
    let incident = current(store, id).await?;
    if ended(&incident) {
        return Err(refuse(&incident, "resolved"));
    }
    let note = note(input.note)?;
    let message = match &note {
        Some(note) => format!("resolved by {by}: {note}"),
        None => format!("resolved by {by}"),
    };
    store.change_incident(id, Change::Resolve, by, &message).await?;
    current(store, id).await
}

pub async fn snooze(
    store: &TenantStore,
    id: Uuid,
    input: Snooze,
    by: &str,
    now: DateTime<Utc>,
) -> ServiceResult<Incident> {
    let incident = current(store, id).await?;
    if ended(&incident) {
        return Err(refuse(&incident, "snoozed"));
    }
    let most = now + chrono::TimeDelta::days(30);
    let until = match (input.until, input.minutes) {
        (Some(until), _) => until,
        (None, Some(minutes)) if (1..=43_200).contains(&minutes) => now + chrono::TimeDelta::minutes(minutes),
        (None, Some(_)) => {
            return Err(ServiceError::bad_field(
                "minutes",
                "minutes: 1 to 43200 (30 days)",
            ));
        }
        (None, None) => {
            return Err(ServiceError::bad_request(
                "snooze needs `until` (RFC 3339) or `minutes`",
                serde_json::json!({"field": "until"}),
            ));
        }
    };
    if until <= now || until > most {
        return Err(ServiceError::bad_field(
            "until",
            "until: a time in the next 30 days",
        ));
    }
    let note = note(input.note)?;
    let mut message = format!("snoozed by {by} until {}", until.format("%Y-%m-%d %H:%M UTC"));
    if let Some(note) = note {
        message.push_str(&format!(": {note}"));
    }
    store
        .change_incident(id, Change::Snooze(until), by, &message)
        .await?;
    current(store, id).await
}

pub async fn close(store: &TenantStore, id: Uuid, input: Close, by: &str) -> ServiceResult<Incident> {
    let incident = current(store, id).await?;
    if ended(&incident) {
        return Err(refuse(&incident, "closed"));
    }
    let verdict = match input.reason.as_str() {
        "expected" => "expected",
        "no_action_needed" => "false_positive",
        other => {
            return Err(ServiceError::bad_field(
                "reason",
                format!("reason: expected or no_action_needed (got {other:?})"),
            ));
        }
    };
    let note = note(input.note)?;
    let mut message = format!("closed by {by} as {}", input.reason.replace('_', " "));
    if let Some(note) = note {
        message.push_str(&format!(": {note}"));
    }
    store
        .change_incident(id, Change::Close(input.reason.clone()), by, &message)
        .await?;
    // An anomaly judged normal teaches its detector, as the anomaly's own feedback does.
    if incident.kind == super::kinds::ANOMALY
        && let Some(anomaly) = store.incident_source(id).await?
    {
        crate::monitoring::service::set_feedback(store, anomaly, Some(verdict)).await?;
    }
    current(store, id).await
}

pub async fn comment(
    store: &TenantStore,
    id: Uuid,
    input: Comment,
    by: &str,
) -> ServiceResult<IncidentDetail> {
    current(store, id).await?;
    let text = input.text.trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(ServiceError::bad_field("text", "text: 1 to 2000 characters"));
    }
    store.add_comment(id, by, text).await?;
    get(store, id).await
}

/// Notifications in `state` (`dead` lists what needs a re-send), newest first.
pub async fn notifications(
    store: &TenantStore,
    state: Option<&str>,
    limit: Option<i64>,
) -> ServiceResult<NotificationList> {
    if let Some(state) = state
        && !["queued", "sent", "dead"].contains(&state)
    {
        return Err(ServiceError::bad_field(
            "state",
            format!("state: queued, sent or dead (got {state:?})"),
        ));
    }
    let limit = limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ServiceError::bad_field(
            "limit",
            format!("limit: 1 to {MAX_LIMIT}"),
        ));
    }
    Ok(NotificationList {
        items: store.incident_notifications(None, state, limit).await?,
    })
}

/// Queues a dead notification again (a fresh set of attempts).
pub async fn resend(store: &TenantStore, id: Uuid, by: &str) -> ServiceResult<Notification> {
    match store.resend_notification(id, by).await? {
        Some(notification) => Ok(notification),
        None => {
            let existing = store
                .notification(id)
                .await?
                .ok_or_else(|| ServiceError::not_found("notification"))?;
            Err(ServiceError::new(
                ErrorCode::Conflict,
                format!(
                    "the notification is {}: only a dead one is re-sent",
                    existing.state
                ),
            )
            .with_details(serde_json::json!({"state": existing.state})))
        }
    }
}

/// `POST /api/v1/alert-rules/backtest`: replay the last `days` of alerts through `rules`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    /// 1 to 90; default 7.
    pub days: Option<u32>,
    pub rules: super::backtest::RuleSet,
}

/// What the proposed rules would have done over the stored history (see `incidents::backtest`).
pub async fn backtest(
    store: &TenantStore,
    input: BacktestRequest,
    now: DateTime<Utc>,
) -> ServiceResult<super::backtest::BacktestReport> {
    let days = input.days.unwrap_or(7);
    if !(1..=90).contains(&days) {
        return Err(ServiceError::bad_field("days", "days: 1 to 90"));
    }
    let rules = &input.rules;
    if rules
        .score_drop_points
        .is_some_and(|points| !(5.0..=100.0).contains(&points))
    {
        return Err(ServiceError::bad_field(
            "rules.score_drop_points",
            "rules.score_drop_points: 5 to 100 (alerts are stored from 5-point drops, so a lower one cannot be replayed)",
        ));
    }
    if rules
        .group_window_hours
        .is_some_and(|hours| !(hours > 0.0 && hours <= 720.0))
    {
        return Err(ServiceError::bad_field(
            "rules.group_window_hours",
            "rules.group_window_hours: more than 0, at most 720 (30 days)",
        ));
    }
    if rules
        .suppression_minutes
        .is_some_and(|minutes| !(0.0..=43_200.0).contains(&minutes))
    {
        return Err(ServiceError::bad_field(
            "rules.suppression_minutes",
            "rules.suppression_minutes: 0 to 43200 (30 days)",
        ));
    }
    let channels: Vec<String> = store.list_channels().await?.into_iter().map(|c| c.name).collect();
    for (index, route) in rules.routes.iter().flatten().enumerate() {
        if let Some(when) = &route.when {
            super::rules::parse(when).map_err(|error| {
                ServiceError::bad_field(
                    &format!("rules.routes[{index}].when"),
                    format!("rules.routes[{index}].when {error}"),
                )
            })?;
        }
        if !channels.contains(&route.channel) {
            return Err(ServiceError::bad_field(
                &format!("rules.routes[{index}].channel"),
                format!(
                    "rules.routes[{index}].channel: no channel named {:?} (the tenant has {})",
                    route.channel,
                    if channels.is_empty() {
                        "none".to_owned()
                    } else {
                        channels.join(", ")
                    }
                ),
            ));
        }
    }
    let from = now - chrono::TimeDelta::days(i64::from(days));
    let alerts = store.backtest_alerts(from, now).await?;
    let past = store.past_incidents(from, now).await?;
    Ok(super::backtest::replay(
        alerts, rules, &channels, &past, from, now,
    ))
}

/// Runs one `explain_incident` job (`{"incident", "anomaly"}`): the RCA engine's causes of the
/// anomaly go on the incident's timeline and in its details (the three likeliest).
pub async fn run_explain_job(
    store: &crate::store::Store,
    job: &crate::jobs::ClaimedJob,
) -> Result<(), crate::jobs::JobError> {
    use crate::jobs::JobError;
    let id = |key: &str| job.payload[key].as_str().and_then(|v| Uuid::parse_str(v).ok());
    let (Some(incident), Some(anomaly)) = (id("incident"), id("anomaly")) else {
        return Err(JobError::from(format!(
            "an explain job needs incident and anomaly, got {}",
            job.payload
        )));
    };
    let tenant = cwic_shared::TenantId::parse(job.tenant_id.as_deref().unwrap_or_default())
        .map_err(|e| JobError::from(format!("an explain job needs its tenant: {e}")))?;
    let tenant = store.tenant(&tenant);
    let Some(event) = tenant
        .get_anomaly_event(anomaly)
        .await
        .map_err(|e| JobError::from(format!("cannot read the anomaly: {e}")))?
    else {
        return Ok(()); // gone since: nothing to explain
    };
    let report = crate::monitoring::causes::analyse(&tenant, event)
        .await
        .map_err(|e| JobError::from(format!("the root-cause analysis failed: {e}")))?;
    let causes: Vec<serde_json::Value> = report
        .causes
        .iter()
        .take(3)
        .map(|c| serde_json::json!({"kind": c.kind, "summary": c.summary, "score": c.score}))
        .collect();
    tenant
        .note_root_causes(incident, &report.explanation, &serde_json::Value::Array(causes))
        .await
        .map_err(|e| JobError::from(format!("cannot write the causes: {e}")))
}
