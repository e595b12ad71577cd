//! `absent`: a series that stopped arriving — a stalled sensor, a hung node,
//! a collector that died.
//!
//! ## What it does
//!
//! Watches every series matching `metric` (or the rate series of `topic`,
//! like `topic_rate`) and holds while no sample of it has arrived for
//! `after` seconds. It clears with the next sample. A series named without
//! wildcards is expected from the start: if it never arrives, the rule
//! holds `after` seconds after the engine's first input. A wildcard
//! pattern can only miss series it has seen.
//!
//! The agent forgets a topic 10 s after its last report and stops its rate
//! series, so `absent` on a topic fires however the publisher died.
//!
//! ## Example
//!
//! ```yaml
//! triggers:
//!   - name: "Lidar silent"
//!     type: absent
//!     topic: /scan
//!     after: 3
//!     severity: high
//! ```

use rewind_model::{Comparison, Evidence, Sample, Timestamp};
use serde_saphyr::Location;

use super::threshold::topic_segment;
use super::{Explanation, Input, Kind, RuleKind, TypeSpec};
use crate::Pattern;
use crate::rules::check::{Checker, Fields};
use crate::words::seconds;

/// `type: absent`.
pub(crate) const TYPE: &str = "absent";
pub(crate) const SPEC: TypeSpec = TypeSpec {
    name: TYPE,
    fields: &["metric", "topic", "after"],
    validate,
};

/// An `absent` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Absent {
    /// The series watched.
    pub metric: Pattern,
    /// How long without a sample counts as absent, in nanoseconds.
    pub after_nanos: i64,
}

/// The evaluation state of one series: when it was last heard of.
#[derive(Debug, Clone)]
pub struct State {
    last: Timestamp,
    seen: bool,
    now: Timestamp,
}

impl Kind for Absent {
    type State = State;

    fn input(&self) -> Input<'_> {
        Input::Series(&self.metric)
    }

    fn new_state(&self, at: Timestamp) -> State {
        State {
            last: at,
            seen: false,
            now: at,
        }
    }

    fn on_sample(&self, state: &mut State, sample: Sample) -> Option<bool> {
        state.last = sample.ts;
        state.seen = true;
        state.now = state.now.max(sample.ts);
        Some(false)
    }

    fn on_text(&self, state: &mut State, at: Timestamp, _text: &str) -> Option<bool> {
        self.on_sample(state, Sample::new(at, 0.0))
    }

    fn timed(&self) -> bool {
        true
    }

    fn on_time(&self, state: &mut State, now: Timestamp) -> Option<bool> {
        state.now = now;
        Some(now.nanos_since(state.last) >= self.after_nanos)
    }

    fn explain(
        &self,
        state: &State,
        subject: &str,
        _since: Timestamp,
        at: Timestamp,
    ) -> Explanation {
        let series = super::evidence_series(subject);
        let silent = at.nanos_since(state.last);
        #[allow(clippy::cast_precision_loss)]
        let silent_secs = silent as f64 / 1e9;
        #[allow(clippy::cast_precision_loss)]
        let after_secs = self.after_nanos as f64 / 1e9;
        let mut evidence = Evidence::new(
            series,
            Comparison::Above(after_secs),
            silent_secs,
            silent_secs,
            state.last,
            0,
        );
        let (text, summary) = if state.seen {
            (
                format!("no sample since {}", state.last),
                format!(
                    "{subject} sent no sample for {} s (last at {})",
                    seconds(silent),
                    state.last
                ),
            )
        } else {
            (
                "never seen".to_owned(),
                format!(
                    "{subject} has not arrived in the {} s since watching began",
                    seconds(silent)
                ),
            )
        };
        evidence.text = Some(text);
        evidence.window_nanos = Some(self.after_nanos);
        Explanation {
            evidence: vec![evidence],
            summary,
        }
    }

    fn describe(&self) -> String {
        let what = if self.metric.is_literal() {
            format!("`{}`", self.metric)
        } else {
            format!("a series matching `{}`", self.metric)
        };
        format!("{what} sends no sample for {} s", seconds(self.after_nanos))
    }
}

fn validate(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    let metric = match (fields.get_some("metric"), fields.get_some("topic")) {
        (Some(_), Some(topic)) => {
            ck.report(
                &topic.referenced,
                "an `absent` rule has both `metric` and `topic`",
                "keep one: `metric:` names a series, `topic:` a topic's rate series",
            );
            None
        }
        (Some(node), None) => ck.pattern(node, "metric", "cpu.total.busy_pct"),
        (None, Some(node)) => ck
            .text(node, "topic")
            .map(|t| Pattern::new(format!("topic.{}.rate_hz", topic_segment(t)))),
        (None, None) => {
            if require && !fields.was_suggested("metric") && !fields.was_suggested("topic") {
                ck.report(
                    at,
                    "missing required field `metric` or `topic`",
                    "name what must keep arriving, e.g. `topic: /scan` or `metric: app.heartbeat`",
                );
            }
            None
        }
    };
    let after = match fields.get_some("after") {
        Some(node) => ck.seconds(node, "after", "after: 3", false),
        None if require => {
            ck.required(
                fields,
                at,
                "after",
                "add the seconds of silence that count, e.g. `after: 3`",
            );
            None
        }
        None => None,
    };
    Some(RuleKind::Absent(Absent {
        metric: metric?,
        after_nanos: after?,
    }))
}
