//! The history file itself: reading it (tolerating torn lines), keeping it
//! bounded, rewriting it atomically, and the thread that appends rows.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    sync::mpsc,
};

use super::{FILE_NAME, HistoryConfig, Row};

/// The rows of a history file, and how many lines could not be read.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub rows: Vec<Row>,
    /// Lines that did not parse, a torn last line included.
    pub bad_lines: usize,
    /// The file does not end with a newline.
    pub torn: bool,
}

/// Reads the file at `path`; a missing file is an empty history.
pub(crate) fn load(path: &Path) -> std::io::Result<Loaded> {
    let text = match fs_err::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(e) => return Err(e),
    };
    let mut loaded = Loaded {
        torn: !text.is_empty() && !text.ends_with(b"\n"),
        ..Loaded::default()
    };
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice(line) {
            Ok(row) => loaded.rows.push(row),
            Err(_) => loaded.bad_lines += 1,
        }
    }
    Ok(loaded)
}

/// The rows to keep: those of the last `keep_runs` runs, and the last
/// `keep_process_events` process rows, in file order.
pub(crate) fn compact(rows: Vec<Row>, config: &HistoryConfig) -> Vec<Row> {
    let mut runs: Vec<u64> = rows
        .iter()
        .filter(|r| !matches!(r, Row::Process { .. }))
        .map(Row::run)
        .collect();
    runs.sort_unstable();
    runs.dedup();
    let oldest_kept = runs
        .len()
        .checked_sub(config.keep_runs)
        .and_then(|skip| runs.get(skip))
        .copied()
        .unwrap_or(0);
    let processes = rows
        .iter()
        .filter(|r| matches!(r, Row::Process { .. }))
        .count();
    let mut skip_processes = processes.saturating_sub(config.keep_process_events);
    rows.into_iter()
        .filter(|r| match r {
            Row::Process { .. } if skip_processes > 0 => {
                skip_processes -= 1;
                false
            }
            Row::Process { .. } => true,
            _ => r.run() >= oldest_kept,
        })
        .collect()
}

/// Replaces the file at `path` with `rows`, atomically.
pub(super) fn rewrite(path: &Path, rows: &[Row]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = dir.join(format!(".{FILE_NAME}.tmp"));
    let mut out = Vec::new();
    for row in rows {
        serde_json::to_writer(&mut out, row)?;
        out.push(b'\n');
    }
    let mut file = fs_err::File::create(&temp)?;
    file.write_all(&out)?;
    file.sync_all()?;
    drop(file);
    fs_err::rename(&temp, path)?;
    fs_err::File::open(dir)?.sync_all()
}

pub(super) fn open_append(path: &Path) -> std::io::Result<fs_err::File> {
    fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

pub(super) fn append(file: &mut fs_err::File, row: &Row) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(row)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_data()
}

/// What the writer thread is asked to do.
#[derive(Debug)]
pub(super) enum Message {
    /// Append this row.
    Row(Row),
    /// Stop: the run is closed.
    Close,
}

/// The writer thread's state.
pub(super) struct Writer {
    pub(super) path: PathBuf,
    pub(super) config: HistoryConfig,
    /// Rows in the file (about: other agents may append too).
    pub(super) rows: usize,
}

impl Writer {
    pub(super) fn run(mut self, rx: &mpsc::Receiver<Message>) {
        let mut file = None;
        while let Ok(Message::Row(row)) = rx.recv() {
            if let Err(err) = self.write(&mut file, &row) {
                tracing::warn!(error = %err, path = %self.path.display(), "cannot write the agent history");
                file = None;
            }
        }
    }

    fn write(&mut self, file: &mut Option<fs_err::File>, row: &Row) -> std::io::Result<()> {
        let out = match file {
            Some(f) => f,
            None => file.insert(open_append(&self.path)?),
        };
        append(out, row)?;
        self.rows += 1;
        if self.rows >= self.config.max_rows().saturating_mul(2) {
            *file = None;
            let kept = compact(load(&self.path)?.rows, &self.config);
            rewrite(&self.path, &kept)?;
            self.rows = kept.len();
        }
        Ok(())
    }
}
