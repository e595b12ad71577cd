//! How bad an incident is.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Severity of a trigger or incident, ordered from least to most severe.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording, nobody needs to act.
    Info,
    /// Look at it during working hours.
    Low,
    /// Degraded behaviour that should be looked at soon.
    Medium,
    /// A failure that needs attention now.
    High,
    /// A failure that stops the robot or service.
    Critical,
}

impl Severity {
    /// Every severity, least severe first.
    pub const ALL: [Self; 5] = [
        Self::Info,
        Self::Low,
        Self::Medium,
        Self::High,
        Self::Critical,
    ];

    /// The lowercase name used in files and JSON.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not one of [`Severity::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}`: expected one of info, low, medium, high, critical")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSeverity(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_names_the_bad_value() {
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        let err = "urgent".parse::<Severity>().unwrap_err();
        assert!(err.to_string().contains("`urgent`"));
    }
}
