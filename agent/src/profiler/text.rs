//! Text columns: lengths, empties, lexicographic min/max, distinct and top values, and semantic types
//! on a bounded sample of distinct values.

use std::collections::BTreeMap;

use super::hll::HyperLogLog;
use super::profile::{ColumnKind, ColumnProfile, Histogram, HistogramKind, ProfileValue, TopValue};
use super::semantic::classify;
use super::table::{CountTable, Counted, FrequentItems, sort_by_count};
use super::util::hash_str;
use super::{FREQUENT_CAPACITY, ProfileResult, SEMANTIC_SAMPLE, TEXT_EXACT_DISTINCT_CAP, TOP_K, check_mask};

/// A uniform sample of distinct values: the `capacity` values with the smallest hashes (a KMV
/// sample). The same value always has the same hash, so samples of partitions merge into the sample
/// of the whole.
#[derive(Debug, Clone)]
struct DistinctSample {
    capacity: usize,
    entries: BTreeMap<u64, Box<str>>,
}

impl DistinctSample {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: BTreeMap::new(),
        }
    }

    #[inline]
    fn offer(&mut self, hash: u64, value: &str) {
        if self.entries.len() >= self.capacity
            && self
                .entries
                .last_key_value()
                .is_some_and(|(&largest, _)| hash >= largest)
        {
            return;
        }
        self.insert(hash, || Box::from(value));
    }

    fn insert(&mut self, hash: u64, value: impl FnOnce() -> Box<str>) {
        self.entries.entry(hash).or_insert_with(value);
        if self.entries.len() > self.capacity {
            self.entries.pop_last();
        }
    }

    fn merge(&mut self, other: Self) {
        for (hash, value) in other.entries {
            self.insert(hash, || value);
        }
    }
}

#[derive(Debug, Clone)]
struct TextSketches {
    hll: HyperLogLog,
    frequent: FrequentItems<Box<str>>,
    sample: DistinctSample,
}

impl TextSketches {
    fn from_exact(entries: Vec<Counted<Box<str>>>) -> Self {
        let mut hll = HyperLogLog::new();
        let mut sample = DistinctSample::new(SEMANTIC_SAMPLE);
        for entry in &entries {
            hll.insert_hash(entry.hash);
            sample.offer(entry.hash, &entry.key);
        }
        Self {
            hll,
            frequent: FrequentItems::from_exact(entries, FREQUENT_CAPACITY),
            sample,
        }
    }

    fn merge(&mut self, other: Self) {
        self.hll.merge(&other.hll);
        self.frequent.merge(other.frequent);
        self.sample.merge(other.sample);
    }
}

#[derive(Debug, Clone)]
enum State {
    Exact(CountTable<Box<str>>),
    Sketched(Box<TextSketches>),
}

/// Profiles a text column. Lengths count Unicode scalar values; min and max compare by code point
/// (UTF-8 byte order), not by any collation.
#[derive(Debug, Clone)]
pub struct TextAccumulator {
    count: u64,
    nulls: u64,
    empty: u64,
    length_min: u64,
    length_max: u64,
    length_sum: u64,
    min: Option<String>,
    max: Option<String>,
    state: State,
}

impl Default for TextAccumulator {
    fn default() -> Self {
        Self::new()
    }
}

impl TextAccumulator {
    pub fn new() -> Self {
        Self {
            count: 0,
            nulls: 0,
            empty: 0,
            length_min: u64::MAX,
            length_max: 0,
            length_sum: 0,
            min: None,
            max: None,
            state: State::Exact(CountTable::new()),
        }
    }

    /// Adds a batch; `valid[i] == false` marks row `i` as NULL.
    pub fn push_strs(&mut self, values: &[&str], valid: Option<&[bool]>) -> ProfileResult<()> {
        check_mask(values.len(), valid)?;
        match valid {
            None => values.iter().for_each(|value| self.push_value(value)),
            Some(mask) => {
                for (value, &valid) in values.iter().zip(mask) {
                    if valid {
                        self.push_value(value)
                    } else {
                        self.push_null()
                    }
                }
            }
        }
        Ok(())
    }

    fn push_null(&mut self) {
        self.count += 1;
        self.nulls += 1;
    }

    #[inline]
    fn push_value(&mut self, value: &str) {
        self.count += 1;
        let length = char_count(value);
        self.length_min = self.length_min.min(length);
        self.length_max = self.length_max.max(length);
        self.length_sum += length;
        self.empty += u64::from(value.is_empty());
        let hash = hash_str(value);
        let is_new = match &mut self.state {
            State::Exact(table) => table.add(value, hash, 1),
            State::Sketched(sketches) => {
                sketches.hll.insert_hash(hash);
                sketches.frequent.add(value, hash, 1);
                sketches.sample.offer(hash, value);
                true
            }
        };
        // Only a value not seen before can be a new minimum or maximum.
        if is_new {
            self.update_min_max(value);
            self.spill_if_over_cap();
        }
    }

    fn update_min_max(&mut self, value: &str) {
        if self.min.as_deref().is_none_or(|min| value < min) {
            replace_text(&mut self.min, value);
        }
        if self.max.as_deref().is_none_or(|max| value > max) {
            replace_text(&mut self.max, value);
        }
    }

    fn spill_if_over_cap(&mut self) {
        if let State::Exact(table) = &mut self.state
            && table.len() > TEXT_EXACT_DISTINCT_CAP
        {
            let table = std::mem::replace(table, CountTable::new());
            self.state = State::Sketched(Box::new(TextSketches::from_exact(table.into_entries())));
        }
    }

    pub fn merge(&mut self, other: Self) {
        self.count += other.count;
        self.nulls += other.nulls;
        self.empty += other.empty;
        self.length_min = self.length_min.min(other.length_min);
        self.length_max = self.length_max.max(other.length_max);
        self.length_sum += other.length_sum;
        if let Some(min) = other.min {
            self.update_min_max(&min);
        }
        if let Some(max) = other.max {
            self.update_min_max(&max);
        }
        match (&mut self.state, other.state) {
            (State::Exact(mine), State::Exact(theirs)) => {
                for entry in theirs.into_entries() {
                    mine.add_entry(entry);
                }
                self.spill_if_over_cap();
            }
            (State::Sketched(mine), State::Exact(theirs)) => {
                mine.merge(TextSketches::from_exact(theirs.into_entries()))
            }
            (State::Exact(mine), State::Sketched(theirs)) => {
                let mut sketches =
                    TextSketches::from_exact(std::mem::replace(mine, CountTable::new()).into_entries());
                sketches.merge(*theirs);
                self.state = State::Sketched(Box::new(sketches));
            }
            (State::Sketched(mine), State::Sketched(theirs)) => mine.merge(*theirs),
        }
    }

    pub fn finish(self) -> ColumnProfile {
        let mut profile = ColumnProfile::empty(ColumnKind::Text, self.count, self.nulls);
        let non_null = self.count - self.nulls;
        profile.empty_strings = Some(self.empty);
        if non_null > 0 {
            profile.length_min = Some(self.length_min);
            profile.length_max = Some(self.length_max);
            profile.length_mean = Some(self.length_sum as f64 / non_null as f64);
            profile.min = self.min.map(ProfileValue::Text);
            profile.max = self.max.map(ProfileValue::Text);
        }
        let (distinct, exact, top, top_error, sample, sample_is_all) = match self.state {
            State::Exact(table) => {
                let mut entries = table.into_entries();
                let distinct = entries.len() as u64;
                let all = entries.len() <= SEMANTIC_SAMPLE;
                let mut sample = DistinctSample::new(SEMANTIC_SAMPLE);
                for entry in &entries {
                    sample.offer(entry.hash, &entry.key);
                }
                sort_by_count(&mut entries);
                entries.truncate(TOP_K);
                (distinct, true, entries, 0, sample, all)
            }
            State::Sketched(sketches) => (
                // An estimate can overshoot; there are never more distinct values than values.
                (sketches.hll.estimate().round() as u64).min(non_null),
                false,
                sketches.frequent.top(TOP_K),
                sketches.frequent.max_error(),
                sketches.sample,
                false,
            ),
        };
        profile.distinct = Some(distinct);
        profile.distinct_exact = Some(exact);
        profile.distinct_error = Some(if exact {
            0.0
        } else {
            HyperLogLog::relative_standard_error()
        });
        profile.distinct_ratio = (non_null > 0).then(|| distinct as f64 / non_null as f64);
        let listed: u64 = top.iter().map(|entry| entry.count).sum();
        profile.mode = top.first().map(|entry| ProfileValue::Text(entry.key.to_string()));
        profile.top_values = Some(
            top.iter()
                .map(|entry| TopValue {
                    value: ProfileValue::Text(entry.key.to_string()),
                    count: entry.count,
                    count_error: top_error,
                })
                .collect(),
        );
        profile.top_values_exact = Some(exact);
        let bins = top
            .into_iter()
            .map(|entry| (ProfileValue::Text(entry.key.into_string()), entry.count))
            .collect();
        let other = Some(non_null.saturating_sub(listed));
        profile.histogram = Some(Histogram::labelled(
            HistogramKind::TopK,
            exact,
            top_error,
            bins,
            other,
        ));
        let values: Vec<&str> = sample.entries.values().map(|value| &**value).collect();
        let semantic = classify(&values, sample_is_all);
        profile.pii = semantic.embedded_pii_rate >= super::PII_MATCH_RATE
            || semantic
                .matches
                .iter()
                .any(|found| found.pii && found.match_rate >= super::PII_MATCH_RATE);
        profile.semantic = Some(semantic);
        profile
    }
}

fn replace_text(slot: &mut Option<String>, value: &str) {
    match slot {
        Some(text) => {
            text.clear();
            text.push_str(value);
        }
        None => *slot = Some(value.to_owned()),
    }
}

/// Unicode scalar values in `text`: bytes that do not continue a UTF-8 sequence.
#[inline]
fn char_count(text: &str) -> u64 {
    if text.is_ascii() {
        text.len() as u64
    } else {
        text.chars().count() as u64
    }
}
