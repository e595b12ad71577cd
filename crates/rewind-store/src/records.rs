//! What goes into and comes out of the store, beyond the wire types.

use std::fmt;

use rewind_model::{
    BundleId, BundleRef, DeviceId, IncidentId, IncidentStatus, IncidentSummary, Severity,
    TimeRange, Timestamp, TokenScope, Trigger,
};

/// A checked bundle arriving at the server: it opens an incident or joins
/// the active one with the same fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBundle {
    /// The device that captured it.
    pub device_id: DeviceId,
    /// The bundle's id, chosen by the agent.
    pub bundle_id: BundleId,
    /// What tripped.
    pub trigger: Trigger,
    /// [`rewind_model::fingerprint`] of device and trigger.
    pub fingerprint: String,
    /// The device's fleet, from the manifest.
    pub fleet: Option<String>,
    /// The service the rule watches, from the `service` label.
    pub service: Option<String>,
    /// The time span the bundle covers.
    pub window: TimeRange,
    /// When the server received it.
    pub received_at: Timestamp,
    /// Where the blob store keeps the file (content-addressed).
    pub blob_key: String,
    /// Size of the bundle file.
    pub bytes: u64,
    /// SHA-256 of the bundle file, lowercase hex.
    pub sha256: String,
    /// Who uploaded it, for the timeline (`device:robot-7`).
    pub actor: String,
}

/// What [`crate::Store::ingest`] did with a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// It opened a new incident.
    Opened,
    /// It joined an active incident with the same fingerprint as a new occurrence.
    Joined,
    /// The identical bundle (same id and hash) was stored before: nothing changed.
    AlreadyStored,
}

/// The incident a bundle opened or joined, and which of the two.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    /// What happened.
    pub outcome: IngestOutcome,
    /// The incident as it is now.
    pub incident: IncidentSummary,
}

/// An incident with what the server keeps about it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    /// The listed fields.
    pub summary: IncidentSummary,
    /// The first trigger.
    pub trigger: Trigger,
    /// Every bundle attached, oldest first (never empty).
    pub bundles: Vec<BundleRef>,
    /// Blob key of the newest bundle.
    pub latest_blob_key: String,
    /// The incident that reopened this one, if any.
    pub reopened_as: Option<IncidentId>,
}

/// One stored bundle and where it belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleRecord {
    /// The bundle.
    pub bundle: BundleRef,
    /// The incident it opened or joined.
    pub incident_id: IncidentId,
    /// The device that captured it.
    pub device_id: DeviceId,
    /// Where the blob store keeps it.
    pub blob_key: String,
}

/// A position in the incident list, for keyset paging: the last row of the
/// previous page. Rendered as an opaque string in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `triggered_at` of the last row, Unix nanoseconds.
    pub triggered_at: i64,
    /// Its id (breaks ties).
    pub id: IncidentId,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.triggered_at, self.id)
    }
}

impl std::str::FromStr for Cursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid cursor `{s}`: pass back the next_cursor of a previous page");
        let (t, id) = s.split_once('_').ok_or_else(bad)?;
        Ok(Self {
            triggered_at: t.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

/// Which incidents to list. Every set field narrows the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentFilter {
    /// Only these statuses (empty: any).
    pub statuses: Vec<IncidentStatus>,
    /// Only incidents at or above this severity.
    pub min_severity: Option<Severity>,
    /// Only this fleet's.
    pub fleet: Option<String>,
    /// Only this device's.
    pub device_id: Option<DeviceId>,
    /// Only this service's.
    pub service: Option<String>,
    /// Only this rule's.
    pub rule: Option<String>,
    /// First triggered at or after this time.
    pub since: Option<Timestamp>,
    /// First triggered before this time.
    pub until: Option<Timestamp>,
    /// Rule or summary contains this text (case-insensitive for ASCII).
    pub text: Option<String>,
    /// Continue after this row.
    pub after: Option<Cursor>,
    /// At most this many (newest first).
    pub limit: u32,
}

impl Default for IncidentFilter {
    fn default() -> Self {
        Self {
            statuses: Vec::new(),
            min_severity: None,
            fleet: None,
            device_id: None,
            service: None,
            rule: None,
            since: None,
            until: None,
            text: None,
            after: None,
            limit: 200,
        }
    }
}

/// One page of incidents.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentPage {
    /// Newest trigger first.
    pub incidents: Vec<IncidentSummary>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// A lifecycle move asked for by someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionChange {
    /// Target status.
    pub to: IncidentStatus,
    /// Who (a token's actor name).
    pub actor: String,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// A token to store. The secret itself never reaches the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// A name for people.
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// SHA-256 of the secret, lowercase hex.
    pub secret_hash: String,
    /// The secret's first characters, for listing.
    pub prefix: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Option<Timestamp>,
}

/// Which deploys to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployFilter {
    /// Only this service's.
    pub service: Option<String>,
    /// Only this environment's.
    pub environment: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// At most this many, newest first.
    pub limit: u32,
}

impl Default for DeployFilter {
    fn default() -> Self {
        Self {
            service: None,
            environment: None,
            since: None,
            until: None,
            limit: 200,
        }
    }
}

/// A deploy's final regression verdict, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCheck {
    /// The deploy.
    pub deploy_id: rewind_model::DeployId,
    /// `regression`, `no_regression` or `inconclusive`.
    pub verdict: String,
    /// The verdict in plain words.
    pub summary: String,
    /// The evidence (JSON).
    pub evidence: serde_json::Value,
    /// The incident a regression opened.
    pub incident_id: Option<IncidentId>,
    /// When the window ended.
    pub window_end: Timestamp,
    /// When the verdict was reached.
    pub decided_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let c = Cursor {
            triggered_at: -5,
            id: IncidentId::new_v7(),
        };
        assert_eq!(c.to_string().parse::<Cursor>(), Ok(c));
        for bad in ["", "12", "x_y", "1_notauuid"] {
            assert!(bad.parse::<Cursor>().unwrap_err().contains("next_cursor"));
        }
    }
}
