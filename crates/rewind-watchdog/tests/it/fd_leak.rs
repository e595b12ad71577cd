//! The fd-leak example end to end, in a re-executed copy of this binary
//! running the example's own service code: leak past the threshold, a
//! capture with its manifest, fd listing and thread stacks appears; a
//! second breach inside the cooldown does not capture; `quit` leaves a
//! clean run in the history.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    net::TcpStream,
    process::Stdio,
    time::Duration,
};

use rewind_watchdog::{RunEnd, list_captures, read_history};

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn ask(&mut self, line: &str) -> String {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        let mut answer = String::new();
        self.reader.read_line(&mut answer).unwrap();
        answer.trim().to_owned()
    }

    fn status(&mut self) -> serde_json::Value {
        serde_json::from_str(&self.ask("status")).unwrap()
    }
}

#[test]
fn the_fd_leak_service_captures_cools_down_and_writes_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = crate::KillOnDrop(
        crate::child("fd_leak", dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the service exited before listening"
        );
        // libtest may have written `test child::entry ... ` on the same line.
        if let Some((_, a)) = line.trim().split_once("listening on ") {
            break a.to_owned();
        }
    };
    let stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut c = Client {
        reader: BufReader::new(stream.try_clone().unwrap()),
        writer: stream,
    };

    assert_eq!(c.ask("leak 100"), "ok open=100");
    let fds_captures = |dir: &std::path::Path| {
        list_captures(dir)
            .unwrap()
            .into_iter()
            .filter(|c| c.kind == "fds")
            .collect::<Vec<_>>()
    };
    assert!(crate::wait_for(20, || fds_captures(dir.path()).len() == 1));
    let capture = &fds_captures(dir.path())[0];
    let m = capture.manifest.as_ref().unwrap();
    assert_eq!(m.triggers[0].breach.metric, rewind_watchdog::Metric::Fds);
    let fds = std::fs::read_to_string(capture.path.join("proc/fds.txt")).unwrap();
    assert!(
        fds.lines().filter(|l| l.ends_with("-> /dev/null")).count() >= 100,
        "{fds}"
    );
    let threads = std::fs::read_to_string(capture.path.join("proc/threads.txt")).unwrap();
    assert!(
        threads.lines().count() > 3,
        "the runtime's workers and the watchdog: {threads}"
    );
    let status = c.status();
    if status["stack_source"] == "eu-stack" && capture.path.join("stacks.txt").exists() {
        let stacks = std::fs::read_to_string(capture.path.join("stacks.txt")).unwrap();
        assert!(stacks.matches("TID ").count() > 3, "{stacks}");
    }

    // A second breach inside the two-minute cooldown: counted, not captured.
    assert_eq!(c.ask("free"), "ok open=0");
    assert!(crate::wait_for(30, || c.status()["last_sample"]["fds"]
        .as_u64()
        .unwrap_or(999)
        < 100));
    assert_eq!(c.ask("leak 100"), "ok open=100");
    assert!(crate::wait_for(30, || c.status()["suppressed"]
        .as_u64()
        .unwrap_or(0)
        > 0));
    assert_eq!(fds_captures(dir.path()).len(), 1);
    // (`captures` in the status may also count a scheduling-latency capture on a loaded machine.)

    assert_eq!(c.ask("quit"), "bye");
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "{exit}");
    let runs = read_history(dir.path()).unwrap();
    assert_eq!(runs.len(), 1);
    assert!(
        matches!(&runs[0].end, RunEnd::Clean { reason, .. } if reason == "shutdown"),
        "{runs:?}"
    );
    // The CPU profile started in the breach tick has landed by the clean shutdown.
    let m = rewind_watchdog::Manifest::read(&capture.path).unwrap();
    assert!(m.pending.is_empty(), "{m:?}");
}
