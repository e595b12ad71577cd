//! Reading one process's files under `<proc_root>/<pid>/`, and the few
//! machine-wide files the watcher needs. Every read is capped in size, and a
//! process that is gone (`ENOENT`, `ESRCH`) is told apart from a real failure.

use std::{
    io::{self, BufRead as _, Read as _},
    path::Path,
};

/// Why a read gave nothing.
#[derive(Debug)]
pub(super) enum Fail {
    /// The process (or the file) is gone: normal, not a problem.
    Gone,
    /// Anything else, with the path in the message.
    Other(String),
}

type Read<T> = Result<T, Fail>;

/// `ESRCH` on Linux: reading a file of a process that just exited.
const ESRCH: i32 = 3;

fn fail(path: &Path, e: &io::Error) -> Fail {
    if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(ESRCH) {
        Fail::Gone
    } else {
        Fail::Other(format!("{}: {e}", path.display()))
    }
}

fn malformed(path: &Path, what: &str) -> Fail {
    Fail::Other(format!("{}: {what}", path.display()))
}

/// At most `cap` bytes of a file, as text (invalid UTF-8 replaced).
fn read_capped(path: &Path, cap: u64) -> Read<String> {
    let file = std::fs::File::open(path).map_err(|e| fail(path, &e))?;
    let mut buf = Vec::new();
    file.take(cap)
        .read_to_end(&mut buf)
        .map_err(|e| fail(path, &e))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The pids in `proc_root`: its numeric entries.
pub(super) fn list_pids(proc_root: &Path) -> Result<Vec<u32>, String> {
    let entries =
        std::fs::read_dir(proc_root).map_err(|e| format!("{}: {e}", proc_root.display()))?;
    Ok(entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid > 0)
        .collect())
}

/// `<pid>/comm` without its newline.
pub(super) fn comm(dir: &Path) -> Read<String> {
    let mut s = read_capped(&dir.join("comm"), 64)?;
    s.truncate(s.trim_end_matches('\n').len());
    Ok(s)
}

/// The fields of `<pid>/stat` the watcher uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stat {
    /// `R`, `S`, `D`, `Z`, …
    pub(super) state: char,
    /// `utime + stime`, clock ticks.
    pub(super) ticks: u64,
    /// `num_threads`.
    pub(super) threads: u64,
    /// `starttime`: clock ticks after boot.
    pub(super) start: u64,
}

/// `<pid>/stat`. The name in parentheses may hold anything, so fields are
/// counted from the last `)`.
pub(super) fn stat(dir: &Path) -> Read<Stat> {
    let path = dir.join("stat");
    let text = read_capped(&path, 4096)?;
    parse_stat(&text).ok_or_else(|| malformed(&path, "not a process stat line"))
}

fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    // Fields 3.. of proc_pid_stat(5): rest[0] is field 3 (state).
    let f: Vec<&str> = rest.split_whitespace().take(20).collect();
    let num = |i: usize| f.get(i)?.parse::<u64>().ok();
    let state = f.first()?.chars().next()?;
    let ticks = num(11)?.checked_add(num(12)?)?;
    Some(Stat {
        state,
        ticks,
        threads: num(17)?,
        start: num(19)?,
    })
}

/// `VmRSS` of `<pid>/status` in bytes; 0 when absent (kernel threads, zombies).
pub(super) fn rss_bytes(dir: &Path) -> Read<u64> {
    let path = dir.join("status");
    let text = read_capped(&path, 64 * 1024)?;
    let Some(value) = text.lines().find_map(|l| l.strip_prefix("VmRSS:")) else {
        return Ok(0);
    };
    let kb = value.trim().trim_end_matches("kB").trim().parse::<u64>();
    kb.ok()
        .and_then(|kb| kb.checked_mul(1024))
        .ok_or_else(|| malformed(&path, "VmRSS is not a size in kB"))
}

/// Entries in `<pid>/fd/`.
pub(super) fn fd_count(dir: &Path) -> Read<u64> {
    let path = dir.join("fd");
    let entries = std::fs::read_dir(&path).map_err(|e| fail(&path, &e))?;
    Ok(entries.filter(Result::is_ok).count() as u64)
}

/// The soft "Max open files" limit of `<pid>/limits`; `None` when unlimited.
pub(super) fn fd_limit(dir: &Path) -> Read<Option<u64>> {
    let path = dir.join("limits");
    let text = read_capped(&path, 16 * 1024)?;
    let line = text.lines().find_map(|l| l.strip_prefix("Max open files"));
    match line.and_then(|l| l.split_whitespace().next()) {
        Some("unlimited") => Ok(None),
        Some(soft) => soft
            .parse()
            .map(Some)
            .map_err(|_| malformed(&path, "bad \"Max open files\" soft limit")),
        None => Err(malformed(&path, "no \"Max open files\" line")),
    }
}

/// `<pid>/cmdline` with its NUL separators turned into spaces (first 64 KiB).
pub(super) fn cmdline(dir: &Path) -> Read<String> {
    let text = read_capped(&dir.join("cmdline"), 64 * 1024)?;
    Ok(text.trim_end_matches('\0').replace('\0', " "))
}

/// `<pid>/cgroup` (first 64 KiB).
pub(super) fn cgroup(dir: &Path) -> Read<String> {
    read_capped(&dir.join("cgroup"), 64 * 1024)
}

/// The pid in a pid file; `None` while the file does not exist.
pub(super) fn pid_file(path: &Path) -> Result<Option<u32>, String> {
    match read_capped(path, 64) {
        Ok(text) => match text.trim().parse::<u32>() {
            Ok(pid) if pid > 0 => Ok(Some(pid)),
            _ => Err(format!("{}: does not hold a pid", path.display())),
        },
        Err(Fail::Gone) => Ok(None),
        Err(Fail::Other(e)) => Err(e),
    }
}

/// `btime` of `<proc_root>/stat`: boot time, seconds since the epoch.
pub(super) fn boot_time(proc_root: &Path) -> Result<u64, String> {
    let path = proc_root.join("stat");
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader = io::BufReader::new(file.take(1024 * 1024));
    for line in reader.split(b'\n') {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(rest) = line.strip_prefix(b"btime ") {
            let value = String::from_utf8_lossy(rest).trim().parse::<u64>();
            return value.map_err(|_| format!("{}: bad btime", path.display()));
        }
    }
    Err(format!("{}: no btime line", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 5 0 900 1000 10 0\n";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                state: 'S',
                ticks: 10,
                threads: 5,
                start: 900
            })
        );
        for bad in [
            "",
            "(x)",
            "1 (x)",
            "1 (x) S 1 2",
            "\u{fffd}\u{fffd})",
            "1 (x) S 1 1 1 0 -1 0 0 0 0 0 18446744073709551615 1 0 0 20 0 1 0 1",
        ] {
            assert_eq!(parse_stat(bad), None, "{bad:?}");
        }
    }
}
