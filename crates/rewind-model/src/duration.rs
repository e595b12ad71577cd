//! Durations as people write them in config files: `100ms`, `2s`, `1.5s`,
//! `1m30s`, `5m`, or a plain number of seconds. The agent's, the server's
//! and the CLI's settings all read them here, so one spelling works
//! everywhere. Use with `#[serde(with = "rewind_model::duration")]`.

use std::time::Duration;

use serde::{Deserialize as _, Deserializer, Serializer};

/// Parses `100ms`, `2s`, `1.5s`, `1m`, or a plain number of seconds.
///
/// # Errors
/// A message naming the input.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let secs = s
        .strip_suffix('s')
        .filter(|n| !n.ends_with('m'))
        .unwrap_or(s);
    if let Ok(n) = secs.parse::<f64>() {
        return Duration::try_from_secs_f64(n).map_err(|e| format!("`{s}`: {e}"));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration ({e}); write e.g. 100ms, 2s, 1m"))
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Raw {
    Secs(f64),
    Text(String),
}

/// Deserialises a duration.
///
/// # Errors
/// When the value is neither a duration string nor a non-negative number.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let parsed = match Raw::deserialize(d)? {
        Raw::Secs(n) => Duration::try_from_secs_f64(n).map_err(|e| format!("{n}: {e}")),
        Raw::Text(s) => parse(&s),
    };
    parsed.map_err(serde::de::Error::custom)
}

/// Serialises a duration as text that [`parse`] reads back (`5m`, `1s 500ms`).
///
/// # Errors
/// Only the serializer's.
pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*v).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_durations_read_back() {
        for d in [
            Duration::from_millis(1500),
            Duration::from_secs(300),
            Duration::ZERO,
        ] {
            let text = humantime::format_duration(d).to_string();
            assert_eq!(parse(&text), Ok(d), "{text}");
        }
    }
}
