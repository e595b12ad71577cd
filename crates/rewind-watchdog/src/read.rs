//! The reading side, for `rewind watchdog list|download|history`: pure
//! functions over a watchdog directory (and, for liveness, `/proc`).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use rewind_model::Timestamp;
use serde::Serialize;

use crate::{
    Error, Result,
    capture::Manifest,
    clock::since,
    history::{HISTORY_FILE, Row, load},
    rotate,
    thresholds::read::start_ticks,
};

/// Unclean ends that make a crash loop …
pub const CRASH_LOOP_ENDS: usize = 3;
/// … within this window.
pub const CRASH_LOOP_WITHIN: Duration = Duration::from_secs(600);

/// One capture directory.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureInfo {
    /// `<kind>/<name>`.
    pub id: String,
    /// `rss`, `fds`, …, `baseline`, `contention`, `crash`.
    pub kind: String,
    /// The directory.
    pub path: PathBuf,
    /// Its manifest (`None` when unreadable: see `problem`).
    pub manifest: Option<Manifest>,
    /// Why the manifest could not be read.
    pub problem: Option<String>,
    /// Total size of its files.
    pub bytes: u64,
}

/// Every capture under `<dir>/captures`, oldest first (by name, which is
/// the time), kinds in name order for equal times.
///
/// # Errors
/// [`Error::Io`] when `captures/` exists but cannot be listed.
pub fn list_captures(dir: &Path) -> Result<Vec<CaptureInfo>> {
    let root = dir.join("captures");
    let mut out = Vec::new();
    for kind in rotate::captures(&root).map_err(|e| Error::io("list", &root, e))? {
        let kind_dir = root.join(&kind);
        for name in rotate::captures(&kind_dir).map_err(|e| Error::io("list", &kind_dir, e))? {
            out.push(info(&kind, &name, kind_dir.join(&name)));
        }
    }
    out.sort_by(|a, b| (name_of(&a.id), &a.kind).cmp(&(name_of(&b.id), &b.kind)));
    Ok(out)
}

fn name_of(id: &str) -> &str {
    id.split_once('/').map_or(id, |(_, n)| n)
}

fn info(kind: &str, name: &str, path: PathBuf) -> CaptureInfo {
    let (manifest, problem) = match Manifest::read(&path) {
        Ok(m) => (Some(m), None),
        Err(e) => (None, Some(e.to_string())),
    };
    CaptureInfo {
        id: format!("{kind}/{name}"),
        kind: kind.to_owned(),
        bytes: size(&path),
        path,
        manifest,
        problem,
    }
}

fn size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => todo.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The capture `id` (`<kind>/<name>`), for `download`.
///
/// # Errors
/// [`Error::NoSuchCapture`] when there is none (ids with `..` or more
/// than one `/` never match).
pub fn find_capture(dir: &Path, id: &str) -> Result<CaptureInfo> {
    let missing = || Error::NoSuchCapture {
        id: id.to_owned(),
        dir: dir.to_owned(),
    };
    let (kind, name) = id.split_once('/').ok_or_else(missing)?;
    let plain = |s: &str| !s.is_empty() && !s.starts_with('.') && !s.contains(['/', '\\']);
    if !plain(kind) || !plain(name) {
        return Err(missing());
    }
    let path = dir.join("captures").join(kind).join(name);
    if !path.is_dir() {
        return Err(missing());
    }
    Ok(info(kind, name, path))
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "end", rename_all = "snake_case")]
pub enum RunEnd {
    /// A `stop` row: shut down or dropped.
    Clean {
        /// When.
        at: Timestamp,
        /// `shutdown` or `drop`.
        reason: String,
    },
    /// A panic and no clean stop after it.
    Crashed {
        /// When it panicked.
        at: Timestamp,
        /// The panic message.
        message: String,
        /// The crash artefact, `crash/<name>`.
        capture: Option<String>,
    },
    /// No stop and no panic, and the process is gone: SIGKILL, the OOM
    /// killer, an abort, power loss.
    Killed,
    /// No stop yet and the process (same pid, same start time) is alive.
    Running,
}

impl RunEnd {
    /// Crashed or killed.
    #[must_use]
    pub fn is_unclean(&self) -> bool {
        matches!(self, Self::Crashed { .. } | Self::Killed)
    }
}

/// One run of a watched program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// `<pid>-<start ms>`.
    pub run: String,
    /// The process.
    pub pid: u32,
    /// The host name.
    pub host: String,
    /// The program's version.
    pub version: String,
    /// When the watchdog was installed.
    pub started_at: Timestamp,
    /// How it ended.
    pub end: RunEnd,
    /// Panics during the run (a clean run can have caught panics).
    pub panics: usize,
    /// This run's unclean end is one of at least [`CRASH_LOOP_ENDS`]
    /// within [`CRASH_LOOP_WITHIN`].
    pub in_crash_loop: bool,
}

/// The runs of `<dir>/history.jsonl`, oldest first, with liveness read
/// from `/proc`.
///
/// # Errors
/// [`Error::Io`] when the file exists but cannot be read.
pub fn read_history(dir: &Path) -> Result<Vec<Run>> {
    read_history_at(dir, Path::new("/proc"))
}

/// [`read_history`] with liveness read from `proc_root`.
///
/// # Errors
/// As [`read_history`].
pub fn read_history_at(dir: &Path, proc_root: &Path) -> Result<Vec<Run>> {
    let path = dir.join(HISTORY_FILE);
    let rows = load(&path).map_err(|e| Error::io("read", &path, e))?;
    let mut runs: Vec<(Run, Option<u64>)> = Vec::new();
    for row in rows {
        match row {
            Row::Start {
                run,
                at,
                pid,
                host,
                version,
                start_ticks,
            } => runs.push((
                Run {
                    run,
                    pid,
                    host,
                    version,
                    started_at: at,
                    end: RunEnd::Killed,
                    panics: 0,
                    in_crash_loop: false,
                },
                start_ticks,
            )),
            Row::Panic {
                run,
                at,
                message,
                capture,
                ..
            } => {
                if let Some((r, _)) = runs.iter_mut().rev().find(|(r, _)| r.run == run) {
                    r.panics += 1;
                    if !matches!(r.end, RunEnd::Clean { .. }) {
                        r.end = RunEnd::Crashed {
                            at,
                            message,
                            capture,
                        };
                    }
                }
            }
            Row::Stop { run, at, reason } => {
                if let Some((r, _)) = runs.iter_mut().rev().find(|(r, _)| r.run == run) {
                    r.end = RunEnd::Clean { at, reason };
                }
            }
        }
    }
    let mut out: Vec<Run> = runs
        .into_iter()
        .map(|(mut r, ticks)| {
            if r.end == RunEnd::Killed && alive(proc_root, r.pid, ticks) {
                r.end = RunEnd::Running;
            }
            r
        })
        .collect();
    mark_crash_loops(&mut out);
    Ok(out)
}

fn alive(proc_root: &Path, pid: u32, ticks: Option<u64>) -> bool {
    match (start_ticks(proc_root, &pid.to_string()), ticks) {
        (Some(now), Some(then)) => now == then,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// When an unclean run ended, as well as the history knows: its panic, or
/// the next start on the same host, or its own start.
fn end_time(runs: &[Run], i: usize) -> Timestamp {
    let r = &runs[i];
    match &r.end {
        RunEnd::Crashed { at, .. } => *at,
        _ => runs[i + 1..]
            .iter()
            .find(|n| n.host == r.host)
            .map_or(r.started_at, |n| n.started_at),
    }
}

fn mark_crash_loops(runs: &mut [Run]) {
    let unclean: Vec<(usize, Timestamp)> = (0..runs.len())
        .filter(|i| runs[*i].end.is_unclean())
        .map(|i| (i, end_time(runs, i)))
        .collect();
    let mut marked = vec![false; runs.len()];
    for w in unclean.windows(CRASH_LOOP_ENDS) {
        let (first, last) = (w[0].1, w[CRASH_LOOP_ENDS - 1].1);
        if since(last, first) <= CRASH_LOOP_WITHIN {
            for (i, _) in w {
                marked[*i] = true;
            }
        }
    }
    for (r, m) in runs.iter_mut().zip(marked) {
        r.in_crash_loop = m;
    }
}

/// One crash loop: at least [`CRASH_LOOP_ENDS`] unclean ends, each within
/// [`CRASH_LOOP_WITHIN`] of the loop's others' window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrashLoop {
    /// The runs' ids, oldest first.
    pub runs: Vec<String>,
    /// The first unclean end.
    pub from: Timestamp,
    /// The last unclean end.
    pub to: Timestamp,
}

/// The crash loops of `runs` (as marked by [`read_history`]), oldest first:
/// runs in a loop whose ends are more than [`CRASH_LOOP_WITHIN`] apart
/// start a new loop.
#[must_use]
pub fn crash_loops(runs: &[Run]) -> Vec<CrashLoop> {
    let mut out: Vec<CrashLoop> = Vec::new();
    for (i, r) in runs.iter().enumerate().filter(|(_, r)| r.in_crash_loop) {
        let at = end_time(runs, i);
        match out.last_mut() {
            Some(l) if since(at, l.to) <= CRASH_LOOP_WITHIN => {
                l.runs.push(r.run.clone());
                l.to = at;
            }
            _ => out.push(CrashLoop {
                runs: vec![r.run.clone()],
                from: at,
                to: at,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests;
