//! Evaluation of `composite` and `after_deploy` rules from their children's
//! lifecycles (see [`crate::kinds::composite`] for the rule types).

use rewind_model::{Comparison, Evidence, SeriesName, Timestamp};

use super::{SignalKind, Slot};
use crate::kinds::Explanation;
use crate::kinds::composite::{Composite, Op};
use crate::words::seconds;
use crate::{Rule, RuleKind};

/// What a composite rule remembers between inputs.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    /// `sequence` / `after_deploy`: the condition was met when the last
    /// (only) child started firing, and that child has not resolved since.
    armed: bool,
    /// `after_deploy`: the latest matching deploy: time, service, version.
    deploy: Option<(Timestamp, String, String)>,
}

/// Composite rules in an order where each comes after the composites it
/// names (validation has ruled out cycles).
pub(super) fn order(rules: &[Rule]) -> Vec<usize> {
    let mut order = Vec::new();
    let mut done = vec![false; rules.len()];
    fn visit(i: usize, rules: &[Rule], done: &mut [bool], order: &mut Vec<usize>, depth: usize) {
        if done[i] || depth > rules.len() {
            return;
        }
        done[i] = true;
        for child in rules[i].kind.children() {
            if let Some(c) = rules.iter().position(|r| &r.name == child) {
                visit(c, rules, done, order, depth + 1);
            }
        }
        if matches!(rules[i].kind, RuleKind::Composite(_)) {
            order.push(i);
        }
    }
    for i in 0..rules.len() {
        visit(i, rules, &mut done, &mut order, 0);
    }
    order
}

/// A deploy of `service` happened at `at`: `after_deploy` rules that match
/// it measure from here.
pub(super) fn deployed(
    rules: &[Rule],
    slots: &mut [Slot],
    composites: &[usize],
    event: &rewind_model::Event,
) {
    let service = event.fields.get("service").map_or("", String::as_str);
    let version = event.fields.get("version").map_or("", String::as_str);
    for &index in composites {
        if let RuleKind::Composite(c) = &rules[index].kind
            && c.op == Op::AfterDeploy
            && c.service.as_ref().is_none_or(|p| p.matches(service))
        {
            slots[index].composite.deploy =
                Some((event.ts, service.to_owned(), version.to_owned()));
        }
    }
}

fn composite(rule: &Rule) -> Option<&Composite> {
    match &rule.kind {
        RuleKind::Composite(c) => Some(c),
        _ => None,
    }
}

fn child_indexes(rules: &[Rule], c: &Composite) -> Vec<usize> {
    c.rules
        .iter()
        .filter_map(|name| rules.iter().position(|r| &r.name == name))
        .collect()
}

/// Whether composite rule `index` holds after its children `changed`
/// (name, firing or resolved, when), and as of when; `None` if it cannot say.
pub(super) fn evaluate(
    rules: &[Rule],
    slots: &mut [Slot],
    index: usize,
    changed: &[(String, SignalKind, Timestamp)],
) -> Option<(bool, Timestamp)> {
    let c = composite(&rules[index])?;
    let at = changed.iter().map(|(_, _, at)| *at).max()?;
    let children = child_indexes(rules, c);
    let firing = |i: &usize| slots[*i].firing > 0;
    let holds = match c.op {
        Op::All => children.iter().all(firing),
        Op::Any => children.iter().any(firing),
        Op::Sequence | Op::AfterDeploy => {
            let last = *children.last()?;
            let last_name = &rules[last].name;
            let started = changed
                .iter()
                .any(|(n, k, _)| n == last_name && *k == SignalKind::Firing);
            let within = c.within_nanos.unwrap_or(0);
            if !firing(&last) {
                slots[index].composite.armed = false;
            } else if started && !slots[index].composite.armed {
                let met = if c.op == Op::Sequence {
                    sequence_met(slots, &children, within)
                } else {
                    slots[index]
                        .composite
                        .deploy
                        .as_ref()
                        .is_some_and(|(d, _, _)| at >= *d && at.nanos_since(*d) <= within)
                };
                slots[index].composite.armed = met;
            }
            slots[index].composite.armed
        }
    };
    Some((holds, at))
}

/// The children started firing in order, the first no more than `within`
/// before the last.
fn sequence_met(slots: &[Slot], children: &[usize], within: i64) -> bool {
    let starts: Option<Vec<Timestamp>> = children
        .iter()
        .map(|&i| slots[i].last_fired.as_ref().map(|(t, _)| *t))
        .collect();
    let Some(starts) = starts else { return false };
    let ordered = starts.windows(2).all(|w| w[0] <= w[1]);
    match (starts.first(), starts.last()) {
        (Some(first), Some(last)) => ordered && last.nanos_since(*first) <= within,
        _ => false,
    }
}

/// Why a composite rule fired: its children's evidence, and the deploy.
pub(super) fn explain(
    state: &State,
    rule: &Rule,
    rules: &[Rule],
    slots: &[Slot],
    at: Timestamp,
) -> Explanation {
    let Some(c) = composite(rule) else {
        return Explanation {
            evidence: Vec::new(),
            summary: String::new(),
        };
    };
    let mut evidence = Vec::new();
    let mut parts = Vec::new();
    for i in child_indexes(rules, c) {
        if let Some((_, trigger)) = &slots[i].last_fired
            && (slots[i].firing > 0 || c.op == Op::Sequence)
        {
            evidence.extend(trigger.evidence.iter().cloned());
            parts.push(format!("{}: {}", trigger.rule, trigger.summary));
        }
    }
    let joined = parts.join("; ");
    let summary = match c.op {
        Op::All => format!("all of {} rules firing: {joined}", parts.len()),
        Op::Any => format!("firing: {joined}"),
        Op::Sequence => {
            let first = c
                .rules
                .first()
                .and_then(|n| rules.iter().position(|r| &r.name == n))
                .and_then(|i| slots[i].last_fired.as_ref().map(|(t, _)| *t))
                .unwrap_or(at);
            format!(
                "in sequence within {} s: {joined}",
                seconds(at.nanos_since(first))
            )
        }
        Op::AfterDeploy => match &state.deploy {
            Some((deployed, service, version)) => {
                let after = at.nanos_since(*deployed);
                #[allow(clippy::cast_precision_loss)]
                let secs = after as f64 / 1e9;
                let series = SeriesName::new(format!("deploy.{}", segment(service)))
                    .or_else(|_| SeriesName::new("deploy"))
                    .ok();
                if let Some(series) = series {
                    let mut e = Evidence::new(
                        series,
                        Comparison::Is(version.clone()),
                        secs,
                        secs,
                        *deployed,
                        1,
                    );
                    e.window_nanos = c.within_nanos;
                    e.text = Some(format!("deploy of {service} {version}"));
                    evidence.push(e);
                }
                let what = if service.is_empty() {
                    "a deploy".to_owned()
                } else {
                    format!("the deploy of {service} {version}")
                };
                format!("{} s after {what}: {joined}", seconds(after))
            }
            None => joined,
        },
    };
    Explanation { evidence, summary }
}

/// Text made fit for a series name segment.
fn segment(text: &str) -> String {
    let s: String = text
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "unknown".to_owned()
    } else {
        s
    }
}
