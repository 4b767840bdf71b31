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
}

impl MetricKind {
    pub const ALL: [MetricKind; 2] = [MetricKind::RowCount, MetricKind::NullCount];

    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::RowCount => "row_count",
            MetricKind::NullCount => "null_count",
        }
    }

    /// Whether the metric is measured per column (as opposed to per table).
    pub fn is_column_level(self) -> bool {
        match self {
            MetricKind::RowCount => false,
            MetricKind::NullCount => true,
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
