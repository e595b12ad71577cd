//! Incidents and their lifecycle.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{BundleId, DeviceId, IncidentId, Severity, TimeRange, Timestamp};

/// Where an incident is in its lifecycle.
///
/// `open → acknowledged → mitigated → resolved`, with shortcuts forward and
/// one step back (a mitigation that did not hold goes back to
/// `acknowledged`). The allowed moves are one table,
/// [`IncidentStatus::allowed_next`], shared by the server, the CLI and the
/// dashboard. `resolved` is final: a resolved incident is never changed
/// again; reopening one creates a new incident linked to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    /// New; nobody has looked yet.
    Open,
    /// Someone has seen it and owns it.
    Acknowledged,
    /// The impact is contained; the cause may not be fixed yet.
    Mitigated,
    /// Finished. Immutable from here on.
    Resolved,
}

impl IncidentStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [Self; 4] = [
        Self::Open,
        Self::Acknowledged,
        Self::Mitigated,
        Self::Resolved,
    ];

    /// The lowercase name used in JSON and the database.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Mitigated => "mitigated",
            Self::Resolved => "resolved",
        }
    }

    /// The statuses an incident may move to from `self`.
    #[must_use]
    pub const fn allowed_next(self) -> &'static [Self] {
        match self {
            Self::Open => &[Self::Acknowledged, Self::Mitigated, Self::Resolved],
            Self::Acknowledged => &[Self::Mitigated, Self::Resolved],
            Self::Mitigated => &[Self::Acknowledged, Self::Resolved],
            Self::Resolved => &[],
        }
    }

    /// Whether `self → to` is an allowed move.
    #[must_use]
    pub fn can_transition(self, to: Self) -> bool {
        self.allowed_next().contains(&to)
    }

    /// Whether the incident still takes new occurrences, notes and moves.
    #[must_use]
    pub const fn is_active(self) -> bool {
        !matches!(self, Self::Resolved)
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
                "unknown incident status `{s}`: expected open, acknowledged, mitigated or resolved"
            )
        })
    }
}

/// The key that groups repeated triggers into one incident: the rule, the
/// device and the rule's labels (`team`, `service`, …), hashed.
///
/// A flapping rule on one robot therefore makes one incident with many
/// occurrences; the same rule on another robot makes another incident.
#[must_use]
pub fn fingerprint(device: &DeviceId, trigger: &crate::Trigger) -> String {
    // FNV-1a, 64 bit: stable across versions and platforms (std's hasher is
    // not), and collisions only merge two incidents' occurrence counts.
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h = OFFSET;
    let mut feed = |part: &str| {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    feed(&trigger.rule);
    feed(device.as_str());
    for (k, v) in &trigger.labels {
        feed(k);
        feed(v);
    }
    format!("{h:016x}")
}

/// One incident as listed by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentSummary {
    /// Server-assigned id.
    pub id: IncidentId,
    /// The device whose agent captured it.
    pub device_id: DeviceId,
    /// The device's fleet, when it reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<String>,
    /// The service the rule watches (the `service` label), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The newest bundle that carried it.
    pub bundle_id: BundleId,
    /// The rule that tripped.
    pub rule: String,
    /// Severity from the rule.
    pub severity: Severity,
    /// Lifecycle status.
    pub status: IncidentStatus,
    /// One sentence saying what happened (from the first trigger).
    pub summary: String,
    /// Groups repeated triggers: see [`fingerprint`].
    pub fingerprint: String,
    /// How many bundles (triggers) joined this incident, the first included.
    pub occurrences: u32,
    /// When the rule first tripped on the device.
    pub triggered_at: Timestamp,
    /// When it last tripped (equal to `triggered_at` for one occurrence).
    pub last_triggered_at: Timestamp,
    /// The time span the first bundle covers.
    pub window: TimeRange,
    /// When the server stored the first bundle.
    pub received_at: Timestamp,
    /// When anything about the incident last changed.
    pub updated_at: Timestamp,
    /// Size of the newest stored bundle in bytes.
    pub bundle_bytes: u64,
    /// The resolved incident this one reopens, if it is a reopening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_from: Option<IncidentId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_is_terminal_and_nothing_returns_to_open() {
        assert!(IncidentStatus::Resolved.allowed_next().is_empty());
        assert!(IncidentStatus::Mitigated.can_transition(IncidentStatus::Acknowledged));
        for s in IncidentStatus::ALL {
            assert!(
                !s.can_transition(IncidentStatus::Open),
                "{s} may not reopen in place"
            );
        }
        for s in IncidentStatus::ALL {
            assert!(!s.can_transition(s), "{s} may not move to itself");
            assert_eq!(s.as_str().parse::<IncidentStatus>(), Ok(s));
        }
    }

    #[test]
    fn fingerprints_group_by_rule_device_and_labels_only() {
        let dev = DeviceId::new("r1").unwrap();
        let mut t = crate::Trigger {
            rule: "cpu_hot".into(),
            rule_type: "metric_threshold".into(),
            severity: Severity::High,
            fired_at: Timestamp::from_unix_millis(1),
            summary: "a".into(),
            evidence: vec![],
            labels: std::collections::BTreeMap::new(),
        };
        let a = fingerprint(&dev, &t);
        t.fired_at = Timestamp::from_unix_millis(2);
        t.summary = "b".into();
        assert_eq!(
            fingerprint(&dev, &t),
            a,
            "time and wording do not split incidents"
        );
        assert_ne!(fingerprint(&DeviceId::new("r2").unwrap(), &t), a);
        t.labels.insert("service".into(), "planner".into());
        assert_ne!(fingerprint(&dev, &t), a);
        assert_eq!(a.len(), 16);
    }
}
