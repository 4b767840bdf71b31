//! What changed between two versions of a contract, and whether it breaks the consumers or the
//! producers that rely on it.
//!
//! Breaking: a dropped table or column, a retyped column, a column made required, unique or part of
//! the primary key, a new required column, a new or tightened quality rule (data that met the old
//! contract may fail the new one), a removed or loosened service level. Everything else (an added
//! optional column, a relaxed or removed rule, a tightened service level) is non-breaking.

use serde::Serialize;
use serde_json::Value as Json;

use super::model::{Column, Contract, Dataset, Rule, ServiceLevel};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub breaking: bool,
    /// `table`, `table.column`, or `service_levels.<kind>`.
    pub path: String,
    pub message: String,
}

pub fn diff(old: &Contract, new: &Contract) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut change = |breaking: bool, path: String, message: String| {
        changes.push(Change {
            breaking,
            path,
            message,
        });
    };
    for old_table in &old.datasets {
        let Some(new_table) = new.datasets.iter().find(|t| t.name == old_table.name) else {
            change(true, old_table.name.clone(), "table dropped".into());
            continue;
        };
        diff_columns(old_table, new_table, &mut change);
        diff_rules(old_table, new_table, &mut change);
    }
    for new_table in &new.datasets {
        if !old.datasets.iter().any(|t| t.name == new_table.name) {
            change(false, new_table.name.clone(), "table added".into());
        }
    }
    diff_levels(&old.service_levels, &new.service_levels, &mut change);
    changes
}

fn type_of(column: &Column) -> Option<String> {
    column
        .physical_type
        .as_ref()
        .or(column.logical_type.as_ref())
        .map(|t| t.to_ascii_lowercase())
}

fn diff_columns(old: &Dataset, new: &Dataset, change: &mut impl FnMut(bool, String, String)) {
    for old_column in &old.columns {
        let path = format!("{}.{}", old.name, old_column.name);
        let Some(new_column) = new.columns.iter().find(|c| c.name == old_column.name) else {
            change(true, path, "column dropped".into());
            continue;
        };
        let (old_type, new_type) = (type_of(old_column), type_of(new_column));
        if old_type != new_type {
            let show = |t: &Option<String>| t.clone().unwrap_or_else(|| "unspecified".into());
            change(
                true,
                path.clone(),
                format!("column retyped from {} to {}", show(&old_type), show(&new_type)),
            );
        }
        for (what, before, after) in [
            ("required", old_column.required, new_column.required),
            ("unique", old_column.unique, new_column.unique),
            (
                "part of the primary key",
                old_column.primary_key,
                new_column.primary_key,
            ),
        ] {
            match (before, after) {
                (false, true) => change(true, path.clone(), format!("column made {what}")),
                (true, false) => change(false, path.clone(), format!("column no longer {what}")),
                _ => {}
            }
        }
    }
    for new_column in &new.columns {
        if !old.columns.iter().any(|c| c.name == new_column.name) {
            let path = format!("{}.{}", new.name, new_column.name);
            if new_column.required {
                change(true, path, "required column added".into());
            } else {
                change(false, path, "optional column added".into());
            }
        }
    }
}

/// A rule's identity: template, column and every parameter except its bounds.
fn identity(rule: &Rule) -> String {
    let mut params = rule.params.clone();
    params.remove("min");
    params.remove("max");
    params.remove("values");
    format!(
        "{}|{}|{}",
        rule.template,
        rule.column.as_deref().unwrap_or(""),
        Json::Object(params)
    )
}

fn describe(table: &str, rule: &Rule) -> String {
    match &rule.column {
        Some(column) => format!("{table}.{column}"),
        None => table.to_owned(),
    }
}

/// Whether `new` admits less than `old`: a higher minimum, a lower maximum, a smaller tolerance or
/// fewer accepted values; `None` when equal.
fn tightened(old: &Rule, new: &Rule) -> Option<bool> {
    let number = |rule: &Rule, key: &str| rule.params.get(key).and_then(Json::as_f64);
    let mut tighter = false;
    let mut looser = false;
    match (number(old, "min"), number(new, "min")) {
        (Some(a), Some(b)) if b > a => tighter = true,
        (Some(a), Some(b)) if b < a => looser = true,
        (None, Some(_)) => tighter = true,
        (Some(_), None) => looser = true,
        _ => {}
    }
    match (number(old, "max"), number(new, "max")) {
        (Some(a), Some(b)) if b < a => tighter = true,
        (Some(a), Some(b)) if b > a => looser = true,
        (None, Some(_)) => tighter = true,
        (Some(_), None) => looser = true,
        _ => {}
    }
    let (old_tolerance, new_tolerance) = (old.tolerance.unwrap_or(0.0), new.tolerance.unwrap_or(0.0));
    if new_tolerance < old_tolerance {
        tighter = true;
    } else if new_tolerance > old_tolerance {
        looser = true;
    }
    if let (Some(Json::Array(a)), Some(Json::Array(b))) = (old.params.get("values"), new.params.get("values"))
    {
        if a.iter().any(|v| !b.contains(v)) {
            tighter = true;
        }
        if b.iter().any(|v| !a.contains(v)) {
            looser = true;
        }
    }
    match (tighter, looser) {
        (false, false) => None,
        (true, _) => Some(true),
        (false, true) => Some(false),
    }
}

fn diff_rules(old: &Dataset, new: &Dataset, change: &mut impl FnMut(bool, String, String)) {
    for old_rule in &old.rules {
        let path = describe(&old.name, old_rule);
        match new.rules.iter().find(|r| identity(r) == identity(old_rule)) {
            None => change(
                false,
                path,
                format!("rule removed: {} ({})", old_rule.template, old_rule.source),
            ),
            Some(new_rule) => match tightened(old_rule, new_rule) {
                Some(true) => change(
                    true,
                    path,
                    format!(
                        "rule tightened: {} from {} to {}",
                        old_rule.template, old_rule.source, new_rule.source
                    ),
                ),
                Some(false) => change(
                    false,
                    path,
                    format!(
                        "rule relaxed: {} from {} to {}",
                        old_rule.template, old_rule.source, new_rule.source
                    ),
                ),
                None => {}
            },
        }
    }
    for new_rule in &new.rules {
        if !old.rules.iter().any(|r| identity(r) == identity(new_rule)) {
            change(
                true,
                describe(&new.name, new_rule),
                format!("rule added: {} ({})", new_rule.template, new_rule.source),
            );
        }
    }
}

/// A duration in the largest unit that divides it: `25h`, `2d`, `3y`.
fn human(seconds: f64) -> String {
    let whole = seconds.round() as i64;
    for (unit, size) in [
        ("y", 31_536_000),
        ("w", 604_800),
        ("d", 86_400),
        ("h", 3600),
        ("m", 60),
    ] {
        if whole >= size && whole % size == 0 {
            return format!("{}{unit}", whole / size);
        }
    }
    format!("{whole}s")
}

fn diff_levels(old: &[ServiceLevel], new: &[ServiceLevel], change: &mut impl FnMut(bool, String, String)) {
    for old_level in old {
        let path = format!("service_levels.{}", old_level.kind);
        let Some(new_level) = new
            .iter()
            .find(|l| l.kind == old_level.kind && l.element == old_level.element)
        else {
            change(true, path, "service level removed".into());
            continue;
        };
        // Retention: longer is the stronger promise; freshness, latency, frequency: shorter.
        let longer_is_better = old_level.kind == "retention";
        if let (Some(a), Some(b)) = (old_level.threshold_seconds, new_level.threshold_seconds)
            && a != b
        {
            let loosened = if longer_is_better { b < a } else { b > a };
            change(
                loosened,
                path.clone(),
                format!(
                    "service level {} from {} to {}",
                    if loosened { "loosened" } else { "tightened" },
                    human(a),
                    human(b)
                ),
            );
        }
        if let (Some(a), Some(b)) = (old_level.percentage, new_level.percentage)
            && a != b
        {
            let loosened = b < a;
            change(
                loosened,
                path.clone(),
                format!(
                    "service level {} from {a}% to {b}%",
                    if loosened { "loosened" } else { "tightened" }
                ),
            );
        }
    }
    for new_level in new {
        if !old
            .iter()
            .any(|l| l.kind == new_level.kind && l.element == new_level.element)
        {
            change(
                false,
                format!("service_levels.{}", new_level.kind),
                "service level added".into(),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::contracts::model::parse;

    const V1: &str = "apiVersion: v3.0.2
kind: DataContract
id: c
version: 1.0.0
schema:
  - name: orders
    properties:
    - name: id
      physicalType: int
      primaryKey: true
    - name: email
      logicalType: string
      quality:
      - metric: nullValues
        mustBeLessOrEqualTo: 10
        unit: percent
    - name: note
      logicalType: string
slaProperties:
  - property: latency
    value: 4
    unit: d
  - property: retention
    value: 3
    unit: y
";

    fn changes(new: &str) -> Vec<String> {
        let read = |text: &str| parse(Path::new("c.yaml"), text).contract.unwrap();
        diff(&read(V1), &read(new))
            .into_iter()
            .map(|c| format!("{} {}: {}", if c.breaking { "B" } else { "-" }, c.path, c.message))
            .collect()
    }

    #[test]
    fn identical_contracts_have_no_changes() {
        assert!(changes(V1).is_empty());
    }

    #[test]
    fn dropped_retyped_and_required_columns_break() {
        let new = V1
            .replace("    - name: note\n      logicalType: string\n", "")
            .replace("physicalType: int", "physicalType: bigint")
            .replace("    - name: email\n", "    - name: email\n      required: true\n");
        assert_eq!(
            changes(&new),
            [
                "B orders.id: column retyped from int to bigint",
                "B orders.email: column made required",
                "B orders.note: column dropped",
            ]
        );
    }

    #[test]
    fn tightened_rules_break_and_relaxed_ones_do_not() {
        let tighter = V1.replace("mustBeLessOrEqualTo: 10", "mustBeLessOrEqualTo: 5");
        assert_eq!(
            changes(&tighter),
            ["B orders.email: rule tightened: null_share_max from nullValues <= 10 to nullValues <= 5"]
        );
        let looser = V1.replace("mustBeLessOrEqualTo: 10", "mustBeLessOrEqualTo: 20");
        assert_eq!(
            changes(&looser),
            ["- orders.email: rule relaxed: null_share_max from nullValues <= 10 to nullValues <= 20"]
        );
    }

    #[test]
    fn removed_and_loosened_service_levels_break_added_columns_do_not() {
        let new = V1
            .replace("  - property: retention\n    value: 3\n    unit: y\n", "")
            .replace("    value: 4\n    unit: d", "    value: 2\n    unit: d")
            .replace(
                "slaProperties:",
                "    - name: created\n      logicalType: date\nslaProperties:",
            );
        assert_eq!(
            changes(&new),
            [
                "- orders.created: optional column added",
                "- service_levels.latency: service level tightened from 4d to 2d",
                "B service_levels.retention: service level removed",
            ]
        );
        let shorter = V1.replace("    value: 3\n    unit: y", "    value: 1\n    unit: y");
        assert_eq!(
            changes(&shorter),
            ["B service_levels.retention: service level loosened from 3y to 1y"]
        );
    }
}
