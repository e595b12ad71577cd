//! [`RegressionConfig`]: windows, thresholds and per-metric directions, with
//! the defaults and the reasons for them.

use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// One second in nanoseconds.
pub(crate) const SECOND: i64 = 1_000_000_000;
/// One day in nanoseconds.
pub(crate) const DAY: i64 = 86_400 * SECOND;

/// What a series measures; it picks the default direction and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// A ratio such as an error rate (higher is worse).
    Rate,
    /// A latency or duration (higher is worse; a rise in spread is also a regression).
    Latency,
    /// Events counted per sampling interval, such as errors per minute
    /// (higher is worse; tested as counts while sparse).
    Count,
    /// Work done per unit of time, such as requests per second (either way).
    Throughput,
    /// Anything else (either way).
    Other,
}

impl MetricKind {
    /// The kind of a series from its name (ASCII case ignored, labels in
    /// `{…}` ignored): *error* is a rate, or a count when every value is an
    /// integer (`integers`) and the name says *errors* or *count*; a name
    /// ending in `.count`/`_count` without *error* (a histogram's
    /// observations) a throughput; *latency*, *duration*, `*_ms`,
    /// p50/p90/p95/p99 a latency; *request*, *rps*, *throughput* a
    /// throughput; anything else other.
    #[must_use]
    pub fn from_name(name: &str, integers: bool) -> Self {
        // Only the metric's own name: labels (`{route="/errors"}`) say nothing
        // about what it measures.
        let n = name.split('{').next().unwrap_or(name).to_ascii_lowercase();
        let has = |w: &str| n.contains(w);
        // A histogram's observation count (`….duration.count`) is traffic.
        if (n.ends_with(".count") || n.ends_with("_count")) && !has("error") {
            return Self::Throughput;
        }
        let percentile = n
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| matches!(w, "p50" | "p90" | "p95" | "p99" | "p999"));
        if has("error") {
            if integers && (has("errors") || has("count")) {
                Self::Count
            } else {
                Self::Rate
            }
        } else if has("latency")
            || has("duration")
            || n.ends_with("_ms")
            || has("_ms_")
            || percentile
        {
            Self::Latency
        } else if has("request") || has("rps") || has("throughput") {
            Self::Throughput
        } else {
            Self::Other
        }
    }

    /// The direction in which a change is a regression, unless configured.
    #[must_use]
    pub const fn default_direction(self) -> Direction {
        match self {
            Self::Rate | Self::Latency | Self::Count => Direction::HigherIsWorse,
            Self::Throughput | Self::Other => Direction::Either,
        }
    }
}

/// Which way a change must go to be a regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Rises are regressions (errors, latency).
    HigherIsWorse,
    /// Falls are regressions (throughput that must not drop, success rates).
    LowerIsWorse,
    /// Any change is a regression.
    Either,
}

/// Where the reference a post-deploy window is compared with comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BaselineStrategy {
    /// The rolling window just before the deploy
    /// (`[at − guard − baseline_window, at − guard)`).
    PreDeploy,
    /// The same time of day on up to `days` previous days (the windows
    /// `[at − d·24 h − guard, at − d·24 h + post_window]`), pooled; days
    /// without data are skipped.
    SameTimeOfDay {
        /// How many previous days to look at.
        days: u32,
    },
    /// [`SameTimeOfDay`](Self::SameTimeOfDay) when the series reaches back
    /// far enough for at least one earlier day, else
    /// [`PreDeploy`](Self::PreDeploy).
    Auto {
        /// How many previous days to look at.
        days: u32,
    },
    /// Canary analysis: `canary` names the instances that got the deploy;
    /// every other instance of the service is the control, compared over
    /// the same window.
    Canary {
        /// Instance labels of the series that received the deploy.
        canary: Vec<String>,
    },
}

/// Everything the verdicts depend on. Build it with `Default` and adjust;
/// [`RegressionConfig::validate`] refuses impossible values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionConfig {
    /// How long after the deploy the window runs, ns (default 5 min, the
    /// issue's default).
    pub post_window_nanos: i64,
    /// How far back the pre-deploy baseline reaches, ns (default 30 min:
    /// 1 800 samples at 1 Hz, 180 at 10 s, enough for a tight median and
    /// spread, and short enough to follow slow drifts).
    pub baseline_window_nanos: i64,
    /// The last stretch before the deploy, ns, left out of the baseline and
    /// watched by the CUSUM instead, so that a change that began shortly
    /// before the deploy is seen as such (default 2 min).
    pub guard_nanos: i64,
    /// Fewest baseline samples to judge (default 20).
    pub min_baseline_samples: usize,
    /// Fewest samples after the deploy (or after the change point) to judge
    /// (default 3).
    pub min_after_samples: usize,
    /// A window with fewer than this share of the samples the baseline's
    /// sampling interval predicts is "data missing" (default 0.5).
    pub min_coverage: f64,
    /// Smallest relative change of the median that is a regression (default
    /// 0.05): a significant shift below it is reported, not paged.
    pub min_relative_effect: f64,
    /// Smallest ratio of spreads (after / before, Brown–Forsythe's mean
    /// absolute deviation from the median) that is a regression for
    /// latencies (default 1.25; a doubled variance is a ratio of 1.41).
    pub min_spread_ratio: f64,
    /// Significance for the final tests (default 10⁻⁵): with several metrics
    /// and tests per deploy and thousands of deploys, a looser level would
    /// page on noise (0 false positives in 1 000 healthy deploys × 3
    /// metrics × 2 tests needs α well under 1/6 000).
    pub alpha: f64,
    /// Significance for confirming a CUSUM alarm on the few samples after
    /// its change point (default 0.01). It only decides when the alarm is
    /// reported as a detection; the final tests decide the verdict.
    pub alarm_alpha: f64,
    /// The CUSUM's reference value k in spreads (default 1.5, half the
    /// 3-spread shift it must find fastest: the optimal k for that shift).
    pub cusum_k: f64,
    /// The CUSUM's decision interval h in spreads (default 4). With k = 1.5
    /// a 3-spread step alarms on its 2nd or 3rd sample (median), and noise
    /// alarms about once in 10⁶ samples with the spread known (Siegmund's
    /// approximation). Each standardised residual is clipped at ±(h + k),
    /// so one wild sample alone never alarms.
    pub cusum_h: f64,
    /// The spread is never below this fraction of |median| (default 0.01):
    /// a flat baseline does not make every wiggle infinitely many spreads,
    /// and with the 5 % minimum effect a flat series still alarms on a 5 %
    /// step (5 spreads).
    pub spread_floor_relative: f64,
    /// Nor below this absolute value (default 10⁻⁹), for baselines at 0.
    /// Counts also never go below √max(mean, 1) (the Poisson spread).
    pub spread_floor_absolute: f64,
    /// Count series whose baseline mean per sample is at most this are
    /// tested as counts (default 50); busier ones as values.
    pub sparse_count_max_mean: f64,
    /// Power for the minimum detectable effect (default 0.8).
    pub power: f64,
    /// Where baselines come from (default [`BaselineStrategy::Auto`] with 7 days).
    pub strategy: BaselineStrategy,
    /// Per-series-name direction overrides; unlisted series use their kind's default.
    pub directions: Vec<(String, Direction)>,
}

impl Default for RegressionConfig {
    fn default() -> Self {
        Self {
            post_window_nanos: 300 * SECOND,
            baseline_window_nanos: 1_800 * SECOND,
            guard_nanos: 120 * SECOND,
            min_baseline_samples: 20,
            min_after_samples: 3,
            min_coverage: 0.5,
            min_relative_effect: 0.05,
            min_spread_ratio: 1.25,
            alpha: 1e-5,
            alarm_alpha: 0.01,
            cusum_k: 1.5,
            cusum_h: 4.0,
            spread_floor_relative: 0.01,
            spread_floor_absolute: 1e-9,
            sparse_count_max_mean: 50.0,
            power: 0.8,
            strategy: BaselineStrategy::Auto { days: 7 },
            directions: Vec::new(),
        }
    }
}

impl RegressionConfig {
    /// The direction that makes a change of `name` (of `kind`) a regression.
    #[must_use]
    pub fn direction(&self, name: &str, kind: MetricKind) -> Direction {
        self.directions
            .iter()
            .find(|(n, _)| n == name)
            .map_or(kind.default_direction(), |(_, d)| *d)
    }

    /// Checks every field; reports the first impossible one.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field and the accepted range.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, expected: &'static str| {
            Err(Error::InvalidConfig { field, expected })
        };
        let positive = |x: f64| x.is_finite() && x > 0.0;
        let prob = |x: f64| x.is_finite() && x > 0.0 && x < 1.0;
        if self.post_window_nanos <= 0 {
            return bad("post_window_nanos", "a duration above 0");
        }
        if self.baseline_window_nanos <= 0 {
            return bad("baseline_window_nanos", "a duration above 0");
        }
        if self.guard_nanos < 0 {
            return bad("guard_nanos", "a duration of 0 or more");
        }
        if self.min_baseline_samples < 2 || self.min_after_samples < 1 {
            return bad(
                "min_baseline_samples",
                "at least 2 (and min_after_samples at least 1)",
            );
        }
        if !(self.min_coverage.is_finite() && (0.0..=1.0).contains(&self.min_coverage)) {
            return bad("min_coverage", "a fraction between 0 and 1");
        }
        if !(self.min_relative_effect.is_finite() && self.min_relative_effect >= 0.0) {
            return bad("min_relative_effect", "a fraction of 0 or more");
        }
        if !(self.min_spread_ratio.is_finite() && self.min_spread_ratio >= 1.0) {
            return bad("min_spread_ratio", "a ratio of 1 or more");
        }
        if !(prob(self.alpha) && prob(self.alarm_alpha) && prob(self.power)) {
            return bad(
                "alpha",
                "alpha, alarm_alpha and power strictly between 0 and 1",
            );
        }
        if !(self.cusum_k.is_finite() && self.cusum_k >= 0.0 && positive(self.cusum_h)) {
            return bad("cusum_k", "k of 0 or more and h above 0, in spreads");
        }
        if !(positive(self.spread_floor_relative) && positive(self.spread_floor_absolute)) {
            return bad("spread_floor_relative", "both spread floors above 0");
        }
        if !(self.sparse_count_max_mean.is_finite() && self.sparse_count_max_mean >= 0.0) {
            return bad("sparse_count_max_mean", "a mean of 0 or more");
        }
        if let BaselineStrategy::SameTimeOfDay { days: 0 } | BaselineStrategy::Auto { days: 0 } =
            self.strategy
        {
            return bad("strategy", "at least 1 earlier day");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_names() {
        use MetricKind::*;
        for (name, integers, kind) in [
            ("error_rate", false, Rate),
            ("errors", true, Count),
            ("error_count", true, Count),
            ("errors", false, Rate),
            ("http_5xx_errors_per_min", false, Rate),
            ("p95_latency_ms", false, Latency),
            ("db_ms", false, Latency),
            ("p99", false, Latency),
            ("request_duration_seconds", false, Latency),
            ("request_rate", false, Throughput),
            ("rps", false, Throughput),
            ("cpu_pct", false, Other),
            ("temp99", false, Other),
            ("http.server.request.duration.count", false, Throughput),
            (
                "http.server.request.duration.p95{outcome=\"error\"}",
                false,
                Latency,
            ),
            ("rpc_errors_count", true, Count),
        ] {
            assert_eq!(MetricKind::from_name(name, integers), kind, "{name}");
        }
    }
}
