//! The chain language: YAML text to validated [`Chain`]s.
//!
//! The same two passes as rules files (`crate::rules`): the text becomes a
//! lenient tree that remembers every node's line and column, then every
//! field of every chain is checked, and either all chains come out valid or
//! every problem is reported at once, each with its line, column and hint
//! ([`RulesError`]). The language is documented in `docs/root-cause.md`.

mod predicate;
mod step;
mod template;

use std::collections::HashSet;

use serde_saphyr::Location;

use crate::RulesError;
use crate::rules::check::{Checker, Fields};
use crate::rules::raw::{self, Node, Value, sanitize};

pub use predicate::{
    ChangeDirection, ChangeSpec, DeployPredicate, EventPredicate, FiredPredicate, MetricPredicate,
    Predicate, StatePredicate,
};
pub use step::Step;
pub use template::{Part, Template};

/// The chain file versions this crate reads.
const VERSION: i128 = 1;
/// Top-level fields.
const TOP_FIELDS: &[&str] = &["version", "chains"];
/// The fields of a chain.
const CHAIN_FIELDS: &[&str] = &[
    "name",
    "title",
    "description",
    "prior",
    "window",
    "steps",
    "cause",
    "actions",
    "risk",
];
/// The fields of `window:` (and of a step's `trigger:`).
const WINDOW_FIELDS: &[&str] = &["before", "after"];
/// Most steps in one chain (the search over them is bounded by it).
pub(crate) const MAX_STEPS: usize = 8;
/// Default `window.before`: ten minutes before the trigger.
const DEFAULT_BEFORE_NANOS: i64 = 600_000_000_000;
/// Default `window.after`: one minute after it.
const DEFAULT_AFTER_NANOS: i64 = 60_000_000_000;
/// Default `prior:`.
const DEFAULT_PRIOR: f64 = 0.5;

/// A validated set of root-cause chains, from one or more chain files.
///
/// Chain names are unique; every chain has at least one required step; every
/// placeholder names a step of its chain.
#[derive(Debug, Clone, Default)]
pub struct ChainSet {
    chains: Vec<Chain>,
}

/// One root-cause chain: an ordered sequence of steps and what it means when
/// they all happened.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Unique name, lowercase letters, digits and `-` (`thermal-throttling`).
    pub name: String,
    /// A short title for lists (`GPU/CPU thermal throttling`).
    pub title: String,
    /// Free text for people.
    pub description: Option<String>,
    /// How likely this chain is the real cause when all its steps match,
    /// in `(0, 1]` (`prior:`, default 0.5). It scales the confidence.
    pub prior: f64,
    /// Where in time, relative to the trigger, every step must lie.
    pub window: Window,
    /// The steps, in the order they must have happened.
    pub steps: Vec<Step>,
    /// The primary cause, with placeholders filled from the evidence.
    pub cause: Template,
    /// Suggested actions, with placeholders.
    pub actions: Vec<Template>,
    /// What happens if nothing is done, with placeholders.
    pub risk: Option<Template>,
}

/// A span of time around the trigger: `[trigger − before, trigger + after]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// How far before the trigger, in nanoseconds.
    pub before_nanos: i64,
    /// How far after the trigger, in nanoseconds.
    pub after_nanos: i64,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            before_nanos: DEFAULT_BEFORE_NANOS,
            after_nanos: DEFAULT_AFTER_NANOS,
        }
    }
}

impl ChainSet {
    /// Parses and validates the text of a chain file.
    ///
    /// `origin` names the text in messages, usually the file's path; this
    /// function reads no files itself.
    ///
    /// # Errors
    /// A [`RulesError`] listing every problem, each with its line, column
    /// and a hint: a YAML syntax error alone, otherwise all of them.
    pub fn parse(yaml: &str, origin: &str) -> Result<Self, RulesError> {
        let error = |problems| RulesError {
            origin: origin.to_owned(),
            problems,
        };
        let root = raw::parse(yaml).map_err(|problem| error(vec![problem]))?;
        let mut ck = Checker::new(yaml);
        let chains = document(&mut ck, &root);
        let problems = ck.finish();
        if problems.is_empty() {
            Ok(Self { chains })
        } else {
            Err(error(problems))
        }
    }

    /// The chains, in file order.
    #[must_use]
    pub fn chains(&self) -> &[Chain] {
        &self.chains
    }

    /// The chain named `name`.
    #[must_use]
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// Adds the chains of `other`; one with the name of a chain already
    /// here replaces it (a site's file overriding the built-in library).
    pub fn extend(&mut self, other: Self) {
        for chain in other.chains {
            match self.chains.iter_mut().find(|c| c.name == chain.name) {
                Some(slot) => *slot = chain,
                None => self.chains.push(chain),
            }
        }
    }
}

fn document(ck: &mut Checker<'_>, root: &Node) -> Vec<Chain> {
    let hint = "start the file with `chains:` and a list of chains; see docs/root-cause.md";
    let entries = match &root.value {
        Value::Map(entries) => entries,
        Value::Null => {
            ck.report(&root.referenced, "the chain file is empty", hint);
            return Vec::new();
        }
        _ => {
            let found = ck.describe(root);
            let message =
                format!("expected a mapping with a `chains` list at the top level, found {found}");
            ck.report(&root.referenced, message, hint);
            return Vec::new();
        }
    };
    let fields = ck.fields(entries, TOP_FIELDS);
    if let Some(version) = fields.get("version")
        && !matches!(version.value, Value::Int(VERSION))
    {
        let found = ck.describe(version);
        ck.report(
            &version.referenced,
            format!("unsupported chain file version: found {found}"),
            "this version of Rewind reads `version: 1`; write that or remove the line",
        );
    }
    let Some(list) = ck.required(&fields, &root.referenced, "chains", hint) else {
        return Vec::new();
    };
    let Value::List(items) = &list.value else {
        let found = ck.describe(list);
        ck.report(
            &list.referenced,
            format!("`chains` must be a list of chains, found {found}"),
            "start each chain on its own line with `- name: ...`",
        );
        return Vec::new();
    };
    if items.is_empty() {
        ck.report(
            &list.referenced,
            "the `chains` list is empty",
            "add at least one chain; see docs/root-cause.md",
        );
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut chains = Vec::with_capacity(items.len());
    for item in items {
        let Some(chain) = chain(ck, item) else {
            continue;
        };
        if seen.insert(chain.name.clone()) {
            chains.push(chain);
        } else {
            ck.report(
                &item.referenced,
                format!("duplicate chain name `{}`", sanitize(&chain.name)),
                "chain names must be unique within a file",
            );
        }
    }
    chains
}

fn chain(ck: &mut Checker<'_>, item: &Node) -> Option<Chain> {
    let Value::Map(entries) = &item.value else {
        let found = ck.describe(item);
        ck.report(
            &item.referenced,
            format!("each chain must be a mapping of fields, found {found}"),
            "start each chain with `- name: ...` and indent its other fields under it",
        );
        return None;
    };
    let at = &item.referenced;
    let fields = ck.fields(entries, CHAIN_FIELDS);
    let name = name(ck, &fields, at);
    let title = required_text(
        ck,
        &fields,
        at,
        "title",
        "title: \"GPU thermal throttling\"",
    );
    let description = optional_text(ck, &fields, "description");
    let prior = fields.get_some("prior").map_or(Some(DEFAULT_PRIOR), |n| {
        let p = ck.number(n, "prior", "prior: 0.8")?;
        if p > 0.0 && p <= 1.0 {
            return Some(p);
        }
        let found = ck.snippet(n);
        ck.report(
            &n.referenced,
            format!("`prior` must be more than 0 and at most 1, found {found}"),
            "give how likely the chain is the real cause when it matches, e.g. `prior: 0.8`",
        );
        None
    });
    let window = fields
        .get_some("window")
        .map_or(Some(Window::default()), |n| {
            window(ck, n, "window", Window::default())
        });
    let steps = steps(ck, &fields, at, window.unwrap_or_default());
    let ids: Vec<(String, Vec<&'static str>)> = steps
        .as_ref()
        .map(|s| s.iter().map(|s| (s.id.clone(), s.keys())).collect())
        .unwrap_or_default();
    let ids = steps.as_ref().map(|_| ids.as_slice());
    let hint = "cause: \"{hot.series} throttled\"";
    let cause = ck
        .required(&fields, at, "cause", &format!("add `{hint}`"))
        .and_then(|n| template::template(ck, n, "cause", ids));
    let actions = fields
        .get_some("actions")
        .map_or(Some(Vec::new()), |n| templates(ck, n, ids));
    let risk = match fields.get_some("risk") {
        None => Some(None),
        Some(n) => template::template(ck, n, "risk", ids).map(Some),
    };
    Some(Chain {
        name: name?,
        title: title?,
        description: description?,
        prior: prior?,
        window: window?,
        steps: steps?,
        cause: cause?,
        actions: actions?,
        risk: risk?,
    })
}

fn name(ck: &mut Checker<'_>, fields: &Fields<'_>, at: &Location) -> Option<String> {
    let hint = "give the chain a unique name, e.g. `name: thermal-throttling`";
    let node = ck.required(fields, at, "name", hint)?;
    let text = ck.text(node, "name")?;
    let ok = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-');
    if !ok {
        ck.report(
            &node.referenced,
            format!("invalid chain name `{}`", sanitize(text)),
            "use 1-64 lowercase letters, digits and `-`, e.g. `thermal-throttling`",
        );
        return None;
    }
    Some(text.to_owned())
}

/// A required text field, not empty.
pub(crate) fn required_text(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    field: &str,
    example: &str,
) -> Option<String> {
    let node = ck.required(fields, at, field, &format!("add e.g. `{example}`"))?;
    let text = ck.text(node, field)?;
    if text.trim().is_empty() {
        ck.report(
            &node.referenced,
            format!("`{field}` is empty"),
            format!("write e.g. `{example}`"),
        );
        return None;
    }
    template::pairs_up(ck, node, field, text).then(|| text.to_owned())
}

/// An optional text field: `Some(None)` when absent, `None` when wrong.
fn optional_text(ck: &mut Checker<'_>, fields: &Fields<'_>, field: &str) -> Option<Option<String>> {
    match fields.get_some(field) {
        None => Some(None),
        Some(node) => ck.text(node, field).map(|t| Some(t.to_owned())),
    }
}

fn steps(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    window: Window,
) -> Option<Vec<Step>> {
    let hint = "add `steps:`, a list of what happened in order; see docs/root-cause.md";
    let node = ck.required(fields, at, "steps", hint)?;
    let Value::List(items) = &node.value else {
        let found = ck.describe(node);
        ck.report(
            &node.referenced,
            format!("`steps` must be a list, found {found}"),
            "start each step on its own line with `- id: ...`",
        );
        return None;
    };
    if items.is_empty() || items.len() > MAX_STEPS {
        ck.report(
            &node.referenced,
            format!("a chain has 1 to {MAX_STEPS} steps, found {}", items.len()),
            "describe the chain in at most eight steps, cause first",
        );
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match step::step(ck, item, i == 0, window) {
            Some(s) => out.push(s),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let mut seen = HashSet::new();
    for (s, item) in out.iter().zip(items) {
        if !seen.insert(s.id.as_str()) {
            ck.report(
                &item.referenced,
                format!("duplicate step id `{}`", s.id),
                "step ids must be unique within a chain: placeholders name them",
            );
            ok = false;
        }
    }
    if out.iter().all(|s| s.optional) {
        ck.report(
            &node.referenced,
            "every step is optional",
            "make at least one step required (remove `optional: true` from it)",
        );
        ok = false;
    }
    ok.then_some(out)
}

fn templates(
    ck: &mut Checker<'_>,
    node: &Node,
    ids: Option<&[(String, Vec<&'static str>)]>,
) -> Option<Vec<Template>> {
    let Value::List(items) = &node.value else {
        let found = ck.describe(node);
        ck.report(
            &node.referenced,
            format!("`actions` must be a list of sentences, found {found}"),
            "write each action on its own line starting with `- `",
        );
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        match template::template(ck, item, "actions", ids) {
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `{ before: D, after: D }`, each defaulting to `default`'s.
pub(crate) fn window(
    ck: &mut Checker<'_>,
    node: &Node,
    field: &str,
    default: Window,
) -> Option<Window> {
    let example = format!("{field}: {{ before: 120s, after: 0 }}");
    let entries = ck.mapping(node, field, &example)?;
    let fields = ck.fields(entries, WINDOW_FIELDS);
    let before = fields
        .get_some("before")
        .map_or(Some(default.before_nanos), |n| {
            duration(ck, n, "before", "before: 120s")
        });
    let after = fields
        .get_some("after")
        .map_or(Some(default.after_nanos), |n| {
            duration(ck, n, "after", "after: 10s")
        });
    Some(Window {
        before_nanos: before?,
        after_nanos: after?,
    })
}

/// A duration: a number of seconds (`30`, `2.5`) or text with a unit
/// (`500ms`, `30s`, `5m`, `1h`), not negative, as nanoseconds.
pub(crate) fn duration(
    ck: &mut Checker<'_>,
    node: &Node,
    field: &str,
    example: &str,
) -> Option<i64> {
    let Value::Text(text) = &node.value else {
        return ck.seconds(node, field, example, true);
    };
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit {
        "ms" => Some(1e-3),
        "s" => Some(1.0),
        "m" | "min" => Some(60.0),
        "h" => Some(3600.0),
        _ => None,
    };
    let secs = scale.and_then(|s| Some(number.trim().parse::<f64>().ok()? * s));
    match secs {
        Some(secs) if secs.is_finite() && (0.0..=9_223_372_036.0).contains(&secs) => {
            #[allow(clippy::cast_possible_truncation)] // range checked above
            Some((secs * 1e9).round() as i64)
        }
        _ => {
            ck.report(
                &node.referenced,
                format!(
                    "`{field}` must be a duration, found the text `{}`",
                    sanitize(text)
                ),
                format!(
                    "write seconds (`{example}`) or a number with a unit: `ms`, `s`, `m` or `h`, \
                     not negative"
                ),
            );
            None
        }
    }
}
