//! The finished, serialisable profile of one column. One struct for every column kind, so the JSON
//! shape is stable: a statistic that does not apply to a kind is `null`, never missing.

use serde::Serialize;

/// The kind of column a profile describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// 64-bit integers; min, max, sum and mode are exact.
    Integer,
    /// Decimals carried as an `i64` mantissa and a scale; min, max and `sum_exact` are exact.
    Decimal,
    /// Binary floating point.
    Float,
    /// UTF-8 text.
    Text,
    /// Timestamps: microseconds since the Unix epoch, UTC.
    Temporal,
    Boolean,
}

/// A value as it appears in a profile: a JSON number, string or boolean.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ProfileValue {
    Integer(i64),
    Float(f64),
    Text(String),
    Boolean(bool),
}

impl ProfileValue {
    pub(crate) fn as_text_mut(&mut self) -> Option<&mut String> {
        match self {
            ProfileValue::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// Nearest-rank quantiles (the smallest value whose cumulative count reaches ⌈q·n⌉).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantiles {
    pub p25: ProfileValue,
    pub p50: ProfileValue,
    pub p75: ProfileValue,
    pub p95: ProfileValue,
    pub p99: ProfileValue,
}

/// One of the most frequent values. The true count lies in `[count, count + count_error]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopValue {
    pub value: ProfileValue,
    pub count: u64,
    pub count_error: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistogramKind {
    /// Equal-width bins between min and max (numeric; temporal when there are too many days).
    EqualWidth,
    /// One bin per UTC calendar day that has values.
    PerDay,
    /// The most frequent values; `other_count` holds the rest.
    TopK,
}

/// A histogram in columns, so that thousands of day bins stay small on the wire: `counts[i]` is the
/// count of bin `i`; equal-width bins have `edges` (`counts.len() + 1` of them, bin `i` spans
/// `[edges[i], edges[i+1])`, the last bin also includes its upper edge) and per-day and top-k bins
/// have `values` (the day as `YYYY-MM-DD`, or the category).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub kind: HistogramKind,
    /// True when every count is exact.
    pub exact: bool,
    /// Largest absolute error of any bin count (0 when exact).
    pub count_error: u64,
    pub edges: Option<Vec<ProfileValue>>,
    pub values: Option<Vec<ProfileValue>>,
    pub counts: Vec<u64>,
    /// Non-null values in no listed bin (top-k histograms only).
    pub other_count: Option<u64>,
}

impl Histogram {
    /// Equal-width bins given as (lower, upper, count), edges converted by `edge`.
    pub(crate) fn equal_width(
        bins: Vec<(f64, f64, u64)>,
        exact: bool,
        count_error: u64,
        edge: impl Fn(f64) -> ProfileValue,
    ) -> Self {
        let mut edges: Vec<ProfileValue> = bins.iter().map(|&(lower, _, _)| edge(lower)).collect();
        if let Some(&(_, upper, _)) = bins.last() {
            edges.push(edge(upper));
        }
        Self {
            kind: HistogramKind::EqualWidth,
            exact,
            count_error,
            edges: Some(edges),
            values: None,
            counts: bins.into_iter().map(|(_, _, count)| count).collect(),
            other_count: None,
        }
    }

    /// Labelled bins (days or categories).
    pub(crate) fn labelled(
        kind: HistogramKind,
        exact: bool,
        count_error: u64,
        bins: Vec<(ProfileValue, u64)>,
        other_count: Option<u64>,
    ) -> Self {
        let (values, counts) = bins.into_iter().unzip();
        Self {
            kind,
            exact,
            count_error,
            edges: None,
            values: Some(values),
            counts,
            other_count,
        }
    }
}

/// Outlier counts. `method` says how they were obtained:
/// - `exact`: from exact value counts, after the scan;
/// - `sketch_estimate`: the fences come from sketch quartiles and the counts from the KLL sketch's
///   weighted items; each count is within `count_error` of the true number of values beyond the
///   *reported* fences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outliers {
    pub method: &'static str,
    /// Q1 − 1.5·IQR and Q3 + 1.5·IQR.
    pub iqr_lower_fence: f64,
    pub iqr_upper_fence: f64,
    /// Values strictly outside the IQR fences.
    pub iqr_count: u64,
    pub zscore_threshold: f64,
    /// Values with |x − mean| / std_dev strictly above the threshold (0 when std_dev is 0).
    pub zscore_count: u64,
    pub count_error: u64,
}

/// How often a semantic type matched a sample of the column's distinct values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SemanticMatch {
    pub semantic_type: SemanticType,
    /// Matching share of the sampled distinct values, 0..1.
    pub match_rate: f64,
    pub pii: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SemanticType {
    Email,
    Phone,
    Url,
    Uuid,
    Ipv4,
    Ipv6,
    CreditCard,
    DateInText,
    Json,
}

impl SemanticType {
    pub const ALL: [SemanticType; 9] = [
        SemanticType::Email,
        SemanticType::Phone,
        SemanticType::Url,
        SemanticType::Uuid,
        SemanticType::Ipv4,
        SemanticType::Ipv6,
        SemanticType::CreditCard,
        SemanticType::DateInText,
        SemanticType::Json,
    ];

    /// Types whose values identify a person (or their card) and are masked before shipping.
    pub fn is_pii(self) -> bool {
        matches!(
            self,
            SemanticType::Email
                | SemanticType::Phone
                | SemanticType::CreditCard
                | SemanticType::Ipv4
                | SemanticType::Ipv6
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Semantic {
    /// Distinct values examined: all of them up to the sample size, else a uniform sample of
    /// distinct values (the smallest hashes, so partitions merge into the same sample).
    pub sample_size: u64,
    pub sample_is_all_distinct: bool,
    /// Every type that matched at least one sampled value, best first.
    pub matches: Vec<SemanticMatch>,
    /// The type matching at least the detection share of the sample, if any.
    pub detected: Option<SemanticType>,
    /// Share of sampled values that are not themselves PII but contain an e-mail or IP address among
    /// their words (free text such as comments or notes).
    pub embedded_pii_rate: f64,
}

/// Statistics of one column. Counts are over rows; value statistics are over non-null values (for
/// floats: finite values; NaN and ±Inf are counted in `nan` and `infinite` and left out of the rest).
/// Temporal columns give timestamps as RFC 3339 UTC text and `range`, `std_dev` in seconds
/// (`variance` in seconds²).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnProfile {
    pub kind: ColumnKind,
    pub count: u64,
    pub nulls: u64,
    pub null_percent: Option<f64>,
    pub distinct: Option<u64>,
    pub distinct_exact: Option<bool>,
    /// Relative standard error of `distinct` (0 when exact).
    pub distinct_error: Option<f64>,
    /// distinct / non-null values.
    pub distinct_ratio: Option<f64>,
    pub min: Option<ProfileValue>,
    pub max: Option<ProfileValue>,
    pub range: Option<f64>,
    pub sum: Option<f64>,
    /// Exact sum as decimal text (integer and decimal columns).
    pub sum_exact: Option<String>,
    pub mean: Option<ProfileValue>,
    pub median: Option<ProfileValue>,
    pub mode: Option<ProfileValue>,
    /// Sample standard deviation (n − 1).
    pub std_dev: Option<f64>,
    pub variance: Option<f64>,
    pub skewness: Option<f64>,
    /// Excess kurtosis (0 for a normal distribution).
    pub kurtosis: Option<f64>,
    pub quantiles: Option<Quantiles>,
    pub quantiles_exact: Option<bool>,
    /// Normalised rank error of quantiles and median at 99 % confidence (0 when exact).
    pub quantile_rank_error: Option<f64>,
    pub zeros: Option<u64>,
    pub negatives: Option<u64>,
    pub nan: Option<u64>,
    pub infinite: Option<u64>,
    pub empty_strings: Option<u64>,
    /// Lengths in Unicode scalar values.
    pub length_min: Option<u64>,
    pub length_mean: Option<f64>,
    pub length_max: Option<u64>,
    pub true_count: Option<u64>,
    pub false_count: Option<u64>,
    pub top_values: Option<Vec<TopValue>>,
    pub top_values_exact: Option<bool>,
    pub histogram: Option<Histogram>,
    pub outliers: Option<Outliers>,
    pub semantic: Option<Semantic>,
    /// True when the column likely holds personal data; its values are masked by
    /// [`super::mask_top_values`] before shipping.
    pub pii: bool,
    /// True once [`super::mask_top_values`] has masked the values of a PII column.
    pub masked: bool,
}

impl ColumnProfile {
    /// A profile with only the row counts set.
    pub(crate) fn empty(kind: ColumnKind, count: u64, nulls: u64) -> Self {
        Self {
            kind,
            count,
            nulls,
            null_percent: (count > 0).then(|| 100.0 * nulls as f64 / count as f64),
            distinct: None,
            distinct_exact: None,
            distinct_error: None,
            distinct_ratio: None,
            min: None,
            max: None,
            range: None,
            sum: None,
            sum_exact: None,
            mean: None,
            median: None,
            mode: None,
            std_dev: None,
            variance: None,
            skewness: None,
            kurtosis: None,
            quantiles: None,
            quantiles_exact: None,
            quantile_rank_error: None,
            zeros: None,
            negatives: None,
            nan: None,
            infinite: None,
            empty_strings: None,
            length_min: None,
            length_mean: None,
            length_max: None,
            true_count: None,
            false_count: None,
            top_values: None,
            top_values_exact: None,
            histogram: None,
            outliers: None,
            semantic: None,
            pii: false,
            masked: false,
        }
    }
}
