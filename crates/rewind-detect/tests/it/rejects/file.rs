//! The file as a whole: structure, YAML errors, and collecting every problem.

use rewind_detect::RuleSet;

use super::{BASE, case, check, with};

#[test]
fn file_structure() {
    let second_rule = BASE.trim_start_matches("triggers:\n");
    check(&[
        case(
            "duplicate names",
            format!("{BASE}{second_rule}"),
            (9, 11),
            "duplicate rule name `CPU saturated`",
            "first used at line 2, column 11",
        ),
        case(
            "empty list",
            "triggers: []\n",
            (1, 11),
            "the `triggers` list is empty",
            "add at least one rule",
        ),
        case(
            "null list",
            "triggers:\n",
            (1, 9),
            "field `triggers` has no value",
            "docs/rules.md",
        ),
        case(
            "list of text",
            "triggers:\n  - just text\n",
            (2, 5),
            "each rule must be a mapping of fields, found the text `just text`",
            "- name: ...",
        ),
        case(
            "mapping instead of list",
            "triggers:\n  name: x\n",
            (2, 3),
            "`triggers` must be a list of rules, found a mapping",
            "- name: ...",
        ),
        case(
            "empty file",
            "",
            (1, 1),
            "the rules file is empty",
            "triggers:",
        ),
        case(
            "top-level list",
            "- a\n- b\n",
            (1, 1),
            "expected a mapping with a `triggers` list at the top level, found a list",
            "triggers:",
        ),
        case(
            "version 2",
            format!("version: 2\n{BASE}"),
            (1, 10),
            "unsupported rules file version: found the number `2`",
            "`version: 1`",
        ),
        case(
            "version as text",
            format!("version: \"1\"\n{BASE}"),
            (1, 10),
            "unsupported rules file version: found the text `1`",
            "`version: 1`",
        ),
    ]);
}

#[test]
fn yaml_errors() {
    check(&[
        case(
            "unclosed bracket",
            "triggers:\n  - name: [oops\n",
            (2, 11),
            "invalid YAML: unclosed bracket '['",
            "check the indentation",
        ),
        case(
            "tab indentation",
            "triggers:\n\t- name: x\n",
            (2, 2),
            "invalid YAML: tabs disallowed within this context (block indentation)",
            "indentation",
        ),
        case(
            "repeated key",
            with(
                "    severity: high\n",
                "    severity: high\n    severity: low\n",
            ),
            (9, 5),
            "duplicate mapping key `severity` is not allowed here",
            "each field may appear once",
        ),
        case(
            "two documents",
            format!("{BASE}---\n{BASE}"),
            (10, 1),
            "the file holds more than one YAML document",
            "remove the extra `---`",
        ),
        case(
            "deep nesting",
            format!("triggers: {}{}", "[".repeat(40), "]".repeat(40)),
            (1, 26),
            "the YAML is too large or nests too deeply for a rules file",
            "nesting",
        ),
        case(
            "control characters",
            "\u{0}\u{1}: x",
            (1, 1),
            "invalid YAML: unexpected character: `\\u{0}'",
            "syntax",
        ),
    ]);
}

#[test]
fn problems_in_every_rule_are_all_reported_in_file_order() {
    let yaml = "\
triggers:
  - name: a
    type: metric_threshold
    metric: cpu.total.busy_pct
    threshold: { above: hot }
    severity: urgent
  - name: b
    type: cpu_hot
    severity: high
  - name: a
    type: metric_threshold
    metric: memory.used_pct
    threshold: { below: 10 }
    duration: -3
    severity: low
";
    let err = RuleSet::parse(yaml, "many.yaml").unwrap_err();
    let found: Vec<(usize, usize)> = err.problems.iter().map(|p| (p.line, p.column)).collect();
    assert_eq!(
        found,
        [(5, 25), (6, 15), (8, 11), (10, 11), (14, 15)],
        "{err}"
    );
}

#[test]
fn messages_quote_hostile_text_safely() {
    let long = "x".repeat(500);
    let err = RuleSet::parse(
        &with("metric_threshold", &format!("\"\\e[2J{long}\"")),
        "r.yaml",
    )
    .unwrap_err();
    let message = &err.problems[0].message;
    assert!(
        message.starts_with("unknown rule type `\\u{1b}[2Jxxx"),
        "{message}"
    );
    assert!(message.chars().count() < 120, "{message}");
}
