//! JSON bodies of the `/api/v1` HTTP API.

use serde::{Deserialize, Serialize};

use crate::{BundleId, IncidentId, IncidentStatus, IncidentSummary, Timestamp, Trigger};

/// `GET /api/v1/incidents`: one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentList {
    /// Newest trigger first.
    pub incidents: Vec<IncidentSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One bundle attached to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleRef {
    /// The bundle's id.
    pub bundle_id: BundleId,
    /// When its trigger fired.
    pub triggered_at: Timestamp,
    /// When the server stored it.
    pub received_at: Timestamp,
    /// File size.
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
}

/// `POST /api/v1/incidents/{id}/transitions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The status to move to.
    pub to: IncidentStatus,
    /// Why, recorded on the timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /api/v1/incidents/{id}/notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note (at most 10,000 characters).
    pub text: String,
}

/// `POST /api/v1/incidents/{id}/reopen`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    /// Why, recorded on the new incident's timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One series in columnar form, ready for a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesData {
    /// Dotted series name.
    pub name: String,
    /// Unit of the values (`percent`, `bytes`, …).
    pub unit: String,
    /// Sample times as Unix seconds (fractional).
    pub t: Vec<f64>,
    /// Sample values, same length as `t`.
    pub v: Vec<f64>,
}

/// `GET /api/v1/incidents/{id}`: the incident with its trigger and the
/// metrics around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentDetail {
    /// The listed fields.
    #[serde(flatten)]
    pub incident: IncidentSummary,
    /// What tripped and why (the first trigger).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub trigger: Trigger,
    /// Every metric series in the newest bundle.
    pub series: Vec<SeriesData>,
    /// The newest bundle's events (kernel, process, log, node…), in time
    /// order, at most [`IncidentDetail::MAX_EVENTS`] (the earliest kept).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub events: Vec<crate::Event>,
    /// Whether events were left out for the limit (download the bundle for all).
    #[serde(default)]
    pub events_truncated: bool,
    /// Every bundle attached, oldest first.
    #[serde(default)]
    pub bundles: Vec<BundleRef>,
    /// The incident that reopened this one, when it was reopened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_as: Option<IncidentId>,
}

impl IncidentDetail {
    /// Most events an incident's detail carries.
    pub const MAX_EVENTS: usize = 5_000;
}

/// The body of every error response: `{"error": {"code", "message", "hint"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiErrorBody {
    /// The error.
    pub error: ApiErrorDetail,
}

/// One API error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiErrorDetail {
    /// Stable machine-readable code, listed in `docs/api.md`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// What to do about it, when there is something to say.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hint: Option<String>,
    /// Facts for programs, when the error has some (e.g. `{"allowed": […]}`
    /// on a refused transition).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub details: Option<serde_json::Value>,
}

/// One message on the dashboard's live stream (`GET /api/v1/stream`, a
/// WebSocket), as JSON text frames tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // short-lived messages; boxing would only add allocations
pub enum LiveEvent {
    /// An incident was opened or changed; `entry` says how.
    Incident {
        /// The incident as it is now.
        incident: IncidentSummary,
        /// The timeline entry that changed it.
        entry: crate::TimelineEntry,
    },
    /// A deploy was recorded.
    Deploy {
        /// The deploy.
        deploy: crate::Deploy,
    },
    /// A device registered (or registered again with a new identity).
    Device {
        /// The device as it is now.
        device: crate::Device,
    },
    /// A deploy's regression check changed: a regression was detected
    /// early, or the window ended with a verdict.
    Check {
        /// The check as it is now.
        check: crate::DeployCheck,
    },
    /// Live samples from an agent.
    Samples {
        /// Which device.
        device_id: crate::DeviceId,
        /// The samples, in arrival order.
        samples: Vec<LiveSample>,
    },
}

/// One value of a named series, as streamed live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LiveSample {
    /// Dotted series name (`cpu.total.busy_pct`).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "cpu.total.busy_pct"))]
    pub series: crate::SeriesName,
    /// When it was measured.
    pub ts: Timestamp,
    /// The value, in the series' unit.
    pub value: f64,
}

/// A batch of live samples (and events) from one device: the body of
/// `POST /api/v1/samples` and of each text frame an agent sends on
/// `/api/v1/agent/stream`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SampleBatch {
    /// The device the samples come from (the token must be this device's).
    pub device_id: crate::DeviceId,
    /// At most 10,000 samples, in the order they were taken.
    pub samples: Vec<LiveSample>,
    /// At most 1,000 events (log lines, process events), as in a bundle's `events.jsonl`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub events: Vec<crate::Event>,
}
