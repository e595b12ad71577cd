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
//! ├── manifest.json     # format_version, bundle_id, device_id, agent_version, created_at,
//! │                     # trigger {rule, rule_type, severity, fired_at, summary},
//! │                     # time_range {start, end}, series [{name, unit, path, samples}],
//! │                     # files [{path, size, sha256}]  (every member except manifest.json)
//! ├── trigger.json      # the full rewind_model::Trigger as JSON
//! └── metrics/<series file_stem>.csv   # header `timestamp,unix_nanos,value`, rows like
//!                                       # `2026-11-23T10:00:04.100Z,1795428004100000000,12.5`
//! ```
//!
//! The full specification, for people writing their own tools, is
//! `docs/bundle-format.md`.
//!
//! # Invariants
//!
//! - A bundle on disk is complete or absent: [`write_bundle`] writes a temp
//!   file, fsyncs it, renames it, fsyncs the directory, and never overwrites.
//! - Every member except `manifest.json` is listed in `files` with its exact
//!   size and SHA-256; nothing else is in the zip.
//! - Sample values read back bit-exact (NaN reads back as a NaN).
//! - [`read_bundle`] never allocates more than [`Limits`] allow, whatever the
//!   zip or the manifest declare, and never panics on any input.
//!
//! # Example
//!
//! ```
//! use std::io::Cursor;
//! use rewind_bundle::{BundleInput, Limits, SeriesInput, read_bundle, write_bundle_to};
//! use rewind_model::{BundleId, DeviceId, Sample, SeriesName, Severity, TimeRange, Timestamp, Trigger};
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
//! let device = DeviceId::new("robot-7")?;
//! let input = BundleInput {
//!     bundle_id: BundleId::new_v7(),
//!     device_id: &device,
//!     agent_version: "0.1.0",
//!     created_at: t(6_000),
//!     trigger: &trigger,
//!     window: TimeRange { start: t(0), end: t(5_000) },
//!     series: &series,
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
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod csv;
mod error;
mod limits;
mod manifest;
mod paths;
mod read;
mod write;

pub use csv::CSV_HEADER;
pub use error::{Error, Result};
pub use limits::Limits;
pub use manifest::{
    FORMAT_VERSION, FileEntry, MANIFEST_PATH, Manifest, SeriesEntry, TRIGGER_PATH, TriggerSummary,
};
pub use read::{Bundle, read_bundle};
pub use write::{
    BundleInput, SeriesInput, TEMP_PREFIX, WrittenBundle, file_name, rule_slug, write_bundle,
    write_bundle_to,
};
