//! `rewind deploy analyze` and `rewind detect` on the recorded fixtures in
//! `tests/fixtures/regression/` (made by `generate.py` there): verdicts,
//! exit codes, the JSON shape, bad lines named as FILE:LINE, and causality.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::proc::{Ran, run};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/regression")
        .join(name)
}

fn fx(name: &str) -> String {
    fixture(name).to_str().unwrap().to_owned()
}

fn analyze(metrics: &str, deploys: &str, extra: &[&str]) -> Ran {
    let mut args = vec![
        "deploy",
        "analyze",
        "--metrics",
        metrics,
        "--deploys",
        deploys,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn clean_bad_and_short_deploys_get_their_verdicts_and_exit_1() {
    let log = fx("app.log");
    let r = analyze(
        &fx("metrics.jsonl"),
        &fx("deploys.jsonl"),
        &["--logs", &log, "--json"],
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("1 of 3 deploy(s) regressed: v1.4.2"),
        "{}",
        r.stderr
    );
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        json["totals"],
        serde_json::json!({"deploys": 3, "regression": 1, "no_regression": 1, "inconclusive": 1})
    );
    let deploys = json["deploys"].as_array().unwrap();
    let verdicts: Vec<&str> = deploys
        .iter()
        .map(|d| d["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["no_regression", "regression", "inconclusive"]);

    // The bad deploy: which metric, by how much, since when, and the new error.
    let bad = &deploys[1];
    assert_eq!(bad["deploy"]["id"], "v1.4.2");
    assert_eq!(bad["deploy"]["environment"], "production");
    assert!(
        bad["deploy"]["line"]
            .as_str()
            .unwrap()
            .ends_with("deploys.jsonl:2")
    );
    let m = &bad["metrics"][0];
    assert_eq!(m["series"], "error_rate");
    assert_eq!(m["kind"], "rate");
    assert_eq!(m["finding"]["kind"], "regression");
    assert!(m["relative_change"].as_f64().unwrap() > 2.0, "{m}");
    assert!(m["p_value"].as_f64().unwrap() < 1e-5, "{m}");
    assert!(m["confidence"].as_f64().unwrap() > 0.99, "{m}");
    assert!(m["min_detectable_effect"].as_f64().unwrap() >= 0.05, "{m}");
    assert!((m["baseline"]["median"].as_f64().unwrap() - 0.02).abs() < 0.002);
    assert_eq!(m["detection"]["change_at"], "2026-03-30T20:00:00Z");
    for other in &bad["metrics"].as_array().unwrap()[1..] {
        assert_eq!(other["verdict"], "no_regression", "{other}");
    }
    assert!(
        bad["summary"]
            .as_str()
            .unwrap()
            .starts_with("Regression after deploy v1.4.2 (production): error_rate rose"),
        "{}",
        bad["summary"]
    );
    let sig = &bad["log_signatures"]["changes"];
    assert_eq!(sig.as_array().unwrap().len(), 1, "{sig}");
    assert_eq!(sig[0]["kind"], "new");
    assert_eq!(
        sig[0]["template"],
        "payment gateway connection to <IP> refused (attempt <NUM>)"
    );
    assert_eq!(sig[0]["count_after"], 30);
    assert!(sig[0]["example"].as_str().unwrap().contains("10.0.3."));

    // The clean deploy: nothing, and no new signature.
    let clean = &deploys[0];
    assert_eq!(clean["log_signatures"]["changes"], serde_json::json!([]));
    // The short one: too few samples after it, said so.
    let short = &deploys[2]["metrics"][0]["finding"];
    assert_eq!(short["kind"], "inconclusive");
    assert_eq!(short["reason"]["kind"], "too_few_samples");
    assert_eq!(short["reason"]["period"], "after");
    assert_eq!(json["inputs"]["metrics"]["used"], 614);
    assert_eq!(json["inputs"]["metrics"]["skipped"], 0);
}

#[test]
fn the_text_report_and_a_clean_deploy_exit_0() {
    let r = analyze(
        &fx("metrics.jsonl"),
        &fx("deploys-clean.jsonl"),
        &["--logs", &fx("app.log")],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("): NO REGRESSION"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("1 deploy(s): 0 regression, 1 no regression, 0 inconclusive.")
    );

    let r = analyze(
        &fx("metrics.jsonl"),
        &fx("deploys.jsonl"),
        &["--logs", &fx("app.log")],
    );
    assert_eq!(r.code, Some(1));
    for want in [
        "deploy v1.4.2 at 2026-03-30T20:00:00Z (production, ",
        "): REGRESSION",
        "2026-03-30T20:00:00Z (this deploy)",
        "new: `payment gateway connection to <IP> refused (attempt <NUM>)` (30 after, 0 before)",
        "e.g. 2026-03-30T20:00:00Z payment gateway connection to 10.0.3.",
        "): INCONCLUSIVE",
        "too few samples after the deploy (2 of 3)",
    ] {
        assert!(
            r.stdout.contains(want),
            "{want:?} missing from\n{}",
            r.stdout
        );
    }
}

#[test]
fn bad_lines_are_named_and_skipped_and_nothing_usable_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("metrics.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(fixture("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.insert(2, "not json".into());
    lines.insert(4, r#"{"error_rate":0.1}"#.into());
    lines.insert(6, r#"{"timestamp":"soon","error_rate":0.1}"#.into());
    lines.insert(
        8,
        r#"{"timestamp":"2026-03-30T19:01:00Z","service":7,"x":1}"#.into(),
    );
    std::fs::write(&metrics, lines.join("\n")).unwrap();
    let m = metrics.to_str().unwrap();
    let r = analyze(m, &fx("deploys.jsonl"), &["--json"]);
    assert_eq!(r.code, Some(1), "the good lines still judge: {}", r.stderr);
    for want in [
        "metrics.jsonl:3: not a JSON object",
        "metrics.jsonl:5: no `timestamp`",
        "metrics.jsonl:7: `timestamp`: `soon` is not a time",
        "metrics.jsonl:9: `service` must be a string",
    ] {
        assert!(
            r.stderr.contains(want),
            "{want:?} missing from\n{}",
            r.stderr
        );
    }
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["inputs"]["metrics"]["skipped"], 4);
    assert_eq!(json["inputs"]["metrics"]["used"], 614);

    // Nothing usable: exit 2, and the reasons.
    let empty = dir.path().join("bad.jsonl");
    std::fs::write(&empty, "{\"timestamp\":1}\nnope\n").unwrap();
    let r = analyze(empty.to_str().unwrap(), &fx("deploys.jsonl"), &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("no usable metric sample"), "{}", r.stderr);
    assert!(
        r.stderr.contains("bad.jsonl:2: not a JSON object"),
        "{}",
        r.stderr
    );
    let r = analyze(&fx("metrics.jsonl"), empty.to_str().unwrap(), &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("bad.jsonl:1: no `deploy_id`"),
        "{}",
        r.stderr
    );

    // Missing files and bad flags are usage errors too.
    let r = analyze("/nonexistent/m.jsonl", &fx("deploys.jsonl"), &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let r = analyze(
        &fx("metrics.jsonl"),
        &fx("deploys.jsonl"),
        &["--min-effect", "lots"],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}

#[test]
fn json_logs_work_like_plain_ones() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("app.jsonl");
    let text = std::fs::read_to_string(fixture("app.log")).unwrap();
    let mut out = String::new();
    for line in text.lines().filter(|l| l.contains("ERROR")) {
        let (ts, rest) = line.split_once(" ERROR ").unwrap();
        let obj = serde_json::json!({"timestamp": ts, "level": "error", "message": rest});
        out.push_str(&format!("{obj}\n"));
    }
    std::fs::write(&logs, out).unwrap();
    let r = analyze(
        &fx("metrics.jsonl"),
        &fx("deploys.jsonl"),
        &["--logs", logs.to_str().unwrap(), "--json"],
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    let sig = &json["deploys"][1]["log_signatures"]["changes"][0];
    assert_eq!(sig["kind"], "new", "{sig}");
    assert_eq!(sig["count_after"], 30);
}

/// The `alarm` column and every row's text, from a `rewind detect` output.
fn scores(path: &Path) -> Vec<(String, bool)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| (l.to_owned(), l.ends_with(",1")))
        .collect()
}

fn detect(input: &Path, output: &Path, extra: &[&str]) -> Ran {
    let mut args = vec![
        "detect",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn detect_alarms_once_just_after_the_step_and_never_looks_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.csv");
    let r = detect(&fixture("step.csv"), &full, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("900 row(s) scored, 1 alarm(s)"),
        "{}",
        r.stdout
    );
    let rows = scores(&full);
    assert_eq!(rows.len(), 900);
    let head = std::fs::read_to_string(&full).unwrap();
    assert!(head.starts_with("timestamp,value,anomaly_score,alarm\n2026-03-30T00:00:00Z,"));
    let alarms: Vec<usize> = (0..rows.len()).filter(|i| rows[*i].1).collect();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    // The step is at row 600; allow a few rows to confirm it.
    assert!((600..605).contains(&alarms[0]), "{alarms:?}");

    // Causality: the rows of a truncated input score exactly as in the full run.
    let input = std::fs::read_to_string(fixture("step.csv")).unwrap();
    let lines: Vec<&str> = input.lines().collect();
    for keep in [300, 600, 603] {
        let cut = dir.path().join(format!("cut{keep}.csv"));
        std::fs::write(&cut, lines[..=keep].join("\n")).unwrap();
        let out = dir.path().join(format!("cut{keep}.scores.csv"));
        let r = detect(&cut, &out, &[]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert_eq!(scores(&out)[..], rows[..keep], "cut at {keep}");
    }
}

#[test]
fn detect_takes_a_change_rule_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "triggers:\n  - name: Value dropped\n    type: change\n    metric: app.value\n    direction: down\n    severity: low\n  - name: Value rose\n    type: change\n    metric: app.value\n    baseline: 120\n    direction: up\n    severity: low\n",
    )
    .unwrap();
    let rules_s = rules.to_str().unwrap();
    let out = dir.path().join("s.csv");
    let r = detect(&fixture("step.csv"), &out, &["--rules", rules_s]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("0 alarm(s)") && r.stdout.contains("\"Value dropped\""),
        "{}",
        r.stdout
    );
    let r = detect(
        &fixture("step.csv"),
        &out,
        &["--rules", rules_s, "--rule", "Value rose"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("1 alarm(s)"), "{}", r.stdout);
    let r = detect(
        &fixture("step.csv"),
        &out,
        &["--rules", rules_s, "--rule", "nope"],
    );
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("\"Value dropped\", \"Value rose\""),
        "{}",
        r.stderr
    );

    // Bad rows are named and left out; Unix seconds and no header are fine.
    let input = dir.path().join("in.csv");
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!("{},{}\n", 1_774_899_000 + i, 100 + i % 3));
    }
    text.push_str("1774899040,lots\nyesterday,1\n1774899041\n");
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("o.csv");
    let r = detect(&input, &out, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for want in [
        "in.csv:41: the value `lots`",
        "in.csv:42: `yesterday`",
        "in.csv:43: expected",
    ] {
        assert!(
            r.stderr.contains(want),
            "{want:?} missing from\n{}",
            r.stderr
        );
    }
    assert_eq!(scores(&out).len(), 40);

    // Nothing usable: exit 2, and no output file.
    std::fs::write(&input, "a,b\nc,d\n").unwrap();
    let out = dir.path().join("none.csv");
    let r = detect(&input, &out, &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("no usable row"), "{}", r.stderr);
    assert!(!out.exists());
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn help_teaches_with_examples_and_exit_codes() {
    let r = run(&["deploy", "analyze", "--help"]);
    assert_eq!(r.code, Some(0));
    for want in [
        "rewind deploy analyze --metrics metrics.jsonl --deploys deploy-events.jsonl",
        "\"deploy_id\":\"v1.4.2\"",
        "Exit codes: 0 no deploy regressed",
        "FILE:LINE",
    ] {
        assert!(
            r.stdout.contains(want),
            "{want:?} missing from\n{}",
            r.stdout
        );
    }
    let r = run(&["detect", "--help"]);
    assert_eq!(r.code, Some(0));
    for want in [
        "rewind detect --input latency.csv",
        "timestamp,value,anomaly_score,alarm",
        "`change` rule",
    ] {
        assert!(
            r.stdout.contains(want),
            "{want:?} missing from\n{}",
            r.stdout
        );
    }
}
