//! The wire contract between agents and the control plane, generated from `proto/`.
//!
//! Owns the protobuf messages and nothing else: no I/O, no domain logic. Mapping to `cwic-shared`
//! domain types happens at the edges (agent publisher, control-plane ingest).

/// `cwic.agent.v1`: what agents publish to JetStream, and the `AgentService` gRPC client and server.
pub mod agent {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/cwic.agent.v1.rs"));
    }
}

pub use prost::Message;
