//! The fields every rule has, whatever its type, and the top-level `budgets:`.

use std::collections::BTreeMap;

use rewind_model::Severity;
use serde_saphyr::Location;

use super::check::{Checker, Fields};
use super::raw::{Node, Value, sanitize};
use super::suggest;
use crate::rules::{Budgets, Capture};

/// Fields every rule has, whatever its type.
pub(crate) const FIELDS: &[&str] = &[
    "name",
    "type",
    "severity",
    "description",
    "labels",
    "duration",
    "dry_run",
    "cooldown",
    "max_bundles",
    "capture",
];
/// The keys of `capture:`.
const CAPTURE_FIELDS: &[&str] = &["pre", "post", "series", "logs", "on_pending"];
/// The keys of `budgets:`.
const BUDGET_FIELDS: &[&str] = &["warnings", "per", "warning_below"];
/// Default `cooldown:`: two minutes, as the runtime watchdog's.
pub(crate) const DEFAULT_COOLDOWN_NANOS: i64 = 120_000_000_000;
/// Default `max_bundles:`.
pub(crate) const DEFAULT_MAX_BUNDLES: u32 = 5;

/// The common fields other than name and type, checked.
#[derive(Debug)]
pub(crate) struct Common {
    pub(crate) severity: Severity,
    pub(crate) description: Option<String>,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) duration_nanos: i64,
    pub(crate) dry_run: bool,
    pub(crate) cooldown_nanos: i64,
    pub(crate) max_bundles: u32,
    pub(crate) capture: Capture,
}

/// Checks the common fields of the rule at `at`; `None` if any is wrong
/// (each wrong one reported).
pub(crate) fn common(ck: &mut Checker<'_>, fields: &Fields<'_>, at: &Location) -> Option<Common> {
    // An optional field written without a value is a mistake, not a default.
    let mut empty = false;
    for (name, _, value) in fields.present() {
        if matches!(value.value, Value::Null) && FIELDS[3..].contains(name) {
            ck.report(
                &value.referenced,
                format!("field `{name}` has no value"),
                format!("give `{name}:` a value or remove the line"),
            );
            empty = true;
        }
    }
    let severity = severity(ck, fields, at);
    let description = match fields.get_some("description") {
        None => Some(None),
        Some(node) => ck.text(node, "description").map(|t| Some(t.to_owned())),
    };
    let labels = fields
        .get_some("labels")
        .map_or(Some(BTreeMap::new()), |node| labels(ck, node));
    let duration_nanos = fields.get_some("duration").map_or(Some(0), |n| {
        ck.seconds(n, "duration", "duration: 2.0", true)
    });
    let dry_run = fields
        .get_some("dry_run")
        .map_or(Some(false), |n| ck.boolean(n, "dry_run"));
    let cooldown_nanos = fields
        .get_some("cooldown")
        .map_or(Some(DEFAULT_COOLDOWN_NANOS), |n| {
            ck.seconds(n, "cooldown", "cooldown: 120", true)
        });
    let max_bundles = fields
        .get_some("max_bundles")
        .map_or(Some(DEFAULT_MAX_BUNDLES), |n| {
            ck.count(n, "max_bundles", 1, 1000)
        });
    let capture = fields
        .get_some("capture")
        .map_or(Some(Capture::default_on()), |n| capture(ck, n));
    if empty {
        return None;
    }
    Some(Common {
        severity: severity?,
        description: description?,
        labels: labels?,
        duration_nanos: duration_nanos?,
        dry_run: dry_run?,
        cooldown_nanos: cooldown_nanos?,
        max_bundles: max_bundles?,
        capture: capture?,
    })
}

impl Capture {
    /// The capture of a rule without `capture:`: the agent's windows, every
    /// series and log, started on pending.
    fn default_on() -> Self {
        Self {
            on_pending: true,
            ..Self::default()
        }
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
    severity_value(ck, node, "severity")
}

fn severity_value(ck: &mut Checker<'_>, node: &Node, field: &str) -> Option<Severity> {
    let names: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    let choices = format!("one of {}", names.join(", "));
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
    let place = if field == "severity" {
        String::new()
    } else {
        format!(" in `{field}`")
    };
    ck.report(
        &node.referenced,
        format!("unknown severity{found}{place}"),
        hint,
    );
    None
}

fn labels(ck: &mut Checker<'_>, node: &Node) -> Option<BTreeMap<String, String>> {
    const EXAMPLE: &str = "labels: { team: perception }";
    let entries = ck.mapping(node, "labels", EXAMPLE)?;
    let mut labels = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let key_ok = match &key.value {
            Value::Text(k) if valid_label_key(k) => Some(k.clone()),
            _ => {
                let found = ck.describe(key);
                ck.report(
                    &key.referenced,
                    format!("invalid label name: {found}"),
                    "label names are 1-64 ASCII letters, digits and `_`, e.g. `team`",
                );
                None
            }
        };
        let value_ok = match &value.value {
            Value::Text(v) => Some(v.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                let found = ck.describe(value);
                ck.report(
                    &value.referenced,
                    format!("a label value must be text, found {found}"),
                    "write the value in quotes, e.g. `team: \"perception\"`",
                );
                None
            }
        };
        match (key_ok, value_ok) {
            (Some(k), Some(v)) => {
                labels.insert(k, v);
            }
            _ => ok = false,
        }
    }
    ok.then_some(labels)
}

fn valid_label_key(key: &str) -> bool {
    (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn capture(ck: &mut Checker<'_>, node: &Node) -> Option<Capture> {
    const EXAMPLE: &str = "capture: { pre: 30, post: 10, series: [\"cpu.*\"] }";
    let entries = ck.mapping(node, "capture", EXAMPLE)?;
    let fields = ck.fields(entries, CAPTURE_FIELDS);
    let window = |ck: &mut Checker<'_>, name: &str| match fields.get_some(name) {
        None => Some(None),
        Some(n) => ck.seconds(n, name, &format!("{name}: 30"), true).map(Some),
    };
    let pre_nanos = window(ck, "pre");
    let post_nanos = window(ck, "post");
    let series = fields
        .get_some("series")
        .map_or(Some(Vec::new()), |n| ck.patterns(n, "series", "\"cpu.*\""));
    let logs = fields
        .get_some("logs")
        .map_or(Some(Vec::new()), |n| ck.patterns(n, "logs", "journal"));
    let on_pending = fields
        .get_some("on_pending")
        .map_or(Some(true), |n| ck.boolean(n, "on_pending"));
    Some(Capture {
        pre_nanos: pre_nanos?,
        post_nanos: post_nanos?,
        series: series?,
        logs: logs?,
        on_pending: on_pending?,
    })
}

/// Checks the top-level `budgets:`.
pub(crate) fn budgets(ck: &mut Checker<'_>, node: &Node) -> Option<Budgets> {
    const EXAMPLE: &str = "budgets: { warnings: 3, per: 600 }";
    let entries = ck.mapping(node, "budgets", EXAMPLE)?;
    let fields = ck.fields(entries, BUDGET_FIELDS);
    let defaults = Budgets::default();
    let warnings = fields
        .get_some("warnings")
        .map_or(Some(defaults.warnings), |n| {
            ck.count(n, "warnings", 0, 1_000_000)
        });
    let window = fields
        .get_some("per")
        .map_or(Some(defaults.warning_window_nanos), |n| {
            ck.seconds(n, "per", "per: 600", false)
        });
    let below = fields
        .get_some("warning_below")
        .map_or(Some(defaults.warning_below), |n| {
            severity_value(ck, n, "warning_below")
        });
    Some(Budgets {
        warnings: warnings?,
        warning_window_nanos: window?,
        warning_below: below?,
    })
}
