//! Mean and central moments up to the fourth, numerically stable and mergeable.
//!
//! Each batch is reduced with a corrected two-pass method (mean, then centred power sums, then a
//! correction for the rounding in the first mean), and batches and partitions are combined with
//! Pébay's pairwise formulas ("Formulas for robust, one-pass parallel computation of covariances and
//! arbitrary-order statistical moments", 2008). Nothing sums raw squares, so `1e9 + noise` keeps its
//! noise.

/// Count, mean and central power sums `M_k = Σ (x - mean)^k` for k = 2, 3, 4.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Moments {
    pub(crate) n: u64,
    pub(crate) mean: f64,
    pub(crate) m2: f64,
    pub(crate) m3: f64,
    pub(crate) m4: f64,
}

impl Moments {
    /// Moments of one batch of finite values.
    pub(crate) fn of_batch(values: &[f64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let n = values.len() as f64;
        let mean0 = lane_sum(values, |x| x) / n;
        let mut sums = [[0.0f64; 4]; 4];
        let chunks = values.chunks_exact(4);
        let remainder = chunks.remainder();
        for chunk in chunks {
            for (lane, &x) in chunk.iter().enumerate() {
                let d = x - mean0;
                let d2 = d * d;
                sums[0][lane] += d;
                sums[1][lane] += d2;
                sums[2][lane] += d2 * d;
                sums[3][lane] += d2 * d2;
            }
        }
        for &x in remainder {
            let d = x - mean0;
            let d2 = d * d;
            sums[0][0] += d;
            sums[1][0] += d2;
            sums[2][0] += d2 * d;
            sums[3][0] += d2 * d2;
        }
        let [s1, s2, s3, s4] = sums.map(|lanes| lanes.iter().sum::<f64>());
        // Shift from mean0 to the exact batch mean mean0 + c.
        let c = s1 / n;
        Self {
            n: values.len() as u64,
            mean: mean0 + c,
            m2: (s2 - n * c * c).max(0.0),
            m3: s3 - 3.0 * c * s2 + 2.0 * n * c * c * c,
            m4: (s4 - 4.0 * c * s3 + 6.0 * c * c * s2 - 3.0 * n * c * c * c * c).max(0.0),
        }
    }

    /// Pébay's combination of two sets of moments.
    pub(crate) fn merge(&mut self, other: &Self) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let na = self.n as f64;
        let nb = other.n as f64;
        let n = na + nb;
        let delta = other.mean - self.mean;
        let delta_n = delta / n;
        let mean = self.mean + delta_n * nb;
        let m2 = self.m2 + other.m2 + delta * delta_n * na * nb;
        let m3 = self.m3
            + other.m3
            + delta * delta_n * delta_n * na * nb * (na - nb)
            + 3.0 * delta_n * (na * other.m2 - nb * self.m2);
        let m4 = self.m4
            + other.m4
            + delta * delta_n * delta_n * delta_n * na * nb * (na * na - na * nb + nb * nb)
            + 6.0 * delta_n * delta_n * (na * na * other.m2 + nb * nb * self.m2)
            + 4.0 * delta_n * (na * other.m3 - nb * self.m3);
        *self = Self {
            n: self.n + other.n,
            mean,
            m2,
            m3,
            m4,
        };
    }

    /// Sample variance (divisor n − 1); `None` below two values.
    pub(crate) fn variance(&self) -> Option<f64> {
        (self.n >= 2).then(|| self.m2 / (self.n as f64 - 1.0))
    }

    /// Skewness g1 = sqrt(n)·M3 / M2^1.5 (the population form, as `scipy.stats.skew` by default);
    /// `None` for fewer than 3 values or no spread.
    pub(crate) fn skewness(&self) -> Option<f64> {
        (self.n >= 3 && self.m2 > 0.0).then(|| (self.n as f64).sqrt() * self.m3 / self.m2.powf(1.5))
    }

    /// Excess kurtosis g2 = n·M4 / M2² − 3 (as `scipy.stats.kurtosis` by default); `None` for fewer
    /// than 4 values or no spread.
    pub(crate) fn excess_kurtosis(&self) -> Option<f64> {
        (self.n >= 4 && self.m2 > 0.0).then(|| self.n as f64 * self.m4 / (self.m2 * self.m2) - 3.0)
    }
}

fn lane_sum(values: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0.0f64; 4];
    let chunks = values.chunks_exact(4);
    let remainder = chunks.remainder();
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane += f(x);
        }
    }
    remainder.iter().map(|&x| f(x)).sum::<f64>() + lanes.iter().sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::super::util::{RngCore, SeedableRng, SplitMix64};
    use super::*;

    /// Independent reference: two passes in 128-bit-free plain f64 over the whole data.
    fn reference(values: &[f64]) -> (f64, f64, f64, f64) {
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

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * b.abs().max(1.0)
    }

    #[test]
    fn batches_merged_match_two_pass_reference() {
        let mut rng = SplitMix64::seed_from_u64(7);
        let values: Vec<f64> = (0..10_001)
            .map(|_| ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64).powi(3) * 50.0)
            .collect();
        let mut merged = Moments::default();
        for chunk in values.chunks(777) {
            merged.merge(&Moments::of_batch(chunk));
        }
        let (mean, variance, skewness, kurtosis) = reference(&values);
        assert!(close(merged.mean, mean, 1e-12));
        assert!(close(merged.variance().unwrap_or(f64::NAN), variance, 1e-10));
        assert!(close(merged.skewness().unwrap_or(f64::NAN), skewness, 1e-9));
        assert!(close(
            merged.excess_kurtosis().unwrap_or(f64::NAN),
            kurtosis,
            1e-9
        ));
    }

    #[test]
    fn catastrophic_cancellation_is_avoided() {
        // 1e9 + uniform noise in [0, 1): variance 1/12. A naive Σx² − (Σx)²/n loses every digit.
        let mut rng = SplitMix64::seed_from_u64(11);
        let noise: Vec<f64> = (0..200_000)
            .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
            .collect();
        let values: Vec<f64> = noise.iter().map(|x| 1e9 + x).collect();
        let mut merged = Moments::default();
        for chunk in values.chunks(1000) {
            merged.merge(&Moments::of_batch(chunk));
        }
        let (_, noise_variance, noise_skewness, _) = reference(&noise);
        let variance = merged.variance().unwrap_or(f64::NAN);
        // The inputs themselves are rounded to 2^-23 near 1e9, so agree to ~1e-6 relative.
        assert!(
            close(variance, noise_variance, 1e-5),
            "{variance} vs {noise_variance}"
        );
        assert!((variance - 1.0 / 12.0).abs() < 1e-3);
        assert!((merged.skewness().unwrap_or(f64::NAN) - noise_skewness).abs() < 1e-3);
    }

    #[test]
    fn degenerate_inputs_have_no_shape_statistics() {
        let single = Moments::of_batch(&[5.0]);
        assert_eq!(single.variance(), None);
        let constant = Moments::of_batch(&[3.0; 10]);
        assert_eq!(constant.variance(), Some(0.0));
        assert_eq!(constant.skewness(), None);
        assert_eq!(constant.excess_kurtosis(), None);
        let mut empty = Moments::default();
        empty.merge(&Moments::of_batch(&[]));
        assert_eq!(empty.n, 0);
    }
}
