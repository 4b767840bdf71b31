//! Quality scores in the seven dimensions of DESIGN.md ("Quality model"), computed from an
//! asset's evidence: its last measured metrics and the latest result of each of its checks.
//!
//! Owns the pure computation ([`score`]) and the weights' validation. Must not do I/O (that is
//! [`service`]). Honest about coverage: a dimension without evidence is `None` ("not measured"),
//! never 100, and the overall score renormalises the weights over the measured dimensions.

pub mod service;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ServiceError;

/// The seven dimensions, in DESIGN.md's order.
/// The metric a table's overall score is kept under in its metric series (column `""`): one point
/// per collection its evidence was measured in, so detection and forecasts run on scores.
pub const SCORE_METRIC: &str = "quality_score";

pub const DIMENSIONS: [&str; 7] = [
    "completeness",
    "accuracy",
    "consistency",
    "timeliness",
    "uniqueness",
    "validity",
    "integrity",
];

/// Per-dimension weights: each in [0, 1], summing to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    pub completeness: f64,
    pub accuracy: f64,
    pub consistency: f64,
    pub timeliness: f64,
    pub uniqueness: f64,
    pub validity: f64,
    pub integrity: f64,
}

impl Default for Weights {
    /// DESIGN.md's defaults.
    fn default() -> Self {
        Self {
            completeness: 0.20,
            accuracy: 0.25,
            consistency: 0.20,
            timeliness: 0.15,
            uniqueness: 0.10,
            validity: 0.05,
            integrity: 0.05,
        }
    }
}

impl Weights {
    pub fn get(&self, dimension: &str) -> f64 {
        match dimension {
            "completeness" => self.completeness,
            "accuracy" => self.accuracy,
            "consistency" => self.consistency,
            "timeliness" => self.timeliness,
            "uniqueness" => self.uniqueness,
            "validity" => self.validity,
            "integrity" => self.integrity,
            _ => 0.0,
        }
    }

    /// Each weight in [0, 1] and their sum 1 (± 1e-6); the error names the offending field.
    pub fn validate(&self) -> Result<(), ServiceError> {
        for dimension in DIMENSIONS {
            let weight = self.get(dimension);
            if !weight.is_finite() || !(0.0..=1.0).contains(&weight) {
                return Err(ServiceError::bad_field(
                    dimension,
                    format!("{dimension}: a weight must be between 0 and 1, got {weight}"),
                ));
            }
        }
        let sum: f64 = DIMENSIONS.iter().map(|d| self.get(d)).sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(ServiceError::bad_field(
                "weights",
                format!("weights: the seven weights must sum to 1, they sum to {sum}"),
            ));
        }
        Ok(())
    }
}

/// The latest result of one check on the asset.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckEvidence {
    pub name: String,
    pub template: String,
    /// The template's dimension, or the per-check override.
    pub dimension: String,
    pub severity: String,
    /// `pass`, `fail` or `error`.
    pub status: String,
    pub failing_rows: Option<i64>,
    pub total_rows: Option<i64>,
}

/// What a table's score is computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableEvidence {
    /// Rows as last measured (`row_count`).
    pub rows: Option<f64>,
    /// `(column, null count)` of each column measured with those rows (`null_count`).
    pub column_nulls: Vec<(String, f64)>,
    pub checks: Vec<CheckEvidence>,
}

impl TableEvidence {
    /// The asset's open issues: how many of its checks fail.
    pub fn issues(&self) -> i32 {
        i32::try_from(self.checks.iter().filter(|c| c.status == "fail").count()).unwrap_or(i32::MAX)
    }
}

/// One piece of evidence behind a dimension's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceItem {
    /// `metric` or `check`.
    pub kind: String,
    /// The metric (`null_count`) or the check's name.
    pub name: String,
    /// The column, for a column's metric or a single-column check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The check's template (checks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The check's severity (checks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// This item's share of the dimension's score (the items' weights sum to 1).
    pub weight: f64,
    /// This item's own score, 0-100.
    pub value: f64,
    /// What was measured, e.g. `12 nulls in 1000 rows` or `3 of 500 rows fail`.
    pub detail: String,
}

/// A dimension's score (0-100, or `null` when not measured) and the evidence behind it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DimensionScore {
    pub score: Option<f64>,
    pub evidence: Vec<EvidenceItem>,
}

/// All seven dimensions (a stored row missing one reads it as not measured).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Dimensions {
    pub completeness: DimensionScore,
    pub accuracy: DimensionScore,
    pub consistency: DimensionScore,
    pub timeliness: DimensionScore,
    pub uniqueness: DimensionScore,
    pub validity: DimensionScore,
    pub integrity: DimensionScore,
}

impl Dimensions {
    pub fn get(&self, dimension: &str) -> Option<&DimensionScore> {
        Some(match dimension {
            "completeness" => &self.completeness,
            "accuracy" => &self.accuracy,
            "consistency" => &self.consistency,
            "timeliness" => &self.timeliness,
            "uniqueness" => &self.uniqueness,
            "validity" => &self.validity,
            "integrity" => &self.integrity,
            _ => return None,
        })
    }

    fn get_mut(&mut self, dimension: &str) -> Option<&mut DimensionScore> {
        Some(match dimension {
            "completeness" => &mut self.completeness,
            "accuracy" => &mut self.accuracy,
            "consistency" => &mut self.consistency,
            "timeliness" => &mut self.timeliness,
            "uniqueness" => &mut self.uniqueness,
            "validity" => &mut self.validity,
            "integrity" => &mut self.integrity,
            _ => return None,
        })
    }
}

/// A computed score.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    /// 0-100, `None` when no dimension was measured.
    pub score: Option<f64>,
    /// The weight share of the measured dimensions, 0-1.
    pub coverage: f64,
    pub dimensions: Dimensions,
}

/// How much a check counts against the others of its dimension, by severity.
pub fn severity_weight(severity: &str) -> f64 {
    match severity {
        "critical" => 4.0,
        "high" => 3.0,
        "medium" => 2.0,
        _ => 1.0,
    }
}

/// A check's own score: the share of rows that pass when it counted rows, else 100 for a pass and
/// 0 for a failure. `None` for an error (it measured nothing).
fn check_value(check: &CheckEvidence) -> Option<(f64, String)> {
    match (check.status.as_str(), check.failing_rows, check.total_rows) {
        ("error", _, _) => None,
        (_, Some(failing), Some(total)) if total > 0 => {
            let failing = failing.min(total);
            Some((
                100.0 * (1.0 - failing as f64 / total as f64),
                format!("{failing} of {total} rows fail"),
            ))
        }
        ("pass", _, _) => Some((100.0, "passes".to_owned())),
        _ => Some((0.0, "fails".to_owned())),
    }
}

/// A weighted mean over items `(weight, value)`; the items' weights become their shares.
fn weighted(items: &mut [EvidenceItem]) -> Option<f64> {
    let total: f64 = items.iter().map(|item| item.weight).sum();
    if items.is_empty() || total <= 0.0 {
        return None;
    }
    let mut sum = 0.0;
    for item in items.iter_mut() {
        sum += item.weight * item.value;
        item.weight /= total;
    }
    Some(sum / total)
}

/// Scores a table from its evidence with `weights`.
///
/// - Completeness: `100 × (1 − null cells / cells)` over the columns as last measured (cells =
///   rows × measured columns), each column's evidence weighted by its cell share; when no metric
///   measured it, its checks (as the other dimensions).
/// - Every other dimension: the severity-weighted mean of its checks' values, a check's value
///   being the share of rows that pass it (or 100/0 for a check that counts no rows).
pub fn score(evidence: &TableEvidence, weights: &Weights) -> Computed {
    let mut dimensions = Dimensions::default();
    let mut by_dimension: std::collections::BTreeMap<&str, Vec<EvidenceItem>> = Default::default();
    for check in &evidence.checks {
        let Some((value, detail)) = check_value(check) else {
            continue;
        };
        by_dimension
            .entry(check.dimension.as_str())
            .or_default()
            .push(EvidenceItem {
                kind: "check".to_owned(),
                name: check.name.clone(),
                column: None,
                template: Some(check.template.clone()),
                severity: Some(check.severity.clone()),
                weight: severity_weight(&check.severity),
                value,
                detail,
            });
    }

    let rows = evidence.rows.unwrap_or(0.0);
    let cells = rows * evidence.column_nulls.len() as f64;
    if cells > 0.0 {
        let nulls: f64 = evidence
            .column_nulls
            .iter()
            .map(|(_, n)| n.clamp(0.0, rows))
            .sum();
        let mut items: Vec<EvidenceItem> = evidence
            .column_nulls
            .iter()
            .map(|(column, n)| EvidenceItem {
                kind: "metric".to_owned(),
                name: "null_count".to_owned(),
                column: Some(column.clone()),
                template: None,
                severity: None,
                weight: 1.0 / evidence.column_nulls.len() as f64,
                value: 100.0 * (1.0 - n.clamp(0.0, rows) / rows),
                detail: format!("{n} nulls in {rows} rows"),
            })
            .collect();
        // Columns last: the checks of completeness are shown but the cell formula decides.
        let mut checks = by_dimension.remove("completeness").unwrap_or_default();
        for item in &mut checks {
            item.weight = 0.0;
        }
        items.extend(checks);
        dimensions.completeness = DimensionScore {
            score: Some(100.0 * (1.0 - nulls / cells)),
            evidence: items,
        };
    }
    for (dimension, mut items) in by_dimension {
        let Some(slot) = dimensions.get_mut(dimension) else {
            continue;
        };
        slot.score = weighted(&mut items);
        slot.evidence = items;
    }

    let (mut sum, mut coverage) = (0.0, 0.0);
    for dimension in DIMENSIONS {
        if let Some(value) = dimensions.get(dimension).and_then(|d| d.score) {
            let weight = weights.get(dimension);
            sum += weight * value;
            coverage += weight;
        }
    }
    Computed {
        score: (coverage > 0.0).then(|| sum / coverage),
        coverage: coverage.clamp(0.0, 1.0),
        dimensions,
    }
}

/// One piece of evidence's part in a change of the overall score.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Cause {
    pub dimension: String,
    /// `metric` or `check`.
    pub kind: String,
    /// The metric (`null_count`) or the check's name.
    pub name: String,
    /// The column, for a column's metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The item's own score before and after (null: it was not evidence then).
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// Points of the overall score this item moved it by (negative: it lowered it). The
    /// contributions of all causes sum to the change of the score.
    pub contribution: f64,
}

/// Each evidence item's points in an overall score: `weight(dimension) / coverage × share × value`.
fn contributions(dimensions: &Dimensions, weights: &Weights) -> Vec<(String, EvidenceItem, f64)> {
    let coverage: f64 = DIMENSIONS
        .iter()
        .filter(|d| dimensions.get(d).is_some_and(|score| score.score.is_some()))
        .map(|d| weights.get(d))
        .sum();
    if coverage <= 0.0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for dimension in DIMENSIONS {
        let Some(score) = dimensions.get(dimension).filter(|score| score.score.is_some()) else {
            continue;
        };
        for item in &score.evidence {
            let points = weights.get(dimension) / coverage * item.weight * item.value;
            out.push((dimension.to_owned(), item.clone(), points));
        }
    }
    out
}

/// Why the overall score moved from `before` to `after` (each a computation's dimensions and the
/// weights it used): every evidence item whose points changed, the largest change first. A
/// change of weights or of coverage moves the items it reweighs, so the contributions always sum
/// to `after − before` (when both are measured).
pub fn causes(before: (&Dimensions, &Weights), after: (&Dimensions, &Weights)) -> Vec<Cause> {
    type Key = (String, String, String, Option<String>);
    let key = |dimension: &str, item: &EvidenceItem| -> Key {
        (
            dimension.to_owned(),
            item.kind.clone(),
            item.name.clone(),
            item.column.clone(),
        )
    };
    let mut by_item: std::collections::BTreeMap<Key, Cause> = std::collections::BTreeMap::new();
    for (side, (dimensions, weights)) in [before, after].into_iter().enumerate() {
        for (dimension, item, points) in contributions(dimensions, weights) {
            let cause = by_item.entry(key(&dimension, &item)).or_insert_with(|| Cause {
                dimension: dimension.clone(),
                kind: item.kind.clone(),
                name: item.name.clone(),
                column: item.column.clone(),
                before: None,
                after: None,
                contribution: 0.0,
            });
            if side == 0 {
                cause.before = Some(item.value);
                cause.contribution -= points;
            } else {
                cause.after = Some(item.value);
                cause.contribution += points;
            }
        }
    }
    let mut causes: Vec<Cause> = by_item
        .into_values()
        .filter(|cause| cause.contribution.abs() > 1e-9)
        .collect();
    causes.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
    causes
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn check(
        name: &str,
        dimension: &str,
        severity: &str,
        status: &str,
        rows: Option<(i64, i64)>,
    ) -> CheckEvidence {
        CheckEvidence {
            name: name.to_owned(),
            template: "t".to_owned(),
            dimension: dimension.to_owned(),
            severity: severity.to_owned(),
            status: status.to_owned(),
            failing_rows: rows.map(|r| r.0),
            total_rows: rows.map(|r| r.1),
        }
    }

    #[test]
    fn completeness_is_the_share_of_non_null_cells() {
        let evidence = TableEvidence {
            rows: Some(100.0),
            column_nulls: vec![("a".into(), 10.0), ("b".into(), 0.0), ("c".into(), 50.0)],
            checks: vec![],
        };
        let computed = score(&evidence, &Weights::default());
        let expected = 100.0 * (1.0 - 60.0 / 300.0);
        assert!((computed.dimensions.completeness.score.unwrap() - expected).abs() < 1e-9);
        assert_eq!(computed.dimensions.completeness.evidence.len(), 3);
        // Only completeness is measured: the score is it, the coverage its weight.
        assert!((computed.score.unwrap() - expected).abs() < 1e-9);
        assert!((computed.coverage - 0.2).abs() < 1e-9);
        for dimension in &DIMENSIONS[1..] {
            assert_eq!(
                computed.dimensions.get(dimension).unwrap().score,
                None,
                "{dimension}"
            );
        }
    }

    #[test]
    fn nothing_measured_is_null_not_perfect() {
        let computed = score(&TableEvidence::default(), &Weights::default());
        assert_eq!(computed.score, None);
        assert_eq!(computed.coverage, 0.0);
        // An empty table has no cells: completeness is not measured either.
        let empty = TableEvidence {
            rows: Some(0.0),
            column_nulls: vec![("a".into(), 0.0)],
            checks: vec![check("e", "accuracy", "low", "error", None)],
        };
        let computed = score(&empty, &Weights::default());
        assert_eq!(computed.score, None);
        assert_eq!(computed.dimensions.accuracy.score, None);
    }

    #[test]
    fn failing_rows_count_by_their_share_weighted_by_severity() {
        let evidence = TableEvidence {
            rows: None,
            column_nulls: vec![],
            checks: vec![
                // 100 of 1000 fail: 90; critical (4).
                check("a", "validity", "critical", "fail", Some((100, 1000))),
                // passes, no row counts: 100; low (1).
                check("b", "validity", "low", "pass", None),
            ],
        };
        let computed = score(&evidence, &Weights::default());
        let validity = &computed.dimensions.validity;
        assert!((validity.score.unwrap() - (4.0 * 90.0 + 100.0) / 5.0).abs() < 1e-9);
        assert!((validity.evidence[0].weight - 0.8).abs() < 1e-9);
        assert!((computed.coverage - 0.05).abs() < 1e-9);
    }

    #[test]
    fn a_passing_check_adds_coverage_without_lifting_the_rest() {
        let base = TableEvidence {
            rows: Some(10.0),
            column_nulls: vec![("a".into(), 5.0)],
            checks: vec![],
        };
        let before = score(&base, &Weights::default());
        let mut more = base.clone();
        more.checks
            .push(check("u", "uniqueness", "high", "pass", Some((0, 10))));
        let after = score(&more, &Weights::default());
        assert_eq!(
            before.dimensions.completeness.score,
            after.dimensions.completeness.score
        );
        assert!((after.coverage - 0.3).abs() < 1e-9);
        // (0.2 × 50 + 0.1 × 100) / 0.3
        assert!((after.score.unwrap() - 20.0 / 0.3).abs() < 1e-9);
    }

    #[test]
    fn weights_are_validated_naming_the_field() {
        Weights::default().validate().unwrap();
        let bad = Weights {
            accuracy: 1.5,
            ..Weights::default()
        };
        let error = bad.validate().unwrap_err();
        assert_eq!(error.details["field"], "accuracy");
        let off = Weights {
            integrity: 0.1,
            ..Weights::default()
        };
        assert_eq!(off.validate().unwrap_err().details["field"], "weights");
    }

    #[test]
    fn causes_rank_what_moved_the_score_and_sum_to_its_change() {
        let weights = Weights::default();
        let before = score(
            &TableEvidence {
                rows: Some(100.0),
                column_nulls: vec![("a".into(), 0.0), ("b".into(), 10.0)],
                checks: vec![check("ok", "validity", "high", "pass", None)],
            },
            &weights,
        );
        let after = score(
            &TableEvidence {
                rows: Some(100.0),
                column_nulls: vec![("a".into(), 0.0), ("b".into(), 40.0)],
                checks: vec![
                    check("ok", "validity", "high", "pass", None),
                    check("amounts", "accuracy", "critical", "fail", Some((30, 100))),
                ],
            },
            &weights,
        );
        let found = causes((&before.dimensions, &weights), (&after.dimensions, &weights));
        let total: f64 = found.iter().map(|c| c.contribution).sum();
        let delta = after.score.unwrap() - before.score.unwrap();
        assert!((total - delta).abs() < 1e-9, "{total} vs {delta}: {found:?}");
        // The new failing check arrives with coverage that reweighs the rest; the column that got
        // 30 % more NULLs lowers the score; nothing that did not move is listed twice.
        let amounts = found.iter().find(|c| c.name == "amounts").unwrap();
        assert_eq!((amounts.before, amounts.after), (None, Some(70.0)));
        let b = found.iter().find(|c| c.column.as_deref() == Some("b")).unwrap();
        assert!(b.contribution < 0.0, "{found:?}");
        assert!(
            found
                .windows(2)
                .all(|w| w[0].contribution.abs() >= w[1].contribution.abs())
        );
        assert!(causes((&after.dimensions, &weights), (&after.dimensions, &weights)).is_empty());
    }
}
