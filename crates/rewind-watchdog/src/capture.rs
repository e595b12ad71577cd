//! Writing captures: one directory per capture, complete when it appears.
//!
//! ```text
//! <dir>/captures/<kind>/<name>/          kind: rss | heap | threads | fds | sched_latency
//!     manifest.json                            | baseline | contention | crash
//!     stacks.txt            eu-stack output, every thread (when the tool is installed and allowed)
//!     proc/status.txt limits.txt smaps_rollup.txt cgroup.txt fds.txt threads.txt [kernel-stacks.txt]
//!     cpu.pprof             pending until the profile window ends
//!     heap.prof             jemalloc profiling only
//!     baseline/…            delta mode: the latest baseline's files
//! <dir>/captures/<kind>/.tmp-<pid>-<name>/   being written
//! ```
//!
//! A capture is assembled under `.tmp-<pid>-<name>`, its manifest written,
//! and the directory renamed to `<name>` (the time, `20261123T100000.123Z`,
//! with `-1`, `-2` … on a clash) and its parent fsynced; then the kind is
//! rotated. A file produced later (the CPU profile) is written into the
//! finished directory under a temporary name and renamed, and the manifest
//! is replaced the same way, so every file of a visible capture is whole.

use std::{
    fs,
    path::{Path, PathBuf},
};

use rewind_model::Timestamp;

pub(crate) mod cpu;
pub(crate) mod heap;
pub mod manifest;
pub(crate) mod procfs;
pub(crate) mod stacks;

use crate::{
    atomic::{stamp, sync_dir, write_file},
    rotate,
};
pub use manifest::{FileEntry, MANIFEST, Manifest, Trigger};

/// Who the captures are about.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) pid: u32,
    pub(crate) host: String,
    pub(crate) version: String,
}

/// A capture being assembled in its temporary directory.
#[derive(Debug)]
pub(crate) struct Draft {
    pub(crate) tmp: PathBuf,
    pub(crate) name: String,
    pub(crate) manifest: Manifest,
    /// The first write error; the draft is then abandoned.
    pub(crate) failed: Option<String>,
}

impl Draft {
    /// Adds a file (relative, `/`-separated). A failure is kept for [`Captures::commit`].
    pub(crate) fn file(&mut self, rel: &str, bytes: &[u8], what: &str) {
        if self.failed.is_some() {
            return;
        }
        let path = self.tmp.join(rel);
        let written = path
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| fs::write(&path, bytes));
        match written {
            Ok(()) => self.manifest.files.push(FileEntry {
                path: rel.to_owned(),
                bytes: bytes.len() as u64,
                what: what.to_owned(),
            }),
            Err(e) => self.failed = Some(format!("cannot write {}: {e}", path.display())),
        }
    }

    /// Adds a note.
    pub(crate) fn note(&mut self, note: impl Into<String>) {
        self.manifest.notes.push(note.into());
    }

    /// Declares a file that will be written after the commit.
    pub(crate) fn pending(&mut self, rel: &str, what: String) {
        self.manifest.pending.push(FileEntry {
            path: rel.to_owned(),
            bytes: 0,
            what,
        });
    }
}

/// The `captures/` directory and how to fill it.
#[derive(Debug)]
pub(crate) struct Captures {
    pub(crate) root: PathBuf,
    pub(crate) who: Identity,
}

impl Captures {
    pub(crate) fn new(dir: &Path, who: Identity) -> Self {
        Self {
            root: dir.join("captures"),
            who,
        }
    }

    /// Starts a capture of `kind` at `at`.
    pub(crate) fn begin(&self, kind: &str, at: Timestamp) -> std::io::Result<Draft> {
        let kind_dir = self.root.join(kind);
        fs::create_dir_all(&kind_dir)?;
        let name = stamp(at);
        let tmp = kind_dir.join(format!(".tmp-{}-{name}", self.who.pid));
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir(&tmp)?;
        Ok(Draft {
            tmp,
            manifest: Manifest {
                format: 1,
                kind: kind.to_owned(),
                id: format!("{kind}/{name}"),
                at,
                pid: self.who.pid,
                host: self.who.host.clone(),
                version: self.who.version.clone(),
                triggers: Vec::new(),
                sample: None,
                limits: None,
                files: Vec::new(),
                pending: Vec::new(),
                notes: Vec::new(),
                baseline: None,
                stacks_ms: None,
            },
            name,
            failed: None,
        })
    }

    /// Writes the manifest, renames the draft into place and rotates its
    /// kind down to `keep`; returns the capture directory.
    pub(crate) fn commit(&self, mut draft: Draft, keep: usize) -> Result<PathBuf, String> {
        if let Some(e) = draft.failed.take() {
            fs::remove_dir_all(&draft.tmp).ok();
            return Err(e);
        }
        let kind_dir = self.root.join(&draft.manifest.kind);
        let mut name = draft.name.clone();
        let mut n = 0;
        while kind_dir.join(&name).exists() {
            n += 1;
            name = format!("{}-{n}", draft.name);
        }
        draft.manifest.id = format!("{}/{name}", draft.manifest.kind);
        let done = kind_dir.join(&name);
        let result = draft
            .manifest
            .write(&draft.tmp)
            .and_then(|()| fs::rename(&draft.tmp, &done));
        if let Err(e) = result {
            fs::remove_dir_all(&draft.tmp).ok();
            return Err(format!("cannot finish capture {}: {e}", done.display()));
        }
        sync_dir(&kind_dir);
        rotate::rotate(&kind_dir, keep)
            .map_err(|e| format!("cannot rotate {}: {e}", kind_dir.display()))?;
        Ok(done)
    }

    /// Copies the files of the capture `from` under `<draft>/baseline/`.
    pub(crate) fn copy_baseline(&self, from: &Path, draft: &mut Draft) {
        let id = match Manifest::read(from) {
            Ok(m) => m.id,
            Err(e) => {
                return draft.note(format!("baseline/: the latest baseline is unreadable: {e}"));
            }
        };
        let mut copied = 0;
        for entry in walk(from) {
            let Ok(rel) = entry.strip_prefix(from) else {
                continue;
            };
            let dst = draft.tmp.join("baseline").join(rel);
            let ok = dst.parent().map_or(Ok(()), fs::create_dir_all).is_ok()
                && (fs::hard_link(&entry, &dst).is_ok() || fs::copy(&entry, &dst).is_ok());
            if ok {
                copied += 1;
            }
        }
        draft.manifest.baseline = Some(id);
        draft.manifest.files.push(FileEntry {
            path: "baseline/".to_owned(),
            bytes: 0,
            what: format!("{copied} files of the latest baseline, for a diff"),
        });
    }
}

/// The files under `dir`, recursively (captures are a few levels deep).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                todo.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

/// Adds a file to a finished capture and moves it from `pending` to
/// `files` (or, with an error, to `notes`).
pub(crate) fn complete_pending(
    capture: &Path,
    rel: &str,
    result: Result<Vec<u8>, String>,
    what: &str,
) -> Result<(), String> {
    let mut manifest = Manifest::read(capture).map_err(|e| e.to_string())?;
    manifest.pending.retain(|p| p.path != rel);
    match result {
        Ok(bytes) => {
            write_file(&capture.join(rel), &bytes)
                .map_err(|e| format!("cannot write {rel}: {e}"))?;
            manifest.files.push(FileEntry {
                path: rel.to_owned(),
                bytes: bytes.len() as u64,
                what: what.to_owned(),
            });
        }
        Err(e) => manifest.notes.push(format!("{rel}: {e}")),
    }
    manifest
        .write(capture)
        .map_err(|e| format!("cannot update the manifest: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captures(dir: &Path) -> Captures {
        Captures::new(
            dir,
            Identity {
                pid: 7,
                host: "h".into(),
                version: "1".into(),
            },
        )
    }

    #[test]
    fn a_capture_appears_whole_with_its_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let c = captures(dir.path());
        let at = Timestamp::from_unix_millis(1_000);
        let mut d = c.begin("fds", at).unwrap();
        d.file("proc/fds.txt", b"0 -> /dev/null\n", "fds");
        d.pending("cpu.pprof", "CPU".into());
        let a = c.commit(d, 5).unwrap();
        assert_eq!(a.file_name().unwrap(), "19700101T000001.000Z");
        let m = Manifest::read(&a).unwrap();
        assert_eq!(m.id, "fds/19700101T000001.000Z");
        assert_eq!(m.files[0].bytes, 15);
        // The same time again gets a suffix.
        let b = c.commit(c.begin("fds", at).unwrap(), 5).unwrap();
        assert!(b.ends_with("19700101T000001.000Z-1"), "{}", b.display());
        complete_pending(&a, "cpu.pprof", Ok(b"pb".to_vec()), "CPU profile").unwrap();
        let m = Manifest::read(&a).unwrap();
        assert!(m.pending.is_empty());
        assert_eq!(m.files.last().unwrap().path, "cpu.pprof");
        complete_pending(&b, "cpu.pprof", Err("busy".into()), "CPU profile").unwrap();
        assert_eq!(Manifest::read(&b).unwrap().notes, ["cpu.pprof: busy"]);
        // No temporaries are left.
        let names: Vec<_> = fs::read_dir(dir.path().join("captures/fds"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_failed_draft_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let c = captures(dir.path());
        let mut d = c.begin("rss", Timestamp::from_unix_millis(5)).unwrap();
        d.failed = Some("disk full".into());
        assert_eq!(c.commit(d, 5).unwrap_err(), "disk full");
        assert_eq!(
            fs::read_dir(dir.path().join("captures/rss"))
                .unwrap()
                .count(),
            0
        );
    }
}
