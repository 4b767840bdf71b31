//! Numeric columns: [`NumericAccumulator`] for floats, [`IntegerAccumulator`] for integers and
//! decimals carried as an `i64` mantissa with a scale (exact min, max and sum in `i128`).

use super::distribution::{Distribution, DistributionValue, Summary};
use super::moments::Moments;
use super::profile::{ColumnKind, ColumnProfile, Histogram, Outliers, ProfileValue, Quantiles, TopValue};
use super::util::{decimal_text, masked_chunks, pow10, valid_values};
use super::{BATCH_CHUNK, HISTOGRAM_BINS, ProfileError, ProfileResult, TOP_K, ZSCORE_THRESHOLD, check_mask};
use crate::profiler::hll::HyperLogLog;

/// Profiles a float column. Feed it with [`push_f64s`](Self::push_f64s); integers whose exact
/// min/max/sum matter belong in an [`IntegerAccumulator`].
#[derive(Debug, Clone)]
pub struct NumericAccumulator {
    count: u64,
    nulls: u64,
    nan: u64,
    infinite: u64,
    zeros: u64,
    negatives: u64,
    min: f64,
    max: f64,
    moments: Moments,
    distribution: Distribution<f64>,
    scratch: Vec<f64>,
}

impl Default for NumericAccumulator {
    fn default() -> Self {
        Self::new()
    }
}

impl NumericAccumulator {
    pub fn new() -> Self {
        Self {
            count: 0,
            nulls: 0,
            nan: 0,
            infinite: 0,
            zeros: 0,
            negatives: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            moments: Moments::default(),
            distribution: Distribution::new(),
            scratch: Vec::new(),
        }
    }

    /// Adds a batch; `valid[i] == false` marks row `i` as NULL (no mask: all rows valid).
    pub fn push_f64s(&mut self, values: &[f64], valid: Option<&[bool]>) -> ProfileResult<()> {
        check_mask(values.len(), valid)?;
        for (chunk, mask) in masked_chunks(values, valid, BATCH_CHUNK) {
            self.push_chunk(chunk.iter().copied(), mask);
        }
        Ok(())
    }

    fn push_chunk(&mut self, values: impl ExactSizeIterator<Item = f64>, mask: Option<&[bool]>) {
        self.count += values.len() as u64;
        self.scratch.clear();
        let mut keep = |value: f64, scratch: &mut Vec<f64>| {
            if value.is_finite() {
                // `+ 0.0` turns -0.0 into 0.0 so both count as one value.
                scratch.push(value + 0.0);
            } else if value.is_nan() {
                self.nan += 1;
            } else {
                self.infinite += 1;
            }
        };
        match mask {
            None => values.for_each(|value| keep(value, &mut self.scratch)),
            Some(mask) => {
                for (value, &valid) in values.zip(mask) {
                    if valid {
                        keep(value, &mut self.scratch);
                    } else {
                        self.nulls += 1;
                    }
                }
            }
        }
        let batch = &self.scratch;
        self.zeros += batch.iter().filter(|&&value| value == 0.0).count() as u64;
        self.negatives += batch.iter().filter(|&&value| value < 0.0).count() as u64;
        self.min = batch.iter().copied().fold(self.min, f64::min);
        self.max = batch.iter().copied().fold(self.max, f64::max);
        self.moments.merge(&Moments::of_batch(batch));
        self.distribution.add_slice(batch);
    }

    pub fn merge(&mut self, other: Self) {
        self.count += other.count;
        self.nulls += other.nulls;
        self.nan += other.nan;
        self.infinite += other.infinite;
        self.zeros += other.zeros;
        self.negatives += other.negatives;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.moments.merge(&other.moments);
        self.distribution.merge(other.distribution);
    }

    pub fn finish(self) -> ColumnProfile {
        let mut profile = ColumnProfile::empty(ColumnKind::Float, self.count, self.nulls);
        profile.nan = Some(self.nan);
        profile.infinite = Some(self.infinite);
        profile.zeros = Some(self.zeros);
        profile.negatives = Some(self.negatives);
        let finite = self.moments.n;
        if finite > 0 {
            profile.min = Some(ProfileValue::Float(self.min));
            profile.max = Some(ProfileValue::Float(self.max));
            profile.sum = Some(self.moments.mean * finite as f64);
        }
        let mean = (finite > 0).then_some(self.moments.mean);
        let summary = self.distribution.summarize(TOP_K);
        fill_numeric(
            &mut profile,
            &summary,
            &self.moments,
            mean,
            (self.min, self.max),
            1.0,
            ProfileValue::Float,
        );
        profile
    }
}

/// Profiles an integer column, or a decimal column as `i64` mantissas with a fixed scale
/// (`12345` at scale 2 is `123.45`). Min, max and `sum_exact` are exact for any input; the sum is kept
/// in `i128`, which cannot overflow below 2^64 values. Moments use `f64` of the mantissas
/// (relative error ~1e-16). Decimals wider than an `i64` mantissa (NUMERIC(38) and up) belong in a
/// [`NumericAccumulator`] as floats.
#[derive(Debug, Clone)]
pub struct IntegerAccumulator {
    scale: Option<u32>,
    count: u64,
    nulls: u64,
    zeros: u64,
    negatives: u64,
    min: i64,
    max: i64,
    sum: i128,
    /// The first value seen. Moments are taken of `value - pivot`, so values near ±2^63 keep their
    /// spread in `f64` (a raw `i64 as f64` there rounds to multiples of 2048); the mean comes from
    /// the exact sum and the central moments do not change under a shift.
    pivot: Option<i64>,
    moments: Moments,
    distribution: Distribution<i64>,
    scratch: Vec<i64>,
    scratch_f64: Vec<f64>,
}

impl Default for IntegerAccumulator {
    fn default() -> Self {
        Self::integer()
    }
}

/// Largest decimal scale accepted (the widest NUMERIC scale of common engines).
const MAX_SCALE: u32 = 38;

impl IntegerAccumulator {
    /// An integer column.
    pub fn integer() -> Self {
        Self {
            scale: None,
            count: 0,
            nulls: 0,
            zeros: 0,
            negatives: 0,
            min: i64::MAX,
            max: i64::MIN,
            sum: 0,
            pivot: None,
            moments: Moments::default(),
            distribution: Distribution::new(),
            scratch: Vec::new(),
            scratch_f64: Vec::new(),
        }
    }

    /// A decimal column whose values arrive as mantissas with `scale` fractional digits.
    pub fn decimal(scale: u32) -> ProfileResult<Self> {
        if scale > MAX_SCALE {
            return Err(ProfileError::ScaleTooLarge {
                scale,
                max: MAX_SCALE,
            });
        }
        Ok(Self {
            scale: Some(scale),
            ..Self::integer()
        })
    }

    /// Adds a batch; `valid[i] == false` marks row `i` as NULL.
    pub fn push_i64s(&mut self, values: &[i64], valid: Option<&[bool]>) -> ProfileResult<()> {
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
        self.zeros += batch.iter().filter(|&&value| value == 0).count() as u64;
        self.negatives += batch.iter().filter(|&&value| value < 0).count() as u64;
        self.min = batch.iter().copied().fold(self.min, i64::min);
        self.max = batch.iter().copied().fold(self.max, i64::max);
        self.sum += batch.iter().map(|&value| i128::from(value)).sum::<i128>();
        if self.pivot.is_none() {
            self.pivot = batch.first().copied();
        }
        let pivot = i128::from(self.pivot.unwrap_or(0));
        self.scratch_f64.clear();
        self.scratch_f64
            .extend(batch.iter().map(|&value| (i128::from(value) - pivot) as f64));
        self.moments.merge(&Moments::of_batch(&self.scratch_f64));
        self.distribution.add_slice(batch);
    }

    /// Merges another accumulator of the same kind and scale.
    pub fn merge(&mut self, other: Self) -> ProfileResult<()> {
        if self.scale != other.scale {
            return Err(ProfileError::ScaleMismatch {
                left: self.scale.unwrap_or(0),
                right: other.scale.unwrap_or(0),
            });
        }
        self.count += other.count;
        self.nulls += other.nulls;
        self.zeros += other.zeros;
        self.negatives += other.negatives;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        let mut theirs = other.moments;
        if let (Some(mine), Some(their_pivot)) = (self.pivot, other.pivot) {
            // Re-centre their moments on our pivot; central moments do not change.
            theirs.mean += (i128::from(their_pivot) - i128::from(mine)) as f64;
        } else if self.pivot.is_none() {
            self.pivot = other.pivot;
        }
        self.moments.merge(&theirs);
        self.distribution.merge(other.distribution);
        Ok(())
    }

    pub fn finish(self) -> ColumnProfile {
        let kind = if self.scale.is_some() {
            ColumnKind::Decimal
        } else {
            ColumnKind::Integer
        };
        let scale = self.scale.unwrap_or(0);
        let unit = pow10(scale);
        let mut profile = ColumnProfile::empty(kind, self.count, self.nulls);
        profile.zeros = Some(self.zeros);
        profile.negatives = Some(self.negatives);
        let n = self.moments.n;
        let value = move |mantissa: i64| match self.scale {
            None => ProfileValue::Integer(mantissa),
            Some(_) => ProfileValue::Float(mantissa as f64 / unit),
        };
        let mut mean = None;
        if n > 0 {
            profile.min = Some(value(self.min));
            profile.max = Some(value(self.max));
            profile.sum = Some(self.sum as f64 / unit);
            profile.sum_exact = Some(decimal_text(self.sum, scale));
            // From the exact sum: better than the running mean for huge integers.
            mean = Some(self.sum as f64 / n as f64 / unit);
        }
        let summary = self.distribution.summarize(TOP_K);
        fill_numeric(
            &mut profile,
            &summary,
            &self.moments,
            mean,
            (self.min as f64, self.max as f64),
            unit,
            value,
        );
        profile
    }
}

/// Fills the statistics shared by every numeric kind. `unit` converts raw values (mantissas) to real
/// values; `mean` is in real units; `raw_range` is (min, max) in raw units.
fn fill_numeric<T: DistributionValue>(
    profile: &mut ColumnProfile,
    summary: &Summary<T>,
    moments: &Moments,
    mean: Option<f64>,
    raw_range: (f64, f64),
    unit: f64,
    value: impl Fn(T) -> ProfileValue,
) {
    let non_null = moments.n;
    fill_distribution(profile, summary, non_null, &value);
    let Some(mean) = mean else {
        return;
    };
    let (raw_min, raw_max) = raw_range;
    profile.range = Some((raw_max - raw_min) / unit);
    profile.mean = Some(ProfileValue::Float(mean));
    let variance = moments.variance().map(|variance| variance / (unit * unit));
    let std_dev = variance.map(f64::sqrt);
    profile.variance = variance;
    profile.std_dev = std_dev;
    profile.skewness = moments.skewness();
    profile.kurtosis = moments.excess_kurtosis();

    let bins = summary.equal_width(raw_min, raw_max, HISTOGRAM_BINS);
    profile.histogram = Some(Histogram::equal_width(
        bins,
        summary.is_exact(),
        summary.count_error(2),
        |edge| ProfileValue::Float(edge / unit),
    ));

    if let (Some(q1), Some(q3)) = (summary.quantile(0.25), summary.quantile(0.75)) {
        let (q1, q3) = (q1.to_f64(), q3.to_f64());
        let iqr = q3 - q1;
        let (lower_fence, upper_fence) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
        let raw_mean = mean * unit;
        let raw_std = std_dev.unwrap_or(0.0) * unit;
        let zscore_count = if raw_std > 0.0 {
            summary.count_below(raw_mean - ZSCORE_THRESHOLD * raw_std)
                + summary.count_above(raw_mean + ZSCORE_THRESHOLD * raw_std)
        } else {
            0
        };
        profile.outliers = Some(Outliers {
            method: if summary.is_exact() {
                "exact"
            } else {
                "sketch_estimate"
            },
            iqr_lower_fence: lower_fence / unit,
            iqr_upper_fence: upper_fence / unit,
            iqr_count: summary.count_below(lower_fence) + summary.count_above(upper_fence),
            zscore_threshold: ZSCORE_THRESHOLD,
            zscore_count,
            count_error: summary.count_error(2),
        });
    }
}

/// Fills distinct, top values, mode and quantiles from a distribution summary.
pub(crate) fn fill_distribution<T: DistributionValue>(
    profile: &mut ColumnProfile,
    summary: &Summary<T>,
    non_null: u64,
    value: &impl Fn(T) -> ProfileValue,
) {
    profile.distinct = Some(summary.distinct);
    profile.distinct_exact = Some(summary.distinct_exact);
    profile.distinct_error = Some(if summary.distinct_exact {
        0.0
    } else {
        HyperLogLog::relative_standard_error()
    });
    profile.distinct_ratio = (non_null > 0).then(|| summary.distinct as f64 / non_null as f64);
    profile.top_values = Some(
        summary
            .top
            .iter()
            .map(|&(top, count)| TopValue {
                value: value(top),
                count,
                count_error: summary.top_error,
            })
            .collect(),
    );
    profile.top_values_exact = Some(summary.top_error == 0 && summary.distinct_exact);
    profile.mode = summary.top.first().map(|&(top, _)| value(top));
    if non_null == 0 {
        return;
    }
    let quantile = |q: f64| summary.quantile(q).map(value);
    if let (Some(p25), Some(p50), Some(p75), Some(p95), Some(p99)) = (
        quantile(0.25),
        quantile(0.5),
        quantile(0.75),
        quantile(0.95),
        quantile(0.99),
    ) {
        profile.median = Some(p50.clone());
        profile.quantiles = Some(Quantiles {
            p25,
            p50,
            p75,
            p95,
            p99,
        });
    }
    profile.quantiles_exact = Some(summary.is_exact());
    profile.quantile_rank_error = Some(summary.rank_error);
}
