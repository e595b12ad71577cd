//! `change`: a series that shifted away from its own recent level — latency
//! that stepped up after a deploy, a motor current that dropped, a sensor
//! whose offset jumped — whatever the series' scale.
//!
//! ## What it does
//!
//! Watches every series matching `metric` (wildcards allowed), each on its
//! own, with a two-sided CUSUM (cumulative sum) change detector:
//!
//! - **Baseline.** The rule learns the series' *level* (the median) and
//!   *spread* (a robust standard deviation: the deviations' root mean
//!   square, with deviations clipped at 2.5 MAD-based spreads) from its last
//!   `baseline` seconds of samples. The window is kept as 32 time slots of
//!   at most 8 values each, so the work per sample is bounded (a few hundred
//!   operations) whatever the series' rate; `change/baseline.rs` has the
//!   details.
//! - **Statistic.** Each sample `x` is measured in spreads from the level,
//!   `z = (x − level) / spread`, clipped to ±(`limit` + `slack`) so that one
//!   sample alone never moves the statistic past the limit: a lone spike is
//!   not a change, two in a row are. Upwards, `S⁺ = max(0, S⁺ + z − slack)`;
//!   downwards, `S⁻ = max(0, S⁻ − z − slack)`. Deviations within `slack`
//!   spreads pull the statistic back to zero; a sustained shift of `d`
//!   spreads adds `d − slack` per sample. Each statistic is capped at twice
//!   the limit, so a series that comes back clears in bounded time.
//! - **Holds** while `S⁺` (for `direction: up` or `both`) or `S⁻` (`down`
//!   or `both`) is above `limit`, from the first sample that takes it
//!   strictly past the limit until it falls back to half the limit or less
//!   (hysteresis). The engine turns that into pending → firing → resolved
//!   with the rule's `duration:` as for every rule.
//! - **No learning from the shift.** While a statistic is above zero, the
//!   reference the samples are measured against is frozen; the window still
//!   records them, and once both statistics are back at zero the reference
//!   is learned again from the whole window, so excursions that were noise
//!   are not left out of it. A shift that lasts a whole `baseline` window
//!   becomes the new normal: the reference is relearned from the window,
//!   the statistics restart from zero, and the rule clears.
//! - **Evidence.** The trigger carries the reference (`baseline`: level,
//!   spread, samples, window), the last value (`observed`) and the most
//!   extreme one while holding (`peak`), the condition as the values the
//!   CUSUM accumulates (`above` level + `slack` spreads, or `below` level −
//!   `slack` spreads), and when the shift began (the sample that last took
//!   the statistic off zero) in `text`; the summary quotes the statistic.
//! - **Not yet.** Until the window holds `min_samples` samples, the rule
//!   learns and never holds. After a silence longer than `baseline`, it
//!   starts learning again from scratch.
//! - **Edge cases.** NaN and infinite samples are skipped. A constant
//!   series has a spread of zero: the spread is never taken below 10⁻⁹ ×
//!   |level| (nor zero when the level is 0), so any departure from a
//!   constant counts as many spreads.
//!
//! With the defaults (`slack: 1`, `limit: 8`) a shift of 2 spreads is
//! found after about 9 samples on average, one of 3 spreads after 5, one
//! of 5 after 2 or 3, and stationary normal noise holds about once in a few
//! million samples (once in 3 million simulated; theory, with a perfectly
//! known spread: once in 2·10⁷). The textbook `slack: 0.5, limit: 5` holds on such noise
//! about once every 300 samples with a learned spread: five minutes of a
//! 1 Hz series. Noise that wanders (strongly autocorrelated) makes any CUSUM
//! hold more often: raise `limit`, or give the rule a `duration:`.
//!
//! ## Example
//!
//! ```yaml
//! triggers:
//!   - name: "Latency shifted"
//!     type: change
//!     metric: app.latency_ms
//!     baseline: 300      # seconds of history to learn from
//!     min_samples: 30    # learn at least this many before judging
//!     slack: 1           # deviations within 1 spread are noise
//!     limit: 8           # fire once the CUSUM passes 8 spreads
//!     direction: up      # up, down or both
//!     severity: medium
//! ```

pub(crate) mod baseline;

use rewind_model::{Baseline, Comparison, Evidence, Sample, Timestamp};
use serde_saphyr::Location;

use super::{Explanation, Input, Kind, RuleKind, TypeSpec};
use crate::Pattern;
use crate::rules::check::{self, Checker, Fields};
use crate::rules::raw::{Node, sanitize};
use crate::rules::suggest;
use crate::words::{number, seconds};
use baseline::{Estimate, Window};

/// `type: change`.
pub(crate) const TYPE: &str = "change";
pub(crate) const SPEC: TypeSpec = TypeSpec {
    name: TYPE,
    fields: &[
        "metric",
        "baseline",
        "min_samples",
        "slack",
        "limit",
        "direction",
    ],
    validate,
};
/// Default `baseline:`, in nanoseconds (300 s).
pub(crate) const DEFAULT_BASELINE_NANOS: i64 = 300_000_000_000;
/// Default `min_samples:`.
pub(crate) const DEFAULT_MIN_SAMPLES: u32 = 30;
/// Default `slack:`, in spreads.
pub(crate) const DEFAULT_SLACK: f64 = 1.0;
/// Default `limit:`, in spreads.
pub(crate) const DEFAULT_LIMIT: f64 = 8.0;
/// The values of `direction:`.
const DIRECTIONS: &[&str] = &["up", "down", "both"];

/// A `change` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The series watched.
    pub metric: Pattern,
    /// How far back the baseline looks, in nanoseconds (`baseline:`, default 300 s).
    pub baseline_nanos: i64,
    /// Samples the baseline needs before the rule may hold (`min_samples:`, default 30).
    pub min_samples: u32,
    /// Deviations up to this many spreads are noise (`slack:`, the CUSUM's k, default 1).
    pub slack: f64,
    /// The CUSUM statistic, in spreads, past which the rule holds (`limit:`,
    /// the CUSUM's h, default 8).
    pub limit: f64,
    /// Which shifts count (`direction:`, default both).
    pub direction: Direction,
}

/// Which way a shift must go to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Only rises.
    Up,
    /// Only falls.
    Down,
    /// Either.
    Both,
}

/// The evaluation state of one series.
#[derive(Debug, Clone)]
pub struct State {
    window: Window,
    /// What samples are measured against; `None` while still learning.
    reference: Option<Estimate>,
    /// The upward and downward statistics, in spreads.
    up: f64,
    down: f64,
    /// When each statistic last left zero: where the shift began.
    up_from: Option<Timestamp>,
    down_from: Option<Timestamp>,
    /// Since when the reference has been frozen.
    frozen_since: Option<Timestamp>,
    holds: bool,
    /// While holding: the shift's way, its most extreme value and samples,
    /// and the statistic's peak.
    rising: bool,
    peak: f64,
    samples: u64,
    peak_stat: f64,
    last: f64,
    last_at: Option<Timestamp>,
}

impl Change {
    fn watches_up(&self) -> bool {
        matches!(self.direction, Direction::Up | Direction::Both)
    }

    fn watches_down(&self) -> bool {
        matches!(self.direction, Direction::Down | Direction::Both)
    }

    /// The reference the window gives, once it has enough samples.
    fn learned(&self, state: &mut State) -> Option<Estimate> {
        state
            .window
            .estimate()
            .filter(|e| e.samples >= u64::from(self.min_samples))
    }

    /// Adds the sample at `at` to the statistics, measured against `reference`.
    fn accumulate(&self, state: &mut State, reference: Estimate, at: Timestamp, value: f64) {
        let bound = self.limit + self.slack;
        let z = (value - reference.level) / reference.spread;
        // `max` and `min` rather than `clamp`, which panics on a NaN bound.
        let z = if z.is_nan() {
            0.0
        } else {
            z.max(-bound).min(bound)
        };
        let cap = 2.0 * self.limit;
        if self.watches_up() {
            step(&mut state.up, &mut state.up_from, z - self.slack, cap, at);
        }
        if self.watches_down() {
            step(
                &mut state.down,
                &mut state.down_from,
                -z - self.slack,
                cap,
                at,
            );
        }
    }

    /// Updates the reference: learned from the window while the statistics
    /// are at zero, frozen while one is not, and relearned (restarting the
    /// statistics) once frozen for a whole window.
    fn settle(&self, state: &mut State, at: Timestamp) {
        if state.up == 0.0 && state.down == 0.0 {
            state.frozen_since = None;
            state.reference = self.learned(state);
            return;
        }
        let since = *state.frozen_since.get_or_insert(at);
        if at.nanos_since(since) >= self.baseline_nanos {
            state.frozen_since = None;
            state.reference = self.learned(state);
            (state.up, state.down) = (0.0, 0.0);
        }
    }

    /// Whether the rule holds after this sample, with hysteresis.
    fn judge(&self, state: &mut State, value: f64) -> bool {
        let stat = state.up.max(state.down);
        let holds = if state.holds {
            stat > self.limit / 2.0
        } else {
            stat > self.limit
        };
        if holds {
            let rising = state.up >= state.down;
            if !state.holds || rising != state.rising {
                state.rising = rising;
                state.peak = value;
                state.samples = 0;
                state.peak_stat = 0.0;
            }
            state.samples = state.samples.saturating_add(1);
            state.peak = if rising {
                state.peak.max(value)
            } else {
                state.peak.min(value)
            };
            state.peak_stat = state.peak_stat.max(stat);
        }
        state.holds = holds;
        holds
    }

    fn what(&self) -> String {
        if self.metric.is_literal() {
            format!("`{}`", self.metric)
        } else {
            format!("any series matching `{}`", self.metric)
        }
    }
}

/// One CUSUM step: `stat` grows by `by`, floored at 0 and capped at `cap`;
/// `from` is when it last left zero.
fn step(stat: &mut f64, from: &mut Option<Timestamp>, by: f64, cap: f64, at: Timestamp) {
    let before = *stat;
    *stat = (before + by).min(cap).max(0.0);
    if *stat == 0.0 {
        *from = None;
    } else if before == 0.0 {
        *from = Some(at);
    }
}

impl Kind for Change {
    type State = State;

    fn input(&self) -> Input<'_> {
        Input::Series(&self.metric)
    }

    fn new_state(&self, _at: Timestamp) -> State {
        State {
            window: Window::new(self.baseline_nanos),
            reference: None,
            up: 0.0,
            down: 0.0,
            up_from: None,
            down_from: None,
            frozen_since: None,
            holds: false,
            rising: true,
            peak: 0.0,
            samples: 0,
            peak_stat: 0.0,
            last: 0.0,
            last_at: None,
        }
    }

    fn on_sample(&self, state: &mut State, sample: Sample) -> Option<bool> {
        let Sample { ts: at, value } = sample;
        if !value.is_finite() {
            return None;
        }
        if let Some(last) = state.last_at {
            if at <= last {
                return None;
            }
            if at.nanos_since(last) > self.baseline_nanos {
                // The old baseline says nothing about now: learn again.
                *state = self.new_state(at);
            }
        }
        state.last_at = Some(at);
        state.last = value;
        if let Some(reference) = state.reference {
            self.accumulate(state, reference, at, value);
        }
        state.window.push(at, value);
        self.settle(state, at);
        Some(self.judge(state, value))
    }

    fn explain(
        &self,
        state: &State,
        subject: &str,
        since: Timestamp,
        _at: Timestamp,
    ) -> Explanation {
        let series = super::evidence_series(subject);
        let (stat, from) = if state.rising {
            (state.up, state.up_from)
        } else {
            (state.down, state.down_from)
        };
        let way = if state.rising { "up" } else { "down" };
        let Some(r) = state.reference else {
            // Cannot happen while holding: holding needs a reference.
            let condition = Comparison::Above(self.limit);
            let evidence = Evidence::new(
                series,
                condition,
                state.last,
                state.peak,
                since,
                state.samples,
            );
            let summary = format!("{subject} shifted {way} to {}", number(state.last));
            return Explanation {
                evidence: vec![evidence],
                summary,
            };
        };
        let condition = if state.rising {
            Comparison::Above(r.level + self.slack * r.spread)
        } else {
            Comparison::Below(r.level - self.slack * r.spread)
        };
        let mut evidence = Evidence::new(
            series,
            condition,
            state.last,
            state.peak,
            since,
            state.samples,
        );
        evidence.baseline = Some(Baseline {
            level: r.level,
            spread: r.spread,
            samples: r.samples,
            window_nanos: self.baseline_nanos,
        });
        evidence.window_nanos = Some(self.baseline_nanos);
        evidence.text = from.map(|t| format!("shift began at about {t}"));
        let learned = format!(
            "baseline of {} samples over {} s",
            r.samples,
            seconds(self.baseline_nanos)
        );
        let reference = if r.constant {
            format!("{} (constant, {learned})", number(r.level))
        } else {
            format!("{} ± {} ({learned})", number(r.level), number(r.spread))
        };
        let limit = number(self.limit);
        let statistic = if stat > self.limit {
            format!("CUSUM {} spreads > limit {limit}", number(stat))
        } else {
            let peak = number(state.peak_stat);
            format!(
                "CUSUM {} spreads (peak {peak} > limit {limit})",
                number(stat)
            )
        };
        let summary = format!(
            "{subject} shifted {way} from {reference} to {}: {statistic}",
            number(state.last)
        );
        Explanation {
            evidence: vec![evidence],
            summary,
        }
    }

    fn describe(&self) -> String {
        let way = match self.direction {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::Both => "up or down",
        };
        format!(
            "{} shifts {way} from a baseline learned over the last {} s: the CUSUM of its \
             deviations beyond {} passes {} (judged from {} samples on)",
            self.what(),
            seconds(self.baseline_nanos),
            spreads(self.slack),
            spreads(self.limit),
            self.min_samples,
        )
    }
}

/// "1 spread", "2.5 spreads".
fn spreads(n: f64) -> String {
    if n == 1.0 {
        "1 spread".to_owned()
    } else {
        format!("{} spreads", number(n))
    }
}

fn validate(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    let metric = check::field(
        ck,
        fields,
        at,
        require,
        "metric",
        "add the series to watch, e.g. `metric: app.latency_ms`",
    )
    .and_then(|node| ck.pattern(node, "metric", "app.latency_ms"));
    let baseline_nanos = fields
        .get_some("baseline")
        .map_or(Some(DEFAULT_BASELINE_NANOS), |n| {
            ck.seconds(n, "baseline", "baseline: 300", false)
        });
    let min_samples = fields
        .get_some("min_samples")
        .map_or(Some(DEFAULT_MIN_SAMPLES), |n| {
            ck.count(n, "min_samples", 3, 1_000_000)
        });
    let slack = fields
        .get_some("slack")
        .map_or(Some(DEFAULT_SLACK), |n| in_spreads(ck, n, "slack", true));
    let limit = fields
        .get_some("limit")
        .map_or(Some(DEFAULT_LIMIT), |n| in_spreads(ck, n, "limit", false));
    let direction = fields
        .get_some("direction")
        .map_or(Some(Direction::Both), |n| direction(ck, n));
    Some(RuleKind::Change(Change {
        metric: metric?,
        baseline_nanos: baseline_nanos?,
        min_samples: min_samples?,
        slack: slack?,
        limit: limit?,
        direction: direction?,
    }))
}

/// A number of spreads: not negative, and above zero unless `zero_ok`.
fn in_spreads(ck: &mut Checker<'_>, node: &Node, field: &str, zero_ok: bool) -> Option<f64> {
    let example = if zero_ok { "slack: 1" } else { "limit: 8" };
    let value = ck.number(node, field, example)?;
    if value > 0.0 || (zero_ok && value == 0.0) {
        if value <= 1e6 {
            return Some(value);
        }
        ck.report(
            &node.referenced,
            format!("`{field}` is too large: {} spreads", ck.snippet(node)),
            format!("use at most 1000000 spreads, e.g. `{example}`"),
        );
        return None;
    }
    let what = if zero_ok {
        "must not be negative"
    } else {
        "must be more than 0"
    };
    ck.report(
        &node.referenced,
        format!("`{field}` {what}, found {}", ck.snippet(node)),
        format!("give a number of baseline spreads (robust standard deviations), e.g. `{example}`"),
    );
    None
}

fn direction(ck: &mut Checker<'_>, node: &Node) -> Option<Direction> {
    let text = ck.text(node, "direction")?;
    match text {
        "up" => return Some(Direction::Up),
        "down" => return Some(Direction::Down),
        "both" => return Some(Direction::Both),
        _ => {}
    }
    let hint = match suggest::closest(text, DIRECTIONS) {
        Some(close) => format!("did you mean `{close}`? Write `up`, `down` or `both`"),
        None => "write `up` (rises only), `down` (falls only) or `both`".to_owned(),
    };
    ck.report(
        &node.referenced,
        format!(
            "`direction` must be `up`, `down` or `both`, found the text `{}`",
            sanitize(text)
        ),
        hint,
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_700_000_000_000 + secs * 1000)
    }

    #[test]
    fn a_cusum_step_floors_at_zero_caps_and_remembers_where_it_left_zero() {
        let (mut stat, mut from) = (0.0, None);
        step(&mut stat, &mut from, -1.0, 10.0, t(0));
        assert_eq!((stat, from), (0.0, None));
        step(&mut stat, &mut from, 2.5, 10.0, t(1));
        assert_eq!((stat, from), (2.5, Some(t(1))));
        step(&mut stat, &mut from, 20.0, 10.0, t(2));
        assert_eq!((stat, from), (10.0, Some(t(1))), "capped; the start stays");
        step(&mut stat, &mut from, -11.0, 10.0, t(3));
        assert_eq!((stat, from), (0.0, None));
        step(&mut stat, &mut from, f64::NAN, f64::NAN, t(4));
        assert!(!stat.is_nan(), "no panic and no NaN on nonsense bounds");
    }

    #[test]
    fn spreads_are_counted_in_words() {
        assert_eq!(spreads(1.0), "1 spread");
        assert_eq!(spreads(0.5), "0.5 spreads");
        assert_eq!(spreads(8.0), "8 spreads");
    }

    #[test]
    fn nonsense_parameters_do_not_panic() {
        for (slack, limit) in [
            (f64::NAN, -1.0),
            (-5.0, f64::NAN),
            (1.0, -3.0),
            (f64::INFINITY, 0.0),
        ] {
            let change = Change {
                metric: Pattern::new("x"),
                baseline_nanos: 1_000_000_000_000,
                min_samples: 0,
                slack,
                limit,
                direction: Direction::Both,
            };
            let mut state = change.new_state(t(0));
            for i in 0..100 {
                let value = f64::from(u8::try_from(i % 7).unwrap_or(0)) * 1e300;
                let _ = change.on_sample(&mut state, Sample::new(t(i), value));
                let _ = change.explain(&state, "x", t(0), t(i));
            }
        }
    }
}
