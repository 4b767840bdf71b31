//! The check-file format: versioned YAML, one list of checks per dataset, validated while read.
//!
//! ```yaml
//! version: 1
//! datasets:
//!   - dataset: public.orders
//!     filter: "status <> 'test'"      # optional, applies to every check of the dataset
//!     checks:
//!       - template: not_null
//!         column: email                # shorthand for params.column
//!         severity: critical
//!       - template: email
//!         params: { column: email }
//!         tolerance: 0.01              # pass while at most 1 % of the rows fail
//!         owner: crm-team
//!         tags: [pii]
//! ```
//!
//! Every parameter is checked against its template while the file is read, so a wrong value is
//! reported as `file:line:column: key: what was expected`; an unknown template names the closest one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

use super::templates::{self, ParamKind, Template};

/// The only check-file version this agent reads.
const CURRENT_VERSION: u32 = 1;

/// A check-file error, displayed as one line: `file:line:column: key: what was expected`.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{}", self.render())]
pub struct CheckFileError {
    pub file: PathBuf,
    pub key: String,
    pub line_column: Option<(usize, usize)>,
    pub message: String,
}

impl CheckFileError {
    fn render(&self) -> String {
        let mut out = self.file.display().to_string();
        if let Some((line, column)) = self.line_column {
            out.push_str(&format!(":{line}:{column}"));
        }
        if !self.key.is_empty() {
            out.push_str(&format!(": {}", self.key));
        }
        out.push_str(&format!(": {}", self.message));
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The seven quality dimensions of VISION.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Completeness,
    Validity,
    Accuracy,
    Consistency,
    Uniqueness,
    Timeliness,
    Integrity,
}

impl Dimension {
    pub const ALL: [Dimension; 7] = [
        Dimension::Completeness,
        Dimension::Validity,
        Dimension::Accuracy,
        Dimension::Consistency,
        Dimension::Uniqueness,
        Dimension::Timeliness,
        Dimension::Integrity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Completeness => "completeness",
            Dimension::Validity => "validity",
            Dimension::Accuracy => "accuracy",
            Dimension::Consistency => "consistency",
            Dimension::Uniqueness => "uniqueness",
            Dimension::Timeliness => "timeliness",
            Dimension::Integrity => "integrity",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated check file.
#[derive(Debug, Clone)]
pub struct CheckSuite {
    pub datasets: Vec<DatasetChecks>,
}

#[derive(Debug, Clone)]
pub struct DatasetChecks {
    /// `schema.table` or `table`.
    pub dataset: String,
    pub filter: Option<String>,
    pub checks: Vec<Check>,
}

/// One validated check.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub template: &'static Template,
    pub params: Params,
    pub severity: Severity,
    pub tolerance: f64,
    pub dimension: Dimension,
    pub filter: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    /// Where the check came from, for messages and JUnit (`file:line`).
    pub origin: String,
}

/// Parameters after validation against the template's parameter list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub BTreeMap<String, ParamValue>);

#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Text(String),
    Number(f64),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

impl Params {
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.0.get(name) {
            Some(ParamValue::Text(text)) => Some(text),
            _ => None,
        }
    }

    pub fn number(&self, name: &str) -> Option<f64> {
        match self.0.get(name) {
            Some(ParamValue::Number(number)) => Some(*number),
            _ => None,
        }
    }

    pub fn list(&self, name: &str) -> &[String] {
        match self.0.get(name) {
            Some(ParamValue::List(list)) => list,
            _ => &[],
        }
    }

    pub fn map(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        match self.0.get(name) {
            Some(ParamValue::Map(map)) => Some(map),
            _ => None,
        }
    }

    /// The scalar given for `name` as text (numbers and dates alike), for bounds.
    pub fn scalar(&self, name: &str) -> Option<String> {
        match self.0.get(name) {
            Some(ParamValue::Text(text)) => Some(text.clone()),
            Some(ParamValue::Number(number)) => Some(format_number(*number)),
            _ => None,
        }
    }

    /// Every column this check reads from its own dataset.
    pub fn columns(&self, template: &Template) -> Vec<String> {
        let mut out = Vec::new();
        for param in template.params {
            // `to_column` and `other_column` name columns of other tables.
            if matches!(param.name, "to_column" | "other_column") {
                continue;
            }
            match (param.kind, self.0.get(param.name)) {
                (ParamKind::Column, Some(ParamValue::Text(column))) => out.push(column.clone()),
                (ParamKind::Columns, Some(ParamValue::List(columns))) => out.extend(columns.iter().cloned()),
                _ => {}
            }
        }
        out
    }
}

/// Formats a number without a needless `.0`, so `5` stays `5` in SQL and messages.
pub fn format_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        format!("{number}")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    version: u32,
    datasets: Vec<DatasetFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasetFile {
    dataset: String,
    #[serde(default)]
    filter: Option<String>,
    checks: Vec<CheckFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    template: TemplateName,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, Value>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    tolerance: Option<Tolerance>,
    #[serde(default)]
    dimension: Option<Dimension>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// A template name that exists; an unknown one names the closest.
struct TemplateName(&'static Template);

impl<'de> Deserialize<'de> for TemplateName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match templates::find(&name) {
            Some(template) => Ok(TemplateName(template)),
            None => {
                let hint = templates::closest(&name)
                    .map(|closest| format!(", did you mean `{closest}`?"))
                    .unwrap_or_default();
                Err(serde::de::Error::custom(format!(
                    "expected a template name (see `cwic-agent checks list`), found `{name}`{hint}"
                )))
            }
        }
    }
}

/// A failing share between 0 and 1.
struct Tolerance(f64);

impl<'de> Deserialize<'de> for Tolerance {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        if (0.0..=1.0).contains(&value) {
            Ok(Tolerance(value))
        } else {
            Err(serde::de::Error::custom(format!(
                "expected a failing share between 0 and 1 (e.g. 0.01 for 1 %), found {value}"
            )))
        }
    }
}

impl CheckSuite {
    /// Reads one check file, or every `*.yml`/`*.yaml` file of a folder (sorted by name).
    pub fn load(path: &Path) -> Result<Self, CheckFileError> {
        let files = yaml_files(path).map_err(|error| read_error(path, &error))?;
        let mut suite = CheckSuite { datasets: Vec::new() };
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|error| read_error(&file, &error))?;
            suite.datasets.extend(Self::parse(&file, &text)?.datasets);
        }
        Ok(suite)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, CheckFileError> {
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        let file: SuiteFile = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let key = error.path().to_string();
            let inner = error.into_inner();
            yaml_error(path, text, if key == "." { String::new() } else { key }, &inner)
        })?;
        let at = |key: String, message: String| {
            let line_column = locate_key(text, &key);
            CheckFileError {
                file: path.to_owned(),
                key,
                line_column,
                message,
            }
        };
        if file.version != CURRENT_VERSION {
            return Err(at(
                "version".into(),
                format!("expected {CURRENT_VERSION}, found {}", file.version),
            ));
        }
        let mut datasets = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (dataset_index, dataset) in file.datasets.into_iter().enumerate() {
            if !valid_dataset_name(&dataset.dataset) {
                return Err(at(
                    format!("datasets[{dataset_index}].dataset"),
                    format!(
                        "expected `table` or `schema.table` of letters, digits and `_`, found `{}`",
                        dataset.dataset
                    ),
                ));
            }
            let mut checks = Vec::new();
            for (check_index, raw) in dataset.checks.into_iter().enumerate() {
                let prefix = format!("datasets[{dataset_index}].checks[{check_index}]");
                let template = raw.template.0;
                let mut raw_params = raw.params;
                if let Some(column) = raw.column {
                    if raw_params.contains_key("column") {
                        return Err(at(
                            format!("{prefix}.column"),
                            "expected the column once, either as `column` or as `params.column`".into(),
                        ));
                    }
                    raw_params.insert("column".into(), Value::String(column));
                }
                let params = validate_params(template, raw_params)
                    .map_err(|(param, message)| at(format!("{prefix}.params.{param}"), message))?;
                let name = raw.name.unwrap_or_else(|| default_name(template, &params));
                if !names.insert((dataset.dataset.clone(), name.clone())) {
                    return Err(at(
                        format!("{prefix}.name"),
                        format!(
                            "expected a unique check name per dataset, `{name}` is used twice (set `name:`)"
                        ),
                    ));
                }
                let line = locate_key(text, &format!("{prefix}.template")).map_or(0, |(line, _)| line);
                checks.push(Check {
                    name,
                    template,
                    params,
                    severity: raw.severity.unwrap_or(Severity::High),
                    tolerance: raw.tolerance.map_or(0.0, |tolerance| tolerance.0),
                    dimension: raw.dimension.unwrap_or(template.dimension),
                    filter: raw.filter,
                    owner: raw.owner,
                    tags: raw.tags,
                    origin: format!("{}:{line}", path.display()),
                });
            }
            datasets.push(DatasetChecks {
                dataset: dataset.dataset,
                filter: dataset.filter,
                checks,
            });
        }
        Ok(CheckSuite { datasets })
    }
}

/// `path` itself, or every `*.yml`/`*.yaml` file of the folder `path` (sorted by name): how check
/// files and contracts are found.
pub fn yaml_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|file| file.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

fn read_error(path: &Path, error: &std::io::Error) -> CheckFileError {
    CheckFileError {
        file: path.to_owned(),
        key: String::new(),
        line_column: None,
        message: format!("cannot read: {error}"),
    }
}

fn valid_dataset_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2
        && parts.iter().all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')
                && !part.starts_with(|c: char| c.is_ascii_digit())
        })
}

fn default_name(template: &Template, params: &Params) -> String {
    let columns = params.columns(template);
    if columns.is_empty() {
        template.name.to_owned()
    } else {
        format!("{}({})", template.name, columns.join(","))
    }
}

/// Checks each parameter against the template's list: required ones present, no unknown ones, each
/// of the expected kind. Errors name the parameter.
fn validate_params(template: &Template, raw: BTreeMap<String, Value>) -> Result<Params, (String, String)> {
    let mut out = BTreeMap::new();
    for name in raw.keys() {
        if !template.params.iter().any(|param| param.name == name) {
            let known: Vec<&str> = template.params.iter().map(|param| param.name).collect();
            return Err((
                name.clone(),
                format!(
                    "unknown parameter for template `{}`, expected one of: {}",
                    template.name,
                    known.join(", ")
                ),
            ));
        }
    }
    for param in template.params {
        let Some(value) = raw.get(param.name) else {
            if param.required {
                return Err((
                    param.name.to_owned(),
                    format!(
                        "template `{}` needs parameter `{}` ({})",
                        template.name,
                        param.name,
                        param.kind.expected()
                    ),
                ));
            }
            continue;
        };
        let converted = convert(param.kind, value).ok_or_else(|| {
            (
                param.name.to_owned(),
                format!("expected {}, found {}", param.kind.expected(), describe(value)),
            )
        })?;
        if let (ParamKind::Regex, ParamValue::Text(pattern)) = (param.kind, &converted)
            && let Err(error) = regex::Regex::new(pattern)
        {
            let first_line = error.to_string().lines().last().unwrap_or_default().to_owned();
            return Err((
                param.name.to_owned(),
                format!("expected a valid regular expression: {first_line}"),
            ));
        }
        out.insert(param.name.to_owned(), converted);
    }
    let params = Params(out);
    (template.validate)(&params).map_err(|(param, message)| (param.to_owned(), message))?;
    Ok(params)
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(value) => Some(value.to_string()),
        _ => None,
    }
}

fn convert(kind: ParamKind, value: &Value) -> Option<ParamValue> {
    match kind {
        ParamKind::Column | ParamKind::Table => match value {
            Value::String(text) if valid_dataset_name(text) => Some(ParamValue::Text(text.clone())),
            _ => None,
        },
        ParamKind::Text | ParamKind::Regex | ParamKind::Sql | ParamKind::Predicate => match value {
            Value::String(text) if !text.trim().is_empty() => Some(ParamValue::Text(text.clone())),
            _ => None,
        },
        ParamKind::Number => value.as_f64().map(ParamValue::Number),
        ParamKind::Integer => value
            .as_i64()
            .filter(|number| *number >= 0)
            .map(|number| ParamValue::Number(number as f64)),
        ParamKind::Bound => match value {
            Value::Number(number) => number.as_f64().map(ParamValue::Number),
            Value::String(text) if !text.is_empty() => Some(ParamValue::Text(text.clone())),
            _ => None,
        },
        ParamKind::Date => match value {
            Value::String(text) if is_iso_date(text) => Some(ParamValue::Text(text.clone())),
            _ => None,
        },
        ParamKind::Duration => match value {
            Value::String(text) => humantime::parse_duration(text)
                .ok()
                .map(|duration| ParamValue::Number(duration.as_secs_f64())),
            _ => None,
        },
        ParamKind::Columns => match value {
            Value::Sequence(items) if !items.is_empty() => items
                .iter()
                .map(|item| match item {
                    Value::String(text) if valid_dataset_name(text) && !text.contains('.') => {
                        Some(text.clone())
                    }
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(ParamValue::List),
            _ => None,
        },
        ParamKind::Values => match value {
            Value::Sequence(items) if !items.is_empty() => items
                .iter()
                .map(scalar_text)
                .collect::<Option<Vec<_>>>()
                .map(ParamValue::List),
            _ => None,
        },
        ParamKind::TypeMap => match value {
            Value::Mapping(map) if !map.is_empty() => map
                .iter()
                .map(|(key, value)| Some((scalar_text(key)?, scalar_text(value)?)))
                .collect::<Option<BTreeMap<_, _>>>()
                .map(ParamValue::Map),
            _ => None,
        },
    }
}

fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 10
        && bytes[..10].iter().enumerate().all(|(index, byte)| {
            if index == 4 || index == 7 {
                *byte == b'-'
            } else {
                byte.is_ascii_digit()
            }
        })
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".into(),
        Value::Bool(value) => format!("`{value}`"),
        Value::Number(number) => format!("`{number}`"),
        Value::String(text) => format!("`{text}`"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
    }
}

fn yaml_error(path: &Path, text: &str, key: String, error: &serde_yaml_ng::Error) -> CheckFileError {
    let mut line_column = error
        .location()
        .map(|location| (location.line(), location.column()));
    if let Some(reported) = line_column {
        line_column = Some(refine_location(text, reported, &key));
    }
    let mut message = error.to_string();
    if let Some(index) = message.find(" at line ") {
        message.truncate(index);
    }
    if let Some((prefix, rest)) = message.split_once(": ")
        && !prefix.contains(' ')
        && key.starts_with(prefix)
    {
        message = rest.to_owned();
    }
    CheckFileError {
        file: path.to_owned(),
        key,
        line_column,
        message,
    }
}

/// Errors raised by a value's own parser are located at the enclosing mapping; move them to the
/// key's own line (searching forward from the reported line) and point at its value.
fn refine_location(text: &str, reported: (usize, usize), key: &str) -> (usize, usize) {
    let Some(field) = key
        .rsplit('.')
        .next()
        .filter(|field| !field.is_empty() && !field.contains('['))
    else {
        return reported;
    };
    find_field(text, reported.0, field).unwrap_or(reported)
}

fn find_field(text: &str, from_line: usize, field: &str) -> Option<(usize, usize)> {
    let needle = format!("{field}:");
    for (index, line) in text.lines().enumerate().skip(from_line.saturating_sub(1)) {
        let content = line.trim_start().trim_start_matches("- ").trim_start();
        let inline = content
            .find(&format!("{{ {needle}"))
            .or_else(|| content.find(&format!("{{{needle}")));
        if content.starts_with(&needle) || inline.is_some() {
            let start = inline.map_or(0, |at| at + content[at..].find(&needle).unwrap_or(0));
            let key_column = line.len() - content.len() + start;
            let value = &content[start + needle.len()..];
            let value_offset = value.len() - value.trim_start().len();
            return Some((index + 1, key_column + needle.len() + value_offset + 1));
        }
    }
    None
}

/// Finds the line of a key path like `datasets[1].checks[2].params.column` by walking the YAML
/// text: a field is searched inside the block of its parent, `[n]` steps to the n-th list item of
/// that block. When a key is absent (a missing parameter), the deepest part found is reported.
fn locate_key(text: &str, key: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let indent_of = |line: &str| line.len() - line.trim_start().len();
    let block_end = |from: usize, indent: usize| {
        (from..lines.len())
            .find(|&index| !lines[index].trim().is_empty() && indent_of(lines[index]) <= indent)
            .unwrap_or(lines.len())
    };
    let (mut start, mut end) = (0, lines.len());
    let mut found = None;
    for segment in key.split('.') {
        let (field, index) = match segment.split_once('[') {
            Some((field, rest)) => (field, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let needle = format!("{field}:");
        let hit = (start..end).find_map(|line_index| {
            let line = lines[line_index];
            let content = line.trim_start().trim_start_matches("- ").trim_start();
            let at = if content.starts_with(&needle) {
                Some(0)
            } else {
                content
                    .find(&format!("{{ {needle}"))
                    .or_else(|| content.find(&format!(", {needle}")))
                    .map(|at| at + 2)
                    .or_else(|| content.find(&format!("{{{needle}")).map(|at| at + 1))
            }?;
            let key_column = line.len() - content.len() + at;
            let value = &content[at + needle.len()..];
            let value_offset = value.len() - value.trim_start().len();
            Some((
                line_index,
                key_column,
                key_column + needle.len() + value_offset + 1,
            ))
        });
        let Some((line, key_column, value_column)) = hit else {
            return found;
        };
        found = Some((line + 1, value_column));
        start = line; // the line itself, for inline mappings

        end = block_end(line + 1, key_column);
        if let Some(wanted) = index {
            let items: Vec<usize> = (start..end)
                .filter(|&i| lines[i].trim_start().starts_with("- "))
                .collect();
            let item_indent = items.iter().map(|&i| indent_of(lines[i])).min()?;
            let item = *items
                .iter()
                .filter(|&&i| indent_of(lines[i]) == item_indent)
                .nth(wanted)?;
            found = Some((item + 1, item_indent + 3));
            start = item;
            end = block_end(item + 1, item_indent);
        }
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        CheckSuite::parse(Path::new("checks.yml"), text)
            .unwrap_err()
            .to_string()
    }

    const GOOD: &str = "version: 1
datasets:
  - dataset: public.orders
    checks:
      - template: not_null
        column: id
      - template: accepted_values
        params:
          column: status
          values: [new, paid]
        severity: critical
        tolerance: 0.05
";

    #[test]
    fn a_valid_file_reads_with_defaults() {
        let suite = CheckSuite::parse(Path::new("c.yml"), GOOD).unwrap();
        let checks = &suite.datasets[0].checks;
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[0].name, "not_null(id)");
        assert_eq!(checks[0].severity, Severity::High);
        assert_eq!(checks[0].dimension, Dimension::Completeness);
        assert_eq!(checks[1].params.list("values"), ["new", "paid"]);
        assert_eq!(checks[1].tolerance, 0.05);
        assert_eq!(checks[1].origin, "c.yml:7");
    }

    #[test]
    fn golden_errors_name_file_line_column_key_and_expectation() {
        assert_eq!(
            error(&GOOD.replace("template: not_null", "template: not_nul")),
            "checks.yml:5:19: datasets[0].checks[0].template: expected a template name \
             (see `cwic-agent checks list`), found `not_nul`, did you mean `not_null`?"
        );
        assert_eq!(
            error(&GOOD.replace("severity: critical", "severity: urgent")),
            "checks.yml:11:19: datasets[0].checks[1].severity: unknown variant `urgent`, \
             expected one of `low`, `medium`, `high`, `critical`"
        );
        assert_eq!(
            error(&GOOD.replace("tolerance: 0.05", "tolerance: 5")),
            "checks.yml:12:20: datasets[0].checks[1].tolerance: expected a failing share between 0 \
             and 1 (e.g. 0.01 for 1 %), found 5"
        );
        assert_eq!(
            error(&GOOD.replace("values: [new, paid]", "values: new")),
            "checks.yml:10:19: datasets[0].checks[1].params.values: expected a non-empty list of \
             values, found `new`"
        );
        assert_eq!(
            error(&GOOD.replace("        column: id\n", "")),
            "checks.yml:5:9: datasets[0].checks[0].params.column: template `not_null` needs \
             parameter `column` (a column name)"
        );
        assert_eq!(
            error(&GOOD.replace("        severity: critical\n", "        severty: critical\n")),
            "checks.yml:11:18: datasets[0].checks[1].severty: unknown field `severty`, expected one of \
             `template`, `name`, `column`, `params`, `severity`, `tolerance`, `dimension`, `filter`, \
             `owner`, `tags`"
        );
        assert_eq!(
            error(
                "version: 1\ndatasets:\n  - dataset: t\n    checks:\n      - template: regex_match\n        params: {column: a, pattern: \"[a-\"}\n"
            ),
            "checks.yml:6:38: datasets[0].checks[0].params.pattern: expected a valid regular \
             expression: error: unclosed character class"
        );
        assert_eq!(
            error("version: 2\ndatasets: []\n"),
            "checks.yml:1:10: version: expected 1, found 2"
        );
    }
}
