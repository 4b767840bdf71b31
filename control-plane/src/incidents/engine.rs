//! The incident engine: a durable consumer of every tenant's events (shared by the replicas: the
//! broker hands each event to one of them) that turns their signals into alerts and incidents, in
//! batches, and acknowledges an event only after its batch committed.
//!
//! Idempotent and order-tolerant: a batch takes a transaction-scoped advisory lock per (tenant,
//! asset, rule) it touches, in sorted order, so two replicas never decide about the same rule at
//! once; an alert is stored once per event and rule (an event delivered again changes nothing);
//! a recovery resolves only an incident whose last alert it postdates, and a firing alert older
//! than the rule's last recovery opens nothing (a late, redelivered event cannot reopen what
//! passed since).
//!
//! [`plan`] decides (pure); `store::incidents` reads and writes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::{JOIN_WINDOW, SCORE_RECOVERY_MARGIN, Severity, Signal, kinds, signals};
use crate::events::Event;
use crate::store::Store;

/// Events handled in one transaction at most.
pub const MAX_BATCH: usize = 1000;
/// How long a batch waits for more events once it has one.
const BATCH_LINGER: Duration = Duration::from_millis(20);
/// How long an event may stay unacknowledged before the broker hands it to another replica.
const ACK_WAIT: Duration = Duration::from_secs(60);
/// After a failed batch, its events come back after this long.
const RETRY_DELAY: Duration = Duration::from_secs(2);

/// The (tenant, asset, rule) alerts group by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleKey {
    pub tenant: String,
    pub asset: Option<Uuid>,
    pub rule: String,
}

impl RuleKey {
    pub fn of(signal: &Signal) -> Self {
        Self {
            tenant: signal.tenant.clone(),
            asset: signal.asset_id,
            rule: signal.rule_key.clone(),
        }
    }

    /// The advisory lock's text: one per key.
    pub fn lock_text(&self) -> String {
        format!(
            "incident:{}:{}:{}",
            self.tenant,
            self.asset.map(|a| a.to_string()).unwrap_or_default(),
            self.rule
        )
    }
}

/// An incident open now on a key the batch touches.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    pub id: Uuid,
    pub key: RuleKey,
    /// `open`, `acknowledged` or `snoozed`.
    pub status: String,
    pub severity: Severity,
    pub last_alert_at: Option<DateTime<Utc>>,
    pub details: serde_json::Value,
}

/// A new incident to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub id: Uuid,
    pub key: RuleKey,
    pub kind: &'static str,
    pub source_id: Option<Uuid>,
    pub severity: Severity,
    pub title: String,
    pub began_at: DateTime<Utc>,
    pub alert_count: i32,
    pub last_alert_at: DateTime<Utc>,
    pub details: serde_json::Value,
    /// The first alert's event time (the start of its notification's latency).
    pub event_at: DateTime<Utc>,
}

/// Alerts joining an incident that was open before the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    pub id: Uuid,
    pub tenant: String,
    pub asset: Option<Uuid>,
    /// Its status, which joining does not change.
    pub status: String,
    pub added: i32,
    pub last_alert_at: DateTime<Utc>,
    pub severity: Severity,
    /// The severity rose with these alerts (it may now be routed where it was not).
    pub raised: bool,
    pub event_at: DateTime<Utc>,
}

/// An incident the batch resolves.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub id: Uuid,
    pub tenant: String,
    pub asset: Option<Uuid>,
    pub severity: Severity,
    pub recovered_at: DateTime<Utc>,
    pub note: String,
    pub event_at: DateTime<Utc>,
}

/// An alert to store, with the incident it joined (none: a late alert, or a recovery that
/// resolved nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAlert {
    pub id: Uuid,
    pub signal: Signal,
    pub incident_id: Option<Uuid>,
}

/// What a batch does.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    pub alerts: Vec<PlannedAlert>,
    pub opened: Vec<NewIncident>,
    pub joined: Vec<Joined>,
    pub resolved: Vec<Resolved>,
}

enum Working {
    Existing {
        open: Box<OpenIncident>,
        joined: Option<Joined>,
    },
    New(usize),
}

/// Decides what `signals` (new ones: not stored before) do, given the incidents open on their
/// keys and each key's last recovery time. Pure; `now` is the transaction's time.
pub fn plan(
    mut signals: Vec<Signal>,
    open: Vec<OpenIncident>,
    last_recovery: &BTreeMap<RuleKey, DateTime<Utc>>,
) -> Plan {
    signals.sort_by(|a, b| {
        (RuleKey::of(a), a.observed_at, a.event_id).cmp(&(RuleKey::of(b), b.observed_at, b.event_id))
    });
    let mut working: BTreeMap<RuleKey, Working> = open
        .into_iter()
        .map(|open| {
            (
                open.key.clone(),
                Working::Existing {
                    open: Box::new(open),
                    joined: None,
                },
            )
        })
        .collect();
    let mut plan = Plan::default();
    for signal in signals {
        let key = RuleKey::of(&signal);
        let alert_id = Uuid::now_v7();
        let mut incident_id = None;
        if signal.firing {
            let severity = signal.severity.unwrap_or(Severity::Medium);
            let late = last_recovery
                .get(&key)
                .is_some_and(|recovered| signal.observed_at <= *recovered);
            let current = working.get_mut(&key);
            let stale = match &current {
                Some(Working::Existing { open, joined }) => {
                    let last = joined.as_ref().map(|j| j.last_alert_at).or(open.last_alert_at);
                    last.is_some_and(|last| signal.observed_at - last > JOIN_WINDOW)
                }
                Some(Working::New(index)) => {
                    signal.observed_at - plan.opened[*index].last_alert_at > JOIN_WINDOW
                }
                None => false,
            };
            if late {
                // Older than the rule's last recovery: it tells of a problem already over.
            } else if stale {
                let previous = working.remove(&key);
                let (previous_id, previous_severity) = match previous {
                    Some(Working::Existing { open, joined }) => {
                        let severity = joined.as_ref().map_or(open.severity, |j| j.severity);
                        if let Some(joined) = joined {
                            plan.joined.push(joined);
                        }
                        (open.id, severity)
                    }
                    Some(Working::New(index)) => (plan.opened[index].id, plan.opened[index].severity),
                    None => unreachable!("stale implies an incident"),
                };
                plan.resolved.push(Resolved {
                    id: previous_id,
                    tenant: key.tenant.clone(),
                    asset: key.asset,
                    severity: previous_severity,
                    recovered_at: signal.observed_at,
                    note: format!(
                        "resolved: no alert for {} h, then a new one opened a new incident",
                        JOIN_WINDOW.num_hours()
                    ),
                    event_at: signal.event_at,
                });
                incident_id = Some(open_new(&mut plan, &mut working, key, &signal, severity));
            } else {
                match working.get_mut(&key) {
                    Some(Working::Existing { open, joined }) => {
                        let joined = joined.get_or_insert_with(|| Joined {
                            id: open.id,
                            tenant: key.tenant.clone(),
                            asset: key.asset,
                            status: open.status.clone(),
                            added: 0,
                            last_alert_at: open.last_alert_at.unwrap_or(signal.observed_at),
                            severity: open.severity,
                            raised: false,
                            event_at: signal.event_at,
                        });
                        joined.added += 1;
                        joined.last_alert_at = joined.last_alert_at.max(signal.observed_at);
                        if severity > joined.severity {
                            joined.severity = severity;
                            joined.raised = true;
                            joined.event_at = signal.event_at;
                        }
                        incident_id = Some(open.id);
                    }
                    Some(Working::New(index)) => {
                        let new = &mut plan.opened[*index];
                        new.alert_count += 1;
                        new.last_alert_at = new.last_alert_at.max(signal.observed_at);
                        new.severity = new.severity.max(severity);
                        incident_id = Some(new.id);
                    }
                    None => {
                        incident_id = Some(open_new(&mut plan, &mut working, key, &signal, severity));
                    }
                }
            }
        } else if let Some(current) = working.get(&key) {
            let (id, last, details, current_severity) = match current {
                Working::Existing { open, joined } => (
                    open.id,
                    joined.as_ref().map(|j| j.last_alert_at).or(open.last_alert_at),
                    &open.details,
                    joined.as_ref().map_or(open.severity, |j| j.severity),
                ),
                Working::New(index) => {
                    let new = &plan.opened[*index];
                    (new.id, Some(new.last_alert_at), &new.details, new.severity)
                }
            };
            let after_last = last.is_none_or(|last| signal.observed_at >= last);
            if after_last && recovers(&signal, details) {
                incident_id = Some(id);
                plan.resolved.push(Resolved {
                    id,
                    tenant: key.tenant.clone(),
                    asset: key.asset,
                    severity: current_severity,
                    recovered_at: signal.observed_at,
                    note: format!("resolved automatically: {}", signal.title),
                    event_at: signal.event_at,
                });
                if let Some(Working::Existing {
                    joined: Some(joined), ..
                }) = working.remove(&key)
                {
                    plan.joined.push(joined);
                }
            }
        }
        plan.alerts.push(PlannedAlert {
            id: alert_id,
            signal,
            incident_id,
        });
    }
    for (_, rest) in working {
        if let Working::Existing {
            joined: Some(joined), ..
        } = rest
        {
            plan.joined.push(joined);
        }
    }
    plan
}

fn open_new(
    plan: &mut Plan,
    working: &mut BTreeMap<RuleKey, Working>,
    key: RuleKey,
    signal: &Signal,
    severity: Severity,
) -> Uuid {
    let id = Uuid::now_v7();
    let mut details = signal.details.clone();
    if signal.kind == kinds::SCORE_DROP {
        // Where the score was before the drop: the level it must come back to.
        details["baseline"] = signal.details["previous"].clone();
    }
    if signal.kind == kinds::ISSUE_INCREASE {
        // How many checks failed before the increase: the count it must come back to.
        details["baseline"] = signal.details["previous_issues"].clone();
    }
    plan.opened.push(NewIncident {
        id,
        key: key.clone(),
        kind: signal.kind,
        source_id: signal.source_id,
        severity,
        title: signal.title.clone(),
        began_at: signal.observed_at,
        alert_count: 1,
        last_alert_at: signal.observed_at,
        details,
        event_at: signal.event_at,
    });
    working.insert(key, Working::New(plan.opened.len() - 1));
    id
}

/// Whether a recovery signal ends the incident: a score must be back near its baseline, open
/// issues back to their count before the increase; any other
/// recovery (a passing run, a closed anomaly) ends it.
fn recovers(signal: &Signal, incident_details: &serde_json::Value) -> bool {
    if signal.kind == kinds::ISSUE_INCREASE {
        return match (
            signal.details["issues"].as_i64(),
            incident_details["baseline"].as_i64(),
        ) {
            (Some(issues), Some(baseline)) => issues <= baseline,
            _ => true,
        };
    }
    if signal.kind != kinds::SCORE_DROP {
        return true;
    }
    match (
        signal.details["score"].as_f64(),
        incident_details["baseline"].as_f64(),
    ) {
        (Some(score), Some(baseline)) => score >= baseline - SCORE_RECOVERY_MARGIN,
        _ => true,
    }
}

/// Counters since start, for `/metrics` and logs.
#[derive(Debug, Default)]
pub struct EngineStats {
    pub events: AtomicU64,
    pub alerts: AtomicU64,
    pub opened: AtomicU64,
    pub resolved: AtomicU64,
    pub failed_batches: AtomicU64,
}

/// What one batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub alerts: usize,
    pub opened: usize,
    pub joined: usize,
    pub resolved: usize,
    pub notifications: usize,
}

/// Applies the signals of `events` in one transaction (see the module doc).
pub async fn apply(store: &Store, events: &[Event]) -> crate::store::StoreResult<Applied> {
    let signals: Vec<Signal> = events.iter().flat_map(signals).collect();
    if signals.is_empty() {
        return Ok(Applied::default());
    }
    store.apply_signals(signals).await
}

/// The engine's consumer name for an installation: every replica shares it.
pub fn consumer_name(installation: &str) -> String {
    format!("cwic-incidents-{installation}")
}

pub struct IncidentEngine {
    jetstream: jetstream::Context,
    store: Store,
    name: String,
    pub stats: Arc<EngineStats>,
}

impl IncidentEngine {
    pub fn new(client: async_nats::Client, store: Store, installation: &str) -> Self {
        Self {
            jetstream: jetstream::new(client),
            store,
            name: consumer_name(installation),
            stats: Arc::new(EngineStats::default()),
        }
    }

    async fn consumer(&self) -> Result<jetstream::consumer::Consumer<pull::Config>, String> {
        self.jetstream
            .create_or_update_stream(crate::events::relay::stream_config())
            .await
            .map_err(|error| format!("cannot set up the events stream: {error}"))?;
        let stream = self
            .jetstream
            .get_stream(cwic_shared::subjects::EVENTS_STREAM)
            .await
            .map_err(|error| format!("cannot open the events stream: {error}"))?;
        stream
            .get_or_create_consumer(
                &self.name,
                pull::Config {
                    durable_name: Some(self.name.clone()),
                    filter_subject: cwic_shared::subjects::EVENTS_STREAM_SUBJECTS.to_owned(),
                    // A new installation starts with the events from now on; afterwards the
                    // consumer resumes where it left off.
                    deliver_policy: jetstream::consumer::DeliverPolicy::New,
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    max_ack_pending: 20_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|error| format!("cannot create the consumer {}: {error}", self.name))
    }

    /// Sets the consumer up, so a broken broker fails start-up instead of a background task.
    pub async fn prepare(&self) -> anyhow::Result<()> {
        self.consumer().await.map_err(anyhow::Error::msg)?;
        Ok(())
    }

    /// Consumes until `cancel` fires; the batch in progress is finished first.
    pub async fn run(self, cancel: CancellationToken) {
        info!(consumer = %self.name, "incident engine started");
        while !cancel.is_cancelled() {
            let consumer = match self.consumer().await {
                Ok(consumer) => consumer,
                Err(error) => {
                    warn!(%error, "incident engine cannot subscribe; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(RETRY_DELAY) => continue,
                    }
                }
            };
            let mut messages = match consumer.messages().await {
                Ok(messages) => messages,
                Err(error) => {
                    warn!(%error, "incident engine cannot read events; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(RETRY_DELAY) => continue,
                    }
                }
            };
            loop {
                let first = tokio::select! {
                    _ = cancel.cancelled() => return,
                    next = messages.next() => next,
                };
                let Some(first) = first else { break };
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match tokio::time::timeout(BATCH_LINGER, messages.next()).await {
                        Ok(Some(next)) => batch.push(next),
                        _ => break,
                    }
                }
                let mut delivered = Vec::with_capacity(batch.len());
                let mut events = Vec::with_capacity(batch.len());
                for message in batch {
                    let message = match message {
                        Ok(message) => message,
                        Err(error) => {
                            warn!(%error, "reading events failed");
                            continue;
                        }
                    };
                    match serde_json::from_slice::<Event>(&message.payload) {
                        Ok(event) if event.subject() == message.subject.as_str() => {
                            events.push(event);
                            delivered.push(message);
                        }
                        Ok(event) => {
                            warn!(id = %event.id, subject = %message.subject, "an event on another tenant's subject; dropped");
                            let _ = message.ack_with(AckKind::Term).await;
                        }
                        Err(error) => {
                            warn!(%error, subject = %message.subject, "a message that is no event; dropped");
                            let _ = message.ack_with(AckKind::Term).await;
                        }
                    }
                }
                match apply(&self.store, &events).await {
                    Ok(applied) => {
                        self.stats
                            .events
                            .fetch_add(events.len() as u64, Ordering::Relaxed);
                        self.stats
                            .alerts
                            .fetch_add(applied.alerts as u64, Ordering::Relaxed);
                        self.stats
                            .opened
                            .fetch_add(applied.opened as u64, Ordering::Relaxed);
                        self.stats
                            .resolved
                            .fetch_add(applied.resolved as u64, Ordering::Relaxed);
                        if applied.alerts > 0 {
                            debug!(events = events.len(), ?applied, "incident batch applied");
                        }
                        for message in &delivered {
                            if let Err(error) = message.ack().await {
                                // Delivered again later: applying it again changes nothing.
                                warn!(%error, "cannot acknowledge an event");
                            }
                        }
                    }
                    Err(error) => {
                        self.stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                        warn!(%error, events = events.len(), "incident batch failed; its events come back");
                        for message in &delivered {
                            let _ = message.ack_with(AckKind::Nak(Some(RETRY_DELAY))).await;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + chrono::TimeDelta::minutes(minutes)
    }

    fn signal(rule: &str, firing: bool, severity: Severity, minute: i64) -> Signal {
        Signal {
            event_id: Uuid::now_v7(),
            tenant: "acme".into(),
            asset_id: Some(Uuid::nil()),
            rule_key: rule.into(),
            kind: kinds::CHECK_FAILED,
            firing,
            severity: firing.then_some(severity),
            title: format!("{rule} {}", if firing { "failed" } else { "passed" }),
            observed_at: at(minute),
            event_at: at(minute),
            source_id: None,
            details: serde_json::json!({}),
        }
    }

    fn key(rule: &str) -> RuleKey {
        RuleKey {
            tenant: "acme".into(),
            asset: Some(Uuid::nil()),
            rule: rule.into(),
        }
    }

    #[test]
    fn alerts_of_one_rule_join_one_incident_and_a_recovery_resolves_it() {
        let plan = plan(
            vec![
                signal("check:a", true, Severity::High, 0),
                signal("check:a", true, Severity::Critical, 60),
                signal("check:b", true, Severity::Medium, 0),
                signal("check:a", false, Severity::Low, 120),
            ],
            Vec::new(),
            &BTreeMap::new(),
        );
        assert_eq!(plan.opened.len(), 2);
        let a = plan.opened.iter().find(|i| i.key.rule == "check:a").unwrap();
        assert_eq!((a.alert_count, a.severity), (2, Severity::Critical));
        assert_eq!(plan.resolved.len(), 1);
        assert_eq!(plan.resolved[0].id, a.id);
        assert!(plan.resolved[0].note.contains("check:a passed"));
        assert!(plan.alerts.iter().all(|alert| alert.incident_id.is_some()));
    }

    #[test]
    fn an_open_incident_takes_new_alerts_until_it_went_quiet_for_the_window() {
        let open = OpenIncident {
            id: Uuid::now_v7(),
            status: "acknowledged".into(),
            key: key("check:a"),
            severity: Severity::High,
            last_alert_at: Some(at(0)),
            details: serde_json::json!({}),
        };
        let joined = plan(
            vec![signal("check:a", true, Severity::High, 30)],
            vec![open.clone()],
            &BTreeMap::new(),
        );
        assert!(joined.opened.is_empty());
        assert_eq!(joined.joined.len(), 1);
        assert_eq!((joined.joined[0].added, joined.joined[0].raised), (1, false));
        assert_eq!(
            joined.joined[0].status, "acknowledged",
            "joining keeps the status"
        );

        let later = 24 * 60 + 1;
        let stale = plan(
            vec![signal("check:a", true, Severity::High, later)],
            vec![open],
            &BTreeMap::new(),
        );
        assert_eq!(stale.opened.len(), 1, "a new incident after a quiet day");
        assert_eq!(stale.resolved.len(), 1);
        assert!(stale.resolved[0].note.contains("no alert for 24 h"));
        assert_eq!(
            (stale.resolved[0].severity, stale.resolved[0].asset),
            (Severity::High, Some(Uuid::nil())),
            "the resolved incident's own severity and asset"
        );
    }

    #[test]
    fn a_late_firing_alert_opens_nothing_and_a_stale_recovery_resolves_nothing() {
        let mut recovered = BTreeMap::new();
        recovered.insert(key("check:a"), at(10));
        let late = plan(
            vec![signal("check:a", true, Severity::High, 5)],
            Vec::new(),
            &recovered,
        );
        assert!(late.opened.is_empty());
        assert_eq!(late.alerts[0].incident_id, None);

        let open = OpenIncident {
            id: Uuid::now_v7(),
            status: "acknowledged".into(),
            key: key("check:a"),
            severity: Severity::High,
            last_alert_at: Some(at(20)),
            details: serde_json::json!({}),
        };
        let stale = plan(
            vec![signal("check:a", false, Severity::Low, 15)],
            vec![open],
            &BTreeMap::new(),
        );
        assert!(stale.resolved.is_empty(), "a pass older than the last failure");
    }

    #[test]
    fn a_score_drop_resolves_only_once_the_score_is_back_near_its_baseline() {
        let score = |firing: bool, previous: f64, now: f64, minute: i64| Signal {
            kind: kinds::SCORE_DROP,
            details: serde_json::json!({"previous": previous, "score": now}),
            ..signal("score_drop", firing, Severity::High, minute)
        };
        let opened = plan(vec![score(true, 90.0, 75.0, 0)], Vec::new(), &BTreeMap::new());
        let incident = &opened.opened[0];
        assert_eq!(incident.details["baseline"], 90.0);
        let open = OpenIncident {
            id: incident.id,
            status: "open".into(),
            key: incident.key.clone(),
            severity: incident.severity,
            last_alert_at: Some(incident.last_alert_at),
            details: incident.details.clone(),
        };
        let partly = plan(
            vec![score(false, 75.0, 80.0, 10)],
            vec![open.clone()],
            &BTreeMap::new(),
        );
        assert!(partly.resolved.is_empty(), "80 is not back within 5 of 90");
        let back = plan(vec![score(false, 80.0, 86.0, 20)], vec![open], &BTreeMap::new());
        assert_eq!(back.resolved.len(), 1);
    }

    #[test]
    fn an_issue_increase_opens_by_size_and_resolves_once_the_count_is_back() {
        use crate::events::{Event, EventData, ScoreChanged};
        let change = |previous: i32, issues: i32, minute: i64| {
            let mut event = Event::at(
                "acme",
                DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap(),
                EventData::ScoreChanged(ScoreChanged {
                    asset_id: Uuid::nil(),
                    previous: None,
                    score: None,
                    previous_issues: Some(previous),
                    issues: Some(issues),
                }),
            );
            event.tenant = "acme".into();
            signals(&event)
        };
        assert!(change(2, 6, 0).is_empty(), "4 more failing checks is no alert");
        assert_eq!(change(2, 7, 0)[0].severity, Some(Severity::High));
        assert_eq!(change(0, 10, 0)[0].severity, Some(Severity::Critical));
        let opened = plan(change(2, 12, 0), Vec::new(), &BTreeMap::new());
        let incident = &opened.opened[0];
        assert_eq!(
            (incident.severity, incident.details["baseline"].as_i64()),
            (Severity::Critical, Some(2))
        );
        let open = OpenIncident {
            id: incident.id,
            status: "open".into(),
            key: incident.key.clone(),
            severity: incident.severity,
            last_alert_at: Some(incident.last_alert_at),
            details: incident.details.clone(),
        };
        let fewer = plan(change(12, 5, 10), vec![open.clone()], &BTreeMap::new());
        assert!(fewer.resolved.is_empty(), "5 open issues are not back to 2");
        let back = plan(change(5, 2, 20), vec![open], &BTreeMap::new());
        assert_eq!(back.resolved.len(), 1);
    }
}
