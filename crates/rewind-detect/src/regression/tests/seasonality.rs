use super::super::config::DAY;
use super::super::{BaselineStrategy, BaselineUsed, RegressionConfig, Verdict, analyze_deploy};
use super::*;

/// Latency with a daily cycle peaking at t = 0 (100 ± 50 ms), noise 2 ms,
/// every 10 s for three days and the post-deploy window.
fn daily(seed: u64) -> Series {
    let mut rng = Rng::new(seed);
    let day = DAY / 1_000_000_000;
    series(
        "p95_latency_ms",
        MetricKind::Latency,
        -3 * day,
        300,
        10,
        move |t| {
            #[allow(clippy::cast_precision_loss)]
            let phase = std::f64::consts::TAU * t as f64 / day as f64;
            100.0 + 50.0 * phase.cos() + 2.0 * rng.normal()
        },
    )
}

#[test]
fn a_deploy_at_the_daily_peak_is_judged_against_the_same_time_yesterday() {
    let s = [daily(11)];
    // Naive: the six hours before the deploy climb towards the peak, so the
    // peak looks like a regression.
    let naive = RegressionConfig {
        strategy: BaselineStrategy::PreDeploy,
        baseline_window_nanos: 6 * 3_600 * 1_000_000_000,
        ..RegressionConfig::default()
    };
    let v = analyze_deploy(&deploy(0), &s, &naive).unwrap();
    assert_eq!(v.verdict, Verdict::Regression, "{}", v.summary());
    assert!(v.metrics[0].relative_change.unwrap() > 0.05);
    // The same time on earlier days: the peak is normal.
    let seasonal = RegressionConfig {
        strategy: BaselineStrategy::SameTimeOfDay { days: 2 },
        ..naive.clone()
    };
    let v = analyze_deploy(&deploy(0), &s, &seasonal).unwrap();
    assert_eq!(v.verdict, Verdict::NoRegression, "{}", v.summary());
    assert_eq!(
        v.metrics[0].baseline_used,
        BaselineUsed::SameTimeOfDay { days: 2 }
    );
    // The default (auto) finds the history and does the same.
    let v = analyze_deploy(&deploy(0), &s, &RegressionConfig::default()).unwrap();
    assert_eq!(v.verdict, Verdict::NoRegression, "{}", v.summary());
    assert_eq!(
        v.metrics[0].baseline_used,
        BaselineUsed::SameTimeOfDay { days: 3 }
    );
}

#[test]
fn a_regression_hidden_under_the_daily_cycle_is_still_found() {
    let mut s = daily(12);
    for p in &mut s.points {
        if p.0 >= at(0) {
            p.1 += 20.0;
        }
    }
    let v = analyze_deploy(&deploy(0), &[s], &RegressionConfig::default()).unwrap();
    assert_eq!(v.verdict, Verdict::Regression, "{}", v.summary());
}

/// Four instances; after the deploy every instance's latency rises by
/// `all` (a traffic spike) and the canary's by `canary_extra` more.
fn fleet(all: f64, canary_extra: f64) -> Vec<Series> {
    let mut rng = Rng::new(13);
    ["a", "b", "c", "d"]
        .into_iter()
        .map(|i| {
            let extra = if i == "a" { canary_extra } else { 0.0 };
            series("p95_latency_ms", MetricKind::Latency, -1_800, 300, 5, |t| {
                200.0 + 10.0 * rng.normal() + if t >= 0 { all + extra } else { 0.0 }
            })
            .instance(i)
        })
        .collect()
}

#[test]
fn canary_instances_are_compared_with_the_others_over_the_same_window() {
    let canary = RegressionConfig {
        strategy: BaselineStrategy::Canary {
            canary: vec!["a".into()],
        },
        ..RegressionConfig::default()
    };
    // A spike that hits every instance: a regression against the past, not
    // against the instances without the deploy.
    let spike = fleet(60.0, 0.0);
    assert_eq!(
        analyze_deploy(&deploy(0), &spike, &RegressionConfig::default())
            .unwrap()
            .verdict,
        Verdict::Regression
    );
    let v = analyze_deploy(&deploy(0), &spike, &canary).unwrap();
    assert_eq!(v.verdict, Verdict::NoRegression, "{}", v.summary());
    assert_eq!(v.metrics.len(), 1, "only the canary is judged");
    assert_eq!(
        v.metrics[0].baseline_used,
        BaselineUsed::Canary {
            control: vec!["b".into(), "c".into(), "d".into()]
        }
    );
    // A bad canary.
    let v = analyze_deploy(&deploy(0), &fleet(0.0, 60.0), &canary).unwrap();
    assert_eq!(v.verdict, Verdict::Regression, "{}", v.summary());
    assert_eq!(v.metrics[0].series, "checkout/p95_latency_ms@a");
}
