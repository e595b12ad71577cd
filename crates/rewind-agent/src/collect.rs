//! Machine collectors: CPU, memory and load from the proc filesystem.
//!
//! Parsing is done by `procfs-core` (no I/O of its own); this module opens the
//! files under an injectable root, so tests run on fixture trees. A file that
//! cannot be read or parsed is counted and logged (the first time, then once
//! every 600 failures) and the other collectors carry on.

mod cpu;
mod loadavg;
mod meminfo;

use std::{collections::BTreeMap, path::PathBuf};

use rewind_model::SeriesName;

/// One value read by a collector.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Dotted series name.
    pub series: SeriesName,
    /// Unit (`percent`, `bytes`, `count`).
    pub unit: &'static str,
    /// The value.
    pub value: f64,
}

/// Reads the whole-machine series from `proc_root`.
#[derive(Debug)]
pub struct SystemCollector {
    proc_root: PathBuf,
    cpu: cpu::CpuBusy,
    failures: BTreeMap<&'static str, u64>,
}

impl SystemCollector {
    /// A collector reading from `proc_root` (normally `/proc`).
    #[must_use]
    pub fn new(proc_root: PathBuf) -> Self {
        Self {
            proc_root,
            cpu: cpu::CpuBusy::default(),
            failures: BTreeMap::new(),
        }
    }

    /// Runs every collector once. Rates (CPU busy) need two passes: the first
    /// pass returns no CPU reading.
    pub fn collect(&mut self) -> Vec<Reading> {
        let mut out = Vec::with_capacity(8);
        let root = self.proc_root.clone();
        let cpu = self.cpu.read(&root.join("stat"));
        self.keep("stat", cpu, &mut out);
        self.keep("meminfo", meminfo::read(&root.join("meminfo")), &mut out);
        self.keep("loadavg", loadavg::read(&root.join("loadavg")), &mut out);
        out
    }

    /// How many times each source has failed so far, by file name.
    #[must_use]
    pub fn failures(&self) -> &BTreeMap<&'static str, u64> {
        &self.failures
    }

    fn keep(
        &mut self,
        source: &'static str,
        r: Result<Vec<Reading>, String>,
        out: &mut Vec<Reading>,
    ) {
        match r {
            Ok(readings) => out.extend(readings),
            Err(err) => {
                let n = self.failures.entry(source).or_insert(0);
                *n += 1;
                if *n % 600 == 1 {
                    tracing::warn!(source, failures = *n, error = %err, "collector read failed");
                }
            }
        }
    }
}

/// A series name known to be valid (the names here are constants).
fn series(name: &'static str) -> SeriesName {
    SeriesName::new(name).unwrap_or_else(|_| unreachable!("constant series name `{name}` is valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields `procfs-core` requires, with 1000 kB total and 250 kB available.
    const MEMINFO: &str = "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\n\
        Buffers: 0 kB\nCached: 0 kB\nSwapCached: 0 kB\nActive: 0 kB\nInactive: 0 kB\n\
        SwapTotal: 0 kB\nSwapFree: 0 kB\nDirty: 0 kB\nWriteback: 0 kB\nMapped: 0 kB\n\
        Slab: 0 kB\nCommitted_AS: 0 kB\nVmallocTotal: 0 kB\nVmallocUsed: 0 kB\n\
        VmallocChunk: 0 kB\n";

    fn fixture(stat_busy: (u64, u64)) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let (busy, idle) = stat_busy;
        std::fs::write(
            dir.path().join("stat"),
            format!("cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 {busy} 0 0 {idle} 0 0 0 0 0 0\nctxt 1\nbtime 1\nprocesses 1\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("meminfo"), MEMINFO).unwrap();
        std::fs::write(dir.path().join("loadavg"), "1.50 0.75 0.25 2/300 4242\n").unwrap();
        dir
    }

    fn value(r: &[Reading], name: &str) -> Option<f64> {
        r.iter()
            .find(|x| x.series.as_str() == name)
            .map(|x| x.value)
    }

    #[test]
    fn reads_a_fixture_tree() {
        let dir = fixture((100, 900));
        let mut c = SystemCollector::new(dir.path().to_path_buf());
        let first = c.collect();
        assert_eq!(
            value(&first, "cpu.total.busy_pct"),
            None,
            "needs two readings"
        );
        assert_eq!(
            value(&first, "memory.available_bytes"),
            Some(250.0 * 1024.0)
        );
        assert_eq!(value(&first, "memory.used_bytes"), Some(750.0 * 1024.0));
        assert_eq!(value(&first, "memory.used_pct"), Some(75.0));
        assert_eq!(value(&first, "load.avg1"), Some(1.5));
        assert_eq!(value(&first, "load.avg15"), Some(0.25));

        // 300 more busy ticks and 100 more idle ticks: 75 % busy.
        std::fs::write(
            dir.path().join("stat"),
            "cpu  400 0 0 1000 0 0 0 0 0 0\nctxt 1\nbtime 1\nprocesses 1\n",
        )
        .unwrap();
        let second = c.collect();
        assert_eq!(value(&second, "cpu.total.busy_pct"), Some(75.0));
    }

    #[test]
    fn a_missing_or_garbled_file_is_counted_and_the_rest_still_read() {
        let dir = fixture((1, 1));
        std::fs::remove_file(dir.path().join("meminfo")).unwrap();
        std::fs::write(dir.path().join("loadavg"), b"\xff\xfe garbage").unwrap();
        let mut c = SystemCollector::new(dir.path().to_path_buf());
        c.collect();
        c.collect();
        assert_eq!(c.failures().get("meminfo"), Some(&2));
        assert_eq!(c.failures().get("loadavg"), Some(&2));
        assert!(c.failures().get("stat").is_none());
    }

    #[test]
    fn reads_the_live_machine() {
        let mut c = SystemCollector::new(PathBuf::from("/proc"));
        c.collect();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let r = c.collect();
        let busy = value(&r, "cpu.total.busy_pct").expect("live /proc/stat");
        assert!((0.0..=100.0).contains(&busy), "{busy}");
        assert!(value(&r, "memory.available_bytes").unwrap() > 0.0);
        assert!(c.failures().is_empty(), "{:?}", c.failures());
    }
}
