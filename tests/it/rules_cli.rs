//! `rewind rules explain`, `rules test`, `rules check` warnings and
//! `bench rules`, run as the real binary on real files: rules files and
//! bundles written with `rewind_bundle`, as an agent writes them.

use std::path::Path;

use rewind_bundle::{BundleInput, SeriesInput, write_bundle};
use rewind_model::{
    BundleId, DeviceId, Sample, SeriesName, Severity, TimeRange, Timestamp, Trigger,
};

use crate::proc::run;

/// 2026-11-23T10:00:00Z plus `ms` milliseconds.
fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_795_428_000_000 + ms)
}

/// The demo's CPU rule, as recorded in the bundle.
const RULES: &str = r#"triggers:
  - name: "CPU saturated"
    type: metric_threshold
    metric: cpu.total.busy_pct
    threshold: { above: 70 }
    duration: 2.0
    severity: high
  - name: "Memory nearly exhausted"
    type: metric_threshold
    metric: memory.available_bytes
    threshold: { below: 52428800 }
    duration: 5
    severity: critical
"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// A bundle as the agent writes it when "CPU saturated" trips: 12 s of
    /// samples, CPU at 20 % then at 95 % from 6.0 s to 10.0 s, so the rule
    /// fired at 8.0 s.
    fn cpu_bundle(&self) -> String {
        let cpu = (0..=120)
            .map(|i| {
                let busy = if (60..100).contains(&i) { 95.0 } else { 20.0 };
                Sample::new(t(i * 100), busy)
            })
            .collect();
        let memory = (0..=12).map(|i| Sample::new(t(i * 1000), 4.0e9)).collect();
        let series = [
            series("cpu.total.busy_pct", "percent", cpu),
            series("memory.available_bytes", "bytes", memory),
        ];
        self.bundle("CPU saturated", t(8_000), &series)
    }

    fn bundle(&self, rule: &str, fired_at: Timestamp, series: &[SeriesInput]) -> String {
        let trigger = Trigger {
            rule: rule.into(),
            rule_type: "metric_threshold".into(),
            severity: Severity::High,
            fired_at,
            summary: "cpu.total.busy_pct stayed above 70 for 2.0 s (peak 95, now 95)".into(),
            evidence: vec![],
            labels: Default::default(),
        };
        let device = DeviceId::new("robot-7").unwrap();
        let input = BundleInput {
            bundle_id: BundleId::new_v7(),
            device_id: &device,
            agent_version: "0.1.0",
            created_at: t(12_500),
            trigger: &trigger,
            window: TimeRange {
                start: t(0),
                end: t(12_000),
            },
            series,
            events: &[],
            attachments: &[],
            extras: &rewind_bundle::BundleExtras::default(),
        };
        // Two bundles of one rule in one second get `-2` names, as in the agent's spool.
        let dir = self.dir.path().join("spool");
        std::fs::create_dir_all(&dir).unwrap();
        let written = write_bundle(&dir, &input).unwrap();
        written.path.to_str().unwrap().to_owned()
    }
}

fn series(name: &str, unit: &str, samples: Vec<Sample>) -> SeriesInput {
    SeriesInput {
        name: SeriesName::new(name).unwrap(),
        unit: unit.into(),
        samples,
    }
}

/// The output with the temp dir and the random bundle id replaced.
fn redact(text: &str, fx: &Fixture, bundle: &Path) -> String {
    let id = rewind_bundle::read_bundle(&std::fs::read(bundle).unwrap(), &Default::default())
        .unwrap()
        .manifest
        .bundle_id
        .to_string();
    text.replace(fx.dir.path().to_str().unwrap(), "[tmp]")
        .replace(&id, "[bundle-id]")
}

#[test]
fn rules_test_replays_a_bundle_and_the_recorded_rule_fires_at_its_time() {
    let fx = Fixture::new();
    let rules = fx.file("rules.yaml", RULES);
    let bundle = fx.cpu_bundle();
    let ran = run(&["rules", "test", &rules, "--bundle", &bundle]);
    assert_eq!(ran.code, Some(0), "{}{}", ran.stdout, ran.stderr);
    insta::assert_snapshot!(redact(&ran.stdout, &fx, Path::new(&bundle)));
}

#[test]
fn rules_test_says_why_a_changed_rule_no_longer_fires_and_expect_fire_fails() {
    let fx = Fixture::new();
    let stricter = fx.file("rules.yaml", &RULES.replace("above: 70", "above: 99"));
    let bundle = fx.cpu_bundle();
    let ran = run(&["rules", "test", &stricter, "--bundle", &bundle]);
    assert_eq!(
        ran.code,
        Some(0),
        "nothing firing is not a failure: {}",
        ran.stderr
    );
    assert!(
        ran.stdout.contains(
            "Original trigger \"CPU saturated\" did not fire: its condition (`cpu.total.busy_pct` is above 99) never held in the bundle."
        ),
        "{}",
        ran.stdout
    );
    let ran = run(&[
        "rules",
        "test",
        &stricter,
        "--bundle",
        &bundle,
        "--expect-fire",
        "CPU saturated",
    ]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("rule \"CPU saturated\" did not fire in"),
        "{}",
        ran.stderr
    );

    let slower = fx.file(
        "slower.yaml",
        &RULES.replace("duration: 2.0", "duration: 5"),
    );
    let ran = run(&["rules", "test", &slower, "--bundle", &bundle]);
    assert!(
        ran.stdout.contains("it was pending from -2.0 s but the condition cleared after 4.0 s, short of its 5.0 s duration"),
        "{}",
        ran.stdout
    );
    let quicker = fx.file(
        "quicker.yaml",
        &RULES.replace("duration: 2.0", "duration: 1"),
    );
    let ran = run(&["rules", "test", &quicker, "--bundle", &bundle]);
    assert!(
        ran.stdout
            .contains("fired 1.0 s earlier than recorded (-1.000 s)"),
        "{}",
        ran.stdout
    );
}

#[test]
fn rules_test_json_has_every_bundle_and_signal() {
    let fx = Fixture::new();
    let rules = fx.file("rules.yaml", RULES);
    let (a, b) = (fx.cpu_bundle(), fx.cpu_bundle());
    let ran = run(&[
        "rules",
        "test",
        &rules,
        "--bundle",
        &a,
        "--bundle",
        &b,
        "--json",
        "--expect-fire",
        "CPU saturated",
    ]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let bundles = doc["bundles"].as_array().unwrap();
    assert_eq!(bundles.len(), 2);
    let first = &bundles[0];
    assert_eq!(first["bundle"], a.as_str());
    assert_eq!(first["samples"], 121 + 13);
    let states: Vec<&str> = first["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["pending", "firing", "resolved"]);
    let firing = &first["signals"][1];
    assert_eq!(firing["at"], "2026-11-23T10:00:08Z");
    assert_eq!(firing["offset_s"], 0.0);
    assert_eq!(firing["decision"], "capture");
    assert_eq!(first["original"]["fired"], true);
    assert_eq!(first["original"]["offset_s"], 0.0);
    assert_eq!(doc["expectations"][0]["missed_in"], serde_json::json!([]));
}

#[test]
fn rules_test_refuses_a_bad_bundle_naming_it_with_exit_2() {
    let fx = Fixture::new();
    let rules = fx.file("rules.yaml", RULES);
    let garbage = fx.file("garbage.zip", "not a zip");
    let ran = run(&["rules", "test", &rules, "--bundle", &garbage]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("garbage.zip: not a valid bundle (bundle_"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stdout.is_empty(),
        "nothing is printed before every bundle is read"
    );

    let missing = fx.dir.path().join("missing.zip");
    let ran = run(&[
        "rules",
        "test",
        &rules,
        "--bundle",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(ran.code, Some(2));
    assert!(ran.stderr.contains("missing.zip"), "{}", ran.stderr);

    let bundle = fx.cpu_bundle();
    let ran = run(&[
        "rules",
        "test",
        &rules,
        "--bundle",
        &bundle,
        "--expect-fire",
        "CPU saturatd",
    ]);
    assert_eq!(ran.code, Some(2));
    assert!(ran.stderr.contains("\"CPU saturatd\""), "{}", ran.stderr);
}

/// Every rule type the engine has, with every common field somewhere.
const EVERY_TYPE: &str = r#"version: 1
budgets:
  warnings: 2
  per: 300
  warning_below: medium
triggers:
  - name: "CPU saturated"
    type: metric_threshold
    metric: cpu.total.busy_pct
    threshold: { above: 80 }
    hysteresis: 5
    duration: 2.0
    severity: high
    description: "All cores busy for 2 seconds."
    labels: { team: platform, robot: arm-7 }
    cooldown: 300
    max_bundles: 3
    capture:
      pre: 30
      post: 5
      series: ["cpu.*", "memory.*"]
      logs: [journal]
      on_pending: false
  - name: "Camera starving"
    type: topic_rate
    topic: /camera/rgb
    threshold: { below: 20 }
    duration: 1.5
    severity: medium
  - name: "Lidar silent"
    type: absent
    topic: /scan
    after: 3
    severity: high
  - name: "Disk filling"
    type: trend
    metric: disk.*.used_pct
    threshold: { above: 95 }
    within: 600
    window: 300
    min_samples: 10
    severity: low
    dry_run: true
  - name: "Latency shifted"
    type: change
    metric: app.latency_ms
    baseline: 300
    min_samples: 30
    direction: up
    severity: medium
  - name: "Segfaults"
    type: log_match
    source: journal
    regex: "segfault|core dumped"
    level: warning
    count: 3
    window: 60
    severity: high
  - name: "Node crashed"
    type: node_status
    node: "*"
    status: missing
    severity: high
  - name: "nginx crash-looping"
    type: process_status
    process: nginx
    status: crash_loop
    restarts: 3
    window: 300
    severity: critical
  - name: "Overloaded while starving"
    type: composite
    all: ["CPU saturated", "Camera starving"]
    severity: critical
  - name: "Deploy regression"
    type: after_deploy
    rule: "CPU saturated"
    within: 60
    service: planner
    severity: critical
"#;

#[test]
fn rules_explain_puts_every_rule_in_plain_words() {
    let fx = Fixture::new();
    let rules = fx.file("rules.yaml", EVERY_TYPE);
    let ran = run(&["rules", "explain", &rules]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    insta::assert_snapshot!(ran.stdout.replace(fx.dir.path().to_str().unwrap(), "[tmp]"));
}

#[test]
fn rules_check_warns_about_a_series_name_close_to_a_collected_one() {
    let fx = Fixture::new();
    let rules = fx.file(
        "rules.yaml",
        &RULES.replace("cpu.total.busy_pct", "cpu.total.busy_pc"),
    );
    let ran = run(&["rules", "check", &rules]);
    assert_eq!(
        ran.code,
        Some(0),
        "a warning is not an error: {}",
        ran.stderr
    );
    assert!(ran.stdout.contains("2 rule(s) OK"), "{}", ran.stdout);
    assert!(
        ran.stderr.contains(
            "warning: `cpu.total.busy_pc` (rule \"CPU saturated\") is not a series the agent collects; did you mean `cpu.total.busy_pct`?"
        ),
        "{}",
        ran.stderr
    );
    let clean = fx.file("clean.yaml", RULES);
    assert!(run(&["rules", "check", &clean]).stderr.is_empty());
}

#[test]
fn rules_help_teaches_with_examples() {
    for cmd in ["check", "explain", "test"] {
        let ran = run(&["rules", cmd, "--help"]);
        assert_eq!(ran.code, Some(0));
        assert!(
            ran.stdout.contains("Example"),
            "rules {cmd}: {}",
            ran.stdout
        );
    }
    assert!(
        run(&["bench", "rules", "--help"])
            .stdout
            .contains("Example")
    );
}

#[test]
fn bench_rules_reports_positive_figures_as_json() {
    let ran = run(&["bench", "rules", "--seconds", "1", "--json"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(doc["rules"], 1000);
    assert_eq!(doc["series"], 10_000);
    assert_eq!(doc["samples"], 100_000);
    let mix: u64 = doc["rule_mix"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(mix, 1000);
    for key in [
        "wall_seconds",
        "samples_per_second",
        "ns_per_sample",
        "tick_ns_per_sample_p50",
        "tick_ns_per_sample_p99",
        "evaluations_per_second",
        "real_time_factor",
        "baseline_ns_per_sample",
        "ratio_to_baseline",
    ] {
        let v = doc[key].as_f64().unwrap_or(-1.0);
        assert!(v > 0.0 && v.is_finite(), "{key} = {}", doc[key]);
    }
    assert!(doc["evaluations"].as_u64().unwrap() > 0);
}

#[test]
fn rules_test_replays_the_bundles_events_so_node_and_deploy_rules_fire() {
    use rewind_model::{Event, EventKind, Level};

    let fx = Fixture::new();
    let trigger = Trigger {
        rule: "Node crashed".into(),
        rule_type: "node_status".into(),
        severity: Severity::High,
        fired_at: t(6_000),
        summary: "node /perception_node missing".into(),
        evidence: vec![],
        labels: Default::default(),
    };
    let events = [
        Event::new(
            t(1_000),
            "deploy",
            EventKind::Deploy,
            Level::Info,
            "perception 2.4.1",
        )
        .with("service", "perception")
        .with("version", "2.4.1"),
        Event::new(
            t(6_000),
            "socket",
            EventKind::NodeMissing,
            Level::Error,
            "node /perception_node missed its heartbeat",
        )
        .with("node", "/perception_node"),
    ];
    let cpu = (0..=100).map(|i| Sample::new(t(i * 100), 20.0)).collect();
    let series = [series("cpu.total.busy_pct", "percent", cpu)];
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
        events: &events,
        attachments: &[],
        extras: &rewind_bundle::BundleExtras::default(),
    };
    let dir = fx.dir.path().join("spool");
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = write_bundle(&dir, &input).unwrap().path;
    let robot = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rules/robot.yaml");
    let ran = run(&[
        "rules",
        "test",
        robot,
        "--bundle",
        bundle.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let json: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let report = &json["bundles"][0];
    let firing: Vec<&str> = report["signals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] == "firing")
        .map(|s| s["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        firing,
        ["Node crashed", "Deployment regression"],
        "{report}"
    );
    assert_eq!(report["original"]["fired"], true, "{report}");
}
