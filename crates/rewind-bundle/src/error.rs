//! The one error type of this crate, with a stable code per variant.

use std::{io, path::PathBuf};

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong writing or reading a bundle.
///
/// Each variant carries the evidence (paths, sizes, hashes, limits) as fields,
/// and [`Error::code`] gives a stable snake_case code for machines, e.g. the
/// server's JSON error bodies. The codes are listed in `docs/bundle-format.md`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bundle is bigger than [`Limits::max_bundle_bytes`](crate::Limits::max_bundle_bytes).
    #[error(
        "bundle is {size} bytes, over the limit of {limit} bytes: capture a shorter window or raise the limit"
    )]
    TooLarge {
        /// Size of the bundle in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The zip has more entries than [`Limits::max_entries`](crate::Limits::max_entries).
    #[error("bundle has {count} zip entries, over the limit of {limit}")]
    TooManyEntries {
        /// Number of entries in the zip.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// One member decompresses to more than
    /// [`Limits::max_member_bytes`](crate::Limits::max_member_bytes).
    #[error(
        "member `{path}` decompresses to more than {limit} bytes: the bundle is oversized or a zip bomb"
    )]
    MemberTooLarge {
        /// The member's path inside the zip.
        path: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// All members together decompress to more than
    /// [`Limits::max_uncompressed_bytes`](crate::Limits::max_uncompressed_bytes).
    #[error(
        "bundle decompresses to more than {limit} bytes in total: the bundle is oversized or a zip bomb"
    )]
    UncompressedTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The bytes are not a zip archive this crate can read.
    #[error("bundle is not a readable zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// A member could not be decompressed (bad deflate stream, CRC mismatch, …).
    #[error("member `{path}` cannot be decompressed: {source}; the bundle is damaged")]
    Corrupt {
        /// The member's path inside the zip.
        path: String,
        /// What the decompressor reported.
        source: io::Error,
    },
    /// A member path that could escape a directory when extracted, or is not a plain file.
    #[error("member path `{path}` is not allowed: {reason}")]
    UnsafePath {
        /// The path as found (non-UTF-8 bytes replaced).
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Two zip entries have the same name, or names that differ only in case
    /// (they would overwrite each other when extracted on macOS or Windows).
    #[error(
        "bundle has two zip entries named `{path}` (ignoring case): every member must be unique"
    )]
    DuplicateMember {
        /// The name found twice (`?` when the zip does not say which).
        path: String,
    },
    /// One member decompresses to far more than it takes in the zip.
    #[error(
        "member `{path}` decompresses from {compressed} to {size} bytes, over the compression ratio limit of {limit}: the bundle looks like a zip bomb"
    )]
    CompressionRatio {
        /// The member's path.
        path: String,
        /// Its uncompressed size (as declared or as found so far).
        size: u64,
        /// Its compressed size in the zip.
        compressed: u64,
        /// The ratio limit.
        limit: u64,
    },
    /// A member that `files` lists but no other part of the manifest describes.
    #[error(
        "member `{path}` is listed in `files` but is no part of the format version 1 layout (series, events, logs, recording or attachments): remove it"
    )]
    UnexpectedMember {
        /// The member's path.
        path: String,
    },
    /// `events.jsonl` holds (or the manifest declares) more events than
    /// [`Limits::max_events`](crate::Limits::max_events).
    #[error(
        "bundle has {count} events, over the limit of {limit}: capture a shorter window or raise the limit"
    )]
    TooManyEvents {
        /// Events declared or found.
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// The attachments together are larger than
    /// [`Limits::max_attachment_bytes`](crate::Limits::max_attachment_bytes).
    #[error(
        "attachments take {size} bytes, over the limit of {limit} bytes: attach less or raise the limit"
    )]
    AttachmentsTooLarge {
        /// Total size of the attachments, as `files` declares.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// A line of `events.jsonl` that is not one event.
    #[error("`{path}` line {line}: {reason}")]
    EventsInvalid {
        /// The member's path (`events.jsonl`).
        path: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong with the line.
        reason: String,
    },
    /// A line of a `logs/*.log` member that is not `<timestamp> <level> <message>`.
    #[error("`{path}` line {line}: {reason}")]
    LogInvalid {
        /// The member's path.
        path: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong with the line.
        reason: String,
    },
    /// A member holding another number of items than the manifest declares
    /// (events, log lines, recording channels or messages).
    #[error("`{path}` has {actual} {what} but the manifest declares {declared}")]
    CountMismatch {
        /// The member's path.
        path: String,
        /// What was counted (`events`, `lines`, `messages`, …).
        what: &'static str,
        /// The count in the manifest.
        declared: u64,
        /// The count found.
        actual: u64,
    },
    /// `recording.mcap` does not parse as MCAP or does not match the bundle.
    #[error("`{path}` is not a valid recording: {reason}")]
    RecordingInvalid {
        /// The member's path (`recording.mcap`).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// There is no `manifest.json` at the root of the zip.
    #[error("bundle has no `manifest.json` at its root: is this a Rewind incident bundle?")]
    ManifestMissing,
    /// `manifest.json` does not parse or is inconsistent.
    #[error("`manifest.json` is invalid: {reason}")]
    ManifestInvalid {
        /// What is wrong, with the JSON position where known.
        reason: String,
    },
    /// `manifest.json` declares a format version this crate does not read.
    #[error(
        "bundle format version {found} is not supported (this build reads version {supported}): upgrade the server or downgrade the agent"
    )]
    UnsupportedVersion {
        /// The version in the manifest.
        found: u64,
        /// The version this crate reads.
        supported: u32,
    },
    /// A zip member that `manifest.json` does not list in `files`.
    #[error("member `{path}` is not listed in the manifest's `files`: list it or remove it")]
    UnlistedMember {
        /// The member's path.
        path: String,
    },
    /// A file the manifest needs that is not in the zip.
    #[error("member `{path}` is named in the manifest but missing from the zip")]
    MissingMember {
        /// The missing path.
        path: String,
    },
    /// A member whose size differs from the manifest.
    #[error("member `{path}` is {actual} bytes but the manifest declares {declared}")]
    SizeMismatch {
        /// The member's path.
        path: String,
        /// Size in `files`.
        declared: u64,
        /// Size found.
        actual: u64,
    },
    /// A member whose SHA-256 differs from the manifest.
    #[error(
        "member `{path}` has sha256 {actual} but the manifest declares {expected}: the bundle was modified or damaged"
    )]
    HashMismatch {
        /// The member's path.
        path: String,
        /// Hash in `files` (lowercase hex).
        expected: String,
        /// Hash of the bytes found (lowercase hex).
        actual: String,
    },
    /// `trigger.json` does not parse.
    #[error("`trigger.json` is invalid: {reason}")]
    TriggerInvalid {
        /// What is wrong, with the JSON position.
        reason: String,
    },
    /// `trigger.json` and the manifest's `trigger` disagree.
    #[error("`trigger.json` says {field} is `{trigger}` but the manifest says `{manifest}`")]
    TriggerMismatch {
        /// The field that differs (`rule`, `fired_at`, …).
        field: &'static str,
        /// The value in `manifest.json`.
        manifest: String,
        /// The value in `trigger.json`.
        trigger: String,
    },
    /// A metrics CSV that does not parse.
    #[error("`{path}` line {line}: {reason}")]
    Csv {
        /// The CSV member's path.
        path: String,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// What is wrong with the line.
        reason: String,
    },
    /// A metrics CSV with another number of rows than the manifest declares.
    #[error("`{path}` has {actual} samples but the manifest declares {declared}")]
    SampleCountMismatch {
        /// The CSV member's path.
        path: String,
        /// `samples` in the manifest.
        declared: u64,
        /// Data rows found.
        actual: u64,
    },
    /// The writer was given input it cannot store faithfully.
    #[error("cannot write bundle: {reason}")]
    InvalidInput {
        /// What is wrong with the input.
        reason: String,
    },
    /// Writing to the output failed.
    #[error("writing the bundle failed: {source}")]
    Write {
        /// The underlying error.
        source: io::Error,
    },
    /// A file-system operation on `path` failed.
    #[error(
        "file system operation on `{}` failed: {source}; check that the directory exists and is writable",
        path.display()
    )]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl Error {
    /// A stable snake_case code naming the variant, for machine-readable error bodies.
    ///
    /// Codes never change meaning; new variants get new codes.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "bundle_too_large",
            Self::TooManyEntries { .. } => "bundle_too_many_entries",
            Self::MemberTooLarge { .. } => "bundle_member_too_large",
            Self::UncompressedTooLarge { .. } => "bundle_uncompressed_too_large",
            Self::Zip(_) => "bundle_zip_invalid",
            Self::Corrupt { .. } => "bundle_member_corrupt",
            Self::UnsafePath { .. } => "bundle_unsafe_path",
            Self::DuplicateMember { .. } => "bundle_duplicate_member",
            Self::CompressionRatio { .. } => "bundle_compression_ratio",
            Self::UnexpectedMember { .. } => "bundle_unexpected_member",
            Self::TooManyEvents { .. } => "bundle_too_many_events",
            Self::AttachmentsTooLarge { .. } => "bundle_attachments_too_large",
            Self::EventsInvalid { .. } => "bundle_events_invalid",
            Self::LogInvalid { .. } => "bundle_log_invalid",
            Self::CountMismatch { .. } => "bundle_count_mismatch",
            Self::RecordingInvalid { .. } => "bundle_recording_invalid",
            Self::ManifestMissing => "bundle_manifest_missing",
            Self::ManifestInvalid { .. } => "bundle_manifest_invalid",
            Self::UnsupportedVersion { .. } => "bundle_unsupported_version",
            Self::UnlistedMember { .. } => "bundle_unlisted_member",
            Self::MissingMember { .. } => "bundle_missing_member",
            Self::SizeMismatch { .. } => "bundle_size_mismatch",
            Self::HashMismatch { .. } => "bundle_hash_mismatch",
            Self::TriggerInvalid { .. } => "bundle_trigger_invalid",
            Self::TriggerMismatch { .. } => "bundle_trigger_mismatch",
            Self::Csv { .. } => "bundle_csv_invalid",
            Self::SampleCountMismatch { .. } => "bundle_sample_count_mismatch",
            Self::InvalidInput { .. } => "bundle_invalid_input",
            Self::Write { .. } => "bundle_write_failed",
            Self::Io { .. } => "bundle_io",
        }
    }

    pub(crate) fn manifest(reason: impl Into<String>) -> Self {
        Self::ManifestInvalid {
            reason: clip(reason.into()),
        }
    }

    pub(crate) fn input(reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            reason: clip(reason.into()),
        }
    }

    pub(crate) fn recording(path: &str, reason: impl Into<String>) -> Self {
        Self::RecordingInvalid {
            path: path.to_owned(),
            reason: clip(reason.into()),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// Hostile input ends up in messages: keep at most 300 bytes of it.
pub(crate) fn clip(mut s: String) -> String {
    const MAX: usize = 300;
    if s.len() > MAX {
        let mut end = MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_and_prefixed() {
        let samples = [
            Error::ManifestMissing,
            Error::DuplicateMember { path: "a".into() },
            Error::CompressionRatio {
                path: "a".into(),
                size: 2,
                compressed: 1,
                limit: 1,
            },
            Error::TooLarge { size: 2, limit: 1 },
            Error::UnsupportedVersion {
                found: 9,
                supported: 1,
            },
        ];
        for e in samples {
            let code = e.code();
            assert!(code.starts_with("bundle_"), "{code}");
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }

    #[test]
    fn hostile_text_is_clipped() {
        let long = "é".repeat(1000);
        let clipped = clip(long);
        assert!(
            clipped.len() <= 304 && clipped.ends_with('…'),
            "{}",
            clipped.len()
        );
        assert_eq!(clip("short".into()), "short");
    }

    #[test]
    fn messages_carry_the_evidence() {
        let e = Error::UnsupportedVersion {
            found: 7,
            supported: 1,
        };
        let msg = e.to_string();
        assert!(
            msg.contains("version 7") && msg.contains("version 1"),
            "{msg}"
        );
        let e = Error::Csv {
            path: "metrics/a.csv".into(),
            line: 3,
            reason: "x".into(),
        };
        assert_eq!(e.to_string(), "`metrics/a.csv` line 3: x");
    }
}
