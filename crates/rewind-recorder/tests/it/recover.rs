//! `recover` on finished, truncated and foreign files.

use rewind_recorder::{Builtin, RECOVERED_METADATA, RecorderConfig, read_summary, recover};

use crate::common::{Log, assert_files_hold, cycle_payload, guard_payload, read_messages, start};

/// A finished file of 3 000 cycles in many small chunks (a flush every 100).
fn many_chunks(dir: &std::path::Path) -> (std::path::PathBuf, Log) {
    let rec = start(RecorderConfig::new(dir), "sess_rec");
    let cycle = rec.builtin(Builtin::Cycle).unwrap();
    let guard = rec.builtin(Builtin::Guard(2)).unwrap();
    let mut log = Log::default();
    for i in 0..3_000 {
        log.record(&rec, &cycle, i, cycle_payload(i, false, false));
        log.record(&rec, &guard, i, guard_payload(i, 2));
        if i % 100 == 99 {
            rec.flush().unwrap();
        }
    }
    let stats = rec.close().unwrap();
    (stats.files[0].clone(), log)
}

#[test]
fn a_finished_file_is_copied_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (file, log) = many_chunks(dir.path());
    let out = dir.path().join("copy.mcap");
    let report = recover(&file, &out).unwrap();
    assert!(report.input_complete);
    assert_eq!(report.problem, None);
    assert_eq!(report.messages, 6_000);
    assert_eq!(report.channels, 2);
    assert_eq!(report.metadata, 2);
    assert_files_hold(std::slice::from_ref(&out), &log.sent);
    assert_eq!(
        read_messages(&out),
        read_messages(&file),
        "file order is kept"
    );
    let summary = read_summary(&out).unwrap();
    assert_eq!(summary.session.unwrap().session_id, "sess_rec");
    assert_eq!(
        summary.metadata[RECOVERED_METADATA]["input_complete"],
        "true"
    );
    // Never over an existing file.
    assert!(matches!(
        recover(&file, &out),
        Err(rewind_recorder::Error::OutputExists { .. })
    ));
}

#[test]
fn a_truncated_file_gives_back_every_complete_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = many_chunks(dir.path());
    let bytes = std::fs::read(&file).unwrap();
    let original = read_messages(&file);
    let summary = mcap::Summary::read(&bytes).unwrap().unwrap();
    let summary_start = mcap::read::footer(&bytes).unwrap().summary_start;
    assert!(
        summary.chunk_indexes.len() >= 30,
        "{}",
        summary.chunk_indexes.len()
    );
    // Messages in each chunk, in file order.
    let per_chunk: Vec<(u64, usize)> = summary
        .chunk_indexes
        .iter()
        .map(|c| {
            let n = summary.stream_chunk(&bytes, c).unwrap().count();
            (c.chunk_start_offset + c.chunk_length, n)
        })
        .collect();
    for k in 1..60 {
        let cut = bytes.len() * k / 60;
        let truncated = dir.path().join(format!("t{k}.mcap"));
        std::fs::write(&truncated, &bytes[..cut]).unwrap();
        let out = dir.path().join(format!("r{k}.mcap"));
        let report = recover(&truncated, &out).unwrap();
        // The data end record is the last before the summary.
        let whole = cut as u64 >= summary_start;
        assert_eq!(report.input_complete, whole, "cut at {cut}");
        assert_eq!(report.problem.is_some(), !whole, "cut at {cut}");
        let got = read_messages(&out);
        assert_eq!(got.len() as u64, report.messages);
        let complete: usize = per_chunk
            .iter()
            .filter(|(end, _)| *end <= cut as u64)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            got.len(),
            complete,
            "cut at {cut}: exactly the complete chunks"
        );
        assert_eq!(got[..], original[..got.len()], "cut at {cut}: a prefix");
    }
}

#[test]
fn a_file_that_is_not_mcap_recovers_to_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mcap");
    std::fs::write(&junk, b"not an mcap file at all").unwrap();
    let out = dir.path().join("out.mcap");
    let report = recover(&junk, &out).unwrap();
    assert_eq!(report.messages, 0);
    assert!(report.problem.is_some());
    assert!(read_messages(&out).is_empty());
}
