//! Incremental evaluation: samples, text states and events in; signals out.
//!
//! The engine keeps, per rule and per subject (a series, a process, a log
//! source), only the small state its rule type needs, so memory is bounded
//! by the number of subjects and each input costs work proportional to the
//! number of rules watching it. It never reads a clock: time arrives with
//! the inputs, and [`Engine::advance`] lets a caller say that time passed
//! without data (what the live agent does every 100 ms; a replay does not
//! need it).
//!
//! Every rule goes through one lifecycle per subject ([`life`]): *idle* →
//! *pending* (its condition holds, for less than `duration`) → *firing*
//! (the trigger, with its evidence) → *resolved*; a pending rule whose
//! condition clears is *cancelled*. Firing signals then meet the budgets
//! ([`budget`]): cooldown per rule, the warning budget, and `dry_run`.

mod budget;
mod composite;
mod life;

use std::collections::{BTreeMap, HashMap};

use rewind_model::{Event, EventKind, Sample, SeriesName, Timestamp, Trigger};

use crate::kinds::{Input, Kind, absent, change, log_match, status, threshold, trend};
use crate::{Rule, RuleKind, RuleSet};

pub use budget::Suppression;
use life::{Life, Phase};

/// What happened to one rule, for one subject, at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// The rule's name.
    pub rule: String,
    /// What the rule tripped on: a series name, a process or node name, a
    /// log source; the rule's own name for composite rules.
    pub subject: String,
    /// What changed.
    pub kind: SignalKind,
    /// When (the time of the input that caused it).
    pub at: Timestamp,
    /// When the condition started to hold.
    pub since: Timestamp,
    /// What the caller should do about it.
    pub decision: Decision,
    /// For [`SignalKind::Firing`]: the trigger, with its evidence.
    pub trigger: Option<Trigger>,
}

/// A rule's change of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalKind {
    /// The condition holds, but not yet for the rule's `duration`.
    Pending,
    /// The condition has held for the rule's `duration`: the rule trips.
    Firing,
    /// A firing rule's condition no longer holds.
    Resolved,
    /// A pending rule's condition stopped holding before it could fire.
    Cancelled,
}

impl SignalKind {
    /// Lowercase name: `pending`, `firing`, `resolved`, `cancelled`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Firing => "firing",
            Self::Resolved => "resolved",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What the caller should do about a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Capture: on [`SignalKind::Pending`], start recording the post-trip
    /// window early (the rule's `capture.on_pending`); on
    /// [`SignalKind::Firing`], freeze a bundle and notify.
    Capture,
    /// The rule is `dry_run`: log what would have happened, nothing more.
    DryRun,
    /// A budget holds the capture back; the trip is counted.
    Suppressed(Suppression),
    /// Nothing to capture (resolved and cancelled signals, and pending
    /// signals of rules that do not capture on pending).
    Nothing,
}

/// Counters since the engine started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Samples, text states and events fed in.
    pub inputs: u64,
    /// Rule evaluations (one rule looking at one input).
    pub evaluations: u64,
    /// Samples dropped for arriving late or with a duplicate timestamp.
    pub late_samples: u64,
    /// Firing signals per rule.
    pub fired: BTreeMap<String, u64>,
    /// Firing signals per rule that a budget kept from capturing.
    pub suppressed: BTreeMap<String, u64>,
}

/// The current state of one rule for one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleStatus {
    /// The rule's name.
    pub rule: String,
    /// The subject.
    pub subject: String,
    /// `idle`, `pending` or `firing`.
    pub state: &'static str,
    /// Since when, for pending and firing.
    pub since: Option<Timestamp>,
}

/// Evaluates a [`RuleSet`] over samples, text states and events.
///
/// Samples of one series must arrive in time order: a sample that is older
/// than, or as old as, the latest one already seen for its series is
/// dropped and counted ([`EngineStats::late_samples`]), so a stray late or
/// repeated sample can neither re-arm nor confirm a rule. Samples of series
/// no rule watches cost one hash lookup.
///
/// The engine remembers every series name it has been shown (to route the
/// next sample in one lookup); callers bound the number of series (the
/// agent's `max_series`).
#[derive(Debug, Clone)]
pub struct Engine {
    rules: Vec<Rule>,
    slots: Vec<Slot>,
    by_series: HashMap<SeriesName, SeriesEntry>,
    series_rules: Vec<usize>,
    event_rules: Vec<usize>,
    timed_rules: Vec<usize>,
    composites: Vec<usize>,
    clock: Option<Timestamp>,
    budget: budget::Budget,
    stats: EngineStats,
}

/// The rules' subjects fed by one series, and its latest sample time.
#[derive(Debug, Clone, Default)]
struct SeriesEntry {
    latest: Option<Timestamp>,
    subjects: Vec<(usize, usize)>,
}

/// One rule's subjects and what composite rules need to know of it.
#[derive(Debug, Clone, Default)]
struct Slot {
    subjects: Vec<Subject>,
    index: HashMap<String, usize>,
    /// Subjects firing now.
    firing: usize,
    /// When the rule last started firing (any subject), and that trigger.
    last_fired: Option<(Timestamp, Trigger)>,
    composite: composite::State,
}

#[derive(Debug, Clone)]
struct Subject {
    key: String,
    state: State,
    life: Life,
}

/// Evaluation state of one subject, by rule type.
#[derive(Debug, Clone)]
enum State {
    Threshold(threshold::State),
    Absent(absent::State),
    Status(status::State),
    LogMatch(log_match::State),
    Change(change::State),
    Trend(trend::State),
    Composite,
}

/// Calls `$body` with the rule type `$k` and its subject state `$s`.
macro_rules! dispatch {
    ($kind:expr, $state:expr, |$k:ident, $s:ident| $body:expr, $otherwise:expr) => {
        match ($kind, $state) {
            (RuleKind::Threshold($k), State::Threshold($s)) => $body,
            (RuleKind::Absent($k), State::Absent($s)) => $body,
            (RuleKind::Status($k), State::Status($s)) => $body,
            (RuleKind::LogMatch($k), State::LogMatch($s)) => $body,
            (RuleKind::Change($k), State::Change($s)) => $body,
            (RuleKind::Trend($k), State::Trend($s)) => $body,
            _ => $otherwise,
        }
    };
}

fn new_state(kind: &RuleKind, at: Timestamp) -> State {
    match kind {
        RuleKind::Threshold(k) => State::Threshold(k.new_state(at)),
        RuleKind::Absent(k) => State::Absent(k.new_state(at)),
        RuleKind::Status(k) => State::Status(k.new_state(at)),
        RuleKind::LogMatch(k) => State::LogMatch(k.new_state(at)),
        RuleKind::Change(k) => State::Change(k.new_state(at)),
        RuleKind::Trend(k) => State::Trend(k.new_state(at)),
        RuleKind::Composite(_) => State::Composite,
    }
}

/// One input, as the rule types see it.
#[derive(Clone, Copy)]
enum Feed<'a> {
    Sample(Sample),
    Text(Timestamp, &'a str),
    Event(&'a Event),
    Time(Timestamp),
}

impl Feed<'_> {
    fn at(&self) -> Timestamp {
        match self {
            Self::Sample(s) => s.ts,
            Self::Text(at, _) | Self::Time(at) => *at,
            Self::Event(e) => e.ts,
        }
    }
}

impl Engine {
    /// An engine evaluating every rule of `rules`, with no history.
    #[must_use]
    pub fn new(rules: &RuleSet) -> Self {
        let list = rules.rules().to_vec();
        let mut engine = Self {
            slots: vec![Slot::default(); list.len()],
            series_rules: Vec::new(),
            event_rules: Vec::new(),
            timed_rules: Vec::new(),
            composites: composite::order(&list),
            by_series: HashMap::new(),
            clock: None,
            budget: budget::Budget::new(rules.budgets().clone(), list.len()),
            stats: EngineStats::default(),
            rules: list,
        };
        for (index, rule) in engine.rules.iter().enumerate() {
            let (input, timed) = crate::kinds::with_kind!(&rule.kind,
                k => (k.input(), k.timed()),
                _c => (Input::Rules, false));
            match input {
                Input::Series(_) => engine.series_rules.push(index),
                Input::Events => engine.event_rules.push(index),
                Input::Rules => {}
            }
            if timed {
                engine.timed_rules.push(index);
            }
        }
        engine
    }

    /// Feeds one sample of one series; returns the signals it causes, in
    /// rules-file order (usually none).
    pub fn observe(&mut self, series: &SeriesName, sample: Sample) -> Vec<Signal> {
        self.series_input(series, Feed::Sample(sample))
    }

    /// Feeds one text state of one series (`gpu.thermal_state` =
    /// `throttling`), for `equals: "<text>"` thresholds and `absent` rules.
    pub fn observe_text(&mut self, series: &SeriesName, at: Timestamp, text: &str) -> Vec<Signal> {
        self.series_input(series, Feed::Text(at, text))
    }

    /// Feeds one event (a log line, a process that vanished, a deploy).
    pub fn observe_event(&mut self, event: &Event) -> Vec<Signal> {
        self.stats.inputs += 1;
        let mut out = Vec::new();
        self.advance_into(event.ts, &mut out);
        if event.kind == EventKind::Deploy {
            composite::deployed(&self.rules, &mut self.slots, &self.composites, event);
        }
        for i in 0..self.event_rules.len() {
            let index = self.event_rules[i];
            let subject = crate::kinds::with_kind!(&self.rules[index].kind,
                k => k.subject(event), _c => None);
            let Some(subject) = subject else { continue };
            let s = self.subject_of(index, subject, event.ts);
            self.step(index, s, Feed::Event(event), &mut out);
        }
        self.compose(&mut out);
        out
    }

    /// Tells the engine that it is now `now` (no earlier than the inputs so
    /// far): rules that hold on silence (`absent`) and windows that run out
    /// (`log_match`, crash loops) are evaluated. Earlier times are ignored.
    pub fn advance(&mut self, now: Timestamp) -> Vec<Signal> {
        let mut out = Vec::new();
        self.advance_into(now, &mut out);
        self.compose(&mut out);
        out
    }

    /// Whether some rule watches `series`; samples of other series can be skipped.
    #[must_use]
    pub fn watches(&self, series: &SeriesName) -> bool {
        match self.by_series.get(series) {
            Some(entry) => !entry.subjects.is_empty(),
            None => self.series_rules.iter().any(|&i| {
                self.rules[i]
                    .kind
                    .series()
                    .is_some_and(|p| p.matches(series.as_str()))
            }),
        }
    }

    /// Counters since the engine started.
    #[must_use]
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// The rules, as given.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The latest time the engine has seen, if any.
    #[must_use]
    pub fn clock(&self) -> Option<Timestamp> {
        self.clock
    }

    /// Every rule's state per subject, in rules-file order; rules without
    /// subjects yet are listed once as idle with an empty subject.
    #[must_use]
    pub fn status(&self) -> Vec<RuleStatus> {
        let mut out = Vec::new();
        for (rule, slot) in self.rules.iter().zip(&self.slots) {
            if slot.subjects.is_empty() {
                out.push(RuleStatus {
                    rule: rule.name.clone(),
                    subject: String::new(),
                    state: "idle",
                    since: None,
                });
            }
            for s in &slot.subjects {
                let (state, since) = match s.life.phase() {
                    Phase::Idle => ("idle", None),
                    Phase::Pending { since } => ("pending", Some(since)),
                    Phase::Firing { since } => ("firing", Some(since)),
                };
                out.push(RuleStatus {
                    rule: rule.name.clone(),
                    subject: s.key.clone(),
                    state,
                    since,
                });
            }
        }
        out
    }

    fn series_input(&mut self, series: &SeriesName, feed: Feed<'_>) -> Vec<Signal> {
        self.stats.inputs += 1;
        let at = feed.at();
        if !self.by_series.contains_key(series) {
            let entry = self.route(series, at);
            self.by_series.insert(series.clone(), entry);
        }
        let Some(entry) = self.by_series.get_mut(series) else {
            return Vec::new();
        };
        if entry.latest.is_some_and(|latest| at <= latest) {
            self.stats.late_samples += 1;
            return Vec::new();
        }
        entry.latest = Some(at);
        let mut out = Vec::new();
        if self.clock.is_none_or(|c| at > c) && !self.timed_rules.is_empty() {
            self.advance_into(at, &mut out);
        } else if self.clock.is_none_or(|c| at > c) {
            self.clock = Some(at);
            self.start_literals(at);
        }
        // Take the list out so `step` can borrow `self` mutably.
        let list = match self.by_series.get_mut(series) {
            Some(entry) if !entry.subjects.is_empty() => std::mem::take(&mut entry.subjects),
            _ => return out,
        };
        for &(rule, subject) in &list {
            self.step(rule, subject, feed, &mut out);
        }
        if let Some(entry) = self.by_series.get_mut(series) {
            entry.subjects = list;
        }
        if !out.is_empty() {
            self.compose(&mut out);
        }
        out
    }

    /// The subjects a series feeds, created as needed (first sight of the series).
    fn route(&mut self, series: &SeriesName, at: Timestamp) -> SeriesEntry {
        let mut subjects = Vec::new();
        for i in 0..self.series_rules.len() {
            let index = self.series_rules[i];
            let matches = self.rules[index]
                .kind
                .series()
                .is_some_and(|p| p.matches(series.as_str()));
            if matches {
                let s = self.subject_of(index, series.as_str().to_owned(), at);
                subjects.push((index, s));
            }
        }
        SeriesEntry {
            latest: None,
            subjects,
        }
    }

    /// The index of `key`'s subject in rule `index`, created at `at` if new.
    fn subject_of(&mut self, index: usize, key: String, at: Timestamp) -> usize {
        let slot = &mut self.slots[index];
        if let Some(&s) = slot.index.get(&key) {
            return s;
        }
        let s = slot.subjects.len();
        slot.index.insert(key.clone(), s);
        slot.subjects.push(Subject {
            key,
            state: new_state(&self.rules[index].kind, at),
            life: Life::default(),
        });
        s
    }

    /// Series named without wildcards by timed rules (`absent`) are
    /// expected from the first input on.
    fn start_literals(&mut self, at: Timestamp) {
        for i in 0..self.timed_rules.len() {
            let index = self.timed_rules[i];
            if let Some(p) = self.rules[index].kind.series()
                && p.is_literal()
                && self.slots[index].subjects.is_empty()
            {
                let key = p.as_str().to_owned();
                self.subject_of(index, key, at);
            }
        }
    }

    fn advance_into(&mut self, now: Timestamp, out: &mut Vec<Signal>) {
        if self.clock.is_some_and(|c| now <= c) {
            return;
        }
        let first = self.clock.is_none();
        self.clock = Some(now);
        if first {
            self.start_literals(now);
        }
        for i in 0..self.timed_rules.len() {
            let index = self.timed_rules[i];
            for s in 0..self.slots[index].subjects.len() {
                self.step(index, s, Feed::Time(now), out);
            }
        }
    }

    /// Feeds one input to one subject of one rule and runs its lifecycle.
    fn step(&mut self, index: usize, s: usize, feed: Feed<'_>, out: &mut Vec<Signal>) {
        self.stats.evaluations += 1;
        let rule = &self.rules[index];
        let subject = &mut self.slots[index].subjects[s];
        let holds = dispatch!(
            &rule.kind,
            &mut subject.state,
            |k, st| match feed {
                Feed::Sample(sample) => k.on_sample(st, sample),
                Feed::Text(at, text) => k.on_text(st, at, text),
                Feed::Event(event) => k.on_event(st, event),
                Feed::Time(now) => k.on_time(st, now),
            },
            None
        );
        let Some(holds) = holds else { return };
        let max_gap = match feed {
            Feed::Sample(_) | Feed::Text(..) => {
                dispatch!(&rule.kind, &subject.state, |k, _st| k.max_gap_nanos(), None)
            }
            Feed::Event(_) | Feed::Time(_) => None,
        };
        let at = feed.at();
        if let Some((kind, since)) = subject.life.step(holds, at, rule.duration_nanos, max_gap) {
            let signal = self.signal(index, s, kind, at, since);
            out.push(signal);
        }
    }

    /// Builds the signal for a change of state, applying the budgets.
    fn signal(
        &mut self,
        index: usize,
        s: usize,
        kind: SignalKind,
        at: Timestamp,
        since: Timestamp,
    ) -> Signal {
        let rule = &self.rules[index];
        let slot = &self.slots[index];
        let subject = &slot.subjects[s];
        let trigger = (kind == SignalKind::Firing).then(|| {
            let explanation = dispatch!(
                &rule.kind,
                &subject.state,
                |k, st| k.explain(st, &subject.key, since, at),
                composite::explain(&slot.composite, rule, &self.rules, &self.slots, at)
            );
            trigger(rule, at, explanation)
        });
        let key = subject.key.clone();
        self.record(index, kind, at, trigger.as_ref());
        let decision = self.decide(index, kind, at);
        Signal {
            rule: self.rules[index].name.clone(),
            subject: key,
            kind,
            at,
            since,
            decision,
            trigger,
        }
    }

    /// Keeps what composite rules and the stats need to know of a change.
    fn record(&mut self, index: usize, kind: SignalKind, at: Timestamp, trigger: Option<&Trigger>) {
        let slot = &mut self.slots[index];
        match kind {
            SignalKind::Firing => {
                slot.firing += 1;
                if let Some(t) = trigger {
                    slot.last_fired = Some((at, t.clone()));
                }
                *self
                    .stats
                    .fired
                    .entry(self.rules[index].name.clone())
                    .or_default() += 1;
            }
            SignalKind::Resolved => slot.firing = slot.firing.saturating_sub(1),
            SignalKind::Pending | SignalKind::Cancelled => {}
        }
    }

    fn decide(&mut self, index: usize, kind: SignalKind, at: Timestamp) -> Decision {
        let rule = &self.rules[index];
        let decision = match kind {
            SignalKind::Resolved | SignalKind::Cancelled => Decision::Nothing,
            _ if rule.dry_run => Decision::DryRun,
            SignalKind::Pending if !rule.capture.on_pending => Decision::Nothing,
            SignalKind::Pending => match self.budget.check(index, rule, at) {
                Some(why) => Decision::Suppressed(why),
                None => Decision::Capture,
            },
            SignalKind::Firing => match self.budget.spend(index, rule, at) {
                Some(why) => Decision::Suppressed(why),
                None => Decision::Capture,
            },
        };
        if kind == SignalKind::Firing && matches!(decision, Decision::Suppressed(_)) {
            *self.stats.suppressed.entry(rule.name.clone()).or_default() += 1;
        }
        decision
    }

    /// Evaluates composite rules after their children changed, in an order
    /// where every rule comes after the rules it names.
    fn compose(&mut self, out: &mut Vec<Signal>) {
        if self.composites.is_empty() || out.is_empty() {
            return;
        }
        // Signals appended here feed later composites (the order guarantees it).
        for i in 0..self.composites.len() {
            let index = self.composites[i];
            let changed: Vec<(String, SignalKind, Timestamp)> = out
                .iter()
                .filter(|sig| matches!(sig.kind, SignalKind::Firing | SignalKind::Resolved))
                .filter(|sig| self.rules[index].kind.children().contains(&sig.rule))
                .map(|sig| (sig.rule.clone(), sig.kind, sig.at))
                .collect();
            if changed.is_empty() {
                continue;
            }
            let holds = composite::evaluate(&self.rules, &mut self.slots, index, &changed);
            let Some((holds, at)) = holds else { continue };
            let key = self.rules[index].name.clone();
            let s = self.subject_of(index, key, at);
            let subject = &mut self.slots[index].subjects[s];
            if let Some((kind, since)) =
                subject
                    .life
                    .step(holds, at, self.rules[index].duration_nanos, None)
            {
                let signal = self.signal(index, s, kind, at, since);
                out.push(signal);
            }
        }
    }
}

/// The trigger for a rule firing at `at`.
fn trigger(rule: &Rule, at: Timestamp, explanation: crate::kinds::Explanation) -> Trigger {
    Trigger {
        rule: rule.name.clone(),
        rule_type: rule.kind.type_name().to_owned(),
        severity: rule.severity,
        fired_at: at,
        summary: explanation.summary,
        evidence: explanation.evidence,
        labels: rule.labels.clone(),
    }
}
