//! Timestamp columns: microseconds since the Unix epoch in UTC. Sources convert zoned values to UTC
//! before feeding them (a `timestamptz` is already UTC on the wire; a local `timestamp` is taken as
//! UTC) and dates to midnight UTC.

use super::distribution::Distribution;
use super::moments::Moments;
use super::numeric::fill_distribution;
use super::profile::{ColumnKind, ColumnProfile, Histogram, HistogramKind, ProfileValue};
use super::table::CountTable;
use super::util::{MICROS_PER_DAY, date_text, hash_i64, masked_chunks, timestamp_text, valid_values};
use super::{BATCH_CHUNK, HISTOGRAM_BINS, MAX_HISTOGRAM_DAYS, ProfileResult, TOP_K, check_mask};

const MICROS_PER_SECOND: f64 = 1e6;

/// Profiles a timestamp column: min, max, mean, median and quantiles as RFC 3339 UTC text, spread in
/// seconds, and a per-day histogram (equal-width once more than [`MAX_HISTOGRAM_DAYS`] days appear).
/// Quantiles past the exact cap use the KLL sketch over the exact `i64` microseconds.
#[derive(Debug, Clone)]
pub struct TemporalAccumulator {
    count: u64,
    nulls: u64,
    min: i64,
    max: i64,
    moments: Moments,
    distribution: Distribution<i64>,
    /// Values per UTC day; `None` once more than [`MAX_HISTOGRAM_DAYS`] days were seen.
    days: Option<CountTable<i64>>,
    scratch: Vec<i64>,
    scratch_f64: Vec<f64>,
}

impl Default for TemporalAccumulator {
    fn default() -> Self {
        Self::new()
    }
}

impl TemporalAccumulator {
    pub fn new() -> Self {
        Self {
            count: 0,
            nulls: 0,
            min: i64::MAX,
            max: i64::MIN,
            moments: Moments::default(),
            distribution: Distribution::new(),
            days: Some(CountTable::new()),
            scratch: Vec::new(),
            scratch_f64: Vec::new(),
        }
    }

    /// Adds a batch of timestamps (µs since the epoch, UTC); `valid[i] == false` marks a NULL.
    pub fn push_micros(&mut self, values: &[i64], valid: Option<&[bool]>) -> ProfileResult<()> {
        check_mask(values.len(), valid)?;
        for (chunk, mask) in masked_chunks(values, valid, BATCH_CHUNK) {
            self.push_chunk(chunk, mask);
        }
        Ok(())
    }

    fn push_chunk(&mut self, values: &[i64], mask: Option<&[bool]>) {
        self.count += values.len() as u64;
        let batch = valid_values(values, mask, &mut self.scratch);
        self.nulls += (values.len() - batch.len()) as u64;
        self.min = batch.iter().copied().fold(self.min, i64::min);
        self.max = batch.iter().copied().fold(self.max, i64::max);
        self.scratch_f64.clear();
        self.scratch_f64.extend(batch.iter().map(|&value| value as f64));
        self.moments.merge(&Moments::of_batch(&self.scratch_f64));
        self.distribution.add_slice(batch);
        if let Some(days) = &mut self.days {
            // Sorted or clustered input repeats the same day: count runs, look up once per run.
            let mut run: Option<(i64, u64)> = None;
            for &value in batch {
                let day = value.div_euclid(MICROS_PER_DAY);
                match &mut run {
                    Some((current, count)) if *current == day => *count += 1,
                    _ => {
                        if let Some((current, count)) = run {
                            days.add(current, hash_i64(current), count);
                        }
                        run = Some((day, 1));
                    }
                }
            }
            if let Some((current, count)) = run {
                days.add(current, hash_i64(current), count);
            }
            if days.len() > MAX_HISTOGRAM_DAYS {
                self.days = None;
            }
        }
    }

    pub fn merge(&mut self, other: Self) {
        self.count += other.count;
        self.nulls += other.nulls;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.moments.merge(&other.moments);
        self.distribution.merge(other.distribution);
        self.days = match (self.days.take(), other.days) {
            (Some(mut mine), Some(theirs)) => {
                for entry in theirs.into_entries() {
                    mine.add_entry(entry);
                }
                (mine.len() <= MAX_HISTOGRAM_DAYS).then_some(mine)
            }
            _ => None,
        };
    }

    pub fn finish(self) -> ColumnProfile {
        let mut profile = ColumnProfile::empty(ColumnKind::Temporal, self.count, self.nulls);
        let n = self.moments.n;
        let value = |micros: i64| ProfileValue::Text(timestamp_text(micros));
        let summary = self.distribution.summarize(TOP_K);
        fill_distribution(&mut profile, &summary, n, &value);
        if n == 0 {
            return profile;
        }
        profile.min = Some(value(self.min));
        profile.max = Some(value(self.max));
        profile.range = Some((self.max as f64 - self.min as f64) / MICROS_PER_SECOND);
        profile.mean = Some(value(self.moments.mean.round() as i64));
        profile.variance = self
            .moments
            .variance()
            .map(|variance| variance / (MICROS_PER_SECOND * MICROS_PER_SECOND));
        profile.std_dev = profile.variance.map(f64::sqrt);
        profile.skewness = self.moments.skewness();
        profile.kurtosis = self.moments.excess_kurtosis();
        profile.histogram = Some(match self.days {
            Some(days) => {
                let mut entries = days.into_entries();
                entries.sort_unstable_by_key(|entry| entry.key);
                let bins = entries
                    .into_iter()
                    .map(|entry| (ProfileValue::Text(date_text(entry.key)), entry.count))
                    .collect();
                Histogram::labelled(HistogramKind::PerDay, true, 0, bins, None)
            }
            None => Histogram::equal_width(
                summary.equal_width(self.min as f64, self.max as f64, HISTOGRAM_BINS),
                summary.is_exact(),
                summary.count_error(2),
                |edge| value(edge.round() as i64),
            ),
        });
        profile
    }
}
