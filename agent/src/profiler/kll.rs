//! KLL quantile sketch (Karnin, Lang, Liberty 2016) in the lazy form used by Apache DataSketches:
//! compactors of capacity `k · (2/3)^depth` (at least 8), the lowest full one is sorted and every
//! other item (random offset) is promoted with doubled weight.
//!
//! Hand-written rather than `tdigest`/`tdigests`/`sketches-ddsketch`: t-digest has no proven error
//! bound and the `tdigest` crate rebuilds the digest on every `merge_unsorted(Vec)` call; DDSketch
//! bounds the *relative value* error, which is useless for offset data (timestamps around 1.7e15 µs,
//! surrogate keys), whereas KLL bounds the *rank* error whatever the scale. The sketch is generic
//! over the value type, so integers and timestamps are sketched exactly as `i64`.

use std::cmp::Ordering;

use super::util::{RngCore, SeedableRng, SplitMix64};

/// A value the sketches can order, hash and turn into a float.
pub(crate) trait SketchValue: Copy + PartialEq {
    fn order(&self, other: &Self) -> Ordering;
    fn to_f64(self) -> f64;
}

impl SketchValue for i64 {
    #[inline]
    fn order(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl SketchValue for f64 {
    #[inline]
    fn order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
}

const MIN_WIDTH: usize = 8;
const SEED: u64 = 0x4b4c_4c5f_7365_6564;

#[derive(Debug, Clone)]
pub(crate) struct Kll<T> {
    k: usize,
    /// `levels[h]` holds items of weight `2^h`.
    levels: Vec<Vec<T>>,
    n: u64,
    size: usize,
    max_size: usize,
    /// `capacities[h]`: capacity of level h for the current number of levels.
    capacities: Vec<usize>,
    rng: SplitMix64,
}

impl<T: SketchValue> Kll<T> {
    pub(crate) fn new(k: usize) -> Self {
        let mut sketch = Self {
            k,
            levels: vec![Vec::new()],
            n: 0,
            size: 0,
            max_size: 0,
            capacities: Vec::new(),
            rng: SplitMix64::seed_from_u64(SEED),
        };
        sketch.update_capacities();
        sketch
    }

    /// Normalised rank error at 99 % confidence for one quantile, from Apache DataSketches' fit for
    /// this algorithm: `2.296 / k^0.9723` (0.68 % at k = 400). Checked in the tests below.
    pub(crate) fn rank_error(k: usize) -> f64 {
        2.296 / (k as f64).powf(0.9723)
    }

    pub(crate) fn count(&self) -> u64 {
        self.n
    }

    /// Recomputes level capacities and their total after the number of levels changed.
    fn update_capacities(&mut self) {
        let height = self.levels.len();
        self.capacities = (0..height)
            .map(|level| {
                let depth = height - 1 - level;
                let capacity = (self.k as f64 * (2.0f64 / 3.0).powi(depth as i32)).ceil() as usize;
                capacity.max(MIN_WIDTH)
            })
            .collect();
        self.max_size = self.capacities.iter().sum();
    }

    /// Test helper: production code feeds weighted items from the exact tables.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, value: T) {
        if let Some(level) = self.levels.first_mut() {
            level.push(value);
        }
        self.n += 1;
        self.size += 1;
        if self.size >= self.max_size {
            self.compress();
        }
    }

    pub(crate) fn extend(&mut self, values: &[T]) {
        let mut rest = values;
        while !rest.is_empty() {
            let room = self.max_size.saturating_sub(self.size).max(1).min(rest.len());
            let (now, later) = rest.split_at(room);
            if let Some(level) = self.levels.first_mut() {
                level.extend_from_slice(now);
            }
            self.n += now.len() as u64;
            self.size += now.len();
            if self.size >= self.max_size {
                self.compress();
            }
            rest = later;
        }
    }

    /// Inserts `weight` copies at once: one item at level `h` for every set bit `h` of the weight,
    /// which is exactly what lossless compaction of that many copies would hold.
    pub(crate) fn insert_weighted(&mut self, value: T, weight: u64) {
        for level in 0..64 {
            if (weight >> level) & 1 == 1 {
                while self.levels.len() <= level {
                    self.levels.push(Vec::new());
                }
                if let Some(items) = self.levels.get_mut(level) {
                    items.push(value);
                }
                self.size += 1;
            }
        }
        self.n += weight;
        self.update_capacities();
        self.compress();
    }

    pub(crate) fn merge(&mut self, other: Self) {
        while self.levels.len() < other.levels.len() {
            self.levels.push(Vec::new());
        }
        for (mine, theirs) in self.levels.iter_mut().zip(other.levels) {
            mine.extend(theirs);
        }
        self.n += other.n;
        self.size = self.levels.iter().map(Vec::len).sum();
        self.update_capacities();
        self.compress();
    }

    fn compress(&mut self) {
        while self.size >= self.max_size {
            let full = self
                .levels
                .iter()
                .zip(&self.capacities)
                .position(|(items, &capacity)| items.len() >= capacity);
            match full {
                Some(level) => self.compact(level),
                // Unreachable while size >= max_size (some level must be at capacity); stop rather
                // than loop if the invariant were ever broken.
                None => break,
            }
        }
    }

    fn compact(&mut self, level: usize) {
        if level + 1 == self.levels.len() {
            self.levels.push(Vec::new());
            self.update_capacities();
        }
        let offset = (self.rng.next_u64() & 1) as usize;
        let (lower, upper) = self.levels.split_at_mut(level + 1);
        let (Some(items), Some(next)) = (lower.last_mut(), upper.first_mut()) else {
            return;
        };
        items.sort_unstable_by(T::order);
        // An odd item stays behind so the promoted part has even length.
        let start = items.len() % 2;
        let promoted = (items.len() - start) / 2;
        next.extend(
            items
                .iter()
                .skip(start + offset)
                .step_by(2)
                .take(promoted)
                .copied(),
        );
        items.truncate(start);
        self.size -= promoted;
    }

    /// All retained items with their weights, sorted by value, equal values combined.
    pub(crate) fn sorted_weights(&self) -> Vec<(T, u64)> {
        let mut items: Vec<(T, u64)> = self
            .levels
            .iter()
            .enumerate()
            .flat_map(|(level, items)| items.iter().map(move |&value| (value, 1u64 << level)))
            .collect();
        items.sort_unstable_by(|a, b| a.0.order(&b.0));
        let mut combined: Vec<(T, u64)> = Vec::with_capacity(items.len());
        for (value, weight) in items {
            match combined.last_mut() {
                Some(last) if last.0.order(&value).is_eq() => last.1 += weight,
                _ => combined.push((value, weight)),
            }
        }
        combined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn true_rank_range(sorted: &[f64], value: f64) -> (usize, usize) {
        let below = sorted.partition_point(|&x| x < value);
        let at_or_below = sorted.partition_point(|&x| x <= value);
        (below, at_or_below)
    }

    fn nearest_rank_quantile(weights: &[(f64, u64)], total: u64, q: f64) -> f64 {
        let rank = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(value, weight) in weights {
            seen += weight;
            if seen >= rank {
                return value;
            }
        }
        f64::NAN
    }

    #[test]
    fn quantiles_are_within_the_stated_rank_error() {
        let k = 400;
        let bound = Kll::<f64>::rank_error(k);
        for seed in 1..=5u64 {
            let mut rng = SplitMix64::seed_from_u64(seed);
            let values: Vec<f64> = (0..300_000)
                .map(|i| {
                    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                    if seed % 2 == 0 {
                        -u.ln() * 1e6
                    } else {
                        i as f64 * 0.5 + u
                    }
                })
                .collect();
            let mut sketch = Kll::new(k);
            sketch.extend(&values);
            assert_eq!(sketch.count(), values.len() as u64);
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let weights = sketch.sorted_weights();
            let n = values.len() as f64;
            for q in [0.01, 0.25, 0.5, 0.75, 0.95, 0.99] {
                let estimate = nearest_rank_quantile(&weights, sketch.count(), q);
                let (below, at_or_below) = true_rank_range(&sorted, estimate);
                let target = q * n;
                let error = if target < below as f64 {
                    (below as f64 - target) / n
                } else if target > at_or_below as f64 {
                    (target - at_or_below as f64) / n
                } else {
                    0.0
                };
                assert!(
                    error <= bound,
                    "seed {seed} q {q}: rank error {error} above {bound}"
                );
            }
        }
    }

    #[test]
    fn weighted_inserts_keep_total_weight() {
        let mut sketch = Kll::<i64>::new(64);
        for value in 0..1000i64 {
            sketch.insert_weighted(value, (value as u64 % 37) + 1);
        }
        let total: u64 = sketch.sorted_weights().iter().map(|&(_, weight)| weight).sum();
        assert_eq!(total, sketch.count());
        assert_eq!(
            sketch.count(),
            (0..1000u64).map(|value| value % 37 + 1).sum::<u64>()
        );
    }

    #[test]
    fn merge_keeps_count_and_bound() {
        let k = 200;
        let mut left = Kll::<i64>::new(k);
        let mut right = Kll::<i64>::new(k);
        for value in 0..100_000i64 {
            left.insert(value);
            right.insert(100_000 + value);
        }
        left.merge(right);
        assert_eq!(left.count(), 200_000);
        let weights = left.sorted_weights();
        let mut seen = 0u64;
        let median = weights
            .iter()
            .find(|&&(_, weight)| {
                seen += weight;
                seen >= 100_000
            })
            .map(|&(value, _)| value);
        let median = median.unwrap_or(i64::MIN) as f64;
        assert!((median - 100_000.0).abs() / 200_000.0 <= Kll::<i64>::rank_error(k));
    }
}
