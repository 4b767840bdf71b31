//! Column-level SQL lineage.
//!
//! Owns: turning the SQL text of a script (one or more statements, in one of the dialects the
//! agents report) into table lineage (which tables it reads and writes) and end-to-end column
//! lineage (which source column feeds which target column, through temporary tables, CTEs and
//! subqueries), with names in the canonical form of the `cwic lineage` contract (DESIGN.md,
//! `bench/lineage/SOURCE.md`): unquoted identifiers lower-cased, quoted ones keep their case,
//! `<default>` schema when the SQL names none, `*` for wildcard lineage, a bare column name when
//! no single table can be attributed, file/URI paths as written.
//!
//! Also owns reading the other sources of lineage into the same [`job::JobLineage`] shape: dbt
//! manifests ([`dbt`]) and OpenLineage run events ([`openlineage`]).
//!
//! Must not: do I/O, touch the store or the network, log, or panic on any input (malformed SQL
//! is an error or a skipped statement, never a crash). Storing the graph is the store's job
//! (`store::lineage`); [`service`] alone calls the store, for the API and ingest.

mod analyzer;
pub mod dbt;
mod dialects;
mod expr;
mod graph;
pub mod job;
pub mod limits;
mod names;
pub mod openlineage;
mod script;
pub mod service;
mod source_text;
#[cfg(test)]
mod tests;

pub use dialects::dialect_for_name;

use graph::{ScriptGraph, StatementLineage};
use names::Dataset;
use script::ScriptItem;
use source_text::SourceText;

/// Lineage of a script as the benchmark contract prints it. Lists are sorted and deduplicated;
/// each column edge serializes as a two-element array `[source, target]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct ScriptLineage {
    pub source_tables: Vec<String>,
    pub target_tables: Vec<String>,
    pub column_edges: Vec<(String, String)>,
}

/// How a target column derives from a source column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// The value is copied as is (`SELECT a`, `SELECT t.a AS b`, `SELECT *`).
    Direct,
    /// The value is computed from the source (`a + b`, `cast(a AS int)`, `CASE ... END`).
    Expression,
    /// The value summarises many source rows (`max(a)`, `count(*)`).
    Aggregate,
}

/// One end-to-end column edge. Over several paths, `kind` is that of the least transformed
/// path, and a path is as transformed as its most transformed hop.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ColumnEdge {
    pub source: String,
    pub target: String,
    pub kind: EdgeKind,
}

/// Lineage with edge kinds and the statements that had to be skipped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct DetailedLineage {
    pub source_tables: Vec<String>,
    pub target_tables: Vec<String>,
    pub column_edges: Vec<ColumnEdge>,
    /// One message per statement that could not be parsed and was left out.
    pub warnings: Vec<String>,
}

impl DetailedLineage {
    /// The contract view: tables and `(source, target)` pairs without kinds.
    pub fn to_script_lineage(&self) -> ScriptLineage {
        ScriptLineage {
            source_tables: self.source_tables.clone(),
            target_tables: self.target_tables.clone(),
            column_edges: self
                .column_edges
                .iter()
                .map(|edge| (edge.source.clone(), edge.target.clone()))
                .collect(),
        }
    }
}

/// Errors of lineage analysis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineageError {
    /// No statement of the script could be read; location of the first problem (1-based).
    #[error("sql syntax error at line {line}, column {column}: {message}")]
    Syntax { line: u64, column: u64, message: String },
    /// An expression or set-operation chain deeper than the analyzer accepts (see [`limits`]).
    #[error(
        "sql nested too deeply at line {line}, column {column}: more than {limit} terms in one chain of \
         operators, set operations or parentheses; split the statement"
    )]
    TooDeep { line: u64, column: u64, limit: usize },
    #[error("sql of {bytes} bytes is over the limit of {limit} bytes")]
    TooLarge { bytes: usize, limit: usize },
}

impl LineageError {
    /// Whether the input was refused by [`limits`] (a hostile or broken input, not a dialect gap).
    pub fn is_over_limit(&self) -> bool {
        matches!(self, LineageError::TooDeep { .. } | LineageError::TooLarge { .. })
    }
}

/// Result type of this module.
pub type LineageResult<T> = Result<T, LineageError>;

/// Lineage of a whole script (see [`ScriptLineage`] for the output form).
pub fn analyze_script(sql: &str, dialect: &dyn sqlparser::dialect::Dialect) -> LineageResult<ScriptLineage> {
    analyze_script_detailed(sql, dialect).map(|detailed| detailed.to_script_lineage())
}

/// Lineage of a whole script with edge kinds and warnings about skipped statements.
///
/// Statements the dialect cannot parse are retried (other dialects, small repairs, DML inside
/// procedural blocks); those that still fail are skipped with a warning. It is an error only
/// when nothing in the script could be read, or when the script is over the [`limits`] (checked
/// before anything is parsed, so no input can build a tree too deep to walk or drop).
pub fn analyze_script_detailed(
    sql: &str,
    dialect: &dyn sqlparser::dialect::Dialect,
) -> LineageResult<DetailedLineage> {
    limits::check_script(sql)?;
    let source = SourceText::new(sql);
    let (parsed, tokenizations) = script::parse_script(&source, dialect)?;
    if parsed.handled == 0
        && let Some(first) = parsed.skipped.first()
    {
        return Err(first.clone());
    }
    let mut graph = ScriptGraph::default();
    // Statements of one procedure (same group) are merged into one before joining the graph.
    let mut pending: Option<(usize, StatementLineage)> = None;
    for item in &parsed.items {
        let (lineages, group) = match item {
            ScriptItem::Statement {
                statement,
                tokenization,
                group,
            } => {
                let tokens = tokenizations.computed(*tokenization);
                (
                    analyzer::analyze_statement(
                        statement,
                        &mut graph,
                        &source,
                        tokens,
                        dialects::quirks_of(tokenizations.dialect(*tokenization)),
                    ),
                    *group,
                )
            }
            ScriptItem::Exchange { target, source } => {
                let mut lineage = StatementLineage::default();
                lineage.writes.insert(Dataset::Table(target.clone()));
                lineage.reads.insert(Dataset::Table(source.clone()));
                (vec![lineage], None)
            }
        };
        match group {
            Some(group) => {
                let (_, combined) = match pending.take() {
                    Some((open, combined)) if open == group => (open, combined),
                    other => {
                        if let Some((_, finished)) = other {
                            graph.merge(finished);
                        }
                        (group, StatementLineage::default())
                    }
                };
                let mut combined = combined;
                for lineage in lineages {
                    combined.absorb(lineage);
                }
                pending = Some((group, combined));
            }
            None => {
                if let Some((_, finished)) = pending.take() {
                    graph.merge(finished);
                }
                for lineage in lineages {
                    graph.merge(lineage);
                }
            }
        }
    }
    if let Some((_, finished)) = pending.take() {
        graph.merge(finished);
    }
    let column_edges = graph
        .end_to_end_edges()
        .into_iter()
        .map(|edge| ColumnEdge {
            source: edge.source,
            target: edge.target,
            kind: edge.kind,
        })
        .collect();
    Ok(DetailedLineage {
        source_tables: graph.source_tables(),
        target_tables: graph.target_tables(),
        column_edges,
        warnings: parsed
            .skipped
            .iter()
            .map(|error| format!("statement skipped: {error}"))
            .collect(),
    })
}
