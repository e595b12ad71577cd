//! The series of one generated service: its levels and noise, and the
//! changes laid on them.

use std::f64::consts::TAU;

use rewind_detect::regression::{MetricKind, Series};

use super::{DAY_SECS, HISTORY_SECS, STEP_SECS, at};
use crate::commands::bench::detect::rng::Rng;

/// Which series a change moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Metric {
    ErrorRate,
    Latency,
    /// The quiet service's error count.
    Errors,
}

/// A regression laid on one series.
#[derive(Debug, Clone, Copy)]
pub(super) struct Change {
    pub metric: Metric,
    /// Seconds after the deploy (negative: before it).
    pub start: i64,
    /// The full size in baseline spreads (σ of the noise).
    pub spreads: f64,
    /// Samples to reach the full size (0: a step).
    pub ramp: i64,
}

impl Change {
    /// The share of the full size at `t` (0 before the start).
    #[allow(clippy::cast_precision_loss)]
    fn fraction(&self, t: i64) -> f64 {
        if t < self.start {
            0.0
        } else if self.ramp <= 0 {
            1.0
        } else {
            (((t - self.start) / STEP_SECS + 1) as f64 / self.ramp as f64).min(1.0)
        }
    }

    /// The size in spreads on `metric` at `t`.
    fn on(c: Option<&Self>, metric: Metric, t: i64) -> f64 {
        c.filter(|c| c.metric == metric)
            .map_or(0.0, |c| c.spreads * c.fraction(t))
    }
}

/// The time span and what moves in it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    /// First sample, seconds from the deploy.
    pub from: i64,
    /// End (exclusive).
    pub to: i64,
    /// The daily cycle's phase at the deploy, radians.
    pub cycle: Option<f64>,
    /// Requests/s multiplied by the factor from the time on.
    pub traffic: Option<(i64, f64)>,
    pub change: Option<Change>,
}

impl Shape {
    /// The baseline, guard and window: `[−32 min, to)`.
    pub(super) fn recent(to: i64) -> Self {
        Self {
            from: -HISTORY_SECS,
            to,
            cycle: None,
            traffic: None,
            change: None,
        }
    }

    pub(super) fn with(mut self, change: Option<Change>) -> Self {
        self.change = change;
        self
    }

    fn times(&self) -> impl Iterator<Item = i64> {
        let step = usize::try_from(STEP_SECS).unwrap_or(1);
        (self.from..self.to).step_by(step)
    }

    /// The daily cycle at `t`, in [−1, 1].
    #[allow(clippy::cast_precision_loss)]
    fn cycle_at(&self, t: i64) -> f64 {
        self.cycle
            .map_or(0.0, |ph| (TAU * t as f64 / DAY_SECS as f64 + ph).sin())
    }
}

/// A busy service: request rate, error rate (a binomial proportion of the
/// requests in each 10 s sample) and p95 latency (with rare outliers).
#[derive(Debug, Clone, Copy)]
pub(super) struct Busy {
    pub rate: f64,
    pub rate_cv: f64,
    pub error_p: f64,
    pub latency: f64,
    pub latency_cv: f64,
}

/// Share of latency samples with an outlier (a GC pause, a slow disk).
const OUTLIER_P: f64 = 0.005;

impl Busy {
    pub(super) fn draw(rng: &mut Rng) -> Self {
        let log_uniform = |rng: &mut Rng, lo: f64, hi: f64| rng.between(lo.ln(), hi.ln()).exp();
        Self {
            rate: log_uniform(rng, 300.0, 3_000.0),
            rate_cv: rng.between(0.02, 0.05),
            error_p: log_uniform(rng, 0.002, 0.03),
            latency: rng.between(80.0, 400.0),
            latency_cv: rng.between(0.025, 0.06),
        }
    }

    /// σ of the error rate at the base traffic.
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn error_spread(&self) -> f64 {
        (self.error_p * (1.0 - self.error_p) / (self.rate * STEP_SECS as f64)).sqrt()
    }

    /// `request_rate`, `error_rate` and `p95_latency_ms` of `service`.
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn series(&self, rng: &mut Rng, service: &str, shape: &Shape) -> Vec<Series> {
        let (mut req, mut err, mut lat) = (Vec::new(), Vec::new(), Vec::new());
        let change = shape.change.as_ref();
        for t in shape.times() {
            let cycle = shape.cycle_at(t);
            let jump = shape.traffic.filter(|j| t >= j.0).map_or(1.0, |j| j.1);
            let level = self.rate * (1.0 + 0.5 * cycle) * jump;
            req.push((at(t), level * (1.0 + self.rate_cv * rng.normal())));
            let p = self.error_p + Change::on(change, Metric::ErrorRate, t) * self.error_spread();
            let n = level * STEP_SECS as f64;
            let sd = (p * (1.0 - p) / n).sqrt();
            err.push((at(t), (p + sd * rng.normal()).max(0.0)));
            let base = self.latency * (1.0 + 0.3 * cycle);
            let sigma = self.latency_cv * base;
            let shift = Change::on(change, Metric::Latency, t);
            let outlier = if rng.uniform() < OUTLIER_P {
                rng.between(5.0, 10.0)
            } else {
                0.0
            };
            let z = rng.normal() + shift + outlier;
            lat.push((at(t), (base + sigma * z).max(0.0)));
        }
        vec![
            Series::new("request_rate", MetricKind::Throughput, req).service(service),
            Series::new("error_rate", MetricKind::Rate, err).service(service),
            Series::new("p95_latency_ms", MetricKind::Latency, lat).service(service),
        ]
    }
}

/// A quiet service: a few requests a second, so errors are counted per
/// sample (Poisson) and p95 latency is heavy-tailed (log-normal, σ = 0.2).
#[derive(Debug, Clone, Copy)]
pub(super) struct Quiet {
    pub rate: f64,
    pub errors: f64,
    pub latency: f64,
}

impl Quiet {
    pub(super) fn draw(rng: &mut Rng) -> Self {
        Self {
            rate: rng.between(0.5, 3.0),
            errors: rng.between(0.2, 2.0),
            latency: rng.between(150.0, 400.0),
        }
    }

    /// `request_rate`, `errors` (a count) and `p95_latency_ms`.
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn series(&self, rng: &mut Rng, service: &str, shape: &Shape) -> Vec<Series> {
        let (mut req, mut err, mut lat) = (Vec::new(), Vec::new(), Vec::new());
        let change = shape.change.as_ref();
        let spread = self.errors.max(1.0).sqrt();
        for t in shape.times() {
            let per_sample = self.rate * STEP_SECS as f64;
            req.push((at(t), rng.poisson(per_sample) / STEP_SECS as f64));
            let mean = self.errors + Change::on(change, Metric::Errors, t) * spread;
            err.push((at(t), rng.poisson(mean)));
            lat.push((at(t), self.latency * (0.2 * rng.normal()).exp()));
        }
        vec![
            Series::new("request_rate", MetricKind::Throughput, req).service(service),
            Series::new("errors", MetricKind::Count, err).service(service),
            Series::new("p95_latency_ms", MetricKind::Latency, lat).service(service),
        ]
    }
}

/// An unlabelled latency series shared by every service (it belongs to
/// every deploy): 100–300 ms, σ 3 %.
pub(super) fn shared_latency(rng: &mut Rng, name: &str, shape: &Shape) -> Series {
    let level = rng.between(100.0, 300.0);
    let sigma = 0.03 * level;
    let change = shape.change.as_ref();
    let points = shape
        .times()
        .map(|t| {
            let z = rng.normal() + Change::on(change, Metric::Latency, t);
            (at(t), level + sigma * z)
        })
        .collect();
    Series::new(name, MetricKind::Latency, points)
}
