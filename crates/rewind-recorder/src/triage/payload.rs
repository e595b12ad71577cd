//! The seed's payloads as triage reads them: the fields of the built-in
//! schemas (`src/schemas/*.schema.json`) that triage uses, every one
//! optional and `null`-tolerant, unknown fields ignored. A payload that is
//! not a JSON object of these shapes is counted as unreadable.

use serde::Deserialize;

use crate::schemas::{
    ACTION_TOPIC, CONTEXT_EVENTS_TOPIC, CYCLE_TOPIC, GUARD_LAYERS, LATENCY_TOPIC, OBS_TOPIC,
};

/// Which built-in channel a topic is, for triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Topic {
    Cycle,
    Obs,
    Action,
    Guard(u8),
    Latency,
    ContextEvents,
    /// Images and user channels: counted, not analysed.
    Other,
}

impl Topic {
    pub(super) fn of(topic: &str) -> Self {
        match topic {
            CYCLE_TOPIC => Self::Cycle,
            OBS_TOPIC => Self::Obs,
            ACTION_TOPIC => Self::Action,
            LATENCY_TOPIC => Self::Latency,
            CONTEXT_EVENTS_TOPIC => Self::ContextEvents,
            _ => topic
                .strip_prefix("/dam/L")
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|&l| l < GUARD_LAYERS && topic.len() == "/dam/L0".len())
                .map_or(Self::Other, Self::Guard),
        }
    }
}

/// `/dam/cycle` (`rewind.dam.Cycle`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct CycleMsg {
    pub(super) cycle_id: Option<u64>,
    #[serde(default)]
    pub(super) has_violation: Option<bool>,
    #[serde(default)]
    pub(super) has_clamp: Option<bool>,
    #[serde(default)]
    pub(super) violated_layer_mask: Option<u64>,
    #[serde(default)]
    pub(super) active_task: Option<String>,
    #[serde(default)]
    pub(super) active_context: Option<String>,
    #[serde(default)]
    pub(super) failure_type: Option<String>,
    #[serde(default)]
    pub(super) failure_guard_names: Option<Vec<String>>,
    #[serde(default)]
    pub(super) total_ms: Option<f64>,
}

/// `/dam/obs` (`rewind.dam.Obs`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct ObsMsg {
    pub(super) cycle_id: Option<u64>,
    #[serde(default)]
    pub(super) joint_positions: Option<Vec<f64>>,
    #[serde(default)]
    pub(super) joint_velocities: Option<Vec<f64>>,
    #[serde(default)]
    pub(super) end_effector_pose: Option<Vec<f64>>,
}

/// `/dam/action` (`rewind.dam.Action`). `validated_positions` is `null`
/// when the action was rejected.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ActionMsg {
    pub(super) cycle_id: Option<u64>,
    #[serde(default)]
    pub(super) validated_positions: Option<Vec<f64>>,
    #[serde(default)]
    pub(super) was_rejected: Option<bool>,
}

/// `/dam/L0` … `/dam/L3` (`rewind.dam.GuardResult`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct GuardMsg {
    pub(super) cycle_id: Option<u64>,
    #[serde(default)]
    pub(super) guard_name: Option<String>,
    #[serde(default)]
    pub(super) event_class: Option<String>,
    #[serde(default)]
    pub(super) decision: Option<String>,
    #[serde(default)]
    pub(super) reason: Option<String>,
    #[serde(default)]
    pub(super) latency_ms: Option<f64>,
}

/// `/dam/latency` (`rewind.dam.Latency`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct LatencyMsg {
    pub(super) cycle_id: Option<u64>,
    #[serde(default, rename = "L0_ms")]
    pub(super) l0_ms: Option<f64>,
    #[serde(default, rename = "L1_ms")]
    pub(super) l1_ms: Option<f64>,
    #[serde(default, rename = "L2_ms")]
    pub(super) l2_ms: Option<f64>,
    #[serde(default, rename = "L3_ms")]
    pub(super) l3_ms: Option<f64>,
}

impl LatencyMsg {
    pub(super) fn layers(&self) -> [Option<f64>; 4] {
        [self.l0_ms, self.l1_ms, self.l2_ms, self.l3_ms]
    }
}

/// `/dam/context_events` (`rewind.dam.ContextEvent`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct ContextEventMsg {
    pub(super) cycle_id: Option<u64>,
    #[serde(default)]
    pub(super) event: Option<String>,
    #[serde(default)]
    pub(super) ctx_name: Option<String>,
    #[serde(default)]
    pub(super) from_ctx_name: Option<String>,
    #[serde(default)]
    pub(super) trigger_guard: Option<String>,
    #[serde(default)]
    pub(super) trigger_reason: Option<String>,
}

/// A guard's decision (`decision`, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Decision {
    Pass,
    Clamp,
    Reject,
    Fault,
    /// Missing or not one of the four.
    Other,
}

impl Decision {
    pub(super) fn parse(decision: Option<&str>) -> Self {
        match decision.map(str::trim) {
            Some(d) if d.eq_ignore_ascii_case("PASS") => Self::Pass,
            Some(d) if d.eq_ignore_ascii_case("CLAMP") => Self::Clamp,
            Some(d) if d.eq_ignore_ascii_case("REJECT") => Self::Reject,
            Some(d) if d.eq_ignore_ascii_case("FAULT") => Self::Fault,
            _ => Self::Other,
        }
    }

    /// The seed's spelling.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Clamp => "CLAMP",
            Self::Reject => "REJECT",
            Self::Fault => "FAULT",
            Self::Other => "OTHER",
        }
    }

    /// REJECT or FAULT: what the seed calls a violation.
    pub(super) fn is_violation(self) -> bool {
        matches!(self, Self::Reject | Self::Fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_recognised_exactly() {
        assert_eq!(Topic::of("/dam/cycle"), Topic::Cycle);
        assert_eq!(Topic::of("/dam/L0"), Topic::Guard(0));
        assert_eq!(Topic::of("/dam/L3"), Topic::Guard(3));
        assert_eq!(Topic::of("/dam/L4"), Topic::Other);
        assert_eq!(Topic::of("/dam/L01"), Topic::Other);
        assert_eq!(Topic::of("/dam/images/top"), Topic::Other);
        assert_eq!(Topic::of("/dam/latency"), Topic::Latency);
    }

    #[test]
    fn nulls_and_unknown_fields_are_accepted() {
        let a: ActionMsg = serde_json::from_str(
            r#"{"cycle_id":3,"validated_positions":null,"was_rejected":true,"extra":1}"#,
        )
        .unwrap();
        assert_eq!(a.cycle_id, Some(3));
        assert!(a.validated_positions.is_none());
        let c: CycleMsg = serde_json::from_str(
            r#"{"cycle_id":1,"failure_guard_names":null,"failure_type":null,"has_violation":true}"#,
        )
        .unwrap();
        assert_eq!(c.has_violation, Some(true));
        let l: LatencyMsg = serde_json::from_str(r#"{"cycle_id":1,"L2_ms":1.5}"#).unwrap();
        assert_eq!(l.layers(), [None, None, Some(1.5), None]);
    }

    #[test]
    fn decisions_parse_in_any_case() {
        assert_eq!(Decision::parse(Some("reject")), Decision::Reject);
        assert_eq!(Decision::parse(Some(" FAULT ")), Decision::Fault);
        assert_eq!(Decision::parse(Some("WARN")), Decision::Other);
        assert_eq!(Decision::parse(None), Decision::Other);
        assert!(Decision::Fault.is_violation() && !Decision::Clamp.is_violation());
    }
}
