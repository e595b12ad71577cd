use super::*;
use crate::regression::testing::{Rng, at};
use crate::regression::{Finding, MetricKind, RegressionConfig, Series, Verdict, analyze_deploys};

fn change(series: &str, service: Option<&str>, secs: i64) -> ChangeObservation {
    ChangeObservation {
        series: series.into(),
        service: service.map(Into::into),
        environment: None,
        change_at: at(secs),
    }
}

fn causes(deploys: &[DeployRef], changes: &[ChangeObservation]) -> Vec<Cause> {
    attribute(deploys, changes, &AttributionConfig::default())
        .into_iter()
        .map(|a| a.cause)
        .collect()
}

#[test]
fn the_nearest_deploy_of_the_service_before_the_change_caused_it() {
    let deploys = [
        DeployRef::new("checkout", "v1", at(0)),
        DeployRef::new("checkout", "v2", at(100)),
        DeployRef::new("checkout", "v3", at(400)),
    ];
    let got = causes(&deploys, &[change("checkout/p95", Some("checkout"), 130)]);
    assert_eq!(
        got,
        [Cause::CausedBy {
            deploy_id: "v2".into(),
            lag_seconds: 30.0
        }]
    );
}

#[test]
fn overlapping_deploys_of_different_services_are_told_apart() {
    // payments deployed at 0, checkout at 20; payments' latency moved at 25,
    // checkout's errors at 40, and the shared gateway at 50.
    let deploys = [
        DeployRef::new("payments", "p7", at(0)),
        DeployRef::new("checkout", "c3", at(20)),
    ];
    let changes = [
        change("payments/p95", Some("payments"), 25),
        change("checkout/errors", Some("checkout"), 40),
        change("gateway/p95", Some("gateway"), 50),
    ];
    let got = causes(&deploys, &changes);
    assert_eq!(
        got[0],
        Cause::CausedBy {
            deploy_id: "p7".into(),
            lag_seconds: 25.0
        }
    );
    assert_eq!(
        got[1],
        Cause::CausedBy {
            deploy_id: "c3".into(),
            lag_seconds: 20.0
        }
    );
    // The gateway has no deploy: the service that moved first (payments) is named.
    assert_eq!(
        got[2],
        Cause::FollowedFirstMover {
            deploy_id: "p7".into(),
            service: "payments".into(),
            lag_seconds: 50.0,
            first_move_at: Some(at(25)),
        }
    );
}

#[test]
fn a_change_that_began_before_the_deploy_is_not_caused_by_it() {
    let deploys = [DeployRef::new("checkout", "v2", at(100))];
    let got = causes(&deploys, &[change("checkout/p95", Some("checkout"), 40)]);
    assert_eq!(
        got,
        [Cause::NotCausedBy {
            deploy_id: "v2".into(),
            lead_seconds: 60.0
        }]
    );
    // Too far from any deploy.
    let got = causes(&deploys, &[change("checkout/p95", Some("checkout"), 5_000)]);
    assert!(matches!(&got[0], Cause::Unattributed { reason } if reason.contains("600 s")));
}

#[test]
fn analyze_deploys_gives_a_change_to_the_later_deploy_of_the_same_service() {
    // v1 at 0, v2 at 150; latency steps up at 170: v2's regression, not v1's.
    let mut rng = Rng::new(21);
    let points = (-1_920..600)
        .step_by(5)
        .map(|s| {
            (
                at(s),
                200.0 + 10.0 * rng.normal() + if s >= 170 { 80.0 } else { 0.0 },
            )
        })
        .collect();
    let series = [Series::new("p95_latency_ms", MetricKind::Latency, points).service("checkout")];
    let deploys = [
        DeployRef::new("checkout", "v1", at(0)),
        DeployRef::new("checkout", "v2", at(150)),
    ];
    let cfg = RegressionConfig {
        strategy: crate::regression::BaselineStrategy::PreDeploy,
        ..RegressionConfig::default()
    };
    let v = analyze_deploys(&deploys, &series, &cfg).unwrap();
    assert_eq!(v[0].verdict, Verdict::NoRegression, "{}", v[0].summary);
    assert_eq!(
        v[0].metrics[0].finding,
        Finding::AttributedElsewhere {
            deploy_id: "v2".into()
        }
    );
    assert!(
        v[0].summary.contains("attributed to deploy v2"),
        "{}",
        v[0].summary
    );
    assert_eq!(v[1].verdict, Verdict::Regression, "{}", v[1].summary);
}
