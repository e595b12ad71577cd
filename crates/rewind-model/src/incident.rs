//! Incidents and their lifecycle.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{BundleId, DeviceId, IncidentId, Severity, TimeRange, Timestamp};

/// Where an incident is in its lifecycle.
///
/// The allowed moves are one table, [`IncidentStatus::can_transition`], shared
/// by the server, the CLI and the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    /// New; nobody has looked yet.
    Open,
    /// Someone has seen it and owns it.
    Acknowledged,
    /// Being investigated.
    Investigating,
    /// The cause is fixed or mitigated; may be reopened.
    Resolved,
    /// Finished; no further changes.
    Closed,
}

impl IncidentStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [Self; 5] = [
        Self::Open,
        Self::Acknowledged,
        Self::Investigating,
        Self::Resolved,
        Self::Closed,
    ];

    /// The lowercase name used in JSON and the database.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Investigating => "investigating",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    /// The statuses an incident may move to from `self`.
    #[must_use]
    pub const fn allowed_next(self) -> &'static [Self] {
        match self {
            Self::Open => &[
                Self::Acknowledged,
                Self::Investigating,
                Self::Resolved,
                Self::Closed,
            ],
            Self::Acknowledged => &[Self::Investigating, Self::Resolved, Self::Closed],
            Self::Investigating => &[Self::Resolved, Self::Closed],
            Self::Resolved => &[Self::Open, Self::Closed],
            Self::Closed => &[],
        }
    }

    /// Whether `self → to` is an allowed move.
    #[must_use]
    pub fn can_transition(self, to: Self) -> bool {
        self.allowed_next().contains(&to)
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncidentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            format!(
                "unknown incident status `{s}`: expected open, acknowledged, investigating, resolved or closed"
            )
        })
    }
}

/// One incident as listed by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// Server-assigned id.
    pub id: IncidentId,
    /// The device whose agent captured it.
    pub device_id: DeviceId,
    /// The bundle that carried it.
    pub bundle_id: BundleId,
    /// The rule that tripped.
    pub rule: String,
    /// Severity from the rule.
    pub severity: Severity,
    /// Lifecycle status.
    pub status: IncidentStatus,
    /// One sentence saying what happened.
    pub summary: String,
    /// When the rule tripped on the device.
    pub triggered_at: Timestamp,
    /// The time span the bundle covers.
    pub window: TimeRange,
    /// When the server stored it.
    pub received_at: Timestamp,
    /// Size of the stored bundle in bytes.
    pub bundle_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_is_terminal_and_resolved_can_reopen() {
        assert!(IncidentStatus::Closed.allowed_next().is_empty());
        assert!(IncidentStatus::Resolved.can_transition(IncidentStatus::Open));
        assert!(!IncidentStatus::Investigating.can_transition(IncidentStatus::Open));
        for s in IncidentStatus::ALL {
            assert!(!s.can_transition(s), "{s} may not move to itself");
            assert_eq!(s.as_str().parse::<IncidentStatus>(), Ok(s));
        }
    }
}
