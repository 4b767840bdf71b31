//! The value distribution of an ordered column (integers, decimals, floats, timestamps): exact value
//! counts while the column has at most [`EXACT_DISTINCT_CAP`] distinct values, then HyperLogLog +
//! Misra–Gries + KLL. The switch replays the exact counts into the sketches (weighted, losslessly), so
//! nothing seen before it is lost.

use super::hll::HyperLogLog;
use super::kll::{Kll, SketchValue};
use super::table::{CountTable, Counted, FrequentItems, TableKey, sort_by_count};
use super::{EXACT_DISTINCT_CAP, FREQUENT_CAPACITY, KLL_K};

/// A value that the distribution can count: a sketch value keyed by itself.
pub(crate) trait DistributionValue: SketchValue + for<'a> TableKey<Ref<'a> = Self> {
    fn hash64(self) -> u64;
}

impl DistributionValue for i64 {
    #[inline]
    fn hash64(self) -> u64 {
        super::util::hash_i64(self)
    }
}

impl DistributionValue for f64 {
    #[inline]
    fn hash64(self) -> u64 {
        super::util::hash_f64(self)
    }
}

#[derive(Debug, Clone)]
struct Sketches<T> {
    hll: HyperLogLog,
    frequent: FrequentItems<T>,
    kll: Kll<T>,
}

#[derive(Debug, Clone)]
enum State<T> {
    Exact(CountTable<T>),
    Sketched(Box<Sketches<T>>),
}

#[derive(Debug, Clone)]
pub(crate) struct Distribution<T> {
    state: State<T>,
}

impl<T: DistributionValue> Distribution<T> {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Exact(CountTable::new()),
        }
    }

    /// Adds finite, non-null values (floats already normalised: no NaN, no `-0.0`).
    pub(crate) fn add_slice(&mut self, values: &[T]) {
        let mut rest = values;
        while !rest.is_empty() {
            match &mut self.state {
                State::Exact(table) => {
                    let mut consumed = rest.len();
                    for (index, &value) in rest.iter().enumerate() {
                        if table.add(value, value.hash64(), 1) && table.len() > EXACT_DISTINCT_CAP {
                            consumed = index + 1;
                            break;
                        }
                    }
                    rest = rest.get(consumed..).unwrap_or_default();
                    self.spill_if_over_cap();
                }
                State::Sketched(sketches) => {
                    for &value in rest {
                        let hash = value.hash64();
                        sketches.hll.insert_hash(hash);
                        sketches.frequent.add(value, hash, 1);
                    }
                    sketches.kll.extend(rest);
                    rest = &[];
                }
            }
        }
    }

    fn spill_if_over_cap(&mut self) {
        if let State::Exact(table) = &mut self.state
            && table.len() > EXACT_DISTINCT_CAP
        {
            let table = std::mem::replace(table, CountTable::new());
            self.state = State::Sketched(Box::new(Self::sketch_exact(table.into_entries())));
        }
    }

    fn sketch_exact(entries: Vec<Counted<T>>) -> Sketches<T> {
        let mut hll = HyperLogLog::new();
        let mut kll = Kll::new(KLL_K);
        for entry in &entries {
            hll.insert_hash(entry.hash);
            kll.insert_weighted(entry.key, entry.count);
        }
        Sketches {
            hll,
            frequent: FrequentItems::from_exact(entries, FREQUENT_CAPACITY),
            kll,
        }
    }

    pub(crate) fn merge(&mut self, other: Self) {
        match (&mut self.state, other.state) {
            (State::Exact(mine), State::Exact(theirs)) => {
                for entry in theirs.into_entries() {
                    mine.add_entry(entry);
                }
                self.spill_if_over_cap();
            }
            (State::Sketched(mine), State::Exact(theirs)) => {
                let theirs = Self::sketch_exact(theirs.into_entries());
                Self::merge_sketches(mine, theirs);
            }
            (State::Exact(mine), State::Sketched(theirs)) => {
                let mut sketches =
                    Self::sketch_exact(std::mem::replace(mine, CountTable::new()).into_entries());
                Self::merge_sketches(&mut sketches, *theirs);
                self.state = State::Sketched(Box::new(sketches));
            }
            (State::Sketched(mine), State::Sketched(theirs)) => Self::merge_sketches(mine, *theirs),
        }
    }

    fn merge_sketches(mine: &mut Sketches<T>, theirs: Sketches<T>) {
        mine.hll.merge(&theirs.hll);
        mine.frequent.merge(theirs.frequent);
        mine.kll.merge(theirs.kll);
    }

    pub(crate) fn summarize(self, top_k: usize) -> Summary<T> {
        match self.state {
            State::Exact(table) => {
                let mut entries = table.into_entries();
                let distinct = entries.len() as u64;
                let mut sorted: Vec<(T, u64)> =
                    entries.iter().map(|entry| (entry.key, entry.count)).collect();
                sorted.sort_unstable_by(|a, b| SketchValue::order(&a.0, &b.0));
                sort_by_count(&mut entries);
                entries.truncate(top_k);
                Summary {
                    distinct,
                    distinct_exact: true,
                    top: entries
                        .into_iter()
                        .map(|entry| (entry.key, entry.count))
                        .collect(),
                    top_error: 0,
                    total: sorted.iter().map(|&(_, count)| count).sum(),
                    sorted,
                    rank_error: 0.0,
                }
            }
            State::Sketched(sketches) => {
                let sorted = sketches.kll.sorted_weights();
                Summary {
                    // An estimate can overshoot; there are never more distinct values than values.
                    distinct: (sketches.hll.estimate().round() as u64).min(sketches.kll.count()),
                    distinct_exact: false,
                    top: sketches
                        .frequent
                        .top(top_k)
                        .into_iter()
                        .map(|entry| (entry.key, entry.count))
                        .collect(),
                    top_error: sketches.frequent.max_error(),
                    total: sketches.kll.count(),
                    sorted,
                    rank_error: Kll::<T>::rank_error(KLL_K),
                }
            }
        }
    }
}

/// What a finished distribution knows: distinct count, top values, and a weighted sorted view
/// (every value with its count when exact, the KLL items with their weights otherwise).
#[derive(Debug, Clone)]
pub(crate) struct Summary<T> {
    pub(crate) distinct: u64,
    pub(crate) distinct_exact: bool,
    pub(crate) top: Vec<(T, u64)>,
    /// Largest undercount of a `top` count (0 when exact).
    pub(crate) top_error: u64,
    sorted: Vec<(T, u64)>,
    total: u64,
    /// Normalised rank error of quantiles and counts read from `sorted` (0 when exact).
    pub(crate) rank_error: f64,
}

impl<T: DistributionValue> Summary<T> {
    pub(crate) fn is_exact(&self) -> bool {
        self.distinct_exact
    }

    /// Nearest-rank quantile: the smallest value whose cumulative count reaches ⌈q·n⌉ (at least 1).
    pub(crate) fn quantile(&self, q: f64) -> Option<T> {
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(value, weight) in &self.sorted {
            seen += weight;
            if seen >= rank {
                return Some(value);
            }
        }
        self.sorted.last().map(|&(value, _)| value)
    }

    /// Values strictly below `bound` (estimated from the sketch when not exact).
    pub(crate) fn count_below(&self, bound: f64) -> u64 {
        self.sorted
            .iter()
            .take_while(|(value, _)| value.to_f64() < bound)
            .map(|&(_, weight)| weight)
            .sum()
    }

    /// Values strictly above `bound`.
    pub(crate) fn count_above(&self, bound: f64) -> u64 {
        self.sorted
            .iter()
            .rev()
            .take_while(|(value, _)| value.to_f64() > bound)
            .map(|&(_, weight)| weight)
            .sum()
    }

    /// Absolute error of a count read from the sorted view: 0 when exact, else `rank_error · n` per
    /// boundary involved.
    pub(crate) fn count_error(&self, boundaries: u32) -> u64 {
        if self.distinct_exact {
            0
        } else {
            (self.rank_error * self.total as f64 * f64::from(boundaries)).ceil() as u64
        }
    }

    /// Equal-width histogram of `bins` bins over `[min, max]`; a single bin when min == max.
    pub(crate) fn equal_width(&self, min: f64, max: f64, bins: usize) -> Vec<(f64, f64, u64)> {
        if self.sorted.is_empty() || !(min.is_finite() && max.is_finite()) || bins == 0 {
            return Vec::new();
        }
        if max <= min {
            return vec![(min, max, self.total)];
        }
        let width = (max - min) / bins as f64;
        let mut counts = vec![0u64; bins];
        for &(value, weight) in &self.sorted {
            let position = ((value.to_f64() - min) / width).floor();
            let index = if position.is_nan() || position < 0.0 {
                0
            } else {
                (position as usize).min(bins - 1)
            };
            if let Some(count) = counts.get_mut(index) {
                *count += weight;
            }
        }
        counts
            .into_iter()
            .enumerate()
            .map(|(index, count)| {
                let lower = min + width * index as f64;
                let upper = if index + 1 == bins {
                    max
                } else {
                    min + width * (index + 1) as f64
                };
                (lower, upper, count)
            })
            .collect()
    }
}
