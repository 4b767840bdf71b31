//! Planning and running a suite: compile every check, fuse what can share a scan, run the
//! statements (a few at a time), and judge each check.
//!
//! Per dataset: where the engine streams (PostgreSQL COPY) and some check needs a pass anyway
//! (distinct statistics, regular expressions), ONE streamed pass judges every check it can in the
//! agent (`stream`); the rest run as SQL beside it: every fused aggregate in ONE `SELECT … FROM
//! table` (identical expressions, like `COUNT(*)`, appear once), one grouping statement per column
//! of distinct statistics, and checks that need a statement of their own share it when the SQL is
//! the same. A failed pass reruns its checks as SQL. A check whose column is missing becomes an
//! error result; the others still run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;
use tracing::{debug, warn};

use super::exec::{CheckExecutor, TextRow};
use super::model::{Check, CheckSuite, Dimension, Severity, format_number};
use super::stream::{self, CatalogColumn, SpecBuilder, StreamSpec, StreamValue, ValueKind};
use super::templates::{
    Bounds, Ctx, DRIFT_BINS, DRIFT_TEMPLATE, DriftBaseline, Fold, Measure, Outcome, ParamKind, SchemaRule,
    Source,
};
use crate::profiler::mask_text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub dataset: String,
    pub check: String,
    pub template: &'static str,
    pub dimension: Dimension,
    pub severity: Severity,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<Vec<Option<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub origin: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub results: Vec<CheckResult>,
    /// Statements that read table data (fused scans, own statements, distinct passes).
    pub table_scans: usize,
    pub elapsed_ms: u128,
}

#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Failing sample rows per failed row check (0: none). Samples stay on the agent.
    pub samples: usize,
    /// Show sample values unmasked.
    pub unmasked_samples: bool,
    /// Statements in flight at once.
    pub concurrency: usize,
    /// Judge in a streamed pass what can be (where the engine streams); `false`: all in SQL.
    pub stream: bool,
    /// The file drift checks remember their previous run in (read and written only when the suite
    /// has one); `None`: drift checks are an error.
    pub baselines: Option<PathBuf>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            samples: 0,
            unmasked_samples: false,
            concurrency: 2,
            stream: true,
            baselines: None,
        }
    }
}

/// A check compiled against its dataset.
struct Compiled<'a> {
    /// Position in the dataset's check list.
    position: usize,
    check: &'a Check,
    measure: Measure,
    /// The dataset's and the check's filter, combined.
    filter: Option<String>,
}

/// A check's values (in the layout its `Measure` reads), or why there are none.
type Values = Result<Vec<Option<String>>, String>;

enum Task {
    Fused { sql: String },
    Distinct { sql: String, index: usize },
    Query { sql: String, index: usize },
}

enum TaskOutput {
    Fused(Result<TextRow, String>),
    Distinct(usize, Result<TextRow, String>),
    Query(usize, Result<TextRow, String>),
}

pub async fn scan(executor: &dyn CheckExecutor, suite: &CheckSuite, options: &ScanOptions) -> ScanReport {
    let started = Instant::now();
    let mut results = Vec::new();
    let mut table_scans = 0;
    let has_drift = suite
        .datasets
        .iter()
        .flat_map(|dataset| &dataset.checks)
        .any(|check| check.template.name == DRIFT_TEMPLATE);
    let mut baselines = match (&options.baselines, has_drift) {
        (Some(path), true) => Baselines::load(path),
        _ => Baselines::default(),
    };
    for dataset in &suite.datasets {
        let (dataset_results, scans) = scan_dataset(executor, dataset, options, &mut baselines).await;
        results.extend(dataset_results);
        table_scans += scans;
    }
    if let (Some(path), true) = (&options.baselines, has_drift)
        && let Err(error) = baselines.save(path)
    {
        warn!(%error, file = %path.display(), "cannot remember the drift checks' histograms; the next run compares with the previous ones");
    }
    ScanReport {
        results,
        table_scans,
        elapsed_ms: started.elapsed().as_millis(),
    }
}

/// Drift checks' histograms by `dataset/check name`, kept in one JSON file between runs.
#[derive(Default)]
struct Baselines(BTreeMap<String, DriftBaseline>);

impl Baselines {
    fn key(dataset: &str, check: &Check) -> String {
        format!("{dataset}/{}", check.name)
    }

    /// A missing file is no baseline; an unreadable one is logged and treated the same way.
    fn load(path: &Path) -> Self {
        match std::fs::read(path) {
            Ok(bytes) => Self(serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                warn!(%error, file = %path.display(), "the drift checks' histograms do not parse; starting afresh");
                BTreeMap::new()
            })),
            Err(_) => Self::default(),
        }
    }

    /// A temporary file renamed over the old one, so a crash leaves one or the other.
    fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let temporary = path.with_extension("json.tmp");
        std::fs::write(
            &temporary,
            serde_json::to_vec_pretty(&self.0).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&temporary, path)
    }
}

fn combine_filters(dataset: Option<&str>, check: Option<&str>) -> Option<String> {
    match (dataset, check) {
        (Some(a), Some(b)) => Some(format!("({a}) AND ({b})")),
        (Some(a), None) | (None, Some(a)) => Some(a.to_owned()),
        (None, None) => None,
    }
}

fn base_result(dataset: &str, check: &Check) -> CheckResult {
    CheckResult {
        dataset: dataset.to_owned(),
        check: check.name.clone(),
        template: check.template.name,
        dimension: check.dimension,
        severity: check.severity,
        status: Status::Error,
        failing_rows: None,
        total_rows: None,
        value: None,
        message: String::new(),
        samples: Vec::new(),
        owner: check.owner.clone(),
        tags: check.tags.clone(),
        origin: check.origin.clone(),
    }
}

async fn scan_dataset(
    executor: &dyn CheckExecutor,
    dataset: &super::model::DatasetChecks,
    options: &ScanOptions,
    baselines: &mut Baselines,
) -> (Vec<CheckResult>, usize) {
    let dialect = executor.dialect();
    let error_all = |message: String| {
        dataset
            .checks
            .iter()
            .map(|check| CheckResult {
                message: message.clone(),
                ..base_result(&dataset.dataset, check)
            })
            .collect::<Vec<_>>()
    };
    let columns = match executor.columns(&dataset.dataset).await {
        Ok(columns) if columns.is_empty() => {
            return (error_all(format!("table `{}` not found", dataset.dataset)), 0);
        }
        Ok(columns) => columns,
        Err(error) => return (error_all(format!("cannot read the table's columns: {error}")), 0),
    };
    let column_names: Vec<String> = columns.iter().map(|(name, _)| name.clone()).collect();
    let not_null_columns = executor
        .not_null_columns(&dataset.dataset)
        .await
        .unwrap_or_default();
    let table = dialect.table(&dataset.dataset);

    // Compile every check.
    let mut errors: BTreeMap<usize, String> = BTreeMap::new();
    let mut compiled: Vec<Compiled> = Vec::new();
    for (position, check) in dataset.checks.iter().enumerate() {
        let schema_only = check.template.kind == super::templates::TemplateKind::Schema;
        let missing: Vec<String> = check
            .params
            .columns(check.template)
            .into_iter()
            .filter(|_| !schema_only)
            .filter(|column| !column_names.contains(column))
            .collect();
        if !missing.is_empty() {
            errors.insert(
                position,
                format!(
                    "column {} not found in `{}` (columns: {})",
                    missing
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    dataset.dataset,
                    column_names.join(", ")
                ),
            );
            continue;
        }
        let filter = combine_filters(dataset.filter.as_deref(), check.filter.as_deref());
        if check.template.name == DRIFT_TEMPLATE && options.baselines.is_none() {
            errors.insert(
                position,
                "a drift check needs a state folder to remember the previous run in (--state-dir)".to_owned(),
            );
            continue;
        }
        let ctx = Ctx {
            dialect,
            table: table.clone(),
            params: &check.params,
            filter: filter.clone(),
            table_columns: &column_names,
            not_null_columns: &not_null_columns,
            baseline: baselines.0.get(&Baselines::key(&dataset.dataset, check)),
        };
        let measure = (check.template.compile)(&ctx);
        compiled.push(Compiled {
            position,
            check,
            measure,
            filter,
        });
    }

    // The streamed pass: when the engine has one and a check needs it anyway (distinct statistics,
    // regular expressions), every check it can judge rides along and the rest stays SQL; a suite of
    // plain aggregates alone is cheaper as one SQL scan.
    let catalog = |name: &str| {
        columns
            .iter()
            .find(|(column, _)| column == name)
            .map(|(column, kind)| CatalogColumn {
                name: column.clone(),
                quoted: dialect.quote_ident(column),
                kind: ValueKind::from_catalog(kind),
            })
    };
    let mut streamed: Vec<(usize, StreamValue)> = Vec::new();
    let mut spec: Option<StreamSpec> = None;
    if options.stream && executor.can_stream() {
        let mut builder = SpecBuilder::default();
        let mut added = Vec::new();
        for (index, item) in compiled.iter().enumerate() {
            if builder.add(item.check, &item.measure, item.filter.as_deref(), &catalog) {
                added.push(index);
            }
        }
        if added
            .iter()
            .any(|index| stream::prefers_stream(&compiled[*index].measure, compiled[*index].check))
        {
            let (built, values) = builder.finish();
            streamed = added.into_iter().zip(values).collect();
            spec = Some(built);
        }
    }
    let in_stream: Vec<bool> = {
        let mut flags = vec![false; compiled.len()];
        for (index, _) in &streamed {
            flags[*index] = true;
        }
        flags
    };
    let sql_items: Vec<&Compiled> = compiled
        .iter()
        .zip(&in_stream)
        .filter(|(_, streamed)| !**streamed)
        .map(|(item, _)| item)
        .collect();

    // Run the streamed pass beside the SQL statements (which share what is left of the
    // concurrency).
    let stream_run = async {
        match &spec {
            Some(spec) => Some(
                executor
                    .streamed_stats(&dataset.dataset, spec)
                    .await
                    .map_err(|error| error.to_string()),
            ),
            None => None,
        }
    };
    let sql_concurrency = options
        .concurrency
        .saturating_sub(usize::from(spec.is_some()))
        .max(1);
    let ((stream_result, stream_elapsed), (mut values, mut table_scans)) = futures::join!(
        async {
            let started = Instant::now();
            (stream_run.await, started.elapsed())
        },
        run_sql(executor, &table, &sql_items, sql_concurrency)
    );
    match stream_result {
        Some(Ok(stats)) => {
            debug!(
                dataset = %dataset.dataset,
                checks = streamed.len(),
                fields = spec.as_ref().map_or(0, |spec| spec.fields.len()),
                rows = stats.rows,
                elapsed_ms = stream_elapsed.as_millis() as u64,
                "streamed pass judged"
            );
            table_scans += 1;
            let mut given_up = Vec::new();
            for (index, value) in &streamed {
                match stats.values(value) {
                    Some(row) => {
                        values.insert(compiled[*index].position, Ok(row));
                    }
                    None => given_up.push(&compiled[*index]),
                }
            }
            if !given_up.is_empty() {
                // Columns with more distinct values than the agent keeps for judging: their value
                // checks run as SQL (one more scan, bounded memory).
                debug!(dataset = %dataset.dataset, checks = given_up.len(), "running checks of high-cardinality columns as SQL");
                let (retried, scans) = run_sql(executor, &table, &given_up, options.concurrency.max(1)).await;
                values.extend(retried);
                table_scans += scans;
            }
        }
        Some(Err(error)) => {
            // A failed pass (a filter the server rejects, a dropped connection) costs no check:
            // they run as SQL, where each failure is isolated to its own check.
            warn!(%error, dataset = %dataset.dataset, "streamed pass failed, running its checks as SQL");
            table_scans += 1;
            let items: Vec<&Compiled> = streamed.iter().map(|(index, _)| &compiled[*index]).collect();
            let (retried, scans) = run_sql(executor, &table, &items, options.concurrency.max(1)).await;
            values.extend(retried);
            table_scans += scans;
        }
        None => {}
    }

    let mut extra_scans = 0;
    let mut results = Vec::new();
    let mut compiled_by_position: HashMap<usize, Compiled> =
        compiled.into_iter().map(|item| (item.position, item)).collect();
    for (position, check) in dataset.checks.iter().enumerate() {
        let mut result = base_result(&dataset.dataset, check);
        if let Some(message) = errors.remove(&position) {
            result.message = message;
            results.push(result);
            continue;
        }
        let Some(item) = compiled_by_position.remove(&position) else {
            continue;
        };
        match values
            .remove(&position)
            .unwrap_or_else(|| Err("the statement did not run".into()))
        {
            Err(error) => result.message = format!("query failed: {error}"),
            Ok(values) => {
                if let Some(baseline) = judge(&mut result, check, &item.measure, &values, &columns) {
                    baselines
                        .0
                        .insert(Baselines::key(&dataset.dataset, check), baseline);
                }
            }
        }
        if result.status == Status::Fail
            && options.samples > 0
            && let Some(predicate) = &item.measure.failing_rows
        {
            let mut sample_columns = check.params.columns(check.template);
            if sample_columns.is_empty() {
                sample_columns = column_names.iter().take(5).cloned().collect();
            }
            let list: Vec<String> = sample_columns
                .iter()
                .map(|column| dialect.as_text(&dialect.quote_ident(column)))
                .collect();
            let condition = match &item.filter {
                Some(filter) => format!("({filter}) AND ({predicate})"),
                None => predicate.clone(),
            };
            let sql = format!(
                "SELECT {} FROM {table} WHERE {condition} LIMIT {}",
                list.join(", "),
                options.samples
            );
            extra_scans += 1;
            if let Ok(rows) = executor.fetch_rows(&sql, options.samples).await {
                result.samples = rows
                    .into_iter()
                    .map(|row| {
                        row.into_iter()
                            .map(|value| {
                                value.map(|v| {
                                    if options.unmasked_samples {
                                        v
                                    } else {
                                        mask_text(&v, None)
                                    }
                                })
                            })
                            .collect()
                    })
                    .collect();
            }
        }
        results.push(result);
    }
    (results, table_scans + extra_scans)
}

/// Runs checks as SQL: every fused aggregate in ONE `SELECT … FROM table` (identical expressions
/// once), one grouping statement per (column, filter) of distinct statistics, one statement per
/// distinct own query; `concurrency` statements in flight. Returns each check's values by position
/// and the statements that read table data.
async fn run_sql(
    executor: &dyn CheckExecutor,
    table: &str,
    items: &[&Compiled<'_>],
    concurrency: usize,
) -> (HashMap<usize, Values>, usize) {
    let dialect = executor.dialect();
    let mut fused: Vec<String> = Vec::new();
    let mut fused_index: HashMap<String, usize> = HashMap::new();
    let mut distinct_columns: Vec<(String, Option<String>)> = Vec::new();
    let mut queries: Vec<String> = Vec::new();
    // Per item: where its values are.
    enum Slot {
        Fused(Vec<usize>),
        Distinct(usize),
        Query(usize),
        Schema,
    }
    let mut slots = Vec::new();
    for item in items {
        slots.push(match &item.measure.source {
            Source::Fused(aggregates) => Slot::Fused(
                aggregates
                    .iter()
                    .map(|aggregate| {
                        *fused_index.entry(aggregate.clone()).or_insert_with(|| {
                            fused.push(aggregate.clone());
                            fused.len() - 1
                        })
                    })
                    .collect(),
            ),
            Source::Distinct(column) => {
                let key = (column.clone(), item.filter.clone());
                let index = distinct_columns
                    .iter()
                    .position(|c| *c == key)
                    .unwrap_or_else(|| {
                        distinct_columns.push(key);
                        distinct_columns.len() - 1
                    });
                Slot::Distinct(index)
            }
            Source::Query(sql) => {
                let index = queries.iter().position(|q| q == sql).unwrap_or_else(|| {
                    queries.push(sql.clone());
                    queries.len() - 1
                });
                Slot::Query(index)
            }
            Source::Schema(_) => Slot::Schema,
        });
    }

    let mut tasks = Vec::new();
    if !fused.is_empty() {
        let list: Vec<String> = fused.iter().map(|aggregate| dialect.as_text(aggregate)).collect();
        tasks.push(Task::Fused {
            sql: format!("SELECT {} FROM {table}", list.join(", ")),
        });
    }
    for (index, (column, filter)) in distinct_columns.iter().enumerate() {
        let quoted = dialect.quote_ident(column);
        let condition = match filter {
            Some(filter) => format!("({filter}) AND {quoted} IS NOT NULL"),
            None => format!("{quoted} IS NOT NULL"),
        };
        let sql = format!(
            "SELECT {}, {}, {}, {} FROM (SELECT COUNT(*) AS n FROM {table} WHERE {condition} GROUP BY {}) g",
            dialect.as_text("COUNT(*)"),
            dialect.as_text("COALESCE(SUM(CASE WHEN n > 1 THEN 1 ELSE 0 END), 0)"),
            dialect.as_text("COALESCE(SUM(CASE WHEN n > 1 THEN n ELSE 0 END), 0)"),
            dialect.as_text("COALESCE(SUM(n), 0)"),
            dialect.group_key(&quoted),
        );
        tasks.push(Task::Distinct { sql, index });
    }
    for (index, sql) in queries.iter().enumerate() {
        tasks.push(Task::Query {
            sql: sql.clone(),
            index,
        });
    }
    let mut table_scans = tasks.len();

    let outputs: Vec<TaskOutput> = futures::stream::iter(tasks.into_iter().map(|task| async move {
        match task {
            Task::Fused { sql } => {
                TaskOutput::Fused(executor.fetch_one(&sql).await.map_err(|e| e.to_string()))
            }
            Task::Distinct { sql, index } => {
                TaskOutput::Distinct(index, executor.fetch_one(&sql).await.map_err(|e| e.to_string()))
            }
            Task::Query { sql, index } => {
                TaskOutput::Query(index, executor.fetch_one(&sql).await.map_err(|e| e.to_string()))
            }
        }
    }))
    .buffered(concurrency.max(1))
    .collect()
    .await;

    let mut fused_values: Option<Result<TextRow, String>> = None;
    let mut distinct_values: Vec<Option<Result<TextRow, String>>> = vec![None; distinct_columns.len()];
    let mut query_values: Vec<Option<Result<TextRow, String>>> = vec![None; queries.len()];
    for output in outputs {
        match output {
            TaskOutput::Fused(result) => fused_values = Some(result),
            TaskOutput::Distinct(index, result) => distinct_values[index] = Some(result),
            TaskOutput::Query(index, result) => query_values[index] = Some(result),
        }
    }

    let mut values = HashMap::new();
    for (item, slot) in items.iter().zip(slots) {
        let value = match slot {
            Slot::Fused(indices) => match &fused_values {
                Some(Ok(row)) => Ok(indices.iter().map(|i| row.get(*i).cloned().flatten()).collect()),
                Some(Err(_)) => {
                    // A failed fused statement fails every check in it; run each check's
                    // aggregates alone to find the ones at fault and keep the others.
                    let Source::Fused(aggregates) = &item.measure.source else {
                        continue;
                    };
                    let list: Vec<String> = aggregates.iter().map(|a| dialect.as_text(a)).collect();
                    let sql = format!("SELECT {} FROM {table}", list.join(", "));
                    table_scans += 1;
                    executor.fetch_one(&sql).await.map_err(|e| e.to_string())
                }
                None => Err("the fused statement did not run".into()),
            },
            Slot::Distinct(index) => distinct_values[index]
                .clone()
                .unwrap_or_else(|| Err("distinct statistics did not run".into())),
            Slot::Query(index) => query_values[index]
                .clone()
                .unwrap_or_else(|| Err("the statement did not run".into())),
            Slot::Schema => Ok(Vec::new()),
        };
        values.insert(item.position, value);
    }
    (values, table_scans)
}

fn parse_count(value: Option<&Option<String>>) -> Option<u64> {
    let text = value?.as_deref().unwrap_or("0");
    text.parse::<u64>()
        .ok()
        .or_else(|| text.parse::<f64>().ok().filter(|v| *v >= 0.0).map(|v| v as u64))
}

fn number(value: Option<&Option<String>>) -> Option<f64> {
    value?.as_deref()?.parse::<f64>().ok()
}

fn fold(fold: Fold, values: &[Option<String>]) -> Option<String> {
    match fold {
        Fold::Pick(index) => values.get(index).cloned().flatten(),
        Fold::Ratio(a, b) => {
            let (a, b) = (number(values.get(a)).unwrap_or(0.0), number(values.get(b))?);
            (b > 0.0).then(|| format_number(a / b))
        }
        Fold::StddevSamp => {
            let (n, sum, squares) = (
                number(values.first())?,
                number(values.get(1))?,
                number(values.get(2))?,
            );
            (n > 1.0).then(|| {
                let variance = ((squares - sum * sum / n) / (n - 1.0)).max(0.0);
                format_number(variance.sqrt())
            })
        }
        Fold::AbsDiff => Some(format_number(
            (number(values.first())? - number(values.get(1))?).abs(),
        )),
    }
}

/// Compares a value with a bound: as numbers when both are numbers, else as text (ISO dates).
fn compare(value: &str, bound: &str) -> std::cmp::Ordering {
    match (value.trim().parse::<f64>(), bound.trim().parse::<f64>()) {
        (Ok(value), Ok(bound)) => value.partial_cmp(&bound).unwrap_or(std::cmp::Ordering::Equal),
        _ => value.cmp(bound),
    }
}

fn within(value: &str, bounds: &Bounds) -> bool {
    bounds
        .min
        .as_deref()
        .is_none_or(|min| compare(value, min).is_ge())
        && bounds
            .max
            .as_deref()
            .is_none_or(|max| compare(value, max).is_le())
}

/// "45 s", "12.5 min", "3.2 h", "40.2 d": seconds in the largest unit that keeps them above 1.
fn human_seconds(seconds: f64) -> String {
    let magnitude = seconds.abs();
    let (value, unit) = if magnitude >= 86_400.0 {
        (seconds / 86_400.0, "d")
    } else if magnitude >= 3_600.0 {
        (seconds / 3_600.0, "h")
    } else if magnitude >= 60.0 {
        (seconds / 60.0, "min")
    } else {
        (seconds, "s")
    };
    format!("{} {unit}", format_number((value * 10.0).round() / 10.0))
}

fn describe_bounds(bounds: &Bounds) -> String {
    match (&bounds.min, &bounds.max) {
        (Some(min), Some(max)) if min == max => format!("= {min}"),
        (Some(min), Some(max)) => format!("within [{min}, {max}]"),
        (Some(min), None) => format!(">= {min}"),
        (None, Some(max)) => format!("<= {max}"),
        (None, None) => "any value".into(),
    }
}

fn judge_rows(result: &mut CheckResult, check: &Check, failing: u64, total: u64) {
    result.failing_rows = Some(failing);
    result.total_rows = Some(total);
    let share = if total > 0 {
        failing as f64 / total as f64
    } else {
        0.0
    };
    let passed = failing == 0 || share <= check.tolerance;
    result.status = if passed { Status::Pass } else { Status::Fail };
    result.message = if failing == 0 {
        format!("0 of {total} rows fail")
    } else if check.tolerance > 0.0 {
        format!(
            "{failing} of {total} rows fail ({:.2} %, tolerance {:.2} %)",
            share * 100.0,
            check.tolerance * 100.0
        )
    } else {
        format!("{failing} of {total} rows fail ({:.2} %)", share * 100.0)
    };
}

/// Judges a check's values into `result`; a drift check returns what to remember for its next run.
fn judge(
    result: &mut CheckResult,
    check: &Check,
    measure: &Measure,
    values: &[Option<String>],
    columns: &[(String, String)],
) -> Option<DriftBaseline> {
    match &measure.outcome {
        Outcome::Rows { failing, total } => {
            let failing = parse_count(values.get(*failing)).unwrap_or(0);
            let total = parse_count(values.get(*total)).unwrap_or(0);
            judge_rows(result, check, failing, total);
        }
        Outcome::Minority => {
            let counts: Vec<u64> = (0..values.len())
                .map(|i| parse_count(values.get(i)).unwrap_or(0))
                .collect();
            let total: u64 = counts.iter().sum();
            let largest = counts.iter().copied().max().unwrap_or(0);
            judge_rows(result, check, total - largest, total);
        }
        Outcome::Metric { fold: how, bounds } => {
            let value = fold(*how, values);
            result.value = value.clone();
            let expected = describe_bounds(bounds);
            // Ages and lags are seconds: say them in the unit people think in too.
            let in_seconds = check
                .template
                .params
                .iter()
                .any(|param| param.kind == ParamKind::Duration);
            let said = |value: &str| match value.parse::<f64>() {
                Ok(seconds) if in_seconds => format!("{value} s ({})", human_seconds(seconds)),
                _ => value.to_owned(),
            };
            let expected = match (&bounds.max, &bounds.min) {
                (Some(max), None) if in_seconds => format!("<= {}", said(max)),
                _ => expected,
            };
            match value {
                Some(value) if within(&value, bounds) => {
                    result.status = Status::Pass;
                    result.message = format!("{} (expected {expected})", said(&value));
                }
                Some(value) => {
                    result.status = Status::Fail;
                    result.message = format!("{} (expected {expected})", said(&value));
                }
                None => {
                    result.status = Status::Fail;
                    result.message = format!("no value: no rows or only NULLs (expected {expected})");
                }
            }
        }
        Outcome::Schema => {
            if let Source::Schema(rule) = &measure.source {
                judge_schema(result, check, rule, columns);
            }
        }
        Outcome::Drift { max, edges, previous } => {
            return judge_drift(result, *max, edges, previous.as_deref(), values);
        }
    }
    None
}

/// Share of values outside a drift check's bins above which the bins are chosen anew.
const DRIFT_REBIN_OUTSIDE: f64 = 0.2;

/// Compares the bucket counts with the previous run's (Jensen–Shannon distance) and returns the
/// baseline for the next run: the same bins with these counts, or new bins over the current range
/// (first run, or a fifth of the values outside the bins).
fn judge_drift(
    result: &mut CheckResult,
    max: f64,
    edges: &[f64],
    previous: Option<&[u64]>,
    values: &[Option<String>],
) -> Option<DriftBaseline> {
    let buckets = DRIFT_BINS + 2;
    let counts: Vec<u64> = (0..buckets)
        .map(|i| parse_count(values.get(i)).unwrap_or(0))
        .collect();
    let (low, high) = (number(values.get(buckets)), number(values.get(buckets + 1)));
    let total: u64 = counts.iter().sum();
    let (Some(low), Some(high)) = (low, high) else {
        result.status = Status::Fail;
        result.message = "no value: no rows or only NULLs".to_owned();
        return None;
    };
    result.total_rows = Some(total);
    let range = format!(
        "{} values in [{}, {}]",
        total,
        format_number(low),
        format_number(high)
    );
    if edges.is_empty() {
        // First run: the statement counted on bins over its own range.
        result.status = Status::Pass;
        result.message = format!("baseline recorded ({range}); drift is measured from the next run");
        return Some(DriftBaseline {
            edges: DriftBaseline::bins(low, high),
            counts: Some(counts),
        });
    }
    let outside = (counts[0] + counts[buckets - 1]) as f64 / total.max(1) as f64;
    let next = if outside > DRIFT_REBIN_OUTSIDE {
        DriftBaseline {
            edges: DriftBaseline::bins(low, high),
            counts: None,
        }
    } else {
        DriftBaseline {
            edges: edges.to_vec(),
            counts: Some(counts.clone()),
        }
    };
    let Some(previous) = previous else {
        result.status = Status::Pass;
        result.message = format!("baseline recorded ({range}); drift is measured from the next run");
        return Some(next);
    };
    let as_floats = |counts: &[u64]| counts.iter().map(|&count| count as f64).collect::<Vec<_>>();
    match crate::histogram_memory::js_distance(&as_floats(previous), &as_floats(&counts)) {
        Some(distance) => {
            let value = format!("{distance:.4}");
            result.status = if distance <= max {
                Status::Pass
            } else {
                Status::Fail
            };
            result.message = format!(
                "distance {value} from the previous run (expected <= {}; {range}, {:.1} % outside the previous range)",
                format_number(max),
                outside * 100.0
            );
            result.value = Some(value);
        }
        None => {
            result.status = Status::Pass;
            result.message = format!("baseline recorded ({range}); the previous run had no values");
        }
    }
    Some(next)
}

fn type_matches(actual: &str, expected: &str) -> bool {
    let expected = expected.trim().to_ascii_lowercase();
    actual.split('|').any(|name| {
        let name = name.to_ascii_lowercase();
        name == expected || name.split('(').next().is_some_and(|base| base.trim() == expected)
    })
}

fn judge_schema(result: &mut CheckResult, check: &Check, rule: &SchemaRule, columns: &[(String, String)]) {
    let has = |name: &str| columns.iter().any(|(column, _)| column == name);
    let (problems, total): (Vec<String>, usize) = match rule {
        SchemaRule::Present(expected) => (
            expected
                .iter()
                .filter(|c| !has(c))
                .map(|c| format!("`{c}` missing"))
                .collect(),
            expected.len(),
        ),
        SchemaRule::NoExtra(expected) => (
            columns
                .iter()
                .filter(|(name, _)| !expected.contains(name))
                .map(|(name, _)| format!("`{name}` not expected"))
                .collect(),
            columns.len(),
        ),
        SchemaRule::Types(expected) => (
            expected
                .iter()
                .filter_map(
                    |(name, wanted)| match columns.iter().find(|(column, _)| column == name) {
                        None => Some(format!("`{name}` missing")),
                        Some((_, actual)) if !type_matches(actual, wanted) => Some(format!(
                            "`{name}` is {} (expected {wanted})",
                            actual.split('|').next().unwrap_or_default()
                        )),
                        Some(_) => None,
                    },
                )
                .collect(),
            expected.len(),
        ),
        SchemaRule::Count => {
            let bounds = Bounds {
                min: check.params.scalar("min"),
                max: check.params.scalar("max"),
            };
            let count = columns.len().to_string();
            result.value = Some(count.clone());
            let passed = within(&count, &bounds);
            result.status = if passed { Status::Pass } else { Status::Fail };
            result.message = format!("{count} columns (expected {})", describe_bounds(&bounds));
            return;
        }
    };
    result.failing_rows = Some(problems.len() as u64);
    result.total_rows = Some(total as u64);
    result.status = if problems.is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
    result.message = if problems.is_empty() {
        "schema as expected".into()
    } else {
        problems.join("; ")
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_said_in_the_largest_fitting_unit() {
        assert_eq!(human_seconds(45.0), "45 s");
        assert_eq!(human_seconds(750.0), "12.5 min");
        assert_eq!(human_seconds(172_800.0), "2 d");
        assert_eq!(human_seconds(3_474_167.4), "40.2 d");
        assert_eq!(human_seconds(-7_200.0), "-2 h");
    }

    #[test]
    fn bounds_compare_numbers_as_numbers_and_dates_as_text() {
        let bounds = Bounds {
            min: Some("2".into()),
            max: Some("10".into()),
        };
        assert!(within("9.5", &bounds));
        assert!(!within("11", &bounds));
        let dates = Bounds {
            min: Some("1992-01-01".into()),
            max: Some("1992-01-31".into()),
        };
        assert!(within("1992-01-02", &dates));
        assert!(!within("1992-02-01", &dates));
    }

    #[test]
    fn folds_compute_ratio_stddev_and_difference() {
        let text = |values: &[&str]| values.iter().map(|v| Some((*v).to_owned())).collect::<Vec<_>>();
        assert_eq!(fold(Fold::Ratio(0, 1), &text(&["1", "4"])), Some("0.25".into()));
        // 2, 4, 4, 4, 5, 5, 7, 9: sample stddev 2.138…
        let stddev = fold(Fold::StddevSamp, &text(&["8", "40", "232"])).unwrap();
        assert!((stddev.parse::<f64>().unwrap() - 2.138_089_935_299_395).abs() < 1e-9);
        assert_eq!(fold(Fold::AbsDiff, &text(&["3", "10"])), Some("7".into()));
    }
}
