//! Write, then read back: everything survives exactly.

use std::io::Cursor;

use rewind_bundle::{
    Attachment, AttachmentKind, BundleExtras, Error, FORMAT_VERSION, Limits, Series,
    TriggerSummary, file_name, read_bundle, write_bundle, write_bundle_to,
};
use rewind_model::{SeriesData, TimeRange};

use crate::common::{CPU_CSV, Fixture, edit_manifest, series, t, tampered, unzip, valid_bundle};

fn assert_bit_exact(got: &Series, want: &rewind_bundle::SeriesInput) {
    assert_eq!(got.name, want.name);
    assert_eq!(got.unit, want.unit);
    assert_eq!(got.v.len(), want.samples.len(), "{}", got.name);
    assert_eq!(got.t_nanos.len(), want.samples.len(), "{}", got.name);
    for (((&v, &ts), &ns), s) in got
        .v
        .iter()
        .zip(&got.t)
        .zip(&got.t_nanos)
        .zip(&want.samples)
    {
        let same = v.to_bits() == s.value.to_bits() || (v.is_nan() && s.value.is_nan());
        assert!(same, "{}: {v:?} != {:?}", got.name, s.value);
        assert_eq!(ns, s.ts.as_unix_nanos());
        assert_eq!(ts.to_bits(), s.ts.as_unix_secs_f64().to_bits());
    }
}

#[test]
fn round_trip_through_a_directory_is_bit_exact() {
    let fixture = Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    let written = write_bundle(dir.path(), &fixture.input()).unwrap();
    assert_eq!(
        written.path.file_name().unwrap(),
        "incident_20261123T100005Z_cpu-saturated.zip"
    );
    let bytes = std::fs::read(&written.path).unwrap();
    assert_eq!(written.size, bytes.len() as u64);

    let bundle = read_bundle(&bytes, &Limits::default()).unwrap();
    assert_eq!(bundle.manifest, written.manifest);
    assert_eq!(bundle.trigger, fixture.trigger);
    assert_eq!(bundle.series.len(), fixture.series.len());
    for (got, want) in bundle.series.iter().zip(&fixture.series) {
        assert_bit_exact(got, want);
    }
    let mut events = fixture.events.clone();
    events.sort_by_key(|e| e.ts);
    assert_eq!(bundle.events, events);
    let mut attachments = fixture.attachments.clone();
    attachments.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(bundle.attachments, attachments);
}

#[test]
fn series_convert_to_the_api_shape() {
    let bundle = read_bundle(&valid_bundle(), &Limits::default()).unwrap();
    let data: SeriesData = bundle.series[0].to_data();
    assert_eq!(data.name, "cpu.total.busy_pct");
    assert_eq!(data.t, bundle.series[0].t);
    assert_eq!(data.v, [12.5, 99.5, 97.25]);
}

#[test]
fn events_logs_and_attachments_are_described_in_the_manifest() {
    let fixture = Fixture::new();
    let m = write_bundle_to(Cursor::new(Vec::new()), &fixture.input()).unwrap();
    assert_eq!(m.events, 6);
    let logs: Vec<_> = m
        .logs
        .iter()
        .map(|l| (l.source.as_str(), l.path.as_str(), l.lines))
        .collect();
    assert_eq!(
        logs,
        [
            ("file:/var/log/app.log", "logs/file_var_log_app.log.log", 1),
            ("journal", "logs/journal.log", 2),
            ("kmsg", "logs/kmsg.log", 1),
        ]
    );
    let attachments: Vec<_> = m
        .attachments
        .iter()
        .map(|a| (a.path.as_str(), a.kind))
        .collect();
    assert_eq!(
        attachments,
        [
            ("baseline/processes/camera/status", AttachmentKind::Baseline),
            ("diagnostics/pprof/heap.pb.gz", AttachmentKind::Diagnostics),
            ("processes/camera/stack", AttachmentKind::Process),
            ("processes/camera/status", AttachmentKind::Process),
            ("system/empty", AttachmentKind::System),
            ("system/os-release", AttachmentKind::System),
        ]
    );
    let rec = m.recording.as_ref().unwrap();
    assert_eq!(
        (rec.path.as_str(), rec.compression.as_str()),
        ("recording.mcap", "zstd")
    );
    assert_eq!(rec.channels, fixture.series.len() as u64 + 2);
    let samples: usize = fixture.series.iter().map(|s| s.samples.len()).sum();
    assert_eq!(rec.messages, (samples + 6 + 4) as u64);
    assert_eq!(m.fleet.as_deref(), Some("warehouse-east"));
    assert_eq!(m.labels, fixture.trigger.labels);
    assert_eq!(m.redactions, fixture.extras.redactions);
    assert_eq!(m.losses, fixture.extras.losses);
    assert_eq!(m.notes, fixture.extras.notes);
}

#[test]
fn logs_read_back_as_lines() {
    let bundle = read_bundle(&valid_bundle(), &Limits::default()).unwrap();
    let app = &bundle.logs[0];
    assert_eq!(app.source, "file:/var/log/app.log");
    assert_eq!(app.lines[0].message, "line one\nline two\\ \u{1b}");
    let journal = &bundle.logs[1];
    assert_eq!(journal.lines.len(), 2);
    assert!(journal.lines[0].ts < journal.lines[1].ts, "time order");
    let members = unzip(&valid_bundle());
    let text = &members
        .iter()
        .find(|(n, _)| n == "logs/file_var_log_app.log.log")
        .unwrap()
        .1;
    assert_eq!(
        String::from_utf8_lossy(text),
        "2026-11-23T10:00:04.250Z warning line one\\nline two\\\\ \\x1b\n"
    );
    let events = &members.iter().find(|(n, _)| n == "events.jsonl").unwrap().1;
    let first = String::from_utf8_lossy(events)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        first,
        r#"{"ts":"2026-11-23T09:59:59Z","source":"journal","kind":"log","level":"debug","message":""}"#
    );
}

#[test]
fn a_bundle_without_events_or_attachments_is_complete() {
    let fixture = Fixture::new();
    let input = rewind_bundle::BundleInput {
        events: &[],
        attachments: &[],
        extras: &BundleExtras::default(),
        ..fixture.input()
    };
    let mut out = Cursor::new(Vec::new());
    let m = write_bundle_to(&mut out, &input).unwrap();
    assert_eq!((m.events, m.logs.len(), m.attachments.len()), (0, 0, 0));
    assert!(m.file("events.jsonl").is_some_and(|f| f.size == 0));
    let json: serde_json::Value = serde_json::from_slice(&m.to_json().unwrap()).unwrap();
    assert!(json.get("fleet").is_none(), "absent, not null");
    assert_eq!(json["losses"], serde_json::json!({}));
    let bundle = read_bundle(out.get_ref(), &Limits::default()).unwrap();
    assert!(bundle.events.is_empty() && bundle.logs.is_empty() && bundle.attachments.is_empty());
}

#[test]
fn manifest_fields_describe_the_input() {
    let fixture = Fixture::new();
    let m = write_bundle_to(Cursor::new(Vec::new()), &fixture.input()).unwrap();
    assert_eq!(m.format_version, FORMAT_VERSION);
    assert_eq!(m.bundle_id, fixture.bundle_id);
    assert_eq!(m.device_id, fixture.device);
    assert_eq!(m.agent_version, "0.1.0-test");
    assert_eq!(m.created_at, t(6_000));
    assert_eq!(m.trigger, TriggerSummary::of(&fixture.trigger));
    assert_eq!(
        m.time_range,
        TimeRange {
            start: t(-300_000),
            end: t(5_000)
        }
    );
    let paths: Vec<_> = m.series.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            CPU_CSV,
            "metrics/mem.tricky.csv",
            "metrics/odd.values.csv",
            "topics/topic._a_b.csv",
            "topics/topic._a_b-2.csv",
            "metrics/CPU.load.csv",
            "metrics/cpu.load-2.csv",
            "metrics/empty.series.csv",
            "nodes/node.planner.alive.csv",
        ]
    );
    assert_eq!(m.series[1].samples, 8);
    let listed: Vec<_> = m.files.iter().map(|f| f.path.as_str()).collect();
    // series, events.jsonl, 3 logs, 6 attachments, recording.mcap, trigger.json
    assert_eq!(listed.len(), paths.len() + 1 + 3 + 6 + 2);
    assert!(listed.contains(&"trigger.json") && !listed.contains(&"manifest.json"));
}

#[test]
fn csv_members_have_the_documented_text() {
    let members = unzip(&valid_bundle());
    let names: Vec<_> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&"manifest.json"));
    let csv = &members.iter().find(|(n, _)| n == CPU_CSV).unwrap().1;
    assert_eq!(
        String::from_utf8_lossy(csv),
        "timestamp,unix_nanos,value\n\
         2026-11-23T10:00:04.000Z,1795428004000000000,12.5\n\
         2026-11-23T10:00:04.100000007Z,1795428004100000007,99.5\n\
         2026-11-23T10:00:04.200000014Z,1795428004200000014,97.25\n"
    );
}

#[test]
fn same_input_gives_the_same_bytes() {
    assert_eq!(valid_bundle(), valid_bundle());
}

#[test]
fn unknown_manifest_fields_are_accepted() {
    let bytes = tampered(|m| {
        edit_manifest(m, |v| {
            v["added_in_a_later_minor"] = serde_json::json!({"x": 1});
            v["trigger"]["extra"] = serde_json::json!("ignored");
        });
    });
    let bundle = read_bundle(&bytes, &Limits::default()).unwrap();
    assert_eq!(bundle.manifest.trigger.rule, "cpu-saturated");
}

#[test]
fn file_names_are_safe_slugs() {
    let at = t(5_900);
    assert_eq!(
        file_name(at, "cpu-saturated"),
        "incident_20261123T100005Z_cpu-saturated.zip"
    );
    assert_eq!(
        file_name(at, "  Disk FULL: /var!! "),
        "incident_20261123T100005Z_disk-full-var.zip"
    );
    assert_eq!(
        file_name(at, "../../etc"),
        "incident_20261123T100005Z_etc.zip"
    );
    assert_eq!(
        file_name(at, "ünïcødé"),
        "incident_20261123T100005Z_n-c-d.zip"
    );
    assert_eq!(
        file_name(at, "!!!"),
        "incident_20261123T100005Z_incident.zip"
    );
    let long = file_name(at, &"a-".repeat(100));
    let slug = long
        .trim_start_matches("incident_20261123T100005Z_")
        .trim_end_matches(".zip");
    assert!(slug.len() <= 48 && !slug.ends_with('-'), "{slug}");
}

#[test]
fn the_writer_refuses_input_it_cannot_store() {
    let mut fixture = Fixture::new();
    fixture
        .series
        .push(series("cpu.total.busy_pct", "percent", &[1.0]));
    let err = write_bundle_to(Cursor::new(Vec::new()), &fixture.input()).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert_eq!(err.code(), "bundle_invalid_input");

    for (path, why) in [
        ("../etc/passwd", "`..`"),
        ("/etc/passwd", "relative"),
        ("metrics/x.csv", "attachments go under"),
        ("processes/camera", "processes/<name>/<file>"),
        ("system/os-release", "twice"),
        ("SYSTEM/os-release", "attachments go under"),
        ("system/OS-RELEASE", "twice (ignoring case)"),
        ("system/os-release/x", "both a file and the directory"),
    ] {
        let mut fixture = Fixture::new();
        fixture.attachments.push(Attachment::new(path, "x"));
        let err = write_bundle_to(Cursor::new(Vec::new()), &fixture.input()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { .. }) && err.to_string().contains(why),
            "{path}: {err}"
        );
    }
    let mut fixture = Fixture::new();
    fixture.extras.fleet = Some(String::new());
    let err = write_bundle_to(Cursor::new(Vec::new()), &fixture.input()).unwrap_err();
    assert!(err.to_string().contains("fleet"), "{err}");

    let mut fixture = Fixture::new();
    fixture.trigger.evidence[0].peak = f64::NAN;
    let err = write_bundle_to(Cursor::new(Vec::new()), &fixture.input()).unwrap_err();
    assert!(err.to_string().contains("non-finite"), "{err}");

    let fixture = Fixture::new();
    let mut input = fixture.input();
    input.window = TimeRange {
        start: t(1),
        end: t(0),
    };
    let err = write_bundle_to(Cursor::new(Vec::new()), &input).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
}

#[test]
fn a_bundle_written_before_the_v1_additions_still_reads() {
    // Written by the reader's predecessor (commit 6964348): every series in
    // `metrics/`, no events, logs, attachments, recording or new manifest fields.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/corpus/ok--written-before-the-v1-additions.zip"
    );
    let bundle = read_bundle(&std::fs::read(path).unwrap(), &Limits::default()).unwrap();
    let m = &bundle.manifest;
    let paths: Vec<_> = m.series.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "metrics/cpu.total.busy_pct.csv",
            "metrics/topic._camera_rgb.rate_hz.csv",
            "metrics/node.planner.alive.csv"
        ]
    );
    assert_eq!(
        (m.events, m.recording.is_none(), m.fleet.is_none()),
        (0, true, true)
    );
    assert!(m.labels.is_empty() && m.losses.is_empty() && m.attachments.is_empty());
    assert_eq!(bundle.trigger.labels["team"], "perception");
    assert!(bundle.events.is_empty() && bundle.logs.is_empty());
    assert!(bundle.series[1].v[1].is_nan());
}
