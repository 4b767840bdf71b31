//! Data contracts: Open Data Contract Standard (ODCS v3) and datacontract.com specification files
//! read into what CWIC already runs — schema and quality rules become checks of the template
//! library, service levels become SLA descriptors (JSON) for the control plane.
//!
//! Owns reading, linting, translating and diffing contracts, and `cwic-agent contract …`. Must not
//! judge data itself: `contract test` hands the translated checks to the check runner, and SLAs are
//! only described here, never evaluated.

pub mod cli;
pub mod diff;
pub mod model;
pub mod translate;
