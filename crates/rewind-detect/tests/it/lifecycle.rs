//! The shared lifecycle (pending → firing → resolved, cancelled), hysteresis,
//! wildcards, bands, absence, budgets and composites.

use rewind_detect::{Decision, Engine, RuleSet, SignalKind, Suppression};
use rewind_model::{Sample, SeriesName, Timestamp};

fn at(secs: f64) -> Timestamp {
    #[allow(clippy::cast_possible_truncation)]
    Timestamp::from_unix_millis(1_700_000_000_000 + (secs * 1000.0).round() as i64)
}

fn engine(yaml: &str) -> Engine {
    Engine::new(&RuleSet::parse(yaml, "t.yaml").unwrap())
}

/// Feeds `(secs, series, value)`; returns `(secs, rule, subject, kind)` per signal.
fn feed(e: &mut Engine, samples: &[(f64, &str, f64)]) -> Vec<(f64, String, String, SignalKind)> {
    let mut out = Vec::new();
    for &(secs, name, value) in samples {
        let series = SeriesName::new(name).unwrap();
        for s in e.observe(&series, Sample::new(at(secs), value)) {
            out.push((secs, s.rule, s.subject, s.kind));
        }
    }
    out
}

fn kinds(signals: &[(f64, String, String, SignalKind)]) -> Vec<(f64, SignalKind)> {
    signals.iter().map(|(t, _, _, k)| (*t, *k)).collect()
}

const HOT: &str = "triggers:\n  - name: hot\n    type: metric_threshold\n    metric: cpu\n    threshold: { above: 80 }\n    hysteresis: 5\n    duration: 2\n    severity: high\n";

#[test]
fn pending_then_firing_then_resolved_with_hysteresis() {
    let mut e = engine(HOT);
    let signals = feed(
        &mut e,
        &[
            (0.0, "cpu", 50.0),
            (1.0, "cpu", 81.0), // pending
            (2.0, "cpu", 78.0), // still beyond: within the 5-point hysteresis
            (3.0, "cpu", 90.0), // fires: 2 s since 1.0
            (4.0, "cpu", 76.0), // still firing (above 75)
            (5.0, "cpu", 75.0), // resolved: back to the clear level
            (6.0, "cpu", 79.0), // not beyond: must exceed 80 again
        ],
    );
    assert_eq!(
        kinds(&signals),
        [
            (1.0, SignalKind::Pending),
            (3.0, SignalKind::Firing),
            (5.0, SignalKind::Resolved)
        ]
    );
}

#[test]
fn a_pending_rule_that_clears_is_cancelled_and_never_fires() {
    let mut e = engine(HOT);
    let signals = feed(
        &mut e,
        &[
            (0.0, "cpu", 90.0),
            (1.0, "cpu", 90.0),
            (1.5, "cpu", 60.0),
            (4.0, "cpu", 60.0),
        ],
    );
    assert_eq!(
        kinds(&signals),
        [(0.0, SignalKind::Pending), (1.5, SignalKind::Cancelled)]
    );
}

#[test]
fn exactly_at_the_threshold_is_not_beyond_it() {
    let mut e = engine(&HOT.replace("duration: 2", "duration: 0"));
    assert!(feed(&mut e, &[(0.0, "cpu", 80.0)]).is_empty());
    assert_eq!(
        kinds(&feed(&mut e, &[(1.0, "cpu", 80.000_001)])),
        [(1.0, SignalKind::Firing)]
    );
}

#[test]
fn a_gap_longer_than_max_gap_restarts_the_duration() {
    let yaml = HOT.replace("duration: 2", "duration: 2\n    max_gap: 5");
    let mut e = engine(&yaml);
    // 0 s pending; nothing for 10 s; 10 s and 11 s beyond: not 2 s of known data yet.
    let signals = feed(
        &mut e,
        &[
            (0.0, "cpu", 90.0),
            (10.0, "cpu", 90.0),
            (11.0, "cpu", 90.0),
            (12.0, "cpu", 90.0),
        ],
    );
    assert_eq!(
        kinds(&signals),
        [(0.0, SignalKind::Pending), (12.0, SignalKind::Firing)]
    );
    // Within max_gap, the run holds across the quiet stretch.
    let mut e = engine(&yaml);
    let signals = feed(&mut e, &[(0.0, "cpu", 90.0), (4.0, "cpu", 90.0)]);
    assert_eq!(
        kinds(&signals),
        [(0.0, SignalKind::Pending), (4.0, SignalKind::Firing)]
    );
}

#[test]
fn non_finite_samples_break_a_run() {
    let mut e = engine(HOT);
    let signals = feed(
        &mut e,
        &[
            (0.0, "cpu", 90.0),
            (1.0, "cpu", f64::NAN),
            (2.0, "cpu", 90.0),
            (3.0, "cpu", f64::INFINITY),
            (4.0, "cpu", 95.0),
        ],
    );
    assert_eq!(
        kinds(&signals),
        [
            (0.0, SignalKind::Pending),
            (1.0, SignalKind::Cancelled),
            (2.0, SignalKind::Pending),
            (3.0, SignalKind::Cancelled),
            (4.0, SignalKind::Pending)
        ]
    );
}

#[test]
fn wildcards_watch_each_matching_series_on_its_own() {
    let yaml = "triggers:\n  - name: full\n    type: metric_threshold\n    metric: \"disk.*.used_pct\"\n    threshold: { above: 90 }\n    severity: high\n";
    let mut e = engine(yaml);
    let signals = feed(
        &mut e,
        &[
            (0.0, "disk./home.used_pct", 95.0),
            (0.0, "disk.root.used_pct", 50.0),
            (1.0, "disk.root.used_pct", 99.0),
            (1.0, "disk./home.used_pct", 96.0),
            (1.0, "diskio.sda.busy_pct", 99.0),
        ],
    );
    let subjects: Vec<_> = signals
        .iter()
        .map(|(t, _, s, k)| (*t, s.as_str(), *k))
        .collect();
    assert_eq!(
        subjects,
        [
            (0.0, "disk./home.used_pct", SignalKind::Firing),
            (1.0, "disk.root.used_pct", SignalKind::Firing)
        ]
    );
    assert!(e.watches(&SeriesName::new("disk.data.used_pct").unwrap()));
    assert!(!e.watches(&SeriesName::new("diskio.sda.busy_pct").unwrap()));
}

#[test]
fn outside_a_band_fires_on_either_side() {
    let yaml = "triggers:\n  - name: band\n    type: metric_threshold\n    metric: v\n    threshold: { outside: [10, 20] }\n    hysteresis: 1\n    severity: low\n";
    let mut e = engine(yaml);
    let signals = feed(
        &mut e,
        &[
            (0.0, "v", 15.0),
            (1.0, "v", 9.0),
            (2.0, "v", 10.5),
            (3.0, "v", 11.0),
            (4.0, "v", 21.0),
            (5.0, "v", 18.0),
        ],
    );
    assert_eq!(
        kinds(&signals),
        [
            (1.0, SignalKind::Firing),
            (3.0, SignalKind::Resolved),
            (4.0, SignalKind::Firing),
            (5.0, SignalKind::Resolved)
        ]
    );
}

#[test]
fn absent_fires_on_silence_and_clears_on_the_next_sample() {
    let yaml = "triggers:\n  - name: lidar\n    type: absent\n    topic: /scan\n    after: 3\n    severity: high\n";
    let mut e = engine(yaml);
    let scan = SeriesName::new("topic./scan.rate_hz").unwrap();
    // Never seen: the rule holds 3 s after the engine's first input.
    let other = SeriesName::new("cpu").unwrap();
    assert!(e.observe(&other, Sample::new(at(0.0), 1.0)).is_empty());
    assert!(e.advance(at(2.9)).is_empty());
    let fired = e.advance(at(3.0));
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].kind, SignalKind::Firing);
    assert_eq!(
        fired[0].trigger.as_ref().unwrap().summary,
        "topic./scan.rate_hz has not arrived in the 3.0 s since watching began"
    );
    let back = e.observe(&scan, Sample::new(at(4.0), 10.0));
    assert_eq!(back[0].kind, SignalKind::Resolved);
    assert!(e.advance(at(6.9)).is_empty());
    let again = e.advance(at(7.5));
    assert_eq!(
        again[0].trigger.as_ref().unwrap().summary,
        "topic./scan.rate_hz sent no sample for 3.5 s (last at 2023-11-14T22:13:24Z)"
    );
}

#[test]
fn cooldown_suppresses_captures_and_counts_them() {
    let yaml = "triggers:\n  - name: hot\n    type: metric_threshold\n    metric: cpu\n    threshold: { above: 80 }\n    severity: high\n    cooldown: 10\n";
    let mut e = engine(yaml);
    let series = SeriesName::new("cpu").unwrap();
    let mut decisions = Vec::new();
    for (secs, v) in [
        (0.0, 90.0),
        (1.0, 50.0),
        (5.0, 90.0),
        (6.0, 50.0),
        (10.0, 90.0),
    ] {
        for s in e.observe(&series, Sample::new(at(secs), v)) {
            if s.kind == SignalKind::Firing {
                decisions.push((secs, s.decision));
            }
        }
    }
    assert_eq!(
        decisions,
        [
            (0.0, Decision::Capture),
            (
                5.0,
                Decision::Suppressed(Suppression::Cooldown { until: at(10.0) })
            ),
            (10.0, Decision::Capture)
        ]
    );
    assert_eq!(e.stats().suppressed.get("hot"), Some(&1));
    assert_eq!(e.stats().fired.get("hot"), Some(&3));
}

#[test]
fn warnings_have_their_own_budget_and_cannot_crowd_out_critical_captures() {
    let yaml = "budgets: { warnings: 2, per: 60 }\ntriggers:\n  - name: warm\n    type: metric_threshold\n    metric: \"w.*\"\n    threshold: { above: 1 }\n    severity: medium\n    cooldown: 0\n  - name: fire\n    type: metric_threshold\n    metric: c\n    threshold: { above: 1 }\n    severity: critical\n";
    let mut e = engine(yaml);
    let mut captured = Vec::new();
    let mut suppressed = Vec::new();
    for (secs, name) in [
        (0.0, "w.a"),
        (1.0, "w.b"),
        (2.0, "w.c"),
        (3.0, "c"),
        (61.0, "w.d"),
    ] {
        for s in e.observe(&SeriesName::new(name).unwrap(), Sample::new(at(secs), 5.0)) {
            match s.decision {
                Decision::Capture => captured.push(s.subject),
                Decision::Suppressed(Suppression::WarningBudget { until }) => {
                    suppressed.push((s.subject, until))
                }
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(captured, ["w.a", "w.b", "c", "w.d"]);
    assert_eq!(suppressed, [("w.c".to_owned(), at(60.0))]);
}

#[test]
fn dry_run_rules_decide_nothing_but_are_counted() {
    let yaml = "triggers:\n  - name: new\n    type: metric_threshold\n    metric: cpu\n    threshold: { above: 80 }\n    duration: 1\n    severity: critical\n    dry_run: true\n";
    let mut e = engine(yaml);
    let series = SeriesName::new("cpu").unwrap();
    let mut decisions = Vec::new();
    for secs in [0.0, 1.0] {
        for s in e.observe(&series, Sample::new(at(secs), 95.0)) {
            decisions.push((s.kind, s.decision));
        }
    }
    assert_eq!(
        decisions,
        [
            (SignalKind::Pending, Decision::DryRun),
            (SignalKind::Firing, Decision::DryRun)
        ]
    );
    assert_eq!(e.stats().fired.get("new"), Some(&1));
}

const PAIR: &str = "triggers:\n  - name: a\n    type: metric_threshold\n    metric: a\n    threshold: { above: 0 }\n    severity: low\n  - name: b\n    type: metric_threshold\n    metric: b\n    threshold: { above: 0 }\n    severity: low\n";

#[test]
fn all_and_any_follow_their_rules() {
    let yaml = format!(
        "{PAIR}  - name: both\n    type: composite\n    all: [a, b]\n    severity: high\n  - name: either\n    type: composite\n    any: [a, b]\n    severity: medium\n"
    );
    let mut e = engine(&yaml);
    let signals = feed(
        &mut e,
        &[
            (0.0, "a", 1.0),
            (1.0, "b", 1.0),
            (2.0, "a", 0.0),
            (3.0, "b", 0.0),
        ],
    );
    let composite: Vec<_> = signals
        .iter()
        .filter(|(_, r, _, _)| r == "both" || r == "either")
        .map(|(t, r, _, k)| (*t, r.as_str(), *k))
        .collect();
    assert_eq!(
        composite,
        [
            (0.0, "either", SignalKind::Firing),
            (1.0, "both", SignalKind::Firing),
            (2.0, "both", SignalKind::Resolved),
            (3.0, "either", SignalKind::Resolved)
        ]
    );
}

#[test]
fn a_sequence_needs_its_order_and_its_window() {
    let yaml = format!(
        "{PAIR}  - name: a then b\n    type: composite\n    sequence: [a, b]\n    within: 5\n    severity: high\n"
    );
    let fired = |samples: &[(f64, &str, f64)]| -> Vec<f64> {
        let mut e = engine(&yaml);
        feed(&mut e, samples)
            .into_iter()
            .filter(|(_, r, _, k)| r == "a then b" && *k == SignalKind::Firing)
            .map(|(t, ..)| t)
            .collect()
    };
    assert_eq!(
        fired(&[(0.0, "a", 1.0), (5.0, "b", 1.0)]),
        [5.0],
        "exactly at the window"
    );
    assert!(
        fired(&[(0.0, "a", 1.0), (5.1, "b", 1.0)]).is_empty(),
        "too late"
    );
    assert!(
        fired(&[(0.0, "b", 1.0), (1.0, "a", 1.0)]).is_empty(),
        "wrong order"
    );
    let mut e = engine(&yaml);
    let signals = feed(&mut e, &[(0.0, "a", 1.0), (1.0, "b", 1.0)]);
    let trigger = signals
        .iter()
        .find(|(_, r, _, k)| r == "a then b" && *k == SignalKind::Firing);
    assert!(trigger.is_some());
}

#[test]
fn composites_refuse_unknown_rules_self_reference_and_cycles() {
    let unknown =
        format!("{PAIR}  - name: c\n    type: composite\n    all: [a, bb]\n    severity: high\n");
    let err = RuleSet::parse(&unknown, "t.yaml").unwrap_err().to_string();
    assert!(
        err.contains("rule `c` refers to `bb`, which is not a rule in this file"),
        "{err}"
    );
    assert!(err.contains("did you mean `b`?"), "{err}");
    let cycle = "triggers:\n  - name: x\n    type: composite\n    any: [y]\n    severity: high\n  - name: y\n    type: composite\n    any: [x]\n    severity: high\n";
    let err = RuleSet::parse(cycle, "t.yaml").unwrap_err().to_string();
    assert!(err.contains("refer to each other in a cycle"), "{err}");
    let itself = "triggers:\n  - name: x\n    type: composite\n    any: [x]\n    severity: high\n";
    let err = RuleSet::parse(itself, "t.yaml").unwrap_err().to_string();
    assert!(err.contains("rule `x` refers to itself"), "{err}");
}
