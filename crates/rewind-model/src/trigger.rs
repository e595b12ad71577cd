//! What a detection rule reports when it trips.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{SeriesName, Severity, Timestamp};

/// The comparison a threshold makes, with its limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Comparison {
    /// Trips while the value is strictly greater than the limit.
    Above(f64),
    /// Trips while the value is strictly less than the limit.
    Below(f64),
    /// Trips while the value equals the limit exactly.
    Equals(f64),
}

impl Comparison {
    /// Whether `value` meets the condition. Non-finite values (NaN, ±inf)
    /// never do: they are failed measurements, and evidence must be
    /// representable in JSON.
    #[must_use]
    #[allow(clippy::float_cmp)] // `equals` is documented as exact
    pub fn holds(self, value: f64) -> bool {
        if !value.is_finite() {
            return false;
        }
        match self {
            Self::Above(limit) => value > limit,
            Self::Below(limit) => value < limit,
            Self::Equals(limit) => value == limit,
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Above(v) => write!(f, "above {v}"),
            Self::Below(v) => write!(f, "below {v}"),
            Self::Equals(v) => write!(f, "equal to {v}"),
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
    }

    #[test]
    fn comparison_json_matches_the_rules_file_shape() {
        let json = serde_json::to_string(&Comparison::Above(90.0)).unwrap();
        assert_eq!(json, r#"{"above":90.0}"#);
    }
}
