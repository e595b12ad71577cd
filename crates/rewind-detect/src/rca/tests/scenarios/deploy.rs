//! Release scenarios: the server's regression incident for a bad deploy,
//! the same read offline from its bundle, and a harmless deploy.

use std::collections::BTreeMap;

use rewind_model::{
    Baseline, Comparison, Deploy, DeployId, Evidence, Level, SeriesName, Severity, TimeRange,
};

use super::super::{at, file_log, sampled, trigger, wobble};
use super::{WithPair as _, ramp};
use crate::rca::Timeline;

/// The deploy in the deploy scenarios: checkout v1.4.2, 480 s before.
pub(crate) fn checkout_deploy() -> Deploy {
    Deploy {
        id: "0192f0c4-5c1e-7d2a-9b3e-4f5a6b7c8d9e"
            .parse::<DeployId>()
            .unwrap(),
        service: "checkout".into(),
        version: "v1.4.2".into(),
        environment: "production".into(),
        commit: Some("9f3c2ab".into()),
        actor: Some("ci".into()),
        at: at(-480.0),
        recorded_at: at(-479.0),
    }
}

/// The server's regression incident for checkout v1.4.2 (the shape
/// `crates/rewind-server/src/regress/evidence.rs` writes), with the deploy
/// record the server attaches.
pub(crate) fn bad_deploy() -> Timeline {
    bad_deploy_bundle().with_deploy(checkout_deploy())
}

/// The same incident as a bundle read offline: no deploy record, only the
/// trigger's labels.
pub(crate) fn bad_deploy_bundle() -> Timeline {
    let deploy = checkout_deploy();
    let mut t = trigger(
        "deploy-regression",
        "deploy_regression",
        Severity::High,
        "checkout v1.4.2: error_rate rose from 0.02 to 0.11 after the deploy (p < 0.001).",
        None,
    );
    let mut e = Evidence::new(
        SeriesName::new("checkout/error_rate").unwrap(),
        Comparison::Above(0.02),
        0.11,
        0.11,
        at(-420.0),
        42,
    );
    e.baseline = Some(Baseline {
        level: 0.02,
        spread: 0.003,
        samples: 180,
        window_nanos: 1_800_000_000_000,
    });
    t.evidence.push(e);
    t.labels = BTreeMap::from([
        ("service".to_owned(), deploy.service.clone()),
        ("environment".to_owned(), deploy.environment.clone()),
        ("deploy_id".to_owned(), deploy.id.to_string()),
        ("version".to_owned(), deploy.version.clone()),
    ]);
    let signature = file_log(
        -450.0,
        "/var/log/checkout/app.log",
        Level::Error,
        "payment gateway timeout after 5000 ms (order 81723)",
    )
    .with(
        "signature",
        "payment gateway timeout after <DUR> (order <NUM>)",
    )
    .with("count_after", 212)
    .with("count_before", 0);
    Timeline::new(t)
        .with_series_pair(sampled("checkout/error_rate", -1800.0, 0.0, 0.1, |t| {
            if t < -420.0 {
                0.02 + wobble(t, 0.003)
            } else {
                0.11 + wobble(t, 0.01)
            }
        }))
        .with_series_pair(sampled("checkout/p95_latency_ms", -1800.0, 0.0, 0.1, |t| {
            if t < -420.0 {
                190.0 + wobble(t, 8.0)
            } else {
                410.0 + wobble(t, 20.0)
            }
        }))
        .with_events([signature])
        .with_window(TimeRange {
            start: at(-1800.0),
            end: at(0.0),
        })
}

/// Near miss: a deploy, but error rate and latency hold, and the only error
/// line was already there before it.
pub(crate) fn deploy_harmless() -> Timeline {
    let t = trigger(
        "Queue backlog",
        "metric_threshold",
        Severity::Medium,
        "checkout/queue_depth stayed above 1000 for 60.0 s (peak 1450, now 1390)",
        Some(("checkout/queue_depth", Comparison::Above(1000.0), 1390.0)),
    );
    let cache_miss = |s: f64| {
        file_log(
            s,
            "/var/log/checkout/app.log",
            Level::Warning,
            &format!("cache miss for key cart:{}", 9000 + (s.abs() as i64)),
        )
    };
    Timeline::new(t)
        .with_series_pair(sampled("checkout/error_rate", -1800.0, 0.0, 0.1, |t| {
            0.02 + wobble(t, 0.003)
        }))
        .with_series_pair(sampled("checkout/p95_latency_ms", -1800.0, 0.0, 0.1, |t| {
            190.0 + wobble(t, 8.0)
        }))
        .with_series_pair(sampled("checkout/queue_depth", -1800.0, 0.0, 0.1, |t| {
            ramp(t, (-600.0, 200.0), (0.0, 1390.0))
        }))
        .with_events([cache_miss(-900.0), cache_miss(-300.0), cache_miss(-60.0)])
        .with_deploy(checkout_deploy())
}
