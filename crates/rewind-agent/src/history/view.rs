//! Reading the history back for people: runs with their status and uptime,
//! and the watched processes' events (`rewind agent history`).

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use rewind_model::Timestamp;
use serde::Serialize;

use super::{FILE_NAME, Row, load};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// No stop row, and its process is alive and runs the same program.
    Running,
    /// Stopped cleanly.
    Stopped,
    /// No stop row and its process is gone, or it stopped on a panic.
    Crashed,
}

impl RunStatus {
    /// The lowercase name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Crashed => "crashed",
        }
    }
}

/// One agent run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    /// The run's number.
    pub run: u64,
    /// Running, stopped or crashed.
    pub status: RunStatus,
    /// When it started.
    pub started: Timestamp,
    /// When it stopped, if it did.
    pub stopped: Option<Timestamp>,
    /// Why it stopped (`shutdown`, `cancelled`, `panic`), if it did.
    pub reason: Option<String>,
    /// Seconds from start to stop, or to now while running; unknown for a crash.
    pub uptime_secs: Option<f64>,
    /// The latest time anything was recorded for this run.
    pub last_seen: Timestamp,
    /// The agent's process id.
    pub pid: u32,
    /// The host name.
    pub host: String,
    /// The device id.
    pub device: String,
    /// The agent's version.
    pub version: String,
}

/// One watched-process event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessRow {
    /// The agent run that saw it.
    pub run: u64,
    /// When.
    pub at: Timestamp,
    /// The watch entry's name.
    pub process: String,
    /// `missing` or `restarted`.
    pub event: String,
    /// The event's sentence.
    pub message: String,
    /// `pid`, `old_pid`, `new_pid`, ….
    pub fields: BTreeMap<String, String>,
}

/// The history file, read back.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryView {
    /// The file.
    pub path: PathBuf,
    /// Runs, newest first.
    pub runs: Vec<RunRow>,
    /// Watched-process events, newest first.
    pub processes: Vec<ProcessRow>,
    /// Lines that could not be read (a line torn by a crash).
    pub unreadable_lines: usize,
}

/// Reads `<state_dir>/history.jsonl` as of `now`; a missing file is an empty history.
///
/// # Errors
/// When the file exists but cannot be read.
pub fn read_history(state_dir: &Path, now: Timestamp) -> std::io::Result<HistoryView> {
    let path = state_dir.join(FILE_NAME);
    let loaded = load(&path)?;
    let runs = runs(&loaded.rows, now, &same_program_alive);
    let mut processes: Vec<ProcessRow> = loaded
        .rows
        .into_iter()
        .filter_map(|row| match row {
            Row::Process {
                run,
                at,
                process,
                event,
                message,
                fields,
            } => Some(ProcessRow {
                run,
                at,
                process,
                event,
                message,
                fields,
            }),
            _ => None,
        })
        .collect();
    processes.reverse();
    Ok(HistoryView {
        path,
        runs,
        processes,
        unreadable_lines: loaded.bad_lines,
    })
}

/// The runs in `rows`, newest first; `alive(pid)` says whether a run with
/// no stop row is still running.
pub(crate) fn runs(rows: &[Row], now: Timestamp, alive: &dyn Fn(u32) -> bool) -> Vec<RunRow> {
    let mut by_run: HashMap<u64, RunRow> = HashMap::new();
    let mut last_seen: HashMap<u64, Timestamp> = HashMap::new();
    for row in rows {
        let seen = last_seen.entry(row.run()).or_insert(row.at());
        *seen = (*seen).max(row.at());
        match row {
            Row::Start {
                run,
                at,
                pid,
                host,
                device,
                version,
            } => {
                by_run.insert(
                    *run,
                    RunRow {
                        run: *run,
                        status: RunStatus::Crashed,
                        started: *at,
                        stopped: None,
                        reason: None,
                        uptime_secs: None,
                        last_seen: *at,
                        pid: *pid,
                        host: host.clone(),
                        device: device.clone(),
                        version: version.clone(),
                    },
                );
            }
            Row::Stop { run, at, reason } => {
                if let Some(r) = by_run.get_mut(run) {
                    r.stopped = Some(*at);
                    r.reason = Some(reason.clone());
                }
            }
            Row::Process { .. } => {}
        }
    }
    let mut runs: Vec<RunRow> = by_run.into_values().collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.run));
    for r in &mut runs {
        r.last_seen = last_seen.get(&r.run).copied().unwrap_or(r.started);
        (r.status, r.uptime_secs) = match (r.stopped, r.reason.as_deref()) {
            (Some(_), Some("panic")) => (RunStatus::Crashed, None),
            (Some(stop), _) => (RunStatus::Stopped, Some(secs(stop, r.started))),
            (None, _) if alive(r.pid) => (RunStatus::Running, Some(secs(now, r.started))),
            (None, _) => (RunStatus::Crashed, None),
        };
    }
    runs
}

#[allow(clippy::cast_precision_loss)] // uptimes are far below 2^52 ns... in seconds
fn secs(end: Timestamp, start: Timestamp) -> f64 {
    end.nanos_since(start).max(0) as f64 / 1e9
}

/// Whether `pid` is alive (not a zombie) and runs the same program as this
/// process (by `/proc/<pid>/comm`), so a pid reused by something else is not
/// taken for a running agent.
pub(crate) fn same_program_alive(pid: u32) -> bool {
    let comm = |p: &str| fs_err::read_to_string(format!("/proc/{p}/comm")).ok();
    let Ok(stat) = fs_err::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name in parentheses, which may hold anything.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    if matches!(state, None | Some('Z' | 'X' | 'x')) {
        return false;
    }
    match (comm(&pid.to_string()), comm("self")) {
        (Some(theirs), Some(ours)) => theirs == ours,
        _ => false,
    }
}
