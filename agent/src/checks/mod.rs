//! Checks: a declarative check language (YAML), a library of rule templates in seven dimensions,
//! pushdown SQL per dialect with fused scans, CI-ready scans, imports from dbt and Great
//! Expectations, and fix scripts.
//!
//! Owns everything from a check file to judged results. Must not pull table data into the agent
//! beyond the streamed pass judged there (`stream`: counts, hashes and per-value verdicts, never
//! rows kept) and a few masked failing samples; must not ship samples anywhere.

pub mod cli;
pub mod dialect;
pub mod exec;
pub mod fix;
pub mod import;
pub mod model;
pub mod report;
pub mod run;
pub mod schema;
pub mod ship;
pub mod stream;
pub mod templates;
