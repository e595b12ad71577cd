//! Rule types, required and unknown fields, severities, names and series.

use super::{case, check, with};

#[test]
fn rule_types() {
    check(&[
        case(
            "unknown type",
            with("metric_threshold", "cpu_hot"),
            (3, 11),
            "unknown rule type `cpu_hot`",
            "supported types are: metric_threshold",
        ),
        case(
            "misspelt type",
            with("metric_threshold", "metric_treshold"),
            (3, 11),
            "unknown rule type `metric_treshold`",
            "did you mean `metric_threshold`?",
        ),
        case(
            "a far-off type",
            with("metric_threshold", "gauge"),
            (3, 11),
            "unknown rule type `gauge`",
            "supported types are: metric_threshold, topic_rate, absent,",
        ),
        case(
            "type not text",
            with("metric_threshold", "[a]"),
            (3, 11),
            "`type` must be text, found a list",
            "`type:`",
        ),
    ]);
}

#[test]
fn missing_required_fields() {
    check(&[
        case(
            "no name",
            with("  - name: \"CPU saturated\"\n    type", "  - type"),
            (2, 5),
            "missing required field `name`",
            "name: \"CPU saturated\"",
        ),
        case(
            "no type",
            with("    type: metric_threshold\n", ""),
            (2, 5),
            "missing required field `type`",
            "metric_threshold",
        ),
        case(
            "no metric",
            with("    metric: cpu.total.busy_pct\n", ""),
            (2, 5),
            "missing required field `metric`",
            "metric: cpu.total.busy_pct",
        ),
        case(
            "no threshold",
            with("    threshold:\n      above: 80\n", ""),
            (2, 5),
            "missing required field `threshold`",
            "threshold: { above: 80 }",
        ),
        case(
            "no severity",
            with("    severity: high\n", ""),
            (2, 5),
            "missing required field `severity`",
            "info, low, medium, high, critical",
        ),
        case(
            "empty severity",
            with("severity: high", "severity:"),
            (8, 13),
            "field `severity` has no value",
            "info, low",
        ),
        case(
            "no triggers",
            "version: 1\n",
            (1, 1),
            "missing required field `triggers`",
            "docs/rules.md",
        ),
    ]);
}

#[test]
fn unknown_fields() {
    check(&[
        case(
            "close to a field",
            with("severity: high", "severty: high"),
            (8, 5),
            "unknown field `severty`",
            "did you mean `severity`?",
        ),
        case(
            "far from any field",
            with("duration: 2.0", "colour: red"),
            (7, 5),
            "unknown field `colour`",
            "the fields here are: name, type, severity, description, labels, duration, dry_run, \
             cooldown, max_bundles, capture, metric, threshold, hysteresis, max_gap",
        ),
        case(
            "in the threshold",
            with("above: 80", "abve: 80"),
            (6, 7),
            "unknown field `abve`",
            "did you mean `above`?",
        ),
        case(
            "at the top",
            with("triggers:", "trigers:"),
            (1, 1),
            "unknown field `trigers`",
            "did you mean `triggers`?",
        ),
        case(
            "not text",
            with("severity: high", "severity: high\n    1: x"),
            (9, 5),
            "a field name must be text, found the number `1`",
            "the fields here are",
        ),
    ]);
}

#[test]
fn severities_names_and_series() {
    check(&[
        case(
            "unknown severity",
            with("high", "urgent"),
            (8, 15),
            "unknown severity `urgent`",
            "use one of info, low, medium, high, critical",
        ),
        case(
            "misspelt severity",
            with("high", "hihg"),
            (8, 15),
            "unknown severity `hihg`",
            "did you mean `high`?",
        ),
        case(
            "numeric severity",
            with("high", "3"),
            (8, 15),
            "unknown severity: found the number `3`",
            "use one of",
        ),
        case(
            "bad series name",
            with("cpu.total.busy_pct", "\"cpu load\""),
            (4, 13),
            "invalid series name `cpu load`",
            "e.g. `cpu.total.busy_pct`",
        ),
        case(
            "series with a leading dot",
            with("cpu.total.busy_pct", ".cpu"),
            (4, 13),
            "invalid series name `.cpu`",
            "docs/rules.md",
        ),
        case(
            "numeric name",
            with("\"CPU saturated\"", "123"),
            (2, 11),
            "`name` must be text, found the number `123`",
            "put it in quotes: `name: \"123\"`",
        ),
        case(
            "blank name",
            with("\"CPU saturated\"", "\"  \""),
            (2, 11),
            "the rule name is empty",
            "unique name",
        ),
    ]);
}
