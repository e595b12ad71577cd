//! One pass: list the pids, find the watched ones, read them, report.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use rewind_model::Timestamp;

use super::{
    read::{self, Fail},
    report::{Found, History, Pass, Proc},
    select::{Selector, Target, in_unit},
};
use crate::collect::{Batch, Poll};

/// The watched-processes collector.
#[derive(Debug)]
pub struct Watcher {
    proc_root: PathBuf,
    ticks_per_second: u64,
    targets: Vec<Target>,
    /// Whether any entry needs `cmdline` or `cgroup`.
    deep: bool,
    /// Per pid, which `cmdline`/`systemd_unit` entries it matched; only live pids are kept.
    cache: HashMap<u32, Known>,
    /// Per entry, what the previous pass saw.
    history: Vec<History>,
    prev_ts: Option<Timestamp>,
    boot_time: Option<u64>,
    pass: u64,
}

/// A process whose `cmdline`/`systemd_unit` verdict is known.
#[derive(Debug)]
struct Known {
    start: u64,
    comm: String,
    deep: Vec<usize>,
    pass: u64,
}

/// Processes that could not be read this pass (not counting vanished ones).
#[derive(Debug, Default)]
struct Unreadable {
    count: usize,
    first: Option<String>,
}

impl Unreadable {
    fn note(&mut self, error: String) {
        self.count += 1;
        self.first.get_or_insert(error);
    }
}

impl Watcher {
    /// Watches `targets` in `proc_root`; times in `/proc` are in `ticks_per_second`.
    pub(super) fn new(proc_root: PathBuf, targets: Vec<Target>, ticks_per_second: u64) -> Self {
        let deep = targets.iter().any(|t| t.selector.is_deep());
        let history = targets.iter().map(|_| History::default()).collect();
        Self {
            proc_root,
            ticks_per_second: ticks_per_second.max(1),
            targets,
            deep,
            cache: HashMap::new(),
            history,
            prev_ts: None,
            boot_time: None,
            pass: 0,
        }
    }

    /// The pid in each `pid_file` entry (`None` for other entries).
    fn pid_files(&self, out: &mut Batch) -> Vec<Option<u32>> {
        let mut pids = Vec::with_capacity(self.targets.len());
        for t in &self.targets {
            let pid = match &t.selector {
                Selector::PidFile(path) => read::pid_file(path).unwrap_or_else(|e| {
                    out.problem(format!("processes/{}", t.name), e);
                    None
                }),
                _ => None,
            };
            pids.push(pid);
        }
        pids
    }

    fn scan(&mut self, pids: &[u32], pid_files: &[Option<u32>], out: &mut Batch) -> Vec<Found> {
        let mut found: Vec<Found> = self.targets.iter().map(|_| Found::default()).collect();
        let mut unreadable = Unreadable::default();
        for &pid in pids {
            let dir = self.proc_root.join(pid.to_string());
            let proc = self
                .matches(&dir, pid, pid_files)
                .and_then(|hits| match hits {
                    Some((hits, stat)) => Ok(Some((hits, Proc::read(&dir, pid, stat)?))),
                    None => Ok(None),
                });
            match proc {
                Ok(Some((hits, (proc, partial)))) => {
                    for i in hits {
                        if let Some(f) = found.get_mut(i) {
                            f.add(proc, partial.as_deref());
                        }
                    }
                }
                Ok(None) | Err(Fail::Gone) => {}
                Err(Fail::Other(e)) => unreadable.note(e),
            }
        }
        if let Some(first) = unreadable.first {
            out.problem(
                "processes/scan",
                format!(
                    "{} processes could not be read, e.g. {first}",
                    unreadable.count
                ),
            );
        }
        found
    }

    /// The entries `pid` belongs to, with its stat; `None` when it belongs to none.
    fn matches(
        &mut self,
        dir: &Path,
        pid: u32,
        pid_files: &[Option<u32>],
    ) -> Result<Option<(Vec<usize>, read::Stat)>, Fail> {
        let comm = read::comm(dir)?;
        let mut hits: Vec<usize> = (self.targets.iter().zip(pid_files).enumerate())
            .filter(|(_, (t, pid_file))| match &t.selector {
                Selector::Process(name) => *name == comm,
                Selector::PidFile(_) => **pid_file == Some(pid),
                _ => false,
            })
            .map(|(i, _)| i)
            .collect();
        if hits.is_empty() && !self.deep {
            return Ok(None);
        }
        let stat = read::stat(dir)?;
        if self.deep {
            hits.extend(self.deep_matches(dir, pid, comm, stat.start)?);
            hits.sort_unstable();
        }
        Ok((!hits.is_empty()).then_some((hits, stat)))
    }

    /// `cmdline`/`systemd_unit` entries matched by `pid`, from the cache while
    /// the pid's start time and name are unchanged.
    fn deep_matches(
        &mut self,
        dir: &Path,
        pid: u32,
        comm: String,
        start: u64,
    ) -> Result<Vec<usize>, Fail> {
        if let Some(known) = self.cache.get_mut(&pid)
            && known.start == start
            && known.comm == comm
        {
            known.pass = self.pass;
            return Ok(known.deep.clone());
        }
        let (mut cmdline, mut cgroup) = (None, None);
        let mut deep = Vec::new();
        for (i, t) in self.targets.iter().enumerate() {
            let hit = match &t.selector {
                Selector::Cmdline(re) => re.is_match(lazy(&mut cmdline, || read::cmdline(dir))?),
                Selector::SystemdUnit(unit) => {
                    in_unit(lazy(&mut cgroup, || read::cgroup(dir))?, unit)
                }
                _ => false,
            };
            if hit {
                deep.push(i);
            }
        }
        self.cache.insert(
            pid,
            Known {
                start,
                comm,
                deep: deep.clone(),
                pass: self.pass,
            },
        );
        Ok(deep)
    }

    /// The pids each entry matches now, lowest first, in entry order.
    pub(super) fn matching_pids(&mut self) -> Result<Vec<(String, Vec<u32>)>, String> {
        let mut scratch = Batch::new(Timestamp::now());
        let pid_files = self.pid_files(&mut scratch);
        let mut pids = read::list_pids(&self.proc_root)?;
        pids.sort_unstable();
        let mut found: Vec<(String, Vec<u32>)> = self
            .targets
            .iter()
            .map(|t| (t.name.clone(), Vec::new()))
            .collect();
        for pid in pids {
            let dir = self.proc_root.join(pid.to_string());
            if let Ok(Some((hits, _))) = self.matches(&dir, pid, &pid_files) {
                for i in hits {
                    if let Some((_, list)) = found.get_mut(i) {
                        list.push(pid);
                    }
                }
            }
        }
        Ok(found)
    }

    fn boot_time(&mut self, out: &mut Batch) -> Option<u64> {
        if self.boot_time.is_none() {
            match read::boot_time(&self.proc_root) {
                Ok(t) => self.boot_time = Some(t),
                Err(e) => out.problem("processes/stat", e),
            }
        }
        self.boot_time
    }
}

/// A file read at most once per process, when first needed.
fn lazy(
    slot: &mut Option<String>,
    read: impl FnOnce() -> Result<String, Fail>,
) -> Result<&str, Fail> {
    if slot.is_none() {
        *slot = Some(read()?);
    }
    Ok(slot.as_deref().unwrap_or_default())
}

impl Poll for Watcher {
    fn poll(&mut self, out: &mut Batch) {
        self.pass += 1;
        let pid_files = self.pid_files(out);
        let pids = match read::list_pids(&self.proc_root) {
            Ok(pids) => pids,
            Err(e) => return out.problem("processes/list", e),
        };
        let found = self.scan(&pids, &pid_files, out);
        let pass = self.pass;
        self.cache.retain(|_, known| known.pass == pass);
        let boot_time = if found.iter().any(|f| !f.procs.is_empty()) {
            self.boot_time(out)
        } else {
            None
        };
        #[allow(clippy::cast_precision_loss)] // nanosecond gaps between passes are far below 2^52
        let elapsed = self
            .prev_ts
            .map(|prev| out.ts.nanos_since(prev) as f64 / 1e9)
            .filter(|s| *s > 0.0);
        let pass = Pass {
            ts: out.ts,
            elapsed,
            ticks_per_second: self.ticks_per_second,
            boot_time,
        };
        for ((target, history), found) in self.targets.iter().zip(&mut self.history).zip(&found) {
            history.report(target, found, &pass, out);
        }
        self.prev_ts = Some(out.ts);
    }
}
