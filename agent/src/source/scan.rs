//! The profiling scan of every source ([`Source::list_tables`](super::Source::list_tables) and
//! [`Source::scan`](super::Source::scan)): a table listing with columns and table facts, and one
//! stream of a table into [`ColumnBatch`]es for the profiler's kernels.
//!
//! Owns the shapes shared by the engines (PostgreSQL, MySQL/MariaDB, SQLite, CSV, NDJSON, Parquet),
//! the batch hand-over to the profiling workers ([`BatchSink`]) and the row-by-row batch builder the
//! row-oriented engines use. Must not compute statistics (that is `profiler`) or print anything (that
//! is `profile_cli`).

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::profiler::{ColumnBatch, ColumnBuffer, ColumnShape, ColumnValues};

/// Why a listing or a scan failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot connect to {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("listing tables failed: {0}")]
    Discover(String),
    #[error("reading the table failed: {0}")]
    Read(String),
    #[error("{0}")]
    Scan(#[from] super::postgres::profile::ScanError),
    #[error("the profiler stopped before the scan ended")]
    ConsumerGone,
}

pub type ReadResult<T> = Result<T, ReadError>;

/// A table as the profiler sees it, whatever the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// PostgreSQL schema, MySQL database, SQLite `main`, or a file's directory name.
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    /// Rows the engine expects (planner estimate, MySQL `TABLE_ROWS`, Parquet metadata); drives the
    /// progress bar only.
    pub estimated_rows: Option<u64>,
    /// Bytes on disk where the engine tells (relation size, data + index length, file size).
    pub size_bytes: Option<i64>,
    /// Last modification as the engine or file system records it (RFC 3339 UTC), if it does.
    pub modified_at: Option<String>,
}

impl TableInfo {
    pub fn label(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// The shapes of the columns that are read, in batch order.
    pub fn read_columns(&self) -> Vec<(String, ColumnShape)> {
        self.columns
            .iter()
            .filter_map(|column| {
                column
                    .read
                    .as_ref()
                    .ok()
                    .map(|shape| (column.name.clone(), *shape))
            })
            .collect()
    }

    /// xxh3 of the column names and types in order: changes exactly when the schema does.
    pub fn schema_fingerprint(&self) -> String {
        let mut text = String::new();
        for column in &self.columns {
            // Unit and record separators cannot occur in catalog names and types.
            text.push_str(&column.name);
            text.push('\u{1f}');
            text.push_str(&column.data_type);
            text.push('\u{1e}');
        }
        format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    /// The engine's type name (`numeric(15,2)`, `varchar(44)`, `INTEGER`, `Timestamp(µs, UTC)`), or
    /// the type inferred for a text file.
    pub data_type: String,
    /// The buffer the column is read into, or why it is left out (a type that cannot be profiled).
    pub read: Result<ColumnShape, String>,
}

/// What one scan did: rows read, rows skipped as malformed, and where its time went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanSummary {
    pub rows: u64,
    /// From the start of the read to its end.
    pub elapsed: Duration,
    /// Time spent waiting for a worker to take a batch (the profilers were the bottleneck).
    pub blocked: Duration,
    /// Malformed rows left out (files only), with the first few reasons as `file:line: what`.
    pub skipped_rows: u64,
    pub warnings: Vec<String>,
}

/// Most malformed-row messages kept per table; the rest are only counted.
pub const MAX_WARNINGS: usize = 20;

impl ScanSummary {
    pub fn warn(&mut self, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        }
    }
}

/// Which tables to profile: all of them, or the named ones (`schema.table`, or `table` in the
/// engine's default schema).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn parse(text: &str) -> Self {
        match text.split_once('.') {
            Some((schema, name)) => Self {
                schema: Some(schema.to_owned()),
                name: name.to_owned(),
            },
            None => Self {
                schema: None,
                name: text.to_owned(),
            },
        }
    }

    pub fn matches(&self, schema: &str, name: &str) -> bool {
        self.name == name && self.schema.as_deref().is_none_or(|wanted| wanted == schema)
    }
}

/// Hands full batches to the profiling workers in turn, through bounded channels, and reports the
/// running row count.
pub struct BatchSink {
    workers: Vec<mpsc::Sender<ColumnBatch>>,
    turn: usize,
    batch_rows: usize,
    rows: u64,
    blocked: Duration,
    on_rows: Box<dyn FnMut(u64) + Send>,
}

impl BatchSink {
    pub fn new(
        workers: Vec<mpsc::Sender<ColumnBatch>>,
        batch_rows: usize,
        on_rows: impl FnMut(u64) + Send + 'static,
    ) -> Self {
        Self {
            workers,
            turn: 0,
            batch_rows: batch_rows.max(1),
            rows: 0,
            blocked: Duration::ZERO,
            on_rows: Box::new(on_rows),
        }
    }

    pub fn batch_rows(&self) -> usize {
        self.batch_rows
    }

    /// Time spent waiting for a worker so far.
    pub fn blocked(&self) -> Duration {
        self.blocked
    }

    /// Sends a batch of `rows` rows to the next worker.
    pub async fn send(&mut self, batch: ColumnBatch, rows: usize) -> ReadResult<()> {
        let worker = self
            .workers
            .get(self.turn % self.workers.len().max(1))
            .ok_or(ReadError::ConsumerGone)?;
        self.turn += 1;
        let sending = Instant::now();
        worker.send(batch).await.map_err(|_| ReadError::ConsumerGone)?;
        self.blocked += sending.elapsed();
        self.rows += rows as u64;
        (self.on_rows)(self.rows);
        Ok(())
    }

    /// Drops the senders, so the workers finish once they have drained their queues.
    pub fn close(&mut self) {
        self.workers.clear();
    }
}

/// Builds batches row by row for the engines that decode one value at a time: push one value
/// per read column, then [`end_row`](Self::end_row); a full batch is sent on.
pub struct RowBatcher {
    shapes: Vec<ColumnShape>,
    batch: ColumnBatch,
    rows: usize,
    /// Per column, the message of the first value that did not fit its type: the column then holds
    /// NULLs and the profiler reports the message instead of a profile.
    failed: Vec<Option<String>>,
}

impl RowBatcher {
    pub fn new(shapes: Vec<ColumnShape>, batch_rows: usize) -> Self {
        let batch = ColumnBatch::new(&shapes, batch_rows);
        let failed = vec![None; shapes.len()];
        Self {
            shapes,
            batch,
            rows: 0,
            failed,
        }
    }

    /// Appends `value` to column `index`. A value that does not fit the column's shape fails the
    /// column with `at(): expected …, found …` (`at` names the place: `file.csv:17`, `row 5`); a
    /// failed column takes NULLs from then on.
    pub fn push(&mut self, index: usize, value: CellValue<'_>, at: impl FnOnce() -> String) {
        let failed = self.failed.get(index).is_some_and(Option::is_some);
        let Some(buffer) = self.batch.columns.get_mut(index) else {
            return;
        };
        if failed {
            buffer.push_null();
            return;
        }
        if let Err(message) = push_cell(buffer, value)
            && let Some(slot) = self.failed.get_mut(index)
        {
            let message = format!("{}: {message}", at());
            *slot = Some(message.clone());
            buffer.failed = Some(message);
            buffer.push_null();
        }
    }

    /// Marks column `index` as failed with `message` (the first failure wins) and appends a NULL.
    pub fn fail(&mut self, index: usize, message: String) {
        if let Some(slot) = self.failed.get_mut(index)
            && slot.is_none()
        {
            *slot = Some(message.clone());
            if let Some(buffer) = self.batch.columns.get_mut(index) {
                buffer.failed = Some(message);
            }
        }
        if let Some(buffer) = self.batch.columns.get_mut(index) {
            buffer.push_null();
        }
    }

    /// Appends the value `decode` yields for column `index` of row `row_number` (`row 5: …` names a
    /// failure); a failed column is not decoded again and takes NULLs.
    pub fn push_decoded<'v>(
        &mut self,
        index: usize,
        row_number: u64,
        decode: impl FnOnce() -> Result<CellValue<'v>, String>,
    ) {
        if self.has_failed(index) {
            self.push(index, CellValue::Null, String::new);
            return;
        }
        match decode() {
            Ok(value) => self.push(index, value, || format!("row {row_number}")),
            Err(message) => self.fail(index, format!("row {row_number}: {message}")),
        }
    }

    pub fn has_failed(&self, index: usize) -> bool {
        self.failed.get(index).is_some_and(Option::is_some)
    }

    /// Ends a row; sends the batch once it is full.
    pub async fn end_row(&mut self, sink: &mut BatchSink) -> ReadResult<()> {
        self.rows += 1;
        if self.rows >= sink.batch_rows() {
            self.flush(sink).await?;
        }
        Ok(())
    }

    /// Sends what is left.
    pub async fn flush(&mut self, sink: &mut BatchSink) -> ReadResult<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.batch, ColumnBatch::new(&self.shapes, sink.batch_rows()));
        for (buffer, failed) in self.batch.columns.iter_mut().zip(&self.failed) {
            buffer.failed.clone_from(failed);
        }
        let rows = std::mem::take(&mut self.rows);
        sink.send(full, rows).await
    }
}

/// One decoded value, before it goes into its column's buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellValue<'a> {
    Null,
    Integer(i64),
    Float(f64),
    Text(&'a str),
    Boolean(bool),
    /// Microseconds since the Unix epoch, UTC.
    Micros(i64),
    /// A decimal already scaled to the column's mantissa.
    Mantissa(i64),
}

/// Appends `value` to `buffer`, converting where no information is lost; an error names what the
/// column expected.
fn push_cell(buffer: &mut ColumnBuffer, value: CellValue<'_>) -> Result<(), String> {
    if value == CellValue::Null {
        buffer.push_null();
        return Ok(());
    }
    match (&mut buffer.values, value) {
        (ColumnValues::Integer(values), CellValue::Integer(value))
        | (ColumnValues::Decimal(values), CellValue::Mantissa(value))
        | (ColumnValues::Micros(values), CellValue::Micros(value)) => values.push(value),
        (ColumnValues::Float(values), CellValue::Float(value)) => values.push(value),
        (ColumnValues::Float(values), CellValue::Integer(value)) => values.push(value as f64),
        (ColumnValues::Boolean(values), CellValue::Boolean(value)) => values.push(value),
        (ColumnValues::Text { bytes, ends }, CellValue::Text(text)) => {
            bytes.extend_from_slice(text.as_bytes());
            ends.push(bytes.len());
        }
        (_, other) => {
            return Err(format!(
                "expected {}, found {}",
                shape_name(buffer),
                describe(other)
            ));
        }
    }
    buffer.valid.push(true);
    Ok(())
}

fn shape_name(buffer: &ColumnBuffer) -> &'static str {
    match buffer.values {
        ColumnValues::Integer(_) => "an integer",
        ColumnValues::Decimal(_) => "a decimal",
        ColumnValues::Float(_) => "a number",
        ColumnValues::Text { .. } => "text",
        ColumnValues::Micros(_) => "a date or timestamp",
        ColumnValues::Boolean(_) => "a boolean",
    }
}

fn describe(value: CellValue<'_>) -> String {
    match value {
        CellValue::Null => "NULL".to_owned(),
        CellValue::Integer(value) | CellValue::Mantissa(value) => format!("the integer {value}"),
        CellValue::Float(value) => format!("the number {value}"),
        CellValue::Text(text) => format!("`{}`", text.chars().take(40).collect::<String>()),
        CellValue::Boolean(value) => format!("the boolean {value}"),
        CellValue::Micros(_) => "a timestamp".to_owned(),
    }
}

/// A decimal text (`-123.45`, `1e3` not accepted) as an `i64` mantissa with `scale` fractional
/// digits; `None` when it is not a plain decimal, has more fractional digits, or does not fit.
pub fn parse_mantissa(text: &str, scale: u32) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|byte| byte.is_ascii_digit())
    {
        return None;
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > scale as usize {
        return None;
    }
    let mut mantissa: i128 = 0;
    for byte in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(byte - b'0'))?;
        if mantissa > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    for _ in fraction.len()..scale as usize {
        mantissa = mantissa.checked_mul(10)?;
    }
    let mantissa = if negative { -mantissa } else { mantissa };
    i64::try_from(mantissa).ok()
}

/// A date or timestamp text as microseconds since the epoch, UTC: RFC 3339 (`2024-03-10T12:00:00+05:30`),
/// the same with a space or without a zone (taken as UTC), or a plain date (`2024-03-10`, midnight UTC).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let text = text.trim();
    if text.len() < 10 {
        return None;
    }
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Some(parsed.timestamp_micros());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
    ] {
        if let Ok(parsed) = DateTime::parse_from_str(text, format) {
            return Some(parsed.timestamp_micros());
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(text, format) {
            return Some(parsed.and_utc().timestamp_micros());
        }
    }
    if text.len() == 10 {
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros());
    }
    None
}

/// A boolean text: `true`/`false`, `t`/`f`, `yes`/`no` in any case (not `1`/`0`, which are integers).
pub fn parse_boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" => Some(true),
        "false" | "f" | "no" => Some(false),
        _ => None,
    }
}

/// A number text, including `NaN`, `inf`, `Infinity` and their negatives.
pub fn parse_float(text: &str) -> Option<f64> {
    let text = text.trim();
    match text.to_ascii_lowercase().as_str() {
        "nan" => return Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    text.parse::<f64>().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn mantissas_are_exact_or_refused() {
        assert_eq!(parse_mantissa("123.45", 2), Some(12345));
        assert_eq!(parse_mantissa("-0.5", 2), Some(-50));
        assert_eq!(parse_mantissa("7", 3), Some(7000));
        assert_eq!(parse_mantissa("1.250", 2), Some(125));
        assert_eq!(parse_mantissa("1.255", 2), None);
        assert_eq!(parse_mantissa("abc", 2), None);
        assert_eq!(parse_mantissa("99999999999999999999", 0), None);
        assert_eq!(parse_mantissa("-9223372036854775808", 0), Some(i64::MIN));
    }

    #[test]
    fn timestamps_with_zones_become_utc() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(parse_timestamp("1970-01-01T05:30:00+05:30"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01 00:00:00.5"), Some(500_000));
        assert_eq!(parse_timestamp("1970-01-02"), Some(86_400_000_000));
        assert_eq!(parse_timestamp("1970-01-01 01:00:00+01"), Some(0));
        assert_eq!(parse_timestamp("not a date"), None);
        assert_eq!(parse_timestamp("12"), None);
    }

    #[test]
    fn texts_parse_to_values() {
        assert_eq!(parse_boolean("TRUE"), Some(true));
        assert_eq!(parse_boolean("1"), None);
        assert!(parse_float("NaN").unwrap().is_nan());
        assert_eq!(parse_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("1e-300"), Some(1e-300));
        assert_eq!(TableName::parse("a.b").schema.as_deref(), Some("a"));
        assert!(TableName::parse("b").matches("main", "b"));
    }

    #[test]
    fn a_value_of_the_wrong_kind_fails_only_its_column() {
        let mut batcher = RowBatcher::new(vec![ColumnShape::Integer, ColumnShape::Text], 8);
        let at = || "t.csv:3".to_owned();
        batcher.push(0, CellValue::Integer(1), at);
        batcher.push(1, CellValue::Text("a"), at);
        batcher.push(0, CellValue::Text("x"), at);
        batcher.push(1, CellValue::Text("b"), at);
        batcher.push(0, CellValue::Integer(3), at);
        batcher.push(1, CellValue::Null, at);
        assert!(batcher.has_failed(0));
        assert!(!batcher.has_failed(1));
        assert_eq!(batcher.batch.columns[0].len(), 3);
        assert_eq!(batcher.batch.columns[0].valid, vec![true, false, false]);
        assert_eq!(
            batcher.batch.columns[0].failed.as_deref(),
            Some("t.csv:3: expected an integer, found `x`")
        );
        assert_eq!(batcher.batch.columns[1].valid, vec![true, true, false]);
    }
}
