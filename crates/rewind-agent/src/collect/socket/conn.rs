//! One client connection: bounded line reading, rate limits, error replies.
//!
//! Lines are read with a fixed-size buffer and never kept beyond
//! `max_line_bytes`; a longer line is skipped up to its newline and answered
//! with one error line. A connection sending faster than `max_bytes_per_second`
//! is read more slowly (its writes block); lines beyond `max_lines_per_second`
//! are dropped unparsed. Refused lines are counted as problems of
//! `socket/<client>` and answered with at most 20 error lines per second,
//! written without waiting (a client that never reads loses them, nothing else).

use std::{
    io,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rewind_model::Timestamp;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::{
        UnixStream,
        unix::{OwnedReadHalf, OwnedWriteHalf},
    },
};

use super::{
    lock,
    protocol::{self, Refusal},
    state::State,
};

/// Read buffer per connection.
const READ_BUF: usize = 16 * 1024;
/// Error lines per second per connection.
const REPLIES_PER_SECOND: f64 = 20.0;

/// Per-connection limits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Longest line, newline excluded.
    pub max_line: usize,
    /// Lines per second (burst: one second's worth).
    pub lines_per_second: f64,
    /// Bytes per second (burst: one second's worth).
    pub bytes_per_second: f64,
    /// Longest wait for the next line.
    pub idle: Duration,
}

/// Serves one client until it disconnects, idles out, or the task is dropped.
pub(super) async fn serve(stream: UnixStream, state: Arc<Mutex<State>>, limits: Limits) {
    let peer = peer_label(&stream);
    let (read, write) = stream.into_split();
    let now = Instant::now();
    let mut conn = Conn {
        reader: BufReader::with_capacity(READ_BUF, read),
        replies: Replies {
            write,
            budget: Bucket::new(REPLIES_PER_SECOND, now),
            off: false,
        },
        state,
        lines: Bucket::new(limits.lines_per_second, now),
        bytes: Bucket::new(limits.bytes_per_second, now),
        limits,
        peer,
        line_no: 0,
    };
    conn.run().await;
}

/// Sends one error line and forgets the connection (used when refusing it).
pub(super) fn refuse(stream: &UnixStream, refusal: &Refusal) {
    stream.try_write(reply(0, refusal).as_bytes()).ok();
}

#[derive(Debug)]
struct Conn {
    reader: BufReader<OwnedReadHalf>,
    replies: Replies,
    state: Arc<Mutex<State>>,
    lines: Bucket,
    bytes: Bucket,
    limits: Limits,
    /// `socket/<client>`: the problem source.
    peer: String,
    line_no: u64,
}

enum Line {
    Full,
    TooLong,
    Eof,
}

impl Conn {
    async fn run(&mut self) {
        let mut buf = Vec::new();
        loop {
            let line = match tokio::time::timeout(self.limits.idle, self.next_line(&mut buf)).await
            {
                Err(_) => {
                    let secs = self.limits.idle.as_secs_f64();
                    let r = Refusal::new(
                        "idle_timeout",
                        format!("nothing received for {secs} s: closing"),
                    );
                    self.replies.send(0, &r);
                    return;
                }
                Ok(Err(_) | Ok(Line::Eof)) => return, // a reset is an ordinary end
                Ok(Ok(line)) => line,
            };
            self.line_no += 1;
            match line {
                Line::TooLong => {
                    let max = self.limits.max_line;
                    self.refuse(Refusal::new(
                        "line_too_long",
                        format!("longer than {max} bytes: skipped"),
                    ));
                }
                _ => self.line(&buf),
            }
        }
    }

    /// Reads one line into `buf` (without its newline), keeping at most `max_line` bytes.
    async fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Line> {
        buf.clear();
        let mut too_long = false;
        loop {
            let chunk = self.reader.fill_buf().await?;
            if chunk.is_empty() {
                let eof = !too_long && buf.is_empty();
                return Ok(if eof {
                    Line::Eof
                } else if too_long {
                    Line::TooLong
                } else {
                    Line::Full
                });
            }
            let newline = chunk.iter().position(|b| *b == b'\n');
            let (body, used) = newline.map_or((chunk.len(), chunk.len()), |i| (i, i + 1));
            if !too_long && buf.len() + body > self.limits.max_line {
                too_long = true;
                buf.clear();
            }
            if !too_long {
                buf.extend_from_slice(&chunk[..body]);
            }
            self.reader.consume(used);
            #[allow(clippy::cast_precision_loss)] // at most READ_BUF
            if let Some(wait) = self.bytes.debit(used as f64, Instant::now()) {
                tokio::time::sleep(wait).await;
            }
            if newline.is_some() {
                return Ok(if too_long { Line::TooLong } else { Line::Full });
            }
        }
    }

    fn line(&mut self, line: &[u8]) {
        let now = Instant::now();
        if !self.lines.take(1.0, now) {
            let max = self.limits.lines_per_second;
            self.refuse(Refusal::new(
                "rate_limited",
                format!("more than {max} lines per second: line dropped"),
            ));
            return;
        }
        let ts = Timestamp::now();
        let applied = match protocol::parse(line, ts, &self.peer) {
            Ok(None) => Ok(()),
            Ok(Some(item)) => lock(&self.state).apply(item, now, ts),
            Err(e) => Err(e),
        };
        if let Err(r) = applied {
            self.refuse(r);
        }
    }

    fn refuse(&mut self, r: Refusal) {
        let error = format!("line {}: {}: {}", self.line_no, r.code, r.message);
        lock(&self.state).problem(&self.peer, error);
        self.replies.send(self.line_no, &r);
    }
}

/// Error lines back to the client, never waited for.
#[derive(Debug)]
struct Replies {
    write: OwnedWriteHalf,
    budget: Bucket,
    /// Set after a failed or partial write: a half-written line would corrupt the next.
    off: bool,
}

impl Replies {
    fn send(&mut self, line: u64, r: &Refusal) {
        if self.off || !self.budget.take(1.0, Instant::now()) {
            return;
        }
        let text = reply(line, r);
        match self.write.try_write(text.as_bytes()) {
            Ok(n) if n == text.len() => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            _ => self.off = true,
        }
    }
}

/// `{"error":"<code>","message":"…","line":N}` and a newline.
fn reply(line: u64, r: &Refusal) -> String {
    let mut s =
        serde_json::json!({ "error": r.code, "message": r.message, "line": line }).to_string();
    s.push('\n');
    s
}

/// A token bucket holding at most one second's worth.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: f64, now: Instant) -> Self {
        let rate = rate.max(1.0);
        Self {
            rate,
            tokens: rate,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.rate);
        self.at = self.at.max(now);
    }

    /// Takes `n` tokens if there are that many.
    fn take(&mut self, n: f64, now: Instant) -> bool {
        self.refill(now);
        let ok = self.tokens >= n;
        if ok {
            self.tokens -= n;
        }
        ok
    }

    /// Takes `n` tokens, going into debt; returns how long to wait to repay it.
    fn debit(&mut self, n: f64, now: Instant) -> Option<Duration> {
        self.refill(now);
        self.tokens -= n;
        (self.tokens < 0.0).then(|| {
            Duration::try_from_secs_f64(-self.tokens / self.rate).unwrap_or(Duration::from_secs(1))
        })
    }
}

/// `socket/<command name of the peer>`, else `socket/uid:<uid>`, else `socket/unknown`.
fn peer_label(stream: &UnixStream) -> String {
    let Ok(cred) = stream.peer_cred() else {
        return "socket/unknown".to_owned();
    };
    let comm = cred
        .pid()
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).ok())
        .map(|c| {
            c.trim()
                .chars()
                .take(16)
                .map(|c| if c.is_ascii_graphic() { c } else { '_' })
                .collect::<String>()
        })
        .filter(|c| !c.is_empty());
    match comm {
        Some(c) => format!("socket/{c}"),
        None => format!("socket/uid:{}", cred.uid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_allow_a_second_of_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10.0, t0);
        assert_eq!((0..20).filter(|_| b.take(1.0, t0)).count(), 10);
        assert!(b.take(5.0, t0 + Duration::from_millis(500)));
        assert!(!b.take(1.0, t0 + Duration::from_millis(500)));
        assert_eq!(
            b.debit(15.0, t0 + Duration::from_secs(10)),
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn replies_are_one_json_line() {
        let r = Refusal::new("invalid_json", "expected value at line 1 column 1");
        let text = reply(3, &r);
        assert!(text.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"], "invalid_json");
        assert_eq!(v["line"], 3);
    }
}
