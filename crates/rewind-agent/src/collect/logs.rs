//! Logs: text files, the systemd journal and the kernel log, as events.
//!
//! Three streams, each enabled separately:
//! - **`logs/files`** ([`files`]) tails the configured files. One event per
//!   line, `source` `file:<path>`, `kind` [`EventKind::Log`], level guessed
//!   from common markers (`ERROR`, `WARN`, `error:`, glog `E0123`, `[ERROR]`,
//!   syslog `<3>`, …; Info otherwise), `ts` the time the line was read.
//! - **`logs/journal`** ([`journal`]) follows `journalctl -o json -f`.
//!   `source` `journal`, level from `PRIORITY`, `ts` from
//!   `__REALTIME_TIMESTAMP`, fields `unit`, `pid`, `identifier`.
//! - **`logs/kmsg`** ([`kmsg`]) reads `/dev/kmsg`. `source` `kmsg`, level
//!   from the record's priority, `ts` from the record's time since boot.
//!   Kernel lines are recognised ([`kernel::recognise`]) into typed events:
//!   [`EventKind::OomKill`] (fields `pid`, `process`), [`EventKind::Thermal`]
//!   and [`EventKind::IoError`] (field `device` when named).
//!
//! No series are produced. Every message is cleaned the same way
//! ([`text::clean`]): invalid UTF-8 replaced, control characters other than
//! tab and ANSI colour codes removed, at most `max_line_bytes`. Events reach
//! the sink in batches of at most 256 (files: one batch per pass; journal and
//! kernel log: at least every 100 ms while lines arrive). Problems are
//! reported under `logs/file:<path>`, `logs/journal` and `logs/kmsg`.
//!
//! [`EventKind::Log`]: rewind_model::EventKind::Log
//! [`EventKind::OomKill`]: rewind_model::EventKind::OomKill
//! [`EventKind::Thermal`]: rewind_model::EventKind::Thermal
//! [`EventKind::IoError`]: rewind_model::EventKind::IoError

pub mod files;
pub mod journal;
pub mod kernel;
pub mod kmsg;
mod offsets;
mod tail;
pub mod text;

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicBool},
    time::{Duration, Instant},
};

use rewind_model::{Event, Timestamp};
use serde::Deserialize;

use super::{Batch, Sink, Stop, Stream};
use crate::config::duration;

/// `collectors.logs` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Log files to follow (rotation by rename and by copy-truncate is followed).
    /// A file is read from its end when first seen at start-up.
    pub files: Vec<PathBuf>,
    /// Whether the systemd journal is followed (through `journalctl`).
    pub journal: bool,
    /// Only these systemd units from the journal (`-u` for each); empty means all.
    pub journal_units: Vec<String>,
    /// The `journalctl` program to run (a path, or a name looked up in `PATH`).
    pub journalctl: PathBuf,
    /// Whether the kernel log is read.
    pub kmsg: bool,
    /// The kernel log device.
    pub kmsg_path: PathBuf,
    /// Root of the proc filesystem: `<proc_root>/stat`'s `btime` dates kernel records.
    pub proc_root: PathBuf,
    /// Where read positions of `files` are kept across restarts (JSON). Without
    /// it, every start reads the files from their end.
    pub offsets_file: Option<PathBuf>,
    /// Time between two looks at the files (and at an idle kernel log).
    #[serde(with = "duration")]
    pub poll_interval: Duration,
    /// Longest message kept, in bytes; longer lines are cut into pieces of this size.
    pub max_line_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            journal: false,
            journal_units: Vec::new(),
            journalctl: PathBuf::from("journalctl"),
            kmsg: true,
            kmsg_path: PathBuf::from("/dev/kmsg"),
            proc_root: PathBuf::from("/proc"),
            offsets_file: None,
            poll_interval: Duration::from_millis(250),
            max_line_bytes: 8192,
        }
    }
}

impl Config {
    /// The streams this section enables.
    #[must_use]
    pub fn streams(&self) -> Vec<Box<dyn Stream>> {
        let mut out: Vec<Box<dyn Stream>> = Vec::new();
        // Set by the kernel-log reader once it reads: the journal then leaves
        // typed kernel events to it, so an OOM kill is not counted twice.
        let kmsg_live = Arc::new(AtomicBool::new(false));
        if !self.files.is_empty() {
            out.push(Box::new(files::Files::new(self)));
        }
        if self.journal {
            out.push(Box::new(journal::Journal::new(self, kmsg_live.clone())));
        }
        if self.kmsg {
            out.push(Box::new(kmsg::Kmsg::new(self, kmsg_live)));
        }
        out
    }

    /// `max_line_bytes`, kept sane (at least 64 bytes, at most 1 MiB).
    fn line_cap(&self) -> usize {
        self.max_line_bytes.clamp(64, 1 << 20)
    }
}

/// Most events in one batch.
const CHUNK_EVENTS: usize = 256;
/// Longest time an event waits in a [`Chunker`] (where the caller checks [`Chunker::due`]).
const CHUNK_AGE: Duration = Duration::from_millis(100);

/// Gathers events into batches of at most [`CHUNK_EVENTS`] and sends them.
#[derive(Debug)]
struct Chunker {
    sink: Sink,
    batch: Batch,
    since: Option<Instant>,
}

impl Chunker {
    fn new(sink: Sink) -> Self {
        Self {
            sink,
            batch: Batch::new(Timestamp::now()),
            since: None,
        }
    }

    fn event(&mut self, event: Event) {
        self.since.get_or_insert_with(Instant::now);
        self.batch.event(event);
        if self.batch.events.len() >= CHUNK_EVENTS {
            self.flush();
        }
    }

    fn problem(&mut self, source: &str, error: impl ToString) {
        self.since.get_or_insert_with(Instant::now);
        self.batch.problem(source, error);
    }

    /// When the oldest waiting item must be sent (`None`: nothing waits).
    fn deadline(&self) -> Option<Instant> {
        self.since.map(|t| t + CHUNK_AGE)
    }

    fn due(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    fn flush(&mut self) {
        self.since = None;
        if self.batch.is_empty() {
            return;
        }
        let mut batch = std::mem::replace(&mut self.batch, Batch::new(Timestamp::now()));
        batch.ts = Timestamp::now();
        self.sink.send(batch);
    }
}

/// Runs `body` on a dedicated thread; the returned task ends when the thread does.
fn on_thread<F>(name: &'static str, sink: Sink, body: F) -> super::Task
where
    F: FnOnce(Sink) + Send + 'static,
{
    Box::pin(async move {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_sink = sink.clone();
        let spawned = std::thread::Builder::new()
            .name(name.replace('/', "-"))
            .spawn(move || {
                body(thread_sink);
                drop(done_tx);
            });
        match spawned {
            Ok(_) => {
                let _ = done_rx.await;
            }
            Err(err) => {
                let mut b = Batch::new(Timestamp::now());
                b.problem(name, format!("cannot start a thread: {err}"));
                sink.send(b);
            }
        }
    })
}

/// Sleeps `total` in short slices; returns `false` as soon as `stop` is raised.
fn nap(stop: &Stop, total: Duration) -> bool {
    let until = Instant::now() + total;
    while !stop.is_stopped() {
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
    false
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers to drive a stream in a test: time-bounded waits, never fixed sleeps.

    use std::time::{Duration, Instant};

    use rewind_model::Event;
    use tokio::sync::mpsc;

    use crate::collect::{Batch, Problem};

    /// Everything received so far.
    #[derive(Debug, Default)]
    pub struct Seen {
        pub events: Vec<Event>,
        pub problems: Vec<Problem>,
    }

    impl Seen {
        pub fn messages(&self) -> Vec<&str> {
            self.events.iter().map(|e| e.message.as_str()).collect()
        }
    }

    /// Receives until `done(seen)` holds or `limit` passes; returns what was seen.
    pub async fn until(
        rx: &mut mpsc::Receiver<Batch>,
        seen: &mut Seen,
        limit: Duration,
        done: impl Fn(&Seen) -> bool,
    ) -> bool {
        let deadline = Instant::now() + limit;
        while !done(seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some(b)) => {
                    seen.events.extend(b.events);
                    seen.problems.extend(b.problems);
                }
                Ok(None) | Err(_) => return done(seen),
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documentation() {
        let c = Config::default();
        assert!(c.files.is_empty() && !c.journal && c.kmsg);
        assert_eq!(c.kmsg_path, PathBuf::from("/dev/kmsg"));
        assert_eq!(c.poll_interval, Duration::from_millis(250));
        assert_eq!(c.max_line_bytes, 8192);
        assert_eq!(c.offsets_file, None);
        let names: Vec<_> = c.streams().iter().map(|s| s.name()).collect();
        assert_eq!(names, ["logs/kmsg"]);
    }

    #[test]
    fn the_config_section_parses_and_rejects_unknown_fields() {
        let yaml = "files: [/var/log/app.log]\njournal: true\njournal_units: [robot.service]\n\
                    kmsg: false\noffsets_file: /var/lib/rewind/log-offsets.json\npoll_interval: 100ms\n";
        let c: Config = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(c.files, [PathBuf::from("/var/log/app.log")]);
        assert_eq!(c.journal_units, ["robot.service"]);
        assert_eq!(c.poll_interval, Duration::from_millis(100));
        assert_eq!(
            c.offsets_file,
            Some(PathBuf::from("/var/lib/rewind/log-offsets.json"))
        );
        assert_eq!((c.journal, c.kmsg, c.max_line_bytes), (true, false, 8192));
        assert!(serde_saphyr::from_str::<Config>("kmesg: true\n").is_err());
    }

    #[test]
    fn every_stream_can_be_enabled() {
        let c = Config {
            files: vec!["/x".into()],
            journal: true,
            ..Config::default()
        };
        let names: Vec<_> = c.streams().iter().map(|s| s.name()).collect();
        assert_eq!(names, ["logs/files", "logs/journal", "logs/kmsg"]);
    }

    #[test]
    fn a_chunker_sends_at_most_256_events_per_batch() {
        let (sink, mut rx) = Sink::channel(16);
        let mut c = Chunker::new(sink);
        for i in 0..300 {
            c.event(Event::new(
                Timestamp::now(),
                "t",
                rewind_model::EventKind::Log,
                rewind_model::Level::Info,
                i.to_string(),
            ));
        }
        assert!(c.deadline().is_some(), "44 events wait for their batch");
        c.flush();
        assert_eq!(rx.try_recv().map(|b| b.events.len()).ok(), Some(256));
        assert_eq!(rx.try_recv().map(|b| b.events.len()).ok(), Some(44));
        assert!(c.deadline().is_none());
    }
}
