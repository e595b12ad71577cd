//! The portable Rewind incident bundle: a zip that freezes the recent past
//! around an incident, written by the agent and validated by the server.
//!
//! This crate owns the format (version [`FORMAT_VERSION`]): the
//! [`Manifest`], the atomic [`write_bundle`] (and its core
//! [`write_bundle_to`]), and [`read_bundle`], which validates hostile input
//! completely before returning anything. It works on plain `std::io`: no
//! async runtime, no network.
//!
//! # Layout
//!
//! ```text
//! incident_20261123T100005Z_cpu-saturated.zip
//! ├── manifest.json        # format_version, ids, agent, fleet, trigger summary, labels,
//! │                        # time_range, series, events, logs, recording, attachments,
//! │                        # redactions, losses, notes, files [{path, size, sha256}]
//! ├── trigger.json         # the full rewind_model::Trigger as JSON
//! ├── metrics/<stem>.csv   # one CSV per series: `timestamp,unix_nanos,value`
//! ├── topics/<stem>.csv    # series named `topic.*`, same CSV
//! ├── nodes/<stem>.csv     # series named `node.*`, same CSV
//! ├── events.jsonl         # every event, one rewind_model::Event per line, time order
//! ├── logs/<source>.log    # log events per source: `<RFC 3339> <level> <message>`
//! ├── recording.mcap       # series and events as MCAP JSON channels, zstd chunks (stored)
//! └── system/…  processes/<name>/…  baseline/…  diagnostics/…   # attachments
//! ```
//!
//! The full specification, for people writing their own tools, is
//! `docs/bundle-format.md`; `docs/manifest.schema.json` is the manifest's
//! JSON Schema.
//!
//! # Invariants
//!
//! - A bundle on disk is complete or absent: [`write_bundle`] writes a temp
//!   file, fsyncs it, renames it, fsyncs the directory, and never overwrites.
//! - Every member except `manifest.json` is listed in `files` with its exact
//!   size and SHA-256, and described by one other part of the manifest
//!   (series, events, logs, recording, attachments); nothing else is in the zip.
//! - The recording holds exactly the bundle's samples, events and log lines.
//! - Sample values read back bit-exact (NaN reads back as a NaN).
//! - [`read_bundle`] never allocates more than [`Limits`] allow, whatever the
//!   zip or the manifest declare, and never panics on any input.
//!
//! # Example
//!
//! ```
//! use std::io::Cursor;
//! use rewind_bundle::{
//!     Attachment, BundleExtras, BundleInput, Limits, SeriesInput, read_bundle, write_bundle_to,
//! };
//! use rewind_model::{
//!     BundleId, DeviceId, Event, EventKind, Level, Sample, SeriesName, Severity, TimeRange,
//!     Timestamp, Trigger,
//! };
//!
//! let t = |ms: i64| Timestamp::from_unix_millis(1_795_428_000_000 + ms);
//! let trigger = Trigger {
//!     rule: "cpu-saturated".into(),
//!     rule_type: "metric_threshold".into(),
//!     severity: Severity::High,
//!     fired_at: t(5_000),
//!     summary: "cpu.total.busy_pct above 90 for 5 s (peak 99.5)".into(),
//!     evidence: vec![],
//!     labels: Default::default(),
//! };
//! let series = [SeriesInput {
//!     name: SeriesName::new("cpu.total.busy_pct")?,
//!     unit: "percent".into(),
//!     samples: vec![Sample::new(t(4_100), 12.5), Sample::new(t(4_200), 99.5)],
//! }];
//! let events = [Event::new(t(4_150), "kmsg", EventKind::Log, Level::Warning, "cpu throttled")];
//! let attachments = [Attachment::new("system/os-release", "ID=debian\n")];
//! let device = DeviceId::new("robot-7")?;
//! let input = BundleInput {
//!     bundle_id: BundleId::new_v7(),
//!     device_id: &device,
//!     agent_version: "0.1.0",
//!     created_at: t(6_000),
//!     trigger: &trigger,
//!     window: TimeRange { start: t(0), end: t(5_000) },
//!     series: &series,
//!     events: &events,
//!     attachments: &attachments,
//!     extras: &BundleExtras::default(),
//! };
//!
//! let mut zip = Cursor::new(Vec::new());
//! let manifest = write_bundle_to(&mut zip, &input)?;
//! assert_eq!(manifest.series[0].path, "metrics/cpu.total.busy_pct.csv");
//!
//! let bundle = read_bundle(zip.get_ref(), &Limits::default())?;
//! assert_eq!(bundle.manifest, manifest);
//! assert_eq!(bundle.trigger, trigger);
//! assert_eq!(bundle.series[0].v, [12.5, 99.5]);
//! assert_eq!(bundle.series[0].t_nanos[0], t(4_100).as_unix_nanos());
//! assert_eq!(bundle.events, events);
//! assert_eq!(bundle.logs[0].path, "logs/kmsg.log");
//! assert_eq!(bundle.attachments, attachments);
//! assert_eq!(manifest.recording.map(|r| r.messages), Some(4)); // 2 samples, 1 event, 1 log line
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod csv;
mod error;
mod events;
mod input;
mod layout;
mod limits;
mod logs;
mod manifest;
mod paths;
mod read;
mod recording;
mod write;

pub use csv::CSV_HEADER;
pub use error::{Error, Result};
pub use input::{Attachment, BundleExtras, BundleInput, SeriesInput};
pub use layout::{AttachmentKind, EVENTS_PATH, RECORDING_PATH, is_log_event, series_dir};
pub use limits::{Limits, RATIO_FLOOR_BYTES};
pub use logs::{LogFile, LogLine};
pub use manifest::{
    AttachmentEntry, FORMAT_VERSION, FileEntry, LogEntry, MANIFEST_PATH, Manifest, RecordingEntry,
    Redaction, SeriesEntry, TRIGGER_PATH, TriggerSummary,
};
pub use read::{Bundle, Series, read_bundle};
pub use recording::{EVENTS_TOPIC, LOGS_TOPIC, METADATA_NAME, SERIES_TOPIC_PREFIX};
pub use write::{
    TEMP_PREFIX, WriteStages, WrittenBundle, file_name, rule_slug, write_bundle, write_bundle_to,
};
