//! The stream end to end, with a shell script standing in for `tegrastats`.

use std::{
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

use tokio::{sync::mpsc::Receiver, time::timeout};

use super::*;
use crate::collect::{
    StopHandle,
    gpu::tegrastats_line::tests::{NANO_JP4, ORIN_JP5},
};

/// Generous guard so a broken stream fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(20);

/// Writes an executable `tegrastats` script into `dir` that records its
/// arguments in `tegrastats.args` and its pid in `tegrastats.pid`, then runs `body`.
pub(crate) fn fake_tegrastats(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("tegrastats");
    let script = format!("#!/bin/sh\necho \"$@\" > \"$0.args\"\necho $$ > \"$0.pid\"\n{body}");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn start(
    program: PathBuf,
    interval: Duration,
) -> (Receiver<Batch>, StopHandle, tokio::task::JoinHandle<()>) {
    let (sink, rx) = Sink::channel(64);
    let (handle, stop) = Stop::new();
    let task = tokio::spawn(Box::new(Tegrastats::new(program, interval)).run(sink, stop));
    (rx, handle, task)
}

async fn next(rx: &mut Receiver<Batch>) -> Batch {
    timeout(GUARD, rx.recv())
        .await
        .expect("a batch in time")
        .expect("the stream is still running")
}

/// The next batch with readings, skipping problems (e.g. a spawn that
/// raced with the script being written and is retried).
async fn next_readings(rx: &mut Receiver<Batch>) -> Batch {
    loop {
        let batch = next(rx).await;
        if !batch.readings.is_empty() {
            return batch;
        }
    }
}

fn as_parsed(b: &Batch) -> tegrastats_line::Readings {
    b.readings
        .iter()
        .map(|r| (r.series.clone(), unit(&r.unit), r.value))
        .collect()
}

fn unit(u: &str) -> &'static str {
    ["bytes", "percent", "hertz", "celsius", "watts"]
        .into_iter()
        .find(|k| *k == u)
        .unwrap()
}

#[tokio::test]
async fn recorded_lines_reach_the_sink_and_stop_kills_tegrastats() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tegrastats.lines"),
        format!("{NANO_JP4}\n{ORIN_JP5}\n"),
    )
    .unwrap();
    let script = fake_tegrastats(dir.path(), "cat \"$0.lines\"\nexec sleep 60\n");
    let (mut rx, handle, task) = start(script, Duration::from_millis(250));

    let first = next_readings(&mut rx).await;
    let second = next_readings(&mut rx).await;
    assert_eq!(as_parsed(&first), tegrastats_line::parse(NANO_JP4));
    assert_eq!(as_parsed(&second), tegrastats_line::parse(ORIN_JP5));
    let ram = second
        .readings
        .iter()
        .find(|r| r.series.as_str() == "jetson.ram_used_bytes")
        .unwrap();
    assert_eq!(ram.value, 3453.0 * 1024.0 * 1024.0);
    let args = std::fs::read_to_string(dir.path().join("tegrastats.args")).unwrap();
    assert_eq!(args, "--interval 250\n");

    handle.stop();
    timeout(GUARD, task)
        .await
        .expect("the stream stops")
        .unwrap();
    let pid = std::fs::read_to_string(dir.path().join("tegrastats.pid")).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    timeout(GUARD, async {
        // Killed: gone, or a zombie waiting to be reaped.
        while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z ")) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("tegrastats is killed when the stream stops");
}

#[tokio::test]
async fn garbage_and_an_exit_are_problems_and_tegrastats_is_restarted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tegrastats.lines"),
        format!("garbage here\n\n{NANO_JP4}\n"),
    )
    .unwrap();
    let script = fake_tegrastats(dir.path(), "cat \"$0.lines\"\nexit 3\n");
    let (mut rx, handle, task) = start(script, Duration::from_secs(1));

    let mut problems = Vec::new();
    let mut with_readings = 0;
    // Two runs: the first, then the restart after a 1 s pause.
    while with_readings < 2 {
        let b = next(&mut rx).await;
        with_readings += usize::from(!b.readings.is_empty());
        problems.extend(b.problems.into_iter().map(|p| (p.source, p.error)));
    }
    handle.stop();
    timeout(GUARD, task)
        .await
        .expect("the stream stops")
        .unwrap();
    while let Some(b) = rx.recv().await {
        problems.extend(b.problems.into_iter().map(|p| (p.source, p.error)));
    }
    let exits: Vec<&(String, String)> = problems
        .iter()
        .filter(|(_, e)| e.contains("tegrastats stopped"))
        .collect();
    assert!(!exits.is_empty(), "{problems:?}");
    assert_eq!(exits[0].0, "gpu/tegrastats");
    assert!(exits[0].1.contains("exit status: 3"), "{}", exits[0].1);
    assert!(
        exits[0].1.ends_with("starting it again in 1s"),
        "{}",
        exits[0].1
    );
    let garbage = problems
        .iter()
        .filter(|(_, e)| e == "no readings in line: garbage here")
        .count();
    assert_eq!(
        garbage, 2,
        "one per run; the empty line is not a problem: {problems:?}"
    );
}

#[tokio::test]
async fn a_missing_tegrastats_ends_the_stream_quietly() {
    let (mut rx, _handle, task) = start(
        PathBuf::from("/nonexistent/rewind/tegrastats"),
        Duration::from_secs(1),
    );
    timeout(GUARD, task)
        .await
        .expect("the stream ends")
        .unwrap();
    assert!(rx.recv().await.is_none(), "nothing was sent");
}

#[tokio::test]
async fn long_lines_are_cut_and_the_last_line_needs_no_newline() {
    let long = vec![b'x'; MAX_LINE * 3];
    let mut input = long.clone();
    input.extend_from_slice(b"\nshort\nlast");
    let mut reader = &input[..];
    let mut line = Vec::new();
    assert!(next_line(&mut reader, &mut line).await.unwrap());
    assert_eq!(line, long[..MAX_LINE]);
    assert!(next_line(&mut reader, &mut line).await.unwrap());
    assert_eq!(line, b"short");
    assert!(next_line(&mut reader, &mut line).await.unwrap());
    assert_eq!(line, b"last");
    assert!(!next_line(&mut reader, &mut line).await.unwrap());
}
