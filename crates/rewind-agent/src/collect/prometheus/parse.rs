//! A small parser for the Prometheus text exposition format (0.0.4), also
//! reading what OpenMetrics 1.0 text adds in the same places (`# UNIT`,
//! `# EOF`, exemplars, float timestamps) and Prometheus 3's quoted UTF-8
//! names (`{"my.metric", "a.label"="x"}`).
//!
//! Written here rather than taken from crates.io: the crates that parse this
//! format are either unmaintained for years or LGPL-licensed (incompatible
//! with shipping one MIT/Apache binary), and the format is small.
//!
//! Histogram and summary lines (`_bucket`, `_sum`, `_count`, quantiles) are
//! plain samples here. A line that cannot be parsed is counted and skipped.

use std::collections::HashMap;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sample {
    pub name: String,
    /// Labels in line order, values unescaped.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// The timestamp as written (milliseconds in 0.0.4, seconds in OpenMetrics).
    pub timestamp: Option<f64>,
}

/// A parsed exposition.
#[derive(Debug, Default)]
pub(super) struct Exposition {
    /// Samples in text order, at most the `max_samples` asked for.
    pub samples: Vec<Sample>,
    /// `# TYPE` by metric family name.
    pub types: HashMap<String, String>,
    /// Lines that could not be parsed, and the first reason.
    pub bad_lines: usize,
    pub first_error: Option<String>,
    /// Samples beyond `max_samples` (not parsed).
    pub over_limit: usize,
}

/// Parses `text`, keeping at most `max_samples` samples.
pub(super) fn parse(text: &str, max_samples: usize) -> Exposition {
    let mut out = Exposition::default();
    for (no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if comment.trim() == "EOF" {
                break;
            }
            if let Some((name, kind)) = type_line(comment) {
                out.types.insert(name.to_owned(), kind.to_ascii_lowercase());
            }
            continue;
        }
        if out.samples.len() >= max_samples {
            out.over_limit += 1;
            continue;
        }
        match sample(line) {
            Ok(s) => out.samples.push(s),
            Err(e) => {
                out.bad_lines += 1;
                out.first_error
                    .get_or_insert_with(|| format!("line {}: {e}", no + 1));
            }
        }
    }
    out
}

/// `TYPE name kind` (after the `#`).
fn type_line(comment: &str) -> Option<(&str, &str)> {
    let mut words = comment.split_whitespace();
    (words.next()? == "TYPE").then_some(())?;
    Some((words.next()?, words.next()?))
}

/// One sample line: `name{labels} value [timestamp] [# exemplar]`.
pub(super) fn sample(line: &str) -> Result<Sample, String> {
    let mut c = Cursor {
        s: line.as_bytes(),
        pos: 0,
    };
    let mut name = if c.peek() == Some(b'{') {
        None
    } else {
        Some(c.name(true)?)
    };
    c.skip_ws();
    let labels = if c.eat(b'{') {
        labels(&mut c, &mut name)?
    } else {
        Vec::new()
    };
    let name = name.ok_or("no metric name")?;
    let value = number(c.word()).ok_or_else(|| format!("`{name}` has no valid value"))?;
    let timestamp = match c.word() {
        "" => None,
        w if w.starts_with('#') => {
            return Ok(Sample {
                name,
                labels,
                value,
                timestamp: None,
            });
        }
        w => Some(
            number(w)
                .filter(|t| t.is_finite())
                .ok_or_else(|| format!("bad timestamp `{w}`"))?,
        ),
    };
    let rest = c.rest().trim_start();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return Err(format!(
            "unexpected `{}` after the value",
            rest.chars().take(20).collect::<String>()
        ));
    }
    Ok(Sample {
        name,
        labels,
        value,
        timestamp,
    })
}

/// The labels after `{`, up to and including `}`. A quoted string alone is
/// the metric name (Prometheus 3) when there was none before the brace.
fn labels(c: &mut Cursor<'_>, name: &mut Option<String>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    loop {
        c.skip_ws();
        if c.eat(b'}') {
            return Ok(out);
        }
        let quoted = c.peek() == Some(b'"');
        let key = if quoted { c.quoted()? } else { c.name(false)? };
        c.skip_ws();
        if c.eat(b'=') {
            c.skip_ws();
            out.push((key, c.quoted()?));
        } else if quoted && name.is_none() {
            *name = Some(key);
        } else {
            return Err(format!("expected `=` after label `{key}`"));
        }
        c.skip_ws();
        if !c.eat(b',') {
            c.skip_ws();
            return if c.eat(b'}') {
                Ok(out)
            } else {
                Err("expected `,` or `}` after a label".into())
            };
        }
    }
}

/// A float as Go writes them: `NaN`, `+Inf`, `-Inf`, decimal or exponent.
fn number(word: &str) -> Option<f64> {
    match word {
        "" => None,
        w if w.eq_ignore_ascii_case("nan") => Some(f64::NAN),
        w if w.eq_ignore_ascii_case("+inf") || w.eq_ignore_ascii_case("inf") => Some(f64::INFINITY),
        w if w.eq_ignore_ascii_case("-inf") => Some(f64::NEG_INFINITY),
        w if w
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) =>
        {
            w.parse().ok()
        }
        _ => None,
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b == b' ' || b == b'\t') {
            self.pos += 1;
        }
    }

    fn rest(&self) -> &str {
        std::str::from_utf8(self.s.get(self.pos..).unwrap_or_default()).unwrap_or("")
    }

    /// The next whitespace-separated word ("" at the end).
    fn word(&mut self) -> &str {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(|b| b != b' ' && b != b'\t') {
            self.pos += 1;
        }
        std::str::from_utf8(self.s.get(start..self.pos).unwrap_or_default()).unwrap_or("")
    }

    /// A metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) or, without colons, a label name.
    fn name(&mut self, metric: bool) -> Result<String, String> {
        let ok = |b: u8, first: bool| {
            b.is_ascii_alphabetic()
                || b == b'_'
                || (metric && b == b':')
                || (!first && b.is_ascii_digit())
        };
        let start = self.pos;
        while self.peek().is_some_and(|b| ok(b, self.pos == start)) {
            self.pos += 1;
        }
        if self.pos == start {
            let what = if metric { "metric" } else { "label" };
            return Err(format!("expected a {what} name at column {}", start + 1));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    /// A double-quoted string with `\\`, `\"` and `\n` escapes.
    fn quoted(&mut self) -> Result<String, String> {
        if !self.eat(b'"') {
            return Err(format!("expected `\"` at column {}", self.pos + 1));
        }
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted string".into()),
                Some(b'"') => break,
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'n') => out.push(b'\n'),
                        Some(b @ (b'\\' | b'"')) => out.push(b),
                        Some(other) => out.extend_from_slice(&[b'\\', other]),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
                Some(b) => out.push(b),
            }
            self.pos += 1;
        }
        self.pos += 1;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(s: &Sample) -> Vec<(&str, &str)> {
        s.labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn plain_and_labelled_samples() {
        let s = sample("up 1").unwrap();
        assert_eq!(
            (s.name.as_str(), s.value, s.timestamp, s.labels.len()),
            ("up", 1.0, None, 0)
        );
        let s =
            sample(r#"http_requests_total{method="post",code="200"} 1027 1395066363000"#).unwrap();
        assert_eq!(labels(&s), [("method", "post"), ("code", "200")]);
        assert_eq!((s.value, s.timestamp), (1027.0, Some(1_395_066_363_000.0)));
        let s = sample("ns:rule_rate5m{ a = \"x\" , } -3.5e-2\t").unwrap();
        assert_eq!(
            (s.name.as_str(), s.value, labels(&s)),
            ("ns:rule_rate5m", -0.035, vec![("a", "x")])
        );
        assert!(sample("metric_without_labels{} 7").is_ok());
    }

    #[test]
    fn escapes_in_label_values() {
        let s = sample(r#"msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9"#)
            .unwrap();
        assert_eq!(
            labels(&s),
            [
                ("path", r"C:\DIR\FILE.TXT"),
                ("error", "Cannot find file:\n\"FILE.TXT\"")
            ]
        );
        let s = sample(r#"x{a="} {, ",b="\q"} 1"#).unwrap();
        assert_eq!(
            labels(&s),
            [("a", "} {, "), ("b", r"\q")],
            "braces and commas inside quotes, unknown escapes kept"
        );
    }

    #[test]
    fn special_values_and_trailing_parts() {
        assert!(sample("a NaN").unwrap().value.is_nan());
        assert_eq!(sample("a +Inf").unwrap().value, f64::INFINITY);
        assert_eq!(sample("a -Inf").unwrap().value, f64::NEG_INFINITY);
        let s = sample(r#"foo_bucket{le="0.5"} 12 1.5e9 # {trace_id="abc"} 0.3 1.5e9"#).unwrap();
        assert_eq!(
            (s.value, s.timestamp),
            (12.0, Some(1.5e9)),
            "OpenMetrics exemplar ignored"
        );
        assert_eq!(sample("a 1 # {x=\"y\"} 1").unwrap().timestamp, None);
    }

    #[test]
    fn quoted_utf8_names() {
        let s = sample(r#"{"my.metric", "a.b"="c", d="e"} 2"#).unwrap();
        assert_eq!(
            (s.name.as_str(), labels(&s)),
            ("my.metric", vec![("a.b", "c"), ("d", "e")])
        );
    }

    #[test]
    fn malformed_lines_are_errors() {
        for bad in [
            "",
            "9metric 1",
            "a",
            "a one",
            "a 1 two",
            "a 1 2 3",
            r#"a{b="c} 1"#,
            r#"a{b} 1"#,
            r#"a{b="c" d="e"} 1"#,
            r#"a{="c"} 1"#,
            "a{b=c} 1",
            "a 0x10",
            "a{",
            "\u{fffd}\u{0} 1",
        ] {
            assert!(sample(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_whole_exposition_with_comments_types_and_eof() {
        let text = "# HELP a_total Something.\n# TYPE a_total counter\na_total 3\n\n# random comment\n\
                    garbage line here\nb{x=\"1\"} 2\nc 3\n# EOF\nd 4\n";
        let e = parse(text, 2);
        let names: Vec<_> = e.samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a_total", "b"]);
        assert_eq!(e.types.get("a_total").map(String::as_str), Some("counter"));
        assert_eq!((e.bad_lines, e.over_limit), (1, 1));
        assert!(e.first_error.unwrap().starts_with("line 6:"));
    }
}
