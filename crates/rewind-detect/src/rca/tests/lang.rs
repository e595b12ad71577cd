//! The chain language: what parses, and how problems are reported.

use crate::rca::ChainSet;
use crate::rca::lang::{ChangeDirection, Part, Predicate};

const MINIMAL: &str = r#"
chains:
  - name: hot-then-gone
    title: "Hot, then gone"
    prior: 0.9
    steps:
      - id: hot
        what: "heat"
        trigger: { before: 2m, after: 0 }
        metric: { series: "gpu.*.temp_c", above: 85, for: 500ms }
      - id: gone
        what: "a node missing"
        within: 30s
        any:
          - event: { kind: node_missing, fields: { node: "perception*" } }
          - fired: { rule: "Node*", type: node_status }
      - id: drop
        what: "a topic dropping"
        optional: true
        within: 10
        metric: { series: "topic.*.rate_hz", change: down, by_pct: 30, baseline: 20s }
    cause: "{hot.series} reached {hot.peak}; {gone.node|a node} went missing after {trigger.rule}"
    actions: ["Cool {hot.star}."]
"#;

#[test]
fn a_chain_parses_into_steps_windows_and_templates() {
    let set = ChainSet::parse(MINIMAL, "chains.yaml").unwrap();
    let chain = set.chain("hot-then-gone").unwrap();
    assert_eq!((chain.title.as_str(), chain.prior), ("Hot, then gone", 0.9));
    assert_eq!(
        chain.window.before_nanos, 600_000_000_000,
        "the default window"
    );
    let [hot, gone, drop] = chain.steps.as_slice() else {
        panic!("{:?}", chain.steps)
    };
    assert_eq!(hot.trigger.before_nanos, 120_000_000_000);
    assert_eq!(hot.trigger.after_nanos, 0);
    assert_eq!(hot.within_nanos, None);
    let Predicate::Metric(m) = &hot.any[0] else {
        panic!()
    };
    assert_eq!(m.for_nanos, 500_000_000);
    assert_eq!(gone.within_nanos, Some(30_000_000_000));
    assert_eq!(gone.any.len(), 2);
    assert!(drop.optional);
    assert_eq!(
        drop.within_nanos,
        Some(10_000_000_000),
        "a plain number is seconds"
    );
    let Predicate::Metric(m) = &drop.any[0] else {
        panic!()
    };
    let change = m.change.unwrap();
    assert_eq!(change.direction, ChangeDirection::Down);
    assert_eq!((change.by_pct, change.spreads), (30.0, 4.0));
    assert_eq!(change.baseline_nanos, 20_000_000_000);
    assert!(matches!(
        &chain.cause.parts[2],
        Part::Slot { step, key, fallback: None } if step == "hot" && key == "peak"
    ));
}

#[test]
fn problems_are_reported_with_line_column_and_hint() {
    let yaml = r#"chains:
  - name: Bad Name
    title: "x"
    prior: 2
    steps:
      - id: first
        what: "one"
        within: 30s
        event: { kind: oom_kil, level: loud }
      - id: second
        what: "two"
        metric: { series: "cpu.total.busy_pct" }
        fired: { rule: "*" }
      - id: third
        what: "three"
        wihtin: 10s
        metric: { series: "x", above: 1, change: sideways }
    cause: "{nope.value} and {first.peak"
"#;
    let err = ChainSet::parse(yaml, "chains.yaml").unwrap_err();
    let text = err.to_string();
    let expect = [
        "chains.yaml:2:11: error: invalid chain name `Bad Name`",
        "chains.yaml:4:12: error: `prior` must be more than 0 and at most 1, found `2`",
        "chains.yaml:8:17: error: the first step has no previous step to be `within` of",
        "chains.yaml:9:24: error: unknown event kind `oom_kil`\n  hint: did you mean `oom_kill`?",
        "chains.yaml:9:40: error: unknown level `loud`",
        "chains.yaml:13:16: error: the step has `metric` and `fired`: give one",
        "chains.yaml:16:9: error: unknown field `wihtin`\n  hint: did you mean `within`?",
        "chains.yaml:17:50: error: unknown change direction `sideways`",
        "chains.yaml:18:12: error: in `cause`: a `{` without its `}`",
    ];
    for e in expect {
        assert!(text.contains(e), "missing {e:?} in:\n{text}");
    }
    assert!(
        err.problems
            .iter()
            .all(|p| p.line > 0 && p.column > 0 && p.hint.is_some())
    );
    let lines: Vec<usize> = err.problems.iter().map(|p| p.line).collect();
    assert!(lines.is_sorted(), "in file order: {lines:?}");
}

#[test]
fn placeholders_must_name_a_step_and_a_value_it_has() {
    let yaml = r#"chains:
  - name: c
    title: "c"
    steps:
      - id: hot
        what: "heat"
        metric: { series: "gpu.0.temp_c", above: 85 }
    cause: "{cold.series} {hot.process} {hot.peak} {trigger.rule} {trigger.team}"
"#;
    let err = ChainSet::parse(yaml, "c.yaml").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("c.yaml:8:12: error: in `cause`: `{cold.series}` names no step of this chain\n  hint: the steps are: hot, and `trigger`"), "{text}");
    assert!(text.contains("step `hot` has no value `process`"), "{text}");
    assert_eq!(err.problems.len(), 2, "{text}");
}

#[test]
fn yaml_syntax_errors_are_reported_alone_with_their_place() {
    let err = ChainSet::parse("chains:\n  - name: [unclosed\n", "c.yaml").unwrap_err();
    assert_eq!(err.problems.len(), 1);
    let p = &err.problems[0];
    assert!(p.line >= 2 && p.column > 0, "{p:?}");
    assert!(p.message.starts_with("invalid YAML"), "{p:?}");
}

#[test]
fn empty_and_wrong_documents_say_what_to_write() {
    let err = ChainSet::parse("", "c.yaml").unwrap_err();
    assert!(err.to_string().contains("the chain file is empty"));
    let err = ChainSet::parse("chains: []\n", "c.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "c.yaml:1:9: error: the `chains` list is empty\n  hint: add at least one chain; see docs/root-cause.md"
    );
    let err = ChainSet::parse("chains:\n  - name: a\n    title: a\n    cause: a\n    steps:\n      - { id: x, what: x, optional: true, event: {} }\n", "c.yaml").unwrap_err();
    assert!(err.to_string().contains("every step is optional"), "{err}");
    let err = ChainSet::parse("chains:\n  - { name: a, title: a, cause: a, steps: [ { id: x, what: x, event: { message: \"(\" } } ] }\n", "c.yaml").unwrap_err();
    assert!(err.to_string().contains("invalid regex `(`"), "{err}");
}

#[test]
fn durations_take_units_or_seconds() {
    for (text, nanos) in [
        ("30", 30_000_000_000_i64),
        ("2.5", 2_500_000_000),
        ("500ms", 500_000_000),
        ("30s", 30_000_000_000),
        ("2m", 120_000_000_000),
        ("1h", 3_600_000_000_000),
    ] {
        let yaml = format!(
            "chains:\n  - {{ name: a, title: a, cause: a, steps: [ {{ id: x, what: x, event: {{}} }}, {{ id: y, what: y, within: {text}, event: {{}} }} ] }}\n"
        );
        let set = ChainSet::parse(&yaml, "c.yaml").unwrap();
        assert_eq!(set.chains()[0].steps[1].within_nanos, Some(nanos), "{text}");
    }
    for bad in ["-3s", "3 days", "fast"] {
        let yaml = format!(
            "chains:\n  - {{ name: a, title: a, cause: a, steps: [ {{ id: x, what: x, event: {{}} }}, {{ id: y, what: y, within: \"{bad}\", event: {{}} }} ] }}\n"
        );
        let err = ChainSet::parse(&yaml, "c.yaml").unwrap_err();
        assert!(
            err.to_string().contains("must be a duration"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn the_builtin_library_parses_and_a_site_file_overrides_a_chain() {
    let mut set = crate::rca::builtin().unwrap();
    let names: Vec<&str> = set.chains().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "thermal-throttling",
            "oom-restart-loop",
            "disk-full",
            "network-starvation",
            "cpu-contention",
            "bad-deploy",
            "undervoltage",
            "clock-jump"
        ]
    );
    let site = ChainSet::parse(
        "chains:\n  - { name: disk-full, title: Site disk, prior: 0.1, cause: x, steps: [ { id: x, what: x, event: {} } ] }\n",
        "site.yaml",
    )
    .unwrap();
    set.extend(site);
    assert_eq!(set.chains().len(), 8);
    assert_eq!(set.chain("disk-full").unwrap().title, "Site disk");
}

/// `docs/root-cause.md` stays true: its first example parses, and its error
/// example prints what the page says.
mod doc {
    use crate::rca::ChainSet;

    const DOC: &str = include_str!("../../../../../docs/root-cause.md");

    fn blocks<'a>(text: &'a str, lang: &str) -> Vec<&'a str> {
        let fence = format!("```{lang}\n");
        text.split(fence.as_str())
            .skip(1)
            .filter_map(|rest| rest.split("```").next())
            .collect()
    }

    #[test]
    fn the_first_example_parses_and_matches_the_seed_incident() {
        let set = ChainSet::parse(blocks(DOC, "yaml")[0], "root-cause.md").unwrap();
        let a = crate::rca::analyze(&super::super::scenarios::thermal(), &set);
        let best = a.best().unwrap();
        assert_eq!(best.chain, "thermal-throttling");
        let headline = format!(
            "Likely cause: {} (confidence {})",
            best.title, best.confidence
        );
        assert!(DOC.contains(&headline), "{headline}");
    }

    #[test]
    fn the_error_example_prints_what_the_page_says() {
        let errors = DOC.split("## Errors").nth(1).unwrap();
        let err = ChainSet::parse(blocks(errors, "yaml")[0], "chains.yaml").unwrap_err();
        assert_eq!(err.to_string(), blocks(errors, "text")[0].trim_end());
    }

    #[test]
    fn the_ranking_example_is_what_the_analysis_says() {
        let a = super::super::analysis(&super::super::scenarios::thermal_and_contention());
        assert!(DOC.contains(&a.causes[0].reason), "{}", a.causes[0].reason);
    }
}
