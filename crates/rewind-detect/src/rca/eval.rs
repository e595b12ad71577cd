//! Matching one chain against a timeline.
//!
//! Each step's alternatives become **candidates**: spans of time during which
//! the step's condition held (a metric run, a text state) or instants (an
//! event, a deploy, the trigger). A chain matches when every required step
//! has a candidate placed in order, each within its `within` of the step
//! before and inside its window around the trigger. A candidate whose span
//! started before the previous step but still held after it is placed at the
//! previous step's time: the condition was there when the chain reached it.
//!
//! The placement is a bounded beam search over the steps (at most
//! [`MAX_CANDIDATES`] candidates a step, [`BEAM`] partial chains kept), which
//! prefers more steps seen, then tighter timing, then earlier placements.
//! Work is bounded by steps × beam × candidates, whatever the timeline.

pub(crate) mod events;
mod series;

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};

use rewind_model::{Event, Timestamp};
use serde::Serialize;

use super::Timeline;
use super::lang::{Chain, Predicate, Step};
use crate::logsig::{MaskConfig, mask};

/// Most candidates one step keeps (the earliest and latest half each).
pub(crate) const MAX_CANDIDATES: usize = 64;
/// Most partial chains the search keeps between steps.
const BEAM: usize = 128;

/// What kind of record an evidence item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// An event.
    Event,
    /// A numeric series.
    Metric,
    /// A text state.
    State,
    /// A deploy.
    Deploy,
    /// The incident's trigger.
    Trigger,
}

/// One step of a chain as it was seen: what matched, when, and the values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceItem {
    /// The step's id.
    pub step: String,
    /// The step's `what`.
    pub what: String,
    /// What kind of record matched.
    pub kind: ItemKind,
    /// What it is about: a series, a process, a node, a source, a service.
    pub subject: String,
    /// Where the step is placed in the chain.
    pub at: Timestamp,
    /// `at` minus the trigger's time, in seconds (negative: before it).
    pub offset_s: f64,
    /// Seconds after the previous step seen; `None` for the first.
    pub gap_s: Option<f64>,
    /// One sentence saying what was seen, quoting the measured values.
    pub text: String,
    /// The values placeholders read (`series`, `peak`, `process`, …).
    pub values: BTreeMap<String, String>,
    /// Whether `at` is only known approximately (a deploy named by the
    /// trigger's labels, without its time).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
}

/// A step's condition holding: an instant or a span.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    /// The previous step must lie at or before this (a new log signature
    /// must not have been seen before it).
    pub(crate) not_before: Option<Timestamp>,
    pub(crate) kind: ItemKind,
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) values: BTreeMap<String, String>,
    pub(crate) approximate: bool,
}

/// The timeline, sorted and indexed once for every chain.
#[derive(Debug)]
pub(crate) struct Prepared<'t> {
    pub(crate) timeline: &'t Timeline,
    pub(crate) at: Timestamp,
    /// Events in time order.
    pub(crate) events: Vec<&'t Event>,
    /// Per event (same order): its signature key and when it was first seen.
    signatures: OnceCell<Vec<(String, Timestamp)>>,
}

impl<'t> Prepared<'t> {
    pub(crate) fn new(timeline: &'t Timeline) -> Self {
        let mut events: Vec<&Event> = timeline.events.iter().collect();
        events.sort_by_key(|e| e.ts);
        Self {
            timeline,
            at: timeline.fired_at(),
            events,
            signatures: OnceCell::new(),
        }
    }

    /// Each event's template (the `signature` field the server's regression
    /// bundles carry, else the masked message) and its first sighting.
    pub(crate) fn signatures(&self) -> &[(String, Timestamp)] {
        self.signatures.get_or_init(|| {
            let config = MaskConfig::default();
            let keys: Vec<String> = self
                .events
                .iter()
                .map(|e| match e.fields.get("signature") {
                    Some(sig) => sig.clone(),
                    None => mask(&e.message, &config).text,
                })
                .collect();
            let mut first: HashMap<&str, Timestamp> = HashMap::new();
            for (key, e) in keys.iter().zip(&self.events) {
                first.entry(key.as_str()).or_insert(e.ts);
            }
            keys.iter()
                .map(|k| {
                    (
                        k.clone(),
                        first.get(k.as_str()).copied().unwrap_or_default(),
                    )
                })
                .collect()
        })
    }
}

/// How a chain fared.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Every required step was seen.
    Matched(Matched),
    /// Some steps were seen, then a required one was not.
    Partial {
        seen: Vec<EvidenceItem>,
        missing: String,
    },
    /// Not even the first step.
    Nothing,
}

/// A chain that matched, before ranking.
#[derive(Debug, Clone)]
pub(crate) struct Matched {
    pub(crate) items: Vec<EvidenceItem>,
    /// `what` of optional steps not seen.
    pub(crate) missing: Vec<String>,
    /// Steps seen over steps in the chain.
    pub(crate) coverage: f64,
    /// 1 − half the mean share of each `within` used: 1 when every step
    /// followed at once, 0.5 when each came at the end of its window.
    pub(crate) timing: f64,
}

/// A partial placement of a chain's steps.
#[derive(Debug, Clone)]
struct State {
    /// Per step so far: the candidate and where it was placed.
    picks: Vec<Option<(usize, Timestamp)>>,
    last: Option<Timestamp>,
    /// Time the skipped optional steps since `last` add to the next
    /// `within`; `None` when one of them had no limit.
    slack: Option<i64>,
    seen: usize,
    ratio_sum: f64,
    ratios: usize,
}

impl State {
    fn mean_ratio(&self) -> f64 {
        if self.ratios == 0 {
            0.0
        } else {
            self.ratio_sum / usize_f64(self.ratios)
        }
    }
}

/// Matches `chain` against the prepared timeline.
pub(crate) fn evaluate(chain: &Chain, prepared: &Prepared<'_>) -> Outcome {
    let candidates: Vec<Vec<Candidate>> = chain
        .steps
        .iter()
        .map(|step| step_candidates(step, prepared))
        .collect();
    let mut states = vec![State {
        picks: Vec::new(),
        last: None,
        slack: Some(0),
        seen: 0,
        ratio_sum: 0.0,
        ratios: 0,
    }];
    for (step, cands) in chain.steps.iter().zip(&candidates) {
        let next = advance(&states, step, cands, prepared.at);
        if next.is_empty() {
            let best = states.into_iter().next();
            return match best {
                Some(s) if s.seen > 0 => Outcome::Partial {
                    seen: items(chain, &candidates, &s, prepared.at),
                    missing: step.what.clone(),
                },
                _ => Outcome::Nothing,
            };
        }
        states = next;
    }
    let Some(best) = states.into_iter().next() else {
        return Outcome::Nothing;
    };
    let missing = chain
        .steps
        .iter()
        .zip(&best.picks)
        .filter(|(_, pick)| pick.is_none())
        .map(|(s, _)| s.what.clone())
        .collect();
    Outcome::Matched(Matched {
        items: items(chain, &candidates, &best, prepared.at),
        missing,
        coverage: usize_f64(best.seen) / usize_f64(chain.steps.len()),
        timing: 1.0 - 0.5 * best.mean_ratio(),
    })
}

/// Every way to extend each state by one step, best first, within the beam.
fn advance(states: &[State], step: &Step, cands: &[Candidate], at: Timestamp) -> Vec<State> {
    let lo = at.add_nanos(-step.trigger.before_nanos);
    let hi = at.add_nanos(step.trigger.after_nanos);
    let mut next = Vec::new();
    for state in states {
        let floor = state.last.map_or(lo, |l| l.max(lo));
        // The previous step and the span after it this step must start in.
        let limit = match (state.last, step.within_nanos, state.slack) {
            (Some(last), Some(within), Some(slack)) => Some((last, within.saturating_add(slack))),
            _ => None,
        };
        let ceiling = limit.map_or(hi, |(last, span)| hi.min(last.add_nanos(span)));
        for (i, c) in cands.iter().enumerate() {
            let fresh = match (c.not_before, state.last) {
                (Some(first_seen), Some(last)) => last <= first_seen,
                _ => true,
            };
            if c.end < floor || c.start > ceiling || !fresh {
                continue;
            }
            let t = c.start.max(floor);
            let mut s = state.clone();
            s.picks.push(Some((i, t)));
            if let Some((last, span)) = limit {
                let ratio = if span > 0 {
                    i64_f64(t.nanos_since(last)) / i64_f64(span)
                } else {
                    0.0
                };
                s.ratio_sum += ratio.clamp(0.0, 1.0);
                s.ratios += 1;
            }
            s.last = Some(t);
            s.slack = Some(0);
            s.seen += 1;
            next.push(s);
        }
        if step.optional {
            let mut s = state.clone();
            s.picks.push(None);
            s.slack = match (state.slack, step.within_nanos) {
                (Some(slack), Some(within)) => Some(slack.saturating_add(within)),
                _ => None,
            };
            next.push(s);
        }
    }
    next.sort_by(|a, b| {
        b.seen
            .cmp(&a.seen)
            .then(a.mean_ratio().total_cmp(&b.mean_ratio()))
            .then(a.last.cmp(&b.last))
    });
    // States that agree on everything the next steps depend on: keep the best.
    let mut kept: Vec<State> = Vec::new();
    for s in next {
        if kept.len() == BEAM {
            break;
        }
        if !kept.iter().any(|k| k.last == s.last && k.slack == s.slack) {
            kept.push(s);
        }
    }
    kept
}

/// The evidence items of a placement, in step order.
fn items(
    chain: &Chain,
    candidates: &[Vec<Candidate>],
    state: &State,
    at: Timestamp,
) -> Vec<EvidenceItem> {
    let mut out: Vec<EvidenceItem> = Vec::new();
    for ((step, cands), pick) in chain.steps.iter().zip(candidates).zip(&state.picks) {
        let Some((i, t)) = *pick else { continue };
        let Some(c) = cands.get(i) else { continue };
        let gap_s = out.last().map(|prev| seconds(t.nanos_since(prev.at)));
        let mut values = c.values.clone();
        values.insert("time".into(), t.to_string());
        values.insert(
            "offset".into(),
            crate::words::seconds(t.nanos_since(at).saturating_abs()),
        );
        values.insert("subject".into(), c.subject.clone());
        values.insert("what".into(), step.what.clone());
        out.push(EvidenceItem {
            step: step.id.clone(),
            what: step.what.clone(),
            kind: c.kind,
            subject: c.subject.clone(),
            at: t,
            offset_s: seconds(t.nanos_since(at)),
            gap_s,
            text: c.text.clone(),
            values,
            approximate: c.approximate,
        });
    }
    out
}

/// The candidates of every alternative of a step inside its window, in
/// time order, at most [`MAX_CANDIDATES`].
fn step_candidates(step: &Step, prepared: &Prepared<'_>) -> Vec<Candidate> {
    let lo = prepared.at.add_nanos(-step.trigger.before_nanos);
    let hi = prepared.at.add_nanos(step.trigger.after_nanos);
    let mut all: Vec<Candidate> = step
        .any
        .iter()
        .flat_map(|p| match p {
            Predicate::Event(e) => events::event(e, prepared),
            Predicate::Deploy(d) => events::deploy(d, prepared),
            Predicate::Fired(f) => events::fired(f, prepared),
            Predicate::Metric(m) => series::metric(m, prepared),
            Predicate::State(s) => series::state(s, prepared),
        })
        .filter(|c| c.end >= lo && c.start <= hi)
        .collect();
    all.sort_by_key(|c| c.start);
    cap(all)
}

/// The earliest and the latest half of `all`, when there are too many.
pub(crate) fn cap(mut all: Vec<Candidate>) -> Vec<Candidate> {
    if all.len() > MAX_CANDIDATES {
        let half = MAX_CANDIDATES / 2;
        all.drain(half..all.len() - half);
    }
    all
}

/// Nanoseconds as seconds, rounded to the millisecond.
pub(crate) fn seconds(nanos: i64) -> f64 {
    (i64_f64(nanos) / 1e6).round() / 1e3
}

/// "8.2 s before the trigger", "at the trigger", "3.0 s after the trigger".
pub(crate) fn when(t: Timestamp, at: Timestamp) -> String {
    let d = t.nanos_since(at);
    match d.signum() {
        0 => "at the trigger".to_owned(),
        -1 => format!(
            "{} s before the trigger",
            crate::words::seconds(d.saturating_abs())
        ),
        _ => format!("{} s after the trigger", crate::words::seconds(d)),
    }
}

#[allow(clippy::cast_precision_loss)] // sub-nanosecond precision is irrelevant here
pub(crate) fn i64_f64(n: i64) -> f64 {
    n as f64
}

#[allow(clippy::cast_precision_loss)] // counts are small
pub(crate) fn usize_f64(n: usize) -> f64 {
    n as f64
}
