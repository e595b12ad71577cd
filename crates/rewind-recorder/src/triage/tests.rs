//! The whole analysis on sessions built from payloads shaped like the
//! built-in schemas.

use serde_json::json;

use super::*;

/// One message: topic, log time, payload.
type Msg = (String, u64, Vec<u8>);

/// 1 000 cycles at 1 kHz with known problems:
/// - L1 `speed_limit` clamps every 100th cycle from 50 (10 clamps);
/// - L2 `workspace` rejects cycles 300 to 302; L3 `motor_3` faults at 700;
///   cycle 800 is flagged `has_violation` by `/dam/cycle` alone;
/// - joint 2 is commanded to 1.0 from cycle 500 to 899 but stays at 0.2;
/// - L2 latency is 2 ms, except 15 ms at cycle 420 and 9 ms at 421;
/// - one `/dam/L1` payload is not JSON.
fn session(first_joint: f64) -> Vec<Msg> {
    let mut out = Vec::new();
    let mut push = |topic: &str, c: u64, v: serde_json::Value| {
        out.push((topic.to_owned(), c * 1_000_000, v.to_string().into_bytes()));
    };
    for c in 0..1000_u64 {
        let clamp = c % 100 == 50;
        let reject = (300..=302).contains(&c);
        let fault = c == 700;
        let violation = reject || fault || c == 800;
        let mask = match c {
            300..=302 => 4,
            700 => 8,
            800 => 1,
            _ => 0,
        };
        push(
            "/dam/cycle",
            c,
            json!({
                "cycle_id": c, "timestamp": c as f64 / 1000.0, "active_task": "move_tcp",
                "has_violation": violation, "has_clamp": clamp, "violated_layer_mask": mask,
                "failure_type": if violation { json!("guard_triggered") } else { json!(null) },
                "failure_guard_names": if reject { json!(["workspace"]) } else { json!([]) },
                "active_context": "normal", "total_ms": 8.0,
            }),
        );
        let stuck = (500..900).contains(&c);
        let observed: Vec<f64> = (0..6)
            .map(|j| match j {
                0 => first_joint,
                2 if stuck => 0.2,
                2 => 1.0,
                _ => 0.0,
            })
            .collect();
        push(
            "/dam/obs",
            c,
            json!({
                "cycle_id": c, "timestamp": 0.0, "joint_positions": observed,
                "joint_velocities": vec![0.0; 6], "end_effector_pose": [0.5, 0.3, 0.2, 1.0, 0.0, 0.0, 0.0],
            }),
        );
        let mut validated = observed.clone();
        validated[2] = 1.0;
        push(
            "/dam/action",
            c,
            json!({
                "cycle_id": c, "validated_positions": validated, "was_clamped": clamp,
                "was_rejected": false,
            }),
        );
        let guards = [
            ("/dam/L0", "OODGuard", "PASS", ""),
            (
                "/dam/L1",
                "speed_limit",
                if clamp { "CLAMP" } else { "PASS" },
                if clamp {
                    "joint 2 speed 1.31 > 1.2"
                } else {
                    ""
                },
            ),
            (
                "/dam/L2",
                "workspace",
                if reject { "REJECT" } else { "PASS" },
                if reject { "outside workspace" } else { "" },
            ),
            (
                "/dam/L3",
                "motor_3",
                if fault { "FAULT" } else { "PASS" },
                if fault { "temp 82°C > 80°C" } else { "" },
            ),
        ];
        for (layer, (topic, name, decision, reason)) in guards.into_iter().enumerate() {
            push(
                topic,
                c,
                json!({
                    "cycle_id": c, "guard_name": name, "layer": layer, "decision": decision,
                    "is_violation": decision == "REJECT" || decision == "FAULT",
                    "is_clamp": decision == "CLAMP", "reason": reason, "latency_ms": 1.0,
                }),
            );
        }
        let l2 = match c {
            420 => 15.0,
            421 => 9.0,
            _ => 2.0,
        };
        push(
            "/dam/latency",
            c,
            json!({
                "cycle_id": c, "L0_ms": 1.0, "L1_ms": 0.5, "L2_ms": l2, "L3_ms": 0.3,
            }),
        );
        if fault {
            push(
                "/dam/context_events",
                c,
                json!({
                    "cycle_id": c, "event": "preempt", "ctx_name": "emergency_stop",
                    "ctx_severity": 100, "trigger_guard": "motor_3", "trigger_reason": "temp 82°C > 80°C",
                }),
            );
        }
    }
    out.push(("/dam/L1".to_owned(), 0, b"not json".to_vec()));
    out
}

fn run(messages: &[Msg]) -> TriageReport {
    analyze(
        messages
            .iter()
            .map(|(t, l, p)| (t.as_str(), *l, p.as_slice())),
        SessionHeader::named("s"),
        &TriageOptions::default(),
    )
}

#[test]
fn guard_outcomes_are_counted_per_guard_and_layer() {
    let r = run(&session(0.0));
    assert_eq!(r.cycles, 1000);
    assert_eq!((r.first_cycle, r.last_cycle), (Some(0), Some(999)));
    assert_eq!(r.clamp_cycles, 10);
    let d: Vec<(u64, u64, u64, u64)> = r
        .layers
        .iter()
        .map(|l| {
            let d = l.decisions;
            (d.pass, d.clamp, d.reject, d.fault)
        })
        .collect();
    assert_eq!(
        d,
        vec![
            (1000, 0, 0, 0),
            (990, 10, 0, 0),
            (997, 0, 3, 0),
            (999, 0, 0, 1)
        ]
    );
    let names: Vec<&str> = r.guards.iter().map(|g| g.guard.as_str()).collect();
    assert_eq!(names, ["OODGuard", "speed_limit", "workspace", "motor_3"]);
    assert_eq!(r.unreadable.get("/dam/L1"), Some(&1));
    assert_eq!(r.messages.get("/dam/L1"), Some(&1001));
    assert_eq!(r.active_tasks, ["move_tcp"]);
}

#[test]
fn violation_cycles_carry_their_reasons() {
    let r = run(&session(0.0));
    assert_eq!(r.violation_cycles, 5);
    let cycles: Vec<u64> = r.violations.iter().map(|v| v.cycle_id).collect();
    assert_eq!(cycles, [300, 301, 302, 700, 800]);
    let first = &r.violations[0];
    assert!(first.flagged_by_cycle);
    assert_eq!(first.layers, [2]);
    assert_eq!(first.results[0].guard, "workspace");
    assert_eq!(first.results[0].reason, "outside workspace");
    assert_eq!(first.failure_guard_names, ["workspace"]);
    assert!(r.violations[4].results.is_empty());
    assert_eq!(r.violations[4].layers, [0]);
    // Reasons: the clamp (10), the rejection (3), the fault (1).
    let counts: Vec<(&str, u64)> = r.reasons.iter().map(|x| (x.decision, x.count)).collect();
    assert_eq!(counts, [("CLAMP", 10), ("REJECT", 3), ("FAULT", 1)]);
    assert_eq!(r.context_events_total, 1);
    assert_eq!(
        r.context_events[0].ctx_name.as_deref(),
        Some("emergency_stop")
    );
}

#[test]
fn the_stuck_joint_is_the_only_one_reported() {
    let r = run(&session(0.0));
    assert_eq!(r.paired_cycles, 1000);
    assert_eq!(r.unpaired, 0);
    let stuck: Vec<usize> = r
        .joints
        .iter()
        .filter(|j| j.unresponsive)
        .map(|j| j.joint)
        .collect();
    assert_eq!(stuck, [2]);
    let s = r.joints[2].longest_unresponsive.as_ref().unwrap();
    assert_eq!((s.first_cycle, s.last_cycle, s.cycles), (500, 899, 400));
    assert!((s.max_gap - 0.8).abs() < 1e-9);
}

#[test]
fn latency_outliers_are_found_per_layer() {
    let r = run(&session(0.0));
    let l2 = r.layers[2].latency.as_ref().unwrap();
    assert_eq!(
        (l2.samples, l2.p50_ms, l2.threshold_ms, l2.outliers),
        (1000, 2.0, 6.0, 2)
    );
    assert_eq!(l2.slowest[0].cycle_id, Some(420));
    assert_eq!(l2.slowest[1].cycle_id, Some(421));
    for l in [0, 1, 3] {
        assert_eq!(r.layers[l].latency.as_ref().unwrap().outliers, 0);
    }
    assert_eq!(r.cycle_latency.as_ref().unwrap().outliers, 0);
}

#[test]
fn findings_say_what_was_found() {
    let r = run(&session(0.0));
    let text = r.findings.join("\n");
    assert!(text.contains("5 of 1000 cycles had a violation; the first at cycle 300: L2 `workspace` REJECT \"outside workspace\""), "{text}");
    assert!(
        text.contains("Joint 2 received validated commands for 400 cycles (500 to 899"),
        "{text}"
    );
    assert!(text.contains("L2 (task) latency: 2 outliers above 6.00 ms (p50 2.00 ms); the slowest 15.00 ms at cycle 420."), "{text}");
    assert!(
        text.contains("1 payload(s) on /dam/L1 did not match"),
        "{text}"
    );
}

#[test]
fn a_clean_session_has_nothing_to_report() {
    let msgs: Vec<Msg> = (0..100_u64)
        .map(|c| {
            let v =
                json!({"cycle_id": c, "timestamp": 0, "has_violation": false, "has_clamp": false});
            ("/dam/cycle".to_owned(), c, v.to_string().into_bytes())
        })
        .collect();
    let r = run(&msgs);
    assert_eq!(r.violation_cycles, 0);
    assert_eq!(r.findings, ["No violations in 100 cycles."]);
}

#[test]
fn the_comparison_flags_pose_and_guard_differences() {
    let good_msgs: Vec<Msg> = session(0.0)
        .into_iter()
        .filter(|(t, _, p)| t != "/dam/L2" && !p.windows(5).any(|w| w == b"FAULT"))
        .collect();
    let good = run(&good_msgs);
    let bad = run(&session(0.1));
    let c = compare(&bad, &good, &TriageOptions::default());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let moved: Vec<usize> = c
        .initial_pose
        .joints
        .iter()
        .filter(|j| j.differs)
        .map(|j| j.joint)
        .collect();
    assert_eq!(moved, [0]);
    assert_eq!(c.initial_pose.end_effector_distance, Some(0.0));
    let flagged: Vec<(&str, &str)> = c
        .guards
        .iter()
        .filter_map(|g| Some((g.guard.as_str(), g.flag.as_deref()?)))
        .collect();
    assert_eq!(
        flagged,
        [
            ("workspace", "only in this session"),
            (
                "motor_3",
                "1 result rejected or faulted here, none in the known-good session"
            ),
        ]
    );
    assert!(
        c.findings[0]
            .starts_with("The initial pose differs from the known-good one: joint 0 by +0.100"),
        "{:?}",
        c.findings
    );
    // Against itself: nothing.
    let same = compare(&good, &good, &TriageOptions::default());
    assert_eq!(
        same.findings,
        ["No difference from the known-good session beyond the tolerances."]
    );
}

#[test]
fn sessions_of_different_setups_are_warned_about() {
    let mut a = run(&[]);
    let mut b = run(&[]);
    a.session.config_hash = Some("sha256:aa".to_owned());
    b.session.config_hash = Some("sha256:bb".to_owned());
    b.session.app_version = Some("1.5.0".to_owned());
    let c = compare(&a, &b, &TriageOptions::default());
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(c.findings[0].starts_with("Compare only sessions of the same robot"));
}
