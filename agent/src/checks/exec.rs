//! Where checks touch a database: the [`CheckExecutor`] interface the planner's SQL runs through. Each
//! engine that runs checks implements it over its source's pool (`source::postgres`, `source::mysql`,
//! `source::sqlite`; reached through `Source::checks`). It runs the SQL the planner built and reads
//! every value as text (the planner casts), lists a dataset's columns from the catalog, and computes
//! distinct-value statistics.
//!
//! Owns the interface only. Must not open connections: the source does, once per session or command.

use futures::future::BoxFuture;

use super::dialect::Dialect;
use super::stream::{StreamSpec, StreamStats};

pub type ExecResult<T> = Result<T, sqlx::Error>;

/// One row of text values (NULL as `None`).
pub type TextRow = Vec<Option<String>>;

pub trait CheckExecutor: Send + Sync {
    fn dialect(&self) -> &'static dyn Dialect;

    /// Runs a statement returning one row and reads each value as text.
    fn fetch_one<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, ExecResult<TextRow>>;

    /// Runs a statement and reads up to `limit` rows as text.
    fn fetch_rows<'a>(&'a self, sql: &'a str, limit: usize) -> BoxFuture<'a, ExecResult<Vec<TextRow>>>;

    /// The dataset's columns and their type names in table order; empty when the table does not exist.
    fn columns<'a>(&'a self, dataset: &'a str) -> BoxFuture<'a, ExecResult<Vec<(String, String)>>>;

    /// Columns the catalog declares NOT NULL.
    fn not_null_columns<'a>(&'a self, dataset: &'a str) -> BoxFuture<'a, ExecResult<Vec<String>>>;

    /// Whether the engine can stream a table to the agent for checks judged there
    /// (`checks::stream`).
    fn can_stream(&self) -> bool {
        false
    }

    /// One streamed pass over the dataset, judged in the agent (see `checks::stream`).
    fn streamed_stats<'a>(
        &'a self,
        _dataset: &'a str,
        _spec: &'a StreamSpec,
    ) -> BoxFuture<'a, ExecResult<StreamStats>> {
        Box::pin(async {
            Err(sqlx::Error::Protocol(
                "streamed passes are not supported by this engine".into(),
            ))
        })
    }

    /// Runs statements in one transaction (fix scripts); returns the rows each statement affected.
    fn execute_in_transaction<'a>(&'a self, statements: &'a [String]) -> BoxFuture<'a, ExecResult<Vec<u64>>>;
}

/// `schema.table` → (`Some(schema)`, `table`); `table` → (`None`, `table`).
pub fn split_dataset(dataset: &str) -> (Option<&str>, &str) {
    match dataset.split_once('.') {
        Some((schema, table)) => (Some(schema), table),
        None => (None, dataset),
    }
}
