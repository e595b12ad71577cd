//! The fields of `node_status` and `process_status` rules, checked.

use serde_saphyr::Location;

use super::{DEFAULT_HOLD_NANOS, DEFAULT_RESTARTS, DEFAULT_WINDOW_NANOS, Status, Target, Watch};
use crate::kinds::RuleKind;
use crate::rules::check::{Checker, Fields, field};
use crate::rules::raw::{Node, sanitize};
use crate::rules::suggest;

/// The values of `status:`.
const STATUSES: &[&str] = &["missing", "restarted", "oom_killed", "crash_loop"];
/// The most `restarts:` a crash loop may count (the state keeps that many).
const MAX_RESTARTS: u32 = 100;

/// An optional field: its value node, and the value if it is valid.
type Param<'n, T> = Option<(&'n Node, Option<T>)>;

/// Checks a `node_status` rule's fields.
pub(super) fn validate_node(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    validate(ck, fields, at, require, Target::Node)
}

/// Checks a `process_status` rule's fields.
pub(super) fn validate_process(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    validate(ck, fields, at, require, Target::Process)
}

fn validate(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
    target: Target,
) -> Option<RuleKind> {
    let key = target.as_str();
    let example = match target {
        Target::Node => "\"/perception_node\"",
        Target::Process => "nginx",
    };
    let hint =
        format!("name the {key} to watch, e.g. `{key}: {example}`, or `{key}: \"*\"` for any");
    let name = field(ck, fields, at, require, key, &hint).and_then(|n| ck.pattern(n, key, example));
    let hint = format!(
        "add what to watch for: `status:` with one of {}",
        STATUSES.join(", ")
    );
    let status =
        field(ck, fields, at, require, "status", &hint).and_then(|n| status(ck, n, target));
    let restarts = fields
        .get_some("restarts")
        .map(|n| (n, ck.count(n, "restarts", 2, MAX_RESTARTS)));
    let window = fields
        .get_some("window")
        .map(|n| (n, ck.seconds(n, "window", "window: 300", false)));
    let hold = fields
        .get_some("hold")
        .map(|n| (n, ck.seconds(n, "hold", "hold: 60", false)));
    let watch = status.and_then(|s| watch(ck, s, target, restarts, window, hold));
    Some(RuleKind::Status(Status {
        target,
        name: name?,
        status: watch?,
    }))
}

/// The value of `status:`.
fn status(ck: &mut Checker<'_>, node: &Node, target: Target) -> Option<&'static str> {
    let text = ck.text(node, "status")?;
    let choices = format!("use one of {}", STATUSES.join(", "));
    match STATUSES.iter().find(|s| **s == text) {
        Some(&"oom_killed") if target == Target::Node => {
            ck.report(
                &node.referenced,
                "`status: oom_killed` is for processes: no event names a node the kernel killed",
                "watch the node's program with `type: process_status` and `process:` its \
                 command name as the kernel logs it",
            );
            None
        }
        Some(status) => Some(status),
        None => {
            let close = suggest::closest(text, STATUSES)
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            ck.report(
                &node.referenced,
                format!("unknown status `{}`", sanitize(text)),
                format!("{close}{choices}"),
            );
            None
        }
    }
}

/// The status with its parameters, defaults filled in; reports parameters
/// that do not apply to it.
fn watch(
    ck: &mut Checker<'_>,
    status: &str,
    target: Target,
    restarts: Param<'_, u32>,
    window: Param<'_, i64>,
    hold: Param<'_, i64>,
) -> Option<Watch> {
    let mut unused = |name: &str, param: Option<&Node>, hint: &str| {
        let Some(node) = param else { return false };
        ck.report(
            &node.referenced,
            format!("`{name}` has no meaning with `status: {status}`"),
            hint,
        );
        true
    };
    match status {
        "crash_loop" => {
            let hint = "remove it: a crash loop holds while `restarts` restarts fall within \
                        `window` seconds";
            let wrong = unused("hold", node(hold), hint);
            let restarts = or_default(restarts, DEFAULT_RESTARTS)?;
            let window_nanos = or_default(window, DEFAULT_WINDOW_NANOS)?;
            (!wrong).then_some(Watch::CrashLoop {
                restarts,
                window_nanos,
            })
        }
        "restarted" | "oom_killed" => {
            let hint = "remove it, or use `status: crash_loop` to count restarts within a window";
            let wrong = unused("restarts", node(restarts), hint);
            let wrong = unused("window", node(window), hint) || wrong;
            let hold_nanos = or_default(hold, DEFAULT_HOLD_NANOS)?;
            (!wrong).then_some(if status == "restarted" {
                Watch::Restarted { hold_nanos }
            } else {
                Watch::OomKilled { hold_nanos }
            })
        }
        _ => {
            let hint = format!(
                "remove it: a missing {} holds until it is seen again",
                target.as_str()
            );
            let wrong = unused("restarts", node(restarts), &hint);
            let wrong = unused("window", node(window), &hint) || wrong;
            let wrong = unused("hold", node(hold), &hint) || wrong;
            (!wrong).then_some(Watch::Missing)
        }
    }
}

/// The value node of an optional field, if present.
fn node<T>(param: Param<'_, T>) -> Option<&Node> {
    param.map(|(n, _)| n)
}

/// The value of an optional field: `default` when absent, `None` when invalid.
fn or_default<T>(param: Param<'_, T>, default: T) -> Option<T> {
    param.map_or(Some(default), |(_, v)| v)
}
