//! The Rewind edge agent: samples the machine into an in-memory ring buffer,
//! feeds every sample to the detection engine, and when a rule trips freezes
//! the recent past (plus a few seconds after) into a bundle, spools it on
//! disk and uploads it to the server, retrying until the server has it.
//!
//! ```text
//!  collectors ─► Sink ─► hub ─► ring (last 60 s) ──► snapshot ──► bundle ──► spool/ ──► upload
//!                        └───► detect::Engine ──► Trigger ──┘
//! ```
//!
//! Hardware readers take an injectable root directory (`proc_root`), so
//! they are tested on fixture trees as well as the live machine.

mod agent;
mod capture;
pub mod catalogue;
pub mod collect;
pub mod config;
pub mod diagnostics;
mod error;
mod events;
pub mod history;
mod live;
pub mod redact;
pub mod ring;
mod spool;
pub mod sysinfo;
mod telemetry;
mod upload;

pub use agent::{AgentEvent, AgentStats, run, run_with};
pub use config::{AgentConfig, AgentFile, IdentityConfig, RingConfig, Token};
pub use error::{Error, Result};
pub use events::EventRing;
pub use history::HistoryConfig;
pub use ring::Ring;
pub use spool::{Budget, Eviction, InFlight, Spool, SpoolConfig, fsck};
pub use telemetry::Telemetry;
pub use upload::{UploadOutcome, Uploader};
