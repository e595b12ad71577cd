//! The robust reference a window is measured against: the median as the
//! level and the MAD scaled to σ as the spread, floored.

use serde::{Deserialize, Serialize};

use super::stats::{self, SIGMA_PER_MAD, SIGMA_PER_MEAN_AD};
use super::{MetricKind, RegressionConfig};

/// A level and a spread learned from reference samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RobustBaseline {
    /// The median of the reference samples.
    pub median: f64,
    /// The spread: 1.4826 × MAD (a σ for normal data), or 1.2533 × the mean
    /// absolute deviation when more than half the samples are equal (MAD =
    /// 0), never below the floors (see [`RegressionConfig`]).
    pub spread: f64,
    /// The arithmetic mean (the rate, for counts).
    pub mean: f64,
    /// How many samples.
    pub samples: usize,
    /// Whether a floor set the spread.
    pub floored: bool,
}

impl RobustBaseline {
    /// Learns from `values` (finite values only); `None` when empty.
    #[must_use]
    pub fn learn(values: &[f64], kind: MetricKind, cfg: &RegressionConfig) -> Option<Self> {
        let median = stats::median(values)?;
        let mean = stats::mean(values);
        let mut raw = SIGMA_PER_MAD * stats::mad(values, median);
        if raw <= 0.0 {
            raw = SIGMA_PER_MEAN_AD * stats::mean_abs_dev(values, median);
        }
        let mut floor = (cfg.spread_floor_relative * median.abs()).max(cfg.spread_floor_absolute);
        if kind == MetricKind::Count {
            floor = floor.max(mean.max(1.0).sqrt());
        }
        Some(Self {
            median,
            spread: raw.max(floor),
            mean,
            samples: values.len(),
            floored: raw < floor,
        })
    }

    /// `x` in spreads from the median.
    #[must_use]
    pub fn z(&self, x: f64) -> f64 {
        (x - self.median) / self.spread
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_the_scaled_mad_with_floors() {
        let cfg = RegressionConfig::default();
        let b = RobustBaseline::learn(
            &[1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0],
            MetricKind::Other,
            &cfg,
        )
        .unwrap();
        assert_eq!((b.median, b.spread, b.floored), (2.0, SIGMA_PER_MAD, false));
        // A flat baseline takes the relative floor: 1 % of 200.
        let flat = RobustBaseline::learn(&[200.0; 50], MetricKind::Latency, &cfg).unwrap();
        assert!((flat.spread - 2.0).abs() < 1e-12 && flat.floored);
        // At zero, the absolute floor.
        let zero = RobustBaseline::learn(&[0.0; 50], MetricKind::Rate, &cfg).unwrap();
        assert_eq!(zero.spread, cfg.spread_floor_absolute);
        // Counts are never tighter than Poisson: mean 4 → spread ≥ 2.
        let counts = RobustBaseline::learn(&[4.0; 30], MetricKind::Count, &cfg).unwrap();
        assert!((counts.spread - 2.0).abs() < 1e-12);
        // Mostly equal values: the mean absolute deviation stands in for the MAD.
        let mut v = vec![10.0; 30];
        v.extend([20.0; 10]);
        let b = RobustBaseline::learn(&v, MetricKind::Other, &cfg).unwrap();
        assert!((b.spread - SIGMA_PER_MEAN_AD * 2.5).abs() < 1e-12);
        assert_eq!(RobustBaseline::learn(&[], MetricKind::Other, &cfg), None);
    }
}
