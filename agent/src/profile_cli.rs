//! `cwic-agent profile`: the standalone profiler. Opens one or more sources (PostgreSQL, MySQL/MariaDB,
//! SQLite, CSV/NDJSON/Parquet files) through the [`Source`] registry, streams each table once (on the
//! async runtime) into the statistics kernels (on blocking threads), and prints one profile per table
//! as a readable table or as JSON.
//!
//! Owns the command line, the per-table pipeline and the output; needs no config file and no control
//! plane. Must not print unmasked PII unless the user asked for it with `--no-mask`. A failure is
//! reported for the column, table or source it concerns, and the rest of the run goes on.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::debug;

use crate::profiler::{
    ColumnBatch, ColumnKind, ColumnProfile, CorrelationProfile, ProfileError, ProfileValue, TableProfiler,
    mask_top_values,
};
use crate::source::Source;
use crate::source::registry::redact;
use crate::source::scan::{BatchSink, ReadError, TableInfo, TableName};

/// Rows per column batch: large enough to amortise the hand-over between tasks, small enough that
/// a batch of 16 columns stays within a few hundred KiB (and matches the kernels' chunk size).
const BATCH_ROWS: usize = 4096;
/// Batches waiting between the decoder and each profiling worker; bounds memory to a few MiB per
/// table while letting decoding and profiling run at the same time.
const CHANNEL_BATCHES: usize = 2;
/// Most profiling workers per table. Profiling costs more CPU than decoding, so on a machine with
/// cores to spare two or more workers keep up with the server; each holds its own accumulators
/// (bounded, see the kernels) that are merged at the end.
const MAX_WORKERS: usize = 4;
/// Longest text shown in a cell of the table output.
const CELL_CHARS: usize = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One aligned table per profiled table, for people.
    Table,
    /// One JSON object per table and line, for programs.
    Json,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Source to profile: postgres://user:password@host:5432/db, mysql://user:password@host/db,
    /// sqlite://path/to.db, or a file or directory (plain path or file://; .csv, .tsv, .ndjson,
    /// .jsonl, .parquet; a directory is one table per file). Repeat the flag to profile several; an
    /// unreachable one is reported and the others are still profiled.
    #[arg(long = "source", required = true, value_name = "URL")]
    pub sources: Vec<String>,
    /// Profile only this table (schema.table; without a schema: `public` in PostgreSQL, the URL's
    /// database in MySQL, `main` in SQLite, any directory for files). Repeatable. Without it every
    /// table (and PostgreSQL materialised view) the role can read is profiled.
    #[arg(long = "table", value_name = "SCHEMA.TABLE")]
    pub tables: Vec<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Show the values of columns detected as personal data (e-mail, phone, card, IP) instead of
    /// masking them.
    #[arg(long)]
    pub no_mask: bool,
    /// Read only a block sample of about this percentage of each table (PostgreSQL's
    /// `TABLESAMPLE SYSTEM`, repeatable), for very large tables; other sources read everything and
    /// say so. The report gives the percentage and
    /// the estimated total row count; counts and sketches describe the sample.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub sample: Option<f64>,
}

fn parse_percent(text: &str) -> Result<f64, String> {
    let percent: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("expected a percentage such as 10 or 0.5, found `{text}`"))?;
    if percent > 0.0 && percent <= 100.0 {
        Ok(percent)
    } else {
        Err(format!(
            "expected a percentage above 0 and at most 100, found `{text}`"
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum TableError {
    #[error("{0}")]
    Scan(#[from] ReadError),
    #[error("profiling failed: {0}")]
    Profile(#[from] ProfileError),
    #[error("the profiling thread ended unexpectedly: {0}")]
    Worker(String),
}

#[derive(Debug, Serialize)]
pub(crate) struct TableReport {
    pub(crate) schema: String,
    pub(crate) name: String,
    /// Rows read: the whole table, or the sample when `sample_percent` is set.
    pub(crate) row_count: u64,
    /// The block-sample percentage read (`--sample`); `None` for a full scan.
    pub(crate) sample_percent: Option<f64>,
    /// With a sample: the row count scaled to the whole table.
    pub(crate) estimated_total_rows: Option<u64>,
    /// Bytes on disk, where the engine tells.
    pub(crate) size_bytes: Option<i64>,
    pub(crate) elapsed_ms: u64,
    /// xxh3 of the column names and types in order: changes exactly when the schema does.
    pub(crate) schema_fingerprint: String,
    /// The engine: postgres, mysql, sqlite or file.
    pub(crate) source_kind: &'static str,
    /// Last modification the engine or file system records (RFC 3339 UTC), if any.
    pub(crate) modified_at: Option<String>,
    /// Freshness from the data: the latest value of any date or timestamp column.
    pub(crate) newest_timestamp: Option<String>,
    /// Malformed rows left out (files), and the first reasons as `file:line: what`.
    pub(crate) skipped_rows: u64,
    pub(crate) warnings: Vec<String>,
    pub(crate) columns: Vec<ColumnReport>,
    pub(crate) correlation: Option<CorrelationProfile>,
}

#[derive(Debug, Serialize)]
pub struct ColumnReport {
    pub(crate) name: String,
    pub(crate) data_type: String,
    /// Why the column has no profile.
    pub(crate) error: Option<String>,
    /// True when the column's type is left out by design (the error says why).
    #[serde(skip)]
    pub(crate) skipped: bool,
    #[serde(flatten)]
    pub(crate) profile: Option<ColumnProfile>,
}

/// Runs the command; the exit code is non-zero when any source, table or column failed.
pub async fn run(args: ProfileArgs) -> anyhow::Result<ExitCode> {
    let only: Vec<TableName> = args.tables.iter().map(|name| TableName::parse(name)).collect();
    let mut failures = 0_usize;
    let mut stdout = std::io::stdout().lock();
    for url in &args.sources {
        let shown_url = redact(url);
        let source = match crate::source::open(url).await {
            Ok(source) => source,
            Err(error) => {
                eprintln!("error: {error}");
                failures += 1;
                continue;
            }
        };
        let mut tables = Vec::new();
        if only.is_empty() {
            match source.list_tables(None).await {
                Ok(found) => tables = found,
                Err(error) => {
                    eprintln!("error: {shown_url}: {error}");
                    failures += 1;
                }
            }
        } else {
            for name in &only {
                let label = match &name.schema {
                    Some(schema) => format!("{schema}.{}", name.name),
                    None => match source.engine().default_schema {
                        Some(schema) => format!("{schema}.{}", name.name),
                        None => name.name.clone(),
                    },
                };
                match source.list_tables(Some(name)).await {
                    Ok(found) if found.is_empty() => {
                        eprintln!("error: {label}: table not found in {shown_url} (or no SELECT privilege)");
                        failures += 1;
                    }
                    Ok(found) => tables.extend(found),
                    Err(error) => {
                        eprintln!("error: {label}: {error}");
                        failures += 1;
                    }
                }
            }
        }
        for table in tables {
            let label = table.label();
            match profile_table(source.as_ref(), &table, args.sample).await {
                Ok(mut report) => {
                    for warning in &report.warnings {
                        eprintln!("warning: {label}: {warning}");
                    }
                    if report.skipped_rows > report.warnings.len() as u64 {
                        eprintln!(
                            "warning: {label}: {} malformed rows skipped in all",
                            report.skipped_rows
                        );
                    }
                    failures += usize::from(report.skipped_rows > 0);
                    for column in &mut report.columns {
                        if let Some(error) = &column.error {
                            eprintln!("warning: {label}.{}: {error}", column.name);
                            // A type left out by design is not a failure; a value that would not decode is.
                            failures += usize::from(!column.skipped);
                        }
                        if let Some(profile) = &mut column.profile
                            && !args.no_mask
                        {
                            mask_top_values(profile);
                        }
                    }
                    let written = match args.format {
                        OutputFormat::Json => write_json(&mut stdout, &report),
                        OutputFormat::Table => write_table(&mut stdout, &report),
                    };
                    written?;
                    stdout.flush()?;
                }
                Err(error) => {
                    eprintln!("error: {label}: {error}");
                    failures += 1;
                }
            }
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One scan of one table: the source fills batches on this task, the profiling workers take
/// them on blocking threads, and their states merge at the end.
pub(crate) async fn profile_table(
    source: &dyn Source,
    table: &TableInfo,
    requested_sample: Option<f64>,
) -> Result<TableReport, TableError> {
    let started = Instant::now();
    // Engines that cannot sample read everything and say so in the warnings.
    let sample_percent = requested_sample.filter(|_| source.capabilities().sampling);
    let profiled = table.read_columns();
    // One worker per core, at least one; the decoder and the server share the cores too.
    let worker_count = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, MAX_WORKERS);
    let profilers = TableProfiler::workers(&profiled, worker_count)?;

    let bar = progress_bar(table);
    let mut senders = Vec::with_capacity(profilers.len());
    let mut workers = Vec::with_capacity(profilers.len());
    for mut profiler in profilers {
        let (sender, mut receiver) = mpsc::channel::<ColumnBatch>(CHANNEL_BATCHES);
        senders.push(sender);
        workers.push(tokio::task::spawn_blocking(move || {
            let mut busy = Duration::ZERO;
            while let Some(batch) = receiver.blocking_recv() {
                let started = Instant::now();
                profiler.push(&batch)?;
                busy += started.elapsed();
            }
            Ok::<_, ProfileError>((profiler, busy))
        }));
    }
    let progress = bar.clone();
    let mut sink = BatchSink::new(senders, BATCH_ROWS, move |rows| progress.set_position(rows));
    let scanned = source.scan(table, requested_sample, &mut sink).await;
    sink.close();
    drop(sink);
    bar.finish_and_clear();
    let mut merged: Option<TableProfiler> = None;
    let mut worker_error = None;
    let mut profiling = Vec::with_capacity(workers.len());
    for worker in workers {
        match worker.await {
            Ok(Ok((profiler, busy))) => {
                profiling.push(busy);
                match &mut merged {
                    Some(merged) => merged.merge(profiler)?,
                    None => merged = Some(profiler),
                }
            }
            Ok(Err(error)) => worker_error = Some(TableError::Profile(error)),
            Err(error) => worker_error = Some(TableError::Worker(error.to_string())),
        }
    }
    // A kernel error stops its worker, which the scan then sees as a closed channel: report the cause.
    if let Some(error) = worker_error {
        return Err(error);
    }
    let scan = scanned?;
    let merged = merged.ok_or_else(|| TableError::Worker("no profiling worker ran".to_owned()))?;
    let merging = Instant::now();
    let (outcomes, correlation) = merged.finish();
    debug!(
        table = %table.label(),
        rows = scan.rows,
        scan_ms = scan.elapsed.as_millis(),
        waiting_for_workers_ms = scan.blocked.as_millis(),
        worker_busy_ms = ?profiling.iter().map(Duration::as_millis).collect::<Vec<_>>(),
        finish_ms = merging.elapsed().as_millis(),
        "table scanned"
    );

    let mut outcomes = outcomes.into_iter();
    let columns: Vec<ColumnReport> = table
        .columns
        .iter()
        .map(|column| {
            let (profile, error) = match &column.read {
                Err(reason) => (None, Some(reason.clone())),
                Ok(_) => match outcomes.next() {
                    Some(Ok(profile)) => (Some(profile), None),
                    Some(Err(message)) => (None, Some(message)),
                    None => (None, Some("column was not profiled".to_owned())),
                },
            };
            ColumnReport {
                name: column.name.clone(),
                data_type: column.data_type.clone(),
                skipped: column.read.is_err(),
                error,
                profile,
            }
        })
        .collect();
    // RFC 3339 UTC texts of one format compare as the instants they name.
    let newest_timestamp = columns
        .iter()
        .filter_map(|column| column.profile.as_ref())
        .filter(|profile| profile.kind == ColumnKind::Temporal)
        .filter_map(|profile| match &profile.max {
            Some(ProfileValue::Text(text)) => Some(text.clone()),
            _ => None,
        })
        .max();
    Ok(TableReport {
        schema: table.schema.clone(),
        name: table.name.clone(),
        row_count: scan.rows,
        sample_percent,
        estimated_total_rows: sample_percent
            .map(|percent| (scan.rows as f64 * 100.0 / percent).round() as u64),
        size_bytes: table.size_bytes,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        schema_fingerprint: table.schema_fingerprint(),
        source_kind: source.engine().name,
        modified_at: table.modified_at.clone(),
        newest_timestamp,
        skipped_rows: scan.skipped_rows,
        warnings: scan.warnings,
        columns,
        correlation,
    })
}

/// A bar of rows read against the engine's estimate, drawn only when stderr is a terminal.
fn progress_bar(table: &TableInfo) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match table.estimated_rows {
        Some(estimate) => ProgressBar::with_draw_target(Some(estimate), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = match table.estimated_rows {
        Some(_) => "{prefix} [{bar:30}] {human_pos}/~{human_len} rows ({per_sec}, {eta} left)",
        None => "{prefix} {spinner} {human_pos} rows ({per_sec})",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(table.label());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn write_json(out: &mut impl Write, report: &TableReport) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, report)?;
    writeln!(out)?;
    Ok(())
}

fn write_table(out: &mut impl Write, report: &TableReport) -> anyhow::Result<()> {
    let sampled = match (report.sample_percent, report.estimated_total_rows) {
        (Some(percent), Some(total)) => format!(" (a {percent}% block sample of about {total} rows)"),
        _ => String::new(),
    };
    writeln!(
        out,
        "{}.{}: {} rows{sampled}, {}, {} columns, profiled in {:.1} s",
        report.schema,
        report.name,
        report.row_count,
        report
            .size_bytes
            .map_or_else(|| "size unknown".to_owned(), human_bytes),
        report.columns.len(),
        report.elapsed_ms as f64 / 1000.0
    )?;
    let header = [
        "column",
        "type",
        "nulls %",
        "distinct",
        "min",
        "max",
        "mean",
        "p50",
        "top value",
        "semantic",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|cell| (*cell).to_owned()).collect()];
    for column in &report.columns {
        let mut row = vec![cell(&column.name), cell(&column.data_type)];
        match (&column.profile, &column.error) {
            (Some(profile), _) => row.extend(profile_cells(profile)),
            (None, Some(error)) => row.push(format!("not profiled: {error}")),
            (None, None) => {}
        }
        rows.push(row);
    }
    let columns = header.len();
    let widths: Vec<usize> = (0..columns)
        .map(|index| {
            rows.iter()
                // A message cell spans the rest of its row, so it does not widen its column.
                .filter(|row| row.len() == columns)
                .map(|row| row.get(index).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if index + 1 < row.len() {
                let width = widths.get(index).copied().unwrap_or(0);
                line.extend(std::iter::repeat_n(
                    ' ',
                    width.saturating_sub(cell.chars().count()),
                ));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    Ok(())
}

fn profile_cells(profile: &ColumnProfile) -> Vec<String> {
    let temporal = profile.kind == ColumnKind::Temporal;
    let value_text = |value: &ProfileValue| match value {
        ProfileValue::Text(text) if temporal => cell(&short_timestamp(text)),
        _ => value_text(value),
    };
    let optional = |value: &Option<ProfileValue>| value.as_ref().map_or_else(|| "-".to_owned(), value_text);
    let distinct = match (profile.distinct, profile.distinct_exact) {
        (Some(distinct), Some(false)) => format!("~{distinct}"),
        (Some(distinct), _) => distinct.to_string(),
        (None, _) => "-".to_owned(),
    };
    let top = profile
        .top_values
        .as_ref()
        .and_then(|values| values.first())
        .map_or_else(
            || "-".to_owned(),
            |top| format!("{} ({})", value_text(&top.value), top.count),
        );
    let median = profile
        .quantiles
        .as_ref()
        .map(|quantiles| &quantiles.p50)
        .or(profile.median.as_ref());
    let mut semantic = profile
        .semantic
        .as_ref()
        .and_then(|semantic| semantic.detected)
        .and_then(|detected| serde_json::to_value(detected).ok())
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    if profile.pii {
        semantic = if semantic.is_empty() {
            "PII".to_owned()
        } else {
            format!("{semantic} PII")
        };
    }
    vec![
        profile
            .null_percent
            .map_or_else(|| "-".to_owned(), |percent| format!("{percent:.1}")),
        distinct,
        optional(&profile.min),
        optional(&profile.max),
        optional(&profile.mean),
        median.map_or_else(|| "-".to_owned(), value_text),
        top,
        if semantic.is_empty() {
            "-".to_owned()
        } else {
            semantic
        },
    ]
}

fn value_text(value: &ProfileValue) -> String {
    match value {
        ProfileValue::Integer(value) => value.to_string(),
        ProfileValue::Float(value) if value.is_finite() && value.abs() < 1e15 => {
            let text = format!("{value:.4}");
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
        ProfileValue::Float(value) => format!("{value:e}"),
        ProfileValue::Text(text) => cell(text),
        ProfileValue::Boolean(value) => value.to_string(),
    }
}

/// An RFC 3339 timestamp without a zero time (`2024-05-01`) or zero microseconds.
fn short_timestamp(text: &str) -> String {
    match text.strip_suffix("T00:00:00.000000Z") {
        Some(date) => date.to_owned(),
        None => text.replace(".000000Z", "Z"),
    }
}

/// Text for a cell: control characters shown as spaces, cut to [`CELL_CHARS`].
fn cell(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .take(CELL_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > CELL_CHARS {
        shown.pop();
        shown.push('…');
    }
    shown
}

fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_and_cleaned() {
        assert_eq!(cell("a\tb"), "a b");
        assert_eq!(cell(&"x".repeat(30)).chars().count(), CELL_CHARS);
        assert_eq!(value_text(&ProfileValue::Float(2.5)), "2.5");
        assert_eq!(value_text(&ProfileValue::Float(3.0)), "3");
        assert_eq!(human_bytes(949_000_000), "949.0 MB");
        assert_eq!(short_timestamp("1998-12-01T00:00:00.000000Z"), "1998-12-01");
        assert_eq!(
            short_timestamp("1998-12-01T10:30:00.000000Z"),
            "1998-12-01T10:30:00Z"
        );
        assert_eq!(
            short_timestamp("1998-12-01T10:30:00.250000Z"),
            "1998-12-01T10:30:00.250000Z"
        );
    }
}
