//! The `metric_threshold` rule type: its fields and their validation.
//!
//! ## What it does
//!
//! Watches one metric series and fires once when the series has stayed
//! above, below or exactly at a limit for at least `duration` seconds,
//! measured from the first sample that met the condition to the current
//! sample. A sample that does not meet the condition (NaN included) ends the
//! run and re-arms the rule, so one excursion gives one trigger.
//!
//! ## Why
//!
//! Most incidents show first as a resource pinned at its limit: a saturated
//! CPU, exhausted memory, a load average climbing. A single spike is noise;
//! a level that holds for a few seconds is worth a flight recording.
//! Requiring an unbroken run, rather than an average, keeps the rule easy to
//! reason about and cheap to evaluate (constant work per sample).
//!
//! ## Parameters
//!
//! | Field       | Required | Meaning |
//! |-------------|----------|---------|
//! | `metric`    | yes      | The series to watch, e.g. `cpu.total.busy_pct` |
//! | `threshold` | yes      | Exactly one of `above: N`, `below: N`, `equals: N` (N a finite number, in the series' unit) |
//! | `duration`  | no       | Seconds the condition must hold without a break; `>= 0`, default `0` (fire on the first sample that meets it) |
//!
//! `above` and `below` are strict (`>` and `<`); `equals` is exact equality.
//!
//! ## Example
//!
//! ```yaml
//! triggers:
//!   - name: "CPU saturated"
//!     type: metric_threshold
//!     metric: cpu.total.busy_pct
//!     threshold: { above: 80 }
//!     duration: 2.0
//!     severity: high
//! ```
//!
//! With samples every second of 85, 90, 97.5 and 96.1, the rule fires at the
//! third sample (2.0 s after the first) and reports
//! `cpu.total.busy_pct stayed above 80 for 2.0 s (peak 97.5, now 97.5)`;
//! the fourth sample is part of the same run and fires nothing.

use rewind_model::{Comparison, SeriesName};
use serde_saphyr::Location;

use super::check::{Checker, Fields};
use super::raw::{Node, Value, sanitize};
use crate::RuleKind;

/// The `type:` of this rule type in the rules file.
pub(crate) const TYPE: &str = "metric_threshold";
/// The fields this type adds to the common ones.
pub(crate) const FIELDS: &[&str] = &["metric", "threshold", "duration"];
/// The keys of `threshold:`.
const COMPARISONS: &[&str] = &["above", "below", "equals"];
/// The longest duration that fits in `i64` nanoseconds (about 292 years).
const MAX_DURATION_SECS: f64 = 9_223_372_036.0;

/// Checks the type's fields of a rule whose mapping starts at `at`. With
/// `require` false (the rule's type is wrong), fields that are present are
/// checked but missing ones are not reported.
pub(crate) fn validate(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    at: &Location,
    require: bool,
) -> Option<RuleKind> {
    let field = |ck: &mut Checker<'_>, name: &str, hint: &str| {
        if require {
            ck.required(fields, at, name, hint)
        } else {
            fields.get_some(name)
        }
    };
    let metric = field(
        ck,
        "metric",
        "add the series to watch, e.g. `metric: cpu.total.busy_pct`",
    )
    .and_then(|node| series(ck, node));
    let condition = field(
        ck,
        "threshold",
        "add a limit, e.g. `threshold: { above: 80 }`",
    )
    .and_then(|node| condition(ck, node));
    let duration_nanos = match fields.get("duration") {
        None => Some(0),
        Some(node) => duration(ck, node),
    };
    Some(RuleKind::MetricThreshold {
        metric: metric?,
        condition: condition?,
        duration_nanos: duration_nanos?,
    })
}

fn series(ck: &mut Checker<'_>, node: &Node) -> Option<SeriesName> {
    let text = ck.text(node, "metric")?;
    if let Ok(name) = SeriesName::new(text) {
        return Some(name);
    }
    ck.report(
        &node.referenced,
        format!("invalid series name `{}`", sanitize(text)),
        "use dotted segments of ASCII letters, digits, `_`, `-`, `/` and `:` (at most 200 \
         characters), e.g. `cpu.total.busy_pct`; docs/rules.md lists the agent's series",
    );
    None
}

fn condition(ck: &mut Checker<'_>, node: &Node) -> Option<Comparison> {
    const EXAMPLE: &str = "threshold: { above: 80 }";
    let Value::Map(entries) = &node.value else {
        let found = ck.describe(node);
        let message = format!(
            "`threshold` must be a mapping with one of `above`, `below` or `equals`, found {found}"
        );
        ck.report(&node.referenced, message, format!("write e.g. `{EXAMPLE}`"));
        return None;
    };
    let fields = ck.fields(entries, COMPARISONS);
    match fields.present() {
        // A misspelt `abve:` was reported already.
        [] if COMPARISONS.iter().any(|c| fields.was_suggested(c)) => None,
        [] => {
            let message = "`threshold` needs one of `above`, `below` or `equals`";
            let hint = format!("add exactly one of them, e.g. `{EXAMPLE}`");
            ck.report(&node.referenced, message, hint);
            None
        }
        [(first, _, _), (second, key, _), ..] => {
            let message = format!(
                "`threshold` has both `{first}` and `{second}`; a threshold makes one comparison"
            );
            let hint = "keep one of them, and write a second rule for the other limit";
            ck.report(&key.referenced, message, hint);
            None
        }
        [(which, _, value)] => {
            let limit = ck.number(value, which, &format!("{which}: 80"))?;
            Some(match *which {
                "above" => Comparison::Above(limit),
                "below" => Comparison::Below(limit),
                _ => Comparison::Equals(limit),
            })
        }
    }
}

fn duration(ck: &mut Checker<'_>, node: &Node) -> Option<i64> {
    const EXAMPLE: &str = "duration: 2.0";
    if has_unit(ck, node) {
        return None;
    }
    let secs = ck.number(node, "duration", EXAMPLE)?;
    if secs < 0.0 {
        let message = format!(
            "`duration` must not be negative, found {}",
            ck.snippet(node)
        );
        let hint = format!(
            "give the seconds the condition must hold, e.g. `{EXAMPLE}`, or 0 to fire at once"
        );
        ck.report(&node.referenced, message, hint);
        return None;
    }
    if secs > MAX_DURATION_SECS {
        let message = format!("`duration` is too long: {} seconds", ck.snippet(node));
        let hint = format!("use at most {MAX_DURATION_SECS} seconds (about 292 years)");
        ck.report(&node.referenced, message, hint);
        return None;
    }
    #[allow(clippy::cast_possible_truncation)] // range checked above
    Some((secs * 1e9).round() as i64)
}

/// Reports a duration written with a unit, like `2s`.
fn has_unit(ck: &mut Checker<'_>, node: &Node) -> bool {
    let Value::Text(text) = &node.value else {
        return false;
    };
    let Some(secs) = text
        .trim()
        .strip_suffix('s')
        .and_then(|n| n.trim().parse::<f64>().ok())
    else {
        return false;
    };
    let message = format!(
        "`duration` must be a number of seconds, found the text `{}`",
        sanitize(text)
    );
    ck.report(
        &node.referenced,
        message,
        format!("write the seconds without a unit: `duration: {secs}`"),
    );
    true
}
