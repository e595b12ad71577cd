//! The baseline detectors measured in the same run: a fixed 3σ threshold on
//! a plain mean and standard deviation, with no confirmation, no minimum
//! effect, no seasonality and no attribution. What a first attempt at
//! "alert when the metric leaves its usual range" looks like.

use std::collections::VecDeque;

use rewind_detect::regression::{Direction, RegressionConfig, Series};
use rewind_model::Timestamp;

use super::scenarios::{POST_SECS, Trial};
use super::tally::Judgement;

/// The threshold, in standard deviations.
const SIGMAS: f64 = 3.0;
/// The baseline: the 30 minutes before the deploy (no guard).
const BASELINE_NANOS: i64 = 1_800 * 1_000_000_000;
const POST_NANOS: i64 = POST_SECS * 1_000_000_000;

/// Mean and sample standard deviation (`None` below two values).
fn mean_sd(values: impl Iterator<Item = f64> + Clone) -> Option<(f64, f64)> {
    let n = values.clone().count();
    if n < 2 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let nf = n as f64;
    let mean = values.clone().sum::<f64>() / nf;
    let var = values.map(|x| (x - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    Some((mean, var.sqrt().max(1e-12)))
}

fn beyond(z: f64, direction: Direction) -> bool {
    match direction {
        Direction::HigherIsWorse => z > SIGMAS,
        Direction::LowerIsWorse => z < -SIGMAS,
        Direction::Either => z.abs() > SIGMAS,
    }
}

/// The first sample of `s` after `at` (within the window) beyond 3σ of the
/// 30 minutes before `at`, the bad way.
fn first_alarm(s: &Series, at: Timestamp, direction: Direction) -> Option<Timestamp> {
    let from = at.add_nanos(-BASELINE_NANOS);
    let start = s.points.partition_point(|p| p.0 < from);
    let split = s.points.partition_point(|p| p.0 < at);
    let before = s.points[start..split].iter().map(|p| p.1);
    let (mean, sd) = mean_sd(before.filter(|x| x.is_finite()))?;
    let end = at.add_nanos(POST_NANOS);
    s.points[split..]
        .iter()
        .take_while(|p| p.0 < end)
        .find(|p| beyond((p.1 - mean) / sd, direction))
        .map(|p| p.0)
}

/// Each deploy judged on its own series (and the unlabelled ones), with
/// the same directions as the robust detector.
pub(super) fn judge(trial: &Trial, cfg: &RegressionConfig) -> Judgement {
    let mut out = Judgement::default();
    for d in &trial.deploys {
        let first = trial
            .series
            .iter()
            .filter(|s| s.belongs_to(d))
            .filter_map(|s| first_alarm(s, d.at, cfg.direction(&s.name, s.kind)))
            .min();
        out.flagged.push(first.is_some());
        out.detected_at.push(first);
        out.final_only.push(false);
    }
    out
}

/// The same rule on one series with no deploys: the mean and standard
/// deviation of the previous `window` samples, an alarm when a sample is
/// beyond 3σ either way, and no new alarm until a sample is back inside.
#[derive(Debug)]
pub(super) struct RollingThreeSigma {
    window: usize,
    recent: VecDeque<f64>,
    in_episode: bool,
}

impl RollingThreeSigma {
    /// Fewest samples before it scores (as the robust detector's default).
    const MIN_SAMPLES: usize = 20;

    pub(super) fn new(window: usize) -> Self {
        Self {
            window: window.max(Self::MIN_SAMPLES),
            recent: VecDeque::new(),
            in_episode: false,
        }
    }

    /// Whether `x` raises an alarm.
    pub(super) fn push(&mut self, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        let mut alarm = false;
        if self.recent.len() >= Self::MIN_SAMPLES
            && let Some((mean, sd)) = mean_sd(self.recent.iter().copied())
        {
            let out = beyond((x - mean) / sd, Direction::Either);
            alarm = out && !self.in_episode;
            self.in_episode = out;
        }
        self.recent.push_back(x);
        if self.recent.len() > self.window {
            self.recent.pop_front();
        }
        alarm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_sigma_alarms_once_per_excursion() {
        let mut d = RollingThreeSigma::new(50);
        let values = (0..100).map(|i| {
            if (60..65).contains(&i) {
                100.0
            } else {
                f64::from(i % 3)
            }
        });
        let alarms: Vec<usize> = values
            .enumerate()
            .filter_map(|(i, x)| d.push(x).then_some(i))
            .collect();
        assert_eq!(alarms, vec![60]);
    }
}
