//! The template library: every check a file can name, with its dimension, parameters, an example,
//! and how it compiles to pushdown SQL for a [`Dialect`].
//!
//! A template compiles to a [`Measure`]: where its numbers come from (aggregates fused into the
//! table's one scan, a statement of its own, distinct-value statistics, or the catalog) and how those
//! numbers become an outcome (failing rows of total rows, or a metric within bounds). NULLs never
//! fail a validity template; completeness templates count them.

use super::dialect::Dialect;
use super::model::{Dimension, Params, format_number};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Column,
    Columns,
    Table,
    Text,
    Regex,
    Sql,
    Predicate,
    Number,
    Integer,
    Bound,
    Date,
    Duration,
    Values,
    TypeMap,
}

impl ParamKind {
    pub fn expected(self) -> &'static str {
        match self {
            ParamKind::Column => "a column name",
            ParamKind::Columns => "a non-empty list of column names",
            ParamKind::Table => "a table name like schema.table",
            ParamKind::Text => "a non-empty text",
            ParamKind::Regex => "a regular expression",
            ParamKind::Sql => "an SQL query",
            ParamKind::Predicate => "an SQL condition",
            ParamKind::Number => "a number",
            ParamKind::Integer => "a non-negative integer",
            ParamKind::Bound => "a number or a date",
            ParamKind::Date => "a date like 2024-01-31",
            ParamKind::Duration => "a duration like 30m, 6h or 2days",
            ParamKind::Values => "a non-empty list of values",
            ParamKind::TypeMap => "a mapping of column names to type names",
        }
    }

    /// The JSON Schema fragment for a value of this kind.
    pub fn json_schema(self) -> serde_json::Value {
        use serde_json::json;
        match self {
            ParamKind::Columns => json!({"type": "array", "items": {"type": "string"}, "minItems": 1}),
            ParamKind::Values => {
                json!({"type": "array", "items": {"type": ["string", "number", "boolean"]}, "minItems": 1})
            }
            ParamKind::Number => json!({"type": "number"}),
            ParamKind::Integer => json!({"type": "integer", "minimum": 0}),
            ParamKind::Bound => json!({"type": ["number", "string"]}),
            ParamKind::TypeMap => json!({"type": "object", "additionalProperties": {"type": "string"}}),
            ParamKind::Date => json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}"}),
            _ => json!({"type": "string", "minLength": 1}),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub required: bool,
    pub doc: &'static str,
}

const fn req(name: &'static str, kind: ParamKind, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        required: true,
        doc,
    }
}

const fn opt(name: &'static str, kind: ParamKind, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        required: false,
        doc,
    }
}

/// How a template's result is judged, for listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// Counts failing rows in the table's fused scan.
    Row,
    /// A table metric within bounds, in the fused scan.
    Metric,
    /// Needs a statement of its own (grouping, joins, other tables, custom SQL).
    Query,
    /// Reads the catalog, not the data.
    Schema,
}

impl TemplateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Row => "row",
            TemplateKind::Metric => "metric",
            TemplateKind::Query => "query",
            TemplateKind::Schema => "schema",
        }
    }
}

/// A fix a template's failures can be repaired with (see `checks::fix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixKind {
    Trim,
    Lower,
    Upper,
    NullInvalid,
    FillDefault,
    DeleteDuplicates,
}

pub struct Template {
    pub name: &'static str,
    pub dimension: Dimension,
    pub kind: TemplateKind,
    pub summary: &'static str,
    pub params: &'static [Param],
    /// One check in YAML, as it would appear in a check file's `checks:` list.
    pub example: &'static str,
    pub validate: fn(&Params) -> Result<(), (&'static str, String)>,
    pub compile: fn(&Ctx) -> Measure,
    pub fix: Option<FixKind>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// What a compiled template reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Aggregate expressions over the dataset, fused with the other checks on it into one SELECT.
    Fused(Vec<String>),
    /// A statement of its own returning one row.
    Query(String),
    /// Distinct-value statistics of a column: `[distinct values, values seen more than once, rows
    /// holding such values, non-null rows]`.
    Distinct(String),
    /// The dataset's columns and types from the catalog.
    Schema(SchemaRule),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SchemaRule {
    Present(Vec<String>),
    NoExtra(Vec<String>),
    Types(Vec<(String, String)>),
    Count,
}

/// How numbers become a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fold {
    Pick(usize),
    Ratio(usize, usize),
    StddevSamp,
    AbsDiff,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bounds {
    pub min: Option<String>,
    pub max: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Failing rows (value at index `failing`) of total rows (index `total`).
    Rows { failing: usize, total: usize },
    /// A value within bounds.
    Metric { fold: Fold, bounds: Bounds },
    /// Values are class counts; rows outside the largest class fail.
    Minority,
    /// Schema comparison (see `SchemaRule`).
    Schema,
    /// Distribution drift against the previous run's histogram (see [`DriftBaseline`]): values are
    /// the bucket counts on `edges` (below, each bin, above), then the minimum and maximum.
    Drift {
        /// Highest Jensen–Shannon distance that passes.
        max: f64,
        /// The bins the counts are on.
        edges: Vec<f64>,
        /// The previous run's counts on the same bins; `None` until there is one.
        previous: Option<Vec<u64>>,
    },
}

/// The template whose checks remember their previous run (see [`DriftBaseline`]).
pub const DRIFT_TEMPLATE: &str = "distribution_drift";

/// Bins of a drift check's histogram, from the previous run that measured it.
pub const DRIFT_BINS: usize = 10;

/// What a drift check remembers between runs: its bins (equal width over the range the column had
/// when they were chosen) and the counts of the last run on them (`None` right after the bins were
/// chosen anew).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DriftBaseline {
    pub edges: Vec<f64>,
    pub counts: Option<Vec<u64>>,
}

impl DriftBaseline {
    /// Equal-width bins over `[low, high]`.
    pub fn bins(low: f64, high: f64) -> Vec<f64> {
        (0..=DRIFT_BINS)
            .map(|i| {
                if i == DRIFT_BINS {
                    high
                } else {
                    low + (high - low) * i as f64 / DRIFT_BINS as f64
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub source: Source,
    pub outcome: Outcome,
    /// The failing-row condition (without the filter), for samples and fixes.
    pub failing_rows: Option<String>,
}

/// Everything a template compiles against.
pub struct Ctx<'a> {
    pub dialect: &'a dyn Dialect,
    /// The quoted table.
    pub table: String,
    pub params: &'a Params,
    /// The dataset's and the check's filter, combined.
    pub filter: Option<String>,
    /// The dataset's columns (for templates over every column).
    pub table_columns: &'a [String],
    /// Columns with a NOT NULL constraint.
    pub not_null_columns: &'a [String],
    /// What this check remembered from its previous run (drift checks).
    pub baseline: Option<&'a DriftBaseline>,
}

impl Ctx<'_> {
    fn q(&self, ident: &str) -> String {
        self.dialect.quote_ident(ident)
    }

    /// The quoted column named by parameter `param`.
    fn col(&self, param: &str) -> String {
        self.q(self.params.text(param).unwrap_or_default())
    }

    fn cols(&self, param: &str) -> Vec<String> {
        self.params
            .list(param)
            .iter()
            .map(|column| self.q(column))
            .collect()
    }

    /// The column as text.
    fn text(&self, param: &str) -> String {
        self.dialect.as_text(&self.col(param))
    }

    fn lit(&self, value: &str) -> String {
        self.dialect.literal(value)
    }

    fn number(&self, param: &str) -> String {
        self.params.number(param).map(format_number).unwrap_or_default()
    }

    /// `SUM(CASE WHEN <filter and predicate> THEN 1 ELSE 0 END)`.
    fn count_where(&self, predicate: &str) -> String {
        match &self.filter {
            Some(filter) => format!("SUM(CASE WHEN ({filter}) AND ({predicate}) THEN 1 ELSE 0 END)"),
            None => format!("SUM(CASE WHEN {predicate} THEN 1 ELSE 0 END)"),
        }
    }

    fn count_rows(&self) -> String {
        match &self.filter {
            Some(filter) => format!("SUM(CASE WHEN {filter} THEN 1 ELSE 0 END)"),
            None => "COUNT(*)".into(),
        }
    }

    /// A value for an aggregate, NULL outside the filter.
    fn val(&self, expr: &str) -> String {
        match &self.filter {
            Some(filter) => format!("CASE WHEN {filter} THEN {expr} END"),
            None => expr.to_owned(),
        }
    }

    /// ` WHERE <filter and extra>`, or nothing.
    fn where_(&self, extra: Option<&str>) -> String {
        match (&self.filter, extra) {
            (Some(filter), Some(extra)) => format!(" WHERE ({filter}) AND ({extra})"),
            (Some(filter), None) => format!(" WHERE {filter}"),
            (None, Some(extra)) => format!(" WHERE {extra}"),
            (None, None) => String::new(),
        }
    }

    fn bounds(&self) -> Bounds {
        Bounds {
            min: self.params.scalar("min"),
            max: self.params.scalar("max"),
        }
    }

    /// Rows failing `predicate`, counted in the fused scan.
    fn rows(&self, predicate: String) -> Measure {
        Measure {
            source: Source::Fused(vec![self.count_where(&predicate), self.count_rows()]),
            outcome: Outcome::Rows { failing: 0, total: 1 },
            failing_rows: Some(predicate),
        }
    }

    /// Non-null values of the column that do not match `pattern`.
    fn not_matching(&self, pattern: &str) -> Measure {
        let column = self.col("column");
        let text = self.text("column");
        self.rows(format!(
            "{column} IS NOT NULL AND NOT ({})",
            self.dialect.regex_match(&text, pattern)
        ))
    }

    /// Bucket counts of the column (as a number) on a drift check's bins, then its minimum and
    /// maximum. With a baseline: aggregates on the remembered bins, fused into the table's scan.
    /// Without: one statement that finds the range and counts on equal-width bins over it.
    fn drift(&self) -> Measure {
        let max = self.params.number("max").unwrap_or(0.1);
        let value = self.dialect.as_float(&self.col("column"));
        let buckets = |edge: &dyn Fn(usize) -> String, value: &str| -> Vec<String> {
            let mut sums = vec![format!("SUM(CASE WHEN {value} < {} THEN 1 ELSE 0 END)", edge(0))];
            for bin in 0..DRIFT_BINS {
                let upper = if bin + 1 == DRIFT_BINS { "<=" } else { "<" };
                sums.push(format!(
                    "SUM(CASE WHEN {value} >= {} AND {value} {upper} {} THEN 1 ELSE 0 END)",
                    edge(bin),
                    edge(bin + 1)
                ));
            }
            sums.push(format!(
                "SUM(CASE WHEN {value} > {} THEN 1 ELSE 0 END)",
                edge(DRIFT_BINS)
            ));
            sums
        };
        match self.baseline {
            Some(baseline) if baseline.edges.len() == DRIFT_BINS + 1 => {
                let edges = baseline.edges.clone();
                let filtered = self.val(&value);
                let mut aggregates = buckets(&|i| format_number(edges[i]), &filtered);
                aggregates.push(format!("MIN({filtered})"));
                aggregates.push(format!("MAX({filtered})"));
                Measure {
                    source: Source::Fused(aggregates),
                    outcome: Outcome::Drift {
                        max,
                        edges,
                        previous: baseline.counts.clone(),
                    },
                    failing_rows: None,
                }
            }
            _ => {
                let edge = |i: usize| format!("(r.lo + (r.hi - r.lo) * {i} / {DRIFT_BINS}.0)");
                let mut list = buckets(&edge, "d.v");
                list.push("MIN(r.lo)".to_owned());
                list.push("MAX(r.hi)".to_owned());
                let list: Vec<String> = list.iter().map(|expr| self.dialect.as_text(expr)).collect();
                let rows = format!(
                    "SELECT {value} AS v FROM {}{}",
                    self.table,
                    self.where_(Some(&format!("{} IS NOT NULL", self.col("column"))))
                );
                let range = format!("SELECT MIN(v) AS lo, MAX(v) AS hi FROM ({rows}) x");
                Measure {
                    source: Source::Query(format!(
                        "SELECT {} FROM ({rows}) d CROSS JOIN ({range}) r",
                        list.join(", ")
                    )),
                    outcome: Outcome::Drift {
                        max,
                        edges: Vec::new(),
                        previous: None,
                    },
                    failing_rows: None,
                }
            }
        }
    }

    fn metric(&self, aggregates: Vec<String>, fold: Fold, bounds: Bounds) -> Measure {
        Measure {
            source: Source::Fused(aggregates),
            outcome: Outcome::Metric { fold, bounds },
            failing_rows: None,
        }
    }

    /// `SELECT <each expression as text> <tail>`: the executors read every value as text.
    fn select(&self, expressions: &[String], tail: &str) -> String {
        let list: Vec<String> = expressions.iter().map(|e| self.dialect.as_text(e)).collect();
        format!("SELECT {}{tail}", list.join(", "))
    }

    fn query_metric(&self, expressions: &[String], tail: &str, fold: Fold, bounds: Bounds) -> Measure {
        Measure {
            source: Source::Query(self.select(expressions, tail)),
            outcome: Outcome::Metric { fold, bounds },
            failing_rows: None,
        }
    }

    /// A statement returning `(failing rows, total rows)`.
    fn query_rows(&self, failing: &str, total: &str, tail: &str) -> Measure {
        Measure {
            source: Source::Query(self.select(&[failing.to_owned(), total.to_owned()], tail)),
            outcome: Outcome::Rows { failing: 0, total: 1 },
            failing_rows: None,
        }
    }

    /// `keys` as a `GROUP BY` list that tells values apart exactly.
    fn group_by(&self, keys: &[String]) -> String {
        let keys: Vec<String> = keys.iter().map(|key| self.dialect.group_key(key)).collect();
        keys.join(", ")
    }

    /// Rows in groups of `keys` holding more than one row, of all rows where `keys` are not null.
    fn duplicate_groups(&self, keys: &[String], skip_nulls: bool) -> Measure {
        let group = self.group_by(keys);
        let not_null = keys
            .iter()
            .map(|key| format!("{key} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let condition = skip_nulls.then_some(not_null.as_str());
        self.query_rows(
            "COALESCE(SUM(CASE WHEN n > 1 THEN n ELSE 0 END), 0)",
            "COALESCE(SUM(n), 0)",
            &format!(
                " FROM (SELECT COUNT(*) AS n FROM {}{} GROUP BY {group}) g",
                self.table,
                self.where_(condition)
            ),
        )
    }
}

// Patterns shared by PostgreSQL (ARE) and Rust's regex (SQLite's REGEXP): no look-around, no \d.
pub const EMAIL: &str = "^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$";
pub const PHONE_E164: &str = "^\\+[1-9][0-9]{6,14}$";
pub const PHONE_NATIONAL: &str = "^\\(?0[0-9]{1,4}\\)?([ ./-]?[0-9]{2,4}){2,4}$";
pub const URL: &str = "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^ ]*)?$";
pub const UUID: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
pub const IPV4: &str =
    "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$";
pub const IPV6: &str = "^(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){0,6}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:(:[0-9a-fA-F]{1,4}){1,6})$";
pub const US_ZIP: &str = "^[0-9]{5}(-[0-9]{4})?$";
pub const ISO_DATE: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
pub const INTEGER: &str = "^[+-]?[0-9]+$";
pub const DECIMAL: &str = "^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$";
pub const BOOLEAN: &str = "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[TtFfYyNn01]|[Yy][Ee][Ss]|[Nn][Oo])$";

fn ok(_: &Params) -> Result<(), (&'static str, String)> {
    Ok(())
}

fn min_or_max(params: &Params) -> Result<(), (&'static str, String)> {
    if params.scalar("min").is_none() && params.scalar("max").is_none() {
        return Err(("min", "expected `min`, `max` or both".into()));
    }
    Ok(())
}

fn operator(params: &Params) -> Result<(), (&'static str, String)> {
    match params.text("operator") {
        Some("<" | "<=" | "=" | "<>" | ">=" | ">") => Ok(()),
        other => Err((
            "operator",
            format!(
                "expected one of <, <=, =, <>, >=, >, found `{}`",
                other.unwrap_or_default()
            ),
        )),
    }
}

const COLUMN: Param = req("column", ParamKind::Column, "the column checked");
const COLUMNS: Param = req("columns", ParamKind::Columns, "the columns checked");
const MIN: Param = opt("min", ParamKind::Bound, "lowest value that passes");
const MAX: Param = opt("max", ParamKind::Bound, "highest value that passes");
const MIN_NUMBER: Param = opt("min", ParamKind::Number, "lowest value that passes");
const MAX_NUMBER: Param = opt("max", ParamKind::Number, "highest value that passes");
const DRIFT_MAX: Param = opt(
    "max",
    ParamKind::Number,
    "highest Jensen–Shannon distance from the previous run that passes (default 0.1)",
);

fn drift_max(params: &Params) -> Result<(), (&'static str, String)> {
    match params.number("max") {
        Some(max) if !(0.0..=1.0).contains(&max) => {
            Err(("max", format!("expected a distance between 0 and 1, found {max}")))
        }
        _ => Ok(()),
    }
}

macro_rules! pattern_template {
    ($name:literal, $dimension:expr, $summary:literal, $pattern:expr, $example:literal) => {
        Template {
            name: $name,
            dimension: $dimension,
            kind: TemplateKind::Row,
            summary: $summary,
            params: &[COLUMN],
            example: $example,
            validate: ok,
            compile: |ctx| ctx.not_matching($pattern),
            fix: Some(FixKind::NullInvalid),
        }
    };
}

use Dimension::{Accuracy, Completeness, Consistency, Integrity, Timeliness, Uniqueness, Validity};

pub static TEMPLATES: &[Template] = &[
    // ---- completeness
    Template {
        name: "not_null",
        dimension: Completeness,
        kind: TemplateKind::Row,
        summary: "rows where the column is NULL fail",
        params: &[COLUMN],
        example: "template: not_null\ncolumn: customer_id",
        validate: ok,
        compile: |ctx| {
            let column = ctx.params.text("column").unwrap_or_default();
            let measure = ctx.rows(format!("{} IS NULL", ctx.col("column")));
            if ctx.not_null_columns.iter().any(|c| c == column) {
                // A NOT NULL constraint proves it: no per-row work in the scan.
                return Measure {
                    source: Source::Fused(vec!["0".into(), ctx.count_rows()]),
                    ..measure
                };
            }
            measure
        },
        fix: None,
    },
    Template {
        name: "not_blank",
        dimension: Completeness,
        kind: TemplateKind::Row,
        summary: "rows where the column is NULL, empty or only whitespace fail",
        params: &[COLUMN],
        example: "template: not_blank\ncolumn: name",
        validate: ok,
        compile: |ctx| {
            ctx.rows(format!(
                "{} IS NULL OR TRIM({}) = ''",
                ctx.col("column"),
                ctx.text("column")
            ))
        },
        fix: None,
    },
    Template {
        name: "not_null_with_default",
        dimension: Completeness,
        kind: TemplateKind::Row,
        summary: "rows where the column is NULL fail; the fix fills `default`",
        params: &[
            COLUMN,
            req("default", ParamKind::Text, "value the fix writes into NULLs"),
        ],
        example: "template: not_null_with_default\nparams: { column: country, default: unknown }",
        validate: ok,
        compile: |ctx| ctx.rows(format!("{} IS NULL", ctx.col("column"))),
        fix: Some(FixKind::FillDefault),
    },
    Template {
        name: "required_columns",
        dimension: Completeness,
        kind: TemplateKind::Row,
        summary: "rows where any of the columns is NULL fail",
        params: &[COLUMNS],
        example: "template: required_columns\nparams: { columns: [id, created_at, status] }",
        validate: ok,
        compile: |ctx| {
            let nulls: Vec<String> = ctx
                .cols("columns")
                .iter()
                .map(|c| format!("{c} IS NULL"))
                .collect();
            ctx.rows(nulls.join(" OR "))
        },
        fix: None,
    },
    Template {
        name: "at_least_one_of",
        dimension: Completeness,
        kind: TemplateKind::Row,
        summary: "rows where all of the columns are NULL fail",
        params: &[COLUMNS],
        example: "template: at_least_one_of\nparams: { columns: [email, phone] }",
        validate: ok,
        compile: |ctx| {
            let nulls: Vec<String> = ctx
                .cols("columns")
                .iter()
                .map(|c| format!("{c} IS NULL"))
                .collect();
            ctx.rows(nulls.join(" AND "))
        },
        fix: None,
    },
    Template {
        name: "required_if",
        dimension: Completeness,
        kind: TemplateKind::Row,
        summary: "rows matching `when` fail when the column is NULL",
        params: &[
            COLUMN,
            req(
                "when",
                ParamKind::Predicate,
                "SQL condition selecting the rows that need a value",
            ),
        ],
        example: "template: required_if\nparams: { column: shipped_at, when: \"status = 'shipped'\" }",
        validate: ok,
        compile: |ctx| {
            ctx.rows(format!(
                "({}) AND {} IS NULL",
                ctx.params.text("when").unwrap_or("1=0"),
                ctx.col("column")
            ))
        },
        fix: None,
    },
    Template {
        name: "null_share_max",
        dimension: Completeness,
        kind: TemplateKind::Metric,
        summary: "share of NULLs in the column (0..1) at most `max`",
        params: &[
            COLUMN,
            req("max", ParamKind::Number, "highest NULL share that passes"),
        ],
        example: "template: null_share_max\nparams: { column: phone, max: 0.2 }",
        validate: ok,
        compile: |ctx| {
            let nulls = ctx.count_where(&format!("{} IS NULL", ctx.col("column")));
            ctx.metric(
                vec![nulls, ctx.count_rows()],
                Fold::Ratio(0, 1),
                Bounds {
                    min: None,
                    max: ctx.params.scalar("max"),
                },
            )
        },
        fix: None,
    },
    Template {
        name: "missing_count_max",
        dimension: Completeness,
        kind: TemplateKind::Metric,
        summary: "number of NULLs in the column at most `max`",
        params: &[
            COLUMN,
            req("max", ParamKind::Integer, "highest NULL count that passes"),
        ],
        example: "template: missing_count_max\nparams: { column: email, max: 0 }",
        validate: ok,
        compile: |ctx| {
            let nulls = ctx.count_where(&format!("{} IS NULL", ctx.col("column")));
            ctx.metric(
                vec![nulls],
                Fold::Pick(0),
                Bounds {
                    min: None,
                    max: ctx.params.scalar("max"),
                },
            )
        },
        fix: None,
    },
    Template {
        name: "row_count_min",
        dimension: Completeness,
        kind: TemplateKind::Metric,
        summary: "the dataset has at least `min` rows",
        params: &[req("min", ParamKind::Integer, "fewest rows that pass")],
        example: "template: row_count_min\nparams: { min: 1 }",
        validate: ok,
        compile: |ctx| {
            ctx.metric(
                vec![ctx.count_rows()],
                Fold::Pick(0),
                Bounds {
                    min: ctx.params.scalar("min"),
                    max: None,
                },
            )
        },
        fix: None,
    },
    Template {
        name: "row_count_between",
        dimension: Completeness,
        kind: TemplateKind::Metric,
        summary: "the row count lies within [min, max]",
        params: &[
            opt("min", ParamKind::Integer, "fewest rows"),
            opt("max", ParamKind::Integer, "most rows"),
        ],
        example: "template: row_count_between\nparams: { min: 1000, max: 100000 }",
        validate: min_or_max,
        compile: |ctx| ctx.metric(vec![ctx.count_rows()], Fold::Pick(0), ctx.bounds()),
        fix: None,
    },
    // ---- validity
    pattern_template!(
        "email",
        Validity,
        "non-null values that are not an e-mail address fail",
        EMAIL,
        "template: email\ncolumn: email"
    ),
    pattern_template!(
        "phone_e164",
        Validity,
        "non-null values not in E.164 form (+ and 7-15 digits) fail",
        PHONE_E164,
        "template: phone_e164\ncolumn: phone"
    ),
    pattern_template!(
        "phone_national",
        Validity,
        "non-null values not a national number (leading 0, digit groups) fail",
        PHONE_NATIONAL,
        "template: phone_national\ncolumn: phone"
    ),
    pattern_template!(
        "url",
        Validity,
        "non-null values that are not an http(s) URL fail",
        URL,
        "template: url\ncolumn: website"
    ),
    pattern_template!(
        "uuid",
        Validity,
        "non-null values that are not a UUID fail",
        UUID,
        "template: uuid\ncolumn: external_id"
    ),
    pattern_template!(
        "ipv4",
        Validity,
        "non-null values that are not a dotted IPv4 address fail",
        IPV4,
        "template: ipv4\ncolumn: client_ip"
    ),
    pattern_template!(
        "ipv6",
        Validity,
        "non-null values that are not an IPv6 address fail",
        IPV6,
        "template: ipv6\ncolumn: client_ip"
    ),
    Template {
        name: "ip_address",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "non-null values that are neither IPv4 nor IPv6 fail",
        params: &[COLUMN],
        example: "template: ip_address\ncolumn: client_ip",
        validate: ok,
        compile: |ctx| {
            let text = ctx.text("column");
            ctx.rows(format!(
                "{} IS NOT NULL AND NOT ({}) AND NOT ({})",
                ctx.col("column"),
                ctx.dialect.regex_match(&text, IPV4),
                ctx.dialect.regex_match(&text, IPV6)
            ))
        },
        fix: Some(FixKind::NullInvalid),
    },
    pattern_template!(
        "us_zip_code",
        Validity,
        "non-null values that are not a US ZIP code (12345 or 12345-6789) fail",
        US_ZIP,
        "template: us_zip_code\ncolumn: zip"
    ),
    pattern_template!(
        "iso_date_text",
        Validity,
        "text values that are not an ISO date (YYYY-MM-DD) fail",
        ISO_DATE,
        "template: iso_date_text\ncolumn: birth_date"
    ),
    pattern_template!(
        "integer_text",
        Validity,
        "text values that do not parse as an integer fail",
        INTEGER,
        "template: integer_text\ncolumn: quantity_raw"
    ),
    pattern_template!(
        "decimal_text",
        Validity,
        "text values that do not parse as a decimal number fail",
        DECIMAL,
        "template: decimal_text\ncolumn: amount_raw"
    ),
    pattern_template!(
        "boolean_text",
        Validity,
        "text values that are not a boolean (true/false/t/f/yes/no/y/n/1/0) fail",
        BOOLEAN,
        "template: boolean_text\ncolumn: active_raw"
    ),
    Template {
        name: "accepted_values",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "non-null values outside the list fail",
        params: &[COLUMN, req("values", ParamKind::Values, "the values that pass")],
        example: "template: accepted_values\nparams: { column: status, values: [new, paid, shipped] }",
        validate: ok,
        compile: |ctx| {
            let values: Vec<String> = ctx.params.list("values").iter().map(|v| ctx.lit(v)).collect();
            let column = ctx.col("column");
            ctx.rows(format!(
                "{column} IS NOT NULL AND {column} NOT IN ({})",
                values.join(", ")
            ))
        },
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "rejected_values",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "values in the list fail",
        params: &[COLUMN, req("values", ParamKind::Values, "the values that fail")],
        example: "template: rejected_values\nparams: { column: email, values: [test@test.com, none] }",
        validate: ok,
        compile: |ctx| {
            let values: Vec<String> = ctx.params.list("values").iter().map(|v| ctx.lit(v)).collect();
            ctx.rows(format!("{} IN ({})", ctx.col("column"), values.join(", ")))
        },
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "regex_match",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "non-null values that do not match `pattern` fail",
        params: &[
            COLUMN,
            req(
                "pattern",
                ParamKind::Regex,
                "regular expression (anchor it with ^ and $)",
            ),
        ],
        example: "template: regex_match\nparams: { column: sku, pattern: \"^[A-Z]{3}-[0-9]{4}$\" }",
        validate: ok,
        compile: |ctx| ctx.not_matching(ctx.params.text("pattern").unwrap_or_default()),
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "regex_not_match",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "values that match `pattern` fail",
        params: &[
            COLUMN,
            req(
                "pattern",
                ParamKind::Regex,
                "regular expression that must not match",
            ),
        ],
        example: "template: regex_not_match\nparams: { column: comment, pattern: \"(?i)lorem ipsum\" }",
        validate: ok,
        compile: |ctx| {
            let pattern = ctx.params.text("pattern").unwrap_or_default();
            ctx.rows(format!(
                "{} IS NOT NULL AND {}",
                ctx.col("column"),
                ctx.dialect.regex_match(&ctx.text("column"), pattern)
            ))
        },
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "between",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "non-null values below `min` or above `max` fail (numeric range)",
        params: &[COLUMN, MIN_NUMBER, MAX_NUMBER],
        example: "template: between\nparams: { column: discount, min: 0, max: 0.5 }",
        validate: min_or_max,
        compile: |ctx| {
            let column = ctx.col("column");
            let mut parts = Vec::new();
            if ctx.params.number("min").is_some() {
                parts.push(format!("{column} < {}", ctx.number("min")));
            }
            if ctx.params.number("max").is_some() {
                parts.push(format!("{column} > {}", ctx.number("max")));
            }
            ctx.rows(parts.join(" OR "))
        },
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "positive",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "values that are zero or negative fail",
        params: &[COLUMN],
        example: "template: positive\ncolumn: quantity",
        validate: ok,
        compile: |ctx| ctx.rows(format!("{} <= 0", ctx.col("column"))),
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "non_negative",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "negative values fail",
        params: &[COLUMN],
        example: "template: non_negative\ncolumn: price",
        validate: ok,
        compile: |ctx| ctx.rows(format!("{} < 0", ctx.col("column"))),
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "length_between",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "non-null values shorter than `min` or longer than `max` characters fail",
        params: &[
            COLUMN,
            opt("min", ParamKind::Integer, "shortest length"),
            opt("max", ParamKind::Integer, "longest length"),
        ],
        example: "template: length_between\nparams: { column: country_code, min: 2, max: 3 }",
        validate: min_or_max,
        compile: |ctx| {
            let length = ctx.dialect.char_length(&ctx.text("column"));
            let mut parts = Vec::new();
            if ctx.params.number("min").is_some() {
                parts.push(format!("{length} < {}", ctx.number("min")));
            }
            if ctx.params.number("max").is_some() {
                parts.push(format!("{length} > {}", ctx.number("max")));
            }
            ctx.rows(parts.join(" OR "))
        },
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "exact_length",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "non-null values whose length is not `length` characters fail",
        params: &[COLUMN, req("length", ParamKind::Integer, "the required length")],
        example: "template: exact_length\nparams: { column: iso_country, length: 2 }",
        validate: ok,
        compile: |ctx| {
            ctx.rows(format!(
                "{} <> {}",
                ctx.dialect.char_length(&ctx.text("column")),
                ctx.number("length")
            ))
        },
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "date_between",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "dates or timestamps before `min` or after `max` fail",
        params: &[
            COLUMN,
            opt("min", ParamKind::Date, "earliest date"),
            opt("max", ParamKind::Date, "latest date"),
        ],
        example: "template: date_between\nparams: { column: order_date, min: 2015-01-01, max: 2030-12-31 }",
        validate: min_or_max,
        compile: |ctx| {
            let column = ctx.col("column");
            let mut parts = Vec::new();
            if let Some(min) = ctx.params.text("min") {
                parts.push(format!("{column} < {}", ctx.dialect.date_literal(min)));
            }
            if let Some(max) = ctx.params.text("max") {
                parts.push(format!("{column} > {}", ctx.dialect.date_literal(max)));
            }
            ctx.rows(parts.join(" OR "))
        },
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "column_compare",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "rows where `column <operator> other` is false fail (both non-null)",
        params: &[
            COLUMN,
            req("operator", ParamKind::Text, "one of <, <=, =, <>, >=, >"),
            req("other", ParamKind::Column, "the column compared with"),
        ],
        example: "template: column_compare\nparams: { column: ship_date, operator: \"<=\", other: receipt_date }",
        validate: operator,
        compile: |ctx| {
            let (column, other) = (ctx.col("column"), ctx.col("other"));
            let operator = ctx.params.text("operator").unwrap_or("=");
            let comparison = ctx.dialect.compare(&column, operator, &other);
            ctx.rows(format!(
                "{column} IS NOT NULL AND {other} IS NOT NULL AND NOT ({comparison})"
            ))
        },
        fix: None,
    },
    Template {
        name: "row_condition",
        dimension: Validity,
        kind: TemplateKind::Row,
        summary: "rows where the SQL condition is not true fail",
        params: &[req(
            "condition",
            ParamKind::Predicate,
            "SQL condition every row must meet",
        )],
        example: "template: row_condition\nparams: { condition: \"total = net + tax\" }",
        validate: ok,
        compile: |ctx| {
            ctx.rows(format!(
                "(CASE WHEN {} THEN 0 ELSE 1 END) = 1",
                ctx.params.text("condition").unwrap_or("1=1")
            ))
        },
        fix: None,
    },
    // ---- accuracy (distribution)
    Template {
        name: "min_between",
        dimension: Accuracy,
        kind: TemplateKind::Metric,
        summary: "the column's minimum (number or date) lies within [min, max]",
        params: &[COLUMN, MIN, MAX],
        example: "template: min_between\nparams: { column: price, min: 0, max: 10 }",
        validate: min_or_max,
        compile: |ctx| {
            ctx.metric(
                vec![format!("MIN({})", ctx.val(&ctx.col("column")))],
                Fold::Pick(0),
                ctx.bounds(),
            )
        },
        fix: None,
    },
    Template {
        name: "max_between",
        dimension: Accuracy,
        kind: TemplateKind::Metric,
        summary: "the column's maximum (number or date) lies within [min, max]",
        params: &[COLUMN, MIN, MAX],
        example: "template: max_between\nparams: { column: shipped_on, min: 2024-01-01, max: 2030-12-31 }",
        validate: min_or_max,
        compile: |ctx| {
            ctx.metric(
                vec![format!("MAX({})", ctx.val(&ctx.col("column")))],
                Fold::Pick(0),
                ctx.bounds(),
            )
        },
        fix: None,
    },
    Template {
        name: "mean_between",
        dimension: Accuracy,
        kind: TemplateKind::Metric,
        summary: "the column's mean lies within [min, max]",
        params: &[COLUMN, MIN_NUMBER, MAX_NUMBER],
        example: "template: mean_between\nparams: { column: basket_value, min: 20, max: 80 }",
        validate: min_or_max,
        // In floating point: exact-decimal averages (PostgreSQL numeric) cost several times more per row.
        compile: |ctx| {
            let value = ctx.val(&ctx.dialect.as_float(&ctx.col("column")));
            ctx.metric(vec![format!("AVG({value})")], Fold::Pick(0), ctx.bounds())
        },
        fix: None,
    },
    Template {
        name: "stddev_between",
        dimension: Accuracy,
        kind: TemplateKind::Metric,
        summary: "the column's sample standard deviation lies within [min, max]",
        params: &[COLUMN, MIN_NUMBER, MAX_NUMBER],
        example: "template: stddev_between\nparams: { column: latency_ms, max: 250 }",
        validate: min_or_max,
        compile: |ctx| {
            let value = ctx.val(&ctx.dialect.as_float(&ctx.col("column")));
            if let Some(stddev) = ctx.dialect.stddev_samp(&value) {
                return ctx.metric(vec![stddev], Fold::Pick(0), ctx.bounds());
            }
            ctx.metric(
                vec![
                    format!("COUNT({value})"),
                    format!("SUM({value})"),
                    format!("SUM({value} * {value})"),
                ],
                Fold::StddevSamp,
                ctx.bounds(),
            )
        },
        fix: None,
    },
    Template {
        name: DRIFT_TEMPLATE,
        dimension: Accuracy,
        kind: TemplateKind::Metric,
        summary: "the column's histogram moved at most `max` (Jensen–Shannon distance, 0 to 1) since the previous run",
        params: &[COLUMN, DRIFT_MAX],
        example: "template: distribution_drift\nparams: { column: basket_value, max: 0.1 }",
        validate: drift_max,
        // Ten equal-width bins over the range the column had when they were chosen, remembered in the
        // state folder with the last run's counts; chosen anew when a fifth of the values fall outside.
        compile: |ctx| ctx.drift(),
        fix: None,
    },
    Template {
        name: "sum_between",
        dimension: Accuracy,
        kind: TemplateKind::Metric,
        summary: "the column's sum lies within [min, max]",
        params: &[COLUMN, MIN_NUMBER, MAX_NUMBER],
        example: "template: sum_between\nparams: { column: amount, min: 0 }",
        validate: min_or_max,
        compile: |ctx| {
            ctx.metric(
                vec![format!("SUM({})", ctx.val(&ctx.col("column")))],
                Fold::Pick(0),
                ctx.bounds(),
            )
        },
        fix: None,
    },
    // ---- consistency
    Template {
        name: "foreign_key",
        dimension: Consistency,
        kind: TemplateKind::Query,
        summary: "non-null values without a matching row in `to_table`.`to_column` fail",
        params: &[
            COLUMN,
            req("to_table", ParamKind::Table, "the referenced table"),
            req("to_column", ParamKind::Column, "the referenced column"),
        ],
        example: "template: foreign_key\nparams: { column: customer_id, to_table: public.customers, to_column: id }",
        validate: ok,
        compile: |ctx| {
            let parent = ctx.dialect.table(ctx.params.text("to_table").unwrap_or_default());
            let failing = format!(
                "{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{to} = {table}.{column})",
                column = ctx.col("column"),
                to = ctx.col("to_column"),
                table = ctx.table,
            );
            let mut measure = ctx.query_rows(
                &format!("COALESCE({}, 0)", ctx.count_where(&failing)),
                &ctx.count_rows(),
                &format!(" FROM {}", ctx.table),
            );
            measure.failing_rows = Some(failing);
            measure
        },
        fix: None,
    },
    Template {
        name: "row_count_match",
        dimension: Consistency,
        kind: TemplateKind::Query,
        summary: "the row counts of the dataset and `other_table` differ by at most `max_difference`",
        params: &[
            req("other_table", ParamKind::Table, "the table compared with"),
            opt(
                "max_difference",
                ParamKind::Integer,
                "largest difference that passes (default 0)",
            ),
        ],
        example: "template: row_count_match\nparams: { other_table: staging.orders }",
        validate: ok,
        compile: |ctx| {
            let other = ctx
                .dialect
                .table(ctx.params.text("other_table").unwrap_or_default());
            ctx.query_metric(
                &[
                    format!("(SELECT COUNT(*) FROM {}{})", ctx.table, ctx.where_(None)),
                    format!("(SELECT COUNT(*) FROM {other})"),
                ],
                "",
                Fold::AbsDiff,
                Bounds {
                    min: None,
                    max: Some(ctx.params.scalar("max_difference").unwrap_or_else(|| "0".into())),
                },
            )
        },
        fix: None,
    },
    Template {
        name: "sum_match",
        dimension: Consistency,
        kind: TemplateKind::Query,
        summary: "SUM(column) equals SUM(other_column) of `other_table` within `max_difference`",
        params: &[
            COLUMN,
            req("other_table", ParamKind::Table, "the table reconciled with"),
            req("other_column", ParamKind::Column, "its column"),
            opt(
                "max_difference",
                ParamKind::Number,
                "largest difference that passes (default 0)",
            ),
        ],
        example: "template: sum_match\nparams: { column: amount, other_table: ledger.entries, other_column: amount, max_difference: 0.01 }",
        validate: ok,
        compile: |ctx| {
            let other = ctx
                .dialect
                .table(ctx.params.text("other_table").unwrap_or_default());
            ctx.query_metric(
                &[
                    format!(
                        "(SELECT COALESCE(SUM({}), 0) FROM {}{})",
                        ctx.dialect.as_float(&ctx.col("column")),
                        ctx.table,
                        ctx.where_(None)
                    ),
                    format!(
                        "(SELECT COALESCE(SUM({}), 0) FROM {other})",
                        ctx.dialect.as_float(&ctx.col("other_column"))
                    ),
                ],
                "",
                Fold::AbsDiff,
                Bounds {
                    min: None,
                    max: Some(ctx.params.scalar("max_difference").unwrap_or_else(|| "0".into())),
                },
            )
        },
        fix: None,
    },
    Template {
        name: "format_consistency",
        dimension: Consistency,
        kind: TemplateKind::Query,
        summary: "values whose shape (digits→9, letters→a) differs from the most common shape fail",
        params: &[COLUMN],
        example: "template: format_consistency\ncolumn: phone",
        validate: ok,
        compile: |ctx| {
            let shape = ctx.dialect.shape(&ctx.text("column"));
            let not_null = format!("{} IS NOT NULL", ctx.col("column"));
            ctx.query_rows(
                "COALESCE(SUM(n) - MAX(n), 0)",
                "COALESCE(SUM(n), 0)",
                &format!(
                    " FROM (SELECT {shape} AS k, COUNT(*) AS n FROM {}{} GROUP BY {shape}) g",
                    ctx.table,
                    ctx.where_(Some(&not_null))
                ),
            )
        },
        fix: None,
    },
    Template {
        name: "case_consistency",
        dimension: Consistency,
        kind: TemplateKind::Row,
        summary: "values not in the most common case (lower, UPPER or Mixed) fail",
        params: &[COLUMN],
        example: "template: case_consistency\ncolumn: country_code",
        validate: ok,
        compile: |ctx| {
            let text = ctx.text("column");
            let (lower, upper) = (format!("LOWER({text})"), format!("UPPER({text})"));
            Measure {
                source: Source::Fused(vec![
                    ctx.count_where(&format!("{text} = {lower} AND {text} <> {upper}")),
                    ctx.count_where(&format!("{text} = {upper} AND {text} <> {lower}")),
                    ctx.count_where(&format!("{text} <> {lower} AND {text} <> {upper}")),
                ]),
                outcome: Outcome::Minority,
                failing_rows: None,
            }
        },
        fix: None,
    },
    Template {
        name: "lowercase",
        dimension: Consistency,
        kind: TemplateKind::Row,
        summary: "values that are not all lower case fail (the fix lower-cases them, e.g. e-mail)",
        params: &[COLUMN],
        example: "template: lowercase\ncolumn: email",
        validate: ok,
        compile: |ctx| ctx.rows(format!("{0} <> LOWER({0})", ctx.text("column"))),
        fix: Some(FixKind::Lower),
    },
    Template {
        name: "uppercase",
        dimension: Consistency,
        kind: TemplateKind::Row,
        summary: "values that are not all upper case fail",
        params: &[COLUMN],
        example: "template: uppercase\ncolumn: currency",
        validate: ok,
        compile: |ctx| ctx.rows(format!("{0} <> UPPER({0})", ctx.text("column"))),
        fix: Some(FixKind::Upper),
    },
    Template {
        name: "trimmed",
        dimension: Consistency,
        kind: TemplateKind::Row,
        summary: "values with leading or trailing spaces fail (the fix trims them)",
        params: &[COLUMN],
        example: "template: trimmed\ncolumn: name",
        validate: ok,
        compile: |ctx| ctx.rows(format!("{0} <> TRIM({0})", ctx.dialect.exact(&ctx.col("column")))),
        fix: Some(FixKind::Trim),
    },
    Template {
        name: "functional_dependency",
        dimension: Consistency,
        kind: TemplateKind::Query,
        summary: "rows whose `determined_by` value maps to more than one value of the column fail",
        params: &[
            COLUMN,
            req(
                "determined_by",
                ParamKind::Column,
                "the key that determines the column",
            ),
        ],
        example: "template: functional_dependency\nparams: { column: city, determined_by: zip }",
        validate: ok,
        compile: |ctx| {
            let (column, key) = (ctx.col("column"), ctx.col("determined_by"));
            ctx.query_rows(
                "COALESCE(SUM(CASE WHEN d > 1 THEN n ELSE 0 END), 0)",
                "COALESCE(SUM(n), 0)",
                &format!(
                    " FROM (SELECT COUNT(*) AS n, COUNT(DISTINCT {}) AS d FROM {}{} GROUP BY {}) g",
                    ctx.dialect.group_key(&column),
                    ctx.table,
                    ctx.where_(Some(&format!("{key} IS NOT NULL"))),
                    ctx.dialect.group_key(&key)
                ),
            )
        },
        fix: None,
    },
    // ---- uniqueness
    Template {
        name: "unique",
        dimension: Uniqueness,
        kind: TemplateKind::Query,
        summary: "non-null rows whose value occurs more than once fail",
        params: &[COLUMN],
        example: "template: unique\ncolumn: order_id",
        validate: ok,
        compile: |ctx| Measure {
            source: Source::Distinct(ctx.params.text("column").unwrap_or_default().to_owned()),
            outcome: Outcome::Rows { failing: 2, total: 3 },
            failing_rows: None,
        },
        fix: None,
    },
    Template {
        name: "primary_key",
        dimension: Uniqueness,
        kind: TemplateKind::Query,
        summary: "rows with a NULL in the key or a key seen more than once fail",
        params: &[COLUMNS],
        example: "template: primary_key\nparams: { columns: [order_id] }",
        validate: ok,
        compile: |ctx| {
            let keys = ctx.cols("columns");
            let any_null = keys
                .iter()
                .map(|key| format!("{key} IS NULL"))
                .collect::<Vec<_>>()
                .join(" OR ");
            let all_set = keys
                .iter()
                .map(|key| format!("{key} IS NOT NULL"))
                .collect::<Vec<_>>()
                .join(" AND ");
            let table = &ctx.table;
            ctx.query_rows(
                &format!(
                    "(SELECT COUNT(*) FROM {table}{}) + (SELECT COALESCE(SUM(n), 0) FROM \
                     (SELECT COUNT(*) AS n FROM {table}{} GROUP BY {} HAVING COUNT(*) > 1) g)",
                    ctx.where_(Some(&any_null)),
                    ctx.where_(Some(&all_set)),
                    ctx.group_by(&keys)
                ),
                &format!("(SELECT COUNT(*) FROM {table}{})", ctx.where_(None)),
                "",
            )
        },
        fix: None,
    },
    Template {
        name: "unique_combination",
        dimension: Uniqueness,
        kind: TemplateKind::Query,
        summary: "rows whose combination of the columns (no NULLs) occurs more than once fail",
        params: &[COLUMNS],
        example: "template: unique_combination\nparams: { columns: [order_id, line_number] }",
        validate: ok,
        compile: |ctx| ctx.duplicate_groups(&ctx.cols("columns"), true),
        fix: None,
    },
    Template {
        name: "duplicate_rows",
        dimension: Uniqueness,
        kind: TemplateKind::Query,
        summary: "rows identical to another row in every column (or in `columns`) fail; the fix keeps the first",
        params: &[opt(
            "columns",
            ParamKind::Columns,
            "the columns compared (default: all)",
        )],
        example: "template: duplicate_rows",
        validate: ok,
        compile: |ctx| {
            let keys: Vec<String> = if ctx.params.list("columns").is_empty() {
                ctx.table_columns.iter().map(|column| ctx.q(column)).collect()
            } else {
                ctx.cols("columns")
            };
            ctx.duplicate_groups(&keys, false)
        },
        fix: Some(FixKind::DeleteDuplicates),
    },
    Template {
        name: "natural_key",
        dimension: Uniqueness,
        kind: TemplateKind::Query,
        summary: "rows whose columns, compared trimmed and case-insensitively, occur more than once fail",
        params: &[COLUMNS],
        example: "template: natural_key\nparams: { columns: [first_name, last_name, birth_date] }",
        validate: ok,
        compile: |ctx| {
            let keys: Vec<String> = ctx
                .cols("columns")
                .iter()
                .map(|column| format!("LOWER(TRIM({}))", ctx.dialect.as_text(column)))
                .collect();
            ctx.duplicate_groups(&keys, true)
        },
        fix: None,
    },
    Template {
        name: "distinct_count_between",
        dimension: Uniqueness,
        kind: TemplateKind::Query,
        summary: "the number of distinct non-null values lies within [min, max]",
        params: &[
            COLUMN,
            opt("min", ParamKind::Integer, "fewest distinct values"),
            opt("max", ParamKind::Integer, "most distinct values"),
        ],
        example: "template: distinct_count_between\nparams: { column: country, min: 50, max: 250 }",
        validate: min_or_max,
        compile: |ctx| Measure {
            source: Source::Distinct(ctx.params.text("column").unwrap_or_default().to_owned()),
            outcome: Outcome::Metric {
                fold: Fold::Pick(0),
                bounds: ctx.bounds(),
            },
            failing_rows: None,
        },
        fix: None,
    },
    Template {
        name: "duplicate_count_between",
        dimension: Uniqueness,
        kind: TemplateKind::Query,
        summary: "the number of distinct values that occur more than once lies within [min, max]",
        params: &[
            COLUMN,
            opt("min", ParamKind::Integer, "fewest duplicated values"),
            opt("max", ParamKind::Integer, "most duplicated values"),
        ],
        example: "template: duplicate_count_between\nparams: { column: email, max: 0 }",
        validate: min_or_max,
        compile: |ctx| Measure {
            source: Source::Distinct(ctx.params.text("column").unwrap_or_default().to_owned()),
            outcome: Outcome::Metric {
                fold: Fold::Pick(1),
                bounds: ctx.bounds(),
            },
            failing_rows: None,
        },
        fix: None,
    },
    Template {
        name: "unique_share_min",
        dimension: Uniqueness,
        kind: TemplateKind::Query,
        summary: "distinct values per non-null row (0..1) at least `min`",
        params: &[COLUMN, req("min", ParamKind::Number, "lowest share that passes")],
        example: "template: unique_share_min\nparams: { column: session_id, min: 0.99 }",
        validate: ok,
        compile: |ctx| Measure {
            source: Source::Distinct(ctx.params.text("column").unwrap_or_default().to_owned()),
            outcome: Outcome::Metric {
                fold: Fold::Ratio(0, 3),
                bounds: Bounds {
                    min: ctx.params.scalar("min"),
                    max: None,
                },
            },
            failing_rows: None,
        },
        fix: None,
    },
    // ---- timeliness
    Template {
        name: "freshness",
        dimension: Timeliness,
        kind: TemplateKind::Metric,
        summary: "the newest timestamp in the column is at most `max_age` old (value in seconds)",
        params: &[
            COLUMN,
            req(
                "max_age",
                ParamKind::Duration,
                "oldest acceptable age of the newest row",
            ),
        ],
        example: "template: freshness\nparams: { column: updated_at, max_age: 6h }",
        validate: ok,
        compile: |ctx| {
            let newest = format!("MAX({})", ctx.val(&ctx.col("column")));
            ctx.metric(
                vec![ctx.dialect.seconds_between(&newest, &ctx.dialect.now())],
                Fold::Pick(0),
                Bounds {
                    min: None,
                    max: ctx.params.scalar("max_age"),
                },
            )
        },
        fix: None,
    },
    Template {
        name: "update_frequency",
        dimension: Timeliness,
        kind: TemplateKind::Metric,
        summary: "at least `min_rows` rows (default 1) have a timestamp within the last `period`",
        params: &[
            COLUMN,
            req("period", ParamKind::Duration, "the window, e.g. 1day"),
            opt(
                "min_rows",
                ParamKind::Integer,
                "fewest rows in the window (default 1)",
            ),
        ],
        example: "template: update_frequency\nparams: { column: created_at, period: 1day, min_rows: 100 }",
        validate: ok,
        compile: |ctx| {
            let since = ctx
                .dialect
                .seconds_ago(ctx.params.number("period").unwrap_or(0.0));
            ctx.metric(
                vec![ctx.count_where(&format!("{} >= {since}", ctx.col("column")))],
                Fold::Pick(0),
                Bounds {
                    min: Some(ctx.params.scalar("min_rows").unwrap_or_else(|| "1".into())),
                    max: None,
                },
            )
        },
        fix: None,
    },
    Template {
        name: "not_in_future",
        dimension: Timeliness,
        kind: TemplateKind::Row,
        summary: "dates or timestamps later than now fail",
        params: &[COLUMN],
        example: "template: not_in_future\ncolumn: created_at",
        validate: ok,
        compile: |ctx| ctx.rows(format!("{} > {}", ctx.col("column"), ctx.dialect.now())),
        fix: Some(FixKind::NullInvalid),
    },
    Template {
        name: "max_lag",
        dimension: Timeliness,
        kind: TemplateKind::Row,
        summary: "rows where `later` is more than `max` after `column` fail (e.g. event → load lag)",
        params: &[
            COLUMN,
            req("later", ParamKind::Column, "the later timestamp"),
            req("max", ParamKind::Duration, "largest lag that passes"),
        ],
        example: "template: max_lag\nparams: { column: event_at, later: loaded_at, max: 1h }",
        validate: ok,
        compile: |ctx| {
            let lag = ctx.dialect.seconds_between(&ctx.col("column"), &ctx.col("later"));
            ctx.rows(format!("{lag} > {}", ctx.number("max")))
        },
        fix: None,
    },
    // ---- integrity (schema)
    Template {
        name: "schema_columns_present",
        dimension: Integrity,
        kind: TemplateKind::Schema,
        summary: "every listed column exists (a removed column fails)",
        params: &[COLUMNS],
        example: "template: schema_columns_present\nparams: { columns: [id, email, created_at] }",
        validate: ok,
        compile: |ctx| schema(SchemaRule::Present(ctx.params.list("columns").to_vec())),
        fix: None,
    },
    Template {
        name: "schema_no_extra_columns",
        dimension: Integrity,
        kind: TemplateKind::Schema,
        summary: "no column exists beyond the list (an added column fails)",
        params: &[COLUMNS],
        example: "template: schema_no_extra_columns\nparams: { columns: [id, email, created_at] }",
        validate: ok,
        compile: |ctx| schema(SchemaRule::NoExtra(ctx.params.list("columns").to_vec())),
        fix: None,
    },
    Template {
        name: "schema_column_types",
        dimension: Integrity,
        kind: TemplateKind::Schema,
        summary: "each listed column has the given type (a retyped column fails)",
        params: &[req(
            "types",
            ParamKind::TypeMap,
            "column: type, as the catalog names it (e.g. integer, text, int4)",
        )],
        example: "template: schema_column_types\nparams: { types: { id: integer, email: text } }",
        validate: ok,
        compile: |ctx| {
            let types = ctx
                .params
                .map("types")
                .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            schema(SchemaRule::Types(types))
        },
        fix: None,
    },
    Template {
        name: "schema_column_count",
        dimension: Integrity,
        kind: TemplateKind::Schema,
        summary: "the number of columns lies within [min, max]",
        params: &[
            opt("min", ParamKind::Integer, "fewest columns"),
            opt("max", ParamKind::Integer, "most columns"),
        ],
        example: "template: schema_column_count\nparams: { min: 5, max: 5 }",
        validate: min_or_max,
        compile: |_| schema(SchemaRule::Count),
        fix: None,
    },
    // ---- custom SQL
    Template {
        name: "sql_failing_rows",
        dimension: Validity,
        kind: TemplateKind::Query,
        summary: "a query returning the failing rows; each row it returns fails",
        params: &[req("query", ParamKind::Sql, "SELECT returning the failing rows")],
        example: "template: sql_failing_rows\nparams: { query: \"SELECT * FROM orders WHERE total < 0\" }",
        validate: ok,
        compile: |ctx| {
            let query = ctx
                .params
                .text("query")
                .unwrap_or_default()
                .trim()
                .trim_end_matches(';');
            ctx.query_rows(
                &format!("(SELECT COUNT(*) FROM ({query}) q)"),
                &format!("(SELECT COUNT(*) FROM {})", ctx.table),
                "",
            )
        },
        fix: None,
    },
    Template {
        name: "sql_metric",
        dimension: Validity,
        kind: TemplateKind::Query,
        summary: "a query returning one number, expected within [min, max]",
        params: &[
            req("query", ParamKind::Sql, "SELECT returning one value"),
            MIN,
            MAX,
        ],
        example: "template: sql_metric\nparams: { query: \"SELECT AVG(total) FROM orders\", min: 10, max: 500 }",
        validate: min_or_max,
        compile: |ctx| {
            let query = ctx
                .params
                .text("query")
                .unwrap_or_default()
                .trim()
                .trim_end_matches(';');
            ctx.query_metric(&[format!("({query})")], "", Fold::Pick(0), ctx.bounds())
        },
        fix: None,
    },
];

fn schema(rule: SchemaRule) -> Measure {
    Measure {
        source: Source::Schema(rule),
        outcome: Outcome::Schema,
        failing_rows: None,
    }
}

/// A row check that is one regular expression on one column: `(column, pattern, fails_on_match)`.
/// The planner may evaluate these on values it streams anyway (see `checks::run`), once per
/// distinct value, instead of once per row in SQL.
pub fn row_regex(template: &Template, params: &Params) -> Option<(String, String, bool)> {
    let pattern = match template.name {
        "email" => EMAIL,
        "phone_e164" => PHONE_E164,
        "phone_national" => PHONE_NATIONAL,
        "url" => URL,
        "uuid" => UUID,
        "ipv4" => IPV4,
        "ipv6" => IPV6,
        "us_zip_code" => US_ZIP,
        "iso_date_text" => ISO_DATE,
        "integer_text" => INTEGER,
        "decimal_text" => DECIMAL,
        "boolean_text" => BOOLEAN,
        "regex_match" | "regex_not_match" => params.text("pattern")?,
        _ => return None,
    };
    let column = params.text("column")?.to_owned();
    Some((column, pattern.to_owned(), template.name == "regex_not_match"))
}

pub fn find(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|template| template.name == name)
}

/// The template name nearest to `name` by edit distance, when near enough to be a typo.
pub fn closest(name: &str) -> Option<&'static str> {
    TEMPLATES
        .iter()
        .map(|template| (edit_distance(name, template.name), template.name))
        .min()
        .filter(|(distance, _)| *distance <= name.len().max(3) / 2)
        .map(|(_, name)| name)
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_library_has_at_least_fifty_templates_with_unique_names_in_all_dimensions() {
        assert!(TEMPLATES.len() >= 50, "{} templates", TEMPLATES.len());
        let names: std::collections::HashSet<_> = TEMPLATES.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), TEMPLATES.len());
        for dimension in Dimension::ALL {
            assert!(TEMPLATES.iter().any(|t| t.dimension == dimension), "{dimension}");
        }
    }

    #[test]
    fn closest_names_the_typo_and_nothing_for_noise() {
        assert_eq!(closest("not_nul"), Some("not_null"));
        assert_eq!(closest("uniqe"), Some("unique"));
        assert_eq!(closest("emial"), Some("email"));
        assert_eq!(closest("completely_different_thing"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn the_shared_patterns_compile_in_rust() {
        for pattern in [
            EMAIL,
            PHONE_E164,
            PHONE_NATIONAL,
            URL,
            UUID,
            IPV4,
            IPV6,
            US_ZIP,
            ISO_DATE,
            INTEGER,
            DECIMAL,
            BOOLEAN,
        ] {
            regex::Regex::new(pattern).unwrap();
        }
        let email = regex::Regex::new(EMAIL).unwrap();
        assert!(email.is_match("a.b+c@example.co.uk"));
        assert!(!email.is_match("a@b"));
        let national = regex::Regex::new(PHONE_NATIONAL).unwrap();
        assert!(national.is_match("030 1234567"));
        assert!(national.is_match("(0151) 234-5678"));
        assert!(!national.is_match("+49 30 1234567"));
        let ipv6 = regex::Regex::new(IPV6).unwrap();
        assert!(ipv6.is_match("2001:db8::1"));
        assert!(ipv6.is_match("::1"));
        assert!(!ipv6.is_match("2001:db8::g"));
    }
}
