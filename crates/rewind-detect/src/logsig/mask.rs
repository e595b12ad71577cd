//! Masking: the variable parts of a log line replaced by typed placeholders.
//!
//! `2026-03-30T14:03:05Z conn 7f3a9c2b11 to 10.0.0.7:5432 refused after 12ms`
//! becomes `conn <ID> to <IP> refused after <DUR>`.
//!
//! | Placeholder | What it replaces |
//! | --- | --- |
//! | `<TS>` | an ISO 8601 date or date-time inside the line (`2026-03-30`, `2026-03-30T14:03:05.1+02:00`) |
//! | `<UUID>` | `8-4-4-4-12` hex |
//! | `<IP>` | IPv4 (`10.0.0.7`, `:port`, `/cidr`) and IPv6 (`fe80::1`, `[::1]:8080`) |
//! | `<HEX>` | a hex literal (`0x1f`) |
//! | `<ID>` | a run of 8 or more hex digits with a digit and a letter (hashes, request ids) |
//! | `<NUM>` | integers, decimals, exponents, dotted numbers (`1.2.3`) |
//! | `<SIZE>` | a number with a size unit (`12KiB`, `3.5MB`, `4k`) |
//! | `<DUR>` | a number with a time unit (`12ms`, `3.5s`, `1h2m3s`, `250µs`) |
//! | `<PATH>` | `/a/b`, `./a/b`, `~/a/b`, `C:\x` (a single `/health` is a route, kept) |
//! | `<URL>` | `scheme://…` |
//! | `<EMAIL>` | `local@domain.tld` |
//! | `<STR>` | a quoted string, only with [`MaskConfig::quoted_strings`] |
//!
//! A timestamp at the start of the line (ISO 8601, `2026/03/30 14:03:05`,
//! syslog's `Mar 30 14:03:05`, `[30/Mar/2026:14:03:05 +0000]`, a bare
//! `14:03:05.123`, Unix seconds or milliseconds, the kernel's `[ 12.345678]`)
//! is removed with the separator after it. Runs of ASCII whitespace become
//! one space.
//!
//! ## How it scans
//!
//! Hand-written, one pass over the bytes, no regular expressions: a
//! recogniser may only start where a word starts (the byte before it is not
//! a letter, a digit or a non-ASCII byte) and must end where a word ends, so
//! `5xx` stays as it is while `worker_3` becomes `worker_<NUM>`; a word
//! goes on across a dot between word bytes, so `v1.4.2` and `file.go` stay
//! too. The byte after a placeholder also starts a word, as it does after
//! the placeholder's `>` when a masked line is masked again. Every recogniser either has a bounded reach (a UUID is 36
//! bytes, an IPv6 address at most 47) or cannot be retried inside the span
//! it already scanned (paths, quoted strings, e-mail local parts: see the
//! `*_fail_until` marks), so a line costs time linear in its length. Lines
//! are cut to [`MaskConfig::max_line_bytes`] first, at a character boundary.
//!
//! Masking is idempotent: masking a masked line changes nothing (a property
//! test checks it), because a placeholder is capital letters between `<`
//! and `>`, which no recogniser takes, and a match is always followed by a
//! byte that is not part of a word (nothing of the matched text is kept).

mod recognize;
mod timestamp;

use recognize::{Kind, Scan};

/// What the masker does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskConfig {
    /// Replace quoted strings (`"…"`, `'…'`) with `<STR>`, keeping the
    /// quotes. Off by default: quoted text is often the message itself.
    pub quoted_strings: bool,
    /// Remove a timestamp at the start of the line. On by default.
    pub strip_timestamp: bool,
    /// Lines are cut to this many bytes (at a character boundary) before
    /// masking; the cut is counted. Default 4096.
    pub max_line_bytes: usize,
}

impl Default for MaskConfig {
    fn default() -> Self {
        Self {
            quoted_strings: false,
            strip_timestamp: true,
            max_line_bytes: 4096,
        }
    }
}

/// A masked line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    /// The line with its variable parts replaced, single-spaced, trimmed.
    pub text: String,
    /// Whether the line was cut to [`MaskConfig::max_line_bytes`] first.
    pub truncated: bool,
}

/// Masks one line. Never panics, whatever the input.
#[must_use]
pub fn mask(line: &str, config: &MaskConfig) -> Masked {
    let (line, truncated) = truncate(line, config.max_line_bytes);
    let line = if config.strip_timestamp {
        timestamp::strip_leading(line)
    } else {
        line
    };
    let mut text = String::with_capacity(line.len() + 8);
    Scanner::new(line, config.quoted_strings).run(&mut text);
    Masked { text, truncated }
}

/// `line` cut to at most `max` bytes at a character boundary, and whether it was cut.
#[must_use]
pub fn truncate(line: &str, max: usize) -> (&str, bool) {
    if line.len() <= max {
        return (line, false);
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    (&line[..end], true)
}

/// The placeholder written for a kind.
const fn placeholder(kind: Kind) -> &'static str {
    match kind {
        Kind::Timestamp => "<TS>",
        Kind::Uuid => "<UUID>",
        Kind::Ip => "<IP>",
        Kind::HexLiteral => "<HEX>",
        Kind::HexId => "<ID>",
        Kind::Number => "<NUM>",
        Kind::Size => "<SIZE>",
        Kind::Duration => "<DUR>",
        Kind::Path => "<PATH>",
        Kind::Url => "<URL>",
        Kind::Email => "<EMAIL>",
        Kind::Quoted => "<STR>",
    }
}

/// One pass over a line; see the module doc.
struct Scanner<'a> {
    line: &'a str,
    scan: Scan<'a>,
    /// The last step wrote a placeholder: the next byte starts a word, as
    /// it will after the placeholder's `>` when the output is masked again.
    after_placeholder: bool,
}

impl<'a> Scanner<'a> {
    fn new(line: &'a str, quoted: bool) -> Self {
        Self {
            line,
            scan: Scan::new(line.as_bytes(), quoted),
            after_placeholder: false,
        }
    }

    fn run(mut self, out: &mut String) {
        let b = self.line.as_bytes();
        let mut i = 0;
        let mut pending_space = false;
        while i < b.len() {
            if b[i].is_ascii_whitespace() {
                pending_space = !out.is_empty();
                self.after_placeholder = false;
                i += 1;
                continue;
            }
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            i = self.step(i, out);
        }
    }

    /// Writes what starts at `i` (a placeholder, a word or one byte) and
    /// returns where to go on.
    fn step(&mut self, i: usize, out: &mut String) -> usize {
        let b = self.line.as_bytes();
        // Taken first: the flag must not outlive this byte.
        let after_placeholder = std::mem::take(&mut self.after_placeholder);
        let at_word_start = after_placeholder || i == 0 || !recognize::is_word(b[i - 1]);
        if at_word_start && let Some(m) = self.scan.at(i) {
            self.after_placeholder = true;
            match m.kind {
                Kind::Quoted => {
                    // Keep the quotes so the template still reads as quoted.
                    out.push_str(&self.line[i..=i]);
                    out.push_str(placeholder(m.kind));
                    out.push_str(&self.line[m.end - 1..m.end]);
                }
                kind => out.push_str(placeholder(kind)),
            }
            return m.end;
        }
        let end = if recognize::is_word(b[i]) {
            recognize::dotted_word_end(b, i)
        } else {
            i + 1
        };
        // `end` is after an ASCII byte or at the end of a run of word bytes
        // (which include every non-ASCII byte), so it is a char boundary.
        out.push_str(self.line.get(i..end).unwrap_or_default());
        end
    }
}

#[cfg(test)]
mod tests;
