//! Second pass: the lenient tree to validated [`Rule`]s, collecting every
//! problem across the whole file before giving up.

use std::collections::HashMap;

use serde_saphyr::Location;

use super::check::{Checker, Fields};
use super::common;
use super::raw::{Node, Value, position, sanitize};
use super::suggest;
use crate::kinds::{TYPES, TypeSpec};
use crate::rules::Budgets;
use crate::{Problem, Rule};

/// The rules file versions this crate reads.
const VERSION: i128 = 1;
/// Top-level fields.
const TOP_FIELDS: &[&str] = &["version", "triggers", "budgets"];

/// Checks the whole document; returns the rules and budgets, or every problem found.
pub(crate) fn validate(root: &Node, yaml: &str) -> Result<(Vec<Rule>, Budgets), Vec<Problem>> {
    let mut ck = Checker::new(yaml);
    let (rules, budgets) = document(&mut ck, root);
    let problems = ck.finish();
    match budgets {
        Some(budgets) if problems.is_empty() => Ok((rules, budgets)),
        _ => Err(problems),
    }
}

fn document(ck: &mut Checker<'_>, root: &Node) -> (Vec<Rule>, Option<Budgets>) {
    let entries = match &root.value {
        Value::Map(entries) => entries,
        Value::Null => {
            ck.report(
                &root.referenced,
                "the rules file is empty",
                "add a `triggers:` list of rules; see docs/rules.md",
            );
            return (Vec::new(), None);
        }
        _ => {
            let found = ck.describe(root);
            let message = format!(
                "expected a mapping with a `triggers` list at the top level, found {found}"
            );
            ck.report(
                &root.referenced,
                message,
                "start the file with `triggers:`; see docs/rules.md",
            );
            return (Vec::new(), None);
        }
    };
    let fields = ck.fields(entries, TOP_FIELDS);
    if let Some(version) = fields.get("version") {
        check_version(ck, version);
    }
    let budgets = fields
        .get_some("budgets")
        .map_or(Some(Budgets::default()), |n| common::budgets(ck, n));
    let hint = "add a `triggers:` list of rules; see docs/rules.md";
    let Some(list) = ck.required(&fields, &root.referenced, "triggers", hint) else {
        return (Vec::new(), budgets);
    };
    (triggers(ck, list), budgets)
}

fn check_version(ck: &mut Checker<'_>, version: &Node) {
    if !matches!(version.value, Value::Int(VERSION)) {
        let found = ck.describe(version);
        ck.report(
            &version.referenced,
            format!("unsupported rules file version: found {found}"),
            "this version of Rewind reads `version: 1`; write that or remove the line",
        );
    }
}

fn triggers(ck: &mut Checker<'_>, list: &Node) -> Vec<Rule> {
    let Value::List(items) = &list.value else {
        let found = ck.describe(list);
        ck.report(
            &list.referenced,
            format!("`triggers` must be a list of rules, found {found}"),
            "start each rule on its own line with `- name: ...`",
        );
        return Vec::new();
    };
    if items.is_empty() {
        ck.report(
            &list.referenced,
            "the `triggers` list is empty",
            "add at least one rule; see docs/rules.md",
        );
    }
    let mut rules: Vec<(Rule, Location)> = Vec::with_capacity(items.len());
    let mut first_use: HashMap<&str, Location> = HashMap::new();
    for item in items {
        let (name, rule) = rule(ck, item);
        if let Some((name, at)) = name {
            if let Some(first) = first_use.get(name) {
                let (line, column) = position(first);
                let message = format!("duplicate rule name `{}`", sanitize(name));
                let hint = format!(
                    "rule names must be unique; this one is first used at line {line}, column {column}"
                );
                ck.report(&at, message, hint);
                continue;
            }
            first_use.insert(name, at);
        }
        rules.extend(rule.map(|r| (r, at_of(item))));
    }
    check_references(ck, &rules);
    rules.into_iter().map(|(rule, _)| rule).collect()
}

fn at_of(item: &Node) -> Location {
    item.referenced
}

/// Composite rules must name rules that exist, not themselves, and not in a cycle.
fn check_references(ck: &mut Checker<'_>, rules: &[(Rule, Location)]) {
    let names: Vec<&str> = rules.iter().map(|(r, _)| r.name.as_str()).collect();
    for (rule, at) in rules {
        for child in rule.kind.children() {
            if child == &rule.name {
                ck.report(
                    at,
                    format!("rule `{}` refers to itself", sanitize(&rule.name)),
                    "a composite rule combines other rules: name those",
                );
            } else if !names.contains(&child.as_str()) {
                let hint = match suggest::closest(child, &names) {
                    Some(close) => format!("did you mean `{close}`? "),
                    None => String::new(),
                };
                ck.report(
                    at,
                    format!(
                        "rule `{}` refers to `{}`, which is not a rule in this file",
                        sanitize(&rule.name),
                        sanitize(child)
                    ),
                    format!(
                        "{hint}name a rule defined in this file (rule names are case-sensitive)"
                    ),
                );
            }
        }
    }
    // Cycles: depth-first search over the references, from each rule.
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut state = vec![0_u8; rules.len()]; // 0 new, 1 on the path, 2 done
    for start in 0..rules.len() {
        let mut stack = vec![(start, 0_usize)];
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if *next == 0 {
                if state[node] == 2 {
                    stack.pop();
                    continue;
                }
                state[node] = 1;
            }
            let children = rules[node].0.kind.children();
            if let Some(child) = children.get(*next) {
                *next += 1;
                let Some(&c) = index.get(child.as_str()) else {
                    continue;
                };
                if state[c] == 1 {
                    if c != node {
                        let (rule, at) = &rules[node];
                        ck.report(
                            at,
                            format!(
                                "rules `{}` and `{}` refer to each other in a cycle",
                                sanitize(&rule.name),
                                sanitize(child)
                            ),
                            "a composite rule cannot depend on itself, even through others",
                        );
                    }
                } else if state[c] == 0 {
                    stack.push((c, 0));
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
}

/// One rule's name with its position (checked even when the rest of the
/// rule is wrong, to find duplicates), and the rule if it is all valid.
fn rule<'n>(ck: &mut Checker<'_>, item: &'n Node) -> (Option<(&'n str, Location)>, Option<Rule>) {
    let Value::Map(entries) = &item.value else {
        let found = ck.describe(item);
        ck.report(
            &item.referenced,
            format!("each rule must be a mapping of fields, found {found}"),
            "start each rule with `- name: ...` and indent its other fields under it",
        );
        return (None, None);
    };
    let at = &item.referenced;
    // Look at `type:` first, to know which fields belong.
    let declared_type = entries
        .iter()
        .find_map(|(k, v)| match (&k.value, &v.value) {
            (Value::Text(k), Value::Text(t)) if k == "type" => Some(t.as_str()),
            _ => None,
        });
    let names: Vec<&str> = TYPES.iter().map(|s| s.name).collect();
    let spec = declared_type
        .and_then(|t| {
            names
                .contains(&t)
                .then_some(t)
                .or_else(|| suggest::closest(t, &names))
        })
        .and_then(|t| TYPES.iter().find(|s| s.name == t));
    let fields = ck.fields(entries, &known_fields(spec));
    let name = rule_name(ck, &fields, at);
    let declared = rule_type(ck, &fields, at);
    let common = common::common(ck, &fields, at);
    // Check the type's fields even when the type is misspelt, to report all
    // problems at once; only a valid type gives a rule.
    let kind = match declared {
        Declared::Supported(spec) => (spec.validate)(ck, &fields, at, true),
        Declared::Misspelt(spec) => (spec.validate)(ck, &fields, at, true).and(None),
        Declared::Other => None,
    };
    let rule = (|| {
        let name = name?.0.to_owned();
        let common = common?;
        Some(Rule {
            name,
            severity: common.severity,
            description: common.description,
            labels: common.labels,
            duration_nanos: common.duration_nanos,
            dry_run: common.dry_run,
            cooldown_nanos: common.cooldown_nanos,
            max_bundles: common.max_bundles,
            capture: common.capture,
            kind: kind?,
        })
    })();
    (name, rule)
}

/// The fields a rule may have: the common ones and its type's; with an
/// unknown or missing type, every type's (so typos are still caught).
fn known_fields(spec: Option<&TypeSpec>) -> Vec<&'static str> {
    let mut fields = common::FIELDS.to_vec();
    match spec {
        Some(spec) => fields.extend_from_slice(spec.fields),
        None => {
            for spec in TYPES {
                fields.extend(
                    spec.fields
                        .iter()
                        .filter(|f| !fields.contains(f))
                        .collect::<Vec<_>>(),
                );
            }
        }
    }
    fields
}

fn rule_name<'n>(
    ck: &mut Checker<'_>,
    fields: &Fields<'n>,
    at: &Location,
) -> Option<(&'n str, Location)> {
    let hint = "give the rule a unique name, e.g. `name: \"CPU saturated\"`";
    let node = ck.required(fields, at, "name", hint)?;
    let text = ck.text(node, "name")?;
    if text.trim().is_empty() {
        ck.report(&node.referenced, "the rule name is empty", hint);
        return None;
    }
    Some((text, node.referenced))
}

/// What a rule's `type:` says.
#[derive(Clone, Copy)]
enum Declared {
    /// A type this crate evaluates.
    Supported(&'static TypeSpec),
    /// Reported: a misspelling of a type, whose fields are checked as if it
    /// were spelt right (present ones only).
    Misspelt(&'static TypeSpec),
    /// Reported: missing, not text, or unknown.
    Other,
}

/// Checks the rule's `type:`, reporting anything but a supported type.
fn rule_type(ck: &mut Checker<'_>, fields: &Fields<'_>, at: &Location) -> Declared {
    let names: Vec<&str> = TYPES.iter().map(|s| s.name).collect();
    let supported = names.join(", ");
    let hint = format!("add `type:` with one of the supported types: {supported}");
    let Some(node) = ck.required(fields, at, "type", &hint) else {
        return Declared::Other;
    };
    let Some(ty) = ck.text(node, "type") else {
        return Declared::Other;
    };
    if let Some(spec) = TYPES.iter().find(|s| s.name == ty) {
        return Declared::Supported(spec);
    }
    let hint = format!("supported types are: {supported}");
    let close = suggest::closest(ty, &names);
    let hint = match close {
        Some(close) => format!("did you mean `{close}`? {hint}"),
        None => hint,
    };
    ck.report(
        &node.referenced,
        format!("unknown rule type `{}`", sanitize(ty)),
        hint,
    );
    close
        .and_then(|c| TYPES.iter().find(|s| s.name == c))
        .map_or(Declared::Other, Declared::Misspelt)
}
