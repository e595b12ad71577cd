//! The file tailer on real files in a tempdir. Waits are bounded by a
//! deadline on what the stream sends, never a fixed sleep as the assertion.

use std::{
    fs::{self, OpenOptions},
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use rewind_model::Level;
use tokio::{sync::mpsc, task::JoinHandle};

use super::*;
use crate::collect::{
    Batch, StopHandle,
    logs::testing::{Seen, until},
};

const LIMIT: Duration = Duration::from_secs(10);

struct Running {
    rx: mpsc::Receiver<Batch>,
    seen: Seen,
    stop: StopHandle,
    task: JoinHandle<()>,
}

impl Running {
    fn start(files: &[&Path], offsets: Option<&Path>) -> Self {
        let config = Config {
            files: files.iter().map(|p| p.to_path_buf()).collect(),
            offsets_file: offsets.map(Path::to_path_buf),
            poll_interval: Duration::from_millis(20),
            max_line_bytes: 8192,
            ..Config::default()
        };
        let (sink, rx) = Sink::channel(4096);
        let (stop, flag) = Stop::new();
        let task = tokio::spawn(Box::new(Files::new(&config)).run(sink, flag));
        Self {
            rx,
            seen: Seen::default(),
            stop,
            task,
        }
    }

    /// Waits for `n` events in all; returns their messages.
    async fn messages(&mut self, n: usize) -> Vec<String> {
        until(&mut self.rx, &mut self.seen, LIMIT, |s| s.events.len() >= n).await;
        self.seen
            .messages()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    async fn problem_containing(&mut self, text: &str) -> usize {
        until(&mut self.rx, &mut self.seen, LIMIT, |s| {
            s.problems.iter().any(|p| p.error.contains(text))
        })
        .await;
        self.seen
            .problems
            .iter()
            .filter(|p| p.error.contains(text))
            .count()
    }

    async fn finish(self) -> Seen {
        self.stop.stop();
        tokio::time::timeout(LIMIT, self.task)
            .await
            .expect("the stream stops")
            .unwrap();
        self.seen
    }
}

fn append(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

/// Waits until `path` exists (the tailer's first pass wrote its offsets).
async fn exists(path: &Path) {
    let deadline = Instant::now() + LIMIT;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn tmp() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let offsets = dir.path().join("state/log-offsets.json");
    (dir, log, offsets)
}

#[tokio::test]
async fn starts_at_the_end_and_follows_appends_with_levels() {
    let (_dir, log, offsets) = tmp();
    fs::write(&log, "old line, already there\n").unwrap();
    let mut s = Running::start(&[&log], Some(&offsets));
    exists(&offsets).await;
    append(&log, b"ERROR db: connection refused\nall good\n");
    assert_eq!(
        s.messages(2).await,
        ["ERROR db: connection refused", "all good"]
    );
    let seen = s.finish().await;
    assert_eq!(seen.events[0].level, Level::Error);
    assert_eq!(seen.events[1].level, Level::Info);
    assert_eq!(seen.events[0].source, format!("file:{}", log.display()));
    assert!(seen.problems.is_empty(), "{:?}", seen.problems);
}

#[tokio::test]
async fn rename_rotation_yields_every_line_once_in_order() {
    let (dir, log, offsets) = tmp();
    fs::write(&log, "").unwrap();
    let mut s = Running::start(&[&log], Some(&offsets));
    exists(&offsets).await;
    append(&log, b"a1\na2\n");
    assert_eq!(s.messages(2).await, ["a1", "a2"]);
    append(&log, b"a3\n");
    let rotated = dir.path().join("app.log.1");
    fs::rename(&log, &rotated).unwrap();
    append(&rotated, b"a4, written before the writer reopened\n");
    append(&log, b"b1\n");
    append(&log, b"b2\n");
    let want = [
        "a1",
        "a2",
        "a3",
        "a4, written before the writer reopened",
        "b1",
        "b2",
    ];
    assert_eq!(s.messages(6).await, want);
    append(&log, b"b3\n");
    assert_eq!(s.messages(7).await[6], "b3");
    let seen = s.finish().await;
    assert_eq!(seen.events.len(), 7, "no duplicates");
}

#[tokio::test]
async fn copy_truncate_restarts_from_the_beginning() {
    let (_dir, log, offsets) = tmp();
    fs::write(&log, "").unwrap();
    let mut s = Running::start(&[&log], Some(&offsets));
    exists(&offsets).await;
    append(&log, b"a fairly long first line\nand a second one\n");
    assert_eq!(s.messages(2).await.len(), 2);
    fs::copy(&log, log.with_extension("log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, b"fresh\n");
    assert_eq!(
        s.messages(3).await,
        ["a fairly long first line", "and a second one", "fresh"]
    );
    append(&log, b"more\n");
    assert_eq!(s.messages(4).await[3], "more");
    assert_eq!(s.finish().await.events.len(), 4);
}

#[tokio::test]
async fn a_restart_resumes_at_the_saved_offset() {
    let (_dir, log, offsets) = tmp();
    fs::write(&log, "before\n").unwrap();
    let mut s = Running::start(&[&log], Some(&offsets));
    exists(&offsets).await;
    append(&log, b"l1\nl2\nl3 unfinished");
    assert_eq!(s.messages(2).await, ["l1", "l2"]);
    s.finish().await;

    append(&log, b", finished while stopped\nl4\n");
    let mut s = Running::start(&[&log], Some(&offsets));
    assert_eq!(
        s.messages(2).await,
        ["l3 unfinished, finished while stopped", "l4"]
    );
    append(&log, b"l5\n");
    assert_eq!(s.messages(3).await[2], "l5");
    assert_eq!(s.finish().await.events.len(), 3, "no duplicates, no gaps");
}

#[tokio::test]
async fn a_file_replaced_while_stopped_is_read_from_its_start() {
    let (_dir, log, offsets) = tmp();
    fs::write(&log, "x\n").unwrap();
    let s = Running::start(&[&log], Some(&offsets));
    exists(&offsets).await;
    s.finish().await;
    // Replaced by rename, so the new file cannot reuse the old inode.
    let new = log.with_extension("new");
    fs::write(&new, "new file, first line\n").unwrap();
    fs::rename(&new, &log).unwrap();
    let mut s = Running::start(&[&log], Some(&offsets));
    assert_eq!(s.messages(1).await, ["new file, first line"]);
    s.finish().await;
}

#[tokio::test]
async fn a_missing_or_vanishing_file_is_one_problem_each_and_is_picked_up() {
    let (_dir, log, _) = tmp();
    let mut s = Running::start(&[&log], None);
    assert_eq!(s.problem_containing("does not exist").await, 1);
    // Let a few passes go by: they must not repeat the problem.
    tokio::time::sleep(Duration::from_millis(100)).await;
    fs::write(&log, "hello\n").unwrap();
    assert_eq!(
        s.messages(1).await,
        ["hello"],
        "a file that appears later is read from its start"
    );
    fs::remove_file(&log).unwrap();
    assert_eq!(s.problem_containing("vanished").await, 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    fs::write(&log, "again\n").unwrap();
    assert_eq!(s.messages(2).await, ["hello", "again"]);
    let seen = s.finish().await;
    assert_eq!(seen.problems.len(), 2, "{:?}", seen.problems);
}

/// Waits for the tailer's first look at a missing file, then creates it.
async fn create_after_first_look(s: &mut Running, log: &Path) {
    s.problem_containing("does not exist").await;
    fs::write(log, "").unwrap();
}

#[tokio::test]
async fn partial_lines_wait_for_their_newline() {
    let (_dir, log, _) = tmp();
    let mut s = Running::start(&[&log], None);
    create_after_first_look(&mut s, &log).await;
    append(&log, b"hel");
    tokio::time::sleep(Duration::from_millis(100)).await; // several passes see the partial line
    append(&log, b"lo\n");
    assert_eq!(s.messages(1).await, ["hello"]);
    assert_eq!(s.finish().await.events.len(), 1);
}

#[tokio::test]
async fn a_one_mib_line_is_cut_into_bounded_pieces() {
    let (_dir, log, _) = tmp();
    let mut s = Running::start(&[&log], None);
    create_after_first_look(&mut s, &log).await;
    append(&log, &vec![b'x'; 1 << 20]);
    let pieces = s.messages(127).await;
    assert!(
        pieces
            .iter()
            .all(|p| p.len() == 8192 && p.bytes().all(|b| b == b'x'))
    );
    append(&log, b"\nnext\n");
    let all = s.messages(129).await;
    assert_eq!(all.len(), 129);
    assert_eq!(
        all[..128].iter().map(String::len).sum::<usize>(),
        1 << 20,
        "nothing lost"
    );
    assert_eq!(all[128], "next");
}

#[tokio::test]
async fn binary_garbage_does_not_break_the_tailer() {
    let (_dir, log, _) = tmp();
    let mut s = Running::start(&[&log], None);
    create_after_first_look(&mut s, &log).await;
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    append(&log, &garbage);
    append(&log, b"\n\x1b[31mcoloured\x1b[0m \xff line\r\n");
    let deadline = |s: &Seen| {
        s.events
            .last()
            .is_some_and(|e| e.message.contains("coloured"))
    };
    assert!(until(&mut s.rx, &mut s.seen, LIMIT, deadline).await);
    let seen = s.finish().await;
    assert_eq!(
        seen.events.last().unwrap().message,
        "coloured \u{fffd} line"
    );
    for e in &seen.events {
        assert!(e.message.len() <= 8192);
        assert!(
            !e.message.chars().any(|c| c.is_control() && c != '\t'),
            "{:?}",
            e.message
        );
    }
}

#[tokio::test]
async fn an_unwritable_offsets_file_is_reported_and_tailing_goes_on() {
    let (dir, log, _) = tmp();
    fs::write(dir.path().join("not-a-dir"), "").unwrap();
    let offsets = dir.path().join("not-a-dir/offsets.json");
    let mut s = Running::start(&[&log], Some(&offsets));
    create_after_first_look(&mut s, &log).await;
    append(&log, b"still read\n");
    assert_eq!(s.problem_containing("cannot save offsets").await, 1);
    assert_eq!(s.messages(1).await, ["still read"]);
    s.finish().await;
}
