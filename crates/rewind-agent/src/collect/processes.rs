//! Watched processes: how each process (or group of processes) named in
//! `collectors.processes.watch` is doing, and when it vanishes or restarts.
//!
//! Each pass lists `<proc_root>` once (numeric directories only) and reads
//! `<pid>/comm` of every process (cheap). Only a process that matches a watch
//! entry has the rest read: `<pid>/stat`, `<pid>/status`, `<pid>/fd/` and
//! `<pid>/limits`. `cmdline` and `systemd_unit` selectors need
//! `<pid>/cmdline` or `<pid>/cgroup`; their verdict is cached per pid and
//! re-checked only when the pid's start time (pid reuse) or its `comm`
//! (an `exec`) changes, so those entries cost one `<pid>/stat` read per process
//! per pass. A process that vanishes between the listing and a read is
//! skipped silently.
//!
//! Series, per watch entry `<name>`, summed over every matching process:
//! - `process.<name>.count` (`count`): matching processes.
//! - `process.<name>.cpu_pct` (`percent`, 100 = one core): `utime + stime`
//!   ticks between two passes over the wall time between them (from the
//!   second pass on; a process seen once only is not counted yet).
//! - `process.<name>.rss_bytes` (`bytes`): `VmRSS` from `<pid>/status`.
//! - `process.<name>.threads` (`count`).
//! - `process.<name>.fds` (`count`): entries of `<pid>/fd/`.
//! - `process.<name>.fd_limit` (`count`): the "Max open files" soft limits.
//! - `process.<name>.fd_used_pct` (`percent`): the highest `fds / limit` of any
//!   one matching process (each process has its own limit).
//! - `process.<name>.state_running` / `state_sleeping` / `state_disk_wait` /
//!   `state_zombie` (`count`): processes in state `R`, `S`, `D`, `Z`.
//! - `process.<name>.uptime_s` (`seconds`): age of the oldest matching
//!   process, from its start time (`<pid>/stat` field 22, in clock ticks
//!   since boot) and `btime` in `<proc_root>/stat`.
//!
//! When nothing matches, `count`, `cpu_pct`, `rss_bytes`, `threads`, `fds`
//! and the state counts are 0 and the other series are not reported.
//!
//! Events (`source: process`):
//! - `EventKind::ProcessMissing` (`Error`), fields
//!   `process` and `pid`: every matching process is gone.
//! - `EventKind::ProcessRestarted` (`Warning`),
//!   fields `process`, `old_pid`, `new_pid`: it is back after missing, or none
//!   of the previous processes (pid and start time) is left but new ones run,
//!   which includes a reused pid. Pid lists are comma-separated.
//!
//! Why a process died is not known here: OOM kills are reported as
//! `OomKill` events by the kernel-log (kmsg) collector.
//!
//! Clock ticks per second (`USER_HZ`, the unit of `utime`, `stime` and the
//! start time) are asked of `getconf CLK_TCK` once when the collector is
//! built, without `unsafe` and without a new dependency; when that fails the
//! value is 100, which is what Linux uses on every architecture Rewind targets.

mod read;
mod report;
mod select;
mod watcher;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_config;
#[cfg(test)]
mod tests_hostile;

use std::{path::PathBuf, time::Duration};

use serde::Deserialize;

pub use self::watcher::Watcher;
use super::Scheduled;
use crate::config::duration;

/// `collectors.processes` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether watched processes are sampled.
    pub enabled: bool,
    /// Time between two passes.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Root of the proc filesystem (a fixture tree in tests, `/host/proc` in a container).
    pub proc_root: PathBuf,
    /// The processes to watch; nothing runs while this is empty.
    pub watch: Vec<Watch>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(1),
            proc_root: PathBuf::from("/proc"),
            watch: Vec::new(),
        }
    }
}

/// One entry of `collectors.processes.watch`: a name and exactly one selector.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Watch {
    /// Name in the series (`process.<name>.count`): `a-z`, `0-9`, `_`, `-`, unique.
    pub name: String,
    /// Processes whose `comm` (the executable name, at most 15 characters) is exactly this.
    pub process: Option<String>,
    /// The process whose pid is in this file (no process while the file is absent).
    pub pid_file: Option<PathBuf>,
    /// Processes whose command line (arguments joined by spaces) matches this regex.
    pub cmdline: Option<String>,
    /// Processes in this systemd unit (e.g. `foo.service`): a path in `/proc/<pid>/cgroup`
    /// ending in `/foo.service` (or passing through it, for the unit's sub-cgroups).
    pub systemd_unit: Option<String>,
}

/// Clock ticks per second when `getconf CLK_TCK` cannot say.
const DEFAULT_TICKS_PER_SECOND: u64 = 100;

impl Config {
    /// The polled collectors this section enables.
    ///
    /// # Errors
    /// A watch entry that cannot be used (every problem is listed).
    pub fn pollers(&self) -> crate::Result<Vec<Scheduled>> {
        let targets = select::compile(&self.watch).map_err(|reason| crate::Error::Collector {
            collector: "processes",
            reason,
        })?;
        if !self.enabled || targets.is_empty() {
            return Ok(Vec::new());
        }
        let watcher = Watcher::new(self.proc_root.clone(), targets, clock_ticks());
        Ok(vec![Scheduled {
            name: "processes",
            interval: self.interval,
            poll: Box::new(watcher),
        }])
    }

    /// The pids each watch entry matches now, in config order (an entry
    /// matching nothing has an empty list): one pass over `proc_root` with
    /// the collector's own matching, for the diagnostics taken at a trigger.
    ///
    /// # Errors
    /// A watch entry that cannot be used, or `proc_root` cannot be listed.
    pub fn matching_pids(&self) -> crate::Result<Vec<(String, Vec<u32>)>> {
        let error = |reason| crate::Error::Collector {
            collector: "processes",
            reason,
        };
        let targets = select::compile(&self.watch).map_err(error)?;
        Watcher::new(self.proc_root.clone(), targets, DEFAULT_TICKS_PER_SECOND)
            .matching_pids()
            .map_err(error)
    }
}

/// `USER_HZ` from `getconf CLK_TCK`, or [`DEFAULT_TICKS_PER_SECOND`].
fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u64>()
                .ok()
        })
        .filter(|t| (1..=1_000_000).contains(t))
        .unwrap_or(DEFAULT_TICKS_PER_SECOND)
}
