//! Checks judged in the agent on one streamed pass over a table (PostgreSQL `COPY … TO STDOUT`,
//! text format): which checks can be judged there with results identical to their SQL, and the
//! kernels that judge them.
//!
//! Every value of a streamed column is hashed (exact distinct counting); everything a check asks of
//! a single value — a regular expression, membership in a list, a range, a length, blankness — is
//! decided once per distinct value and kept as a bit beside the value's count, and minimum, maximum,
//! mean, standard deviation and sum are computed from the distinct values and their counts. Checks
//! over several columns of a row (column comparison, NULL combinations) are judged per row. A
//! check's filter (an SQL condition) is evaluated by the server as one more boolean column of the
//! same COPY, so filtered checks share the pass.
//!
//! Must not decide anything whose SQL meaning it cannot reproduce exactly: collation-dependent text
//! order, time zones, regular expressions outside the subset both engines read alike, and types it
//! does not know stay in SQL (`plan_check` returns `None`).

use std::borrow::Cow;
use std::cmp::Ordering;

use super::model::{Check, format_number};
use super::templates::{Fold, IPV4, IPV6, Measure, Outcome, Source, row_regex};

/// Most value tests per streamed column (one bit each per distinct value).
pub const MAX_VALUE_TESTS: usize = 32;

/// How a column's COPY text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `smallint`, `integer`, `bigint`: exact decimal order.
    Integer,
    /// `numeric(p, s)` with a declared scale: exact decimal order and exact sums.
    Numeric {
        scale: u32,
    },
    /// `numeric` without a scale: exact decimal order (no streamed sum).
    NumericAny,
    /// `double precision`.
    Float8,
    /// `real` (compared with literals in SQL through an ambiguous cast: no streamed ranges).
    Float4,
    Date,
    /// `text`, `varchar`.
    Text,
    /// `char(n)`: trailing spaces are padding (dropped by a cast to text, ignored by `=`).
    BlankPadded,
    /// Anything else: counted, hashed and matched against patterns only.
    Other,
}

impl ValueKind {
    /// From the catalog's `format_type|typname` pair (see the PostgreSQL `CheckExecutor::columns` in `source::postgres::checks`).
    pub fn from_catalog(kind: &str) -> Self {
        let (formatted, short) = kind.split_once('|').unwrap_or((kind, kind));
        match short {
            "int2" | "int4" | "int8" => ValueKind::Integer,
            "numeric" => formatted
                .strip_prefix("numeric(")
                .and_then(|rest| rest.strip_suffix(')'))
                .and_then(|inner| inner.split_once(','))
                .and_then(|(_, scale)| scale.trim().parse().ok())
                .map_or(ValueKind::NumericAny, |scale| ValueKind::Numeric { scale }),
            "float8" => ValueKind::Float8,
            "float4" => ValueKind::Float4,
            "date" => ValueKind::Date,
            "text" | "varchar" => ValueKind::Text,
            "bpchar" => ValueKind::BlankPadded,
            _ => ValueKind::Other,
        }
    }

    fn decimal(self) -> bool {
        matches!(
            self,
            ValueKind::Integer | ValueKind::Numeric { .. } | ValueKind::NumericAny
        )
    }

    fn float(self) -> bool {
        matches!(self, ValueKind::Float8 | ValueKind::Float4)
    }

    /// Whether `MIN`/`MAX` order is known (not collation-dependent).
    fn ordered(self) -> bool {
        self.decimal() || self.float() || self == ValueKind::Date
    }
}

/// A test on one non-null value; a value "fails" it when the check counts it as failing.
#[derive(Debug, Clone)]
pub enum ValueTest {
    /// Fails when no pattern matches (`fail_on_match` false) or when one does (true).
    Patterns {
        patterns: Vec<String>,
        fail_on_match: bool,
    },
    /// Fails when the value is outside the list (`fail_inside` false) or inside it (true).
    Values { values: Vec<String>, fail_inside: bool },
    /// Fails when the length in characters is outside [min, max].
    Length { min: Option<u64>, max: Option<u64> },
    /// Fails when the value is below `min` / above `max` (strictly: `<=` with `min_inclusive_fails`).
    Range {
        min: Option<String>,
        max: Option<String>,
        /// `positive`: a value equal to `min` fails too.
        min_equal_fails: bool,
    },
    /// Fails when the text is empty or only spaces (`TRIM` removes spaces only).
    Blank,
}

/// A check over several columns of a row.
#[derive(Debug, Clone)]
pub enum RowTest {
    /// `left <op> right` false with both non-null.
    Compare {
        left: usize,
        right: usize,
        operator: Ordering2,
        kind: ValueKind,
    },
    /// Any (`all` false) or all of the fields NULL.
    Nulls { fields: Vec<usize>, all: bool },
}

/// A comparison operator as the orderings that satisfy it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ordering2 {
    pub less: bool,
    pub equal: bool,
    pub greater: bool,
}

impl Ordering2 {
    fn parse(operator: &str) -> Option<Self> {
        let (less, equal, greater) = match operator {
            "<" => (true, false, false),
            "<=" => (true, true, false),
            "=" => (false, true, false),
            "<>" => (true, false, true),
            ">=" => (false, true, true),
            ">" => (false, false, true),
            _ => return None,
        };
        Some(Self { less, equal, greater })
    }

    fn holds(self, ordering: Ordering) -> bool {
        match ordering {
            Ordering::Less => self.less,
            Ordering::Equal => self.equal,
            Ordering::Greater => self.greater,
        }
    }
}

/// What the stream computes for one (column, filter) pair.
#[derive(Debug, Clone)]
pub struct StreamColumn {
    /// Index of the column's field in the COPY.
    pub field: usize,
    /// Index of the filter (into `StreamSpec::filters`) whose rows it reads.
    pub filter: Option<usize>,
    pub kind: ValueKind,
    pub tests: Vec<ValueTest>,
    /// Distinct statistics asked for (values are hashed when this, a test, min/max or moments is).
    pub distinct: bool,
    pub min_max: bool,
    pub moments: bool,
}

impl StreamColumn {
    /// Whether only NULLs are counted (no value is hashed).
    fn counts_only(&self) -> bool {
        !self.distinct && self.tests.is_empty() && !self.min_max && !self.moments
    }
}

#[derive(Debug, Clone)]
pub struct StreamRowTest {
    pub filter: Option<usize>,
    pub test: RowTest,
}

/// One streamed pass: `COPY (SELECT <fields> FROM table [WHERE where_]) TO STDOUT`.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    /// Quoted SQL expressions, one field each: columns, then one boolean per filter.
    pub fields: Vec<String>,
    /// Field index of each filter's boolean.
    pub filters: Vec<usize>,
    /// A condition every streamed check shares (then no filter fields).
    pub where_: Option<String>,
    pub columns: Vec<StreamColumn>,
    pub row_tests: Vec<StreamRowTest>,
    /// Most distinct values kept for a column whose distinct statistics nobody asked for (its
    /// tests, min/max and moments); beyond it the column is given up (`ColumnStats::given_up`)
    /// and its checks run as SQL, so memory stays bounded on high-cardinality columns.
    pub max_judged_values: usize,
}

/// Default `StreamSpec::max_judged_values`: tables of ~64 MB.
pub const MAX_JUDGED_VALUES: usize = 1 << 21;

impl Default for StreamSpec {
    fn default() -> Self {
        Self {
            fields: Vec::new(),
            filters: Vec::new(),
            where_: None,
            columns: Vec::new(),
            row_tests: Vec::new(),
            max_judged_values: MAX_JUDGED_VALUES,
        }
    }
}

/// Sample statistics of a numeric column.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    pub count: u64,
    pub mean: Option<f64>,
    pub stddev: Option<f64>,
    /// Exact sum as text (integers and numerics with a scale), or the floating sum.
    pub sum: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnStats {
    /// Rows of the column's filter.
    pub rows: u64,
    pub non_null: u64,
    /// `[distinct values, values seen more than once, rows holding such values, non-null rows]`.
    pub distinct: [u64; 4],
    pub test_failing: Vec<u64>,
    pub min: Option<String>,
    pub max: Option<String>,
    pub moments: Option<Moments>,
    /// Too many distinct values to keep: only NULLs were counted; value checks need SQL.
    pub given_up: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamStats {
    /// Rows streamed (after `where_`).
    pub rows: u64,
    /// Rows passing each filter.
    pub filter_rows: Vec<u64>,
    pub columns: Vec<ColumnStats>,
    pub row_failing: Vec<u64>,
}

/// How a streamed check's values (in the layout its compiled `Measure` reads) come from the stats.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamValue {
    /// `[failing, total]`: values failing test `test` of column `column` (plus its NULLs when
    /// `nulls_fail`), of the filter's rows.
    Rows {
        column: usize,
        test: Option<usize>,
        nulls_fail: bool,
        filter: Option<usize>,
    },
    /// `[failing, total]` from a row test.
    RowTest {
        index: usize,
        filter: Option<usize>,
    },
    /// `[NULLs, rows]` (`null_share_max`) or `[NULLs]` (`missing_count_max`).
    Nulls {
        column: usize,
        with_total: bool,
    },
    /// `[rows]`.
    RowCount {
        filter: Option<usize>,
    },
    /// `[0, rows]`: a `not_null` check its column's NOT NULL constraint proves.
    Proven {
        filter: Option<usize>,
    },
    Min(usize),
    Max(usize),
    Mean(usize),
    Stddev(usize),
    Sum(usize),
    /// The four distinct statistics.
    Distinct(usize),
}

impl StreamStats {
    fn filter_rows(&self, filter: Option<usize>) -> u64 {
        filter.map_or(self.rows, |index| {
            self.filter_rows.get(index).copied().unwrap_or(0)
        })
    }

    /// The check's values, as its SQL would have returned them; `None` when its column was given
    /// up (run it as SQL).
    pub fn values(&self, value: &StreamValue) -> Option<Vec<Option<String>>> {
        let needs_values = match value {
            StreamValue::Rows { column, test, .. } => test.is_some().then_some(*column),
            StreamValue::Min(column)
            | StreamValue::Max(column)
            | StreamValue::Mean(column)
            | StreamValue::Stddev(column)
            | StreamValue::Sum(column)
            | StreamValue::Distinct(column) => Some(*column),
            _ => None,
        };
        if needs_values.is_some_and(|column| self.columns.get(column).is_some_and(|c| c.given_up)) {
            return None;
        }
        Some(self.values_of(value))
    }

    fn values_of(&self, value: &StreamValue) -> Vec<Option<String>> {
        let text = |number: u64| Some(number.to_string());
        let column = |index: usize| self.columns.get(index).cloned().unwrap_or_default();
        match value {
            StreamValue::Rows {
                column: index,
                test,
                nulls_fail,
                filter,
            } => {
                let stats = column(*index);
                let total = self.filter_rows(*filter);
                let mut failing = test
                    .and_then(|test| stats.test_failing.get(test).copied())
                    .unwrap_or(0);
                if *nulls_fail {
                    failing += total.saturating_sub(stats.non_null);
                }
                vec![text(failing), text(total)]
            }
            StreamValue::RowTest { index, filter } => vec![
                text(self.row_failing.get(*index).copied().unwrap_or(0)),
                text(self.filter_rows(*filter)),
            ],
            StreamValue::Nulls {
                column: index,
                with_total,
            } => {
                let stats = column(*index);
                let total = stats.rows;
                let nulls = total.saturating_sub(stats.non_null);
                if *with_total {
                    vec![text(nulls), text(total)]
                } else {
                    vec![text(nulls)]
                }
            }
            StreamValue::RowCount { filter } => vec![text(self.filter_rows(*filter))],
            StreamValue::Proven { filter } => vec![text(0), text(self.filter_rows(*filter))],
            StreamValue::Min(index) => vec![column(*index).min],
            StreamValue::Max(index) => vec![column(*index).max],
            StreamValue::Mean(index) => {
                vec![column(*index).moments.and_then(|m| m.mean).map(format_number)]
            }
            StreamValue::Stddev(index) => {
                vec![column(*index).moments.and_then(|m| m.stddev).map(format_number)]
            }
            StreamValue::Sum(index) => vec![column(*index).moments.and_then(|m| m.sum)],
            StreamValue::Distinct(index) => column(*index).distinct.iter().map(|v| text(*v)).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Planning

/// Builds a `StreamSpec` check by check.
#[derive(Debug, Default)]
pub struct SpecBuilder {
    spec: StreamSpec,
    /// Column names per field (filters have none).
    field_names: Vec<Option<String>>,
    filter_exprs: Vec<String>,
    /// Per check: its filter text, fixed into indices by `finish`.
    pending: Vec<(StreamValue, Option<String>)>,
}

/// A catalog column for planning: name, quoted name, kind.
pub struct CatalogColumn {
    pub name: String,
    pub quoted: String,
    pub kind: ValueKind,
}

/// Whether a template is worth a streamed pass on its own (SQL needs a grouping statement per
/// column or a per-row regular expression for it).
pub fn prefers_stream(measure: &Measure, check: &Check) -> bool {
    matches!(measure.source, Source::Distinct(_))
        || row_regex(check.template, &check.params).is_some()
        || check.template.name == "ip_address"
}

impl SpecBuilder {
    /// Plans `check` (compiled to `measure`, under `filter`) into the stream, or returns `false`
    /// when it must run as SQL.
    pub fn add(
        &mut self,
        check: &Check,
        measure: &Measure,
        filter: Option<&str>,
        catalog: &dyn Fn(&str) -> Option<CatalogColumn>,
    ) -> bool {
        let Some(value) = self.plan(check, measure, filter, catalog) else {
            return false;
        };
        self.pending.push((value, filter.map(str::to_owned)));
        true
    }

    fn field(&mut self, column: &CatalogColumn) -> usize {
        if let Some(index) = self
            .field_names
            .iter()
            .position(|name| name.as_deref() == Some(column.name.as_str()))
        {
            return index;
        }
        self.field_names.push(Some(column.name.clone()));
        self.spec.fields.push(column.quoted.clone());
        self.field_names.len() - 1
    }

    fn filter_key(filter: Option<&str>) -> Option<String> {
        filter.map(str::to_owned)
    }

    /// The stream column for (column, filter), created when new.
    fn column(&mut self, column: &CatalogColumn, filter: Option<&str>) -> usize {
        let field = self.field(column);
        let key = Self::filter_key(filter);
        let filter_index = key.as_ref().map(|text| self.filter_slot(text));
        if let Some(index) = self
            .spec
            .columns
            .iter()
            .position(|c| c.field == field && c.filter == filter_index)
        {
            return index;
        }
        self.spec.columns.push(StreamColumn {
            field,
            filter: filter_index,
            kind: column.kind,
            tests: Vec::new(),
            distinct: false,
            min_max: false,
            moments: false,
        });
        self.spec.columns.len() - 1
    }

    /// Index of `filter` among the filter texts (its field is added by `finish`).
    fn filter_slot(&mut self, filter: &str) -> usize {
        match self.filter_exprs.iter().position(|f| f == filter) {
            Some(index) => index,
            None => {
                self.filter_exprs.push(filter.to_owned());
                self.filter_exprs.len() - 1
            }
        }
    }

    fn test(&mut self, column: usize, test: ValueTest) -> Option<usize> {
        let tests = &mut self.spec.columns[column].tests;
        if tests.len() >= MAX_VALUE_TESTS {
            return None;
        }
        tests.push(test);
        Some(tests.len() - 1)
    }

    fn plan(
        &mut self,
        check: &Check,
        measure: &Measure,
        filter: Option<&str>,
        catalog: &dyn Fn(&str) -> Option<CatalogColumn>,
    ) -> Option<StreamValue> {
        let params = &check.params;
        let rows_outcome = measure.outcome == Outcome::Rows { failing: 0, total: 1 };
        let pick = matches!(
            measure.outcome,
            Outcome::Metric {
                fold: Fold::Pick(0),
                ..
            }
        );
        let column_param = || params.text("column").and_then(catalog);
        let filter_index = |builder: &mut Self| filter.map(|f| builder.filter_slot(f));
        let name = check.template.name;
        if let Source::Distinct(column) = &measure.source {
            let column = catalog(column)?;
            let index = self.column(&column, filter);
            self.spec.columns[index].distinct = true;
            return Some(StreamValue::Distinct(index));
        }
        if !matches!(measure.source, Source::Fused(_)) {
            return None;
        }
        // A row check on one column with one value test.
        let value_test = |kind: ValueKind| -> Option<(ValueTest, bool)> {
            let number = |param: &str| params.number(param).map(format_number);
            Some(match name {
                "not_blank" => (ValueTest::Blank, true),
                "ip_address" => (
                    ValueTest::Patterns {
                        patterns: vec![IPV4.to_owned(), IPV6.to_owned()],
                        fail_on_match: false,
                    },
                    false,
                ),
                "accepted_values" | "rejected_values" => {
                    let values = params.list("values");
                    let literal_ok = |value: &String| match kind {
                        ValueKind::Text | ValueKind::BlankPadded => true,
                        ValueKind::Integer => is_integer_literal(value),
                        ValueKind::Numeric { .. } | ValueKind::NumericAny => is_decimal_literal(value),
                        _ => false,
                    };
                    if !values.iter().all(literal_ok) {
                        return None;
                    }
                    (
                        ValueTest::Values {
                            values: values.to_vec(),
                            fail_inside: name == "rejected_values",
                        },
                        false,
                    )
                }
                "length_between" | "exact_length" => {
                    if kind == ValueKind::Other {
                        return None;
                    }
                    let integer = |param: &str| params.number(param).map(|v| v as u64);
                    let (min, max) = if name == "exact_length" {
                        (integer("length"), integer("length"))
                    } else {
                        (integer("min"), integer("max"))
                    };
                    if params.number("min").is_some_and(|v| v.fract() != 0.0)
                        || params.number("max").is_some_and(|v| v.fract() != 0.0)
                    {
                        return None;
                    }
                    (ValueTest::Length { min, max }, false)
                }
                "between" | "positive" | "non_negative" => {
                    if !(kind.decimal() || kind == ValueKind::Float8) {
                        return None;
                    }
                    let (min, max, min_equal_fails) = match name {
                        "between" => (number("min"), number("max"), false),
                        "positive" => (Some("0".to_owned()), None, true),
                        _ => (Some("0".to_owned()), None, false),
                    };
                    if [&min, &max].into_iter().flatten().any(|b| !is_decimal_literal(b)) {
                        return None;
                    }
                    (
                        ValueTest::Range {
                            min,
                            max,
                            min_equal_fails,
                        },
                        false,
                    )
                }
                "date_between" => {
                    if kind != ValueKind::Date {
                        return None;
                    }
                    let date = |param: &str| params.text(param).map(str::to_owned);
                    let (min, max) = (date("min"), date("max"));
                    if [&min, &max]
                        .into_iter()
                        .flatten()
                        .any(|d| parse_date_key(d).is_none() || d.len() != 10)
                    {
                        return None;
                    }
                    (
                        ValueTest::Range {
                            min,
                            max,
                            min_equal_fails: false,
                        },
                        false,
                    )
                }
                _ => {
                    let (_, pattern, fail_on_match) = row_regex(check.template, params)?;
                    (
                        ValueTest::Patterns {
                            patterns: vec![pattern],
                            fail_on_match,
                        },
                        false,
                    )
                }
            })
        };
        match name {
            "not_null"
                if rows_outcome
                    && matches!(&measure.source, Source::Fused(a) if a.first().is_some_and(|a| a == "0")) =>
            {
                // Proved by a NOT NULL constraint: no column to read.
                Some(StreamValue::Proven {
                    filter: filter_index(self),
                })
            }
            "not_null" | "not_null_with_default" if rows_outcome => {
                let column = column_param()?;
                let index = self.column(&column, filter);
                Some(StreamValue::Rows {
                    column: index,
                    test: None,
                    nulls_fail: true,
                    filter: filter_index(self),
                })
            }
            "required_columns" | "at_least_one_of" if rows_outcome => {
                let mut fields = Vec::new();
                for name in params.list("columns") {
                    let column = catalog(name)?;
                    fields.push(self.field(&column));
                }
                let filter = filter_index(self);
                self.spec.row_tests.push(StreamRowTest {
                    filter,
                    test: RowTest::Nulls {
                        fields,
                        all: name == "at_least_one_of",
                    },
                });
                Some(StreamValue::RowTest {
                    index: self.spec.row_tests.len() - 1,
                    filter,
                })
            }
            "column_compare" if rows_outcome => {
                let (left, right) = (column_param()?, catalog(params.text("other")?)?);
                let same_order = left.kind == right.kind
                    && (left.kind.ordered() && left.kind != ValueKind::Float4)
                    || (left.kind.decimal() && right.kind.decimal());
                if !same_order {
                    return None;
                }
                let operator = Ordering2::parse(params.text("operator")?)?;
                let kind = left.kind;
                let (left, right) = (self.field(&left), self.field(&right));
                let filter = filter_index(self);
                self.spec.row_tests.push(StreamRowTest {
                    filter,
                    test: RowTest::Compare {
                        left,
                        right,
                        operator,
                        kind,
                    },
                });
                Some(StreamValue::RowTest {
                    index: self.spec.row_tests.len() - 1,
                    filter,
                })
            }
            "null_share_max" if measure.outcome_is_ratio() => {
                let column = column_param()?;
                Some(StreamValue::Nulls {
                    column: self.column(&column, filter),
                    with_total: true,
                })
            }
            "missing_count_max" if pick => {
                let column = column_param()?;
                Some(StreamValue::Nulls {
                    column: self.column(&column, filter),
                    with_total: false,
                })
            }
            "row_count_min" | "row_count_between" if pick => Some(StreamValue::RowCount {
                filter: filter_index(self),
            }),
            "min_between" | "max_between" if pick => {
                let column = column_param()?;
                if !column.kind.ordered() {
                    return None;
                }
                let index = self.column(&column, filter);
                self.spec.columns[index].min_max = true;
                Some(if name == "min_between" {
                    StreamValue::Min(index)
                } else {
                    StreamValue::Max(index)
                })
            }
            "mean_between" | "stddev_between" | "sum_between" if pick => {
                let column = column_param()?;
                let exact_sum = matches!(column.kind, ValueKind::Integer | ValueKind::Numeric { .. });
                if !(column.kind.decimal() || column.kind.float())
                    || (name == "sum_between" && !(exact_sum || column.kind == ValueKind::Float8))
                {
                    return None;
                }
                let index = self.column(&column, filter);
                self.spec.columns[index].moments = true;
                Some(match name {
                    "mean_between" => StreamValue::Mean(index),
                    "stddev_between" => StreamValue::Stddev(index),
                    _ => StreamValue::Sum(index),
                })
            }
            _ if rows_outcome => {
                let column = column_param()?;
                let (test, nulls_fail) = value_test(column.kind)?;
                if let ValueTest::Patterns { patterns, .. } = &test
                    && !patterns.iter().all(|p| portable_regex(p))
                {
                    return None;
                }
                let index = self.column(&column, filter);
                let test = self.test(index, test)?;
                Some(StreamValue::Rows {
                    column: index,
                    test: Some(test),
                    nulls_fail,
                    filter: filter_index(self),
                })
            }
            _ => None,
        }
    }

    /// The finished spec and each added check's value source (in the order added).
    pub fn finish(mut self) -> (StreamSpec, Vec<StreamValue>) {
        let first = self.pending.first().and_then(|(_, filter)| filter.clone());
        let shared = first.filter(|first| {
            self.pending
                .iter()
                .all(|(_, filter)| filter.as_deref() == Some(first.as_str()))
        });
        if let Some(filter) = shared {
            // Every check reads the same rows: filter in the server, no boolean field.
            self.spec.where_ = Some(filter);
            for column in &mut self.spec.columns {
                column.filter = None;
            }
            for test in &mut self.spec.row_tests {
                test.filter = None;
            }
            let values = self
                .pending
                .into_iter()
                .map(|(value, _)| strip_filter(value))
                .collect();
            return (self.spec, values);
        }
        for filter in &self.filter_exprs {
            self.spec.filters.push(self.spec.fields.len());
            self.spec.fields.push(format!("({filter})"));
        }
        (
            self.spec,
            self.pending.into_iter().map(|(value, _)| value).collect(),
        )
    }
}

fn strip_filter(value: StreamValue) -> StreamValue {
    match value {
        StreamValue::Rows {
            column,
            test,
            nulls_fail,
            ..
        } => StreamValue::Rows {
            column,
            test,
            nulls_fail,
            filter: None,
        },
        StreamValue::RowTest { index, .. } => StreamValue::RowTest { index, filter: None },
        StreamValue::RowCount { .. } => StreamValue::RowCount { filter: None },
        StreamValue::Proven { .. } => StreamValue::Proven { filter: None },
        other => other,
    }
}

trait OutcomeExt {
    fn outcome_is_ratio(&self) -> bool;
}

impl OutcomeExt for Measure {
    fn outcome_is_ratio(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Metric {
                fold: Fold::Ratio(0, 1),
                ..
            }
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Value semantics shared with PostgreSQL

/// An integer literal PostgreSQL's integer input accepts and that fits every integer type's text.
fn is_integer_literal(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A plain decimal literal (`-12.50`, `.5`): no exponent, no NaN or infinity.
fn is_decimal_literal(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Order class of a numeric text: PostgreSQL sorts -Infinity < numbers < Infinity < NaN.
fn numeric_class(text: &str) -> u8 {
    match text {
        "-Infinity" | "-inf" => 0,
        "Infinity" | "inf" => 2,
        "NaN" => 3,
        _ => 1,
    }
}

/// Exact order of two decimal texts (PostgreSQL `numeric` semantics: `1.0` = `1.00`).
pub fn compare_decimal(a: &str, b: &str) -> Ordering {
    let (class_a, class_b) = (numeric_class(a), numeric_class(b));
    if class_a != 1 || class_b != 1 {
        return class_a.cmp(&class_b);
    }
    fn parts(text: &str) -> (bool, &str, &str) {
        let (negative, digits) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let (int, frac) = (int.trim_start_matches('0'), frac.trim_end_matches('0'));
        let zero = int.is_empty() && frac.is_empty();
        (negative && !zero, int, frac)
    }
    let (neg_a, int_a, frac_a) = parts(a);
    let (neg_b, int_b, frac_b) = parts(b);
    if neg_a != neg_b {
        return if neg_a { Ordering::Less } else { Ordering::Greater };
    }
    let magnitude = int_a
        .len()
        .cmp(&int_b.len())
        .then_with(|| int_a.cmp(int_b))
        .then_with(|| frac_a.cmp(frac_b));
    if neg_a { magnitude.reverse() } else { magnitude }
}

/// PostgreSQL's float order: NaN equals NaN and sorts above everything.
fn compare_float(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

fn parse_float(text: &str) -> f64 {
    match text {
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ => text.parse().unwrap_or(f64::NAN),
    }
}

/// A date's order key: `YYYY-MM-DD` (ISO output), ` BC` years, `±infinity`.
fn parse_date_key(text: &str) -> Option<i64> {
    match text {
        "infinity" => return Some(i64::MAX),
        "-infinity" => return Some(i64::MIN),
        _ => {}
    }
    let (date, bc) = match text.strip_suffix(" BC") {
        Some(date) => (date, true),
        None => (text, false),
    };
    let mut parts = date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let year = if bc { 1 - year } else { year };
    Some(year * 10_000 + month * 100 + day)
}

/// Order of two values of an ordered kind, as PostgreSQL compares them.
fn compare_values(kind: ValueKind, a: &str, b: &str) -> Ordering {
    match kind {
        ValueKind::Float8 | ValueKind::Float4 => compare_float(parse_float(a), parse_float(b)),
        ValueKind::Date => {
            if a.len() == 10 && b.len() == 10 {
                // Both plain ISO dates of years 1000-9999: text order is date order.
                return a.cmp(b);
            }
            parse_date_key(a).cmp(&parse_date_key(b))
        }
        _ => compare_decimal(a, b),
    }
}

/// Whether PostgreSQL's `~` (advanced regular expressions) and Rust's `regex` (compiled with `s`,
/// dot matches newline, as in PostgreSQL) decide every text alike for `pattern`. A conservative
/// subset: literals, `.`, bracket expressions of literals and ASCII ranges, `^`, `$`, `|`, groups
/// and `(?:…)`, quantifiers `* + ? {m} {m,} {m,n}` (≤ 255, lazy forms too), and escaped
/// punctuation or `\n \t \r \f \v`. Class shorthands (`\d \w \s`, locale-dependent in PostgreSQL,
/// Unicode in Rust), `\b` (backspace in PostgreSQL, word boundary in Rust), POSIX classes, flags,
/// look-around and back-references are not in it.
pub fn portable_regex(pattern: &str) -> bool {
    fn escape_ok(next: char) -> bool {
        (next.is_ascii_punctuation()) || matches!(next, 'n' | 't' | 'r' | 'f' | 'v')
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut index = 0;
    let mut depth = 0_u32;
    // Whether a quantifier may follow (the previous item is an atom), and whether the current
    // branch is still empty.
    let mut atom = false;
    let mut branch_empty = true;
    while index < chars.len() {
        let c = chars[index];
        index += 1;
        match c {
            '\\' => {
                let Some(&next) = chars.get(index) else {
                    return false;
                };
                if !escape_ok(next) {
                    return false;
                }
                index += 1;
                atom = true;
                branch_empty = false;
            }
            '[' => {
                if chars.get(index) == Some(&'^') {
                    index += 1;
                }
                if chars.get(index) == Some(&']') {
                    return false;
                }
                let mut items = 0;
                let mut previous: Option<char> = None;
                loop {
                    let Some(&item) = chars.get(index) else {
                        return false;
                    };
                    index += 1;
                    match item {
                        ']' => break,
                        '[' => return false,
                        '\\' => {
                            let Some(&next) = chars.get(index) else {
                                return false;
                            };
                            if !escape_ok(next) || !next.is_ascii_punctuation() {
                                return false;
                            }
                            index += 1;
                            previous = Some(next);
                        }
                        '-' if previous.is_some() && chars.get(index).is_some_and(|c| *c != ']') => {
                            let (Some(low), Some(&high)) = (previous, chars.get(index)) else {
                                return false;
                            };
                            let same_class = (low.is_ascii_digit() && high.is_ascii_digit())
                                || (low.is_ascii_lowercase() && high.is_ascii_lowercase())
                                || (low.is_ascii_uppercase() && high.is_ascii_uppercase());
                            if !same_class || low > high {
                                return false;
                            }
                            index += 1;
                            previous = None;
                        }
                        '&' | '~' | '-' if chars.get(index) == Some(&item) => return false,
                        other => previous = Some(other),
                    }
                    items += 1;
                }
                if items == 0 {
                    return false;
                }
                atom = true;
                branch_empty = false;
            }
            '(' => {
                if chars.get(index) == Some(&'?') {
                    if chars.get(index + 1) != Some(&':') {
                        return false;
                    }
                    index += 2;
                }
                depth += 1;
                atom = false;
                branch_empty = true;
            }
            ')' => {
                if depth == 0 || branch_empty {
                    return false;
                }
                depth -= 1;
                atom = true;
                branch_empty = false;
            }
            '|' => {
                if branch_empty {
                    return false;
                }
                atom = false;
                branch_empty = true;
            }
            '*' | '+' | '?' | '{' => {
                if !atom {
                    return false;
                }
                if c == '{' {
                    let close = match chars[index..].iter().position(|c| *c == '}') {
                        Some(offset) => index + offset,
                        None => return false,
                    };
                    let inner: String = chars[index..close].iter().collect();
                    let (low, high) = match inner.split_once(',') {
                        Some((low, high)) => (low, Some(high)),
                        None => (inner.as_str(), None),
                    };
                    let number = |text: &str| {
                        (!text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit()))
                            .then(|| text.parse::<u32>().ok())
                            .flatten()
                    };
                    let Some(low) = number(low) else { return false };
                    match high {
                        Some("") => {}
                        Some(high) => match number(high) {
                            Some(high) if high >= low && high <= 255 => {}
                            _ => return false,
                        },
                        None => {}
                    }
                    if low > 255 {
                        return false;
                    }
                    index = close + 1;
                }
                if chars.get(index) == Some(&'?') {
                    index += 1;
                }
                atom = false;
            }
            '^' | '$' => {
                atom = false;
                branch_empty = false;
            }
            ']' | '}' => return false,
            _ => {
                atom = true;
                branch_empty = false;
            }
        }
    }
    depth == 0 && !branch_empty && regex::Regex::new(&format!("(?s){pattern}")).is_ok()
}

/// The value of a COPY text field: `\\`, `\n`, `\t`, `\r`, `\b`, `\f`, `\v`, octal `\NNN` and
/// `\xHH` escapes undone.
pub fn unescape_copy_text(field: &[u8]) -> Cow<'_, str> {
    if !field.contains(&b'\\') {
        return String::from_utf8_lossy(field);
    }
    let mut out = Vec::with_capacity(field.len());
    let mut index = 0;
    while index < field.len() {
        let byte = field[index];
        if byte != b'\\' || index + 1 == field.len() {
            out.push(byte);
            index += 1;
            continue;
        }
        let next = field[index + 1];
        index += 2;
        match next {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = u32::from(next - b'0');
                while index < field.len() && value < 32 && (b'0'..=b'7').contains(&field[index]) {
                    value = value * 8 + u32::from(field[index] - b'0');
                    index += 1;
                }
                out.push(u8::try_from(value & 0xff).unwrap_or(0));
            }
            b'x' => {
                let digits: Vec<u8> = field[index..]
                    .iter()
                    .take(2)
                    .take_while(|digit| digit.is_ascii_hexdigit())
                    .copied()
                    .collect();
                index += digits.len();
                let value = u8::from_str_radix(std::str::from_utf8(&digits).unwrap_or("0"), 16).unwrap_or(0);
                out.push(value);
            }
            other => out.push(other),
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The bytes that identify a value as PostgreSQL's equality does: an unconstrained `numeric` prints
/// `1.0` and `1.00` apart but they are one value; a float prints `-0` and `0` apart but they are one.
/// Every other type's output is one-to-one with its equality (`char(n)` is padded alike by COPY).
fn equality_form(kind: ValueKind, field: &[u8]) -> &[u8] {
    match kind {
        ValueKind::NumericAny if field.contains(&b'.') => {
            let trimmed = field.trim_ascii_end();
            let mut end = trimmed.len();
            while end > 0 && trimmed[end - 1] == b'0' {
                end -= 1;
            }
            if end > 0 && trimmed[end - 1] == b'.' {
                end -= 1;
            }
            &trimmed[..end]
        }
        ValueKind::Float8 | ValueKind::Float4 if field == b"-0" => b"0",
        _ => field,
    }
}

/// PostgreSQL's text for a float result (`NaN`, `Infinity`), else `format_number`.
fn float_text(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format_number(value)
    }
}

// ---------------------------------------------------------------------------------------------
// Kernels

enum CompiledTest {
    Patterns(Vec<regex::Regex>, bool),
    Values(Vec<String>, bool),
    Length(Option<u64>, Option<u64>),
    Range(Option<String>, Option<String>, bool),
    Blank,
}

/// A distinct numeric value: as a float (what `CAST(… AS DOUBLE PRECISION)` gives) and, for
/// integers and scaled numerics, as an exact mantissa (`NO_MANTISSA` when there is none).
#[derive(Clone, Copy, Default)]
struct NumberValue {
    float: f64,
    mantissa: i64,
}

const NO_MANTISSA: i64 = i64::MIN;

/// One slot of a `CountTable`: a value's 64-bit hash (0: empty), its rows and failure bits.
#[derive(Clone, Copy, Default)]
struct Slot {
    key: u64,
    count: u32,
    bits: u32,
}

/// Rows per distinct value, keyed by the 64-bit hash of the value's COPY text: open addressing
/// with linear probing in one array of 16-byte slots, so a lookup in a table far larger than the
/// CPU cache costs one cache miss (a SwissTable costs two: control bytes, then the bucket), and
/// the lookups of a batch of rows overlap in the CPU. Numbers of distinct values, when kept, sit
/// in a parallel array.
struct CountTable {
    slots: Vec<Slot>,
    numbers: Vec<NumberValue>,
    keep_numbers: bool,
    len: usize,
}

/// The key of a hash (0 marks an empty slot).
fn table_key(hash: u64) -> u64 {
    if hash == 0 { 0x9e37_79b9_7f4a_7c15 } else { hash }
}

impl CountTable {
    const INITIAL: usize = 1 << 10;

    fn new(keep_numbers: bool) -> Self {
        Self {
            slots: vec![Slot::default(); Self::INITIAL],
            numbers: if keep_numbers {
                vec![NumberValue::default(); Self::INITIAL]
            } else {
                Vec::new()
            },
            keep_numbers,
            len: 0,
        }
    }

    /// The slot holding `key`, or the empty slot where it belongs (`Err`).
    fn find(&self, key: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        // The high bits pick the slot (the hash is uniform in every bit).
        let mut index = (key >> 20) as usize & mask;
        loop {
            let slot = &self.slots[index];
            if slot.key == key {
                return Ok(index);
            }
            if slot.key == 0 {
                return Err(index);
            }
            index = (index + 1) & mask;
        }
    }

    fn insert_at(&mut self, index: usize, slot: Slot, number: NumberValue) {
        self.slots[index] = slot;
        if self.keep_numbers {
            self.numbers[index] = number;
        }
        self.len += 1;
        // Grow at 5/8 load: linear probing stays short.
        if self.len * 8 > self.slots.len() * 5 {
            let capacity = self.slots.len() * 2;
            let slots = std::mem::replace(&mut self.slots, vec![Slot::default(); capacity]);
            let numbers = std::mem::take(&mut self.numbers);
            if self.keep_numbers {
                self.numbers = vec![NumberValue::default(); capacity];
            }
            for (old, slot) in slots.into_iter().enumerate().filter(|(_, slot)| slot.key != 0) {
                if let Err(index) = self.find(slot.key) {
                    self.slots[index] = slot;
                    if self.keep_numbers {
                        self.numbers[index] = numbers[old];
                    }
                }
            }
        }
    }

    fn occupied(&self) -> impl Iterator<Item = (&Slot, Option<&NumberValue>)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.key != 0)
            .map(|(index, slot)| (slot, self.numbers.get(index)))
    }
}

/// Per streamed column: its distinct values' rows and failure bits.
struct ColumnCounter {
    spec: StreamColumn,
    tests: Vec<CompiledTest>,
    table: CountTable,
    non_null: u64,
    min: Option<String>,
    max: Option<String>,
    /// Distinct values kept at most before giving up (`usize::MAX` with distinct statistics).
    limit: usize,
    given_up: bool,
}

/// The judging state of one streamed pass, fed whole COPY text rows.
pub struct StreamCounters {
    columns: Vec<ColumnCounter>,
    row_tests: Vec<StreamRowTest>,
    row_failing: Vec<u64>,
    filters: Vec<usize>,
    filter_rows: Vec<u64>,
    fields: usize,
    rows: u64,
    /// Per batch: (start, end) of every field of every row, and each row's filter verdicts.
    bounds: Vec<(u32, u32)>,
    passes: Vec<bool>,
    /// Per column of a batch: (table key, row) of its non-null values.
    keys: Vec<(u64, usize)>,
}

fn mantissa(text: &str, scale: u32) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if frac.len() > scale as usize || !is_decimal_literal(digits) {
        return None;
    }
    let mut value: i128 = 0;
    for byte in int.bytes().chain(frac.bytes()) {
        value = value.checked_mul(10)?.checked_add(i128::from(byte - b'0'))?;
    }
    for _ in frac.len()..scale as usize {
        value = value.checked_mul(10)?;
    }
    Some(if negative { -value } else { value })
}

fn mantissa_text(mut value: i128, scale: u32) -> String {
    let negative = value < 0;
    value = value.abs();
    let digits = value.to_string();
    let scale = scale as usize;
    let text = if scale == 0 {
        digits
    } else {
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{int}.{frac}")
    };
    if negative { format!("-{text}") } else { text }
}

impl ColumnCounter {
    fn new(spec: &StreamColumn, max_judged_values: usize) -> Result<Self, String> {
        let tests = spec
            .tests
            .iter()
            .map(|test| {
                Ok(match test {
                    ValueTest::Patterns {
                        patterns,
                        fail_on_match,
                    } => CompiledTest::Patterns(
                        patterns
                            .iter()
                            .map(|pattern| {
                                regex::Regex::new(&format!("(?s){pattern}"))
                                    .map_err(|error| format!("pattern `{pattern}`: {error}"))
                            })
                            .collect::<Result<_, String>>()?,
                        *fail_on_match,
                    ),
                    ValueTest::Values { values, fail_inside } => {
                        let values = values
                            .iter()
                            .map(|value| match spec.kind {
                                ValueKind::BlankPadded => value.trim_end_matches(' ').to_owned(),
                                _ => value.clone(),
                            })
                            .collect();
                        CompiledTest::Values(values, *fail_inside)
                    }
                    ValueTest::Length { min, max } => CompiledTest::Length(*min, *max),
                    ValueTest::Range {
                        min,
                        max,
                        min_equal_fails,
                    } => CompiledTest::Range(min.clone(), max.clone(), *min_equal_fails),
                    ValueTest::Blank => CompiledTest::Blank,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            spec: spec.clone(),
            tests,
            table: CountTable::new(spec.moments),
            non_null: 0,
            min: None,
            max: None,
            limit: if spec.distinct {
                usize::MAX
            } else {
                max_judged_values
            },
            given_up: false,
        })
    }

    /// Judges a value seen for the first time: its failure bits and number; records min and max.
    fn first_seen(&mut self, field: &[u8]) -> (u32, NumberValue) {
        let kind = self.spec.kind;
        let text = unescape_copy_text(field);
        let text = if kind == ValueKind::BlankPadded {
            text.trim_end_matches(' ')
        } else {
            &text
        };
        let mut bits = 0;
        for (bit, test) in self.tests.iter().enumerate() {
            let fails = match test {
                CompiledTest::Patterns(regexes, fail_on_match) => {
                    let matched = regexes.iter().any(|regex| regex.is_match(text));
                    matched == *fail_on_match
                }
                CompiledTest::Values(values, fail_inside) => {
                    let inside = values.iter().any(|value| match kind {
                        ValueKind::Text | ValueKind::BlankPadded => value == text,
                        _ => compare_decimal(text, value) == Ordering::Equal,
                    });
                    inside == *fail_inside
                }
                CompiledTest::Length(min, max) => {
                    let length = if text.is_ascii() {
                        text.len()
                    } else {
                        text.chars().count()
                    } as u64;
                    min.is_some_and(|min| length < min) || max.is_some_and(|max| length > max)
                }
                CompiledTest::Range(min, max, min_equal_fails) => {
                    let below = min.as_deref().is_some_and(|min| {
                        let ordering = compare_values(kind, text, min);
                        ordering.is_lt() || (*min_equal_fails && ordering.is_eq())
                    });
                    let above = max
                        .as_deref()
                        .is_some_and(|max| compare_values(kind, text, max).is_gt());
                    below || above
                }
                CompiledTest::Blank => text.chars().all(|c| c == ' '),
            };
            if fails {
                bits |= 1 << bit;
            }
        }
        if self.spec.min_max {
            if self
                .min
                .as_deref()
                .is_none_or(|min| compare_values(kind, text, min).is_lt())
            {
                self.min = Some(text.to_owned());
            }
            if self
                .max
                .as_deref()
                .is_none_or(|max| compare_values(kind, text, max).is_gt())
            {
                self.max = Some(text.to_owned());
            }
        }
        let mut number = NumberValue::default();
        if self.spec.moments {
            let exact = match kind {
                ValueKind::Integer => mantissa(text, 0),
                ValueKind::Numeric { scale } => mantissa(text, scale),
                _ => None,
            };
            number = NumberValue {
                // `real` widens to double exactly: parse it as the float4 it is.
                float: if kind == ValueKind::Float4 {
                    text.parse::<f32>().map_or(f64::NAN, f64::from)
                } else {
                    parse_float(text)
                },
                mantissa: exact
                    .and_then(|value| i64::try_from(value).ok())
                    .unwrap_or(NO_MANTISSA),
            };
        }
        (bits, number)
    }

    /// Counts a batch of values given as (table key, row): the probes run in a tight loop of
    /// their own so many cache misses are in flight at once; first-seen values take the slow path.
    fn add_keys<'a>(&mut self, keys: &[(u64, usize)], field: impl Fn(usize) -> &'a [u8]) {
        self.non_null += keys.len() as u64;
        for (key, row) in keys {
            match self.table.find(*key) {
                Ok(index) => {
                    let slot = &mut self.table.slots[index];
                    slot.count = slot.count.saturating_add(1);
                }
                Err(index) => {
                    if self.table.len >= self.limit {
                        self.give_up();
                        return;
                    }
                    self.insert_new(index, *key, field(*row));
                }
            }
        }
    }

    /// Frees the table; from now on only NULLs are counted (`non_null` already counts the batch).
    #[cold]
    fn give_up(&mut self) {
        self.given_up = true;
        self.table = CountTable::new(false);
        self.min = None;
        self.max = None;
    }

    #[cold]
    #[inline(never)]
    fn insert_new(&mut self, index: usize, key: u64, field: &[u8]) {
        let (bits, number) = self.first_seen(field);
        self.table.insert_at(index, Slot { key, count: 1, bits }, number);
    }

    fn finish(self, rows: u64) -> ColumnStats {
        let (mut repeated_values, mut repeated_rows) = (0_u64, 0_u64);
        let mut test_failing = vec![0_u64; self.tests.len()];
        for (slot, _) in self.table.occupied() {
            if slot.count > 1 {
                repeated_values += 1;
                repeated_rows += u64::from(slot.count);
            }
            let mut bits = slot.bits;
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                test_failing[bit] += u64::from(slot.count);
                bits &= bits - 1;
            }
        }
        let moments = (self.spec.moments && !self.given_up).then(|| self.moments());
        ColumnStats {
            rows,
            non_null: self.non_null,
            distinct: [
                self.table.len as u64,
                repeated_values,
                repeated_rows,
                self.non_null,
            ],
            test_failing,
            min: self.min,
            max: self.max,
            moments,
            given_up: self.given_up,
        }
    }

    /// Mean and sample standard deviation in two passes over the distinct values (the mean first),
    /// the sum exact where the values are exact.
    fn moments(&self) -> Moments {
        let weighted = || {
            self.table
                .occupied()
                .filter_map(|(slot, number)| number.map(|number| (f64::from(slot.count), slot.count, number)))
        };
        let count = self.non_null;
        let n = count as f64;
        let float_sum: f64 = weighted().map(|(c, _, number)| c * number.float).sum();
        let mean = (count > 0).then(|| float_sum / n);
        let stddev = mean.filter(|_| count > 1).map(|mean| {
            let squares: f64 = weighted()
                .map(|(c, _, number)| {
                    let delta = number.float - mean;
                    c * delta * delta
                })
                .sum();
            if mean.is_finite() {
                (squares / (n - 1.0)).sqrt()
            } else {
                f64::NAN
            }
        });
        let scale = match self.spec.kind {
            ValueKind::Integer => Some(0),
            ValueKind::Numeric { scale } => Some(scale),
            _ => None,
        };
        let exact = scale.and_then(|scale| {
            let mut sum: i128 = 0;
            for (_, c, number) in weighted() {
                let mantissa = (number.mantissa != NO_MANTISSA).then_some(number.mantissa)?;
                sum = sum.checked_add(i128::from(mantissa).checked_mul(i128::from(c))?)?;
            }
            Some(mantissa_text(sum, scale))
        });
        let sum = (count > 0).then(|| exact.unwrap_or_else(|| float_text(float_sum)));
        Moments {
            count,
            mean,
            stddev,
            sum,
        }
    }
}

impl StreamCounters {
    pub fn new(spec: &StreamSpec) -> Result<Self, String> {
        Ok(Self {
            columns: spec
                .columns
                .iter()
                .map(|column| ColumnCounter::new(column, spec.max_judged_values))
                .collect::<Result<_, _>>()?,
            row_tests: spec.row_tests.clone(),
            row_failing: vec![0; spec.row_tests.len()],
            filters: spec.filters.clone(),
            filter_rows: vec![0; spec.filters.len()],
            fields: spec.fields.len(),
            rows: 0,
            bounds: Vec::new(),
            passes: Vec::new(),
            keys: Vec::new(),
        })
    }

    /// Adds whole COPY text rows (each ends with a newline). Field bounds of every row first,
    /// then each column over all rows: its table lookups are independent and overlap.
    pub fn add_lines(&mut self, lines: &[u8]) {
        let lines = lines.strip_suffix(b"\n").unwrap_or(lines);
        // An empty buffer is no row, unless one field per row (an empty text).
        if lines.is_empty() && self.fields > 1 {
            return;
        }
        let width = self.fields;
        let bounds = &mut self.bounds;
        bounds.clear();
        // One pass over the delimiters; a row with too few fields (none in COPY output) is skipped.
        let (mut start, mut row_start, mut in_row) = (0_usize, 0_usize, 0_usize);
        for end in memchr::memchr2_iter(b'\t', b'\n', lines).chain([lines.len()]) {
            if in_row < width {
                bounds.push((start as u32, end as u32));
            }
            in_row += 1;
            start = end + 1;
            if end == lines.len() || lines[end] == b'\n' {
                if in_row < width {
                    bounds.truncate(row_start);
                }
                row_start = bounds.len();
                in_row = 0;
            }
        }
        let rows = bounds.len() / width;
        self.rows += rows as u64;
        let field = |row: usize, index: usize| {
            let (start, end) = bounds[row * width + index];
            &lines[start as usize..end as usize]
        };
        let filters = self.filters.len();
        let passes = &mut self.passes;
        passes.clear();
        for row in 0..rows {
            for (index, filter_field) in self.filters.iter().enumerate() {
                let pass = field(row, *filter_field) == b"t";
                self.filter_rows[index] += u64::from(pass);
                passes.push(pass);
            }
        }
        let keys = &mut self.keys;
        for column in &mut self.columns {
            let index = column.spec.field;
            if column.spec.counts_only() || column.given_up {
                let filter = column.spec.filter;
                column.non_null += (0..rows)
                    .filter(|row| filter.is_none_or(|filter| passes[row * filters + filter]))
                    .filter(|row| field(*row, index) != b"\\N")
                    .count() as u64;
                continue;
            }
            keys.clear();
            let kind = column.spec.kind;
            for row in 0..rows {
                let value = field(row, index);
                let included = column
                    .spec
                    .filter
                    .is_none_or(|filter| passes[row * filters + filter]);
                if included && value != b"\\N" {
                    keys.push((
                        table_key(xxhash_rust::xxh3::xxh3_64(equality_form(kind, value))),
                        row,
                    ));
                }
            }
            column.add_keys(keys, |row| field(row, index));
        }
        for (index, test) in self.row_tests.iter().enumerate() {
            let mut failing = 0;
            for row in 0..rows {
                if test.filter.is_some_and(|filter| !passes[row * filters + filter]) {
                    continue;
                }
                let fails = match &test.test {
                    RowTest::Nulls { fields: list, all } => {
                        let mut nulls = list.iter().map(|index| field(row, *index) == b"\\N");
                        if *all {
                            nulls.all(|null| null)
                        } else {
                            nulls.any(|null| null)
                        }
                    }
                    RowTest::Compare {
                        left,
                        right,
                        operator,
                        kind,
                    } => {
                        let (a, b) = (field(row, *left), field(row, *right));
                        if a == b"\\N" || b == b"\\N" {
                            false
                        } else {
                            let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
                            !operator.holds(compare_values(*kind, &a, &b))
                        }
                    }
                };
                failing += u64::from(fails);
            }
            self.row_failing[index] += failing;
        }
    }

    pub fn finish(self) -> StreamStats {
        let rows = self.rows;
        let filter_rows = self.filter_rows;
        let columns = self
            .columns
            .into_iter()
            .map(|column| {
                let rows = column
                    .spec
                    .filter
                    .map_or(rows, |filter| filter_rows.get(filter).copied().unwrap_or(0));
                column.finish(rows)
            })
            .collect();
        StreamStats {
            rows,
            filter_rows,
            columns,
            row_failing: self.row_failing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::templates::{
        BOOLEAN, DECIMAL, EMAIL, INTEGER, ISO_DATE, PHONE_E164, PHONE_NATIONAL, URL, US_ZIP, UUID,
    };

    fn column(field: usize, kind: ValueKind, tests: Vec<ValueTest>) -> StreamColumn {
        StreamColumn {
            field,
            filter: None,
            kind,
            tests,
            distinct: true,
            min_max: false,
            moments: false,
        }
    }

    fn patterns(pattern: &str, fail_on_match: bool) -> ValueTest {
        ValueTest::Patterns {
            patterns: vec![pattern.into()],
            fail_on_match,
        }
    }

    #[test]
    fn decimals_compare_exactly_with_postgres_special_values_on_top() {
        assert_eq!(compare_decimal("1.0", "1.00"), Ordering::Equal);
        assert_eq!(compare_decimal("-0.00", "0"), Ordering::Equal);
        assert_eq!(compare_decimal("10", "9.99"), Ordering::Greater);
        assert_eq!(compare_decimal("-2", "-1.5"), Ordering::Less);
        assert_eq!(compare_decimal("0.1", ".10"), Ordering::Equal);
        assert_eq!(
            compare_decimal("12345678901234567890.000000000000000001", "12345678901234567890"),
            Ordering::Greater,
            "beyond f64 precision"
        );
        assert_eq!(compare_decimal("NaN", "Infinity"), Ordering::Greater);
        assert_eq!(
            compare_decimal("Infinity", "1e9999".trim_end_matches("e9999")),
            Ordering::Greater
        );
        assert_eq!(compare_decimal("-Infinity", "-99999"), Ordering::Less);
        assert_eq!(compare_float(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(
            compare_values(ValueKind::Date, "0044-03-15 BC", "0001-01-01"),
            Ordering::Less
        );
        assert_eq!(
            compare_values(ValueKind::Date, "infinity", "9999-12-31"),
            Ordering::Greater
        );
    }

    #[test]
    fn only_patterns_both_engines_read_alike_are_judged_in_rust() {
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
            "^[ANR]$",
            "^(DELIVER IN PERSON|COLLECT COD|NONE|TAKE BACK RETURN) *$",
            "^[A-Z]{2}-[0-9]+$",
            "^P",
            "a.b+?c{2,}",
            "(?:ab|cd)\\.\\$",
            "é[ü-]",
        ] {
            assert!(portable_regex(pattern), "{pattern}");
        }
        for pattern in [
            "\\d+", // locale classes in PostgreSQL, Unicode in Rust
            "\\w",
            "\\bword",     // backspace in PostgreSQL
            "(?i)abc",     // flags
            "[[:alpha:]]", // POSIX classes
            "(?=x)",       // look-ahead (PostgreSQL only)
            "a{300}",      // above PostgreSQL's repetition limit
            "a{,3}",
            "[a&&b]", // Rust class set operations
            "[a-Z]",
            "x|", // empty branch
            "()",
            "*a",
            "a]",
            "[]a]",
            "(a",
        ] {
            assert!(!portable_regex(pattern), "{pattern}");
        }
    }

    #[test]
    fn counters_count_distinct_values_nulls_and_value_tests_per_column() {
        let spec = StreamSpec {
            fields: vec!["a".into(), "b".into(), "c".into()],
            columns: vec![
                // char(3): padding dropped before patterns and lists, as a cast to text and `=` do.
                column(
                    0,
                    ValueKind::BlankPadded,
                    vec![
                        patterns("^[ab]$", false),
                        ValueTest::Values {
                            values: vec!["a".into(), "c  ".into()],
                            fail_inside: false,
                        },
                        ValueTest::Length {
                            min: Some(1),
                            max: Some(1),
                        },
                        ValueTest::Blank,
                    ],
                ),
                column(
                    1,
                    ValueKind::Text,
                    vec![patterns("^1$", true), patterns("^a.b$", false)],
                ),
                StreamColumn {
                    min_max: true,
                    moments: true,
                    ..column(
                        2,
                        ValueKind::Numeric { scale: 2 },
                        vec![ValueTest::Range {
                            min: Some("0".into()),
                            max: Some("10".into()),
                            min_equal_fails: true,
                        }],
                    )
                },
            ],
            ..StreamSpec::default()
        };
        let mut counters = StreamCounters::new(&spec).unwrap();
        counters.add_lines(b"a  \t1\t1.50\nb\t1\t0.00\na\t\\N\t10.00\nc\ta\\nb\t\\N\n");
        counters.add_lines(b"a\tx\t-3.25\n   \t1\t10.01\n");
        let stats = counters.finish();
        assert_eq!(stats.rows, 6);
        let [a, b, c] = &stats.columns[..] else {
            panic!("three columns")
        };
        // "a  " and "a" hash apart (distinct in char(n) only after a cast); both pass after trimming.
        assert_eq!(a.distinct, [5, 1, 2, 6]);
        assert_eq!(
            a.test_failing,
            vec![2, 2, 1, 1],
            "c and '   ' fail the pattern; b and '   ' the list"
        );
        assert_eq!(b.distinct, [3, 1, 3, 5]);
        // Three "1" match `^1$`; all but "a\nb" fail `^a.b$` (PostgreSQL's dot matches a newline).
        assert_eq!(b.test_failing, vec![3, 4]);
        assert_eq!((c.non_null, c.rows), (5, 6));
        assert_eq!(
            c.test_failing,
            vec![3],
            "0.00 (not positive), -3.25 and 10.01 fail"
        );
        assert_eq!(
            (c.min.as_deref(), c.max.as_deref()),
            (Some("-3.25"), Some("10.01"))
        );
        let moments = c.moments.clone().unwrap();
        assert_eq!(moments.sum.as_deref(), Some("18.26"));
        assert!((moments.mean.unwrap() - 3.652).abs() < 1e-12);
        // Sample stddev of 1.5, 0, 10, -3.25, 10.01.
        assert!((moments.stddev.unwrap() - 6.048_286_534_217_77).abs() < 1e-9);
    }

    #[test]
    fn filters_and_row_tests_read_the_rows_their_filter_passes() {
        let spec = StreamSpec {
            // d1, d2 (dates), n (int), filter boolean
            fields: vec!["d1".into(), "d2".into(), "n".into(), "(f)".into()],
            filters: vec![3],
            columns: vec![
                StreamColumn {
                    filter: Some(0),
                    ..column(2, ValueKind::Integer, vec![])
                },
                column(2, ValueKind::Integer, vec![]),
            ],
            row_tests: vec![
                StreamRowTest {
                    filter: None,
                    test: RowTest::Compare {
                        left: 0,
                        right: 1,
                        operator: Ordering2::parse("<").unwrap(),
                        kind: ValueKind::Date,
                    },
                },
                StreamRowTest {
                    filter: Some(0),
                    test: RowTest::Nulls {
                        fields: vec![0, 1],
                        all: false,
                    },
                },
            ],
            where_: None,
            max_judged_values: MAX_JUDGED_VALUES,
        };
        let mut counters = StreamCounters::new(&spec).unwrap();
        counters.add_lines(
            b"2024-01-01\t2024-01-02\t1\tt\n2024-01-03\t2024-01-02\t2\tf\n\\N\t2024-01-02\t\\N\tt\n2024-01-05\t2024-01-05\t2\t\\N\n",
        );
        let stats = counters.finish();
        assert_eq!((stats.rows, stats.filter_rows.clone()), (4, vec![2]));
        assert_eq!((stats.columns[0].rows, stats.columns[0].non_null), (2, 1));
        assert_eq!(stats.columns[1].distinct, [2, 1, 2, 3]);
        assert_eq!(
            stats.row_failing,
            vec![2, 1],
            "2024-01-03 and 2024-01-05 not before; one NULL where f"
        );
        let values = stats.values(&StreamValue::Nulls {
            column: 0,
            with_total: true,
        });
        assert_eq!(values, Some(vec![Some("1".into()), Some("2".into())]));
    }

    #[test]
    fn the_count_table_keeps_exact_counts_while_it_grows() {
        let spec = StreamSpec {
            fields: vec!["x".into()],
            columns: vec![StreamColumn {
                moments: true,
                min_max: true,
                ..column(0, ValueKind::Integer, vec![])
            }],
            ..StreamSpec::default()
        };
        let mut counters = StreamCounters::new(&spec).unwrap();
        let mut lines = String::new();
        for value in 0..10_000_i64 {
            // every value once, multiples of 10 twice
            lines.push_str(&format!("{value}\n"));
            if value % 10 == 0 {
                lines.push_str(&format!("{value}\n"));
            }
        }
        counters.add_lines(lines.as_bytes());
        let stats = counters.finish();
        assert_eq!(stats.columns[0].distinct, [10_000, 1_000, 2_000, 11_000]);
        let sum: i64 = (0..10_000_i64).sum::<i64>() + (0..10_000_i64).step_by(10).sum::<i64>();
        assert_eq!(
            stats.columns[0].moments.clone().unwrap().sum,
            Some(sum.to_string())
        );
        assert_eq!(stats.columns[0].max.as_deref(), Some("9999"));
    }

    #[test]
    fn a_column_without_distinct_statistics_is_given_up_beyond_its_limit() {
        let spec = StreamSpec {
            fields: vec!["x".into()],
            columns: vec![
                StreamColumn {
                    distinct: false,
                    min_max: true,
                    ..column(0, ValueKind::Integer, vec![])
                },
                column(0, ValueKind::Integer, vec![]),
            ],
            max_judged_values: 100,
            ..StreamSpec::default()
        };
        let mut counters = StreamCounters::new(&spec).unwrap();
        let lines: String = (0..1_000).map(|value| format!("{value}\n")).collect();
        counters.add_lines(lines.as_bytes());
        counters.add_lines(b"\\N\n7\n");
        let stats = counters.finish();
        assert!(stats.columns[0].given_up);
        assert_eq!(stats.values(&StreamValue::Max(0)), None, "max needs SQL");
        assert_eq!(
            stats.values(&StreamValue::Nulls {
                column: 0,
                with_total: false
            }),
            Some(vec![Some("1".into())]),
            "NULLs are still counted"
        );
        // Distinct statistics asked for: kept, whatever the size.
        assert_eq!(stats.columns[1].distinct, [1_000, 1, 2, 1_001]);
    }

    #[test]
    fn values_equal_in_postgres_hash_alike() {
        let any = ValueKind::NumericAny;
        assert_eq!(equality_form(any, b"1.0"), equality_form(any, b"1.00"));
        assert_eq!(equality_form(any, b"1.000"), b"1");
        assert_eq!(equality_form(any, b"10"), b"10");
        assert_eq!(equality_form(any, b"10.50"), b"10.5");
        assert_eq!(equality_form(ValueKind::Float8, b"-0"), b"0");
        assert_eq!(equality_form(ValueKind::Text, b"1.0"), b"1.0");
    }

    #[test]
    fn copy_text_escapes_are_undone() {
        assert_eq!(unescape_copy_text(b"a\\tb\\\\c\\nd"), "a\tb\\c\nd");
        assert_eq!(unescape_copy_text(b"\\101\\x42"), "AB");
        assert_eq!(unescape_copy_text(b"plain"), "plain");
    }
}
