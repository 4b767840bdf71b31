//! Services over the tenant's agents: commands sent to a connected agent (request/reply on its
//! command subject), enrollment tokens, config documents and the agent list.
//!
//! Owns the validation of what a caller asks of an agent and the wire exchange with it. Must not:
//! know about HTTP (the REST handlers call these functions), or hold SQL (the store does).

pub mod commands;
pub mod service;
