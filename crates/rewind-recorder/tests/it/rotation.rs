//! Rotation by size and by time: numbered files that name each other.

use rewind_recorder::{Builtin, RecorderConfig, file_name, list_sessions, read_summary};

use crate::common::{Log, assert_files_hold, cycle_payload, guard_payload, start};

/// Checks numbering and links; returns the end reasons in order.
fn check_links(files: &[std::path::PathBuf], session: &str) -> Vec<String> {
    let mut reasons = Vec::new();
    for (n, path) in files.iter().enumerate() {
        let n = u32::try_from(n).unwrap();
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            file_name(session, n)
        );
        let s = read_summary(path).unwrap();
        let meta = s.session.unwrap();
        assert_eq!(meta.session_id, session);
        assert_eq!(meta.file_index, Some(n));
        let previous = n.checked_sub(1).map(|p| file_name(session, p));
        assert_eq!(meta.previous_file, previous, "previous of file {n}");
        let end = s.file_end.unwrap();
        let next = (n as usize + 1 < files.len()).then(|| file_name(session, n + 1));
        assert_eq!(end.next_file, next, "next of file {n}");
        // Every file carries every channel, with the same ids.
        let ids: Vec<_> = s.channels.iter().map(|c| (c.id, c.topic.clone())).collect();
        assert_eq!(
            ids,
            [(1, "/dam/L0".to_owned()), (2, "/dam/cycle".to_owned())]
        );
        reasons.push(end.reason);
    }
    reasons
}

#[test]
fn size_rotation_makes_numbered_linked_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecorderConfig::new(dir.path());
    config.rotate_mb = 0.05;
    let rec = start(config, "sess_rot");
    let guard = rec.builtin(Builtin::Guard(0)).unwrap();
    let cycle = rec.builtin(Builtin::Cycle).unwrap();
    let mut log = Log::default();
    for i in 0..20_000 {
        log.record(&rec, &cycle, i, cycle_payload(i, i % 997 == 0, false));
        log.record(&rec, &guard, i, guard_payload(i, 0));
    }
    let stats = rec.close().unwrap();
    assert!(stats.files.len() >= 3, "{} files", stats.files.len());
    assert_files_hold(&stats.files, &log.sent);
    let reasons = check_links(&stats.files, "sess_rot");
    let (last, rotated) = reasons.split_last().unwrap();
    assert_eq!(last, "close");
    assert!(rotated.iter().all(|r| r == "rotate_size"), "{reasons:?}");
    for f in &stats.files[..stats.files.len() - 1] {
        // A file ends at the first message past the limit, plus that chunk's tail.
        let size = std::fs::metadata(f).unwrap().len();
        assert!((50_000..400_000).contains(&size), "{size}");
    }

    let sessions = list_sessions(dir.path()).unwrap();
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert_eq!(s.files.len(), stats.files.len());
    assert_eq!(s.cycles, 20_000);
    assert_eq!(s.violation_cycles, 21);
    assert_eq!(s.message_count, 40_000);
    assert_eq!(s.start_time, Some(crate::common::at(0)));
    assert_eq!(s.end_time, Some(crate::common::at(19_999)));
}

#[test]
fn time_rotation_follows_message_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecorderConfig::new(dir.path());
    // 30 ms of message time per file; cycles are 1 ms apart.
    config.rotate_minutes = 0.0005;
    let rec = start(config, "sess_time");
    let guard = rec.builtin(Builtin::Guard(0)).unwrap();
    let cycle = rec.builtin(Builtin::Cycle).unwrap();
    let mut log = Log::default();
    for i in 0..100 {
        log.record(&rec, &cycle, i, cycle_payload(i, false, false));
        log.record(&rec, &guard, i, guard_payload(i, 0));
    }
    let stats = rec.close().unwrap();
    assert_files_hold(&stats.files, &log.sent);
    let reasons = check_links(&stats.files, "sess_time");
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[..3].iter().all(|r| r == "rotate_time"),
        "{reasons:?}"
    );
    for (n, f) in stats.files.iter().enumerate() {
        let s = read_summary(f).unwrap();
        let first = 30 * n as u64;
        assert_eq!(s.start_time, Some(crate::common::at(first)));
        assert_eq!(s.end_time, Some(crate::common::at((first + 29).min(99))));
    }
}

#[test]
fn a_file_that_cannot_be_created_loses_messages_but_not_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    // The second file's name is taken: rotation cannot create it.
    std::fs::write(dir.path().join(file_name("sess_fail", 1)), b"in the way").unwrap();
    let mut config = RecorderConfig::new(dir.path());
    config.rotate_mb = 0.01;
    let rec = start(config, "sess_fail");
    let cycle = rec.builtin(Builtin::Cycle).unwrap();
    let mut log = Log::default();
    for i in 0..5_000 {
        log.record(&rec, &cycle, i, cycle_payload(i, false, false));
        if i % 100 == 99 {
            rec.flush().ok();
        }
    }
    let stats = rec.close().unwrap();
    assert!(stats.write_errors >= 1);
    assert!(
        stats
            .first_error
            .as_deref()
            .unwrap()
            .contains("sess_fail_001.mcap"),
        "{:?}",
        stats.first_error
    );
    let c = &stats.channels[0];
    assert_eq!(c.written + c.lost, 5_000);
    assert!(c.lost > 0 && c.written > 0);
    // The first file is whole and holds the first messages; a slow machine
    // may have reached the retry, 5 s later, and opened file 002.
    assert!(stats.files.len() <= 2, "{:?}", stats.files);
    if let Some(retry) = stats.files.get(1) {
        assert_eq!(
            retry.file_name().unwrap().to_str().unwrap(),
            file_name("sess_fail", 2)
        );
    }
    let all: usize = stats
        .files
        .iter()
        .map(|f| crate::common::read_messages(f).len())
        .sum();
    assert_eq!(all as u64, c.written);
    let first = crate::common::read_messages(&stats.files[0]);
    assert_eq!(first[..], log.sent[..first.len()]);
    assert_eq!(
        read_summary(&stats.files[0])
            .unwrap()
            .file_end
            .unwrap()
            .reason,
        "rotate_size"
    );
}
