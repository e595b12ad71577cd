//! Plain data shared by every Rewind crate: time, identifiers, samples,
//! triggers, incidents and the JSON shapes of the `/api/v1` wire format.
//!
//! This crate does no I/O and depends on no other Rewind crate. Everything
//! that crosses a boundary (agent → bundle → server → dashboard) is defined
//! here once, so both sides of a boundary agree by construction.
//!
//! ```
//! use rewind_model::{Severity, Timestamp};
//!
//! let t = Timestamp::from_unix_millis(1_700_000_000_000);
//! assert_eq!(t.to_string(), "2023-11-14T22:13:20Z");
//! assert!(Severity::Critical > Severity::High);
//! ```

mod access;
mod api;
pub mod duration;
mod event;
mod fleet;
mod ids;
mod incident;
pub mod metrics;
#[cfg(feature = "openapi")]
mod openapi;
mod sample;
mod severity;
mod time;
pub mod timeline;
mod trigger;

pub use access::{Role, TokenInfo, TokenScope};
pub use api::{
    ApiErrorBody, ApiErrorDetail, BundleRef, IncidentDetail, IncidentList, LiveEvent, LiveSample,
    NoteRequest, ReopenRequest, SampleBatch, SeriesData, TransitionRequest,
};
pub use event::{Event, EventKind, Level};
pub use fleet::{CheckState, Deploy, DeployCheck, Device, DeviceIdentity, NewDeploy};
pub use ids::{BundleId, DeployId, DeviceId, IdError, IncidentId, TokenId};
pub use incident::{IncidentStatus, IncidentSummary, fingerprint};
pub use sample::{Sample, SeriesName, SeriesNameError};
pub use severity::{Severity, UnknownSeverity};
pub use time::{TimeRange, Timestamp};
pub use timeline::{Change, TimelineEntry};
pub use trigger::{Baseline, Comparison, Evidence, Trigger};
