//! Boolean columns: true and false counts.

use super::profile::{ColumnKind, ColumnProfile, Histogram, HistogramKind, ProfileValue, TopValue};
use super::{ProfileResult, check_mask};

/// Profiles a boolean column: true/false counts, mode and a two-bin histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BooleanAccumulator {
    count: u64,
    nulls: u64,
    trues: u64,
}

impl BooleanAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a batch; `valid[i] == false` marks row `i` as NULL.
    pub fn push_bools(&mut self, values: &[bool], valid: Option<&[bool]>) -> ProfileResult<()> {
        check_mask(values.len(), valid)?;
        self.count += values.len() as u64;
        match valid {
            None => self.trues += values.iter().filter(|&&value| value).count() as u64,
            Some(mask) => {
                self.nulls += mask.iter().filter(|&&valid| !valid).count() as u64;
                self.trues += values
                    .iter()
                    .zip(mask)
                    .filter(|&(&value, &valid)| value && valid)
                    .count() as u64;
            }
        }
        Ok(())
    }

    pub fn merge(&mut self, other: Self) {
        self.count += other.count;
        self.nulls += other.nulls;
        self.trues += other.trues;
    }

    pub fn finish(self) -> ColumnProfile {
        let mut profile = ColumnProfile::empty(ColumnKind::Boolean, self.count, self.nulls);
        let non_null = self.count - self.nulls;
        let falses = non_null - self.trues;
        profile.true_count = Some(self.trues);
        profile.false_count = Some(falses);
        let mut counts: Vec<(bool, u64)> = [(true, self.trues), (false, falses)]
            .into_iter()
            .filter(|&(_, count)| count > 0)
            .collect();
        // Most frequent first; on a tie, false first (false < true, as for other kinds' value order).
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        profile.distinct = Some(counts.len() as u64);
        profile.distinct_exact = Some(true);
        profile.distinct_error = Some(0.0);
        profile.distinct_ratio = (non_null > 0).then(|| counts.len() as f64 / non_null as f64);
        profile.mode = counts.first().map(|&(value, _)| ProfileValue::Boolean(value));
        profile.top_values = Some(
            counts
                .iter()
                .map(|&(value, count)| TopValue {
                    value: ProfileValue::Boolean(value),
                    count,
                    count_error: 0,
                })
                .collect(),
        );
        profile.top_values_exact = Some(true);
        let bins = counts
            .iter()
            .map(|&(value, count)| (ProfileValue::Boolean(value), count))
            .collect();
        profile.histogram = Some(Histogram::labelled(HistogramKind::TopK, true, 0, bins, Some(0)));
        profile
    }
}
