//! The startup history: `<dir>/history.jsonl`, one JSON object per line,
//! appended and fsynced one row at a time.
//!
//! ```text
//! {"row":"start","run":"4242-1795000000123","at":"…","pid":4242,"host":"svc-1","version":"1.4.0","start_ticks":81234}
//! {"row":"panic","run":"4242-1795000000123","at":"…","message":"index out of bounds","location":"src/main.rs:10:5","thread":"main","capture":"crash/20261123T100000.123Z"}
//! {"row":"stop","run":"4242-1795000000123","at":"…","reason":"shutdown"}
//! ```
//!
//! - `start` is written by `install()`; `stop` by
//!   [`Watchdog::shutdown`](crate::Watchdog::shutdown) (`shutdown`) or by
//!   dropping the watchdog (`drop`), but not while the thread is panicking.
//! - `panic` is written by the panic hook, for every panic (a caught panic
//!   in a worker thread too); a run whose last row is a panic crashed.
//! - A run with no `stop` was killed (SIGKILL, the OOM killer, power loss)
//!   or is still running: [`read_history`](crate::read_history) tells the
//!   two apart by the pid and its start time (`start_ticks`).
//! - Lines that do not parse (a torn last line) are skipped. The file is
//!   compacted at start when it holds more than twice `keep_runs` runs:
//!   rewritten without the oldest runs to a temporary file, fsynced and
//!   renamed.

use std::{
    fs,
    io::{Read as _, Write as _},
    path::{Path, PathBuf},
};

use rewind_model::Timestamp;
use serde::{Deserialize, Serialize};

/// The file name in the watchdog directory.
pub const HISTORY_FILE: &str = "history.jsonl";

/// The most of the file read (its tail when it is longer).
pub(crate) const MAX_READ: u64 = 8 * 1024 * 1024;

/// One line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "snake_case")]
pub enum Row {
    /// A watchdog was installed.
    Start {
        /// `<pid>-<start in Unix ms>`.
        run: String,
        /// When.
        at: Timestamp,
        /// The process.
        pid: u32,
        /// The host name.
        host: String,
        /// The program's version.
        version: String,
        /// The process start time in clock ticks after boot (`/proc/<pid>/stat` field 22).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_ticks: Option<u64>,
    },
    /// The program panicked.
    Panic {
        /// The run.
        run: String,
        /// When.
        at: Timestamp,
        /// The panic message.
        message: String,
        /// `file:line:column`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
        /// The panicking thread's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<String>,
        /// The crash artefact's id (`crash/<name>`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        capture: Option<String>,
    },
    /// The watchdog was shut down.
    Stop {
        /// The run.
        run: String,
        /// When.
        at: Timestamp,
        /// `shutdown` or `drop`.
        reason: String,
    },
}

impl Row {
    /// The run the row belongs to.
    #[must_use]
    pub fn run(&self) -> &str {
        match self {
            Self::Start { run, .. } | Self::Panic { run, .. } | Self::Stop { run, .. } => run,
        }
    }
}

/// Appends rows of one run.
#[derive(Debug, Clone)]
pub(crate) struct HistoryWriter {
    path: PathBuf,
    pub(crate) run: String,
}

impl HistoryWriter {
    /// Compacts the file if needed and returns a writer for `run`.
    pub(crate) fn open(dir: &Path, run: String, keep_runs: usize) -> std::io::Result<Self> {
        let path = dir.join(HISTORY_FILE);
        compact(&path, keep_runs)?;
        Ok(Self { path, run })
    }

    /// Appends one row and fsyncs it.
    pub(crate) fn append(&self, row: &Row) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(row).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(&line)?;
        file.sync_data()
    }
}

/// The rows of the file (its last [`MAX_READ`] bytes), torn lines skipped.
pub(crate) fn load(path: &Path) -> std::io::Result<Vec<Row>> {
    use std::io::Seek as _;
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let skip_first = len > MAX_READ;
    if skip_first {
        file.seek(std::io::SeekFrom::Start(len - MAX_READ))?;
    }
    let mut bytes = Vec::new();
    file.take(MAX_READ).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text
        .lines()
        .skip(usize::from(skip_first))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

fn compact(path: &Path, keep_runs: usize) -> std::io::Result<()> {
    let rows = load(path)?;
    let starts: Vec<&str> = rows
        .iter()
        .filter(|r| matches!(r, Row::Start { .. }))
        .map(Row::run)
        .collect();
    if starts.len() <= keep_runs.saturating_mul(2) {
        return Ok(());
    }
    let kept: std::collections::BTreeSet<&str> =
        starts[starts.len() - keep_runs..].iter().copied().collect();
    let mut text = Vec::new();
    for row in rows.iter().filter(|r| kept.contains(r.run())) {
        text.extend(serde_json::to_vec(row).map_err(std::io::Error::other)?);
        text.push(b'\n');
    }
    crate::atomic::write_file(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(run: &str) -> Row {
        Row::Start {
            run: run.into(),
            at: Timestamp::from_unix_millis(1),
            pid: 1,
            host: "h".into(),
            version: "v".into(),
            start_ticks: None,
        }
    }

    #[test]
    fn rows_round_trip_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let w = HistoryWriter::open(dir.path(), "1-1".into(), 10).unwrap();
        w.append(&start("1-1")).unwrap();
        fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(HISTORY_FILE))
            .unwrap()
            .write_all(b"{\"row\":\"stop\",\"ru")
            .unwrap();
        let rows = load(&dir.path().join(HISTORY_FILE)).unwrap();
        assert_eq!(rows, [start("1-1")]);
        let text = fs::read_to_string(dir.path().join(HISTORY_FILE)).unwrap();
        assert!(text.starts_with(r#"{"row":"start","run":"1-1""#), "{text}");
    }

    #[test]
    fn the_file_is_compacted_to_the_last_runs() {
        let dir = tempfile::tempdir().unwrap();
        let w = HistoryWriter::open(dir.path(), "x".into(), 3).unwrap();
        for i in 0..7 {
            w.append(&start(&format!("r{i}"))).unwrap();
        }
        HistoryWriter::open(dir.path(), "y".into(), 3).unwrap();
        let rows = load(&dir.path().join(HISTORY_FILE)).unwrap();
        let runs: Vec<_> = rows.iter().map(Row::run).collect();
        assert_eq!(runs, ["r4", "r5", "r6"]);
    }
}
