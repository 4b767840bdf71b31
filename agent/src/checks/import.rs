//! Imports: dbt `schema.yml` tests (built-in, dbt_utils and dbt_expectations) and Great
//! Expectations suites (JSON) become a check file. Whatever has no translation is listed in the
//! result (and as comments at the top of the file), never dropped silently.
//!
//! dbt_expectations mirrors Great Expectations' names and arguments, so both go through one table
//! of expectations.

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::model::CheckSuite;

/// One translated check, as a mapping written under a dataset's `checks:`.
type CheckOut = Map<String, Json>;

#[derive(Debug, Default)]
pub struct Imported {
    /// (dataset, checks) in input order.
    pub datasets: Vec<(String, Vec<CheckOut>)>,
    /// `what: why` for every test or expectation that was not translated.
    pub untranslated: Vec<String>,
}

impl Imported {
    fn push(&mut self, dataset: &str, check: CheckOut) {
        match self.datasets.iter_mut().find(|(name, _)| name == dataset) {
            Some((_, checks)) => checks.push(check),
            None => self.datasets.push((dataset.to_owned(), vec![check])),
        }
    }

    pub fn check_count(&self) -> usize {
        self.datasets.iter().map(|(_, checks)| checks.len()).sum()
    }

    /// The check file: untranslated items as comments first, then the datasets.
    pub fn to_yaml(&self, source: &str) -> String {
        let mut out = format!("# imported from {source} by cwic-agent checks import\n");
        for item in &self.untranslated {
            out.push_str(&format!("# not translated: {item}\n"));
        }
        out.push_str("version: 1\ndatasets:\n");
        for (dataset, checks) in &self.datasets {
            out.push_str(&format!("  - dataset: {dataset}\n    checks:\n"));
            for check in checks {
                // Template first; values as JSON, which is valid YAML flow style.
                let mut prefix = "      - ";
                for key in ["template", "params", "severity", "tolerance", "filter"] {
                    if let Some(value) = check.get(key) {
                        let value = match value {
                            Json::String(text) if key == "template" => text.clone(),
                            other => flow(other),
                        };
                        out.push_str(&format!("{prefix}{key}: {value}\n"));
                        prefix = "        ";
                    }
                }
            }
        }
        out
    }
}

/// A value in YAML flow style: `{ column: id, values: ["a", "b"] }`; strings JSON-quoted (valid YAML).
fn flow(value: &Json) -> String {
    match value {
        Json::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(key, value)| format!("{key}: {}", flow(value)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        Json::Array(items) => format!("[{}]", items.iter().map(flow).collect::<Vec<_>>().join(", ")),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn check(template: &str, column: Option<&str>, params: Vec<(&str, Json)>) -> CheckOut {
    let mut out = Map::new();
    out.insert("template".into(), Json::from(template));
    let mut all = Map::new();
    if let Some(column) = column {
        all.insert("column".into(), Json::from(column));
    }
    for (name, value) in params {
        if !value.is_null() {
            all.insert(name.into(), value);
        }
    }
    if !all.is_empty() {
        out.insert("params".into(), Json::Object(all));
    }
    out
}

fn arg<'a>(kwargs: &'a Map<String, Json>, names: &[&str]) -> Option<&'a Json> {
    names
        .iter()
        .find_map(|name| kwargs.get(*name))
        .filter(|value| !value.is_null())
}

fn min_max(kwargs: &Map<String, Json>) -> Vec<(&'static str, Json)> {
    vec![
        ("min", arg(kwargs, &["min_value"]).cloned().unwrap_or(Json::Null)),
        ("max", arg(kwargs, &["max_value"]).cloned().unwrap_or(Json::Null)),
    ]
}

fn need_column(column: Option<&str>) -> Result<&str, String> {
    column.ok_or_else(|| "needs a column".to_owned())
}

/// Translates one Great Expectations / dbt_expectations expectation. `column` comes from kwargs
/// (GE) or from the enclosing column (dbt).
fn expectation(
    name: &str,
    kwargs: &Map<String, Json>,
    column: Option<&str>,
) -> Result<Vec<CheckOut>, String> {
    let column = arg(kwargs, &["column"]).and_then(Json::as_str).or(column);
    let list = |key: &str| {
        arg(kwargs, &[key])
            .cloned()
            .ok_or_else(|| format!("needs `{key}`"))
    };
    let one = |template: &str, params: Vec<(&str, Json)>| -> Result<Vec<CheckOut>, String> {
        Ok(vec![check(template, Some(need_column(column)?), params)])
    };
    let table = |template: &str, params: Vec<(&str, Json)>| Ok(vec![check(template, None, params)]);
    match name {
        "expect_column_values_to_not_be_null" => one("not_null", vec![]),
        "expect_column_values_to_be_unique" => one("unique", vec![]),
        "expect_column_values_to_be_in_set" => one("accepted_values", vec![("values", list("value_set")?)]),
        "expect_column_values_to_not_be_in_set" => {
            one("rejected_values", vec![("values", list("value_set")?)])
        }
        "expect_column_values_to_be_between" => {
            let params = min_max(kwargs);
            if params.iter().all(|(_, value)| value.is_null()) {
                return Err("needs min_value or max_value".into());
            }
            one("between", params)
        }
        "expect_column_values_to_match_regex" => one("regex_match", vec![("pattern", list("regex")?)]),
        "expect_column_values_to_not_match_regex" => {
            one("regex_not_match", vec![("pattern", list("regex")?)])
        }
        "expect_column_value_lengths_to_be_between" => one("length_between", min_max(kwargs)),
        "expect_column_value_lengths_to_equal" => one("exact_length", vec![("length", list("value")?)]),
        "expect_column_min_to_be_between" => one("min_between", min_max(kwargs)),
        "expect_column_max_to_be_between" => one("max_between", min_max(kwargs)),
        "expect_column_mean_to_be_between" => one("mean_between", min_max(kwargs)),
        "expect_column_stdev_to_be_between" => one("stddev_between", min_max(kwargs)),
        "expect_column_sum_to_be_between" => one("sum_between", min_max(kwargs)),
        "expect_column_unique_value_count_to_be_between" | "expect_column_distinct_count_to_be_between" => {
            one("distinct_count_between", min_max(kwargs))
        }
        "expect_column_distinct_count_to_equal" => {
            let value = list("value")?;
            one(
                "distinct_count_between",
                vec![("min", value.clone()), ("max", value)],
            )
        }
        "expect_column_proportion_of_unique_values_to_be_between" => {
            if arg(kwargs, &["max_value"]).is_some_and(|max| max.as_f64() != Some(1.0)) {
                return Err("only a lower bound (min_value) translates".into());
            }
            one("unique_share_min", vec![("min", list("min_value")?)])
        }
        "expect_column_values_to_be_of_type" | "expect_column_values_to_be_in_type_list" => {
            let wanted = arg(kwargs, &["type_", "column_type", "type_list"]).ok_or("needs type_")?;
            let wanted = match wanted {
                Json::Array(types) if types.len() == 1 => types[0].clone(),
                Json::String(_) => wanted.clone(),
                _ => return Err("only a single type translates".into()),
            };
            let mut types = Map::new();
            types.insert(need_column(column)?.to_owned(), wanted);
            table("schema_column_types", vec![("types", Json::Object(types))])
        }
        "expect_column_to_exist" => table(
            "schema_columns_present",
            vec![("columns", Json::Array(vec![Json::from(need_column(column)?)]))],
        ),
        "expect_table_columns_to_match_set" | "expect_table_columns_to_match_ordered_list" => {
            let columns = list("column_list")?;
            let mut out = vec![check(
                "schema_columns_present",
                None,
                vec![("columns", columns.clone())],
            )];
            if arg(kwargs, &["exact_match"]).and_then(Json::as_bool) != Some(false) {
                out.push(check("schema_no_extra_columns", None, vec![("columns", columns)]));
            }
            Ok(out)
        }
        "expect_table_column_count_to_equal" => {
            let value = list("value")?;
            table(
                "schema_column_count",
                vec![("min", value.clone()), ("max", value)],
            )
        }
        "expect_table_column_count_to_be_between" => table("schema_column_count", min_max(kwargs)),
        "expect_table_row_count_to_be_between" => table("row_count_between", min_max(kwargs)),
        "expect_table_row_count_to_equal" => {
            let value = list("value")?;
            table("row_count_between", vec![("min", value.clone()), ("max", value)])
        }
        "expect_compound_columns_to_be_unique" | "expect_select_column_values_to_be_unique_within_record" => {
            table("unique_combination", vec![("columns", list("column_list")?)])
        }
        "expect_column_pair_values_a_to_be_greater_than_b" => {
            let a = arg(kwargs, &["column_A"]).ok_or("needs column_A")?.clone();
            let b = arg(kwargs, &["column_B"]).ok_or("needs column_B")?.clone();
            let or_equal = arg(kwargs, &["or_equal"])
                .and_then(Json::as_bool)
                .unwrap_or(false);
            table(
                "column_compare",
                vec![
                    ("column", a),
                    ("operator", Json::from(if or_equal { ">=" } else { ">" })),
                    ("other", b),
                ],
            )
        }
        "expect_column_pair_values_to_be_equal" => {
            let a = arg(kwargs, &["column_A"]).ok_or("needs column_A")?.clone();
            let b = arg(kwargs, &["column_B"]).ok_or("needs column_B")?.clone();
            table(
                "column_compare",
                vec![("column", a), ("operator", Json::from("=")), ("other", b)],
            )
        }
        "expect_row_values_to_have_recent_data" => {
            let interval = arg(kwargs, &["interval"])
                .and_then(Json::as_f64)
                .ok_or("needs interval")?;
            let datepart = arg(kwargs, &["datepart"]).and_then(Json::as_str).unwrap_or("day");
            one(
                "freshness",
                vec![("max_age", Json::from(format!("{interval}{datepart}s")))],
            )
        }
        _ => Err("no equivalent template".into()),
    }
}

/// `mostly` (share of rows that must pass) → tolerance (share that may fail).
fn apply_common(check: &mut CheckOut, kwargs: &Map<String, Json>) {
    if let Some(mostly) = arg(kwargs, &["mostly"]).and_then(Json::as_f64)
        && mostly < 1.0
    {
        let tolerance = ((1.0 - mostly) * 1e9).round() / 1e9;
        check.insert("tolerance".into(), Json::from(tolerance));
    }
    if let Some(filter) = arg(kwargs, &["row_condition", "where"]).and_then(Json::as_str) {
        check.insert("filter".into(), Json::from(filter));
    }
}

/// A Great Expectations suite (GX 0.x `expectation_type` or 1.x `type`), all for `dataset`.
pub fn great_expectations(text: &str, dataset: &str) -> Result<Imported, String> {
    let suite: Json =
        serde_json::from_str(text).map_err(|error| format!("expected a JSON suite: {error}"))?;
    let expectations = suite
        .get("expectations")
        .and_then(Json::as_array)
        .ok_or("expected an `expectations` list")?;
    let mut imported = Imported::default();
    for (index, item) in expectations.iter().enumerate() {
        let name = item
            .get("expectation_type")
            .or_else(|| item.get("type"))
            .and_then(Json::as_str)
            .unwrap_or("?");
        let empty = Map::new();
        let kwargs = item.get("kwargs").and_then(Json::as_object).unwrap_or(&empty);
        match expectation(name, kwargs, None) {
            Ok(checks) => {
                for mut check in checks {
                    apply_common(&mut check, kwargs);
                    imported.push(dataset, check);
                }
            }
            Err(why) => imported
                .untranslated
                .push(format!("expectations[{index}] {name}: {why}")),
        }
    }
    if imported.datasets.is_empty() {
        imported.datasets.push((dataset.to_owned(), Vec::new()));
    }
    Ok(imported)
}

/// `ref('orders')` / `source('raw', 'orders')` → `orders` / `raw.orders`.
fn dbt_relation(to: &str) -> Option<String> {
    let inner = to.trim().strip_suffix(')')?;
    let (function, args) = inner.split_once('(')?;
    let args: Vec<String> = args
        .split(',')
        .map(|arg| arg.trim().trim_matches(|c| c == '\'' || c == '"').to_owned())
        .filter(|arg| !arg.is_empty())
        .collect();
    match (function.trim(), args.as_slice()) {
        ("ref", [model]) | ("ref", [_, model]) => Some(model.clone()),
        ("source", [source, table]) => Some(format!("{source}.{table}")),
        _ => None,
    }
}

fn yaml_to_json(value: &serde_yaml_ng::Value) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

/// One dbt test (string or single-key mapping) on a model or column.
fn dbt_test(test: &Json, column: Option<&str>) -> (String, Result<Vec<CheckOut>, String>) {
    let (name, args) = match test {
        Json::String(name) => (name.clone(), Map::new()),
        Json::Object(map) if map.len() == 1 => {
            let (name, args) = map
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap_or_default();
            let mut args = args.as_object().cloned().unwrap_or_default();
            // dbt ≥ 1.8 puts test arguments under `arguments:`.
            if let Some(Json::Object(inner)) = args.remove("arguments") {
                args.extend(inner);
            }
            (name, args)
        }
        _ => {
            return (
                "?".into(),
                Err("expected a test name or a mapping with one test".into()),
            );
        }
    };
    let short = name.rsplit('.').next().unwrap_or(&name).to_owned();
    let result = match short.as_str() {
        "not_null" => need_column(column).map(|c| vec![check("not_null", Some(c), vec![])]),
        "unique" => need_column(column).map(|c| vec![check("unique", Some(c), vec![])]),
        "accepted_values" => match (need_column(column), args.get("values")) {
            (Ok(c), Some(values)) => Ok(vec![check(
                "accepted_values",
                Some(c),
                vec![("values", values.clone())],
            )]),
            (Err(e), _) => Err(e),
            (_, None) => Err("needs `values`".into()),
        },
        "relationships" => {
            let to = args.get("to").and_then(Json::as_str).and_then(dbt_relation);
            let field = args.get("field").and_then(Json::as_str);
            match (need_column(column), to, field) {
                (Ok(c), Some(to), Some(field)) => Ok(vec![check(
                    "foreign_key",
                    Some(c),
                    vec![("to_table", Json::from(to)), ("to_column", Json::from(field))],
                )]),
                (Err(e), _, _) => Err(e),
                _ => Err("needs `to: ref('…')` or `source('…', '…')` and `field`".into()),
            }
        }
        "unique_combination_of_columns" => match args.get("combination_of_columns") {
            Some(columns) => Ok(vec![check(
                "unique_combination",
                None,
                vec![("columns", columns.clone())],
            )]),
            None => Err("needs `combination_of_columns`".into()),
        },
        "expression_is_true" => match args.get("expression").and_then(Json::as_str) {
            Some(expression) => {
                let condition = match column {
                    Some(column) => format!("{column} {expression}"),
                    None => expression.to_owned(),
                };
                Ok(vec![check(
                    "row_condition",
                    None,
                    vec![("condition", Json::from(condition))],
                )])
            }
            None => Err("needs `expression`".into()),
        },
        "accepted_range" => {
            let params = vec![
                ("min", args.get("min_value").cloned().unwrap_or(Json::Null)),
                ("max", args.get("max_value").cloned().unwrap_or(Json::Null)),
            ];
            need_column(column).map(|c| vec![check("between", Some(c), params)])
        }
        "recency" => {
            let field = args.get("field").and_then(Json::as_str);
            let interval = args.get("interval").and_then(Json::as_f64);
            let datepart = args.get("datepart").and_then(Json::as_str).unwrap_or("day");
            match (field, interval) {
                (Some(field), Some(interval)) => Ok(vec![check(
                    "freshness",
                    Some(field),
                    vec![("max_age", Json::from(format!("{interval}{datepart}s")))],
                )]),
                _ => Err("needs `field` and `interval`".into()),
            }
        }
        "not_empty_string" => need_column(column).map(|c| vec![check("not_blank", Some(c), vec![])]),
        _ if name.starts_with("dbt_expectations.") => expectation(&short, &args, column),
        _ => Err("no equivalent template".into()),
    };
    let result = result.map(|checks| {
        checks
            .into_iter()
            .map(|mut check| {
                let config = args.get("config").and_then(Json::as_object);
                if let Some(severity) = config
                    .and_then(|config| config.get("severity"))
                    .and_then(Json::as_str)
                {
                    let severity = if severity.eq_ignore_ascii_case("warn") {
                        "medium"
                    } else {
                        "high"
                    };
                    check.insert("severity".into(), Json::from(severity));
                }
                if let Some(filter) = config
                    .and_then(|config| config.get("where"))
                    .and_then(Json::as_str)
                {
                    check.insert("filter".into(), Json::from(filter));
                }
                apply_common(&mut check, &args);
                check
            })
            .collect()
    });
    (name, result)
}

/// A dbt `schema.yml`: models (dataset = model name) and sources (dataset = `source.table`, or the
/// source's `schema` when given).
pub fn dbt(text: &str) -> Result<Imported, String> {
    let document: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|error| format!("expected a dbt schema.yml: {error}"))?;
    let document = yaml_to_json(&document);
    let mut imported = Imported::default();
    let mut relations: Vec<(String, String, &Json)> = Vec::new(); // (path, dataset, node)
    for (index, model) in document
        .get("models")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(name) = model.get("name").and_then(Json::as_str) {
            relations.push((format!("models[{index}]"), name.to_owned(), model));
        }
    }
    for (index, source) in document
        .get("sources")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let source_name = source.get("name").and_then(Json::as_str).unwrap_or("source");
        let schema = source.get("schema").and_then(Json::as_str).unwrap_or(source_name);
        for (table_index, table) in source
            .get("tables")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(name) = table.get("name").and_then(Json::as_str) {
                let identifier = table.get("identifier").and_then(Json::as_str).unwrap_or(name);
                relations.push((
                    format!("sources[{index}].tables[{table_index}]"),
                    format!("{schema}.{identifier}"),
                    table,
                ));
            }
        }
    }
    let tests_of = |node: &Json| -> Vec<Json> {
        ["tests", "data_tests"]
            .iter()
            .filter_map(|key| node.get(*key).and_then(Json::as_array))
            .flatten()
            .cloned()
            .collect()
    };
    for (path, dataset, node) in relations {
        for test in tests_of(node) {
            let (name, result) = dbt_test(&test, None);
            match result {
                Ok(checks) => checks
                    .into_iter()
                    .for_each(|check| imported.push(&dataset, check)),
                Err(why) => imported
                    .untranslated
                    .push(format!("{path} ({dataset}) {name}: {why}")),
            }
        }
        for column in node.get("columns").and_then(Json::as_array).into_iter().flatten() {
            let Some(column_name) = column.get("name").and_then(Json::as_str) else {
                continue;
            };
            for test in tests_of(column) {
                let (name, result) = dbt_test(&test, Some(column_name));
                match result {
                    Ok(checks) => checks
                        .into_iter()
                        .for_each(|check| imported.push(&dataset, check)),
                    Err(why) => imported
                        .untranslated
                        .push(format!("{path} ({dataset}.{column_name}) {name}: {why}")),
                }
            }
        }
    }
    Ok(imported)
}

/// Checks that the generated file reads back as a valid check file.
pub fn verify(imported: &Imported, source: &str) -> Result<CheckSuite, String> {
    CheckSuite::parse(Path::new("imported.yml"), &imported.to_yaml(source)).map_err(|error| error.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dbt_relations_name_models_and_sources() {
        assert_eq!(dbt_relation("ref('customers')").as_deref(), Some("customers"));
        assert_eq!(
            dbt_relation("source('raw', 'orders')").as_deref(),
            Some("raw.orders")
        );
        assert_eq!(dbt_relation("customers"), None);
    }
}
