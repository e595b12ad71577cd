//! `node_status` and `process_status`: a node or process that went missing,
//! restarted, was OOM-killed or is crash-looping.
//!
//! ## What it does
//!
//! Watches what the agent reports about *nodes* (peers heartbeating on its
//! socket, such as ROS 2 nodes: `node_missing`, `node_seen` events) or
//! *processes* (the entries of `collectors.processes.watch`:
//! `process_missing`, `process_restarted`; and `oom_kill` from the kernel
//! log), for every name matching `node:` or `process:` (`*` matches any
//! run of characters, so `"*"` is any name), each name on its own.
//! `status:` says what trips the rule:
//!
//! | `status:` | holds | events |
//! |---|---|---|
//! | `missing` | from the missing event until the node or process is seen again | `node_missing` until `node_seen`; `process_missing` until `process_restarted` |
//! | `restarted` | from a restart until `hold` seconds (default 60) after the latest one | `process_restarted`; for nodes, a `node_seen` after a `node_missing` |
//! | `oom_killed` | from an OOM kill until `hold` seconds after the latest one | `oom_kill` (processes only) |
//! | `crash_loop` | while `restarts` restarts (default 3, at most 100) fall within the last `window` seconds (default 300) | restarts, as for `restarted` |
//!
//! Restarts and OOM kills are instants: holding for `hold` lets the rule
//! fire once and resolve later, and each new one extends the hold, so a
//! burst is one incident. With a `duration:` longer than `hold`, only
//! restarts that keep coming at least every `hold` seconds fire.
//!
//! Windows are half-open: a restart exactly `window` seconds old has left
//! the window, and a hold started at `t` is over at `t + hold`. The rule
//! resolves with the first input, or [`crate::Engine::advance`], at or
//! after that instant.
//!
//! A crash loop counts restarts only. A restarted process gives one
//! `process_restarted`, whether or not a `process_missing` came first (the
//! agent may not see it gone between two passes), so counting missing
//! events too would count some restarts twice. An OOM-killed process that
//! comes back is counted by its restart; one that dies and stays dead is
//! `missing`. A node restarted faster than its heartbeat TTL sends no event
//! at all, and is not seen restarting.
//!
//! An `oom_kill` event names the killed process as the kernel does: by its
//! command name (`comm`, at most 15 characters, e.g. `stress-ng`), which
//! need not be the watch entry's name. No event says a node was OOM-killed,
//! so `node_status` refuses `oom_killed`: watch the node's program with
//! `process_status`.
//!
//! The agent reports events about one name in order. If one arrives late, a
//! missing or seen event older than the latest one applied for that name is
//! ignored (the newer one says more), and a late restart or OOM kill still
//! counts if it falls within the window, or its hold, as of the latest time
//! the engine has seen.
//!
//! Per name, a rule keeps the latest event's message and at most `restarts`
//! restart times (crash loops) or the latest 8 (`restarted`, `oom_killed`,
//! for the pids in the summary).
//!
//! The evidence is the series `node.<name>.status` or
//! `process.<name>.status` (every character of the name outside
//! `A-Za-z0-9_-/:`, dots included, replaced by `_`), the condition
//! `is: <status>`, the number of events counted as the observed value
//! (restarts within the window, or during the current hold; 1 for
//! `missing`), the latest event's message as text and, for crash loops,
//! the window.
//!
//! ## Example
//!
//! ```yaml
//! triggers:
//!   - name: "Node crashed"
//!     type: "node_status"
//!     node: "*" # any node
//!     status: "missing"
//!     severity: "high"
//!   - name: "nginx crash-looping"
//!     type: process_status
//!     process: nginx
//!     status: crash_loop
//!     restarts: 3
//!     window: 300
//!     severity: critical
//! ```

mod check;
mod recent;

use rewind_model::{Comparison, Event, EventKind, Evidence, SeriesName, Timestamp};

use super::{Explanation, Input, Kind, TypeSpec};
use crate::Pattern;
use crate::rules::raw::sanitize;
use crate::words::seconds;

pub(crate) use recent::Recent;

/// `type: node_status`.
pub(crate) const NODE_STATUS: TypeSpec = TypeSpec {
    name: "node_status",
    fields: &["node", "status", "restarts", "window", "hold"],
    validate: check::validate_node,
};
/// `type: process_status`.
pub(crate) const PROCESS_STATUS: TypeSpec = TypeSpec {
    name: "process_status",
    fields: &["process", "status", "restarts", "window", "hold"],
    validate: check::validate_process,
};
/// Default `restarts:` of a crash loop.
pub(crate) const DEFAULT_RESTARTS: u32 = 3;
/// Default `window:` of a crash loop: five minutes.
pub(crate) const DEFAULT_WINDOW_NANOS: i64 = 300_000_000_000;
/// Default `hold:` of `restarted` and `oom_killed`: one minute.
pub(crate) const DEFAULT_HOLD_NANOS: i64 = 60_000_000_000;
/// Pids kept per name for the summary of restarts and OOM kills.
const KEEP_PIDS: usize = 8;
/// The longest pid list kept from one event, in characters.
const MAX_PID_CHARS: usize = 40;
/// The longest event message kept as evidence, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 500;
/// The longest name segment of an evidence series, in characters.
const MAX_SEGMENT_CHARS: usize = 160;

/// Whether a rule watches nodes or processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `node_status`: peers heartbeating on the agent's socket (`node:`).
    Node,
    /// `process_status`: the agent's watched processes (`process:`).
    Process,
}

impl Target {
    /// `node` or `process`: the field naming it, and the word for it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Node => "node",
            Self::Process => "process",
        }
    }
}

/// What trips a status rule (`status:`), with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// `missing`: from the missing event until the name is seen again.
    Missing,
    /// `restarted`: from a restart until `hold_nanos` after the latest one.
    Restarted {
        /// `hold:`, in nanoseconds.
        hold_nanos: i64,
    },
    /// `oom_killed`: from an OOM kill until `hold_nanos` after the latest one.
    OomKilled {
        /// `hold:`, in nanoseconds.
        hold_nanos: i64,
    },
    /// `crash_loop`: while `restarts` restarts fall within the last `window_nanos`.
    CrashLoop {
        /// `restarts:`, at least 2.
        restarts: u32,
        /// `window:`, in nanoseconds.
        window_nanos: i64,
    },
}

impl Watch {
    /// As written after `status:`, e.g. `crash_loop`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Restarted { .. } => "restarted",
            Self::OomKilled { .. } => "oom_killed",
            Self::CrashLoop { .. } => "crash_loop",
        }
    }
}

/// A `node_status` or `process_status` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Nodes or processes.
    pub target: Target,
    /// The names watched (`node:` or `process:`); `*` matches any run of characters.
    pub name: Pattern,
    /// What trips the rule (`status:` and its parameters).
    pub status: Watch,
}

/// The evaluation state of one node or process.
#[derive(Debug, Clone)]
pub struct State {
    /// The latest time seen, from events and the clock.
    now: Timestamp,
    /// Since when the name is missing, if it is.
    missing_since: Option<Timestamp>,
    /// The time of the latest missing or seen event applied.
    presence_at: Option<Timestamp>,
    /// The latest restarts or OOM kills counted, with their pids.
    recent: Recent<String>,
    /// `restarted`, `oom_killed`: the events counted in the current hold…
    run: u64,
    /// …the time of its first one…
    run_start: Timestamp,
    /// …and when it is over (exclusive).
    until: Option<Timestamp>,
    /// The latest relevant event's time and message (cut).
    message: Option<(Timestamp, String)>,
}

/// What an event says about a name, for one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fact {
    /// It is gone.
    Gone,
    /// It is there (again).
    Back,
    /// A restart or OOM kill to count.
    Counted,
}

impl Status {
    pub(crate) fn type_name(&self) -> &'static str {
        match self.target {
            Target::Node => NODE_STATUS.name,
            Target::Process => PROCESS_STATUS.name,
        }
    }

    /// What an event of `kind` says, if this rule cares.
    fn fact(&self, kind: &EventKind) -> Option<Fact> {
        use {EventKind as E, Target as T, Watch as W};
        match (self.target, self.status, kind) {
            (T::Node, W::OomKilled { .. }, _) => None,
            (T::Node, _, E::NodeMissing) => Some(Fact::Gone),
            (T::Node, _, E::NodeSeen) => Some(Fact::Back),
            (T::Process, W::Missing, E::ProcessMissing) => Some(Fact::Gone),
            (T::Process, W::Missing, E::ProcessRestarted) => Some(Fact::Back),
            (T::Process, W::Restarted { .. } | W::CrashLoop { .. }, E::ProcessRestarted)
            | (T::Process, W::OomKilled { .. }, E::OomKill) => Some(Fact::Counted),
            _ => None,
        }
    }

    /// A missing (`gone`) or seen event.
    fn presence(&self, state: &mut State, event: &Event, gone: bool) -> Option<bool> {
        if state.presence_at.is_some_and(|p| event.ts < p) {
            return None; // a newer one was applied already
        }
        state.presence_at = Some(event.ts);
        let was_missing = state.missing_since.is_some();
        if !gone {
            state.missing_since = None;
        } else if !was_missing {
            state.missing_since = Some(event.ts);
            keep_message(state, event);
        }
        match self.status {
            Watch::Missing => Some(gone),
            // A node back after missing: it restarted.
            _ if !gone && was_missing => self.count(state, event),
            _ => None,
        }
    }

    /// A restart or OOM kill.
    fn count(&self, state: &mut State, event: &Event) -> Option<bool> {
        let pid = event
            .fields
            .get("new_pid")
            .or_else(|| event.fields.get("pid"))
            .map(|p| cut(p, MAX_PID_CHARS))
            .unwrap_or_default();
        keep_message(state, event);
        match self.status {
            Watch::Missing => None,
            Watch::CrashLoop { .. } => {
                state.recent.insert(event.ts, pid);
                Some(self.evaluate(state))
            }
            Watch::Restarted { hold_nanos } | Watch::OomKilled { hold_nanos } => {
                if !held(state) {
                    state.run = 0;
                    state.run_start = event.ts;
                    state.recent.clear();
                }
                state.run = state.run.saturating_add(1);
                state.run_start = state.run_start.min(event.ts);
                state.recent.insert(event.ts, pid);
                let end = event.ts.add_nanos(hold_nanos);
                state.until = Some(state.until.map_or(end, |u| u.max(end)));
                Some(held(state))
            }
        }
    }

    /// Whether the condition holds at `state.now`.
    fn evaluate(&self, state: &mut State) -> bool {
        match self.status {
            Watch::Missing => state.missing_since.is_some(),
            Watch::Restarted { .. } | Watch::OomKilled { .. } => held(state),
            Watch::CrashLoop {
                restarts,
                window_nanos,
            } => {
                state.recent.expire(state.now, window_nanos);
                state.recent.len() >= usize::try_from(restarts).unwrap_or(usize::MAX)
            }
        }
    }

    /// "node `/x`", "any process", "a process matching `nginx*`".
    fn who(&self) -> String {
        let word = self.target.as_str();
        if self.name.as_str() == "*" {
            format!("any {word}")
        } else if self.name.is_literal() {
            format!("{word} `{}`", self.name)
        } else {
            format!("a {word} matching `{}`", self.name)
        }
    }
}

/// "process nginx restarted 3 times in 41.0 s (pids 101, 230, 388)".
fn times(what: &str, verb: &str, n: u64, span: i64, state: &State) -> String {
    let pids: Vec<&str> = state
        .recent
        .iter()
        .map(|(_, pid)| pid.as_str())
        .filter(|p| !p.is_empty())
        .collect();
    let kept = u64::try_from(pids.len()).unwrap_or(u64::MAX);
    let pids = match (n, pids.as_slice()) {
        (_, []) => String::new(),
        (1, [pid]) => format!(" (pid {pid})"),
        _ if kept < n => format!(" (latest pids {})", pids.join(", ")),
        _ => format!(" (pids {})", pids.join(", ")),
    };
    if n <= 1 {
        format!("{what} {verb}{pids}")
    } else {
        format!("{what} {verb} {n} times in {} s{pids}", seconds(span))
    }
}

/// Whether a `restarted` or `oom_killed` hold runs at `state.now`.
fn held(state: &State) -> bool {
    state.until.is_some_and(|until| state.now < until)
}

/// Keeps `event`'s message unless a newer one is kept.
fn keep_message(state: &mut State, event: &Event) {
    if state.message.as_ref().is_none_or(|(at, _)| *at <= event.ts) {
        state.message = Some((event.ts, cut(&event.message, MAX_TEXT_CHARS)));
    }
}

impl Kind for Status {
    type State = State;

    fn input(&self) -> Input<'_> {
        Input::Events
    }

    fn new_state(&self, at: Timestamp) -> State {
        let keep = match self.status {
            Watch::CrashLoop { restarts, .. } => usize::try_from(restarts).unwrap_or(KEEP_PIDS),
            _ => KEEP_PIDS,
        };
        State {
            now: at,
            missing_since: None,
            presence_at: None,
            recent: Recent::new(keep),
            run: 0,
            run_start: at,
            until: None,
            message: None,
        }
    }

    fn subject(&self, event: &Event) -> Option<String> {
        self.fact(&event.kind)?;
        let name = event.fields.get(self.target.as_str())?;
        (!name.is_empty() && self.name.matches(name)).then(|| name.clone())
    }

    fn on_event(&self, state: &mut State, event: &Event) -> Option<bool> {
        let fact = self.fact(&event.kind)?;
        state.now = state.now.max(event.ts);
        match fact {
            Fact::Gone => self.presence(state, event, true),
            Fact::Back => self.presence(state, event, false),
            Fact::Counted => self.count(state, event),
        }
    }

    /// Holds change with time: holds and windows run out, and a `duration:`
    /// of a missing name completes.
    fn timed(&self) -> bool {
        true
    }

    fn on_time(&self, state: &mut State, now: Timestamp) -> Option<bool> {
        state.now = state.now.max(now);
        Some(self.evaluate(state))
    }

    fn explain(
        &self,
        state: &State,
        subject: &str,
        since: Timestamp,
        at: Timestamp,
    ) -> Explanation {
        let what = format!("{} {}", self.target.as_str(), sanitize(subject));
        let latest = state.recent.iter().last().map_or(at, |(t, _)| *t);
        let (observed, summary) = match self.status {
            Watch::Missing => {
                let from = state.missing_since.unwrap_or(since);
                let held = at.nanos_since(from);
                let summary = if held > 0 {
                    format!("{what} missing since {from} ({} s)", seconds(held))
                } else {
                    format!("{what} missing since {from}")
                };
                (1, summary)
            }
            Watch::Restarted { .. } => {
                let span = latest.nanos_since(state.run_start);
                (state.run, times(&what, "restarted", state.run, span, state))
            }
            Watch::OomKilled { .. } => {
                let span = latest.nanos_since(state.run_start);
                (
                    state.run,
                    times(&what, "was OOM-killed", state.run, span, state),
                )
            }
            Watch::CrashLoop { .. } => {
                let n = u64::try_from(state.recent.len()).unwrap_or(u64::MAX);
                (n, times(&what, "restarted", n, state.recent.span(), state))
            }
        };
        #[allow(clippy::cast_precision_loss)] // counts are small
        let value = observed as f64;
        let series = evidence_series(self.target.as_str(), subject, "status");
        let condition = Comparison::Is(self.status.as_str().to_owned());
        let mut evidence = Evidence::new(series, condition, value, value, since, observed);
        evidence.text = state.message.as_ref().map(|(_, m)| m.clone());
        if let Watch::CrashLoop { window_nanos, .. } = self.status {
            evidence.window_nanos = Some(window_nanos);
        }
        Explanation {
            evidence: vec![evidence],
            summary,
        }
    }

    fn describe(&self) -> String {
        let who = self.who();
        let (gone, back) = match self.target {
            Target::Node => (
                "misses its heartbeat",
                "comes back after missing its heartbeat",
            ),
            Target::Process => ("has no process left", "restarts"),
        };
        match self.status {
            Watch::Missing => format!("{who} {gone}; it clears when seen again"),
            Watch::Restarted { hold_nanos } => format!(
                "{who} {back}; it clears {} s after the latest restart",
                seconds(hold_nanos)
            ),
            Watch::OomKilled { hold_nanos } => format!(
                "{who} is killed by the kernel's OOM killer; it clears {} s after the latest kill",
                seconds(hold_nanos)
            ),
            Watch::CrashLoop {
                restarts,
                window_nanos,
            } => format!(
                "{who} restarts {restarts} times within {} s",
                seconds(window_nanos)
            ),
        }
    }
}

/// The evidence series `<area>.<name>.<what>`, with `name` made a valid
/// segment ([`segment`]).
pub(crate) fn evidence_series(area: &str, name: &str, what: &str) -> SeriesName {
    super::evidence_series(&format!("{area}.{}.{what}", segment(name)))
}

/// `name` as one segment of a series name: every character outside
/// `A-Za-z0-9_-/:` (dots included) replaced by `_`, cut to 160 characters;
/// `_` for an empty name.
pub(crate) fn segment(name: &str) -> String {
    let out: String = name
        .chars()
        .take(MAX_SEGMENT_CHARS)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() { "_".to_owned() } else { out }
}

/// `text` cut to at most `max` characters, the last one `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) if max == 0 => String::new(),
        Some(_) => {
            let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_valid_series_segments() {
        assert_eq!(segment("/perception_node"), "/perception_node");
        assert_eq!(segment("nginx.service"), "nginx_service");
        assert_eq!(segment("web content é"), "web_content__");
        assert_eq!(segment(""), "_");
        assert_eq!(segment(&"x".repeat(1000)).len(), MAX_SEGMENT_CHARS);
        for name in ["", ".", "..a..", "a b", "\u{1b}[2J", &"é".repeat(500)] {
            let series = evidence_series("process", name, "status");
            assert!(series.as_str().starts_with("process."), "{name:?}");
        }
        assert_eq!(
            evidence_series("node", "/a.b", "status").as_str(),
            "node./a_b.status"
        );
    }

    #[test]
    fn cut_keeps_short_text_and_marks_long_text() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
        assert_eq!(cut("ééééé", 4).chars().count(), 4);
        assert_eq!(cut("", 0), "");
        assert_eq!(cut("a", 0), "");
    }
}
