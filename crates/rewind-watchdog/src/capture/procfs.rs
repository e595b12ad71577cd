//! The process's `/proc` files, under `proc/` in a capture:
//!
//! - `status.txt`, `limits.txt`, `smaps_rollup.txt`, `cgroup.txt`: copies.
//! - `fds.txt`: `<fd> -> <target>` per open descriptor, by number, at most
//!   [`MAX_FDS`].
//! - `threads.txt`: one tab-separated line per thread (`task/<tid>/stat`,
//!   `wchan`, `syscall`): tid, name, state, user and system ticks, the
//!   kernel function it waits in, and the system call it is in (number, or
//!   `running`). At most [`MAX_THREADS`]. This is the thread snapshot when
//!   no stack tool is installed.
//! - `kernel-stacks.txt`: `task/<tid>/stack` per thread where the kernel
//!   shows it (root only); otherwise a note.

use std::path::Path;

use super::Draft;
use crate::thresholds::read::read_capped;

/// Descriptors listed at most.
pub const MAX_FDS: usize = 10_000;
/// Threads listed at most.
pub const MAX_THREADS: usize = 4_096;
/// Largest copied file.
const FILE_CAP: u64 = 1024 * 1024;

const COPIED: [(&str, &str, &str); 4] = [
    ("status", "proc/status.txt", "/proc/self/status"),
    ("limits", "proc/limits.txt", "/proc/self/limits"),
    (
        "smaps_rollup",
        "proc/smaps_rollup.txt",
        "/proc/self/smaps_rollup",
    ),
    ("cgroup", "proc/cgroup.txt", "/proc/self/cgroup"),
];

/// Everything above.
pub(crate) fn snapshot(proc_root: &Path, draft: &mut Draft) {
    copies(proc_root, draft, &COPIED);
    fds(proc_root, draft);
    threads(proc_root, draft, "proc/threads.txt", true);
}

/// `status` and `smaps_rollup` only (baselines).
pub(crate) fn memory(proc_root: &Path, draft: &mut Draft) {
    copies(proc_root, draft, &[COPIED[0], COPIED[2]]);
}

fn copies(proc_root: &Path, draft: &mut Draft, which: &[(&str, &str, &str)]) {
    let dir = proc_root.join("self");
    for (src, dst, what) in which {
        let path = dir.join(src);
        match read_capped(&path, FILE_CAP) {
            Ok(text) => draft.file(dst, text.as_bytes(), what),
            Err(e) => draft.note(format!("{dst}: cannot read {}: {e}", path.display())),
        }
    }
}

/// Entries of a numeric directory, sorted.
fn numbered(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut ids: Vec<u64> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

fn fds(proc_root: &Path, draft: &mut Draft) {
    let dir = proc_root.join("self/fd");
    let all = match numbered(&dir) {
        Ok(a) => a,
        Err(e) => return draft.note(format!("proc/fds.txt: cannot list {}: {e}", dir.display())),
    };
    let mut text = String::new();
    for fd in all.iter().take(MAX_FDS) {
        let target = match std::fs::read_link(dir.join(fd.to_string())) {
            Ok(t) => t.to_string_lossy().into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // closed meanwhile
            Err(e) => format!("(unreadable: {e})"),
        };
        text.push_str(&format!("{fd} -> {target}\n"));
    }
    if all.len() > MAX_FDS {
        draft.note(format!(
            "proc/fds.txt: {} more descriptors not listed (at most {MAX_FDS})",
            all.len() - MAX_FDS
        ));
    }
    draft.file(
        "proc/fds.txt",
        text.as_bytes(),
        "open file descriptors and their targets",
    );
}

/// The fields of `task/<tid>/stat` kept.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ThreadStat {
    pub(crate) name: String,
    pub(crate) state: char,
    pub(crate) utime: u64,
    pub(crate) stime: u64,
}

/// Parses a stat line, counting fields from the last `)` (names may hold anything).
pub(crate) fn parse_stat(text: &str) -> Option<ThreadStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.replace(['\t', '\n'], " ");
    let f: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let num = |i: usize| f.get(i)?.parse::<u64>().ok();
    Some(ThreadStat {
        name,
        state: f.first()?.chars().next()?,
        utime: num(11)?,
        stime: num(12)?,
    })
}

/// The thread table at `dst` (and, with `kernel`, `proc/kernel-stacks.txt`).
pub(crate) fn threads(proc_root: &Path, draft: &mut Draft, dst: &str, kernel: bool) {
    let task = proc_root.join("self/task");
    let tids = match numbered(&task) {
        Ok(t) => t,
        Err(e) => return draft.note(format!("{dst}: cannot list {}: {e}", task.display())),
    };
    if tids.len() > MAX_THREADS {
        draft.note(format!(
            "{dst}: {} more threads not listed (at most {MAX_THREADS})",
            tids.len() - MAX_THREADS
        ));
    }
    let mut table = String::from("# tid\tname\tstate\tutime_ticks\tstime_ticks\twchan\tsyscall\n");
    let mut stacks = String::new();
    let mut stack_error = None;
    for tid in tids.into_iter().take(MAX_THREADS) {
        let tdir = task.join(tid.to_string());
        let Ok(stat) = read_capped(&tdir.join("stat"), 4096) else {
            continue; // the thread exited
        };
        let Some(stat) = parse_stat(&stat) else {
            table.push_str(&format!("{tid}\t?\t?\t\t\t\t\n"));
            continue;
        };
        let small = |file: &str| {
            read_capped(&tdir.join(file), 512)
                .map(|t| t.trim().to_owned())
                .unwrap_or_default()
        };
        let syscall = small("syscall");
        let syscall = syscall.split_whitespace().next().unwrap_or_default();
        table.push_str(&format!(
            "{tid}\t{}\t{}\t{}\t{}\t{}\t{syscall}\n",
            stat.name,
            stat.state,
            stat.utime,
            stat.stime,
            small("wchan"),
        ));
        if kernel && stack_error.is_none() && stacks.len() < FILE_CAP as usize {
            match read_capped(&tdir.join("stack"), 64 * 1024) {
                Ok(s) => {
                    stacks.push_str(&format!("== {tid} {} ({}) ==\n{s}", stat.name, stat.state));
                    if !stacks.ends_with('\n') {
                        stacks.push('\n');
                    }
                }
                Err(e) => stack_error = Some(e),
            }
        }
    }
    draft.file(
        dst,
        table.as_bytes(),
        "threads: state, CPU ticks, wait channel, system call",
    );
    if !kernel {
        return;
    }
    if let Some(e) = stack_error {
        draft.note(format!(
            "proc/kernel-stacks.txt: unreadable ({e}); the kernel shows task stacks to root only"
        ));
    } else if !stacks.is_empty() {
        draft.file(
            "proc/kernel-stacks.txt",
            stacks.as_bytes(),
            "kernel stacks per thread",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 5 0 900 1000\n";
        assert_eq!(
            parse_stat(line),
            Some(ThreadStat {
                name: "a) b (c)".into(),
                state: 'S',
                utime: 7,
                stime: 3
            })
        );
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
        assert_eq!(parse_stat(""), None);
    }
}
