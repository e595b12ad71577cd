//! One session file being written, and when to start the next.
//!
//! File layout (MCAP, zstd chunks):
//!
//! ```text
//! <session>_<NNN>.mcap
//!   magic, header (library "rewind-recorder <version>")
//!   metadata  rewind.session   {session_id, …, file_index, previous_file}
//!   chunk     schemas and channels (ids as registered)
//!   chunk*    messages; closed at chunk_size, at each flush (flush_sec), at rotation
//!   metadata  rewind.file_end  {next_file, reason, messages, cycles, …}
//!   data end, summary (schemas, channels, statistics, chunk and metadata
//!   indexes), summary offsets, footer, magic
//! ```
//!
//! A chunk is written straight to the file behind a placeholder header that
//! is overwritten when the chunk closes, so a killed writer leaves complete
//! chunks followed by at most one chunk whose length is still the
//! placeholder: [`recover`](crate::recover) stops there.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufWriter, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use mcap::{WriteOptions, records::MessageHeader};
use rewind_model::Timestamp;

use crate::{
    ChannelSpec, Error, Result,
    schemas::{MESSAGE_ENCODING, SCHEMA_ENCODING},
    session::{
        CycleCounts, EndReason, FILE_END_METADATA, SESSION_METADATA, SessionStamp,
        file_end_metadata, file_name,
    },
};

/// Uncompressed bytes a chunk may hold before the next one starts.
pub(crate) const CHUNK_BYTES: u64 = 4 * 1024 * 1024;
/// zstd level of the chunks: the fastest; see `docs/recorder.md` for the
/// ratios it reaches on cycle and guard channels.
pub(crate) const ZSTD_LEVEL: u32 = 1;
/// Write buffer between the MCAP writer and the file.
const BUFFER_BYTES: usize = 256 * 1024;

/// The MCAP options every file of this crate is written with; `seekable`
/// false for outputs that cannot seek (chunks are then built in memory).
pub(crate) fn write_options(seekable: bool) -> WriteOptions {
    WriteOptions::new()
        .compression(Some(mcap::Compression::Zstd))
        .compression_level(ZSTD_LEVEL)
        // No zstd worker threads: the writer thread is the only one we add.
        .compression_threads(0)
        .chunk_size(Some(CHUNK_BYTES))
        // Message indexes cost 16 bytes a message before compression, more
        // than a compressed guard message; chunk indexes (with time ranges)
        // and statistics are kept, and readers read a chunk whole.
        .emit_message_indexes(false)
        .disable_seeking(!seekable)
        .library(format!("rewind-recorder {}", env!("CARGO_PKG_VERSION")))
}

/// Size and time limits of one file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RotateLimits {
    pub(crate) bytes: u64,
    pub(crate) span_ns: u64,
}

/// Whether a file of `size` bytes whose first message was at `first` must
/// end before a message at `next` is written.
pub(crate) fn rotation_due(
    limits: RotateLimits,
    size: u64,
    first: Option<u64>,
    next: u64,
) -> Option<EndReason> {
    if size >= limits.bytes {
        Some(EndReason::RotateSize)
    } else if first.is_some_and(|first| next.saturating_sub(first) >= limits.span_ns) {
        Some(EndReason::RotateTime)
    } else {
        None
    }
}

/// A buffered file that tracks how far it extends, counting bytes as the
/// MCAP writer hands them over (before the buffer).
struct CountingFile {
    inner: BufWriter<File>,
    pos: u64,
    size: Arc<AtomicU64>,
}

impl Write for CountingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        self.size.fetch_max(self.pos, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Seek for CountingFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

/// What a finished file reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FinishedFile {
    pub(crate) path: PathBuf,
    pub(crate) bytes: u64,
    pub(crate) messages: u64,
}

/// One session file being written.
pub(crate) struct SessionFile {
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) index: u32,
    writer: mcap::Writer<CountingFile>,
    size: Arc<AtomicU64>,
    first_log_time: Option<u64>,
    pub(crate) messages: u64,
    pub(crate) counts: CycleCounts,
    unflushed: bool,
}

impl SessionFile {
    /// Creates file number `index` of the session (never over an existing
    /// file), writes its `rewind.session` metadata and every channel.
    pub(crate) fn create<'a>(
        dir: &Path,
        stamp: &SessionStamp,
        index: u32,
        previous: Option<&str>,
        channels: impl IntoIterator<Item = (u16, &'a ChannelSpec)>,
    ) -> Result<Self> {
        let name = file_name(&stamp.session_id, index);
        let path = dir.join(&name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        let size = Arc::new(AtomicU64::new(0));
        let sink = CountingFile {
            inner: BufWriter::with_capacity(BUFFER_BYTES, file),
            pos: 0,
            size: Arc::clone(&size),
        };
        let mut writer = write_options(true)
            .create(sink)
            .map_err(|e| Error::mcap(&path, e))?;
        writer
            .write_metadata(&mcap::records::Metadata {
                name: SESSION_METADATA.to_owned(),
                metadata: stamp.metadata(index, previous),
            })
            .map_err(|e| Error::mcap(&path, e))?;
        let mut this = Self {
            path,
            name,
            index,
            writer,
            size,
            first_log_time: None,
            messages: 0,
            counts: CycleCounts::default(),
            unflushed: false,
        };
        for (id, spec) in channels {
            this.add_channel(id, spec)?;
        }
        Ok(this)
    }

    /// Writes a channel's schema and channel records.
    pub(crate) fn add_channel(&mut self, id: u16, spec: &ChannelSpec) -> Result<()> {
        let schema = self
            .writer
            .add_schema(&spec.schema_name, SCHEMA_ENCODING, spec.schema.as_bytes())
            .map_err(|e| Error::mcap(&self.path, e))?;
        self.writer
            .add_channel_with_id(id, schema, &spec.topic, MESSAGE_ENCODING, &spec.metadata)
            .map_err(|e| Error::mcap(&self.path, e))?;
        self.unflushed = true;
        Ok(())
    }

    /// Writes one message.
    pub(crate) fn write(
        &mut self,
        channel: u16,
        sequence: u32,
        log_time: u64,
        payload: &[u8],
    ) -> Result<()> {
        let header = MessageHeader {
            channel_id: channel,
            sequence,
            log_time,
            publish_time: log_time,
        };
        self.writer
            .write_to_known_channel(&header, payload)
            .map_err(|e| Error::mcap(&self.path, e))?;
        self.first_log_time = Some(self.first_log_time.map_or(log_time, |f| f.min(log_time)));
        self.messages += 1;
        self.unflushed = true;
        Ok(())
    }

    /// Whether the file must end before a message at `next` is written.
    pub(crate) fn rotation_due(&self, limits: RotateLimits, next: u64) -> Option<EndReason> {
        rotation_due(
            limits,
            self.size.load(Ordering::Relaxed),
            self.first_log_time,
            next,
        )
    }

    /// Closes the open chunk and hands everything to the kernel: from here a
    /// killed process loses nothing written so far.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.unflushed {
            self.writer
                .flush()
                .map_err(|e| Error::mcap(&self.path, e))?;
            self.unflushed = false;
        }
        Ok(())
    }

    /// Writes `rewind.file_end` and the summary, then syncs the file and its
    /// directory.
    pub(crate) fn finish(
        mut self,
        next: Option<&str>,
        reason: EndReason,
        end: Timestamp,
    ) -> Result<FinishedFile> {
        let path = self.path.clone();
        let metadata = file_end_metadata(next, reason, self.messages, &self.counts, end);
        self.writer
            .write_metadata(&mcap::records::Metadata {
                name: FILE_END_METADATA.to_owned(),
                metadata,
            })
            .map_err(|e| Error::mcap(&path, e))?;
        self.writer.finish().map_err(|e| Error::mcap(&path, e))?;
        let file = self
            .writer
            .into_inner()
            .inner
            .into_inner()
            .map_err(|e| Error::io("write", &path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io("sync", &path, e))?;
        if let Some(dir) = path.parent() {
            sync_dir(dir);
        }
        Ok(FinishedFile {
            path,
            bytes: self.size.load(Ordering::Relaxed),
            messages: self.messages,
        })
    }
}

/// Makes a new file's directory entry durable; best effort.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        d.sync_all().ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_rotate_by_size_then_by_message_time() {
        let limits = RotateLimits {
            bytes: 1_000,
            span_ns: 60,
        };
        assert_eq!(rotation_due(limits, 999, Some(0), 59), None);
        assert_eq!(rotation_due(limits, 999, None, 1_000), None);
        assert_eq!(
            rotation_due(limits, 1_000, Some(0), 1),
            Some(EndReason::RotateSize)
        );
        assert_eq!(
            rotation_due(limits, 10, Some(100), 160),
            Some(EndReason::RotateTime)
        );
        // A frame older than the file's first message rotates nothing.
        assert_eq!(rotation_due(limits, 10, Some(100), 5), None);
    }
}
