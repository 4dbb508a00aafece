//! Order statistics of repeated measurements: median and spread.

use serde::{Deserialize, Serialize};

/// A summary of samples (any unit; the caller names it).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many samples.
    pub n: usize,
    /// The smallest.
    pub min: f64,
    /// The 10th percentile.
    pub p10: f64,
    /// The 25th percentile.
    pub p25: f64,
    /// The median.
    pub median: f64,
    /// The 75th percentile.
    pub p75: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The largest.
    pub max: f64,
}

impl Summary {
    /// The summary of `samples`; `None` when there are none.
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Self {
            n: sorted.len(),
            min: sorted[0],
            p10: quantile(&sorted, 0.10),
            p25: quantile(&sorted, 0.25),
            median: quantile(&sorted, 0.50),
            p75: quantile(&sorted, 0.75),
            p90: quantile(&sorted, 0.90),
            max: sorted[sorted.len() - 1],
        })
    }
}

/// The `q` quantile of sorted samples, interpolated linearly between the
/// two nearest ranks (numpy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let low = rank.floor() as usize;
    let high = rank.ceil() as usize;
    sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(Summary::of(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
    }

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let samples: Vec<f64> = (0..=10).map(f64::from).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!(
            (s.min, s.p10, s.p25, s.p75, s.p90, s.max),
            (0.0, 1.0, 2.5, 7.5, 9.0, 10.0)
        );
        assert_eq!(s.n, 11);
    }

    #[test]
    fn one_sample_is_every_quantile() {
        let s = Summary::of(&[5.0]).unwrap();
        assert_eq!(
            (s.min, s.p10, s.median, s.p90, s.max),
            (5.0, 5.0, 5.0, 5.0, 5.0)
        );
    }

    #[test]
    fn no_samples_no_summary() {
        assert!(Summary::of(&[]).is_none());
    }
}
