//! A `query_range` answer, from bytes to checked [`MetricPoint`]s. Pure:
//! no network, no clock.
//!
//! The body is hostile input: it is read under a size cap
//! ([`append_capped`]), parsed by serde (bad shapes are errors, never
//! panics), and every value is checked; a bad value or label drops that
//! point, not the answer.

use std::collections::BTreeMap;

use rewind_model::{
    Timestamp,
    metrics::{MAX_LABEL_BYTES, MetricPoint},
};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::PrometheusQuery;

/// Largest answer read, in bytes.
pub(super) const MAX_BODY: usize = 32 * 1024 * 1024;
/// Longest query name: room is left for a label suffix (see [`identity`]).
pub(super) const MAX_NAME_BYTES: usize = 200;
/// Longest piece of a server's error text that is logged.
const MAX_ERROR_TEXT: usize = 500;

/// Appends a chunk of the body, refusing to grow past `cap` bytes.
pub(super) fn append_capped(body: &mut Vec<u8>, chunk: &[u8], cap: usize) -> Result<(), String> {
    if body.len().saturating_add(chunk.len()) > cap {
        return Err(format!(
            "the answer is larger than {} MiB: refused (narrow the query)",
            cap / (1024 * 1024)
        ));
    }
    body.extend_from_slice(chunk);
    Ok(())
}

/// The envelope of every Prometheus API answer.
#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<Value>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<RawSeries>,
}

/// One series of a range vector as Prometheus sends it.
#[derive(Debug, Deserialize, PartialEq)]
pub(super) struct RawSeries {
    #[serde(default)]
    pub metric: BTreeMap<String, String>,
    /// `[unix seconds, "value"]` pairs. Absent for native histograms.
    #[serde(default)]
    pub values: Vec<(f64, String)>,
}

/// A successful answer.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Matrix {
    pub series: Vec<RawSeries>,
    /// The server's warnings, if any.
    pub warnings: Vec<String>,
}

/// Parses the body of a `query_range` answer given with `http_status`.
///
/// # Errors
/// The server's own error text (`bad_data: parse error …`), or what is
/// wrong with the answer (not JSON, not a matrix, an HTTP error without a
/// Prometheus body).
pub(super) fn parse(http_status: u16, body: &[u8]) -> Result<Matrix, String> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) if (200..300).contains(&http_status) => {
            return Err(format!(
                "not a Prometheus API answer ({e}): {}",
                snippet(body)
            ));
        }
        Err(_) => return Err(format!("HTTP {http_status}: {}", snippet(body))),
    };
    match envelope.status.as_str() {
        "success" if (200..300).contains(&http_status) => {}
        "error" => {
            let kind = envelope.error_type.as_deref().unwrap_or("error");
            let text = envelope.error.as_deref().unwrap_or("(no error text)");
            return Err(clean(&format!("{kind}: {text}")));
        }
        other => {
            return Err(clean(&format!(
                "HTTP {http_status} with status {other:?}: {}",
                snippet(body)
            )));
        }
    }
    let data = envelope
        .data
        .ok_or_else(|| "a successful answer without `data`".to_owned())?;
    if data.result_type != "matrix" {
        return Err(clean(&format!(
            "the answer is a {:?}, not a range vector (\"matrix\")",
            data.result_type
        )));
    }
    let warnings = envelope
        .warnings
        .iter()
        .map(|w| clean(&w.as_str().map_or_else(|| w.to_string(), str::to_owned)))
        .collect();
    Ok(Matrix {
        series: data.result,
        warnings,
    })
}

/// The start of a body, as printable text.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_TEXT)]);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        clean(text)
    }
}

/// Text from the server made safe for one log line: control characters
/// replaced, cut to a bounded length.
pub(super) fn clean(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_TEXT)
        .collect();
    if text.chars().nth(MAX_ERROR_TEXT).is_some() {
        out.push('…');
    }
    out
}

/// What a series is called and labelled.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Identity {
    pub name: String,
    pub service: Option<String>,
    pub environment: Option<String>,
    pub instance: Option<String>,
}

/// Names and labels a result series:
///
/// - service: the query's `service`, else the series' `service` label,
///   else its `job` label;
/// - environment: the query's `environment`, else `environment`, else `env`;
/// - instance: the `instance` label;
/// - name: the query's `name`, followed, when the series has labels besides
///   `__name__` and those used above, by all of them sorted by key in
///   PromQL form: `error_rate{code="500",method="GET"}`. A name that would
///   be longer than the limit keeps as much as fits and ends with a hash of
///   the whole suffix (`…#0123456789abcdef}`), so it stays distinct and
///   stable.
pub(super) fn identity(query: &PrometheusQuery, labels: &BTreeMap<String, String>) -> Identity {
    let mut used: Vec<&str> = vec!["__name__"];
    let mut pick = |keys: &[&'static str]| {
        keys.iter().find_map(|k| {
            labels.get(*k).filter(|v| !v.is_empty()).map(|v| {
                used.push(k);
                v.clone()
            })
        })
    };
    let service = match &query.service {
        Some(s) => Some(s.clone()),
        None => pick(&["service", "job"]),
    };
    let environment = match &query.environment {
        Some(e) => Some(e.clone()),
        None => pick(&["environment", "env"]),
    };
    let instance = pick(&["instance"]);
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| !used.contains(&k.as_str()))
        .map(|(k, v)| format!("{}=\"{}\"", escape(k), escape(v)))
        .collect();
    let name = if rest.is_empty() {
        query.name.clone()
    } else {
        suffixed(&query.name, &rest.join(","))
    };
    Identity {
        name,
        service,
        environment,
        instance,
    }
}

/// `name{suffix}`, shortened with a hash when too long.
fn suffixed(name: &str, suffix: &str) -> String {
    let full = format!("{name}{{{suffix}}}");
    if full.len() <= MAX_LABEL_BYTES {
        return full;
    }
    let hash = hex::encode(&Sha256::digest(suffix.as_bytes())[..8]);
    let tail = format!("…#{hash}}}");
    let mut keep = MAX_LABEL_BYTES.saturating_sub(tail.len());
    while keep > 0 && !full.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{tail}", &full[..keep])
}

/// A label key or value as PromQL would quote it; control characters are
/// escaped so that the name passes [`MetricPoint::check`].
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// The points of one answer.
#[derive(Debug, Default)]
pub(super) struct Converted {
    /// Checked points, each series in time order.
    pub points: Vec<MetricPoint>,
    /// Values that were not numbers, or not finite (`NaN`, `+Inf`).
    pub not_finite: usize,
    /// Points refused by [`MetricPoint::check`] or with a bad time, and
    /// why the first one was.
    pub refused: usize,
    pub first_refusal: Option<String>,
}

/// Turns an answer's series into checked points named by [`identity`].
pub(super) fn to_points(query: &PrometheusQuery, matrix: Matrix) -> Converted {
    let mut out = Converted::default();
    for series in matrix.series {
        let id = identity(query, &series.metric);
        let mut values = series.values;
        values.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (secs, text) in values {
            let Some(at) = unix_secs(secs) else {
                out.refuse(format!("the time {secs} is out of range"));
                continue;
            };
            let value = match text.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => v,
                _ => {
                    out.not_finite += 1;
                    continue;
                }
            };
            let point = MetricPoint {
                at,
                name: id.name.clone(),
                value,
                service: id.service.clone(),
                environment: id.environment.clone(),
                instance: id.instance.clone(),
            };
            match point.check() {
                Ok(()) => out.points.push(point),
                Err(e) => out.refuse(e),
            }
        }
    }
    out
}

impl Converted {
    fn refuse(&mut self, why: String) {
        self.refused += 1;
        if self.first_refusal.is_none() {
            self.first_refusal = Some(why);
        }
    }
}

/// Unix seconds (a float, millisecond precision) as a time.
fn unix_secs(secs: f64) -> Option<Timestamp> {
    if !secs.is_finite() || secs.abs() >= 1e11 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)] // bounded just above
    Some(Timestamp::from_unix_millis((secs * 1_000.0).round() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str) -> PrometheusQuery {
        PrometheusQuery {
            name: name.into(),
            query: "up".into(),
            service: None,
            environment: None,
            step: None,
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_matrix_becomes_checked_points() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"errors","service":"checkout","env":"production","instance":"10.0.0.1:9100"},
             "values":[[1774899015,"0.5"],[1774899000.25,"0.25"],[1774899030,"NaN"],[1774899045,"+Inf"],[1774899060,"-Inf"],[1774899075,"x"]]},
            {"metric":{"job":"api"},"values":[[1774899000,"1e3"]]},
            {"metric":{},"histograms":[[1774899000,{"count":"1"}]]}
        ]},"warnings":["partial\nresponse"]}"#;
        let m = parse(200, body).unwrap();
        assert_eq!(m.series.len(), 3);
        assert_eq!(m.warnings, vec!["partial response".to_owned()]);
        let c = to_points(&query("error_ratio"), m);
        assert_eq!(c.not_finite, 4);
        assert_eq!(c.refused, 0);
        assert_eq!(c.points.len(), 3);
        let p = &c.points[0];
        assert_eq!(p.at, Timestamp::from_unix_millis(1_774_899_000_250));
        assert_eq!(p.value, 0.25);
        assert_eq!(p.name, "error_ratio");
        assert_eq!(p.service.as_deref(), Some("checkout"));
        assert_eq!(p.environment.as_deref(), Some("production"));
        assert_eq!(p.instance.as_deref(), Some("10.0.0.1:9100"));
        assert_eq!(c.points[1].value, 0.5);
        assert_eq!(c.points[2].service.as_deref(), Some("api"));
        assert_eq!(c.points[2].value, 1000.0);
        assert_eq!(c.points[2].environment, None);
    }

    #[test]
    fn errors_carry_the_server_text() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"1:6: parse error: unclosed left parenthesis"}"#;
        assert_eq!(
            parse(400, body).unwrap_err(),
            "bad_data: 1:6: parse error: unclosed left parenthesis"
        );
        let e = parse(
            422,
            br#"{"status":"error","errorType":"execution","error":"query processing would load too many samples"}"#,
        )
        .unwrap_err();
        assert!(e.starts_with("execution: query processing"), "{e}");
        assert_eq!(
            parse(502, b"<html>\r\nBad Gateway</html>").unwrap_err(),
            "HTTP 502: <html>  Bad Gateway</html>"
        );
        assert_eq!(parse(503, b"").unwrap_err(), "HTTP 503: (empty body)");
        let e = parse(
            500,
            br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
        )
        .unwrap_err();
        assert!(e.starts_with("HTTP 500 with status \"success\""), "{e}");
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        for (body, why) in [
            (&b"<html>login</html>"[..], "not a Prometheus API answer"),
            (b"", "not a Prometheus API answer"),
            (b"[]", "not a Prometheus API answer"),
            (b"{\"status\":\"success\"}", "without `data`"),
            (
                br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
                "not a range vector",
            ),
            (
                br#"{"status":"success","data":{"resultType":"matrix","result":{}}}"#,
                "not a Prometheus API answer",
            ),
            (
                br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1},"values":[]}]}}"#,
                "not a Prometheus API answer",
            ),
            (
                br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2",3]]}]}}"#,
                "not a Prometheus API answer",
            ),
            (
                br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["1","2"]]}]}}"#,
                "not a Prometheus API answer",
            ),
            (br#"{"status":"maybe"}"#, "status \"maybe\""),
        ] {
            let e = parse(200, body).unwrap_err();
            assert!(e.contains(why), "{}: {e}", String::from_utf8_lossy(body));
        }
        // Deep nesting stops at serde_json's recursion limit.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(200, deep.as_bytes()).is_err());
        // Long error texts are cut.
        let long = format!(
            r#"{{"status":"error","errorType":"x","error":"{}"}}"#,
            "e".repeat(10_000)
        );
        assert!(parse(400, long.as_bytes()).unwrap_err().chars().count() <= MAX_ERROR_TEXT + 1);
    }

    #[test]
    fn bad_times_and_labels_drop_points_not_answers() {
        let long = "s".repeat(MAX_LABEL_BYTES + 1);
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[
                {{"metric":{{"service":"{long}"}},"values":[[1,"1"]]}},
                {{"metric":{{}},"values":[[1e300,"1"],[-1e12,"1"],[2,"2"]]}}]}}}}"#
        );
        let c = to_points(&query("x"), parse(200, body.as_bytes()).unwrap());
        assert_eq!(c.points.len(), 1);
        assert_eq!(c.refused, 3);
        assert!(c.first_refusal.unwrap().contains("service"));
    }

    #[test]
    fn the_body_is_capped() {
        let mut body = Vec::new();
        append_capped(&mut body, &[b'x'; 600], 1024).unwrap();
        append_capped(&mut body, &[b'x'; 424], 1024).unwrap();
        let e = append_capped(&mut body, b"y", 1024).unwrap_err();
        assert!(e.contains("larger than"), "{e}");
        assert_eq!(body.len(), 1024);
        let e = append_capped(&mut Vec::new(), &vec![0; MAX_BODY + 1], MAX_BODY).unwrap_err();
        assert!(e.contains("32 MiB"), "{e}");
    }

    #[test]
    fn names_are_distinct_and_stable() {
        let q = query("error_rate");
        let a = identity(
            &q,
            &labels(&[("service", "checkout"), ("code", "500"), ("method", "GET")]),
        );
        let b = identity(
            &q,
            &labels(&[("method", "GET"), ("code", "503"), ("service", "checkout")]),
        );
        assert_eq!(a.name, r#"error_rate{code="500",method="GET"}"#);
        assert_eq!(b.name, r#"error_rate{code="503",method="GET"}"#);
        assert_eq!(a.service.as_deref(), Some("checkout"));
        // `job` is the service only when there is no `service` label.
        let c = identity(&q, &labels(&[("service", "checkout"), ("job", "api")]));
        assert_eq!(c.name, r#"error_rate{job="api"}"#);
        let d = identity(
            &q,
            &labels(&[("job", "api"), ("env", "prod"), ("environment", "")]),
        );
        assert_eq!(
            (
                d.name.as_str(),
                d.service.as_deref(),
                d.environment.as_deref()
            ),
            ("error_rate{environment=\"\"}", Some("api"), Some("prod"))
        );
        // The query's labels win; the series' own labels then name it.
        let mut fixed = query("error_rate");
        fixed.service = Some("shop".into());
        fixed.environment = Some("staging".into());
        let e = identity(
            &fixed,
            &labels(&[("__name__", "x"), ("service", "checkout"), ("env", "prod")]),
        );
        assert_eq!(e.name, r#"error_rate{env="prod",service="checkout"}"#);
        assert_eq!(e.service.as_deref(), Some("shop"));
        assert_eq!(e.environment.as_deref(), Some("staging"));
        // Hostile values are escaped, and the name still passes the check.
        let f = identity(&q, &labels(&[("path", "a\"b\\c\nd\u{7}")]));
        assert_eq!(f.name, r#"error_rate{path="a\"b\\c\nd\u{7}"}"#);
        MetricPoint::new(Timestamp::from_unix_millis(0), f.name, 1.0)
            .check()
            .unwrap();
    }

    #[test]
    fn long_names_end_in_a_hash() {
        let q = query(&"n".repeat(MAX_NAME_BYTES));
        let one = identity(&q, &labels(&[("path", &"é".repeat(100)), ("a", "1")]));
        let two = identity(&q, &labels(&[("path", &"é".repeat(100)), ("a", "2")]));
        assert_ne!(one.name, two.name);
        assert!(one.name.len() <= MAX_LABEL_BYTES, "{}", one.name.len());
        assert!(
            one.name.ends_with('}') && one.name.contains("…#"),
            "{}",
            one.name
        );
        assert_eq!(
            one.name,
            identity(&q, &labels(&[("a", "1"), ("path", &"é".repeat(100))])).name
        );
        MetricPoint::new(Timestamp::from_unix_millis(0), one.name, 1.0)
            .check()
            .unwrap();
    }
}
