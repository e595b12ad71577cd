//! What one watch entry saw in one pass, turned into readings and events.

use std::{collections::HashMap, fmt::Write as _, path::Path};

use rewind_model::{Event, EventKind, Level, Timestamp};

use super::{
    read::{self, Fail},
    select::Target,
};
use crate::collect::Batch;

/// At most this many pids are written into an event field.
const PIDS_SHOWN: usize = 16;

/// One matching process, as read this pass.
#[derive(Debug, Clone, Copy)]
pub(super) struct Proc {
    pub(super) pid: u32,
    pub(super) stat: read::Stat,
    pub(super) rss_bytes: u64,
    /// `None` when `<pid>/fd/` could not be read.
    pub(super) fds: Option<u64>,
    /// `None` when unlimited or unreadable.
    pub(super) fd_limit: Option<u64>,
}

impl Proc {
    /// Reads the rest of a matching process. Files that fail for another
    /// reason than the process being gone leave a gap and an error message.
    pub(super) fn read(
        dir: &Path,
        pid: u32,
        stat: read::Stat,
    ) -> Result<(Self, Option<String>), Fail> {
        let mut error = None;
        let rss_bytes = partial(read::rss_bytes(dir), &mut error)?.unwrap_or(0);
        let fds = partial(read::fd_count(dir), &mut error)?;
        let fd_limit = partial(read::fd_limit(dir), &mut error)?.flatten();
        Ok((
            Self {
                pid,
                stat,
                rss_bytes,
                fds,
                fd_limit,
            },
            error,
        ))
    }
}

/// A value, or a gap whose reason goes into `error`; a gone process stays an error.
fn partial<T>(r: Result<T, Fail>, error: &mut Option<String>) -> Result<Option<T>, Fail> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Fail::Gone) => Err(Fail::Gone),
        Err(Fail::Other(e)) => {
            error.get_or_insert(e);
            Ok(None)
        }
    }
}

/// The processes of one entry this pass.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub(super) procs: Vec<Proc>,
    /// How many of them could be read only in part, and why the first one could not.
    partial: (usize, Option<String>),
}

impl Found {
    pub(super) fn add(&mut self, proc: Proc, error: Option<&str>) {
        self.procs.push(proc);
        if let Some(e) = error {
            self.partial.0 += 1;
            self.partial.1.get_or_insert_with(|| e.to_owned());
        }
    }
}

/// What every entry shares in a pass.
#[derive(Debug)]
pub(super) struct Pass {
    pub(super) ts: Timestamp,
    /// Seconds since the previous pass, if there was one.
    pub(super) elapsed: Option<f64>,
    pub(super) ticks_per_second: u64,
    /// `btime`, seconds since the epoch.
    pub(super) boot_time: Option<u64>,
}

/// What one entry saw in the previous pass.
#[derive(Debug, Default)]
pub(super) struct History {
    /// pid → (start time, cpu ticks).
    prev: HashMap<u32, (u64, u64)>,
    /// The pids last seen, while every process of the entry is missing.
    gone: Option<String>,
}

impl History {
    /// Readings and events for this pass; then remembers it.
    pub(super) fn report(&mut self, target: &Target, found: &Found, pass: &Pass, out: &mut Batch) {
        self.readings(target, found, pass, out);
        self.events(target, &found.procs, pass.ts, out);
        self.prev = found
            .procs
            .iter()
            .map(|p| (p.pid, (p.stat.start, p.stat.ticks)))
            .collect();
        if let (n, Some(first)) = &found.partial {
            out.problem(
                format!("processes/{}", target.name),
                format!("{n} processes read only in part, e.g. {first}"),
            );
        }
    }

    #[allow(clippy::cast_precision_loss)] // counts, ticks and bytes stay far below 2^52
    fn readings(&self, target: &Target, found: &Found, pass: &Pass, out: &mut Batch) {
        let (s, procs) = (&target.series, &found.procs);
        let sum = |f: fn(&Proc) -> u64| procs.iter().map(f).sum::<u64>() as f64;
        let in_state = |c: char| procs.iter().filter(|p| p.stat.state == c).count() as f64;
        out.reading(s.count.clone(), "count", procs.len() as f64);
        if let Some(pct) = self.cpu_pct(procs, pass) {
            out.reading(s.cpu_pct.clone(), "percent", pct);
        }
        out.reading(s.rss_bytes.clone(), "bytes", sum(|p| p.rss_bytes));
        out.reading(s.threads.clone(), "count", sum(|p| p.stat.threads));
        out.reading(s.state_running.clone(), "count", in_state('R'));
        out.reading(s.state_sleeping.clone(), "count", in_state('S'));
        out.reading(s.state_disk_wait.clone(), "count", in_state('D'));
        out.reading(s.state_zombie.clone(), "count", in_state('Z'));
        fd_readings(target, procs, out);
        uptime(target, procs, pass, out);
    }

    /// CPU share of processes seen in both passes (same pid and start time).
    #[allow(clippy::cast_precision_loss)] // tick deltas are far below 2^52
    fn cpu_pct(&self, procs: &[Proc], pass: &Pass) -> Option<f64> {
        let elapsed = pass.elapsed?;
        let ticks: u64 = procs
            .iter()
            .filter_map(|p| {
                let &(start, prev) = self.prev.get(&p.pid)?;
                (start == p.stat.start).then(|| p.stat.ticks.saturating_sub(prev))
            })
            .sum();
        Some(ticks as f64 / pass.ticks_per_second as f64 / elapsed * 100.0)
    }

    fn events(&mut self, target: &Target, procs: &[Proc], ts: Timestamp, out: &mut Batch) {
        let name = &target.name;
        let old = || pid_list(self.prev.keys().copied());
        if procs.is_empty() {
            if !self.prev.is_empty() {
                let pid = old();
                let message = format!("watched process {name} is gone (pid {pid})");
                let event = Event::new(
                    ts,
                    "process",
                    EventKind::ProcessMissing,
                    Level::Error,
                    message,
                );
                out.event(event.with("process", name).with("pid", &pid));
                self.gone = Some(pid);
            }
            return;
        }
        let survived = procs.iter().any(|p| {
            self.prev
                .get(&p.pid)
                .is_some_and(|&(start, _)| start == p.stat.start)
        });
        let old_pid = if self.prev.is_empty() {
            self.gone.take()
        } else {
            (!survived).then(old)
        };
        if let Some(old_pid) = old_pid {
            let new_pid = pid_list(procs.iter().map(|p| p.pid));
            let message = format!("watched process {name} restarted (pid {old_pid} -> {new_pid})");
            let event = Event::new(
                ts,
                "process",
                EventKind::ProcessRestarted,
                Level::Warning,
                message,
            );
            out.event(
                event
                    .with("process", name)
                    .with("old_pid", old_pid)
                    .with("new_pid", new_pid),
            );
        }
    }
}

/// `fds` (when every process's could be counted), `fd_limit` (when every
/// limit is known) and `fd_used_pct` (the fullest process).
#[allow(clippy::cast_precision_loss)] // descriptor counts stay far below 2^52
fn fd_readings(target: &Target, procs: &[Proc], out: &mut Batch) {
    let s = &target.series;
    let fds: Option<Vec<u64>> = procs.iter().map(|p| p.fds).collect();
    if let Some(fds) = fds {
        out.reading(s.fds.clone(), "count", fds.iter().sum::<u64>() as f64);
    }
    let limits: Option<Vec<u64>> = procs.iter().map(|p| p.fd_limit).collect();
    if let Some(limits) = limits.filter(|l| !l.is_empty()) {
        out.reading(
            s.fd_limit.clone(),
            "count",
            limits.iter().sum::<u64>() as f64,
        );
    }
    let used = procs
        .iter()
        .filter_map(|p| Some(p.fds? as f64 / p.fd_limit.filter(|l| *l > 0)? as f64 * 100.0));
    if let Some(pct) = used.reduce(f64::max) {
        out.reading(s.fd_used_pct.clone(), "percent", pct);
    }
}

/// Age of the oldest process: now minus boot time plus its start ticks.
#[allow(clippy::cast_precision_loss)] // boot time and ticks stay far below 2^52
fn uptime(target: &Target, procs: &[Proc], pass: &Pass, out: &mut Batch) {
    let (Some(boot), Some(oldest)) = (pass.boot_time, procs.iter().map(|p| p.stat.start).min())
    else {
        return;
    };
    let started = boot as f64 + oldest as f64 / pass.ticks_per_second as f64;
    let now = pass.ts.as_unix_nanos() as f64 / 1e9;
    out.reading(
        target.series.uptime_s.clone(),
        "seconds",
        (now - started).max(0.0),
    );
}

/// Sorted pids, comma-separated, at most [`PIDS_SHOWN`] of them.
fn pid_list(pids: impl Iterator<Item = u32>) -> String {
    let mut pids: Vec<u32> = pids.collect();
    pids.sort_unstable();
    let mut s = String::new();
    for (i, pid) in pids.iter().take(PIDS_SHOWN).enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(s, "{sep}{pid}");
    }
    if pids.len() > PIDS_SHOWN {
        let _ = write!(s, ",+{} more", pids.len() - PIDS_SHOWN);
    }
    s
}
