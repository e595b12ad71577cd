//! `rewind agent fsck`: checks every bundle the agent keeps and moves the
//! damaged ones aside.
//!
//! - Every `*.zip` in `spool/` and `spool/rejected/` is validated with
//!   [`rewind_bundle::read_bundle`] (zip structure, manifest, every member's
//!   size and SHA-256, trigger, CSVs), with no limit on the zip's own size.
//!   A bundle that fails is **moved** to `spool/quarantine/` (never
//!   deleted), keeping its name (`-2`, `-3` … appended if taken).
//! - Temp files (`.rewind-bundle-*`, see [`rewind_bundle::TEMP_PREFIX`])
//!   older than [`STALE_TEMP_AGE`] can only be left by a crash mid-write:
//!   they are deleted. Younger ones may be a bundle being written right now
//!   and are left alone.
//!
//! Safe to run while the agent runs: the agent only ever renames complete
//! bundles into place, and a bundle that vanishes before its upload is
//! skipped.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use rewind_bundle::{Limits, TEMP_PREFIX, read_bundle};
use serde::Serialize;

use super::zips_in;

/// Temp files older than this are left over from a crash.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// What [`fsck`] found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FsckReport {
    /// The spool directory checked.
    pub spool: PathBuf,
    /// Every bundle checked, in the order checked.
    pub bundles: Vec<BundleCheck>,
    /// Temp files found.
    pub temp_files: Vec<TempFile>,
}

/// One bundle's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct BundleCheck {
    /// Where it was.
    pub path: PathBuf,
    /// `ok`, `quarantined`, or `damaged` (could not be moved).
    pub status: BundleStatus,
    /// The `bundle_*` error code when damaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// What is wrong, when damaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Where it was moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<PathBuf>,
}

/// The verdict on one bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleStatus {
    /// Valid.
    Ok,
    /// Damaged and moved to `quarantine/`.
    Quarantined,
    /// Damaged, and moving it failed (the error says why).
    Damaged,
}

/// A temp file left in the spool.
#[derive(Debug, Clone, Serialize)]
pub struct TempFile {
    /// Its path.
    pub path: PathBuf,
    /// Its age (from its modification time), in seconds.
    pub age_secs: u64,
    /// Whether it was deleted (stale) or left alone (possibly being written).
    pub removed: bool,
}

impl FsckReport {
    /// Bundles found valid.
    #[must_use]
    pub fn ok(&self) -> usize {
        self.count(BundleStatus::Ok)
    }

    /// Bundles moved to quarantine.
    #[must_use]
    pub fn quarantined(&self) -> usize {
        self.count(BundleStatus::Quarantined)
    }

    /// Damaged bundles that could not be moved.
    #[must_use]
    pub fn damaged(&self) -> usize {
        self.count(BundleStatus::Damaged)
    }

    /// Whether everything was whole (stale temp files aside).
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.ok() == self.bundles.len()
    }

    fn count(&self, status: BundleStatus) -> usize {
        self.bundles.iter().filter(|b| b.status == status).count()
    }
}

/// Checks the spool at `spool_dir` as of `now` (see the module docs).
#[must_use]
pub fn fsck(spool_dir: &Path, now: SystemTime) -> FsckReport {
    let quarantine = spool_dir.join("quarantine");
    let mut report = FsckReport {
        spool: spool_dir.to_path_buf(),
        ..FsckReport::default()
    };
    for dir in [spool_dir.to_path_buf(), spool_dir.join("rejected")] {
        for path in zips_in(&dir) {
            report.bundles.push(check(path, &quarantine));
        }
    }
    report.temp_files = temp_files(spool_dir, now);
    report
}

fn check(path: PathBuf, quarantine: &Path) -> BundleCheck {
    let limits = Limits {
        max_bundle_bytes: u64::MAX,
        ..Limits::default()
    };
    let damage = match fs_err::read(&path) {
        Ok(bytes) => match read_bundle(&bytes, &limits) {
            Ok(_) => None,
            Err(err) => Some((err.code(), err.to_string())),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None, // uploaded meanwhile
        Err(err) => Some(("bundle_unreadable", err.to_string())),
    };
    let Some((code, error)) = damage else {
        return BundleCheck {
            path,
            status: BundleStatus::Ok,
            code: None,
            error: None,
            moved_to: None,
        };
    };
    let (status, moved_to, error) = match move_aside(&path, quarantine) {
        Ok(to) => {
            tracing::warn!(bundle = %path.display(), code, error = %error, to = %to.display(), "damaged bundle moved to quarantine/");
            (BundleStatus::Quarantined, Some(to), error)
        }
        Err(err) => (
            BundleStatus::Damaged,
            None,
            format!("{error}; cannot move it to quarantine/: {err}"),
        ),
    };
    BundleCheck {
        path,
        status,
        code: Some(code),
        error: Some(error),
        moved_to,
    }
}

/// Moves `path` into `dir` under its own name, or with `-N` before the
/// extension when that is taken; never replaces a file.
fn move_aside(path: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    fs_err::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, ""));
    for n in 1..=1000_u32 {
        let to = if n == 1 {
            dir.join(&*name)
        } else {
            dir.join(format!("{stem}-{n}.{ext}"))
        };
        // Hard link then unlink: a rename would silently replace a file
        // created at `to` between a check and the rename.
        match fs_err::hard_link(path, &to) {
            Ok(()) => {
                fs_err::remove_file(path)?;
                return Ok(to);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "1000 quarantined files with this name exist",
    ))
}

fn temp_files(dir: &Path, now: SystemTime) -> Vec<TempFile> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(TEMP_PREFIX))
                && p.is_file()
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .filter_map(|path| {
            let modified = fs_err::metadata(&path).ok()?.modified().ok()?;
            let age = now.duration_since(modified).unwrap_or_default();
            let removed = age >= STALE_TEMP_AGE && fs_err::remove_file(&path).is_ok();
            Some(TempFile {
                path,
                age_secs: age.as_secs(),
                removed,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rewind_model::Severity;

    use super::*;
    use crate::spool::tests::bundle;

    fn later(secs: u64) -> SystemTime {
        SystemTime::now() + Duration::from_secs(secs)
    }

    #[test]
    fn a_clean_spool_is_clean() {
        let dir = tempfile::tempdir().unwrap();
        bundle(dir.path(), "a", Severity::High, 0);
        let report = fsck(dir.path(), SystemTime::now());
        assert!(report.is_clean());
        assert_eq!((report.ok(), report.quarantined()), (1, 0));
        assert!(!dir.path().join("quarantine").exists());
    }

    #[test]
    fn a_truncated_zip_is_quarantined() {
        let dir = tempfile::tempdir().unwrap();
        let good = bundle(dir.path(), "a", Severity::High, 0);
        let bad = bundle(dir.path(), "b", Severity::High, 1);
        let bytes = std::fs::read(&bad).unwrap();
        std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
        let report = fsck(dir.path(), SystemTime::now());
        assert_eq!((report.ok(), report.quarantined()), (1, 1));
        let check = &report.bundles[1];
        assert_eq!(check.path, bad);
        assert!(
            check.code.is_some_and(|c| c.starts_with("bundle_")),
            "{check:?}"
        );
        let moved = check.moved_to.clone().unwrap();
        assert_eq!(
            moved,
            dir.path().join("quarantine").join(bad.file_name().unwrap())
        );
        assert_eq!(
            std::fs::read(&moved).unwrap(),
            &bytes[..bytes.len() / 2],
            "kept as it was"
        );
        assert!(!bad.exists() && good.exists());
    }

    #[test]
    fn a_flipped_byte_is_quarantined_also_among_rejected_bundles() {
        let dir = tempfile::tempdir().unwrap();
        let rejected = dir.path().join("rejected");
        std::fs::create_dir(&rejected).unwrap();
        let path = bundle(&rejected, "a", Severity::High, 0);
        let mut bytes = std::fs::read(&path).unwrap();
        // A byte inside the first member's data (after its local header, name
        // and extra field): the zip still opens, the contents do not check out.
        let field = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        let at = 30 + field(26) + field(28) + 4;
        bytes[at] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let report = fsck(dir.path(), SystemTime::now());
        assert_eq!(report.quarantined(), 1, "{report:?}");
        assert!(report.bundles[0].code.is_some());
        // A second damaged bundle of the same name does not replace the first.
        std::fs::write(&path, b"junk").unwrap();
        let report = fsck(dir.path(), SystemTime::now());
        let moved = report.bundles[0].moved_to.clone().unwrap();
        assert!(moved.to_string_lossy().ends_with("-2.zip"), "{moved:?}");
        assert_eq!(
            std::fs::read_dir(dir.path().join("quarantine"))
                .unwrap()
                .count(),
            2
        );
    }

    #[test]
    fn stale_temp_files_are_deleted_and_fresh_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let temp = dir.path().join(format!("{TEMP_PREFIX}abc.tmp"));
        std::fs::write(&temp, b"half a bundle").unwrap();
        let report = fsck(dir.path(), SystemTime::now());
        assert!(
            !report.temp_files[0].removed && temp.exists(),
            "being written, perhaps"
        );
        assert!(report.is_clean());
        let report = fsck(dir.path(), later(61));
        assert!(report.temp_files[0].removed);
        assert!(report.temp_files[0].age_secs >= 60);
        assert!(!temp.exists());
        assert!(report.is_clean(), "a stale temp file is debris, not damage");
    }
}
