//! Behaviour of the whole analysis on plain data.

mod behaviour;
mod seasonality;
mod trials;

use super::testing::{Rng, at, sampled};
use super::{DeployRef, MetricKind, Series};

/// A series sampled every `step` s from `from` to `to` (relative to the
/// test epoch) of the service `checkout`.
fn series(
    name: &str,
    kind: MetricKind,
    from: i64,
    to: i64,
    step: i64,
    f: impl FnMut(i64) -> f64,
) -> Series {
    Series::new(name, kind, sampled(from, to, step, f)).service("checkout")
}

/// A deploy of `checkout` at `secs`.
fn deploy(secs: i64) -> DeployRef {
    DeployRef::new("checkout", "v1.4.2", at(secs)).environment("production")
}

/// Gaussian noise around `level` with standard deviation `sd`.
fn noise(rng: &mut Rng, level: f64, sd: f64) -> impl FnMut(i64) -> f64 + '_ {
    move |_| level + sd * rng.normal()
}
