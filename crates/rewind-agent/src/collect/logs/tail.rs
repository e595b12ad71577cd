//! One followed file: a poll-driven state machine over `stat(path)` and an
//! open descriptor, identified by (device, inode).
//!
//! Each [`Tail::poll`]:
//! - path names the open file: read to EOF (at most [`READ_BUDGET`] per pass);
//!   if it became shorter than the read position it was copy-truncated, so
//!   reading restarts at 0 (a truncate followed by a rewrite past the old
//!   position before the next look cannot be told apart from appends).
//! - path names another file (rename rotation), or nothing (deleted, or moved
//!   before the new one is created): the old descriptor is kept for
//!   [`ROTATE_WAIT`] and read first on every pass (writers append to it until
//!   they reopen), then read to EOF one last time and closed; the new file
//!   is read from its start.
//! - path missing or unreadable: one problem per condition, keep looking.
//!
//! Where reading starts when a file is opened: at the position saved by the
//! previous run if it is the same (device, inode) and not shorter; at its
//! end on the first look at start-up otherwise; at 0 for a file that
//! appears later (rotated in, recreated). A file moved away and back within
//! [`ROTATE_WAIT`] is recognised by its still-open descriptor. Once closed, an
//! inode number may be reused by a new file, so identity is not trusted
//! beyond that (except for the saved position: a file deleted and recreated
//! with the same inode while the agent was stopped, and already as long as
//! the saved offset, is resumed at that offset).

use std::{
    fs::File,
    io::{ErrorKind, Read as _, Seek as _, SeekFrom},
    os::unix::fs::MetadataExt as _,
    path::PathBuf,
    time::{Duration, Instant},
};

use rewind_model::{Event, EventKind, Timestamp};

use super::{
    Chunker,
    offsets::Position,
    text::{Lines, clean, guess_level},
};

/// Most bytes read from one file in one pass (the next pass follows at once).
pub const READ_BUDGET: usize = 1 << 20;
/// How long a rotated-away file is still read (its writer may not have reopened yet).
pub const ROTATE_WAIT: Duration = Duration::from_secs(5);

/// An open file and the unfinished line read from it.
#[derive(Debug)]
struct Reader {
    file: File,
    dev: u64,
    ino: u64,
    pos: u64,
    lines: Lines,
}

impl Reader {
    fn same_file(&self, meta: &std::fs::Metadata) -> bool {
        self.dev == meta.dev() && self.ino == meta.ino()
    }

    fn position(&self) -> Position {
        let held = u64::try_from(self.lines.held()).unwrap_or(u64::MAX);
        Position {
            dev: self.dev,
            ino: self.ino,
            offset: self.pos.saturating_sub(held),
        }
    }
}

/// What [`Tail`] hands its lines to, and where.
struct Emit<'a> {
    out: &'a mut Chunker,
    source: &'a str,
    max: usize,
}

impl Emit<'_> {
    fn line(&mut self, raw: &[u8]) {
        let message = clean(raw, self.max);
        if !message.is_empty() {
            let level = guess_level(&message);
            self.out.event(Event::new(
                Timestamp::now(),
                self.source,
                EventKind::Log,
                level,
                message,
            ));
        }
    }
}

/// One configured path.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    source: String,
    problem_source: String,
    current: Option<Reader>,
    rotated: Option<(Reader, Instant)>,
    /// The position saved by a previous run, until the file is first opened.
    saved: Option<Position>,
    looked: bool,
    had_file: bool,
    complained: Option<String>,
    max: usize,
}

impl Tail {
    /// Follows `path`, resuming at `saved` if that is still the same file.
    pub fn new(path: PathBuf, saved: Option<Position>, max: usize) -> Self {
        let source = format!("file:{}", path.display());
        let problem_source = format!("logs/{source}");
        Self {
            path,
            source,
            problem_source,
            current: None,
            rotated: None,
            saved,
            looked: false,
            had_file: false,
            complained: None,
            max,
        }
    }

    /// The path followed.
    pub fn path(&self) -> &PathBuf {
        &self.path
    }

    /// Where to resume after a restart.
    pub fn position(&self) -> Option<Position> {
        self.current.as_ref().map(Reader::position).or(self.saved)
    }

    /// One look at the file; `true` when more is waiting than was read.
    pub fn poll(&mut self, out: &mut Chunker, buf: &mut [u8]) -> bool {
        let first = !std::mem::replace(&mut self.looked, true);
        let mut busy = self.drain_rotated(out, buf);
        let meta = std::fs::metadata(&self.path);
        match &meta {
            Ok(m) => {
                if let Some(r) = &mut self.current {
                    if !r.same_file(m) {
                        // Rotated: the path names a new file. Finish the old one first.
                        if self.retire(out, buf) {
                            return true;
                        }
                    } else if m.len() < r.pos {
                        truncated(r);
                    }
                }
            }
            Err(e) if is_gone(e) => {
                if self.retire(out, buf) {
                    return true;
                }
                let msg = self.absent_message();
                self.complain(out, msg);
            }
            Err(e) => {
                let msg = format!("{}: {e}", self.path.display());
                self.complain(out, msg);
            }
        }
        if self.current.is_none()
            && let Ok(m) = &meta
        {
            self.open(m, first, out);
        }
        busy |= self.read_current(out, buf);
        busy
    }

    fn absent_message(&self) -> String {
        if self.had_file {
            format!(
                "{}: vanished; waiting for it to come back",
                self.path.display()
            )
        } else {
            format!(
                "{}: does not exist (yet); waiting for it",
                self.path.display()
            )
        }
    }

    /// The path no longer names the open file: read it to EOF, then keep it
    /// aside for [`ROTATE_WAIT`]. `true` while EOF was not reached yet.
    fn retire(&mut self, out: &mut Chunker, buf: &mut [u8]) -> bool {
        let Some(mut r) = self.current.take() else {
            return false;
        };
        if self.read(&mut r, out, buf) {
            self.current = Some(r);
            return true;
        }
        if let Some((old, _)) = self.rotated.take() {
            self.close(old, out, buf);
        }
        self.rotated = Some((r, Instant::now() + ROTATE_WAIT));
        false
    }

    /// Reads the rotated-away file; closes it once its time is up.
    fn drain_rotated(&mut self, out: &mut Chunker, buf: &mut [u8]) -> bool {
        let Some((mut r, until)) = self.rotated.take() else {
            return false;
        };
        if Instant::now() >= until {
            self.close(r, out, buf);
            return false;
        }
        let busy = self.read(&mut r, out, buf);
        self.rotated = Some((r, until));
        busy
    }

    /// Reads what is left (bounded), emits the unfinished line, closes.
    fn close(&mut self, mut r: Reader, out: &mut Chunker, buf: &mut [u8]) {
        self.read(&mut r, out, buf);
        let mut emit = Emit {
            out,
            source: &self.source,
            max: self.max,
        };
        r.lines.finish(&mut |l| emit.line(l));
    }

    fn open(&mut self, meta: &std::fs::Metadata, first: bool, out: &mut Chunker) {
        if !meta.is_file() {
            let msg = format!("{}: not a regular file", self.path.display());
            return self.complain(out, msg);
        }
        if let Some((r, _)) = self.rotated.take_if(|(r, _)| r.same_file(meta)) {
            self.current = Some(r); // moved away and back
            return;
        }
        match self.open_at(first) {
            Ok(r) => {
                self.saved = None;
                self.had_file = true;
                self.complained = None;
                self.current = Some(r);
            }
            Err(e) => self.complain(out, format!("{}: {e}", self.path.display())),
        }
    }

    fn open_at(&self, first: bool) -> std::io::Result<Reader> {
        let mut file = File::open(&self.path)?;
        // The identity and size of what was opened, not of what the path named a moment ago.
        let meta = file.metadata()?;
        let start = match self.saved {
            Some(k) if k.same_file(&meta) && meta.len() >= k.offset => k.offset,
            Some(_) => 0,
            None if first => meta.len(),
            None => 0,
        };
        file.seek(SeekFrom::Start(start))?;
        Ok(Reader {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
            pos: start,
            lines: Lines::new(self.max),
        })
    }

    fn read_current(&mut self, out: &mut Chunker, buf: &mut [u8]) -> bool {
        let Some(mut r) = self.current.take() else {
            return false;
        };
        let busy = self.read(&mut r, out, buf);
        self.current = Some(r);
        busy
    }

    /// Reads up to [`READ_BUDGET`] bytes; `true` if stopped by the budget.
    fn read(&mut self, r: &mut Reader, out: &mut Chunker, buf: &mut [u8]) -> bool {
        let mut emit = Emit {
            out,
            source: &self.source,
            max: self.max,
        };
        let mut total = 0;
        let failure = loop {
            if total >= READ_BUDGET {
                return true;
            }
            match r.file.read(buf) {
                Ok(0) => return false,
                Ok(n) => {
                    total += n;
                    r.pos += n as u64;
                    r.lines.push(&buf[..n], &mut |l| emit.line(l));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break e,
            }
        };
        let msg = format!("{}: read failed: {failure}", self.path.display());
        self.complain(out, msg);
        false
    }

    /// Reports `msg` unless it is what was reported last.
    fn complain(&mut self, out: &mut Chunker, msg: String) {
        if self.complained.as_ref() != Some(&msg) {
            out.problem(&self.problem_source, &msg);
            self.complained = Some(msg);
        }
    }
}

/// Copy-truncate: the file was emptied in place; read it again from the start.
fn truncated(r: &mut Reader) {
    if r.file.seek(SeekFrom::Start(0)).is_ok() {
        r.pos = 0;
        r.lines.clear();
    }
}

fn is_gone(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}
