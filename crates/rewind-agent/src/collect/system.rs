//! The whole machine, from the proc filesystem and sysfs.
//!
//! Two polled collectors:
//! - `system` (every `interval`, 100 ms by default): CPU shares, context
//!   switches and process counts (`cpu`), memory and swap
//!   (`meminfo`), load (`loadavg`), pressure stall information
//!   (`pressure`), block-device I/O (`diskio`), network interfaces (`net`),
//!   thermal zones (`thermal`), CPU frequency and throttling (`cpufreq`)
//!   and cgroup v2 limits (`cgroup`). Each submodule's docs list the series
//!   (with units) and events it produces.
//! - `system/disk` (every `disk_interval`, 10 s): space per mounted
//!   filesystem (`disk`).
//!
//! Everything is read under an injectable `proc_root` and `sys_root`, so
//! tests run on fixture trees. To keep the 10 Hz pass cheap, every file is
//! read into one reused buffer, and directories (cores, zones, cgroups) are
//! listed when the collector is built and then only every
//! `rediscover_interval`. Something absent from this machine (no PSI, no
//! thermal zones, no cgroup v2) is one notice in the log when the collector
//! is built, never a problem per pass.

mod cgroup;
mod common;
mod cpu;
mod cpufreq;
mod disk;
mod diskio;
mod loadavg;
mod meminfo;
mod net;
mod pressure;
mod thermal;
mod tracked;

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use rewind_model::SeriesName;
use serde::Deserialize;

use super::{Batch, Poll, Scheduled};
use crate::config::duration;

/// `collectors.system` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether the system collectors run at all.
    pub enabled: bool,
    /// Time between two passes of the main collector (CPU, memory, load,
    /// pressure, disk I/O, network, thermal, frequency, cgroups). Default 100ms.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Root of the proc filesystem (a fixture tree in tests, `/host/proc` in a container).
    pub proc_root: PathBuf,
    /// Root of sysfs (`/host/sys` in a container).
    pub sys_root: PathBuf,
    /// Per-core CPU shares (`cpu.core<N>.*`) besides the total. Default on.
    pub cpu_per_core: bool,
    /// Pressure stall information (`pressure.*`, Linux 4.20+). Default on.
    pub pressure: bool,
    /// Disk space per mounted filesystem (`disk.*`), read every `disk_interval`. Default on.
    pub disks: bool,
    /// Time between two disk-space passes. Default 10s.
    #[serde(with = "duration")]
    pub disk_interval: Duration,
    /// Report tmpfs mounts too. Default off.
    pub mounts_include_tmpfs: bool,
    /// Report overlay mounts (a container's root filesystem). Default on.
    pub mounts_include_overlay: bool,
    /// Report network and FUSE filesystems (NFS, CIFS, sshfs, …). Default
    /// off: statvfs on a dead server blocks the disk collector.
    pub mounts_include_network: bool,
    /// Mount paths not reported, with everything below them. Default: the
    /// container runtimes' private mounts and snap images.
    pub mounts_exclude: Vec<String>,
    /// Block-device I/O rates from `/proc/diskstats` (`diskio.*`). Default on.
    pub disk_io: bool,
    /// Partitions too (`sda1`, `nvme0n1p2`), not only whole disks. Default off.
    pub disk_io_include_partitions: bool,
    /// `loop*` and `ram*` devices too. Default off.
    pub disk_io_include_virtual: bool,
    /// Network interface rates from `/proc/net/dev` (`net.*`). Default on.
    pub network: bool,
    /// Interfaces not reported: exact names, or prefixes ending in `*`.
    /// Default `lo` and `veth*` (container ends of virtual pairs).
    pub network_exclude: Vec<String>,
    /// Thermal zones and trip points (`thermal.*`, thermal events). Default on.
    pub thermal: bool,
    /// CPU frequency (`cpufreq.*`) and throttle counters (`cpu.cpu<N>.throttle_count`). Default on.
    pub cpufreq: bool,
    /// cgroup v2 memory and CPU limits of the agent's own cgroup and of
    /// `watch_cgroups` (`cgroup.*`, OOM-kill events). Default on.
    pub cgroups: bool,
    /// cgroup v2 paths to follow besides the agent's own, e.g.
    /// `/system.slice/robot.service`. Default none.
    pub watch_cgroups: Vec<String>,
    /// How often thermal zones, CPUs and cgroups are listed again (they are
    /// not listed on every pass). Default 60s.
    #[serde(with = "duration")]
    pub rediscover_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_millis(100),
            proc_root: PathBuf::from("/proc"),
            sys_root: PathBuf::from("/sys"),
            cpu_per_core: true,
            pressure: true,
            disks: true,
            disk_interval: Duration::from_secs(10),
            mounts_include_tmpfs: false,
            mounts_include_overlay: true,
            mounts_include_network: false,
            mounts_exclude: [
                "/var/lib/docker",
                "/var/lib/containers",
                "/var/lib/kubelet",
                "/run/containerd",
                "/snap",
            ]
            .map(String::from)
            .to_vec(),
            disk_io: true,
            disk_io_include_partitions: false,
            disk_io_include_virtual: false,
            network: true,
            network_exclude: vec!["lo".into(), "veth*".into()],
            thermal: true,
            cpufreq: true,
            cgroups: true,
            watch_cgroups: Vec::new(),
            rediscover_interval: Duration::from_secs(60),
        }
    }
}

impl Config {
    /// The polled collectors this section enables.
    #[must_use]
    pub fn pollers(&self) -> Vec<Scheduled> {
        if !self.enabled {
            return Vec::new();
        }
        let mut out = vec![Scheduled {
            name: "system",
            interval: self.interval,
            poll: Box::new(Machine::from_config(self)),
        }];
        if self.disks {
            out.push(Scheduled {
                name: "system/disk",
                interval: self.disk_interval,
                poll: Box::new(disk::DiskSpace::new(self)),
            });
        }
        out
    }
}

/// One group of series read in the main pass.
trait Part: std::fmt::Debug + Send {
    /// Reads once; `now` is monotonic time for rates, `buf` a reusable read buffer.
    fn poll(&mut self, now: Duration, buf: &mut String, out: &mut Batch);
}

/// Everything the main pass reads about the whole machine.
#[derive(Debug)]
pub struct Machine {
    parts: Vec<Box<dyn Part>>,
    buf: String,
    started: Instant,
}

impl Machine {
    /// CPU (total and per core), memory and load, read from `proc_root` (normally `/proc`).
    #[must_use]
    pub fn new(proc_root: PathBuf) -> Self {
        Self::with_parts(core_parts(&proc_root, true))
    }

    /// Every group `config` enables. Groups this machine lacks are left out with a notice.
    #[must_use]
    pub fn from_config(c: &Config) -> Self {
        let mut parts = core_parts(&c.proc_root, c.cpu_per_core);
        parts.extend(optional_parts(c));
        Self::with_parts(parts)
    }

    fn with_parts(parts: Vec<Box<dyn Part>>) -> Self {
        Self {
            parts,
            buf: String::new(),
            started: Instant::now(),
        }
    }

    /// One pass at monotonic time `now` (tests drive the clock).
    fn poll_at(&mut self, now: Duration, out: &mut Batch) {
        for part in &mut self.parts {
            part.poll(now, &mut self.buf, out);
        }
    }
}

impl Poll for Machine {
    fn poll(&mut self, out: &mut Batch) {
        let now = self.started.elapsed();
        self.poll_at(now, out);
    }
}

/// The groups beyond CPU, memory and load that `c` enables and this machine has.
fn optional_parts(c: &Config) -> Vec<Box<dyn Part>> {
    let (proc, sys, every) = (&c.proc_root, &c.sys_root, c.rediscover_interval);
    let mut parts: Vec<Box<dyn Part>> = Vec::new();
    if c.pressure
        && let Some(p) = pressure::Pressure::discover(proc)
    {
        parts.push(Box::new(p));
    }
    let diskstats = proc.join("diskstats");
    if c.disk_io && present(&diskstats, "diskio.*") {
        let (partitions, virtuals) = (c.disk_io_include_partitions, c.disk_io_include_virtual);
        parts.push(Box::new(diskio::DiskIo::new(
            diskstats, partitions, virtuals,
        )));
    }
    let netdev = proc.join("net/dev");
    if c.network && present(&netdev, "net.*") {
        parts.push(Box::new(net::Net::new(netdev, c.network_exclude.clone())));
    }
    if c.thermal
        && let Some(t) = thermal::Thermal::discover(sys, every)
    {
        parts.push(Box::new(t));
    }
    if c.cpufreq
        && let Some(f) = cpufreq::CpuFreq::discover(sys, every)
    {
        parts.push(Box::new(f));
    }
    if c.cgroups
        && let Some(g) = cgroup::Cgroups::discover(proc, sys, &c.watch_cgroups, every)
    {
        parts.push(Box::new(g));
    }
    parts
}

/// Whether a proc file exists; a notice when not.
fn present(path: &std::path::Path, what: &str) -> bool {
    let ok = path.exists();
    if !ok {
        tracing::info!(path = %path.display(), "not present: {what} series are off");
    }
    ok
}

fn core_parts(proc_root: &std::path::Path, per_core: bool) -> Vec<Box<dyn Part>> {
    vec![
        Box::new(cpu::Stat::new(proc_root.join("stat"), per_core)),
        Box::new(File {
            path: proc_root.join("meminfo"),
            source: "system/meminfo",
            read: meminfo::read,
        }),
        Box::new(File {
            path: proc_root.join("loadavg"),
            source: "system/loadavg",
            read: loadavg::read,
        }),
    ]
}

/// A single file read into readings with no state between passes.
#[derive(Debug)]
struct File {
    path: PathBuf,
    source: &'static str,
    read: fn(&std::path::Path, &mut String) -> Readings,
}

impl Part for File {
    fn poll(&mut self, _now: Duration, buf: &mut String, out: &mut Batch) {
        keep(out, self.source, (self.read)(&self.path, buf));
    }
}

/// Readings as (series, unit, value); a failure becomes a problem.
type Readings = Result<Vec<(SeriesName, &'static str, f64)>, String>;

fn keep(out: &mut Batch, source: &'static str, r: Readings) {
    match r {
        Ok(readings) => {
            for (series, unit, value) in readings {
                out.reading(series, unit, value);
            }
        }
        Err(err) => out.problem(source, err),
    }
}

/// A series name known to be valid (the names here are constants).
fn series(name: &'static str) -> SeriesName {
    SeriesName::new(name).unwrap_or_else(|_| unreachable!("constant series name `{name}` is valid"))
}

#[cfg(test)]
mod tests;
