//! The NATS subject scheme (DESIGN.md): `cwic.<tenant>.agent.<agent>.<kind>` for agent traffic,
//! `cwic.<tenant>.agent.<agent>.cmd` for commands, `cwic.<tenant>.events.<kind>` for live events.

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
