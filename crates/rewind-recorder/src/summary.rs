//! Reading what a session holds from the files' summary sections only (the
//! footer, then the summary: statistics, channels, chunk and metadata
//! indexes, then the metadata records they point to), never the messages.
//! This backs `GET /api/v1/sessions[/{id}]` and `rewind sessions ls|show`.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{self, Read as _, Seek as _, SeekFrom},
    path::{Path, PathBuf},
};

use mcap::{
    records::Record,
    sans_io::summary_reader::{SummaryReadEvent, SummaryReader, SummaryReaderOptions},
};
use rewind_model::Timestamp;
use serde::Serialize;

use crate::{
    Error, Result,
    schemas::{CYCLE_TOPIC, IMAGES_TOPIC_PREFIX},
    session::{FILE_END_METADATA, FileEnd, SESSION_METADATA, SessionMeta, parse_file_name},
};

/// Longest summary record or metadata record read, in bytes.
const MAX_SUMMARY_RECORD: usize = 64 * 1024 * 1024;

/// One channel of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelSummary {
    /// The MCAP channel id.
    pub id: u16,
    /// The topic.
    pub topic: String,
    /// The schema's name, if the channel has one.
    pub schema_name: Option<String>,
    /// The message encoding (`json`).
    pub message_encoding: String,
    /// Messages on the channel in this file.
    pub messages: u64,
}

/// What a file's summary section says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSummary {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub size_bytes: u64,
    /// Its `rewind.session` metadata, when it has one.
    pub session: Option<SessionMeta>,
    /// Its `rewind.file_end` metadata, when it has one (not in recovered
    /// files).
    pub file_end: Option<FileEnd>,
    /// Log time of the first message.
    pub start_time: Option<Timestamp>,
    /// Log time of the last message.
    pub end_time: Option<Timestamp>,
    /// Messages in the file.
    pub message_count: u64,
    /// Channels, by topic.
    pub channels: Vec<ChannelSummary>,
    /// Chunks in the file.
    pub chunk_count: u64,
    /// Chunk compressions used (`zstd`).
    pub compression: Vec<String>,
    /// Bytes of chunk data as stored.
    pub compressed_bytes: u64,
    /// Bytes of chunk data once decompressed.
    pub uncompressed_bytes: u64,
    /// Every metadata record, by name (the last wins).
    pub metadata: BTreeMap<String, BTreeMap<String, String>>,
}

impl FileSummary {
    /// Messages on `topic`.
    pub fn messages_on(&self, topic: &str) -> u64 {
        self.channels
            .iter()
            .filter(|c| c.topic == topic)
            .map(|c| c.messages)
            .sum()
    }

    /// Whether any camera frame was written.
    pub fn has_images(&self) -> bool {
        self.channels
            .iter()
            .any(|c| c.topic.starts_with(IMAGES_TOPIC_PREFIX) && c.messages > 0)
    }
}

/// Reads a file's summary section and metadata, without scanning messages.
///
/// # Errors
/// [`Error::NoSummary`] for a file being written or left by a killed
/// writer, [`Error::Io`], [`Error::Mcap`] for a damaged summary.
pub fn read_summary(path: &Path) -> Result<FileSummary> {
    let mut file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let size = file
        .metadata()
        .map_err(|e| Error::io("read", path, e))?
        .len();
    let summary = summary_section(&mut file, size).map_err(|e| match e {
        mcap::McapError::BadMagic | mcap::McapError::UnexpectedEof | mcap::McapError::BadFooter => {
            Error::NoSummary {
                path: path.to_owned(),
            }
        }
        e => Error::mcap(path, e),
    })?;
    let Some(summary) = summary else {
        return Err(Error::NoSummary {
            path: path.to_owned(),
        });
    };
    let mut metadata = BTreeMap::new();
    for index in &summary.metadata_indexes {
        let m = read_metadata(&mut file, size, index.offset, index.length)
            .map_err(|e| Error::mcap(path, e))?;
        metadata.insert(m.name, m.metadata);
    }
    let stats = summary.stats.clone().unwrap_or_default();
    let mut channels: Vec<ChannelSummary> = summary
        .channels
        .values()
        .map(|c| ChannelSummary {
            id: c.id,
            topic: c.topic.clone(),
            schema_name: c.schema.as_ref().map(|s| s.name.clone()),
            message_encoding: c.message_encoding.clone(),
            messages: stats
                .channel_message_counts
                .get(&c.id)
                .copied()
                .unwrap_or(0),
        })
        .collect();
    channels.sort_by(|a, b| (&a.topic, a.id).cmp(&(&b.topic, b.id)));
    let mut compression: Vec<String> = summary
        .chunk_indexes
        .iter()
        .map(|c| c.compression.clone())
        .collect();
    compression.sort();
    compression.dedup();
    let has_messages = stats.message_count > 0;
    let time = |ns: u64| {
        has_messages.then(|| Timestamp::from_unix_nanos(i64::try_from(ns).unwrap_or(i64::MAX)))
    };
    Ok(FileSummary {
        path: path.to_owned(),
        size_bytes: size,
        session: metadata.get(SESSION_METADATA).map(SessionMeta::parse),
        file_end: metadata.get(FILE_END_METADATA).map(FileEnd::parse),
        start_time: time(stats.message_start_time),
        end_time: time(stats.message_end_time),
        message_count: stats.message_count,
        channels,
        chunk_count: summary.chunk_indexes.len() as u64,
        compression,
        compressed_bytes: summary
            .chunk_indexes
            .iter()
            .map(|c| c.compressed_size)
            .sum(),
        uncompressed_bytes: summary
            .chunk_indexes
            .iter()
            .map(|c| c.uncompressed_size)
            .sum(),
        metadata,
    })
}

fn summary_section(file: &mut File, size: u64) -> mcap::McapResult<Option<mcap::Summary>> {
    let mut reader = SummaryReader::new_with_options(
        SummaryReaderOptions::default()
            .with_file_size(size)
            .with_record_length_limit(MAX_SUMMARY_RECORD),
    );
    while let Some(event) = reader.next_event() {
        match event? {
            SummaryReadEvent::ReadRequest(n) => {
                let read = loop {
                    match file.read(reader.insert(n)) {
                        Ok(read) => break read,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                };
                reader.notify_read(read);
            }
            SummaryReadEvent::SeekRequest(to) => {
                let pos = file.seek(to)?;
                reader.notify_seeked(pos);
            }
        }
    }
    Ok(reader.finish())
}

fn read_metadata(
    file: &mut File,
    size: u64,
    offset: u64,
    length: u64,
) -> mcap::McapResult<mcap::records::Metadata> {
    let len = usize::try_from(length)
        .ok()
        .filter(|&l| l <= MAX_SUMMARY_RECORD && offset.saturating_add(length) <= size)
        .ok_or(mcap::McapError::BadIndex)?;
    let mut buf = vec![0; len];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut buf)?;
    match mcap::read::LinearReader::sans_magic(&buf).next() {
        Some(Ok(Record::Metadata(m))) => Ok(m),
        Some(Err(e)) => Err(e),
        _ => Err(mcap::McapError::BadIndex),
    }
}

/// One file of a session in a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionFileEntry {
    /// The file.
    pub path: PathBuf,
    /// Its number in the session.
    pub index: u32,
    /// Its size.
    pub size_bytes: u64,
    /// Its summary; `None` while it is being written or after its writer
    /// was killed (recover it to read it this way).
    pub summary: Option<FileSummary>,
}

/// A session: its files and their summaries added up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    /// The session id.
    pub session_id: String,
    /// The `rewind.session` metadata of its first readable file.
    pub meta: Option<SessionMeta>,
    /// Its files, in order.
    pub files: Vec<SessionFileEntry>,
    /// All files' bytes.
    pub size_bytes: u64,
    /// First message time over the readable files.
    pub start_time: Option<Timestamp>,
    /// Last message time over the readable files.
    pub end_time: Option<Timestamp>,
    /// Messages in the readable files.
    pub message_count: u64,
    /// Messages per topic in the readable files.
    pub channels: BTreeMap<String, u64>,
    /// `/dam/cycle` messages.
    pub cycles: u64,
    /// Cycles with `has_violation` (from the files' `rewind.file_end`).
    pub violation_cycles: u64,
    /// Cycles with `has_clamp` (from the files' `rewind.file_end`).
    pub clamp_cycles: u64,
    /// Whether any camera frame was written.
    pub has_images: bool,
    /// Files without a summary (being written, or crashed).
    pub unreadable_files: usize,
}

/// Lists the sessions in a directory from the `<session>_<NNN>.mcap` files'
/// summaries, sorted by session id. Other files are ignored.
///
/// # Errors
/// [`Error::Io`] when the directory cannot be read. A file whose summary
/// cannot be read is listed without one.
pub fn list_sessions(dir: &Path) -> Result<Vec<SessionSummary>> {
    let mut by_session: BTreeMap<String, Vec<(u32, PathBuf)>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))? {
        let entry = entry.map_err(|e| Error::io("read", dir, e))?;
        let path = entry.path();
        if let Some((session, index)) = parse_file_name(&path) {
            by_session.entry(session).or_default().push((index, path));
        }
    }
    Ok(by_session
        .into_iter()
        .map(|(id, mut files)| {
            files.sort();
            summarize_session(id, files)
        })
        .collect())
}

/// The files of one session in a directory, in order.
///
/// # Errors
/// [`Error::Io`] when the directory cannot be read.
pub fn session_files(dir: &Path, session_id: &str) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))? {
        let path = entry.map_err(|e| Error::io("read", dir, e))?.path();
        if let Some((session, index)) = parse_file_name(&path)
            && session == session_id
        {
            files.push((index, path));
        }
    }
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// One session's summary from its files (each read by its summary only).
///
/// # Errors
/// [`Error::Io`] when the directory cannot be read. `Ok(None)` when the
/// session has no file there.
pub fn read_session(dir: &Path, session_id: &str) -> Result<Option<SessionSummary>> {
    let files = session_files(dir, session_id)?;
    if files.is_empty() {
        return Ok(None);
    }
    let files = files
        .into_iter()
        .filter_map(|p| Some((parse_file_name(&p)?.1, p)))
        .collect();
    Ok(Some(summarize_session(session_id.to_owned(), files)))
}

fn summarize_session(session_id: String, files: Vec<(u32, PathBuf)>) -> SessionSummary {
    let mut s = SessionSummary {
        session_id,
        meta: None,
        files: Vec::with_capacity(files.len()),
        size_bytes: 0,
        start_time: None,
        end_time: None,
        message_count: 0,
        channels: BTreeMap::new(),
        cycles: 0,
        violation_cycles: 0,
        clamp_cycles: 0,
        has_images: false,
        unreadable_files: 0,
    };
    for (index, path) in files {
        let summary = read_summary(&path).ok();
        let size_bytes = summary.as_ref().map_or_else(
            || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
            |f| f.size_bytes,
        );
        s.size_bytes += size_bytes;
        match &summary {
            Some(f) => add_file(&mut s, f),
            None => s.unreadable_files += 1,
        }
        s.files.push(SessionFileEntry {
            path,
            index,
            size_bytes,
            summary,
        });
    }
    s
}

fn add_file(s: &mut SessionSummary, f: &FileSummary) {
    if s.meta.is_none() {
        s.meta.clone_from(&f.session);
    }
    s.start_time = min_some(s.start_time, f.start_time);
    s.end_time = match (s.end_time, f.end_time) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    s.message_count += f.message_count;
    for c in &f.channels {
        *s.channels.entry(c.topic.clone()).or_default() += c.messages;
    }
    s.cycles += f.messages_on(CYCLE_TOPIC);
    if let Some(end) = &f.file_end {
        s.violation_cycles += end.cycles.violation_cycles;
        s.clamp_cycles += end.cycles.clamp_cycles;
    }
    s.has_images |= f.has_images();
}

fn min_some(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
