//! Value → count tables keyed by a precomputed hash: the exact counter used while a column's
//! cardinality is small, and the Misra–Gries heavy-hitter sketch used after that.

use std::cmp::Ordering;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry as TableEntry;

/// A value kind that can key a [`CountTable`]: looked up by a borrowed form (so a `&str` is only
/// copied when it is new) and ordered for deterministic ties.
pub(crate) trait TableKey: Clone {
    type Ref<'a>: Copy;
    fn matches(&self, other: Self::Ref<'_>) -> bool;
    fn from_ref(other: Self::Ref<'_>) -> Self;
    fn order(&self, other: &Self) -> Ordering;
}

impl TableKey for i64 {
    type Ref<'a> = i64;
    #[inline]
    fn matches(&self, other: i64) -> bool {
        *self == other
    }
    #[inline]
    fn from_ref(other: i64) -> Self {
        other
    }
    fn order(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
}

/// Floats are keyed by their bits; callers never insert NaN and normalise `-0.0` to `0.0`.
impl TableKey for f64 {
    type Ref<'a> = f64;
    #[inline]
    fn matches(&self, other: f64) -> bool {
        self.to_bits() == other.to_bits()
    }
    #[inline]
    fn from_ref(other: f64) -> Self {
        other
    }
    fn order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

impl TableKey for Box<str> {
    type Ref<'a> = &'a str;
    #[inline]
    fn matches(&self, other: &str) -> bool {
        &**self == other
    }
    fn from_ref(other: &str) -> Self {
        Box::from(other)
    }
    fn order(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Counted<K> {
    pub(crate) key: K,
    pub(crate) hash: u64,
    pub(crate) count: u64,
}

/// Exact value → count table.
#[derive(Debug, Clone)]
pub(crate) struct CountTable<K> {
    table: HashTable<Counted<K>>,
}

impl<K: TableKey> CountTable<K> {
    pub(crate) fn new() -> Self {
        Self {
            table: HashTable::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Adds `weight` occurrences; returns true when the key was new.
    #[inline]
    pub(crate) fn add(&mut self, key: K::Ref<'_>, hash: u64, weight: u64) -> bool {
        match self.table.entry(
            hash,
            |entry| entry.hash == hash && entry.key.matches(key),
            |entry| entry.hash,
        ) {
            TableEntry::Occupied(mut occupied) => {
                occupied.get_mut().count += weight;
                false
            }
            TableEntry::Vacant(vacant) => {
                vacant.insert(Counted {
                    key: K::from_ref(key),
                    hash,
                    count: weight,
                });
                true
            }
        }
    }

    /// Adds an owned entry (merging), without copying the key when it is new.
    pub(crate) fn add_entry(&mut self, entry: Counted<K>) {
        let hash = entry.hash;
        match self.table.entry(
            hash,
            |mine| mine.hash == hash && mine.key.order(&entry.key).is_eq(),
            |mine| mine.hash,
        ) {
            TableEntry::Occupied(mut occupied) => occupied.get_mut().count += entry.count,
            TableEntry::Vacant(vacant) => {
                vacant.insert(entry);
            }
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Counted<K>> {
        self.table.iter()
    }

    pub(crate) fn into_entries(self) -> Vec<Counted<K>> {
        self.table.into_iter().collect()
    }

    fn retain(&mut self, keep: impl FnMut(&mut Counted<K>) -> bool) {
        self.table.retain(keep);
    }
}

/// Entries sorted by count (descending), ties by value (ascending): the order of every top-k list.
pub(crate) fn sort_by_count<K: TableKey>(entries: &mut [Counted<K>]) {
    entries.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.order(&b.key)));
}

/// Misra–Gries heavy hitters with the "reverse purge" of Apache DataSketches' frequent-items
/// sketch: when the table exceeds its capacity, the median count is subtracted from every counter,
/// counters at or below zero are dropped, and the median is added to `offset`. For every value the
/// true count lies in `[estimate, estimate + offset]` (estimate 0 for values not in the table), and
/// `offset <= 2 n / capacity` up to ties. Merging adds counters and offsets, so the bound survives.
#[derive(Debug, Clone)]
pub(crate) struct FrequentItems<K> {
    counters: CountTable<K>,
    capacity: usize,
    offset: u64,
}

impl<K: TableKey> FrequentItems<K> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            counters: CountTable::new(),
            capacity,
            offset: 0,
        }
    }

    /// Seeds the sketch from exact counts: the `capacity` largest are kept exactly, and the largest
    /// dropped count becomes the error offset (a dropped value's true count is at most that).
    pub(crate) fn from_exact(mut entries: Vec<Counted<K>>, capacity: usize) -> Self {
        let mut sketch = Self::new(capacity);
        if entries.len() > capacity {
            sort_by_count(&mut entries);
            sketch.offset = entries.get(capacity).map_or(0, |entry| entry.count);
            entries.truncate(capacity);
        }
        for entry in entries {
            sketch.counters.add_entry(entry);
        }
        sketch
    }

    /// Largest possible undercount of any reported count.
    pub(crate) fn max_error(&self) -> u64 {
        self.offset
    }

    #[inline]
    pub(crate) fn add(&mut self, key: K::Ref<'_>, hash: u64, weight: u64) {
        self.counters.add(key, hash, weight);
        if self.counters.len() > self.capacity {
            self.purge();
        }
    }

    pub(crate) fn merge(&mut self, other: Self) {
        self.offset += other.offset;
        for entry in other.counters.into_entries() {
            self.counters.add_entry(entry);
            if self.counters.len() > self.capacity {
                self.purge();
            }
        }
    }

    fn purge(&mut self) {
        let mut counts: Vec<u64> = self.counters.iter().map(|entry| entry.count).collect();
        let middle = counts.len() / 2;
        let (_, median, _) = counts.select_nth_unstable(middle);
        let median = *median;
        self.counters.retain(|entry| {
            if entry.count > median {
                entry.count -= median;
                true
            } else {
                false
            }
        });
        self.offset += median;
    }

    /// The `k` largest counters, by count then value.
    pub(crate) fn top(&self, k: usize) -> Vec<Counted<K>> {
        let mut entries: Vec<Counted<K>> = self.counters.iter().cloned().collect();
        sort_by_count(&mut entries);
        entries.truncate(k);
        entries
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::util::{RngCore, SeedableRng, SplitMix64, hash_i64};
    use super::*;

    fn skewed_stream(n: usize, seed: u64) -> Vec<i64> {
        let mut rng = SplitMix64::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                // Zipf-like: value v with probability ~ 1/v over 1..100_000.
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                (100_000f64.powf(u)) as i64
            })
            .collect()
    }

    #[test]
    fn counts_lie_within_the_stated_bound() {
        let stream = skewed_stream(200_000, 1);
        let mut truth: HashMap<i64, u64> = HashMap::new();
        let mut sketch = FrequentItems::<i64>::new(256);
        for &value in &stream {
            *truth.entry(value).or_default() += 1;
            sketch.add(value, hash_i64(value), 1);
        }
        assert!(sketch.max_error() <= 2 * stream.len() as u64 / 256 + 1);
        for entry in sketch.top(50) {
            let true_count = truth[&entry.key];
            assert!(entry.count <= true_count && true_count <= entry.count + sketch.max_error());
        }
        // Every value heavier than the error offset is reported.
        let top_keys: Vec<i64> = sketch.top(256).iter().map(|entry| entry.key).collect();
        for (value, count) in truth {
            if count > sketch.max_error() {
                assert!(top_keys.contains(&value), "heavy value {value} ({count}) missing");
            }
        }
    }

    #[test]
    fn merged_sketches_keep_the_bound() {
        let left_stream = skewed_stream(100_000, 2);
        let right_stream = skewed_stream(100_000, 3);
        let mut truth: HashMap<i64, u64> = HashMap::new();
        let mut left = FrequentItems::<i64>::new(128);
        let mut right = FrequentItems::<i64>::new(128);
        for &value in &left_stream {
            *truth.entry(value).or_default() += 1;
            left.add(value, hash_i64(value), 1);
        }
        for &value in &right_stream {
            *truth.entry(value).or_default() += 1;
            right.add(value, hash_i64(value), 1);
        }
        left.merge(right);
        for entry in left.top(20) {
            let true_count = truth[&entry.key];
            assert!(entry.count <= true_count && true_count <= entry.count + left.max_error());
        }
    }
}
