//! The seeded generator behind the detectors' models (the isolation forest) and the synthetic
//! benchmark: `rand_xoshiro`'s SplitMix64 with the few draws they need.
//!
//! Owns: the draws (uniform, integer range, standard normal by Box-Muller, exponential). Must
//! not: be seeded from the clock or the OS: replays of a series must grow the same models.

use rand_xoshiro::SplitMix64;
use rand_xoshiro::rand_core::{RngCore, SeedableRng};

/// Deterministic generator: the same seed gives the same draws on every machine.
#[derive(Debug, Clone)]
pub struct SeededRng(SplitMix64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self(SplitMix64::seed_from_u64(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in `low..high` (`low` when the range is empty).
    pub fn range(&mut self, low: usize, high: usize) -> usize {
        if high <= low {
            return low;
        }
        low + (self.uniform() * (high - low) as f64) as usize
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.uniform()).max(f64::MIN_POSITIVE).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written SplitMix64 this replaced: the library must give the same sequence, so
    /// the synthetic benchmark and the seeded forests are unchanged.
    fn reference(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn the_sequence_is_the_hand_written_splitmix64s() {
        for seed in [0, 1, 42, 0x7AB1E, u64::MAX] {
            let mut rng = SeededRng::new(seed);
            let mut state = seed;
            for _ in 0..1_000 {
                assert_eq!(rng.next_u64(), reference(&mut state), "seed {seed}");
            }
        }
    }
}
