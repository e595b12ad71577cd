//! Jetson boards: runs `tegrastats --interval <ms>` and turns each line it
//! prints into a batch of readings (see [`super::tegrastats_line`]).
//!
//! The child is killed when the task stops. When it exits on its own it is
//! reported and started again after a pause (1 s, doubling up to 1 min,
//! back to 1 s once it prints readings again). When the program is not
//! there (any more), the stream ends quietly.

use std::{io, path::PathBuf, process::Stdio, time::Duration};

use rewind_model::Timestamp;
use tokio::{
    io::{AsyncBufRead, AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
};

use super::tegrastats_line;
use crate::collect::{Batch, Sink, Stop, Stream, Task};

/// Problems are reported under this source.
const SOURCE: &str = "gpu/tegrastats";
/// Longest line kept; the rest of a longer line is dropped (real ones are under 1 KiB).
const MAX_LINE: usize = 8 * 1024;
/// Pauses before starting tegrastats again.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// The `tegrastats` stream.
#[derive(Debug)]
pub(super) struct Tegrastats {
    program: PathBuf,
    interval: Duration,
}

impl Tegrastats {
    /// Runs `program` with `--interval` set from `interval` (at least 1 ms).
    pub(super) fn new(program: PathBuf, interval: Duration) -> Self {
        Self { program, interval }
    }

    fn spawn(&self) -> io::Result<Child> {
        let millis = u64::try_from(self.interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Command::new(&self.program)
            .arg("--interval")
            .arg(millis.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
    }

    async fn follow(self, sink: Sink, mut stop: Stop) {
        let mut pause = FIRST_PAUSE;
        while !stop.is_stopped() {
            let why = match self.spawn() {
                Ok(child) => {
                    let (lines, why) = tokio::select! {
                        ended = read_until_exit(child, &sink) => ended,
                        () = stop.stopped() => return,
                    };
                    if lines > 0 {
                        pause = FIRST_PAUSE;
                    }
                    why
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    tracing::info!("{} not found: Jetson metrics off", self.program.display());
                    return;
                }
                Err(e) => format!("cannot start {}: {e}", self.program.display()),
            };
            send_problem(
                &sink,
                format!("{why}; starting it again in {}s", pause.as_secs()),
            );
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = stop.stopped() => return,
            }
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }
}

impl Stream for Tegrastats {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn run(self: Box<Self>, sink: Sink, stop: Stop) -> Task {
        Box::pin(self.follow(sink, stop))
    }
}

/// Reads the child's lines until its output ends; returns how many lines
/// had readings and why it ended.
async fn read_until_exit(mut child: Child, sink: &Sink) -> (u64, String) {
    let Some(stdout) = child.stdout.take() else {
        return (0, "tegrastats has no output pipe".to_owned());
    };
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let mut with_readings = 0;
    let ended = loop {
        match next_line(&mut reader, &mut line).await {
            Ok(true) => with_readings += u64::from(handle_line(&line, sink)),
            Ok(false) => break "tegrastats stopped".to_owned(),
            Err(e) => break format!("reading tegrastats failed: {e}"),
        }
    };
    (
        with_readings,
        format!("{ended} ({})", exit_status(&mut child).await),
    )
}

/// Parses one line and sends what it holds; says whether it had readings.
fn handle_line(line: &[u8], sink: &Sink) -> bool {
    let text = String::from_utf8_lossy(line);
    let readings = tegrastats_line::parse(&text);
    let mut batch = Batch::new(Timestamp::now());
    let found = !readings.is_empty();
    if found {
        for (series, unit, value) in readings {
            batch.reading(series, unit, value);
        }
    } else if !text.trim().is_empty() {
        let start: String = text.trim().chars().take(120).collect();
        batch.problem(SOURCE, format!("no readings in line: {start}"));
    }
    sink.send(batch);
    found
}

/// The exit status once the output ended; a child that closed its output
/// but is still running a second later is killed.
async fn exit_status(child: &mut Child) -> String {
    let status = match tokio::time::timeout(Duration::from_secs(1), child.wait()).await {
        Ok(status) => status,
        Err(_still_running) => {
            child.start_kill().ok();
            child.wait().await
        }
    };
    match status {
        Ok(status) => status.to_string(),
        Err(e) => format!("exit status unknown: {e}"),
    }
}

fn send_problem(sink: &Sink, error: String) {
    let mut batch = Batch::new(Timestamp::now());
    batch.problem(SOURCE, error);
    sink.send(batch);
}

/// Reads one line into `buf` without its newline, keeping at most
/// [`MAX_LINE`] bytes of it. `false` at the end of the input.
async fn next_line<R: AsyncBufRead + Unpin>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<bool> {
    buf.clear();
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(!buf.is_empty());
        }
        let newline = chunk.iter().position(|&b| b == b'\n');
        let used = newline.map_or(chunk.len(), |i| i + 1);
        let content = newline.unwrap_or(chunk.len());
        let room = MAX_LINE.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..content.min(room)]);
        reader.consume(used);
        if newline.is_some() {
            return Ok(true);
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
