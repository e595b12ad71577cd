//! Journal entries, and the stream against a fake `journalctl` script that
//! prints recorded JSON lines (journald is not running on the test machine).

use std::{os::unix::fs::PermissionsExt as _, path::Path};

use tokio::task::JoinHandle;

use super::*;
use crate::collect::{
    StopHandle,
    logs::testing::{Seen, until},
};

const LIMIT: Duration = Duration::from_secs(10);

/// Recorded `journalctl -o json` lines (trimmed of fields not used), plus malformed ones.
const ENTRIES: &str = r#"{"__CURSOR":"s=ab;i=1","__REALTIME_TIMESTAMP":"1700000000123456","PRIORITY":"3","_SYSTEMD_UNIT":"robot.service","_PID":"812","SYSLOG_IDENTIFIER":"planner","MESSAGE":"planner: no path to goal","_TRANSPORT":"stdout"}
{not json at all
{"__CURSOR":"s=ab;i=2","__REALTIME_TIMESTAMP":"1700000000200000","PRIORITY":"6","SYSLOG_IDENTIFIER":"cam","MESSAGE":[102,114,97,109,101,32,255,10]}
{"__CURSOR":"s=ab;i=3","__REALTIME_TIMESTAMP":"1700000000300000","MESSAGE":"WARN battery low"}
{"__CURSOR":"s=ab;i=4","__REALTIME_TIMESTAMP":"1700000000400000","PRIORITY":"3","_TRANSPORT":"kernel","SYSLOG_IDENTIFIER":"kernel","MESSAGE":"Out of memory: Killed process 4242 (python3) total-vm:2345678kB, anon-rss:1048576kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:3000kB oom_score_adj:0"}
{"__CURSOR":"s=ab;i=5","__REALTIME_TIMESTAMP":"1700000000500000"}
"#;

#[test]
fn entries_become_events() {
    let lines: Vec<&str> = ENTRIES.lines().collect();
    let (e, cursor) = parse_entry(lines[0].as_bytes(), 8192, true).unwrap();
    let e = e.unwrap();
    assert_eq!(cursor.as_deref(), Some("s=ab;i=1"));
    assert_eq!(
        (e.source.as_str(), e.kind.clone(), e.level),
        ("journal", EventKind::Log, Level::Error)
    );
    assert_eq!(e.ts, Timestamp::from_unix_nanos(1_700_000_000_123_456_000));
    assert_eq!(e.message, "planner: no path to goal");
    let fields: Vec<(&str, &str)> = e
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("identifier", "planner"),
            ("pid", "812"),
            ("unit", "robot.service")
        ]
    );

    assert!(parse_entry(lines[1].as_bytes(), 8192, true).is_err());
    let (e, _) = parse_entry(lines[2].as_bytes(), 8192, true).unwrap();
    assert_eq!(
        e.unwrap().message,
        "frame \u{fffd}",
        "a byte-array message, decoded lossily"
    );
    let (e, _) = parse_entry(lines[3].as_bytes(), 8192, true).unwrap();
    assert_eq!(
        e.unwrap().level,
        Level::Warning,
        "no PRIORITY: guessed from the text"
    );

    let (e, _) = parse_entry(lines[4].as_bytes(), 8192, true).unwrap();
    let e = e.unwrap();
    assert_eq!(e.kind, EventKind::OomKill);
    assert_eq!(e.fields.get("process").map(String::as_str), Some("python3"));
    let (e, _) = parse_entry(lines[4].as_bytes(), 8192, false).unwrap();
    assert_eq!(
        e.unwrap().kind,
        EventKind::Log,
        "left to the kernel-log reader when it runs"
    );

    let (e, cursor) = parse_entry(lines[5].as_bytes(), 8192, true).unwrap();
    assert!(e.is_none(), "no message, no event");
    assert_eq!(cursor.as_deref(), Some("s=ab;i=5"));

    let long = format!(r#"{{"MESSAGE":"{}"}}"#, "y".repeat(10_000));
    assert_eq!(
        parse_entry(long.as_bytes(), 100, true)
            .unwrap()
            .0
            .unwrap()
            .message
            .len(),
        100
    );
    assert!(
        parse_entry(br#"{"MESSAGE":["a","b"],"PRIORITY":"99"}"#, 100, true)
            .unwrap()
            .0
            .is_some()
    );
    assert!(parse_entry(b"\xff\xfe\x00", 100, true).is_err());
}

#[tokio::test]
async fn bounded_lines_skip_what_is_too_long() {
    let input: &[u8] = b"short\nxxxxxxxxxxxxxxxxxxxx\nok\ntail";
    let mut lines = BoundedLines::new(BufReader::with_capacity(4, input), 8);
    let mut got = Vec::new();
    while let Some(line) = lines.next().await.unwrap() {
        got.push(line);
    }
    assert_eq!(
        got,
        [
            Some(b"short".to_vec()),
            None,
            Some(b"ok".to_vec()),
            Some(b"tail".to_vec())
        ]
    );
}

/// A fake journalctl: records its arguments, prints `entries`, then sleeps or exits.
fn fake_journalctl(dir: &Path, then: &str) -> PathBuf {
    std::fs::write(dir.join("entries.jsonl"), ENTRIES).unwrap();
    let script = dir.join("journalctl");
    let body = format!(
        "#!/bin/sh\necho \"$@\" >> '{0}/args'\ncat '{0}/entries.jsonl'\n{then}\n",
        dir.display()
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

struct Running {
    rx: tokio::sync::mpsc::Receiver<crate::collect::Batch>,
    seen: Seen,
    stop: StopHandle,
    task: JoinHandle<()>,
}

fn start(program: PathBuf, units: &[&str]) -> Running {
    let config = Config {
        journal: true,
        journalctl: program,
        journal_units: units.iter().map(|u| (*u).to_owned()).collect(),
        ..Config::default()
    };
    let (sink, rx) = Sink::channel(1024);
    let (stop, flag) = Stop::new();
    let stream = Journal::new(&config, Arc::new(AtomicBool::new(false)));
    Running {
        rx,
        seen: Seen::default(),
        stop,
        task: tokio::spawn(Box::new(stream).run(sink, flag)),
    }
}

fn args(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn follows_a_fake_journalctl_and_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let program = fake_journalctl(dir.path(), "exec sleep 30");
    let mut r = start(program, &["robot.service", "nginx.service"]);
    assert!(
        until(&mut r.rx, &mut r.seen, LIMIT, |s| s.events.len() >= 4).await,
        "{:?}",
        r.seen.problems
    );
    let messages = r.seen.messages();
    assert_eq!(
        messages[..3],
        [
            "planner: no path to goal",
            "frame \u{fffd}",
            "WARN battery low"
        ]
    );
    assert_eq!(r.seen.events[3].kind, EventKind::OomKill);
    assert!(
        r.seen
            .problems
            .iter()
            .any(|p| p.error.contains("malformed journal entry"))
    );
    assert_eq!(
        args(dir.path())[0],
        "-o json -f --no-tail --no-pager --since now -u robot.service -u nginx.service"
    );
    r.stop.stop();
    tokio::time::timeout(LIMIT, r.task)
        .await
        .expect("stops without waiting for journalctl")
        .unwrap();
}

#[tokio::test]
async fn an_exiting_journalctl_is_restarted_after_the_last_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let program = fake_journalctl(
        dir.path(),
        "echo 'Failed to get journal access: No such file or directory' >&2\nexit 1",
    );
    let mut r = start(program, &[]);
    let restarted = |s: &Seen| s.problems.iter().any(|p| p.error.contains("exited"));
    assert!(until(&mut r.rx, &mut r.seen, LIMIT, restarted).await);
    let exited = r
        .seen
        .problems
        .iter()
        .find(|p| p.error.contains("exited"))
        .unwrap();
    assert!(
        exited.error.contains("Failed to get journal access"),
        "{exited:?}"
    );
    // The second run (after a 1 s backoff) starts after the last entry seen.
    assert!(until(&mut r.rx, &mut r.seen, LIMIT, |s| s.events.len() >= 8).await);
    assert_eq!(
        args(dir.path()).get(1).map(String::as_str),
        Some("-o json -f --no-tail --no-pager --after-cursor=s=ab;i=5")
    );
    r.stop.stop();
    tokio::time::timeout(LIMIT, r.task).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_missing_journalctl_is_one_clear_problem() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = start(dir.path().join("no-journalctl"), &[]);
    tokio::time::timeout(LIMIT, &mut r.task)
        .await
        .expect("the stream ends by itself")
        .unwrap();
    until(&mut r.rx, &mut r.seen, Duration::ZERO, |_| false).await;
    assert_eq!(r.seen.problems.len(), 1);
    assert!(
        r.seen.problems[0].error.contains("not found"),
        "{:?}",
        r.seen.problems
    );
}

#[tokio::test]
async fn the_live_journalctl_runs_or_is_reported() {
    // journald is not running here: journalctl may be missing, exit, or wait quietly.
    let mut r = start(PathBuf::from("journalctl"), &[]);
    until(&mut r.rx, &mut r.seen, Duration::from_millis(500), |_| {
        false
    })
    .await;
    r.stop.stop();
    tokio::time::timeout(LIMIT, r.task)
        .await
        .expect("stops promptly")
        .unwrap();
    assert!(r.seen.events.iter().all(|e| e.source == "journal"));
}
