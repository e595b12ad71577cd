//! The Rewind edge agent: samples the machine into an in-memory ring buffer,
//! feeds every sample to the detection engine, and when a rule trips freezes
//! the recent past (plus a few seconds after) into a bundle, spools it on
//! disk and uploads it to the server, retrying until the server has it.
//!
//! ```text
//!  collect (10 Hz) ──► ring (last 60 s) ──► snapshot ──► bundle ──► spool/ ──► upload
//!         └──────────► detect::Engine ──► Trigger ──┘
//! ```
//!
//! Hardware readers take an injectable root directory (`proc_root`), so
//! they are tested on fixture trees as well as the live machine.

mod agent;
mod capture;
mod collect;
mod config;
mod error;
mod ring;
mod spool;
mod upload;

pub use agent::{AgentEvent, run, run_with_events};
pub use collect::{Reading, SystemCollector};
pub use config::AgentConfig;
pub use error::{Error, Result};
pub use ring::Ring;
pub use spool::Spool;
pub use upload::{UploadOutcome, Uploader};
