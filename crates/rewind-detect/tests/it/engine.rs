//! The engine's `metric_threshold` semantics, sample by sample.

use std::collections::BTreeMap;

use crate::Fired as _;
use rewind_detect::{Engine, RuleSet};
use rewind_model::{Comparison, Evidence, Sample, SeriesName, Severity, Timestamp, Trigger};

const T0_MILLIS: i64 = 1_700_000_000_000;

fn at(secs: f64) -> Timestamp {
    #[allow(clippy::cast_possible_truncation)]
    Timestamp::from_unix_millis(T0_MILLIS + (secs * 1000.0).round() as i64)
}

fn series(name: &str) -> SeriesName {
    SeriesName::new(name).unwrap()
}

/// An engine for rules given as `(name, metric, threshold, duration)`.
fn engine(rules: &[(&str, &str, &str, f64)]) -> Engine {
    let mut yaml = String::from("triggers:\n");
    for (name, metric, threshold, duration) in rules {
        yaml += &format!(
            "  - name: {name}\n    type: metric_threshold\n    metric: {metric}\n    \
             threshold: {{ {threshold} }}\n    duration: {duration}\n    severity: high\n"
        );
    }
    Engine::new(&RuleSet::parse(&yaml, "test.yaml").unwrap())
}

/// Feeds `(secs, value)` samples of `name`; returns `(secs, rule)` for each trigger.
fn run(engine: &mut Engine, name: &str, samples: &[(f64, f64)]) -> Vec<(f64, String)> {
    let s = series(name);
    let mut fired = Vec::new();
    for &(secs, value) in samples {
        for trigger in engine.observe(&s, Sample::new(at(secs), value)).fired() {
            assert_eq!(trigger.fired_at, at(secs));
            fired.push((secs, trigger.rule));
        }
    }
    fired
}

fn fires_at(rules: &[(&str, &str, &str, f64)], samples: &[(f64, f64)]) -> Vec<f64> {
    run(&mut engine(rules), "cpu", samples)
        .into_iter()
        .map(|(secs, _)| secs)
        .collect()
}

const HOT: &[(&str, &str, &str, f64)] = &[("hot", "cpu", "above: 80", 2.0)];

#[test]
fn fires_once_the_condition_has_held_for_the_duration() {
    let samples = [
        (0.0, 90.0),
        (1.0, 91.0),
        (1.999, 92.0),
        (2.0, 93.0),
        (3.0, 94.0),
    ];
    assert_eq!(fires_at(HOT, &samples), [2.0]);
}

#[test]
fn duration_counts_from_the_first_sample_that_met_the_condition() {
    let samples = [(0.0, 50.0), (1.0, 90.0), (2.5, 90.0), (3.0, 90.0)];
    assert_eq!(fires_at(HOT, &samples), [3.0]);
}

#[test]
fn zero_duration_fires_on_the_first_sample_that_meets_it() {
    let rules = [("now", "cpu", "above: 80", 0.0)];
    assert_eq!(
        fires_at(&rules, &[(0.0, 10.0), (1.0, 81.0), (2.0, 99.0)]),
        [1.0]
    );
}

#[test]
fn a_failing_sample_re_arms_the_rule() {
    let samples = [
        (0.0, 90.0),
        (2.0, 90.0), // fires
        (3.0, 90.0),
        (4.0, 80.0), // not strictly above: clears
        (5.0, 90.0),
        (6.0, 90.0),
        (7.0, 90.0), // fires again
    ];
    assert_eq!(fires_at(HOT, &samples), [2.0, 7.0]);
}

#[test]
fn a_short_excursion_does_not_fire() {
    let samples = [
        (0.0, 90.0),
        (1.0, 90.0),
        (1.5, 70.0),
        (2.5, 90.0),
        (3.0, 90.0),
    ];
    assert!(fires_at(HOT, &samples).is_empty());
}

#[test]
fn nan_breaks_the_run() {
    let samples = [
        (0.0, 90.0),
        (1.0, 90.0),
        (2.0, f64::NAN),
        (3.0, 90.0),
        (4.0, 90.0),
        (5.0, 90.0),
    ];
    assert_eq!(fires_at(HOT, &samples), [5.0]);
}

#[test]
fn samples_going_back_in_time_are_ignored() {
    // The late sample at 0.5 s neither breaks the run nor counts in it.
    let samples = [(0.0, 90.0), (1.0, 90.0), (0.5, 10.0), (2.0, 90.0)];
    assert_eq!(fires_at(HOT, &samples), [2.0]);

    let mut e = engine(HOT);
    let fired = run(
        &mut e,
        "cpu",
        &[(10.0, 90.0), (12.0, 90.0), (11.0, 90.0), (9.0, 90.0)],
    );
    assert_eq!(fired, [(12.0, "hot".to_owned())]);
}

#[test]
fn samples_repeating_a_timestamp_are_dropped_and_counted() {
    // The first sample at 1.0 s wins: a repeat can neither clear nor re-fire.
    let rules = [("now", "cpu", "above: 80", 0.0)];
    let mut e = engine(&rules);
    let fired = run(
        &mut e,
        "cpu",
        &[(1.0, 90.0), (1.0, 10.0), (1.0, 90.0), (2.0, 95.0)],
    );
    assert_eq!(fired, [(1.0, "now".to_owned())]);
    assert_eq!(e.stats().late_samples, 2);
    let mut e = engine(&rules);
    let fired = run(&mut e, "cpu", &[(1.0, 10.0), (1.0, 90.0), (2.0, 90.0)]);
    assert_eq!(fired, [(2.0, "now".to_owned())]);
}

#[test]
fn several_rules_on_one_series_fire_independently_in_file_order() {
    let rules = [
        ("hot", "cpu", "above: 80", 1.0),
        ("warm", "cpu", "above: 50", 0.0),
        ("idle", "cpu", "below: 5", 0.0),
    ];
    let mut e = engine(&rules);
    let fired = run(
        &mut e,
        "cpu",
        &[
            (0.0, 90.0),
            (1.0, 60.0),
            (2.0, 90.0),
            (3.0, 95.0),
            (4.0, 1.0),
        ],
    );
    let fired: Vec<(f64, &str)> = fired.iter().map(|(t, r)| (*t, r.as_str())).collect();
    assert_eq!(fired, [(0.0, "warm"), (3.0, "hot"), (4.0, "idle")]);
}

#[test]
fn series_are_independent_and_unwatched_ones_are_ignored() {
    let rules = [
        ("cpu hot", "cpu", "above: 80", 1.0),
        ("mem low", "mem", "below: 100", 1.0),
    ];
    let mut e = engine(&rules);
    assert!(e.watches(&series("cpu")) && !e.watches(&series("disk")));
    assert!(run(&mut e, "disk", &[(0.0, 1e9), (5.0, 1e9)]).is_empty());
    assert!(run(&mut e, "cpu", &[(0.0, 90.0)]).is_empty());
    assert!(run(&mut e, "mem", &[(0.0, 10.0)]).is_empty());
    // Time on `mem` does not move `cpu`'s clock, and vice versa.
    assert_eq!(
        run(&mut e, "mem", &[(1.0, 5.0)]),
        [(1.0, "mem low".to_owned())]
    );
    assert_eq!(
        run(&mut e, "cpu", &[(1.0, 85.0)]),
        [(1.0, "cpu hot".to_owned())]
    );
}

#[test]
fn below_and_equals() {
    let rules = [("low", "cpu", "below: 10", 1.0)];
    assert_eq!(
        fires_at(&rules, &[(0.0, 9.0), (0.5, 10.0), (1.0, 5.0), (2.0, 1.0)]),
        [2.0]
    );
    let rules = [("stuck", "cpu", "equals: 42", 2.0)];
    assert_eq!(
        fires_at(
            &rules,
            &[
                (0.0, 42.0),
                (1.0, 42.0),
                (2.0, 42.0),
                (3.0, 42.5),
                (4.0, 42.0)
            ]
        ),
        [2.0]
    );
}

#[test]
fn the_trigger_carries_the_evidence_and_a_sentence() {
    let mut e = engine(&[("low memory", "mem", "below: 100", 1.5)]);
    let s = series("mem");
    let mut fired = Vec::new();
    for (secs, value) in [
        (0.0, 200.0),
        (1.0, 90.0),
        (1.5, 20.5),
        (2.5, 60.0),
        (3.0, 10.0),
    ] {
        fired.extend(e.observe(&s, Sample::new(at(secs), value)).fired());
    }
    let expected = Trigger {
        rule: "low memory".into(),
        rule_type: "metric_threshold".into(),
        severity: Severity::High,
        fired_at: at(2.5),
        summary: "mem stayed below 100 for 1.5 s (peak 20.5, now 60)".into(),
        evidence: vec![Evidence::new(
            s,
            Comparison::Below(100.0),
            60.0,
            20.5,
            at(1.0),
            3,
        )],
        labels: BTreeMap::new(),
    };
    assert_eq!(fired, [expected]);
}

#[test]
fn an_immediate_trigger_says_what_the_value_was() {
    let mut e = engine(&[("now", "cpu", "above: 80", 0.0)]);
    let fired = e
        .observe(&series("cpu"), Sample::new(at(0.0), 96.1))
        .fired();
    assert_eq!(fired[0].summary, "cpu was above 80 (now 96.1)");
    let mut e = engine(&[("exact", "cpu", "equals: 3", 0.0)]);
    let fired = e.observe(&series("cpu"), Sample::new(at(0.0), 3.0)).fired();
    assert_eq!(fired[0].summary, "cpu was equal to 3 (now 3)");
}
