//! Exit codes and messages of the command line.

use crate::proc::rewind;

#[test]
fn help_teaches_with_examples() {
    for cmd in [
        &["--help"][..],
        &["agent", "--help"],
        &["server", "--help"],
        &["demo", "--help"],
        &["rules", "check", "--help"],
    ] {
        let out = rewind(cmd).output().unwrap();
        assert!(out.status.success(), "{cmd:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example"),
            "`rewind {}` shows no example:\n{text}",
            cmd.join(" ")
        );
    }
}

#[test]
fn a_bad_rules_file_stops_the_agent_with_file_line_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "triggers:\n  - name: hot\n    type: cpu_hot\n    metric: cpu.total.busy_pct\n    threshold:\n      above: 90\n    severity: high\n",
    )
    .unwrap();
    let out = rewind(&[
        "agent",
        "--rules",
        rules.to_str().unwrap(),
        "--state-dir",
        dir.path().join("a").to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("rules.yaml:3:"),
        "names file and line: {stderr}"
    );
    assert!(stderr.contains("hint:"), "gives a hint: {stderr}");
    assert!(
        !dir.path().join("a").exists(),
        "the agent must not start half-configured"
    );
}

#[test]
fn rules_check_lists_the_demo_rules() {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rules/demo.yaml");
    let out = rewind(&["rules", "check", demo]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("CPU saturated"), "{stdout}");
}

#[test]
fn bundle_verify_refuses_garbage_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.zip");
    std::fs::write(&file, b"not a zip").unwrap();
    let out = rewind(&["bundle", "verify", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a valid bundle"));
}

#[test]
fn a_bad_server_url_is_a_usage_error_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rules/demo.yaml");
    let state = dir.path().join("a");
    let out = rewind(&[
        "agent",
        "--rules",
        demo,
        "--server",
        "ftp://x",
        "--state-dir",
        state.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("server") && stderr.contains("ftp://x"),
        "{stderr}"
    );
    assert!(!state.exists(), "the agent must not start half-configured");
}

#[test]
fn bundle_verify_catches_a_flipped_byte_and_names_the_member() {
    use rewind_bundle::{BundleExtras, BundleInput, SeriesInput, write_bundle};
    use rewind_model::{
        BundleId, DeviceId, Sample, SeriesName, Severity, TimeRange, Timestamp, Trigger,
    };

    let dir = tempfile::tempdir().unwrap();
    let t = |ms: i64| Timestamp::from_unix_millis(1_795_428_000_000 + ms);
    let trigger = Trigger {
        rule: "CPU saturated".into(),
        rule_type: "metric_threshold".into(),
        severity: Severity::High,
        fired_at: t(5_000),
        summary: "cpu.total.busy_pct stayed above 70 for 2.0 s".into(),
        evidence: vec![],
        labels: Default::default(),
    };
    let series = [SeriesInput {
        name: SeriesName::new("cpu.total.busy_pct").unwrap(),
        unit: "percent".into(),
        samples: (0..100)
            .map(|i| Sample::new(t(i * 100), 50.0 + f64::from(i as i32)))
            .collect(),
    }];
    let device = DeviceId::new("robot-7").unwrap();
    let input = BundleInput {
        bundle_id: BundleId::new_v7(),
        device_id: &device,
        agent_version: "0.1.0",
        created_at: t(11_000),
        trigger: &trigger,
        window: TimeRange {
            start: t(0),
            end: t(10_000),
        },
        series: &series,
        events: &[],
        attachments: &[],
        extras: &BundleExtras::default(),
    };
    let path = write_bundle(dir.path(), &input).unwrap().path;
    let ok = rewind(&["bundle", "verify", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // The recording is stored uncompressed: flip one byte inside it.
    let mut bytes = std::fs::read(&path).unwrap();
    let magic = bytes.windows(5).position(|w| w == b"\x89MCAP").unwrap();
    bytes[magic + 200] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let out = rewind(&["bundle", "verify", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("recording.mcap"),
        "the message names the member: {stderr}"
    );
}
