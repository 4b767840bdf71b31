//! A small extended isolation forest (Hariri et al., 2019): trees of random oblique splits that
//! isolate points; points isolated after few splits are anomalous. Oblique rather than
//! axis-parallel splits (Liu et al.'s original) because the breaks we look for are broken
//! relations between correlated metrics, which axis-parallel splits see poorly.
//!
//! Scoring adds SCiForest's range check (Liu, Ting and Zhou, 2010): a point whose projection
//! falls outside the range of the node's training points along the split direction, by more
//! than `RANGE_MARGIN` times that range, is isolated there (the margin keeps a new record that
//! only just passes the old extreme — the next peak of a trend or cycle — ordinary). Without it a point far beyond the training data scores like the most extreme training
//! point (plain isolation forests saturate at the hull), which leaves too little room between
//! the training rows' scores and a broken row's. Directions include the dimensions that are
//! constant in a node, so a value that never varied in training and now differs is isolated at
//! once.
//!
//! Hand-written (about 150 lines) because the crates available either fix the dimension at
//! compile time (`extended-isolation-forest`) or bring linfa and ndarray (`isoforest`); a
//! table's metric vector has as many dimensions as it has columns. Deterministic: the same
//! training rows and seed give the same forest ([`SeededRng`]).

use super::rng::SeededRng;

/// Retries for a split that leaves every point on one side before the node becomes a leaf.
const SPLIT_ATTEMPTS: u8 = 8;
/// How far beyond a node's range (as a share of it) a projection must fall to be isolated there.
const RANGE_MARGIN: f64 = 0.25;
/// Up to this many dimensions a [`CompactForest`] keeps the split directions themselves (at
/// most 64 bytes a split, against 25 for the rest of it); wider forests draw them again.
const STORED_DIRECTION_DIMENSIONS: usize = 8;
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Leaf {
        size: usize,
        /// Splits tried and given up on (0, or `SPLIT_ATTEMPTS` when every one failed).
        attempts: u8,
    },
    Split {
        /// Directions drawn until this one split the node's points (the last one is kept).
        attempts: u8,
        /// Start of the split direction in the tree's `normals` (`dimensions` values).
        normal: usize,
        threshold: f64,
        /// Range of the node's training points projected on the normal.
        low: f64,
        high: f64,
        left: usize,
        right: usize,
    },
}

#[derive(Debug, Clone)]
struct Tree {
    /// In the order they were grown (depth first, left before right).
    nodes: Vec<Node>,
    /// The split directions of the nodes, one after the other (one allocation per tree).
    normals: Vec<f64>,
    /// Which training rows the tree was grown on (empty in a forest restored from its
    /// [`CompactForest`], which is only scored).
    in_sample: Vec<bool>,
}

/// An [`IsolationForest`] without its split directions, which are most of its size (one value
/// per dimension per split): each node's outcome (a leaf's size, a split's threshold and
/// range) and how many directions were drawn for it. The directions come from the seeded
/// generator alone, so [`IsolationForest::restore`] draws them again in growth order; the
/// size does not depend on the number of dimensions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CompactForest {
    seed: u64,
    rows: usize,
    sample_size: usize,
    dimensions: usize,
    /// Each tree's nodes in growth order.
    trees: Vec<Vec<CompactNode>>,
    /// Each tree's split directions as they are, for forests of at most
    /// `STORED_DIRECTION_DIMENSIONS` dimensions (reading them is cheaper than drawing them
    /// again, and they are no bigger than the rest); `None`: drawn again.
    directions: Option<Vec<Vec<f64>>>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum CompactNode {
    Leaf {
        size: usize,
        attempts: u8,
    },
    Split {
        attempts: u8,
        threshold: f64,
        low: f64,
        high: f64,
    },
}

/// Where [`replay`] takes the split directions from.
enum Directions<'a> {
    /// The tree's directions as saved, one after the other, and their number of dimensions.
    Stored(&'a [f64], usize),
    /// Drawn again (the generator as the tree's growth left it, and a buffer for one).
    Drawn(&'a mut SeededRng, &'a mut [f64]),
}

/// Rebuilds the subtree whose first node is `nodes[*next]`, taking each split's direction from
/// `directions` (drawing again what [`build`] drew for each node: per attempt a direction,
/// then a point of the bounding box); returns its index.
fn replay(
    tree: &mut Tree,
    nodes: &[CompactNode],
    next: &mut usize,
    directions: &mut Directions<'_>,
) -> Option<usize> {
    let node = nodes.get(*next)?;
    *next += 1;
    let index = tree.nodes.len();
    let attempts = match node {
        CompactNode::Leaf { attempts, .. } | CompactNode::Split { attempts, .. } => *attempts,
    };
    if attempts > SPLIT_ATTEMPTS {
        return None;
    }
    if let Directions::Drawn(rng, normal) = directions {
        for _ in 0..attempts {
            for weight in normal.iter_mut() {
                *weight = rng.normal();
            }
            for _ in 0..normal.len() {
                rng.uniform();
            }
        }
    }
    match node {
        CompactNode::Leaf { size, attempts } => {
            tree.nodes.push(Node::Leaf {
                size: *size,
                attempts: *attempts,
            });
        }
        CompactNode::Split {
            attempts,
            threshold,
            low,
            high,
        } => {
            if *attempts == 0 {
                return None;
            }
            tree.nodes.push(Node::Leaf { size: 0, attempts: 0 });
            let start = tree.normals.len();
            match directions {
                Directions::Drawn(_, normal) => tree.normals.extend_from_slice(normal),
                Directions::Stored(stored, dimensions) => {
                    tree.normals
                        .extend_from_slice(stored.get(start..start + *dimensions)?);
                }
            }
            let left = replay(tree, nodes, next, directions)?;
            let right = replay(tree, nodes, next, directions)?;
            tree.nodes[index] = Node::Split {
                attempts: *attempts,
                normal: start,
                threshold: *threshold,
                low: *low,
                high: *high,
                left,
                right,
            };
        }
    }
    Some(index)
}

/// Buffers one tree's growth reuses at every node: a node's bounding box and candidate
/// direction are needed only until it is split, before its children are grown.
struct Scratch {
    low: Vec<f64>,
    high: Vec<f64>,
    normal: Vec<f64>,
}

/// A trained forest over rows of `dimensions` values.
#[derive(Debug, Clone)]
pub struct IsolationForest {
    trees: Vec<Tree>,
    dimensions: usize,
    /// How it was grown: the seed, the number of training rows and the sample size fix the
    /// sequence of random draws, which [`IsolationForest::restore`] replays.
    seed: u64,
    rows: usize,
    sample_size: usize,
    /// Average path length of an unsuccessful search among `sample_size` points: the normaliser.
    normaliser: f64,
}

/// Average path length of an unsuccessful binary-search-tree search among `n` points, the
/// expected depth at which a leaf of `n` points would have isolated one.
fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

impl IsolationForest {
    /// Trains `trees` trees, each on `sample_size` rows drawn without replacement (at most half
    /// the rows, so every row is out of the sample of about half the trees: see
    /// [`out_of_sample_scores`](Self::out_of_sample_scores)). `None` when there are fewer than
    /// four rows or rows of different lengths.
    pub fn train(rows: &[Vec<f64>], trees: usize, sample_size: usize, seed: u64) -> Option<Self> {
        let dimensions = rows.first()?.len();
        if rows.len() < 4 || rows.iter().any(|row| row.len() != dimensions) {
            return None;
        }
        let sample_size = sample_size.clamp(2, rows.len() / 2);
        let height_limit = (sample_size as f64).log2().ceil() as usize;
        let mut rng = SeededRng::new(seed);
        let mut indices: Vec<usize> = (0..rows.len()).collect();
        let mut scratch = Scratch {
            low: vec![0.0; dimensions],
            high: vec![0.0; dimensions],
            normal: vec![0.0; dimensions],
        };
        let trees = (0..trees.max(1))
            .map(|_| {
                // Partial Fisher–Yates: the first `sample_size` indices are the sample.
                for slot in 0..sample_size {
                    let pick = rng.range(slot, indices.len());
                    indices.swap(slot, pick);
                }
                let mut sample: Vec<&[f64]> = indices[..sample_size]
                    .iter()
                    .map(|&index| rows[index].as_slice())
                    .collect();
                let mut in_sample = vec![false; rows.len()];
                for &index in &indices[..sample_size] {
                    in_sample[index] = true;
                }
                let mut tree = Tree {
                    nodes: Vec::with_capacity(2 * sample_size),
                    normals: Vec::new(),
                    in_sample,
                };
                build(&mut tree, &mut sample, 0, height_limit, &mut scratch, &mut rng);
                tree
            })
            .collect();
        Some(Self {
            trees,
            dimensions,
            seed,
            rows: rows.len(),
            sample_size,
            normaliser: average_path_length(sample_size),
        })
    }

    /// The forest without its split directions (see [`CompactForest`]).
    pub fn compact(&self) -> CompactForest {
        CompactForest {
            seed: self.seed,
            rows: self.rows,
            sample_size: self.sample_size,
            dimensions: self.dimensions,
            trees: self
                .trees
                .iter()
                .map(|tree| {
                    tree.nodes
                        .iter()
                        .map(|node| match node {
                            Node::Leaf { size, attempts } => CompactNode::Leaf {
                                size: *size,
                                attempts: *attempts,
                            },
                            Node::Split {
                                attempts,
                                threshold,
                                low,
                                high,
                                ..
                            } => CompactNode::Split {
                                attempts: *attempts,
                                threshold: *threshold,
                                low: *low,
                                high: *high,
                            },
                        })
                        .collect()
                })
                .collect(),
            directions: (self.dimensions <= STORED_DIRECTION_DIMENSIONS)
                .then(|| self.trees.iter().map(|tree| tree.normals.clone()).collect()),
        }
    }

    /// The forest [`compact`](Self::compact) was taken from (it scores every row alike), its
    /// split directions read back or drawn again: the seeded draws of its growth replayed in
    /// the order they were made, without the training rows. `None` for a compact form that
    /// does not describe a whole forest.
    pub fn restore(compact: &CompactForest) -> Option<Self> {
        let dimensions = compact.dimensions;
        if dimensions == 0 || compact.sample_size > compact.rows {
            return None;
        }
        if let Some(directions) = &compact.directions
            && directions.len() != compact.trees.len()
        {
            return None;
        }
        let mut rng = SeededRng::new(compact.seed);
        let mut normal = vec![0.0; dimensions];
        let trees = compact
            .trees
            .iter()
            .enumerate()
            .map(|(index, nodes)| {
                let stored = compact
                    .directions
                    .as_ref()
                    .and_then(|directions| directions.get(index))
                    .map(Vec::as_slice);
                if stored.is_none() {
                    // The draws of the sample (which rows does not matter to scoring).
                    for slot in 0..compact.sample_size {
                        rng.range(slot, compact.rows);
                    }
                }
                let mut tree = Tree {
                    nodes: Vec::with_capacity(nodes.len()),
                    normals: Vec::with_capacity(stored.map_or(0, <[f64]>::len)),
                    in_sample: Vec::new(),
                };
                let mut next = 0;
                let mut directions = match stored {
                    Some(stored) => Directions::Stored(stored, dimensions),
                    None => Directions::Drawn(&mut rng, &mut normal),
                };
                replay(&mut tree, nodes, &mut next, &mut directions)?;
                let whole =
                    next == nodes.len() && stored.is_none_or(|stored| stored.len() == tree.normals.len());
                whole.then_some(tree)
            })
            .collect::<Option<Vec<Tree>>>()?;
        if trees.is_empty() {
            return None;
        }
        Some(Self {
            trees,
            dimensions,
            seed: compact.seed,
            rows: compact.rows,
            sample_size: compact.sample_size,
            normaliser: average_path_length(compact.sample_size),
        })
    }

    /// The highest score a row can get: isolated by the first split of every tree.
    pub fn max_score(&self) -> f64 {
        2f64.powf(-1.0 / self.normaliser.max(f64::MIN_POSITIVE))
    }

    /// Anomaly score in (0, 1): about 0.5 or below for ordinary points, towards 1 for points
    /// isolated early.
    pub fn score(&self, row: &[f64]) -> f64 {
        if row.len() != self.dimensions || self.trees.is_empty() {
            return 0.0;
        }
        let total: f64 = self
            .trees
            .iter()
            .map(|tree| path_length(tree, row, self.dimensions))
            .sum();
        let mean = total / self.trees.len() as f64;
        2f64.powf(-mean / self.normaliser.max(f64::MIN_POSITIVE))
    }
}

impl IsolationForest {
    /// The score of each training row (`rows` as given to [`train`](Self::train)) from the trees
    /// that did not see it: what a new ordinary row scores, unlike in-sample scores, which are
    /// lower because a row inside a tree's sample is never outside its hull.
    pub fn out_of_sample_scores(&self, rows: &[Vec<f64>]) -> Vec<f64> {
        rows.iter()
            .enumerate()
            .map(|(index, row)| {
                let (mut total, mut count) = (0.0, 0usize);
                for tree in &self.trees {
                    if !tree.in_sample.get(index).copied().unwrap_or(true) {
                        total += path_length(tree, row, self.dimensions);
                        count += 1;
                    }
                }
                if count == 0 {
                    return self.score(row);
                }
                let mean = total / count as f64;
                2f64.powf(-mean / self.normaliser.max(f64::MIN_POSITIVE))
            })
            .collect()
    }
}

/// Builds the subtree of `points` at `depth`, returns its node index.
fn build(
    tree: &mut Tree,
    points: &mut [&[f64]],
    depth: usize,
    height_limit: usize,
    scratch: &mut Scratch,
    rng: &mut SeededRng,
) -> usize {
    let index = tree.nodes.len();
    tree.nodes.push(Node::Leaf {
        size: points.len(),
        attempts: 0,
    });
    if depth >= height_limit || points.len() <= 1 {
        return index;
    }
    let Scratch { low, high, normal } = scratch;
    low.fill(f64::INFINITY);
    high.fill(f64::NEG_INFINITY);
    for point in points.iter() {
        for ((value, low), high) in point.iter().zip(low.iter_mut()).zip(high.iter_mut()) {
            *low = low.min(*value);
            *high = high.max(*value);
        }
    }
    for attempt in 1..=SPLIT_ATTEMPTS {
        // A random direction through a random point of the node's bounding box.
        for weight in normal.iter_mut() {
            *weight = rng.normal();
        }
        let threshold: f64 = normal
            .iter()
            .zip(low.iter().zip(high.iter()))
            .map(|(weight, (low, high))| weight * (low + rng.uniform() * (high - low)))
            .sum();
        let project = |point: &[f64]| {
            point
                .iter()
                .zip(normal.iter())
                .map(|(value, weight)| value * weight)
                .sum::<f64>()
        };
        // Partition in place: points at or below the threshold first.
        let mut split = 0;
        let (mut projected_low, mut projected_high) = (f64::INFINITY, f64::NEG_INFINITY);
        for position in 0..points.len() {
            let projection = project(points[position]);
            projected_low = projected_low.min(projection);
            projected_high = projected_high.max(projection);
            if projection <= threshold {
                points.swap(split, position);
                split += 1;
            }
        }
        if split == 0 || split == points.len() {
            continue;
        }
        let start = tree.normals.len();
        tree.normals.extend_from_slice(normal);
        let (left_points, right_points) = points.split_at_mut(split);
        let left = build(tree, left_points, depth + 1, height_limit, scratch, rng);
        let right = build(tree, right_points, depth + 1, height_limit, scratch, rng);
        tree.nodes[index] = Node::Split {
            attempts: attempt,
            normal: start,
            threshold,
            low: projected_low,
            high: projected_high,
            left,
            right,
        };
        return index;
    }
    tree.nodes[index] = Node::Leaf {
        size: points.len(),
        attempts: SPLIT_ATTEMPTS,
    };
    index
}

fn path_length(tree: &Tree, row: &[f64], dimensions: usize) -> f64 {
    let mut index = 0;
    let mut depth = 0.0;
    while let Some(node) = tree.nodes.get(index) {
        match node {
            Node::Leaf { size, .. } => return depth + average_path_length(*size),
            Node::Split {
                normal,
                threshold,
                low,
                high,
                left,
                right,
                ..
            } => {
                let weights = tree.normals.get(*normal..*normal + dimensions).unwrap_or(&[]);
                let projection: f64 = row
                    .iter()
                    .zip(weights)
                    .map(|(value, weight)| value * weight)
                    .sum();
                let margin = RANGE_MARGIN * (high - low);
                if projection < low - margin || projection > high + margin {
                    return depth + 1.0;
                }
                index = if projection <= *threshold { *left } else { *right };
                depth += 1.0;
            }
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two strongly correlated coordinates plus an independent one.
    fn correlated_rows(count: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = SeededRng::new(seed);
        (0..count)
            .map(|_| {
                let shared = rng.normal();
                vec![shared, shared + 0.1 * rng.normal(), rng.normal()]
            })
            .collect()
    }

    #[test]
    fn outliers_score_higher_than_inliers_and_training_is_deterministic() {
        let rows = correlated_rows(400, 1);
        let forest = IsolationForest::train(&rows, 100, 256, 7).unwrap();
        let inlier = forest.score(&[0.0, 0.0, 0.0]);
        let far = forest.score(&[6.0, 6.0, 0.0]);
        // Each coordinate within its usual range, the relation between the first two broken.
        let broken = forest.score(&[1.5, -1.5, 0.0]);
        assert!(inlier < 0.5, "inlier {inlier}");
        assert!(far > 0.65, "far {far}");
        assert!(broken > inlier + 0.15, "broken {broken} vs inlier {inlier}");
        let again = IsolationForest::train(&rows, 100, 256, 7).unwrap();
        assert_eq!(again.score(&[1.5, -1.5, 0.0]), broken);
    }

    #[test]
    fn a_wide_restored_forest_draws_its_directions_again() {
        let mut rng = SeededRng::new(5);
        let rows: Vec<Vec<f64>> = (0..200)
            .map(|_| (0..12).map(|_| rng.normal()).collect())
            .collect();
        let forest = IsolationForest::train(&rows, 40, 64, 13).unwrap();
        let compact = forest.compact();
        assert!(compact.directions.is_none());
        let bytes = postcard::to_allocvec(&compact).unwrap();
        let restored = IsolationForest::restore(&postcard::from_bytes(&bytes).unwrap()).unwrap();
        for (grown, again) in forest.trees.iter().zip(&restored.trees) {
            assert_eq!(grown.nodes, again.nodes);
            assert_eq!(grown.normals, again.normals);
        }
        // A few bytes per node, whatever the number of dimensions (the directions, one value
        // per dimension per split, are what it leaves out).
        let nodes: usize = forest.trees.iter().map(|tree| tree.nodes.len()).sum();
        assert!(
            bytes.len() < 32 * nodes,
            "{} bytes for {nodes} nodes",
            bytes.len()
        );
        for row in rows.iter().take(50) {
            assert_eq!(restored.score(row), forest.score(row));
        }
    }

    #[test]
    fn a_restored_forest_is_the_grown_one() {
        let rows = correlated_rows(300, 3);
        let forest = IsolationForest::train(&rows, 60, 128, 11).unwrap();
        let compact = forest.compact();
        assert!(compact.directions.is_some());
        let bytes = postcard::to_allocvec(&compact).unwrap();
        let restored = IsolationForest::restore(&postcard::from_bytes(&bytes).unwrap()).unwrap();
        for (grown, again) in forest.trees.iter().zip(&restored.trees) {
            assert_eq!(grown.nodes, again.nodes);
            assert_eq!(grown.normals, again.normals);
        }
        assert_eq!(restored.trees.len(), 60);
        for row in correlated_rows(50, 4).iter().chain(&rows) {
            assert_eq!(restored.score(row), forest.score(row));
        }
        assert_eq!(restored.max_score(), forest.max_score());
        // A truncated or altered compact form is refused, not half restored.
        let mut broken = compact.clone();
        broken.trees[0].pop();
        assert!(IsolationForest::restore(&broken).is_none());
        let mut broken = compact.clone();
        broken.trees[1].push(CompactNode::Leaf { size: 1, attempts: 0 });
        assert!(IsolationForest::restore(&broken).is_none());
        let mut broken = compact.clone();
        if let Some(directions) = &mut broken.directions {
            directions[2].pop();
        }
        assert!(IsolationForest::restore(&broken).is_none());
        // Without the directions they are drawn again: the same forest.
        let drawn = IsolationForest::restore(&CompactForest {
            directions: None,
            ..compact
        })
        .unwrap();
        for (grown, again) in forest.trees.iter().zip(&drawn.trees) {
            assert_eq!(grown.normals, again.normals);
        }
    }

    #[test]
    fn degenerate_input_is_refused_or_harmless() {
        assert!(IsolationForest::train(&[], 10, 8, 1).is_none());
        assert!(IsolationForest::train(&[vec![1.0]], 10, 8, 1).is_none());
        assert!(
            IsolationForest::train(&[vec![1.0], vec![1.0, 2.0], vec![1.0], vec![2.0]], 10, 8, 1).is_none()
        );
        // Constant rows cannot be split: every point is as ordinary as the next.
        let constant = vec![vec![3.0, 3.0]; 20];
        let forest = IsolationForest::train(&constant, 10, 16, 1).unwrap();
        assert_eq!(forest.score(&[3.0, 3.0]), forest.score(&[100.0, -5.0]));
        // A dimension constant in training that now differs is isolated at the first split.
        let rows: Vec<Vec<f64>> = (0..64).map(|index| vec![f64::from(index), 0.0]).collect();
        let forest = IsolationForest::train(&rows, 50, 64, 1).unwrap();
        assert!(forest.score(&[30.0, 40.0]) > forest.score(&[30.0, 0.0]) + 0.2);
        assert_eq!(forest.score(&[1.0]), 0.0);
        assert_eq!(average_path_length(2), 1.0);
    }
}
