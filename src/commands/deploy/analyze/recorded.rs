//! The recorded files `rewind deploy analyze` reads, in the release-regression
//! seed's formats, unchanged: metric samples and deploy events as JSON Lines,
//! and logs as plain lines or JSON Lines.
//!
//! Every file is read line by line; a bad line is skipped and counted
//! ([`BadLines`]), and a file with nothing usable is an error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rewind_detect::regression::{MetricKind, Series};
use rewind_model::{
    Level, Timestamp,
    metrics::{LABEL_FIELDS as LABELS, json_text as text},
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::commands::detect::input::{BadLines, for_each_line, parse_time, unix_seconds};

/// What reading one file gave, for the report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileCounts {
    /// The path as given.
    pub path: String,
    /// Lines read (blank ones included).
    pub lines: u64,
    /// Lines used.
    pub used: u64,
    /// Bad lines skipped.
    pub skipped: u64,
    /// The first bad lines, as `FILE:LINE: what`.
    pub problems: Vec<String>,
}

impl FileCounts {
    fn new(path: &Path, lines: u64, used: u64, bad: &BadLines) -> Self {
        Self {
            path: path.display().to_string(),
            lines,
            used,
            skipped: bad.count(),
            problems: bad.shown().to_vec(),
        }
    }
}

/// One JSON object per line: calls `each` with the object, or records why not.
fn each_object(
    path: &Path,
    bad: &mut BadLines,
    mut each: impl FnMut(u64, Map<String, Value>) -> Result<(), String>,
) -> anyhow::Result<(u64, u64)> {
    let (mut lines, mut used) = (0, 0);
    for_each_line(path, |(number, line), _| {
        lines = number;
        let text = match line {
            Ok(t) if t.trim().is_empty() => return Ok(()),
            Ok(t) => t,
            Err(why) => {
                bad.push(number, why);
                return Ok(());
            }
        };
        match serde_json::from_str::<Map<String, Value>>(text) {
            Err(e) => bad.push(number, format!("not a JSON object: {e}")),
            Ok(object) => match each(number, object) {
                Ok(()) => used += 1,
                Err(why) => bad.push(number, why),
            },
        }
        Ok(())
    })?;
    Ok((lines, used))
}

/// `timestamp`: an RFC 3339 string or Unix seconds.
fn timestamp(o: &Map<String, Value>) -> Result<Timestamp, String> {
    match o.get("timestamp") {
        None | Some(Value::Null) => Err("no `timestamp`".into()),
        Some(Value::String(s)) => parse_time(s).map_err(|e| format!("`timestamp`: {e}")),
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(unix_seconds)
            .ok_or_else(|| format!("`timestamp`: {n} is out of range")),
        Some(other) => Err(format!(
            "`timestamp` must be a string or a number, not {other}"
        )),
    }
}

/// The metric samples as series, with what reading them gave.
#[derive(Debug)]
pub(crate) struct Metrics {
    pub series: Vec<Series>,
    pub counts: FileCounts,
    /// Fields that were neither labels nor numbers, sorted.
    pub ignored_fields: Vec<String>,
}

type Key = (String, Option<String>, Option<String>, Option<String>);

/// Reads metric samples: one object a line, `timestamp`, optional labels,
/// and every other numeric field one series.
pub(crate) fn read_metrics(path: &Path) -> anyhow::Result<Metrics> {
    let mut bad = BadLines::new(path);
    let mut points: BTreeMap<Key, Vec<(Timestamp, f64)>> = BTreeMap::new();
    let mut ignored = BTreeSet::new();
    let (lines, used) = each_object(path, &mut bad, |_, o| {
        let at = timestamp(&o)?;
        let (service, environment, instance) = (
            text(&o, "service")?,
            text(&o, "environment")?,
            text(&o, "instance")?,
        );
        let mut numbers = 0;
        for (name, value) in &o {
            if LABELS.contains(&name.as_str()) {
                continue;
            }
            match value {
                Value::Number(n) => {
                    let Some(x) = n.as_f64() else { continue };
                    let key = (
                        name.clone(),
                        service.clone(),
                        environment.clone(),
                        instance.clone(),
                    );
                    points.entry(key).or_default().push((at, x));
                    numbers += 1;
                }
                Value::Null => {}
                _ => {
                    ignored.insert(name.clone());
                }
            }
        }
        if numbers == 0 {
            return Err("no numeric field besides the labels".into());
        }
        Ok(())
    })?;
    if used == 0 {
        return Err(bad
            .nothing_usable(
                "metric sample",
                r#"write one object a line, e.g. {"timestamp":"2026-03-30T19:30:00Z","error_rate":0.02,"p95_latency_ms":190.0}"#,
            )
            .into());
    }
    bad.warn();
    let series = points
        .into_iter()
        .map(|((name, service, environment, instance), pts)| {
            let integers = pts.iter().all(|p| p.1.fract() == 0.0);
            let mut s = Series::new(name.clone(), MetricKind::from_name(&name, integers), pts);
            s.service = service;
            s.environment = environment;
            s.instance = instance;
            s
        })
        .collect();
    Ok(Metrics {
        series,
        counts: FileCounts::new(path, lines, used, &bad),
        ignored_fields: ignored.into_iter().collect(),
    })
}

/// One deploy event as recorded.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DeployRecord {
    /// `deploy_id`.
    pub id: String,
    pub service: Option<String>,
    pub version: Option<String>,
    pub environment: Option<String>,
    pub commit: Option<String>,
    pub actor: Option<String>,
    pub timestamp: Timestamp,
    /// Where it was read: `FILE:LINE`.
    pub line: String,
}

/// Reads deploy events: `timestamp` and `deploy_id`, optional `service`,
/// `version`, `environment`, `commit`, `actor`. In file order.
pub(crate) fn read_deploys(path: &Path) -> anyhow::Result<(Vec<DeployRecord>, FileCounts)> {
    let mut bad = BadLines::new(path);
    let mut out = Vec::new();
    let file = path.display().to_string();
    let (lines, used) = each_object(path, &mut bad, |number, o| {
        let timestamp = timestamp(&o)?;
        let id = match o.get("deploy_id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Null) | None => return Err("no `deploy_id`".into()),
            Some(other) => return Err(format!("`deploy_id` must be a string, not {other}")),
        };
        out.push(DeployRecord {
            id,
            service: text(&o, "service")?,
            version: text(&o, "version")?,
            environment: text(&o, "environment")?,
            commit: text(&o, "commit")?,
            actor: text(&o, "actor")?,
            timestamp,
            line: format!("{file}:{number}"),
        });
        Ok(())
    })?;
    if used == 0 {
        return Err(bad
            .nothing_usable(
                "deploy event",
                r#"write one object a line, e.g. {"timestamp":"2026-03-30T20:00:00Z","deploy_id":"v1.4.2","environment":"production"}"#,
            )
            .into());
    }
    bad.warn();
    Ok((out, FileCounts::new(path, lines, used, &bad)))
}

/// One log line as read.
#[derive(Debug, Clone)]
pub(crate) struct LogRecord {
    pub ts: Timestamp,
    pub level: Option<Level>,
    /// `service`, from JSON lines that have one.
    pub service: Option<String>,
    /// The file it came from.
    pub source: String,
    /// The message, without its time and level.
    pub text: String,
}

/// Reads log lines: JSON objects (`timestamp`, `message` or `msg`, optional
/// `level` and `service`) or plain lines starting with a time and
/// optionally a level. A plain line without a leading time (a stack trace's
/// continuation, say) is skipped and counted.
pub(crate) fn read_logs(path: &Path) -> anyhow::Result<(Vec<LogRecord>, FileCounts)> {
    let mut bad = BadLines::new(path);
    let mut out = Vec::new();
    let source = path.display().to_string();
    let (mut lines, mut used) = (0, 0);
    for_each_line(path, |(number, line), _| {
        lines = number;
        let parsed = match line {
            Ok(t) if t.trim().is_empty() => return Ok(()),
            Ok(t) if t.trim_start().starts_with('{') => json_log(t, &source),
            Ok(t) => plain_log(t, &source),
            Err(why) => Err(why.to_owned()),
        };
        match parsed {
            Ok(record) => {
                out.push(record);
                used += 1;
            }
            Err(why) => bad.push(number, why),
        }
        Ok(())
    })?;
    if used == 0 {
        return Err(bad
            .nothing_usable(
                "log line",
                "start each line with its time (2026-03-30T20:00:01Z ERROR …), or write JSON lines {\"timestamp\",\"level\",\"message\"}",
            )
            .into());
    }
    bad.warn();
    Ok((out, FileCounts::new(path, lines, used, &bad)))
}

fn json_log(line: &str, source: &str) -> Result<LogRecord, String> {
    let o: Map<String, Value> =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let ts = timestamp(&o)?;
    let message = match (text(&o, "message")?, text(&o, "msg")?) {
        (Some(m), _) | (None, Some(m)) => m,
        (None, None) => return Err("no `message`".into()),
    };
    Ok(LogRecord {
        ts,
        level: text(&o, "level")?.as_deref().and_then(Level::from_word),
        service: text(&o, "service")?,
        source: source.to_owned(),
        text: message,
    })
}

fn plain_log(line: &str, source: &str) -> Result<LogRecord, String> {
    let mut words = line.split_whitespace();
    let first = words.next().unwrap_or_default().trim_matches(['[', ']']);
    let second = words.next().unwrap_or_default().trim_matches(['[', ']']);
    // Date and time as two words first: a date alone would parse as midnight.
    let (ts, used_words) = match (parse_time(&format!("{first} {second}")), parse_time(first)) {
        (Ok(ts), _) => (ts, 2),
        (Err(_), Ok(ts)) => (ts, 1),
        _ => return Err("no time at the start of the line".into()),
    };
    let rest = skip_words(line, used_words);
    let lvl_word = rest.split_whitespace().next().unwrap_or_default();
    let (level, text) = match Level::from_word(lvl_word) {
        Some(l) => (Some(l), skip_words(rest, 1)),
        None => (None, rest),
    };
    Ok(LogRecord {
        ts,
        level,
        service: None,
        source: source.to_owned(),
        text: text.to_owned(),
    })
}

/// `s` after its first `n` words and the blanks after them.
fn skip_words(s: &str, n: usize) -> &str {
    let mut rest = s.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_log_lines_in_common_shapes() {
        let t = parse_time("2026-03-30T20:00:01Z").unwrap();
        for (line, lvl, text) in [
            (
                "2026-03-30T20:00:01Z ERROR db refused",
                Some(Level::Error),
                "db refused",
            ),
            (
                "2026-03-30 20:00:01 [warn] slow query",
                Some(Level::Warning),
                "slow query",
            ),
            (
                "[2026-03-30T20:00:01Z] level=info started  ok",
                Some(Level::Info),
                "started  ok",
            ),
            ("1774900801 something happened", None, "something happened"),
        ] {
            let r = plain_log(line, "app.log").unwrap();
            assert_eq!((r.ts, r.level, r.text.as_str()), (t, lvl, text), "{line}");
        }
        assert!(plain_log("    at com.example.Foo.bar", "x").is_err());
        let j = json_log(
            r#"{"timestamp":"2026-03-30T20:00:01Z","level":"ERROR","message":"boom","service":"api"}"#,
            "x",
        )
        .unwrap();
        assert_eq!(
            (j.level, j.text.as_str(), j.service.as_deref()),
            (Some(Level::Error), "boom", Some("api"))
        );
        assert!(
            json_log(r#"{"timestamp":"2026-03-30T20:00:01Z"}"#, "x")
                .unwrap_err()
                .contains("message")
        );
    }
}
