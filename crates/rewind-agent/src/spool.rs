//! The spool: bundles waiting for upload, as files in one directory.
//!
//! A bundle is written into the spool atomically by `rewind-bundle` (temp
//! file, fsync, rename), so every `*.zip` here is complete. After a
//! successful upload the file is deleted; a bundle the server refused for
//! good (4xx) is moved to `rejected/` to be looked at, never retried in a loop.
//! Because the spool is on disk, bundles survive agent restarts and server
//! outages.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A directory of bundles waiting for upload.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// Opens (creating if needed) the spool at `dir`.
    ///
    /// # Errors
    /// [`Error::StateDir`] when the directory cannot be created.
    pub fn open(dir: PathBuf) -> Result<Self> {
        fs_err::create_dir_all(dir.join("rejected")).map_err(|source| Error::StateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// The spool directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waiting bundles, oldest first (bundle names start with their UTC time,
    /// ties broken by name).
    #[must_use]
    pub fn pending(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs_err::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "zip"))
            .collect();
        files.sort();
        files
    }

    /// Forgets an uploaded bundle.
    pub fn done(&self, path: &Path) {
        if let Err(err) = fs_err::remove_file(path) {
            tracing::warn!(error = %err, "cannot remove uploaded bundle from the spool");
        }
    }

    /// Keeps at most `keep` waiting bundles of the rule whose file-name slug
    /// is `slug` (see [`rewind_bundle::rule_slug`]), deleting the oldest;
    /// returns the bundles deleted. Two rules whose names give the same slug
    /// share one budget.
    pub fn rotate(&self, slug: &str, keep: usize) -> Vec<PathBuf> {
        let mine: Vec<PathBuf> = self
            .pending()
            .into_iter()
            .filter(|p| {
                p.file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(|stem| names_rule(stem, slug))
            })
            .collect();
        let excess = mine.len().saturating_sub(keep);
        let mut removed = Vec::with_capacity(excess);
        for path in mine.into_iter().take(excess) {
            match fs_err::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot rotate an old bundle out of the spool")
                }
            }
        }
        removed
    }

    /// Moves a bundle the server refused for good out of the queue.
    pub fn reject(&self, path: &Path) {
        let Some(name) = path.file_name() else { return };
        if let Err(err) = fs_err::rename(path, self.dir.join("rejected").join(name)) {
            tracing::warn!(error = %err, "cannot move refused bundle to rejected/");
        }
    }
}

/// Whether the file stem `incident_<time>_<slug>` or `…_<slug>-<n>` names `slug`.
fn names_rule(stem: &str, slug: &str) -> bool {
    let Some(rest) = stem.strip_prefix("incident_") else {
        return false;
    };
    let Some((_time, name)) = rest.split_once('_') else {
        return false;
    };
    name == slug
        || name
            .strip_prefix(slug)
            .and_then(|n| n.strip_prefix('-'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_zips_oldest_first_and_moves_rejects_aside() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        for name in [
            "incident_2_b.zip",
            "incident_1_a.zip",
            "notes.txt",
            ".incident_3.zip.tmp",
        ] {
            std::fs::write(spool.dir().join(name), b"x").unwrap();
        }
        let names = |s: &Spool| -> Vec<String> {
            s.pending()
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(&spool), ["incident_1_a.zip", "incident_2_b.zip"]);
        spool.reject(&spool.dir().join("incident_1_a.zip"));
        spool.done(&spool.dir().join("incident_2_b.zip"));
        assert!(spool.pending().is_empty());
        assert!(spool.dir().join("rejected/incident_1_a.zip").exists());
    }

    #[test]
    fn rotation_keeps_the_newest_bundles_of_one_rule() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().to_path_buf()).unwrap();
        for name in [
            "incident_20261123T100000Z_cpu-hot.zip",
            "incident_20261123T100001Z_cpu-hot.zip",
            "incident_20261123T100001Z_cpu-hot-2.zip",
            "incident_20261123T100002Z_cpu-hot.zip",
            "incident_20261123T100000Z_cpu-hot-disk.zip",
            "incident_20261123T100000Z_mem.zip",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let removed = spool.rotate("cpu-hot", 2);
        let names: Vec<_> = removed
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "incident_20261123T100000Z_cpu-hot.zip",
                "incident_20261123T100001Z_cpu-hot-2.zip"
            ]
        );
        assert_eq!(
            spool.pending().len(),
            4,
            "other rules' bundles are untouched"
        );
        assert!(spool.rotate("cpu-hot", 2).is_empty());
    }
}
