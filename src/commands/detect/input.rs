//! Reading recorded text files line by line, as `rewind detect` and
//! `rewind deploy analyze` do: times in the forms people have, and the bad
//! lines skipped, counted and named as `FILE:LINE`.
//!
//! Policy (both commands): a bad line is skipped and counted; the first
//! [`SHOWN`] are printed on stderr with what is wrong, the rest counted. A
//! file with no usable line at all is an error of its own (exit 2). A line
//! longer than [`MAX_LINE_BYTES`] is bad without being held in memory.

use std::io::{BufRead, BufReader, Read as _};
use std::path::Path;

use rewind_model::Timestamp;

use crate::UsageError;

/// Bad lines printed per file; the rest are only counted.
pub(crate) const SHOWN: usize = 10;
/// Longest line read.
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

/// One line of a file: its number (from 1) and its text, or what is wrong with it.
pub(crate) type Line<'a> = (u64, Result<&'a str, &'static str>);

/// Calls `each` with every line of `path` (without its end of line), and
/// returns the number of bytes read. Lines that are not UTF-8 or too long
/// arrive as `Err` with the reason.
///
/// # Errors
/// When the file cannot be opened or read: a [`UsageError`], since it is input.
pub(crate) fn for_each_line(
    path: &Path,
    mut each: impl FnMut(Line<'_>, u64) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let cannot = |e: std::io::Error| {
        UsageError(format!(
            "error: cannot read {}: {e}\n  hint: check the path",
            path.display()
        ))
    };
    let file = fs_err::File::open(path).map_err(cannot)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::new();
    let mut number = 0;
    let mut bytes = 0u64;
    loop {
        buf.clear();
        let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX) + 1;
        let n = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(cannot)?;
        if n == 0 {
            return Ok(bytes);
        }
        bytes += n as u64;
        number += 1;
        let complete = buf.last() == Some(&b'\n');
        if !complete && buf.len() > MAX_LINE_BYTES {
            bytes += skip_rest_of_line(&mut reader).map_err(cannot)?;
            each((number, Err("the line is longer than 1 MiB")), bytes)?;
            continue;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        match std::str::from_utf8(&buf) {
            Ok(text) => each((number, Ok(text)), bytes)?,
            Err(_) => each((number, Err("the line is not UTF-8 text")), bytes)?,
        }
    }
}

/// Reads up to and including the next end of line; returns the bytes skipped.
fn skip_rest_of_line(reader: &mut impl BufRead) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(skipped);
        }
        let (used, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        reader.consume(used);
        skipped += used as u64;
        if done {
            return Ok(skipped);
        }
    }
}

/// The bad lines of one file.
#[derive(Debug)]
pub(crate) struct BadLines {
    file: String,
    count: u64,
    shown: Vec<String>,
}

impl BadLines {
    /// None yet, for `path`.
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            file: path.display().to_string(),
            count: 0,
            shown: Vec::new(),
        }
    }

    /// Line `line` is bad because of `what`.
    pub(crate) fn push(&mut self, line: u64, what: impl std::fmt::Display) {
        self.count += 1;
        if self.shown.len() < SHOWN {
            self.shown.push(format!("{}:{line}: {what}", self.file));
        }
    }

    /// How many lines were bad.
    pub(crate) const fn count(&self) -> u64 {
        self.count
    }

    /// The first few, as `FILE:LINE: what`.
    pub(crate) fn shown(&self) -> &[String] {
        &self.shown
    }

    /// Prints them on stderr as warnings, with a count of the rest.
    pub(crate) fn warn(&self) {
        for s in &self.shown {
            eprintln!("warning: {s} (line skipped)");
        }
        let rest = self.count.saturating_sub(self.shown.len() as u64);
        if rest > 0 {
            eprintln!(
                "warning: {}: {rest} more bad line(s) skipped ({} in all)",
                self.file, self.count
            );
        }
    }

    /// The error when nothing in the file could be used.
    pub(crate) fn nothing_usable(&self, what: &str, hint: &str) -> UsageError {
        let mut msg = format!("error: {}: no usable {what}", self.file);
        if self.count > 0 {
            msg.push_str(&format!(" ({} bad line(s); the first:", self.count));
            for s in &self.shown {
                msg.push_str(&format!("\n  {s}"));
            }
            msg.push(')');
        }
        msg.push_str(&format!("\n  hint: {hint}"));
        UsageError(msg)
    }
}

/// Nanoseconds in a [`std::time::Duration`], saturating.
pub(crate) fn nanos(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A time as people write them: RFC 3339 (`2026-03-30T19:30:00Z`, with
/// an offset), a civil date and time taken as UTC (`2026-03-30 19:30:00`,
/// `2026-03-30T19:30:00.250`), or Unix seconds (`1774899000`, `1774899000.5`).
pub(crate) fn parse_time(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("the time is empty".into());
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = s
            .parse()
            .map_err(|_| format!("`{s}` is not a number of seconds"))?;
        return unix_seconds(secs).ok_or_else(|| format!("`{s}` is out of range"));
    }
    if let Ok(t) = Timestamp::parse_rfc3339(s) {
        return Ok(t);
    }
    let civil: jiff::civil::DateTime = s.parse().map_err(|_| {
        format!(
            "`{s}` is not a time (write RFC 3339 such as 2026-03-30T19:30:00Z, or Unix seconds)"
        )
    })?;
    let ts = civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| format!("`{s}`: {e}"))?
        .timestamp();
    i64::try_from(ts.as_nanosecond())
        .map(Timestamp::from_unix_nanos)
        .map_err(|_| format!("`{s}` is out of range"))
}

/// Unix seconds as a time, if in range.
pub(crate) fn unix_seconds(secs: f64) -> Option<Timestamp> {
    // ±9.2e9 s is the range of i64 nanoseconds (years 1678..2262).
    if !(secs.is_finite() && secs.abs() < 9.2e9) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)] // in range: checked above
    let nanos = (secs * 1e9).round() as i64;
    Some(Timestamp::from_unix_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_documented_form() {
        let t = Timestamp::parse_rfc3339("2026-03-30T19:30:00Z").unwrap();
        for s in [
            "2026-03-30T19:30:00Z",
            "2026-03-30T21:30:00+02:00",
            "2026-03-30 19:30:00",
            "2026-03-30T19:30:00",
            " 1774899000 ",
            "1774899000.0",
        ] {
            assert_eq!(parse_time(s), Ok(t), "{s}");
        }
        assert_eq!(
            parse_time("2026-03-30 19:30:00.250").unwrap(),
            t.add_nanos(250_000_000)
        );
        for bad in ["", "soon", "2026-13-40T00:00:00Z", "1e300", "12:00"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_and_binary_lines_are_named_not_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        let mut data = b"first\r\n".to_vec();
        data.extend(std::iter::repeat_n(b'a', MAX_LINE_BYTES + 10));
        data.extend(b"\n\xff\xfe\nlast");
        std::fs::write(&path, &data).unwrap();
        let mut seen = Vec::new();
        let bytes = for_each_line(&path, |(n, line), _| {
            seen.push((n, line.map(str::to_owned)));
            Ok(())
        })
        .unwrap();
        assert_eq!(bytes, data.len() as u64);
        assert_eq!(
            seen,
            [
                (1, Ok("first".to_owned())),
                (2, Err("the line is longer than 1 MiB")),
                (3, Err("the line is not UTF-8 text")),
                (4, Ok("last".to_owned())),
            ]
        );
    }
}
