//! The multivariate model over a table's metric vector: every metric of an asset collected at
//! one time is one row, and an extended isolation forest trained on the table's earlier rows
//! judges it. It catches combinations the per-series detectors cannot see because each metric
//! stays within its own range: rows loaded without the NULLs or distinct values that usually
//! come with them, two columns whose means move together drifting apart.
//!
//! Features (`table_features`): `log_rows` = ln(1 + row_count); per column `null_share` =
//! null_count / row_count, `distinct_ratio` = distinct_count / row_count, and `mean`. Each is
//! standardised robustly (median, MAD) over the training rows, so the forest's random
//! directions weigh them alike and each feature's z-score explains the verdict.
//!
//! Causal: the model that judges a row is trained on earlier rows only (the last
//! `TRAINING_WINDOW` normal ones; retrained after an eighth of them are new, at most every
//! `RETRAIN_EVERY` rows) and there is no verdict
//! before `MIN_TRAINING_ROWS`. Isolation scores are bounded (a row isolated by the first split of
//! every tree scores the forest's maximum), so the bar is not a number of standard deviations
//! but a share of the way from the training rows' median score (scored by the trees that did
//! not see them, as a new ordinary row would be) to that maximum: `BAR_SHARE` = 0.8, a row
//! isolated within about two splits in most trees. On the synthetic tables ordinary rows reach
//! about 0.6 of the way, broken ones 0.85 and more. Rows that alerted are left out of later
//! training so an incident does not teach the model that the next one is normal. Consecutive
//! anomalous rows are one event. Feedback as elsewhere: `false_positive` learns the row and
//! moves the bar half the remaining way beyond its score, `expected` leaves it out.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::Verdict;
use super::detector::Judgement;
use super::forest::{CompactForest, IsolationForest};
use super::window::median_of;

/// The metric name under which table-vector anomalies are stored (column `""`).
pub const TABLE_VECTOR_METRIC: &str = "table_vector";
/// No verdict before the model has this many earlier rows.
pub const MIN_TRAINING_ROWS: usize = 20;
/// Rows the model is trained on, at most (the newest normal ones).
const TRAINING_WINDOW: usize = 512;
/// Retrain after this many new rows at most (after an eighth of the training rows while the
/// history is short): a model a few days old judges as well, and training is the replay's cost.
const RETRAIN_EVERY: usize = 64;
const TREES: usize = 100;
const SAMPLE_SIZE: usize = 256;
const FOREST_SEED: u64 = 0x7AB1_E5EE_D000_0001;
/// A feature enters the model when at least this share of the training rows carry it.
const FEATURE_PRESENCE: f64 = 0.8;
/// Standardised features are clipped here so one absurd value cannot stretch every split.
const Z_CLIP: f64 = 50.0;
/// Reported z-scores are capped here (a feature constant in training has no spread).
const REPORTED_Z_CAP: f64 = 1_000.0;
/// A row is anomalous beyond this share of the way from the training rows' median score to the
/// forest's maximum score.
const BAR_SHARE: f64 = 0.8;
/// The spread of training scores (for the reported score) is never below this.
const MIN_SCORE_SIGMA: f64 = 0.01;
const MAD_TO_SIGMA: f64 = 1.4826;
const MEAN_ABS_TO_SIGMA: f64 = 1.2533;
/// Relative and absolute floors of a feature's spread.
const RELATIVE_SPREAD_FLOOR: f64 = 1e-3;
const ABSOLUTE_SPREAD_FLOOR: f64 = 1e-9;
/// A row marked as a false positive moves the bar this share of the remaining way beyond its score.
const ACCEPTED_MARGIN: f64 = 0.5;
/// Wider tables are not rotated onto principal axes (the decomposition is cubic in the width).
const MAX_WHITENED_FEATURES: usize = 64;
/// Standardised values are winsorised here for the covariance.
const WINSOR: f64 = 4.0;
/// A principal axis' spread is never below this (in standardised units): relations that held
/// exactly in training are still judged on a finite scale.
const MIN_AXIS_SPREAD: f64 = 1e-3;
/// A broken relation is reported first when its axis is this many times further out than the
/// furthest single feature.
const RELATION_DOMINANCE: f64 = 2.0;
/// Features reported as the ones that contributed most.
const REPORTED_FEATURES: usize = 3;

/// The model's features of one collection from its metrics (metric, column, value); metrics
/// the model does not use are ignored.
pub fn table_features<'a>(
    metrics: impl IntoIterator<Item = (&'a str, &'a str, f64)>,
) -> BTreeMap<String, f64> {
    let metrics: Vec<(&str, &str, f64)> = metrics
        .into_iter()
        .filter(|(_, _, value)| value.is_finite())
        .collect();
    let rows = metrics
        .iter()
        .find(|(metric, column, _)| *metric == "row_count" && column.is_empty())
        .map(|(_, _, value)| *value);
    let mut features = BTreeMap::new();
    if let Some(rows) = rows {
        features.insert("log_rows".to_owned(), rows.max(0.0).ln_1p());
    }
    for (metric, column, value) in metrics {
        match (metric, rows) {
            ("null_count", Some(rows)) if rows > 0.0 => {
                features.insert(format!("null_share:{column}"), value / rows);
            }
            ("distinct_count", Some(rows)) if rows > 0.0 => {
                features.insert(format!("distinct_ratio:{column}"), value / rows);
            }
            ("mean", _) => {
                features.insert(format!("mean:{column}"), value);
            }
            _ => {}
        }
    }
    features
}

/// How far one feature of a judged row was from its usual value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Contribution {
    pub feature: String,
    pub value: f64,
    /// Median over the training rows.
    pub usual: f64,
    /// Robust z-score against the training rows.
    pub z: f64,
}

/// The verdict on one row: `value` is its isolation score, the band is `[0, bar]` in the same
/// unit, `score` is in robust standard deviations of the training rows' scores.
#[derive(Debug, Clone, PartialEq)]
pub struct TableVerdict {
    pub value: f64,
    pub verdict: Verdict,
    /// The features furthest from their usual values, furthest first (empty while warming up).
    pub contributions: Vec<Contribution>,
}

/// What a training run learned besides the forest: the features and their scales, the
/// rotation, and where the training rows' own scores lie. Saved with the detector's state, so
/// resuming regrows only the forest (deterministic from the rows it was trained on, this
/// rotation and the fixed seed) and does not score the training rows again.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Calibration {
    features: Vec<String>,
    medians: Vec<f64>,
    spreads: Vec<f64>,
    whitening: Whitening,
    score_median: f64,
    score_sigma: f64,
}

impl Calibration {
    /// Per-feature robust z-scores (unclipped), a missing feature at its median.
    fn feature_scores(&self, row: &BTreeMap<String, f64>) -> Vec<f64> {
        standardise(&self.features, &self.medians, &self.spreads, row)
    }

    /// A row as the forest sees it: its robust principal components.
    fn forest_input(&self, row: &BTreeMap<String, f64>) -> Vec<f64> {
        self.whitening.apply(&clip(self.feature_scores(row)))
    }
}

#[derive(Debug, Clone)]
struct Model {
    calibration: Calibration,
    forest: IsolationForest,
}

fn clip(mut values: Vec<f64>) -> Vec<f64> {
    for value in &mut values {
        *value = value.clamp(-Z_CLIP, Z_CLIP);
    }
    values
}

/// Rotation onto the principal axes of the standardised training rows, each axis standardised
/// robustly: a relation between features that held in training (price and total moving
/// together) becomes an axis of its own with a small spread, so breaking it is as far out as a
/// feature leaving its range. Without it the forest's random directions mostly see the features'
/// large common variation, and a broken relation with each feature in range looks ordinary.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Whitening {
    /// Unit eigenvectors of the training rows' covariance (rows of the matrix).
    axes: Vec<Vec<f64>>,
    medians: Vec<f64>,
    spreads: Vec<f64>,
}

impl Whitening {
    fn fit(rows: &[Vec<f64>]) -> Option<Self> {
        let dimensions = rows.first()?.len();
        let axes = if dimensions > MAX_WHITENED_FEATURES {
            // Too wide to decompose on every retraining: the features as they are.
            (0..dimensions)
                .map(|axis| {
                    (0..dimensions)
                        .map(|index| f64::from(u8::from(index == axis)))
                        .collect()
                })
                .collect()
        } else {
            // Covariance of the winsorised rows, so a few extreme rows do not set the axes.
            let winsorised: Vec<Vec<f64>> = rows
                .iter()
                .map(|row| row.iter().map(|value| value.clamp(-WINSOR, WINSOR)).collect())
                .collect();
            let count = winsorised.len() as f64;
            let means: Vec<f64> = (0..dimensions)
                .map(|index| winsorised.iter().map(|row| row[index]).sum::<f64>() / count)
                .collect();
            let mut covariance = vec![vec![0.0; dimensions]; dimensions];
            for row in &winsorised {
                let centred: Vec<f64> = row.iter().zip(&means).map(|(value, mean)| value - mean).collect();
                for (line, left) in covariance.iter_mut().zip(&centred) {
                    for (cell, right) in line.iter_mut().zip(&centred) {
                        *cell += left * right / count;
                    }
                }
            }
            symmetric_eigenvectors(covariance)
        };
        let projected: Vec<Vec<f64>> = rows.iter().map(|row| project(&axes, row)).collect();
        let mut medians = Vec::with_capacity(dimensions);
        let mut spreads = Vec::with_capacity(dimensions);
        for axis in 0..axes.len() {
            let values: Vec<f64> = projected.iter().map(|row| row[axis]).collect();
            let (median, spread) = robust_location_spread(&values)?;
            medians.push(median);
            spreads.push(spread.max(MIN_AXIS_SPREAD));
        }
        Some(Self {
            axes,
            medians,
            spreads,
        })
    }

    fn apply(&self, row: &[f64]) -> Vec<f64> {
        project(&self.axes, row)
            .iter()
            .zip(self.medians.iter().zip(&self.spreads))
            .map(|(value, (median, spread))| ((value - median) / spread).clamp(-Z_CLIP, Z_CLIP))
            .collect()
    }
}

fn project(axes: &[Vec<f64>], row: &[f64]) -> Vec<f64> {
    axes.iter()
        .map(|axis| axis.iter().zip(row).map(|(weight, value)| weight * value).sum())
        .collect()
}

/// Median and robust standard deviation (MAD, or the mean absolute deviation when more than
/// half the values are equal).
fn robust_location_spread(values: &[f64]) -> Option<(f64, f64)> {
    let median = median_of(values)?;
    let deviations: Vec<f64> = values.iter().map(|value| (value - median).abs()).collect();
    let mad = MAD_TO_SIGMA * median_of(&deviations)?;
    let spread = if mad > 0.0 {
        mad
    } else {
        MEAN_ABS_TO_SIGMA * deviations.iter().sum::<f64>() / deviations.len().max(1) as f64
    };
    Some((median, spread))
}

/// Unit eigenvectors of a symmetric matrix (nalgebra's symmetric QR algorithm), one per row,
/// largest eigenvalue first, each with its largest component positive so the axes do not depend
/// on the solver's sign choices.
fn symmetric_eigenvectors(matrix: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let size = matrix.len();
    let dense = nalgebra::DMatrix::from_fn(size, size, |row, column| matrix[row][column]);
    let eigen = nalgebra::SymmetricEigen::new(dense);
    let mut order: Vec<usize> = (0..size).collect();
    order.sort_by(|a, b| eigen.eigenvalues[*b].total_cmp(&eigen.eigenvalues[*a]));
    order
        .into_iter()
        .map(|column| {
            let vector: Vec<f64> = eigen.eigenvectors.column(column).iter().copied().collect();
            let largest = vector
                .iter()
                .copied()
                .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                .unwrap_or(0.0);
            let sign = if largest < 0.0 { -1.0 } else { 1.0 };
            vector.into_iter().map(|value| sign * value).collect()
        })
        .collect()
}

/// Each feature's robust z-score; a missing feature is taken at its median.
fn standardise(
    features: &[String],
    medians: &[f64],
    spreads: &[f64],
    row: &BTreeMap<String, f64>,
) -> Vec<f64> {
    features
        .iter()
        .zip(medians.iter().zip(spreads))
        .map(|(feature, (median, spread))| (row.get(feature).copied().unwrap_or(*median) - median) / spread)
        .collect()
}

/// Streaming multivariate detector for one table. Causal. Saved in two parts: its state
/// ([`TableDetector::to_state`], every pass: the rows, counters and the model's
/// [`Calibration`]) and its forest in compact form ([`TableDetector::model_to_bytes`], needed
/// only when [`TableDetector::model_changed`]: after a retraining). [`TableDetector::from_state`]
/// restores the forest from that compact form when it belongs to the state (the same training
/// generation) and regrows it from the rows it was trained on otherwise; either gives the same
/// forest.
#[derive(Debug, Clone)]
pub struct TableDetector {
    /// Normal (and accepted) rows, oldest first, at most `TRAINING_WINDOW`.
    training: VecDeque<BTreeMap<String, f64>>,
    /// The rows the current model was trained on.
    fitted: Option<VecDeque<BTreeMap<String, f64>>>,
    model: Option<Model>,
    /// Trainings so far: which saved forest belongs to which state.
    generation: u64,
    /// The model differs from the saved forest (not saved: true after a training, or when the
    /// saved forest was missing and had to be regrown).
    model_changed: bool,
    rows_since_training: usize,
    in_event: bool,
    /// The bar as a share of the way to the maximum score, raised by false-positive feedback.
    bar_share: f64,
}

/// [`TableDetector`] as saved. Its rows are most of it: each feature name is written once
/// (`names`, sorted) and a row as (name index, value) pairs in name order; the rows the model
/// was fitted on are mostly the training rows of now (training only slides on), so they are the
/// fitted rows that left the training window followed by the first `fitted_shared` training
/// rows.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedTable<C> {
    names: Vec<String>,
    training: Vec<Vec<(u32, f64)>>,
    fitted: Option<SavedFitted>,
    /// `&Calibration` when writing, `Calibration` when reading (the same bytes).
    calibration: Option<C>,
    generation: u64,
    rows_since_training: usize,
    in_event: bool,
    bar_share: f64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SavedFitted {
    /// Fitted rows no longer in the training window (the oldest).
    dropped: Vec<Vec<(u32, f64)>>,
    /// Then this many rows from the start of the training window.
    shared: usize,
}

/// How many of `fitted`'s newest rows are the first rows of `training` (0 when none are). The
/// start is looked for where `training`'s first row is; a few candidates at most are checked in
/// full (repeated rows could make it quadratic), and 0 is always correct, only bigger.
fn shared_rows(
    fitted: &VecDeque<BTreeMap<String, f64>>,
    training: &VecDeque<BTreeMap<String, f64>>,
) -> usize {
    const CANDIDATES: usize = 4;
    let Some(first) = training.front() else {
        return 0;
    };
    (0..fitted.len())
        .filter(|&start| &fitted[start] == first)
        .take(CANDIDATES)
        .find(|&start| {
            let shared = fitted.len() - start;
            shared <= training.len() && fitted.range(start..).eq(training.range(..shared))
        })
        .map_or(0, |start| fitted.len() - start)
}

fn encode_rows<'a>(
    rows: impl Iterator<Item = &'a BTreeMap<String, f64>>,
    index: &HashMap<&str, u32>,
) -> Vec<Vec<(u32, f64)>> {
    rows.map(|row| {
        row.iter()
            .map(|(name, value)| (index[name.as_str()], *value))
            .collect()
    })
    .collect()
}

fn decode_rows(rows: Vec<Vec<(u32, f64)>>, names: &[String]) -> Option<VecDeque<BTreeMap<String, f64>>> {
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .map(|(index, value)| Some((names.get(index as usize)?.clone(), value)))
                .collect()
        })
        .collect()
}

/// A forest as saved, with the training generation it belongs to.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedForest {
    generation: u64,
    forest: CompactForest,
}

impl Default for TableDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl TableDetector {
    pub fn new() -> Self {
        Self {
            training: VecDeque::new(),
            fitted: None,
            model: None,
            generation: 0,
            model_changed: false,
            rows_since_training: 0,
            in_event: false,
            bar_share: BAR_SHARE,
        }
    }

    /// The detector's state as bytes (without the forest), for [`TableDetector::from_state`].
    pub fn to_state(&self) -> Option<Vec<u8>> {
        let names: Vec<&str> = self
            .training
            .iter()
            .chain(self.fitted.iter().flatten())
            .flat_map(|row| row.keys().map(String::as_str))
            .collect::<BTreeSet<&str>>()
            .into_iter()
            .collect();
        let index: HashMap<&str, u32> = names
            .iter()
            .enumerate()
            .map(|(position, name)| (*name, position as u32))
            .collect();
        let fitted = self.fitted.as_ref().map(|fitted| {
            let shared = shared_rows(fitted, &self.training);
            SavedFitted {
                dropped: encode_rows(fitted.range(..fitted.len() - shared), &index),
                shared,
            }
        });
        postcard::to_allocvec(&SavedTable {
            names: names.iter().map(|name| (*name).to_owned()).collect(),
            training: encode_rows(self.training.iter(), &index),
            fitted,
            calibration: self.model.as_ref().map(|model| &model.calibration),
            generation: self.generation,
            rows_since_training: self.rows_since_training,
            in_event: self.in_event,
            bar_share: self.bar_share,
        })
        .ok()
    }

    /// The forest in compact form, for [`TableDetector::from_state`]; `None` before the first
    /// training.
    pub fn model_to_bytes(&self) -> Option<Vec<u8>> {
        let model = self.model.as_ref()?;
        postcard::to_allocvec(&SavedForest {
            generation: self.generation,
            forest: model.forest.compact(),
        })
        .ok()
    }

    /// Whether the forest changed since the detector was restored (or created): only then does
    /// [`TableDetector::model_to_bytes`] need saving again.
    pub fn model_changed(&self) -> bool {
        self.model_changed
    }

    /// A detector from [`TableDetector::to_state`]'s bytes and, when given, the last forest
    /// [`TableDetector::model_to_bytes`] saved; the forest is regrown from the rows it was
    /// trained on when that one is missing or from another training. `None` for state bytes it
    /// cannot read.
    pub fn from_state(bytes: &[u8], model: Option<&[u8]>) -> Option<Self> {
        let saved: SavedTable<Calibration> = postcard::from_bytes(bytes).ok()?;
        let training = decode_rows(saved.training, &saved.names)?;
        let fitted = match saved.fitted {
            Some(fitted) => {
                let mut rows = decode_rows(fitted.dropped, &saved.names)?;
                rows.extend(training.range(..fitted.shared.min(training.len())).cloned());
                Some(rows)
            }
            None => None,
        };
        let restored = model
            .and_then(|bytes| postcard::from_bytes::<SavedForest>(bytes).ok())
            .filter(|forest| forest.generation == saved.generation)
            .and_then(|forest| IsolationForest::restore(&forest.forest));
        let (model, model_changed) = match (&fitted, saved.calibration, restored) {
            (Some(_), Some(calibration), Some(forest)) => (Some(Model { calibration, forest }), false),
            (Some(rows), Some(calibration), None) => (
                grow_forest(&calibration, rows).map(|forest| Model { calibration, forest }),
                true,
            ),
            (Some(rows), None, _) => (train(rows), true),
            (None, _, _) => (None, false),
        };
        Some(Self {
            training,
            fitted,
            model,
            generation: saved.generation,
            model_changed,
            rows_since_training: saved.rows_since_training,
            in_event: saved.in_event,
            bar_share: saved.bar_share,
        })
    }

    pub fn observe(&mut self, features: &BTreeMap<String, f64>) -> TableVerdict {
        self.observe_inner(features, None)
    }

    /// Like [`observe`](Self::observe) for a row a user judged; never alerts.
    pub fn observe_judged(&mut self, features: &BTreeMap<String, f64>, judgement: Judgement) -> TableVerdict {
        self.observe_inner(features, Some(judgement))
    }

    fn observe_inner(
        &mut self,
        features: &BTreeMap<String, f64>,
        judgement: Option<Judgement>,
    ) -> TableVerdict {
        let warm_up = TableVerdict {
            value: 0.0,
            verdict: Verdict {
                expected_low: None,
                expected_high: None,
                score: 0.0,
                anomaly: false,
                warming_up: true,
            },
            contributions: Vec::new(),
        };
        if features.is_empty() {
            return warm_up;
        }
        if self.training.len() < MIN_TRAINING_ROWS {
            if judgement != Some(Judgement::Expected) {
                self.learn(features);
            }
            return warm_up;
        }
        let due = (self.training.len() / 8).clamp(1, RETRAIN_EVERY);
        if self.model.is_none() || self.rows_since_training >= due {
            self.model = train(&self.training);
            self.fitted = self.model.is_some().then(|| self.training.clone());
            self.generation += 1;
            self.model_changed = true;
            self.rows_since_training = 0;
        }
        let Some(model) = &self.model else {
            self.learn(features);
            return warm_up;
        };
        let calibration = &model.calibration;
        let value = model.forest.score(&calibration.forest_input(features));
        let score = (value - calibration.score_median) / calibration.score_sigma;
        let room = (model.forest.max_score() - calibration.score_median).max(f64::MIN_POSITIVE);
        let share = (value - calibration.score_median) / room;
        let band_high = calibration.score_median + self.bar_share * room;
        let high = value > band_high;
        let anomaly = high && !self.in_event && judgement.is_none();
        self.in_event = high;
        let contributions = explain(calibration, features);
        match judgement {
            Some(Judgement::Expected) => {}
            Some(Judgement::FalsePositive) => {
                // Feedback may come from a series event at this collection; the bar moves only
                // when the table model found the row unusual too.
                if high {
                    let accepted = share + ACCEPTED_MARGIN * (1.0 - share).max(0.0);
                    self.bar_share = self.bar_share.max(accepted);
                }
                self.learn(features);
            }
            None if high => {}
            None => self.learn(features),
        }
        self.rows_since_training += 1;
        TableVerdict {
            value,
            verdict: Verdict {
                expected_low: Some(0.0),
                expected_high: Some(band_high),
                score,
                anomaly,
                warming_up: false,
            },
            contributions,
        }
    }

    fn learn(&mut self, features: &BTreeMap<String, f64>) {
        if self.training.len() == TRAINING_WINDOW {
            self.training.pop_front();
        }
        self.training.push_back(features.clone());
    }
}

/// The features furthest from their usual values, and, when a broken relation explains the row
/// better than any single feature, that relation first (`relation:a~b`: the two features that
/// weigh most in the principal axis the row is furthest out on).
fn explain(calibration: &Calibration, row: &BTreeMap<String, f64>) -> Vec<Contribution> {
    let scores = calibration.feature_scores(row);
    let mut contributions: Vec<Contribution> = calibration
        .features
        .iter()
        .zip(&scores)
        .enumerate()
        .filter_map(|(index, (feature, z))| {
            Some(Contribution {
                feature: feature.clone(),
                value: *row.get(feature)?,
                usual: calibration.medians[index],
                z: z.clamp(-REPORTED_Z_CAP, REPORTED_Z_CAP),
            })
        })
        .collect();
    contributions.sort_by(|a, b| b.z.abs().total_cmp(&a.z.abs()));
    contributions.truncate(REPORTED_FEATURES);
    let whitening = &calibration.whitening;
    let projected = project(&whitening.axes, &clip(scores));
    let furthest = (0..projected.len())
        .map(|axis| {
            (
                axis,
                (projected[axis] - whitening.medians[axis]) / whitening.spreads[axis],
            )
        })
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
    let largest_feature = contributions
        .first()
        .map_or(0.0, |contribution| contribution.z.abs());
    if let Some((axis, z)) = furthest
        && z.abs() > RELATION_DOMINANCE * largest_feature
    {
        let mut weights: Vec<(usize, f64)> = whitening.axes[axis].iter().copied().enumerate().collect();
        weights.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let names: Vec<&str> = weights
            .iter()
            .take(2)
            .filter_map(|(index, _)| calibration.features.get(*index).map(String::as_str))
            .collect();
        contributions.insert(
            0,
            Contribution {
                feature: format!("relation:{}", names.join("~")),
                value: projected[axis],
                usual: whitening.medians[axis],
                z: z.clamp(-REPORTED_Z_CAP, REPORTED_Z_CAP),
            },
        );
        contributions.truncate(REPORTED_FEATURES);
    }
    contributions
}

fn train(rows: &VecDeque<BTreeMap<String, f64>>) -> Option<Model> {
    let mut presence: BTreeMap<&str, usize> = BTreeMap::new();
    for row in rows {
        for feature in row.keys() {
            *presence.entry(feature.as_str()).or_default() += 1;
        }
    }
    let features: Vec<String> = presence
        .into_iter()
        .filter(|(_, count)| *count as f64 >= FEATURE_PRESENCE * rows.len() as f64)
        .map(|(feature, _)| feature.to_owned())
        .collect();
    if features.is_empty() {
        return None;
    }
    let mut medians = Vec::with_capacity(features.len());
    let mut spreads = Vec::with_capacity(features.len());
    for feature in &features {
        let values: Vec<f64> = rows.iter().filter_map(|row| row.get(feature).copied()).collect();
        let (median, spread) = robust_location_spread(&values)?;
        medians.push(median);
        spreads.push(
            spread
                .max(RELATIVE_SPREAD_FLOOR * median.abs())
                .max(ABSOLUTE_SPREAD_FLOOR),
        );
    }
    let standardised: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| clip(standardise(&features, &medians, &spreads, row)))
        .collect();
    let whitening = Whitening::fit(&standardised)?;
    let matrix: Vec<Vec<f64>> = standardised.iter().map(|row| whitening.apply(row)).collect();
    let forest = IsolationForest::train(&matrix, TREES, SAMPLE_SIZE, FOREST_SEED)?;
    // Scores from the trees that did not see a row: what an ordinary new row scores.
    let scores = forest.out_of_sample_scores(&matrix);
    let score_median = median_of(&scores)?;
    let deviations: Vec<f64> = scores.iter().map(|score| (score - score_median).abs()).collect();
    Some(Model {
        calibration: Calibration {
            features,
            medians,
            spreads,
            whitening,
            score_median,
            score_sigma: (MAD_TO_SIGMA * median_of(&deviations)?).max(MIN_SCORE_SIGMA),
        },
        forest,
    })
}

/// The forest [`train`] grew on `rows` with this calibration (the same rows as the forest
/// sees them, the same seed: the same forest).
fn grow_forest(calibration: &Calibration, rows: &VecDeque<BTreeMap<String, f64>>) -> Option<IsolationForest> {
    let matrix: Vec<Vec<f64>> = rows.iter().map(|row| calibration.forest_input(row)).collect();
    IsolationForest::train(&matrix, TREES, SAMPLE_SIZE, FOREST_SEED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::rng::SeededRng;
    use crate::detectors::{DetectorConfig, SeriesDetector};

    /// A table loaded in batches of varying size: NULLs and distinct customers follow the rows,
    /// total follows price. Returns (rows, nulls, distinct, mean price, mean total).
    fn collection(rng: &mut SeededRng) -> [f64; 5] {
        let volume = (0.35 * rng.normal()).exp();
        let rows = (10_000.0 * volume * (1.0 + 0.01 * rng.normal())).round();
        let price = 40.0 * (0.15 * rng.normal()).exp();
        [
            (rows * 0.03 * (1.0 + 0.04 * rng.normal())).round(),
            rows,
            (rows * 0.4 * (1.0 + 0.02 * rng.normal())).round(),
            price,
            price * 3.0 * (1.0 + 0.01 * rng.normal()),
        ]
    }

    fn features_of(values: [f64; 5]) -> BTreeMap<String, f64> {
        let [nulls, rows, distinct, price, total] = values;
        table_features([
            ("row_count", "", rows),
            ("null_count", "email", nulls),
            ("distinct_count", "customer_id", distinct),
            ("mean", "price", price),
            ("mean", "total", total),
            ("max", "price", 1e9),
        ])
    }

    fn history(points: usize, seed: u64) -> Vec<[f64; 5]> {
        let mut rng = SeededRng::new(seed);
        (0..points).map(|_| collection(&mut rng)).collect()
    }

    fn table_alerts(rows: &[[f64; 5]]) -> Vec<usize> {
        let mut detector = TableDetector::new();
        rows.iter()
            .enumerate()
            .filter(|(_, values)| detector.observe(&features_of(**values)).verdict.anomaly)
            .map(|(index, _)| index)
            .collect()
    }

    #[test]
    fn eigenvectors_of_a_symmetric_matrix() {
        let vectors = symmetric_eigenvectors(vec![vec![2.0, 1.0], vec![1.0, 2.0]]);
        let half = 0.5f64.sqrt();
        for vector in &vectors {
            assert!(
                (vector[0].abs() - half).abs() < 1e-9 && (vector[1].abs() - half).abs() < 1e-9,
                "{vectors:?}"
            );
        }
        let dot: f64 = vectors[0].iter().zip(&vectors[1]).map(|(a, b)| a * b).sum();
        assert!(dot.abs() < 1e-9);
    }

    #[test]
    fn features_are_shares_ratios_means_and_log_rows() {
        let features = features_of([30.0, 1_000.0, 400.0, 40.0, 120.0]);
        assert_eq!(features.len(), 5);
        assert!((features["log_rows"] - 1_001f64.ln()).abs() < 1e-12);
        assert_eq!(features["null_share:email"], 0.03);
        assert_eq!(features["distinct_ratio:customer_id"], 0.4);
        assert_eq!(features["mean:total"], 120.0);
        // Without a row count there are no shares.
        let without_rows = table_features([("null_count", "email", 3.0), ("mean", "x", 1.0)]);
        assert_eq!(without_rows.keys().collect::<Vec<_>>(), vec!["mean:x"]);
    }

    #[test]
    fn a_detector_restored_from_its_state_judges_as_the_uninterrupted_one() {
        let mut rows = history(400, 2);
        rows[300][1] *= 1.8;
        let all: Vec<TableVerdict> = {
            let mut detector = TableDetector::new();
            rows.iter()
                .map(|values| detector.observe(&features_of(*values)))
                .collect()
        };
        // Saved and restored at several points, including between two retrainings; with its
        // saved forest, without it (regrown), and with a forest of an earlier training.
        let mut earlier_forest: Option<Vec<u8>> = None;
        for cut in [5, 21, 100, 250, 299, 301] {
            let mut detector = TableDetector::new();
            for values in &rows[..cut] {
                detector.observe(&features_of(*values));
            }
            let state = detector.to_state().unwrap();
            let forest = detector.model_to_bytes();
            assert_eq!(
                forest.is_some(),
                cut > MIN_TRAINING_ROWS,
                "forest after {cut} rows"
            );
            for saved in [forest.as_deref(), None, earlier_forest.as_deref()] {
                let mut restored = TableDetector::from_state(&state, saved).unwrap();
                let regrown = restored.model_changed();
                assert_eq!(
                    regrown,
                    forest.is_some() && saved != forest.as_deref(),
                    "restored after {cut} rows"
                );
                let rest: Vec<TableVerdict> = rows[cut..]
                    .iter()
                    .map(|values| restored.observe(&features_of(*values)))
                    .collect();
                assert_eq!(rest, all[cut..], "restored after {cut} rows");
            }
            earlier_forest = forest;
        }
    }

    #[test]
    fn a_state_saved_after_the_training_window_slid_keeps_every_row_and_writes_shared_ones_once() {
        let rows = history(TRAINING_WINDOW + 200, 3);
        let all: Vec<TableVerdict> = {
            let mut detector = TableDetector::new();
            rows.iter()
                .map(|values| detector.observe(&features_of(*values)))
                .collect()
        };
        for cut in [TRAINING_WINDOW + 10, TRAINING_WINDOW + 150] {
            let mut detector = TableDetector::new();
            for values in &rows[..cut] {
                detector.observe(&features_of(*values));
            }
            let state = detector.to_state().unwrap();
            let saved: SavedTable<Calibration> = postcard::from_bytes(&state).unwrap();
            let fitted = saved.fitted.as_ref().unwrap();
            // The window slid since the last training: some fitted rows left it, the rest are
            // the training rows of now, written once.
            assert!(
                fitted.shared > 0 && fitted.shared < TRAINING_WINDOW,
                "after {cut} rows"
            );
            assert_eq!(
                fitted.dropped.len() + fitted.shared,
                detector.fitted.as_ref().unwrap().len()
            );
            assert_eq!(saved.names.len(), features_of(rows[0]).len());
            let forest = detector.model_to_bytes();
            let mut restored = TableDetector::from_state(&state, forest.as_deref()).unwrap();
            assert_eq!(restored.training, detector.training, "after {cut} rows");
            assert_eq!(restored.fitted, detector.fitted, "after {cut} rows");
            let rest: Vec<TableVerdict> = rows[cut..]
                .iter()
                .map(|values| restored.observe(&features_of(*values)))
                .collect();
            assert_eq!(rest, all[cut..], "restored after {cut} rows");
        }
    }

    #[test]
    fn shared_rows_are_found_only_where_they_are() {
        let row = |value: f64| BTreeMap::from([("a".to_owned(), value)]);
        let deque = |values: &[f64]| values.iter().map(|v| row(*v)).collect::<VecDeque<_>>();
        assert_eq!(shared_rows(&deque(&[1.0, 2.0, 3.0]), &deque(&[2.0, 3.0, 4.0])), 2);
        assert_eq!(
            shared_rows(&deque(&[1.0, 2.0, 3.0]), &deque(&[1.0, 2.0, 3.0, 4.0])),
            3
        );
        assert_eq!(shared_rows(&deque(&[1.0, 2.0, 3.0]), &deque(&[5.0, 6.0])), 0);
        // Repeated rows: the tail must match as a whole, not only its first row.
        assert_eq!(shared_rows(&deque(&[1.0, 1.0, 2.0]), &deque(&[1.0, 2.0])), 2);
        assert_eq!(shared_rows(&deque(&[2.0, 1.0, 3.0]), &deque(&[1.0, 2.0])), 0);
        assert_eq!(shared_rows(&deque(&[]), &deque(&[1.0])), 0);
    }

    #[test]
    fn normal_collections_do_not_alert_and_cold_start_gives_no_verdict() {
        let rows = history(400, 1);
        assert_eq!(table_alerts(&rows), Vec::<usize>::new());
        let mut detector = TableDetector::new();
        for values in rows.iter().take(MIN_TRAINING_ROWS) {
            let verdict = detector.observe(&features_of(*values));
            assert!(verdict.verdict.warming_up && !verdict.verdict.anomaly);
        }
        assert!(!detector.observe(&features_of(rows[20])).verdict.warming_up);
    }

    #[test]
    fn a_broken_combination_alerts_and_names_its_features_while_every_series_stays_quiet() {
        let mut rows = history(400, 2);
        // Row count up by 80% at an ordinary volume; NULLs and distinct customers do not follow.
        let [nulls, rows_before, distinct, price, total] = rows[300];
        let ordinary = 9_000.0;
        rows[300] = [
            nulls * ordinary / rows_before,
            ordinary * 1.8,
            distinct * ordinary / rows_before,
            price,
            total,
        ];
        // Total no longer three times the price, both within their usual ranges.
        rows[350][4] = rows[350][3] * 3.0 * 1.35;
        assert_eq!(table_alerts(&rows), vec![300, 350]);

        let mut detector = TableDetector::new();
        let mut verdict = None;
        for values in rows.iter().take(301) {
            verdict = Some(detector.observe(&features_of(*values)));
        }
        let verdict = verdict.unwrap();
        let named: Vec<&str> = verdict
            .contributions
            .iter()
            .take(2)
            .map(|c| c.feature.as_str())
            .collect();
        assert!(
            named.contains(&"null_share:email") && named.contains(&"distinct_ratio:customer_id"),
            "{verdict:?}"
        );
        assert!(verdict.value > verdict.verdict.expected_high.unwrap());

        // The per-series detector on every stored series sees nothing at either point.
        for metric in 0..5 {
            let mut series = SeriesDetector::new(DetectorConfig::default());
            let alerts: Vec<usize> = rows
                .iter()
                .enumerate()
                .filter(|(index, values)| series.observe(*index as i64 * 3_600, values[metric]).anomaly)
                .map(|(index, _)| index)
                .collect();
            assert!(
                !alerts.contains(&300) && !alerts.contains(&350),
                "metric {metric}: {alerts:?}"
            );
        }
    }

    #[test]
    fn a_growing_table_with_a_daily_cycle_does_not_alert() {
        // A cumulative table: rows grow 0.2% an hour plus a daily swing of the load, NULLs follow,
        // the distinct countries stay about 200 (so their ratio keeps falling), the mean amount
        // follows the hour of the day.
        let mut rng = SeededRng::new(5);
        let mut detector = TableDetector::new();
        let alerts: Vec<usize> = (0..600)
            .filter(|hour| {
                let cycle = (std::f64::consts::TAU * (*hour % 24) as f64 / 24.0).sin();
                let rows = 1e6 * 1.002f64.powi(*hour as i32) * (1.0 + 0.05 * cycle);
                let features = table_features([
                    ("row_count", "", rows.round()),
                    (
                        "null_count",
                        "email",
                        (rows * 0.02 * (1.0 + 0.01 * rng.normal())).round(),
                    ),
                    ("distinct_count", "country", (200.0 + 3.0 * rng.normal()).round()),
                    (
                        "mean",
                        "amount",
                        50.0 * (1.0 + 0.2 * cycle) * (1.0 + 0.02 * rng.normal()),
                    ),
                ]);
                detector.observe(&features).verdict.anomaly
            })
            .collect();
        assert_eq!(alerts, Vec::<usize>::new());
    }

    #[test]
    fn feedback_reverses_and_is_reversible() {
        let mut rows = history(400, 3);
        rows[250][4] = rows[250][3] * 3.0 * 1.4;
        rows[330][4] = rows[330][3] * 3.0 * 1.4;
        assert_eq!(table_alerts(&rows), vec![250, 330]);
        let judged = |judgement: Judgement| {
            let mut detector = TableDetector::new();
            rows.iter()
                .enumerate()
                .filter(|(index, values)| {
                    let features = features_of(**values);
                    if *index == 250 {
                        detector.observe_judged(&features, judgement).verdict.anomaly
                    } else {
                        detector.observe(&features).verdict.anomaly
                    }
                })
                .map(|(index, _)| index)
                .collect::<Vec<usize>>()
        };
        assert_eq!(judged(Judgement::FalsePositive), Vec::<usize>::new());
        assert_eq!(judged(Judgement::Expected), vec![330]);
    }
}
