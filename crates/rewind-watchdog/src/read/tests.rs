use super::*;
use crate::history::HistoryWriter;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_millis(secs * 1000)
}

fn start(run: &str, pid: u32, secs: i64) -> Row {
    Row::Start {
        run: run.into(),
        at: at(secs),
        pid,
        host: "h".into(),
        version: "1.0".into(),
        start_ticks: Some(5),
    }
}

fn write(dir: &Path, rows: &[Row]) {
    let w = HistoryWriter::open(dir, "x".into(), 100).unwrap();
    for r in rows {
        w.append(r).unwrap();
    }
}

#[test]
fn runs_end_clean_crashed_killed_or_running() {
    let dir = tempfile::tempdir().unwrap();
    let proc_root = tempfile::tempdir().unwrap();
    // pid 40 is alive with the same start time; pid 30 is alive but a newer process.
    std::fs::create_dir_all(proc_root.path().join("40")).unwrap();
    let stat = "40 (svc) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n";
    std::fs::write(proc_root.path().join("40/stat"), stat).unwrap();
    std::fs::create_dir_all(proc_root.path().join("30")).unwrap();
    std::fs::write(
        proc_root.path().join("30/stat"),
        stat.replace(" 5 0 0", " 9 0 0"),
    )
    .unwrap();
    write(
        dir.path(),
        &[
            start("10-1", 10, 1),
            Row::Stop {
                run: "10-1".into(),
                at: at(2),
                reason: "shutdown".into(),
            },
            start("20-3", 20, 3),
            Row::Panic {
                run: "20-3".into(),
                at: at(4),
                message: "boom".into(),
                location: None,
                thread: None,
                capture: Some("crash/x".into()),
            },
            start("30-5", 30, 5),
            start("40-6", 40, 6),
        ],
    );
    let runs = read_history_at(dir.path(), proc_root.path()).unwrap();
    let ends: Vec<_> = runs.iter().map(|r| r.end.clone()).collect();
    assert_eq!(
        ends,
        [
            RunEnd::Clean {
                at: at(2),
                reason: "shutdown".into()
            },
            RunEnd::Crashed {
                at: at(4),
                message: "boom".into(),
                capture: Some("crash/x".into())
            },
            RunEnd::Killed,
            RunEnd::Running,
        ]
    );
    assert_eq!(runs[1].panics, 1);
    assert!(
        runs.iter().all(|r| !r.in_crash_loop),
        "two unclean ends are not a loop"
    );
}

#[test]
fn three_unclean_ends_within_ten_minutes_are_a_crash_loop() {
    let dir = tempfile::tempdir().unwrap();
    let nothing = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            start("1-0", 1, 0),
            Row::Stop {
                run: "1-0".into(),
                at: at(10),
                reason: "shutdown".into(),
            },
            start("2-100", 2, 100),
            start("3-200", 3, 200),
            start("4-300", 4, 300),
            start("5-400", 5, 400),
            // Killed runs end when the next one starts: 5-400 ends an hour
            // later, so it and the runs after it are not part of the loop.
            start("6-4000", 6, 4000),
            start("7-8000", 7, 8000),
        ],
    );
    let runs = read_history_at(dir.path(), nothing.path()).unwrap();
    let flags: Vec<_> = runs.iter().map(|r| r.in_crash_loop).collect();
    assert_eq!(flags, [false, true, true, true, false, false, false]);
    let loops = crash_loops(&runs);
    assert_eq!(loops.len(), 1);
    assert_eq!(loops[0].runs, ["2-100", "3-200", "4-300"]);
    assert_eq!((loops[0].from, loops[0].to), (at(200), at(400)));
}

#[test]
fn captures_are_listed_and_found_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let c = crate::capture::Captures::new(
        dir.path(),
        crate::capture::Identity {
            pid: 1,
            host: "h".into(),
            version: "v".into(),
        },
    );
    let a = c.commit(c.begin("fds", at(2)).unwrap(), 5).unwrap();
    c.commit(c.begin("baseline", at(1)).unwrap(), 5).unwrap();
    std::fs::create_dir_all(dir.path().join("captures/rss/broken")).unwrap();
    let list = list_captures(dir.path()).unwrap();
    let ids: Vec<_> = list.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "baseline/19700101T000001.000Z",
            "fds/19700101T000002.000Z",
            "rss/broken"
        ]
    );
    assert!(list[2].problem.is_some());
    assert!(list[1].bytes > 0);
    let found = find_capture(dir.path(), "fds/19700101T000002.000Z").unwrap();
    assert_eq!(found.path, a);
    for bad in ["fds", "fds/../x", "../fds/x", "fds/.tmp-1-x", "fds/nope"] {
        assert!(
            matches!(
                find_capture(dir.path(), bad),
                Err(Error::NoSuchCapture { .. })
            ),
            "{bad}"
        );
    }
    assert!(list_captures(&dir.path().join("none")).unwrap().is_empty());
}
