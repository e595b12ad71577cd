//! Watch entries checked and compiled: the selector of each entry and the
//! names of its series. Every problem in the config is reported at once.

use std::path::PathBuf;

use regex::Regex;
use rewind_model::SeriesName;

use super::Watch;

/// The kernel keeps at most this many bytes of a process name (`comm`).
const COMM_MAX: usize = 15;
/// Longest watch name (series names have room for it).
const NAME_MAX: usize = 64;

/// How a watch entry picks its processes.
#[derive(Debug)]
pub(super) enum Selector {
    /// `<pid>/comm` equals this.
    Process(String),
    /// The pid written in this file.
    PidFile(PathBuf),
    /// `<pid>/cmdline`, arguments joined by spaces, matches.
    Cmdline(Regex),
    /// A path in `<pid>/cgroup` has this unit as one of its components.
    SystemdUnit(String),
}

impl Selector {
    /// Whether matching needs `cmdline` or `cgroup` (cached per pid).
    pub(super) fn is_deep(&self) -> bool {
        matches!(self, Self::Cmdline(_) | Self::SystemdUnit(_))
    }
}

/// A usable watch entry.
#[derive(Debug)]
pub(super) struct Target {
    /// The entry's name.
    pub(super) name: String,
    /// How it picks processes.
    pub(super) selector: Selector,
    /// Its series.
    pub(super) series: Series,
}

/// The series of one watch entry, named once.
#[derive(Debug)]
pub(super) struct Series {
    pub(super) count: SeriesName,
    pub(super) cpu_pct: SeriesName,
    pub(super) rss_bytes: SeriesName,
    pub(super) threads: SeriesName,
    pub(super) fds: SeriesName,
    pub(super) fd_limit: SeriesName,
    pub(super) fd_used_pct: SeriesName,
    pub(super) state_running: SeriesName,
    pub(super) state_sleeping: SeriesName,
    pub(super) state_disk_wait: SeriesName,
    pub(super) state_zombie: SeriesName,
    pub(super) uptime_s: SeriesName,
}

impl Series {
    fn new(name: &str) -> Result<Self, String> {
        let s = |metric: &str| {
            SeriesName::new(format!("process.{name}.{metric}")).map_err(|e| e.to_string())
        };
        Ok(Self {
            count: s("count")?,
            cpu_pct: s("cpu_pct")?,
            rss_bytes: s("rss_bytes")?,
            threads: s("threads")?,
            fds: s("fds")?,
            fd_limit: s("fd_limit")?,
            fd_used_pct: s("fd_used_pct")?,
            state_running: s("state_running")?,
            state_sleeping: s("state_sleeping")?,
            state_disk_wait: s("state_disk_wait")?,
            state_zombie: s("state_zombie")?,
            uptime_s: s("uptime_s")?,
        })
    }
}

/// Checks every entry; all problems are joined into one message.
pub(super) fn compile(watch: &[Watch]) -> Result<Vec<Target>, String> {
    let mut problems = Vec::new();
    let mut targets = Vec::new();
    for (i, w) in watch.iter().enumerate() {
        let at = if w.name.is_empty() {
            format!("watch[{i}]")
        } else {
            format!("watch[{i}] ({:?})", w.name)
        };
        let before = problems.len();
        check_name(watch, i, &at, &mut problems);
        let selector = selector(w, &at, &mut problems);
        if let Some(selector) = selector
            && problems.len() == before
        {
            match Series::new(&w.name) {
                Ok(series) => targets.push(Target {
                    name: w.name.clone(),
                    selector,
                    series,
                }),
                Err(e) => problems.push(format!("{at}: {e}")),
            }
        }
    }
    if problems.is_empty() {
        Ok(targets)
    } else {
        Err(problems.join("; "))
    }
}

fn check_name(all: &[Watch], i: usize, at: &str, problems: &mut Vec<String>) {
    let Some(name) = all.get(i).map(|w| w.name.as_str()) else {
        return;
    };
    if name.is_empty() {
        problems.push(format!("{at}: give it a `name` (a-z, 0-9, `_`, `-`); it names its series, e.g. process.<name>.count"));
        return;
    }
    let valid = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
    if name.len() > NAME_MAX || !name.bytes().all(valid) {
        problems.push(format!(
            "{at}: name {name:?} may only use a-z, 0-9, `_` and `-` (at most {NAME_MAX} characters), since it names series such as process.<name>.count"
        ));
    }
    if let Some(first) = all.iter().take(i).position(|o| o.name == name) {
        problems.push(format!(
            "{at}: name {name:?} is already used by watch[{first}]; give each entry its own name"
        ));
    }
}

fn selector(w: &Watch, at: &str, problems: &mut Vec<String>) -> Option<Selector> {
    let given: Vec<&str> = [
        ("process", w.process.is_some()),
        ("pid_file", w.pid_file.is_some()),
        ("cmdline", w.cmdline.is_some()),
        ("systemd_unit", w.systemd_unit.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect();
    if given.len() != 1 {
        let found = if given.is_empty() {
            "none".to_owned()
        } else {
            given.join(" and ")
        };
        problems.push(format!(
            "{at}: give exactly one of `process`, `pid_file`, `cmdline`, `systemd_unit` (found {found})"
        ));
        return None;
    }
    let checked = if let Some(p) = &w.process {
        process(p)
    } else if let Some(p) = &w.pid_file {
        pid_file(p)
    } else if let Some(re) = &w.cmdline {
        cmdline(re)
    } else {
        systemd_unit(w.systemd_unit.as_deref().unwrap_or_default())
    };
    checked
        .map_err(|e| problems.push(format!("{at}: {e}")))
        .ok()
}

fn process(comm: &str) -> Result<Selector, String> {
    if comm.is_empty() {
        return Err("`process` is empty: write the executable name as in /proc/<pid>/comm".into());
    }
    if comm.len() > COMM_MAX {
        let cut = comm
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take_while(|&end| end <= COMM_MAX)
            .last();
        let short = &comm[..cut.unwrap_or(0)];
        return Err(format!(
            "`process` {comm:?} can never match: the kernel cuts process names to {COMM_MAX} bytes; write {short:?} or use `cmdline`"
        ));
    }
    Ok(Selector::Process(comm.to_owned()))
}

fn pid_file(path: &std::path::Path) -> Result<Selector, String> {
    if path.as_os_str().is_empty() {
        return Err("`pid_file` is empty: write the path of the file holding the pid".into());
    }
    Ok(Selector::PidFile(path.to_path_buf()))
}

fn cmdline(re: &str) -> Result<Selector, String> {
    if re.is_empty() {
        return Err("`cmdline` is empty and would match every process: write a regex".into());
    }
    Regex::new(re).map(Selector::Cmdline).map_err(|e| {
        let why = e
            .to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        format!("`cmdline` {re:?} is not a valid regex ({why}); fix the pattern")
    })
}

fn systemd_unit(unit: &str) -> Result<Selector, String> {
    if unit.is_empty() || unit.contains('/') || !unit.contains('.') {
        return Err(format!(
            "`systemd_unit` {unit:?} is not a unit name: write the full name with its type, e.g. \"foo.service\""
        ));
    }
    Ok(Selector::SystemdUnit(unit.to_owned()))
}

/// Whether a `<pid>/cgroup` file puts the process inside `unit`.
pub(super) fn in_unit(cgroup: &str, unit: &str) -> bool {
    cgroup
        .lines()
        .filter_map(|line| line.splitn(3, ':').nth(2))
        .any(|path| path.split('/').any(|part| part == unit))
}
