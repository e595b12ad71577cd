//! The kernel log stream (`logs/kmsg`): records from `/dev/kmsg`, read on a
//! dedicated thread.
//!
//! A record is `priority,seq,usec,flags[,…];message`, followed by optional
//! continuation lines starting with a space (`␠SUBSYSTEM=usb`,
//! `␠DEVICE=c189:1`; `SUBSYSTEM` and `DEVICE` become fields). `usec` is
//! microseconds since boot, dated with `btime` from `<proc_root>/stat` (to
//! the second; suspend time is not accounted for by the kernel's clock).
//!
//! The device is opened non-blocking and positioned at its end (`SEEK_END`),
//! so only records written after start-up are read; each `read()` returns
//! exactly one record, `EAGAIN` when there is none (the thread then sleeps
//! `poll_interval`), and `EPIPE` when records were overwritten before being
//! read (one problem; reading goes on with the oldest record left). If the
//! device cannot be opened (permission, containers) one problem is reported
//! and the stream ends.
//!
//! Tests use a regular file instead: a `read()` then returns as many records
//! as fit, and EOF instead of `EAGAIN`. Records are therefore cut at newlines
//! (a continuation line in the next read of a regular file is dropped).
//!
//! Messages are recognised by [`super::kernel::recognise`]; an OOM kill is
//! logged by the kernel twice (`oom-kill:…` then `Killed process …`), so a
//! second `oom_kill` for the same pid in a row is kept as a plain log line.

use std::{
    fs::File,
    io::{ErrorKind, Read as _, Seek as _, SeekFrom},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use rewind_model::{Event, EventKind, Level, Timestamp};

use super::{Chunker, Config, kernel, nap, on_thread, text::Lines, text::clean};
use crate::collect::{Sink, Stop, Stream, Task};

const SOURCE: &str = "logs/kmsg";

/// Follows the kernel log.
#[derive(Debug)]
pub struct Kmsg {
    path: PathBuf,
    proc_root: PathBuf,
    poll_interval: Duration,
    max: usize,
    live: Arc<AtomicBool>,
}

impl Kmsg {
    /// From the `logs` config section; `live` is raised once the log is read.
    #[must_use]
    pub fn new(config: &Config, live: Arc<AtomicBool>) -> Self {
        Self {
            path: config.kmsg_path.clone(),
            proc_root: config.proc_root.clone(),
            poll_interval: config.poll_interval.max(Duration::from_millis(10)),
            max: config.line_cap(),
            live,
        }
    }

    fn run_blocking(self, sink: &Sink, stop: &Stop) {
        let mut out = Chunker::new(sink.clone());
        let mut file = match open(&self.path) {
            Ok(f) => f,
            Err(e) => {
                out.problem(
                    SOURCE,
                    format!(
                        "{}: {e}; the kernel log is not collected",
                        self.path.display()
                    ),
                );
                return out.flush();
            }
        };
        if let Err(e) = file.seek(SeekFrom::End(0)) {
            out.problem(
                SOURCE,
                format!(
                    "{}: cannot seek to the end ({e}); reading from the start",
                    self.path.display()
                ),
            );
        }
        let boot = match boot_time(&self.proc_root) {
            Ok(t) => Some(t),
            Err(e) => {
                out.problem(SOURCE, format!("{e}; kernel records are dated when read"));
                None
            }
        };
        self.live.store(true, Ordering::Relaxed);
        let mut records = Records::new(boot, self.max);
        self.follow(&mut file, &mut records, &mut out, stop);
        self.live.store(false, Ordering::Relaxed);
        out.flush();
    }

    fn follow(&self, file: &mut File, records: &mut Records, out: &mut Chunker, stop: &Stop) {
        // Larger than the longest record the kernel hands out (8 KiB with its dictionary).
        let mut buf = vec![0u8; 16 * 1024];
        // Records are bounded by the kernel; messages are capped by `clean` later.
        let mut lines = Lines::new(buf.len());
        while !stop.is_stopped() {
            match file.read(&mut buf) {
                Ok(n) if n > 0 => {
                    lines.push(&buf[..n], &mut |l| records.line(l, out));
                    records.end_of_read(out);
                    if out.due() {
                        out.flush();
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                    out.problem(
                        SOURCE,
                        "kernel log records were overwritten before they were read",
                    );
                    continue;
                }
                Err(e) => out.problem(SOURCE, format!("{}: read failed: {e}", self.path.display())),
            }
            out.flush();
            if !nap(stop, self.poll_interval) {
                break;
            }
        }
    }
}

impl Stream for Kmsg {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn run(self: Box<Self>, sink: Sink, stop: Stop) -> Task {
        on_thread(SOURCE, sink, move |sink| self.run_blocking(&sink, &stop))
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

/// Boot time from `btime` in `<proc_root>/stat`.
fn boot_time(proc_root: &Path) -> Result<Timestamp, String> {
    let path = proc_root.join("stat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<i64>().ok())
        .map(|secs| Timestamp::from_unix_nanos(secs.saturating_mul(1_000_000_000)))
        .ok_or_else(|| format!("{}: no btime line", path.display()))
}

/// Turns kmsg lines into events.
#[derive(Debug)]
struct Records {
    boot: Option<Timestamp>,
    max: usize,
    /// The last record, waiting for its continuation lines.
    pending: Option<Event>,
    last_oom_pid: Option<String>,
}

impl Records {
    fn new(boot: Option<Timestamp>, max: usize) -> Self {
        Self {
            boot,
            max,
            pending: None,
            last_oom_pid: None,
        }
    }

    fn line(&mut self, raw: &[u8], out: &mut Chunker) {
        if let Some(dict) = raw.strip_prefix(b" ") {
            if let Some(event) = &mut self.pending {
                add_dict_field(event, &clean(dict, 256));
            }
            return;
        }
        self.end_of_read(out);
        match parse(raw, self.boot, self.max) {
            Some(mut event) => {
                self.dedupe_oom(&mut event);
                self.pending = Some(event);
            }
            None if raw.is_empty() => {}
            None => out.problem(
                SOURCE,
                format!("not a kernel log record: {:?}", clean(raw, 80)),
            ),
        }
    }

    /// A read ends a record on the device: hand over the one waiting.
    fn end_of_read(&mut self, out: &mut Chunker) {
        if let Some(event) = self.pending.take() {
            out.event(event);
        }
    }

    fn dedupe_oom(&mut self, event: &mut Event) {
        if event.kind != EventKind::OomKill {
            return;
        }
        let pid = event.fields.get("pid").cloned();
        if pid.is_some() && pid == self.last_oom_pid {
            event.kind = EventKind::Log; // the same kill, told a second time
        } else {
            self.last_oom_pid = pid;
        }
    }
}

fn add_dict_field(event: &mut Event, kv: &str) {
    let Some((key, value)) = kv.split_once('=') else {
        return;
    };
    let key = match key {
        "SUBSYSTEM" => "subsystem",
        "DEVICE" => "device",
        _ => return,
    };
    event
        .fields
        .entry(key.to_owned())
        .or_insert_with(|| value.to_owned());
}

/// Parses `priority,seq,usec,flags[,…];message` into an event.
fn parse(raw: &[u8], boot: Option<Timestamp>, max: usize) -> Option<Event> {
    let split = raw.iter().position(|&b| b == b';')?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut parts = head.split(',');
    let priority: u32 = parts.next()?.parse().ok()?;
    let _seq: u64 = parts.next()?.parse().ok()?;
    let usec: i64 = parts.next()?.parse().ok()?;
    let message = clean(&raw[split + 1..], max);
    let ts = boot.map_or_else(Timestamp::now, |b| b.add_nanos(usec.saturating_mul(1_000)));
    #[allow(clippy::cast_possible_truncation)] // masked to 0..=7
    let mut level = Level::from_syslog((priority & 7) as u8);
    let mut kind = EventKind::Log;
    let mut fields = Vec::new();
    if let Some(r) = kernel::recognise(&message) {
        (kind, level, fields) = (r.kind, r.level, r.fields);
    }
    let mut event = Event::new(ts, "kmsg", kind, level, message);
    for (k, v) in fields {
        event = event.with(k, v);
    }
    Some(event)
}

#[cfg(test)]
mod tests;
