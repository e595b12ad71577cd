//! `/proc/stat`: where CPU time went between two passes, for all cores
//! together and for each core, plus context switches, forks and the
//! runnable/blocked process counts.
//!
//! Series (rates and shares need two passes):
//! - `cpu.total.{busy,user,system,iowait,steal}_pct` and
//!   `cpu.core<N>.{busy,user,system,iowait,steal}_pct` (percent). Busy is
//!   everything but idle and iowait; user includes nice; system includes
//!   irq and softirq.
//! - `system.context_switches_per_s`, `system.forks_per_s` (per_second).
//! - `system.procs_running`, `system.procs_blocked` (count).
//!
//! Hand-written parser rather than procfs-core's `KernelStats`: that one
//! drops the core number (with a core offline, `cpu3` would be reported as
//! the third core) and allocates a string per line, including the
//! multi-kilobyte `intr` line, ten times a second. This one walks the buffer.

use std::{path::PathBuf, time::Duration};

use rewind_model::SeriesName;

use super::{
    Batch, Part,
    common::{names, rate, read_to, secs_between},
    series,
};

/// Core numbers at or above this are ignored (bounds memory on hostile input).
const MAX_CORES: usize = 4096;

/// The share series of one CPU line, in [`Shares`] order.
const METRICS: [&str; 5] = [
    "busy_pct",
    "user_pct",
    "system_pct",
    "iowait_pct",
    "steal_pct",
];

/// Tick counters of one `cpu` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Ticks {
    user: u64,
    nice: u64,
    system: u64,
    idle: u64,
    iowait: u64,
    irq: u64,
    softirq: u64,
    steal: u64,
}

impl Ticks {
    /// The counters after the label; at least user, nice, system and idle.
    fn parse<'a>(fields: impl Iterator<Item = &'a str>) -> Option<Self> {
        let mut v = [0_u64; 8];
        let mut n = 0;
        for (slot, field) in v.iter_mut().zip(fields) {
            *slot = field.parse().ok()?;
            n += 1;
        }
        let [user, nice, system, idle, iowait, irq, softirq, steal] = v;
        (n >= 4).then_some(Self {
            user,
            nice,
            system,
            idle,
            iowait,
            irq,
            softirq,
            steal,
        })
    }

    /// Field-wise growth since `prev` (a counter that went back counts as 0:
    /// per-core iowait is known to do that on tickless kernels).
    fn since(&self, prev: &Self) -> Self {
        Self {
            user: self.user.saturating_sub(prev.user),
            nice: self.nice.saturating_sub(prev.nice),
            system: self.system.saturating_sub(prev.system),
            idle: self.idle.saturating_sub(prev.idle),
            iowait: self.iowait.saturating_sub(prev.iowait),
            irq: self.irq.saturating_sub(prev.irq),
            softirq: self.softirq.saturating_sub(prev.softirq),
            steal: self.steal.saturating_sub(prev.steal),
        }
    }

    /// Percent shares `[busy, user, system, iowait, steal]`; `None` when no time passed.
    #[allow(clippy::cast_precision_loss)] // tick deltas are far below 2^52
    fn shares(&self) -> Option<[f64; 5]> {
        let kernel = self.system + self.irq + self.softirq;
        let total = self.user + self.nice + kernel + self.idle + self.iowait + self.steal;
        if total == 0 {
            return None;
        }
        // Multiply first: n*100/total is exact for whole percentages, where
        // n/total*100 rounds twice (3.5000000000000004), which the ring
        // compresses far worse.
        let pct = |n: u64| n as f64 * 100.0 / total as f64;
        let idle = (self.idle + self.iowait).min(total);
        Some([
            pct(total - idle),
            pct(self.user + self.nice),
            pct(kernel),
            pct(self.iowait),
            pct(self.steal),
        ])
    }
}

/// One parsed `/proc/stat`.
#[derive(Debug, Default)]
struct Parsed {
    total: Option<Ticks>,
    ctxt: Option<u64>,
    forks: Option<u64>,
    running: Option<u64>,
    blocked: Option<u64>,
}

/// Parses `text`; per-core lines go to `cores` (cleared first) when `per_core`.
fn parse(text: &str, per_core: bool, cores: &mut Vec<(usize, Ticks)>) -> Result<Parsed, String> {
    cores.clear();
    let mut p = Parsed::default();
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        let Some(key) = f.next() else { continue };
        let num = |f: &mut std::str::SplitAsciiWhitespace<'_>| {
            f.next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| format!("malformed `{key}` line"))
        };
        match key {
            "cpu" => p.total = Some(Ticks::parse(f).ok_or("malformed `cpu` line")?),
            "ctxt" => p.ctxt = Some(num(&mut f)?),
            "processes" => p.forks = Some(num(&mut f)?),
            "procs_running" => p.running = Some(num(&mut f)?),
            "procs_blocked" => p.blocked = Some(num(&mut f)?),
            _ if per_core && key.starts_with("cpu") => {
                let core = key[3..]
                    .parse::<usize>()
                    .map_err(|_| format!("unknown line `{}`", super::common::clip(key)))?;
                let ticks = Ticks::parse(f).ok_or_else(|| format!("malformed `{key}` line"))?;
                if core < MAX_CORES {
                    cores.push((core, ticks));
                }
            }
            _ => {}
        }
    }
    if p.total.is_none() {
        return Err("no `cpu` line".into());
    }
    Ok(p)
}

/// One core's previous ticks and its series names.
#[derive(Debug)]
struct Core {
    prev: Ticks,
    names: [SeriesName; 5],
}

/// Remembers the previous counters so the next reading can be a share or a rate.
#[derive(Debug)]
pub(super) struct Stat {
    path: PathBuf,
    per_core: bool,
    total: Option<Ticks>,
    total_names: [SeriesName; 5],
    cores: Vec<Option<Core>>,
    /// (time, context switches, forks) of the previous pass.
    counters: Option<(Duration, Option<u64>, Option<u64>)>,
    scratch: Vec<(usize, Ticks)>,
}

impl Stat {
    /// Reads `path` (normally `/proc/stat`).
    pub(super) fn new(path: PathBuf, per_core: bool) -> Self {
        let total_names = METRICS.map(|m| series_dyn(&format!("cpu.total.{m}")));
        Self {
            path,
            per_core,
            total: None,
            total_names,
            cores: Vec::new(),
            counters: None,
            scratch: Vec::new(),
        }
    }

    fn emit_cores(&mut self, out: &mut Batch) {
        for &(n, ticks) in &self.scratch {
            if self.cores.len() <= n {
                self.cores.resize_with(n + 1, || None);
            }
            match &mut self.cores[n] {
                Some(core) => {
                    emit(out, &core.names, ticks.since(&core.prev).shares());
                    core.prev = ticks;
                }
                slot @ None => {
                    *slot = names("cpu", &format!("core{n}"), METRICS)
                        .map(|names| Core { prev: ticks, names });
                }
            }
        }
    }

    fn emit_counters(&mut self, p: &Parsed, now: Duration, out: &mut Batch) {
        let prev = self.counters.replace((now, p.ctxt, p.forks));
        if let Some((at, prev_ctxt, prev_forks)) = prev
            && let Some(secs) = secs_between(at, now)
        {
            let rates = [
                ("system.context_switches_per_s", prev_ctxt, p.ctxt),
                ("system.forks_per_s", prev_forks, p.forks),
            ];
            for (name, prev, cur) in rates {
                if let (Some(prev), Some(cur)) = (prev, cur)
                    && let Some(r) = rate(prev, cur, secs)
                {
                    out.reading(series(name), "per_second", r);
                }
            }
        }
        #[allow(clippy::cast_precision_loss)] // process counts are small
        for (name, v) in [
            ("system.procs_running", p.running),
            ("system.procs_blocked", p.blocked),
        ] {
            if let Some(v) = v {
                out.reading(series(name), "count", v as f64);
            }
        }
    }
}

impl Part for Stat {
    fn poll(&mut self, now: Duration, buf: &mut String, out: &mut Batch) {
        if let Err(e) = read_to(&self.path, buf) {
            return out.problem("system/stat", e);
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let parsed = parse(buf, self.per_core, &mut scratch);
        self.scratch = scratch;
        let p = match parsed {
            Ok(p) => p,
            Err(e) => return out.problem("system/stat", format!("{}: {e}", self.path.display())),
        };
        if let Some(total) = p.total
            && let Some(prev) = self.total.replace(total)
        {
            emit(out, &self.total_names, total.since(&prev).shares());
        }
        self.emit_cores(out);
        self.emit_counters(&p, now, out);
    }
}

fn emit(out: &mut Batch, names: &[SeriesName; 5], shares: Option<[f64; 5]>) {
    if let Some(shares) = shares {
        for (name, v) in names.iter().zip(shares) {
            out.reading(name.clone(), "percent", v);
        }
    }
}

/// A series name from a constant pattern (always valid).
fn series_dyn(name: &str) -> SeriesName {
    SeriesName::new(name).unwrap_or_else(|_| unreachable!("constant series name `{name}` is valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offline_cores_by_number_and_rejects_garbage() {
        let mut cores = Vec::new();
        let text = "cpu  4 0 0 6\ncpu0 2 0 0 3 0 0 0 0 0 0\ncpu2 2 0 0 3\nintr 1 2 3\nctxt 9\n";
        let p = parse(text, true, &mut cores).unwrap();
        assert_eq!(p.total.unwrap().idle, 6);
        assert_eq!(p.ctxt, Some(9));
        assert_eq!(cores.iter().map(|c| c.0).collect::<Vec<_>>(), [0, 2]);
        assert!(
            parse("cpu 1 2\n", true, &mut cores).is_err(),
            "too few fields"
        );
        assert!(parse("cpu 1 2 x 4\n", true, &mut cores).is_err());
        assert!(parse("ctxt 1\n", true, &mut cores).is_err(), "no cpu line");
        assert!(parse("cpu 1 2 3 4\ncpuX 1 2 3 4\n", true, &mut cores).is_err());
        assert!(parse("cpu 1 2 3 4\ncpu99999999 1 2 3 4\n", true, &mut cores).is_ok());
        assert!(cores.is_empty(), "out-of-range core ignored");
    }

    #[test]
    fn shares_split_busy_time() {
        let d = Ticks {
            user: 30,
            nice: 10,
            system: 10,
            idle: 20,
            iowait: 10,
            irq: 5,
            softirq: 5,
            steal: 10,
        };
        assert_eq!(d.shares(), Some([70.0, 40.0, 20.0, 10.0, 10.0]));
        assert_eq!(Ticks::default().shares(), None);
    }
}
