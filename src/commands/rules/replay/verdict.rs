//! What a replay says about the bundle's recorded trigger, the rules it
//! cannot judge, and the `--expect-fire` rules.

use rewind_bundle::Bundle;
use rewind_detect::{Engine, RuleSet, Signal, SignalKind};
use rewind_model::{SeriesName, Timestamp};
use serde::Serialize;

use super::{Report, SAME_TIME_NANOS, secs};
use crate::commands::rules::words::{offset, seconds};

/// Whether the recorded trigger's rule fired in the replay.
#[derive(Debug, Serialize)]
pub(super) struct Verdict {
    rule: String,
    pub(super) fired: bool,
    /// When it first fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<Timestamp>,
    /// Seconds from the recorded `fired_at` to `at` (0 within a few microseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    offset_s: Option<f64>,
    /// The same in one sentence.
    pub(super) message: String,
}

/// Whether, when and why not the bundle's recorded rule fired.
pub(super) fn verdict(
    rules: &RuleSet,
    engine: &Engine,
    signals: &[Signal],
    bundle: &Bundle,
    names: &[SeriesName],
) -> Verdict {
    let name = bundle.trigger.rule.clone();
    let recorded = bundle.trigger.fired_at;
    let mut firings = signals
        .iter()
        .filter(|s| s.rule == name && s.kind == SignalKind::Firing);
    let Some(first) = firings.next() else {
        let why = not_fired(rules, engine, signals, &name, names, recorded);
        return Verdict {
            message: format!("original trigger \"{name}\" did not fire: {why}"),
            rule: name,
            fired: false,
            at: None,
            offset_s: None,
        };
    };
    let delta = first.at.nanos_since(recorded);
    let when = if delta.abs() <= SAME_TIME_NANOS {
        format!("at the recorded time ({})", offset(0, 1))
    } else if delta > 0 {
        format!(
            "{} s later than recorded ({})",
            seconds(delta),
            offset(delta, 3)
        )
    } else {
        format!(
            "{} s earlier than recorded ({})",
            seconds(-delta),
            offset(delta, 3)
        )
    };
    let more = firings.count();
    let again = match more {
        0 => String::new(),
        n => format!("; it fired {} times in all", n + 1),
    };
    Verdict {
        message: format!("original trigger \"{name}\" fired {when}{again}"),
        rule: name,
        fired: true,
        at: Some(first.at),
        offset_s: Some(secs(if delta.abs() <= SAME_TIME_NANOS {
            0
        } else {
            delta
        })),
    }
}

/// Why rule `name` did not fire.
fn not_fired(
    rules: &RuleSet,
    engine: &Engine,
    signals: &[Signal],
    name: &str,
    names: &[SeriesName],
    recorded: Timestamp,
) -> String {
    let Some(rule) = rules.rule(name) else {
        return "the rules file has no rule of that name".to_owned();
    };
    if let Some(pattern) = rule.kind.series()
        && !names.iter().any(|n| pattern.matches(n.as_str()))
    {
        return format!("the bundle has no series matching `{pattern}`");
    }
    let duration = seconds(rule.duration_nanos);
    let longest = signals
        .iter()
        .filter(|s| s.rule == name && s.kind == SignalKind::Cancelled)
        .max_by_key(|s| s.at.nanos_since(s.since));
    if let Some(s) = longest {
        return format!(
            "it was pending from {} but the condition cleared after {} s, short of its {duration} s duration",
            offset(s.since.nanos_since(recorded), 1),
            seconds(s.at.nanos_since(s.since))
        );
    }
    let pending = engine
        .status()
        .into_iter()
        .find(|st| st.rule == name && st.state == "pending");
    if let Some(since) = pending.and_then(|st| st.since) {
        return format!(
            "it was still pending at the end of the bundle (since {}; it needs {duration} s)",
            offset(since.nanos_since(recorded), 1)
        );
    }
    format!(
        "its condition ({}) never held in the bundle",
        rule.kind.describe()
    )
}

/// What the replay cannot show for these rules and this bundle.
pub(super) fn notes(rules: &RuleSet, names: &[SeriesName], events: usize) -> Vec<String> {
    let mut notes = Vec::new();
    for rule in rules.rules() {
        let type_name = rule.kind.type_name();
        if let Some(pattern) = rule.kind.series() {
            if !names.iter().any(|n| pattern.matches(n.as_str())) {
                let absent = if type_name == "absent" {
                    ", so it fires here whether or not the series was missing on the machine"
                } else {
                    ""
                };
                notes.push(format!(
                    "\"{}\" watches `{pattern}`, which no series in this bundle matches{absent}",
                    rule.name
                ));
            }
        } else if events == 0 && (rule.kind.children().is_empty() || type_name == "after_deploy") {
            notes.push(format!(
                "\"{}\" ({type_name}) needs events, and this bundle holds none: it cannot fire here",
                rule.name
            ));
        }
    }
    notes
}

/// `RULE did not fire in B1, B2` for every expected rule that missed a bundle.
pub(super) fn missed_expectations(reports: &[Report], expect_fire: &[String]) -> Vec<String> {
    expect_fire
        .iter()
        .filter_map(|rule| {
            let missed: Vec<&str> = reports
                .iter()
                .filter(|r| !r.fired.contains_key(rule))
                .map(|r| r.bundle.as_str())
                .collect();
            (!missed.is_empty())
                .then(|| format!("rule \"{rule}\" did not fire in {}", missed.join(", ")))
        })
        .collect()
}
