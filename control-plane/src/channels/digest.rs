//! Daily and weekly digests: a summary of a period's incidents (opened, resolved, still open) to a
//! channel — an email channel to one person is that person's digest. The incident upkeep claims a
//! digest's period when it ends (`Store::queue_due_digests`) and queues a `deliver_digest` job;
//! the job composes the summary and sends it like a notification (retried with back-off).

use chrono::{DateTime, TimeDelta, Utc};
use jiff::civil::Time;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::incidents::Severity;
use crate::jobs::{ClaimedJob, JobError};
use crate::store::Store;
use crate::store::routing::DigestIncident;
use cwic_shared::TenantId;

/// The digest delivery job's kind.
pub const DELIVER_DIGEST: &str = "deliver_digest";

/// The channel kinds a digest can go to (a pager is no place for a summary).
pub const DIGEST_KINDS: [&str; 4] = ["webhook", "slack", "teams", "email"];

/// How long a period of `cadence` lasts.
pub fn period_length(cadence: &str) -> TimeDelta {
    if cadence == "weekly" {
        TimeDelta::days(7)
    } else {
        TimeDelta::days(1)
    }
}

/// The end of the last period of a digest at or before `now`: the latest local `hour:00` in
/// `timezone` (on `weekday`, 1 Monday … 7 Sunday, for weekly ones). `None` when the settings
/// cannot be read (creation prevents it).
pub fn period_end(
    cadence: &str,
    hour: i16,
    weekday: i16,
    timezone: &str,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let tz = TimeZone::get(timezone).ok()?;
    let local = jiff::Timestamp::from_second(now.timestamp())
        .ok()?
        .to_zoned_datetime(tz.clone());
    let at = Time::new(i8::try_from(hour).ok()?, 0, 0, 0).ok()?;
    let mut day = local.date();
    for _ in 0..8 {
        let candidate = day.to_datetime(at).to_zoned_datetime(tz.clone()).ok()?;
        let on_day = cadence != "weekly" || i16::from(day.weekday().to_monday_one_offset()) == weekday;
        if on_day && candidate.timestamp() <= local.timestamp() {
            return DateTime::from_timestamp(candidate.timestamp().as_second(), 0);
        }
        day = day.yesterday().ok()?;
    }
    None
}

/// The digest message (a webhook body; the other kinds render it): counts, and one line per
/// incident, most severe first.
pub fn message(
    id: Uuid,
    tenant: &str,
    cadence: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    incidents: &[DigestIncident],
    public_url: &str,
) -> Value {
    let opened = incidents
        .iter()
        .filter(|i| i.opened_at >= from && i.opened_at < to)
        .count();
    let resolved = incidents
        .iter()
        .filter(|i| i.resolved_at.is_some_and(|at| at >= from && at < to))
        .count();
    let still_open = incidents
        .iter()
        .filter(|i| matches!(i.status.as_str(), "open" | "acknowledged" | "snoozed"))
        .count();
    let period = if cadence == "weekly" { "Weekly" } else { "Daily" };
    let title = if incidents.is_empty() {
        format!("{period} digest for {tenant}: no incidents")
    } else {
        format!("{period} digest for {tenant}: {opened} opened, {resolved} resolved, {still_open} still open")
    };
    let lines: Vec<String> = incidents
        .iter()
        .map(|i| {
            let asset = i.asset.as_deref().map(|a| format!("{a}: ")).unwrap_or_default();
            format!(
                "[{}] {asset}{} ({})",
                i.severity.to_uppercase(),
                i.title,
                i.status
            )
        })
        .collect();
    let text = if lines.is_empty() {
        "Nothing opened, resolved or left open in this period.".to_owned()
    } else {
        lines.join("\n")
    };
    let base = public_url.trim_end_matches('/');
    json!({
        "id": id,
        "type": "digest",
        "tenant": tenant,
        "cadence": cadence,
        "from": from,
        "to": to,
        "title": title,
        "text": text,
        "counts": {"opened": opened, "resolved": resolved, "still_open": still_open},
        "incidents": incidents.iter().map(|i| json!({
            "id": i.id, "title": i.title, "severity": i.severity, "status": i.status, "asset": i.asset,
            "opened_at": i.opened_at, "resolved_at": i.resolved_at, "alerts": i.alert_count,
            "link": format!("{base}/incidents/{}", i.id),
        })).collect::<Vec<_>>(),
        "links": {"view": format!("{base}/incidents")},
    })
}

/// Runs one `deliver_digest` job: `{"digest", "from", "to"}`.
pub async fn run_digest_job(store: &Store, job: &ClaimedJob, public_url: &str) -> Result<(), JobError> {
    let payload = &job.payload;
    let (Some(digest), Some(from), Some(to)) = (
        payload["digest"].as_str().and_then(|d| Uuid::parse_str(d).ok()),
        payload["from"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok()),
        payload["to"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok()),
    ) else {
        return Err(JobError::from(format!(
            "a digest job needs digest, from and to, got {payload}"
        )));
    };
    let tenant = TenantId::parse(job.tenant_id.as_deref().unwrap_or_default())
        .map_err(|e| JobError::from(format!("a digest job needs its tenant: {e}")))?;
    let tenant_store = store.tenant(&tenant);
    let digests = tenant_store
        .list_digests()
        .await
        .map_err(|e| JobError::from(format!("cannot read the digest: {e}")))?;
    let Some(row) = digests.into_iter().find(|d| d.id == digest) else {
        return Ok(()); // deleted since: nothing to send
    };
    let Some((channel, secret)) = tenant_store
        .channel_for_sending(row.channel_id)
        .await
        .map_err(|e| JobError::from(format!("cannot read the channel: {e}")))?
    else {
        return Ok(());
    };
    let min = Severity::parse(&row.min_severity).unwrap_or(Severity::Low);
    let incidents = tenant_store
        .digest_incidents(from, to, min)
        .await
        .map_err(|e| JobError::from(format!("cannot read the period's incidents: {e}")))?;
    let message = message(
        job.id,
        tenant.as_str(),
        &row.cadence,
        from,
        to,
        &incidents,
        public_url,
    );
    let settings = &channel.settings.0;
    if channel.kind == "email" {
        let email = super::email::compose(settings, &message).map_err(JobError::from)?;
        let sent = super::email::send(settings, secret.as_deref(), email).await;
        return match sent.error {
            None => Ok(()),
            Some(error) => Err(JobError::from(error)),
        };
    }
    let outbound = super::kinds::render(&channel.kind, settings, secret.as_deref(), &message, None)
        .map_err(JobError::from)?;
    let outcome =
        super::deliver::send(&outbound, secret.as_deref(), Utc::now().timestamp(), Some(job.id)).await;
    let Some(status) = outcome.status else {
        return Err(JobError::from(outcome.message));
    };
    let verdict = super::kinds::judge(&channel.kind, settings, status, &outcome.answer);
    if verdict.delivered {
        Ok(())
    } else {
        Err(JobError {
            message: verdict
                .error
                .unwrap_or_else(|| format!("the receiver answered {status}")),
            retry_after: outcome.retry_after,
            defer: false,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn periods_end_at_the_local_hour_and_weekday() {
        // 08:00 in Berlin is 07:00 UTC in December.
        assert_eq!(
            period_end("daily", 8, 1, "Europe/Berlin", utc("2026-12-08T10:00:00Z")),
            Some(utc("2026-12-08T07:00:00Z"))
        );
        assert_eq!(
            period_end("daily", 8, 1, "Europe/Berlin", utc("2026-12-08T06:59:00Z")),
            Some(utc("2026-12-07T07:00:00Z"))
        );
        // 2026-12-08 is a Tuesday: the last Monday 08:00 UTC was the day before.
        assert_eq!(
            period_end("weekly", 8, 1, "UTC", utc("2026-12-08T10:00:00Z")),
            Some(utc("2026-12-07T08:00:00Z"))
        );
        assert_eq!(
            period_end("weekly", 8, 2, "UTC", utc("2026-12-08T10:00:00Z")),
            Some(utc("2026-12-08T08:00:00Z"))
        );
        assert_eq!(
            period_end("weekly", 8, 3, "UTC", utc("2026-12-08T10:00:00Z")),
            Some(utc("2026-12-02T08:00:00Z"))
        );
        assert_eq!(
            period_end("daily", 8, 1, "Mars/Olympus", utc("2026-12-08T10:00:00Z")),
            None
        );
        assert_eq!(period_length("weekly"), TimeDelta::days(7));
    }

    #[test]
    fn the_message_counts_the_period() {
        let from = utc("2026-12-07T08:00:00Z");
        let to = utc("2026-12-08T08:00:00Z");
        let incident = |severity: &str, status: &str, opened: &str, resolved: Option<&str>| DigestIncident {
            id: Uuid::now_v7(),
            title: "check not_null(email) failed".into(),
            severity: severity.into(),
            status: status.into(),
            opened_at: utc(opened),
            resolved_at: resolved.map(utc),
            alert_count: 2,
            asset: Some("public.orders".into()),
        };
        let incidents = [
            incident("critical", "open", "2026-12-07T09:00:00Z", None),
            incident(
                "high",
                "resolved",
                "2026-12-07T10:00:00Z",
                Some("2026-12-07T11:00:00Z"),
            ),
            incident("medium", "acknowledged", "2026-12-01T10:00:00Z", None),
        ];
        let body = message(
            Uuid::nil(),
            "acme",
            "daily",
            from,
            to,
            &incidents,
            "https://cwic.example.com/",
        );
        assert_eq!(
            body["title"],
            "Daily digest for acme: 2 opened, 1 resolved, 2 still open"
        );
        assert_eq!(body["counts"]["still_open"], 2);
        assert!(
            body["text"]
                .as_str()
                .unwrap()
                .starts_with("[CRITICAL] public.orders: check not_null(email) failed (open)")
        );
        assert_eq!(body["links"]["view"], "https://cwic.example.com/incidents");
        let empty = message(Uuid::nil(), "acme", "weekly", from, to, &[], "");
        assert_eq!(empty["title"], "Weekly digest for acme: no incidents");
    }
}
