//! `trend`: a series heading for a limit — a disk filling, memory leaking, a
//! temperature climbing — caught before it gets there, with when it will.
//!
//! ## What it does
//!
//! Watches every series matching `metric` (wildcards allowed), each on its
//! own. It fits a line to the series' last `window` seconds, robustly, and
//! holds while that line reaches `threshold:` (`above` or `below`, strict
//! as in `metric_threshold`) within `within` seconds from now, inclusive:
//!
//! - **Fit.** The window is cut into 64 buckets; each averages its samples.
//!   The line is the Theil–Sen fit through the buckets' means (the median
//!   of the slopes between every two buckets), which a few wild buckets do
//!   not tilt. It is refitted when a new bucket starts, so the work per
//!   sample is constant on average and at most one fit of 64 points
//!   (`trend/fit.rs`); the prediction lags the data by at most one bucket
//!   (`window` / 64).
//! - **Holds** when the line's value now is not yet beyond the threshold,
//!   heads towards it, and reaches it within `within` seconds; the trigger's
//!   `predicted_at` says when. It also holds when the line is already beyond
//!   the threshold (whatever its slope), with `predicted_at` now. Once it
//!   holds, it clears only when the crossing moves beyond 1.5 × `within`
//!   away, or the line turns away, so a prediction hovering at the horizon
//!   does not flap. A ramp that flattens stops holding once enough of the
//!   window is flat for the median slope to put the crossing out of reach.
//! - **Not yet.** Until the window holds `min_samples` samples spanning at
//!   least half of it, the rule never holds: a line through the first few
//!   seconds of a series says little about the next minutes. A silence
//!   longer than `window` empties it, and it fills again the same way.
//! - **Evidence.** The trigger carries `predicted_at` (when the line
//!   reaches the limit; the firing time if already beyond), the last value
//!   (`observed`) and the most extreme one while holding (`peak`), the
//!   window, and the fitted value and rate in `text`; the summary says when,
//!   and how far off that is.
//! - NaN and infinite samples are skipped.
//!
//! ## Example
//!
//! ```yaml
//! triggers:
//!   - name: "Disk filling"
//!     type: trend
//!     metric: disk.*.used_pct
//!     threshold: { above: 95 }
//!     within: 600        # predicted to cross in the next 10 minutes
//!     window: 300        # fit the last 5 minutes
//!     min_samples: 10
//!     severity: high
//! ```

mod fit;

use rewind_model::{Comparison, Evidence, Sample, Timestamp};
use serde_saphyr::Location;

use super::{Explanation, Input, Kind, RuleKind, TypeSpec};
use crate::Pattern;
use crate::rules::check::{self, Checker, Fields};
use crate::rules::raw::Node;
use crate::words::{number, seconds};
use fit::{Buckets, Line};

/// `type: trend`.
pub(crate) const TYPE: &str = "trend";
pub(crate) const SPEC: TypeSpec = TypeSpec {
    name: TYPE,
    fields: &["metric", "threshold", "within", "window", "min_samples"],
    validate,
};
/// Default `window:`, in nanoseconds (60 s).
pub(crate) const DEFAULT_WINDOW_NANOS: i64 = 60_000_000_000;
/// Default `min_samples:`.
pub(crate) const DEFAULT_MIN_SAMPLES: u32 = 10;
/// Once holding, the rule clears when the crossing is further than this
/// many times `within` away.
pub(crate) const CLEAR_FACTOR: f64 = 1.5;
/// The keys of `threshold:`.
const COMPARISONS: &[&str] = &["above", "below"];

/// A `trend` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// The series watched.
    pub metric: Pattern,
    /// The limit the series is heading for: [`Comparison::Above`] or
    /// [`Comparison::Below`].
    pub condition: Comparison,
    /// How soon the crossing must be predicted, in nanoseconds (`within:`).
    pub within_nanos: i64,
    /// How much recent history the line is fitted to, in nanoseconds
    /// (`window:`, default 60 s).
    pub window_nanos: i64,
    /// Samples the window needs before the rule may hold (`min_samples:`, default 10).
    pub min_samples: u32,
}

/// The evaluation state of one series.
#[derive(Debug, Clone)]
pub struct State {
    buckets: Buckets,
    line: Option<Line>,
    holds: bool,
    /// At the last sample: the line's value, and the predicted crossing.
    fitted: f64,
    predicted: Timestamp,
    /// While holding: the most extreme sample, and the samples.
    peak: f64,
    samples: u64,
    last: f64,
    last_at: Option<Timestamp>,
}

impl Trend {
    /// The limit and whether the series must rise to it.
    fn limit(&self) -> (f64, bool) {
        match self.condition {
            Comparison::Below(limit) => (limit, false),
            Comparison::Above(limit) | Comparison::Equals(limit) => (limit, true),
            Comparison::Outside { high, .. } => (high, true),
            Comparison::Is(_) => (f64::NAN, true),
        }
    }

    /// Seconds until `line`, at `fitted` now, crosses the limit: 0 if it is
    /// already beyond; `None` if it heads away or stays level.
    fn eta(&self, line: &Line, fitted: f64) -> Option<f64> {
        if self.condition.holds(fitted) {
            return Some(0.0);
        }
        let (limit, rising) = self.limit();
        let towards = if rising {
            line.slope > 0.0
        } else {
            line.slope < 0.0
        };
        if !towards {
            return None;
        }
        let secs = (limit - fitted) / line.slope;
        (secs.is_finite() && secs >= 0.0).then_some(secs)
    }

    /// The rate of change in words: "rising 0.52 per minute", in a unit
    /// that suits the horizon.
    fn rate(&self, slope: f64) -> String {
        let within = secs_f64(self.within_nanos);
        let (per, unit) = if within < 120.0 {
            (1.0, "second")
        } else if within < 7200.0 {
            (60.0, "minute")
        } else {
            (3600.0, "hour")
        };
        let way = if slope > 0.0 {
            "rising"
        } else if slope < 0.0 {
            "falling"
        } else {
            return "flat".to_owned();
        };
        format!("{way} {} per {unit}", number((slope * per).abs()))
    }

    fn what(&self) -> String {
        if self.metric.is_literal() {
            format!("`{}`", self.metric)
        } else {
            format!("any series matching `{}`", self.metric)
        }
    }
}

impl Kind for Trend {
    type State = State;

    fn input(&self) -> Input<'_> {
        Input::Series(&self.metric)
    }

    fn new_state(&self, at: Timestamp) -> State {
        State {
            buckets: Buckets::new(self.window_nanos),
            line: None,
            holds: false,
            fitted: 0.0,
            predicted: at,
            peak: 0.0,
            samples: 0,
            last: 0.0,
            last_at: None,
        }
    }

    fn on_sample(&self, state: &mut State, sample: Sample) -> Option<bool> {
        let Sample { ts: at, value } = sample;
        if !value.is_finite() || state.last_at.is_some_and(|last| at <= last) {
            return None;
        }
        state.last_at = Some(at);
        state.last = value;
        let new_bucket = state.buckets.push(at, value);
        if new_bucket || state.line.is_none() {
            let enough = state.buckets.count() >= u64::from(self.min_samples)
                && state.buckets.span_nanos() >= self.window_nanos / 2;
            state.line = if enough { state.buckets.fit() } else { None };
        }
        let eta = state.line.and_then(|line| {
            let fitted = line.at(at);
            state.fitted = fitted;
            self.eta(&line, fitted)
        });
        let horizon = secs_f64(self.within_nanos) * if state.holds { CLEAR_FACTOR } else { 1.0 };
        let Some(eta) = eta.filter(|&s| s <= horizon) else {
            state.holds = false;
            return Some(false);
        };
        #[allow(clippy::cast_possible_truncation)] // at most 1.5 × `within`, which fits
        let eta_nanos = (eta * 1e9).round() as i64;
        state.predicted = at.add_nanos(eta_nanos);
        if !state.holds {
            state.peak = value;
            state.samples = 0;
        }
        state.holds = true;
        state.samples = state.samples.saturating_add(1);
        state.peak = if self.limit().1 {
            state.peak.max(value)
        } else {
            state.peak.min(value)
        };
        Some(true)
    }

    fn explain(
        &self,
        state: &State,
        subject: &str,
        since: Timestamp,
        at: Timestamp,
    ) -> Explanation {
        let series = super::evidence_series(subject);
        let mut evidence = Evidence::new(
            series,
            self.condition.clone(),
            state.last,
            state.peak,
            since,
            state.samples,
        );
        evidence.predicted_at = Some(state.predicted);
        evidence.window_nanos = Some(self.window_nanos);
        let slope = state.line.map_or(0.0, |l| l.slope);
        let rate = self.rate(slope);
        evidence.text = Some(format!("fitted {} now, {rate}", number(state.fitted)));
        let (limit, _) = self.limit();
        let summary = if self.condition.holds(state.fitted) {
            format!(
                "{subject} is already {} (fitted {}, last {}), {rate}",
                self.condition,
                number(state.fitted),
                number(state.last)
            )
        } else {
            let rounded = Timestamp::from_unix_nanos(
                state
                    .predicted
                    .as_unix_nanos()
                    .saturating_add(500_000_000)
                    .div_euclid(1_000_000_000)
                    * 1_000_000_000,
            );
            format!(
                "{subject} {rate}, predicted to cross {} at {rounded} (in {})",
                number(limit),
                span(state.predicted.nanos_since(at))
            )
        };
        Explanation {
            evidence: vec![evidence],
            summary,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} is predicted to go {} within {} s, by a robust line fitted to its last {} s \
             (from {} samples on), or is already beyond it",
            self.what(),
            self.condition,
            seconds(self.within_nanos),
            seconds(self.window_nanos),
            self.min_samples,
        )
    }
}

/// Nanoseconds as seconds.
#[allow(clippy::cast_precision_loss)] // nanosecond precision is not needed here
fn secs_f64(nanos: i64) -> f64 {
    nanos as f64 / 1e9
}

/// A time span for people: `45.0 s`, `7.3 min`, `3.2 h`.
fn span(nanos: i64) -> String {
    let secs = secs_f64(nanos);
    if secs < 120.0 {
        format!("{secs:.1} s")
    } else if secs < 7200.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

fn validate(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    let field = |ck: &mut Checker<'_>, name: &str, hint: &str| {
        check::field(ck, fields, at, require, name, hint)
    };
    let metric = field(
        ck,
        "metric",
        "add the series to watch, e.g. `metric: disk./.used_pct`",
    )
    .and_then(|node| ck.pattern(node, "metric", "disk./.used_pct"));
    let condition = field(
        ck,
        "threshold",
        "add the limit it heads for, e.g. `threshold: { above: 95 }`",
    )
    .and_then(|node| condition(ck, node));
    let within_nanos = field(
        ck,
        "within",
        "add how soon a crossing matters, in seconds, e.g. `within: 600`",
    )
    .and_then(|node| ck.seconds(node, "within", "within: 600", false));
    let window_nanos = fields
        .get_some("window")
        .map_or(Some(DEFAULT_WINDOW_NANOS), |n| {
            ck.seconds(n, "window", "window: 60", false)
        });
    let min_samples = fields
        .get_some("min_samples")
        .map_or(Some(DEFAULT_MIN_SAMPLES), |n| {
            ck.count(n, "min_samples", 3, 1_000_000)
        });
    Some(RuleKind::Trend(Trend {
        metric: metric?,
        condition: condition?,
        within_nanos: within_nanos?,
        window_nanos: window_nanos?,
        min_samples: min_samples?,
    }))
}

fn condition(ck: &mut Checker<'_>, node: &Node) -> Option<Comparison> {
    const EXAMPLE: &str = "threshold: { above: 95 }";
    let entries = ck.mapping(node, "threshold", EXAMPLE)?;
    let fields = ck.fields(entries, COMPARISONS);
    match fields.present() {
        // Unknown keys (`abve:`, `outside:`) were reported already.
        [] if !entries.is_empty() => None,
        [] => {
            ck.report(
                &node.referenced,
                "`threshold` needs `above` or `below`",
                format!("add the limit the series heads for, e.g. `{EXAMPLE}`"),
            );
            None
        }
        [(first, _, _), (second, key, _), ..] => {
            ck.report(
                &key.referenced,
                format!(
                    "`threshold` has both `{first}` and `{second}`; a trend heads for one limit"
                ),
                "keep one of them, or write a second rule for the other limit",
            );
            None
        }
        [(which, _, value)] => {
            let limit = ck.number(value, which, &format!("{which}: 95"))?;
            Some(if *which == "below" {
                Comparison::Below(limit)
            } else {
                Comparison::Above(limit)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(condition: Comparison, within_secs: i64) -> Trend {
        Trend {
            metric: Pattern::new("x"),
            condition,
            within_nanos: within_secs * 1_000_000_000,
            window_nanos: DEFAULT_WINDOW_NANOS,
            min_samples: DEFAULT_MIN_SAMPLES,
        }
    }

    fn line(slope: f64) -> Line {
        Line {
            anchor: Timestamp::from_unix_nanos(0),
            intercept: 0.0,
            slope,
        }
    }

    #[test]
    fn time_to_the_crossing() {
        let above = rule(Comparison::Above(10.0), 60);
        assert_eq!(above.eta(&line(2.0), 4.0), Some(3.0));
        assert_eq!(
            above.eta(&line(2.0), 10.0),
            Some(0.0),
            "at the limit, heading over"
        );
        assert_eq!(above.eta(&line(-2.0), 11.0), Some(0.0), "already beyond");
        assert_eq!(above.eta(&line(-2.0), 4.0), None, "heading away");
        assert_eq!(above.eta(&line(0.0), 4.0), None, "level");
        assert_eq!(
            above.eta(&line(-2.0), 10.0),
            None,
            "at the limit, heading away"
        );
        let below = rule(Comparison::Below(10.0), 60);
        assert_eq!(below.eta(&line(-2.0), 16.0), Some(3.0));
        assert_eq!(below.eta(&line(2.0), 16.0), None);
        assert_eq!(below.eta(&line(f64::MIN_POSITIVE), -1e308), Some(0.0));
    }

    #[test]
    fn rates_and_spans_read_in_a_unit_that_suits() {
        assert_eq!(
            rule(Comparison::Above(1.0), 30).rate(0.5),
            "rising 0.5 per second"
        );
        assert_eq!(
            rule(Comparison::Above(1.0), 600).rate(-0.01),
            "falling 0.6 per minute"
        );
        assert_eq!(
            rule(Comparison::Above(1.0), 86_400).rate(0.001),
            "rising 3.6 per hour"
        );
        assert_eq!(rule(Comparison::Above(1.0), 30).rate(0.0), "flat");
        assert_eq!(span(45_000_000_000), "45.0 s");
        assert_eq!(span(438_000_000_000), "7.3 min");
        assert_eq!(span(11_520_000_000_000), "3.2 h");
    }
}
