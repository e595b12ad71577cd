//! The agent's startup history on disk: every start, every clean stop, and
//! what happened to watched processes; a start never closed is a crash.
//!
//! # Layout
//!
//! `<state-dir>/history.jsonl`, one JSON object per line, appended and
//! fsynced one line at a time:
//!
//! ```text
//! {"row":"start","run":7,"at":"2026-11-23T10:00:00Z","pid":4242,"host":"robot-7","device":"robot-7","version":"0.1.0"}
//! {"row":"process","run":7,"at":"…","process":"planner","event":"restarted","message":"…","fields":{"old_pid":"101","new_pid":"150"}}
//! {"row":"stop","run":7,"at":"2026-11-23T11:00:00Z","reason":"shutdown"}
//! ```
//!
//! - `run` numbers the agent's runs: one more than the largest in the file.
//! - `stop.reason` is `shutdown` (SIGINT/SIGTERM, or the embedding program
//!   asked), `cancelled` (the embedding program dropped the agent, e.g. the
//!   demo ending) or `panic`; a `panic` stop counts as a crash.
//! - `process` rows record the processes collector's `process_missing` and
//!   `process_restarted` events (`fields` as in the event).
//!
//! # Crashes
//!
//! At start, the agent reads the file. If the latest run has no `stop` row it
//! ended without a clean stop (a crash, `kill -9`, an OOM kill, power loss):
//! the agent logs a WARN and feeds the event `agent_crash` (source `agent`,
//! level `error`, kind `custom:agent_crash`, message "the previous agent
//! run … ended without a clean stop") to its rules, so a `log_match` rule
//! with `source: agent` can capture it. If that run's pid is alive and runs
//! the same program, another agent is using the state directory: that is
//! logged instead, and nothing is emitted.
//!
//! # Recovery and bounds
//!
//! - A line that does not parse (a crash mid-append tears the last line) is
//!   skipped when reading; the next start rewrites the file without it.
//! - The file keeps the rows of the last `keep_runs` runs and the last
//!   `keep_process_events` process rows. It is compacted at start and
//!   whenever it holds twice that many rows: rewritten to
//!   `.history.jsonl.tmp`, fsynced, renamed over the original, and the
//!   directory fsynced, so a crash leaves the old file or the new one.
//! - Writes go through a dedicated thread with a bounded queue: the hub
//!   never waits on a disk; a row that does not fit is dropped and counted.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    thread::JoinHandle,
};

use rewind_model::{Event, EventKind, Level, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{
    AgentConfig,
    collect::{Batch, Sink},
};

mod file;
mod view;

use self::file::{Message, Writer, append, compact, load, open_append, rewrite};
pub use view::{HistoryView, ProcessRow, RunRow, RunStatus, read_history};

/// The file name in the state directory.
pub const FILE_NAME: &str = "history.jsonl";

/// `history` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// Agent runs (start and stop rows) kept in `<state_dir>/history.jsonl`.
    pub keep_runs: usize,
    /// Watched-process events (missing, restarted) kept in the same file.
    pub keep_process_events: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            keep_runs: 100,
            keep_process_events: 500,
        }
    }
}

impl HistoryConfig {
    /// Problems that make these settings unusable, as sentences.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        if self.keep_runs == 0 {
            vec!["history.keep_runs must be at least 1".to_owned()]
        } else {
            Vec::new()
        }
    }

    fn max_rows(&self) -> usize {
        self.keep_runs
            .saturating_mul(2)
            .saturating_add(self.keep_process_events)
    }
}

/// One line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "snake_case")]
pub enum Row {
    /// The agent started.
    Start {
        /// The run's number.
        run: u64,
        /// When.
        at: Timestamp,
        /// The agent's process id.
        pid: u32,
        /// The machine's host name.
        host: String,
        /// The device id the agent reports as.
        device: String,
        /// The agent's version.
        version: String,
    },
    /// The run ended.
    Stop {
        /// The run's number.
        run: u64,
        /// When.
        at: Timestamp,
        /// `shutdown`, `cancelled` or `panic`.
        reason: String,
    },
    /// A watched process went missing or restarted.
    Process {
        /// The agent run that saw it.
        run: u64,
        /// When.
        at: Timestamp,
        /// The watch entry's name.
        process: String,
        /// `missing` or `restarted`.
        event: String,
        /// The event's sentence.
        message: String,
        /// The event's fields (`pid`, `old_pid`, `new_pid`, …).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        fields: BTreeMap<String, String>,
    },
}

impl Row {
    /// The run the row belongs to.
    #[must_use]
    pub fn run(&self) -> u64 {
        match self {
            Self::Start { run, .. } | Self::Stop { run, .. } | Self::Process { run, .. } => *run,
        }
    }

    /// When it happened.
    #[must_use]
    pub fn at(&self) -> Timestamp {
        match self {
            Self::Start { at, .. } | Self::Stop { at, .. } | Self::Process { at, .. } => *at,
        }
    }
}

/// How the run before this one ended, as found at start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Previous {
    /// No earlier run, or it stopped cleanly.
    Clean,
    /// It ended without a clean stop.
    Crashed(RunRow),
    /// Its process is still alive: another agent uses this state directory.
    StillRunning(RunRow),
}

impl Previous {
    /// The `agent_crash` event for a crashed previous run.
    pub(crate) fn crash_event(&self, now: Timestamp) -> Option<Event> {
        let Self::Crashed(run) = self else {
            return None;
        };
        let message = format!(
            "the previous agent run #{} (pid {}, started {}) ended without a clean stop",
            run.run, run.pid, run.started
        );
        let event = Event::new(
            now,
            "agent",
            EventKind::Custom("agent_crash".into()),
            Level::Error,
            message,
        );
        Some(
            event
                .with("run", run.run.to_string())
                .with("pid", run.pid.to_string())
                .with("started", run.started.to_string()),
        )
    }
}

/// Opens the history of an agent run: logs how the previous run ended and,
/// after a crash, hands the `agent_crash` event to the hub through `sink`.
/// When the file cannot be used the agent runs on without it (WARN).
pub(crate) async fn open(config: &AgentConfig, sink: &Sink) -> Option<History> {
    let state_dir = config.state_dir.clone();
    let settings = config.history.clone();
    let who = Starting {
        host: hostname(),
        device: config.device_id.to_string(),
    };
    let now = Timestamp::now();
    let started =
        tokio::task::spawn_blocking(move || History::start(&state_dir, &settings, who, now)).await;
    let (history, previous) = match started {
        Ok(Ok(opened)) => opened,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "cannot open the agent history; running without it");
            return None;
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot open the agent history; running without it");
            return None;
        }
    };
    match &previous {
        Previous::Crashed(run) => tracing::warn!(
            run = run.run,
            pid = run.pid,
            started = %run.started,
            last_seen = %run.last_seen,
            "the previous agent run ended without a clean stop (a crash, kill -9, an OOM kill or power loss)"
        ),
        Previous::StillRunning(run) => tracing::warn!(
            run = run.run,
            pid = run.pid,
            "another agent seems to run with this state directory; give each agent its own"
        ),
        Previous::Clean => {}
    }
    tracing::debug!(run = history.run(), "agent history opened");
    if let Some(event) = previous.crash_event(now) {
        let mut batch = Batch::new(now);
        batch.event(event);
        sink.send(batch);
    }
    Some(history)
}

/// The kernel's host name, or empty.
fn hostname() -> String {
    fs_err::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Who is starting: the fields of the `start` row.
#[derive(Debug, Clone)]
pub(crate) struct Starting {
    pub host: String,
    pub device: String,
}

/// Rows waiting for the writer thread; beyond this, process rows are dropped.
const QUEUE: usize = 256;

/// The open history of this run: a writer thread appending rows.
#[derive(Debug)]
pub(crate) struct History {
    run: u64,
    tx: Option<mpsc::SyncSender<Message>>,
    thread: Option<JoinHandle<()>>,
    dropped: Arc<AtomicU64>,
}

/// Appends the rows of watched-process events; cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    run: u64,
    tx: mpsc::SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

impl History {
    /// Reads the history in `state_dir`, compacts it if needed, appends this
    /// run's `start` row and starts the writer thread. Blocking.
    pub(crate) fn start(
        state_dir: &Path,
        config: &HistoryConfig,
        who: Starting,
        now: Timestamp,
    ) -> std::io::Result<(Self, Previous)> {
        let path = state_dir.join(FILE_NAME);
        let loaded = load(&path)?;
        let run = loaded.rows.iter().map(Row::run).max().unwrap_or(0) + 1;
        let previous = previous(&loaded.rows, now);
        let mut rows = loaded.rows;
        let start = Row::Start {
            run,
            at: now,
            pid: std::process::id(),
            host: who.host,
            device: who.device,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        if loaded.bad_lines > 0 || loaded.torn || rows.len() >= config.max_rows() {
            rows.push(start);
            let kept = compact(rows, config);
            rewrite(&path, &kept)?;
            rows = kept;
        } else {
            append(&mut open_append(&path)?, &start)?;
            rows.push(start);
        }
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let writer = Writer {
            path,
            config: config.clone(),
            rows: rows.len(),
        };
        let thread = std::thread::Builder::new()
            .name("rewind-history".into())
            .spawn(move || writer.run(&rx))?;
        let history = Self {
            run,
            tx: Some(tx),
            thread: Some(thread),
            dropped: Arc::default(),
        };
        Ok((history, previous))
    }

    /// This run's number.
    pub(crate) fn run(&self) -> u64 {
        self.run
    }

    /// A handle for the hub.
    pub(crate) fn recorder(&self) -> Option<Recorder> {
        Some(Recorder {
            run: self.run,
            tx: self.tx.clone()?,
            dropped: Arc::clone(&self.dropped),
        })
    }

    /// Closes this run with `reason` and waits for the rows to be on disk.
    /// Blocking.
    pub(crate) fn stop(mut self, reason: &str) {
        self.close(reason);
    }

    fn close(&mut self, reason: &str) {
        let Some(tx) = self.tx.take() else { return };
        let stop = Row::Stop {
            run: self.run,
            at: Timestamp::now(),
            reason: reason.to_owned(),
        };
        // Blocking sends: the stop row must not be dropped. The writer ends
        // at `Close`, whoever still holds a recorder.
        tx.send(Message::Row(stop)).ok();
        tx.send(Message::Close).ok();
        drop(tx);
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                rows = dropped,
                "history rows were dropped: the disk was too slow"
            );
        }
    }
}

impl Drop for History {
    /// A run dropped without [`History::stop`]: the embedding program
    /// dropped the agent, or a panic unwinds through it.
    fn drop(&mut self) {
        let reason = if std::thread::panicking() {
            "panic"
        } else {
            "cancelled"
        };
        self.close(reason);
    }
}

impl Recorder {
    /// Records `event` if it is a watched process going missing or restarting.
    pub(crate) fn event(&self, event: &Event) {
        let kind = match event.kind {
            EventKind::ProcessMissing => "missing",
            EventKind::ProcessRestarted => "restarted",
            _ => return,
        };
        let mut fields = event.fields.clone();
        let process = fields.remove("process").unwrap_or_default();
        let row = Row::Process {
            run: self.run,
            at: event.ts,
            process,
            event: kind.to_owned(),
            message: event.message.clone(),
            fields,
        };
        if self.tx.try_send(Message::Row(row)).is_err()
            && self.dropped.fetch_add(1, Ordering::Relaxed) == 0
        {
            tracing::warn!("history queue full: a process event was not recorded");
        }
    }
}

/// How the latest run in `rows` ended.
fn previous(rows: &[Row], now: Timestamp) -> Previous {
    let runs = view::runs(rows, now, &|_| false);
    let Some(last) = runs.into_iter().next() else {
        return Previous::Clean;
    };
    match (last.status, last.stopped) {
        (RunStatus::Stopped | RunStatus::Running, _) => Previous::Clean,
        (RunStatus::Crashed, Some(_)) => Previous::Crashed(last), // stopped on a panic
        (RunStatus::Crashed, None)
            if last.pid != std::process::id() && view::same_program_alive(last.pid) =>
        {
            Previous::StillRunning(last)
        }
        (RunStatus::Crashed, None) => Previous::Crashed(last),
    }
}

#[cfg(test)]
mod tests;
