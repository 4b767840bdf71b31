//! Files as sources: CSV (header row), newline-delimited JSON and Parquet. A file is one table; a
//! directory is one table per file it holds with a known extension (`.csv`, `.tsv`, `.ndjson`,
//! `.jsonl`, `.parquet`, `.pq`). The table's schema is the directory's name and its name the file's
//! stem (the whole file name when two files share a stem).
//!
//! CSV and NDJSON carry no types: each column's type is inferred from the first [`INFER_ROWS`]
//! rows (boolean, integer, number, timestamp, else text; an empty CSV field and a JSON `null` or
//! missing key are NULL). A malformed row (wrong field count, invalid UTF-8 or JSON) is skipped and
//! reported as `file:line: what`; a later value that does not fit its column's inferred type fails
//! that column with its `file:line`, and the other columns complete. Parquet brings its own types
//! (see [`parquet_file`]).
//!
//! Reads are plain blocking file reads on the scanning task: local files are fast, and the
//! profiling workers run on their own threads. Run-path measures are one scan (no pushdown); files
//! run no checks, fixes or lineage.
//!
//! Owns reading files. Must not write to them.

pub mod parquet_file;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use futures::future::BoxFuture;
use serde_json::Value;

use super::registry::{Address, Engine, OpenFuture};
use super::scan::{
    BatchSink, CellValue, ColumnInfo, ReadError, ReadResult, RowBatcher, ScanSummary, TableInfo, TableName,
    parse_boolean, parse_float, parse_timestamp,
};
use super::{
    Capabilities, DiscoveredTable, Source, SourceError, SourceResult, TableKind, TableMeasurement,
    measure_by_scan,
};
use crate::profiler::ColumnShape;

pub static ENGINE: Engine = Engine {
    name: "file",
    title: "files",
    schemes: &["file"],
    aliases: &[],
    address: Address::Path { example: "" },
    takes_plain_paths: true,
    default_schema: None,
    lineage_dialect: "ansi",
    capabilities: Capabilities {
        pushdown_measure: false,
        copy_streaming: false,
        sampling: false,
        checks: false,
        streamed_checks: false,
        fixes: false,
        lineage: false,
    },
    open,
};

fn open(url: &str) -> OpenFuture<'_> {
    Box::pin(async move {
        let root = if url.contains("://") {
            url::Url::parse(url)
                .ok()
                .and_then(|parsed| parsed.to_file_path().ok())
                .ok_or_else(|| SourceError::Connect {
                    url: url.to_owned(),
                    cause: "expected an absolute path such as file:///data/orders.csv".to_owned(),
                })?
        } else {
            PathBuf::from(url)
        };
        let source = FileSource::open(root).map_err(|error| match error {
            ReadError::Connect { url, cause } => SourceError::Connect { url, cause },
            other => SourceError::Listing(other.to_string()),
        })?;
        Ok(Arc::new(source) as Arc<dyn Source>)
    })
}

/// Rows read to infer the column types of CSV and NDJSON files.
pub const INFER_ROWS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv { delimiter: u8 },
    Ndjson,
    Parquet,
}

impl FileFormat {
    pub fn of(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "csv" => FileFormat::Csv { delimiter: b',' },
            "tsv" => FileFormat::Csv { delimiter: b'\t' },
            "ndjson" | "jsonl" => FileFormat::Ndjson,
            "parquet" | "pq" => FileFormat::Parquet,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            FileFormat::Csv { .. } => "csv",
            FileFormat::Ndjson => "ndjson",
            FileFormat::Parquet => "parquet",
        }
    }
}

pub struct FileSource {
    root: PathBuf,
    /// The file behind each listed table.
    files: Mutex<HashMap<(String, String), (PathBuf, FileFormat)>>,
    /// What the last discovery listed: a run-path measure scans with the listing's column shapes.
    listed: measure_by_scan::Listed,
}

/// A file's modification time as RFC 3339 UTC.
pub fn modified_at(path: &Path) -> Option<String> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let modified: chrono::DateTime<chrono::Utc> = modified.into();
    Some(modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

impl FileSource {
    pub fn open(root: PathBuf) -> ReadResult<Self> {
        let connect_error = |cause: String| ReadError::Connect {
            url: root.display().to_string(),
            cause,
        };
        if !root.exists() {
            return Err(connect_error("no such file or directory".to_owned()));
        }
        if root.is_file() && FileFormat::of(&root).is_none() {
            return Err(connect_error(
                "unknown file extension: expected .csv, .tsv, .ndjson, .jsonl, .parquet or .pq".to_owned(),
            ));
        }
        Ok(Self {
            root,
            files: Mutex::new(HashMap::new()),
            listed: measure_by_scan::Listed::default(),
        })
    }

    fn candidates(&self) -> ReadResult<Vec<(PathBuf, FileFormat)>> {
        if self.root.is_file() {
            return Ok(FileFormat::of(&self.root)
                .map(|format| vec![(self.root.clone(), format)])
                .unwrap_or_default());
        }
        let entries = std::fs::read_dir(&self.root)
            .map_err(|error| ReadError::Discover(format!("{}: {error}", self.root.display())))?;
        let mut files: Vec<(PathBuf, FileFormat)> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_file())
            .filter_map(|path| FileFormat::of(&path).map(|format| (path, format)))
            .collect();
        files.sort_by(|left, right| left.0.cmp(&right.0));
        Ok(files)
    }

    fn schema_of(path: &Path) -> String {
        path.parent()
            .and_then(Path::file_name)
            .and_then(|name| name.to_str())
            .unwrap_or("files")
            .to_owned()
    }
}

fn table_name(path: &Path) -> String {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("file")
        .to_owned()
}

impl FileSource {
    async fn list(&self, only: Option<&TableName>) -> ReadResult<Vec<TableInfo>> {
        let mut tables = Vec::new();
        let candidates = self.candidates()?;
        for (path, format) in &candidates {
            let (path, format) = (path.clone(), *format);
            let schema = Self::schema_of(&path);
            let mut name = table_name(&path);
            // Two files with one stem (`orders.csv`, `orders.parquet`) are told apart by extension.
            if candidates
                .iter()
                .filter(|(other, _)| table_name(other) == name)
                .count()
                > 1
            {
                name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(&name)
                    .to_owned();
            }
            if only.is_some_and(|only| !only.matches(&schema, &name)) {
                continue;
            }
            let (columns, estimated_rows) = match format {
                FileFormat::Csv { delimiter } => (infer_csv(&path, delimiter)?.columns, None),
                FileFormat::Ndjson => (infer_ndjson(&path)?.columns, None),
                FileFormat::Parquet => parquet_file::describe(&path)?,
            };
            let size_bytes = std::fs::metadata(&path)
                .ok()
                .and_then(|metadata| i64::try_from(metadata.len()).ok());
            tables.push(TableInfo {
                schema: schema.clone(),
                name: name.clone(),
                columns,
                estimated_rows,
                size_bytes,
                modified_at: modified_at(&path),
            });
            self.files
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert((schema, name), (path, format));
        }
        Ok(tables)
    }

    async fn scan_file(
        &self,
        table: &TableInfo,
        sample_percent: Option<f64>,
        sink: &mut BatchSink,
    ) -> ReadResult<ScanSummary> {
        let started = Instant::now();
        let file = self
            .files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(table.schema.clone(), table.name.clone()))
            .cloned();
        let Some((path, format)) = file else {
            return Err(ReadError::Read(format!("{} was not listed", table.label())));
        };
        let mut summary = ScanSummary::default();
        if sample_percent.is_some() {
            summary.warn(format!(
                "sampling is not supported for {} files; the whole file was read",
                format.name()
            ));
        }
        match format {
            FileFormat::Csv { delimiter } => scan_csv(&path, delimiter, table, sink, &mut summary).await?,
            FileFormat::Ndjson => scan_ndjson(&path, table, sink, &mut summary).await?,
            FileFormat::Parquet => parquet_file::scan(&path, table, sink, &mut summary).await?,
        }
        summary.elapsed = started.elapsed();
        summary.blocked = sink.blocked();
        Ok(summary)
    }
}

impl Source for FileSource {
    fn engine(&self) -> &'static Engine {
        &ENGINE
    }

    fn discover(&self) -> BoxFuture<'_, SourceResult<Vec<DiscoveredTable>>> {
        Box::pin(async move {
            let url = self.root.display().to_string();
            measure_by_scan::discover(self, &self.listed, &url, TableKind::File).await
        })
    }

    fn measure<'a>(
        &'a self,
        table: &'a DiscoveredTable,
        freshness: Option<&'a str>,
    ) -> BoxFuture<'a, SourceResult<TableMeasurement>> {
        Box::pin(measure_by_scan::measure(self, &self.listed, table, freshness))
    }

    fn list_tables<'a>(&'a self, only: Option<&'a TableName>) -> BoxFuture<'a, ReadResult<Vec<TableInfo>>> {
        Box::pin(self.list(only))
    }

    fn scan<'a>(
        &'a self,
        table: &'a TableInfo,
        sample_percent: Option<f64>,
        sink: &'a mut BatchSink,
    ) -> BoxFuture<'a, ReadResult<ScanSummary>> {
        Box::pin(self.scan_file(table, sample_percent, sink))
    }
}

/// Type inference over text values (CSV fields): a column is the first of boolean, integer,
/// number, timestamp that every non-empty value of the prefix parses as, else text.
#[derive(Debug, Clone)]
struct TextInference {
    seen: bool,
    boolean: bool,
    integer: bool,
    float: bool,
    timestamp: bool,
}

impl TextInference {
    fn new() -> Self {
        Self {
            seen: false,
            boolean: true,
            integer: true,
            float: true,
            timestamp: true,
        }
    }

    fn add(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.seen = true;
        self.boolean &= parse_boolean(text).is_some();
        self.integer &= text.trim().parse::<i64>().is_ok();
        self.float &= parse_float(text).is_some();
        self.timestamp &= parse_timestamp(text).is_some();
    }

    fn shape(&self) -> (ColumnShape, &'static str) {
        if !self.seen {
            (ColumnShape::Text, "text")
        } else if self.boolean {
            (ColumnShape::Boolean, "boolean")
        } else if self.integer {
            (ColumnShape::Integer, "integer")
        } else if self.float {
            (ColumnShape::Float, "double")
        } else if self.timestamp {
            (ColumnShape::Micros, "timestamp")
        } else {
            (ColumnShape::Text, "text")
        }
    }
}

struct Inferred {
    columns: Vec<ColumnInfo>,
}

fn open_file(path: &Path) -> ReadResult<File> {
    File::open(path).map_err(|error| ReadError::Read(format!("{}: {error}", path.display())))
}

fn csv_reader(path: &Path, delimiter: u8) -> ReadResult<csv::Reader<File>> {
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        // Rows with the wrong field count are reported here, not by the reader.
        .flexible(true)
        .from_reader(open_file(path)?))
}

fn infer_csv(path: &Path, delimiter: u8) -> ReadResult<Inferred> {
    let mut reader = csv_reader(path, delimiter)?;
    let headers = reader
        .headers()
        .map_err(|error| ReadError::Discover(format!("{}:1: {error}", path.display())))?
        .clone();
    let mut inference = vec![TextInference::new(); headers.len()];
    for record in reader.records().take(INFER_ROWS) {
        // Malformed rows are reported by the scan.
        let Ok(record) = record else { continue };
        if record.len() != headers.len() {
            continue;
        }
        for (field, inference) in record.iter().zip(&mut inference) {
            inference.add(field);
        }
    }
    Ok(Inferred {
        columns: headers
            .iter()
            .zip(&inference)
            .map(|(name, inference)| {
                let (shape, data_type) = inference.shape();
                ColumnInfo {
                    name: name.to_owned(),
                    data_type: data_type.to_owned(),
                    read: Ok(shape),
                }
            })
            .collect(),
    })
}

/// A text field as a value for a column of `shape`; text that does not parse stays text, so the
/// batch builder reports it against the column's type.
fn text_cell(text: &str, shape: ColumnShape) -> CellValue<'_> {
    if text.is_empty() {
        return CellValue::Null;
    }
    let parsed = match shape {
        ColumnShape::Integer => text.trim().parse::<i64>().ok().map(CellValue::Integer),
        ColumnShape::Float | ColumnShape::Decimal(_) => parse_float(text).map(CellValue::Float),
        ColumnShape::Boolean => parse_boolean(text).map(CellValue::Boolean),
        ColumnShape::Micros => parse_timestamp(text).map(CellValue::Micros),
        ColumnShape::Text => None,
    };
    parsed.unwrap_or(CellValue::Text(text))
}

fn file_label(path: &Path) -> String {
    path.file_name()
        .and_then(|name| name.to_str())
        .map_or_else(|| path.display().to_string(), str::to_owned)
}

async fn scan_csv(
    path: &Path,
    delimiter: u8,
    table: &TableInfo,
    sink: &mut BatchSink,
    summary: &mut ScanSummary,
) -> ReadResult<()> {
    let label = file_label(path);
    let mut reader = csv_reader(path, delimiter)?;
    let width = reader
        .headers()
        .map_err(|error| ReadError::Read(format!("{label}:1: {error}")))?
        .len();
    // Positions of the columns that are read (all of them for CSV) in the record.
    let shapes: Vec<ColumnShape> = table
        .columns
        .iter()
        .filter_map(|column| column.read.clone().ok())
        .collect();
    if shapes.len() != width {
        return Err(ReadError::Read(format!(
            "{label}: the header has {width} fields, the listing found {}",
            shapes.len()
        )));
    }
    let mut batcher = RowBatcher::new(shapes.clone(), sink.batch_rows());
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(line, csv::Position::line);
                summary.skipped_rows += 1;
                summary.warn(format!("{label}:{line}: {}; row skipped", csv_error_text(&error)));
                if matches!(error.kind(), csv::ErrorKind::Io(_)) {
                    return Err(ReadError::Read(format!("{label}:{line}: {error}")));
                }
                continue;
            }
        }
        let line = record.position().map_or(line, csv::Position::line);
        if record.len() != width {
            summary.skipped_rows += 1;
            summary.warn(format!(
                "{label}:{line}: expected {width} fields, found {}; row skipped",
                record.len()
            ));
            continue;
        }
        for (index, (field, shape)) in record.iter().zip(&shapes).enumerate() {
            batcher.push(index, text_cell(field, *shape), || format!("{label}:{line}"));
        }
        summary.rows += 1;
        batcher.end_row(sink).await?;
    }
    batcher.flush(sink).await
}

fn csv_error_text(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_owned(),
        _ => error.to_string(),
    }
}

/// Type inference over JSON values: a column is boolean, integer or number when every value of the
/// prefix is one (numbers also take the strings `NaN`, `Infinity` and `-Infinity`), timestamp when
/// every value is a string that parses as one, else text (other values as their JSON text).
#[derive(Debug, Clone, Default)]
struct JsonInference {
    booleans: bool,
    integers: bool,
    floats: bool,
    special_floats: bool,
    timestamps: bool,
    texts: bool,
    others: bool,
}

impl JsonInference {
    fn add(&mut self, value: &Value) {
        match value {
            Value::Null => {}
            Value::Bool(_) => self.booleans = true,
            Value::Number(number) if number.is_i64() => self.integers = true,
            Value::Number(_) => self.floats = true,
            Value::String(text) if is_special_float(text) => self.special_floats = true,
            Value::String(text) if parse_timestamp(text).is_some() => self.timestamps = true,
            Value::String(_) => self.texts = true,
            Value::Array(_) | Value::Object(_) => self.others = true,
        }
    }

    fn shape(&self) -> (ColumnShape, &'static str) {
        let numbers = self.integers || self.floats || self.special_floats;
        let other = self.texts || self.others;
        match (self.booleans, numbers, self.timestamps, other) {
            (true, false, false, false) => (ColumnShape::Boolean, "boolean"),
            (false, true, false, false) if !self.floats && !self.special_floats => {
                (ColumnShape::Integer, "integer")
            }
            (false, true, false, false) => (ColumnShape::Float, "double"),
            (false, false, true, false) => (ColumnShape::Micros, "timestamp"),
            _ => (ColumnShape::Text, "text"),
        }
    }
}

fn is_special_float(text: &str) -> bool {
    matches!(text, "NaN" | "Infinity" | "-Infinity" | "inf" | "-inf")
}

fn infer_ndjson(path: &Path) -> ReadResult<Inferred> {
    let reader = BufReader::new(open_file(path)?);
    let mut names: Vec<String> = Vec::new();
    let mut inference: Vec<JsonInference> = Vec::new();
    let mut rows = 0;
    for line in reader.lines() {
        let Ok(line) = line else { continue };
        if line.trim().is_empty() {
            continue;
        }
        let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        for (key, value) in &object {
            let index = match names.iter().position(|name| name == key) {
                Some(index) => index,
                None => {
                    names.push(key.clone());
                    inference.push(JsonInference::default());
                    names.len() - 1
                }
            };
            if let Some(inference) = inference.get_mut(index) {
                inference.add(value);
            }
        }
        rows += 1;
        if rows >= INFER_ROWS {
            break;
        }
    }
    Ok(Inferred {
        columns: names
            .into_iter()
            .zip(&inference)
            .map(|(name, inference)| {
                let (shape, data_type) = inference.shape();
                ColumnInfo {
                    name,
                    data_type: data_type.to_owned(),
                    read: Ok(shape),
                }
            })
            .collect(),
    })
}

async fn scan_ndjson(
    path: &Path,
    table: &TableInfo,
    sink: &mut BatchSink,
    summary: &mut ScanSummary,
) -> ReadResult<()> {
    let label = file_label(path);
    let shapes: Vec<ColumnShape> = table
        .columns
        .iter()
        .filter_map(|column| column.read.clone().ok())
        .collect();
    let positions: HashMap<&str, usize> = table
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| (column.name.as_str(), index))
        .collect();
    let mut batcher = RowBatcher::new(shapes.clone(), sink.batch_rows());
    let mut reader = BufReader::new(open_file(path)?);
    let mut line = String::new();
    let mut line_number = 0_u64;
    let mut unknown_keys: Vec<String> = Vec::new();
    let mut row: Vec<Option<Value>> = vec![None; shapes.len()];
    loop {
        line.clear();
        line_number += 1;
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
                summary.skipped_rows += 1;
                // `read_line` has consumed the whole line before finding it is not UTF-8.
                summary.warn(format!("{label}:{line_number}: invalid UTF-8; row skipped"));
                continue;
            }
            Err(error) => return Err(ReadError::Read(format!("{label}:{line_number}: {error}"))),
        }
        if line.trim().is_empty() {
            continue;
        }
        let object = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => {
                summary.skipped_rows += 1;
                summary.warn(format!(
                    "{label}:{line_number}: expected a JSON object; row skipped"
                ));
                continue;
            }
            Err(error) => {
                summary.skipped_rows += 1;
                summary.warn(format!(
                    "{label}:{line_number}: invalid JSON ({error}); row skipped"
                ));
                continue;
            }
        };
        row.iter_mut().for_each(|slot| *slot = None);
        for (key, value) in object {
            match positions.get(key.as_str()) {
                Some(&index) => {
                    if let Some(slot) = row.get_mut(index) {
                        *slot = Some(value);
                    }
                }
                None if !unknown_keys.contains(&key) => {
                    summary.warn(format!(
                        "{label}:{line_number}: key `{key}` is not in the first {INFER_ROWS} rows; its values are ignored"
                    ));
                    unknown_keys.push(key);
                }
                None => {}
            }
        }
        for (index, (value, shape)) in row.iter().zip(&shapes).enumerate() {
            let at = || format!("{label}:{line_number}");
            let rendered;
            let cell = match (value, shape) {
                (None | Some(Value::Null), _) => CellValue::Null,
                (Some(Value::Bool(value)), ColumnShape::Boolean) => CellValue::Boolean(*value),
                (Some(Value::Number(number)), ColumnShape::Integer) => match number.as_i64() {
                    Some(value) => CellValue::Integer(value),
                    None => {
                        rendered = number.to_string();
                        CellValue::Text(&rendered)
                    }
                },
                (Some(Value::Number(number)), ColumnShape::Float) => {
                    number.as_f64().map_or(CellValue::Null, CellValue::Float)
                }
                (Some(Value::String(text)), ColumnShape::Float) if is_special_float(text) => {
                    parse_float(text).map_or(CellValue::Text(text), CellValue::Float)
                }
                (Some(Value::String(text)), ColumnShape::Micros) => {
                    parse_timestamp(text).map_or(CellValue::Text(text), CellValue::Micros)
                }
                (Some(Value::String(text)), _) => CellValue::Text(text),
                (Some(other), ColumnShape::Text) => {
                    rendered = other.to_string();
                    CellValue::Text(&rendered)
                }
                (Some(other), _) => {
                    rendered = other.to_string();
                    CellValue::Text(&rendered)
                }
            };
            batcher.push(index, cell, at);
        }
        summary.rows += 1;
        batcher.end_row(sink).await?;
    }
    batcher.flush(sink).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_inference_picks_the_narrowest_type() {
        let shape = |values: &[&str]| {
            let mut inference = TextInference::new();
            values.iter().for_each(|value| inference.add(value));
            inference.shape().0
        };
        assert_eq!(shape(&["1", "", "-7"]), ColumnShape::Integer);
        assert_eq!(shape(&["1", "2.5", "NaN"]), ColumnShape::Float);
        assert_eq!(shape(&["true", "false"]), ColumnShape::Boolean);
        assert_eq!(
            shape(&["2024-01-01", "2024-01-02T10:00:00+02:00"]),
            ColumnShape::Micros
        );
        assert_eq!(shape(&["1", "x"]), ColumnShape::Text);
        assert_eq!(shape(&["", ""]), ColumnShape::Text);
        assert_eq!(shape(&["99999999999999999999"]), ColumnShape::Float);
    }

    #[test]
    fn json_inference_keeps_integers_apart_from_numbers() {
        let shape = |values: &[Value]| {
            let mut inference = JsonInference::default();
            values.iter().for_each(|value| inference.add(value));
            inference.shape().0
        };
        assert_eq!(shape(&[Value::from(1), Value::Null]), ColumnShape::Integer);
        assert_eq!(shape(&[Value::from(1), Value::from(1.5)]), ColumnShape::Float);
        assert_eq!(shape(&[Value::from(1), Value::from("NaN")]), ColumnShape::Float);
        assert_eq!(shape(&[Value::from("2024-01-01T00:00:00Z")]), ColumnShape::Micros);
        assert_eq!(shape(&[Value::from(true), Value::from("x")]), ColumnShape::Text);
    }

    #[test]
    fn extensions_pick_the_format() {
        assert_eq!(
            FileFormat::of(Path::new("a/b.CSV")),
            Some(FileFormat::Csv { delimiter: b',' })
        );
        assert_eq!(FileFormat::of(Path::new("b.jsonl")), Some(FileFormat::Ndjson));
        assert_eq!(FileFormat::of(Path::new("b.parquet")), Some(FileFormat::Parquet));
        assert_eq!(FileFormat::of(Path::new("b.txt")), None);
    }
}
