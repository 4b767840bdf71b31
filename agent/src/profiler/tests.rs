//! Accumulator tests: every statistic against a straightforward independent computation on generated
//! data (sort-and-index quantiles, hash-set distinct, two-pass moments), edge cases, merges, sketch
//! error bounds, and the JSON shape.

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;

use super::profile::{Histogram, HistogramKind, SemanticType};
use super::util::{RngCore, SeedableRng, SplitMix64};
use super::*;

fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn float_of(value: &ProfileValue) -> f64 {
    match value {
        ProfileValue::Integer(value) => *value as f64,
        ProfileValue::Float(value) => *value,
        ProfileValue::Text(_) | ProfileValue::Boolean(_) => f64::NAN,
    }
}

fn close(actual: Option<f64>, expected: f64, tolerance: f64) -> bool {
    actual.is_some_and(|actual| (actual - expected).abs() <= tolerance * expected.abs().max(1.0))
}

/// Nearest-rank quantile of sorted data: sorted[⌈q·n⌉ − 1].
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

/// (lower, upper, count) of each equal-width bin, from the columnar histogram.
fn bins_of(histogram: &Histogram) -> Vec<(f64, f64, u64)> {
    let edges: Vec<f64> = histogram.edges.as_ref().unwrap().iter().map(float_of).collect();
    assert_eq!(edges.len(), histogram.counts.len() + 1);
    edges
        .windows(2)
        .zip(&histogram.counts)
        .map(|(edge, &count)| (edge[0], edge[1], count))
        .collect()
}

fn two_pass(values: &[f64]) -> (f64, f64, f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let m2: f64 = values.iter().map(|x| (x - mean).powi(2)).sum();
    let m3: f64 = values.iter().map(|x| (x - mean).powi(3)).sum();
    let m4: f64 = values.iter().map(|x| (x - mean).powi(4)).sum();
    (
        mean,
        m2 / (n - 1.0),
        n.sqrt() * m3 / m2.powf(1.5),
        n * m4 / (m2 * m2) - 3.0,
    )
}

/// (value, count) sorted by count descending then value ascending, first `k`.
fn reference_top(values: &[f64], k: usize) -> Vec<(f64, u64)> {
    let mut counts: HashMap<u64, u64> = HashMap::new();
    for value in values {
        *counts.entry(value.to_bits()).or_default() += 1;
    }
    let mut top: Vec<(f64, u64)> = counts
        .into_iter()
        .map(|(bits, count)| (f64::from_bits(bits), count))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.total_cmp(&b.0)));
    top.truncate(k);
    top
}

/// Generated float column with nulls, NaN, ±Inf, zeros, negatives and `distinct` integer-valued
/// finite values in 0..=100 shifted to include negatives.
fn float_column(rows: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
    let mut rng = SplitMix64::seed_from_u64(seed);
    let mut values = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for _ in 0..rows {
        let roll = rng.next_u64() % 100;
        let value = match roll {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => -0.0,
            // Two-sided, skewed: integers from -20 to 100 with a long right tail.
            _ => (unit(&mut rng).powi(2) * 120.0).floor() - 20.0,
        };
        values.push(value);
        valid.push(!rng.next_u64().is_multiple_of(10));
    }
    (values, valid)
}

fn finite_valid(values: &[f64], valid: &[bool]) -> Vec<f64> {
    values
        .iter()
        .zip(valid)
        .filter(|&(value, &ok)| ok && value.is_finite())
        .map(|(&value, _)| value + 0.0)
        .collect()
}

#[test]
fn float_statistics_match_independent_computation() {
    let (values, valid) = float_column(20_000, 1);
    let mut accumulator = NumericAccumulator::new();
    for (chunk, mask) in values.chunks(3000).zip(valid.chunks(3000)) {
        accumulator.push_f64s(chunk, Some(mask)).unwrap();
    }
    let profile = accumulator.finish();

    let finite = finite_valid(&values, &valid);
    let mut sorted = finite.clone();
    sorted.sort_by(f64::total_cmp);
    let valid_values: Vec<f64> = values
        .iter()
        .zip(&valid)
        .filter(|&(_, &ok)| ok)
        .map(|(&value, _)| value)
        .collect();
    assert_eq!(profile.kind, ColumnKind::Float);
    assert_eq!(profile.count, 20_000);
    assert_eq!(profile.nulls, valid.iter().filter(|&&ok| !ok).count() as u64);
    assert!(close(
        profile.null_percent,
        100.0 * profile.nulls as f64 / 20_000.0,
        1e-12
    ));
    assert_eq!(
        profile.nan,
        Some(valid_values.iter().filter(|value| value.is_nan()).count() as u64)
    );
    assert_eq!(
        profile.infinite,
        Some(valid_values.iter().filter(|value| value.is_infinite()).count() as u64)
    );
    assert_eq!(
        profile.zeros,
        Some(finite.iter().filter(|&&value| value == 0.0).count() as u64)
    );
    assert_eq!(
        profile.negatives,
        Some(finite.iter().filter(|&&value| value < 0.0).count() as u64)
    );
    let distinct: HashSet<u64> = finite.iter().map(|value| value.to_bits()).collect();
    assert_eq!(profile.distinct, Some(distinct.len() as u64));
    assert_eq!(profile.distinct_exact, Some(true));
    assert_eq!(profile.distinct_error, Some(0.0));
    assert!(close(
        profile.distinct_ratio,
        distinct.len() as f64 / finite.len() as f64,
        1e-12
    ));
    assert_eq!(profile.min, Some(ProfileValue::Float(sorted[0])));
    assert_eq!(profile.max, Some(ProfileValue::Float(sorted[sorted.len() - 1])));
    assert!(close(profile.range, sorted[sorted.len() - 1] - sorted[0], 1e-12));

    let (mean, variance, skewness, kurtosis) = two_pass(&finite);
    assert!(close(profile.mean.as_ref().map(float_of), mean, 1e-12));
    assert!(close(profile.variance, variance, 1e-10));
    assert!(close(profile.std_dev, variance.sqrt(), 1e-10));
    assert!(close(profile.skewness, skewness, 1e-9));
    assert!(close(profile.kurtosis, kurtosis, 1e-9));
    assert!(close(profile.sum, finite.iter().sum(), 1e-12));

    let quantiles = profile.quantiles.as_ref().unwrap();
    for (reported, q) in [
        (&quantiles.p25, 0.25),
        (&quantiles.p50, 0.5),
        (&quantiles.p75, 0.75),
        (&quantiles.p95, 0.95),
        (&quantiles.p99, 0.99),
    ] {
        assert_eq!(float_of(reported), nearest_rank(&sorted, q), "q = {q}");
    }
    assert_eq!(
        profile.median,
        Some(ProfileValue::Float(nearest_rank(&sorted, 0.5)))
    );
    assert_eq!(profile.quantiles_exact, Some(true));
    assert_eq!(profile.quantile_rank_error, Some(0.0));

    let top = reference_top(&finite, TOP_K);
    let reported: Vec<(f64, u64, u64)> = profile
        .top_values
        .as_ref()
        .unwrap()
        .iter()
        .map(|top| (float_of(&top.value), top.count, top.count_error))
        .collect();
    assert_eq!(
        reported,
        top.iter()
            .map(|&(value, count)| (value, count, 0))
            .collect::<Vec<_>>()
    );
    assert_eq!(profile.mode, Some(ProfileValue::Float(top[0].0)));
    assert_eq!(profile.top_values_exact, Some(true));

    // Histogram: 20 bins over [min, max] = [-20, 99]; count by the reported edges.
    let histogram = profile.histogram.as_ref().unwrap();
    assert_eq!(histogram.kind, HistogramKind::EqualWidth);
    assert_eq!(histogram.counts.len(), HISTOGRAM_BINS);
    assert_eq!(histogram.values, None);
    assert!(histogram.exact);
    for (index, (lower, upper, count)) in bins_of(histogram).into_iter().enumerate() {
        let last = index + 1 == HISTOGRAM_BINS;
        let expected = finite
            .iter()
            .filter(|&&value| value >= lower && (value < upper || (last && value <= upper)))
            .count();
        assert_eq!(count, expected as u64, "bin {index} [{lower}, {upper})");
    }
    assert_eq!(histogram.counts.iter().sum::<u64>(), finite.len() as u64);

    // Outliers, exact.
    let q1 = nearest_rank(&sorted, 0.25);
    let q3 = nearest_rank(&sorted, 0.75);
    let (low, high) = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1));
    let outliers = profile.outliers.as_ref().unwrap();
    assert_eq!(outliers.method, "exact");
    assert_eq!((outliers.iqr_lower_fence, outliers.iqr_upper_fence), (low, high));
    assert_eq!(
        outliers.iqr_count,
        finite
            .iter()
            .filter(|&&value| value < low || value > high)
            .count() as u64
    );
    let std_dev = variance.sqrt();
    let expected_z = finite
        .iter()
        .filter(|&&value| ((value - mean) / std_dev).abs() > 3.0)
        .count() as u64;
    assert_eq!(outliers.zscore_count, expected_z);
    assert_eq!(outliers.count_error, 0);
}

#[test]
fn float_sketches_stay_within_stated_error() {
    // 400k distinct values: far past the exact cap, so HLL, KLL and Misra–Gries answer.
    let mut rng = SplitMix64::seed_from_u64(2);
    let mut values: Vec<f64> = (0..400_000)
        .map(|_| (unit(&mut rng) * 1e6).round() / 8.0 + 0.001)
        .collect();
    // A few heavy values that the top-k must find.
    for (index, value) in values.iter_mut().enumerate() {
        if index % 10 == 0 {
            *value = -5.0;
        } else if index % 25 == 0 {
            *value = 7.5;
        }
    }
    values.extend(std::iter::repeat_n(1e7, 200)); // upper outliers
    let mut accumulator = NumericAccumulator::new();
    for chunk in values.chunks(8192) {
        accumulator.push_f64s(chunk, None).unwrap();
    }
    let profile = accumulator.finish();
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;

    let distinct = values
        .iter()
        .map(|value| value.to_bits())
        .collect::<HashSet<_>>()
        .len() as f64;
    assert_eq!(profile.distinct_exact, Some(false));
    let relative = profile.distinct_error.unwrap();
    assert!((relative - 1.04 / 128.0).abs() < 1e-12);
    assert!((profile.distinct.unwrap() as f64 - distinct).abs() <= 4.0 * relative * distinct);

    let epsilon = profile.quantile_rank_error.unwrap();
    assert!(epsilon > 0.0 && epsilon < 0.01);
    let quantiles = profile.quantiles.as_ref().unwrap();
    for (reported, q) in [
        (&quantiles.p25, 0.25),
        (&quantiles.p50, 0.5),
        (&quantiles.p75, 0.75),
        (&quantiles.p95, 0.95),
        (&quantiles.p99, 0.99),
    ] {
        let value = float_of(reported);
        let below = sorted.partition_point(|&x| x < value) as f64;
        let at_or_below = sorted.partition_point(|&x| x <= value) as f64;
        let target = q * n;
        let error = if target < below {
            below - target
        } else if target > at_or_below {
            target - at_or_below
        } else {
            0.0
        };
        assert!(
            error / n <= epsilon,
            "q {q}: rank error {} above {epsilon}",
            error / n
        );
    }

    let truth: HashMap<u64, u64> = values.iter().fold(HashMap::new(), |mut counts, value| {
        *counts.entry(value.to_bits()).or_default() += 1;
        counts
    });
    let top = profile.top_values.as_ref().unwrap();
    assert_eq!(float_of(&top[0].value), -5.0);
    assert_eq!(float_of(&top[1].value), 7.5);
    for entry in top {
        let true_count = truth[&float_of(&entry.value).to_bits()];
        assert!(entry.count <= true_count && true_count <= entry.count + entry.count_error);
    }
    assert!(top[0].count_error <= 2 * values.len() as u64 / FREQUENT_CAPACITY as u64);

    let outliers = profile.outliers.as_ref().unwrap();
    assert_eq!(outliers.method, "sketch_estimate");
    let true_iqr = values
        .iter()
        .filter(|&&x| x < outliers.iqr_lower_fence || x > outliers.iqr_upper_fence)
        .count() as u64;
    assert!(
        outliers.iqr_count.abs_diff(true_iqr) <= outliers.count_error,
        "{} vs {true_iqr}",
        outliers.iqr_count
    );
    let mean = float_of(profile.mean.as_ref().unwrap());
    let std_dev = profile.std_dev.unwrap();
    let true_z = values
        .iter()
        .filter(|&&x| ((x - mean) / std_dev).abs() > ZSCORE_THRESHOLD)
        .count() as u64;
    assert!(
        outliers.zscore_count.abs_diff(true_z) <= outliers.count_error,
        "{} vs {true_z}",
        outliers.zscore_count
    );
    let histogram = profile.histogram.as_ref().unwrap();
    assert!(!histogram.exact);
    for (index, (lower, upper, count)) in bins_of(histogram).into_iter().enumerate() {
        let last = index + 1 == HISTOGRAM_BINS;
        let expected = values
            .iter()
            .filter(|&&x| x >= lower && (x < upper || (last && x <= upper)))
            .count() as u64;
        assert!(
            count.abs_diff(expected) <= histogram.count_error,
            "bin {index}: {count} vs {expected}"
        );
    }
}

#[test]
fn catastrophic_cancellation_in_the_accumulator() {
    let mut rng = SplitMix64::seed_from_u64(3);
    let noise: Vec<f64> = (0..500_000).map(|_| unit(&mut rng)).collect();
    let values: Vec<f64> = noise.iter().map(|x| 1e9 + x).collect();
    let mut accumulator = NumericAccumulator::new();
    for chunk in values.chunks(10_000) {
        accumulator.push_f64s(chunk, None).unwrap();
    }
    let profile = accumulator.finish();
    let (_, noise_variance, _, noise_kurtosis) = two_pass(&noise);
    assert!(
        close(profile.variance, noise_variance, 1e-5),
        "{:?} vs {noise_variance}",
        profile.variance
    );
    assert!((profile.kurtosis.unwrap() - noise_kurtosis).abs() < 1e-3);
    assert!(close(profile.mean.as_ref().map(float_of), 1e9 + 0.5, 1e-12));
}

#[test]
fn merge_equals_profile_of_concatenation() {
    let (values, valid) = float_column(30_000, 4);
    let mut whole = NumericAccumulator::new();
    whole.push_f64s(&values, Some(&valid)).unwrap();
    let mut parts: Vec<NumericAccumulator> = values
        .chunks(7_001)
        .zip(valid.chunks(7_001))
        .map(|(chunk, mask)| {
            let mut part = NumericAccumulator::new();
            part.push_f64s(chunk, Some(mask)).unwrap();
            part
        })
        .collect();
    let mut merged = parts.remove(0);
    for part in parts {
        merged.merge(part);
    }
    let (mut whole, mut merged) = (whole.finish(), merged.finish());
    // Moments differ only in floating-point rounding; everything else is exact.
    for (a, b) in [
        (&whole.variance, &merged.variance),
        (&whole.skewness, &merged.skewness),
        (&whole.kurtosis, &merged.kurtosis),
        (&whole.sum, &merged.sum),
    ] {
        assert!(close(*b, a.unwrap(), 1e-9));
    }
    assert!(close(
        merged.mean.as_ref().map(float_of),
        float_of(whole.mean.as_ref().unwrap()),
        1e-12
    ));
    for profile in [&mut whole, &mut merged] {
        profile.variance = None;
        profile.std_dev = None;
        profile.skewness = None;
        profile.kurtosis = None;
        profile.sum = None;
        profile.mean = None;
        if let Some(outliers) = &mut profile.outliers {
            outliers.zscore_count = 0;
        }
    }
    assert_eq!(whole, merged);
}

#[test]
fn merged_sketches_match_the_concatenation_within_error() {
    let mut rng = SplitMix64::seed_from_u64(5);
    let values: Vec<i64> = (0..300_000)
        .map(|_| (rng.next_u64() % 1_000_000) as i64 - 500_000)
        .collect();
    let mut merged = IntegerAccumulator::integer();
    for part in values.chunks(100_000) {
        let mut accumulator = IntegerAccumulator::integer();
        accumulator.push_i64s(part, None).unwrap();
        merged.merge(accumulator).unwrap();
    }
    let profile = merged.finish();
    let distinct = values.iter().collect::<HashSet<_>>().len() as f64;
    assert!(
        (profile.distinct.unwrap() as f64 - distinct).abs()
            <= 4.0 * profile.distinct_error.unwrap() * distinct
    );
    let mut sorted = values.clone();
    sorted.sort_unstable();
    let median = float_of(profile.median.as_ref().unwrap()) as i64;
    let rank = sorted.partition_point(|&x| x <= median) as f64 / sorted.len() as f64;
    assert!((rank - 0.5).abs() <= profile.quantile_rank_error.unwrap() + 1.0 / sorted.len() as f64);
    assert_eq!(
        profile.sum_exact,
        Some(values.iter().map(|&v| i128::from(v)).sum::<i128>().to_string())
    );
    assert_eq!(profile.min, Some(ProfileValue::Integer(sorted[0])));
    assert_eq!(profile.max, Some(ProfileValue::Integer(sorted[sorted.len() - 1])));
}

#[test]
fn exact_and_sketched_states_merge_both_ways() {
    // Small (exact) parts merged into a large (sketched) one and the other way round.
    let big: Vec<i64> = (0..200_000).map(|i| i * 3).collect();
    let small: Vec<i64> = std::iter::repeat_n(-7, 5_000).chain(0..1_000).collect();
    let mut all = big.clone();
    all.extend(&small);
    all.sort_unstable();
    for small_first in [false, true] {
        let mut large = IntegerAccumulator::integer();
        large.push_i64s(&big, None).unwrap();
        let mut little = IntegerAccumulator::integer();
        little.push_i64s(&small, None).unwrap();
        let profile = if small_first {
            little.merge(large).unwrap();
            little.finish()
        } else {
            large.merge(little).unwrap();
            large.finish()
        };
        assert_eq!(profile.count, all.len() as u64);
        assert_eq!(profile.distinct_exact, Some(false));
        let distinct = all.iter().collect::<HashSet<_>>().len() as f64;
        assert!(
            (profile.distinct.unwrap() as f64 - distinct).abs()
                <= 4.0 * profile.distinct_error.unwrap() * distinct
        );
        let top = &profile.top_values.as_ref().unwrap()[0];
        assert_eq!(top.value, ProfileValue::Integer(-7));
        assert!(top.count <= 5_000 && 5_000 <= top.count + top.count_error);
        assert_eq!(profile.min, Some(ProfileValue::Integer(-7)));
        let p95 = float_of(&profile.quantiles.as_ref().unwrap().p95) as i64;
        let rank = all.partition_point(|&x| x <= p95) as f64 / all.len() as f64;
        assert!(
            (rank - 0.95).abs() <= profile.quantile_rank_error.unwrap() + 1e-5,
            "rank {rank}"
        );
    }
}

#[test]
fn free_text_with_some_emails_is_pii() {
    let values: Vec<String> = (0..1000)
        .map(|i| {
            if i % 5 == 0 {
                format!("mail me at person{i}@example.org")
            } else {
                format!("note {i}")
            }
        })
        .collect();
    let mut only_emails = values.clone();
    for (index, value) in only_emails.iter_mut().enumerate() {
        if index % 5 == 0 {
            *value = format!("person{index}@example.org");
        }
    }
    let mut accumulator = TextAccumulator::new();
    accumulator
        .push_strs(&only_emails.iter().map(String::as_str).collect::<Vec<_>>(), None)
        .unwrap();
    let profile = accumulator.finish();
    let semantic = profile.semantic.as_ref().unwrap();
    assert_eq!(semantic.detected, None);
    assert!(
        (semantic.matches[0].match_rate - 0.2).abs() < 0.05,
        "{semantic:?}"
    );
    assert!(profile.pii);
    assert_eq!(semantic.embedded_pii_rate, 0.0);
    // Addresses inside sentences are not e-mail values, but they make the column PII all the same.
    let mut sentences = TextAccumulator::new();
    sentences
        .push_strs(&values.iter().map(String::as_str).collect::<Vec<_>>(), None)
        .unwrap();
    let mut profile = sentences.finish();
    let semantic = profile.semantic.as_ref().unwrap();
    assert!(semantic.matches.is_empty());
    assert!((semantic.embedded_pii_rate - 0.2).abs() < 0.05);
    assert!(profile.pii);
    mask_top_values(&mut profile);
    assert!(!serde_json::to_string(&profile).unwrap().contains("example.org"));
}

#[test]
fn huge_and_tiny_integers_stay_exact() {
    let values = [i64::MAX, i64::MAX - 1, i64::MIN, 9_007_199_254_740_993, -1, 0, 1];
    let mut accumulator = IntegerAccumulator::integer();
    accumulator.push_i64s(&values, None).unwrap();
    let profile = accumulator.finish();
    assert_eq!(profile.kind, ColumnKind::Integer);
    assert_eq!(profile.min, Some(ProfileValue::Integer(i64::MIN)));
    assert_eq!(profile.max, Some(ProfileValue::Integer(i64::MAX)));
    let exact_sum: i128 = values.iter().map(|&v| i128::from(v)).sum();
    assert_eq!(profile.sum_exact, Some(exact_sum.to_string()));
    assert!(close(
        profile.mean.as_ref().map(float_of),
        exact_sum as f64 / 7.0,
        1e-15
    ));
    assert_eq!(profile.zeros, Some(1));
    assert_eq!(profile.negatives, Some(2));
    assert_eq!(profile.distinct, Some(7));
    let json = serde_json::to_string(&profile).unwrap();
    assert!(json.contains("\"max\":9223372036854775807"), "{json}");
    assert!(json.contains("\"min\":-9223372036854775808"));
    // 2^53 + 1 is not representable as f64 but survives as a top value.
    assert!(json.contains("9007199254740993"));

    let tiny = [1e-300, -1e-300, 5e-324, 1e300, -1e300];
    let mut floats = NumericAccumulator::new();
    floats.push_f64s(&tiny, None).unwrap();
    let profile = floats.finish();
    assert_eq!(profile.min, Some(ProfileValue::Float(-1e300)));
    assert_eq!(profile.max, Some(ProfileValue::Float(1e300)));
    assert_eq!(profile.distinct, Some(5));
    assert_eq!(profile.negatives, Some(2));
    assert!(float_of(profile.mean.as_ref().unwrap()).abs() <= 1e-300);
}

#[test]
fn decimals_keep_exact_sums_and_scale() {
    let mantissas = [12_345i64, -500, 99_999_999_999_999, 1];
    let mut accumulator = IntegerAccumulator::decimal(2).unwrap();
    accumulator
        .push_i64s(&mantissas, Some(&[true, true, true, false]))
        .unwrap();
    let profile = accumulator.finish();
    assert_eq!(profile.kind, ColumnKind::Decimal);
    assert_eq!(profile.nulls, 1);
    assert_eq!(profile.sum_exact.as_deref(), Some("1000000000118.44"));
    assert_eq!(profile.min, Some(ProfileValue::Float(-5.0)));
    assert_eq!(profile.max, Some(ProfileValue::Float(999_999_999_999.99)));
    assert_eq!(profile.negatives, Some(1));
    let mut other = IntegerAccumulator::decimal(3).unwrap();
    other.push_i64s(&[1], None).unwrap();
    let mut same = IntegerAccumulator::decimal(2).unwrap();
    assert_eq!(
        same.merge(other),
        Err(ProfileError::ScaleMismatch { left: 2, right: 3 })
    );
    assert!(matches!(
        IntegerAccumulator::decimal(39),
        Err(ProfileError::ScaleTooLarge { .. })
    ));
}

#[test]
fn empty_and_all_null_columns() {
    let empty = [
        NumericAccumulator::new().finish(),
        IntegerAccumulator::integer().finish(),
        TextAccumulator::new().finish(),
        TemporalAccumulator::new().finish(),
        BooleanAccumulator::new().finish(),
    ];
    for profile in &empty {
        assert_eq!(
            (profile.count, profile.nulls, profile.null_percent),
            (0, 0, None),
            "{:?}",
            profile.kind
        );
        assert_eq!(profile.min, None);
        assert_eq!(profile.mean, None);
        assert_eq!(profile.quantiles, None);
        assert_eq!(profile.distinct_ratio, None);
        assert!(serde_json::to_string(profile).is_ok());
    }
    let nulls = [false; 5];
    let mut numeric = NumericAccumulator::new();
    numeric.push_f64s(&[1.0; 5], Some(&nulls)).unwrap();
    let mut integer = IntegerAccumulator::integer();
    integer.push_i64s(&[1; 5], Some(&nulls)).unwrap();
    let mut text = TextAccumulator::new();
    text.push_strs(&["a"; 5], Some(&nulls)).unwrap();
    let mut temporal = TemporalAccumulator::new();
    temporal.push_micros(&[1; 5], Some(&nulls)).unwrap();
    let mut boolean = BooleanAccumulator::new();
    boolean.push_bools(&[true; 5], Some(&nulls)).unwrap();
    for profile in [
        numeric.finish(),
        integer.finish(),
        text.finish(),
        temporal.finish(),
        boolean.finish(),
    ] {
        assert_eq!(
            (profile.count, profile.nulls, profile.null_percent),
            (5, 5, Some(100.0)),
            "{:?}",
            profile.kind
        );
        assert_eq!(profile.distinct, Some(0));
        assert_eq!(profile.min, None);
        assert_eq!(profile.mode, None);
        assert_eq!(profile.std_dev, None);
    }
    let mut only_nan = NumericAccumulator::new();
    only_nan.push_f64s(&[f64::NAN, f64::INFINITY], None).unwrap();
    let profile = only_nan.finish();
    assert_eq!(
        (profile.nan, profile.infinite, profile.nulls, profile.min.clone()),
        (Some(1), Some(1), 0, None)
    );
}

#[test]
fn mask_length_mismatch_is_an_error() {
    let mut accumulator = NumericAccumulator::new();
    let error = accumulator.push_f64s(&[1.0, 2.0], Some(&[true])).unwrap_err();
    assert_eq!(error, ProfileError::MaskLength { values: 2, mask: 1 });
    assert_eq!(
        error.to_string(),
        "validity mask has 1 entries but the batch has 2 values"
    );
}

fn text_column(rows: usize, distinct: u64, seed: u64) -> Vec<String> {
    let mut rng = SplitMix64::seed_from_u64(seed);
    let names = ["Zoë", "Łukasz", "東京", "", "naïve café", "a", "🙂 emoji", "Ölçü"];
    (0..rows)
        .map(|_| {
            let pick = rng.next_u64();
            let name = names[(pick % names.len() as u64) as usize];
            if name.is_empty() {
                String::new()
            } else {
                format!("{name}{}", (pick >> 8) % distinct)
            }
        })
        .collect()
}

#[test]
fn text_statistics_match_independent_computation() {
    let values = text_column(20_000, 300, 6);
    let valid: Vec<bool> = (0..values.len()).map(|index| index % 7 != 3).collect();
    let slices: Vec<&str> = values.iter().map(String::as_str).collect();
    let mut accumulator = TextAccumulator::new();
    for (chunk, mask) in slices.chunks(4096).zip(valid.chunks(4096)) {
        accumulator.push_strs(chunk, Some(mask)).unwrap();
    }
    let profile = accumulator.finish();
    let present: Vec<&str> = slices
        .iter()
        .zip(&valid)
        .filter(|&(_, &ok)| ok)
        .map(|(&value, _)| value)
        .collect();
    assert_eq!(profile.count, 20_000);
    assert_eq!(profile.nulls, (20_000 - present.len()) as u64);
    assert_eq!(
        profile.empty_strings,
        Some(present.iter().filter(|value| value.is_empty()).count() as u64)
    );
    let lengths: Vec<usize> = present.iter().map(|value| value.chars().count()).collect();
    assert_eq!(profile.length_min, lengths.iter().min().map(|&l| l as u64));
    assert_eq!(profile.length_max, lengths.iter().max().map(|&l| l as u64));
    assert!(close(
        profile.length_mean,
        lengths.iter().sum::<usize>() as f64 / lengths.len() as f64,
        1e-12
    ));
    assert_eq!(
        profile.min,
        present
            .iter()
            .min()
            .map(|value| ProfileValue::Text(value.to_string()))
    );
    assert_eq!(
        profile.max,
        present
            .iter()
            .max()
            .map(|value| ProfileValue::Text(value.to_string()))
    );
    let distinct: HashSet<&str> = present.iter().copied().collect();
    assert_eq!(profile.distinct, Some(distinct.len() as u64));
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for value in &present {
        *counts.entry(value).or_default() += 1;
    }
    let mut top: Vec<(&str, u64)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    top.truncate(TOP_K);
    let reported: Vec<(String, u64)> = profile
        .top_values
        .as_ref()
        .unwrap()
        .iter()
        .map(|top| match &top.value {
            ProfileValue::Text(text) => (text.clone(), top.count),
            other => panic!("not text: {other:?}"),
        })
        .collect();
    assert_eq!(
        reported,
        top.iter()
            .map(|&(value, count)| (value.to_owned(), count))
            .collect::<Vec<_>>()
    );
    let histogram = profile.histogram.as_ref().unwrap();
    assert_eq!(histogram.kind, HistogramKind::TopK);
    let listed: u64 = top.iter().map(|&(_, count)| count).sum();
    assert_eq!(histogram.other_count, Some(present.len() as u64 - listed));
    assert!(!profile.pii);
    let semantic = profile.semantic.as_ref().unwrap();
    assert_eq!(semantic.sample_size, distinct.len().min(SEMANTIC_SAMPLE) as u64);
}

#[test]
fn text_merge_and_high_cardinality() {
    let values: Vec<String> = (0..120_000)
        .map(|i| format!("value-{}", i * 7919 % 100_003))
        .collect();
    let mut merged = TextAccumulator::new();
    for part in values.chunks(40_000) {
        let mut accumulator = TextAccumulator::new();
        accumulator
            .push_strs(&part.iter().map(String::as_str).collect::<Vec<_>>(), None)
            .unwrap();
        merged.merge(accumulator);
    }
    merged.push_strs(&["", ""], Some(&[false, true])).unwrap();
    let profile = merged.finish();
    let distinct = values.iter().collect::<HashSet<_>>().len() as f64 + 1.0;
    assert_eq!(profile.distinct_exact, Some(false));
    assert!(
        (profile.distinct.unwrap() as f64 - distinct).abs()
            <= 4.0 * profile.distinct_error.unwrap() * distinct
    );
    assert_eq!(profile.min, Some(ProfileValue::Text(String::new())));
    assert_eq!(
        profile.max,
        Some(ProfileValue::Text(values.iter().max().unwrap().clone()))
    );
    assert_eq!(
        (profile.count, profile.nulls, profile.empty_strings),
        (120_002, 1, Some(1))
    );
    assert_eq!(
        profile.semantic.as_ref().unwrap().sample_size,
        SEMANTIC_SAMPLE as u64
    );
}

#[test]
fn email_columns_are_pii_and_masked() {
    let values: Vec<String> = (0..5000)
        .map(|i| format!("user{}@example{}.com", i % 40, i % 3))
        .collect();
    let slices: Vec<&str> = values.iter().map(String::as_str).collect();
    let mut accumulator = TextAccumulator::new();
    accumulator.push_strs(&slices, None).unwrap();
    let mut profile = accumulator.finish();
    let semantic = profile.semantic.clone().unwrap();
    assert_eq!(semantic.detected, Some(SemanticType::Email));
    assert_eq!(semantic.matches[0].match_rate, 1.0);
    assert!(semantic.sample_is_all_distinct);
    assert!(profile.pii);
    mask_top_values(&mut profile);
    assert!(profile.masked);
    let json = serde_json::to_string(&profile).unwrap();
    assert!(!json.contains("user1"), "{json}");
    assert!(json.contains("u***@e***.com"));
    let once = profile.clone();
    mask_top_values(&mut profile);
    assert_eq!(profile, once);

    // A column that is not PII keeps its values.
    let mut plain = TextAccumulator::new();
    plain.push_strs(&["red", "green", "blue"], None).unwrap();
    let mut plain = plain.finish();
    mask_top_values(&mut plain);
    assert!(!plain.masked && !plain.pii);
    assert_eq!(plain.min, Some(ProfileValue::Text("blue".into())));
}

#[test]
fn temporal_statistics_with_zones_and_days() {
    // Zoned inputs converted to UTC by the source: 2024-03-01T23:30:00-05:00 is 2024-03-02T04:30Z.
    let zoned = 1_709_353_800_000_000i64;
    let mut values = vec![zoned, -1, 0, 86_399_999_999, 86_400_000_000, zoned + 1];
    let mut rng = SplitMix64::seed_from_u64(7);
    values.extend((0..10_000).map(|_| 1_700_000_000_000_000 + (rng.next_u64() % 2_000_000_000_000) as i64));
    let mut accumulator = TemporalAccumulator::new();
    accumulator.push_micros(&values, None).unwrap();
    accumulator.push_micros(&[5], Some(&[false])).unwrap();
    let profile = accumulator.finish();
    assert_eq!(profile.kind, ColumnKind::Temporal);
    assert_eq!((profile.count, profile.nulls), (values.len() as u64 + 1, 1));
    assert_eq!(
        profile.min,
        Some(ProfileValue::Text("1969-12-31T23:59:59.999999Z".into()))
    );
    assert_eq!(
        profile.max,
        Some(ProfileValue::Text("2024-03-02T04:30:00.000001Z".into()))
    );
    assert!(close(profile.range, (zoned + 2) as f64 / 1e6, 1e-12));
    let mut days: BTreeMap<i64, u64> = BTreeMap::new();
    for value in &values {
        *days.entry(value.div_euclid(86_400_000_000)).or_default() += 1;
    }
    let histogram = profile.histogram.as_ref().unwrap();
    assert_eq!(histogram.kind, HistogramKind::PerDay);
    assert_eq!(histogram.edges, None);
    let reported: Vec<(String, u64)> = histogram
        .values
        .as_ref()
        .unwrap()
        .iter()
        .zip(&histogram.counts)
        .map(|(value, &count)| match value {
            ProfileValue::Text(day) => (day.clone(), count),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<(String, u64)> = days
        .iter()
        .map(|(&day, &count)| (util::date_text(day), count))
        .collect();
    assert_eq!(reported, expected);
    assert_eq!(reported[0], ("1969-12-31".to_owned(), 1));
    assert_eq!(reported[1], ("1970-01-01".to_owned(), 2));
    assert!(reported.contains(&("2024-03-02".to_owned(), 2)));
    let as_float: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    let (_, variance, _, _) = two_pass(&as_float);
    assert!(close(profile.std_dev, variance.sqrt() / 1e6, 1e-9));
    let mut sorted = values.clone();
    sorted.sort_unstable();
    let median = sorted[(values.len() as f64 * 0.5).ceil() as usize - 1];
    assert_eq!(
        profile.median,
        Some(ProfileValue::Text(util::timestamp_text(median)))
    );
    assert_eq!(
        profile.distinct,
        Some(values.iter().collect::<HashSet<_>>().len() as u64)
    );
}

#[test]
fn boolean_counts() {
    let values = [true, false, true, true, false, true];
    let mut accumulator = BooleanAccumulator::new();
    accumulator
        .push_bools(&values, Some(&[true, true, true, false, true, true]))
        .unwrap();
    let mut other = BooleanAccumulator::new();
    other.push_bools(&[false], None).unwrap();
    accumulator.merge(other);
    let profile = accumulator.finish();
    assert_eq!(
        (
            profile.count,
            profile.nulls,
            profile.true_count,
            profile.false_count
        ),
        (7, 1, Some(3), Some(3))
    );
    assert_eq!(profile.mode, Some(ProfileValue::Boolean(false)));
    assert_eq!(profile.distinct, Some(2));
}

fn pearson_reference(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    sxy / (sxx * syy).sqrt()
}

#[test]
fn correlation_matches_reference_and_merges() {
    let mut rng = SplitMix64::seed_from_u64(8);
    let rows = 50_000;
    let x: Vec<f64> = (0..rows).map(|_| unit(&mut rng) * 10.0 + 1e6).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|v| (v - 1e6).powi(3) + unit(&mut rng) * 50.0)
        .collect();
    let z: Vec<f64> = (0..rows).map(|_| unit(&mut rng)).collect();
    let y_valid: Vec<bool> = (0..rows).map(|i| i % 13 != 0).collect();
    let names = vec!["x".to_owned(), "y".to_owned(), "z".to_owned()];
    let mut merged = CorrelationAccumulator::new(names.clone());
    for start in (0..rows).step_by(20_000) {
        let end = (start + 20_000).min(rows);
        let mut part = CorrelationAccumulator::new(names.clone());
        part.push_columns(
            &[&x[start..end], &y[start..end], &z[start..end]],
            &[None, Some(&y_valid[start..end]), None],
        )
        .unwrap();
        merged.merge(part).unwrap();
    }
    let profile = merged.finish();
    let (xs, ys): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(&y)
        .zip(&y_valid)
        .filter(|&(_, &ok)| ok)
        .map(|((&a, &b), _)| (a, b))
        .unzip();
    let expected_xy = pearson_reference(&xs, &ys);
    assert!(
        close(profile.pearson[0][1], expected_xy, 1e-9),
        "{:?} vs {expected_xy}",
        profile.pearson[0][1]
    );
    assert_eq!(profile.pearson[0][1], profile.pearson[1][0]);
    assert!(close(profile.pearson[0][2], pearson_reference(&x, &z), 1e-9));
    assert_eq!(profile.pair_rows[0][1], xs.len() as u64);
    assert_eq!(profile.pearson[0][0], Some(1.0));
    // Monotone but non-linear: Spearman near 1 (noise is small), Pearson clearly below.
    let rho = profile.spearman[0][1].unwrap();
    assert!(rho > 0.97, "{rho}");
    assert!(profile.spearman[0][2].unwrap().abs() < 4.0 / (SPEARMAN_SAMPLE as f64).sqrt());
    assert_eq!(profile.spearman_sample_rows, SPEARMAN_SAMPLE as u64);

    let mut bad = CorrelationAccumulator::new(names);
    assert!(matches!(
        bad.push_columns(&[&x[..2], &y[..3], &z[..2]], &[None, None, None]),
        Err(ProfileError::ColumnLength { column: 1, .. })
    ));
    assert!(matches!(
        bad.merge(CorrelationAccumulator::new(vec!["a".into()])),
        Err(ProfileError::ColumnMismatch)
    ));
    assert_eq!(
        bad.push_columns(&[&x[..2], &y[..2], &z[..2]], &[None]),
        Err(ProfileError::MaskCount { expected: 3, got: 1 })
    );
    let constant = CorrelationAccumulator::new(vec!["c".into(), "d".into()]);
    let empty = constant.finish();
    assert_eq!(empty.pearson, vec![vec![None, None], vec![None, None]]);
}

#[test]
fn ranks_average_ties() {
    assert_eq!(
        correlation::ranks(&[10.0, 20.0, 10.0, 30.0]),
        vec![1.5, 3.0, 1.5, 4.0]
    );
}

#[test]
fn json_shape_is_stable_across_kinds() {
    let mut numeric = NumericAccumulator::new();
    numeric.push_f64s(&[1.0, 2.0, 2.0, 10.0], None).unwrap();
    let mut text = TextAccumulator::new();
    text.push_strs(&["a", "b"], None).unwrap();
    let mut temporal = TemporalAccumulator::new();
    temporal.push_micros(&[0, 86_400_000_000], None).unwrap();
    let mut boolean = BooleanAccumulator::new();
    boolean.push_bools(&[true], None).unwrap();
    let profiles = [
        numeric.finish(),
        text.finish(),
        temporal.finish(),
        boolean.finish(),
        IntegerAccumulator::integer().finish(),
    ];
    let keys = |profile: &ColumnProfile| -> Vec<String> {
        match serde_json::to_value(profile).unwrap() {
            serde_json::Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("{other}"),
        }
    };
    let first = keys(&profiles[0]);
    assert_eq!(first.len(), 40);
    for profile in &profiles[1..] {
        assert_eq!(keys(profile), first);
    }
    let json = serde_json::to_value(&profiles[0]).unwrap();
    assert_eq!(json["kind"], "float");
    assert_eq!(json["quantiles"]["p50"], 2.0);
    assert_eq!(json["empty_strings"], serde_json::Value::Null);
    assert_eq!(json["histogram"]["kind"], "equal_width");
    assert_eq!(json["outliers"]["method"], "exact");
    let text_json = serde_json::to_value(&profiles[1]).unwrap();
    assert_eq!(text_json["semantic"]["matches"], serde_json::json!([]));
    assert_eq!(text_json["histogram"]["kind"], "top_k");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn integer_merge_is_exact(values in proptest::collection::vec(-1000i64..1000, 0..400), split in 0usize..400) {
        let split = split.min(values.len());
        let mut whole = IntegerAccumulator::integer();
        whole.push_i64s(&values, None).unwrap();
        let mut left = IntegerAccumulator::integer();
        left.push_i64s(&values[..split], None).unwrap();
        let mut right = IntegerAccumulator::integer();
        right.push_i64s(&values[split..], None).unwrap();
        left.merge(right).unwrap();
        let (whole, merged) = (whole.finish(), left.finish());
        prop_assert_eq!(&whole.quantiles, &merged.quantiles);
        prop_assert_eq!(&whole.top_values, &merged.top_values);
        prop_assert_eq!(&whole.histogram, &merged.histogram);
        prop_assert_eq!(&whole.sum_exact, &merged.sum_exact);
        prop_assert_eq!((whole.distinct, whole.min.clone(), whole.max.clone()), (merged.distinct, merged.min.clone(), merged.max.clone()));
    }

    #[test]
    fn exact_quantiles_are_nearest_rank(values in proptest::collection::vec(-1e6f64..1e6, 1..300)) {
        let mut accumulator = NumericAccumulator::new();
        accumulator.push_f64s(&values, None).unwrap();
        let profile = accumulator.finish();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let quantiles = profile.quantiles.unwrap();
        prop_assert_eq!(float_of(&quantiles.p25), nearest_rank(&sorted, 0.25));
        prop_assert_eq!(float_of(&quantiles.p99), nearest_rank(&sorted, 0.99));
        prop_assert_eq!(profile.min, Some(ProfileValue::Float(sorted[0])));
    }
}
