//! `metric_threshold` and `topic_rate`: a series beyond a limit.
//!
//! ## What it does
//!
//! Watches every series matching `metric` (wildcards allowed:
//! `disk.*.used_pct`), each on its own. A series is *beyond* the limit while
//! its samples meet `threshold:` (`above` and `below` are strict, `equals`
//! is exact, `outside: [low, high]` is strictly outside the band, and
//! `equals: "throttling"` compares a text state). Once beyond, it stays so
//! until a sample comes back past the limit by `hysteresis` (in the series'
//! unit), so a value hovering at the limit does not flap. The engine turns
//! that into pending (beyond, for less than `duration`) → firing → resolved.
//!
//! A NaN or infinite sample is a failed measurement: it is never beyond the
//! limit, so it breaks a run. A gap longer than `max_gap` (default 30 s)
//! between two samples also breaks the run: what happened in between is
//! unknown, so the duration starts again.
//!
//! `topic_rate` is the same rule on the publish rate the agent derives for a
//! ROS 2 topic or custom stream: `topic: /camera/rgb` watches
//! `topic./camera/rgb.rate_hz` (see docs/agent-protocol.md). To catch a
//! topic that stops altogether, add an `absent` rule on the same series.
//!
//! ## Example
//!
//! ```yaml
//! triggers:
//!   - name: "CPU saturated"
//!     type: metric_threshold
//!     metric: cpu.total.busy_pct
//!     threshold: { above: 80 }
//!     hysteresis: 5        # resolves below 75
//!     duration: 2.0
//!     severity: high
//!   - name: "Camera topic starvation"
//!     type: topic_rate
//!     topic: /camera/rgb
//!     threshold: { below: 20.0 }
//!     duration: 2.0
//!     severity: high
//! ```

use rewind_model::{Comparison, Evidence, Sample, SeriesName, Timestamp};
use serde_saphyr::Location;

use super::{Explanation, Input, Kind, RuleKind, TypeSpec};
use crate::Pattern;
use crate::rules::check::{Checker, Fields, field};
use crate::rules::raw::{Node, Value, sanitize};
use crate::words::{number, seconds};

/// `type: metric_threshold`.
pub(crate) const METRIC_THRESHOLD: TypeSpec = TypeSpec {
    name: "metric_threshold",
    fields: &["metric", "threshold", "hysteresis", "max_gap"],
    validate: validate_metric,
};
/// `type: topic_rate`.
pub(crate) const TOPIC_RATE: TypeSpec = TypeSpec {
    name: "topic_rate",
    fields: &["topic", "threshold", "hysteresis", "max_gap"],
    validate: validate_topic,
};
/// The keys of `threshold:`.
const COMPARISONS: &[&str] = &["above", "below", "equals", "outside"];
/// Default `max_gap:`.
pub(crate) const DEFAULT_MAX_GAP_NANOS: i64 = 30_000_000_000;

/// A `metric_threshold` or `topic_rate` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The series watched; for `topic_rate`, `topic.<topic>.rate_hz`.
    pub metric: Pattern,
    /// For `topic_rate`, the topic as written.
    pub topic: Option<String>,
    /// The comparison each sample is checked against.
    pub condition: Comparison,
    /// How far back past the limit a value must come to clear (`hysteresis:`,
    /// in the series' unit, default 0).
    pub hysteresis: f64,
    /// A gap between samples longer than this breaks a run, in nanoseconds.
    pub max_gap_nanos: i64,
}

/// The evaluation state of one series.
#[derive(Debug, Clone)]
pub struct State {
    beyond: bool,
    peak: f64,
    samples: u64,
    last: f64,
    last_text: Option<String>,
    last_at: Option<Timestamp>,
}

impl Threshold {
    pub(crate) fn type_name(&self) -> &'static str {
        if self.topic.is_some() {
            TOPIC_RATE.name
        } else {
            METRIC_THRESHOLD.name
        }
    }

    /// Whether `value` is beyond the limit, given whether it already was.
    fn beyond(&self, value: f64, already: bool) -> bool {
        if !value.is_finite() {
            return false;
        }
        if !already || self.hysteresis == 0.0 {
            return self.condition.holds(value);
        }
        let h = self.hysteresis;
        match self.condition {
            Comparison::Above(limit) => value > limit - h,
            Comparison::Below(limit) => value < limit + h,
            Comparison::Outside { low, high } => value < low + h || value > high - h,
            Comparison::Equals(_) | Comparison::Is(_) => self.condition.holds(value),
        }
    }

    /// The value further past the limit.
    fn more_extreme(&self, a: f64, b: f64) -> f64 {
        match self.condition {
            Comparison::Above(_) => a.max(b),
            Comparison::Below(_) => a.min(b),
            Comparison::Outside { low, high } => {
                if (a - (low + high) / 2.0).abs() >= (b - (low + high) / 2.0).abs() {
                    a
                } else {
                    b
                }
            }
            Comparison::Equals(_) | Comparison::Is(_) => b,
        }
    }

    fn gap_breaks(&self, state: &State, at: Timestamp) -> bool {
        state
            .last_at
            .is_some_and(|last| at.nanos_since(last) > self.max_gap_nanos)
    }

    fn enter(&self, state: &mut State, beyond: bool, value: f64) {
        if beyond && !state.beyond {
            state.peak = value;
            state.samples = 0;
        }
        state.beyond = beyond;
        if beyond {
            state.samples = state.samples.saturating_add(1);
            state.peak = self.more_extreme(state.peak, value);
        }
    }
}

impl Kind for Threshold {
    type State = State;

    fn input(&self) -> Input<'_> {
        Input::Series(&self.metric)
    }

    fn new_state(&self, _at: Timestamp) -> State {
        State {
            beyond: false,
            peak: f64::NAN,
            samples: 0,
            last: f64::NAN,
            last_text: None,
            last_at: None,
        }
    }

    fn on_sample(&self, state: &mut State, sample: Sample) -> Option<bool> {
        if matches!(self.condition, Comparison::Is(_)) {
            return None;
        }
        if self.gap_breaks(state, sample.ts) {
            state.beyond = false;
        }
        state.last_at = Some(sample.ts);
        state.last = sample.value;
        let beyond = self.beyond(sample.value, state.beyond);
        self.enter(state, beyond, sample.value);
        Some(beyond)
    }

    fn on_text(&self, state: &mut State, at: Timestamp, text: &str) -> Option<bool> {
        if !matches!(self.condition, Comparison::Is(_)) {
            return None;
        }
        if self.gap_breaks(state, at) {
            state.beyond = false;
        }
        state.last_at = Some(at);
        let beyond = self.condition.holds_text(text);
        if state.last_text.as_deref() != Some(text) {
            state.last_text = Some(text.to_owned());
        }
        self.enter(state, beyond, f64::NAN);
        Some(beyond)
    }

    fn max_gap_nanos(&self) -> Option<i64> {
        Some(self.max_gap_nanos)
    }

    fn explain(
        &self,
        state: &State,
        subject: &str,
        since: Timestamp,
        at: Timestamp,
    ) -> Explanation {
        let series = super::evidence_series(subject);
        let is_text = matches!(self.condition, Comparison::Is(_));
        // JSON cannot hold NaN: text states report 0 as their value.
        let (observed, peak) = if is_text {
            (0.0, 0.0)
        } else {
            (state.last, state.peak)
        };
        let mut evidence = Evidence::new(
            series,
            self.condition.clone(),
            observed,
            peak,
            since,
            state.samples,
        );
        evidence.text.clone_from(&state.last_text);
        let now = if is_text {
            format!("now `{}`", state.last_text.as_deref().unwrap_or_default())
        } else {
            format!("now {}", number(state.last))
        };
        // A peak says something only for above/below/outside, over several samples.
        let values = match self.condition {
            Comparison::Above(_) | Comparison::Below(_) | Comparison::Outside { .. }
                if state.samples > 1 =>
            {
                format!("peak {}, {now}", number(state.peak))
            }
            _ => now,
        };
        let held = at.nanos_since(since);
        let condition = &self.condition;
        let summary = if held == 0 {
            format!("{subject} was {condition} ({values})")
        } else {
            format!(
                "{subject} stayed {condition} for {} s ({values})",
                seconds(held)
            )
        };
        Explanation {
            evidence: vec![evidence],
            summary,
        }
    }

    fn describe(&self) -> String {
        let what = match &self.topic {
            Some(topic) => format!("the publish rate of topic `{topic}` (messages per second)"),
            None if self.metric.is_literal() => format!("`{}`", self.metric),
            None => format!("any series matching `{}`", self.metric),
        };
        let clears = match self.condition {
            _ if self.hysteresis == 0.0 => String::new(),
            Comparison::Above(limit) => format!(
                "; it clears at or below {}",
                number(limit - self.hysteresis)
            ),
            Comparison::Below(limit) => format!(
                "; it clears at or above {}",
                number(limit + self.hysteresis)
            ),
            Comparison::Outside { low, high } => format!(
                "; it clears between {} and {}",
                number(low + self.hysteresis),
                number(high - self.hysteresis)
            ),
            Comparison::Equals(_) | Comparison::Is(_) => String::new(),
        };
        let condition = match &self.condition {
            Comparison::Is(text) => format!("is `{text}`"),
            other => format!("is {other}"),
        };
        format!("{what} {condition}{clears}")
    }
}

fn validate_metric(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    let metric = field(
        ck,
        fields,
        at,
        require,
        "metric",
        "add the series to watch, e.g. `metric: cpu.total.busy_pct`",
    )
    .and_then(|node| metric(ck, node));
    rest(ck, fields, at, require, metric, None, true)
}

fn validate_topic(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    let topic = field(
        ck,
        fields,
        at,
        require,
        "topic",
        "add the topic to watch, e.g. `topic: /camera/rgb`",
    )
    .and_then(|node| topic(ck, node));
    let metric = topic
        .as_ref()
        .map(|t| Pattern::new(format!("topic.{}.rate_hz", topic_segment(t))));
    rest(ck, fields, at, require, metric, topic, false)
}

#[allow(clippy::too_many_arguments)]
fn rest(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
    metric: Option<Pattern>,
    topic: Option<String>,
    text_ok: bool,
) -> Option<RuleKind> {
    let condition = field(
        ck,
        fields,
        at,
        require,
        "threshold",
        "add a limit, e.g. `threshold: { above: 80 }`",
    )
    .and_then(|node| condition(ck, node, text_ok));
    let hysteresis = match fields.get_some("hysteresis") {
        None => Some(0.0),
        Some(node) => hysteresis(ck, node, condition.as_ref()),
    };
    let max_gap_nanos = fields
        .get_some("max_gap")
        .map_or(Some(DEFAULT_MAX_GAP_NANOS), |n| {
            ck.seconds(n, "max_gap", "max_gap: 30", false)
        });
    Some(RuleKind::Threshold(Threshold {
        metric: metric?,
        topic,
        condition: condition?,
        hysteresis: hysteresis?,
        max_gap_nanos: max_gap_nanos?,
    }))
}

fn metric(ck: &mut Checker<'_>, node: &Node) -> Option<Pattern> {
    let text = ck.text(node, "metric")?;
    let literal = text.replace('*', "x");
    if SeriesName::new(&literal).is_ok() {
        return Some(Pattern::new(text));
    }
    ck.report(
        &node.referenced,
        format!("invalid series name `{}`", sanitize(text)),
        "use dotted segments of ASCII letters, digits, `_`, `-`, `/` and `:` (at most 200 \
         characters), with `*` matching anything, e.g. `cpu.total.busy_pct` or \
         `disk.*.used_pct`; docs/rules.md lists the agent's series",
    );
    None
}

fn topic(ck: &mut Checker<'_>, node: &Node) -> Option<String> {
    let text = ck.text(node, "topic")?;
    if !text.is_empty() && text.len() <= 128 && !text.chars().any(char::is_control) {
        return Some(text.to_owned());
    }
    ck.report(
        &node.referenced,
        format!("invalid topic name `{}`", sanitize(text)),
        "write the topic as its publisher names it, 1-128 characters, e.g. `topic: /camera/rgb`",
    );
    None
}

/// A topic as it appears in its series name: `/` and `*` kept, every other
/// character that cannot be in a series name (including `.`) replaced by `_`,
/// as the agent does (docs/agent-protocol.md).
pub(crate) fn topic_segment(topic: &str) -> String {
    topic
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | ':' | '*') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn condition(ck: &mut Checker<'_>, node: &Node, text_ok: bool) -> Option<Comparison> {
    const EXAMPLE: &str = "threshold: { above: 80 }";
    let Value::Map(entries) = &node.value else {
        let found = ck.describe(node);
        let message = format!(
            "`threshold` must be a mapping with one of `above`, `below`, `equals` or `outside`, found {found}"
        );
        ck.report(&node.referenced, message, format!("write e.g. `{EXAMPLE}`"));
        return None;
    };
    let fields = ck.fields(entries, COMPARISONS);
    match fields.present() {
        // A misspelt `abve:` was reported already.
        [] if COMPARISONS.iter().any(|c| fields.was_suggested(c)) => None,
        [] => {
            let message = "`threshold` needs one of `above`, `below`, `equals` or `outside`";
            let hint = format!("add exactly one of them, e.g. `{EXAMPLE}`");
            ck.report(&node.referenced, message, hint);
            None
        }
        [(first, _, _), (second, key, _), ..] => {
            let message = format!(
                "`threshold` has both `{first}` and `{second}`; a threshold makes one comparison"
            );
            let hint = "keep one of them; for a band use `outside: [low, high]`, or write a \
                        second rule for the other limit";
            ck.report(&key.referenced, message, hint);
            None
        }
        [("outside", _, value)] => band(ck, value),
        [("equals", _, value)] if matches!(value.value, Value::Text(_)) => {
            let Value::Text(text) = &value.value else {
                return None;
            };
            if !text_ok {
                ck.report(
                    &value.referenced,
                    format!(
                        "a topic rate is a number, but `equals` has the text `{}`",
                        sanitize(text)
                    ),
                    "compare the rate with a number, e.g. `threshold: { below: 20 }`",
                );
                return None;
            }
            if text.parse::<f64>().is_ok() {
                ck.report(
                    &value.referenced,
                    format!("`equals` has the number `{}` in quotes", sanitize(text)),
                    format!(
                        "remove the quotes to compare numbers: `equals: {}`",
                        sanitize(text)
                    ),
                );
                return None;
            }
            if text.is_empty() || text.len() > 128 {
                ck.report(
                    &value.referenced,
                    "`equals` needs a state of 1-128 characters",
                    "write the state the series reports, e.g. `equals: \"throttling\"`",
                );
                return None;
            }
            Some(Comparison::Is(text.clone()))
        }
        [(which, _, value)] => {
            let limit = ck.number(value, which, &format!("{which}: 80"))?;
            Some(match *which {
                "above" => Comparison::Above(limit),
                "below" => Comparison::Below(limit),
                _ => Comparison::Equals(limit),
            })
        }
    }
}

fn band(ck: &mut Checker<'_>, node: &Node) -> Option<Comparison> {
    const EXAMPLE: &str = "outside: [10, 90]";
    let Value::List(items) = &node.value else {
        let found = ck.describe(node);
        ck.report(
            &node.referenced,
            format!("`outside` must be a list of two numbers, found {found}"),
            format!("write the band's low and high edges, e.g. `{EXAMPLE}`"),
        );
        return None;
    };
    let [low, high] = items.as_slice() else {
        ck.report(
            &node.referenced,
            format!("`outside` must have two numbers, found {}", items.len()),
            format!("write the band's low and high edges, e.g. `{EXAMPLE}`"),
        );
        return None;
    };
    let low = ck.number(low, "outside", EXAMPLE);
    let high_value = ck.number(high, "outside", EXAMPLE);
    let (low, high_value) = (low?, high_value?);
    if low >= high_value {
        ck.report(
            &high.referenced,
            format!(
                "the band's high edge ({}) must be above its low edge ({})",
                number(high_value),
                number(low)
            ),
            format!("write `[low, high]`, e.g. `{EXAMPLE}`"),
        );
        return None;
    }
    Some(Comparison::Outside {
        low,
        high: high_value,
    })
}

fn hysteresis(ck: &mut Checker<'_>, node: &Node, condition: Option<&Comparison>) -> Option<f64> {
    let h = ck.number(node, "hysteresis", "hysteresis: 5")?;
    if h < 0.0 {
        ck.report(
            &node.referenced,
            format!(
                "`hysteresis` must not be negative, found {}",
                ck.snippet(node)
            ),
            "give how far back past the limit the value must come to clear, in the series' unit",
        );
        return None;
    }
    match condition {
        Some(Comparison::Equals(_) | Comparison::Is(_)) if h > 0.0 => {
            ck.report(
                &node.referenced,
                "`hysteresis` has no meaning with `equals`",
                "remove it, or use `above`/`below`/`outside`",
            );
            None
        }
        Some(Comparison::Outside { low, high }) if 2.0 * h >= high - low => {
            ck.report(
                &node.referenced,
                format!("`hysteresis` {} leaves no room inside the band", number(h)),
                "use less than half the band's width",
            );
            None
        }
        _ => Some(h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_become_series_segments_as_the_agent_makes_them() {
        assert_eq!(topic_segment("/camera/rgb"), "/camera/rgb");
        assert_eq!(topic_segment("/a.b c"), "/a_b_c");
        assert_eq!(topic_segment("/camera/*"), "/camera/*");
    }
}
