//! Helpers shared by the system readers: bounded reads into a reused
//! buffer, series-name building from outside names, counter rates and the
//! re-discovery timer.

use std::{
    io::{self, Read as _},
    path::Path,
    time::Duration,
};

use rewind_model::SeriesName;

/// Largest file read, in bytes. Proc and sysfs files are far smaller (even
/// `/proc/stat` on a large server is tens of kilobytes); a bigger one is
/// hostile and is refused rather than buffered.
pub(super) const MAX_FILE: u64 = 1 << 20;

/// Longest outside name (interface, device, mount, zone) kept in a series name.
const MAX_PART: usize = 120;

/// Reads `path` into `buf` (cleared first), reusing its allocation.
///
/// Files stay open between passes (per collector thread): proc and sysfs
/// files regenerate their content when read again from offset 0, and
/// skipping open/close roughly halves the cost of a 10 Hz pass. A cached
/// handle that fails (the sensor or cgroup went away) is dropped and the
/// path opened afresh once.
///
/// # Errors
/// Open or read failures (with the path in the message), invalid UTF-8, or a
/// file larger than [`MAX_FILE`].
pub(super) fn read_to(path: &Path, buf: &mut String) -> io::Result<()> {
    buf.clear();
    let cached = OPEN.with_borrow_mut(|open| {
        open.get_mut(path)
            .map(|file| reread(file, buf))
            .map(|r| r.is_ok())
    });
    match cached {
        Some(true) => return check_size(path, buf),
        Some(false) => {
            OPEN.with_borrow_mut(|open| open.remove(path));
            buf.clear();
        }
        None => {}
    }
    let mut file = fs_err::File::open(path)?.into_parts().0;
    reread(&mut file, buf)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    if is_kernel_generated(&file) {
        OPEN.with_borrow_mut(|open| {
            if open.len() >= MAX_OPEN {
                open.clear(); // paths come and go (zones, cgroups): start over rather than grow
            }
            open.insert(path.to_path_buf(), file);
        });
    }
    check_size(path, buf)
}

/// Whether the file lives on procfs, sysfs or cgroupfs: there a kept handle
/// rereads current content, and fails once the node is gone. A regular file
/// (a fixture tree, a copied snapshot) may be replaced or unlinked while a
/// handle would keep reading the old content, so it is opened every time.
fn is_kernel_generated(file: &std::fs::File) -> bool {
    const PROC: u64 = 0x9fa0;
    const SYSFS: u64 = 0x6265_6572;
    const CGROUP2: u64 = 0x6367_7270;
    const CGROUP1: u64 = 0x0027_e0eb;
    rustix::fs::fstatfs(file).is_ok_and(|st| {
        #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
        // f_type's width varies by target
        let kind = st.f_type as u64;
        matches!(kind, PROC | SYSFS | CGROUP2 | CGROUP1)
    })
}

/// Most files kept open per collector thread.
const MAX_OPEN: usize = 256;

thread_local! {
    static OPEN: std::cell::RefCell<std::collections::HashMap<std::path::PathBuf, std::fs::File>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Reads the whole file from offset 0, at most [`MAX_FILE`] + 1 bytes.
fn reread(file: &mut std::fs::File, buf: &mut String) -> io::Result<()> {
    use std::io::Seek as _;
    file.seek(io::SeekFrom::Start(0))?;
    io::Read::by_ref(file)
        .take(MAX_FILE + 1)
        .read_to_string(buf)?;
    Ok(())
}

fn check_size(path: &Path, buf: &mut String) -> io::Result<()> {
    if buf.len() as u64 > MAX_FILE {
        buf.clear();
        return Err(io::Error::other(format!(
            "{}: larger than {MAX_FILE} bytes",
            path.display()
        )));
    }
    Ok(())
}

/// Reads a sysfs file holding one unsigned number.
///
/// # Errors
/// As [`read_to`], or `InvalidData` when the content is not a number.
pub(super) fn read_u64(path: &Path, buf: &mut String) -> io::Result<u64> {
    read_to(path, buf)?;
    buf.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a number: {:?}", path.display(), clip(buf)),
        )
    })
}

/// Reads a sysfs file holding one signed number (temperatures can be negative).
///
/// # Errors
/// As [`read_u64`].
pub(super) fn read_i64(path: &Path, buf: &mut String) -> io::Result<i64> {
    read_to(path, buf)?;
    buf.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a number: {:?}", path.display(), clip(buf)),
        )
    })
}

/// The value of the first reading of `name` in a batch (for tests).
#[cfg(test)]
pub(super) fn value(b: &super::Batch, name: &str) -> Option<f64> {
    b.readings
        .iter()
        .find(|r| r.series.as_str() == name)
        .map(|r| r.value)
}

/// At most 40 characters of `s`, for error messages about hostile content.
pub(super) fn clip(s: &str) -> String {
    s.trim().chars().take(40).collect()
}

/// Whether an error means "the thing is not there" (a sensor, a cgroup, a
/// core that went offline) rather than a failure worth reporting.
pub(super) fn is_gone(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound)
}

/// An outside name (interface, block device, mount path, thermal zone type)
/// as one series-name segment: every character outside `[A-Za-z0-9_-]`
/// (including `.` and `/`) becomes `_`, leading and trailing `_` are
/// dropped, and the result is cut to 120 characters. `None` when nothing is
/// left.
pub(super) fn segment(raw: &str) -> Option<String> {
    let mapped: String = raw
        .chars()
        .take(MAX_PART * 2)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('_');
    let cut: String = trimmed.chars().take(MAX_PART).collect();
    (!cut.is_empty()).then_some(cut)
}

/// `prefix.part.metric` as a series name (`part` already a [`segment`]).
pub(super) fn named(prefix: &str, part: &str, metric: &str) -> Option<SeriesName> {
    SeriesName::new(format!("{prefix}.{part}.{metric}")).ok()
}

/// The same metrics for one outside thing, e.g. `net.eth0.rx_bytes_per_s`, …
pub(super) fn names<const N: usize>(
    prefix: &str,
    part: &str,
    metrics: [&str; N],
) -> Option<[SeriesName; N]> {
    let v: Vec<SeriesName> = metrics
        .iter()
        .filter_map(|m| named(prefix, part, m))
        .collect();
    v.try_into().ok()
}

/// Per-second rate of a counter between two readings `secs` apart; `None`
/// when the counter went backwards (reset, device re-created) or no time passed.
#[allow(clippy::cast_precision_loss)] // counter deltas are far below 2^52
pub(super) fn rate(prev: u64, cur: u64, secs: f64) -> Option<f64> {
    let delta = cur.checked_sub(prev)?;
    (secs > 0.0).then(|| delta as f64 / secs)
}

/// Seconds between two pass times; `None` when not positive.
pub(super) fn secs_between(prev: Duration, now: Duration) -> Option<f64> {
    let d = now.checked_sub(prev)?.as_secs_f64();
    (d > 0.0).then_some(d)
}

/// A timer for re-listing directories (cores, zones, cgroups) now and then
/// instead of on every pass.
#[derive(Debug)]
pub(super) struct Every {
    period: Duration,
    last: Option<Duration>,
}

impl Every {
    /// Due on the first check, then once per `period`.
    pub(super) fn new(period: Duration) -> Self {
        Self { period, last: None }
    }

    /// Whether it is time (and if so, restarts the period at `now`).
    pub(super) fn due(&mut self, now: Duration) -> bool {
        let due = self
            .last
            .is_none_or(|last| now.saturating_sub(last) >= self.period);
        if due {
            self.last = Some(now);
        }
        due
    }

    /// Makes the next check due (something vanished, look again).
    pub(super) fn force(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_kept_proc_handle_reads_current_content_and_a_regular_file_is_reopened() {
        let mut buf = String::new();
        read_to(Path::new("/proc/uptime"), &mut buf).unwrap();
        let first = buf.clone();
        std::thread::sleep(Duration::from_millis(30));
        read_to(Path::new("/proc/uptime"), &mut buf).unwrap();
        assert_ne!(
            first, buf,
            "a cached /proc handle must not return stale content"
        );

        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("temp");
        std::fs::write(&f, "1").unwrap();
        assert_eq!(read_u64(&f, &mut buf).unwrap(), 1);
        std::fs::remove_file(&f).unwrap();
        std::fs::write(dir.path().join("temp.new"), "2").unwrap();
        std::fs::rename(dir.path().join("temp.new"), &f).unwrap();
        assert_eq!(
            read_u64(&f, &mut buf).unwrap(),
            2,
            "a replaced regular file is read anew"
        );
    }

    use super::*;

    #[test]
    fn outside_names_become_valid_segments() {
        assert_eq!(segment("eth0").as_deref(), Some("eth0"));
        assert_eq!(segment("/var/lib").as_deref(), Some("var_lib"));
        assert_eq!(segment("CPU-therm").as_deref(), Some("CPU-therm"));
        assert_eq!(segment("cciss!c0d0").as_deref(), Some("cciss_c0d0"));
        assert_eq!(segment("/"), None);
        assert_eq!(segment("ü").as_deref(), None);
        let long = segment(&"a".repeat(500)).unwrap();
        assert_eq!(long.len(), 120);
        assert!(named("disk", &long, "inodes_used_pct").is_some());
    }

    #[test]
    fn rates_refuse_backwards_counters_and_zero_time() {
        assert_eq!(rate(100, 300, 2.0), Some(100.0));
        assert_eq!(rate(300, 100, 2.0), None);
        assert_eq!(rate(1, 2, 0.0), None);
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'1'; usize::try_from(MAX_FILE).unwrap() + 10]).unwrap();
        let mut buf = String::new();
        assert!(read_to(&big, &mut buf).is_err());
        assert!(buf.is_empty());
        let n = dir.path().join("n");
        std::fs::write(&n, "42\n").unwrap();
        assert_eq!(read_u64(&n, &mut buf).unwrap(), 42);
        std::fs::write(&n, "x\n").unwrap();
        assert!(read_u64(&n, &mut buf).is_err());
        assert!(is_gone(
            &read_to(&dir.path().join("none"), &mut buf).unwrap_err()
        ));
    }

    #[test]
    fn every_is_due_first_then_per_period() {
        let mut e = Every::new(Duration::from_secs(60));
        assert!(e.due(Duration::ZERO));
        assert!(!e.due(Duration::from_secs(59)));
        assert!(e.due(Duration::from_secs(60)));
        e.force();
        assert!(e.due(Duration::from_secs(61)));
    }
}
