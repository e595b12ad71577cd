//! Samples and the names of the series they belong to.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// One measured value of a series at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When the value was measured.
    pub ts: Timestamp,
    /// The value, in the series' unit.
    pub value: f64,
}

impl Sample {
    /// A sample at `ts` with `value`.
    #[must_use]
    pub const fn new(ts: Timestamp, value: f64) -> Self {
        Self { ts, value }
    }
}

/// A series name that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid series name `{0}`: use dotted lowercase segments such as `cpu.total.busy_pct` \
     (letters, digits, `_`, `-`, `/`, `:`; at most 200 characters)"
)]
pub struct SeriesNameError(pub String);

/// The dotted, self-explaining name of a series, e.g. `memory.available_bytes`.
///
/// Names come from collectors and, later, from custom streams over a socket,
/// so they are validated: 1–200 characters of ASCII letters, digits and
/// `._-/:`, not starting or ending with a dot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SeriesName(String);

impl SeriesName {
    /// Validates and wraps a series name.
    ///
    /// # Errors
    /// [`SeriesNameError`] naming the rejected input.
    pub fn new(name: impl Into<String>) -> Result<Self, SeriesNameError> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= 200
            && !name.starts_with('.')
            && !name.ends_with('.')
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':')
            });
        if ok {
            Ok(Self(name))
        } else {
            Err(SeriesNameError(name))
        }
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name with every character outside `[A-Za-z0-9._-]` replaced by `_`,
    /// safe to use as a file name.
    #[must_use]
    pub fn file_stem(&self) -> String {
        self.0
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl TryFrom<String> for SeriesName {
    type Error = SeriesNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<SeriesName> for String {
    fn from(n: SeriesName) -> Self {
        n.0
    }
}

impl fmt::Display for SeriesName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(SeriesName::new("cpu.total.busy_pct").is_ok());
        assert!(SeriesName::new("topic./camera/rgb.rate_hz").is_ok());
        for bad in ["", ".cpu", "cpu.", "cpu load", "ü", &"a".repeat(201)] {
            assert!(SeriesName::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn file_stem_has_no_path_separators() {
        let n = SeriesName::new("topic./camera/rgb:rate").unwrap();
        assert_eq!(n.file_stem(), "topic._camera_rgb_rate");
    }
}
