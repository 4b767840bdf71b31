//! Data contracts: the model both formats are read into, and the two readers (pure: text in,
//! contract and diagnostics out; the agent reads files, the control plane API bodies).
//!
//! ODCS v3 (`apiVersion: v3.x`, `kind: DataContract`, `schema[].properties[]`, `quality[]`,
//! `slaProperties[]`) and the datacontract.com specification (`dataContractSpecification`,
//! `models.<name>.fields.<name>`, `definitions` with `$ref`, `quality`, `servicelevels`) end up as
//! the same [`Contract`]. Every problem is a [`Diagnostic`] located at `file:line:column` of the
//! offending node; unknown metrics and rules without a CWIC equivalent are warnings, never dropped
//! silently.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use serde_yaml_ng::Value;

/// Which specification a contract follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    Odcs,
    DataContractSpecification,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// One problem of a contract file: `file:line:column: key: what was expected`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub level: Level,
    pub file: PathBuf,
    pub key: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A contract read from one file.
#[derive(Debug, Clone, Serialize)]
pub struct Contract {
    pub flavor: Flavor,
    pub id: String,
    pub version: String,
    pub datasets: Vec<Dataset>,
    pub service_levels: Vec<ServiceLevel>,
}

/// One table (ODCS schema object, datacontract.com model).
#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    /// The table as the source names it (`physicalName` when given).
    pub name: String,
    pub columns: Vec<Column>,
    /// Quality rules, translated to check templates.
    pub rules: Vec<Rule>,
    pub line: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    /// The contract's logical type (ODCS `logicalType`, datacontract.com `type`).
    pub logical_type: Option<String>,
    /// The type as the database names it (ODCS `physicalType`), checked against the catalog.
    pub physical_type: Option<String>,
    pub required: bool,
    pub unique: bool,
    pub primary_key: bool,
    /// Position in a composite primary key (ODCS `primaryKeyPosition`).
    pub primary_key_position: Option<i64>,
    pub line: usize,
}

/// A quality rule as a CWIC check: template, parameters and tolerance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub column: Option<String>,
    pub template: &'static str,
    pub params: Map<String, Json>,
    pub tolerance: Option<f64>,
    /// `critical` for ODCS `severity: error` and the like, else `high`.
    pub severity: &'static str,
    /// What the contract said, e.g. `nullValues mustBe 0`.
    pub source: String,
    pub line: usize,
}

/// A service level, described for the control plane's SLA store (not evaluated here).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceLevel {
    /// freshness, latency, retention, availability, frequency, or the contract's own name.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage: Option<f64>,
    /// `table.column` the level is measured on, when named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    /// The contract's own entry, as JSON.
    pub declared: Json,
    pub line: usize,
}

/// A contract, or the errors that stop it, with the warnings either way.
#[derive(Debug)]
pub struct Parsed {
    pub contract: Option<Contract>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Warning)
    }
}

/// Reads a contract from text; the format is told by its first keys.
pub fn parse(path: &Path, text: &str) -> Parsed {
    let mut reader = Reader {
        file: path,
        text,
        diagnostics: Vec::new(),
    };
    let root: Value = match serde_yaml_ng::from_str(text) {
        Ok(root) => root,
        Err(error) => {
            let mut message = error.to_string();
            if let Some(index) = message.find(" at line ") {
                message.truncate(index);
            }
            let location = error.location();
            return Parsed {
                contract: None,
                diagnostics: vec![Diagnostic {
                    level: Level::Error,
                    file: path.to_owned(),
                    key: String::new(),
                    line: location.as_ref().map(|l| l.line()),
                    column: location.as_ref().map(|l| l.column()),
                    message: format!("expected YAML: {message}"),
                }],
            };
        }
    };
    let contract = if !root.is_mapping() {
        reader.error(
            "",
            "expected a mapping with `apiVersion` (ODCS) or `dataContractSpecification`",
        );
        None
    } else if root.get("dataContractSpecification").is_some() {
        reader.datacontract(&root)
    } else if root.get("apiVersion").is_some() || root.get("kind").is_some() {
        reader.odcs(&root)
    } else {
        reader.error(
            "",
            "expected `apiVersion: v3.x` (ODCS) or `dataContractSpecification: <version>` (datacontract.com)",
        );
        None
    };
    let failed = reader.diagnostics.iter().any(|d| d.level == Level::Error);
    Parsed {
        contract: if failed { None } else { contract },
        diagnostics: reader.diagnostics,
    }
}

const ODCS_LOGICAL_TYPES: &[&str] = &[
    "string",
    "date",
    "timestamp",
    "time",
    "number",
    "integer",
    "object",
    "array",
    "boolean",
];

const DCS_TYPES: &[&str] = &[
    "number",
    "decimal",
    "numeric",
    "int",
    "integer",
    "long",
    "bigint",
    "float",
    "double",
    "string",
    "text",
    "varchar",
    "boolean",
    "timestamp",
    "timestamp_tz",
    "timestamp_ntz",
    "date",
    "time",
    "array",
    "map",
    "object",
    "record",
    "struct",
    "bytes",
    "null",
    "uuid",
];

struct Reader<'a> {
    file: &'a Path,
    text: &'a str,
    diagnostics: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn push(&mut self, level: Level, key: &str, message: impl Into<String>) {
        let location = locate(self.text, key);
        self.diagnostics.push(Diagnostic {
            level,
            file: self.file.to_owned(),
            key: key.to_owned(),
            line: location.map(|(line, _)| line),
            column: location.map(|(_, column)| column),
            message: message.into(),
        });
    }

    fn error(&mut self, key: &str, message: impl Into<String>) {
        self.push(Level::Error, key, message);
    }

    fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.push(Level::Warning, key, message);
    }

    fn line(&self, key: &str) -> usize {
        locate(self.text, key).map_or(0, |(line, _)| line)
    }

    /// A scalar as text; `required` reports a missing one.
    fn text(&mut self, value: Option<&Value>, key: &str, required: bool) -> Option<String> {
        match value {
            None | Some(Value::Null) => {
                if required {
                    self.error(key, "expected a text, found nothing");
                }
                None
            }
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(other) => {
                self.error(key, format!("expected a text, found {}", describe(other)));
                None
            }
        }
    }

    fn flag(&mut self, value: Option<&Value>, key: &str) -> bool {
        match value {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(other) => {
                self.error(key, format!("expected true or false, found {}", describe(other)));
                false
            }
        }
    }

    fn number(&mut self, value: Option<&Value>, key: &str) -> Option<f64> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::Number(number)) => number.as_f64(),
            Some(other) => {
                self.error(key, format!("expected a number, found {}", describe(other)));
                None
            }
        }
    }

    fn sequence<'v>(&mut self, value: Option<&'v Value>, key: &str) -> &'v [Value] {
        match value {
            None | Some(Value::Null) => &[],
            Some(Value::Sequence(items)) => items,
            Some(other) => {
                self.error(key, format!("expected a list, found {}", describe(other)));
                &[]
            }
        }
    }

    fn mapping<'v>(&mut self, value: Option<&'v Value>, key: &str) -> Vec<(String, &'v Value)> {
        match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Mapping(map)) => map
                .iter()
                .filter_map(|(name, value)| name.as_str().map(|name| (name.to_owned(), value)))
                .collect(),
            Some(other) => {
                self.error(key, format!("expected a mapping, found {}", describe(other)));
                Vec::new()
            }
        }
    }

    fn name(&mut self, value: Option<&Value>, key: &str, what: &str) -> Option<String> {
        let name = self.text(value, key, true)?;
        // A table may be qualified by its schema (`public.orders`); a column may not.
        let valid = if what == "table" {
            let parts: Vec<&str> = name.split('.').collect();
            parts.len() <= 2 && parts.iter().all(|part| valid_name(part))
        } else {
            valid_name(&name)
        };
        if valid {
            Some(name)
        } else {
            let example = if what == "table" {
                "`orders` or `public.orders`"
            } else {
                "`order_id`"
            };
            self.error(
                key,
                format!("expected a {what} name of letters, digits and `_` (e.g. {example}), found `{name}`"),
            );
            None
        }
    }

    // ---- ODCS v3

    fn odcs(&mut self, root: &Value) -> Option<Contract> {
        let api = self.text(root.get("apiVersion"), "apiVersion", true);
        if let Some(api) = &api
            && !api.starts_with("v3")
        {
            self.error(
                "apiVersion",
                format!("expected an ODCS v3 version like v3.0.2, found `{api}`"),
            );
        }
        match self.text(root.get("kind"), "kind", true) {
            Some(kind) if kind != "DataContract" => {
                self.error("kind", format!("expected `DataContract`, found `{kind}`"));
            }
            _ => {}
        }
        let id = self.text(root.get("id"), "id", true).unwrap_or_default();
        let version = self
            .text(root.get("version"), "version", true)
            .unwrap_or_default();
        let mut datasets = Vec::new();
        for (index, table) in self.sequence(root.get("schema"), "schema").iter().enumerate() {
            let key = format!("schema[{index}]");
            if !table.is_mapping() {
                self.error(
                    &key,
                    format!("expected a schema object, found {}", describe(table)),
                );
                continue;
            }
            let name_key = if table.get("physicalName").is_some() {
                format!("{key}.physicalName")
            } else {
                format!("{key}.name")
            };
            let value = table.get("physicalName").or_else(|| table.get("name"));
            let Some(name) = self.name(value, &name_key, "table") else {
                continue;
            };
            let mut dataset = Dataset {
                name,
                columns: Vec::new(),
                rules: Vec::new(),
                line: self.line(&key),
            };
            for (column_index, property) in self
                .sequence(table.get("properties"), &format!("{key}.properties"))
                .iter()
                .enumerate()
            {
                let key = format!("{key}.properties[{column_index}]");
                if !property.is_mapping() {
                    self.error(
                        &key,
                        format!("expected a property object, found {}", describe(property)),
                    );
                    continue;
                }
                let name_key = if property.get("physicalName").is_some() {
                    format!("{key}.physicalName")
                } else {
                    format!("{key}.name")
                };
                let value = property.get("physicalName").or_else(|| property.get("name"));
                let Some(name) = self.name(value, &name_key, "column") else {
                    continue;
                };
                let logical_type =
                    self.text(property.get("logicalType"), &format!("{key}.logicalType"), false);
                if let Some(logical) = &logical_type
                    && !ODCS_LOGICAL_TYPES.contains(&logical.as_str())
                {
                    self.error(
                        &format!("{key}.logicalType"),
                        format!(
                            "expected one of {}, found `{logical}`",
                            ODCS_LOGICAL_TYPES.join(", ")
                        ),
                    );
                }
                let column = Column {
                    logical_type,
                    physical_type: self.text(
                        property.get("physicalType"),
                        &format!("{key}.physicalType"),
                        false,
                    ),
                    required: self.flag(property.get("required"), &format!("{key}.required")),
                    unique: self.flag(property.get("unique"), &format!("{key}.unique")),
                    primary_key: self.flag(property.get("primaryKey"), &format!("{key}.primaryKey")),
                    primary_key_position: self
                        .number(
                            property.get("primaryKeyPosition"),
                            &format!("{key}.primaryKeyPosition"),
                        )
                        .map(|position| position as i64),
                    line: self.line(&key),
                    name: name.clone(),
                };
                dataset.columns.push(column);
                let quality = self.sequence(property.get("quality"), &format!("{key}.quality"));
                for (rule_index, rule) in quality.iter().enumerate() {
                    let key = format!("{key}.quality[{rule_index}]");
                    if let Some(rule) = self.quality(rule, &key, &dataset.name, Some(&name)) {
                        dataset.rules.push(rule);
                    }
                }
            }
            let quality = self.sequence(table.get("quality"), &format!("{key}.quality"));
            for (rule_index, rule) in quality.iter().enumerate() {
                let key = format!("{key}.quality[{rule_index}]");
                if let Some(rule) = self.quality(rule, &key, &dataset.name, None) {
                    dataset.rules.push(rule);
                }
            }
            datasets.push(dataset);
        }
        let mut service_levels = Vec::new();
        let sla = self.sequence(root.get("slaProperties"), "slaProperties");
        for (index, entry) in sla.iter().enumerate() {
            let key = format!("slaProperties[{index}]");
            let Some(property) = self.text(entry.get("property"), &format!("{key}.property"), true) else {
                continue;
            };
            let unit = self.text(entry.get("unit"), &format!("{key}.unit"), false);
            let element = self.text(entry.get("element"), &format!("{key}.element"), false);
            let value = entry.get("value");
            let kind = match property.as_str() {
                "latency" | "freshness" | "retention" | "frequency" | "availability" => property.clone(),
                other => other.to_owned(),
            };
            let mut level = ServiceLevel {
                kind: kind.clone(),
                threshold_seconds: None,
                percentage: None,
                element,
                declared: to_json(entry),
                line: self.line(&key),
            };
            match kind.as_str() {
                "latency" | "freshness" | "retention" | "frequency" => {
                    let amount = self.number(value, &format!("{key}.value"));
                    match (amount, unit.as_deref()) {
                        (Some(amount), Some(unit)) => match unit_seconds(unit) {
                            Some(seconds) => level.threshold_seconds = Some(amount * seconds),
                            None => self.error(
                                &format!("{key}.unit"),
                                format!("expected a time unit (s, m, h, d, w, month, y), found `{unit}`"),
                            ),
                        },
                        (Some(_), None) => self.error(
                            &format!("{key}.unit"),
                            "expected a time unit (s, m, h, d, w, month, y), found nothing",
                        ),
                        (None, _) => {
                            self.error(&format!("{key}.value"), "expected a number, found nothing");
                        }
                    }
                }
                "availability" => {
                    level.percentage = self.percentage(value, &format!("{key}.value"));
                }
                _ => {}
            }
            service_levels.push(level);
        }
        Some(Contract {
            flavor: Flavor::Odcs,
            id,
            version,
            datasets,
            service_levels,
        })
    }

    fn percentage(&mut self, value: Option<&Value>, key: &str) -> Option<f64> {
        let parsed = match value {
            Some(Value::Number(number)) => number.as_f64(),
            Some(Value::String(text)) => text.trim().trim_end_matches('%').trim().parse().ok(),
            _ => None,
        };
        match parsed {
            Some(percentage) if (0.0..=100.0).contains(&percentage) => Some(percentage),
            _ => {
                let found = value.map_or_else(|| "nothing".to_owned(), describe);
                self.error(key, format!("expected a percentage like 99.9%, found {found}"));
                None
            }
        }
    }

    /// One ODCS quality object (also datacontract.com 1.x `quality` entries, which share it).
    fn quality(&mut self, rule: &Value, key: &str, table: &str, column: Option<&str>) -> Option<Rule> {
        if !rule.is_mapping() {
            self.error(
                key,
                format!("expected a quality object, found {}", describe(rule)),
            );
            return None;
        }
        let kind = self
            .text(rule.get("type"), &format!("{key}.type"), false)
            .unwrap_or_else(|| "library".into());
        let severity = match rule.get("severity").and_then(Value::as_str) {
            Some("error" | "critical" | "high") => "critical",
            _ => "high",
        };
        let bound = self.bound(rule, key)?;
        let line = self.line(key);
        let percent = matches!(rule.get("unit").and_then(Value::as_str), Some("percent" | "%"));
        match kind.as_str() {
            "text" => None,
            "sql" => {
                let query = self.text(rule.get("query"), &format!("{key}.query"), true)?;
                let Some(bound) = bound else {
                    self.error(
                        key,
                        "expected an operator (mustBe, mustBeLessThan, mustBeBetween, …)",
                    );
                    return None;
                };
                let query = query
                    .replace("${object}", table)
                    .replace("{object}", table)
                    .replace("${model}", table)
                    .replace("{model}", table)
                    .replace("${property}", column.unwrap_or_default())
                    .replace("{property}", column.unwrap_or_default())
                    .replace("${field}", column.unwrap_or_default())
                    .replace("{field}", column.unwrap_or_default());
                let mut params = Map::new();
                params.insert("query".into(), Json::String(query.trim().to_owned()));
                bound.insert_into(&mut params, false);
                Some(Rule {
                    column: column.map(str::to_owned),
                    template: "sql_metric",
                    params,
                    tolerance: None,
                    severity,
                    source: format!("sql {}", bound.describe()),
                    line,
                })
            }
            "library" => {
                let metric_key = if rule.get("metric").is_some() {
                    "metric"
                } else {
                    "rule"
                };
                let metric = self.text(rule.get(metric_key), &format!("{key}.{metric_key}"), true)?;
                // ODCS 3.0.0 library rules (`rule: nullCheck`) carry no operator: none allowed.
                let implied_zero = matches!(
                    metric.as_str(),
                    "nullCheck" | "nullValues" | "duplicateCount" | "duplicateValues"
                );
                let bound = match bound {
                    Some(bound) => bound,
                    None if implied_zero => Bound {
                        min: None,
                        max: Some(0.0),
                    },
                    None => {
                        self.warn(
                            &format!("{key}.{metric_key}"),
                            format!(
                                "not translated: `{metric}` without an operator (mustBe, mustBeLessThan, \
                                 mustBeBetween, …) states no bound"
                            ),
                        );
                        return None;
                    }
                };
                let translated = translate_metric(&metric, column, rule.get("arguments"), &bound, percent);
                match translated {
                    Ok((template, params, tolerance)) => Some(Rule {
                        column: column.map(str::to_owned),
                        template,
                        params,
                        tolerance,
                        severity,
                        source: format!("{metric} {}", bound.describe()),
                        line,
                    }),
                    Err(why) => {
                        self.warn(&format!("{key}.{metric_key}"), format!("not translated: {why}"));
                        None
                    }
                }
            }
            other => {
                self.warn(
                    &format!("{key}.type"),
                    format!("not translated: quality type `{other}` has no CWIC check (library and sql do)"),
                );
                None
            }
        }
    }

    /// The operator of a quality object.
    fn bound(&mut self, rule: &Value, key: &str) -> Option<Option<Bound>> {
        let operators = [
            "mustBe",
            "mustNotBe",
            "mustBeGreaterThan",
            "mustBeGreaterOrEqualTo",
            "mustBeGreaterThanOrEqualTo",
            "mustBeLessThan",
            "mustBeLessOrEqualTo",
            "mustBeLessThanOrEqualTo",
            "mustBeBetween",
            "mustNotBeBetween",
        ];
        let Some(operator) = operators.iter().find(|op| rule.get(**op).is_some()) else {
            return Some(None);
        };
        let op_key = format!("{key}.{operator}");
        let value = rule.get(*operator);
        let bound = match *operator {
            "mustBeBetween" => match value {
                Some(Value::Sequence(items)) if items.len() == 2 => {
                    match (items[0].as_f64(), items[1].as_f64()) {
                        (Some(low), Some(high)) if low <= high => Bound {
                            min: Some(low),
                            max: Some(high),
                        },
                        _ => {
                            self.error(&op_key, "expected two numbers [low, high] with low <= high");
                            return None;
                        }
                    }
                }
                _ => {
                    self.error(&op_key, "expected two numbers [low, high] with low <= high");
                    return None;
                }
            },
            "mustNotBe" | "mustNotBeBetween" => {
                self.warn(&op_key, format!("not translated: `{operator}` has no CWIC bound"));
                return None;
            }
            _ => {
                let number = self.number(value, &op_key)?;
                match *operator {
                    "mustBe" => Bound {
                        min: Some(number),
                        max: Some(number),
                    },
                    // Counts and shares: a strict bound on a count is the next whole number.
                    "mustBeGreaterThan" => Bound {
                        min: Some(number + 1.0),
                        max: None,
                    },
                    "mustBeGreaterOrEqualTo" | "mustBeGreaterThanOrEqualTo" => Bound {
                        min: Some(number),
                        max: None,
                    },
                    "mustBeLessThan" => Bound {
                        min: None,
                        max: Some(number - 1.0),
                    },
                    _ => Bound {
                        min: None,
                        max: Some(number),
                    },
                }
            }
        };
        Some(Some(bound))
    }

    // ---- datacontract.com specification

    fn datacontract(&mut self, root: &Value) -> Option<Contract> {
        self.text(
            root.get("dataContractSpecification"),
            "dataContractSpecification",
            true,
        );
        let id = self.text(root.get("id"), "id", true).unwrap_or_default();
        let info = root.get("info");
        if info.is_none() {
            self.error(
                "info",
                "expected an info object with title and version, found nothing",
            );
        }
        let version = self
            .text(
                info.and_then(|info| info.get("version")),
                "info.version",
                info.is_some(),
            )
            .unwrap_or_default();
        let definitions: Vec<(String, &Value)> = self.mapping(root.get("definitions"), "definitions");
        let mut datasets = Vec::new();
        for (model_name, model) in self.mapping(root.get("models"), "models") {
            let key = format!("models.{model_name}");
            let Some(name) = self.name(Some(&Value::String(model_name.clone())), &key, "model") else {
                continue;
            };
            let mut dataset = Dataset {
                name: name.clone(),
                columns: Vec::new(),
                rules: Vec::new(),
                line: self.line(&key),
            };
            for (field_name, field) in self.mapping(model.get("fields"), &format!("{key}.fields")) {
                let key = format!("{key}.fields.{field_name}");
                let Some(column) = self.name(Some(&Value::String(field_name.clone())), &key, "field") else {
                    continue;
                };
                let field = self.resolve(field, &definitions, &key);
                let logical_type = self.text(field.get("type"), &format!("{key}.type"), false);
                if let Some(logical) = &logical_type
                    && !DCS_TYPES.contains(&logical.to_ascii_lowercase().as_str())
                {
                    self.error(
                        &format!("{key}.type"),
                        format!(
                            "expected a datacontract.com type ({}), found `{logical}`",
                            DCS_TYPES.join(", ")
                        ),
                    );
                }
                let primary = field.get("primaryKey").or_else(|| field.get("primary"));
                dataset.columns.push(Column {
                    name: column.clone(),
                    logical_type,
                    physical_type: None,
                    required: self.flag(field.get("required"), &format!("{key}.required")),
                    unique: self.flag(field.get("unique"), &format!("{key}.unique")),
                    primary_key: self.flag(primary, &format!("{key}.primary")),
                    primary_key_position: None,
                    line: self.line(&key),
                });
                self.field_constraints(&field, &key, &column, &mut dataset.rules);
                let quality = self.sequence(field.get("quality"), &format!("{key}.quality"));
                for (index, rule) in quality.iter().enumerate() {
                    if let Some(rule) =
                        self.quality(rule, &format!("{key}.quality[{index}]"), &name, Some(&column))
                    {
                        dataset.rules.push(rule);
                    }
                }
            }
            if let Some(Value::Sequence(quality)) = model.get("quality") {
                for (index, rule) in quality.iter().enumerate() {
                    if let Some(rule) = self.quality(rule, &format!("{key}.quality[{index}]"), &name, None) {
                        dataset.rules.push(rule);
                    }
                }
            }
            datasets.push(dataset);
        }
        if let Some(quality) = root.get("quality") {
            self.soda(quality, &mut datasets);
        }
        let levels_key = if root.get("servicelevels").is_some() {
            "servicelevels"
        } else {
            "serviceLevels"
        };
        let mut service_levels = Vec::new();
        for (kind, entry) in self.mapping(root.get(levels_key), levels_key) {
            let key = format!("{levels_key}.{kind}");
            let mut level = ServiceLevel {
                kind: kind.clone(),
                threshold_seconds: None,
                percentage: None,
                element: None,
                declared: to_json(entry),
                line: self.line(&key),
            };
            match kind.as_str() {
                "availability" => {
                    level.percentage = self.percentage(entry.get("percentage"), &format!("{key}.percentage"));
                }
                "retention" => {
                    if let Some(period) = self.text(entry.get("period"), &format!("{key}.period"), false) {
                        level.threshold_seconds = self.duration(&period, &format!("{key}.period"));
                    }
                    level.element = self.text(
                        entry.get("timestampField"),
                        &format!("{key}.timestampField"),
                        false,
                    );
                }
                "latency" => {
                    if let Some(threshold) =
                        self.text(entry.get("threshold"), &format!("{key}.threshold"), true)
                    {
                        level.threshold_seconds = self.duration(&threshold, &format!("{key}.threshold"));
                    }
                    level.element = self.text(
                        entry.get("processedTimestampField"),
                        &format!("{key}.processedTimestampField"),
                        false,
                    );
                }
                "frequency" => {
                    level.threshold_seconds = match entry.get("interval").and_then(Value::as_str) {
                        Some("hourly") => Some(3600.0),
                        Some("daily") => Some(86_400.0),
                        Some("weekly") => Some(604_800.0),
                        Some("monthly") => Some(2_592_000.0),
                        _ => None,
                    };
                }
                "freshness" => {
                    if let Some(threshold) =
                        self.text(entry.get("threshold"), &format!("{key}.threshold"), true)
                    {
                        level.threshold_seconds = self.duration(&threshold, &format!("{key}.threshold"));
                    }
                    level.element = self.text(
                        entry.get("timestampField"),
                        &format!("{key}.timestampField"),
                        false,
                    );
                }
                _ => {}
            }
            service_levels.push(level);
        }
        Some(Contract {
            flavor: Flavor::DataContractSpecification,
            id,
            version,
            datasets,
            service_levels,
        })
    }

    /// A field with its `$ref: '#/definitions/x'` merged in (the field's own keys win).
    fn resolve(&mut self, field: &Value, definitions: &[(String, &Value)], key: &str) -> Value {
        let Some(reference) = field.get("$ref").and_then(Value::as_str) else {
            return field.clone();
        };
        let Some(name) = reference.strip_prefix("#/definitions/") else {
            self.warn(
                &format!("{key}.$ref"),
                format!("not resolved: only `#/definitions/<name>` references are read, found `{reference}`"),
            );
            return field.clone();
        };
        let Some((_, definition)) = definitions.iter().find(|(n, _)| n == name) else {
            self.error(
                &format!("{key}.$ref"),
                format!("expected a definition named `{name}`, found none"),
            );
            return field.clone();
        };
        let mut merged = match definition {
            Value::Mapping(map) => map.clone(),
            _ => serde_yaml_ng::Mapping::new(),
        };
        if let Value::Mapping(own) = field {
            for (k, v) in own {
                merged.insert(k.clone(), v.clone());
            }
        }
        Value::Mapping(merged)
    }

    /// datacontract.com field constraints: minLength/maxLength, pattern, enum, minimum/maximum, format.
    fn field_constraints(&mut self, field: &Value, key: &str, column: &str, rules: &mut Vec<Rule>) {
        let line = self.line(key);
        let rule = |template: &'static str, params: Map<String, Json>, source: String| Rule {
            column: Some(column.to_owned()),
            template,
            params,
            tolerance: None,
            severity: "high",
            source,
            line,
        };
        let min_length = self.number(field.get("minLength"), &format!("{key}.minLength"));
        let max_length = self.number(field.get("maxLength"), &format!("{key}.maxLength"));
        if min_length.is_some() || max_length.is_some() {
            let bound = Bound {
                min: min_length,
                max: max_length,
            };
            let mut params = column_params(column);
            bound.insert_into(&mut params, true);
            rules.push(rule(
                "length_between",
                params,
                format!("length {}", bound.describe()),
            ));
        }
        let minimum = self.number(field.get("minimum"), &format!("{key}.minimum"));
        let maximum = self.number(field.get("maximum"), &format!("{key}.maximum"));
        if minimum.is_some() || maximum.is_some() {
            let bound = Bound {
                min: minimum,
                max: maximum,
            };
            let mut params = column_params(column);
            bound.insert_into(&mut params, false);
            rules.push(rule("between", params, format!("value {}", bound.describe())));
        }
        if let Some(pattern) = self.text(field.get("pattern"), &format!("{key}.pattern"), false) {
            if let Err(error) = regex::Regex::new(&pattern) {
                let last = error.to_string().lines().last().unwrap_or_default().to_owned();
                self.error(
                    &format!("{key}.pattern"),
                    format!("expected a valid regular expression: {last}"),
                );
            } else {
                let mut params = column_params(column);
                params.insert("pattern".into(), Json::String(pattern.clone()));
                rules.push(rule("regex_match", params, format!("pattern {pattern}")));
            }
        }
        if let Some(Value::Sequence(values)) = field.get("enum") {
            let values: Vec<Json> = values.iter().filter(|v| !v.is_null()).map(to_json).collect();
            if !values.is_empty() {
                let mut params = column_params(column);
                params.insert("values".into(), Json::Array(values));
                rules.push(rule("accepted_values", params, "enum".into()));
            }
        }
        match field.get("format").and_then(Value::as_str) {
            Some(format @ ("email" | "uuid")) => {
                let template = if format == "email" { "email" } else { "uuid" };
                // Both are templates of the agent's library; its check-file reader refuses an unknown one.
                rules.push(rule(template, column_params(column), format!("format {format}")));
            }
            Some(other) => self.warn(
                &format!("{key}.format"),
                format!("not translated: format `{other}` has no CWIC check (email and uuid do)"),
            ),
            None => {}
        }
    }

    /// datacontract.com 0.9 `quality: {type: SodaCL, specification: {checks for <model>: [...]}}`:
    /// the common SodaCL lines become checks, the others warnings.
    fn soda(&mut self, quality: &Value, datasets: &mut [Dataset]) {
        let kind = quality.get("type").and_then(Value::as_str).unwrap_or_default();
        if !kind.eq_ignore_ascii_case("sodacl") {
            self.warn(
                "quality.type",
                format!("not translated: quality type `{kind}` (SodaCL is read)"),
            );
            return;
        }
        let Some(Value::Mapping(spec)) = quality.get("specification") else {
            self.warn(
                "quality.specification",
                "not translated: expected inline SodaCL checks",
            );
            return;
        };
        for (section, checks) in spec {
            let Some(section) = section.as_str() else { continue };
            let Some(model) = section.strip_prefix("checks for ").map(str::trim) else {
                continue;
            };
            let key = format!("quality.specification.{section}");
            let Some(dataset) = datasets.iter_mut().find(|d| d.name == model) else {
                self.error(&key, format!("expected a model named `{model}`, found none"));
                continue;
            };
            let line = self.line(&key);
            for check in checks.as_sequence().map(Vec::as_slice).unwrap_or_default() {
                let Some(text) = check.as_str() else {
                    self.warn(&key, "not translated: only one-line SodaCL checks are read");
                    continue;
                };
                match soda_line(text) {
                    Some((column, template, params)) => dataset.rules.push(Rule {
                        column,
                        template,
                        params,
                        tolerance: None,
                        severity: "high",
                        source: text.to_owned(),
                        line,
                    }),
                    None => self.warn(&key, format!("not translated: SodaCL `{text}`")),
                }
            }
        }
    }

    fn duration(&mut self, text: &str, key: &str) -> Option<f64> {
        match parse_duration(text) {
            Some(seconds) => Some(seconds),
            None => {
                self.error(
                    key,
                    format!("expected a duration like 25h, 2 days or P1Y, found `{text}`"),
                );
                None
            }
        }
    }
}

/// A numeric bound from a contract operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Bound {
    fn insert_into(&self, params: &mut Map<String, Json>, integer: bool) {
        let number = |value: f64| {
            if integer {
                json!(value.max(0.0) as i64)
            } else {
                json!(value)
            }
        };
        if let Some(min) = self.min {
            params.insert("min".into(), number(min));
        }
        if let Some(max) = self.max {
            params.insert("max".into(), number(max));
        }
    }

    fn describe(&self) -> String {
        match (self.min, self.max) {
            (Some(min), Some(max)) if min == max => format!("= {min}"),
            (Some(min), Some(max)) => format!("in [{min}, {max}]"),
            (Some(min), None) => format!(">= {min}"),
            (None, Some(max)) => format!("<= {max}"),
            (None, None) => String::new(),
        }
    }
}

fn column_params(column: &str) -> Map<String, Json> {
    let mut params = Map::new();
    params.insert("column".into(), Json::String(column.to_owned()));
    params
}

type Translated = (&'static str, Map<String, Json>, Option<f64>);

/// ODCS library metrics → template, parameters and tolerance.
fn translate_metric(
    metric: &str,
    column: Option<&str>,
    arguments: Option<&Value>,
    bound: &Bound,
    percent: bool,
) -> Result<Translated, String> {
    let argument = |name: &str| arguments.and_then(|arguments| arguments.get(name));
    let exact_zero = bound.max == Some(0.0);
    let share = |bound: &Bound| -> Result<f64, String> {
        match (bound.min, bound.max) {
            (None | Some(0.0), Some(max)) => Ok((max / 100.0).clamp(0.0, 1.0)),
            _ => Err("only an upper bound on a percentage translates".into()),
        }
    };
    match (metric, column) {
        ("nullValues" | "missingValues" | "nullCheck", Some(column)) => {
            if exact_zero {
                Ok(("not_null", column_params(column), None))
            } else if percent {
                let mut params = column_params(column);
                params.insert("max".into(), json!(share(bound)?));
                Ok(("null_share_max", params, None))
            } else {
                let max = bound
                    .max
                    .ok_or("only an upper bound on missing rows translates")?;
                let mut params = column_params(column);
                params.insert("max".into(), json!(max as i64));
                Ok(("missing_count_max", params, None))
            }
        }
        ("invalidValues", Some(column)) => {
            let tolerance = if exact_zero {
                None
            } else if percent {
                Some(share(bound)?)
            } else {
                return Err("a number of invalid rows has no CWIC tolerance; give it in percent".into());
            };
            if let Some(Value::Sequence(values)) = argument("validValues") {
                let values: Vec<Json> = values.iter().filter(|v| !v.is_null()).map(to_json).collect();
                let mut params = column_params(column);
                params.insert("values".into(), Json::Array(values));
                Ok(("accepted_values", params, tolerance))
            } else if let Some(Value::String(pattern)) = argument("pattern") {
                let mut params = column_params(column);
                params.insert("pattern".into(), Json::String(pattern.clone()));
                Ok(("regex_match", params, tolerance))
            } else {
                Err("invalidValues needs arguments.validValues or arguments.pattern".into())
            }
        }
        ("duplicateValues" | "duplicateCount", _) => {
            let columns: Vec<String> = match (column, argument("properties")) {
                (Some(column), _) => vec![column.to_owned()],
                (None, Some(Value::Sequence(items))) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                _ => return Err("duplicateValues on a table needs arguments.properties".into()),
            };
            if exact_zero {
                if columns.len() == 1 {
                    Ok(("unique", column_params(&columns[0]), None))
                } else {
                    let mut params = Map::new();
                    params.insert("columns".into(), json!(columns));
                    Ok(("unique_combination", params, None))
                }
            } else if columns.len() == 1 && !percent {
                let mut params = column_params(&columns[0]);
                bound.insert_into(&mut params, true);
                Ok(("duplicate_count_between", params, None))
            } else {
                Err("only a duplicate count on one column translates".into())
            }
        }
        ("rowCount", None) => {
            let mut params = Map::new();
            bound.insert_into(&mut params, true);
            Ok((
                if bound.max.is_some() {
                    "row_count_between"
                } else {
                    "row_count_min"
                },
                params,
                None,
            ))
        }
        ("rowCount", Some(_)) => Err("rowCount applies to a table, not a property".into()),
        (other, _) => Err(format!(
            "metric `{other}` has no CWIC check (nullValues, missingValues, invalidValues, duplicateValues, rowCount do)"
        )),
    }
}

/// `row_count >= 5`, `duplicate_count(id) = 0`, `missing_count(id) = 0`,
/// `values in (a) must exist in t (b)`.
fn soda_line(text: &str) -> Option<(Option<String>, &'static str, Map<String, Json>)> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("row_count") {
        let rest = rest.trim();
        let (min, max) = if let Some(n) = rest.strip_prefix(">=") {
            (n.trim().parse::<i64>().ok()?, None)
        } else if let Some(n) = rest.strip_prefix('>') {
            (n.trim().parse::<i64>().ok()? + 1, None)
        } else if let Some(n) = rest.strip_prefix('=') {
            let n = n.trim().parse::<i64>().ok()?;
            (n, Some(n))
        } else {
            return None;
        };
        let mut params = Map::new();
        params.insert("min".into(), json!(min));
        return Some(match max {
            Some(max) => {
                params.insert("max".into(), json!(max));
                (None, "row_count_between", params)
            }
            None => (None, "row_count_min", params),
        });
    }
    for (function, template) in [("duplicate_count(", "unique"), ("missing_count(", "not_null")] {
        if let Some(rest) = text.strip_prefix(function) {
            let (column, rest) = rest.split_once(')')?;
            let column = column.trim();
            if rest.trim().trim_start_matches('=').trim() != "0" || !valid_name(column) {
                return None;
            }
            return Some((Some(column.to_owned()), template, column_params(column)));
        }
    }
    if let Some(rest) = text.strip_prefix("values in (") {
        let (column, rest) = rest.split_once(')')?;
        let rest = rest.trim().strip_prefix("must exist in")?.trim();
        let (table, rest) = rest.split_once('(')?;
        let to_column = rest.strip_suffix(')')?.trim();
        let (column, table) = (column.trim(), table.trim());
        if ![column, table, to_column].iter().all(|n| valid_name(n)) {
            return None;
        }
        let mut params = column_params(column);
        params.insert("to_table".into(), json!(table));
        params.insert("to_column".into(), json!(to_column));
        return Some((Some(column.to_owned()), "foreign_key", params));
    }
    None
}

fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" | "seconds" => 1.0,
        "m" | "min" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        "month" | "months" | "mo" => 2_592_000.0,
        "y" | "yr" | "year" | "years" => 31_536_000.0,
        _ => return None,
    })
}

/// `25h`, `2 days` (humantime) or ISO 8601 like `P1Y`, `P3M`, `PT30M`, in seconds.
pub fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(duration) = humantime::parse_duration(text) {
        return Some(duration.as_secs_f64());
    }
    let rest = text.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = 0.0;
    for (part, in_time) in [(date, false), (time, true)] {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let value: f64 = number.parse().ok()?;
            number.clear();
            total += value
                * match (c, in_time) {
                    ('Y', false) => 31_536_000.0,
                    ('M', false) => 2_592_000.0,
                    ('W', false) => 604_800.0,
                    ('D', false) => 86_400.0,
                    ('H', true) => 3600.0,
                    ('M', true) => 60.0,
                    ('S', true) => 1.0,
                    _ => return None,
                };
        }
        if !number.is_empty() {
            return None;
        }
    }
    (total > 0.0).then_some(total)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && !name.starts_with(|c: char| c.is_ascii_digit())
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

fn to_json(value: &Value) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

/// The line and column of a key path like `schema[0].properties[2].logicalType` (of its value), or
/// of the deepest part found. Handles block lists written at their key's indent (`properties:`
/// followed by `- name:` at the same column), as ODCS examples do.
pub fn locate(text: &str, key: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let indent_of = |line: &str| line.len() - line.trim_start().len();
    let skip = |line: &str| line.trim().is_empty() || line.trim_start().starts_with('#');
    let key_block_end = |from: usize, indent: usize| {
        (from..lines.len())
            .find(|&i| {
                let line = lines[i];
                !skip(line)
                    && (indent_of(line) < indent
                        || (indent_of(line) == indent && !line.trim_start().starts_with("- ")))
            })
            .unwrap_or(lines.len())
    };
    let item_block_end = |from: usize, indent: usize| {
        (from..lines.len())
            .find(|&i| !skip(lines[i]) && indent_of(lines[i]) <= indent)
            .unwrap_or(lines.len())
    };
    let (mut start, mut end) = (0, lines.len());
    let mut found = None;
    if key.is_empty() {
        return Some((1, 1));
    }
    for segment in key.split('.') {
        let (field, index) = match segment.split_once('[') {
            Some((field, rest)) => (field, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let needles = [
            format!("{field}:"),
            format!("\"{field}\":"),
            format!("'{field}':"),
        ];
        // Only direct children: keys at the column of the block's first key.
        let content_column =
            |line: &str| line.len() - line.trim_start().trim_start_matches("- ").trim_start().len();
        let child_column = (start..end)
            .find(|&i| !skip(lines[i]))
            .map(|i| content_column(lines[i]));
        let hit = (start..end).find_map(|i| {
            let line = lines[i];
            let content = line.trim_start().trim_start_matches("- ").trim_start();
            let needle = needles
                .iter()
                .find(|needle| content.starts_with(needle.as_str()))?;
            let key_column = line.len() - content.len();
            if Some(key_column) != child_column {
                return None;
            }
            let value = &content[needle.len()..];
            let value_offset = value.len() - value.trim_start().len();
            Some((i, key_column, key_column + needle.len() + value_offset + 1))
        });
        let Some((line, key_column, value_column)) = hit else {
            return found;
        };
        found = Some((line + 1, value_column));
        start = line + 1;
        end = key_block_end(line + 1, key_column);
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
            end = item_block_end(item + 1, item_indent);
        }
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    pub(crate) const COMPLETENESS: &str =
        include_str!("../../tests/data/contracts/column-completeness.odcs.yaml");
    pub(crate) const VALIDITY: &str = include_str!("../../tests/data/contracts/column-validity.odcs.yaml");
    pub(crate) const SLA: &str = include_str!("../../tests/data/contracts/database-table-sla.odcs.yaml");
    pub(crate) const ORDERS: &str =
        include_str!("../../tests/data/contracts/orders-latest.datacontract.yaml");

    fn read(text: &str) -> Contract {
        let parsed = parse(Path::new("c.yaml"), text);
        assert!(parsed.errors().next().is_none(), "{:?}", parsed.diagnostics);
        parsed.contract.unwrap()
    }

    fn errors(text: &str) -> Vec<String> {
        parse(Path::new("c.yaml"), text)
            .errors()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn odcs_schema_and_null_rule() {
        let contract = read(COMPLETENESS);
        assert_eq!(contract.flavor, Flavor::Odcs);
        assert_eq!(contract.version, "1.0.0");
        let table = &contract.datasets[0];
        assert_eq!(table.name, "Air_Quality");
        assert_eq!(table.line, 8);
        let column = &table.columns[0];
        assert_eq!(
            (
                column.name.as_str(),
                column.physical_type.as_deref(),
                column.primary_key,
                column.required
            ),
            ("UniqueID", Some("int"), true, false)
        );
        assert_eq!(column.line, 17);
        assert_eq!(table.rules.len(), 1);
        let rule = &table.rules[0];
        assert_eq!(
            (rule.template, rule.severity, rule.line),
            ("not_null", "critical", 23)
        );
        assert_eq!(rule.source, "nullValues = 0");
    }

    #[test]
    fn odcs_invalid_values_in_percent_become_accepted_values_with_a_tolerance() {
        let contract = read(VALIDITY);
        let rule = &contract.datasets[0].rules[0];
        assert_eq!(rule.template, "accepted_values");
        assert_eq!(rule.params["values"], json!(["", "n/a"]));
        assert_eq!(rule.tolerance, Some(0.05));
    }

    #[test]
    fn odcs_sla_properties_become_descriptors_in_seconds() {
        let contract = read(SLA);
        let level = |kind: &str| contract.service_levels.iter().find(|l| l.kind == kind).unwrap();
        assert_eq!(level("latency").threshold_seconds, Some(4.0 * 86_400.0));
        assert_eq!(level("latency").element.as_deref(), Some("tab1.txn_ref_dt"));
        assert_eq!(level("retention").threshold_seconds, Some(3.0 * 31_536_000.0));
        assert_eq!(level("frequency").threshold_seconds, Some(86_400.0));
        assert_eq!(level("latency").line, 11);
        assert_eq!(contract.service_levels.len(), 8);
    }

    #[test]
    fn datacontract_fields_refs_soda_and_service_levels() {
        let contract = read(ORDERS);
        assert_eq!(contract.flavor, Flavor::DataContractSpecification);
        let orders = &contract.datasets[0];
        assert_eq!(orders.name, "orders");
        let id = &orders.columns[0];
        // From `$ref: '#/definitions/order_id'`, with the field's own flags.
        assert_eq!(id.logical_type.as_deref(), Some("text"));
        assert!(id.required && id.unique && id.primary_key);
        let templates: Vec<&str> = orders.rules.iter().map(|r| r.template).collect();
        assert_eq!(
            templates,
            ["uuid", "length_between", "email", "row_count_min", "unique"]
        );
        let line_items = &contract.datasets[1];
        let fk = line_items
            .rules
            .iter()
            .find(|r| r.template == "foreign_key")
            .unwrap();
        assert_eq!(fk.params["to_table"], "orders");
        let freshness = contract
            .service_levels
            .iter()
            .find(|l| l.kind == "freshness")
            .unwrap();
        assert_eq!(freshness.threshold_seconds, Some(90_000.0));
        let availability = contract
            .service_levels
            .iter()
            .find(|l| l.kind == "availability")
            .unwrap();
        assert_eq!(availability.percentage, Some(99.9));
    }

    #[test]
    fn errors_name_file_line_column_key_and_expectation() {
        let broken = COMPLETENESS
            .replace("kind: DataContract", "kind: Contract")
            .replace("primaryKey: true", "primaryKey: yes please");
        assert_eq!(
            errors(&broken),
            [
                "c.yaml:3:7: kind: expected `DataContract`, found `Contract`",
                "c.yaml:18:19: schema[0].properties[0].primaryKey: expected true or false, found `yes please`",
            ]
        );
        assert_eq!(
            errors("apiVersion: v2.2.0\nkind: DataContract\nid: x\nversion: 1\n"),
            ["c.yaml:1:13: apiVersion: expected an ODCS v3 version like v3.0.2, found `v2.2.0`"]
        );
        assert_eq!(
            errors("schema:\n  - name: [a\n"),
            ["c.yaml:3:1: expected YAML: did not find expected ',' or ']'"]
        );
        assert_eq!(
            errors(
                "dataContractSpecification: 0.9.3\nid: x\ninfo:\n  title: t\n  version: 1\nmodels:\n  orders:\n    fields:\n      id:\n        type: strng\n"
            ),
            [
                "c.yaml:10:15: models.orders.fields.id.type: expected a datacontract.com type (number, decimal, \
                 numeric, int, integer, long, bigint, float, double, string, text, varchar, boolean, timestamp, \
                 timestamp_tz, timestamp_ntz, date, time, array, map, object, record, struct, bytes, null, uuid), \
                 found `strng`"
            ]
        );
    }

    #[test]
    fn untranslatable_rules_are_warnings() {
        let text = COMPLETENESS.replace("metric: nullValues", "metric: distinctValues");
        let parsed = parse(Path::new("c.yaml"), &text);
        assert!(parsed.contract.is_some());
        let warnings: Vec<String> = parsed.warnings().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with(
                "c.yaml:25:17: schema[0].properties[0].quality[0].metric: not translated: metric `distinctValues`"
            ),
            "{warnings:?}"
        );
    }

    #[test]
    fn tables_may_name_their_schema_columns_may_not() {
        let text = COMPLETENESS.replace(
            "name: Air_Quality",
            "physicalName: public.air_quality\n    name: Air_Quality",
        );
        assert_eq!(read(&text).datasets[0].name, "public.air_quality");
        let text = COMPLETENESS.replace("name: UniqueID", "name: unique id");
        assert_eq!(
            errors(&text),
            [
                "c.yaml:17:13: schema[0].properties[0].name: expected a column name of letters, digits and `_` \
              (e.g. `order_id`), found `unique id`"
            ]
        );
    }

    #[test]
    fn durations_in_humantime_and_iso_8601() {
        assert_eq!(parse_duration("25h"), Some(90_000.0));
        assert_eq!(parse_duration("P1Y"), Some(31_536_000.0));
        assert_eq!(parse_duration("PT30M"), Some(1800.0));
        assert_eq!(parse_duration("P1DT1H"), Some(90_000.0));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn locate_skips_keys_of_the_same_name_deeper_down() {
        let text = "servers:\n  - server: pg\n    schema: views\n# tables\nschema:\n  - name: t\n";
        assert_eq!(locate(text, "schema[0].name"), Some((6, 11)));
    }

    #[test]
    fn full_example_reads_v3_0_rules_without_operators() {
        let text = include_str!("../../tests/data/contracts/full-example.odcs.yaml");
        let parsed = parse(Path::new("c.yaml"), text);
        let contract = parsed.contract.as_ref().unwrap();
        let table = &contract.datasets[0];
        assert_eq!((table.name.as_str(), table.line), ("tbl_1", 32));
        let rule = &table.rules[0];
        assert_eq!(
            (rule.template, rule.column.as_deref(), rule.line),
            ("not_null", Some("rcvr_cntry_code"), 104)
        );
        let warnings: Vec<String> = parsed.warnings().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("c.yaml:120:15: schema[0].quality[0].rule: not translated: `countCheck`"),
            "{warnings:?}"
        );
    }

    #[test]
    fn locate_finds_items_of_lists_written_at_their_key_indent() {
        let text =
            "schema:\n  - name: a\n    properties:\n    - name: x\n    - name: y\n      required: true\n";
        assert_eq!(locate(text, "schema[0].properties[1].required"), Some((6, 17)));
        assert_eq!(locate(text, "schema[0].properties[1]"), Some((5, 7)));
    }
}
