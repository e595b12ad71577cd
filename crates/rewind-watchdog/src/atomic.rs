//! Files that appear whole: written under a temporary name, fsynced,
//! renamed into place, and the directory fsynced.

use std::{
    fs,
    io::{self, Write as _},
    path::Path,
};

use rewind_model::Timestamp;

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a file needs a directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("a file needs a name"))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    sync_dir(dir);
    Ok(())
}

/// fsyncs a directory (best effort: some file systems refuse).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        d.sync_all().ok();
    }
}

/// A directory-name form of a time that sorts like the time:
/// `20261123T100000.123Z`.
pub(crate) fn stamp(at: Timestamp) -> String {
    let ts = jiff::Timestamp::from_nanosecond(i128::from(at.as_unix_nanos()))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y%m%dT%H%M%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_like_times() {
        assert_eq!(
            stamp(Timestamp::from_unix_millis(123)),
            "19700101T000000.123Z"
        );
        let a = stamp(Timestamp::from_unix_millis(1_795_000_000_123));
        let b = stamp(Timestamp::from_unix_millis(1_795_000_001_000));
        assert!(a < b);
    }

    #[test]
    fn a_file_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        write_file(&path, b"one").unwrap();
        write_file(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
