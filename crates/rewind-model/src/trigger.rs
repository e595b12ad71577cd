//! What a detection rule reports when it trips.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use crate::{SeriesName, Severity, Timestamp};

/// The comparison a threshold makes, with its limit.
///
/// In JSON it has the rules file's shape: `{"above": 80.0}`,
/// `{"outside": {"low": 10.0, "high": 90.0}}`, `{"is": "throttling"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Comparison {
    /// Trips while the value is strictly greater than the limit.
    Above(f64),
    /// Trips while the value is strictly less than the limit.
    Below(f64),
    /// Trips while the value equals the limit exactly.
    Equals(f64),
    /// Trips while the value is strictly outside the band `low..=high`.
    Outside {
        /// The band's lower edge.
        low: f64,
        /// The band's upper edge.
        high: f64,
    },
    /// Trips while a text state (e.g. `gpu.thermal_state`) equals this text.
    Is(String),
}

impl Comparison {
    /// Whether `value` meets the condition. Non-finite values (NaN, ±inf)
    /// never do: they are failed measurements, and evidence must be
    /// representable in JSON.
    #[must_use]
    #[allow(clippy::float_cmp)] // `equals` is documented as exact
    pub fn holds(&self, value: f64) -> bool {
        if !value.is_finite() {
            return false;
        }
        match *self {
            Self::Above(limit) => value > limit,
            Self::Below(limit) => value < limit,
            Self::Equals(limit) => value == limit,
            Self::Outside { low, high } => value < low || value > high,
            Self::Is(_) => false,
        }
    }

    /// Whether the text state `text` meets the condition: only [`Self::Is`]
    /// compares text (exactly, case and all).
    #[must_use]
    pub fn holds_text(&self, text: &str) -> bool {
        matches!(self, Self::Is(want) if want == text)
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Above(v) => write!(f, "above {v}"),
            Self::Below(v) => write!(f, "below {v}"),
            Self::Equals(v) => write!(f, "equal to {v}"),
            Self::Outside { low, high } => write!(f, "outside {low}..{high}"),
            Self::Is(text) => write!(f, "`{text}`"),
        }
    }
}

/// One measured fact that made a rule trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The series the rule watched.
    pub series: SeriesName,
    /// The condition it checked.
    pub condition: Comparison,
    /// The value when the rule tripped.
    pub observed: f64,
    /// The most extreme value while the condition held.
    pub peak: f64,
    /// When the condition started to hold without a break.
    pub since: Timestamp,
    /// How many consecutive samples met the condition.
    pub samples: u64,
    /// The reference the value was judged against, for rules that learn one
    /// (`change`): absent for plain thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// When the series is predicted to cross the limit (`trend` rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_at: Option<Timestamp>,
    /// The time window the rule counted over, in nanoseconds (`log_match`,
    /// crash loops, `sequence`, `after_deploy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_nanos: Option<i64>,
    /// A text observation: a text state, a matched log line, a process's
    /// status, the deploy a failure followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Evidence {
    /// Evidence with only the required facts; the optional ones are `None`.
    #[must_use]
    pub fn new(
        series: SeriesName,
        condition: Comparison,
        observed: f64,
        peak: f64,
        since: Timestamp,
        samples: u64,
    ) -> Self {
        Self {
            series,
            condition,
            observed,
            peak,
            since,
            samples,
            baseline: None,
            predicted_at: None,
            window_nanos: None,
            text: None,
        }
    }
}

/// A learned reference level: what "normal" looked like before the change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The reference level (a robust mean).
    pub level: f64,
    /// The typical spread around it (a robust standard deviation).
    pub spread: f64,
    /// How many samples it was learned from.
    pub samples: u64,
    /// How far back it looked, in nanoseconds.
    pub window_nanos: i64,
}

/// A rule that tripped: the reason an incident exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// The rule's name from the rules file.
    pub rule: String,
    /// The rule's type, e.g. `metric_threshold`.
    pub rule_type: String,
    /// Severity from the rule.
    pub severity: Severity,
    /// When the rule tripped (the time of the sample that completed it).
    pub fired_at: Timestamp,
    /// One sentence quoting the measured values, for people.
    pub summary: String,
    /// The facts behind the sentence, for machines.
    pub evidence: Vec<Evidence>,
    /// The rule's labels from the rules file (`team: perception`), sorted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_hold_as_documented() {
        assert!(Comparison::Above(90.0).holds(90.5));
        assert!(!Comparison::Above(90.0).holds(90.0));
        assert!(Comparison::Below(1.0).holds(0.5));
        assert!(Comparison::Equals(2.0).holds(2.0));
        assert!(!Comparison::Above(0.0).holds(f64::NAN));
        assert!(!Comparison::Below(0.0).holds(f64::NAN));
        assert!(!Comparison::Above(0.0).holds(f64::INFINITY));
        assert!(!Comparison::Below(0.0).holds(f64::NEG_INFINITY));
        let band = Comparison::Outside {
            low: 10.0,
            high: 20.0,
        };
        assert!(band.holds(9.9) && band.holds(20.1));
        assert!(!band.holds(10.0) && !band.holds(20.0) && !band.holds(f64::NAN));
        let state = Comparison::Is("throttling".into());
        assert!(state.holds_text("throttling"));
        assert!(!state.holds_text("Throttling") && !state.holds(1.0));
        assert!(!Comparison::Equals(1.0).holds_text("1"));
    }

    #[test]
    fn comparison_json_matches_the_rules_file_shape() {
        let json = serde_json::to_string(&Comparison::Above(90.0)).unwrap();
        assert_eq!(json, r#"{"above":90.0}"#);
        let json = serde_json::to_string(&Comparison::Is("throttling".into())).unwrap();
        assert_eq!(json, r#"{"is":"throttling"}"#);
        let band = Comparison::Outside {
            low: 1.0,
            high: 2.0,
        };
        let json = serde_json::to_string(&band).unwrap();
        assert_eq!(json, r#"{"outside":{"low":1.0,"high":2.0}}"#);
    }

    #[test]
    fn evidence_from_before_the_optional_fields_still_reads() {
        let old = r#"{"series":"cpu.total.busy_pct","condition":{"above":80.0},"observed":91.0,"peak":95.0,"since":"2026-11-23T10:00:00Z","samples":3}"#;
        let evidence: Evidence = serde_json::from_str(old).unwrap();
        assert_eq!(evidence.baseline, None);
        assert_eq!(evidence.text, None);
        let again = serde_json::to_string(&evidence).unwrap();
        assert_eq!(again, old, "absent optional fields are not written");
    }
}
