//! The agent's memory of the last histogram of every profiled column, and how far a column's histogram
//! moved since then, as the Jensen–Shannon distance (base 2: 0 = the same distribution, 1 = disjoint);
//! collections ship that distance as the `distribution_drift` metric, and the `distribution_drift`
//! check template uses the same distance.
//!
//! Owns that memory (one JSON file per source in the state folder, replaced atomically) and the
//! distance. Equal-width histograms are compared on the previous profile's bins: the current bins' counts are spread uniformly over the previous
//! edges, with one bucket below and one above them, so a shift of the range counts as drift.
//! Labelled histograms (days, top values) are compared value by value, with the values outside the
//! top list as one more bucket. Masked (PII) columns are never remembered.
//! Must not judge the distance: thresholds are the control plane's (metrics) or the check's.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use cwic_proto::agent::v1::ProfileHistogram;
use serde::{Deserialize, Serialize};
use tracing::warn;

/// A histogram as remembered between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Remembered {
    /// Equal-width bins: `counts.len() + 1` edges as numbers (temporal edges as Unix seconds).
    Bins { edges: Vec<f64>, counts: Vec<u64> },
    /// Labelled bins (per-day or top-k) and the values outside them.
    Labels {
        labels: Vec<String>,
        counts: Vec<u64>,
        other: u64,
    },
}

impl Remembered {
    /// The histogram of a profile, when it has one that can be compared.
    pub fn of(histogram: &ProfileHistogram) -> Option<Self> {
        if histogram.counts.is_empty() {
            return None;
        }
        if histogram.kind == "equal_width" {
            let edges: Option<Vec<f64>> = histogram.edges.iter().map(|edge| edge_number(edge)).collect();
            let edges = edges?;
            (edges.len() == histogram.counts.len() + 1).then(|| Remembered::Bins {
                edges,
                counts: histogram.counts.clone(),
            })
        } else {
            (histogram.values.len() == histogram.counts.len()).then(|| Remembered::Labels {
                labels: histogram.values.clone(),
                counts: histogram.counts.clone(),
                other: histogram.other_count.unwrap_or(0),
            })
        }
    }
}

/// An edge as a number: plain numbers, or RFC 3339 timestamps as Unix seconds.
fn edge_number(edge: &str) -> Option<f64> {
    edge.parse::<f64>()
        .ok()
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(edge)
                .ok()
                .map(|at| at.timestamp_micros() as f64 / 1e6)
        })
        .filter(|value| value.is_finite())
}

/// The Jensen–Shannon distance between `previous` and `current`; `None` when they cannot be
/// compared (different kinds, or one of them holds no values).
pub fn distance(previous: &Remembered, current: &Remembered) -> Option<f64> {
    let (p, q) = match (previous, current) {
        (
            Remembered::Bins { edges, counts },
            Remembered::Bins {
                edges: current_edges,
                counts: current_counts,
            },
        ) => {
            let mut p: Vec<f64> = vec![0.0];
            p.extend(counts.iter().map(|&count| count as f64));
            p.push(0.0);
            (p, rebin(current_edges, current_counts, edges))
        }
        (
            Remembered::Labels {
                labels,
                counts,
                other,
            },
            Remembered::Labels {
                labels: current_labels,
                counts: current_counts,
                other: current_other,
            },
        ) => {
            let mut index: HashMap<&str, usize> = HashMap::new();
            for label in labels.iter().chain(current_labels) {
                let next = index.len();
                index.entry(label.as_str()).or_insert(next);
            }
            let mut p = vec![0.0; index.len() + 1];
            let mut q = vec![0.0; index.len() + 1];
            for (label, count) in labels.iter().zip(counts) {
                p[index[label.as_str()]] += *count as f64;
            }
            for (label, count) in current_labels.iter().zip(current_counts) {
                q[index[label.as_str()]] += *count as f64;
            }
            p[index.len()] = *other as f64;
            q[index.len()] = *current_other as f64;
            (p, q)
        }
        _ => return None,
    };
    js_distance(&p, &q)
}

/// Spreads equal-width bins (`edges`, `counts`) over the buckets of `target` edges: one below the
/// first edge, one per target bin, one above the last edge. A bin of zero width (a constant column)
/// puts its whole count where its value falls.
fn rebin(edges: &[f64], counts: &[u64], target: &[f64]) -> Vec<f64> {
    let bins = target.len().saturating_sub(1);
    let mut out = vec![0.0; bins + 2];
    let (Some(&low), Some(&high)) = (target.first(), target.last()) else {
        return out;
    };
    let bucket_of = |value: f64| -> usize {
        if value < low {
            0
        } else if value > high {
            bins + 1
        } else {
            // The last bin includes its upper edge.
            let position = target[1..].partition_point(|&edge| edge <= value);
            position.min(bins.saturating_sub(1)) + 1
        }
    };
    for (window, &count) in edges.windows(2).zip(counts) {
        let (start, end) = (window[0], window[1]);
        let count = count as f64;
        if count == 0.0 {
            continue;
        }
        if end <= start {
            out[bucket_of(start)] += count;
            continue;
        }
        let width = end - start;
        // Below and above the target range.
        out[0] += count * ((low.min(end) - start).max(0.0) / width);
        out[bins + 1] += count * ((end - high.max(start)).max(0.0) / width);
        for bin in 0..bins {
            let overlap = (end.min(target[bin + 1]) - start.max(target[bin])).max(0.0);
            out[bin + 1] += count * overlap / width;
        }
    }
    out
}

/// Jensen–Shannon distance (square root of the divergence, base 2) of two unnormalised
/// distributions over the same buckets; `None` when either is empty.
pub fn js_distance(p: &[f64], q: &[f64]) -> Option<f64> {
    let (p_total, q_total): (f64, f64) = (p.iter().sum(), q.iter().sum());
    if p_total <= 0.0 || q_total <= 0.0 || p.len() != q.len() {
        return None;
    }
    let mut divergence = 0.0;
    for (&p, &q) in p.iter().zip(q) {
        let (p, q) = (p / p_total, q / q_total);
        let m = (p + q) / 2.0;
        if p > 0.0 {
            divergence += 0.5 * p * (p / m).log2();
        }
        if q > 0.0 {
            divergence += 0.5 * q * (q / m).log2();
        }
    }
    Some(divergence.clamp(0.0, 1.0).sqrt())
}

/// The last histogram of every profiled column of one source, kept in the agent's state folder.
pub struct ProfileMemory {
    path: PathBuf,
    /// `schema.table` → column → histogram.
    tables: BTreeMap<String, BTreeMap<String, Remembered>>,
}

impl ProfileMemory {
    /// Opens the memory of source `source` under `state_dir`. A missing file is an empty memory; an
    /// unreadable one is logged and starts empty (drift is measured again from the next run).
    pub fn open(state_dir: &Path, source: &str) -> Self {
        let path = state_dir.join(format!("{source}.profiles.json"));
        let tables = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                warn!(%error, file = %path.display(), "the remembered profiles do not parse; starting afresh");
                BTreeMap::new()
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(error) => {
                warn!(%error, file = %path.display(), "cannot read the remembered profiles; starting afresh");
                BTreeMap::new()
            }
        };
        Self { path, tables }
    }

    /// Remembers `histogram` as the column's latest and returns its distance from the one remembered
    /// before, if there was a comparable one. `None` for the histogram forgets the column.
    pub fn observe(&mut self, table: &str, column: &str, histogram: Option<Remembered>) -> Option<f64> {
        let columns = self.tables.entry(table.to_owned()).or_default();
        let Some(current) = histogram else {
            columns.remove(column);
            return None;
        };
        let drift = columns
            .get(column)
            .and_then(|previous| distance(previous, &current));
        columns.insert(column.to_owned(), current);
        drift
    }

    /// Writes the memory: a temporary file renamed over the old one, so a crash leaves either.
    pub fn save(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temporary = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&self.tables).map_err(std::io::Error::other)?;
        std::fs::write(&temporary, bytes)?;
        std::fs::rename(&temporary, &self.path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bins(edges: &[f64], counts: &[u64]) -> Remembered {
        Remembered::Bins {
            edges: edges.to_vec(),
            counts: counts.to_vec(),
        }
    }

    #[test]
    fn identical_histograms_do_not_drift_and_disjoint_ones_drift_fully() {
        let a = bins(&[0.0, 1.0, 2.0, 3.0], &[10, 20, 30]);
        assert!(distance(&a, &a).unwrap() < 1e-9);
        let moved = bins(&[10.0, 11.0, 12.0, 13.0], &[10, 20, 30]);
        assert!((distance(&a, &moved).unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(js_distance(&[1.0, 0.0], &[0.0, 1.0]), Some(1.0));
        assert_eq!(js_distance(&[0.0, 0.0], &[0.0, 1.0]), None);
    }

    #[test]
    fn rebinning_spreads_counts_over_the_previous_edges() {
        // Current bins [0,2) 10 and [2,4] 10 onto previous edges 0,1,2,3,4 (plus under/over).
        let out = rebin(&[0.0, 2.0, 4.0], &[10, 10], &[0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(out, vec![0.0, 5.0, 5.0, 5.0, 5.0, 0.0]);
        // Half of a bin beyond the previous range lands in the overflow bucket.
        let out = rebin(&[2.0, 6.0], &[8], &[0.0, 4.0]);
        assert_eq!(out, vec![0.0, 4.0, 4.0]);
        // A constant column's zero-width bin goes where its value is.
        let out = rebin(&[5.0, 5.0], &[7], &[0.0, 4.0, 8.0]);
        assert_eq!(out, vec![0.0, 0.0, 7.0, 0.0]);
    }

    #[test]
    fn a_shifted_mean_drifts_more_than_noise() {
        let before = bins(&[0.0, 1.0, 2.0, 3.0, 4.0], &[100, 400, 400, 100]);
        let noise = bins(&[0.0, 1.0, 2.0, 3.0, 4.0], &[105, 390, 410, 95]);
        let shifted = bins(&[1.0, 2.0, 3.0, 4.0, 5.0], &[100, 400, 400, 100]);
        let small = distance(&before, &noise).unwrap();
        let large = distance(&before, &shifted).unwrap();
        assert!(small < 0.05, "{small}");
        assert!(large > 0.3, "{large}");
    }

    #[test]
    fn labelled_histograms_compare_value_by_value_with_the_rest_as_one_bucket() {
        let labels = |pairs: &[(&str, u64)], other: u64| Remembered::Labels {
            labels: pairs.iter().map(|(label, _)| (*label).to_owned()).collect(),
            counts: pairs.iter().map(|(_, count)| *count).collect(),
            other,
        };
        let before = labels(&[("EU", 50), ("US", 50)], 0);
        let same_reordered = labels(&[("US", 50), ("EU", 50)], 0);
        assert!(distance(&before, &same_reordered).unwrap() < 1e-9);
        let new_country = labels(&[("EU", 50), ("US", 0), ("BR", 50)], 0);
        let drift = distance(&before, &new_country).unwrap();
        assert!(drift > 0.5, "{drift}");
        assert_eq!(distance(&before, &bins(&[0.0, 1.0], &[1])), None);
    }

    #[test]
    fn memory_survives_a_restart_and_reports_drift_against_the_last_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut memory = ProfileMemory::open(dir.path(), "warehouse");
        let first = bins(&[0.0, 1.0, 2.0], &[10, 10]);
        assert_eq!(
            memory.observe("public.orders", "amount", Some(first.clone())),
            None
        );
        memory.save().unwrap();
        let mut reopened = ProfileMemory::open(dir.path(), "warehouse");
        let drift = reopened.observe("public.orders", "amount", Some(bins(&[0.0, 1.0, 2.0], &[20, 0])));
        assert!(drift.unwrap() > 0.4, "{drift:?}");
        // Forgetting a column (now masked, or without a histogram) starts it afresh.
        assert_eq!(reopened.observe("public.orders", "amount", None), None);
        assert_eq!(reopened.observe("public.orders", "amount", Some(first)), None);
        std::fs::write(dir.path().join("broken.profiles.json"), b"{not json").unwrap();
        let mut broken = ProfileMemory::open(dir.path(), "broken");
        assert_eq!(broken.observe("t", "c", Some(bins(&[0.0, 1.0], &[1]))), None);
    }
}
