//! A contract as CWIC runs it: a check file (schema conformance, then the quality rules) for the
//! check runner, and SLA descriptors in JSON for the control plane's SLA store.

use std::path::Path;

use serde_json::{Map, Value as Json, json};

use super::model::{Contract, Dataset};
use crate::checks::model::{CheckFileError, CheckSuite};

/// One check of the translation, with the contract line it came from.
struct Planned {
    name: String,
    template: &'static str,
    params: Map<String, Json>,
    tolerance: Option<f64>,
    severity: &'static str,
    line: usize,
}

/// The checks of one dataset: columns present, physical types, required → not_null, unique,
/// primary key, then each quality rule.
fn plan(dataset: &Dataset, engine: Option<&str>) -> Vec<Planned> {
    let mut out: Vec<Planned> = Vec::new();
    let mut push = |name: String, template, params, tolerance, severity, line| {
        if !out.iter().any(|p: &Planned| p.name == name) {
            out.push(Planned {
                name,
                template,
                params,
                tolerance,
                severity,
                line,
            });
        }
    };
    let columns: Vec<&str> = dataset.columns.iter().map(|c| c.name.as_str()).collect();
    if !columns.is_empty() {
        push(
            "contract_columns_present".into(),
            "schema_columns_present",
            json_map(json!({ "columns": columns })),
            None,
            "critical",
            dataset.line,
        );
    }
    let types: Map<String, Json> = dataset
        .columns
        .iter()
        .filter_map(|c| {
            let physical = c.physical_type.as_deref().and_then(|p| catalog_type(p, engine))?;
            Some((c.name.clone(), Json::String(physical)))
        })
        .collect();
    if !types.is_empty() {
        push(
            "contract_column_types".into(),
            "schema_column_types",
            json_map(json!({ "types": types })),
            None,
            "critical",
            dataset.line,
        );
    }
    let mut key: Vec<(i64, &str)> = Vec::new();
    for (index, column) in dataset.columns.iter().enumerate() {
        let name = &column.name;
        if column.required {
            push(
                format!("required({name})"),
                "not_null",
                json_map(json!({ "column": name })),
                None,
                "critical",
                column.line,
            );
        }
        if column.unique {
            push(
                format!("unique({name})"),
                "unique",
                json_map(json!({ "column": name })),
                None,
                "critical",
                column.line,
            );
        }
        if column.primary_key {
            key.push((column.primary_key_position.unwrap_or(index as i64), name));
        }
    }
    if !key.is_empty() {
        key.sort();
        let key_columns: Vec<&str> = key.iter().map(|(_, name)| *name).collect();
        let line = dataset
            .columns
            .iter()
            .find(|c| c.primary_key)
            .map_or(dataset.line, |c| c.line);
        push(
            format!("primary_key({})", key_columns.join(",")),
            "primary_key",
            json_map(json!({ "columns": key_columns })),
            None,
            "critical",
            line,
        );
    }
    for rule in &dataset.rules {
        // The same check stated twice (e.g. `unique: true` and a duplicate count of 0) runs once.
        if out
            .iter()
            .any(|p| p.template == rule.template && p.params == rule.params)
        {
            continue;
        }
        let base = match &rule.column {
            Some(column) => format!("{}({column})", rule.template),
            None => rule.template.to_owned(),
        };
        let mut name = base.clone();
        let mut n = 2;
        while out.iter().any(|p| p.name == name) {
            name = format!("{base}#{n}");
            n += 1;
        }
        out.push(Planned {
            name,
            template: rule.template,
            params: rule.params.clone(),
            tolerance: rule.tolerance,
            severity: rule.severity,
            line: rule.line,
        });
    }
    out
}

fn json_map(value: Json) -> Map<String, Json> {
    match value {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

/// A contract's physical type as the engine's catalog names it: lower case, without length
/// (`varchar(2)`, `varchar[15]` → `varchar`); on PostgreSQL with its aliases resolved (`int` →
/// `integer`, as `format_type` says), elsewhere as written (MySQL and SQLite report `int`).
/// `None` for types no catalog reports (a domain such as `Name`, or `table`).
fn catalog_type(physical: &str, engine: Option<&str>) -> Option<String> {
    let base = physical
        .split(['(', '['])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let alias = match base.as_str() {
        "int" | "int4" | "serial" | "serial4" => "integer",
        "int8" | "bigserial" | "serial8" => "bigint",
        "int2" | "smallserial" => "smallint",
        "bool" => "boolean",
        "float8" => "double precision",
        "float4" => "real",
        "timestamptz" => "timestamp with time zone",
        "" => return None,
        other => other,
    };
    let known = [
        "integer",
        "bigint",
        "smallint",
        "boolean",
        "double precision",
        "real",
        "numeric",
        "decimal",
        "text",
        "varchar",
        "character varying",
        "char",
        "bpchar",
        "character",
        "date",
        "time",
        "timestamp",
        "timestamp with time zone",
        "timestamp without time zone",
        "uuid",
        "json",
        "jsonb",
        "bytea",
        "xml",
        "float",
        "double",
        "tinyint",
        "mediumint",
        "datetime",
        "blob",
        "string",
    ];
    if !known.contains(&alias) {
        return None;
    }
    Some(if engine == Some("postgres") {
        alias.to_owned()
    } else {
        base
    })
}

/// The check file of a contract (YAML) for a source engine (`None`: types as written).
pub fn check_file(contract: &Contract, engine: Option<&str>) -> String {
    let mut out = String::from("version: 1\ndatasets:\n");
    for dataset in &contract.datasets {
        let checks = plan(dataset, engine);
        if checks.is_empty() {
            continue;
        }
        out.push_str(&format!("  - dataset: {}\n    checks:\n", dataset.name));
        for check in checks {
            out.push_str(&format!("      - template: {}\n", check.template));
            out.push_str(&format!("        name: {}\n", Json::String(check.name)));
            out.push_str(&format!("        params: {}\n", Json::Object(check.params)));
            out.push_str(&format!("        severity: {}\n", check.severity));
            if let Some(tolerance) = check.tolerance {
                out.push_str(&format!("        tolerance: {tolerance}\n"));
            }
            out.push_str(&format!("        owner: \"contract:{}\"\n", check.line));
        }
    }
    out
}

/// The contract's checks, validated by the check-file reader; origins point at the contract.
pub fn suite(path: &Path, contract: &Contract, engine: Option<&str>) -> Result<CheckSuite, CheckFileError> {
    let text = check_file(contract, engine);
    let mut suite = CheckSuite::parse(path, &text)?;
    for dataset in &mut suite.datasets {
        for check in &mut dataset.checks {
            if let Some(line) = check
                .owner
                .take()
                .and_then(|o| o.strip_prefix("contract:").map(str::to_owned))
            {
                check.origin = format!("{}:{line}", path.display());
            }
            check.tags.push("contract".into());
            if !contract.id.is_empty() {
                check.tags.push(format!("contract:{}", contract.id));
            }
        }
    }
    Ok(suite)
}

/// The checks of a contract file or of every `.yml`/`.yaml` contract in a folder (sorted), for a
/// source of `engine`: what a source's `contracts:` runs on every collection. The first error of
/// a contract that cannot be read stops it (`file:line:column: key: message`); warnings (parts
/// with no CWIC equivalent) are logged.
pub fn load_suites(path: &Path, engine: &str) -> Result<CheckSuite, String> {
    let files = crate::checks::model::yaml_files(path)
        .map_err(|error| format!("{}: cannot read: {error}", path.display()))?;
    let mut all = CheckSuite { datasets: Vec::new() };
    for file in files {
        let parsed = super::model::load(&file);
        for warning in parsed.warnings() {
            tracing::warn!(%warning, "contract");
        }
        if let Some(error) = parsed.errors().next() {
            return Err(error.to_string());
        }
        let Some(contract) = parsed.contract else {
            return Err(format!("{}: not a data contract", file.display()));
        };
        let translated = suite(&file, &contract, Some(engine)).map_err(|error| error.to_string())?;
        all.datasets.extend(translated.datasets);
    }
    Ok(all)
}

/// The SLA descriptors of a contract, for the control plane's SLA store.
pub fn service_levels(path: &Path, contract: &Contract) -> Json {
    let levels: Vec<Json> = contract
        .service_levels
        .iter()
        .map(|level| {
            let mut value = serde_json::to_value(level).unwrap_or(Json::Null);
            if let Json::Object(map) = &mut value {
                map.insert(
                    "origin".into(),
                    json!(format!("{}:{}", path.display(), level.line)),
                );
                map.remove("line");
            }
            value
        })
        .collect();
    json!({ "contract": contract.id, "version": contract.version, "service_levels": levels })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::contracts::model::parse;

    fn contract(text: &str) -> Contract {
        parse(Path::new("c.yaml"), text).contract.unwrap()
    }

    #[test]
    fn orders_translate_to_valid_checks_with_contract_origins() {
        let text = include_str!("../../../tests/data/contracts/orders-latest.datacontract.yaml");
        let suite = suite(Path::new("orders.yaml"), &contract(text), None).unwrap();
        let orders = &suite.datasets[0];
        let names: Vec<&str> = orders.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "contract_columns_present",
                "required(order_id)",
                "unique(order_id)",
                "required(order_timestamp)",
                "required(order_total)",
                "required(customer_email_address)",
                "required(processed_timestamp)",
                "primary_key(order_id)",
                "uuid(order_id)",
                "length_between(customer_id)",
                "email(customer_email_address)",
                "row_count_min",
            ],
            "the SodaCL duplicate_count(order_id) = 0 repeats unique(order_id) and runs once"
        );
        let email = &orders.checks[5];
        assert_eq!(email.origin, "orders.yaml:53");
        assert_eq!(email.owner, None);
        assert_eq!(suite.datasets[1].checks.len(), 8);
    }

    #[test]
    fn physical_types_are_checked_as_catalogs_name_them() {
        let text = include_str!("../../../tests/data/contracts/column-completeness.odcs.yaml");
        let yaml = check_file(&contract(text), Some("postgres"));
        assert!(
            yaml.contains("params: {\"types\":{\"UniqueID\":\"integer\"}}"),
            "{yaml}"
        );
        let yaml = check_file(&contract(text), Some("sqlite"));
        assert!(
            yaml.contains("params: {\"types\":{\"UniqueID\":\"int\"}}"),
            "{yaml}"
        );
        let pg = Some("postgres");
        assert_eq!(catalog_type("varchar[15]", pg).as_deref(), Some("varchar"));
        assert_eq!(catalog_type("VARCHAR(2)", pg).as_deref(), Some("varchar"));
        assert_eq!(catalog_type("serial", pg).as_deref(), Some("integer"));
        assert_eq!(catalog_type("int4", Some("mysql")).as_deref(), Some("int4"));
        assert_eq!(catalog_type("Name", pg), None, "a domain is not checked");
    }
}
