//! Read positions of tailed files, kept across restarts in a small JSON file:
//! `{"version":1,"files":{"/var/log/app.log":{"dev":2049,"ino":131,"offset":4096}}}`.
//! Written atomically (a temporary file in the same directory, then a
//! rename), at most every [`SAVE_EVERY`] and once more when the stream stops.

use std::{
    collections::BTreeMap,
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

/// Least time between two writes of the offsets file.
pub const SAVE_EVERY: Duration = Duration::from_secs(5);

/// A file's identity and how far into it lines were handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// `st_dev` of the file.
    pub dev: u64,
    /// `st_ino` of the file.
    pub ino: u64,
    /// Bytes consumed (complete lines only).
    pub offset: u64,
}

impl Position {
    /// Whether `meta` describes the same file.
    pub fn same_file(&self, meta: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        self.dev == meta.dev() && self.ino == meta.ino()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    files: BTreeMap<PathBuf, Position>,
}

/// The offsets file, or nothing when none is configured.
#[derive(Debug)]
pub struct Offsets {
    path: Option<PathBuf>,
    written: BTreeMap<PathBuf, Position>,
    last_save: Option<Instant>,
}

impl Offsets {
    /// Reads the saved positions (an unreadable file yields nothing and an error to report).
    pub fn load(path: Option<&Path>) -> (Self, BTreeMap<PathBuf, Position>, Option<String>) {
        let me = Self {
            path: path.map(Path::to_path_buf),
            written: BTreeMap::new(),
            last_save: None,
        };
        let Some(path) = path else {
            return (me, BTreeMap::new(), None);
        };
        match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<OnDisk>(&bytes) {
                Ok(disk) => (me, disk.files, None),
                Err(e) => (
                    me,
                    BTreeMap::new(),
                    Some(format!(
                        "{}: not an offsets file ({e}); starting afresh",
                        path.display()
                    )),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (me, BTreeMap::new(), None),
            Err(e) => (
                me,
                BTreeMap::new(),
                Some(format!("{}: {e}; starting afresh", path.display())),
            ),
        }
    }

    /// Writes `now` if it changed and the last write is old enough (or `force`).
    ///
    /// # Errors
    /// A message naming the file.
    pub fn save(&mut self, now: BTreeMap<PathBuf, Position>, force: bool) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let recent = self.last_save.is_some_and(|t| t.elapsed() < SAVE_EVERY);
        if now == self.written || (recent && !force) {
            return Ok(());
        }
        self.last_save = Some(Instant::now());
        let disk = OnDisk {
            version: 1,
            files: now,
        };
        write_atomic(path, &disk)
            .map_err(|e| format!("{}: cannot save offsets: {e}", path.display()))?;
        self.written = disk.files;
        Ok(())
    }
}

fn write_atomic(path: &Path, disk: &OnDisk) -> std::io::Result<()> {
    let json = serde_json::to_vec(disk).map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&json)?;
    f.sync_data()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_unchanged_ones_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state/offsets.json");
        let (mut o, saved, err) = Offsets::load(Some(&file));
        assert!(
            saved.is_empty() && err.is_none(),
            "a missing file is a fresh start"
        );
        let pos = Position {
            dev: 1,
            ino: 2,
            offset: 3,
        };
        let map = BTreeMap::from([(PathBuf::from("/a.log"), pos)]);
        o.save(map.clone(), false).unwrap();
        let (_, back, err) = Offsets::load(Some(&file));
        assert_eq!((back, err), (map.clone(), None));

        std::fs::remove_file(&file).unwrap();
        o.save(map.clone(), true).unwrap();
        assert!(!file.exists(), "unchanged positions are not written again");
        let newer = BTreeMap::from([(PathBuf::from("/a.log"), Position { offset: 9, ..pos })]);
        o.save(newer.clone(), false).unwrap();
        assert!(
            !file.exists(),
            "at most one write per {SAVE_EVERY:?} unless forced"
        );
        o.save(newer, true).unwrap();
        assert!(file.exists());
    }

    #[test]
    fn a_corrupt_offsets_file_is_reported_and_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("offsets.json");
        std::fs::write(&file, b"\x00garbage").unwrap();
        let (_, saved, err) = Offsets::load(Some(&file));
        assert!(saved.is_empty());
        assert!(err.unwrap().contains("not an offsets file"));
    }
}
