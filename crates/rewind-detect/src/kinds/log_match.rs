//! `log_match`: log lines matching a regex or a literal, counted within a
//! window.
//!
//! ## What it does
//!
//! Looks at every event whose source matches `source:` (default `"*"`, any
//! source; e.g. `journal`, `kmsg`, `file:/var/log/*.log`) and, with
//! `level:`, whose level is at least that (`debug`, `info`, `notice`,
//! `warning`, `error`, `critical`), and matches its message against
//! `regex:` or `literal:` (exactly one of them). The rule holds while at
//! least `count` matching lines (default 1, at most 1000) fall within the
//! last `window` seconds (default 60), and resolves when the window runs
//! out on them. With `count: 1` it holds for `window` seconds after the
//! latest matching line.
//!
//! Each source is counted on its own: three matching lines in the journal
//! and one in a log file are 3 and 1, not 4, and the trigger names the
//! source. (A line the kernel logs reaches both `kmsg` and the journal;
//! counting sources together would count it twice.)
//!
//! Every event is a line here, typed or not: an `oom_kill` event keeps the
//! kernel's line as its message, so `literal: "Killed process"` still sees
//! it. The agent's own events (sources `process` and `socket`) carry
//! sentences such as "watched process nginx is gone (pid 101)", which
//! `source: "*"` matches too; name the source to leave them out.
//!
//! `regex:` uses the syntax of Rust's `regex` crate: no look-around and no
//! backreferences, so matching takes time linear in the line whatever the
//! pattern. It is unanchored and case-sensitive (`(?i)` ignores case). A
//! pattern longer than 1000 characters, or one that compiles to more than
//! 1 MiB (large repetitions such as `(a{1000}){1000}`), is refused.
//! `literal:` is looked for as written, case and all: `literal: "a.b(c)*"`
//! finds exactly those characters.
//!
//! The window is half-open: a line exactly `window` seconds old has left
//! it, and the rule resolves with the first input, or
//! [`crate::Engine::advance`], at or after that instant. A line that
//! arrives late still counts if it falls within the window as of the
//! latest time the engine has seen; an older one is ignored.
//!
//! Per source, a rule keeps at most `count` times and the latest matching
//! line (cut to 500 characters), however many lines match.
//!
//! The evidence is the series `log.<source>.matches` (every character of
//! the source outside `A-Za-z0-9_-/:`, dots included, replaced by `_`), the
//! condition `is: "/<regex>/"` or `is: "\"<literal>\""`, the matching lines
//! within the window as the observed value (the rule keeps no more than
//! `count`), the latest matching line as text, and the window.
//!
//! ## Example
//!
//! ```yaml
//! triggers:
//!   - name: "Segfaults"
//!     type: log_match
//!     source: journal
//!     regex: "segfault|core dumped"
//!     level: warning
//!     count: 3
//!     window: 60
//!     severity: high
//!   - name: "Disk errors in the app log"
//!     type: log_match
//!     source: "file:/var/log/app/*.log"
//!     literal: "I/O error"
//!     severity: warning
//! ```

mod check;

use std::fmt;

use regex::Regex;
use rewind_model::{Comparison, Event, Evidence, Level, Timestamp};

use super::status::{MAX_TEXT_CHARS, Recent, cut, evidence_series};
use super::{Explanation, Input, Kind, TypeSpec};
use crate::Pattern;
use crate::rules::raw::sanitize;
use crate::words::seconds;

/// `type: log_match`.
pub(crate) const TYPE: &str = "log_match";
pub(crate) const SPEC: TypeSpec = TypeSpec {
    name: TYPE,
    fields: &["source", "regex", "literal", "level", "count", "window"],
    validate: check::validate,
};
/// Default `count:`.
pub(crate) const DEFAULT_COUNT: u32 = 1;
/// Default `window:`: one minute.
pub(crate) const DEFAULT_WINDOW_NANOS: i64 = 60_000_000_000;

/// What a line must contain.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// `regex:`, unanchored.
    Regex(Regex),
    /// `literal:`, as written.
    Literal(String),
}

impl Matcher {
    /// Whether `line` contains a match.
    #[must_use]
    pub fn is_match(&self, line: &str) -> bool {
        match self {
            Self::Regex(re) => re.is_match(line),
            Self::Literal(text) => line.contains(text.as_str()),
        }
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Regex(re) => re.as_str(),
            Self::Literal(text) => text,
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Regex(a), Self::Regex(b)) => a.as_str() == b.as_str(),
            (Self::Literal(a), Self::Literal(b)) => a == b,
            _ => false,
        }
    }
}

/// `/regex/` or `"literal"`.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Regex(re) => write!(f, "/{}/", re.as_str()),
            Self::Literal(text) => write!(f, "\"{text}\""),
        }
    }
}

/// A `log_match` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMatch {
    /// The event sources watched (`source:`, default `*`), each on its own.
    pub source: Pattern,
    /// What a line must contain (`regex:` or `literal:`).
    pub matcher: Matcher,
    /// The lowest level a line may have (`level:`); any level when `None`.
    pub level: Option<Level>,
    /// How many matching lines within the window make the rule hold
    /// (`count:`, default 1).
    pub count: u32,
    /// The sliding window, in nanoseconds (`window:`, default 60 s).
    pub window_nanos: i64,
}

/// The evaluation state of one source.
#[derive(Debug, Clone)]
pub struct State {
    /// The latest time seen, from lines and the clock.
    now: Timestamp,
    /// The times of the latest matching lines within the window, at most `count`.
    hits: Recent<()>,
    /// The latest matching line (by time), cut.
    last: Option<(Timestamp, String)>,
}

impl LogMatch {
    fn evaluate(&self, state: &mut State) -> bool {
        state.hits.expire(state.now, self.window_nanos);
        state.hits.len() >= usize::try_from(self.count).unwrap_or(usize::MAX)
    }
}

impl Kind for LogMatch {
    type State = State;

    fn input(&self) -> Input<'_> {
        Input::Events
    }

    fn new_state(&self, at: Timestamp) -> State {
        State {
            now: at,
            hits: Recent::new(usize::try_from(self.count).unwrap_or(1)),
            last: None,
        }
    }

    /// The event's source, when the event is a matching line.
    fn subject(&self, event: &Event) -> Option<String> {
        let matches = self.source.matches(&event.source)
            && self.level.is_none_or(|min| event.level >= min)
            && self.matcher.is_match(&event.message);
        matches.then(|| event.source.clone())
    }

    fn on_event(&self, state: &mut State, event: &Event) -> Option<bool> {
        state.now = state.now.max(event.ts);
        state.hits.insert(event.ts, ());
        if state.last.as_ref().is_none_or(|(at, _)| *at <= event.ts) {
            state.last = Some((event.ts, cut(&event.message, MAX_TEXT_CHARS)));
        }
        Some(self.evaluate(state))
    }

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
        _at: Timestamp,
    ) -> Explanation {
        let n = u64::try_from(state.hits.len()).unwrap_or(u64::MAX);
        let line = state.last.as_ref().map_or("", |(_, l)| l.as_str());
        let (matcher, source, shown) = (
            sanitize(&self.matcher.to_string()),
            sanitize(subject),
            sanitize(line),
        );
        let summary = if n <= 1 {
            format!("a line matching {matcher} in {source}: \"{shown}\"")
        } else {
            let span = seconds(state.hits.span());
            format!("{n} lines matching {matcher} in {source} within {span} s (last: \"{shown}\")")
        };
        #[allow(clippy::cast_precision_loss)] // at most 1000
        let value = n as f64;
        let series = evidence_series("log", subject, "matches");
        let condition = Comparison::Is(self.matcher.to_string());
        let mut evidence = Evidence::new(series, condition, value, value, since, n);
        evidence.text = state.last.as_ref().map(|(_, l)| l.clone());
        evidence.window_nanos = Some(self.window_nanos);
        Explanation {
            evidence: vec![evidence],
            summary,
        }
    }

    fn describe(&self) -> String {
        let from = if self.source.as_str() == "*" {
            "from any source".to_owned()
        } else if self.source.is_literal() {
            format!("from `{}`", self.source)
        } else {
            format!("from a source matching `{}`", self.source)
        };
        let level = self
            .level
            .map(|l| format!(" at level {} or above", check::level_name(l)))
            .unwrap_or_default();
        let window = seconds(self.window_nanos);
        let matcher = &self.matcher;
        if self.count == 1 {
            format!(
                "a line {from}{level} matches {matcher}; it clears {window} s after the latest one"
            )
        } else {
            format!(
                "{} lines {from}{level} match {matcher} within {window} s",
                self.count
            )
        }
    }
}
