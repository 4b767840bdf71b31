//! Incidents (issue 14): what the engine makes of events, for a person to act on.
//!
//! An event carries *signals* ([`signals`], pure): a check failed, an anomaly opened, a score
//! dropped by 5, 10 or 20 points, a schema changed, an SLA was breached or its budget spent — and
//! the recoveries (the check passed, the anomaly closed, the score came back). The engine
//! ([`engine`]) stores each signal as an alert, joins firing alerts on the same asset and rule into
//! the one open incident of that asset and rule (a new one when there is none, or when the open one
//! saw no alert for [`JOIN_WINDOW`]), resolves an incident when its signal recovers, and queues one
//! notification per routed channel ([`routing`]) in the same transaction. People acknowledge,
//! snooze, resolve, close and comment through [`service`].
//!
//! Owns: the signal rules (this file), grouping and the incident lifecycle, routing. Must not:
//! deliver anything (a `deliver_notification` job does, through `channels`), or detect anything
//! (the detectors, checks, scores and SLAs do; this only reacts to their events).

pub mod backtest;
pub mod engine;
pub mod policy;
pub mod routing;
pub mod rules;
pub mod service;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::events::{AgentLiveness, AgentStatusReason, AnomalyCloseReason, Event, EventData};

/// An open incident that saw no alert for this long is resolved when the next alert of its rule
/// arrives, and that alert opens a new one (a problem that stopped and came back is a new one).
pub const JOIN_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// How often the upkeep job wakes snoozed incidents whose time came.
pub const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Score drops that alert (VISION.md), largest first.
pub const SCORE_DROPS: [(f64, Severity); 3] = [
    (20.0, Severity::Critical),
    (10.0, Severity::High),
    (5.0, Severity::Medium),
];

/// Increases of an asset's open issues (failing checks) between two score computations that
/// alert (VISION.md), largest first.
pub const ISSUE_INCREASES: [(i32, Severity); 2] = [(10, Severity::Critical), (5, Severity::High)];

/// The severity of an increase of open issues from `previous` to `issues`, when it alerts.
pub fn issue_increase_severity(previous: i32, issues: i32) -> Option<Severity> {
    ISSUE_INCREASES
        .iter()
        .find(|(more, _)| issues - previous >= *more)
        .map(|(_, severity)| *severity)
}

/// A score-drop incident resolves once the score is back within this many points of where it was
/// before the drop.
pub const SCORE_RECOVERY_MARGIN: f64 = 5.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of problem a signal tells of (the `kind` of alerts, the `source_kind` of incidents).
pub mod kinds {
    pub const CHECK_FAILED: &str = "check_failed";
    pub const CHECK_ERROR: &str = "check_error";
    pub const ANOMALY: &str = "anomaly";
    pub const SCORE_DROP: &str = "score_drop";
    pub const SCHEMA_CHANGE: &str = "schema_change";
    pub const SLA_BREACH: &str = "sla_breach";
    pub const SLA_BUDGET: &str = "sla_budget";
    pub const AGENT_OFFLINE: &str = "agent_offline";
    pub const ISSUE_INCREASE: &str = "issue_increase";
    pub const COLLECTION_FAILED: &str = "collection_failed";

    /// Every kind, as routing rules name them.
    pub const ALL: [&str; 10] = [
        CHECK_FAILED,
        CHECK_ERROR,
        ANOMALY,
        SCORE_DROP,
        SCHEMA_CHANGE,
        SLA_BREACH,
        SLA_BUDGET,
        AGENT_OFFLINE,
        ISSUE_INCREASE,
        COLLECTION_FAILED,
    ];
}

/// One signal an event carries: firing (a problem) or a recovery of the rule's problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub event_id: Uuid,
    pub tenant: String,
    /// `None` for a tenant-level signal (an SLA on a tag).
    pub asset_id: Option<Uuid>,
    /// What alerts group by on their asset: `check:<name>`, `anomaly:<metric>:<column>`,
    /// `score_drop`, `schema`, `sla:<id>`, `sla_budget:<id>`.
    pub rule_key: String,
    /// One of [`kinds`].
    pub kind: &'static str,
    pub firing: bool,
    /// Set when firing.
    pub severity: Option<Severity>,
    /// One line, without the asset's name (shown beside it): "not_null(email) failed: 142 of 1,000 rows".
    pub title: String,
    /// When the signal was observed (the check's run, the anomalous point, the score's computation).
    pub observed_at: DateTime<Utc>,
    /// When its event was written.
    pub event_at: DateTime<Utc>,
    /// The anomaly, SLA … the signal is about.
    pub source_id: Option<Uuid>,
    /// Evidence for the incident's page and messages (the dimension, rows, scores, columns …).
    pub details: serde_json::Value,
}

/// The severity of an anomaly on `metric`: volume, freshness and the table model's findings are
/// high (a table that stopped loading or lost rows breaks what reads it); a column's distribution
/// moving is medium.
pub fn anomaly_severity(metric: &str, column: &str) -> Severity {
    if column.is_empty()
        && (metric == "row_count" || metric.starts_with("freshness") || metric.starts_with("table"))
    {
        Severity::High
    } else {
        Severity::Medium
    }
}

/// The severity of a score drop from `previous` to `score`, when it is one that alerts.
pub fn score_drop_severity(previous: f64, score: f64) -> Option<Severity> {
    let drop = previous - score;
    SCORE_DROPS
        .iter()
        .find(|(points, _)| drop >= *points)
        .map(|(_, severity)| *severity)
}

fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0 { format!("-{out}") } else { out }
}

/// The signals `event` carries (none for most events: stored metrics, discovered assets …).
pub fn signals(event: &Event) -> Vec<Signal> {
    let signal = |asset_id: Option<Uuid>,
                  rule_key: String,
                  kind: &'static str,
                  severity: Option<Severity>,
                  title: String,
                  observed_at: DateTime<Utc>,
                  source_id: Option<Uuid>,
                  details: serde_json::Value| Signal {
        event_id: event.id,
        tenant: event.tenant.clone(),
        asset_id,
        rule_key,
        kind,
        firing: severity.is_some(),
        severity,
        title,
        observed_at,
        event_at: event.occurred_at,
        source_id,
        details,
    };
    match &event.data {
        EventData::CheckResultStored(check) => {
            let rule = format!("check:{}", check.check);
            let details = json!({
                "check": check.check, "dimension": check.dimension, "status": check.status,
                "failing_rows": check.failing_rows, "total_rows": check.total_rows,
                "batch_id": check.batch_id,
            });
            match check.status.as_str() {
                "fail" => {
                    let severity = Severity::parse(&check.severity).unwrap_or(Severity::Medium);
                    let rows = match (check.failing_rows, check.total_rows) {
                        (Some(failing), Some(total)) => {
                            format!(": {} of {} rows", thousands(failing), thousands(total))
                        }
                        (Some(failing), None) => format!(": {} rows", thousands(failing)),
                        _ => String::new(),
                    };
                    vec![signal(
                        Some(check.asset_id),
                        rule,
                        kinds::CHECK_FAILED,
                        Some(severity),
                        format!("check {} failed{rows}", check.check),
                        check.observed_at,
                        None,
                        details,
                    )]
                }
                // A check that cannot run (a missing column, a query error) is a failed
                // collection of that check: worth a look, not a page.
                "error" => vec![signal(
                    Some(check.asset_id),
                    rule,
                    kinds::CHECK_ERROR,
                    Some(Severity::Medium),
                    format!("check {} could not run", check.check),
                    check.observed_at,
                    None,
                    details,
                )],
                _ => vec![signal(
                    Some(check.asset_id),
                    rule,
                    kinds::CHECK_FAILED,
                    None,
                    format!("check {} passed", check.check),
                    check.observed_at,
                    None,
                    details,
                )],
            }
        }
        EventData::AnomalyOpened(anomaly) => {
            let rule = format!("anomaly:{}:{}", anomaly.metric, anomaly.column);
            let series = if anomaly.column.is_empty() {
                anomaly.metric.clone()
            } else {
                format!("{} of {}", anomaly.metric, anomaly.column)
            };
            let band = match (anomaly.expected_low, anomaly.expected_high) {
                (Some(low), Some(high)) => format!(" (expected {low:.4} to {high:.4})"),
                _ => String::new(),
            };
            vec![signal(
                Some(anomaly.asset_id),
                rule,
                kinds::ANOMALY,
                Some(anomaly_severity(&anomaly.metric, &anomaly.column)),
                format!("anomaly in {series}: {:.4}{band}", anomaly.value),
                anomaly.observed_at,
                Some(anomaly.anomaly_id),
                json!({
                    "metric": anomaly.metric, "column": anomaly.column, "value": anomaly.value,
                    "expected_low": anomaly.expected_low, "expected_high": anomaly.expected_high,
                    "score": anomaly.score, "anomaly_id": anomaly.anomaly_id,
                }),
            )]
        }
        EventData::AnomalyClosed(anomaly) => {
            let why = match anomaly.reason {
                AnomalyCloseReason::NoLongerDetected => "no longer detected".to_owned(),
                AnomalyCloseReason::Feedback => format!(
                    "judged {} by a person",
                    anomaly.feedback.as_deref().unwrap_or("normal")
                ),
            };
            vec![signal(
                Some(anomaly.asset_id),
                format!("anomaly:{}:{}", anomaly.metric, anomaly.column),
                kinds::ANOMALY,
                None,
                format!("the anomaly closed: {why}"),
                // A closing is observed when it is written: the point it judged is older.
                event.occurred_at,
                Some(anomaly.anomaly_id),
                json!({"anomaly_id": anomaly.anomaly_id, "reason": anomaly.reason, "feedback": anomaly.feedback}),
            )]
        }
        EventData::ScoreChanged(change) => {
            let mut found = Vec::new();
            if let (Some(previous), Some(issues)) = (change.previous_issues, change.issues) {
                let details = json!({"previous_issues": previous, "issues": issues});
                if let Some(severity) = issue_increase_severity(previous, issues) {
                    found.push(signal(
                        Some(change.asset_id),
                        "issue_increase".to_owned(),
                        kinds::ISSUE_INCREASE,
                        Some(severity),
                        format!(
                            "{} more checks fail: {previous} → {issues} open issues",
                            issues - previous
                        ),
                        event.occurred_at,
                        None,
                        details,
                    ));
                } else if issues < previous {
                    found.push(signal(
                        Some(change.asset_id),
                        "issue_increase".to_owned(),
                        kinds::ISSUE_INCREASE,
                        None,
                        format!("open issues fell to {issues}"),
                        event.occurred_at,
                        None,
                        details,
                    ));
                }
            }
            let (Some(previous), Some(score)) = (change.previous, change.score) else {
                return found;
            };
            let details = json!({"previous": previous, "score": score});
            found.extend(if let Some(severity) = score_drop_severity(previous, score) {
                vec![signal(
                    Some(change.asset_id),
                    "score_drop".to_owned(),
                    kinds::SCORE_DROP,
                    Some(severity),
                    format!(
                        "quality score dropped {:.1} points, from {previous:.1} to {score:.1}",
                        previous - score
                    ),
                    event.occurred_at,
                    None,
                    details,
                )]
            } else if score > previous {
                vec![signal(
                    Some(change.asset_id),
                    "score_drop".to_owned(),
                    kinds::SCORE_DROP,
                    None,
                    format!("quality score rose to {score:.1}"),
                    event.occurred_at,
                    None,
                    details,
                )]
            } else {
                Vec::new()
            });
            found
        }
        EventData::CollectionFailed(failed) => vec![signal(
            Some(failed.asset_id),
            "collection".to_owned(),
            kinds::COLLECTION_FAILED,
            Some(Severity::Medium),
            format!(
                "the agent could not collect it: {}",
                failed.error.as_deref().unwrap_or("no reason given")
            ),
            event.occurred_at,
            None,
            json!({"error": failed.error, "previous_error": failed.previous_error}),
        )],
        EventData::CollectionRecovered(recovered) => vec![signal(
            Some(recovered.asset_id),
            "collection".to_owned(),
            kinds::COLLECTION_FAILED,
            None,
            "collected again without an error".to_owned(),
            event.occurred_at,
            None,
            json!({"previous_error": recovered.previous_error}),
        )],
        EventData::SchemaChanged(schema) => {
            let mut parts = Vec::new();
            if !schema.removed.is_empty() {
                parts.push(format!("removed {}", schema.removed.join(", ")));
            }
            if !schema.changed.is_empty() {
                let changed: Vec<String> = schema
                    .changed
                    .iter()
                    .map(|c| format!("{} {} → {}", c.column, c.previous_type, c.data_type))
                    .collect();
                parts.push(format!("changed {}", changed.join(", ")));
            }
            if !schema.added.is_empty() {
                parts.push(format!("added {}", schema.added.join(", ")));
            }
            // Removing or retyping a column breaks readers; adding one rarely does.
            let severity = if schema.removed.is_empty() && schema.changed.is_empty() {
                Severity::Low
            } else {
                Severity::High
            };
            vec![signal(
                Some(schema.asset_id),
                "schema".to_owned(),
                kinds::SCHEMA_CHANGE,
                Some(severity),
                format!("schema changed: {}", parts.join("; ")),
                schema.observed_at,
                None,
                json!({"added": schema.added, "removed": schema.removed, "changed": schema.changed}),
            )]
        }
        EventData::AgentStatusChanged(change) => {
            let rule = format!("agent:{}", change.agent);
            let details = json!({"agent": change.agent, "status": change.status, "version": change.version});
            let back =
                change.liveness == AgentLiveness::Online && change.previous_liveness != AgentLiveness::Online;
            match change.reason {
                AgentStatusReason::WentOffline => vec![signal(
                    None,
                    rule,
                    kinds::AGENT_OFFLINE,
                    Some(Severity::High),
                    format!(
                        "agent {} went offline: nothing heard from it for {} minutes",
                        change.agent,
                        crate::store::agents::STALE_WITHIN_SECONDS / 60
                    ),
                    event.occurred_at,
                    None,
                    details,
                )],
                // Any heartbeat after a silence (its reason may be a new reported status too).
                _ if back => vec![signal(
                    None,
                    rule,
                    kinds::AGENT_OFFLINE,
                    None,
                    format!("agent {} is back online", change.agent),
                    event.occurred_at,
                    None,
                    details,
                )],
                _ => Vec::new(),
            }
        }
        EventData::SlaBreached(sla) => vec![signal(
            sla.asset_id,
            format!("sla:{}", sla.sla_id),
            kinds::SLA_BREACH,
            Some(Severity::High),
            sla.description.clone(),
            event.occurred_at,
            Some(sla.sla_id),
            json!({"sla_id": sla.sla_id, "objective": sla.objective, "tag": sla.tag,
                   "remaining_minutes": sla.remaining_minutes}),
        )],
        EventData::SlaBudgetExhausted(sla) => vec![signal(
            sla.asset_id,
            format!("sla_budget:{}", sla.sla_id),
            kinds::SLA_BUDGET,
            Some(Severity::Critical),
            sla.description.clone(),
            event.occurred_at,
            Some(sla.sla_id),
            json!({"sla_id": sla.sla_id, "objective": sla.objective, "tag": sla.tag,
                   "remaining_minutes": sla.remaining_minutes}),
        )],
        _ => Vec::new(),
    }
}

/// What a person should do about an incident of `kind` (the message's "recommended action").
pub fn recommended_action(kind: &str, details: &serde_json::Value) -> String {
    match kind {
        kinds::CHECK_FAILED if details["failing_rows"].is_null() => format!(
            "See why the table fails {} (a load that did not run, a late upstream) on the asset's \
             checks page, and restore it at the source.",
            details["check"].as_str().unwrap_or("the check")
        ),
        kinds::CHECK_FAILED => format!(
            "Look at the failing rows of {} and fix them at the source; `cwic-agent fix` proposes a \
             script for the checks it can repair, with an undo.",
            details["check"].as_str().unwrap_or("the check")
        ),
        kinds::CHECK_ERROR => "The check could not run: see its error on the asset's checks page \
                               (a renamed column, a permission) and correct the check or the table."
            .to_owned(),
        kinds::ANOMALY => "Compare the point with the expected band on the asset's page; mark it \
                           expected if it is, so the detector learns."
            .to_owned(),
        kinds::SCORE_DROP => {
            "Open the asset's score: the dimension that fell names the checks and columns behind it."
                .to_owned()
        }
        kinds::SCHEMA_CHANGE => {
            "Check the consumers downstream of this table (lineage) against the new columns.".to_owned()
        }
        kinds::AGENT_OFFLINE => format!(
            "Check the agent {} (its host, its logs, `cwic-agent status`): until it is back, nothing it \
             watches is measured.",
            details["agent"].as_str().unwrap_or_default()
        ),
        kinds::SLA_BREACH | kinds::SLA_BUDGET => {
            "Restore the objective (freshness, score, open incidents) and see the SLA's budget burn."
                .to_owned()
        }
        kinds::ISSUE_INCREASE => "Many checks started failing at once: look for the common cause (a \
                                   load, an upstream change) on the asset's checks page before fixing \
                                   them one by one."
            .to_owned(),
        kinds::COLLECTION_FAILED => format!(
            "Give the agent what it needs to read the table ({}): until then the table is not \
             measured.",
            details["error"].as_str().unwrap_or("see the error")
        ),
        _ => "Open the incident.".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::events::{CheckResultStored, ScoreChanged};

    fn event(data: EventData) -> Event {
        Event::at("acme", Utc::now(), data)
    }

    fn check(status: &str, severity: &str) -> Event {
        event(EventData::CheckResultStored(CheckResultStored {
            asset_id: Uuid::nil(),
            check: "not_null(email)".into(),
            status: status.into(),
            severity: severity.into(),
            dimension: "completeness".into(),
            observed_at: Utc::now(),
            batch_id: Uuid::nil(),
            failing_rows: Some(1_420),
            total_rows: Some(10_000),
        }))
    }

    #[test]
    fn a_failing_check_fires_with_its_severity_and_a_passing_one_recovers() {
        let [fired] = signals(&check("fail", "critical")).try_into().unwrap();
        assert!(fired.firing);
        assert_eq!(fired.severity, Some(Severity::Critical));
        assert_eq!(fired.rule_key, "check:not_null(email)");
        assert_eq!(fired.title, "check not_null(email) failed: 1,420 of 10,000 rows");
        let [passed] = signals(&check("pass", "critical")).try_into().unwrap();
        assert!(!passed.firing);
        assert_eq!(passed.rule_key, fired.rule_key);
        let [error] = signals(&check("error", "critical")).try_into().unwrap();
        assert_eq!(
            (error.kind, error.severity),
            (kinds::CHECK_ERROR, Some(Severity::Medium))
        );
    }

    #[test]
    fn score_drops_alert_at_twenty_ten_and_five_points() {
        let drop = |previous: f64, score: f64| {
            signals(&event(EventData::ScoreChanged(ScoreChanged {
                asset_id: Uuid::nil(),
                previous: Some(previous),
                score: Some(score),
                previous_issues: None,
                issues: None,
            })))
        };
        assert_eq!(drop(90.0, 70.0)[0].severity, Some(Severity::Critical));
        assert_eq!(drop(90.0, 79.5)[0].severity, Some(Severity::High));
        assert_eq!(drop(90.0, 85.0)[0].severity, Some(Severity::Medium));
        assert!(drop(90.0, 86.0).is_empty(), "a 4-point drop is noise");
        let rose = drop(70.0, 90.0);
        assert!(!rose[0].firing && rose[0].rule_key == "score_drop");
    }

    #[test]
    fn the_recommended_action_fits_the_check() {
        let rows = recommended_action(
            kinds::CHECK_FAILED,
            &json!({"check": "not_null(a)", "failing_rows": 3}),
        );
        assert!(rows.contains("failing rows of not_null(a)") && rows.contains("cwic-agent fix"));
        let stale = recommended_action(
            kinds::CHECK_FAILED,
            &json!({"check": "freshness(t)", "failing_rows": null}),
        );
        assert!(
            stale.contains("fails freshness(t)") && !stale.contains("failing rows"),
            "{stale}"
        );
    }

    #[test]
    fn thousands_separate_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
    }
}
