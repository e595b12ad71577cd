//! `trend` rules: a robust line through the recent samples, and when it
//! reaches the threshold.

use crate::Fired as _;
use proptest::prelude::*;
use rewind_detect::kinds::trend::Trend;
use rewind_detect::{Engine, Pattern, RuleKind, RuleSet, Signal, SignalKind};
use rewind_model::{Comparison, Sample, SeriesName, Timestamp, Trigger};

const T0_MILLIS: i64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z

fn at(secs: f64) -> Timestamp {
    #[allow(clippy::cast_possible_truncation)]
    Timestamp::from_unix_millis(T0_MILLIS + (secs * 1000.0).round() as i64)
}

const DISK: &str = "disk./.used_pct";

/// Fields of the usual rule: 1 s buckets (64 s window / 64), so the fit is
/// exact on samples every second.
const USUAL: &[&str] = &[
    "threshold: { above: 95 }",
    "within: 30",
    "window: 64",
    "min_samples: 10",
];

/// An engine for one `trend` rule on `metric` with `fields` (YAML lines).
fn engine_on(metric: &str, fields: &[&str]) -> Engine {
    let mut yaml = format!(
        "triggers:\n  - name: heading\n    type: trend\n    metric: {metric}\n    severity: high\n"
    );
    for f in fields {
        yaml += &format!("    {f}\n");
    }
    Engine::new(&RuleSet::parse(&yaml, "x.yaml").unwrap())
}

fn engine(fields: &[&str]) -> Engine {
    engine_on(DISK, fields)
}

/// Feeds `(secs, value)` samples of `metric`; returns every signal.
fn feed_on(engine: &mut Engine, metric: &str, samples: &[(f64, f64)]) -> Vec<Signal> {
    let s = SeriesName::new(metric).unwrap();
    let mut out = Vec::new();
    for &(secs, value) in samples {
        out.extend(engine.observe(&s, Sample::new(at(secs), value)));
    }
    out
}

/// The triggers, with the time (s) of the sample each fired on.
fn triggers(engine: &mut Engine, samples: &[(f64, f64)]) -> Vec<(f64, Trigger)> {
    let s = SeriesName::new(DISK).unwrap();
    let mut out = Vec::new();
    for &(secs, value) in samples {
        for t in engine.observe(&s, Sample::new(at(secs), value)).fired() {
            out.push((secs, t));
        }
    }
    out
}

/// `(time, kind)` of every signal.
fn signals(engine: &mut Engine, samples: &[(f64, f64)]) -> Vec<(f64, SignalKind)> {
    let s = SeriesName::new(DISK).unwrap();
    let mut out = Vec::new();
    for &(secs, value) in samples {
        for signal in engine.observe(&s, Sample::new(at(secs), value)) {
            out.push((secs, signal.kind));
        }
    }
    out
}

/// One sample a second at `secs`, valued `f(secs)`.
fn ramp(secs: std::ops::Range<u32>, f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    secs.map(f64::from).map(|t| (t, f(t))).collect()
}

/// 50 + 0.5 per second: reaches 95 at 90 s.
fn rising(t: f64) -> f64 {
    50.0 + 0.5 * t
}

/// A deterministic stream of standard normal values (an LCG and Box–Muller).
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        #[allow(clippy::cast_precision_loss)]
        let u = (self.0 >> 11) as f64 / (1_u64 << 53) as f64;
        u
    }

    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[test]
fn a_linear_ramp_fires_when_the_crossing_is_exactly_within_reach() {
    // Crossing at 90 s; `within: 30` holds from 60 s on (30 s away,
    // inclusive). At 59 s it is 31 s away.
    let fired = triggers(&mut engine(USUAL), &ramp(0..80, rising));
    let [(secs, trigger)] = fired.as_slice() else {
        panic!("{fired:?}")
    };
    assert_eq!(*secs, 60.0);
    let e = &trigger.evidence[0];
    assert_eq!(e.predicted_at, Some(at(90.0)));
    assert_eq!(e.condition, Comparison::Above(95.0));
    assert_eq!(
        (e.observed, e.peak, e.since, e.samples),
        (80.0, 80.0, at(60.0), 1)
    );
    assert_eq!(e.window_nanos, Some(64_000_000_000));
    assert_eq!(
        e.text.as_deref(),
        Some("fitted 80 now, rising 0.5 per second")
    );
    assert_eq!(
        trigger.summary,
        "disk./.used_pct rising 0.5 per second, predicted to cross 95 at \
         2023-11-14T22:14:50Z (in 30.0 s)"
    );
}

#[test]
fn the_predicted_time_holds_for_a_longer_horizon_and_slower_units() {
    // 0.01 per second from 90: 95 at 500 s. `within: 600` holds as soon as
    // the samples span half the window (32 s), and speaks in minutes.
    let fields = ["threshold: { above: 95 }", "within: 600", "window: 64"];
    let fired = triggers(&mut engine(&fields), &ramp(0..40, |t| 90.0 + 0.01 * t));
    let [(secs, trigger)] = fired.as_slice() else {
        panic!("{fired:?}")
    };
    assert_eq!(*secs, 32.0);
    let predicted = trigger.evidence[0].predicted_at.unwrap();
    assert!(
        (predicted.nanos_since(at(500.0))).abs() < 1_000,
        "{predicted}"
    );
    assert_eq!(
        trigger.summary,
        "disk./.used_pct rising 0.6 per minute, predicted to cross 95 at \
         2023-11-14T22:21:40Z (in 7.8 min)"
    );
}

#[test]
fn a_series_already_beyond_holds_with_predicted_at_now() {
    let fired = triggers(&mut engine(USUAL), &ramp(0..40, |_| 97.0));
    let [(secs, trigger)] = fired.as_slice() else {
        panic!("{fired:?}")
    };
    assert_eq!(*secs, 32.0, "once the samples span half the window");
    assert_eq!(trigger.evidence[0].predicted_at, Some(at(32.0)));
    assert_eq!(
        trigger.summary,
        "disk./.used_pct is already above 95 (fitted 97, last 97), flat"
    );
}

#[test]
fn a_series_at_the_limit_and_level_is_not_beyond_it() {
    // `above` is strict: a flat line at 95 never gets above it.
    assert!(triggers(&mut engine(USUAL), &ramp(0..30, |_| 95.0)).is_empty());
}

#[test]
fn a_ramp_that_flattens_stops_holding() {
    // Rising until 60 s (fires), then flat at 80. The median slope falls as
    // flat buckets come in; the rule clears once the crossing is more than
    // 1.5 × 30 = 45 s away, i.e. the slope is below 15 / 45.
    let mut samples = ramp(0..61, rising);
    samples.extend(ramp(61..200, |_| 80.0));
    let got = signals(&mut engine(USUAL), &samples);
    // At 92 s the window (29..=92 s) is half ramp, half flat.
    assert_eq!(
        got,
        [(60.0, SignalKind::Firing), (92.0, SignalKind::Resolved)]
    );
}

#[test]
fn a_level_series_with_noise_predicts_nothing() {
    let mut noise = Noise(11);
    let fields = ["threshold: { above: 95 }", "within: 600"];
    let samples: Vec<(f64, f64)> = (0..5000)
        .map(|i| (f64::from(i), 50.0 + 2.0 * noise.normal()))
        .collect();
    let fired = triggers(&mut engine(&fields), &samples);
    assert!(fired.is_empty(), "{fired:#?}");
}

#[test]
fn a_noisy_ramp_is_predicted_about_right() {
    // 0.1 per second from 50 with noise of 1: 95 at 450 s; 120 s ahead.
    let mut noise = Noise(5);
    let fields = ["threshold: { above: 95 }", "within: 120", "window: 120"];
    let samples: Vec<(f64, f64)> = (0..600)
        .map(|i| (f64::from(i), 50.0 + 0.1 * f64::from(i) + noise.normal()))
        .collect();
    let fired = triggers(&mut engine(&fields), &samples);
    let [(secs, trigger)] = fired.as_slice() else {
        panic!("{fired:?}")
    };
    assert!((300.0..=350.0).contains(secs), "fired at {secs}");
    let off = trigger.evidence[0]
        .predicted_at
        .unwrap()
        .nanos_since(at(450.0));
    assert!(off.abs() < 20_000_000_000, "{off} ns off");
}

#[test]
fn spikes_do_not_tilt_the_fit() {
    // Every tenth sample is wild; the other buckets agree exactly, so the
    // median slope and intercept are those of the clean ramp.
    let samples = ramp(0..80, |t| if t % 10.0 == 5.0 { 1e6 } else { rising(t) });
    let fired = triggers(&mut engine(USUAL), &samples);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0, 60.0);
    assert_eq!(fired[0].1.evidence[0].predicted_at, Some(at(90.0)));
}

#[test]
fn a_falling_series_and_a_below_limit() {
    // 1000 - 10 per second: below 100 at 90 s.
    let fields = ["threshold: { below: 100 }", "within: 30", "window: 64"];
    let mut e = engine_on("mem.free_mb", &fields);
    let got: Vec<Trigger> =
        feed_on(&mut e, "mem.free_mb", &ramp(0..80, |t| 1000.0 - 10.0 * t)).fired();
    let [trigger] = got.as_slice() else {
        panic!("{got:?}")
    };
    assert_eq!(trigger.fired_at, at(60.0));
    assert_eq!(trigger.evidence[0].predicted_at, Some(at(90.0)));
    assert_eq!(trigger.evidence[0].condition, Comparison::Below(100.0));
    assert_eq!(
        trigger.summary,
        "mem.free_mb falling 10 per second, predicted to cross 100 at \
         2023-11-14T22:14:50Z (in 30.0 s)"
    );
}

#[test]
fn heading_away_from_the_limit_never_holds() {
    assert!(triggers(&mut engine(USUAL), &ramp(0..80, |t| 90.0 - 0.5 * t)).is_empty());
}

#[test]
fn the_same_rule_scaled_fires_at_the_same_sample() {
    let fields = ["threshold: { above: 95000 }", "within: 30", "window: 64"];
    let fired = triggers(&mut engine(&fields), &ramp(0..80, |t| 1000.0 * rising(t)));
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].0, 60.0);
    assert_eq!(fired[0].1.evidence[0].predicted_at, Some(at(90.0)));
}

#[test]
fn nothing_holds_before_min_samples_spanning_half_the_window() {
    // Crossing at 90 s, within 60 s from 30 s on. The samples span half
    // the window (32 s) at 32 s; with `min_samples: 40` the 40th sample
    // (39 s) is the first judged.
    let fields = ["threshold: { above: 95 }", "within: 60", "window: 64"];
    let fired = triggers(&mut engine(&fields), &ramp(0..50, rising));
    assert_eq!(fired[0].0, 32.0);
    let fields = [&fields[..], &["min_samples: 40"]].concat();
    let fired = triggers(&mut engine(&fields), &ramp(0..50, rising));
    assert_eq!(fired[0].0, 39.0);
    assert_eq!(fired[0].1.evidence[0].predicted_at, Some(at(90.0)));
}

#[test]
fn nan_and_infinite_samples_are_skipped() {
    let mut samples = Vec::new();
    for (t, v) in ramp(0..80, rising) {
        samples.push((t, v));
        samples.push((t + 0.25, f64::NAN));
        samples.push((t + 0.5, f64::INFINITY));
        samples.push((t + 0.75, f64::NEG_INFINITY));
    }
    let fired = triggers(&mut engine(USUAL), &samples);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].0, 60.0);
    assert_eq!(fired[0].1.evidence[0].predicted_at, Some(at(90.0)));
}

#[test]
fn late_and_duplicate_samples_change_nothing() {
    let clean = ramp(0..80, rising);
    let mut messy = Vec::new();
    for &(t, v) in &clean {
        messy.push((t, v));
        messy.push((t, 1e9)); // a duplicate timestamp
        messy.push((t - 0.5, -1e9)); // late
    }
    let expected: Vec<Trigger> = triggers(&mut engine(USUAL), &clean)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    let got: Vec<Trigger> = triggers(&mut engine(USUAL), &messy)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(expected.len(), 1);
    assert_eq!(got, expected);
}

#[test]
fn a_gap_inside_the_window_keeps_the_fit() {
    // Nothing from 30 to 50 s: fewer buckets, the same line.
    let samples: Vec<(f64, f64)> = ramp(0..80, rising)
        .into_iter()
        .filter(|&(t, _)| !(30.0..50.0).contains(&t))
        .collect();
    let fired = triggers(&mut engine(USUAL), &samples);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].0, 60.0);
    assert_eq!(fired[0].1.evidence[0].predicted_at, Some(at(90.0)));
}

#[test]
fn a_gap_longer_than_the_window_starts_again() {
    // The ramp stops at 40 s and resumes at 200 s, 50 s from the limit
    // (in reach of `within: 60`) on the same slope: the old samples are
    // gone, so the rule waits for new ones spanning 32 s.
    let fields = ["threshold: { above: 95 }", "within: 60", "window: 64"];
    let mut samples = ramp(0..40, rising);
    samples.extend(ramp(200..240, |t| 95.0 + 0.5 * (t - 250.0)));
    let got = triggers(&mut engine(&fields), &samples);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, 32.0);
    assert_eq!(got[1].0, 232.0);
    assert_eq!(got[1].1.evidence[0].predicted_at, Some(at(250.0)));
}

#[test]
fn the_documented_example_parses() {
    // As in the module's doc (`kinds/trend.rs`).
    let yaml = r#"
triggers:
  - name: "Disk filling"
    type: trend
    metric: disk.*.used_pct
    threshold: { above: 95 }
    within: 600        # predicted to cross in the next 10 minutes
    window: 300        # fit the last 5 minutes
    min_samples: 10
    severity: high
"#;
    let set = RuleSet::parse(yaml, "x.yaml").unwrap();
    assert_eq!(set.rules()[0].kind.type_name(), "trend");
}

#[test]
fn defaults_and_description() {
    let set = RuleSet::parse(
        "triggers:\n  - name: x\n    type: trend\n    metric: disk.*.used_pct\n    \
         threshold: { above: 95 }\n    within: 600\n    severity: low\n",
        "x.yaml",
    )
    .unwrap();
    let RuleKind::Trend(trend) = &set.rules()[0].kind else {
        panic!()
    };
    let expected = Trend {
        metric: Pattern::new("disk.*.used_pct"),
        condition: Comparison::Above(95.0),
        within_nanos: 600_000_000_000,
        window_nanos: 60_000_000_000,
        min_samples: 10,
    };
    assert_eq!(*trend, expected);
    assert_eq!(set.rules()[0].kind.type_name(), "trend");
    assert_eq!(
        set.rules()[0].kind.describe(),
        "any series matching `disk.*.used_pct` is predicted to go above 95 within 600.0 s, by \
         a robust line fitted to its last 60.0 s (from 10 samples on), or is already beyond it"
    );
}

/// The error for a `trend` rule with `fields` (lines 4 on, 4 spaces in).
fn problem(fields: &[&str]) -> String {
    let mut yaml = String::from("triggers:\n  - name: x\n    type: trend\n");
    for f in fields {
        yaml += &format!("    {f}\n");
    }
    yaml += "    severity: low\n";
    RuleSet::parse(&yaml, "x.yaml").unwrap_err().to_string()
}

const METRIC: &str = "metric: disk./.used_pct";
const ABOVE: &str = "threshold: { above: 95 }";
const WITHIN: &str = "within: 600";

#[test]
fn rejects_missing_fields_all_at_once() {
    assert_eq!(
        problem(&[]),
        "x.yaml:2:5: error: missing required field `metric`\n  \
         hint: add the series to watch, e.g. `metric: disk./.used_pct`\n\
         x.yaml:2:5: error: missing required field `threshold`\n  \
         hint: add the limit it heads for, e.g. `threshold: { above: 95 }`\n\
         x.yaml:2:5: error: missing required field `within`\n  \
         hint: add how soon a crossing matters, in seconds, e.g. `within: 600`"
    );
}

#[test]
fn rejects_a_bad_metric() {
    assert_eq!(
        problem(&["metric: \"disk used\"", ABOVE, WITHIN]),
        "x.yaml:4:13: error: invalid name pattern `disk used` in `metric`\n  \
         hint: write a name of at most 200 characters without spaces, where `*` matches \
         anything, e.g. `metric: disk./.used_pct`"
    );
}

#[test]
fn rejects_a_threshold_with_both_limits() {
    assert_eq!(
        problem(&[METRIC, "threshold: { above: 95, below: 5 }", WITHIN]),
        "x.yaml:5:29: error: `threshold` has both `above` and `below`; a trend heads for one \
         limit\n  hint: keep one of them, or write a second rule for the other limit"
    );
}

#[test]
fn rejects_a_threshold_without_a_limit() {
    assert_eq!(
        problem(&[METRIC, "threshold: {}", WITHIN]),
        "x.yaml:5:16: error: `threshold` needs `above` or `below`\n  \
         hint: add the limit the series heads for, e.g. `threshold: { above: 95 }`"
    );
    assert_eq!(
        problem(&[METRIC, "threshold: 95", WITHIN]),
        "x.yaml:5:16: error: `threshold` must be a mapping, found the number `95`\n  \
         hint: write e.g. `threshold: { above: 95 }`"
    );
}

#[test]
fn rejects_a_threshold_that_is_not_a_crossing() {
    assert_eq!(
        problem(&[METRIC, "threshold: { outside: [1, 2] }", WITHIN]),
        "x.yaml:5:18: error: unknown field `outside`\n  hint: the fields here are: above, below"
    );
    assert_eq!(
        problem(&[METRIC, "threshold: { abve: 95 }", WITHIN]),
        "x.yaml:5:18: error: unknown field `abve`\n  \
         hint: did you mean `above`? the fields here are: above, below"
    );
    assert_eq!(
        problem(&[METRIC, "threshold: { above: lots }", WITHIN]),
        "x.yaml:5:25: error: `above` must be a number, found the text `lots`\n  \
         hint: write a number, e.g. `above: 95`"
    );
}

#[test]
fn rejects_a_bad_within() {
    assert_eq!(
        problem(&[METRIC, ABOVE, "within: 0"]),
        "x.yaml:6:13: error: `within` must be more than 0, found `0`\n  \
         hint: give a number of seconds, e.g. `within: 600`"
    );
}

#[test]
fn rejects_a_bad_window() {
    assert_eq!(
        problem(&[METRIC, ABOVE, WITHIN, "window: -60"]),
        "x.yaml:7:13: error: `window` must not be negative, found `-60`\n  \
         hint: give a number of seconds, e.g. `window: 60`"
    );
}

#[test]
fn rejects_a_bad_min_samples() {
    assert_eq!(
        problem(&[METRIC, ABOVE, WITHIN, "min_samples: 2"]),
        "x.yaml:7:18: error: `min_samples` must be a whole number from 3 to 1000000, found \
         the number `2`\n  hint: write e.g. `min_samples: 3`"
    );
}

proptest! {
    #[test]
    fn any_samples_give_finite_evidence_and_never_panic(
        samples in prop::collection::vec(
            (0_u32..20_000, prop_oneof![
                4 => -100.0..100.0_f64,
                1 => any::<f64>(),
                1 => Just(f64::NAN),
                1 => Just(f64::INFINITY),
                1 => Just(f64::MAX),
                1 => Just(-f64::MAX),
            ]),
            0..300,
        ),
        below in any::<bool>(),
    ) {
        let threshold = if below { "threshold: { below: -50 }" } else { "threshold: { above: 50 }" };
        let mut e = engine(&[threshold, "within: 10", "window: 5", "min_samples: 3"]);
        let mut t = 0.0;
        for (dt, value) in samples {
            t += f64::from(dt) / 1000.0;
            for trigger in feed_on(&mut e, DISK, &[(t, value)]).fired() {
                let ev = &trigger.evidence[0];
                prop_assert!(ev.observed.is_finite() && ev.peak.is_finite());
                let predicted = ev.predicted_at.unwrap();
                prop_assert!(predicted >= trigger.fired_at);
                prop_assert!(predicted.nanos_since(trigger.fired_at) <= 15_000_000_000);
            }
        }
    }
}
