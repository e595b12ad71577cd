//! Properties over arbitrary small timelines: the analysis never panics,
//! and what the explainer writes is always grounded.

use proptest::prelude::*;
use rewind_model::{Event, EventKind, Level, Sample, SeriesName, Severity, Timestamp, Trigger};

use super::library;
use crate::rca::{Facts, Timeline, analyze, explain, grounded};

const NAMES: &[&str] = &[
    "gpu.0.temp_c",
    "gpu.0.throttle_thermal",
    "node.a.alive",
    "topic./a.rate_hz",
    "process.p.cpu_pct",
    "process.p.rss_bytes",
    "control.loop_latency_ms",
    "disk.root.used_pct",
    "net.eth0.rx_errors_per_s",
    "pressure.cpu.some_avg10",
    "svc/error_rate",
];
const KINDS: &[EventKind] = &[
    EventKind::Log,
    EventKind::ProcessMissing,
    EventKind::ProcessRestarted,
    EventKind::OomKill,
    EventKind::Thermal,
    EventKind::IoError,
    EventKind::NodeMissing,
    EventKind::NodeSeen,
    EventKind::Deploy,
];
const MESSAGES: &[&str] = &[
    "No space left on device",
    "Undervoltage detected!",
    "System clock was stepped by 3.5 seconds",
    "Detected jump back in time",
    "missed its deadline",
    "NETDEV WATCHDOG: eth0: transmit queue 0 timed out",
    "payment 42 failed",
    "odd `tick` and \"quote\" 7",
    "",
];

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -1e3..1e3_f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(0.0),
        1 => Just(1e12),
    ]
}

fn timeline() -> impl Strategy<Value = Timeline> {
    let series = prop::collection::vec(
        (
            0..NAMES.len(),
            prop::collection::vec((-200_i64..50, value()), 0..60),
        ),
        0..6,
    );
    let events = prop::collection::vec(
        (
            -200_i64..50,
            0..KINDS.len(),
            0..MESSAGES.len(),
            0..3_usize,
            0..6_u8,
        ),
        0..30,
    );
    let states = prop::collection::vec((-200_i64..50, prop::bool::ANY), 0..20);
    (series, events, states, any::<bool>(), any::<bool>()).prop_map(
        |(series, events, states, labels, odd)| {
            let at = |s: i64| Timestamp::from_unix_millis(1_800_000_000_000 + s * 500);
            // Free text from a rules file may hold a lone backtick or quote.
            let (rule, summary) = if odd {
                ("r`1", "a \"rule fired")
            } else {
                ("r", "a rule fired")
            };
            let mut trigger = Trigger {
                rule: rule.into(),
                rule_type: "topic_rate".into(),
                severity: Severity::High,
                fired_at: at(0),
                summary: summary.into(),
                evidence: Vec::new(),
                labels: Default::default(),
            };
            if labels {
                trigger.labels.insert("version".into(), "v2".into());
                trigger.labels.insert("service".into(), "svc".into());
            }
            let mut tl = Timeline::new(trigger);
            for (name, samples) in series {
                let samples = samples
                    .into_iter()
                    .map(|(t, v)| Sample::new(at(t), v))
                    .collect();
                tl = tl.with_series(SeriesName::new(NAMES[name]).unwrap(), samples);
            }
            tl.events = events
                .into_iter()
                .map(|(t, kind, message, field, level)| {
                    let level = [
                        Level::Debug,
                        Level::Info,
                        Level::Notice,
                        Level::Warning,
                        Level::Error,
                        Level::Critical,
                    ][usize::from(level)];
                    let e =
                        Event::new(at(t), "kmsg", KINDS[kind].clone(), level, MESSAGES[message]);
                    match field {
                        0 => e,
                        1 => e.with("process", "p"),
                        _ => e
                            .with("node", "a")
                            .with("service", "svc")
                            .with("version", "v2"),
                    }
                })
                .collect();
            let points = states
                .into_iter()
                .map(|(t, on)| (at(t), if on { "throttling" } else { "normal" }.to_owned()))
                .collect();
            tl.with_text_state(SeriesName::new("gpu.thermal_state").unwrap(), points)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        // Kept next to this file (`props.regressions`), with the module.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn analysis_never_panics_and_explanations_stay_grounded(tl in timeline()) {
        let chains = library();
        let a = analyze(&tl, &chains);
        let e = explain(&tl, &a);
        let facts = Facts::of(&tl, &a);
        prop_assert_eq!(grounded(&e.to_markdown(), &facts), Ok(()));
        for c in &a.causes {
            prop_assert!(c.confidence > 0.0 && c.confidence <= 1.0, "{}", c.confidence);
            prop_assert!(c.evidence.windows(2).all(|w| w[0].at <= w[1].at));
        }
    }
}
