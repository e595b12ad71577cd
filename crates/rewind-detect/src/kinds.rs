//! The rule types: what each watches, its fields, and how it is evaluated.
//!
//! Each rule type lives in one module that owns its rules-file fields
//! (validation, with located problems), its per-subject evaluation state, the
//! evidence it reports and the sentence `rewind rules explain` prints. The
//! engine ([`crate::Engine`]) routes inputs to them and runs the shared
//! pending → firing → resolved lifecycle, so a rule type only answers one
//! question per input: does the condition hold now?
//!
//! | `type:` | module | input |
//! |---|---|---|
//! | `metric_threshold`, `topic_rate` | [`threshold`] | samples (and text states) of matching series |
//! | `absent` | [`absent`] | samples of matching series, and time |
//! | `node_status`, `process_status` | [`status`] | process and node events, and time |
//! | `log_match` | [`log_match`] | log events, and time |
//! | `change` | [`change`] | samples of matching series |
//! | `trend` | [`trend`] | samples of matching series |
//! | `composite`, `after_deploy` | [`composite`] | other rules' states, deploy events |

pub mod absent;
pub mod change;
pub mod composite;
pub mod log_match;
pub mod status;
pub mod threshold;
pub mod trend;

use rewind_model::{Event, Evidence, Sample, Timestamp};
use serde_saphyr::Location;

use crate::Pattern;
use crate::rules::check::{Checker, Fields};

pub use absent::Absent;
pub use change::Change;
pub use composite::Composite;
pub use log_match::LogMatch;
pub use status::Status;
pub use threshold::Threshold;
pub use trend::Trend;

/// What a rule watches and when it fires, by rule type.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// `metric_threshold` and `topic_rate`: a series beyond a limit.
    Threshold(Threshold),
    /// `absent`: a series that stopped arriving.
    Absent(Absent),
    /// `node_status` and `process_status`: a process or node that went
    /// missing, restarted, was OOM-killed or is crash-looping.
    Status(Status),
    /// `log_match`: log lines matching a pattern, counted in a window.
    LogMatch(LogMatch),
    /// `change`: a CUSUM change detector against a learned baseline.
    Change(Change),
    /// `trend`: a series predicted to cross a limit soon.
    Trend(Trend),
    /// `composite` and `after_deploy`: rules made of other rules.
    Composite(Composite),
}

/// What feeds a rule type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    /// Samples (and text states) of the series matching the pattern; one
    /// subject per series.
    Series(&'a Pattern),
    /// Events; the rule type names the subject of each event it cares about.
    Events,
    /// Other rules' states (composite rules).
    Rules,
}

/// Why a rule fired, for the trigger.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Explanation {
    /// The measured facts.
    pub(crate) evidence: Vec<Evidence>,
    /// One sentence quoting them.
    pub(crate) summary: String,
}

/// The series name for evidence about `name`: subjects of series-fed rules
/// are series names already, and the status and log types build valid ones,
/// so `unknown` only stands in for what cannot happen.
pub(crate) fn evidence_series(name: &str) -> rewind_model::SeriesName {
    rewind_model::SeriesName::new(name).unwrap_or_else(|_| {
        rewind_model::SeriesName::new("unknown")
            .unwrap_or_else(|_| unreachable!("`unknown` is a valid series name"))
    })
}

/// What every rule type provides to the engine. `State` is the evaluation
/// state of one subject (one series, one process, …).
///
/// The `on_*` methods return `Some(holds)` when the input says whether the
/// condition holds now, and `None` when it says nothing new (the engine then
/// leaves the rule's state alone).
pub(crate) trait Kind {
    type State: std::fmt::Debug + Clone;

    /// What feeds this rule.
    fn input(&self) -> Input<'_>;

    /// The state of a subject seen for the first time at `at`.
    fn new_state(&self, at: Timestamp) -> Self::State;

    /// A sample of the subject's series, in time order (late and duplicate
    /// samples are dropped before they get here).
    fn on_sample(&self, _state: &mut Self::State, _sample: Sample) -> Option<bool> {
        None
    }

    /// A text state of the subject's series (e.g. `throttling`).
    fn on_text(&self, _state: &mut Self::State, _at: Timestamp, _text: &str) -> Option<bool> {
        None
    }

    /// For [`Input::Events`]: the subject of `event`, if this rule cares about it.
    fn subject(&self, _event: &Event) -> Option<String> {
        None
    }

    /// An event about the subject (only those [`Self::subject`] named it in).
    fn on_event(&self, _state: &mut Self::State, _event: &Event) -> Option<bool> {
        None
    }

    /// Whether the condition can change with time alone (silence, windows
    /// running out); only then is [`Self::on_time`] called.
    fn timed(&self) -> bool {
        false
    }

    /// Time has passed: it is now `now` (never earlier than the last call).
    fn on_time(&self, _state: &mut Self::State, _now: Timestamp) -> Option<bool> {
        None
    }

    /// A gap in the subject's samples longer than this breaks a pending run
    /// (the condition is unknown in between); `None` never breaks it.
    fn max_gap_nanos(&self) -> Option<i64> {
        None
    }

    /// Why the condition held for `subject` from `since` until `at`.
    fn explain(
        &self,
        state: &Self::State,
        subject: &str,
        since: Timestamp,
        at: Timestamp,
    ) -> Explanation;

    /// The condition in plain words, for `rewind rules explain`.
    fn describe(&self) -> String;
}

/// Calls `$body` with `$k` bound to the rule type's struct, for every type
/// but `composite` (which the engine evaluates itself); `$composite` otherwise.
macro_rules! with_kind {
    ($kind:expr, $k:ident => $body:expr, $c:ident => $composite:expr) => {
        match $kind {
            $crate::RuleKind::Threshold($k) => $body,
            $crate::RuleKind::Absent($k) => $body,
            $crate::RuleKind::Status($k) => $body,
            $crate::RuleKind::LogMatch($k) => $body,
            $crate::RuleKind::Change($k) => $body,
            $crate::RuleKind::Trend($k) => $body,
            $crate::RuleKind::Composite($c) => $composite,
        }
    };
}
pub(crate) use with_kind;

impl RuleKind {
    /// The rule type as written in the rules file, e.g. `metric_threshold`.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Threshold(t) => t.type_name(),
            Self::Absent(_) => absent::TYPE,
            Self::Status(s) => s.type_name(),
            Self::LogMatch(_) => log_match::TYPE,
            Self::Change(_) => change::TYPE,
            Self::Trend(_) => trend::TYPE,
            Self::Composite(c) => c.type_name(),
        }
    }

    /// The series pattern this rule watches, for series-fed rule types.
    #[must_use]
    pub fn series(&self) -> Option<&Pattern> {
        with_kind!(self, k => match k.input() {
            Input::Series(pattern) => Some(pattern),
            Input::Events | Input::Rules => None,
        }, _c => None)
    }

    /// The condition in plain words, e.g. "`cpu.total.busy_pct` is above 80".
    #[must_use]
    pub fn describe(&self) -> String {
        with_kind!(self, k => k.describe(), c => c.describe())
    }

    /// The other rules this rule is made of (composite rules only).
    #[must_use]
    pub fn children(&self) -> &[String] {
        match self {
            Self::Composite(c) => c.children(),
            _ => &[],
        }
    }
}

/// One rule type in the rules file: its `type:` names and fields, and the
/// function checking them.
pub(crate) struct TypeSpec {
    /// The `type:` value.
    pub(crate) name: &'static str,
    /// The fields this type adds to the common ones.
    pub(crate) fields: &'static [&'static str],
    /// Checks the type's fields of a rule whose mapping starts at `at`. With
    /// `require` false (the rule's type is misspelt), fields that are present
    /// are checked but missing ones are not reported.
    pub(crate) validate: fn(&mut Checker<'_>, &Fields<'_>, &Location, bool) -> Option<RuleKind>,
}

/// Every rule type, in the order `docs/rules.md` describes them.
pub(crate) const TYPES: &[TypeSpec] = &[
    threshold::METRIC_THRESHOLD,
    threshold::TOPIC_RATE,
    absent::SPEC,
    status::NODE_STATUS,
    status::PROCESS_STATUS,
    log_match::SPEC,
    change::SPEC,
    trend::SPEC,
    composite::COMPOSITE,
    composite::AFTER_DEPLOY,
];
