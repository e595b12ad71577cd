//! Every built-in chain against its scenario, and its near misses.

use super::{analysis, scenarios};
use crate::rca::{Analysis, ItemKind, LIBRARY, builtin};

/// What a matching scenario must give: the chain, each step seen with what
/// it matched, and the primary cause.
struct Expect {
    scenario: &'static str,
    chain: &'static str,
    steps: &'static [(&'static str, ItemKind, &'static str)],
    primary: &'static str,
}

const EXPECTED: &[Expect] = &[
    Expect {
        scenario: "thermal",
        chain: "thermal-throttling",
        steps: &[
            ("hot", ItemKind::Event, "nvml"),
            ("delay", ItemKind::Metric, "pressure.cpu.some_avg10"),
            ("node", ItemKind::Event, "perception_node"),
            ("topic", ItemKind::Metric, "topic./camera/rgb.rate_hz"),
        ],
        primary: "Thermal throttling (nvml) slowed the processor until perception_node stopped \
                  responding, and topic./camera/rgb.rate_hz dropped as a result.",
    },
    Expect {
        scenario: "oom",
        chain: "oom-restart-loop",
        steps: &[
            ("leak", ItemKind::Metric, "process.planner.rss_bytes"),
            ("oom", ItemKind::Event, "planner"),
            ("loop", ItemKind::Event, "planner"),
        ],
        primary: "Memory ran out and the kernel's OOM killer killed planner (pid 2207); \
                  restarted, it keeps failing: planner is in a restart loop.",
    },
    Expect {
        scenario: "disk_full",
        chain: "disk-full",
        steps: &[
            ("full", ItemKind::Metric, "disk.root.used_pct"),
            ("errors", ItemKind::Event, "rosbag-recorder.service"),
            ("failure", ItemKind::Event, "rosbag2_recorder"),
        ],
        primary: "The filesystem root filled up (disk.root.used_pct reached 100); writes then \
                  failed (rosbag-recorder.service) and rosbag2_recorder stopped working.",
    },
    Expect {
        scenario: "network",
        chain: "network-starvation",
        steps: &[
            ("net", ItemKind::Metric, "net.eth0.rx_errors_per_s"),
            ("starve", ItemKind::Metric, "topic./lidar/points.rate_hz"),
        ],
        primary: "Errors and drops on the network interface eth0 (net.eth0.rx_errors_per_s) \
                  starved topic./lidar/points.rate_hz of messages.",
    },
    Expect {
        scenario: "cpu",
        chain: "cpu-contention",
        steps: &[
            ("hog", ItemKind::Metric, "process.rosbag_compress.cpu_pct"),
            ("busy", ItemKind::Metric, "cpu.total.busy_pct"),
            ("late", ItemKind::Metric, "control.loop_latency_ms"),
        ],
        primary: "rosbag_compress took 300 % of a CPU (from 5 %), and the control loop ran \
                  late: control.loop_latency_ms degraded.",
    },
    Expect {
        scenario: "bad_deploy",
        chain: "bad-deploy",
        steps: &[
            ("deploy", ItemKind::Deploy, "checkout"),
            (
                "signature",
                ItemKind::Event,
                "file:/var/log/checkout/app.log",
            ),
            ("regression", ItemKind::Metric, "checkout/error_rate"),
        ],
        primary: "Version v1.4.2 of checkout regressed: checkout/error_rate went up after the \
                  deploy, with a new log signature payment gateway timeout after <DUR> (order \
                  <NUM>).",
    },
    Expect {
        scenario: "bad_deploy_bundle",
        chain: "bad-deploy",
        steps: &[
            ("deploy", ItemKind::Deploy, "checkout"),
            (
                "signature",
                ItemKind::Event,
                "file:/var/log/checkout/app.log",
            ),
            ("regression", ItemKind::Metric, "checkout/error_rate"),
        ],
        primary: "Version v1.4.2 of checkout regressed: checkout/error_rate went up after the \
                  deploy, with a new log signature payment gateway timeout after <DUR> (order \
                  <NUM>).",
    },
    Expect {
        scenario: "undervoltage",
        chain: "undervoltage",
        steps: &[
            ("power", ItemKind::Event, "kmsg"),
            ("slow", ItemKind::Metric, "cpufreq.cpu0.ratio_pct"),
            ("symptom", ItemKind::Event, "camera_driver"),
        ],
        primary: "The power supply could not keep up (kmsg reported it) and the board cut its \
                  clocks; camera_driver failed.",
    },
    Expect {
        scenario: "clock_jump",
        chain: "clock-jump",
        steps: &[
            ("jump", ItemKind::Event, "chrony.service"),
            ("broken", ItemKind::Event, "file:/var/log/ros/planner.log"),
        ],
        primary: "The system clock jumped (chrony.service: \"System clock was stepped by \
                  -3599.827 seconds\") and logic measuring time with it broke \
                  (file:/var/log/ros/planner.log: \"[WARN] [tf2_buffer]: Detected jump back in \
                  time of 3599.8s. Clearing TF buffer.\").",
    },
];

fn only_cause<'a>(name: &str, a: &'a Analysis) -> &'a crate::rca::Cause {
    let chains: Vec<&str> = a.causes.iter().map(|c| c.chain.as_str()).collect();
    assert_eq!(
        chains.len(),
        1,
        "{name}: exactly one chain matches, got {chains:?}"
    );
    &a.causes[0]
}

#[test]
fn every_chain_matches_its_scenario_with_the_right_cause_and_chain() {
    let scenarios = scenarios::matching();
    assert_eq!(scenarios.len(), EXPECTED.len());
    for ((name, chain, timeline), want) in scenarios.iter().zip(EXPECTED) {
        assert_eq!((*name, *chain), (want.scenario, want.chain));
        let a = analysis(timeline);
        let cause = only_cause(name, &a);
        assert_eq!(cause.chain, want.chain, "{name}");
        assert_eq!(cause.rank, 1, "{name}");
        assert_eq!(cause.primary, want.primary, "{name}");
        let got: Vec<(&str, ItemKind, &str)> = cause
            .evidence
            .iter()
            .map(|i| (i.step.as_str(), i.kind, i.subject.as_str()))
            .collect();
        assert_eq!(got, want.steps, "{name}: the chain of evidence");
        // The chain is in time order, and every gap is within its window.
        for pair in cause.evidence.windows(2) {
            assert!(pair[0].at <= pair[1].at, "{name}: {pair:?}");
        }
        assert!(
            cause.confidence > 0.5 && cause.confidence <= 1.0,
            "{name}: {}",
            cause.confidence
        );
        assert!(!cause.actions.is_empty() && cause.risk.is_some(), "{name}");
        assert!(
            cause.reason.starts_with("The only chain that matched"),
            "{name}"
        );
    }
}

#[test]
fn every_chain_has_a_scenario_and_a_near_miss() {
    let chains: Vec<String> = builtin()
        .unwrap()
        .chains()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(chains.len(), LIBRARY.len());
    for chain in &chains {
        assert!(
            scenarios::matching().iter().any(|(_, c, _)| c == chain),
            "{chain}"
        );
        assert!(
            scenarios::near_misses().iter().any(|(_, c, _)| c == chain),
            "{chain}"
        );
    }
}

#[test]
fn near_misses_do_not_match() {
    for (name, chain, timeline) in scenarios::near_misses() {
        let a = analysis(&timeline);
        let matched: Vec<&str> = a.causes.iter().map(|c| c.chain.as_str()).collect();
        assert!(
            matched.is_empty(),
            "{name}: nothing matches, got {matched:?}"
        );
        // The chain began, so it is listed as a near miss with what was missing.
        let partial = a.partial.iter().find(|p| p.chain == chain);
        assert!(
            partial.is_some(),
            "{name}: {chain} listed as partial: {:?}",
            a.partial
        );
    }
}

#[test]
fn near_misses_say_which_step_was_missing() {
    let cases = [
        (
            scenarios::thermal_node_stays_alive(),
            "thermal-throttling",
            "node crash",
            2,
        ),
        (
            scenarios::thermal_out_of_order(),
            "thermal-throttling",
            "node crash",
            2,
        ),
        (
            scenarios::thermal_outside_window(),
            "thermal-throttling",
            "node crash",
            1,
        ),
        (
            scenarios::oom_no_restart(),
            "oom-restart-loop",
            "restart loop",
            2,
        ),
        (scenarios::disk_no_errors(), "disk-full", "write errors", 1),
        (
            scenarios::clock_out_of_order(),
            "clock-jump",
            "time-based logic failing",
            1,
        ),
    ];
    for (timeline, chain, missing, seen) in cases {
        let a = analysis(&timeline);
        let p = a.partial.iter().find(|p| p.chain == chain).unwrap();
        assert_eq!(
            (p.missing.as_str(), p.seen.len()),
            (missing, seen),
            "{chain}"
        );
    }
}

#[test]
fn an_optional_step_adds_confidence_but_is_not_needed() {
    // Without the CPU pressure series, the thermal chain still matches
    // (three of four steps), with less confidence.
    let full = analysis(&scenarios::thermal());
    let mut tl = scenarios::thermal();
    tl.series
        .retain(|(n, _)| n.as_str() != "pressure.cpu.some_avg10");
    let partial = analysis(&tl);
    let (a, b) = (&full.causes[0], &partial.causes[0]);
    assert_eq!((a.steps_seen, b.steps_seen), (4, 3));
    assert_eq!(b.missing, ["scheduling delay"]);
    assert!(b.confidence < a.confidence);
}

#[test]
fn a_deploy_known_only_from_the_trigger_labels_is_marked_approximate() {
    let a = analysis(&scenarios::bad_deploy_bundle());
    let deploy = &a.causes[0].evidence[0];
    assert!(deploy.approximate);
    assert_eq!(deploy.values["version"], "v1.4.2");
    let exact = analysis(&scenarios::bad_deploy());
    let deploy = &exact.causes[0].evidence[0];
    assert!(!deploy.approximate);
    assert_eq!(deploy.offset_s, -480.0);
    assert!(
        exact.causes[0].confidence > a.causes[0].confidence,
        "known time, tighter timing"
    );
}

#[test]
fn the_restart_loop_counts_restarts_of_one_process() {
    // Two restarts of two different processes are not a loop.
    let mut tl = scenarios::oom();
    tl.events.retain(|e| {
        !(e.kind == rewind_model::EventKind::ProcessRestarted && e.ts > super::at(-10.0))
    });
    tl.events
        .push(super::process_restarted(-2.0, "mapper", 300, 301));
    tl.trigger.summary = "process planner was OOM-killed".into();
    let a = analysis(&tl);
    assert!(
        a.causes.iter().all(|c| c.chain != "oom-restart-loop"),
        "{:?}",
        a.causes
    );
}

#[test]
fn a_log_flood_is_bounded_and_the_chain_still_matches() {
    // Five thousand identical write errors over five minutes: the search
    // keeps the earliest and latest candidates and still finds the chain.
    let mut tl = scenarios::disk_full();
    tl.events.extend((0..5000).map(|i| {
        super::journal(
            -300.0 + f64::from(i) * 0.06,
            rewind_model::Level::Error,
            "rosbag-recorder.service",
            "rosbag2_recorder",
            "[ERROR] [rosbag2_storage]: Failed to write message: No space left on device",
        )
    }));
    let a = analysis(&tl);
    let cause = only_cause("flood", &a);
    assert_eq!(cause.chain, "disk-full");
    assert!(cause.evidence[1].at >= cause.evidence[0].at);
}
