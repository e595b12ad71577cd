//! One process's `/proc` files, as bundle files under
//! `processes/<watch name>/<pid>/`:
//!
//! - `status.txt`, `limits.txt`, `smaps_rollup.txt`: copies of the files.
//! - `fds.txt`: `<fd> -> <target>` for each open file descriptor (readlink
//!   of `fd/<n>`), by number, at most `max_fds`.
//! - `threads.txt`: one tab-separated line per thread (`task/<tid>/stat` and
//!   `wchan`): tid, name, state, user and system CPU time in clock ticks, the
//!   CPU it last ran on, and the kernel function it waits in. At most
//!   `max_threads`.
//! - `kernel-stacks.txt`: `task/<tid>/stack` of the same threads, each under
//!   a `== <tid> <name> (<state>) ==` line. The kernel shows these to root
//!   (`CAP_SYS_ADMIN`) only; otherwise a note says so.
//!
//! A process that exits while it is read gives what was read and a note.

use std::{
    io,
    path::{Path, PathBuf},
};

use super::{Config, out::Out, out::read_capped};

/// `ESRCH`: the process exited between opening and reading.
const ESRCH: i32 = 3;

/// The copied files: `(file in /proc/<pid>, file in the bundle)`.
const COPIED: [(&str, &str); 3] = [
    ("status", "status.txt"),
    ("limits", "limits.txt"),
    ("smaps_rollup", "smaps_rollup.txt"),
];

fn gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(ESRCH)
}

/// Reads one process into `out`; false when it was gone before anything was read.
pub(super) fn process(proc_root: &Path, name: &str, pid: u32, cfg: &Config, out: &mut Out) -> bool {
    let dir = proc_root.join(pid.to_string());
    let prefix = format!("processes/{name}/{pid}");
    for (i, (src, dst)) in COPIED.iter().enumerate() {
        let path = dir.join(src);
        match read_capped(&path, out.max_file()) {
            Ok((bytes, cut)) => out.file(format!("{prefix}/{dst}"), bytes, None, cut),
            Err(e) if i == 0 && gone(&e) => {
                out.note(format!(
                    "{prefix}: the process exited before its diagnostics were read"
                ));
                return false;
            }
            Err(e) => out.note(format!(
                "{prefix}/{dst}: cannot read {}: {e}",
                path.display()
            )),
        }
    }
    match fds(&dir, cfg.max_fds) {
        Ok((text, more)) => {
            if more > 0 {
                out.note(format!(
                    "{prefix}/fds.txt: {more} more file descriptors not listed (diagnostics.max_fds is {})",
                    cfg.max_fds
                ));
            }
            out.file(format!("{prefix}/fds.txt"), text.into_bytes(), None, false);
        }
        Err(e) => out.note(format!(
            "{prefix}/fds.txt: cannot list {}: {e}",
            dir.join("fd").display()
        )),
    }
    threads(&dir, &prefix, cfg, out);
    true
}

/// Entries of a numeric directory (`fd/`, `task/`), sorted.
fn numbered(dir: &Path) -> io::Result<Vec<u32>> {
    let mut ids: Vec<u32> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// `fds.txt` and how many descriptors were beyond `max`.
fn fds(dir: &Path, max: usize) -> io::Result<(String, usize)> {
    let fd_dir = dir.join("fd");
    let all = numbered(&fd_dir)?;
    let mut text = String::new();
    for fd in all.iter().take(max) {
        let target = match std::fs::read_link(fd_dir.join(fd.to_string())) {
            Ok(t) => t.to_string_lossy().into_owned(),
            Err(e) if gone(&e) => continue,
            Err(e) => format!("(unreadable: {e})"),
        };
        text.push_str(&format!("{fd} -> {target}\n"));
    }
    Ok((text, all.len().saturating_sub(max)))
}

/// The fields of `task/<tid>/stat` shown in `threads.txt`.
#[derive(Debug, PartialEq, Eq)]
struct ThreadStat {
    name: String,
    state: char,
    utime: u64,
    stime: u64,
    cpu: Option<u64>,
}

/// Parses a stat line; the name in parentheses may hold anything, so fields
/// are counted from the last `)`.
fn parse_stat(text: &str) -> Option<ThreadStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let f: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let num = |i: usize| f.get(i)?.parse::<u64>().ok();
    Some(ThreadStat {
        name,
        state: f.first()?.chars().next()?,
        utime: num(11)?,
        stime: num(12)?,
        cpu: num(36),
    })
}

/// `threads.txt` and `kernel-stacks.txt`.
fn threads(dir: &Path, prefix: &str, cfg: &Config, out: &mut Out) {
    let task = dir.join("task");
    let tids = match numbered(&task) {
        Ok(t) => t,
        Err(e) => {
            return out.note(format!(
                "{prefix}/threads.txt: cannot list {}: {e}",
                task.display()
            ));
        }
    };
    if tids.len() > cfg.max_threads {
        out.note(format!(
            "{prefix}/threads.txt: {} more threads not listed (diagnostics.max_threads is {})",
            tids.len() - cfg.max_threads,
            cfg.max_threads
        ));
    }
    let mut table = String::from("# tid\tname\tstate\tutime_ticks\tstime_ticks\tlast_cpu\twchan\n");
    let mut stacks = Stacks::new(cfg.kernel_stacks, out.max_file());
    for tid in tids.into_iter().take(cfg.max_threads) {
        let tdir = task.join(tid.to_string());
        let Ok((stat, _)) = read_capped(&tdir.join("stat"), 4096) else {
            continue; // the thread exited
        };
        let Some(stat) = parse_stat(&String::from_utf8_lossy(&stat)) else {
            table.push_str(&format!("{tid}\t?\t?\t\t\t\t\n"));
            continue;
        };
        let wchan = read_capped(&tdir.join("wchan"), 256)
            .map(|(b, _)| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default();
        let cpu = stat.cpu.map(|c| c.to_string()).unwrap_or_default();
        table.push_str(&format!(
            "{tid}\t{}\t{}\t{}\t{}\t{cpu}\t{wchan}\n",
            stat.name.replace(['\t', '\n'], " "),
            stat.state,
            stat.utime,
            stat.stime
        ));
        stacks.read(&tdir, tid, &stat);
    }
    out.file(
        format!("{prefix}/threads.txt"),
        table.into_bytes(),
        None,
        false,
    );
    stacks.finish(prefix, out);
}

/// `kernel-stacks.txt` being gathered; stops at the first refusal.
struct Stacks {
    enabled: bool,
    text: String,
    cap: usize,
    failure: Option<(PathBuf, io::Error)>,
    read: usize,
}

impl Stacks {
    fn new(enabled: bool, cap: u64) -> Self {
        Self {
            enabled,
            text: String::new(),
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
            failure: None,
            read: 0,
        }
    }

    fn read(&mut self, tdir: &Path, tid: u32, stat: &ThreadStat) {
        if !self.enabled || self.failure.is_some() || self.text.len() > self.cap {
            return;
        }
        let path = tdir.join("stack");
        match read_capped(&path, 64 * 1024) {
            Ok((bytes, _)) => {
                self.read += 1;
                self.text
                    .push_str(&format!("== {tid} {} ({}) ==\n", stat.name, stat.state));
                self.text.push_str(&String::from_utf8_lossy(&bytes));
                if !self.text.ends_with('\n') {
                    self.text.push('\n');
                }
            }
            Err(e) if gone(&e) && tdir.try_exists().unwrap_or(false) => {
                self.failure = Some((path, e));
            }
            Err(e) if gone(&e) => {} // the thread exited
            Err(e) => self.failure = Some((path, e)),
        }
    }

    fn finish(self, prefix: &str, out: &mut Out) {
        if let Some((path, e)) = self.failure {
            let why = match e.kind() {
                io::ErrorKind::PermissionDenied => {
                    "kernel stacks are shown to root (CAP_SYS_ADMIN) only; run the agent as root to get them".to_owned()
                }
                io::ErrorKind::NotFound => {
                    "this kernel does not expose them (CONFIG_STACKTRACE is off)".to_owned()
                }
                _ => format!("cannot read {}: {e}", path.display()),
            };
            out.note(format!("{prefix}/kernel-stacks.txt: unreadable: {why}"));
        }
        if self.read > 0 {
            let path = format!("{prefix}/kernel-stacks.txt");
            out.file(path, self.text.into_bytes(), None, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 5 0 900 1000 10 0 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n";
        assert_eq!(
            parse_stat(line),
            Some(ThreadStat {
                name: "a) b (c)".into(),
                state: 'S',
                utime: 7,
                stime: 3,
                cpu: Some(1),
            })
        );
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
        assert_eq!(parse_stat(""), None);
        assert_eq!(
            parse_stat("1 (x) R 1 1 1 0 -1 0 0 0 0 0 4 5").map(|s| (s.utime, s.cpu)),
            Some((4, None))
        );
    }
}
