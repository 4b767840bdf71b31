//! Bounded sliding windows that answer order statistics (median, quantiles) in O(log n) reads
//! and O(n) updates, which is cheap for the few-thousand-point windows the detector keeps.

use std::collections::VecDeque;

/// The last `capacity` values in arrival order, also kept sorted for quantile queries.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct SortedWindow {
    capacity: usize,
    arrival: VecDeque<f64>,
    sorted: Vec<f64>,
}

impl SortedWindow {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            arrival: VecDeque::with_capacity(capacity),
            sorted: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Adds a value, evicting the oldest once the window is full. Non-finite values are ignored
    /// so one bad reading cannot poison the order statistics.
    pub(crate) fn push(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        if self.arrival.len() == self.capacity
            && let Some(oldest) = self.arrival.pop_front()
        {
            let index = self.sorted.partition_point(|v| *v < oldest);
            if index < self.sorted.len() {
                self.sorted.remove(index);
            }
        }
        self.arrival.push_back(value);
        let index = self.sorted.partition_point(|v| *v < value);
        self.sorted.insert(index, value);
    }

    /// Linear-interpolated quantile, `q` in [0, 1]; `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        quantile_of_sorted(&self.sorted, q)
    }

    pub(crate) fn median(&self) -> Option<f64> {
        self.quantile(0.5)
    }

    /// The values in ascending order.
    pub(crate) fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.sorted.iter().copied()
    }

    pub(crate) fn clear(&mut self) {
        self.arrival.clear();
        self.sorted.clear();
    }

    /// The `q` quantile extrapolated from an exponential fit to the values above the
    /// `1 - tail_share` quantile (peaks over threshold): `u + mean excess * ln(tail_share / (1 - q))`.
    pub(crate) fn tail_quantile(&self, q: f64, tail_share: f64) -> Option<f64> {
        let start = ((1.0 - tail_share) * self.sorted.len() as f64) as usize;
        let tail = self.sorted.get(start..)?;
        let threshold = *tail.first()?;
        let excess = tail.iter().map(|v| v - threshold).sum::<f64>() / tail.len() as f64;
        Some(threshold + excess * (tail_share / (1.0 - q).max(f64::MIN_POSITIVE)).ln().max(0.0))
    }

    pub(crate) fn mean(&self) -> Option<f64> {
        if self.sorted.is_empty() {
            None
        } else {
            Some(self.sorted.iter().sum::<f64>() / self.sorted.len() as f64)
        }
    }
}

/// Linear-interpolated quantile of an ascending slice.
pub(crate) fn quantile_of_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let low_value = *sorted.get(lower)?;
    let high_value = *sorted.get(upper)?;
    Some(low_value + (high_value - low_value) * (position - lower as f64))
}

/// Median of an unsorted slice (copies it); `None` when empty or when it holds a NaN.
pub(crate) fn median_of(values: &[f64]) -> Option<f64> {
    let mut copy: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if copy.is_empty() {
        return None;
    }
    copy.sort_by(f64::total_cmp);
    quantile_of_sorted(&copy, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_only_the_last_values_and_answers_quantiles() {
        let mut window = SortedWindow::new(3);
        for value in [5.0, 1.0, 3.0, 10.0] {
            window.push(value);
        }
        assert_eq!(window.len(), 3);
        assert_eq!(window.quantile(0.0), Some(1.0));
        assert_eq!(window.median(), Some(3.0));
        assert_eq!(window.quantile(1.0), Some(10.0));
        assert_eq!(window.quantile(0.25), Some(2.0));
    }

    #[test]
    fn tail_quantile_extrapolates_an_exponential_fit_to_the_top_values() {
        let mut window = SortedWindow::new(100);
        for value in 1..=100 {
            window.push(f64::from(value));
        }
        // Top 10%: 91..=100, threshold 91, mean excess 4.5; 1 - 0.999 is a hundredth of 0.1.
        let expected = 91.0 + 4.5 * 100f64.ln();
        let got = window.tail_quantile(0.999, 0.1).unwrap();
        assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
        // A quantile inside the fitted share is never extrapolated below the threshold.
        assert_eq!(window.tail_quantile(0.5, 0.1), Some(91.0));
        assert_eq!(SortedWindow::new(4).tail_quantile(0.999, 0.1), None);
    }

    #[test]
    fn window_ignores_non_finite_values() {
        let mut window = SortedWindow::new(4);
        window.push(f64::NAN);
        window.push(f64::INFINITY);
        assert_eq!(window.len(), 0);
    }

    #[test]
    fn median_of_handles_even_and_odd_lengths() {
        assert_eq!(median_of(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_of(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median_of(&[]), None);
    }
}
