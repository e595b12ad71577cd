//! Rotation: each capture kind keeps its newest `keep` captures.
//!
//! Capture directories are named by time (`20261123T100000.123Z`, with
//! `-1`, `-2` … on a clash), so name order is age order. Entries starting
//! with `.` are captures still being written and are never rotated; those
//! left behind by a process that died (`.tmp-<pid>-…` with no such pid)
//! are removed when a watchdog starts.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

/// Removes the oldest captures of `kind_dir` beyond `keep`; returns them.
pub(crate) fn rotate(kind_dir: &Path, keep: usize) -> io::Result<Vec<PathBuf>> {
    let mut names = captures(kind_dir)?;
    let excess = names.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for name in names.drain(..excess) {
        let path = kind_dir.join(name);
        fs::remove_dir_all(&path)?;
        removed.push(path);
    }
    Ok(removed)
}

/// The finished captures of a kind directory, oldest first.
pub(crate) fn captures(kind_dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = match fs::read_dir(kind_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !name.starts_with('.') && entry.file_type()?.is_dir() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Removes `.tmp-<pid>-*` directories of processes that no longer exist.
pub(crate) fn remove_dead_temps(kind_dir: &Path, proc_root: &Path) {
    let Ok(entries) = fs::read_dir(kind_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(".tmp-")) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !proc_root.join(pid).exists()
        {
            fs::remove_dir_all(entry.path()).ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_newest_and_skips_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..8 {
            fs::create_dir(dir.path().join(format!("20260101T00000{i}.000Z"))).unwrap();
        }
        fs::create_dir(dir.path().join(".tmp-1-x")).unwrap();
        let removed = rotate(dir.path(), 5).unwrap();
        assert_eq!(removed.len(), 3);
        let left = captures(dir.path()).unwrap();
        assert_eq!(left.len(), 5);
        assert_eq!(left[0], "20260101T000003.000Z");
        assert!(dir.path().join(".tmp-1-x").exists());
        assert!(rotate(&dir.path().join("none"), 5).unwrap().is_empty());
    }

    #[test]
    fn temporaries_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let proc_root = tempfile::tempdir().unwrap();
        fs::create_dir(proc_root.path().join("7")).unwrap();
        fs::create_dir(dir.path().join(".tmp-7-a")).unwrap();
        fs::create_dir(dir.path().join(".tmp-8-b")).unwrap();
        remove_dead_temps(dir.path(), proc_root.path());
        assert!(dir.path().join(".tmp-7-a").exists());
        assert!(!dir.path().join(".tmp-8-b").exists());
    }
}
