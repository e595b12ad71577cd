//! The files open with the PyPI `mcap` reader too, which sees exactly what
//! the Rust reader sees. Skipped, loudly, when Python's `mcap` is missing.

use std::{path::PathBuf, process::Command};

use rewind_recorder::{Builtin, ChannelSpec, CutFilter, RecorderConfig, cut_files, recover};

use crate::common::{
    Log, cycle_payload, guard_payload, image_payload, read_messages, start, topic_counts,
};

fn python_mcap_available() -> bool {
    Command::new("python3")
        .args(["-c", "import mcap, zstandard"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../integrations/python-mcap/read_session.py")
}

/// What the Python script reports for `files`.
fn python_read(files: &[PathBuf]) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(script())
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "read_session.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_python_agrees(files: &[PathBuf]) -> serde_json::Value {
    let py = python_read(files);
    let rust: Vec<_> = files.iter().flat_map(|f| read_messages(f)).collect();
    let counts = topic_counts(&rust);
    let py_counts: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(py["topics"].clone()).unwrap();
    assert_eq!(py_counts, counts, "per-topic counts, Python vs Rust");
    assert_eq!(py["messages"], rust.len() as u64);
    if let (Some(first), Some(last)) = (
        rust.iter().map(|m| m.1).min(),
        rust.iter().map(|m| m.1).max(),
    ) {
        assert_eq!(py["time_range"], serde_json::json!([first, last]));
    }
    py
}

#[test]
fn python_reads_what_rust_wrote() {
    if !python_mcap_available() {
        eprintln!(
            "*** SKIPPED: python mcap reader not installed (pip install -r integrations/python-mcap/requirements.txt) ***"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecorderConfig::new(dir.path().join("s"));
    config.rotate_mb = 0.05;
    config.window_sec = 0.3;
    config.pre_event_sec = 0.1;
    let rec = start(config, "sess_py");
    let cycle = rec.builtin(Builtin::Cycle).unwrap();
    let guards: Vec<_> = (0..4)
        .map(|l| rec.builtin(Builtin::Guard(l)).unwrap())
        .collect();
    let top = rec.builtin(Builtin::Image("top")).unwrap();
    let user = rec
        .channel(
            ChannelSpec::user("/robot/battery", "acme.Battery", r#"{"type":"object"}"#).unwrap(),
        )
        .unwrap();
    let mut log = Log::default();
    for i in 0..6_000 {
        log.record(&rec, &cycle, i, cycle_payload(i, i == 3_000, false));
        for (l, g) in guards.iter().enumerate() {
            log.record(&rec, g, i, guard_payload(i, l as u8));
        }
        crate::common::push(&rec, &top, crate::common::at(i), image_payload(i));
        if i % 100 == 0 {
            log.record(
                &rec,
                &user,
                i,
                format!(r#"{{"volts":{}}}"#, 48.0 - i as f64 / 1e4).into_bytes(),
            );
        }
    }
    let stats = rec.close().unwrap();
    assert!(stats.files.len() > 1);

    let py = assert_python_agrees(&stats.files);
    // Rust's view is what was recorded, plus the 301 frames of the window.
    let mut expected = topic_counts(&log.sent);
    expected.insert("/dam/images/top".to_owned(), 301);
    let py_counts: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(py["topics"].clone()).unwrap();
    assert_eq!(py_counts, expected);
    assert_eq!(py["metadata"]["rewind.session"]["session_id"], "sess_py");
    assert_eq!(py["metadata"]["rewind.file_end"]["reason"], "close");

    // A cut and a recovered file open in Python too.
    let cut_file = dir.path().join("cut.mcap");
    let filter = CutFilter {
        start_cycle: Some(2_900),
        end_cycle: Some(3_100),
        ..CutFilter::default()
    }
    .with_topics_csv("/dam/cycle,/dam/images/*,/robot/battery");
    cut_files(&stats.files, &cut_file, &filter).unwrap();
    assert_python_agrees(&[cut_file]);

    let bytes = std::fs::read(&stats.files[0]).unwrap();
    let truncated = dir.path().join("truncated.mcap");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let recovered = dir.path().join("recovered.mcap");
    recover(&truncated, &recovered).unwrap();
    let py = assert_python_agrees(&[recovered]);
    assert_eq!(
        py["metadata"]["rewind.recovered"]["input_complete"],
        "false"
    );
}
