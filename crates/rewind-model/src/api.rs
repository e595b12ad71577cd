//! JSON bodies of the `/api/v1` HTTP API.

use serde::{Deserialize, Serialize};

use crate::{IncidentSummary, Trigger};

/// `GET /api/v1/incidents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentList {
    /// Newest first.
    pub incidents: Vec<IncidentSummary>,
}

/// One series in columnar form, ready for a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct IncidentDetail {
    /// The listed fields.
    #[serde(flatten)]
    pub incident: IncidentSummary,
    /// What tripped and why.
    pub trigger: Trigger,
    /// Every metric series in the bundle.
    pub series: Vec<SeriesData>,
}

/// The body of every error response: `{"error": {"code", "message", "hint"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// The error.
    pub error: ApiErrorDetail,
}

/// One API error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorDetail {
    /// Stable machine-readable code, listed in `docs/api.md`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// What to do about it, when there is something to say.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hint: Option<String>,
}
