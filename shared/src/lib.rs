//! Domain types and pure logic shared by the agent and the control plane.
//!
//! Owns identifiers (parsed, never raw strings), metric names and the NATS subject scheme. Must not do
//! I/O or depend on tokio, sqlx or HTTP crates, so the agent stays small.

pub mod ids;
pub mod metrics;
pub mod subjects;

pub use ids::{AgentId, IdError, TenantId};
pub use metrics::MetricKind;
