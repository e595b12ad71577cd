//! Reading the metrics of this process from `<proc_root>/self`: `status`
//! (`VmRSS`, `Threads`), the entries of `fd/`, and the soft
//! `Max open files` of `limits`. Each read is small and bounded; a file
//! that cannot be read makes that metric unavailable for the tick.

use std::path::Path;

/// What `status` gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) rss_bytes: Option<u64>,
    pub(crate) threads: Option<u64>,
}

/// Longest `status` read (it is about 1.5 KiB).
const STATUS_CAP: u64 = 64 * 1024;

pub(crate) fn status(proc_root: &Path) -> std::io::Result<Status> {
    let text = read_capped(&proc_root.join("self/status"), STATUS_CAP)?;
    Ok(parse_status(&text))
}

pub(crate) fn parse_status(text: &str) -> Status {
    let mut out = Status::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let mut words = value.split_whitespace();
        let number = words.next().and_then(|v| v.parse::<u64>().ok());
        match key {
            // `VmRSS:     1234 kB`
            "VmRSS" => out.rss_bytes = number.map(|kb| kb.saturating_mul(1024)),
            "Threads" => out.threads = number,
            _ => {}
        }
    }
    out
}

/// Open descriptors: the entries of `fd/`.
pub(crate) fn fd_count(proc_root: &Path) -> std::io::Result<u64> {
    let mut n = 0_u64;
    for entry in std::fs::read_dir(proc_root.join("self/fd"))? {
        if entry.is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

/// The soft `RLIMIT_NOFILE` (`None`: unlimited or unreadable).
pub(crate) fn nofile_limit(proc_root: &Path) -> Option<u64> {
    let text = read_capped(&proc_root.join("self/limits"), STATUS_CAP).ok()?;
    parse_nofile(&text)
}

pub(crate) fn parse_nofile(text: &str) -> Option<u64> {
    // `Max open files            1024                 1048576              files`
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .get("Max open files".len()..)?
        .split_whitespace()
        .next()?;
    soft.parse().ok()
}

/// `MemAvailable` of `<proc_root>/meminfo`, in bytes.
pub(crate) fn mem_available(proc_root: &Path) -> Option<u64> {
    let text = read_capped(&proc_root.join("meminfo"), STATUS_CAP).ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// The process start time in clock ticks after boot (field 22 of `stat`):
/// with the pid, it tells this process from a later one given the same pid.
pub(crate) fn start_ticks(proc_root: &Path, pid: &str) -> Option<u64> {
    let text = read_capped(&proc_root.join(pid).join("stat"), 4096).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The host name (`<proc_root>/sys/kernel/hostname`, else `HOSTNAME`).
pub(crate) fn hostname(proc_root: &Path) -> String {
    read_capped(&proc_root.join("sys/kernel/hostname"), 256)
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// At most `cap` bytes of a text file.
pub(crate) fn read_capped(path: &Path, cap: u64) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap).read_to_end(&mut bytes)?;
    text.push_str(&String::from_utf8_lossy(&bytes));
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_gives_rss_and_threads() {
        let text = "Name:\tsvc\nVmPeak:\t 9000 kB\nVmRSS:\t    2048 kB\nThreads:\t17\n";
        assert_eq!(
            parse_status(text),
            Status {
                rss_bytes: Some(2048 * 1024),
                threads: Some(17)
            }
        );
        assert_eq!(parse_status("garbage"), Status::default());
    }

    #[test]
    fn the_soft_nofile_limit_is_read() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\n\
                    Max processes             63603                63603                processes\n\
                    Max open files            1024                 1048576              files\n";
        assert_eq!(parse_nofile(text), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_nofile(unlimited), None);
    }

    #[test]
    fn the_live_process_can_be_read() {
        let proc_root = Path::new("/proc");
        if !proc_root.join("self/status").exists() {
            return;
        }
        let s = status(proc_root).unwrap();
        assert!(s.rss_bytes.unwrap() > 0);
        assert!(s.threads.unwrap() >= 1);
        assert!(fd_count(proc_root).unwrap() >= 3);
        assert!(nofile_limit(proc_root).is_some());
        assert!(start_ticks(proc_root, "self").is_some());
    }
}
