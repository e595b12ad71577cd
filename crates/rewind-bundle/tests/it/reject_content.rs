//! Members whose bytes match their hashes but whose contents are wrong:
//! the CSVs, the trigger, the event log, the logs and the recording.

use std::io::Cursor;

use rewind_bundle::{Error, Limits, read_bundle, write_bundle_to};

use crate::{
    common::{
        CPU_CSV, Fixture, edit_manifest, member, relist, series, small_limits, tampered, unzip,
    },
    reject::read,
};

/// Replaces `from` by `to` in one member's text, then relists.
fn edit_text(name: &str, from: &str, to: &str) -> Vec<u8> {
    tampered(|m| {
        let bytes = member(m, name);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(from), "{name} has no {from:?}");
        *bytes = text.replacen(from, to, 1).into_bytes();
        relist(m);
    })
}

#[test]
fn bad_csv_row_names_the_line() {
    match read(&edit_text(CPU_CSV, ",99.5\n", ",ninety\n")) {
        Error::Csv { path, line, reason } => {
            assert_eq!((path.as_str(), line), (CPU_CSV, 3));
            assert!(reason.contains("`ninety`"), "{reason}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn sample_count_must_match() {
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["series"][0]["samples"] = 4.into())
    }));
    assert!(
        matches!(
            err,
            Error::SampleCountMismatch {
                declared: 4,
                actual: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn series_paths_must_fit_their_name() {
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| {
            v["series"][0]["path"] = "nodes/cpu.total.busy_pct.csv".into()
        })
    }));
    assert!(
        matches!(err, Error::ManifestInvalid { ref reason } if reason.contains("metrics/")),
        "{err}"
    );
}

#[test]
fn trigger_must_parse_and_agree_with_the_manifest() {
    let err = read(&edit_text(
        "trigger.json",
        "\"cpu-saturated\"",
        "\"something-else\"",
    ));
    assert!(
        matches!(err, Error::TriggerMismatch { field: "rule", .. }),
        "{err}"
    );
    let err = read(&tampered(|m| {
        *member(m, "trigger.json") = b"[]".to_vec();
        relist(m);
    }));
    assert!(matches!(err, Error::TriggerInvalid { .. }), "{err}");
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["labels"]["team"] = "planning".into())
    }));
    assert!(
        matches!(
            err,
            Error::TriggerMismatch {
                field: "labels",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn events_must_parse_and_be_counted() {
    let err = read(&edit_text(
        "events.jsonl",
        "\"kind\":\"log\"",
        "\"kind\":\"gossip\"",
    ));
    assert!(
        matches!(err, Error::EventsInvalid { ref path, line: 1, .. } if path == "events.jsonl"),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_events_invalid");
    let err = read(&edit_text(
        "events.jsonl",
        "2026-11-23T09:59:59Z",
        "2027-01-01T00:00:00Z",
    ));
    assert!(
        matches!(err, Error::EventsInvalid { line: 2, ref reason, .. } if reason.contains("time order")),
        "{err}"
    );
    let err = read(&tampered(|m| edit_manifest(m, |v| v["events"] = 7.into())));
    assert!(
        matches!(
            err,
            Error::CountMismatch {
                what: "events",
                declared: 7,
                actual: 6,
                ..
            }
        ),
        "{err}"
    );
    let limits = Limits {
        max_events: 2,
        ..small_limits()
    };
    let err = read_bundle(&crate::common::valid_bundle(), &limits).unwrap_err();
    assert!(
        matches!(err, Error::TooManyEvents { count: 6, limit: 2 }),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_too_many_events");
    // The manifest may understate the count; the file is still capped.
    let err = read_bundle(
        &tampered(|m| edit_manifest(m, |v| v["events"] = 1.into())),
        &limits,
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::TooManyEvents { count: 6, limit: 2 }),
        "{err}"
    );
}

#[test]
fn logs_must_parse_and_be_counted() {
    let err = read(&edit_text("logs/kmsg.log", " error ", " loud "));
    assert!(
        matches!(err, Error::LogInvalid { ref path, line: 1, ref reason } if path == "logs/kmsg.log" && reason.contains("`loud`")),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_log_invalid");
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["logs"][1]["lines"] = 3.into())
    }));
    assert!(
        matches!(err, Error::CountMismatch { what: "lines", declared: 3, actual: 2, ref path } if path == "logs/journal.log"),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_count_mismatch");
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["logs"][1]["source"] = "kmsg".into())
    }));
    assert!(matches!(err, Error::ManifestInvalid { .. }), "{err}");
}

#[test]
fn the_recording_must_parse() {
    let err = read(&tampered(|m| {
        let mcap = member(m, "recording.mcap");
        let mid = mcap.len() / 2;
        mcap[mid] ^= 0xff;
        relist(m);
    }));
    assert!(
        matches!(err, Error::RecordingInvalid { ref path, .. } if path == "recording.mcap"),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_recording_invalid");
    let err = read(&tampered(|m| {
        member(m, "recording.mcap").truncate(100);
        relist(m);
    }));
    assert!(matches!(err, Error::RecordingInvalid { .. }), "{err}");
    let err = read(&tampered(|m| {
        *member(m, "recording.mcap") = b"not an mcap file".to_vec();
        relist(m);
    }));
    assert!(matches!(err, Error::RecordingInvalid { .. }), "{err}");
}

#[test]
fn the_recording_must_match_the_manifest_and_the_members() {
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["recording"]["messages"] = 1.into())
    }));
    assert!(
        matches!(
            err,
            Error::CountMismatch {
                what: "messages",
                ..
            }
        ),
        "{err}"
    );
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["recording"]["channels"] = 1.into())
    }));
    assert!(
        matches!(
            err,
            Error::CountMismatch {
                what: "channels",
                ..
            }
        ),
        "{err}"
    );
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["recording"]["compression"] = "".into())
    }));
    assert!(
        matches!(err, Error::RecordingInvalid { ref reason, .. } if reason.contains("`zstd`")),
        "{err}"
    );
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["recording"]["compression"] = "lz4".into())
    }));
    assert!(matches!(err, Error::ManifestInvalid { .. }), "{err}");
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["recording"]["path"] = "other.mcap".into())
    }));
    assert!(matches!(err, Error::ManifestInvalid { .. }), "{err}");
}

#[test]
fn a_recording_from_another_bundle_is_refused() {
    // Same shape, other bundle id: counts agree, the metadata does not.
    let mut other = Fixture::new();
    other.bundle_id = "0192f3c4-5b6a-7c8d-9e0f-000000000000".parse().unwrap();
    let mut out = Cursor::new(Vec::new());
    write_bundle_to(&mut out, &other.input()).unwrap();
    let foreign = unzip(out.get_ref())
        .into_iter()
        .find(|(n, _)| n == "recording.mcap")
        .unwrap()
        .1;
    let err = read(&tampered(|m| {
        *member(m, "recording.mcap") = foreign.clone();
        relist(m);
    }));
    assert!(
        matches!(err, Error::RecordingInvalid { ref reason, .. } if reason.contains("names bundle")),
        "{err}"
    );
    // Other series: the channels disagree.
    let mut other = Fixture::new();
    other.series[0] = series("cpu.total.busy_pct", "percent", &[1.0]);
    let mut out = Cursor::new(Vec::new());
    write_bundle_to(&mut out, &other.input()).unwrap();
    let foreign = unzip(out.get_ref())
        .into_iter()
        .find(|(n, _)| n == "recording.mcap")
        .unwrap()
        .1;
    let err = read(&tampered(|m| {
        let old = std::mem::replace(member(m, "recording.mcap"), foreign.clone());
        assert_ne!(old, foreign);
        relist(m);
        edit_manifest(m, |v| {
            v["recording"]["messages"] = (v["recording"]["messages"].as_u64().unwrap() - 2).into()
        });
    }));
    assert!(
        matches!(err, Error::RecordingInvalid { ref reason, .. } if reason.contains("/metrics/cpu.total.busy_pct")),
        "{err}"
    );
}
