//! Lineage parse throughput on typical statements (goal: >= 10,000 statements per second).
//!
//! `cargo bench -p cwic-control-plane --bench lineage_throughput`

#[path = "support/lineage_corpus.rs"]
mod lineage_corpus;

use std::process::ExitCode;
use std::time::Instant;

use cwic_control_plane::lineage::{analyze_script, dialect_for_name};

fn main() -> ExitCode {
    let (dialect, _) = dialect_for_name("postgres");
    let statements = lineage_corpus::STATEMENTS;
    // Warm up, and prove every statement is understood.
    for sql in statements {
        if let Err(error) = analyze_script(sql, dialect.as_ref()) {
            eprintln!("benchmark statement failed: {error}\n{sql}");
            return ExitCode::FAILURE;
        }
    }
    let rounds = 2_000;
    let started = Instant::now();
    let mut edges = 0;
    for _ in 0..rounds {
        for sql in statements {
            edges += analyze_script(sql, dialect.as_ref()).map_or(0, |lineage| lineage.column_edges.len());
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let count = rounds * statements.len();
    println!(
        "lineage throughput: {count} statements in {elapsed:.2} s = {:.0} statements/s ({edges} column edges)",
        count as f64 / elapsed
    );
    ExitCode::SUCCESS
}
