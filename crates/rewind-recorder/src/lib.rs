//! Always-on recording inside a control loop: every cycle's observation,
//! action and guard results go into MCAP session files, and camera frames
//! only around violations. Usable without the agent or the server: plain
//! `std` threads and files, no async runtime.
//!
//! # API
//!
//! - [`Recorder::start`]`(`[`RecorderConfig`]`, `[`SessionInfo`]`)` creates
//!   the session's first file and the writer thread.
//! - [`Recorder::builtin`]`(`[`Builtin`]`)` / [`Recorder::channel`]`(`[`ChannelSpec`]`)`
//!   register a channel once and return its [`Channel`] handle.
//! - [`Recorder::record`]`(&channel, timestamp, payload)` queues one JSON
//!   message and returns at once ([`Recorded`]); [`Recorder::mark`] marks a
//!   violation or clamp for loops without `/dam/cycle`.
//! - [`Recorder::flush`], [`Recorder::stats`], [`Recorder::close`].
//! - [`recover`] rewrites a file left by a killed writer with a summary.
//! - [`read_summary`], [`list_sessions`], [`read_session`],
//!   [`session_files`] read sessions from their summaries only.
//! - [`cut`], [`cut_files`], [`cut_to_writer`] copy a filtered subset
//!   ([`CutFilter`]).
//! - [`bench::run`] measures the figures of `rewind bench record`.
//!
//! # Invariants
//!
//! - `record()` never blocks and allocates nothing: it moves the caller's
//!   payload into a bounded queue (`max_queue_depth`, default 256). When the
//!   queue is full the record is dropped and counted on its channel, and a
//!   warning naming the channel and its count is logged at most every
//!   [`WARN_EVERY`] per channel. The writer thread polls the queue while
//!   records flow, so `record()` does not wake it with a system call.
//! - Channel ids are given in registration order and are the same in every
//!   file of a session; every file carries every registered channel.
//! - Heavy channels (`/dam/images/*`, or [`ChannelSpec::heavy`]) are
//!   written only for `[t - pre_event_sec, t - pre_event_sec + window_sec]`
//!   around an event at `t`: a `/dam/cycle` message with `has_violation`
//!   (or `has_clamp`, with `capture_images_on_clamp`), or a [`Recorder::mark`].
//! - Files are `<session>_<NNN>.mcap`, created without overwriting, zstd
//!   chunks, with statistics, chunk and metadata indexes. Each starts with a
//!   `rewind.session` metadata record (naming the previous file) and, when
//!   finished, ends with `rewind.file_end` (naming the next file, the cycle
//!   and violation counts). A file rotates past `rotate_mb` or once it spans
//!   `rotate_minutes` of message time; finished files are fsynced.
//! - The open chunk is closed and handed to the kernel at least every
//!   `flush_sec`: a killed process leaves a file readable up to its last
//!   complete chunk, and [`recover`] restores its summary.
//! - Nothing here panics on the data it reads or records.
//!
//! The file layout, the configuration keys and the cut semantics are
//! described in `docs/recorder.md`.
//!
//! # Example
//!
//! ```
//! use rewind_model::Timestamp;
//! use rewind_recorder::{Builtin, Recorder, RecorderConfig, SessionInfo, read_summary};
//!
//! # fn main() -> Result<(), rewind_recorder::Error> {
//! let dir = tempfile::tempdir().expect("temp dir");
//! let recorder = Recorder::start(RecorderConfig::new(dir.path()), SessionInfo::default())?;
//! let cycle = recorder.builtin(Builtin::Cycle)?;
//! let guard = recorder.builtin(Builtin::Guard(1))?;
//! for id in 0..10_u64 {
//!     let now = Timestamp::now();
//!     let payload = format!(r#"{{"cycle_id":{id},"timestamp":0,"has_violation":false,"has_clamp":false}}"#);
//!     recorder.record(&cycle, now, payload.into_bytes());
//!     recorder.record_json(&guard, now, &serde_json::json!({
//!         "cycle_id": id, "guard_name": "speed", "layer": 1, "decision": "PASS"
//!     }))?;
//! }
//! let stats = recorder.close()?;
//! let file = read_summary(&stats.files[0])?;
//! assert_eq!(file.messages_on("/dam/cycle"), 10);
//! assert_eq!(file.messages_on("/dam/L1"), 10);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod bench;
mod channels;
mod config;
mod cpu;
mod cut;
mod error;
mod recorder;
mod recover;
mod rotate;
mod schemas;
mod session;
mod summary;
pub mod triage;
mod violation;
mod writer;

pub use channels::{Channel, ChannelId, ChannelSpec, ChannelStats};
pub use config::{DEFAULT_QUEUE_DEPTH, RecorderConfig};
pub use cut::{CUT_METADATA, CutFilter, CutReport, cut, cut_files, cut_to_writer};
pub use error::{Error, Result};
pub use recorder::{Recorded, Recorder, RecorderStats, WARN_EVERY};
pub use recover::{RECOVERED_METADATA, RecoverReport, recover};
pub use schemas::{
    ACTION_TOPIC, Builtin, CONTEXT_EVENTS_TOPIC, CYCLE_TOPIC, GUARD_LAYERS, IMAGES_TOPIC_PREFIX,
    LATENCY_TOPIC, MESSAGE_ENCODING, OBS_TOPIC, SCHEMA_ENCODING,
};
pub use session::{
    CycleCounts, EndReason, FILE_END_METADATA, FileEnd, SESSION_METADATA, SessionInfo, SessionMeta,
    config_hash, file_name, parse_file_name,
};
pub use summary::{
    ChannelSummary, FileSummary, SessionFileEntry, SessionSummary, list_sessions, read_session,
    read_summary, session_files,
};
pub use violation::EventKind;
