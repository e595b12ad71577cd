//! The synthetic scenarios of `rewind bench detect`, generated in code from
//! a seed (see docs/benchmarks.md for the exact shapes).
//!
//! Every trial has the core's default cadence: a sample every 10 s, 32
//! minutes of history before the deploy (the 30-minute baseline and the
//! 2-minute guard) and the 5-minute window after it (30 samples); the
//! daily-cycle scenarios add two full days of history so the
//! same-time-of-day baseline applies. Each trial draws its own levels and
//! noise (a busy service: 300–3,000 requests/s, 0.2–3 % errors, p95 of
//! 80–400 ms; a quiet one: 0.5–3 requests/s and 0.2–2 errors per sample), so
//! the suite covers a range of services rather than one tuned shape.
//! Regressions are 3–6 baseline spreads (σ of the noise), which the noise
//! levels make at least 7.5 % of the level: above the core's 5 % minimum
//! effect, so every "bad" trial is one the core is meant to catch.

mod services;

use rewind_detect::regression::{DeployRef, Series};
use rewind_model::Timestamp;
use serde::Serialize;

use self::services::{Busy, Change, Metric, Quiet, Shape};
use super::rng::Rng;

/// Seconds between samples.
pub(super) const STEP_SECS: i64 = 10;
/// History before the deploy: the 30-minute baseline and the 2-minute guard.
const HISTORY_SECS: i64 = 1_920;
/// The post-deploy window (the core's default).
pub(super) const POST_SECS: i64 = 300;
/// One day.
const DAY_SECS: i64 = 86_400;
/// Days of history in the daily-cycle scenarios (the seasonal baseline
/// pools the same time of day on each).
const CYCLE_DAYS: i64 = 2;
/// The deploy of every trial happens here (2026-09-21T14:13:20Z).
const T0: i64 = 1_790_000_000;

/// `secs` seconds after the deploy.
pub(super) fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_nanos((T0 + secs) * 1_000_000_000)
}

/// One scenario suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Scenario {
    Healthy,
    HealthyDailyCycle,
    HealthyLowTraffic,
    TrafficSpike,
    BeganBeforeDeploy,
    ErrorRateStep,
    LatencyStep,
    GradualDegradation,
    SeasonalStep,
    OverlappingDeploys,
    LowTrafficErrors,
}

/// What a scenario's trials are, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Truth {
    /// No regression: a flag is a false positive.
    Healthy,
    /// One deploy caused a regression.
    Regression,
    /// A regression that began before the deploy: the right answer is
    /// "not caused by it".
    BeganBefore,
    /// Two deploys, one of which caused the regression.
    Overlap,
}

/// One generated trial.
#[derive(Debug)]
pub(super) struct Trial {
    pub series: Vec<Series>,
    pub deploys: Vec<DeployRef>,
    /// The deploy that caused the regression, if one did.
    pub culprit: Option<usize>,
    /// When the change truly began (on the culprit's own series, or before
    /// the deploy).
    pub change_at: Option<Timestamp>,
}

impl Scenario {
    pub(super) const ALL: [Self; 11] = [
        Self::Healthy,
        Self::HealthyDailyCycle,
        Self::HealthyLowTraffic,
        Self::TrafficSpike,
        Self::BeganBeforeDeploy,
        Self::ErrorRateStep,
        Self::LatencyStep,
        Self::GradualDegradation,
        Self::SeasonalStep,
        Self::OverlappingDeploys,
        Self::LowTrafficErrors,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::HealthyDailyCycle => "healthy_daily_cycle",
            Self::HealthyLowTraffic => "healthy_low_traffic",
            Self::TrafficSpike => "traffic_spike",
            Self::BeganBeforeDeploy => "began_before_deploy",
            Self::ErrorRateStep => "error_rate_step",
            Self::LatencyStep => "latency_step",
            Self::GradualDegradation => "gradual_degradation",
            Self::SeasonalStep => "seasonal_step",
            Self::OverlappingDeploys => "overlapping_deploys",
            Self::LowTrafficErrors => "low_traffic_errors",
        }
    }

    pub(super) fn description(self) -> &'static str {
        match self {
            Self::Healthy => "noise only (with rare latency outliers)",
            Self::HealthyDailyCycle => {
                "noise on a daily cycle (latency ±30 %, traffic ±50 %), deploy at any hour"
            }
            Self::HealthyLowTraffic => {
                "0.5–3 requests/s: sparse error counts, heavy-tailed latency"
            }
            Self::TrafficSpike => "requests/s ×1.5–3 after the deploy; errors and latency flat",
            Self::BeganBeforeDeploy => {
                "error-rate or latency step 60–110 s before the deploy (not caused by it)"
            }
            Self::ErrorRateStep => "error rate +3–6 σ, 0–120 s after the deploy",
            Self::LatencyStep => "p95 latency +3–6 σ, 0–120 s after the deploy",
            Self::GradualDegradation => {
                "error rate or latency ramps to +3–6 σ over 2–4 min from 0–60 s after the deploy"
            }
            Self::SeasonalStep => "p95 latency +3–6 σ under a ±30 % daily cycle",
            Self::OverlappingDeploys => {
                "two services deployed 30–120 s apart; one breaks, a shared series follows"
            }
            Self::LowTrafficErrors => "quiet service: error count +3–6 Poisson σ",
        }
    }

    pub(super) fn truth(self) -> Truth {
        match self {
            Self::Healthy
            | Self::HealthyDailyCycle
            | Self::HealthyLowTraffic
            | Self::TrafficSpike => Truth::Healthy,
            Self::BeganBeforeDeploy => Truth::BeganBefore,
            Self::OverlappingDeploys => Truth::Overlap,
            _ => Truth::Regression,
        }
    }

    /// Whether the scenario's regression is a step (the targets' "every
    /// step regression of at least 3 spreads caught" and the latency).
    pub(super) fn is_step(self) -> bool {
        matches!(
            self,
            Self::ErrorRateStep
                | Self::LatencyStep
                | Self::SeasonalStep
                | Self::OverlappingDeploys
                | Self::LowTrafficErrors
        )
    }

    /// One trial of this scenario.
    pub(super) fn generate(self, rng: &mut Rng) -> Trial {
        match self {
            Self::OverlappingDeploys => overlapping(rng),
            Self::HealthyLowTraffic | Self::LowTrafficErrors => {
                let p = Quiet::draw(rng);
                let change = (self == Self::LowTrafficErrors).then(|| Change {
                    metric: Metric::Errors,
                    start: after_deploy(rng, 12),
                    spreads: rng.between(3.0, 6.0),
                    ramp: 0,
                });
                let shape = Shape::recent(POST_SECS).with(change);
                single(p.series(rng, "checkout", &shape), change)
            }
            _ => busy(self, rng),
        }
    }
}

/// A start 0..=`max` samples after the deploy, in seconds.
fn after_deploy(rng: &mut Rng, max: i64) -> i64 {
    rng.int(0, max) * STEP_SECS
}

fn error_or_latency(rng: &mut Rng) -> Metric {
    if rng.uniform() < 0.5 {
        Metric::ErrorRate
    } else {
        Metric::Latency
    }
}

/// The busy single-service scenarios.
fn busy(scenario: Scenario, rng: &mut Rng) -> Trial {
    let p = Busy::draw(rng);
    let mut shape = Shape::recent(POST_SECS);
    let step = |metric, start, rng: &mut Rng| Change {
        metric,
        start,
        spreads: rng.between(3.0, 6.0),
        ramp: 0,
    };
    let change = match scenario {
        Scenario::TrafficSpike => {
            shape.traffic = Some((after_deploy(rng, 6), rng.between(1.5, 3.0)));
            None
        }
        Scenario::HealthyDailyCycle | Scenario::SeasonalStep => {
            shape.from = -(CYCLE_DAYS * DAY_SECS + HISTORY_SECS);
            shape.cycle = Some(rng.between(0.0, std::f64::consts::TAU));
            let start = after_deploy(rng, 12);
            (scenario == Scenario::SeasonalStep).then(|| step(Metric::Latency, start, rng))
        }
        Scenario::BeganBeforeDeploy => {
            let metric = error_or_latency(rng);
            let start = -rng.int(6, 11) * STEP_SECS;
            Some(step(metric, start, rng))
        }
        Scenario::ErrorRateStep => {
            let start = after_deploy(rng, 12);
            Some(step(Metric::ErrorRate, start, rng))
        }
        Scenario::LatencyStep => {
            let start = after_deploy(rng, 12);
            Some(step(Metric::Latency, start, rng))
        }
        Scenario::GradualDegradation => {
            let metric = error_or_latency(rng);
            let start = after_deploy(rng, 6);
            let mut c = step(metric, start, rng);
            c.ramp = rng.int(12, 24);
            Some(c)
        }
        _ => None,
    };
    let shape = shape.with(change);
    let series = p.series(rng, "checkout", &shape);
    if scenario == Scenario::BeganBeforeDeploy {
        let mut t = single(series, None);
        t.change_at = change.map(|c| at(c.start));
        return t;
    }
    single(series, change)
}

/// One deploy of `checkout` at t = 0; the culprit when there is a change.
fn single(series: Vec<Series>, change: Option<Change>) -> Trial {
    Trial {
        series,
        deploys: vec![DeployRef::new("checkout", "v2.4.0", at(0))],
        culprit: change.map(|_| 0),
        change_at: change.map(|c| at(c.start)),
    }
}

/// `api` deployed at 0 and `worker` 30–120 s later; one of them (at random)
/// breaks its own error rate or latency 0–30 s after its deploy, and the
/// shared, unlabelled `frontend_p95_latency_ms` follows 10–30 s later.
fn overlapping(rng: &mut Rng) -> Trial {
    let delta = rng.int(3, 12) * STEP_SECS;
    let deploys = vec![
        DeployRef::new("api", "api-v2.4.0", at(0)),
        DeployRef::new("worker", "worker-v7.1.0", at(delta)),
    ];
    let culprit = usize::from(rng.uniform() < 0.5);
    let start = [0, delta][culprit] + rng.int(0, 3) * STEP_SECS;
    let change = Change {
        metric: error_or_latency(rng),
        start,
        spreads: rng.between(3.0, 6.0),
        ramp: 0,
    };
    let end = delta + POST_SECS;
    let mut series = Vec::new();
    for (i, svc) in ["api", "worker"].into_iter().enumerate() {
        let shape = Shape::recent(end).with((i == culprit).then_some(change));
        series.extend(Busy::draw(rng).series(rng, svc, &shape));
    }
    let shared = Change {
        metric: Metric::Latency,
        start: start + rng.int(1, 3) * STEP_SECS,
        spreads: rng.between(3.0, 6.0),
        ramp: 0,
    };
    series.push(services::shared_latency(
        rng,
        "frontend_p95_latency_ms",
        &Shape::recent(end).with(Some(shared)),
    ));
    Trial {
        series,
        deploys,
        culprit: Some(culprit),
        change_at: Some(at(start)),
    }
}

#[cfg(test)]
mod tests {
    use rewind_detect::regression::MetricKind;

    use super::*;

    #[test]
    fn every_scenario_has_the_default_cadence_and_its_truth() {
        for (i, s) in Scenario::ALL.into_iter().enumerate() {
            let t = s.generate(&mut Rng::for_trial(1, i, 0));
            assert!(!t.series.is_empty(), "{s:?}");
            for series in &t.series {
                let p = &series.points;
                assert!(
                    p.windows(2)
                        .all(|w| w[1].0.nanos_since(w[0].0) == 10_000_000_000)
                );
                assert!(p[0].0 <= at(-HISTORY_SECS), "{s:?} history");
                assert!(p.iter().all(|x| x.1.is_finite() && x.1 >= 0.0), "{s:?}");
            }
            match s.truth() {
                Truth::Healthy => assert_eq!((t.culprit, t.change_at), (None, None)),
                Truth::BeganBefore => {
                    assert!(t.culprit.is_none() && t.change_at.is_some_and(|c| c < at(0)));
                }
                Truth::Regression | Truth::Overlap => {
                    let c = t.culprit.unwrap();
                    assert!(t.change_at.unwrap() >= t.deploys[c].at, "{s:?}");
                }
            }
        }
    }

    #[test]
    fn bad_steps_are_three_to_six_spreads_and_at_least_five_percent() {
        let mut rng = Rng::new(5);
        for _ in 0..2_000 {
            let b = Busy::draw(&mut rng);
            assert!(3.0 * b.error_spread() / b.error_p >= 0.075);
            assert!(3.0 * b.latency_cv >= 0.075);
        }
        // The daily-cycle series reach back two days.
        let t = Scenario::SeasonalStep.generate(&mut Rng::new(3));
        let lat = t
            .series
            .iter()
            .find(|s| s.kind == MetricKind::Latency)
            .unwrap();
        assert!(lat.points[0].0 <= at(-2 * DAY_SECS));
    }

    #[test]
    fn the_same_seed_gives_the_same_trial() {
        let a = Scenario::OverlappingDeploys.generate(&mut Rng::for_trial(9, 9, 3));
        let b = Scenario::OverlappingDeploys.generate(&mut Rng::for_trial(9, 9, 3));
        assert_eq!(a.series, b.series);
        assert_eq!(a.deploys, b.deploys);
    }
}
