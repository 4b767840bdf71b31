//! Planning and running a suite: compile every check, fuse what can share a scan, run the
//! statements (a few at a time), and judge each check.
//!
//! Per dataset: every fused aggregate of every check goes into ONE `SELECT … FROM table`
//! (identical expressions, like `COUNT(*)`, appear once); distinct-value statistics of all columns
//! come from one streamed pass where the engine has one (PostgreSQL COPY), else one grouping
//! statement per column; checks that need a statement of their own share it when the SQL is the
//! same. A check whose column is missing becomes an error result; the others still run.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;

use super::exec::{CheckExecutor, MAX_STREAM_PATTERNS, StreamColumn, StreamStats, TextRow};
use super::model::{Check, CheckSuite, Dimension, Severity, format_number};
use super::templates::{Bounds, Ctx, Fold, Measure, Outcome, SchemaRule, Source, row_regex};
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
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            samples: 0,
            unmasked_samples: false,
            concurrency: 2,
        }
    }
}

/// Where a compiled check's numbers are in the results of its dataset's statements.
enum Slot {
    Fused(Vec<usize>),
    Distinct(usize),
    Query(usize),
    Schema(SchemaRule),
    /// A regular expression judged in a streamed pass (index into the stream patterns).
    Pattern(usize),
}

struct Planned<'a> {
    check: &'a Check,
    measure: Measure,
    slot: Slot,
}

/// A streamed pass's distinct-statistics slots, and its pattern slots as (slot, column, bit).
type StreamedGroup = (Vec<usize>, Vec<(usize, usize, usize)>);

/// Distinct-statistics columns sharing one filter: (filter, [(slot index, column)]).
type FilterGroup = (Option<String>, Vec<(usize, String)>);

enum Task {
    Fused {
        sql: String,
    },
    Distinct {
        columns: Vec<StreamColumn>,
        filter: Option<String>,
    },
    DistinctOne {
        sql: String,
        index: usize,
    },
    Query {
        sql: String,
        index: usize,
    },
}

enum TaskOutput {
    Fused(Result<TextRow, String>),
    Distinct(Result<StreamStats, String>),
    DistinctOne(usize, Result<TextRow, String>),
    Query(usize, Result<TextRow, String>),
}

pub async fn scan(executor: &dyn CheckExecutor, suite: &CheckSuite, options: &ScanOptions) -> ScanReport {
    let started = Instant::now();
    let mut results = Vec::new();
    let mut table_scans = 0;
    for dataset in &suite.datasets {
        let (dataset_results, scans) = scan_dataset(executor, dataset, options).await;
        results.extend(dataset_results);
        table_scans += scans;
    }
    ScanReport {
        results,
        table_scans,
        elapsed_ms: started.elapsed().as_millis(),
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
    let columns_by_name: HashMap<&str, &str> = columns
        .iter()
        .map(|(name, kind)| (name.as_str(), kind.as_str()))
        .collect();
    let not_null_columns = executor
        .not_null_columns(&dataset.dataset)
        .await
        .unwrap_or_default();
    let table = dialect.table(&dataset.dataset);

    // Which filters get a streamed pass: those whose distinct-statistics columns the engine can
    // stream (PostgreSQL, three columns or more). Regular-expression row checks on those columns
    // ride along, judged once per distinct value instead of once per row in SQL.
    let mut distinct_keys: Vec<(String, Option<String>)> = Vec::new();
    for check in &dataset.checks {
        let filter = combine_filters(dataset.filter.as_deref(), check.filter.as_deref());
        if let Some(column) = distinct_column(check)
            && column_names.contains(&column)
            && !distinct_keys.contains(&(column.clone(), filter.clone()))
        {
            distinct_keys.push((column, filter));
        }
    }
    let mut streamed_keys: Vec<(String, Option<String>)> = Vec::new();
    let mut filters: Vec<Option<String>> = Vec::new();
    for (_, filter) in &distinct_keys {
        if !filters.contains(filter) {
            filters.push(filter.clone());
        }
    }
    for filter in filters {
        let probe: Vec<StreamColumn> = distinct_keys
            .iter()
            .filter(|(_, f)| *f == filter)
            .map(|(column, _)| StreamColumn {
                name: column.clone(),
                blank_padded: false,
                patterns: Vec::new(),
            })
            .collect();
        if executor
            .streamed_stats(&dataset.dataset, &probe, filter.as_deref())
            .is_some()
        {
            streamed_keys.extend(probe.into_iter().map(|column| (column.name, filter.clone())));
        }
    }
    // (column, filter, pattern, fails_on_match) judged in a stream.
    let mut stream_patterns: Vec<(String, Option<String>, String, bool)> = Vec::new();

    // Compile and place every check.
    let mut errors: BTreeMap<usize, String> = BTreeMap::new();
    let mut planned: Vec<(usize, Planned)> = Vec::new();
    let mut fused: Vec<String> = Vec::new();
    let mut fused_index: HashMap<String, usize> = HashMap::new();
    let mut distinct_columns: Vec<(String, Option<String>)> = Vec::new();
    let mut queries: Vec<String> = Vec::new();
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
        let ctx = Ctx {
            dialect,
            table: table.clone(),
            params: &check.params,
            filter: filter.clone(),
            table_columns: &column_names,
            not_null_columns: &not_null_columns,
        };
        let measure = (check.template.compile)(&ctx);
        if let Some((column, pattern, fails_on_match)) = row_regex(check.template, &check.params)
            && streamed_keys.contains(&(column.clone(), filter.clone()))
            && stream_patterns
                .iter()
                .filter(|(c, f, _, _)| *c == column && *f == filter)
                .count()
                < MAX_STREAM_PATTERNS
        {
            stream_patterns.push((column, filter, pattern, fails_on_match));
            let slot = Slot::Pattern(stream_patterns.len() - 1);
            planned.push((position, Planned { check, measure, slot }));
            continue;
        }
        let slot = match &measure.source {
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
                let key = (column.clone(), filter.clone());
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
            Source::Schema(rule) => Slot::Schema(rule.clone()),
        };
        planned.push((position, Planned { check, measure, slot }));
    }

    // Build the statements.
    let mut tasks = Vec::new();
    if !fused.is_empty() {
        let list: Vec<String> = fused.iter().map(|aggregate| dialect.as_text(aggregate)).collect();
        tasks.push(Task::Fused {
            sql: format!("SELECT {} FROM {table}", list.join(", ")),
        });
    }
    // Streamed distinct statistics need one filter for all columns; group by filter.
    let mut by_filter: Vec<FilterGroup> = Vec::new();
    for (index, (column, filter)) in distinct_columns.iter().enumerate() {
        match by_filter.iter_mut().find(|(f, _)| f == filter) {
            Some((_, columns)) => columns.push((index, column.clone())),
            None => by_filter.push((filter.clone(), vec![(index, column.clone())])),
        }
    }
    // Per streamed pass: the distinct slots of its columns, and per pattern slot (column, bit).
    let mut streamed_groups: Vec<StreamedGroup> = Vec::new();
    for (filter, columns) in by_filter {
        let streamable = columns
            .iter()
            .all(|(_, column)| streamed_keys.contains(&(column.clone(), filter.clone())));
        if streamable {
            let mut stream_columns: Vec<StreamColumn> = columns
                .iter()
                .map(|(_, name)| StreamColumn {
                    name: name.clone(),
                    blank_padded: columns_by_name
                        .get(name.as_str())
                        .is_some_and(|kind| kind.starts_with("character(") || kind.ends_with("|bpchar")),
                    patterns: Vec::new(),
                })
                .collect();
            let mut pattern_slots = Vec::new();
            for (slot, (column, pattern_filter, pattern, fails_on_match)) in
                stream_patterns.iter().enumerate()
            {
                if *pattern_filter != filter {
                    continue;
                }
                if let Some(index) = stream_columns.iter().position(|c| c.name == *column) {
                    stream_columns[index]
                        .patterns
                        .push((pattern.clone(), *fails_on_match));
                    pattern_slots.push((slot, index, stream_columns[index].patterns.len() - 1));
                }
            }
            streamed_groups.push((columns.iter().map(|(index, _)| *index).collect(), pattern_slots));
            tasks.push(Task::Distinct {
                columns: stream_columns,
                filter,
            });
        } else {
            for (index, column) in columns {
                let quoted = dialect.quote_ident(&column);
                let condition = match &filter {
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
                tasks.push(Task::DistinctOne { sql, index });
            }
        }
    }
    for (index, sql) in queries.iter().enumerate() {
        tasks.push(Task::Query {
            sql: sql.clone(),
            index,
        });
    }
    let table_scans = tasks.len();

    // Run them, a few at a time.
    let outputs: Vec<TaskOutput> = futures::stream::iter(tasks.into_iter().map(|task| async move {
        match task {
            Task::Fused { sql } => {
                TaskOutput::Fused(executor.fetch_one(&sql).await.map_err(|e| e.to_string()))
            }
            Task::Distinct { columns, filter } => {
                let result = match executor.streamed_stats(&dataset.dataset, &columns, filter.as_deref()) {
                    Some(future) => future.await.map_err(|e| e.to_string()),
                    None => Err("streamed statistics unavailable".to_owned()),
                };
                TaskOutput::Distinct(result)
            }
            Task::DistinctOne { sql, index } => {
                TaskOutput::DistinctOne(index, executor.fetch_one(&sql).await.map_err(|e| e.to_string()))
            }
            Task::Query { sql, index } => {
                TaskOutput::Query(index, executor.fetch_one(&sql).await.map_err(|e| e.to_string()))
            }
        }
    }))
    .buffered(options.concurrency.max(1))
    .collect()
    .await;

    let mut fused_values: Option<Result<TextRow, String>> = None;
    let mut distinct_values: Vec<Option<Result<Vec<Option<String>>, String>>> =
        vec![None; distinct_columns.len()];
    let mut query_values: Vec<Option<Result<TextRow, String>>> = vec![None; queries.len()];
    let mut pattern_values: Vec<Option<Result<TextRow, String>>> = vec![None; stream_patterns.len()];
    let mut streamed = streamed_groups.into_iter();
    for output in outputs {
        match output {
            TaskOutput::Fused(result) => fused_values = Some(result),
            TaskOutput::Distinct(result) => {
                let (group, pattern_slots) = streamed.next().unwrap_or_default();
                for (position, index) in group.into_iter().enumerate() {
                    distinct_values[index] = Some(match &result {
                        Ok(stats) => Ok(stats
                            .distinct
                            .get(position)
                            .map(|stat| stat.iter().map(|value| Some(value.to_string())).collect())
                            .unwrap_or_default()),
                        Err(error) => Err(error.clone()),
                    });
                }
                for (slot, column, bit) in pattern_slots {
                    pattern_values[slot] = Some(match &result {
                        Ok(stats) => {
                            let failing = stats
                                .pattern_failing
                                .get(column)
                                .and_then(|bits| bits.get(bit))
                                .copied()
                                .unwrap_or(0);
                            Ok(vec![Some(failing.to_string()), Some(stats.rows.to_string())])
                        }
                        Err(error) => Err(error.clone()),
                    });
                }
            }
            TaskOutput::DistinctOne(index, result) => distinct_values[index] = Some(result),
            TaskOutput::Query(index, result) => query_values[index] = Some(result),
        }
    }

    // A failed fused statement fails every check in it; run each check's aggregates alone to find
    // the ones at fault and keep the others.
    let mut isolated: HashMap<usize, Result<TextRow, String>> = HashMap::new();
    let mut extra_scans = 0;
    if matches!(fused_values, Some(Err(_))) {
        for (position, plan) in &planned {
            if let Source::Fused(aggregates) = &plan.measure.source {
                let list: Vec<String> = aggregates.iter().map(|a| dialect.as_text(a)).collect();
                let sql = format!("SELECT {} FROM {table}", list.join(", "));
                extra_scans += 1;
                isolated.insert(
                    *position,
                    executor.fetch_one(&sql).await.map_err(|e| e.to_string()),
                );
            }
        }
    }

    let mut results = Vec::new();
    let mut planned_by_position: HashMap<usize, Planned> = planned.into_iter().collect();
    for (position, check) in dataset.checks.iter().enumerate() {
        let mut result = base_result(&dataset.dataset, check);
        if let Some(message) = errors.remove(&position) {
            result.message = message;
            results.push(result);
            continue;
        }
        let Some(plan) = planned_by_position.remove(&position) else {
            continue;
        };
        let values: Result<Vec<Option<String>>, String> = match &plan.slot {
            Slot::Fused(indices) => match isolated.remove(&position) {
                Some(values) => values,
                None => match &fused_values {
                    Some(Ok(row)) => Ok(indices.iter().map(|i| row.get(*i).cloned().flatten()).collect()),
                    Some(Err(error)) => Err(error.clone()),
                    None => Err("the fused statement did not run".into()),
                },
            },
            Slot::Distinct(index) => distinct_values[*index]
                .clone()
                .unwrap_or_else(|| Err("distinct statistics did not run".into())),
            Slot::Query(index) => query_values[*index]
                .clone()
                .unwrap_or_else(|| Err("the statement did not run".into())),
            Slot::Schema(_) => Ok(Vec::new()),
            Slot::Pattern(index) => pattern_values[*index]
                .clone()
                .unwrap_or_else(|| Err("the streamed pass did not run".into())),
        };
        match values {
            Err(error) => result.message = format!("query failed: {error}"),
            Ok(values) => judge(
                &mut result,
                plan.check,
                &plan.measure,
                &plan.slot,
                &values,
                &columns,
            ),
        }
        if result.status == Status::Fail
            && options.samples > 0
            && let Some(predicate) = &plan.measure.failing_rows
        {
            let filter = combine_filters(dataset.filter.as_deref(), check.filter.as_deref());
            let mut sample_columns = check.params.columns(check.template);
            if sample_columns.is_empty() {
                sample_columns = column_names.iter().take(5).cloned().collect();
            }
            let list: Vec<String> = sample_columns
                .iter()
                .map(|column| dialect.as_text(&dialect.quote_ident(column)))
                .collect();
            let condition = match filter {
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

/// The column whose distinct-value statistics a check reads, if any.
fn distinct_column(check: &Check) -> Option<String> {
    match check.template.name {
        "unique" | "distinct_count_between" | "duplicate_count_between" | "unique_share_min" => {
            check.params.text("column").map(str::to_owned)
        }
        _ => None,
    }
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

fn judge(
    result: &mut CheckResult,
    check: &Check,
    measure: &Measure,
    slot: &Slot,
    values: &[Option<String>],
    columns: &[(String, String)],
) {
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
            match value {
                Some(value) if within(&value, bounds) => {
                    result.status = Status::Pass;
                    result.message = format!("{value} (expected {expected})");
                }
                Some(value) => {
                    result.status = Status::Fail;
                    result.message = format!("{value} (expected {expected})");
                }
                None => {
                    result.status = Status::Fail;
                    result.message = format!("no value: no rows or only NULLs (expected {expected})");
                }
            }
        }
        Outcome::Schema => {
            let Slot::Schema(rule) = slot else { return };
            judge_schema(result, check, rule, columns);
        }
    }
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
