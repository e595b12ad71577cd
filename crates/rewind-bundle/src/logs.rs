//! `logs/<source>.log`: the log events of one source as plain text, one line
//! each, `<RFC 3339 timestamp> <level> <message>`, in time order.
//!
//! The message is escaped so that it stays on one line: `\` is `\\`, a line
//! feed `\n`, a carriage return `\r`, and any other control character
//! (except tab) `\xHH`. Everything else is written as is.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    io::{self, Write},
};

use rewind_model::{Event, Level, Timestamp};

use crate::{
    Error, Result,
    csv::format_timestamp,
    layout::{is_log_event, log_paths},
};

/// The log events of one source, bound for one file.
#[derive(Debug)]
pub(crate) struct LogGroup<'a> {
    pub(crate) source: &'a str,
    pub(crate) path: String,
    pub(crate) events: Vec<&'a Event>,
}

/// The log events of `sorted` (already in time order), grouped by source,
/// sources in byte order.
pub(crate) fn group<'a>(sorted: &[&'a Event]) -> Vec<LogGroup<'a>> {
    let mut by_source: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in sorted.iter().copied().filter(|e| is_log_event(e)) {
        by_source.entry(e.source.as_str()).or_default().push(e);
    }
    let paths = log_paths(by_source.keys().copied());
    by_source
        .into_iter()
        .zip(paths)
        .map(|((source, events), path)| LogGroup {
            source,
            path,
            events,
        })
        .collect()
}

/// One line of a log file, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When it was logged.
    pub ts: Timestamp,
    /// Its level.
    pub level: Level,
    /// The message, unescaped.
    pub message: String,
}

/// A `logs/*.log` member, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// The events' source, from the manifest.
    pub source: String,
    /// Path inside the zip.
    pub path: String,
    /// Its lines, in file order.
    pub lines: Vec<LogLine>,
}

/// Writes one line per event.
pub(crate) fn write_log(w: &mut impl Write, events: &[&Event]) -> io::Result<()> {
    let mut line = String::new();
    for e in events {
        line.clear();
        line.push_str(&format_timestamp(e.ts));
        line.push(' ');
        line.push_str(level_name(e.level));
        line.push(' ');
        escape_into(&mut line, &e.message);
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// The level as written in log files (the lowercase JSON name).
pub(crate) const fn level_name(level: Level) -> &'static str {
    match level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Notice => "notice",
        Level::Warning => "warning",
        Level::Error => "error",
        Level::Critical => "critical",
    }
}

fn parse_level(s: &str) -> Option<Level> {
    Some(match s {
        "debug" => Level::Debug,
        "info" => Level::Info,
        "notice" => Level::Notice,
        "warning" => Level::Warning,
        "error" => Level::Error,
        "critical" => Level::Critical,
        _ => return None,
    })
}

fn escape_into(out: &mut String, message: &str) {
    for c in message.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_ascii_control() => {
                write!(out, "\\x{:02x}", u32::from(c)).ok();
            }
            c => out.push(c),
        }
    }
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|b| hex.len() == 2 && b.is_ascii_control())
                    .ok_or_else(|| format!("`\\x{hex}` is not an escaped control character"))?;
                out.push(char::from(byte));
            }
            other => {
                return Err(format!(
                    "unknown escape `\\{}`: use `\\\\`, `\\n`, `\\r` or `\\xHH`",
                    other.map(String::from).unwrap_or_default()
                ));
            }
        }
    }
    Ok(out)
}

/// Parses a whole log member. `path` is only used in errors.
///
/// # Errors
/// [`Error::LogInvalid`] with the 1-based number of the first bad line.
pub(crate) fn parse_log(path: &str, bytes: &[u8]) -> Result<Vec<LogLine>> {
    let err = |line: usize, reason: String| Error::LogInvalid {
        path: path.to_owned(),
        line: u64::try_from(line).unwrap_or(u64::MAX),
        reason: crate::error::clip(reason),
    };
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        let text = std::str::from_utf8(raw).map_err(|_| err(n, "line is not UTF-8".into()))?;
        let mut parts = text.splitn(3, ' ');
        let (Some(ts), Some(level), Some(message)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(err(n, "expected `<timestamp> <level> <message>`".into()));
        };
        let ts = Timestamp::parse_rfc3339(ts).map_err(|e| err(n, e))?;
        let level = parse_level(level).ok_or_else(|| {
            err(
                n,
                format!("level `{level}` is not debug, info, notice, warning, error or critical"),
            )
        })?;
        let message = unescape(message).map_err(|e| err(n, e))?;
        out.push(LogLine { ts, level, message });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rewind_model::EventKind;

    use super::*;

    fn event(ns: i64, source: &str, kind: EventKind, message: &str) -> Event {
        Event::new(
            Timestamp::from_unix_nanos(ns),
            source,
            kind,
            Level::Warning,
            message,
        )
    }

    #[test]
    fn groups_log_events_by_source() {
        let events = [
            event(1, "kmsg", EventKind::OomKill, "oom"),
            event(2, "process", EventKind::ProcessMissing, "gone"),
            event(3, "file:/var/log/a.log", EventKind::Log, "x"),
            event(4, "kmsg", EventKind::Log, "y"),
            event(5, "socket", EventKind::Log, "z"),
        ];
        let sorted: Vec<&Event> = events.iter().collect();
        let groups = group(&sorted);
        let summary: Vec<_> = groups
            .iter()
            .map(|g| (g.source, g.path.as_str(), g.events.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("file:/var/log/a.log", "logs/file_var_log_a.log.log", 1),
                ("kmsg", "logs/kmsg.log", 2),
                ("socket", "logs/socket.log", 1),
            ]
        );
    }

    #[test]
    fn lines_are_escaped_and_read_back() {
        let events = [
            event(1_795_428_004_100_000_000, "kmsg", EventKind::Log, "plain"),
            event(
                7,
                "kmsg",
                EventKind::Log,
                "two\nlines\r\\ and \u{1b}[31m\ttab é",
            ),
            event(8, "kmsg", EventKind::Log, ""),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let mut out = Vec::new();
        write_log(&mut out, &refs).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(
            text,
            "2026-11-23T10:00:04.100Z warning plain\n\
             1970-01-01T00:00:00.000000007Z warning two\\nlines\\r\\\\ and \\x1b[31m\ttab é\n\
             1970-01-01T00:00:00.000000008Z warning \n"
        );
        let back = parse_log("logs/kmsg.log", &out).unwrap();
        assert_eq!(back.len(), 3);
        for (line, e) in back.iter().zip(&events) {
            assert_eq!(
                (line.ts, line.level, &line.message),
                (e.ts, e.level, &e.message)
            );
        }
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line, want) in [
            ("1970-01-01T00:00:00Z info\n", 1, "expected"),
            ("1970-01-01T00:00:00Z loud x\n", 1, "level `loud`"),
            (
                "1970-01-01T00:00:00Z info ok\nyesterday info x\n",
                2,
                "RFC 3339",
            ),
            ("1970-01-01T00:00:00Z info a\\qb\n", 1, "unknown escape"),
            ("1970-01-01T00:00:00Z info a\\x4\n", 1, "`\\x4`"),
            ("1970-01-01T00:00:00Z info a\\x41\n", 1, "`\\x41`"),
            ("1970-01-01T00:00:00Z info a\\\n", 1, "unknown escape"),
        ] {
            match parse_log("logs/k.log", text.as_bytes()) {
                Err(Error::LogInvalid {
                    line: l, reason, ..
                }) => {
                    assert_eq!(l, line, "{text:?}");
                    assert!(reason.contains(want), "{text:?}: {reason}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_log("logs/k.log", b"\xff\n"),
            Err(Error::LogInvalid { .. })
        ));
        assert!(parse_log("logs/k.log", b"").unwrap().is_empty());
    }
}
