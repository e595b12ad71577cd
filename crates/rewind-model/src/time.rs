//! Wall-clock time as Unix nanoseconds.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, stored as nanoseconds since the Unix epoch (UTC).
///
/// Serialised as an RFC 3339 string (`2026-11-23T10:00:00.123Z`) so that JSON
/// stays readable; the range is the years 1678 to 2262.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From nanoseconds since the Unix epoch.
    #[must_use]
    pub const fn from_unix_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    /// From milliseconds since the Unix epoch (saturating at the ends of the range).
    #[must_use]
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self(millis.saturating_mul(1_000_000))
    }

    /// Nanoseconds since the Unix epoch.
    #[must_use]
    pub const fn as_unix_nanos(self) -> i64 {
        self.0
    }

    /// Milliseconds since the Unix epoch, rounded towards negative infinity.
    #[must_use]
    pub const fn as_unix_millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// Seconds since the Unix epoch as a float (for charts and arithmetic).
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // sub-microsecond loss is irrelevant for display
    pub fn as_unix_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The current wall-clock time. Detection code never calls this: time
    /// reaches it with the samples.
    #[must_use]
    pub fn now() -> Self {
        Self(
            jiff::Timestamp::now()
                .as_nanosecond()
                .try_into()
                .unwrap_or(i64::MAX),
        )
    }

    /// `self + nanos`, saturating.
    #[must_use]
    pub const fn add_nanos(self, nanos: i64) -> Self {
        Self(self.0.saturating_add(nanos))
    }

    /// Nanoseconds from `earlier` to `self` (negative if `earlier` is later).
    #[must_use]
    pub const fn nanos_since(self, earlier: Self) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Parses an RFC 3339 timestamp such as `2026-11-23T10:00:00Z`.
    ///
    /// # Errors
    /// Returns a message naming the input when it is not RFC 3339 or out of range.
    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        let ts: jiff::Timestamp = s
            .parse()
            .map_err(|e| format!("`{s}` is not an RFC 3339 timestamp: {e}"))?;
        i64::try_from(ts.as_nanosecond())
            .map(Self)
            .map_err(|_| format!("`{s}` is outside the years 1678..2262"))
    }

    fn to_jiff(self) -> jiff::Timestamp {
        jiff::Timestamp::from_nanosecond(i128::from(self.0)).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_jiff(), f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

/// A closed interval of time `[start, end]`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// First instant covered.
    pub start: Timestamp,
    /// Last instant covered.
    pub end: Timestamp,
}

impl TimeRange {
    /// Whether `t` lies inside the range (inclusive at both ends).
    #[must_use]
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t <= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json_with_nanosecond_precision() {
        let t = Timestamp::from_unix_nanos(1_700_000_000_123_456_789);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2023-11-14T22:13:20.123456789Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    }

    #[test]
    fn rejects_non_rfc3339_with_the_input_named() {
        let err = serde_json::from_str::<Timestamp>("\"yesterday\"").unwrap_err();
        assert!(err.to_string().contains("`yesterday`"), "{err}");
    }

    #[test]
    fn millis_floor_for_negative_times() {
        assert_eq!(Timestamp::from_unix_nanos(-1).as_unix_millis(), -1);
        assert_eq!(Timestamp::from_unix_millis(5).as_unix_nanos(), 5_000_000);
    }
}
