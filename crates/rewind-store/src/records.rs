//! What goes into and comes out of the store, beyond the wire types.

use rewind_model::{
    BundleId, DeviceId, IncidentStatus, IncidentSummary, Severity, TimeRange, Timestamp, Trigger,
};

/// An incident to store, built by the server from a validated bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    /// The device that captured it.
    pub device_id: DeviceId,
    /// The bundle it arrived in.
    pub bundle_id: BundleId,
    /// What tripped.
    pub trigger: Trigger,
    /// The time span the bundle covers.
    pub window: TimeRange,
    /// When the server received it.
    pub received_at: Timestamp,
    /// Where the bundle file is kept, relative to the server's bundle directory.
    pub bundle_path: String,
    /// Size of the bundle file.
    pub bundle_bytes: u64,
    /// SHA-256 of the bundle file, lowercase hex.
    pub bundle_sha256: String,
}

impl NewIncident {
    /// The status every new incident starts in.
    pub const INITIAL_STATUS: IncidentStatus = IncidentStatus::Open;
}

/// An incident with what the server keeps about it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    /// The listed fields.
    pub summary: IncidentSummary,
    /// The full trigger.
    pub trigger: Trigger,
    /// Where the bundle file is kept, relative to the bundle directory.
    pub bundle_path: String,
    /// SHA-256 of the bundle file.
    pub bundle_sha256: String,
}

/// Which incidents to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentFilter {
    /// Only this device's.
    pub device_id: Option<DeviceId>,
    /// Only incidents at or above this severity.
    pub min_severity: Option<Severity>,
    /// At most this many (newest first).
    pub limit: u32,
}

impl Default for IncidentFilter {
    fn default() -> Self {
        Self {
            device_id: None,
            min_severity: None,
            limit: 200,
        }
    }
}
