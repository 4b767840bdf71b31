//! `cwic_agent`: runs next to the data, measures it, and ships only metrics to the control plane.
//!
//! The library behind the `cwic-agent` binary (whose `main.rs` only parses the [`cli`] and dispatches).
//! Capabilities: [`source`] (one trait and registry for every engine), [`profiler`], [`checks`],
//! [`collector`] (one collection run), [`spool`] and [`shipper`] (the outbox and its delivery),
//! [`commands`] and [`enroll`] (the control plane's side).

pub mod attached;
pub mod checks;
pub mod cli;
pub mod collector;
pub mod commands;
pub mod config;
pub mod contracts;
pub mod enroll;
pub mod histogram_memory;
pub mod metrics;
pub mod profile_cli;
pub mod profile_wire;
pub mod profiler;
pub mod run;
pub mod segments;
pub mod shipper;
pub mod source;
pub mod spool;
