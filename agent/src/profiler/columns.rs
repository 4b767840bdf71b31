//! Column batches and the per-table driver: a source decodes rows into a [`ColumnBatch`] (one
//! buffer per column, a few thousand rows), and a [`TableProfiler`] feeds each buffer to that
//! column's accumulator and the numeric columns to the correlation accumulator. Several profilers
//! made with [`TableProfiler::workers`] can take alternate batches on their own threads and be merged
//! at the end.

use std::sync::{Arc, OnceLock};

use super::{
    BooleanAccumulator, ColumnProfile, CorrelationAccumulator, CorrelationProfile, IntegerAccumulator,
    NumericAccumulator, ProfileError, ProfileResult, TemporalAccumulator, TextAccumulator,
};

/// How a source delivers a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnShape {
    Integer,
    /// `i64` mantissas with this many fractional digits.
    Decimal(u32),
    Float,
    Text,
    /// Microseconds since the Unix epoch, UTC.
    Micros,
    Boolean,
}

/// The values of one column in a batch. NULL rows hold a placeholder (0, empty text, false) and are
/// marked in [`ColumnBuffer::valid`], so every buffer has one entry per row.
#[derive(Debug, Clone)]
pub enum ColumnValues {
    Integer(Vec<i64>),
    Decimal(Vec<i64>),
    Float(Vec<f64>),
    /// UTF-8 texts laid end to end; row `i` spans `ends[i-1]..ends[i]`.
    Text {
        bytes: Vec<u8>,
        ends: Vec<usize>,
    },
    Micros(Vec<i64>),
    Boolean(Vec<bool>),
}

#[derive(Debug, Clone)]
pub struct ColumnBuffer {
    pub values: ColumnValues,
    pub valid: Vec<bool>,
    /// Rows holding NaN that the buffer's kind cannot carry (decimal NaN); they are in `valid` as
    /// NULL placeholders and moved from `nulls` to `nan` when the profile finishes.
    pub nan: u64,
    /// Rows holding ±infinity that the buffer's kind cannot carry (decimal, date and timestamp
    /// infinities); handled like `nan`.
    pub infinite: u64,
    /// Set once a value could not be decoded; the column is dropped from the profile with this message.
    pub failed: Option<String>,
}

impl ColumnBuffer {
    pub fn new(shape: ColumnShape, capacity: usize) -> Self {
        let values = match shape {
            ColumnShape::Integer => ColumnValues::Integer(Vec::with_capacity(capacity)),
            ColumnShape::Decimal(_) => ColumnValues::Decimal(Vec::with_capacity(capacity)),
            ColumnShape::Float => ColumnValues::Float(Vec::with_capacity(capacity)),
            ColumnShape::Text => ColumnValues::Text {
                bytes: Vec::with_capacity(capacity * 16),
                ends: Vec::with_capacity(capacity),
            },
            ColumnShape::Micros => ColumnValues::Micros(Vec::with_capacity(capacity)),
            ColumnShape::Boolean => ColumnValues::Boolean(Vec::with_capacity(capacity)),
        };
        Self {
            values,
            valid: Vec::with_capacity(capacity),
            nan: 0,
            infinite: 0,
            failed: None,
        }
    }

    /// Appends a NULL.
    pub fn push_null(&mut self) {
        self.valid.push(false);
        match &mut self.values {
            ColumnValues::Integer(values) | ColumnValues::Decimal(values) | ColumnValues::Micros(values) => {
                values.push(0)
            }
            ColumnValues::Float(values) => values.push(0.0),
            ColumnValues::Text { bytes, ends } => ends.push(bytes.len()),
            ColumnValues::Boolean(values) => values.push(false),
        }
    }

    pub fn len(&self) -> usize {
        self.valid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.valid.is_empty()
    }
}

/// A few thousand rows of a table, column by column, in the order the [`TableProfiler`] was built with.
#[derive(Debug, Clone)]
pub struct ColumnBatch {
    pub columns: Vec<ColumnBuffer>,
}

impl ColumnBatch {
    pub fn new(shapes: &[ColumnShape], capacity: usize) -> Self {
        Self {
            columns: shapes
                .iter()
                .map(|&shape| ColumnBuffer::new(shape, capacity))
                .collect(),
        }
    }

    #[cfg(test)]
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, ColumnBuffer::len)
    }
}

enum Accumulator {
    Integer(IntegerAccumulator),
    Float(NumericAccumulator),
    Text(TextAccumulator),
    Temporal(TemporalAccumulator),
    Boolean(BooleanAccumulator),
}

struct ColumnState {
    accumulator: Option<Accumulator>,
    nan: u64,
    infinite: u64,
    failed: Option<String>,
    /// Position in the correlation's column list, for numeric columns.
    correlation_slot: Option<usize>,
}

/// The result for one column: its profile, or why it has none.
pub type ColumnOutcome = Result<ColumnProfile, String>;

/// Profiles a table's columns from batches; finishes into one outcome per column and the
/// correlation of the numeric columns.
pub struct TableProfiler {
    columns: Vec<ColumnState>,
    correlation: Option<CorrelationAccumulator>,
    /// Per numeric column, the first integer value seen by any worker: integers enter the
    /// correlation as `value - offset`, so values near ±2^63 keep their spread in `f64` (correlation
    /// does not change under a shift or a scale, so decimal mantissas need no rescaling either).
    /// Shared, so that merged workers agree on the shift.
    offsets: Arc<[OnceLock<i64>]>,
    scratch_f64: Vec<Vec<f64>>,
}

impl TableProfiler {
    /// `count` profilers for the same columns, to be fed disjoint batches and merged with
    /// [`merge`](Self::merge); `columns` are (name, shape) in batch order.
    pub fn workers(columns: &[(String, ColumnShape)], count: usize) -> ProfileResult<Vec<Self>> {
        let numeric = columns.iter().filter(|(_, shape)| is_numeric(*shape)).count();
        let offsets: Arc<[OnceLock<i64>]> = (0..numeric).map(|_| OnceLock::new()).collect();
        (0..count.max(1))
            .map(|_| Self::with_offsets(columns, offsets.clone()))
            .collect()
    }

    fn with_offsets(columns: &[(String, ColumnShape)], offsets: Arc<[OnceLock<i64>]>) -> ProfileResult<Self> {
        let mut numeric = Vec::new();
        let mut states = Vec::with_capacity(columns.len());
        for (name, shape) in columns {
            let accumulator = match shape {
                ColumnShape::Integer => Accumulator::Integer(IntegerAccumulator::integer()),
                ColumnShape::Decimal(scale) => Accumulator::Integer(IntegerAccumulator::decimal(*scale)?),
                ColumnShape::Float => Accumulator::Float(NumericAccumulator::new()),
                ColumnShape::Text => Accumulator::Text(TextAccumulator::new()),
                ColumnShape::Micros => Accumulator::Temporal(TemporalAccumulator::new()),
                ColumnShape::Boolean => Accumulator::Boolean(BooleanAccumulator::new()),
            };
            let correlation_slot = is_numeric(*shape).then(|| {
                numeric.push(name.clone());
                numeric.len() - 1
            });
            states.push(ColumnState {
                accumulator: Some(accumulator),
                nan: 0,
                infinite: 0,
                failed: None,
                correlation_slot,
            });
        }
        let width = numeric.len();
        Ok(Self {
            columns: states,
            correlation: (width >= 2).then(|| CorrelationAccumulator::new(numeric)),
            offsets,
            scratch_f64: vec![Vec::new(); width],
        })
    }

    /// Adds a batch built with the same column order.
    pub fn push(&mut self, batch: &ColumnBatch) -> ProfileResult<()> {
        for (state, buffer) in self.columns.iter_mut().zip(&batch.columns) {
            state.nan += buffer.nan;
            state.infinite += buffer.infinite;
            if let Some(message) = &buffer.failed
                && state.failed.is_none()
            {
                state.failed = Some(message.clone());
                state.accumulator = None;
            }
            let Some(accumulator) = &mut state.accumulator else {
                continue;
            };
            let valid = Some(buffer.valid.as_slice());
            match (accumulator, &buffer.values) {
                (
                    Accumulator::Integer(acc),
                    ColumnValues::Integer(values) | ColumnValues::Decimal(values),
                ) => acc.push_i64s(values, valid)?,
                (Accumulator::Float(acc), ColumnValues::Float(values)) => acc.push_f64s(values, valid)?,
                (Accumulator::Temporal(acc), ColumnValues::Micros(values)) => {
                    acc.push_micros(values, valid)?
                }
                (Accumulator::Boolean(acc), ColumnValues::Boolean(values)) => {
                    acc.push_bools(values, valid)?
                }
                (Accumulator::Text(acc), ColumnValues::Text { bytes, ends }) => {
                    push_texts(acc, bytes, ends, &buffer.valid)?
                }
                _ => {
                    state.failed = Some("the source delivered values of another kind".to_owned());
                    state.accumulator = None;
                }
            }
        }
        self.push_correlation(batch)
    }

    fn push_correlation(&mut self, batch: &ColumnBatch) -> ProfileResult<()> {
        let Some(correlation) = &mut self.correlation else {
            return Ok(());
        };
        let mut masks: Vec<Option<&[bool]>> = vec![None; self.scratch_f64.len()];
        for (state, buffer) in self.columns.iter().zip(&batch.columns) {
            let Some(slot) = state.correlation_slot else {
                continue;
            };
            let scratch = &mut self.scratch_f64[slot];
            scratch.clear();
            match &buffer.values {
                ColumnValues::Integer(values) | ColumnValues::Decimal(values) => {
                    let first = values
                        .iter()
                        .zip(&buffer.valid)
                        .find_map(|(&value, &valid)| valid.then_some(value));
                    let offset = match (self.offsets.get(slot), first) {
                        (Some(offset), Some(first)) => *offset.get_or_init(|| first),
                        (Some(offset), None) => offset.get().copied().unwrap_or(0),
                        (None, _) => 0,
                    };
                    let offset = i128::from(offset);
                    scratch.extend(values.iter().map(|&value| (i128::from(value) - offset) as f64))
                }
                ColumnValues::Float(values) => scratch.extend_from_slice(values),
                _ => {}
            }
            if scratch.len() == buffer.len() {
                masks[slot] = Some(buffer.valid.as_slice());
            } else {
                // A failed column: no values, all missing.
                scratch.resize(buffer.len(), f64::NAN);
            }
        }
        let slices: Vec<&[f64]> = self.scratch_f64.iter().map(Vec::as_slice).collect();
        correlation.push_columns(&slices, &masks)
    }

    /// Adds the state of another profiler of the same columns (made by the same
    /// [`workers`](Self::workers) call, so both shifted integers alike for the correlation).
    pub fn merge(&mut self, other: Self) -> ProfileResult<()> {
        if self.columns.len() != other.columns.len() {
            return Err(ProfileError::ColumnCount {
                expected: self.columns.len(),
                got: other.columns.len(),
            });
        }
        for (mine, theirs) in self.columns.iter_mut().zip(other.columns) {
            mine.nan += theirs.nan;
            mine.infinite += theirs.infinite;
            if mine.failed.is_none()
                && let Some(message) = theirs.failed
            {
                mine.failed = Some(message);
                mine.accumulator = None;
            }
            match (&mut mine.accumulator, theirs.accumulator) {
                (Some(Accumulator::Integer(acc)), Some(Accumulator::Integer(other))) => acc.merge(other)?,
                (Some(Accumulator::Float(acc)), Some(Accumulator::Float(other))) => acc.merge(other),
                (Some(Accumulator::Text(acc)), Some(Accumulator::Text(other))) => acc.merge(other),
                (Some(Accumulator::Temporal(acc)), Some(Accumulator::Temporal(other))) => acc.merge(other),
                (Some(Accumulator::Boolean(acc)), Some(Accumulator::Boolean(other))) => acc.merge(other),
                (None, _) => {}
                (Some(_), None) => {
                    mine.failed = Some("column was not profiled".to_owned());
                    mine.accumulator = None;
                }
                (Some(_), Some(_)) => return Err(ProfileError::ColumnMismatch),
            }
        }
        match (&mut self.correlation, other.correlation) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (None, None) => Ok(()),
            _ => Err(ProfileError::ColumnMismatch),
        }
    }

    /// One outcome per column in batch order, and the correlation when there are two or more
    /// numeric columns.
    pub fn finish(self) -> (Vec<ColumnOutcome>, Option<CorrelationProfile>) {
        let outcomes = self
            .columns
            .into_iter()
            .map(|state| {
                if let Some(message) = state.failed {
                    return Err(message);
                }
                let mut profile = match state.accumulator {
                    Some(Accumulator::Integer(acc)) => acc.finish(),
                    Some(Accumulator::Float(acc)) => acc.finish(),
                    Some(Accumulator::Text(acc)) => acc.finish(),
                    Some(Accumulator::Temporal(acc)) => acc.finish(),
                    Some(Accumulator::Boolean(acc)) => acc.finish(),
                    None => return Err("column was not profiled".to_owned()),
                };
                move_specials(&mut profile, state.nan, state.infinite);
                Ok(profile)
            })
            .collect();
        (outcomes, self.correlation.map(CorrelationAccumulator::finish))
    }
}

fn is_numeric(shape: ColumnShape) -> bool {
    matches!(
        shape,
        ColumnShape::Integer | ColumnShape::Decimal(_) | ColumnShape::Float
    )
}

/// Moves NaN and infinity rows, delivered as NULL placeholders, from `nulls` to `nan` / `infinite`.
fn move_specials(profile: &mut ColumnProfile, nan: u64, infinite: u64) {
    if nan == 0 && infinite == 0 {
        return;
    }
    profile.nulls = profile.nulls.saturating_sub(nan + infinite);
    profile.null_percent = (profile.count > 0).then(|| 100.0 * profile.nulls as f64 / profile.count as f64);
    profile.nan = Some(profile.nan.unwrap_or(0) + nan);
    profile.infinite = Some(profile.infinite.unwrap_or(0) + infinite);
}

fn push_texts(
    accumulator: &mut TextAccumulator,
    bytes: &[u8],
    ends: &[usize],
    valid: &[bool],
) -> ProfileResult<()> {
    // Valid UTF-8 pieces laid end to end are valid UTF-8, so one check covers the whole batch.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(ProfileError::InvalidText);
    };
    let mut texts: Vec<&str> = Vec::with_capacity(ends.len());
    let mut start = 0;
    for &end in ends {
        texts.push(text.get(start..end).unwrap_or(""));
        start = end;
    }
    accumulator.push_strs(&texts, Some(valid))
}
