//! Disk space per mounted filesystem: the `system/disk` poller, run every
//! `disk_interval` (10 s by default) on its own thread.
//!
//! Mounts come from `proc_root/self/mounts` (or `proc_root/mounts`), sizes
//! from `statvfs(2)` through rustix. Series per mount, named after the
//! mount path (`/` → `root`, `/var/lib` → `var_lib`):
//! `disk.<mount>.used_bytes`, `.free_bytes` (bytes; free is what
//! unprivileged users may still write), `.used_pct` (percent, as `df`
//! computes it: used / (used + free)) and `.inodes_used_pct` (percent;
//! absent on filesystems without an inode count, such as btrfs).
//!
//! Only real filesystems: pseudo ones (proc, sysfs, cgroup, devpts, …) and
//! read-only images (squashfs, erofs) are skipped, as are tmpfs unless
//! `mounts_include_tmpfs`, overlay unless `mounts_include_overlay`, network
//! and FUSE filesystems unless `mounts_include_network` (a dead server
//! or daemon would hang the statvfs call), and paths under `mounts_exclude`. A filesystem mounted
//! several times (bind mounts) is reported once, under its shortest path.
//! At most 64 mounts are reported.
//!
//! Hand-written mounts parser rather than procfs-core's: that one does not
//! decode `\040` (space) in paths, so such mounts could not be statted.

use std::{io, path::Path};

use super::{
    Batch, Config, Poll,
    common::{names, read_to, segment},
};

mod mounts;

const MAX_MOUNTS: usize = 64;
const METRICS: [&str; 4] = ["used_bytes", "free_bytes", "used_pct", "inodes_used_pct"];

/// What `statvfs` says about one filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Space {
    /// Fragment size: the unit of the block counts.
    pub frsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    /// Filesystem id, to report bind mounts once.
    pub fsid: u64,
}

/// The statvfs call, replaceable in tests.
pub(super) type StatFs = fn(&Path) -> io::Result<Space>;

/// `statvfs(2)`; a mount point that is not a directory (a bind-mounted
/// file such as a container's `/etc/hosts`) has no size of its own.
fn statvfs(path: &Path) -> io::Result<Space> {
    if !path.is_dir() {
        return Ok(Space {
            frsize: 0,
            blocks: 0,
            bfree: 0,
            bavail: 0,
            files: 0,
            ffree: 0,
            fsid: 0,
        });
    }
    let s =
        rustix::fs::statvfs(path).map_err(|e| io::Error::from_raw_os_error(e.raw_os_error()))?;
    Ok(Space {
        frsize: if s.f_frsize > 0 {
            s.f_frsize
        } else {
            s.f_bsize
        },
        blocks: s.f_blocks,
        bfree: s.f_bfree,
        bavail: s.f_bavail,
        files: s.f_files,
        ffree: s.f_ffree,
        fsid: s.f_fsid,
    })
}

/// Reads the space of every real mounted filesystem.
#[derive(Debug)]
pub(super) struct DiskSpace {
    proc_root: std::path::PathBuf,
    filter: mounts::Filter,
    statfs: StatFs,
    buf: String,
}

impl DiskSpace {
    pub(super) fn new(config: &Config) -> Self {
        Self::with_statfs(config, statvfs)
    }

    pub(super) fn with_statfs(config: &Config, statfs: StatFs) -> Self {
        Self {
            proc_root: config.proc_root.clone(),
            filter: mounts::Filter::new(config),
            statfs,
            buf: String::new(),
        }
    }
}

impl DiskSpace {
    /// The kept mount points from the mount table; `None` (a problem) when unreadable.
    fn mounts(&mut self, out: &mut Batch) -> Option<Vec<String>> {
        let own = self.proc_root.join("self/mounts");
        let path = if own.exists() {
            own
        } else {
            self.proc_root.join("mounts")
        };
        if let Err(e) = read_to(&path, &mut self.buf) {
            out.problem("system/disk", e);
            return None;
        }
        let (list, bad) = mounts::parse(&self.buf, &self.filter);
        if bad > 0 {
            out.problem(
                "system/disk",
                format!("{}: {bad} malformed line(s)", path.display()),
            );
        }
        Some(list)
    }
}

impl Poll for DiskSpace {
    fn poll(&mut self, out: &mut Batch) {
        let Some(list) = self.mounts(out) else { return };
        let mut seen_fs: Vec<u64> = Vec::new();
        let mut seen_names: Vec<String> = Vec::new();
        for mount in list {
            if seen_names.len() >= MAX_MOUNTS {
                break;
            }
            let space = match (self.statfs)(Path::new(&mount)) {
                Ok(s) if s.blocks > 0 => s,
                Ok(_) => continue, // no size: a pseudo filesystem not in the list
                Err(e) => {
                    out.problem("system/disk", format!("statvfs {mount}: {e}"));
                    continue;
                }
            };
            let name = segment(&mount).unwrap_or_else(|| "root".into());
            if seen_fs.contains(&space.fsid) || seen_names.contains(&name) {
                continue; // a bind mount, or a path that encodes to a name already used
            }
            seen_fs.push(space.fsid);
            emit(out, &name, &space);
            seen_names.push(name);
        }
    }
}

#[allow(clippy::cast_precision_loss)] // byte counts below 2^53
fn emit(out: &mut Batch, name: &str, s: &Space) {
    let Some([used_n, free_n, pct_n, inodes_n]) = names("disk", name, METRICS) else {
        return;
    };
    let used = s.blocks.saturating_sub(s.bfree).saturating_mul(s.frsize);
    let free = s.bavail.saturating_mul(s.frsize);
    out.reading(used_n, "bytes", used as f64);
    out.reading(free_n, "bytes", free as f64);
    if let Some(all) = used.checked_add(free).filter(|a| *a > 0) {
        out.reading(pct_n, "percent", used as f64 / all as f64 * 100.0);
    }
    if s.files > 0 {
        let inodes = s.files.saturating_sub(s.ffree);
        out.reading(inodes_n, "percent", inodes as f64 / s.files as f64 * 100.0);
    }
}

#[cfg(test)]
mod tests;
