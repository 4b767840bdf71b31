//! Metric names: the vocabulary agents ship and the control plane stores.

use std::fmt;

/// A metric an agent measures. The string form is what travels in `cwic.agent.v1.Metric.name` and is
/// stored in the control plane; never rename one, add new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// Rows in a table (table-level).
    RowCount,
    /// NULL values in a column.
    NullCount,
    /// Distinct non-null values of a column, from a profile (exact, or HyperLogLog past a cap).
    DistinctCount,
    /// Smallest and largest value of a numeric column (temporal: Unix seconds), from a profile.
    Min,
    Max,
    /// Mean, sample standard deviation and median of a numeric column (temporal: Unix seconds), from
    /// a profile.
    Mean,
    StdDev,
    Median,
    /// Seconds from the newest value of a table's freshness column (the first of the source's
    /// `freshness_columns`, by default `updated_at`, `modified_at`, `loaded_at`, `created_at`, …, that
    /// the table has) to the collection; for files without one, from the last modification.
    /// Table-level.
    FreshnessLag,
    /// Jensen–Shannon distance (base 2, 0 = same, 1 = disjoint) between a column's histogram and the
    /// one of the previous profile the agent took, from a profile.
    DistributionDrift,
}

impl MetricKind {
    pub const ALL: [MetricKind; 10] = [
        MetricKind::RowCount,
        MetricKind::NullCount,
        MetricKind::DistinctCount,
        MetricKind::Min,
        MetricKind::Max,
        MetricKind::Mean,
        MetricKind::StdDev,
        MetricKind::Median,
        MetricKind::FreshnessLag,
        MetricKind::DistributionDrift,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::RowCount => "row_count",
            MetricKind::NullCount => "null_count",
            MetricKind::DistinctCount => "distinct_count",
            MetricKind::Min => "min",
            MetricKind::Max => "max",
            MetricKind::Mean => "mean",
            MetricKind::StdDev => "std_dev",
            MetricKind::Median => "median",
            MetricKind::FreshnessLag => "freshness_lag",
            MetricKind::DistributionDrift => "distribution_drift",
        }
    }

    /// Whether the metric is measured per column (as opposed to per table).
    pub fn is_column_level(self) -> bool {
        match self {
            MetricKind::RowCount | MetricKind::FreshnessLag => false,
            MetricKind::NullCount
            | MetricKind::DistinctCount
            | MetricKind::Min
            | MetricKind::Max
            | MetricKind::Mean
            | MetricKind::StdDev
            | MetricKind::Median
            | MetricKind::DistributionDrift => true,
        }
    }

    pub fn parse(name: &str) -> Option<MetricKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in MetricKind::ALL {
            assert_eq!(MetricKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MetricKind::parse("row_count"), Some(MetricKind::RowCount));
        assert_eq!(MetricKind::parse("rows"), None);
    }
}
