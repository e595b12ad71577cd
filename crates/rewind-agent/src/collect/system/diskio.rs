//! Block-device I/O rates from `/proc/diskstats` (each line parsed by
//! procfs-core's `DiskStat::from_line`).
//!
//! Series per device (rates need two passes):
//! `diskio.<dev>.read_bytes_per_s`, `.write_bytes_per_s` (bytes_per_second;
//! sectors are 512 bytes whatever the device), `.reads_per_s`,
//! `.writes_per_s` (per_second, completed requests) and `.busy_pct`
//! (percent of wall time with I/O in flight, from `io_ticks`).
//!
//! Skipped unless configured: `loop*` and `ram*` devices, and partitions
//! (`zram*`, compressed swap in memory, is kept: Jetsons swap there).
//! A partition is recognised from the other names in the same file (`sda1`
//! next to `sda`, `nvme0n1p1` next to `nvme0n1`), so no sysfs listing is
//! needed. The file is read every pass, so devices that appear or vanish
//! are followed without re-discovery; at most 256 devices are tracked.

use std::{path::PathBuf, time::Duration};

use super::{
    Batch, Part,
    common::{names, read_to, segment},
    tracked::Table,
};
use procfs_core::DiskStat;

const MAX_DEVICES: usize = 256;
const SECTOR: f64 = 512.0;
const METRICS: [&str; 5] = [
    "read_bytes_per_s",
    "write_bytes_per_s",
    "reads_per_s",
    "writes_per_s",
    "busy_pct",
];

/// Follows `/proc/diskstats`.
#[derive(Debug)]
pub(super) struct DiskIo {
    path: PathBuf,
    include_partitions: bool,
    include_virtual: bool,
    devices: Table<5>,
}

impl DiskIo {
    pub(super) fn new(path: PathBuf, include_partitions: bool, include_virtual: bool) -> Self {
        Self {
            path,
            include_partitions,
            include_virtual,
            devices: Table::new(MAX_DEVICES),
        }
    }

    fn track(&mut self, d: &DiskStat, text: &str, now: Duration, out: &mut Batch) {
        let counters = [
            d.sectors_read,
            d.sectors_written,
            d.reads,
            d.writes,
            d.time_in_progress,
        ];
        let (partitions, virtuals) = (self.include_partitions, self.include_virtual);
        let names = || {
            let wanted =
                (virtuals || !is_virtual(&d.name)) && (partitions || !is_partition(&d.name, text));
            segment(&d.name)
                .filter(|_| wanted)
                .and_then(|s| names("diskio", &s, METRICS))
        };
        for (name, i, r) in self.devices.rates(&d.name, counters, now, names) {
            let (unit, v) = match i {
                0 | 1 => ("bytes_per_second", r * SECTOR),
                4 => ("percent", (r / 10.0).min(100.0)), // io milliseconds per second → percent
                _ => ("per_second", r),
            };
            out.reading(name, unit, v);
        }
    }
}

fn is_virtual(name: &str) -> bool {
    name.starts_with("loop") || name.starts_with("ram")
}

/// Whether another device in `text` (the whole file) is the disk `name` is a partition of.
fn is_partition(name: &str, text: &str) -> bool {
    text.lines()
        .filter_map(|l| l.split_ascii_whitespace().nth(2))
        .any(|p| is_partition_of(name, p))
}

/// Whether `name` is a partition of device `parent` (`sda1`/`sda`, `nvme0n1p2`/`nvme0n1`).
fn is_partition_of(name: &str, parent: &str) -> bool {
    let Some(rest) = name.strip_prefix(parent) else {
        return false;
    };
    let digits = if parent.ends_with(|c: char| c.is_ascii_digit()) {
        rest.strip_prefix('p')
    } else {
        Some(rest)
    };
    digits.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

impl Part for DiskIo {
    fn poll(&mut self, now: Duration, buf: &mut String, out: &mut Batch) {
        if let Err(e) = read_to(&self.path, buf) {
            return out.problem("system/diskstats", e);
        }
        self.devices.begin();
        let mut bad = 0_usize;
        for line in buf.lines().filter(|l| !l.trim().is_empty()) {
            match DiskStat::from_line(line) {
                Ok(d) => self.track(&d, buf, now, out),
                Err(_) => bad += 1,
            }
        }
        if bad > 0 {
            out.problem(
                "system/diskstats",
                format!("{}: {bad} malformed line(s)", self.path.display()),
            );
        }
        self.devices.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_model::Timestamp;

    use crate::collect::system::common::value;

    /// Shaped like a real `/proc/diskstats` (Linux 5.15, 20 fields).
    fn diskstats(
        reads: u64,
        sectors_read: u64,
        writes: u64,
        sectors_written: u64,
        io_ms: u64,
    ) -> String {
        format!(
            "   7       0 loop0 5 0 10 0 0 0 0 0 0 4 0 0 0 0 0 0 0\n\
             259       0 nvme0n1 {reads} 26665 {sectors_read} 617270 {writes} 87331 {sectors_written} 109207 0 {io_ms} 730879 25657 140 5158184 3478 11408 923\n\
             259       1 nvme0n1p1 {reads} 0 {sectors_read} 0 0 0 0 0 0 {io_ms} 0 0 0 0 0 0 0\n\
             253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        )
    }

    fn poll(io: &mut DiskIo, secs: u64) -> Batch {
        let mut out = Batch::new(Timestamp::from_unix_millis(0));
        io.poll(Duration::from_secs(secs), &mut String::new(), &mut out);
        out
    }

    #[test]
    fn two_passes_give_exact_rates_for_whole_disks_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("diskstats");
        std::fs::write(&path, diskstats(1000, 20_000, 500, 8_000, 10_000)).unwrap();
        let mut io = DiskIo::new(path.clone(), false, false);
        let first = poll(&mut io, 10);
        assert!(
            first.readings.is_empty() && first.problems.is_empty(),
            "{first:?}"
        );
        // 2 s later: +200 reads of 2048 sectors, +100 writes, 500 ms busy.
        std::fs::write(&path, diskstats(1200, 22_048, 600, 8_512, 10_500)).unwrap();
        let b = poll(&mut io, 12);
        assert_eq!(value(&b, "diskio.nvme0n1.reads_per_s"), Some(100.0));
        assert_eq!(value(&b, "diskio.nvme0n1.writes_per_s"), Some(50.0));
        assert_eq!(
            value(&b, "diskio.nvme0n1.read_bytes_per_s"),
            Some(2048.0 * 512.0 / 2.0)
        );
        assert_eq!(
            value(&b, "diskio.nvme0n1.write_bytes_per_s"),
            Some(512.0 * 512.0 / 2.0)
        );
        assert_eq!(value(&b, "diskio.nvme0n1.busy_pct"), Some(25.0));
        assert_eq!(value(&b, "diskio.zram0.busy_pct"), Some(0.0));
        assert!(
            b.readings
                .iter()
                .all(|r| !r.series.as_str().contains("loop0") && !r.series.as_str().contains("p1"))
        );
    }

    #[test]
    fn partitions_and_loops_when_asked_and_garbage_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("diskstats");
        std::fs::write(&path, diskstats(1, 1, 1, 1, 1)).unwrap();
        let mut io = DiskIo::new(path.clone(), true, true);
        poll(&mut io, 1);
        let b = poll(&mut io, 2);
        assert!(value(&b, "diskio.nvme0n1p1.busy_pct").is_some());
        assert!(value(&b, "diskio.loop0.reads_per_s").is_some());
        std::fs::write(
            &path,
            format!(
                "{}8 0 sda x y\n\u{1}\u{2}garbage\n",
                diskstats(2, 2, 2, 2, 2)
            ),
        )
        .unwrap();
        let b = poll(&mut io, 3);
        assert_eq!(b.problems.len(), 1, "{:?}", b.problems);
        assert_eq!(
            value(&b, "diskio.nvme0n1.reads_per_s"),
            Some(1.0),
            "good lines still read"
        );
        std::fs::remove_file(&path).unwrap();
        assert_eq!(poll(&mut io, 4).problems.len(), 1);
    }

    #[test]
    fn partition_names() {
        assert!(is_partition_of("sda1", "sda"));
        assert!(is_partition_of("nvme0n1p2", "nvme0n1"));
        assert!(is_partition_of("mmcblk0p1", "mmcblk0"));
        assert!(!is_partition_of("nvme0n10", "nvme0n1"));
        assert!(!is_partition_of("sda", "sda"));
        assert!(!is_partition_of("sdab", "sda"));
    }
}
