//! One step of a chain, checked: its id, order, windows and alternatives.

use serde_saphyr::Location;

use super::predicate::{self, PREDICATES, Predicate};
use super::{Window, duration, window};
use crate::rules::check::{Checker, Fields};
use crate::rules::raw::{Node, Value, sanitize};

/// The fields of a step.
const STEP_FIELDS: &[&str] = &[
    "id", "what", "optional", "within", "trigger", "event", "metric", "state", "deploy", "fired",
    "any",
];

/// One step of a chain: something that must have happened, in order.
#[derive(Debug, Clone)]
pub struct Step {
    /// Names the step in placeholders (`{hot.series}`) and evidence.
    pub id: String,
    /// A noun phrase for people (`thermal throttling`).
    pub what: String,
    /// An optional step adds confidence when seen and is skipped otherwise;
    /// the next step's `within` then counts from the last step seen, plus
    /// this step's own `within`.
    pub optional: bool,
    /// At most this long after the previous step (nanoseconds); `None`
    /// puts no limit but the order.
    pub within_nanos: Option<i64>,
    /// Where, relative to the trigger, this step must lie (`trigger:`;
    /// defaults to the chain's `window`).
    pub trigger: Window,
    /// Alternatives: the step happened if any of them did.
    pub any: Vec<Predicate>,
}

/// Placeholder keys every step has.
const COMMON_KEYS: &[&str] = &["time", "offset", "subject", "what"];

impl Step {
    /// Every placeholder key some alternative of this step fills.
    #[must_use]
    pub fn keys(&self) -> Vec<&'static str> {
        let mut keys = COMMON_KEYS.to_vec();
        for p in &self.any {
            keys.extend(
                p.keys()
                    .iter()
                    .filter(|k| !keys.contains(k))
                    .collect::<Vec<_>>(),
            );
        }
        keys
    }
}

pub(super) fn step(ck: &mut Checker<'_>, item: &Node, first: bool, chain: Window) -> Option<Step> {
    let Value::Map(entries) = &item.value else {
        let found = ck.describe(item);
        ck.report(
            &item.referenced,
            format!("each step must be a mapping of fields, found {found}"),
            "start each step with `- id: ...` and indent its other fields under it",
        );
        return None;
    };
    let at = &item.referenced;
    let fields = ck.fields(entries, STEP_FIELDS);
    let id = id(ck, &fields, at);
    let what = super::required_text(ck, &fields, at, "what", "what: \"thermal throttling\"");
    let optional = fields
        .get_some("optional")
        .map_or(Some(false), |n| ck.boolean(n, "optional"));
    let within = match fields.get_some("within") {
        None => Some(None),
        Some(n) if first => {
            ck.report(
                &n.referenced,
                "the first step has no previous step to be `within` of",
                "use `trigger: { before: 120s }` to place the first step relative to the trigger",
            );
            None
        }
        Some(n) => duration(ck, n, "within", "within: 30s").map(Some),
    };
    let trigger = fields
        .get_some("trigger")
        .map_or(Some(chain), |n| window(ck, n, "trigger", chain));
    let any = predicates(ck, &fields, at);
    Some(Step {
        id: id?,
        what: what?,
        optional: optional?,
        within_nanos: within?,
        trigger: trigger?,
        any: any?,
    })
}

fn id(ck: &mut Checker<'_>, fields: &Fields<'_>, at: &Location) -> Option<String> {
    let hint = "give the step an id for placeholders, e.g. `id: hot`";
    let node = ck.required(fields, at, "id", hint)?;
    let text = ck.text(node, "id")?;
    let ok = (1..=32).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && text != "trigger";
    if !ok {
        ck.report(
            &node.referenced,
            format!("invalid step id `{}`", sanitize(text)),
            "use 1-32 lowercase letters, digits and `_`, starting with a letter (not `trigger`, \
             which names the incident's trigger), e.g. `id: hot`",
        );
        return None;
    }
    Some(text.to_owned())
}

/// Exactly one of the predicate fields, or `any:` with a list of them.
fn predicates(ck: &mut Checker<'_>, fields: &Fields<'_>, at: &Location) -> Option<Vec<Predicate>> {
    let present: Vec<(&str, &Node)> = fields
        .present()
        .iter()
        .filter(|(name, _, _)| PREDICATES.contains(name) || *name == "any")
        .map(|(name, _, value)| (*name, *value))
        .collect();
    let [(name, node)] = present.as_slice() else {
        let message = if present.is_empty() {
            "the step says nothing to look for".to_owned()
        } else {
            let names: Vec<String> = present.iter().map(|(n, _)| format!("`{n}`")).collect();
            format!("the step has {}: give one", names.join(" and "))
        };
        let at = present.get(1).map_or(*at, |(_, n)| n.referenced);
        ck.report(
            &at,
            message,
            "give exactly one of `event`, `metric`, `state`, `deploy`, `fired`, or `any:` with a \
             list of them",
        );
        return None;
    };
    if *name != "any" {
        return predicate::predicate(ck, name, node).map(|p| vec![p]);
    }
    let Value::List(items) = &node.value else {
        let found = ck.describe(node);
        ck.report(
            &node.referenced,
            format!("`any` must be a list of alternatives, found {found}"),
            "write e.g. `any: [ { event: { kind: thermal } }, { metric: { series: \"gpu.*.temp_c\", above: 85 } } ]`",
        );
        return None;
    };
    if items.is_empty() {
        ck.report(
            &node.referenced,
            "the `any` list is empty",
            "give at least one alternative",
        );
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        let one = match &item.value {
            Value::Map(entries) if entries.len() == 1 => {
                let fields = ck.fields(entries, PREDICATES);
                match fields.present() {
                    [(name, _, value)] => predicate::predicate(ck, name, value),
                    _ => None,
                }
            }
            _ => {
                let found = ck.describe(item);
                ck.report(
                    &item.referenced,
                    format!("each alternative is one predicate, found {found}"),
                    "write e.g. `- event: { kind: thermal }`",
                );
                None
            }
        };
        match one {
            Some(p) => out.push(p),
            None => ok = false,
        }
    }
    ok.then_some(out)
}
