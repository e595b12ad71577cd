//! Write, then read back: everything survives exactly.

use std::io::Cursor;

use rewind_bundle::{
    Error, FORMAT_VERSION, Limits, TriggerSummary, file_name, read_bundle, write_bundle,
    write_bundle_to,
};
use rewind_model::{SeriesData, TimeRange};

use crate::common::{CPU_CSV, Fixture, edit_manifest, series, t, tampered, unzip, valid_bundle};

fn assert_bit_exact(got: &SeriesData, want: &rewind_bundle::SeriesInput) {
    assert_eq!(got.name, want.name.as_str());
    assert_eq!(got.unit, want.unit);
    assert_eq!(got.v.len(), want.samples.len(), "{}", got.name);
    for ((&v, &ts), s) in got.v.iter().zip(&got.t).zip(&want.samples) {
        let same = v.to_bits() == s.value.to_bits() || (v.is_nan() && s.value.is_nan());
        assert!(same, "{}: {v:?} != {:?}", got.name, s.value);
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
            "metrics/topic._a_b.csv",
            "metrics/topic._a_b-2.csv",
            "metrics/CPU.load.csv",
            "metrics/cpu.load-2.csv",
            "metrics/empty.series.csv",
        ]
    );
    assert_eq!(m.series[1].samples, 8);
    let listed: Vec<_> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(listed.len(), paths.len() + 1);
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
