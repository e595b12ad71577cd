//! cgroup v2 memory and CPU limits, for the agent's own cgroup (from
//! `proc_root/self/cgroup`, named `agent`) and each `watch_cgroups` path
//! (named after the path: `/system.slice/robot.service` →
//! `system_slice_robot_service`, `/` → `root`).
//!
//! Read from the v2 hierarchy at `sys_root/fs/cgroup` (or
//! `sys_root/fs/cgroup/unified` on hybrid systems):
//! - `memory.current` → `cgroup.<name>.memory_current_bytes` (bytes)
//! - `memory.max` → `cgroup.<name>.memory_max_bytes` (bytes; absent when `max`)
//! - `memory.events` → `cgroup.<name>.oom_total`, `.oom_kill_total` (count)
//! - `cpu.stat` → `cgroup.<name>.cpu_throttled_us_per_s`
//!   (microseconds_per_second, needs two passes) and `.cpu_nr_throttled` (count)
//!
//! Event: [`EventKind::OomKill`] (level error) when `oom_kill` grows.
//!
//! Files a cgroup lacks (controller not enabled for it) are left out: one
//! notice when the collector is built, nothing afterwards. Cgroups are
//! looked up again every `rediscover_interval` (a watched service may start
//! later, or be restarted into a new cgroup) or as soon as one vanishes.

use std::{
    io,
    path::{Path, PathBuf},
    time::Duration,
};

use rewind_model::{Event, EventKind, Level, SeriesName};

use super::{
    Batch, Part,
    common::{Every, is_gone, rate, read_to, read_u64, secs_between},
};

mod discover;

const METRICS: [&str; 6] = [
    "memory_current_bytes",
    "memory_max_bytes",
    "oom_total",
    "oom_kill_total",
    "cpu_throttled_us_per_s",
    "cpu_nr_throttled",
];

/// One cgroup being followed.
#[derive(Debug)]
struct Target {
    /// `agent` or the watched path.
    label: String,
    dir: PathBuf,
    /// Which of `memory.current`, `memory.max`, `memory.events`, `cpu.stat` exist.
    files: [bool; 4],
    names: [SeriesName; 6],
    /// `oom_kill` at the previous pass.
    oom_kills: Option<u64>,
    /// `throttled_usec` at the previous pass, and when.
    throttled: Option<(u64, Duration)>,
}

/// Follows the agent's cgroup and the watched ones.
#[derive(Debug)]
pub(super) struct Cgroups {
    proc_root: PathBuf,
    root: PathBuf,
    watch: Vec<String>,
    targets: Vec<Target>,
    every: Every,
}

impl Cgroups {
    /// `None` (with a notice) when there is no cgroup v2 hierarchy.
    pub(super) fn discover(
        proc_root: &Path,
        sys_root: &Path,
        watch: &[String],
        rediscover: Duration,
    ) -> Option<Self> {
        let Some(root) = discover::hierarchy(sys_root) else {
            tracing::info!(sys_root = %sys_root.display(), "no cgroup v2 hierarchy: cgroup.* series are off");
            return None;
        };
        let mut c = Self {
            proc_root: proc_root.to_owned(),
            root,
            watch: watch.to_vec(),
            targets: Vec::new(),
            every: Every::new(rediscover),
        };
        c.rescan(true);
        c.every.due(Duration::ZERO);
        Some(c)
    }

    /// Looks the cgroups up again, keeping the counters of those still there.
    fn rescan(&mut self, notice: bool) {
        let mut targets = discover::targets(&self.proc_root, &self.root, &self.watch, notice);
        for t in &mut targets {
            if let Some(old) = self.targets.iter().find(|o| o.dir == t.dir) {
                (t.oom_kills, t.throttled) = (old.oom_kills, old.throttled);
            }
        }
        self.targets = targets;
    }
}

impl Part for Cgroups {
    fn poll(&mut self, now: Duration, buf: &mut String, out: &mut Batch) {
        if self.every.due(now) {
            self.rescan(false);
        }
        for t in &mut self.targets {
            if let Err(e) = t.poll(now, buf, out) {
                if is_gone(&e) {
                    self.every.force();
                } else {
                    out.problem("system/cgroup", e);
                }
            }
        }
    }
}

const FILES: [&str; 4] = ["memory.current", "memory.max", "memory.events", "cpu.stat"];

impl Target {
    fn poll(&mut self, now: Duration, buf: &mut String, out: &mut Batch) -> io::Result<()> {
        let [current, max, events, cpu] = self.files;
        if current {
            let v = read_u64(&self.dir.join(FILES[0]), buf)?;
            out.reading(self.names[0].clone(), "bytes", as_f64(v));
        }
        if max {
            self.read(FILES[1], buf)?;
            if buf.trim() != "max" {
                let v = buf
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| self.invalid(FILES[1], "not a number or `max`"))?;
                out.reading(self.names[1].clone(), "bytes", as_f64(v));
            }
        }
        if events {
            self.events(buf, out)?;
        }
        if cpu {
            self.cpu(now, buf, out)?;
        }
        Ok(())
    }

    /// `memory.events`: OOM counts, and an event when the killer struck.
    fn events(&mut self, buf: &mut String, out: &mut Batch) -> io::Result<()> {
        self.read(FILES[2], buf)?;
        let (oom, kills) = (key(buf, "oom"), key(buf, "oom_kill"));
        if oom.is_none() && kills.is_none() {
            return Err(self.invalid(FILES[2], "no `oom` or `oom_kill` line"));
        }
        if let Some(oom) = oom {
            out.reading(self.names[2].clone(), "count", as_f64(oom));
        }
        if let Some(kills) = kills {
            out.reading(self.names[3].clone(), "count", as_f64(kills));
            oom_killed(&mut self.oom_kills, &self.label, kills, out);
        }
        Ok(())
    }

    /// `cpu.stat`: throttled time (a rate) and throttle count.
    fn cpu(&mut self, now: Duration, buf: &mut String, out: &mut Batch) -> io::Result<()> {
        self.read(FILES[3], buf)?;
        if let Some(nr) = key(buf, "nr_throttled") {
            out.reading(self.names[5].clone(), "count", as_f64(nr));
        }
        if let Some(us) = key(buf, "throttled_usec")
            && let Some((prev, at)) = self.throttled.replace((us, now))
            && let Some(r) = secs_between(at, now).and_then(|secs| rate(prev, us, secs))
        {
            out.reading(self.names[4].clone(), "microseconds_per_second", r);
        }
        Ok(())
    }

    fn read(&self, file: &str, buf: &mut String) -> io::Result<()> {
        read_to(&self.dir.join(file), buf)
    }

    fn invalid(&self, file: &str, why: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {why}", self.dir.join(file).display()),
        )
    }
}

#[allow(clippy::cast_precision_loss)] // byte and event counts below 2^53
fn as_f64(v: u64) -> f64 {
    v as f64
}

/// An [`EventKind::OomKill`] event when `oom_kill` grew since the last pass.
fn oom_killed(prev: &mut Option<u64>, label: &str, kills: u64, out: &mut Batch) {
    if let Some(prev) = prev.replace(kills)
        && kills > prev
    {
        let n = kills - prev;
        let message = format!("the OOM killer killed {n} process(es) in cgroup {label}");
        out.event(
            Event::new(out.ts, "cgroup", EventKind::OomKill, Level::Error, message)
                .with("cgroup", label)
                .with("oom_kill_total", kills)
                .with("increase", n),
        );
    }
}

/// The value of `name` in a flat-keyed file (`memory.events`, `cpu.stat`).
fn key(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[cfg(test)]
mod tests;
