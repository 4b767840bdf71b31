//! Profiles on the agent's `run` path: for a source with `profile: true`, every measured table is
//! profiled with the same pipeline as `cwic-agent profile` (one scan per table), PII values are
//! masked, and each column's profile joins its asset as a protobuf `ColumnProfile` plus scalar
//! metrics (`distinct_count`, `min`, `max`, `mean`, `std_dev`, `median`) for history.
//!
//! Owns the conversion from the profiler's [`ColumnProfile`] to the wire. Must not let a row or an
//! unmasked PII value into a message: values are only the profile's own summaries, and
//! [`mask_top_values`] runs on every profile before conversion.

use cwic_proto::agent::v1::{
    AssetObservation, ColumnProfile as WireProfile, Metric, ProfileHistogram, ProfileQuantile,
    ProfileTopValue,
};
use cwic_shared::MetricKind;
use tracing::warn;

use crate::histogram_memory::{ProfileMemory, Remembered};
use crate::profile_cli::{ColumnReport, profile_table};
use crate::profiler::{ColumnKind, ColumnProfile, ProfileValue, mask_top_values};
use crate::source::Source;

/// Profiles the tables behind `assets` (those with a row count, i.e. measured) and adds their
/// profiles, profile metrics and each column's drift from the profile `memory` remembers (which then
/// remembers this one). A failure is logged and written to the asset's `error` when it has none; the
/// other assets are still profiled.
pub async fn profile_assets(
    source: &dyn Source,
    assets: &mut [AssetObservation],
    memory: &mut ProfileMemory,
) {
    let tables = match source.list_tables(None).await {
        Ok(tables) => tables,
        Err(error) => {
            warn!(%error, "profiling skipped: listing tables failed");
            return;
        }
    };
    for asset in assets.iter_mut() {
        let measured = asset
            .metrics
            .iter()
            .any(|metric| metric.name == MetricKind::RowCount.as_str());
        let Some(table) = tables
            .iter()
            .find(|table| table.schema == asset.schema && table.name == asset.name)
        else {
            continue;
        };
        if !measured {
            continue;
        }
        match profile_table(source, table, None).await {
            Ok(report) => {
                asset.schema_fingerprint = report.schema_fingerprint.clone();
                let table = format!("{}.{}", asset.schema, asset.name);
                for column in report.columns {
                    let (profile, metrics) = to_wire(column);
                    asset.metrics.extend(metrics);
                    let histogram = profile
                        .histogram
                        .as_ref()
                        .filter(|_| !profile.masked && !profile.pii)
                        .and_then(Remembered::of);
                    if let Some(drift) = memory.observe(&table, &profile.column, histogram) {
                        asset.metrics.push(Metric {
                            name: MetricKind::DistributionDrift.as_str().to_owned(),
                            column: profile.column.clone(),
                            value: drift,
                        });
                    }
                    asset.profiles.push(profile);
                }
            }
            Err(error) => {
                warn!(%error, table = %table.label(), "profiling failed");
                if asset.error.is_empty() {
                    asset.error = format!("profiling failed: {error}");
                }
            }
        }
    }
}

/// A column's masked profile for the wire, and its scalar metrics.
pub fn to_wire(column: ColumnReport) -> (WireProfile, Vec<Metric>) {
    let mut wire = WireProfile {
        column: column.name.clone(),
        error: column.error.unwrap_or_default(),
        ..WireProfile::default()
    };
    let Some(mut profile) = column.profile else {
        return (wire, Vec::new());
    };
    mask_top_values(&mut profile);
    let metrics = metrics_of(&column.name, &profile);
    let text = |value: &Option<ProfileValue>| value.as_ref().map(value_text).unwrap_or_default();
    wire.kind = snake_name(&profile.kind);
    wire.count = profile.count;
    wire.nulls = profile.nulls;
    wire.distinct = profile.distinct;
    wire.distinct_exact = profile.distinct_exact.unwrap_or(false);
    wire.distinct_error = profile.distinct_error.unwrap_or(0.0);
    wire.min = text(&profile.min);
    wire.max = text(&profile.max);
    wire.mean = profile.mean.as_ref().and_then(number);
    wire.std_dev = profile.std_dev;
    wire.skewness = profile.skewness;
    wire.kurtosis = profile.kurtosis;
    if let Some(quantiles) = &profile.quantiles {
        wire.quantiles = [
            (0.25, &quantiles.p25),
            (0.5, &quantiles.p50),
            (0.75, &quantiles.p75),
            (0.95, &quantiles.p95),
            (0.99, &quantiles.p99),
        ]
        .into_iter()
        .map(|(q, value)| ProfileQuantile {
            q,
            value: value_text(value),
        })
        .collect();
    }
    wire.quantiles_exact = profile.quantiles_exact.unwrap_or(false);
    wire.quantile_rank_error = profile.quantile_rank_error.unwrap_or(0.0);
    wire.top_values = profile
        .top_values
        .iter()
        .flatten()
        .map(|top| ProfileTopValue {
            value: value_text(&top.value),
            count: top.count,
            count_error: top.count_error,
        })
        .collect();
    wire.top_values_exact = profile.top_values_exact.unwrap_or(false);
    wire.histogram = profile.histogram.as_ref().map(|histogram| ProfileHistogram {
        kind: snake_name(&histogram.kind),
        exact: histogram.exact,
        count_error: histogram.count_error,
        edges: histogram.edges.iter().flatten().map(value_text).collect(),
        values: histogram.values.iter().flatten().map(value_text).collect(),
        counts: histogram.counts.clone(),
        other_count: histogram.other_count,
    });
    wire.zeros = profile.zeros.unwrap_or(0);
    wire.negatives = profile.negatives.unwrap_or(0);
    wire.nan = profile.nan.unwrap_or(0);
    wire.infinite = profile.infinite.unwrap_or(0);
    wire.empty_strings = profile.empty_strings.unwrap_or(0);
    wire.true_count = profile.true_count.unwrap_or(0);
    wire.false_count = profile.false_count.unwrap_or(0);
    wire.length_min = profile.length_min;
    wire.length_mean = profile.length_mean;
    wire.length_max = profile.length_max;
    wire.semantic_type = profile
        .semantic
        .as_ref()
        .and_then(|semantic| semantic.detected.as_ref())
        .map(snake_name)
        .unwrap_or_default();
    wire.pii = profile.pii;
    wire.masked = profile.masked;
    (wire, metrics)
}

/// The profile's scalar statistics as metrics: numeric kinds as their values, temporal ones as Unix
/// seconds (standard deviation already in seconds); text and boolean columns give only
/// `distinct_count`.
fn metrics_of(column: &str, profile: &ColumnProfile) -> Vec<Metric> {
    let metric = |kind: MetricKind, value: f64| Metric {
        name: kind.as_str().to_owned(),
        column: column.to_owned(),
        value,
    };
    let mut metrics = Vec::new();
    if let Some(distinct) = profile.distinct {
        metrics.push(metric(MetricKind::DistinctCount, distinct as f64));
    }
    let numeric = matches!(
        profile.kind,
        ColumnKind::Integer | ColumnKind::Decimal | ColumnKind::Float | ColumnKind::Temporal
    );
    if !numeric {
        return metrics;
    }
    let median = profile
        .quantiles
        .as_ref()
        .map(|quantiles| &quantiles.p50)
        .or(profile.median.as_ref());
    for (kind, value) in [
        (MetricKind::Min, profile.min.as_ref()),
        (MetricKind::Max, profile.max.as_ref()),
        (MetricKind::Mean, profile.mean.as_ref()),
        (MetricKind::Median, median),
    ] {
        if let Some(value) = value.and_then(number)
            && value.is_finite()
        {
            metrics.push(metric(kind, value));
        }
    }
    if let Some(std_dev) = profile.std_dev.filter(|value| value.is_finite()) {
        metrics.push(metric(MetricKind::StdDev, std_dev));
    }
    metrics
}

/// A value as a number: integers and floats as they are, RFC 3339 timestamps as Unix seconds.
fn number(value: &ProfileValue) -> Option<f64> {
    match value {
        ProfileValue::Integer(value) => Some(*value as f64),
        ProfileValue::Float(value) => Some(*value),
        ProfileValue::Text(text) => chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|instant| instant.timestamp_micros() as f64 / 1e6),
        ProfileValue::Boolean(_) => None,
    }
}

fn value_text(value: &ProfileValue) -> String {
    match value {
        ProfileValue::Integer(value) => value.to_string(),
        ProfileValue::Float(value) => value.to_string(),
        ProfileValue::Text(text) => text.clone(),
        ProfileValue::Boolean(value) => value.to_string(),
    }
}

/// The snake_case name serde gives a profiler enum (`per_day`, `credit_card`, `temporal`).
fn snake_name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::profiler::TextAccumulator;

    #[test]
    fn a_pii_column_leaves_masked_with_its_counts() {
        let emails: Vec<String> = (0..200)
            .map(|i| format!("person{}@example.com", i % 40))
            .collect();
        let texts: Vec<&str> = emails.iter().map(String::as_str).collect();
        let mut accumulator = TextAccumulator::new();
        accumulator.push_strs(&texts, None).unwrap();
        let column = ColumnReport {
            name: "email".into(),
            data_type: "text".into(),
            error: None,
            skipped: false,
            profile: Some(accumulator.finish()),
        };
        let (wire, metrics) = to_wire(column);
        assert!(wire.pii && wire.masked, "{wire:?}");
        assert_eq!(wire.semantic_type, "email");
        assert_eq!((wire.count, wire.distinct), (200, Some(40)));
        assert_eq!(wire.top_values.len().min(10), wire.top_values.len());
        assert!(wire.top_values.iter().all(|top| top.count == 5));
        let encoded = format!("{wire:?}");
        assert!(!encoded.contains("@example.com"), "{encoded}");
        assert!(!encoded.contains("person1"), "{encoded}");
        assert_eq!(metrics.len(), 1);
        assert_eq!(
            (metrics[0].name.as_str(), metrics[0].value),
            ("distinct_count", 40.0)
        );
    }

    #[test]
    fn temporal_metrics_are_unix_seconds() {
        assert_eq!(
            number(&ProfileValue::Text("1970-01-01T00:01:00.500000Z".into())),
            Some(60.5)
        );
        assert_eq!(number(&ProfileValue::Integer(-3)), Some(-3.0));
        assert_eq!(number(&ProfileValue::Boolean(true)), None);
    }
}
