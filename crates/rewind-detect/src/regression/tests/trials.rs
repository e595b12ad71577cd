//! Seeded trials shaped like `rewind bench detect`'s: healthy deploys must
//! give no regression, and every step of at least 3 baseline spreads must
//! be found, soon after it starts. Counts, not wall-clock times.

use super::super::verdict::DeployVerdict;
use super::super::{
    Finding, RegressionConfig, SeriesKey, Verdict, WatchEvent, Watcher, analyze_deploy,
};
use super::*;

const STEP: i64 = 5;
const TRIALS: u64 = 200;

/// One deploy at t = 0 with four series sampled every 5 s from −32 min to
/// +5 min; `bad` = Some((metric index, step in spreads, start in s)).
fn trial(seed: u64, bad: Option<(usize, f64, i64)>) -> Vec<Series> {
    let mut rng = Rng::new(seed);
    // (name, kind, level, spread): CVs of 2–10 %, so 3 spreads ≥ 6 %.
    let specs = [
        ("p95_latency_ms", MetricKind::Latency, 190.0_f64, 15.0),
        ("error_rate", MetricKind::Rate, 0.02, 0.002),
        ("request_rate", MetricKind::Throughput, 1_200.0, 25.0),
        ("errors", MetricKind::Count, 3.0, 0.0),
    ];
    specs
        .iter()
        .enumerate()
        .map(|(i, &(name, kind, level, sd))| {
            let step = bad.filter(|b| b.0 == i);
            series(name, kind, -1_920, 300, STEP, |t| {
                let shift = step.filter(|b| t >= b.2).map_or(0.0, |b| {
                    b.1 * if kind == MetricKind::Count {
                        level.sqrt()
                    } else {
                        sd
                    }
                });
                if kind == MetricKind::Count {
                    rng.poisson(level + shift)
                } else {
                    level + shift + sd * rng.normal()
                }
            })
        })
        .collect()
}

fn bad_case(rng: &mut Rng) -> (usize, f64, i64) {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let metric = [0, 1, 3][(rng.uniform() * 3.0) as usize];
    let spreads = 3.0 + 3.0 * rng.uniform();
    #[allow(clippy::cast_possible_truncation)]
    let start = (rng.uniform() * 12.0) as i64 * STEP;
    (metric, spreads, start)
}

/// Samples from the true change to the detection (0 = on the first changed sample).
fn latency(v: &DeployVerdict, start: i64) -> Option<i64> {
    let t = v.detected_at?;
    Some(t.nanos_since(at(start)) / 1_000_000_000 / STEP)
}

#[test]
fn healthy_deploys_never_regress_and_three_spread_steps_are_always_found() {
    let cfg = RegressionConfig::default();
    let mut false_positives = Vec::new();
    // Several seeds' worth: a short run of high noise at the window's end,
    // picked as a change point from the same samples, must not pass.
    for seed in (0..TRIALS).chain(5_000..5_000 + 2 * TRIALS) {
        let v = analyze_deploy(&deploy(0), &trial(seed, None), &cfg).unwrap();
        if v.verdict == Verdict::Regression {
            false_positives.push(v.summary);
        }
    }
    assert!(false_positives.is_empty(), "{false_positives:#?}");
    let (mut missed, mut latencies) = (Vec::new(), Vec::new());
    let mut rng = Rng::new(99);
    for seed in 0..TRIALS {
        let case = bad_case(&mut rng);
        let v = analyze_deploy(&deploy(0), &trial(1_000 + seed, Some(case)), &cfg).unwrap();
        match (v.verdict, latency(&v, case.2)) {
            (Verdict::Regression, Some(l)) => latencies.push(l),
            _ => missed.push((case, v.summary)),
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
    latencies.sort_unstable();
    let median = latencies[latencies.len() / 2];
    assert!(
        median <= 2,
        "median detection latency {median} samples: {latencies:?}"
    );
    assert!(
        latencies[0] >= 0,
        "detected before the change: {latencies:?}"
    );
}

#[test]
fn the_watcher_agrees_with_the_batch_analysis_and_reports_early() {
    let cfg = RegressionConfig::default();
    let mut rng = Rng::new(7);
    for seed in 0..40 {
        let case = (seed % 2 == 0).then(|| bad_case(&mut rng));
        let series = trial(2_000 + seed, case);
        let batch = analyze_deploy(&deploy(0), &series, &cfg).unwrap();
        let mut w = Watcher::new(cfg.clone()).unwrap();
        let mut events = Vec::new();
        let mut merged: Vec<(rewind_model::Timestamp, usize, f64)> = series
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.points.iter().map(move |p| (p.0, i, p.1)))
            .collect();
        merged.sort_by_key(|p| (p.0, p.1));
        let keys: Vec<SeriesKey> = series
            .iter()
            .map(|s| SeriesKey::new(&s.name, s.kind).service("checkout"))
            .collect();
        let mut announced = false;
        for (t, i, x) in merged {
            if !announced && t >= at(0) {
                events.extend(w.deploy(deploy(0)));
                announced = true;
            }
            events.extend(w.push(&keys[i], t, x));
        }
        events.extend(w.advance(at(10_000)));
        let verdicts: Vec<&DeployVerdict> = events
            .iter()
            .filter_map(|e| {
                if let WatchEvent::Verdict(v) = e {
                    Some(&**v)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(verdicts.len(), 1, "one verdict per deploy");
        assert_eq!(
            verdicts[0].verdict, batch.verdict,
            "{}\n{}",
            verdicts[0].summary, batch.summary
        );
        let first = events.iter().find_map(|e| {
            if let WatchEvent::Detected { detection, .. } = e {
                Some(detection.detected_at)
            } else {
                None
            }
        });
        if batch.verdict == Verdict::Regression {
            assert_eq!(
                first, batch.detected_at,
                "the watcher saw it when the batch says it could"
            );
        }
    }
}

#[test]
fn a_change_that_began_before_the_deploy_is_not_blamed_on_it() {
    let cfg = RegressionConfig::default();
    let mut rng = Rng::new(17);
    let mut wrong = Vec::new();
    for seed in 0..TRIALS {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let metric = [0, 1][(rng.uniform() * 2.0) as usize];
        let spreads = 3.0 + 3.0 * rng.uniform();
        // 6–11 samples (60–110 s at the benchmark's 10 s) before the deploy.
        #[allow(clippy::cast_possible_truncation)]
        let start = -(12 + (rng.uniform() * 11.0) as i64) * STEP;
        let v = analyze_deploy(
            &deploy(0),
            &trial(3_000 + seed, Some((metric, spreads, start))),
            &cfg,
        )
        .unwrap();
        let began_before = v
            .metrics
            .iter()
            .any(|m| matches!(m.finding, Finding::BeganBeforeDeploy { .. }));
        if v.verdict == Verdict::Regression || !began_before {
            wrong.push((metric, spreads, start, v.summary));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
