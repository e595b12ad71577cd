//! Release regressions: did this deploy make things worse? (issue 7)
//!
//! The pure core: plain data in ([`Series`] of timed values with labels,
//! [`DeployRef`]s), verdicts out ([`DeployVerdict`]), no I/O, no clock, the
//! same answer for the same input. The CLI (`rewind deploy analyze`,
//! `rewind deploy watch`, `rewind detect`, `rewind bench detect`), the
//! server and the demo build on it.
//!
//! # API
//!
//! - [`analyze_deploy`]`(&deploy, &series, &config) -> Result<DeployVerdict>`:
//!   the final verdict for one deploy; [`Analysis::partial`] gives an early
//!   one mid-window. [`analyze_deploys`] does several deploys and attributes
//!   each change ([`attribute`]).
//! - [`Watcher`]: deploys and samples in time order; emits
//!   [`WatchEvent::Detected`] the moment a regression is confirmed and
//!   [`WatchEvent::Verdict`] when a window ends.
//! - [`RollingDetector`]: one series, no deploys: a score per sample and one
//!   alarm per episode.
//! - The pieces, usable alone: [`RobustBaseline`], [`Cusum`], and
//!   [`stats`] (Mann–Whitney U, the Poisson rate test, the normal tail).
//!
//! # Method
//!
//! For each series of the deploy's service (a series without a service
//! label belongs to every deploy):
//!
//! 1. **Baseline.** The reference samples come from the
//!    [`BaselineStrategy`]: the rolling window before the deploy
//!    (`[at − guard − 30 min, at − guard)`), the same time of day on earlier
//!    days (daily seasonality), or the instances that did not get the
//!    deploy (canary). Their level is the median and their spread
//!    1.4826 × MAD (Hampel's robust σ), floored at 1 % of |median| and at an
//!    absolute 10⁻⁹ (counts at the Poisson √mean), so a flat baseline does
//!    not make every wiggle a thousand spreads.
//! 2. **When: CUSUM** (Page 1954; Montgomery, *Introduction to Statistical
//!    Quality Control*, ch. 9). A two-sided CUSUM on `z = (x − median) /
//!    spread` runs from `at − guard` (so a change that began shortly before
//!    the deploy is seen as such), causally. k = 1.5 (half the 3-spread step
//!    it must catch fastest) and h = 4, with each z clipped at ±(h + k) so
//!    one outlier alone never alarms: a 3-spread step alarms on its 2nd or
//!    3rd sample (median), and noise alarms about once in 10⁶ samples. The
//!    textbook k = 0.5, h = 5 alarms on noise every few hundred samples once
//!    the spread is estimated, and needs 4 samples for a 3-spread step. The
//!    CUSUM's change point is the first sample after the statistic was last
//!    zero; once confirmed it is refined to the best-fitting single step
//!    from 3 samples before that estimate up to the detection, and a series
//!    flagged for several deploys gets one change point for all of them.
//!    An alarm is *confirmed* (the detection time) once at least
//!    `min_after_samples` follow its change point, their median moved by at
//!    least the minimum effect the bad way, and the rank test agrees at
//!    `alarm_alpha`.
//! 3. **Whether: confirmation tests** on the whole post-deploy window at
//!    α = 10⁻⁵, and on the samples after the change point at α divided by
//!    the number of watched samples (the segment was chosen from the same
//!    data, so it is tested at a Bonferroni-corrected level); either makes
//!    a regression. Against the reference:
//!    - location: Mann–Whitney U (mid-ranks; exact without ties for
//!      the smaller sample ≤ 12, else normal with tie and continuity corrections),
//!      with Cliff's δ and the relative change of the medians, which must
//!      reach the minimum effect (5 %): a significant 2 % shift is not a
//!      regression;
//!    - spread (latencies): Mann–Whitney on the absolute deviations from
//!      each sample's own median (a rank Brown–Forsythe test), with the
//!      ratio of mean absolute deviations ≥ 1.25, so flapping latency at an
//!      equal median is caught;
//!    - sparse counts (a [`MetricKind::Count`] whose baseline mean is at
//!      most 50 per sample): the totals before and after with their
//!      exposures, by the exact conditional binomial test of two Poisson
//!      rates, not as a noisy rate.
//! 4. **Verdict** ([`Verdict`]: regression, no regression, inconclusive)
//!    with its [`Finding`]: a change that began before the deploy is
//!    [`Finding::BeganBeforeDeploy`] (not caused by it); too few samples, a
//!    gap, or too little traffic are [`InconclusiveReason`]s. Each series
//!    reports its p-value, a confidence (1 − p for a regression; otherwise
//!    the power to have seen the minimum effect), the minimum detectable
//!    effect ("it could have seen a shift of ≥ X"), and when it changed.
//!    The deploy is a regression when any series is.
//!
//! The final tests decide the verdict; the CUSUM decides *when*. A noise
//! alarm that the window's tests do not confirm leaves no regression, and
//! a small sustained shift the CUSUM (tuned for speed) misses is still
//! found by the tests over the whole window.
//!
//! ```
//! use rewind_detect::regression::{DeployRef, MetricKind, RegressionConfig, Series, Verdict, analyze_deploy};
//! use rewind_model::Timestamp;
//!
//! let at = |s: i64| Timestamp::from_unix_millis(1_790_000_000_000 + s * 1_000);
//! // p95 latency every 10 s: ~190 ms with a little wobble, 290 ms after the deploy at t = 0.
//! let points = (-1_800..300)
//!     .step_by(10)
//!     .map(|s| (at(s), if s < 0 { 190.0 } else { 290.0 } + f64::from((s / 10 % 5) as i32)))
//!     .collect();
//! let series = [Series::new("p95_latency_ms", MetricKind::Latency, points).service("checkout")];
//! let deploy = DeployRef::new("checkout", "v1.4.2", at(0));
//! let verdict = analyze_deploy(&deploy, &series, &RegressionConfig::default())?;
//! assert_eq!(verdict.verdict, Verdict::Regression);
//! assert!(verdict.summary().starts_with("Regression after deploy v1.4.2 of checkout v1.4.2: checkout/p95_latency_ms rose"));
//! # Ok::<(), rewind_detect::regression::Error>(())
//! ```

mod analyze;
pub mod attribute;
mod baseline;
mod config;
mod cusum;
mod judge;
mod rolling;
mod series;
pub mod stats;
mod verdict;
mod watch;
mod words;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use analyze::{Analysis, analyze_deploy, analyze_deploys};
pub use attribute::{Attribution, AttributionConfig, Cause, ChangeObservation};
pub use baseline::RobustBaseline;
pub use config::{BaselineStrategy, Direction, MetricKind, RegressionConfig};
pub use cusum::{Alarm, Cusum, Shift};
pub use rolling::{RollingDetector, Scored};
pub use series::{DeployRef, Series};
pub use verdict::{
    BaselineUsed, DeployVerdict, Detection, Finding, InconclusiveReason, MetricVerdict, Period,
    Verdict,
};
pub use watch::{SeriesKey, WatchEvent, Watcher};
pub use words::{number, p_value};

/// What can go wrong: only a configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of [`RegressionConfig`] is out of range.
    #[error("regression config: `{field}` must be {expected}")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// What it accepts.
        expected: &'static str,
    },
}

/// The result type of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
