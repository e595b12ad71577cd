//! `composite` and `after_deploy`: rules made of other rules.
//!
//! ## What they do
//!
//! - `type: composite` with `all: [A, B]` holds while every named rule is
//!   firing; with `any: [A, B]`, while at least one is.
//! - `type: composite` with `sequence: [A, B]` and `within: T` holds when
//!   the rules start firing in that order, the first no more than `T`
//!   seconds before the last, and until the last one resolves.
//! - `type: after_deploy` with `rule: A` and `within: T` holds when `A`
//!   starts firing no more than `T` seconds after a deploy event (optionally
//!   only deploys of `service:`), and until `A` resolves: a failure right
//!   after a deploy is a regression, not just a failure.
//!
//! The named rules are evaluated as usual (and capture as usual; mark them
//! `dry_run: true` if only the composite should capture). The engine
//! evaluates these rules itself, after the rules they name.
//!
//! ## Example
//!
//! ```yaml
//! triggers:
//!   - name: "Node crashed"
//!     type: node_status
//!     node: "*"
//!     status: missing
//!     severity: high
//!   - name: "Deploy regression"
//!     type: after_deploy
//!     rule: "Node crashed"
//!     within: 60
//!     severity: critical
//! ```

use serde_saphyr::Location;

use super::{RuleKind, TypeSpec};
use crate::Pattern;
use crate::rules::check::{self, Checker, Fields};
use crate::rules::raw::{Node, Value, sanitize};
use crate::words::seconds;

/// `type: composite`.
pub(crate) const COMPOSITE: TypeSpec = TypeSpec {
    name: "composite",
    fields: &["all", "any", "sequence", "within"],
    validate: validate_composite,
};
/// `type: after_deploy`.
pub(crate) const AFTER_DEPLOY: TypeSpec = TypeSpec {
    name: "after_deploy",
    fields: &["rule", "within", "service"],
    validate: validate_after_deploy,
};
/// The most rules one composite may name.
const MAX_CHILDREN: usize = 32;

/// How a composite rule combines the rules it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Every rule is firing.
    All,
    /// At least one rule is firing.
    Any,
    /// The rules started firing in order, within `within`.
    Sequence,
    /// The one rule started firing within `within` after a deploy.
    AfterDeploy,
}

/// A `composite` or `after_deploy` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    /// How the rules combine.
    pub op: Op,
    /// The rules, by name, in order.
    pub rules: Vec<String>,
    /// For `sequence` and `after_deploy`: the window, in nanoseconds.
    pub within_nanos: Option<i64>,
    /// For `after_deploy`: only deploys of services matching this count.
    pub service: Option<Pattern>,
}

impl Composite {
    pub(crate) fn type_name(&self) -> &'static str {
        match self.op {
            Op::AfterDeploy => AFTER_DEPLOY.name,
            Op::All | Op::Any | Op::Sequence => COMPOSITE.name,
        }
    }

    pub(crate) fn children(&self) -> &[String] {
        &self.rules
    }

    pub(crate) fn describe(&self) -> String {
        let names: Vec<String> = self.rules.iter().map(|r| format!("\"{r}\"")).collect();
        let within = self.within_nanos.map(seconds).unwrap_or_default();
        match self.op {
            Op::All => format!("all of {} are firing at once", names.join(", ")),
            Op::Any => format!("any of {} is firing", names.join(", ")),
            Op::Sequence => format!(
                "{} start firing in that order within {within} s",
                names.join(" then ")
            ),
            Op::AfterDeploy => {
                let which = match &self.service {
                    Some(s) if s.as_str() != "*" => format!("a deploy of `{s}`"),
                    _ => "a deploy".to_owned(),
                };
                format!(
                    "{} starts firing within {within} s after {which}",
                    names.join("")
                )
            }
        }
    }
}

fn validate_composite(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    let ops = [
        ("all", Op::All),
        ("any", Op::Any),
        ("sequence", Op::Sequence),
    ];
    let present: Vec<(Op, &Node)> = ops
        .iter()
        .filter_map(|(name, op)| fields.get_some(name).map(|n| (*op, n)))
        .collect();
    let (op, list) = match present.as_slice() {
        [one] => *one,
        [] => {
            if require && !ops.iter().any(|(n, _)| fields.was_suggested(n)) {
                ck.report(
                    at,
                    "a composite rule needs one of `all`, `any` or `sequence`",
                    "list the rules it combines, e.g. `all: [\"CPU saturated\", \"Memory low\"]`",
                );
            }
            return None;
        }
        [_, (_, second), ..] => {
            ck.report(
                &second.referenced,
                "a composite rule has more than one of `all`, `any` and `sequence`",
                "keep one, and make a second composite rule for the other",
            );
            return None;
        }
    };
    let field = match op {
        Op::All => "all",
        Op::Any => "any",
        _ => "sequence",
    };
    let rules = names(ck, list, field);
    let within = match (op, fields.get_some("within")) {
        (Op::Sequence, Some(n)) => ck.seconds(n, "within", "within: 30", false).map(Some),
        (Op::Sequence, None) => {
            ck.report(
                at,
                "a `sequence` needs `within`",
                "add the seconds from the first rule to the last, e.g. `within: 30`",
            );
            None
        }
        (_, Some(n)) => {
            ck.report(
                &n.referenced,
                format!("`within` has no meaning with `{field}`"),
                "remove it; only `sequence` and `after_deploy` take a window",
            );
            None
        }
        (_, None) => Some(None),
    };
    if let Some(rules) = &rules
        && op == Op::Sequence
        && rules.len() < 2
    {
        ck.report(
            &list.referenced,
            "a `sequence` needs at least two rules",
            "name the rules in the order they must fire",
        );
        return None;
    }
    Some(RuleKind::Composite(Composite {
        op,
        rules: rules?,
        within_nanos: within?,
        service: None,
    }))
}

fn names(ck: &mut Checker<'_>, node: &Node, field: &str) -> Option<Vec<String>> {
    let Value::List(items) = &node.value else {
        let found = ck.describe(node);
        ck.report(
            &node.referenced,
            format!("`{field}` must be a list of rule names, found {found}"),
            format!("write e.g. `{field}: [\"CPU saturated\", \"Memory low\"]`"),
        );
        return None;
    };
    if items.is_empty() || items.len() > MAX_CHILDREN {
        ck.report(
            &node.referenced,
            format!(
                "`{field}` must name 1 to {MAX_CHILDREN} rules, found {}",
                items.len()
            ),
            "list the names of rules defined in this file",
        );
        return None;
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        match ck.text(item, field) {
            Some(name) if out.iter().any(|n| n == name) => {
                ck.report(
                    &item.referenced,
                    format!("rule `{}` is named twice", sanitize(name)),
                    "name each rule once",
                );
                ok = false;
            }
            Some(name) => out.push(name.to_owned()),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn validate_after_deploy(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    let get = |ck: &mut Checker<'_>, name: &str, hint: &str| {
        check::field(ck, fields, at, require, name, hint)
    };
    let rule = get(
        ck,
        "rule",
        "name the rule that must trip after a deploy, e.g. `rule: \"Node crashed\"`",
    )
    .and_then(|n| ck.text(n, "rule").map(str::to_owned));
    let within = get(
        ck,
        "within",
        "add the seconds after a deploy that count, e.g. `within: 60`",
    )
    .and_then(|n| ck.seconds(n, "within", "within: 60", false));
    let service = match fields.get_some("service") {
        None => Some(None),
        Some(n) => ck.pattern(n, "service", "checkout").map(Some),
    };
    Some(RuleKind::Composite(Composite {
        op: Op::AfterDeploy,
        rules: vec![rule?],
        within_nanos: Some(within?),
        service: service?,
    }))
}
