//! The bounded output of one capture: every file capped at `max_file_bytes`,
//! the whole capture at `max_total_bytes`; what was cut or left out is said
//! in a note.

use std::{io::Read as _, path::Path};

/// Files and notes being gathered under the size limits.
#[derive(Debug)]
pub(super) struct Out {
    pub(super) files: Vec<(String, Vec<u8>)>,
    pub(super) notes: Vec<String>,
    total: u64,
    max_file: u64,
    max_total: u64,
    left_out: usize,
}

impl Out {
    pub(super) fn new(max_file: u64, max_total: u64) -> Self {
        Self {
            files: Vec::new(),
            notes: Vec::new(),
            total: 0,
            max_file,
            max_total,
            left_out: 0,
        }
    }

    /// Bytes kept so far.
    #[cfg(test)]
    pub(super) fn total(&self) -> u64 {
        self.total
    }

    /// The largest file allowed.
    pub(super) fn max_file(&self) -> u64 {
        self.max_file
    }

    pub(super) fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Keeps `bytes` as `path`, cut to `cap` (default `max_file`);
    /// `cut` says the source was already cut. A file that does not fit in
    /// what is left of `max_total` is left out and counted.
    pub(super) fn file(&mut self, path: String, mut bytes: Vec<u8>, cap: Option<u64>, cut: bool) {
        let cap = cap.unwrap_or(self.max_file);
        let cut = cut || len(&bytes) > cap;
        if len(&bytes) > cap {
            bytes.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        }
        if self.total.saturating_add(len(&bytes)) > self.max_total {
            self.left_out += 1;
            return;
        }
        if cut {
            self.notes
                .push(format!("{path}: truncated at {} bytes", len(&bytes)));
        }
        self.total += len(&bytes);
        self.files.push((path, bytes));
    }

    /// The files and notes, with one note for what did not fit.
    pub(super) fn finish(mut self) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
        if self.left_out > 0 {
            self.notes.push(format!(
                "{} files left out: the capture reached diagnostics.max_total_bytes ({} bytes)",
                self.left_out, self.max_total
            ));
        }
        (self.files, self.notes)
    }
}

fn len(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

/// At most `cap` bytes of a file, and whether it held more.
pub(super) fn read_capped(path: &Path, cap: u64) -> std::io::Result<(Vec<u8>, bool)> {
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut buf)?;
    let cut = len(&buf) > cap;
    if cut {
        buf.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    }
    Ok((buf, cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_cut_and_the_total_is_kept() {
        let mut out = Out::new(4, 10);
        out.file("a".into(), b"123456".to_vec(), None, false);
        out.file("b".into(), b"12".to_vec(), None, true);
        out.file("c".into(), b"1234".to_vec(), Some(3), false);
        out.file("d".into(), b"1234".to_vec(), None, false);
        assert_eq!(out.total(), 9);
        let (files, notes) = out.finish();
        assert_eq!(
            files,
            [
                ("a".to_owned(), b"1234".to_vec()),
                ("b".to_owned(), b"12".to_vec()),
                ("c".to_owned(), b"123".to_vec()),
            ]
        );
        assert_eq!(
            notes,
            [
                "a: truncated at 4 bytes",
                "b: truncated at 2 bytes",
                "c: truncated at 3 bytes",
                "1 files left out: the capture reached diagnostics.max_total_bytes (10 bytes)"
            ]
        );
    }
}
