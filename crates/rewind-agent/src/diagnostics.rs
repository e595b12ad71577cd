//! Diagnostics at the breach: what each watched process looked like in the
//! tick a rule tripped, plus profiles from services that serve them over
//! HTTP, and the same taken routinely as baselines.
//!
//! This module produces plain data, [`Diagnostics`]: files (a path inside
//! the bundle and the bytes) and notes (what could not be taken, and why).
//! The hub calls [`Capturer::capture`] at the trip; the bundle writer stores
//! the files as attachments and the notes in the manifest.
//!
//! ```text
//! processes/<watch name>/<pid>/status.txt         /proc/<pid>/status
//!                             /limits.txt         /proc/<pid>/limits
//!                             /smaps_rollup.txt   /proc/<pid>/smaps_rollup
//!                             /fds.txt            "<fd> -> <target>", at most max_fds
//!                             /threads.txt        tid, name, state, CPU ticks, last CPU, wchan
//!                             /kernel-stacks.txt  task/<tid>/stack (root only)
//!                             /stacks.txt         eu-stack or gdb output (user-space stacks)
//! diagnostics/pprof/<name>                        each configured profile URL, as served
//! baseline/<20260513T143022Z>/…                   the newest baseline, same layout
//! ```
//!
//! Bounds: every file at most `max_file_bytes` (profiles: their
//! `max_bytes`), a capture at most `max_total_bytes`, at most
//! `max_processes` per watch entry, `max_fds` descriptors and `max_threads`
//! threads per process, `stack_timeout` per stack dump (at most four run at
//! once), each profile its `timeout` (all fetched at once). Anything cut or
//! left out is said in a note.
//!
//! Order and cost: the `/proc` files of every process are read first (a few
//! milliseconds: this is the picture "at the breach"), then the stack tools
//! run, while the profiles are fetched concurrently. `/proc` reads and the
//! tools are blocking work: [`Capturer::capture`] runs them on tokio's
//! blocking pool; [`capture`] is the same, synchronous, without profiles.
//!
//! The processes are the ones the processes collector would pick
//! (`collectors.processes.watch`), found again at capture time by
//! [`ProcessTarget::find`].

mod baseline;
mod out;
mod pprof;
mod procfs;
mod stacks;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_live;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use rewind_model::Timestamp;
use serde::Deserialize;

pub use self::{
    baseline::{Baseline, BaselineConfig, Baselines},
    pprof::ProfileConfig,
};
use self::{out::Out, stacks::Tool};
use crate::{
    collect::processes,
    config::duration,
    redact::{Counts, Redactor},
};

/// Stack tools run at once.
const PARALLEL_STACKS: usize = 4;

/// `diagnostics` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether diagnostics are taken at a trigger (and for baselines).
    pub enabled: bool,
    /// Processes read per watch entry; more are counted in a note.
    pub max_processes: usize,
    /// Open file descriptors listed per process.
    pub max_fds: usize,
    /// Threads listed per process (state and kernel stack).
    pub max_threads: usize,
    /// Kernel stacks of each thread (`task/<tid>/stack`; the kernel shows them to root only).
    pub kernel_stacks: bool,
    /// User-space stacks through eu-stack or gdb, when installed (the process is paused while they are read).
    pub user_stacks: bool,
    /// The eu-stack program (elfutils), preferred: a name looked up on `PATH` or a path; empty: never used.
    pub eu_stack: PathBuf,
    /// The gdb program, used when eu-stack is not found; empty: never used.
    pub gdb: PathBuf,
    /// Longest run of one stack tool; it is then stopped (and the process resumed).
    #[serde(with = "duration")]
    pub stack_timeout: Duration,
    /// Largest file kept (profiles have their own `max_bytes`); longer ones are cut, with a note.
    pub max_file_bytes: u64,
    /// Largest capture in all; files beyond are left out, with a note.
    pub max_total_bytes: u64,
    /// Profiles fetched over HTTP at each capture.
    pub pprof: Vec<ProfileConfig>,
    /// Routine captures kept to compare an incident with.
    pub baselines: BaselineConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            max_processes: 8,
            max_fds: 4096,
            max_threads: 1024,
            kernel_stacks: true,
            user_stacks: true,
            eu_stack: PathBuf::from("eu-stack"),
            gdb: PathBuf::from("gdb"),
            stack_timeout: Duration::from_secs(5),
            max_file_bytes: 1024 * 1024,
            max_total_bytes: 16 * 1024 * 1024,
            pprof: Vec::new(),
            baselines: BaselineConfig::default(),
        }
    }
}

impl Config {
    /// Problems that make this section unusable, as sentences.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut range = |field: &str, value: u64, min: u64, max: u64| {
            if !(min..=max).contains(&value) {
                out.push(format!("diagnostics.{field} must be from {min} to {max}"));
            }
        };
        range("max_processes", as_u64(self.max_processes), 1, 1024);
        range("max_fds", as_u64(self.max_fds), 1, 1 << 20);
        range("max_threads", as_u64(self.max_threads), 1, 1 << 20);
        range(
            "max_file_bytes",
            self.max_file_bytes,
            4096,
            self.max_total_bytes.max(4096),
        );
        range("max_total_bytes", self.max_total_bytes, 4096, 1 << 30);
        if self.stack_timeout < Duration::from_millis(100)
            || self.stack_timeout > Duration::from_secs(60)
        {
            out.push("diagnostics.stack_timeout must be at least 100ms and at most 60s".to_owned());
        }
        for (i, p) in self.pprof.iter().enumerate() {
            let at = format!("diagnostics.pprof[{i}] ({:?})", p.name);
            out.extend(p.problems(&at, self.max_total_bytes));
            if self.pprof.iter().take(i).any(|o| o.name == p.name) {
                out.push(format!(
                    "{at}: the name is used twice; give each profile its own"
                ));
            }
        }
        out.extend(self.baselines.problems());
        out
    }
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Whether `name` can be one component of a bundle path on every system: 1
/// to 64 characters from `a-z 0-9 . _ -`, not starting or ending with `.`,
/// not a Windows device name.
fn is_file_name(name: &str) -> bool {
    let ok =
        |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-');
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name.bytes().all(ok)
        && !is_windows_device(name)
}

/// `con`, `prn`, `aux`, `nul`, `com0`–`com9`, `lpt0`–`lpt9`, with or
/// without an extension: names Windows cannot store, which the bundle
/// writer refuses.
fn is_windows_device(name: &str) -> bool {
    let stem = name
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(stem.as_str(), "con" | "prn" | "aux" | "nul")
        || ((stem.starts_with("com") || stem.starts_with("lpt"))
            && stem.len() == 4
            && stem.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
}

/// The folder for a watch entry: its name, with `_` added to a Windows
/// device name (`aux` → `aux_`); `None` when it cannot be made one.
fn folder(name: &str) -> Option<String> {
    if is_file_name(name) {
        Some(name.to_owned())
    } else if is_windows_device(name) && is_file_name(&format!("{name}_")) {
        Some(format!("{name}_"))
    } else {
        None
    }
}

/// The processes of one watch entry at capture time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessTarget {
    /// The watch entry's name (`processes/<name>/` in the bundle).
    pub name: String,
    /// Its processes, lowest pid first.
    pub pids: Vec<u32>,
}

impl ProcessTarget {
    /// The processes each `collectors.processes.watch` entry matches now
    /// (one pass over its `proc_root`, with the collector's own matching).
    ///
    /// # Errors
    /// An unusable watch entry, or `proc_root` cannot be listed.
    pub fn find(processes: &processes::Config) -> crate::Result<Vec<Self>> {
        Ok(processes
            .matching_pids()?
            .into_iter()
            .map(|(name, pids)| Self { name, pids })
            .collect())
    }
}

/// What one capture produced.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// When it was taken (the trigger's tick, or the baseline's).
    pub taken_at: Timestamp,
    /// `(path inside the bundle, bytes)`, in a stable order.
    pub files: Vec<(String, Vec<u8>)>,
    /// What could not be taken or was cut, one sentence each, naming the path.
    pub notes: Vec<String>,
    /// How long the capture took.
    pub elapsed: Duration,
}

impl Diagnostics {
    /// Bytes in all files.
    #[must_use]
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|(_, b)| as_u64(b.len())).sum()
    }

    /// One line for the log: files, bytes, notes and time.
    #[must_use]
    pub fn summary(&self) -> String {
        format!(
            "{} files, {} bytes, {} notes in {:.1} ms",
            self.files.len(),
            self.total_bytes(),
            self.notes.len(),
            self.elapsed.as_secs_f64() * 1e3
        )
    }

    /// Redacts the text files (stack dumps can show argument values); the
    /// profiles under `diagnostics/pprof/` are left as served.
    pub fn redact(&mut self, redactor: &Redactor, counts: &mut Counts) {
        for (path, bytes) in &mut self.files {
            if !path.starts_with("diagnostics/pprof/") {
                *bytes = redactor.redact_bytes(std::mem::take(bytes), counts);
            }
        }
    }
}

/// Why a capture is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// A rule tripped: everything configured.
    Trigger,
    /// A routine baseline: user-space stacks and profiles only as `baselines` says.
    Baseline,
}

/// Reads the `/proc` files (and stacks) of `targets` under `proc_root`,
/// synchronously (blocking: run it off the async loop). No profiles: see
/// [`Capturer::capture`] for everything.
#[must_use]
pub fn capture(
    config: &Config,
    targets: &[ProcessTarget],
    proc_root: &Path,
    now: Timestamp,
) -> Diagnostics {
    let started = Instant::now();
    let mut out = Out::new(config.max_file_bytes, config.max_total_bytes);
    if config.enabled {
        capture_processes(config, targets, proc_root, &mut out);
    }
    let (files, notes) = out.finish();
    Diagnostics {
        taken_at: now,
        files,
        notes,
        elapsed: started.elapsed(),
    }
}

fn capture_processes(config: &Config, targets: &[ProcessTarget], proc_root: &Path, out: &mut Out) {
    let mut alive: Vec<(String, u32)> = Vec::new();
    for t in targets {
        let Some(name) = folder(&t.name) else {
            out.note(format!(
                "processes: {:?} cannot name a folder in a bundle; skipped",
                t.name
            ));
            continue;
        };
        if name != t.name {
            out.note(format!(
                "processes/{name}: the watch entry {:?} is stored as {name:?} (Windows cannot hold its name)",
                t.name
            ));
        }
        if t.pids.is_empty() {
            out.note(format!(
                "processes/{name}: no process matched when the diagnostics were taken"
            ));
        }
        if t.pids.len() > config.max_processes {
            out.note(format!(
                "processes/{name}: {} more processes not read (diagnostics.max_processes is {})",
                t.pids.len() - config.max_processes,
                config.max_processes
            ));
        }
        for &pid in t.pids.iter().take(config.max_processes) {
            if procfs::process(proc_root, &name, pid, config, out) {
                alive.push((name.clone(), pid));
            }
        }
    }
    if config.user_stacks && !alive.is_empty() {
        user_stacks(config, proc_root, &alive, out);
    }
}

/// `stacks.txt` of every process still there, at most [`PARALLEL_STACKS`] at once.
fn user_stacks(config: &Config, proc_root: &Path, procs: &[(String, u32)], out: &mut Out) {
    let Some(tool) = Tool::find(config) else {
        out.note(format!(
            "processes: no user-space stacks: neither {:?} nor {:?} was found (install elfutils for eu-stack, or gdb)",
            config.eu_stack.display().to_string(),
            config.gdb.display().to_string()
        ));
        return;
    };
    let me = std::process::id();
    let (own, others): (Vec<_>, Vec<_>) = procs.iter().partition(|(_, pid)| *pid == me);
    for (name, pid) in own {
        out.note(format!(
            "processes/{name}/{pid}/stacks.txt: not taken: this is the agent itself, which a debugger would stop"
        ));
    }
    let cap = out.max_file();
    for chunk in others.chunks(PARALLEL_STACKS) {
        let dumps: Vec<_> = std::thread::scope(|s| {
            let running: Vec<_> = chunk
                .iter()
                .map(|(_, pid)| {
                    s.spawn(|| stacks::dump(&tool, *pid, proc_root, config.stack_timeout, cap))
                })
                .collect();
            running.into_iter().map(|h| h.join().ok()).collect()
        });
        for ((name, pid), dump) in chunk.iter().zip(dumps) {
            let path = format!("processes/{name}/{pid}/stacks.txt");
            let Some(dump) = dump else {
                out.note(format!("{path}: the {} run failed", tool.name()));
                continue;
            };
            for note in dump.notes {
                out.note(format!("{path}: {note}"));
            }
            if !dump.stdout.is_empty() {
                let mut bytes = format!("# {} -p {pid}\n", tool.name()).into_bytes();
                bytes.extend_from_slice(&dump.stdout);
                out.file(path, bytes, None, dump.cut);
            }
        }
    }
}

/// Takes diagnostics: the watched processes found again at each capture,
/// and the profiles, with one HTTP client for all. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Capturer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    processes: processes::Config,
    client: Result<reqwest::Client, String>,
}

impl Capturer {
    /// A capturer for `config`, finding processes as `processes` (the
    /// `collectors.processes` section) says.
    #[must_use]
    pub fn new(config: &Config, processes: &processes::Config) -> Self {
        let client = if config.pprof.is_empty() {
            Err("no profiles are configured".to_owned())
        } else {
            pprof::client()
        };
        Self {
            inner: Arc::new(Inner {
                config: config.clone(),
                processes: processes.clone(),
                client,
            }),
        }
    }

    /// Everything, for a trigger or a baseline taken at `now`: processes on
    /// tokio's blocking pool while the profiles are fetched. Must run inside
    /// a tokio runtime. Takes as long as the slowest part: a few ms for
    /// `/proc`, up to `stack_timeout` per four processes for stacks, the
    /// longest profile `timeout`.
    pub async fn capture(&self, now: Timestamp, purpose: Purpose) -> Diagnostics {
        let started = Instant::now();
        let c = &self.inner.config;
        if !c.enabled {
            return Diagnostics {
                taken_at: now,
                ..Diagnostics::default()
            };
        }
        let baseline = purpose == Purpose::Baseline;
        let mut config = c.clone();
        config.user_stacks = c.user_stacks && (!baseline || c.baselines.user_stacks);
        let profiles: &[ProfileConfig] = if baseline && !c.baselines.pprof {
            &[]
        } else {
            &c.pprof
        };
        let inner = Arc::clone(&self.inner);
        let local = tokio::task::spawn_blocking(move || {
            let mut out = Out::new(config.max_file_bytes, config.max_total_bytes);
            match ProcessTarget::find(&inner.processes) {
                Ok(targets) => {
                    capture_processes(&config, &targets, &inner.processes.proc_root, &mut out)
                }
                Err(e) => out.note(format!("processes: cannot find the watched processes: {e}")),
            }
            out
        });
        let fetched = async {
            match (&self.inner.client, profiles.is_empty()) {
                (_, true) => Vec::new(),
                (Ok(client), false) => pprof::fetch_all(client, profiles).await,
                (Err(e), false) => profiles
                    .iter()
                    .map(|p| pprof::Fetched {
                        name: p.name.clone(),
                        max_bytes: p.max_bytes,
                        body: Err(format!("no HTTP client: {e}")),
                    })
                    .collect(),
            }
        };
        let (local, fetched) = tokio::join!(local, fetched);
        let mut out = local.unwrap_or_else(|e| {
            let mut out = Out::new(c.max_file_bytes, c.max_total_bytes);
            out.note(format!("processes: the diagnostics task failed: {e}"));
            out
        });
        for f in fetched {
            let path = format!("diagnostics/pprof/{}", f.name);
            match f.body {
                Ok((bytes, cut)) => out.file(path, bytes, Some(f.max_bytes), cut),
                Err(e) => out.note(format!("{path}: {e}")),
            }
        }
        let (files, notes) = out.finish();
        Diagnostics {
            taken_at: now,
            files,
            notes,
            elapsed: started.elapsed(),
        }
    }
}
