//! Column statistics kernels: per-column accumulators that the sources feed batch by batch, and
//! the mergeable sketches behind them.
//!
//! Owns the statistics of issue #3 for one column at a time — counts, nulls, distinct (exact, then
//! HyperLogLog), moments, quantiles (exact, then KLL), top-k (exact, then Misra–Gries), histograms,
//! outliers, text lengths and semantic types with a PII flag — plus Pearson/Spearman correlation
//! across numeric columns and the masking of PII values. Every accumulator takes plain slices (so a
//! PostgreSQL COPY decoder, an Arrow array or a CSV reader can feed it without copying), merges with
//! another of its kind (partitions, increments), and finishes into a [`ColumnProfile`] whose JSON
//! shape is stable.
//!
//! Must not do I/O, log values, know any source or wire format, or keep memory that grows with the
//! row count: every structure is bounded (exact tables switch to sketches at fixed caps). Profiles of
//! PII columns still hold raw values until [`mask_top_values`] runs, so call it before anything leaves
//! the agent.
//!
//! Error bounds, all stated in the output: distinct counts past [`EXACT_DISTINCT_CAP`] values have a
//! relative standard error of 1.04/√2^14 = 0.81 %; quantiles past the cap have a normalised rank
//! error of 0.68 % at 99 % confidence (KLL, k = 400); top-k counts past the cap are lower bounds
//! within `count_error` of the truth.

mod boolean;
mod columns;
mod correlation;
mod distribution;
mod hll;
mod kll;
mod mask;
mod moments;
mod numeric;
mod profile;
mod semantic;
mod table;
mod temporal;
mod text;
mod util;

#[cfg(test)]
mod tests;

pub use boolean::BooleanAccumulator;
pub use columns::{ColumnBatch, ColumnBuffer, ColumnShape, ColumnValues, TableProfiler};
pub use correlation::{CorrelationAccumulator, CorrelationProfile};
pub use mask::{mask_text, mask_top_values};
pub use numeric::{IntegerAccumulator, NumericAccumulator};
pub use profile::{ColumnKind, ColumnProfile, ProfileValue};
pub use temporal::TemporalAccumulator;
pub use text::TextAccumulator;

/// Distinct values counted exactly (with their counts) before a column switches to sketches. One
/// more than this fills a 65,536-bucket hash table to its 7/8 load limit, so the table never grows
/// past 1.6 MiB per numeric column.
pub const EXACT_DISTINCT_CAP: usize = 57_343;
/// Distinct texts counted exactly before switching to sketches: a 16,384-bucket table (0.5 MiB)
/// plus the texts themselves.
pub const TEXT_EXACT_DISTINCT_CAP: usize = 14_335;
/// HyperLogLog precision: 2^14 registers, 16 KiB, relative standard error 0.81 %.
pub const HLL_PRECISION: u32 = 14;
/// KLL accuracy parameter: normalised rank error ≈ 0.68 % (99 % confidence).
pub const KLL_K: usize = 400;
/// Counters of the Misra–Gries heavy-hitter sketch; a count's error is at most 2n/capacity.
pub const FREQUENT_CAPACITY: usize = 1024;
/// Top values reported per column.
pub const TOP_K: usize = 10;
/// Bins of the equal-width numeric histogram.
pub const HISTOGRAM_BINS: usize = 20;
/// Distinct days kept for the per-day temporal histogram (~270 years).
pub const MAX_HISTOGRAM_DAYS: usize = 100_000;
/// Distinct text values examined for semantic types.
pub const SEMANTIC_SAMPLE: usize = 512;
/// Share of sampled values a type must match to be the column's detected type.
pub const SEMANTIC_DETECTION_RATE: f64 = 0.8;
/// Share of sampled values a PII type must match for the column to be treated as PII. Low on
/// purpose: a free-text column with some e-mail addresses is masked too.
pub const PII_MATCH_RATE: f64 = 0.1;
/// |z| above which a value counts as a z-score outlier.
pub const ZSCORE_THRESHOLD: f64 = 3.0;
/// Rows kept for Spearman correlation.
pub const SPEARMAN_SAMPLE: usize = 4096;
/// Batches are processed in chunks of this many values so scratch space stays in cache.
const BATCH_CHUNK: usize = 4096;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    #[error("validity mask has {mask} entries but the batch has {values} values")]
    MaskLength { values: usize, mask: usize },
    #[error("decimal scale {scale} is above the supported {max}")]
    ScaleTooLarge { scale: u32, max: u32 },
    #[error("cannot merge accumulators of decimal scales {left} and {right}")]
    ScaleMismatch { left: u32, right: u32 },
    #[error("correlation batch has {got} columns, expected {expected}")]
    ColumnCount { expected: usize, got: usize },
    #[error("correlation batch has {got} validity masks, expected {expected}")]
    MaskCount { expected: usize, got: usize },
    #[error("correlation column {column} has {got} rows, expected {expected}")]
    ColumnLength {
        column: usize,
        expected: usize,
        got: usize,
    },
    #[error("cannot merge correlations over different columns")]
    ColumnMismatch,
    #[error("text batch is not valid UTF-8")]
    InvalidText,
}

pub type ProfileResult<T> = Result<T, ProfileError>;

fn check_mask(values: usize, valid: Option<&[bool]>) -> ProfileResult<()> {
    match valid {
        Some(mask) if mask.len() != values => Err(ProfileError::MaskLength {
            values,
            mask: mask.len(),
        }),
        _ => Ok(()),
    }
}
