//! `rewind rules explain FILE`: every rule in plain words.

use std::{io::Write, path::Path};

use anyhow::Context as _;
use rewind_detect::{Budgets, Capture, Pattern, Rule, RuleKind, RuleSet};

use super::words::seconds;

/// `rewind rules explain FILE`.
pub(super) fn run(path: &Path) -> anyhow::Result<()> {
    let rules = super::load(path)?;
    let mut out = std::io::stdout().lock();
    write_all(&mut out, &path.display().to_string(), &rules).context("writing to stdout")
}

fn write_all(out: &mut impl Write, origin: &str, rules: &RuleSet) -> std::io::Result<()> {
    let count = rules.rules().len();
    let plural = if count == 1 { "" } else { "s" };
    writeln!(out, "{origin}: {count} rule{plural}")?;
    for (i, rule) in rules.rules().iter().enumerate() {
        writeln!(out)?;
        write_rule(out, i + 1, rule, rules.budgets())?;
    }
    writeln!(out)?;
    write_budgets(out, rules.budgets())
}

fn write_rule(
    out: &mut impl Write,
    n: usize,
    rule: &Rule,
    budgets: &Budgets,
) -> std::io::Result<()> {
    writeln!(out, "{n}. {}", rule.name)?;
    let mut line = |label: &str, text: String| writeln!(out, "   {label:<12} {text}");
    if let Some(description) = &rule.description {
        let words: Vec<&str> = description.split_whitespace().collect();
        line("about", words.join(" "))?;
    }
    line("severity", severity(rule, budgets))?;
    line("type", rule.kind.type_name().to_owned())?;
    line("fires when", rule.kind.describe())?;
    line("duration", duration(rule.duration_nanos))?;
    if let RuleKind::Threshold(t) = &rule.kind {
        if t.hysteresis != 0.0 {
            line(
                "hysteresis",
                format!(
                    "{}: once beyond the limit, it must come back past it by that much to clear",
                    t.hysteresis
                ),
            )?;
        }
        line(
            "gaps",
            format!(
                "a gap of more than {} s between two samples restarts the count",
                seconds(t.max_gap_nanos)
            ),
        )?;
    }
    line("dry run", dry_run(rule.dry_run))?;
    line(
        "cooldown",
        format!(
            "{} s: after a capture, further trips capture nothing for that long (they are counted)",
            seconds(rule.cooldown_nanos)
        ),
    )?;
    line(
        "max bundles",
        format!(
            "{}: the agent keeps at most that many of this rule's bundles, rotating out the oldest",
            rule.max_bundles
        ),
    )?;
    line("capture", capture(&rule.capture))?;
    line("labels", labels(rule))
}

fn severity(rule: &Rule, budgets: &Budgets) -> String {
    if rule.severity < budgets.warning_below {
        format!(
            "{} (a warning: below `{}`, so it draws on the warning budget)",
            rule.severity, budgets.warning_below
        )
    } else {
        rule.severity.to_string()
    }
}

fn duration(nanos: i64) -> String {
    if nanos == 0 {
        "fires as soon as the condition holds".to_owned()
    } else {
        format!(
            "must hold for {} s before firing (pending until then)",
            seconds(nanos)
        )
    }
}

fn dry_run(on: bool) -> String {
    if on {
        "yes: trips are evaluated and logged, nothing is captured or notified".to_owned()
    } else {
        "no: a trip captures a bundle".to_owned()
    }
}

fn capture(c: &Capture) -> String {
    let pre = c.pre_nanos.map_or_else(
        || "the agent's window".to_owned(),
        |n| format!("{} s", seconds(n)),
    );
    let post = c.post_nanos.map_or_else(
        || "the agent's post_trigger".to_owned(),
        |n| format!("{} s", seconds(n)),
    );
    let start = if c.on_pending {
        "recording starts when pending"
    } else {
        "recording starts when it fires"
    };
    format!(
        "{pre} before, {post} after; {}; {}; {start}",
        list("all series", "series", &c.series),
        list("all logs and events", "logs", &c.logs),
    )
}

fn list(all: &str, what: &str, patterns: &[Pattern]) -> String {
    if patterns.is_empty() {
        return all.to_owned();
    }
    let names: Vec<String> = patterns.iter().map(|p| format!("`{p}`")).collect();
    format!("{what} {}", names.join(", "))
}

fn labels(rule: &Rule) -> String {
    if rule.labels.is_empty() {
        return "none".to_owned();
    }
    let pairs: Vec<String> = rule
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.join(", ")
}

fn write_budgets(out: &mut impl Write, b: &Budgets) -> std::io::Result<()> {
    writeln!(
        out,
        "Budgets: rules below `{}` are warnings; together they capture at most {} bundle(s) per {} s.",
        b.warning_below,
        b.warnings,
        seconds(b.warning_window_nanos)
    )?;
    writeln!(
        out,
        "Rules at or above `{}` are limited only by their own cooldown.",
        b.warning_below
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_rule_reads_well() {
        let rules = RuleSet::parse(
            "triggers:\n  - { name: hot, type: metric_threshold, metric: cpu.total.busy_pct, threshold: { above: 80 }, severity: high }\n",
            "r.yaml",
        )
        .unwrap();
        let mut out = Vec::new();
        write_all(&mut out, "r.yaml", &rules).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("r.yaml: 1 rule\n\n1. hot\n"), "{text}");
        assert!(
            text.contains("fires as soon as the condition holds"),
            "{text}"
        );
        assert!(!text.contains("hysteresis"), "{text}");
    }
}
