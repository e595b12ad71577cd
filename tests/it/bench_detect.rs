//! `rewind bench detect`: the synthetic suite and NAB-style dataset scoring
//! through the real binary. Counts and scores only, never times.

use serde_json::Value;

use crate::proc::run;

const NAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nab");

const SCENARIOS: [&str; 11] = [
    "healthy",
    "healthy_daily_cycle",
    "healthy_low_traffic",
    "traffic_spike",
    "began_before_deploy",
    "error_rate_step",
    "latency_step",
    "gradual_degradation",
    "seasonal_step",
    "overlapping_deploys",
    "low_traffic_errors",
];

fn json(args: &[&str]) -> Value {
    let out = run(args);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

#[test]
fn a_small_synthetic_run_covers_every_scenario_without_healthy_false_positives() {
    let args = [
        "bench", "detect", "--trials", "20", "--seed", "11", "--json",
    ];
    let report = json(&args);
    let scenarios = report["scenarios"].as_array().unwrap();
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, SCENARIOS);
    for s in scenarios {
        let (name, rewind) = (&s["name"], &s["rewind"]);
        assert_eq!(u(&s["trials"]), 20, "{name}");
        let counted = u(&rewind["tp"]) + u(&rewind["fp"]) + u(&rewind["tn"]) + u(&rewind["fn"]);
        let per_trial = if name == "overlapping_deploys" { 2 } else { 1 };
        assert_eq!(counted, 20 * per_trial, "{name}: {rewind}");
        match s["truth"].as_str().unwrap() {
            "healthy" => assert_eq!(u(&rewind["fp"]), 0, "{name}: {rewind}"),
            "regression" | "overlap" | "began_before" => {
                assert!(u(&rewind["tp"]) > 0, "{name}: {rewind}");
                assert!(rewind["latency"]["median"].is_i64(), "{name}: {rewind}");
            }
            other => panic!("unknown truth {other}"),
        }
        assert!(
            s["naive"]["tp"].is_u64(),
            "the baseline runs on the same trials"
        );
    }
    assert_eq!(report["totals"]["healthy_false_positives"], 0);
    assert_eq!(report["targets"].as_array().unwrap().len(), 5);
    // The same seed gives the same figures.
    let again = json(&args);
    assert_eq!(report["scenarios"], again["scenarios"]);
}

#[test]
fn the_nab_fixture_scores_between_the_null_and_the_perfect_detector() {
    let report = json(&["bench", "detect", "--dataset", NAB, "--json"]);
    assert_eq!((u(&report["files"]), u(&report["windows"])), (2, 2));
    let detectors = report["detectors"].as_array().unwrap();
    let score = |name: &str, profile: &str| {
        let d = detectors.iter().find(|d| d["detector"] == name).unwrap();
        let s = d["scores"].as_array().unwrap();
        let s = s.iter().find(|s| s["profile"] == profile).unwrap();
        s["score"].as_f64().unwrap()
    };
    for profile in ["standard", "reward_low_FP_rate", "reward_low_FN_rate"] {
        let rewind = score("rewind (rolling)", profile);
        assert!((0.0..=100.0).contains(&rewind), "{profile}: {rewind}");
        assert!(score("null (no alarms)", profile).abs() < 1e-9);
        assert!((score("perfect (window starts)", profile) - 100.0).abs() < 1e-9);
    }
    // One profile on request; the table names them all otherwise.
    let one = json(&[
        "bench",
        "detect",
        "--dataset",
        NAB,
        "--profile",
        "reward_low_fn",
        "--json",
    ]);
    assert_eq!(one["profiles"].as_array().unwrap().len(), 1);
    let table = run(&["bench", "detect", "--dataset", NAB]);
    assert_eq!(table.code, Some(0), "{}", table.stderr);
    assert!(
        table.stdout.contains("reward_low_FP_rate"),
        "{}",
        table.stdout
    );
}

#[test]
fn a_bad_dataset_is_refused_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("data/x")).unwrap();
    std::fs::create_dir_all(root.join("labels")).unwrap();
    std::fs::write(
        root.join("data/x/a.csv"),
        "timestamp,value\n2014-04-01 00:00:00,1.0\n2014-04-01 00:05:00,oops\n",
    )
    .unwrap();
    let labels = root.join("labels/combined_windows.json");
    std::fs::write(&labels, r#"{"x/a.csv": []}"#).unwrap();
    let dataset = root.to_str().unwrap();
    let out = run(&["bench", "detect", "--dataset", dataset]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("a.csv:3") && out.stderr.contains("`oops` is not a number"),
        "{}",
        out.stderr
    );
    std::fs::write(&labels, "{\"x/a.csv\": [\n  [\"2014-04-01\"]\n]}").unwrap();
    let out = run(&["bench", "detect", "--dataset", dataset]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("combined_windows.json:2:"),
        "{}",
        out.stderr
    );
    // --labels needs --dataset: a usage error.
    let out = run(&["bench", "detect", "--labels", "x.json"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
}
