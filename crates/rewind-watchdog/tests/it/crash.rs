//! The crash record: a child that installs the watchdog and panics leaves
//! a crash artefact and a run without a clean stop; a clean child leaves a
//! clean stop.

use rewind_watchdog::{RunEnd, list_captures, read_history};

#[test]
fn a_panic_writes_a_crash_artefact_and_an_unclean_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::child("panic", dir.path()).output().unwrap();
    assert!(!out.status.success(), "the child must fail");
    let caps = list_captures(dir.path()).unwrap();
    let crash: Vec<_> = caps.iter().filter(|c| c.kind == "crash").collect();
    assert_eq!(crash.len(), 1, "{caps:?}");
    let text = std::fs::read_to_string(crash[0].path.join("crash.txt")).unwrap();
    assert!(
        text.contains("panic: the watchdog test panics on purpose (len 0)"),
        "{text}"
    );
    assert!(
        text.contains("location: crates/rewind-watchdog/tests/it/child.rs:"),
        "{text}"
    );
    assert!(text.contains("backtrace:"), "{text}");
    assert!(crash[0].path.join("events.json").is_file());
    let runs = read_history(dir.path()).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].version, "7.0.0-test");
    match &runs[0].end {
        RunEnd::Crashed {
            message, capture, ..
        } => {
            assert!(message.contains("on purpose"), "{message}");
            assert_eq!(capture.as_deref(), Some(crash[0].id.as_str()));
        }
        other => panic!("expected a crash, got {other:?}"),
    }
    assert!(runs[0].end.is_unclean());
}

#[test]
fn a_clean_run_writes_a_clean_stop_and_crash_loops_show() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::child("clean", dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = read_history(dir.path()).unwrap();
    assert_eq!(runs.len(), 1);
    assert!(
        matches!(&runs[0].end, RunEnd::Clean { reason, .. } if reason == "shutdown"),
        "{runs:?}"
    );
    // Three crashes in a row after it: a crash loop.
    for _ in 0..3 {
        assert!(
            !crate::child("panic", dir.path())
                .output()
                .unwrap()
                .status
                .success()
        );
    }
    let runs = read_history(dir.path()).unwrap();
    assert_eq!(runs.len(), 4);
    let flags: Vec<_> = runs.iter().map(|r| r.in_crash_loop).collect();
    assert_eq!(flags, [false, true, true, true]);
    assert_eq!(rewind_watchdog::crash_loops(&runs).len(), 1);
    assert_eq!(
        list_captures(dir.path())
            .unwrap()
            .iter()
            .filter(|c| c.kind == "crash")
            .count(),
        3
    );
}
