//! HyperLogLog distinct counter over 64-bit hashes, with Ertl's improved estimator.
//!
//! Hand-written rather than taken from `hyperloglogplus`/`hyperloglog`: those hash through
//! `std::hash::Hash` + a `BuildHasher` (a second hash per value, and SipHash-based defaults whose
//! output may change between Rust releases, so stored sketches would stop merging), and
//! `hyperloglogplus` needs `&mut self` and a `RefCell` even to count. Here the value is hashed once
//! (XXH3, shared with the exact table and the heavy-hitter sketch) and a register update is a shift
//! and a max. Ertl's estimator ("New cardinality estimation algorithms for HyperLogLog sketches",
//! 2017) is unbiased from 0 up to 2^64 without HLL++'s empirical bias tables.

use super::HLL_PRECISION;

const REGISTERS: usize = 1 << HLL_PRECISION;
/// Bits left after the register index.
const Q: u32 = 64 - HLL_PRECISION;

/// Dense HyperLogLog, one byte per register (16 KiB at precision 14).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HyperLogLog {
    registers: Box<[u8]>,
}

impl HyperLogLog {
    pub(crate) fn new() -> Self {
        Self {
            registers: vec![0u8; REGISTERS].into_boxed_slice(),
        }
    }

    /// Relative standard error of the estimate: 1.04 / sqrt(2^precision) (0.81 % at precision 14).
    pub(crate) fn relative_standard_error() -> f64 {
        1.04 / (REGISTERS as f64).sqrt()
    }

    #[inline]
    pub(crate) fn insert_hash(&mut self, hash: u64) {
        let index = (hash >> Q) as usize;
        let rest = hash << HLL_PRECISION;
        let rank = if rest == 0 {
            Q + 1
        } else {
            rest.leading_zeros() + 1
        } as u8;
        if let Some(register) = self.registers.get_mut(index)
            && *register < rank
        {
            *register = rank;
        }
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.registers.iter_mut().zip(other.registers.iter()) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// Ertl's improved raw estimator (algorithm 6 of the paper).
    pub(crate) fn estimate(&self) -> f64 {
        let mut histogram = [0u32; Q as usize + 2];
        for &register in self.registers.iter() {
            if let Some(slot) = histogram.get_mut(register as usize) {
                *slot += 1;
            }
        }
        let m = REGISTERS as f64;
        let mut z = m * tau((m - f64::from(histogram[Q as usize + 1])) / m);
        for k in (1..=Q as usize).rev() {
            z += f64::from(histogram[k]);
            z *= 0.5;
        }
        z += m * sigma(f64::from(histogram[0]) / m);
        let alpha_infinity = 0.5 / std::f64::consts::LN_2;
        alpha_infinity * m * m / z
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::hash_i64;
    use super::*;

    #[test]
    fn empty_sketch_estimates_zero() {
        assert_eq!(HyperLogLog::new().estimate(), 0.0);
    }

    #[test]
    fn estimates_stay_within_four_standard_errors() {
        let bound = 4.0 * HyperLogLog::relative_standard_error();
        for &n in &[10u64, 1_000, 20_000, 300_000, 2_000_000] {
            let mut hll = HyperLogLog::new();
            for value in 0..n {
                // Each value twice: duplicates must not count.
                hll.insert_hash(hash_i64(value as i64 * 7919));
                hll.insert_hash(hash_i64(value as i64 * 7919));
            }
            let relative = (hll.estimate() - n as f64).abs() / n as f64;
            assert!(
                relative <= bound,
                "n = {n}: relative error {relative} above {bound}"
            );
        }
    }

    #[test]
    fn merge_equals_sketch_of_the_union() {
        let mut left = HyperLogLog::new();
        let mut right = HyperLogLog::new();
        let mut both = HyperLogLog::new();
        for value in 0..50_000i64 {
            let hash = hash_i64(value);
            if value % 3 == 0 {
                left.insert_hash(hash)
            } else {
                right.insert_hash(hash)
            }
            both.insert_hash(hash);
        }
        left.merge(&right);
        assert_eq!(left, both);
    }
}
