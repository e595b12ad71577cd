//! Service metrics and log lines as the server's regression watch takes
//! them, whatever their source: the agent's samples, a JSON Lines stream
//! (`POST /api/v1/metrics`, a tailed file), OTLP/HTTP, or a Prometheus
//! server's `query_range`.
//!
//! A source turns what it reads into [`MetricPoint`]s and [`LogPoint`]s and
//! checks each with [`MetricPoint::check`] / [`LogPoint::check`]; the watch
//! only ever sees checked points.
//!
//! The JSON Lines shape is the release-regression seed's, unchanged: one
//! object a line, `timestamp` (RFC 3339 or Unix seconds), optional
//! `service`, `environment` and `instance` labels, and every other numeric
//! field one metric ([`points_from_json`]).
//!
//! ```
//! use rewind_model::metrics::points_from_json;
//!
//! let line = r#"{"timestamp":"2026-03-30T19:30:00Z","service":"checkout","error_rate":0.02,"p95_latency_ms":190.0}"#;
//! let points = points_from_json(line)?;
//! assert_eq!(points.len(), 2);
//! assert_eq!(points[0].name, "error_rate");
//! assert_eq!(points[1].service.as_deref(), Some("checkout"));
//! # Ok::<(), String>(())
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Level, Timestamp};

/// Longest metric name, label value or log source, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;
/// Longest log line kept, in bytes; longer lines are cut (at a character
/// boundary) rather than refused.
pub const MAX_LOG_BYTES: usize = 4096;

/// Fields of a JSON Lines metric object that are labels, not metrics.
pub const LABEL_FIELDS: [&str; 4] = ["timestamp", "service", "environment", "instance"];

/// One value of one metric at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// When it was measured.
    pub at: Timestamp,
    /// The metric (`error_rate`, `p95_latency_ms`, `http.server.duration`).
    pub name: String,
    /// Its value; must be finite.
    pub value: f64,
    /// The service it measures (deploys of this service are judged on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The environment (`production`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The instance, pod or device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl MetricPoint {
    /// A point without labels.
    #[must_use]
    pub fn new(at: Timestamp, name: impl Into<String>, value: f64) -> Self {
        Self {
            at,
            name: name.into(),
            value,
            service: None,
            environment: None,
            instance: None,
        }
    }

    /// With a service label.
    #[must_use]
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// With an environment label.
    #[must_use]
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Checks the point: a name and labels of 1 to [`MAX_LABEL_BYTES`]
    /// bytes without control characters, and a finite value.
    ///
    /// # Errors
    /// What is wrong, naming the field.
    pub fn check(&self) -> Result<(), String> {
        check_text("name", &self.name)?;
        for (field, value) in [
            ("service", &self.service),
            ("environment", &self.environment),
            ("instance", &self.instance),
        ] {
            if let Some(v) = value {
                check_text(field, v)?;
            }
        }
        if !self.value.is_finite() {
            return Err(format!(
                "`{}`: the value {} is not finite",
                self.name, self.value
            ));
        }
        Ok(())
    }
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPoint {
    /// When it was written.
    pub at: Timestamp,
    /// Its level, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// The service that wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Where it came from (a file, a logger, `otlp`).
    pub source: String,
    /// The message, without its time and level.
    pub text: String,
}

impl LogPoint {
    /// Checks the line: labels as for [`MetricPoint::check`], a non-empty
    /// text; a text longer than [`MAX_LOG_BYTES`] is cut, not refused.
    ///
    /// # Errors
    /// What is wrong, naming the field.
    pub fn check(&mut self) -> Result<(), String> {
        check_text("source", &self.source)?;
        for (field, value) in [
            ("service", &self.service),
            ("environment", &self.environment),
        ] {
            if let Some(v) = value {
                check_text(field, v)?;
            }
        }
        if self.text.trim().is_empty() {
            return Err("`text` is empty".into());
        }
        if self.text.len() > MAX_LOG_BYTES {
            let mut end = MAX_LOG_BYTES;
            while !self.text.is_char_boundary(end) {
                end -= 1;
            }
            self.text.truncate(end);
        }
        Ok(())
    }
}

/// A name or label: 1 to [`MAX_LABEL_BYTES`] bytes, no control characters.
fn check_text(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("`{field}` is empty"));
    }
    if value.len() > MAX_LABEL_BYTES {
        return Err(format!(
            "`{field}` is {} bytes; at most {MAX_LABEL_BYTES} are allowed",
            value.len()
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("`{field}` contains a control character"));
    }
    Ok(())
}

/// `timestamp` of a JSON object: an RFC 3339 string or Unix seconds.
///
/// # Errors
/// It is missing, of the wrong type or out of range.
pub fn json_timestamp(o: &Map<String, Value>) -> Result<Timestamp, String> {
    match o.get("timestamp") {
        None | Some(Value::Null) => Err("no `timestamp`".into()),
        Some(Value::String(s)) => {
            Timestamp::parse_rfc3339(s.trim()).map_err(|e| format!("`timestamp`: {e}"))
        }
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| s.is_finite() && s.abs() < 1e11)
            .map(|s| Timestamp::from_unix_nanos((s * 1e9).round() as i64))
            .ok_or_else(|| format!("`timestamp`: {n} is out of range")),
        Some(other) => Err(format!(
            "`timestamp` must be a string or a number, not {other}"
        )),
    }
}

/// An optional text field of a JSON object; empty or blank is absent.
///
/// # Errors
/// It is not a string.
pub fn json_text(o: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(other) => Err(format!("`{key}` must be a string, not {other}")),
    }
}

/// The points of one JSON Lines metric object (the seed's format): every
/// numeric field besides the labels is one metric; `null` fields are
/// skipped; other non-numeric fields are errors (a typo such as
/// `"error_rate":"0.2"` should not vanish silently). Each point is checked.
///
/// # Errors
/// The line is not an object, has no usable `timestamp`, a bad label, a
/// non-numeric field, or no metric at all.
pub fn points_from_json(line: &str) -> Result<Vec<MetricPoint>, String> {
    let o: Map<String, Value> =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    points_from_object(&o)
}

/// [`points_from_json`] for an already-parsed object.
///
/// # Errors
/// As [`points_from_json`].
pub fn points_from_object(o: &Map<String, Value>) -> Result<Vec<MetricPoint>, String> {
    let at = json_timestamp(o)?;
    let service = json_text(o, "service")?;
    let environment = json_text(o, "environment")?;
    let instance = json_text(o, "instance")?;
    let mut points = Vec::new();
    for (name, value) in o {
        if LABEL_FIELDS.contains(&name.as_str()) {
            continue;
        }
        match value {
            Value::Number(n) => {
                let value = n
                    .as_f64()
                    .ok_or_else(|| format!("`{name}`: {n} is not a number"))?;
                let point = MetricPoint {
                    at,
                    name: name.clone(),
                    value,
                    service: service.clone(),
                    environment: environment.clone(),
                    instance: instance.clone(),
                };
                point.check()?;
                points.push(point);
            }
            Value::Null => {}
            other => return Err(format!("`{name}` must be a number, not {other}")),
        }
    }
    if points.is_empty() {
        return Err("no numeric field besides the labels".into());
    }
    Ok(points)
}

/// One JSON Lines log object: `timestamp`, `message` (or `msg`), optional
/// `level`, `service` and `environment`. `source` names where it came from.
///
/// # Errors
/// The line is not an object, or a field is missing or of the wrong type.
pub fn log_from_json(line: &str, source: &str) -> Result<LogPoint, String> {
    let o: Map<String, Value> =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let at = json_timestamp(&o)?;
    let text = match (json_text(&o, "message")?, json_text(&o, "msg")?) {
        (Some(m), _) | (None, Some(m)) => m,
        (None, None) => return Err("no `message`".into()),
    };
    let mut point = LogPoint {
        at,
        level: json_text(&o, "level")?
            .as_deref()
            .and_then(Level::from_word),
        service: json_text(&o, "service")?,
        environment: json_text(&o, "environment")?,
        source: json_text(&o, "source")?.unwrap_or_else(|| source.to_owned()),
        text,
    };
    point.check()?;
    Ok(point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_lines_become_checked_points() {
        let p = points_from_json(
            r#"{"timestamp":1774899000,"environment":"production","request_rate":1200,"note":null}"#,
        )
        .unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].value, 1200.0);
        assert_eq!(p[0].at.to_string(), "2026-03-30T19:30:00Z");
        assert_eq!(p[0].environment.as_deref(), Some("production"));
        for (line, why) in [
            (r#"[1,2]"#, "not a JSON object"),
            (r#"{"error_rate":0.1}"#, "no `timestamp`"),
            (r#"{"timestamp":"yesterday","x":1}"#, "`timestamp`"),
            (r#"{"timestamp":1e30,"x":1}"#, "out of range"),
            (
                r#"{"timestamp":1,"service":7,"x":1}"#,
                "`service` must be a string",
            ),
            (r#"{"timestamp":1,"x":"0.2"}"#, "`x` must be a number"),
            (r#"{"timestamp":1,"service":"a"}"#, "no numeric field"),
        ] {
            let e = points_from_json(line).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
        let long = "s".repeat(MAX_LABEL_BYTES + 1);
        let e = points_from_json(&format!(r#"{{"timestamp":1,"service":"{long}","x":1}}"#))
            .unwrap_err();
        assert!(e.contains("at most 256"), "{e}");
    }

    #[test]
    fn log_lines_are_checked_and_cut() {
        let l = log_from_json(
            r#"{"timestamp":"2026-03-30T19:30:00Z","level":"ERROR","msg":"db refused","service":"checkout"}"#,
            "api",
        )
        .unwrap();
        assert_eq!(l.level, Some(Level::Error));
        assert_eq!(l.source, "api");
        assert_eq!(l.text, "db refused");
        assert!(
            log_from_json(r#"{"timestamp":1}"#, "api")
                .unwrap_err()
                .contains("message")
        );
        let mut long = LogPoint {
            at: Timestamp::from_unix_millis(0),
            level: None,
            service: None,
            environment: None,
            source: "x".into(),
            text: "é".repeat(MAX_LOG_BYTES),
        };
        long.check().unwrap();
        assert!(long.text.len() <= MAX_LOG_BYTES && long.text.len() >= MAX_LOG_BYTES - 1);
        long.source = "a\nb".into();
        assert!(long.check().unwrap_err().contains("control"));
    }

    #[test]
    fn points_refuse_what_cannot_be_judged() {
        let at = Timestamp::from_unix_millis(0);
        assert!(MetricPoint::new(at, "x", f64::NAN).check().is_err());
        assert!(MetricPoint::new(at, "", 1.0).check().is_err());
        assert!(
            MetricPoint::new(at, "x", 1.0)
                .service("checkout")
                .check()
                .is_ok()
        );
    }
}
