//! [`RollingDetector`]: one series, no deploys, causal (for `rewind detect`).
//!
//! The reference is the last `baseline_window` of samples (at most
//! [`MAX_REFERENCE`]), learned as a [`RobustBaseline`] (every 16 samples)
//! while the CUSUM is at zero on both sides and frozen while it is not, so
//! a shift is not learned
//! as it happens. Each sample gets a score (its standardised residual and
//! the larger CUSUM statistic, in units of h) and at most one alarm per
//! episode: a side alarms when it passes h and may alarm again only after
//! it fell back to zero. A shift that outlasts the baseline window becomes
//! the new normal: the CUSUM restarts and the reference is learned again.

use std::collections::VecDeque;

use rewind_model::Timestamp;
use serde::Serialize;

use super::baseline::RobustBaseline;
use super::cusum::{Alarm, Cusum};
use super::{MetricKind, RegressionConfig, Result};

/// Most samples in the reference.
pub const MAX_REFERENCE: usize = 4_096;
/// The reference is learned again at most once per this many samples (a
/// median of thousands of values per sample would dominate the cost; the
/// reference moves little in 16 samples).
const RELEARN_EVERY: usize = 16;

/// The score of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scored {
    /// The sample's time.
    pub at: Timestamp,
    /// Spreads from the reference median (0 while learning).
    pub z: f64,
    /// The larger CUSUM statistic over h: ≥ 1 means in alarm.
    pub anomaly_score: f64,
    /// The alarm this sample raised, once per episode.
    pub alarm: Option<Alarm>,
}

/// The causal single-series detector. See the module documentation.
#[derive(Debug)]
pub struct RollingDetector {
    config: RegressionConfig,
    kind: MetricKind,
    window: VecDeque<(Timestamp, f64)>,
    base: Option<RobustBaseline>,
    cusum: Cusum,
    /// When the reference was last learned.
    learned_at: Option<Timestamp>,
    /// Samples since.
    since_learned: usize,
}

impl RollingDetector {
    /// A detector for a series of `kind` (its direction picks the sides).
    ///
    /// # Errors
    /// [`super::Error::InvalidConfig`].
    pub fn new(config: RegressionConfig, kind: MetricKind) -> Result<Self> {
        config.validate()?;
        let cusum = Cusum::new(config.cusum_k, config.cusum_h, kind.default_direction());
        Ok(Self {
            config,
            kind,
            window: VecDeque::new(),
            base: None,
            cusum,
            learned_at: None,
            since_learned: 0,
        })
    }

    /// Scores one sample (non-finite values score 0 and are not learned).
    pub fn push(&mut self, at: Timestamp, x: f64) -> Scored {
        let idle = Scored {
            at,
            z: 0.0,
            anomaly_score: 0.0,
            alarm: None,
        };
        if !x.is_finite() {
            return idle;
        }
        let (up, down) = self.cusum.statistics();
        let stale = self
            .learned_at
            .is_some_and(|l| at.nanos_since(l) > self.config.baseline_window_nanos);
        if stale {
            self.cusum.reset();
        }
        self.since_learned += 1;
        let due = self.base.is_none() || self.since_learned >= RELEARN_EVERY;
        if stale || (due && up == 0.0 && down == 0.0) {
            self.since_learned = 0;
            self.learned_at = Some(at);
            let values: Vec<f64> = self.window.iter().map(|p| p.1).collect();
            self.base = (values.len() >= self.config.min_baseline_samples)
                .then(|| RobustBaseline::learn(&values, self.kind, &self.config))
                .flatten();
        }
        let scored = match self.base {
            None => idle,
            Some(base) => {
                let z = base.z(x);
                let alarm = self.cusum.push(at, z);
                let (up, down) = self.cusum.statistics();
                Scored {
                    at,
                    z,
                    anomaly_score: up.max(down) / self.config.cusum_h,
                    alarm,
                }
            }
        };
        self.window.push_back((at, x));
        let from = at.add_nanos(-self.config.baseline_window_nanos);
        while self.window.front().is_some_and(|p| p.0 < from) || self.window.len() > MAX_REFERENCE {
            self.window.pop_front();
        }
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regression::testing::{Rng, at};

    #[test]
    fn one_alarm_per_episode_and_quiet_on_noise() {
        let mut d = RollingDetector::new(RegressionConfig::default(), MetricKind::Latency).unwrap();
        let mut rng = Rng::new(3);
        let mut alarms = Vec::new();
        for i in 0..3_000 {
            let step = if (2_000..2_100).contains(&i) {
                5.0
            } else {
                0.0
            };
            let s = d.push(at(i), 100.0 + 10.0 * (rng.normal() + step));
            if let Some(a) = s.alarm {
                alarms.push((i, a.change_at));
            }
        }
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        assert!((2_000..2_004).contains(&alarms[0].0));
        assert_eq!(alarms[0].1, at(2_000));
    }

    #[test]
    fn a_lasting_shift_becomes_the_new_normal() {
        let mut d = RollingDetector::new(RegressionConfig::default(), MetricKind::Other).unwrap();
        let mut rng = Rng::new(4);
        let mut alarms = 0;
        let mut last = 0.0;
        for i in 0..8_000 {
            let level = if i >= 2_000 { 150.0 } else { 100.0 };
            let s = d.push(at(i), level + 5.0 * rng.normal());
            alarms += usize::from(s.alarm.is_some());
            last = s.anomaly_score;
        }
        assert_eq!(alarms, 1);
        assert!(last < 1.0, "relearned: score {last}");
    }
}
