//! The NATS subject scheme (DESIGN.md): `cwic.<tenant>.agent.<agent>.<kind>` for agent traffic,
//! `cwic.<tenant>.agent.<agent>.cmd` for commands, `cwic.<tenant>.events.<kind>` for domain events
//! (stream [`EVENTS_STREAM`], published by the control plane's outbox relay).

use std::fmt;

use crate::{AgentId, TenantId};

/// The JetStream stream that holds all agent traffic.
pub const AGENT_STREAM: &str = "CWIC_AGENT";
/// Subjects the agent stream captures: every kind an agent publishes, and not the command subject
/// (a command is a request; a stream capturing it would answer with its own publish ack).
pub const AGENT_STREAM_SUBJECTS: [&str; 5] = [
    "cwic.*.agent.*.metrics",
    "cwic.*.agent.*.checks",
    "cwic.*.agent.*.schema",
    "cwic.*.agent.*.lineage",
    "cwic.*.agent.*.heartbeat",
];
/// Subjects carrying metric batches, for consumer filters.
pub const METRICS_FILTER: &str = "cwic.*.agent.*.metrics";
/// Subjects carrying SQL for lineage, for consumer filters.
pub const LINEAGE_FILTER: &str = "cwic.*.agent.*.lineage";

/// The JetStream stream that holds domain events (the control plane's outbox relay publishes them).
pub const EVENTS_STREAM: &str = "CWIC_EVENTS";
/// Subjects the events stream captures: `cwic.<tenant>.events.<kind>` (a kind has one or more
/// dot-separated tokens, e.g. `anomaly.opened`). The third token, `events`, is never `agent`, so no
/// subject is in both this stream and [`AGENT_STREAM`] (JetStream refuses overlapping streams).
pub const EVENTS_STREAM_SUBJECTS: &str = "cwic.*.events.>";

/// The subject of one domain event: `cwic.<tenant>.events.<kind>`.
pub fn event_subject(tenant: &TenantId, kind: &str) -> String {
    format!("cwic.{tenant}.events.{kind}")
}

/// Every event of one tenant, for consumer filters: `cwic.<tenant>.events.>`.
pub fn tenant_events_filter(tenant: &TenantId) -> String {
    format!("cwic.{tenant}.events.>")
}

/// The subject an agent listens on for commands from the control plane (request/reply).
pub fn command_subject(tenant: &TenantId, agent: &AgentId) -> String {
    format!("cwic.{tenant}.agent.{agent}.cmd")
}

/// The reply-inbox prefix of an agent, `_INBOX.cwic.<tenant>.<agent>`: its broker credentials allow
/// subscribing below it only, so JetStream publish acks must arrive there.
pub fn agent_inbox_prefix(tenant: &TenantId, agent: &AgentId) -> String {
    format!("_INBOX.cwic.{tenant}.{agent}")
}

/// What an agent publishes on its own subject tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentSubjectKind {
    Metrics,
    Checks,
    Schema,
    Lineage,
    Heartbeat,
}

impl AgentSubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentSubjectKind::Metrics => "metrics",
            AgentSubjectKind::Checks => "checks",
            AgentSubjectKind::Schema => "schema",
            AgentSubjectKind::Lineage => "lineage",
            AgentSubjectKind::Heartbeat => "heartbeat",
        }
    }

    pub fn parse(token: &str) -> Option<Self> {
        [
            Self::Metrics,
            Self::Checks,
            Self::Schema,
            Self::Lineage,
            Self::Heartbeat,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == token)
    }
}

/// A parsed agent subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSubject {
    pub tenant: TenantId,
    pub agent: AgentId,
    pub kind: AgentSubjectKind,
}

impl AgentSubject {
    pub fn new(tenant: TenantId, agent: AgentId, kind: AgentSubjectKind) -> Self {
        Self { tenant, agent, kind }
    }

    /// Parses `cwic.<tenant>.agent.<agent>.<kind>`; `None` for anything else.
    pub fn parse(subject: &str) -> Option<Self> {
        let mut tokens = subject.split('.');
        let (Some("cwic"), Some(tenant), Some("agent"), Some(agent), Some(kind), None) = (
            tokens.next(),
            tokens.next(),
            tokens.next(),
            tokens.next(),
            tokens.next(),
            tokens.next(),
        ) else {
            return None;
        };
        Some(Self {
            tenant: TenantId::parse(tenant).ok()?,
            agent: AgentId::parse(agent).ok()?,
            kind: AgentSubjectKind::parse(kind)?,
        })
    }
}

impl fmt::Display for AgentSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cwic.{}.agent.{}.{}",
            self.tenant,
            self.agent,
            self.kind.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let subject = AgentSubject::new(
            TenantId::parse("acme").unwrap(),
            AgentId::parse("wh-1").unwrap(),
            AgentSubjectKind::Metrics,
        );
        assert_eq!(subject.to_string(), "cwic.acme.agent.wh-1.metrics");
        assert_eq!(AgentSubject::parse("cwic.acme.agent.wh-1.metrics"), Some(subject));
    }

    /// Two NATS subject patterns overlap when some subject matches both (token by token: `*`
    /// matches any one token, `>` any rest).
    fn overlap(a: &str, b: &str) -> bool {
        let (a, b): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
        for index in 0.. {
            match (a.get(index), b.get(index)) {
                (Some(&">"), Some(_)) | (Some(_), Some(&">")) => return true,
                (Some(x), Some(y)) if x == y || *x == "*" || *y == "*" => {}
                (None, None) => return true,
                _ => return false,
            }
        }
        false
    }

    #[test]
    fn event_subjects_stay_out_of_the_agent_stream() {
        assert!(overlap("cwic.*.events.>", "cwic.acme.events.anomaly.opened"));
        assert!(!overlap("cwic.*.agent.*.metrics", "cwic.acme.agent.a1.checks"));
        for agent in AGENT_STREAM_SUBJECTS {
            assert!(
                !overlap(agent, EVENTS_STREAM_SUBJECTS),
                "{agent} overlaps the events stream"
            );
        }
        // Nor do events reach an agent's command subject or reply inbox.
        assert!(!overlap("cwic.*.agent.*.cmd", EVENTS_STREAM_SUBJECTS));
        assert!(!overlap("_INBOX.>", EVENTS_STREAM_SUBJECTS));
        let acme = TenantId::parse("acme").unwrap();
        assert_eq!(
            event_subject(&acme, "metrics.stored"),
            "cwic.acme.events.metrics.stored"
        );
        assert!(overlap(
            &tenant_events_filter(&acme),
            &event_subject(&acme, "metrics.stored")
        ));
        let other = TenantId::parse("other").unwrap();
        assert!(!overlap(
            &tenant_events_filter(&other),
            &event_subject(&acme, "metrics.stored")
        ));
        assert_eq!(AgentSubject::parse(&event_subject(&acme, "metrics.stored")), None);
    }

    #[test]
    fn rejects_foreign_subjects() {
        for bad in [
            "cwic.acme.agent.wh-1",
            "cwic.acme.agent.wh-1.metrics.extra",
            "cwic.Acme.agent.wh-1.metrics",
            "cwic.acme.events.wh-1.metrics",
            "other.acme.agent.wh-1.metrics",
            "cwic.acme.agent.wh-1.nonsense",
        ] {
            assert_eq!(AgentSubject::parse(bad), None, "{bad}");
        }
    }
}
