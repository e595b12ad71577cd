//! Following JSON Lines metric files and log files, like `tail -F`.
//!
//! A file is read from its start (older points simply fall outside every
//! window), then polled for growth. A file that shrinks or is replaced
//! (log rotation: a new inode) is read again from its start; a file that
//! does not exist yet is waited for. A line is only read once it ends with
//! a newline, so a writer caught mid-line is never half-read. Bad lines are
//! skipped and counted, with the first few and then every thousandth
//! logged as `FILE:LINE: what`.

use std::{io::SeekFrom, path::PathBuf, time::Duration};

use rewind_model::metrics::{LogPoint, MetricPoint, log_from_json, points_from_json};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use super::{Feed, WeakState};
use crate::metrics::SourceLabel;

/// How often a file is checked for growth.
const POLL: Duration = Duration::from_millis(500);
/// Longest line read; longer ones are skipped as bad.
const MAX_LINE: usize = 1 << 20;
/// Lines sent to the engine at once.
const BATCH: usize = 1_000;

/// What a followed file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Metric samples, one JSON object a line (the seed's format).
    Metrics,
    /// Log lines: JSON objects, or plain lines starting with a time.
    Logs,
}

/// What one line became.
enum Parsed {
    Metrics(Vec<MetricPoint>),
    Log(LogPoint),
}

/// Parses one line of a followed file.
fn parse(kind: Kind, line: &str, source: &str) -> Result<Parsed, String> {
    match kind {
        Kind::Metrics => points_from_json(line).map(Parsed::Metrics),
        Kind::Logs if line.trim_start().starts_with('{') => {
            log_from_json(line, source).map(Parsed::Log)
        }
        Kind::Logs => plain_log(line, source).map(Parsed::Log),
    }
}

/// A plain log line: an RFC 3339 time, optionally a level word, the message.
fn plain_log(line: &str, source: &str) -> Result<LogPoint, String> {
    let line = line.trim();
    let (first, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let at = rewind_model::Timestamp::parse_rfc3339(first.trim_matches(['[', ']']))
        .map_err(|_| "no RFC 3339 time at the start of the line".to_owned())?;
    let rest = rest.trim_start();
    let (word, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let (level, text) = match rewind_model::Level::from_word(word) {
        Some(level) => (Some(level), after.trim_start()),
        None => (None, rest),
    };
    let mut point = LogPoint {
        at,
        level,
        service: None,
        environment: None,
        source: source.to_owned(),
        text: text.to_owned(),
    };
    point.check()?;
    Ok(point)
}

/// Where reading a file has got to.
struct Cursor {
    path: PathBuf,
    source: String,
    offset: u64,
    inode: Option<u64>,
    line: u64,
    pending: Vec<u8>,
    bad: u64,
}

impl Cursor {
    fn new(path: PathBuf) -> Self {
        let source = format!("file:{}", path.display());
        Self {
            path,
            source,
            offset: 0,
            inode: None,
            line: 0,
            pending: Vec::new(),
            bad: 0,
        }
    }

    fn restart(&mut self, inode: Option<u64>) {
        self.offset = 0;
        self.inode = inode;
        self.line = 0;
        self.pending.clear();
    }

    fn bad_line(&mut self, why: &str) {
        self.bad += 1;
        if self.bad <= 5 || self.bad.is_multiple_of(1_000) {
            tracing::warn!(
                "{}:{}: skipped: {why} ({} bad lines so far)",
                self.path.display(),
                self.line,
                self.bad
            );
        }
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt as _;
    Some(meta.ino())
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> Option<u64> {
    None
}

/// Follows `path` until the server stops.
pub(crate) async fn follow(path: PathBuf, kind: Kind, feed: Feed, state: WeakState) {
    tracing::info!(path = %path.display(), ?kind, "following file for the regression watch");
    let mut cursor = Cursor::new(path);
    let mut missing_logged = false;
    loop {
        let Some(app) = state.upgrade() else { return };
        let stopping = app.is_stopping();
        drop(app);
        if stopping {
            return;
        }
        match read_new(&mut cursor, kind, &feed, &state).await {
            Ok(()) => missing_logged = false,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !missing_logged {
                    tracing::warn!(path = %cursor.path.display(), "file to follow does not exist yet; waiting for it");
                    missing_logged = true;
                }
                cursor.restart(None);
            }
            Err(e) => {
                tracing::warn!(path = %cursor.path.display(), error = %e, "cannot read followed file; retrying");
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Reads what was appended since the last call.
async fn read_new(
    cursor: &mut Cursor,
    kind: Kind,
    feed: &Feed,
    state: &WeakState,
) -> std::io::Result<()> {
    let meta = tokio::fs::metadata(&cursor.path).await?;
    let ino = inode(&meta);
    if ino != cursor.inode || meta.len() < cursor.offset {
        if cursor.inode.is_some() {
            tracing::info!(path = %cursor.path.display(), "followed file was rotated or truncated; reading it from the start");
        }
        cursor.restart(ino);
    }
    if meta.len() == cursor.offset {
        return Ok(());
    }
    let mut file = tokio::fs::File::open(&cursor.path).await?;
    file.seek(SeekFrom::Start(cursor.offset)).await?;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut metrics = Vec::new();
    let mut logs = Vec::new();
    loop {
        let n = file.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        cursor.offset += n as u64;
        cursor.pending.extend_from_slice(&chunk[..n]);
        take_lines(cursor, kind, &mut metrics, &mut logs);
        if metrics.len() >= BATCH || logs.len() >= BATCH {
            send(
                feed,
                state,
                std::mem::take(&mut metrics),
                std::mem::take(&mut logs),
            )
            .await;
        }
    }
    send(feed, state, metrics, logs).await;
    Ok(())
}

/// Parses the complete lines in `cursor.pending`.
fn take_lines(
    cursor: &mut Cursor,
    kind: Kind,
    metrics: &mut Vec<MetricPoint>,
    logs: &mut Vec<LogPoint>,
) {
    let mut start = 0;
    while let Some(nl) = cursor.pending[start..].iter().position(|b| *b == b'\n') {
        let raw = &cursor.pending[start..start + nl];
        start += nl + 1;
        cursor.line += 1;
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t.trim_end_matches('\r').to_owned(),
            Err(_) => {
                cursor.bad_line("not UTF-8");
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        if text.len() > MAX_LINE {
            cursor.bad_line("line too long");
            continue;
        }
        match parse(kind, &text, &cursor.source) {
            Ok(Parsed::Metrics(p)) => metrics.extend(p),
            Ok(Parsed::Log(l)) => logs.push(l),
            Err(why) => cursor.bad_line(&why),
        }
    }
    cursor.pending.drain(..start);
    if cursor.pending.len() > MAX_LINE {
        cursor.line += 1;
        cursor.bad_line("line too long");
        cursor.pending.clear();
    }
}

async fn send(feed: &Feed, state: &WeakState, metrics: Vec<MetricPoint>, logs: Vec<LogPoint>) {
    if let Some(app) = state.upgrade() {
        app.metrics()
            .regression_points
            .get_or_create(&SourceLabel { source: "file" })
            .inc_by(metrics.len() as u64);
    }
    feed.metrics(metrics).await;
    feed.logs(logs).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_json_log_lines_parse() {
        let Ok(Parsed::Log(l)) = parse(
            Kind::Logs,
            "2026-03-30T20:00:01Z ERROR payment 42 declined",
            "file:a.log",
        ) else {
            panic!("plain line refused")
        };
        assert_eq!(l.level, Some(rewind_model::Level::Error));
        assert_eq!(l.text, "payment 42 declined");
        assert!(parse(Kind::Logs, "   at com.foo.Bar(Bar.java:12)", "x").is_err());
        let Ok(Parsed::Metrics(p)) = parse(
            Kind::Metrics,
            r#"{"timestamp":"2026-03-30T19:30:00Z","error_rate":0.02}"#,
            "x",
        ) else {
            panic!("metric line refused")
        };
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn only_complete_lines_are_taken() {
        let mut c = Cursor::new(PathBuf::from("m.jsonl"));
        c.pending
            .extend_from_slice(b"{\"timestamp\":1,\"x\":1}\nnot json\n{\"timestamp\":2,");
        let (mut m, mut l) = (Vec::new(), Vec::new());
        take_lines(&mut c, Kind::Metrics, &mut m, &mut l);
        assert_eq!(m.len(), 1);
        assert_eq!(c.bad, 1);
        assert_eq!(c.line, 2);
        assert_eq!(c.pending, b"{\"timestamp\":2,");
        c.pending.extend_from_slice(b"\"x\":3}\n");
        take_lines(&mut c, Kind::Metrics, &mut m, &mut l);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].value, 3.0);
    }
}
