//! Second pass: the lenient tree to validated [`Rule`]s, collecting every
//! problem across the whole file before giving up.

use std::collections::HashMap;

use rewind_model::Severity;
use serde_saphyr::Location;

use super::check::{Checker, Fields};
use super::raw::{Node, Value, position, sanitize};
use super::{suggest, threshold};
use crate::{Problem, Rule};

/// The rules file versions this crate reads.
const VERSION: i128 = 1;
/// Top-level fields.
const TOP_FIELDS: &[&str] = &["version", "triggers"];
/// Fields every rule has, whatever its type.
const COMMON_FIELDS: &[&str] = &["name", "type", "severity", "description"];
/// Rule types that can be evaluated today.
const SUPPORTED_TYPES: &[&str] = &[threshold::TYPE];
/// Rule types from the product documents that are not implemented yet.
const PLANNED_TYPES: &[&str] = &["topic_rate", "node_status"];

/// Checks the whole document; returns the rules, or every problem found.
pub(crate) fn validate(root: &Node, yaml: &str) -> Result<Vec<Rule>, Vec<Problem>> {
    let mut ck = Checker::new(yaml);
    let rules = document(&mut ck, root);
    let problems = ck.finish();
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(problems)
    }
}

fn document(ck: &mut Checker<'_>, root: &Node) -> Vec<Rule> {
    let entries = match &root.value {
        Value::Map(entries) => entries,
        Value::Null => {
            ck.report(
                &root.referenced,
                "the rules file is empty",
                "add a `triggers:` list of rules; see docs/rules.md",
            );
            return Vec::new();
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
            return Vec::new();
        }
    };
    let fields = ck.fields(entries, TOP_FIELDS);
    if let Some(version) = fields.get("version") {
        check_version(ck, version);
    }
    let hint = "add a `triggers:` list of rules; see docs/rules.md";
    let Some(list) = ck.required(&fields, &root.referenced, "triggers", hint) else {
        return Vec::new();
    };
    triggers(ck, list)
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
    let mut rules = Vec::with_capacity(items.len());
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
        rules.extend(rule);
    }
    rules
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
    let fields = ck.fields(entries, &known_fields());
    let at = &item.referenced;
    let name = rule_name(ck, &fields, at);
    let declared = rule_type(ck, &fields, at);
    let severity = severity(ck, &fields, at);
    let description = description(ck, &fields);
    // Check the type's fields even when the type is wrong, to report all
    // problems at once; only a valid type gives a rule.
    let kind = match declared {
        Declared::Supported => threshold::validate(ck, &fields, at, true),
        Declared::Misspelt => threshold::validate(ck, &fields, at, true).and(None),
        Declared::Other => threshold::validate(ck, &fields, at, false).and(None),
    };
    let rule = (|| {
        let name = name?.0.to_owned();
        Some(Rule {
            name,
            severity: severity?,
            description: description?,
            kind: kind?,
        })
    })();
    (name, rule)
}

/// The fields a rule may have. With one rule type there is one list; when
/// more types arrive, pick the declared type's fields, and the union of all
/// types' fields when the type is unknown or missing (so typos are still caught).
fn known_fields() -> Vec<&'static str> {
    [COMMON_FIELDS, threshold::FIELDS].concat()
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    /// A type this crate evaluates.
    Supported,
    /// Reported: a misspelling of the (only) supported type, whose fields are
    /// checked as if it were spelt right.
    Misspelt,
    /// Reported: missing, not text, planned, or unknown; the fields that are
    /// present are still checked, but none is required.
    Other,
}

/// Checks the rule's `type:`, reporting anything but a supported type.
fn rule_type(ck: &mut Checker<'_>, fields: &Fields<'_>, at: &Location) -> Declared {
    let supported = SUPPORTED_TYPES.join(", ");
    let hint = format!("add `type:` with one of the supported types: {supported}");
    let Some(node) = ck.required(fields, at, "type", &hint) else {
        return Declared::Other;
    };
    let Some(ty) = ck.text(node, "type") else {
        return Declared::Other;
    };
    if SUPPORTED_TYPES.contains(&ty) {
        return Declared::Supported;
    }
    let hint = format!("supported types are: {supported}");
    if PLANNED_TYPES.contains(&ty) {
        ck.report(
            &node.referenced,
            format!("rule type `{ty}` is not supported yet"),
            hint,
        );
        return Declared::Other;
    }
    let close = suggest::closest(ty, SUPPORTED_TYPES);
    let hint = match close {
        Some(close) => format!("did you mean `{close}`? {hint}"),
        None => hint,
    };
    ck.report(
        &node.referenced,
        format!("unknown rule type `{}`", sanitize(ty)),
        hint,
    );
    if close.is_some() {
        Declared::Misspelt
    } else {
        Declared::Other
    }
}

fn severity(ck: &mut Checker<'_>, fields: &Fields<'_>, at: &Location) -> Option<Severity> {
    let names: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    let choices = format!("one of {}", names.join(", "));
    let node = ck.required(
        fields,
        at,
        "severity",
        &format!("add `severity:` with {choices}"),
    )?;
    let found = match &node.value {
        Value::Text(text) => match text.parse::<Severity>() {
            Ok(severity) => return Some(severity),
            Err(_) => format!(" `{}`", sanitize(text)),
        },
        _ => format!(": found {}", ck.describe(node)),
    };
    let hint = match &node.value {
        Value::Text(text) => {
            suggest::closest(text, &names).map(|close| format!("did you mean `{close}`? "))
        }
        _ => None,
    };
    let hint = format!("{}use {choices}", hint.unwrap_or_default());
    ck.report(&node.referenced, format!("unknown severity{found}"), hint);
    None
}

/// `Some(None)` when absent; `None` when present but invalid.
fn description(ck: &mut Checker<'_>, fields: &Fields<'_>) -> Option<Option<String>> {
    match fields.get_some("description") {
        None => Some(None),
        Some(node) => ck.text(node, "description").map(|t| Some(t.to_owned())),
    }
}
