//! Recognisers for kernel log lines worth a typed event: OOM kills, thermal
//! trouble, I/O errors. Pure functions of the message text (the part of a
//! `/dev/kmsg` record after `;`, or a journal `MESSAGE` from the kernel).
//!
//! | kind | matched on | level | fields |
//! |---|---|---|---|
//! | `oom_kill` | `Out of memory: Killed process N (name)`, `Memory cgroup out of memory: Killed process …`, `Killed process N (name)`, `oom-kill:…,task=name,pid=N` | Error | `pid`, `process`, `cgroup` (from `task_memcg`) |
//! | `thermal` | `critical temperature` (Critical); `temperature` with `above threshold` or `throttled`, or `thermal`/`soctherm` with `throttl`, `critical`, `overheat`, `shutting down` (Warning, Critical when critical or shutting down); `temperature/speed normal` (Info) | as said | — |
//! | `io_error` | `I/O error`, `blk_update_request`, `Buffer I/O error`, `EXT4-fs error`, `BTRFS error`, `nvme … timeout`, `mmcblkN: error` | Error | `device` when named |
//!
//! Lines that merely mention a subsystem (`Registered thermal governor`,
//! `sched: RT throttling activated`, `EXT4-fs (sda1): mounted filesystem`,
//! `… invoked oom-killer: …`) are not recognised.

use rewind_model::{EventKind, Level};

/// A typed event found in a kernel line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    /// The event kind.
    pub kind: EventKind,
    /// Its level (overrides the record's priority).
    pub level: Level,
    /// Details parsed from the line.
    pub fields: Vec<(&'static str, String)>,
}

/// The typed event in a kernel message, if any.
#[must_use]
pub fn recognise(message: &str) -> Option<Recognised> {
    oom(message)
        .or_else(|| thermal(message))
        .or_else(|| io_error(message))
}

fn oom(m: &str) -> Option<Recognised> {
    let fields = if let Some(rest) = m.strip_prefix("oom-kill:") {
        let value = |key: &str| {
            rest.split(',')
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
        };
        [
            ("pid", value("pid")),
            ("process", value("task")),
            ("cgroup", value("task_memcg")),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
    } else {
        let at = m
            .find("Killed process ")
            .map(|i| i + 15)
            .or_else(|| m.find("Out of memory: Kill process ").map(|i| i + 28))?;
        killed_process(&m[at..])?
    };
    Some(Recognised {
        kind: EventKind::OomKill,
        level: Level::Error,
        fields,
    })
}

/// `1234 (name) …` → pid and process name.
fn killed_process(rest: &str) -> Option<Vec<(&'static str, String)>> {
    let (pid, after) = rest.split_once(' ')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut fields = vec![("pid", pid.to_owned())];
    if let Some(name) = after.strip_prefix('(') {
        // A command name is at most 15 bytes and may itself hold ") ".
        let end = name
            .find(") ")
            .or_else(|| name.strip_suffix(')').map(str::len));
        if let Some(end) = end {
            fields.push(("process", name[..end].to_owned()));
        }
    }
    Some(fields)
}

fn thermal(m: &str) -> Option<Recognised> {
    let lower = m.to_ascii_lowercase();
    let has = |s: &str| lower.contains(s);
    let level = if has("critical temperature") {
        Level::Critical
    } else if has("temperature") && (has("above threshold") || has("throttled")) {
        Level::Warning
    } else if has("temperature/speed normal") {
        Level::Info
    } else if (has("thermal") || has("soctherm"))
        && ["throttl", "critical", "overheat", "shutting down"]
            .iter()
            .any(|k| has(k))
    {
        if has("critical") || has("shutting down") {
            Level::Critical
        } else {
            Level::Warning
        }
    } else {
        return None;
    };
    Some(Recognised {
        kind: EventKind::Thermal,
        level,
        fields: Vec::new(),
    })
}

fn io_error(m: &str) -> Option<Recognised> {
    let markers = [
        "I/O error",
        "blk_update_request",
        "EXT4-fs error",
        "BTRFS error",
    ];
    let nvme_timeout = m.starts_with("nvme ") && m.contains(" timeout");
    let mmc_error = m.starts_with("mmcblk") && m.contains(": error ");
    if !(nvme_timeout || mmc_error || markers.iter().any(|k| m.contains(k))) {
        return None;
    }
    let fields = device(m).map(|d| vec![("device", d)]).unwrap_or_default();
    Some(Recognised {
        kind: EventKind::IoError,
        level: Level::Error,
        fields,
    })
}

/// The block device or controller a line names.
fn device(m: &str) -> Option<String> {
    let word = |s: &str| {
        let end = s.find([',', ' ', ')', ':']).unwrap_or(s.len());
        Some(s[..end].to_owned()).filter(|d| !d.is_empty())
    };
    let after = |marker: &str| m.find(marker).map(|i| &m[i + marker.len()..]);
    if let Some(rest) = after(" dev ")
        .or_else(|| after("(device "))
        .or_else(|| after("-fs ("))
        .or_else(|| after("XFS ("))
    {
        return word(rest);
    }
    // `nvme nvme0: …`, `mmcblk0: …`: the word before the first colon.
    let head = m.split(':').next()?;
    word(head.rsplit(' ').next()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel line, the kind and level it should get, and its fields.
    type Case = (
        &'static str,
        Option<(EventKind, Level)>,
        &'static [(&'static str, &'static str)],
    );

    /// Recorded kernel lines (message part) and what they should become.
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        // OOM killer, kernels 5.x/6.x.
        ("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice/user-1000.slice/session-2.scope,task=stress-ng,pid=1234,uid=1000",
            Some((EventKind::OomKill, Level::Error)), &[("pid", "1234"), ("process", "stress-ng"), ("cgroup", "/user.slice/user-1000.slice/session-2.scope")]),
        ("Out of memory: Killed process 1234 (stress-ng) total-vm:1234567kB, anon-rss:987654kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:2000kB oom_score_adj:0",
            Some((EventKind::OomKill, Level::Error)), &[("pid", "1234"), ("process", "stress-ng")]),
        ("Memory cgroup out of memory: Killed process 4242 (python3) total-vm:2345678kB, anon-rss:1048576kB, file-rss:1234kB, shmem-rss:0kB, UID:0 pgtables:3000kB oom_score_adj:0",
            Some((EventKind::OomKill, Level::Error)), &[("pid", "4242"), ("process", "python3")]),
        // Older kernels (4.x).
        ("Out of memory: Kill process 2345 (java) score 900 or sacrifice child",
            Some((EventKind::OomKill, Level::Error)), &[("pid", "2345"), ("process", "java")]),
        ("Killed process 2345 (java) total-vm:8000000kB, anon-rss:7000000kB, file-rss:0kB, shmem-rss:0kB",
            Some((EventKind::OomKill, Level::Error)), &[("pid", "2345"), ("process", "java")]),
        ("Out of memory: Killed process 77 (sd-pam) total-vm:1kB", Some((EventKind::OomKill, Level::Error)), &[("pid", "77"), ("process", "sd-pam")]),
        ("stress-ng invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0", None, &[]),
        ("oom_reaper: reaped process 1234 (stress-ng), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB", None, &[]),
        // Thermal.
        ("CPU9: Package temperature is above threshold, cpu clock is throttled (total events = 1)", Some((EventKind::Thermal, Level::Warning)), &[]),
        ("CPU2: Core temperature is above threshold, cpu clock is throttled from last 8000 milli seconds (total events = 5)", Some((EventKind::Thermal, Level::Warning)), &[]),
        ("CPU0: Core temperature above threshold, cpu clock throttled (total events = 24)", Some((EventKind::Thermal, Level::Warning)), &[]),
        ("CPU9: Package temperature/speed normal (total events = 1)", Some((EventKind::Thermal, Level::Info)), &[]),
        ("thermal thermal_zone4: critical temperature reached (128 C), shutting down", Some((EventKind::Thermal, Level::Critical)), &[]),
        ("thermal thermal_zone0: acpitz: critical temperature reached, shutting down", Some((EventKind::Thermal, Level::Critical)), &[]),
        ("thermal_sys: Registered thermal governor 'step_wise'", None, &[]),
        ("thermal thermal_zone2: failed to read out thermal zone (-61)", None, &[]),
        ("ACPI: Thermal Zone [TZ00] (28 C)", None, &[]),
        ("sched: RT throttling activated", None, &[]),
        // I/O errors.
        ("blk_update_request: I/O error, dev sda, sector 123456 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 0",
            Some((EventKind::IoError, Level::Error)), &[("device", "sda")]),
        ("I/O error, dev nvme0n1, sector 2048 op 0x1:(WRITE) flags 0x8800 phys_seg 1 prio class 2",
            Some((EventKind::IoError, Level::Error)), &[("device", "nvme0n1")]),
        ("print_req_error: I/O error, dev sdb, sector 0", Some((EventKind::IoError, Level::Error)), &[("device", "sdb")]),
        ("Buffer I/O error on dev sdb1, logical block 0, async page read", Some((EventKind::IoError, Level::Error)), &[("device", "sdb1")]),
        ("EXT4-fs error (device mmcblk0p1): ext4_find_entry:1463: inode #2: comm systemd: reading directory lblock 0",
            Some((EventKind::IoError, Level::Error)), &[("device", "mmcblk0p1")]),
        ("EXT4-fs (sda1): I/O error while writing superblock", Some((EventKind::IoError, Level::Error)), &[("device", "sda1")]),
        ("BTRFS error (device sdc1): bdev /dev/sdc1 errs: wr 0, rd 1, flush 0, corrupt 0, gen 0", Some((EventKind::IoError, Level::Error)), &[("device", "sdc1")]),
        ("XFS (dm-0): metadata I/O error in \"xfs_trans_read_buf_map\" at daddr 0x2 len 1 error 5", Some((EventKind::IoError, Level::Error)), &[("device", "dm-0")]),
        ("nvme nvme0: I/O 123 QID 4 timeout, aborting", Some((EventKind::IoError, Level::Error)), &[("device", "nvme0")]),
        ("nvme nvme0: I/O 0 QID 0 timeout, reset controller", Some((EventKind::IoError, Level::Error)), &[("device", "nvme0")]),
        ("nvme nvme1: I/O tag 17 (3011) opcode 0x2 (Read) QID 3 timeout, aborting req_op:READ(0) size:4096", Some((EventKind::IoError, Level::Error)), &[("device", "nvme1")]),
        ("mmcblk0: error -110 transferring data, sector 2048, nr 8, cmd response 0x900, card status 0xb00", Some((EventKind::IoError, Level::Error)), &[("device", "mmcblk0")]),
        ("nvme nvme0: 8/0/0 default/read/poll queues", None, &[]),
        ("EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.", None, &[]),
        ("usb 1-1: new high-speed USB device number 2 using xhci_hcd", None, &[]),
        ("", None, &[]),
    ];

    #[test]
    fn recorded_kernel_lines_are_recognised() {
        for (line, want, fields) in CASES {
            let got = recognise(line);
            assert_eq!(
                got.as_ref().map(|r| (r.kind.clone(), r.level)),
                *want,
                "{line}"
            );
            let got_fields: Vec<(&str, &str)> = got
                .iter()
                .flat_map(|r| r.fields.iter().map(|(k, v)| (*k, v.as_str())))
                .collect();
            assert_eq!(got_fields, *fields, "{line}");
        }
    }
}
