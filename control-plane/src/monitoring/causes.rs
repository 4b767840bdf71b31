//! Root-cause analysis: for one anomaly event, candidate causes ranked by how well they explain
//! it, and a one-paragraph explanation for alerts.
//!
//! Candidates, each scored in [0, 1]:
//! - `upstream_anomaly`: an open anomaly on an asset upstream in the lineage graph (as it was at
//!   the anomaly's time) within `LOOKBACK` before it (or `SLACK` after): 0.95, less 10% per extra
//!   hop and up to half for distance in time;
//! - `segment`: for a column metric, the value of a low-cardinality segment column that holds most
//!   of the increase in NULLs over its usual count (from `segment_counts`): its share of the
//!   increase;
//! - `volume_drop` / `related_metric`: another open anomaly on the same asset in the same window
//!   (a row-count fall: 0.7; anything else: 0.5);
//! - `schema_change`: a column of the asset or of an upstream asset that appeared or disappeared
//!   in the window: 0.6, less 10% per hop;
//! - `failing_check`: a check on the asset or upstream that began failing in the window: 0.8 when
//!   it reads the anomalous column, else 0.55 (critical and high checks ×1, others ×0.9), less 10%
//!   per hop upstream.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::detectors::TABLE_VECTOR_METRIC;
use crate::detectors::window::median_of;
use crate::store::intelligence::{AnomalyEvent, CheckTurnedFailing, SegmentCount};
use crate::store::lineage::{Direction, Granularity};
use crate::store::{StoreResult, TenantStore};

/// How far before an anomaly a cause is looked for.
const LOOKBACK_HOURS: i64 = 24;
/// A cause may be recorded slightly after its effect (clock skew, collection order).
const SLACK_HOURS: i64 = 1;
/// Edges walked upstream.
const UPSTREAM_DEPTH: u32 = 5;
/// Earlier observations of segment counts that give each segment's usual NULL count.
const SEGMENT_BASELINE_DAYS: i64 = 7;
/// Causes listed in the explanation besides the first.
const EXPLAINED_ALTERNATIVES: usize = 2;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Cause {
    #[schema(value_type = String)]
    pub kind: &'static str,
    pub score: f64,
    pub summary: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CauseReport {
    pub anomaly: AnomalyEvent,
    pub causes: Vec<Cause>,
    pub explanation: String,
}

fn describe_series(event: &AnomalyEvent) -> String {
    if event.column.is_empty() {
        format!("{} of {}", event.metric, event.asset)
    } else {
        format!("{} of {}.{}", event.metric, event.asset, event.column)
    }
}

pub(crate) fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}

fn describe_event(event: &AnomalyEvent) -> String {
    if event.metric == TABLE_VECTOR_METRIC {
        return describe_table_event(event);
    }
    let expected = match (event.expected_low, event.expected_high) {
        (Some(low), Some(high)) => format!(
            " (expected {}–{})",
            format_value(low.max(0.0).round()),
            format_value(high.round())
        ),
        _ => String::new(),
    };
    format!(
        "{} was {} at {}{expected}",
        describe_series(event),
        format_value(event.value),
        event.observed_at.format("%Y-%m-%d %H:%M UTC")
    )
}

/// A table-model event: the combination of the table's metrics, with the features that were
/// furthest from their usual values.
fn describe_table_event(event: &AnomalyEvent) -> String {
    let features: Vec<String> = event
        .details
        .as_ref()
        .and_then(|details| details["contributions"].as_array())
        .map(|contributions| {
            contributions
                .iter()
                .filter_map(|contribution| {
                    Some(format!(
                        "{} {} (usually {}, {:+.1} sigma)",
                        contribution["feature"].as_str()?,
                        format_value(contribution["value"].as_f64()?),
                        format_value(contribution["usual"].as_f64()?),
                        contribution["z"].as_f64()?
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let furthest = if features.is_empty() {
        String::new()
    } else {
        format!("; furthest from usual: {}", features.join(", "))
    };
    format!(
        "the combination of {}'s metrics was unusual at {} (isolation score {}, bar {}){furthest}",
        event.asset,
        event.observed_at.format("%Y-%m-%d %H:%M UTC"),
        format_value(event.value),
        event.expected_high.map_or("none".to_owned(), format_value)
    )
}

/// Time factor: 1 for a cause at the same time, falling linearly to 0.5 at the edge of the window.
fn closeness(cause_at: DateTime<Utc>, effect_at: DateTime<Utc>) -> f64 {
    let apart = (effect_at - cause_at).num_seconds().abs() as f64;
    1.0 - 0.5 * (apart / (LOOKBACK_HOURS * 3_600) as f64).min(1.0)
}

/// Ranked candidate causes of `event`.
pub async fn analyse(store: &TenantStore, event: AnomalyEvent) -> StoreResult<CauseReport> {
    let at = event.observed_at;
    let from = at - Duration::hours(LOOKBACK_HOURS);
    let until = at + Duration::hours(SLACK_HOURS);
    let mut causes = Vec::new();

    // Assets upstream of this one, with their distance in hops.
    let mut upstream: HashMap<Uuid, u32> = HashMap::new();
    if let Some((source, dataset)) = store.asset_identity(event.asset_id).await?
        && let Some(root) = store.find_lineage_node(&source, &dataset, None).await?
    {
        let walk = store
            .walk_lineage(root, Direction::Upstream, Granularity::Table, UPSTREAM_DEPTH, at)
            .await?;
        for reached in walk.nodes {
            if let Some(asset) = reached.node.asset_id
                && asset != event.asset_id
            {
                let depth = upstream.entry(asset).or_insert(reached.depth);
                *depth = (*depth).min(reached.depth);
            }
        }
    }

    let mut watched: Vec<Uuid> = upstream.keys().copied().collect();
    watched.push(event.asset_id);
    for other in store.events_on_assets(&watched, from, until).await? {
        if other.id == event.id {
            continue;
        }
        let time = closeness(other.observed_at, at);
        if let Some(depth) = upstream.get(&other.asset_id) {
            let hops = depth.saturating_sub(1) as i32;
            causes.push(Cause {
                kind: "upstream_anomaly",
                score: 0.95 * 0.9f64.powi(hops) * time,
                summary: format!(
                    "upstream {} ({} hop{} up the lineage)",
                    describe_event(&other),
                    depth,
                    if *depth == 1 { "" } else { "s" }
                ),
                details: json!({"event": other, "hops": depth}),
            });
        } else if other.asset_id == event.asset_id {
            let volume_drop = other.metric == "row_count" && other.score < 0.0;
            causes.push(Cause {
                kind: if volume_drop {
                    "volume_drop"
                } else {
                    "related_metric"
                },
                score: if volume_drop { 0.7 } else { 0.5 } * time,
                summary: format!("on the same table, {}", describe_event(&other)),
                details: json!({"event": other}),
            });
        }
    }

    for column in store.columns_seen(&watched).await? {
        let hops = upstream.get(&column.asset_id).copied().unwrap_or(0);
        let added = column.first_seen_at > column.asset_first_seen_at
            && column.first_seen_at >= from
            && column.first_seen_at <= until;
        let dropped = column.last_seen_at < column.asset_last_seen_at
            && column.last_seen_at >= from
            && column.last_seen_at <= until;
        if !(added || dropped) {
            continue;
        }
        let (change, when) = if added {
            ("appeared", column.first_seen_at)
        } else {
            ("disappeared", column.last_seen_at)
        };
        causes.push(Cause {
            kind: "schema_change",
            score: 0.6 * 0.9f64.powi(hops as i32) * closeness(when, at),
            summary: format!(
                "column {}.{} {change} at {}",
                column.asset,
                column.name,
                when.format("%Y-%m-%d %H:%M UTC")
            ),
            details: json!({"asset_id": column.asset_id, "asset": column.asset, "column": column.name,
                            "change": change, "at": when}),
        });
    }

    for check in store.checks_turned_failing(&watched, from, until).await? {
        causes.push(check_cause(
            &event,
            &check,
            upstream.get(&check.asset_id).copied(),
            at,
        ));
    }

    if !event.column.is_empty() {
        let counts = store
            .segment_counts(
                event.asset_id,
                &event.column,
                at - Duration::days(SEGMENT_BASELINE_DAYS),
                at,
            )
            .await?;
        causes.extend(segment_causes(&counts, &event.column));
    }

    causes.sort_by(|a, b| b.score.total_cmp(&a.score));
    let explanation = explain(&event, &causes);
    Ok(CauseReport {
        anomaly: event,
        causes,
        explanation,
    })
}

/// A check that began failing, as a cause of `event`; `hops` is its asset's distance upstream
/// (`None`: the anomalous asset itself).
fn check_cause(
    event: &AnomalyEvent,
    check: &CheckTurnedFailing,
    hops: Option<u32>,
    at: DateTime<Utc>,
) -> Cause {
    let same_column = hops.is_none() && !event.column.is_empty() && check.columns.contains(&event.column);
    let base = if same_column { 0.8 } else { 0.55 };
    let severity = if matches!(check.severity.as_str(), "critical" | "high") {
        1.0
    } else {
        0.9
    };
    let distance = hops.map_or(1.0, |hops| 0.9f64.powi(hops as i32));
    let failing = match (check.failing_rows, check.total_rows) {
        (Some(failing), Some(total)) => format!(" ({failing} of {total} rows)"),
        _ => String::new(),
    };
    let place = match hops {
        None => "on the same table".to_owned(),
        Some(hops) => format!(
            "upstream on {} ({hops} hop{} up)",
            check.asset,
            if hops == 1 { "" } else { "s" }
        ),
    };
    Cause {
        kind: "failing_check",
        score: base * severity * distance * closeness(check.observed_at, at),
        summary: format!(
            "{place}, check {} ({}) began to {} at {}{failing}",
            check.check_name,
            check.dimension,
            if check.status == "error" { "error" } else { "fail" },
            check.observed_at.format("%Y-%m-%d %H:%M UTC")
        ),
        details: json!({"check": check, "hops": hops}),
    }
}

/// For each segment column: the segment holding the largest share of the increase in NULLs at the
/// latest observation over each segment's usual (median earlier) count.
pub fn segment_causes(counts: &[SegmentCount], column: &str) -> Vec<Cause> {
    let mut by_segment_column: BTreeMap<&str, Vec<&SegmentCount>> = BTreeMap::new();
    for count in counts {
        by_segment_column
            .entry(count.segment_column.as_str())
            .or_default()
            .push(count);
    }
    let mut causes = Vec::new();
    for (segment_column, rows) in by_segment_column {
        let Some(latest) = rows.iter().map(|row| row.observed_at).max() else {
            continue;
        };
        let mut usual: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut now: BTreeMap<&str, f64> = BTreeMap::new();
        for row in &rows {
            if row.observed_at == latest {
                now.insert(row.segment_value.as_str(), row.null_count);
            } else {
                usual
                    .entry(row.segment_value.as_str())
                    .or_default()
                    .push(row.null_count);
            }
        }
        let increases: Vec<(&str, f64, f64)> = now
            .iter()
            .map(|(value, nulls)| {
                let baseline = usual.get(value).and_then(|past| median_of(past)).unwrap_or(0.0);
                (*value, (nulls - baseline).max(0.0), baseline)
            })
            .collect();
        let total: f64 = increases.iter().map(|(_, increase, _)| increase).sum();
        let Some((value, increase, baseline)) = increases
            .iter()
            .copied()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .filter(|_| total > 0.0)
        else {
            continue;
        };
        let share = increase / total;
        causes.push(Cause {
            kind: "segment",
            score: share,
            summary: format!(
                "{segment_column} = {value} holds {:.0}% of the new NULLs in {column} ({} more than its usual {})",
                100.0 * share,
                format_value(increase),
                format_value(baseline)
            ),
            details: json!({"segment_column": segment_column, "segment_value": value, "share": share,
                            "increase": increase, "usual": baseline, "total_increase": total,
                            "observed_at": latest}),
        });
    }
    causes
}

/// One paragraph: what happened, the most likely cause, and the next candidates.
pub fn explain(event: &AnomalyEvent, causes: &[Cause]) -> String {
    let mut text = format!("{}.", capitalised(&describe_event(event)));
    match causes.split_first() {
        None => text.push_str(&format!(
            " No upstream anomaly, schema change, failing check, volume drop or segment explains it within the {LOOKBACK_HOURS} hours before."
        )),
        Some((first, rest)) => {
            text.push_str(&format!(" Most likely cause: {}.", first.summary));
            let others: Vec<&str> = rest
                .iter()
                .take(EXPLAINED_ALTERNATIVES)
                .map(|cause| cause.summary.as_str())
                .collect();
            if !others.is_empty() {
                text.push_str(&format!(" Also consider: {}.", others.join("; ")));
            }
        }
    }
    text
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_table_event_is_described_by_its_furthest_features() {
        let event = AnomalyEvent {
            id: Uuid::nil(),
            asset_id: Uuid::nil(),
            asset: "public.sales".into(),
            source_name: "warehouse".into(),
            metric: TABLE_VECTOR_METRIC.into(),
            column: String::new(),
            observed_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
            value: 0.9106,
            expected_low: Some(0.0),
            expected_high: Some(0.847),
            score: 5.2,
            detected_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
            feedback: None,
            feedback_at: None,
            details: Some(json!({"contributions": [
                {"feature": "distinct_ratio:customer_id", "value": 0.2237, "usual": 0.4, "z": -26.4},
                {"feature": "null_share:email", "value": 0.0166, "usual": 0.03, "z": -18.0}
            ]})),
        };
        assert_eq!(
            explain(&event, &[]),
            "The combination of public.sales's metrics was unusual at 2026-01-01 00:00 UTC (isolation \
             score 0.911, bar 0.847); furthest from usual: distinct_ratio:customer_id 0.224 (usually \
             0.400, -26.4 sigma), null_share:email 0.017 (usually 0.030, -18.0 sigma). No upstream \
             anomaly, schema change, failing check, volume drop or segment explains it within the 24 hours before."
        );
    }

    fn count(hour: i64, segment: &str, nulls: f64) -> SegmentCount {
        SegmentCount {
            observed_at: DateTime::from_timestamp(1_767_225_600 + hour * 3_600, 0).unwrap(),
            segment_column: "region".into(),
            segment_value: segment.into(),
            row_count: 1_000.0,
            null_count: nulls,
        }
    }

    #[test]
    fn the_segment_with_most_of_the_new_nulls_is_named_with_its_share() {
        let mut counts = Vec::new();
        for hour in 0..5 {
            counts.push(count(hour, "eu", 2.0));
            counts.push(count(hour, "us", 3.0));
        }
        counts.push(count(5, "eu", 92.0));
        counts.push(count(5, "us", 13.0));
        counts.push(count(5, "apac", 0.0));
        let causes = segment_causes(&counts, "amount");
        assert_eq!(causes.len(), 1);
        // Increases: eu 90, us 10, apac 0 (no history, no NULLs): eu holds 90%.
        assert_eq!(causes[0].details["segment_value"], "eu");
        assert!((causes[0].score - 0.9).abs() < 1e-12);
        assert_eq!(
            causes[0].summary,
            "region = eu holds 90% of the new NULLs in amount (90 more than its usual 2)"
        );
        assert!(
            segment_causes(&counts[..10], "amount").is_empty(),
            "no increase, no cause"
        );
    }
}
