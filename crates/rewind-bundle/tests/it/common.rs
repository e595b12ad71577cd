//! Fixtures and zip surgery shared by the tests.

use std::io::{Cursor, Read, Write};

use rewind_bundle::{
    Attachment, BundleExtras, BundleInput, Limits, Redaction, SeriesInput, write_bundle_to,
};
use rewind_model::{
    BundleId, Comparison, DeviceId, Event, EventKind, Evidence, Level, Sample, SeriesName,
    Severity, TimeRange, Timestamp, Trigger,
};
use sha2::{Digest, Sha256};
use zip::{CompressionMethod, ZipArchive, ZipWriter, write::SimpleFileOptions};

/// 2026-11-23T10:00:00Z.
pub const T0_MS: i64 = 1_795_428_000_000;

pub fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0_MS + ms)
}

/// Owns everything a [`BundleInput`] borrows.
pub struct Fixture {
    pub device: DeviceId,
    pub trigger: Trigger,
    pub series: Vec<SeriesInput>,
    pub events: Vec<Event>,
    pub attachments: Vec<Attachment>,
    pub extras: BundleExtras,
    pub bundle_id: BundleId,
}

impl Fixture {
    pub fn new() -> Self {
        let name = SeriesName::new("cpu.total.busy_pct").unwrap();
        let trigger = Trigger {
            rule: "cpu-saturated".into(),
            rule_type: "metric_threshold".into(),
            severity: Severity::High,
            fired_at: t(5_000),
            summary: "cpu.total.busy_pct above 90 for 5 s (peak 99.5)".into(),
            evidence: vec![Evidence::new(
                name.clone(),
                Comparison::Above(90.0),
                97.25,
                99.5,
                t(0),
                50,
            )],
            labels: [("team".to_owned(), "perception".to_owned())].into(),
        };
        let tricky = [
            -1.5,
            5e-324,
            1e-300,
            f64::MAX,
            -f64::MAX,
            1e300,
            -0.0,
            0.1 + 0.2,
        ];
        let series = vec![
            series("cpu.total.busy_pct", "percent", &[12.5, 99.5, 97.25]),
            series("mem.tricky", "bytes", &tricky),
            series(
                "odd.values",
                "",
                &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
            ),
            series("topic./a/b", "hz", &[1.0]),
            series("topic._a_b", "hz", &[2.0]),
            series("CPU.load", "ratio", &[0.5]),
            series("cpu.load", "ratio", &[0.25]),
            series("empty.series", "count", &[]),
            series("node.planner.alive", "bool", &[1.0, 0.0]),
        ];
        let bundle_id = "0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f".parse().unwrap();
        Self {
            device: DeviceId::new("robot-7").unwrap(),
            trigger,
            series,
            events: events(),
            attachments: attachments(),
            extras: extras(),
            bundle_id,
        }
    }

    pub fn input(&self) -> BundleInput<'_> {
        BundleInput {
            bundle_id: self.bundle_id,
            device_id: &self.device,
            agent_version: "0.1.0-test",
            created_at: t(6_000),
            trigger: &self.trigger,
            window: TimeRange {
                start: t(-300_000),
                end: t(5_000),
            },
            series: &self.series,
            events: &self.events,
            attachments: &self.attachments,
            extras: &self.extras,
        }
    }
}

/// Log lines from three sources (one message needing escapes) and typed
/// events, deliberately out of time order.
pub fn events() -> Vec<Event> {
    let e = |ms, source: &str, kind, level, message: &str| {
        Event::new(t(ms), source, kind, level, message)
    };
    vec![
        e(
            4_300,
            "kmsg",
            EventKind::OomKill,
            Level::Error,
            "Out of memory: killed process 4242 (camera)",
        )
        .with("pid", 4242),
        e(
            4_100,
            "journal",
            EventKind::Log,
            Level::Info,
            "camera.service: started",
        ),
        e(
            4_200,
            "process",
            EventKind::ProcessMissing,
            Level::Warning,
            "camera is gone",
        ),
        e(
            4_250,
            "file:/var/log/app.log",
            EventKind::Log,
            Level::Warning,
            "line one\nline two\\ \u{1b}",
        ),
        e(
            4_250,
            "socket",
            EventKind::Custom("planner_stalled".into()),
            Level::Critical,
            "planner stalled",
        ),
        e(-1_000, "journal", EventKind::Log, Level::Debug, ""),
    ]
}

pub fn attachments() -> Vec<Attachment> {
    vec![
        Attachment::new("system/os-release", "ID=debian\nVERSION_ID=12\n"),
        Attachment::new(
            "processes/camera/status",
            "Name:\tcamera\nState:\tS (sleeping)\n",
        ),
        Attachment::new(
            "processes/camera/stack",
            Vec::from(&b"\x00\x01binary\xff"[..]),
        ),
        Attachment::new("baseline/processes/camera/status", "Name:\tcamera\n"),
        Attachment::new("diagnostics/pprof/heap.pb.gz", vec![0x1f, 0x8b, 8, 0]),
        Attachment::new("system/empty", Vec::new()),
    ]
}

pub fn extras() -> BundleExtras {
    BundleExtras {
        fleet: Some("warehouse-east".into()),
        redactions: vec![Redaction {
            name: "bearer_token".into(),
            count: 2,
        }],
        losses: [
            ("samples_dropped_queue_full".to_owned(), 3),
            ("ring_overwritten".to_owned(), 0),
        ]
        .into(),
        notes: vec!["eu-stack not installed: no user-space stacks".into()],
    }
}

pub fn series(name: &str, unit: &str, values: &[f64]) -> SeriesInput {
    let samples = (0_i64..)
        .zip(values)
        .map(|(i, &v)| Sample::new(t(4_000 + i * 100).add_nanos(i * 7), v))
        .collect();
    SeriesInput {
        name: SeriesName::new(name).unwrap(),
        unit: unit.into(),
        samples,
    }
}

pub fn valid_bundle() -> Vec<u8> {
    let fixture = Fixture::new();
    let mut out = Cursor::new(Vec::new());
    write_bundle_to(&mut out, &fixture.input()).unwrap();
    out.into_inner()
}

pub fn small_limits() -> Limits {
    Limits {
        max_bundle_bytes: 1 << 20,
        max_uncompressed_bytes: 4 << 20,
        max_entries: 50,
        max_member_bytes: 1 << 20,
        ..Limits::default()
    }
}

/// The members of a zip, in order.
pub type Members = Vec<(String, Vec<u8>)>;

pub fn unzip(bytes: &[u8]) -> Members {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().into_owned(), data)
        })
        .collect()
}

pub fn zip(members: &Members) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(name.as_str(), options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The valid bundle's members plus one more entry written with `options`.
pub fn with_entry(name: &str, data: &[u8], options: SimpleFileOptions) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let plain = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (n, d) in unzip(&valid_bundle()) {
        w.start_file(n.as_str(), plain).unwrap();
        w.write_all(&d).unwrap();
    }
    w.start_file(name, options).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap().into_inner()
}

/// Adds a member and its `attachments` entry, and relists.
pub fn attach(members: &mut Members, path: &str, kind: &str, data: Vec<u8>) {
    members.push((path.into(), data));
    edit_manifest(members, |m| {
        let list = m["attachments"].as_array_mut().unwrap();
        list.push(serde_json::json!({"path": path, "kind": kind}));
    });
    relist(members);
}

pub fn member<'a>(members: &'a mut Members, name: &str) -> &'a mut Vec<u8> {
    &mut members.iter_mut().find(|(n, _)| n == name).unwrap().1
}

/// Edits the manifest as JSON.
pub fn edit_manifest(members: &mut Members, edit: impl FnOnce(&mut serde_json::Value)) {
    let bytes = member(members, "manifest.json");
    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    edit(&mut v);
    *bytes = serde_json::to_vec_pretty(&v).unwrap();
}

/// Recomputes `files` from the members, as an honest (if buggy) writer would.
pub fn relist(members: &mut Members) {
    let files: Vec<_> = members
        .iter()
        .filter(|(n, _)| n != "manifest.json")
        .map(|(n, d)| {
            serde_json::json!({"path": n, "size": d.len(), "sha256": hex::encode(Sha256::digest(d))})
        })
        .collect();
    edit_manifest(members, |m| m["files"] = files.into());
}

/// Unzips the valid bundle, applies `change`, zips it again.
pub fn tampered(change: impl FnOnce(&mut Members)) -> Vec<u8> {
    let mut members = unzip(&valid_bundle());
    change(&mut members);
    zip(&members)
}

pub const CPU_CSV: &str = "metrics/cpu.total.busy_pct.csv";
