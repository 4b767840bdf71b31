//! The CWIC control plane: ingest from JetStream into PostgreSQL, and the REST API and console.
//!
//! Capabilities are top-level modules: `ingest` (broker → store), `store` (PostgreSQL), `api` (HTTP),
//! `anomaly` (the streaming detector behind `cwic detect`), `lineage` (SQL, dbt and OpenLineage
//! lineage; the graph itself lives in `store::lineage`), `intelligence` (continuous detection with
//! feedback, forecasts and early warnings, root-cause analysis over stored history), `auth` and
//! `sso` (identity), `grpc` (the agent API: enrollment, heartbeat, config; NATS operator-mode
//! credentials).
//! `events` (domain events: types, the outbox relay to JetStream, the consumer helper).
//! `app` wires them into one runnable [`app::Application`].

pub mod anomaly;
pub mod api;
pub mod app;
pub mod auth;
pub mod events;
pub mod grpc;
pub mod ingest;
pub mod intelligence;
pub mod lineage;
pub mod sso;
pub mod store;
pub mod telemetry;
