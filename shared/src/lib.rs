//! Domain types and pure logic shared by the agent and the control plane.
//!
//! Owns identifiers (parsed, never raw strings), metric names, the NATS subject scheme and the data
//! contract reader. Must not do
//! I/O or depend on tokio, sqlx or HTTP crates, so the agent stays small.

pub mod contract;
pub mod ids;
pub mod metrics;
pub mod nats_creds;
pub mod subjects;

pub use ids::{AgentId, IdError, TenantId};
pub use metrics::MetricKind;

/// Joins an error and its causes as `a: b: c` for a one-line message, leaving out a cause whose text
/// the message already holds (many errors repeat their source in their own text).
pub fn error_chain<'a>(chain: impl Iterator<Item = &'a (dyn std::error::Error + 'static)>) -> String {
    let mut line = String::new();
    for cause in chain {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("cannot open: {0}")]
    struct Outer(#[source] Inner);
    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Inner;
    #[derive(Debug, thiserror::Error)]
    #[error("cannot start")]
    struct Top(#[source] Outer);

    #[test]
    fn error_chain_reads_as_one_line_without_repeats() {
        let error = Top(Outer(Inner));
        let chain = std::iter::successors(Some(&error as &(dyn std::error::Error + 'static)), |e| e.source());
        assert_eq!(
            super::error_chain(chain),
            "cannot start: cannot open: connection refused"
        );
    }
}
