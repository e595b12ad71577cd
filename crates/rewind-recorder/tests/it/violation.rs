//! Camera frames reach the file only in the window around a violation.

use rewind_recorder::{Builtin, EventKind, RecorderConfig};

use crate::common::{
    Log, assert_files_hold, at, cycle_payload, image_payload, log_time, push, start,
};

/// 2 000 cycles at 1 kHz with a frame each; `flags(i)` gives the cycle's
/// (violation, clamp). Returns the cycles of the frames written, sorted, and
/// how many frames were discarded.
fn run(config: RecorderConfig, flags: impl Fn(u64) -> (bool, bool)) -> (Vec<u64>, u64) {
    let rec = start(config, "sess_v");
    let cycle = rec.builtin(Builtin::Cycle).unwrap();
    let top = rec.builtin(Builtin::Image("top")).unwrap();
    let mut log = Log::default();
    for i in 0..2_000 {
        let (violation, clamp) = flags(i);
        log.record(&rec, &cycle, i, cycle_payload(i, violation, clamp));
        // Frames are recorded but only some reach the file: they are
        // compared separately.
        push(&rec, &top, at(i), image_payload(i));
    }
    let stats = rec.close().unwrap();
    let written: Vec<u64> = stats
        .files
        .iter()
        .flat_map(|f| crate::common::read_messages(f))
        .filter(|(t, _, _)| t == "/dam/images/top")
        .map(|(_, ns, data)| {
            let i = (ns - log_time(0)) / 1_000_000;
            assert_eq!(data, image_payload(i), "frame payload of cycle {i}");
            i
        })
        .collect();
    // Everything but the frames is exactly what was recorded.
    let mut expected = log.sent.clone();
    expected.extend(
        written
            .iter()
            .map(|&i| ("/dam/images/top".to_owned(), log_time(i), image_payload(i))),
    );
    assert_files_hold(&stats.files, &expected);
    let camera = stats
        .channels
        .iter()
        .find(|c| c.topic == "/dam/images/top")
        .unwrap();
    assert_eq!(camera.written + camera.discarded, 2_000);
    let mut sorted = written.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), written.len(), "a frame was written twice");
    (sorted, camera.discarded)
}

fn config(dir: &std::path::Path) -> RecorderConfig {
    let mut c = RecorderConfig::new(dir);
    c.window_sec = 0.5;
    c.pre_event_sec = 0.2;
    c
}

#[test]
fn only_the_window_around_a_violation_is_written() {
    let dir = tempfile::tempdir().unwrap();
    // A violation at cycle 1000 keeps [800 ms, 1300 ms]; the clamp at 1600
    // keeps nothing without capture_images_on_clamp.
    let (frames, discarded) = run(config(dir.path()), |i| (i == 1_000, i == 1_600));
    assert_eq!(frames, (800..=1_300).collect::<Vec<_>>());
    assert_eq!(discarded, 2_000 - 501);
}

#[test]
fn clamps_open_a_window_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.capture_images_on_clamp = true;
    let (frames, _) = run(c, |i| (i == 1_000, i == 1_600));
    let want: Vec<u64> = (800..=1_300).chain(1_400..=1_900).collect();
    assert_eq!(frames, want);
}

#[test]
fn close_violations_merge_their_windows() {
    let dir = tempfile::tempdir().unwrap();
    let (frames, _) = run(config(dir.path()), |i| (i == 1_000 || i == 1_250, false));
    assert_eq!(frames, (800..=1_550).collect::<Vec<_>>());
}

#[test]
fn without_events_no_frame_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (frames, discarded) = run(config(dir.path()), |_| (false, false));
    assert!(frames.is_empty());
    assert_eq!(discarded, 2_000);
}

#[test]
fn a_mark_opens_a_window_without_a_cycle_channel() {
    let dir = tempfile::tempdir().unwrap();
    let rec = start(config(dir.path()), "sess_mark");
    let wrist = rec.builtin(Builtin::Image("wrist")).unwrap();
    let mut log = Log::default();
    for i in 0..1_000 {
        if i == 500 {
            assert!(rec.mark(at(i), EventKind::Violation).is_queued());
        }
        log.record(&rec, &wrist, i, image_payload(i));
    }
    let stats = rec.close().unwrap();
    let expected: Vec<_> = log
        .sent
        .into_iter()
        .filter(|(_, ns, _)| (log_time(300)..=log_time(800)).contains(ns))
        .collect();
    assert_eq!(expected.len(), 501);
    assert_files_hold(&stats.files, &expected);
}
