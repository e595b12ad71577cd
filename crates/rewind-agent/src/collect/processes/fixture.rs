//! Fake `/proc` trees for the tests.

use std::path::{Path, PathBuf};

use rewind_model::Timestamp;

use super::{Config, Watch, Watcher, select};
use crate::collect::{Batch, Poll as _, Reading};

/// Boot time written to the fake `/proc/stat`.
pub(super) const BOOT_TIME: u64 = 1_000_000;

/// One fake process.
#[derive(Debug, Clone)]
pub(super) struct Fake {
    pub(super) pid: u32,
    pub(super) comm: &'static str,
    pub(super) state: char,
    pub(super) utime: u64,
    pub(super) stime: u64,
    pub(super) threads: u64,
    /// Clock ticks after boot.
    pub(super) start: u64,
    pub(super) rss_kb: u64,
    pub(super) cmdline: &'static [&'static str],
    pub(super) cgroup: &'static str,
    pub(super) fd_soft: u64,
    pub(super) fds: usize,
}

impl Fake {
    pub(super) fn new(pid: u32, comm: &'static str) -> Self {
        Self {
            pid,
            comm,
            state: 'S',
            utime: 0,
            stime: 0,
            threads: 1,
            start: 100,
            rss_kb: 1000,
            cmdline: &[],
            cgroup: "0::/user.slice\n",
            fd_soft: 1024,
            fds: 3,
        }
    }

    /// Writes (or rewrites) `<root>/<pid>/`.
    pub(super) fn write(&self, root: &Path) {
        let dir = root.join(self.pid.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("fd")).unwrap();
        let Self {
            pid,
            comm,
            state,
            utime,
            stime,
            threads,
            start,
            ..
        } = self.clone();
        std::fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
        std::fs::write(
            dir.join("stat"),
            format!("{pid} ({comm}) {state} 1 {pid} {pid} 0 -1 4194304 0 0 0 0 {utime} {stime} 0 0 20 0 {threads} 0 {start} 1000 100 0 1 1\n"),
        )
        .unwrap();
        let state_name = match state {
            'R' => "running",
            'Z' => "zombie",
            _ => "sleeping",
        };
        let rss = if state == 'Z' {
            String::new()
        } else {
            format!("VmRSS:\t{:>8} kB\n", self.rss_kb)
        };
        std::fs::write(
            dir.join("status"),
            format!("Name:\t{comm}\nState:\t{state} ({state_name})\n{rss}Threads:\t{threads}\n"),
        )
        .unwrap();
        let cmdline: Vec<u8> = self
            .cmdline
            .iter()
            .flat_map(|a| a.bytes().chain([0]))
            .collect();
        std::fs::write(dir.join("cmdline"), cmdline).unwrap();
        std::fs::write(dir.join("cgroup"), self.cgroup).unwrap();
        std::fs::write(
            dir.join("limits"),
            format!(
                "Limit                     Soft Limit           Hard Limit           Units     \n\
                 Max processes             62464                62464                processes \n\
                 Max open files            {}                 524288               files     \n",
                self.fd_soft
            ),
        )
        .unwrap();
        for fd in 0..self.fds {
            std::fs::write(dir.join("fd").join(fd.to_string()), "").unwrap();
        }
    }
}

/// An empty fake `/proc` with its `stat` (and a few non-pid entries).
pub(super) fn proc_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stat"),
        format!("cpu  1 2 3 4\nintr 1 2 3\nbtime {BOOT_TIME}\nprocesses 9\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sys")).unwrap();
    std::fs::create_dir(dir.path().join("self")).unwrap();
    std::fs::write(dir.path().join("uptime"), "1.0 1.0\n").unwrap();
    dir
}

/// A watch entry from YAML-like parts.
pub(super) fn watch(name: &str, f: impl FnOnce(&mut Watch)) -> Watch {
    let mut w = Watch {
        name: name.to_owned(),
        ..Watch::default()
    };
    f(&mut w);
    w
}

/// A watcher over `root` with 100 ticks per second.
pub(super) fn watcher(root: &Path, watch: Vec<Watch>) -> Watcher {
    let targets = select::compile(&watch).unwrap();
    Watcher::new(PathBuf::from(root), targets, 100)
}

/// A config with these entries.
pub(super) fn config(watch: Vec<Watch>) -> Config {
    Config {
        watch,
        ..Config::default()
    }
}

/// One pass at `secs` seconds after boot.
pub(super) fn pass(w: &mut Watcher, secs: u64) -> Batch {
    let millis = i64::try_from((BOOT_TIME + secs) * 1000).unwrap();
    let mut b = Batch::new(Timestamp::from_unix_millis(millis));
    w.poll(&mut b);
    b
}

/// The value of `series` in a batch.
pub(super) fn value(b: &Batch, series: &str) -> Option<f64> {
    find(&b.readings, series).map(|r| r.value)
}

fn find<'a>(r: &'a [Reading], series: &str) -> Option<&'a Reading> {
    r.iter().find(|x| x.series.as_str() == series)
}

/// The unit of `series` in a batch.
pub(super) fn unit<'a>(b: &'a Batch, series: &str) -> Option<&'a str> {
    find(&b.readings, series).map(|r| r.unit.as_ref())
}
