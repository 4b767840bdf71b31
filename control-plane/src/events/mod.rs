//! Domain events: the typed set of things that happened (an asset was discovered, metrics were
//! stored, an anomaly opened …), written to the transactional outbox by the store function that
//! makes the change, and published to JetStream by the [`relay`].
//!
//! Owns the event types and their JSON envelope, the relay (outbox → JetStream) and the consumer
//! helper ([`consumer::EventConsumer`]) that the live feed, alert engine and score engine subscribe
//! with. Must not decide *when* an event happens: that is the store function that writes the change
//! (see `store::outbox` for the SQL); and must not publish anything that is not in the outbox (a
//! publish outside a committed transaction can announce a change that never happened).
//!
//! # Envelope
//!
//! Every event is published as one JSON object, version 1; fields may be added, never renamed or
//! removed (a breaking change is a new `version`):
//!
//! ```json
//! {
//!   "version": 1,
//!   "id": "0193a0f4-6c2e-7b3d-9f51-3c1e2a4b5d6f",
//!   "tenant": "acme",
//!   "kind": "metrics.stored",
//!   "occurred_at": "2026-12-07T01:02:03.456789Z",
//!   "data": {"batch_id": "…", "agent": "wh-1", "source": "warehouse", "assets": 20, "points": 500, …}
//! }
//! ```
//!
//! - `id`: UUID v7, unique per event, ordered by creation time; the `Nats-Msg-Id` of its message.
//! - `kind`: one of [`EventKind`]; `data` is that kind's payload (see [`EventData`]).
//! - `occurred_at`: when the change was made (committed by the same transaction).
//!
//! # Subjects and stream
//!
//! `cwic.<tenant>.events.<kind>` (e.g. `cwic.acme.events.anomaly.opened`) in the JetStream stream
//! `CWIC_EVENTS` (subjects `cwic.*.events.>`; limits in [`relay`]). A consumer takes every event of
//! a tenant with `cwic.<tenant>.events.>`, or one family with e.g. `cwic.<tenant>.events.anomaly.>`.
//!
//! # Guarantees
//!
//! - An event is in the outbox if and only if its change committed: no event is lost by a crash
//!   between commit and publish (the relay publishes it after the restart).
//! - Delivery is at least once. The broker drops a republished id within its duplicate window (a
//!   relay that crashed after publishing and before marking), so the stream normally holds each
//!   event once; consumers still skip ids they have seen ([`consumer::SeenIds`]).
//! - Order is not guaranteed across relay batches or replicas; ids are roughly time-ordered.
//!
//! # Adding an event
//!
//! Add a kind to [`EventKind`], a payload struct, and a variant to [`EventData`] (the serde rename
//! is the kind's name); then write it with `store::outbox::append` in the transaction that makes
//! the change.

pub mod consumer;
pub mod relay;

use chrono::{DateTime, Utc};
use cwic_shared::TenantId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The envelope version this code writes.
pub const ENVELOPE_VERSION: u32 = 1;

/// What kind of thing happened; the subject's last tokens (`cwic.<tenant>.events.<kind>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum EventKind {
    #[serde(rename = "asset.discovered")]
    AssetDiscovered,
    #[serde(rename = "metrics.stored")]
    MetricsStored,
    #[serde(rename = "check_result.stored")]
    CheckResultStored,
    #[serde(rename = "anomaly.opened")]
    AnomalyOpened,
    #[serde(rename = "anomaly.closed")]
    AnomalyClosed,
    #[serde(rename = "schema.changed")]
    SchemaChanged,
    #[serde(rename = "agent.status_changed")]
    AgentStatusChanged,
    #[serde(rename = "score.changed")]
    ScoreChanged,
    /// An incident opened (the incident engine, on a firing alert with no open incident).
    #[serde(rename = "incident.opened")]
    IncidentOpened,
    /// Alerts joined an incident, or a person acknowledged or snoozed it, or its snooze ended.
    #[serde(rename = "incident.updated")]
    IncidentUpdated,
    /// An incident ended: its signal recovered, or a person resolved or closed it.
    #[serde(rename = "incident.resolved")]
    IncidentResolved,
    /// An SLA objective stopped being met (its latest minute is missed).
    #[serde(rename = "sla.breached")]
    SlaBreached,
    /// An SLA objective's error budget over its window is spent.
    #[serde(rename = "sla.budget_exhausted")]
    SlaBudgetExhausted,
    /// An agent could not collect an asset (its observation carries the error), each time.
    #[serde(rename = "collection.failed")]
    CollectionFailed,
    /// The first collection of an asset without an error after one with.
    #[serde(rename = "collection.recovered")]
    CollectionRecovered,
}

impl EventKind {
    pub const ALL: [EventKind; 15] = [
        EventKind::AssetDiscovered,
        EventKind::MetricsStored,
        EventKind::CheckResultStored,
        EventKind::AnomalyOpened,
        EventKind::AnomalyClosed,
        EventKind::SchemaChanged,
        EventKind::AgentStatusChanged,
        EventKind::ScoreChanged,
        EventKind::IncidentOpened,
        EventKind::IncidentUpdated,
        EventKind::IncidentResolved,
        EventKind::SlaBreached,
        EventKind::SlaBudgetExhausted,
        EventKind::CollectionFailed,
        EventKind::CollectionRecovered,
    ];

    /// The kind's name, as in the envelope, the subject and the outbox's `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::AssetDiscovered => "asset.discovered",
            EventKind::MetricsStored => "metrics.stored",
            EventKind::CheckResultStored => "check_result.stored",
            EventKind::AnomalyOpened => "anomaly.opened",
            EventKind::AnomalyClosed => "anomaly.closed",
            EventKind::SchemaChanged => "schema.changed",
            EventKind::AgentStatusChanged => "agent.status_changed",
            EventKind::ScoreChanged => "score.changed",
            EventKind::IncidentOpened => "incident.opened",
            EventKind::IncidentUpdated => "incident.updated",
            EventKind::IncidentResolved => "incident.resolved",
            EventKind::SlaBreached => "sla.breached",
            EventKind::SlaBudgetExhausted => "sla.budget_exhausted",
            EventKind::CollectionFailed => "collection.failed",
            EventKind::CollectionRecovered => "collection.recovered",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An asset (table, view, file) was observed for the first time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssetDiscovered {
    pub asset_id: Uuid,
    pub source: String,
    pub schema: String,
    pub name: String,
    /// `table`, `view`, `materialized_view`, `foreign_table`, `file` or `unknown`.
    pub asset_kind: String,
    /// The agent that observed it.
    pub agent: String,
}

/// One agent batch was stored (one event per batch, with its counts, not one per point).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricsStored {
    pub batch_id: Uuid,
    pub agent: String,
    pub source: String,
    /// When the agent collected the batch.
    pub collected_at: DateTime<Utc>,
    /// Assets the batch observed.
    pub assets: u32,
    /// Metric points stored.
    pub points: u32,
    /// Check results in the batch.
    pub check_results: u32,
}

/// One check result was stored (one event per check run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckResultStored {
    pub asset_id: Uuid,
    pub check: String,
    /// `pass`, `fail` or `error`.
    pub status: String,
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    /// One of the seven quality dimensions.
    pub dimension: String,
    pub observed_at: DateTime<Utc>,
    pub batch_id: Uuid,
    pub failing_rows: Option<i64>,
    pub total_rows: Option<i64>,
}

/// Why an anomaly closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyCloseReason {
    /// A later detection pass over the series no longer finds it.
    NoLongerDetected,
    /// A user judged it (`expected` or `false_positive`).
    Feedback,
}

/// An anomaly event was detected on a series (a new row in `anomaly_events`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnomalyOpened {
    /// The anomaly event's id (`GET /api/v1/anomalies/{id}`).
    pub anomaly_id: Uuid,
    pub asset_id: Uuid,
    pub metric: String,
    /// Empty for table-level metrics.
    pub column: String,
    pub observed_at: DateTime<Utc>,
    pub value: f64,
    pub expected_low: Option<f64>,
    pub expected_high: Option<f64>,
    pub score: f64,
}

/// An open anomaly event closed: re-detection dropped it, or a user gave feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnomalyClosed {
    pub anomaly_id: Uuid,
    pub asset_id: Uuid,
    pub metric: String,
    pub column: String,
    pub observed_at: DateTime<Utc>,
    pub reason: AnomalyCloseReason,
    /// The verdict, when closed by feedback.
    pub feedback: Option<String>,
}

/// A column whose type or nullability changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ColumnTypeChange {
    pub column: String,
    pub previous_type: String,
    pub data_type: String,
    pub previous_nullable: bool,
    pub nullable: bool,
}

/// The columns an agent reported for an asset differ from the ones it reported last time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SchemaChanged {
    pub asset_id: Uuid,
    pub batch_id: Uuid,
    /// When the agent saw the new schema.
    pub observed_at: DateTime<Utc>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<ColumnTypeChange>,
}

/// Whether an agent is heard from (DESIGN: online within 90 s, stale up to 15 min, then offline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentLiveness {
    Online,
    Stale,
    Offline,
}

impl From<crate::store::agents::Liveness> for AgentLiveness {
    fn from(liveness: crate::store::agents::Liveness) -> Self {
        use crate::store::agents::Liveness;
        match liveness {
            Liveness::Online => AgentLiveness::Online,
            Liveness::Stale => AgentLiveness::Stale,
            Liveness::Offline => AgentLiveness::Offline,
        }
    }
}

/// What made an agent's status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatusReason {
    /// The agent enrolled (first time, or again with a new credential).
    Enrolled,
    /// Its heartbeat reports another status than the last one (`running`, `stopped`, …).
    Reported,
    /// Its heartbeat arrived after it had gone stale or offline.
    BackOnline,
    /// Nothing was heard from it for longer than the stale limit (15 min): the periodic upkeep
    /// says so once per silence.
    WentOffline,
}

/// An agent's status changed. Emitted on enrollment, on a heartbeat that changes the reported
/// status or brings the agent back from stale/offline, and once when it goes offline (the
/// periodic incident upkeep notices the silence). Going stale is the absence of
/// a write, so it is not emitted here (a periodic job can add it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentStatusChanged {
    pub agent: String,
    pub reason: AgentStatusReason,
    /// The status the agent reports about itself now (`""` before its first heartbeat).
    pub status: String,
    /// The one before (`None` for an agent new to the control plane).
    pub previous_status: Option<String>,
    pub liveness: AgentLiveness,
    pub previous_liveness: AgentLiveness,
    pub version: String,
}

/// An asset's quality score changed (the scoring job, when a computation moves it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreChanged {
    pub asset_id: Uuid,
    pub previous: Option<f64>,
    pub score: Option<f64>,
    /// How many of the asset's checks failed at the previous computation (its open issues);
    /// null when unknown.
    #[serde(default)]
    pub previous_issues: Option<i32>,
    /// How many fail now.
    #[serde(default)]
    pub issues: Option<i32>,
}

/// An agent's collection of an asset failed, or succeeded again after failing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CollectionChanged {
    pub asset_id: Uuid,
    /// What the agent reported (`collection.failed`); null on a recovery.
    pub error: Option<String>,
    /// The error of the collection before, when it failed too.
    pub previous_error: Option<String>,
}

/// An incident opened, changed or ended (`status`: open, acknowledged, snoozed, resolved, closed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentChanged {
    pub incident_id: Uuid,
    pub status: String,
    pub severity: String,
    pub asset_id: Option<Uuid>,
}

/// An SLA objective stopped being met, or its error budget ran out (the SLA evaluator emits
/// each once per transition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SlaBreached {
    pub sla_id: Uuid,
    /// The SLA's asset; null for an SLA on a tag.
    pub asset_id: Option<Uuid>,
    /// The SLA's tag; null for an SLA on one asset.
    #[serde(default)]
    pub tag: Option<String>,
    /// `score`, `open_critical`, `freshness`, `availability`, `acknowledge` or `resolve`.
    #[serde(default)]
    pub objective: String,
    /// The error budget left over the window, in minutes (negative: overspent).
    #[serde(default)]
    pub remaining_minutes: f64,
    /// What happened, for a person: "orders fresh: freshness not met (5.8 h of a 7.2 h error budget left)".
    pub description: String,
}

/// An event's payload, tagged by its kind: `{"kind": "<kind>", "data": {…}}` in the envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "data")]
pub enum EventData {
    #[serde(rename = "asset.discovered")]
    AssetDiscovered(AssetDiscovered),
    #[serde(rename = "metrics.stored")]
    MetricsStored(MetricsStored),
    #[serde(rename = "check_result.stored")]
    CheckResultStored(CheckResultStored),
    #[serde(rename = "anomaly.opened")]
    AnomalyOpened(AnomalyOpened),
    #[serde(rename = "anomaly.closed")]
    AnomalyClosed(AnomalyClosed),
    #[serde(rename = "schema.changed")]
    SchemaChanged(SchemaChanged),
    #[serde(rename = "agent.status_changed")]
    AgentStatusChanged(AgentStatusChanged),
    #[serde(rename = "score.changed")]
    ScoreChanged(ScoreChanged),
    #[serde(rename = "incident.opened")]
    IncidentOpened(IncidentChanged),
    #[serde(rename = "incident.updated")]
    IncidentUpdated(IncidentChanged),
    #[serde(rename = "incident.resolved")]
    IncidentResolved(IncidentChanged),
    #[serde(rename = "sla.breached")]
    SlaBreached(SlaBreached),
    #[serde(rename = "sla.budget_exhausted")]
    SlaBudgetExhausted(SlaBreached),
    #[serde(rename = "collection.failed")]
    CollectionFailed(CollectionChanged),
    #[serde(rename = "collection.recovered")]
    CollectionRecovered(CollectionChanged),
}

impl EventData {
    pub fn kind(&self) -> EventKind {
        match self {
            EventData::AssetDiscovered(_) => EventKind::AssetDiscovered,
            EventData::MetricsStored(_) => EventKind::MetricsStored,
            EventData::CheckResultStored(_) => EventKind::CheckResultStored,
            EventData::AnomalyOpened(_) => EventKind::AnomalyOpened,
            EventData::AnomalyClosed(_) => EventKind::AnomalyClosed,
            EventData::SchemaChanged(_) => EventKind::SchemaChanged,
            EventData::AgentStatusChanged(_) => EventKind::AgentStatusChanged,
            EventData::ScoreChanged(_) => EventKind::ScoreChanged,
            EventData::IncidentOpened(_) => EventKind::IncidentOpened,
            EventData::IncidentUpdated(_) => EventKind::IncidentUpdated,
            EventData::IncidentResolved(_) => EventKind::IncidentResolved,
            EventData::SlaBreached(_) => EventKind::SlaBreached,
            EventData::SlaBudgetExhausted(_) => EventKind::SlaBudgetExhausted,
            EventData::CollectionFailed(_) => EventKind::CollectionFailed,
            EventData::CollectionRecovered(_) => EventKind::CollectionRecovered,
        }
    }

    /// The payload alone (the envelope's `data`), as the outbox stores it.
    pub fn payload(&self) -> serde_json::Result<serde_json::Value> {
        let mut tagged = serde_json::to_value(self)?;
        Ok(tagged
            .get_mut("data")
            .map(serde_json::Value::take)
            .unwrap_or(serde_json::Value::Null))
    }

    /// The payload of a `kind` as stored in the outbox, typed again.
    pub fn from_payload(kind: EventKind, data: serde_json::Value) -> serde_json::Result<Self> {
        serde_json::from_value(serde_json::json!({"kind": kind.as_str(), "data": data}))
    }
}

/// One domain event: the envelope (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Always [`ENVELOPE_VERSION`] for what this code writes.
    pub version: u32,
    /// UUID v7; the message's `Nats-Msg-Id`.
    pub id: Uuid,
    pub tenant: String,
    pub occurred_at: DateTime<Utc>,
    /// `kind` and `data`.
    #[serde(flatten)]
    pub data: EventData,
}

impl Event {
    /// A new event of `tenant`, happening now, with a fresh id.
    pub fn new(tenant: &TenantId, data: EventData) -> Self {
        Self::at(tenant.as_str(), Utc::now(), data)
    }

    /// A new event of `tenant` (a tenant id as stored) that happened at `occurred_at`, with a
    /// fresh id.
    pub fn at(tenant: &str, occurred_at: DateTime<Utc>, data: EventData) -> Self {
        Self {
            version: ENVELOPE_VERSION,
            id: Uuid::now_v7(),
            tenant: tenant.to_owned(),
            occurred_at,
            data,
        }
    }

    pub fn kind(&self) -> EventKind {
        self.data.kind()
    }

    /// `cwic.<tenant>.events.<kind>`.
    pub fn subject(&self) -> String {
        format!("cwic.{}.events.{}", self.tenant, self.kind().as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn sample() -> Event {
        Event::new(
            &TenantId::parse("acme").unwrap(),
            EventData::MetricsStored(MetricsStored {
                batch_id: Uuid::nil(),
                agent: "wh-1".into(),
                source: "warehouse".into(),
                collected_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
                assets: 20,
                points: 500,
                check_results: 0,
            }),
        )
    }

    #[test]
    fn the_envelope_has_the_documented_fields() {
        let event = sample();
        let json = serde_json::to_value(&event).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["data", "id", "kind", "occurred_at", "tenant", "version"]);
        assert_eq!(json["version"], 1);
        assert_eq!(json["kind"], "metrics.stored");
        assert_eq!(json["tenant"], "acme");
        assert_eq!(json["data"]["points"], 500);
        assert_eq!(json["data"]["collected_at"], "2027-01-15T08:00:00Z");
        assert_eq!(event.subject(), "cwic.acme.events.metrics.stored");
        assert_eq!(event.id.get_version_num(), 7);
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn payloads_round_trip_through_the_outbox_columns() {
        let event = sample();
        let data = event.data.payload().unwrap();
        assert_eq!(data["agent"], "wh-1");
        assert_eq!(EventData::from_payload(event.kind(), data).unwrap(), event.data);
    }

    #[test]
    fn kinds_parse_and_name_subject_tokens() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert!(
                kind.as_str()
                    .split('.')
                    .all(|token| !token.is_empty()
                        && token.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')),
                "{kind} must be subject tokens of [a-z_]"
            );
        }
        assert_eq!(EventKind::parse("nonsense"), None);
    }

    #[test]
    fn the_schema_names_every_kind() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_string(&EventData::schema()).unwrap();
        for kind in EventKind::ALL {
            assert!(schema.contains(kind.as_str()), "{kind} missing from the schema");
        }
    }
}
