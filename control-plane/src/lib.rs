//! The CWIC control plane: ingest from JetStream into PostgreSQL, and the REST API and console.
//!
//! Capabilities are top-level modules: `ingest` (broker → store), `store` (PostgreSQL), `api` (HTTP),
//! `detectors` (pure detector algorithms, no I/O: the streaming detector behind `cwic detect`, the
//! freshness and drift rules, the table model), `lineage` (SQL, dbt and OpenLineage lineage; the
//! graph itself lives in `store::lineage`), `monitoring` (what runs over stored history: detection
//! passes with feedback, forecasts and early warnings, root-cause analysis), `auth` and
//! `sso` (identity), `grpc` (the agent API: enrollment, heartbeat, config), `broker` (NATS
//! operator-mode keys and the agents' user JWTs), `agents` (enrollment tokens, agent config and
//! commands), `error` (the one service error), `jobs` (the PostgreSQL job queue every replica's worker claims background work
//! from), `events` (domain events: types, the outbox relay to JetStream, the consumer helper), `scoring`
//! (quality scores in seven dimensions, computed as jobs when evidence changes), `slas` (SLA
//! objectives as error budgets over rolling windows), `roi` (data downtime and ROI from incidents), `background` (routes each background job to its
//! capability). `app` wires them into one runnable [`app::Application`].

pub mod agents;
pub mod api;
pub mod app;
pub mod auth;
pub mod background;
pub mod broker;
pub mod channels;
pub mod contracts;
pub mod detectors;
pub mod error;
pub mod events;
pub mod grpc;
pub mod incidents;
pub mod ingest;
pub mod jobs;
pub mod lineage;
pub mod monitoring;
pub mod roi;
pub mod scoring;
pub mod slas;
pub mod sso;
pub mod store;
pub mod telemetry;
