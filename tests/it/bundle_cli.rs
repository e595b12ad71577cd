//! `rewind bundle inspect|extract|timeline` and `bench capture`, run as the
//! real binary on bundles written with `rewind_bundle`, as an agent writes them.

use std::path::{Path, PathBuf};

use rewind_bundle::{Attachment, BundleExtras, BundleInput, SeriesInput, write_bundle};
use rewind_model::{
    BundleId, DeviceId, Event, EventKind, Level, Sample, SeriesName, Severity, TimeRange,
    Timestamp, Trigger,
};
use sha2::{Digest as _, Sha256};

use crate::proc::run;

/// 2026-11-23T10:00:00Z plus `ms` milliseconds.
fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_795_428_000_000 + ms)
}

/// A 12 s bundle, CPU at 95 % from 6 s, "CPU saturated" fired at 8 s, a
/// process event at 7.5 s, a log line and an attachment.
fn write_cpu_bundle(dir: &Path) -> PathBuf {
    let cpu = (0..=120)
        .map(|i| Sample::new(t(i * 100), if i >= 60 { 95.0 } else { 20.0 }))
        .collect();
    let memory = (0..=12).map(|i| Sample::new(t(i * 1000), 4.0e9)).collect();
    let series = [
        SeriesInput {
            name: SeriesName::new("cpu.total.busy_pct").unwrap(),
            unit: "percent".into(),
            samples: cpu,
        },
        SeriesInput {
            name: SeriesName::new("memory.available_bytes").unwrap(),
            unit: "bytes".into(),
            samples: memory,
        },
    ];
    let events = [
        Event::new(
            t(7_500),
            "process",
            EventKind::ProcessRestarted,
            Level::Warning,
            "camera_driver restarted",
        ),
        Event::new(
            t(3_000),
            "kmsg",
            EventKind::Log,
            Level::Warning,
            "usb reset",
        ),
    ];
    let trigger = Trigger {
        rule: "CPU saturated".into(),
        rule_type: "metric_threshold".into(),
        severity: Severity::High,
        fired_at: t(8_000),
        summary: "cpu.total.busy_pct stayed above 70 for 2.0 s".into(),
        evidence: vec![],
        labels: Default::default(),
    };
    let device = DeviceId::new("robot-7").unwrap();
    let extras = BundleExtras {
        notes: vec!["eu-stack not installed".into()],
        ..Default::default()
    };
    let attachments = [Attachment::new("system/os-release", "ID=debian\n")];
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
        series: &series,
        events: &events,
        attachments: &attachments,
        extras: &extras,
    };
    write_bundle(dir, &input).unwrap().path
}

/// A copy of `bundle` with one byte flipped in the middle.
fn damaged(bundle: &Path) -> PathBuf {
    let mut bytes = std::fs::read(bundle).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let path = bundle.with_extension("bad.zip");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn bundle_inspect_shows_the_trigger_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_cpu_bundle(dir.path());
    let ran = run(&["bundle", "inspect", bundle.to_str().unwrap()]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    for want in [
        "CPU saturated",
        "stayed above 70",
        "robot-7",
        "2 (134 samples)",
        "events      2",
        "system 1",
        "eu-stack not installed",
        "recording.mcap",
        "manifest.json",
    ] {
        assert!(ran.stdout.contains(want), "{want}:\n{}", ran.stdout);
    }
    let ran = run(&["bundle", "inspect", bundle.to_str().unwrap(), "--json"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(doc["trigger"]["rule"], "CPU saturated");
    assert_eq!(doc["counts"]["samples"], 134);
    assert_eq!(doc["counts"]["events"], 2);
    assert_eq!(doc["window"]["seconds"], 12.0);
}

#[test]
fn bundle_extract_writes_every_file_with_its_hash_and_refuses_a_non_empty_dir() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_cpu_bundle(dir.path());
    let out = dir.path().join("out");
    let ran = run(&[
        "bundle",
        "extract",
        bundle.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert!(files.len() >= 6, "{files:?}");
    for f in files {
        let bytes = std::fs::read(out.join(f["path"].as_str().unwrap())).unwrap();
        let hash: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash, f["sha256"].as_str().unwrap(), "{}", f["path"]);
    }
    // Again into the same (now full) directory: refused, nothing touched.
    let ran = run(&[
        "bundle",
        "extract",
        bundle.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(ran.code, Some(1), "{}", ran.stdout);
    assert!(ran.stderr.contains("not empty"), "{}", ran.stderr);
    assert!(out.join("manifest.json").exists());
}

#[test]
fn bundle_timeline_marks_the_trigger_and_lists_events() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_cpu_bundle(dir.path());
    let ran = run(&["bundle", "timeline", bundle.to_str().unwrap()]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("T+0.0s ◀ trigger"), "{}", ran.stdout);
    assert!(ran.stdout.contains("T-8.0s"), "{}", ran.stdout);
    assert!(ran.stdout.contains("T+4.0s"), "{}", ran.stdout);
    let trigger_row = ran
        .stdout
        .lines()
        .find(|l| l.contains("◀ trigger"))
        .unwrap();
    assert!(trigger_row.contains("95.0%"), "{trigger_row}");
    assert!(trigger_row.contains("3815MiB"), "{trigger_row}");
    assert!(
        trigger_row.contains("camera_driver restarted"),
        "{trigger_row}"
    );
    let ran = run(&[
        "bundle",
        "timeline",
        bundle.to_str().unwrap(),
        "--step",
        "0.5",
        "--series",
        "cpu.*",
    ]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("T-0.5s"), "{}", ran.stdout);
    assert!(!ran.stdout.contains("MiB"), "{}", ran.stdout);
}

#[test]
fn a_damaged_bundle_fails_inspect_and_extract_with_exit_1_and_nothing_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let bad = damaged(&write_cpu_bundle(dir.path()));
    let ran = run(&["bundle", "inspect", bad.to_str().unwrap()]);
    assert_eq!(ran.code, Some(1), "{}", ran.stdout);
    assert!(ran.stderr.contains("bad.zip"), "{}", ran.stderr);
    assert!(ran.stderr.contains("[bundle_"), "{}", ran.stderr);
    let out = dir.path().join("out");
    let ran = run(&[
        "bundle",
        "extract",
        bad.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(ran.code, Some(1), "{}", ran.stdout);
    assert!(ran.stderr.contains("[bundle_"), "{}", ran.stderr);
    assert!(!out.exists(), "nothing may be extracted from a bad bundle");
}

#[test]
fn bundle_and_bench_capture_help_teach_with_examples() {
    for cmd in ["inspect", "extract", "timeline"] {
        let ran = run(&["bundle", cmd, "--help"]);
        assert!(ran.stdout.contains("Example"), "{cmd}: {}", ran.stdout);
    }
    assert!(
        run(&["bench", "capture", "--help"])
            .stdout
            .contains("Example")
    );
}

#[test]
fn bench_capture_reports_its_figures_as_json() {
    let ran = run(&[
        "bench",
        "capture",
        "--seconds",
        "2",
        "--series",
        "5",
        "--iterations",
        "2",
        "--json",
    ]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(doc["series"], 5);
    assert_eq!(doc["seconds"], 2);
    assert_eq!(doc["samples"], 5 * 21);
    assert_eq!(doc["events"], 300);
    assert_eq!(doc["target_ms"], 100.0);
    assert_eq!(doc["recording_compression"], "zstd");
    for key in [
        "snapshot_p50_ms",
        "snapshot_p99_ms",
        "write_p50_ms",
        "write_p99_ms",
        "total_p50_ms",
        "total_p99_ms",
        "bundle_bytes",
        "recording_bytes",
        "bytes_per_sample",
        "baseline_bytes",
        "baseline_write_p50_ms",
        "baseline_write_p99_ms",
    ] {
        let v = doc[key].as_f64().unwrap_or(-1.0);
        assert!(v > 0.0 && v.is_finite(), "{key} = {}", doc[key]);
    }
}
