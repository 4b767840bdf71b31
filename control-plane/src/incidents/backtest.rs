//! Backtesting a proposed rule set (pure): the stored alerts of the last days replayed through
//! other thresholds, grouping window, suppression and routes, to count the incidents and
//! notifications per channel they would have made, and name the past incidents they would have
//! missed — so a team tunes noise before it pages anyone.
//!
//! The replay follows the engine: alerts of one asset and rule join the open incident while they
//! come within the grouping window of the last one; a recovery resolves it; the next alert opens a
//! new one. Suppression: an incident opened within `suppression_minutes` of the last one on the
//! same asset and rule that was not suppressed is counted but notifies nobody. A route notifies its channel of the
//! incidents at or above its severity (and of their resolution).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Severity;

/// One stored alert as the replay reads it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredAlert {
    pub id: Uuid,
    pub asset_id: Option<Uuid>,
    pub rule_key: String,
    pub kind: String,
    pub firing: bool,
    pub severity: Option<String>,
    pub observed_at: DateTime<Utc>,
    /// For score drops: how many points.
    pub drop_points: Option<f64>,
    /// The incident the alert joined when it happened.
    pub incident_id: Option<Uuid>,
    /// What a route's `when` sees: the check's dimension, and the asset's qualified name,
    /// schema and source.
    pub dimension: Option<String>,
    pub asset: Option<String>,
    pub schema: Option<String>,
    pub source: Option<String>,
}

/// A past incident, to say whether the proposal would have made it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct PastIncident {
    pub id: Uuid,
    pub title: String,
    pub severity: String,
    /// `schema.table`.
    pub asset: Option<String>,
    pub opened_at: DateTime<Utc>,
}

/// A route of the proposal: a channel (by name) and the lowest severity it hears of.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposedRoute {
    pub channel: String,
    /// Default `high`.
    #[serde(default = "default_route_severity")]
    pub min_severity: Severity,
    /// Only these alert kinds (`check_failed`, `anomaly`, `score_drop` …); all when absent.
    pub kinds: Option<Vec<String>>,
    /// A routing expression, as routing rules take (`severity = critical and schema = finance`);
    /// the replay knows each alert's severity, kind, dimension, asset, schema and source (not
    /// its tags or owners).
    #[serde(default)]
    pub when: Option<String>,
}

fn default_route_severity() -> Severity {
    Severity::High
}

/// A proposed rule set; every field has the engine's current behaviour as its default.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Alerts below this severity open nothing. Default `low` (all).
    pub min_severity: Option<Severity>,
    /// Score drops alert from this many points (at least 5, the engine's lowest). Default 5.
    pub score_drop_points: Option<f64>,
    /// An open incident takes alerts that come within this many hours of its last one. Default 24.
    pub group_window_hours: Option<f64>,
    /// A new incident on the same asset and rule within this many minutes of the last opening is
    /// counted but notifies nobody. Default 0.
    pub suppression_minutes: Option<f64>,
    /// Where notifications go; default: the tenant's channels, critical and high (the default route).
    pub routes: Option<Vec<ProposedRoute>>,
}

/// Notifications one channel would have had.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChannelCount {
    pub channel: String,
    /// "Opened" messages.
    pub opened: u32,
    /// "Resolved" messages.
    pub resolved: u32,
}

/// A past incident the proposal would not have opened, and why.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Missed {
    #[serde(flatten)]
    pub incident: PastIncident,
    pub why: String,
}

/// What the proposal would have done over the replayed days.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BacktestReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Alerts replayed (firing ones and recoveries).
    pub alerts: u32,
    /// Incidents the proposal would have opened.
    pub incidents: u32,
    /// Of those, opened within the suppression interval (notifying nobody).
    pub suppressed: u32,
    pub notifications: Vec<ChannelCount>,
    /// Past incidents it would have missed.
    pub missed: Vec<Missed>,
    /// What actually happened over the same days, to compare.
    pub actual_incidents: u32,
}

struct Open {
    last_alert: DateTime<Utc>,
    notified: Vec<usize>,
}

/// Replays `alerts` (any order) under `rules`, with `channels` the tenant's channel names.
pub fn replay(
    mut alerts: Vec<StoredAlert>,
    rules: &RuleSet,
    channels: &[String],
    past: &[PastIncident],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BacktestReport {
    alerts.sort_by_key(|a| (a.observed_at, a.id));
    let min_severity = rules.min_severity.unwrap_or(Severity::Low);
    let drop_points = rules.score_drop_points.unwrap_or(5.0);
    let window = TimeDelta::milliseconds((rules.group_window_hours.unwrap_or(24.0) * 3_600_000.0) as i64);
    let suppression = TimeDelta::milliseconds((rules.suppression_minutes.unwrap_or(0.0) * 60_000.0) as i64);
    let routes: Vec<ProposedRoute> = rules.routes.clone().unwrap_or_else(|| {
        channels
            .iter()
            .map(|channel| ProposedRoute {
                channel: channel.clone(),
                min_severity: super::routing::DEFAULT_MIN_SEVERITY,
                kinds: None,
                when: None,
            })
            .collect()
    });
    // Checked by the service before the replay: one that does not parse holds for nothing.
    let conditions: Vec<Option<Option<super::rules::Expr>>> = routes
        .iter()
        .map(|r| r.when.as_deref().map(|w| super::rules::parse(w).ok()))
        .collect();
    let mut counts: Vec<ChannelCount> = routes
        .iter()
        .map(|r| r.channel.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|channel| ChannelCount {
            channel,
            opened: 0,
            resolved: 0,
        })
        .collect();
    let slot = |counts: &[ChannelCount], name: &str| counts.iter().position(|c| c.channel == name);
    let mut open: BTreeMap<(Option<Uuid>, String), Open> = BTreeMap::new();
    let mut last_opened: BTreeMap<(Option<Uuid>, String), DateTime<Utc>> = BTreeMap::new();
    let mut covered: BTreeSet<Uuid> = BTreeSet::new();
    let mut filtered_by: BTreeMap<Uuid, String> = BTreeMap::new();
    let (mut incidents, mut suppressed) = (0u32, 0u32);
    for alert in &alerts {
        let key = (alert.asset_id, alert.rule_key.clone());
        if !alert.firing {
            if let Some(ended) = open.remove(&key) {
                for index in ended.notified {
                    counts[index].resolved += 1;
                }
            }
            continue;
        }
        let severity = alert
            .severity
            .as_deref()
            .and_then(Severity::parse)
            .unwrap_or(Severity::Medium);
        if severity < min_severity {
            if let Some(incident) = alert.incident_id {
                filtered_by.insert(
                    incident,
                    format!("its alerts are {severity}, below min_severity {min_severity}"),
                );
            }
            continue;
        }
        if alert.kind == super::kinds::SCORE_DROP
            && alert.drop_points.is_some_and(|points| points < drop_points)
        {
            if let Some(incident) = alert.incident_id {
                filtered_by.insert(
                    incident,
                    format!("its score dropped less than score_drop_points ({drop_points})"),
                );
            }
            continue;
        }
        if let Some(incident) = alert.incident_id {
            covered.insert(incident);
        }
        match open.get_mut(&key) {
            Some(current) if alert.observed_at - current.last_alert <= window => {
                current.last_alert = current.last_alert.max(alert.observed_at);
                continue;
            }
            Some(_) => {
                // Quiet for longer than the window: that one ended, this opens the next.
                if let Some(ended) = open.remove(&key) {
                    for index in ended.notified {
                        counts[index].resolved += 1;
                    }
                }
            }
            None => {}
        }
        incidents += 1;
        let is_suppressed = last_opened
            .get(&key)
            .is_some_and(|previous| alert.observed_at - *previous < suppression);
        let mut notified = Vec::new();
        if is_suppressed {
            suppressed += 1;
        } else {
            last_opened.insert(key.clone(), alert.observed_at);
            let attributes = super::rules::Attributes {
                severity: Some(severity),
                kind: alert.kind.clone(),
                dimensions: alert.dimension.iter().cloned().collect(),
                source: alert.source.clone(),
                schema: alert.schema.clone(),
                asset: alert.asset.clone(),
                ..Default::default()
            };
            for (route, condition) in routes.iter().zip(&conditions) {
                let kind_ok = route
                    .kinds
                    .as_ref()
                    .is_none_or(|kinds| kinds.iter().any(|k| k == &alert.kind));
                let when_ok = match condition {
                    None => true,
                    Some(Some(expr)) => expr.eval(&attributes),
                    Some(None) => false,
                };
                if severity >= route.min_severity
                    && kind_ok
                    && when_ok
                    && let Some(index) = slot(&counts, &route.channel)
                    && !notified.contains(&index)
                {
                    counts[index].opened += 1;
                    notified.push(index);
                }
            }
        }
        open.insert(
            key,
            Open {
                last_alert: alert.observed_at,
                notified,
            },
        );
    }
    let missed = past
        .iter()
        .filter(|incident| !covered.contains(&incident.id))
        .map(|incident| Missed {
            why: filtered_by
                .get(&incident.id)
                .cloned()
                .unwrap_or_else(|| "none of its alerts pass the proposed rules".to_owned()),
            incident: incident.clone(),
        })
        .collect();
    BacktestReport {
        from,
        to,
        alerts: u32::try_from(alerts.len()).unwrap_or(u32::MAX),
        incidents,
        suppressed,
        notifications: counts,
        missed,
        actual_incidents: u32::try_from(past.len()).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::hours(hours)
    }

    fn alert(rule: &str, firing: bool, severity: &str, hour: i64, incident: u128) -> StoredAlert {
        StoredAlert {
            id: Uuid::now_v7(),
            asset_id: Some(Uuid::nil()),
            rule_key: rule.into(),
            kind: "check_failed".into(),
            firing,
            severity: firing.then(|| severity.to_owned()),
            observed_at: at(hour),
            drop_points: None,
            incident_id: Some(Uuid::from_u128(incident)),
            dimension: Some("validity".into()),
            asset: Some(format!("public.{rule}")),
            schema: Some("public".into()),
            source: Some("wh".into()),
        }
    }

    #[test]
    fn a_tighter_window_splits_incidents_and_suppression_keeps_the_second_one_quiet() {
        let alerts = vec![
            alert("a", true, "high", 0, 1),
            alert("a", true, "high", 5, 1),
            alert("a", true, "high", 10, 1),
        ];
        let channels = vec!["#data-eng".to_owned()];
        let defaults = RuleSet {
            min_severity: None,
            score_drop_points: None,
            group_window_hours: None,
            suppression_minutes: None,
            routes: None,
        };
        let report = replay(alerts.clone(), &defaults, &channels, &[], at(0), at(24));
        assert_eq!((report.incidents, report.notifications[0].opened), (1, 1));
        let tight = RuleSet {
            group_window_hours: Some(4.0),
            suppression_minutes: Some(6.0 * 60.0),
            ..defaults
        };
        let report = replay(alerts, &tight, &channels, &[], at(0), at(24));
        // 0 h opens; 5 h is past the 4 h window: a new one, within 6 h of 0 h, suppressed; 10 h
        // opens again, 10 h after the last notified one.
        assert_eq!((report.incidents, report.suppressed), (3, 1));
        assert_eq!(report.notifications[0].opened, 2);
        assert_eq!(
            report.notifications[0].resolved, 1,
            "the first ended when the second opened"
        );
    }

    #[test]
    fn a_routes_expression_picks_the_alerts_it_holds_for() {
        let alerts = vec![
            alert("orders", true, "critical", 0, 1),
            alert("payments", true, "high", 1, 2),
        ];
        let route = |channel: &str, when: Option<&str>| ProposedRoute {
            channel: channel.into(),
            min_severity: Severity::High,
            kinds: None,
            when: when.map(str::to_owned),
        };
        let rules = RuleSet {
            min_severity: None,
            score_drop_points: None,
            group_window_hours: None,
            suppression_minutes: None,
            routes: Some(vec![
                route("pager", Some("severity = critical and asset like '*.orders'")),
                route("#data-eng", Some("source = wh and dimension = validity")),
                route("#nobody", Some("schema = staging")),
            ]),
        };
        let channels = vec!["pager".to_owned(), "#data-eng".to_owned(), "#nobody".to_owned()];
        let report = replay(alerts, &rules, &channels, &[], at(0), at(24));
        let opened = |name: &str| {
            report
                .notifications
                .iter()
                .find(|c| c.channel == name)
                .map(|c| c.opened)
        };
        assert_eq!(
            (opened("pager"), opened("#data-eng"), opened("#nobody")),
            (Some(1), Some(2), Some(0))
        );
    }
}
