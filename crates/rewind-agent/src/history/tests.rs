use rewind_model::{Event, EventKind, Level, Timestamp};

use super::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_795_428_000_000 + secs * 1000)
}

fn who() -> Starting {
    Starting {
        host: "box".into(),
        device: "robot-7".into(),
    }
}

fn start_row(run: u64, at: i64, pid: u32) -> Row {
    Row::Start {
        run,
        at: t(at),
        pid,
        host: "box".into(),
        device: "robot-7".into(),
        version: "0.0.1".into(),
    }
}

fn stop_row(run: u64, at: i64) -> Row {
    Row::Stop {
        run,
        at: t(at),
        reason: "shutdown".into(),
    }
}

fn write_rows(dir: &Path, rows: &[Row], tail: &str) {
    let mut text = String::new();
    for row in rows {
        text.push_str(&serde_json::to_string(row).unwrap());
        text.push('\n');
    }
    text.push_str(tail);
    std::fs::write(dir.join(FILE_NAME), text).unwrap();
}

/// A pid no process has: above the kernel's `pid_max` limit (2^22).
const DEAD_PID: u32 = 4_194_305;

fn restart_event(process: &str) -> Event {
    Event::new(
        t(5),
        "process",
        EventKind::ProcessRestarted,
        Level::Warning,
        "watched process planner restarted (pid 101 -> 150)",
    )
    .with("process", process)
    .with("old_pid", "101")
    .with("new_pid", "150")
}

#[test]
fn a_clean_run_is_a_start_and_a_stop_with_its_process_events() {
    let dir = tempfile::tempdir().unwrap();
    let config = HistoryConfig::default();
    let (history, previous) = History::start(dir.path(), &config, who(), t(0)).unwrap();
    assert_eq!(previous, Previous::Clean, "nothing before the first run");
    assert_eq!(history.run(), 1);
    let recorder = history.recorder().unwrap();
    recorder.event(&restart_event("planner"));
    recorder.event(&Event::new(
        t(6),
        "kmsg",
        EventKind::Log,
        Level::Info,
        "ignored",
    ));
    history.stop("shutdown");

    let view = read_history(dir.path(), t(100)).unwrap();
    let [run] = view.runs.as_slice() else {
        panic!("{view:?}")
    };
    assert_eq!((run.run, run.status), (1, RunStatus::Stopped));
    assert_eq!(run.reason.as_deref(), Some("shutdown"));
    assert_eq!((run.pid, run.host.as_str()), (std::process::id(), "box"));
    assert!(run.uptime_secs.is_some());
    let [process] = view.processes.as_slice() else {
        panic!("{view:?}")
    };
    assert_eq!(
        (process.process.as_str(), process.event.as_str()),
        ("planner", "restarted")
    );
    assert_eq!(process.fields["new_pid"], "150");
    assert_eq!(process.at, t(5));

    let (history, previous) = History::start(dir.path(), &config, who(), t(200)).unwrap();
    assert_eq!(previous, Previous::Clean);
    assert_eq!(history.run(), 2, "runs are numbered on");
}

#[test]
fn a_run_never_closed_is_a_crash_reported_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    write_rows(
        dir.path(),
        &[
            start_row(1, 0, DEAD_PID),
            stop_row(1, 10),
            start_row(2, 20, DEAD_PID),
        ],
        "",
    );
    let view = read_history(dir.path(), t(100)).unwrap();
    assert_eq!(view.runs[0].status, RunStatus::Crashed);
    assert_eq!(view.runs[0].uptime_secs, None, "unknown for a crash");
    assert_eq!(view.runs[1].status, RunStatus::Stopped);
    assert_eq!(view.runs[1].uptime_secs, Some(10.0));

    let (history, previous) =
        History::start(dir.path(), &HistoryConfig::default(), who(), t(100)).unwrap();
    let Previous::Crashed(crashed) = &previous else {
        panic!("{previous:?}")
    };
    assert_eq!((crashed.run, crashed.pid), (2, DEAD_PID));
    let event = previous.crash_event(t(100)).unwrap();
    assert_eq!(event.kind, EventKind::Custom("agent_crash".into()));
    assert_eq!(
        (event.source.as_str(), event.level),
        ("agent", Level::Error)
    );
    assert!(
        event.message.contains("ended without a clean stop"),
        "{}",
        event.message
    );
    assert_eq!(event.fields["run"], "2");
    assert_eq!(history.run(), 3);
    drop(history);
    let view = read_history(dir.path(), t(100)).unwrap();
    assert_eq!(
        view.runs[0].reason.as_deref(),
        Some("cancelled"),
        "dropping the history without stop() closes the run"
    );
    assert_eq!(view.runs[0].status, RunStatus::Stopped);
    assert_eq!(Previous::Clean.crash_event(t(0)), None);
}

#[test]
fn a_live_agent_with_the_same_program_is_running_not_crashed() {
    let dir = tempfile::tempdir().unwrap();
    write_rows(dir.path(), &[start_row(1, 0, std::process::id())], "");
    let view = read_history(dir.path(), t(30)).unwrap();
    assert_eq!(view.runs[0].status, RunStatus::Running);
    assert_eq!(view.runs[0].uptime_secs, Some(30.0));
    assert!(!view::same_program_alive(DEAD_PID));
}

#[test]
fn a_torn_last_line_is_skipped_and_rewritten_away() {
    let dir = tempfile::tempdir().unwrap();
    write_rows(
        dir.path(),
        &[start_row(1, 0, DEAD_PID), stop_row(1, 10)],
        r#"{"row":"start","run":2,"at":"2026-11-23T10:00:2"#,
    );
    let view = read_history(dir.path(), t(100)).unwrap();
    assert_eq!((view.runs.len(), view.unreadable_lines), (1, 1));

    let (history, previous) =
        History::start(dir.path(), &HistoryConfig::default(), who(), t(100)).unwrap();
    assert_eq!(
        previous,
        Previous::Clean,
        "the torn run is unknown, not a crash"
    );
    history.stop("shutdown");
    let loaded = load(&dir.path().join(FILE_NAME)).unwrap();
    assert_eq!((loaded.bad_lines, loaded.torn), (0, false));
    assert_eq!(loaded.rows.len(), 4, "{:?}", loaded.rows);
    assert!(!dir.path().join(format!(".{FILE_NAME}.tmp")).exists());
}

#[test]
fn the_file_stays_bounded_and_keeps_the_latest_rows() {
    let dir = tempfile::tempdir().unwrap();
    let config = HistoryConfig {
        keep_runs: 3,
        keep_process_events: 4,
    };
    for i in 0..20 {
        let (history, _) = History::start(dir.path(), &config, who(), t(i * 10)).unwrap();
        let recorder = history.recorder().unwrap();
        for p in 0..3 {
            recorder.event(&restart_event(&format!("p{i}-{p}")));
        }
        history.stop("shutdown");
        let rows = load(&dir.path().join(FILE_NAME)).unwrap().rows;
        assert!(rows.len() < 2 * (3 * 2 + 4) + 2, "{} rows", rows.len());
    }
    let view = read_history(dir.path(), t(1000)).unwrap();
    let runs: Vec<u64> = view.runs.iter().map(|r| r.run).collect();
    assert_eq!(&runs[..3], [20, 19, 18], "the newest runs are kept");
    assert!(view.runs.iter().all(|r| r.status == RunStatus::Stopped));
    assert_eq!(
        view.processes[0].process, "p19-2",
        "the newest process event first"
    );
}

#[test]
fn compaction_keeps_the_last_runs_and_process_rows_in_order() {
    let config = HistoryConfig {
        keep_runs: 2,
        keep_process_events: 1,
    };
    let process = |run, at| Row::Process {
        run,
        at: t(at),
        process: "p".into(),
        event: "missing".into(),
        message: String::new(),
        fields: BTreeMap::new(),
    };
    let rows = vec![
        start_row(1, 0, 1),
        process(1, 1),
        stop_row(1, 2),
        start_row(2, 3, 1),
        process(2, 4),
        start_row(3, 5, 1),
        stop_row(3, 6),
    ];
    let kept = compact(rows, &config);
    assert_eq!(
        kept,
        [
            start_row(2, 3, 1),
            process(2, 4),
            start_row(3, 5, 1),
            stop_row(3, 6)
        ]
    );
}
