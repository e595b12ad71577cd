//! A recording process killed with SIGKILL leaves a file that `recover`
//! turns back into a readable one with every message of its complete chunks.
//!
//! The child is this test binary again, running `child_records_until_killed`
//! with `REWIND_RECORDER_CHILD_DIR` set. It records cycle after cycle and,
//! after each `flush()` (which closes the chunk and hands it to the kernel),
//! writes how many cycles are safely on disk to `progress`.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use rewind_recorder::{Builtin, Error, RecorderConfig, read_summary, recover};

use crate::common::{at, cycle_payload, log_time, push, read_messages, start};

const CHILD_DIR: &str = "REWIND_RECORDER_CHILD_DIR";

#[test]
fn child_records_until_killed() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return; // only runs as the child
    };
    let dir = Path::new(&dir);
    let mut config = RecorderConfig::new(dir.join("sessions"));
    config.flush_sec = 3600.0; // only the explicit flushes below
    let rec = start(config, "sess_kill");
    let cycle = rec.builtin(Builtin::Cycle).unwrap();
    let began = Instant::now();
    let mut i = 0;
    while began.elapsed() < Duration::from_secs(60) {
        push(&rec, &cycle, at(i), cycle_payload(i, false, false));
        i += 1;
        if i % 200 == 0 {
            rec.flush().unwrap();
            let tmp = dir.join("progress.tmp");
            std::fs::write(&tmp, i.to_string()).unwrap();
            std::fs::rename(&tmp, dir.join("progress")).unwrap();
        }
    }
}

fn progress(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("progress"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_killed_recorder_leaves_a_recoverable_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigkill::child_records_until_killed",
            "--nocapture",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    // Some 25 chunks on disk, and the child in the middle of the next ones.
    while progress(dir.path()) < 5_000 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the child made no progress"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let flushed = progress(dir.path());

    let file = dir.path().join("sessions/sess_kill_000.mcap");
    assert!(matches!(read_summary(&file), Err(Error::NoSummary { .. })));
    let out = dir.path().join("recovered.mcap");
    let report = recover(&file, &out).unwrap();
    assert!(!report.input_complete);
    assert!(
        report.messages >= flushed,
        "{} messages recovered, {flushed} were flushed before the kill",
        report.messages
    );

    // The Rust reader opens the result: cycles 0.. in order, none missing,
    // each exactly as recorded.
    let messages = read_messages(&out);
    assert_eq!(messages.len() as u64, report.messages);
    for (i, (topic, t, data)) in messages.iter().enumerate() {
        let i = i as u64;
        assert_eq!(topic, "/dam/cycle");
        assert_eq!(*t, log_time(i));
        assert_eq!(*data, cycle_payload(i, false, false), "cycle {i}");
    }
    let summary = read_summary(&out).unwrap();
    assert_eq!(summary.message_count, report.messages);
    assert_eq!(summary.session.unwrap().session_id, "sess_kill");
    assert!(summary.file_end.is_none(), "the killed file never finished");
}
