//! The systemd journal stream (`logs/journal`): runs
//! `journalctl -o json -f --no-tail --no-pager --since now [-u UNIT]…` as a
//! child process (a tokio task; the program is injectable) and turns each
//! JSON line into an event.
//!
//! Fields used: `MESSAGE` (a string, or an array of bytes when it is not
//! UTF-8), `PRIORITY` (syslog 0–7 → level; guessed from the text when
//! absent), `__REALTIME_TIMESTAMP` (µs since the epoch → `ts`),
//! `_SYSTEMD_UNIT`, `_PID`, `SYSLOG_IDENTIFIER` (→ fields `unit`, `pid`,
//! `identifier`), `__CURSOR`. Kernel entries (`_TRANSPORT=kernel`) are
//! recognised into typed events unless the kernel-log stream is reading
//! `/dev/kmsg` itself (it then reports them, once).
//!
//! When journalctl exits it is restarted after a backoff (1 s doubling to
//! 60 s, back to 1 s after a run of a minute), from the last cursor seen
//! (`--after-cursor`) so nothing is lost or repeated. A missing journalctl
//! is one problem and the stream ends. Malformed lines are problems and
//! skipped; a line longer than [`MAX_ENTRY`] is skipped whole.

use std::{
    borrow::Cow,
    path::PathBuf,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use rewind_model::{Event, EventKind, Level, Timestamp};
use serde::Deserialize;
use tokio::{
    io::{AsyncBufRead, AsyncBufReadExt as _, AsyncReadExt as _, BufReader},
    process::{Child, Command},
    task::JoinHandle,
};

use super::{Chunker, Config, kernel, text};
use crate::collect::{Sink, Stop, Stream, Task};

const SOURCE: &str = "logs/journal";
/// Longest JSON line accepted from journalctl.
pub const MAX_ENTRY: usize = 1 << 20;
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Follows the journal through journalctl.
#[derive(Debug)]
pub struct Journal {
    program: PathBuf,
    units: Vec<String>,
    max: usize,
    kmsg_live: Arc<AtomicBool>,
}

/// How one run of journalctl ended.
enum Ended {
    Stopped,
    Exited(String),
}

impl Journal {
    /// From the `logs` config section; `kmsg_live` tells whether `/dev/kmsg` is being read.
    #[must_use]
    pub fn new(config: &Config, kmsg_live: Arc<AtomicBool>) -> Self {
        Self {
            program: config.journalctl.clone(),
            units: config.journal_units.clone(),
            max: config.line_cap(),
            kmsg_live,
        }
    }

    fn command(&self, cursor: Option<&str>) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(["-o", "json", "-f", "--no-tail", "--no-pager"]);
        match cursor {
            Some(c) => cmd.arg(format!("--after-cursor={c}")),
            None => cmd.args(["--since", "now"]),
        };
        for unit in &self.units {
            cmd.args(["-u", unit]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    async fn run_task(self, sink: Sink, mut stop: Stop) {
        let mut out = Chunker::new(sink);
        let mut cursor = None;
        let mut backoff = BACKOFF_MIN;
        loop {
            let started = Instant::now();
            match self.command(cursor.as_deref()).spawn() {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let msg = format!(
                        "`{}` not found: the systemd journal is not collected (install journalctl, or set `journal: false`)",
                        self.program.display()
                    );
                    out.problem(SOURCE, msg);
                    return out.flush();
                }
                Err(e) => out.problem(
                    SOURCE,
                    format!("cannot run `{}`: {e}", self.program.display()),
                ),
                Ok(child) => match self.follow(child, &mut out, &mut cursor, &mut stop).await {
                    Ended::Stopped => return out.flush(),
                    Ended::Exited(why) => out.problem(SOURCE, format!("{why}; restarting it")),
                },
            }
            out.flush();
            if started.elapsed() > BACKOFF_MAX {
                backoff = BACKOFF_MIN;
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stop.stopped() => return,
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// Reads one run of journalctl until it exits or `stop`.
    async fn follow(
        &self,
        mut child: Child,
        out: &mut Chunker,
        cursor: &mut Option<String>,
        stop: &mut Stop,
    ) -> Ended {
        let stderr = child.stderr.take().map(|e| tokio::spawn(last_words(e)));
        let Some(stdout) = child.stdout.take() else {
            return Ended::Exited("journalctl has no output pipe".into());
        };
        let mut lines = BoundedLines::new(BufReader::new(stdout), MAX_ENTRY);
        loop {
            tokio::select! {
                () = stop.stopped() => {
                    let _ = child.kill().await;
                    return Ended::Stopped;
                }
                () = at(out.deadline()) => out.flush(),
                line = lines.next() => match line {
                    Ok(Some(Some(bytes))) => self.entry(&bytes, out, cursor),
                    Ok(Some(None)) => out.problem(SOURCE, format!("a journal entry longer than {MAX_ENTRY} bytes was skipped")),
                    Ok(None) => break,
                    Err(e) => {
                        out.problem(SOURCE, format!("reading journalctl's output: {e}"));
                        break;
                    }
                },
            }
        }
        Ended::Exited(self.exit_reason(child, stderr).await)
    }

    /// `` `journalctl` exited (exit status: 1): its last words `` (bounded in time).
    async fn exit_reason(&self, mut child: Child, stderr: Option<JoinHandle<String>>) -> String {
        let status = match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            _ => {
                let _ = child.kill().await;
                "closed its output".to_owned()
            }
        };
        let mut words = String::new();
        if let Some(mut task) = stderr {
            // A leftover grandchild may hold stderr open: do not wait for it.
            match tokio::time::timeout(Duration::from_secs(1), &mut task).await {
                Ok(Ok(w)) if !w.is_empty() => words = format!(": {w}"),
                Ok(_) => {}
                Err(_) => task.abort(),
            }
        }
        format!("`{}` exited ({status}){words}", self.program.display())
    }

    fn entry(&self, line: &[u8], out: &mut Chunker, cursor: &mut Option<String>) {
        let recognise = !self.kmsg_live.load(Ordering::Relaxed);
        match parse_entry(line, self.max, recognise) {
            Ok((event, c)) => {
                if c.is_some() {
                    *cursor = c;
                }
                if let Some(event) = event {
                    out.event(event);
                }
            }
            Err(e) => out.problem(
                SOURCE,
                format!("malformed journal entry ({e}): {:?}", text::clean(line, 80)),
            ),
        }
    }
}

impl Stream for Journal {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn run(self: Box<Self>, sink: Sink, stop: Stop) -> Task {
        Box::pin(self.run_task(sink, stop))
    }
}

/// Completes at `deadline`, or never.
async fn at(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// The last line journalctl wrote to stderr (bounded), for the problem report.
async fn last_words(mut stderr: tokio::process::ChildStderr) -> String {
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = stderr.read(&mut buf).await {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 4096 {
            tail.drain(..tail.len() - 1024);
        }
    }
    let text = text::clean(&tail, 4096);
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

/// Newline-separated lines of at most `max` bytes; longer ones are skipped
/// (`Some(None)`). Cancel-safe: progress is kept in `self`.
struct BoundedLines<R> {
    reader: R,
    buf: Vec<u8>,
    skipping: bool,
    max: usize,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    fn new(reader: R, max: usize) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            skipping: false,
            max,
        }
    }

    /// The next line (`Some(None)` for one too long), or `None` at EOF.
    async fn next(&mut self) -> std::io::Result<Option<Option<Vec<u8>>>> {
        loop {
            let chunk = self.reader.fill_buf().await?;
            if chunk.is_empty() {
                let skipped = std::mem::take(&mut self.skipping);
                return Ok((!self.buf.is_empty() || skipped)
                    .then(|| (!skipped).then(|| std::mem::take(&mut self.buf))));
            }
            let newline = chunk.iter().position(|&b| b == b'\n');
            let part = &chunk[..newline.unwrap_or(chunk.len())];
            if self.buf.len() + part.len() > self.max {
                self.skipping = true;
                self.buf = Vec::new();
            } else if !self.skipping {
                self.buf.extend_from_slice(part);
            }
            let used = part.len() + usize::from(newline.is_some());
            self.reader.consume(used);
            if newline.is_some() {
                let skipped = std::mem::take(&mut self.skipping);
                return Ok(Some((!skipped).then(|| std::mem::take(&mut self.buf))));
            }
        }
    }
}

/// A journal field: a string, an array of bytes, or several values.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Field {
    Text(String),
    Bytes(Vec<u8>),
    Many(Vec<Field>),
    Other(serde::de::IgnoredAny),
}

impl Field {
    fn bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Self::Text(s) => Cow::Borrowed(s.as_bytes()),
            Self::Bytes(b) => Cow::Borrowed(b),
            Self::Many(v) => v.first().map_or(Cow::Borrowed(&[][..]), Self::bytes),
            Self::Other(_) => Cow::Borrowed(&[]),
        }
    }

    fn text(&self, max: usize) -> String {
        text::clean(&self.bytes(), max)
    }
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(rename = "MESSAGE")]
    message: Option<Field>,
    #[serde(rename = "PRIORITY")]
    priority: Option<Field>,
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<Field>,
    #[serde(rename = "_SYSTEMD_UNIT")]
    unit: Option<Field>,
    #[serde(rename = "_PID")]
    pid: Option<Field>,
    #[serde(rename = "SYSLOG_IDENTIFIER")]
    identifier: Option<Field>,
    #[serde(rename = "_TRANSPORT")]
    transport: Option<Field>,
    #[serde(rename = "__CURSOR")]
    cursor: Option<String>,
}

/// One JSON line → its event (none when it has no message) and cursor.
///
/// # Errors
/// When the line is not a JSON object.
pub fn parse_entry(
    line: &[u8],
    max: usize,
    recognise_kernel: bool,
) -> Result<(Option<Event>, Option<String>), String> {
    let entry: Entry = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let message = entry
        .message
        .as_ref()
        .map(|m| m.text(max))
        .unwrap_or_default();
    if message.is_empty() {
        return Ok((None, entry.cursor));
    }
    let number = |f: &Option<Field>| f.as_ref().and_then(|f| f.text(32).parse::<i64>().ok());
    let ts = number(&entry.realtime).map_or_else(Timestamp::now, |us| {
        Timestamp::from_unix_nanos(us.saturating_mul(1_000))
    });
    let mut level = match number(&entry.priority) {
        Some(p @ 0..=7) => Level::from_syslog(u8::try_from(p).unwrap_or(6)),
        _ => text::guess_level(&message),
    };
    let mut kind = EventKind::Log;
    let mut fields = Vec::new();
    let from_kernel = entry
        .transport
        .as_ref()
        .is_some_and(|t| t.text(16) == "kernel");
    if recognise_kernel
        && from_kernel
        && let Some(r) = kernel::recognise(&message)
    {
        (kind, level, fields) = (r.kind, r.level, r.fields);
    }
    let mut event = Event::new(ts, "journal", kind, level, message);
    for (key, field) in [
        ("unit", &entry.unit),
        ("pid", &entry.pid),
        ("identifier", &entry.identifier),
    ] {
        if let Some(v) = field
            .as_ref()
            .map(|f| f.text(256))
            .filter(|v| !v.is_empty())
        {
            event = event.with(key, v);
        }
    }
    for (k, v) in fields {
        event = event.with(k, v);
    }
    Ok((Some(event), entry.cursor))
}

#[cfg(test)]
mod tests;
