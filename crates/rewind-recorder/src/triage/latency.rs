//! Latency distributions with exact counts and their outliers.
//!
//! Values are kept as counts per whole microsecond (a map from value to
//! count), so quantiles and outlier counts are exact to the microsecond and
//! memory grows with the number of distinct values, not of samples. The
//! slowest few samples are kept with their cycles.
//!
//! A sample is an outlier when it is above
//! `max(outlier_factor × p50, p50 + outlier_margin_ms)`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Slowest samples kept per distribution.
const SLOWEST_KEPT: usize = 5;

/// One slow sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outlier {
    /// Its cycle, when the message had one.
    pub cycle_id: Option<u64>,
    /// Its latency.
    pub ms: f64,
}

/// A latency distribution and its outliers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyStats {
    /// Samples.
    pub samples: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest sample.
    pub max_ms: f64,
    /// Samples above this are outliers.
    pub threshold_ms: f64,
    /// Samples above the threshold.
    pub outliers: u64,
    /// The slowest outliers (at most 5), slowest first.
    pub slowest: Vec<Outlier>,
}

/// Accumulates one distribution.
#[derive(Debug, Default, Clone)]
pub(super) struct Dist {
    /// Whole microseconds → samples.
    counts: BTreeMap<u64, u64>,
    samples: u64,
    /// Slowest first: (µs, cycle).
    slowest: Vec<(u64, Option<u64>)>,
}

impl Dist {
    /// Adds a sample in milliseconds; negative, NaN and infinite values are
    /// ignored.
    pub(super) fn add(&mut self, ms: f64, cycle_id: Option<u64>) {
        if !(ms.is_finite() && ms >= 0.0) {
            return;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let us = (ms * 1000.0).round().min(u64::MAX as f64) as u64;
        *self.counts.entry(us).or_default() += 1;
        self.samples += 1;
        let at = self.slowest.partition_point(|&(v, _)| v >= us);
        if at < SLOWEST_KEPT {
            self.slowest.insert(at, (us, cycle_id));
            self.slowest.truncate(SLOWEST_KEPT);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// The smallest value with at least `q` of the samples at or below it.
    fn quantile_us(&self, q: f64) -> u64 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((self.samples as f64 * q).ceil() as u64).clamp(1, self.samples.max(1));
        let mut seen = 0;
        for (&us, &n) in &self.counts {
            seen += n;
            if seen >= rank {
                return us;
            }
        }
        0
    }

    pub(super) fn stats(&self, factor: f64, margin_ms: f64) -> LatencyStats {
        let p50 = self.quantile_us(0.5);
        let threshold_ms = (factor * ms(p50)).max(ms(p50) + margin_ms);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let threshold_us = (threshold_ms * 1000.0).floor().max(0.0) as u64;
        let outliers = self
            .counts
            .range(threshold_us.saturating_add(1)..)
            .map(|(_, n)| n)
            .sum();
        LatencyStats {
            samples: self.samples,
            p50_ms: ms(p50),
            p99_ms: ms(self.quantile_us(0.99)),
            max_ms: self.counts.keys().next_back().map_or(0.0, |&v| ms(v)),
            threshold_ms,
            outliers,
            slowest: self
                .slowest
                .iter()
                .filter(|&&(us, _)| us > threshold_us)
                .map(|&(us, cycle_id)| Outlier {
                    cycle_id,
                    ms: ms(us),
                })
                .collect(),
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_outliers_are_exact() {
        let mut d = Dist::default();
        for i in 0..1000_u64 {
            d.add(2.0, Some(i));
        }
        d.add(9.5, Some(7));
        d.add(20.0, Some(8));
        d.add(6.0, Some(9)); // at the threshold (3 × 2.0): not an outlier
        d.add(-1.0, Some(10));
        d.add(f64::NAN, Some(11));
        let s = d.stats(3.0, 1.0);
        assert_eq!(s.samples, 1003);
        assert_eq!((s.p50_ms, s.p99_ms, s.max_ms), (2.0, 2.0, 20.0));
        assert_eq!(s.threshold_ms, 6.0);
        assert_eq!(s.outliers, 2);
        assert_eq!(
            s.slowest,
            vec![
                Outlier {
                    cycle_id: Some(8),
                    ms: 20.0
                },
                Outlier {
                    cycle_id: Some(7),
                    ms: 9.5
                },
            ]
        );
    }

    #[test]
    fn the_margin_keeps_tiny_medians_from_flagging_jitter() {
        let mut d = Dist::default();
        for v in [0.1, 0.1, 0.1, 0.35, 1.2] {
            d.add(v, None);
        }
        let s = d.stats(3.0, 1.0);
        assert!((s.threshold_ms - 1.1).abs() < 1e-9);
        assert_eq!(s.outliers, 1);
    }

    #[test]
    fn an_empty_distribution_has_no_outliers() {
        let s = Dist::default().stats(3.0, 1.0);
        assert_eq!((s.samples, s.outliers, s.max_ms), (0, 0, 0.0));
    }
}
