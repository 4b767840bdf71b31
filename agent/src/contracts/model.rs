//! The contract model and its readers live in `cwic_shared::contract` (the control plane reads
//! attached contracts with the same code); the agent adds reading them from files.

use std::path::Path;

pub use cwic_shared::contract::*;

/// Reads a contract file; a file that cannot be read is one error.
pub fn load(path: &Path) -> Parsed {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text),
        Err(error) => Parsed {
            contract: None,
            diagnostics: vec![Diagnostic {
                level: Level::Error,
                file: path.to_owned(),
                key: String::new(),
                line: None,
                column: None,
                message: format!("cannot read: {error}"),
            }],
        },
    }
}
