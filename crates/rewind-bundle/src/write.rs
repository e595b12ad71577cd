//! Writing bundles: into any `Write + Seek`, or atomically into a directory.

use std::{
    fs::File,
    io::{self, BufWriter, Seek, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use rewind_model::Timestamp;
use sha2::{Digest, Sha256};
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use crate::{
    Attachment, BundleInput, EVENTS_PATH, Error, FORMAT_VERSION, MANIFEST_PATH, RECORDING_PATH,
    Result, TRIGGER_PATH,
    csv::render_csv,
    events::write_events,
    input::check_input,
    layout::{check_attachment_path, is_log_event, series_paths},
    logs::{self, write_log},
    manifest::{AttachmentEntry, FileEntry, LogEntry, Manifest, SeriesEntry, TriggerSummary},
    recording::write_recording,
};

/// A bundle that [`write_bundle`] has put in place.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenBundle {
    /// Final path of the zip.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its manifest.
    pub manifest: Manifest,
    /// How long each stage of writing it took.
    pub stages: WriteStages,
}

/// Wall time of each stage of [`write_bundle`], for `rewind bench capture`.
///
/// `recording` runs on a thread of its own while the main thread renders,
/// hashes and deflates the other members (`csv_*`, `events_logs`,
/// `attachments`); `recording_wait` is how long the main thread then waited
/// for it. So the stages add up to the whole only without that overlap:
/// the total is about `csv_* + events_logs + attachments + recording_wait +
/// recording_store + finish + fsync + rename`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStages {
    /// Rendering the series CSVs into memory.
    pub csv_render: Duration,
    /// SHA-256 of the series CSVs.
    pub csv_hash: Duration,
    /// Deflating the series CSVs into the zip (zip headers included).
    pub csv_deflate: Duration,
    /// `events.jsonl` and `logs/`: rendered, hashed and deflated.
    pub events_logs: Duration,
    /// Attachments: hashed and deflated.
    pub attachments: Duration,
    /// `recording.mcap`: messages encoded, zstd chunks, summary, and its
    /// SHA-256 (on its own thread).
    pub recording: Duration,
    /// How long the main thread waited for the recording after its own work.
    pub recording_wait: Duration,
    /// Copying the recording into the zip (stored, not deflated).
    pub recording_store: Duration,
    /// `trigger.json`, `manifest.json`, the central directory, and the
    /// flush into the file.
    pub finish: Duration,
    /// fsync of the temp file.
    pub fsync: Duration,
    /// Rename to the final name and fsync of the directory.
    pub rename: Duration,
}

/// Prefix of the temporary files [`write_bundle`] creates next to the final
/// one. Only a crash can leave one behind; they are safe to delete.
pub const TEMP_PREFIX: &str = ".rewind-bundle-";

/// Writes the bundle into `dir` atomically: a temp file in the same directory,
/// fsync, rename to [`file_name`], fsync of the directory.
///
/// Never replaces an existing file: if the name is taken (same rule, same
/// second), `-2`, `-3`, … is appended to the slug. No partial file ever
/// appears under a final name.
///
/// # Errors
/// [`Error::Io`] naming the directory or file that failed, [`Error::Write`],
/// or [`Error::InvalidInput`] as for [`write_bundle_to`].
pub fn write_bundle(dir: &Path, input: &BundleInput<'_>) -> Result<WrittenBundle> {
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    let mut stages = WriteStages::default();
    let manifest = write_zip(
        BufWriter::with_capacity(256 * 1024, temp.as_file_mut()),
        input,
        &mut stages,
    )?;
    let file = temp.as_file();
    let started = Instant::now();
    file.sync_all().map_err(Error::io(temp.path()))?;
    stages.fsync = started.elapsed();
    let size = file.metadata().map_err(Error::io(temp.path()))?.len();
    let name = file_name(input.trigger.fired_at, &input.trigger.rule);
    let started = Instant::now();
    let path = persist_unique(temp, dir, &name)?;
    sync_dir(dir)?;
    stages.rename = started.elapsed();
    Ok(WrittenBundle {
        path,
        size,
        manifest,
        stages,
    })
}

/// Renames `temp` to `dir/name`, or to `name` with `-N` before `.zip` if taken.
fn persist_unique(mut temp: tempfile::NamedTempFile, dir: &Path, name: &str) -> Result<PathBuf> {
    let stem = name.strip_suffix(".zip").unwrap_or(name);
    for n in 1..=1000_u32 {
        let path = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem}-{n}.zip"))
        };
        match temp.persist_noclobber(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => temp = e.file,
            Err(e) => {
                return Err(Error::Io {
                    path,
                    source: e.error,
                });
            }
        }
    }
    let source = io::Error::new(
        io::ErrorKind::AlreadyExists,
        "1000 bundles with this name exist",
    );
    Err(Error::Io {
        path: dir.join(name),
        source,
    })
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(()) // directories cannot be opened for fsync on Windows; the rename is durable there
}

/// `incident_<YYYYMMDDTHHMMSSZ>_<slug>.zip`, the slug being `rule` in
/// lowercase `[a-z0-9-]`, at most 48 characters, never empty.
///
/// ```
/// use rewind_model::Timestamp;
/// let t = Timestamp::parse_rfc3339("2026-11-23T10:00:05.9Z").unwrap();
/// assert_eq!(
///     rewind_bundle::file_name(t, "CPU saturated!"),
///     "incident_20261123T100005Z_cpu-saturated.zip"
/// );
/// ```
#[must_use]
pub fn file_name(fired_at: Timestamp, rule: &str) -> String {
    let t = jiff::Timestamp::from_nanosecond(i128::from(fired_at.as_unix_nanos()))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!(
        "incident_{}_{}.zip",
        t.strftime("%Y%m%dT%H%M%SZ"),
        rule_slug(rule)
    )
}

/// The part of a bundle's file name that names its rule: `rule` in
/// lowercase `[a-z0-9-]`, at most 48 characters, never empty. The agent
/// uses it to find a rule's bundles when it rotates them.
///
/// ```
/// assert_eq!(rewind_bundle::rule_slug("CPU saturated!"), "cpu-saturated");
/// ```
#[must_use]
pub fn rule_slug(rule: &str) -> String {
    let mut out = String::new();
    for c in rule.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 48 {
            break;
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "incident".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Writes the bundle as a zip into `w` and returns its manifest.
///
/// Members are written in a fixed order (series CSVs, `events.jsonl`, logs,
/// attachments, `recording.mcap`, `trigger.json`, `manifest.json` last) with
/// the zip mtime taken from `created_at`, so the same input always gives the
/// same bytes. Text members are deflated; the recording, already
/// zstd-compressed, is stored.
///
/// # Errors
/// [`Error::InvalidInput`] for duplicate series names, a window that ends
/// before it starts, non-finite evidence values (JSON cannot hold them), a
/// bad or repeated attachment path, or a bad `fleet`; [`Error::Write`] when
/// `w` fails.
pub fn write_bundle_to<W: Write + Seek>(w: W, input: &BundleInput<'_>) -> Result<Manifest> {
    write_zip(w, input, &mut WriteStages::default())
}

/// [`write_bundle_to`], timing its stages into `stages`.
///
/// The recording (the slowest member: one JSON message per sample, zstd)
/// is built on a scoped thread while this one writes the other members; it
/// is built here instead when no thread can be started.
fn write_zip<W: Write + Seek>(
    w: W,
    input: &BundleInput<'_>,
    stages: &mut WriteStages,
) -> Result<Manifest> {
    check_input(input)?;
    let events = crate::events::sorted(input.events);
    std::thread::scope(|scope| {
        let build = || {
            let started = Instant::now();
            let built = write_recording(input, &events, is_log_event).map(|(bytes, entry)| {
                let sha256 = hex::encode(Sha256::digest(&bytes));
                (bytes, entry, sha256)
            });
            (built, started.elapsed())
        };
        let thread = std::thread::Builder::new()
            .name("bundle-recording".into())
            .spawn_scoped(scope, build);
        let mut zip = ZipWriter::new(w);
        let mut manifest = build_manifest(input);
        let written = write_members(&mut zip, input, &events, &mut manifest, stages);
        let started = Instant::now();
        let (built, took) = match thread {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                let panicked = io::Error::other("the recording thread panicked");
                (Err(Error::Write { source: panicked }), Duration::ZERO)
            }),
            Err(_) => build(),
        };
        stages.recording_wait = started.elapsed();
        stages.recording = took;
        written?;
        let (mcap, recording, sha256) = built?;
        let started = Instant::now();
        zip.start_file(RECORDING_PATH, options(input).stored())
            .map_err(write_err)?;
        zip.write_all(&mcap)
            .map_err(|source| Error::Write { source })?;
        manifest.files.push(FileEntry {
            path: RECORDING_PATH.to_owned(),
            size: u64::try_from(mcap.len()).unwrap_or(u64::MAX),
            sha256,
        });
        manifest.recording = Some(recording);
        stages.recording_store = started.elapsed();
        let started = Instant::now();
        let trigger_json =
            serde_json::to_vec_pretty(input.trigger).map_err(|e| Error::input(e.to_string()))?;
        let entry = add_member(
            &mut zip,
            TRIGGER_PATH,
            &trigger_json,
            options(input).deflated,
        )?;
        manifest.files.push(entry);
        add_member(
            &mut zip,
            MANIFEST_PATH,
            &manifest.to_json()?,
            options(input).deflated,
        )?;
        zip.finish()
            .map_err(write_err)?
            .flush()
            .map_err(|source| Error::Write { source })?;
        stages.finish = started.elapsed();
        Ok(manifest)
    })
}

/// The zip options of a bundle's members.
#[derive(Clone, Copy)]
struct Options {
    deflated: SimpleFileOptions,
}

impl Options {
    /// For already-compressed bytes (the recording's zstd chunks).
    fn stored(self) -> SimpleFileOptions {
        self.deflated
            .compression_method(CompressionMethod::Stored)
            .compression_level(None)
    }
}

fn options(input: &BundleInput<'_>) -> Options {
    // Level 1: the bundle is sealed at the breach, on the robot. Deflate's
    // default level spent a third of the write time for a few percent of
    // size (`rewind bench capture`).
    Options {
        deflated: SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1))
            .last_modified_time(zip_time(input.created_at))
            .unix_permissions(0o644),
    }
}

/// Writes the members before the recording, in order: series CSVs,
/// `events.jsonl`, logs, attachments; fills in their parts of `manifest`.
fn write_members<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    input: &BundleInput<'_>,
    events: &[&rewind_model::Event],
    manifest: &mut Manifest,
    stages: &mut WriteStages,
) -> Result<()> {
    let deflated = options(input).deflated;
    let paths = series_paths(input.series.iter().map(|s| &s.name));
    let mut text = Vec::new();
    for (s, path) in input.series.iter().zip(paths) {
        let started = Instant::now();
        text.clear();
        render_csv(&mut text, &s.samples);
        let rendered = Instant::now();
        let entry = FileEntry {
            sha256: hex::encode(Sha256::digest(&text)),
            size: u64::try_from(text.len()).unwrap_or(u64::MAX),
            path: path.clone(),
        };
        let hashed = Instant::now();
        zip.start_file(&*path, deflated).map_err(write_err)?;
        zip.write_all(&text)
            .map_err(|source| Error::Write { source })?;
        stages.csv_render += rendered - started;
        stages.csv_hash += hashed - rendered;
        stages.csv_deflate += hashed.elapsed();
        manifest.files.push(entry);
        manifest.series.push(SeriesEntry {
            name: s.name.clone(),
            unit: s.unit.clone(),
            path,
            samples: u64::try_from(s.samples.len()).unwrap_or(u64::MAX),
        });
    }
    let started = Instant::now();
    manifest
        .files
        .push(stream_member(zip, EVENTS_PATH, deflated, |w| {
            write_events(w, events)
        })?);
    manifest.events = u64::try_from(events.len()).unwrap_or(u64::MAX);
    for group in logs::group(events) {
        manifest
            .files
            .push(stream_member(zip, &group.path, deflated, |w| {
                write_log(w, &group.events)
            })?);
        manifest.logs.push(LogEntry {
            source: group.source.to_owned(),
            path: group.path,
            lines: u64::try_from(group.events.len()).unwrap_or(u64::MAX),
        });
    }
    stages.events_logs = started.elapsed();
    let started = Instant::now();
    let mut attachments: Vec<&Attachment> = input.attachments.iter().collect();
    attachments.sort_by(|a, b| a.path.cmp(&b.path));
    for a in attachments {
        manifest
            .files
            .push(add_member(zip, &a.path, &a.bytes, deflated)?);
        let kind = check_attachment_path(&a.path).map_err(Error::input)?;
        let path = a.path.clone();
        manifest.attachments.push(AttachmentEntry { path, kind });
    }
    stages.attachments = started.elapsed();
    Ok(())
}

/// The manifest with everything known before writing; the member lists
/// (`series`, `logs`, `attachments`, `recording`, `files`) are filled in as
/// the members are written.
fn build_manifest(input: &BundleInput<'_>) -> Manifest {
    let extras = input.extras;
    Manifest {
        format_version: FORMAT_VERSION,
        bundle_id: input.bundle_id,
        device_id: input.device_id.clone(),
        agent_version: input.agent_version.to_owned(),
        created_at: input.created_at,
        fleet: extras.fleet.clone(),
        trigger: TriggerSummary::of(input.trigger),
        labels: input.trigger.labels.clone(),
        time_range: input.window,
        series: Vec::with_capacity(input.series.len()),
        events: 0,
        logs: Vec::new(),
        recording: None,
        attachments: Vec::with_capacity(input.attachments.len()),
        redactions: extras.redactions.clone(),
        losses: extras.losses.clone(),
        notes: extras.notes.clone(),
        files: Vec::new(),
    }
}

/// Starts a member and streams `body` into it, hashing as it goes.
fn stream_member<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    path: &str,
    options: SimpleFileOptions,
    body: impl FnOnce(&mut HashingWriter<BufWriter<&mut ZipWriter<W>>>) -> io::Result<()>,
) -> Result<FileEntry> {
    zip.start_file(path, options).map_err(write_err)?;
    let mut hw = HashingWriter::new(BufWriter::with_capacity(64 * 1024, zip));
    body(&mut hw).map_err(|source| Error::Write { source })?;
    hw.finish(path.to_owned())
}

fn add_member<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    path: &str,
    bytes: &[u8],
    options: SimpleFileOptions,
) -> Result<FileEntry> {
    zip.start_file(path, options).map_err(write_err)?;
    let mut hw = HashingWriter::new(zip);
    hw.write_all(bytes)
        .map_err(|source| Error::Write { source })?;
    hw.finish(path.to_owned())
}

/// The zip mtime for `t`, or 1980-01-01 if `t` is outside the zip's 1980..2107.
fn zip_time(t: Timestamp) -> zip::DateTime {
    let Ok(jt) = jiff::Timestamp::from_nanosecond(i128::from(t.as_unix_nanos())) else {
        return zip::DateTime::default();
    };
    let dt = jt.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let fields = (
        u16::try_from(dt.year()),
        u8::try_from(dt.month()),
        u8::try_from(dt.day()),
        u8::try_from(dt.hour()),
        u8::try_from(dt.minute()),
        u8::try_from(dt.second()),
    );
    match fields {
        (Ok(y), Ok(mo), Ok(d), Ok(h), Ok(mi), Ok(s)) => {
            zip::DateTime::from_date_and_time(y, mo, d, h, mi, s).unwrap_or_default()
        }
        _ => zip::DateTime::default(),
    }
}

fn write_err(e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(source) => Error::Write { source },
        other => Error::Write {
            source: io::Error::other(other),
        },
    }
}

/// Passes bytes through while counting and hashing them.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Flushes and returns the `files` entry for what went through.
    fn finish(mut self, path: String) -> Result<FileEntry> {
        self.inner
            .flush()
            .map_err(|source| Error::Write { source })?;
        let sha256 = hex::encode(self.hasher.finalize());
        Ok(FileEntry {
            path,
            size: self.size,
            sha256,
        })
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
