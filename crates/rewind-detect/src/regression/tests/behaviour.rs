use proptest::prelude::{ProptestConfig, prop_assert_eq, proptest};

use super::super::{
    Analysis, BaselineUsed, Finding, InconclusiveReason, Period, RegressionConfig, Verdict,
    analyze_deploy,
};
use super::*;

fn one(s: &Series, secs: i64) -> super::super::MetricVerdict {
    let v = analyze_deploy(
        &deploy(secs),
        std::slice::from_ref(s),
        &RegressionConfig::default(),
    )
    .unwrap();
    assert_eq!(v.metrics.len(), 1);
    v.metrics[0].clone()
}

#[test]
fn a_clear_step_is_a_regression_with_its_timing() {
    let mut rng = Rng::new(1);
    let s = series("p95_latency_ms", MetricKind::Latency, -1_800, 300, 5, |t| {
        200.0 + 10.0 * rng.normal() + if t >= 60 { 60.0 } else { 0.0 }
    });
    let m = one(&s, 0);
    assert_eq!(
        (m.verdict, &m.finding),
        (Verdict::Regression, &Finding::Regression)
    );
    assert_eq!(m.baseline_used, BaselineUsed::PreDeploy);
    let d = m.detection.unwrap();
    assert!(d.change_at >= at(55) && d.change_at <= at(70), "{d:?}");
    assert!(d.detected_at <= at(75), "{d:?}");
    assert!(m.relative_change.unwrap() > 0.25 && m.p_value.unwrap() < 1e-10);
    assert!(m.confidence.unwrap() > 0.999_999);
}

#[test]
fn a_five_sigma_shift_of_two_percent_is_not_a_regression() {
    // Spread 0.4 % of the level: 5 spreads is a 2 % shift.
    let mut rng = Rng::new(2);
    let s = series("p95_latency_ms", MetricKind::Latency, -1_800, 300, 5, |t| {
        (if t >= 0 { 204.0 } else { 200.0 }) + 0.8 * rng.normal()
    });
    let m = one(&s, 0);
    assert_eq!(m.finding, Finding::BelowMinimumEffect);
    assert_eq!(m.verdict, Verdict::NoRegression);
    assert!(
        m.summary().contains("below the minimum effect"),
        "{}",
        m.summary()
    );
}

#[test]
fn a_doubling_of_latency_variance_at_equal_median_is_caught() {
    let mut rng = Rng::new(3);
    let s = series("p95_latency_ms", MetricKind::Latency, -1_800, 300, 1, |t| {
        200.0 + if t >= 0 { 2f64.sqrt() * 10.0 } else { 10.0 } * rng.normal()
    });
    let m = one(&s, 0);
    assert_eq!(m.verdict, Verdict::Regression, "{m:?}");
    assert!(m.relative_change.unwrap().abs() < 0.02);
    let r = m.spread_ratio.unwrap();
    assert!((1.3..1.55).contains(&r), "spread ratio {r}");
    assert!(m.summary().contains("became unsteady"), "{}", m.summary());
    // The same variance kept is not.
    let mut rng = Rng::new(3);
    let s = series(
        "p95_latency_ms",
        MetricKind::Latency,
        -1_800,
        300,
        1,
        noise(&mut rng, 200.0, 10.0),
    );
    assert_eq!(one(&s, 0).verdict, Verdict::NoRegression);
}

#[test]
fn sparse_error_counts_are_tested_as_counts() {
    // Errors per minute: 2/min for 30 min, then 6/min (caught) or 3/min (not).
    let counts = |after: f64| {
        series("errors", MetricKind::Count, -1_920, 300, 60, move |t| {
            if t >= 0 { after } else { 2.0 }
        })
    };
    let m = one(&counts(6.0), 0);
    assert_eq!(m.verdict, Verdict::Regression, "{m:?}");
    let rate = m.rate.unwrap();
    assert_eq!((rate.before, rate.after, rate.ratio), (60, 30, 3.0));
    assert_eq!(
        m.summary(),
        "checkout/errors rose from 2 to 6 events per sample (3×; 30 events in 5 samples) \
         since 2026-09-21T14:13:20Z (p = 4.2e-6)"
    );
    let m = one(&counts(3.0), 0);
    assert_ne!(m.verdict, Verdict::Regression, "{m:?}");
    assert!(
        m.min_detectable_effect.unwrap() > 1.0,
        "it says what it could have seen"
    );
}

#[test]
fn too_few_samples_or_missing_data_is_inconclusive() {
    let mut rng = Rng::new(4);
    // Only 10 baseline samples.
    let s = series(
        "p95_latency_ms",
        MetricKind::Latency,
        -220,
        300,
        10,
        noise(&mut rng, 200.0, 10.0),
    );
    let m = one(&s, 0);
    assert_eq!(m.verdict, Verdict::Inconclusive);
    assert_eq!(
        m.finding,
        Finding::Inconclusive {
            reason: InconclusiveReason::TooFewSamples {
                period: Period::Baseline,
                have: 10,
                need: 20
            }
        }
    );
    // Two samples after the deploy.
    let mut points = sampled(-1_800, 0, 10, noise(&mut rng, 200.0, 10.0));
    points.extend([(at(10), 200.0), (at(20), 210.0)]);
    let m = one(
        &Series::new("p95_latency_ms", MetricKind::Latency, points.clone()),
        0,
    );
    assert!(matches!(
        m.finding,
        Finding::Inconclusive {
            reason: InconclusiveReason::TooFewSamples {
                period: Period::After,
                have: 2,
                need: 3
            }
        }
    ));
    // A gap: 5 samples where 30 were due.
    points.extend([(at(30), 200.0), (at(40), 190.0), (at(50), 205.0)]);
    let m = one(
        &Series::new("p95_latency_ms", MetricKind::Latency, points),
        0,
    );
    assert!(matches!(
        m.finding,
        Finding::Inconclusive {
            reason: InconclusiveReason::DataMissing {
                have: 5,
                expected: 30
            }
        }
    ));
    // Nothing at all for the deploy's service.
    let v = analyze_deploy(&deploy(0), &[], &RegressionConfig::default()).unwrap();
    assert_eq!(v.verdict, Verdict::Inconclusive);
}

#[test]
fn a_change_that_began_before_the_deploy_is_not_caused_by_it() {
    let mut rng = Rng::new(5);
    let s = series("p95_latency_ms", MetricKind::Latency, -1_800, 300, 5, |t| {
        200.0 + 10.0 * rng.normal() + if t >= -60 { 80.0 } else { 0.0 }
    });
    let m = one(&s, 0);
    let Finding::BeganBeforeDeploy { lead_seconds } = m.finding else {
        panic!("{m:?}")
    };
    assert!((50.0..=70.0).contains(&lead_seconds), "{lead_seconds}");
    assert_eq!(m.verdict, Verdict::NoRegression);
    let v = analyze_deploy(&deploy(0), &[s], &RegressionConfig::default()).unwrap();
    assert!(
        v.summary().contains("before the deploy: not caused by it"),
        "{}",
        v.summary()
    );
}

#[test]
fn partial_verdicts_mid_window() {
    let mut rng = Rng::new(6);
    let s = [series(
        "p95_latency_ms",
        MetricKind::Latency,
        -1_800,
        300,
        5,
        |t| 200.0 + 10.0 * rng.normal() + if t >= 30 { 60.0 } else { 0.0 },
    )];
    let cfg = RegressionConfig::default();
    let d = deploy(0);
    let a = Analysis::new(&d, &s, &cfg).unwrap();
    let early = a.partial(at(5));
    assert!(early.partial);
    assert_eq!(early.verdict, Verdict::Inconclusive, "two samples so far");
    let mid = a.partial(at(60));
    assert_eq!((mid.partial, mid.verdict), (true, Verdict::Regression));
    assert!(mid.summary().contains("so far"));
    let fin = a.partial(at(10_000));
    assert_eq!(fin, a.complete());
    assert!(!fin.partial);
    assert!(fin.detected_at.unwrap() <= at(45));
}

#[test]
fn verdicts_serialise_to_json() {
    let mut rng = Rng::new(7);
    let s = [series(
        "error_rate",
        MetricKind::Rate,
        -1_800,
        300,
        5,
        |t| 0.02 + 0.002 * rng.normal() + if t >= 0 { 0.03 } else { 0.0 },
    )];
    let v = analyze_deploy(&deploy(0), &s, &RegressionConfig::default()).unwrap();
    let json: serde_json::Value = serde_json::to_value(&v).unwrap();
    assert_eq!(json["verdict"], "regression");
    assert_eq!(json["metrics"][0]["finding"]["kind"], "regression");
    assert_eq!(json["metrics"][0]["direction"], "higher_is_worse");
    assert_eq!(json["metrics"][0]["baseline_used"]["kind"], "pre_deploy");
    assert_eq!(json["deploy"]["id"], "v1.4.2");
    assert!(json["summary"].as_str().unwrap().starts_with(
        "Regression after deploy v1.4.2 of checkout v1.4.2 (production): checkout/error_rate rose"
    ));
    assert!(json["metrics"][0]["detection"]["change_at"].is_string());
}

#[test]
fn invalid_configs_are_refused() {
    let cfg = RegressionConfig {
        alpha: 0.0,
        ..RegressionConfig::default()
    };
    let err = analyze_deploy(&deploy(0), &[], &cfg).unwrap_err();
    assert_eq!(
        err.to_string(),
        "regression config: `alpha` must be alpha, alarm_alpha and power strictly between 0 and 1"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn a_constant_series_never_regresses(level in -1e6f64..1e6, kind in 0usize..5) {
        let kind = [MetricKind::Rate, MetricKind::Latency, MetricKind::Count, MetricKind::Throughput, MetricKind::Other][kind];
        let level = if kind == MetricKind::Count { level.abs().round() } else { level };
        let s = series("x", kind, -1_800, 300, 10, |_| level);
        let m = one(&s, 0);
        prop_assert_eq!(m.verdict, Verdict::NoRegression);
        prop_assert_eq!(m.detection, None);
    }
}

#[test]
fn a_big_change_too_short_to_confirm_is_inconclusive_not_no_regression() {
    let mut rng = Rng::new(9);
    // A noisy baseline (spread 20 %) and four samples 30 % higher: a change
    // that matters, suggested (p < 0.01) but far from the regression's α.
    let mut points = sampled(-1_800, 0, 10, noise(&mut rng, 200.0, 40.0));
    points.extend([
        (at(5), 262.0),
        (at(12), 275.0),
        (at(20), 258.0),
        (at(28), 281.0),
    ]);
    let s = Series::new("p95_latency_ms", MetricKind::Latency, points).service("checkout");
    let config = RegressionConfig {
        post_window_nanos: 30_000_000_000,
        ..RegressionConfig::default()
    };
    let v = analyze_deploy(&deploy(0), std::slice::from_ref(&s), &config).unwrap();
    let m = &v.metrics[0];
    assert!(
        m.p_value.unwrap() > config.alpha && m.p_value.unwrap() <= 0.01,
        "{m:?}"
    );
    assert_eq!(
        m.finding,
        Finding::Inconclusive {
            reason: InconclusiveReason::Unconfirmed { have: 4 }
        },
        "{m:?}"
    );
    assert_eq!(v.verdict, Verdict::Inconclusive);
    assert!(
        m.summary().contains("4 samples cannot confirm"),
        "{}",
        m.summary()
    );
}
