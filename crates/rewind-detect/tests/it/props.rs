//! Properties: hostile rules files never panic, valid ones round-trip, and
//! the engine fires at most once per unbroken run.

use crate::Fired as _;
use proptest::prelude::*;
use rewind_detect::{Engine, RuleKind, RuleSet};
use rewind_model::{Comparison, Sample, SeriesName, Timestamp};

const DEMO: &str = include_str!("../../../../examples/rules/demo.yaml");

/// Parsing must return, never panic; an error always has at least one problem.
fn parse_does_not_panic(text: &str) {
    if let Err(err) = RuleSet::parse(text, "fuzz.yaml") {
        assert!(!err.problems.is_empty());
        let _ = err.to_string();
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        parse_does_not_panic(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in "[-:{}\\[\\],&*!|>'\"#%@?~. \n\tA-Za-z0-9_]{0,300}") {
        parse_does_not_panic(&text);
    }

    #[test]
    fn a_mangled_demo_file_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3_u8, any::<char>()), 1..8),
    ) {
        let mut chars: Vec<char> = DEMO.chars().collect();
        for (at, op, c) in edits {
            let i = at.index(chars.len());
            match op {
                0 => chars.insert(i, c),
                1 => { chars.remove(i); }
                _ => chars[i] = c,
            }
        }
        parse_does_not_panic(&chars.into_iter().collect::<String>());
    }

    #[test]
    fn valid_rules_round_trip(
        rules in prop::collection::vec(
            ("[a-z]{1,8}(\\.[a-z_]{1,8}){0,2}", 0..3_u8, -1e12..1e12_f64, 0.0..1e6_f64),
            1..6,
        ),
    ) {
        let mut yaml = String::from("version: 1\ntriggers:\n");
        for (i, (metric, op, limit, secs)) in rules.iter().enumerate() {
            let op = ["above", "below", "equals"][usize::from(*op)];
            yaml += &format!(
                "  - name: \"rule {i}\"\n    type: metric_threshold\n    metric: {metric}\n    \
                 threshold: {{ {op}: {limit:?} }}\n    duration: {secs:?}\n    severity: low\n"
            );
        }
        let set = RuleSet::parse(&yaml, "gen.yaml").map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        for (rule, (metric, op, limit, secs)) in set.rules().iter().zip(&rules) {
            let condition = [Comparison::Above(*limit), Comparison::Below(*limit), Comparison::Equals(*limit)][usize::from(*op)].clone();
            #[allow(clippy::cast_possible_truncation)]
            let RuleKind::Threshold(threshold) = &rule.kind else {
                return Err(TestCaseError::fail(format!("{:?}", rule.kind)));
            };
            prop_assert_eq!(threshold.metric.as_str(), metric.as_str());
            prop_assert_eq!(&threshold.condition, &condition);
            prop_assert_eq!(rule.duration_nanos, (secs * 1e9).round() as i64);
        }
    }

    /// Between two triggers of a rule there is always an in-order sample that
    /// failed its condition; and every trigger's run lasted the duration.
    #[test]
    fn never_fires_twice_within_one_unbroken_run(
        duration_ms in 0..3_000_i64,
        limit in 0.0..100.0_f64,
        steps in prop::collection::vec((-500..1_000_i64, prop_oneof![9 => 0.0..100.0_f64, 1 => Just(f64::NAN)]), 1..200),
    ) {
        let yaml = format!(
            "triggers:\n  - name: r\n    type: metric_threshold\n    metric: m\n    \
             threshold: {{ above: {limit:?} }}\n    duration: {}\n    severity: info\n",
            duration_ms as f64 / 1000.0
        );
        let mut engine = Engine::new(&RuleSet::parse(&yaml, "p.yaml").unwrap());
        let m = SeriesName::new("m").unwrap();
        let (mut now, mut latest) = (0_i64, None::<i64>);
        let mut broken_since_last_fire = true;
        for (dt_ms, value) in steps {
            now += dt_ms; // negative steps send samples back in time
            let fired = engine.observe(&m, Sample::new(Timestamp::from_unix_millis(now), value)).fired();
            if latest.is_some_and(|l| now < l) {
                prop_assert!(fired.is_empty(), "a late sample fired");
                continue;
            }
            latest = Some(now);
            if !Comparison::Above(limit).holds(value) {
                broken_since_last_fire = true;
            }
            for trigger in fired {
                prop_assert!(broken_since_last_fire, "fired twice in one run");
                broken_since_last_fire = false;
                let evidence = &trigger.evidence[0];
                prop_assert!(evidence.observed > limit && evidence.peak >= evidence.observed);
                prop_assert!(trigger.fired_at.nanos_since(evidence.since) >= duration_ms * 1_000_000);
            }
        }
    }
}

#[test]
fn deep_nesting_is_refused_within_a_small_stack() {
    let deep = format!("triggers: {}{}", "[".repeat(5_000), "]".repeat(5_000));
    let block = (0..200).fold(String::from("a:\n"), |s, i| {
        s + &" ".repeat(2 * i + 2) + "- \n"
    });
    let parsed = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || {
            (
                RuleSet::parse(&deep, "d.yaml").is_err(),
                RuleSet::parse(&block, "b.yaml").is_err(),
            )
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(parsed, (true, true));
}

#[test]
fn alias_bombs_are_refused() {
    let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        yaml += &format!("a{i}: &a{i} [{refs}]\n");
    }
    let err = RuleSet::parse(&yaml, "bomb.yaml").unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
}
