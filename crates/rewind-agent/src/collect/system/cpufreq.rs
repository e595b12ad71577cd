//! CPU frequency and thermal throttling from
//! `sys_root/devices/system/cpu/cpu<N>/`: `cpufreq/scaling_cur_freq` and
//! `cpufreq/cpuinfo_max_freq` (kHz), `thermal_throttle/core_throttle_count`
//! and `thermal_throttle/package_throttle_count` (x86 only), with
//! `topology/physical_package_id` to tell packages apart.
//!
//! Series: `cpufreq.cpu<N>.cur_hz`, `cpufreq.cpu<N>.max_hz` (hertz),
//! `cpufreq.cpu<N>.ratio_pct` (percent of max), `cpu.cpu<N>.throttle_count`
//! (count, core throttling episodes since boot) and
//! `cpu.package<P>.throttle_count` (count, read from the package's first CPU).
//!
//! Event: [`EventKind::Thermal`] (level warning) when a throttle count
//! grows, at most one per CPU or package every 10 s (growth in between is
//! summed into the next one), so sustained throttling is not a flood.
//!
//! CPUs are listed at build time and every `rediscover_interval` (or as
//! soon as one goes offline); `cpuinfo_max_freq` is read then too. A pass
//! reads one to three small files per CPU.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use rewind_model::{Event, EventKind, Level, SeriesName};

use super::{
    Batch, Part,
    common::{Every, is_gone, read_u64},
};

mod discover;

const MAX_CPUS: usize = 1024;
/// Least time between two throttle events of one CPU or package.
const EVENT_GAP: Duration = Duration::from_secs(10);

/// A throttle counter and what was last reported of it.
#[derive(Debug)]
struct Throttle {
    path: PathBuf,
    name: SeriesName,
    /// What is counted: `cpu` or `package`, and its number.
    what: (&'static str, u64),
    /// Count already covered by an event (or seen first).
    reported: Option<u64>,
    last_event: Option<Duration>,
}

/// One CPU with a cpufreq directory.
#[derive(Debug)]
struct Cpu {
    /// `scaling_cur_freq`, when the CPU has a cpufreq driver.
    cur_path: Option<PathBuf>,
    max_khz: Option<u64>,
    names: [SeriesName; 3],
    throttles: Vec<Throttle>,
}

/// Follows every CPU's frequency and throttle counters.
#[derive(Debug)]
pub(super) struct CpuFreq {
    dir: PathBuf,
    cpus: Vec<Cpu>,
    every: Every,
}

impl CpuFreq {
    /// `None` (with a notice) when no CPU has frequency or throttle files.
    pub(super) fn discover(sys_root: &Path, rediscover: Duration) -> Option<Self> {
        let dir = sys_root.join("devices/system/cpu");
        let mut f = Self {
            dir,
            cpus: Vec::new(),
            every: Every::new(rediscover),
        };
        f.rescan(&mut String::new());
        f.every.due(Duration::ZERO);
        if f.cpus.is_empty() {
            tracing::info!(dir = %f.dir.display(), "no cpufreq or thermal_throttle files: cpufreq.* and throttle series are off");
            return None;
        }
        Some(f)
    }

    /// Lists the CPUs again, keeping what was reported of their counters.
    fn rescan(&mut self, buf: &mut String) {
        let mut cpus = discover::cpus(&self.dir, buf);
        for t in cpus.iter_mut().flat_map(|c| &mut c.throttles) {
            if let Some(old) = self
                .cpus
                .iter()
                .flat_map(|c| &c.throttles)
                .find(|o| o.path == t.path)
            {
                (t.reported, t.last_event) = (old.reported, old.last_event);
            }
        }
        self.cpus = cpus;
    }
}

impl Part for CpuFreq {
    fn poll(&mut self, now: Duration, buf: &mut String, out: &mut Batch) {
        if self.every.due(now) {
            self.rescan(buf);
        }
        for cpu in &mut self.cpus {
            if let Some(path) = &cpu.cur_path {
                match read_u64(path, buf) {
                    Ok(khz) => emit_freq(cpu, khz, out),
                    Err(e) if is_gone(&e) => self.every.force(),
                    Err(e) => out.problem("system/cpufreq", e),
                }
            }
            for t in &mut cpu.throttles {
                match read_u64(&t.path, buf) {
                    Ok(count) => t.update(count, now, out),
                    Err(e) if is_gone(&e) => self.every.force(),
                    Err(e) => out.problem("system/cpufreq", e),
                }
            }
        }
    }
}

#[allow(clippy::cast_precision_loss)] // frequencies are far below 2^52
fn emit_freq(cpu: &Cpu, khz: u64, out: &mut Batch) {
    let [cur, max, ratio] = &cpu.names;
    out.reading(cur.clone(), "hertz", khz as f64 * 1000.0);
    if let Some(max_khz) = cpu.max_khz.filter(|m| *m > 0) {
        out.reading(max.clone(), "hertz", max_khz as f64 * 1000.0);
        out.reading(
            ratio.clone(),
            "percent",
            khz as f64 / max_khz as f64 * 100.0,
        );
    }
}

impl Throttle {
    #[allow(clippy::cast_precision_loss)] // counts are small
    fn update(&mut self, count: u64, now: Duration, out: &mut Batch) {
        out.reading(self.name.clone(), "count", count as f64);
        let Some(reported) = self.reported else {
            self.reported = Some(count);
            return;
        };
        if count < reported {
            self.reported = Some(count); // counter reset (CPU re-onlined)
            return;
        }
        let quiet = self
            .last_event
            .is_none_or(|at| now.saturating_sub(at) >= EVENT_GAP);
        if count > reported && quiet {
            let grew = count - reported;
            let (what, id) = self.what;
            let message = format!(
                "{what} {id} was thermally throttled ({grew} more episode(s), {count} since boot)"
            );
            out.event(
                Event::new(
                    out.ts,
                    "cpufreq",
                    EventKind::Thermal,
                    Level::Warning,
                    message,
                )
                .with(what, id)
                .with("throttle_count", count)
                .with("increase", grew),
            );
            self.reported = Some(count);
            self.last_event = Some(now);
        }
    }
}

#[cfg(test)]
mod tests;
