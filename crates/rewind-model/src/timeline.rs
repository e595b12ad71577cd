//! An incident's append-only timeline, and the rule that replays it.
//!
//! Every change to an incident is one [`TimelineEntry`]; the store never
//! updates or deletes one. [`replay`] folds a timeline back into the
//! incident's status and occurrence count, so the timeline is the record and
//! the incident row is a cache of it (a property test holds the two equal).

use serde::{Deserialize, Serialize};

use crate::{BundleId, IncidentId, IncidentStatus, Timestamp};

/// One thing that happened to an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    /// Position in the incident's timeline, from 1, without gaps.
    pub seq: u32,
    /// When the server recorded it.
    pub at: Timestamp,
    /// Who did it: a token's name (`alice`), `device:<id>` for agents, or
    /// `rewind` for the server itself.
    pub actor: String,
    /// What happened.
    #[serde(flatten)]
    pub change: Change,
}

/// What a timeline entry records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The first trigger opened the incident.
    Opened {
        /// The bundle that carried it.
        bundle_id: BundleId,
        /// When the rule tripped on the device.
        triggered_at: Timestamp,
        /// The resolved incident this one reopens, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reopened_from: Option<IncidentId>,
        /// Why it was reopened, when it was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The same fingerprint tripped again while the incident was active.
    Occurrence {
        /// The bundle that carried it.
        bundle_id: BundleId,
        /// When the rule tripped on the device.
        triggered_at: Timestamp,
    },
    /// Someone moved the incident along its lifecycle.
    Transition {
        /// Status before.
        from: IncidentStatus,
        /// Status after.
        to: IncidentStatus,
        /// Why, in the responder's words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A note from a responder.
    Note {
        /// The text, as written.
        text: String,
    },
    /// A deploy was linked to the incident.
    Deploy {
        /// The deploy's id.
        deploy_id: crate::DeployId,
        /// The service deployed.
        service: String,
        /// The version deployed.
        version: String,
    },
}

/// What a timeline replays to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// The status after the last transition.
    pub status: IncidentStatus,
    /// Opened plus occurrences.
    pub occurrences: u32,
}

/// Why a timeline does not replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The first entry is not `opened`, or there is no entry.
    #[error("a timeline starts with exactly one `opened` entry")]
    NotOpened,
    /// Entries are out of order or have a gap.
    #[error("timeline entry {found} where {expected} was expected")]
    Sequence {
        /// The seq expected.
        expected: u32,
        /// The seq found.
        found: u32,
    },
    /// A transition that the lifecycle forbids, or from the wrong status.
    #[error("transition {from} → {to} at entry {seq} is not allowed from {current}")]
    Transition {
        /// Entry number.
        seq: u32,
        /// Status the entry claims to leave.
        from: IncidentStatus,
        /// Status it moves to.
        to: IncidentStatus,
        /// Status the replay was in.
        current: IncidentStatus,
    },
    /// Something was recorded after the incident was resolved.
    #[error("entry {seq} changes an incident that was already resolved")]
    AfterResolved {
        /// Entry number.
        seq: u32,
    },
}

/// Folds a timeline into the status and occurrence count it implies,
/// checking it obeys the lifecycle on the way.
///
/// # Errors
/// [`ReplayError`] naming the first entry that breaks a rule.
pub fn replay(entries: &[TimelineEntry]) -> Result<Replayed, ReplayError> {
    let mut state: Option<Replayed> = None;
    for (i, entry) in entries.iter().enumerate() {
        let expected = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if entry.seq != expected {
            return Err(ReplayError::Sequence {
                expected,
                found: entry.seq,
            });
        }
        let Some(cur) = state.as_mut() else {
            if !matches!(entry.change, Change::Opened { .. }) {
                return Err(ReplayError::NotOpened);
            }
            state = Some(Replayed {
                status: IncidentStatus::Open,
                occurrences: 1,
            });
            continue;
        };
        if !cur.status.is_active() {
            return Err(ReplayError::AfterResolved { seq: entry.seq });
        }
        match &entry.change {
            Change::Opened { .. } => return Err(ReplayError::NotOpened),
            Change::Occurrence { .. } => cur.occurrences = cur.occurrences.saturating_add(1),
            Change::Transition { from, to, .. } => {
                if *from != cur.status || !from.can_transition(*to) {
                    return Err(ReplayError::Transition {
                        seq: entry.seq,
                        from: *from,
                        to: *to,
                        current: cur.status,
                    });
                }
                cur.status = *to;
            }
            Change::Note { .. } | Change::Deploy { .. } => {}
        }
    }
    state.ok_or(ReplayError::NotOpened)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u32, change: Change) -> TimelineEntry {
        TimelineEntry {
            seq,
            at: Timestamp::from_unix_millis(i64::from(seq)),
            actor: "t".into(),
            change,
        }
    }

    fn opened() -> Change {
        Change::Opened {
            bundle_id: BundleId::new_v7(),
            triggered_at: Timestamp::from_unix_millis(0),
            reopened_from: None,
            reason: None,
        }
    }

    fn moved(from: IncidentStatus, to: IncidentStatus) -> Change {
        Change::Transition {
            from,
            to,
            reason: None,
        }
    }

    #[test]
    fn replays_status_and_occurrences() {
        use IncidentStatus::*;
        let t = [
            entry(1, opened()),
            entry(
                2,
                Change::Occurrence {
                    bundle_id: BundleId::new_v7(),
                    triggered_at: Timestamp::from_unix_millis(5),
                },
            ),
            entry(3, moved(Open, Acknowledged)),
            entry(4, Change::Note { text: "x".into() }),
            entry(5, moved(Acknowledged, Mitigated)),
        ];
        let r = replay(&t).unwrap();
        assert_eq!(
            r,
            Replayed {
                status: Mitigated,
                occurrences: 2
            }
        );
    }

    #[test]
    fn refuses_broken_timelines_naming_the_entry() {
        use IncidentStatus::*;
        assert_eq!(replay(&[]), Err(ReplayError::NotOpened));
        let skipped = [entry(1, opened()), entry(3, moved(Open, Resolved))];
        assert!(matches!(
            replay(&skipped),
            Err(ReplayError::Sequence { expected: 2, .. })
        ));
        let wrong_from = [entry(1, opened()), entry(2, moved(Acknowledged, Mitigated))];
        assert!(matches!(
            replay(&wrong_from),
            Err(ReplayError::Transition { seq: 2, .. })
        ));
        let after = [
            entry(1, opened()),
            entry(2, moved(Open, Resolved)),
            entry(
                3,
                Change::Note {
                    text: "late".into(),
                },
            ),
        ];
        assert_eq!(replay(&after), Err(ReplayError::AfterResolved { seq: 3 }));
    }

    #[test]
    fn serialises_with_a_kind_tag() {
        let e = entry(2, Change::Note { text: "hi".into() });
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "note");
        assert_eq!(json["text"], "hi");
        let back: TimelineEntry = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}
