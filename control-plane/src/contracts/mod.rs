//! Data contracts attached to assets (issue 13): `PUT /api/v1/assets/{id}/contract` validates an
//! ODCS v3 or datacontract.com document with the agent's own reader (`cwic_shared::contract`) and
//! stores it beside the asset; the asset's agent fetches it with `GetConfig` and runs it on every
//! collection, and the contract's status is the latest result of each of its checks.
//!
//! Owns: validation (file:line diagnostics), choosing the contract dataset that describes the
//! asset, the status read. Must not: judge data (the agent does, where the data lives).

pub mod service;
