//! Text handling shared by the log readers: cleaning a message, cutting a
//! byte stream into bounded lines, and guessing a line's level.

use rewind_model::Level;

/// Cleans raw bytes into a message: invalid UTF-8 replaced (U+FFFD), control
/// characters other than tab and ANSI escape sequences removed, surrounding
/// whitespace trimmed, at most `max` bytes (cut on a character boundary).
#[must_use]
pub fn clean(raw: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len().min(max));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            skip_escape(&mut chars);
            continue;
        }
        if c.is_control() && c != '\t' {
            continue;
        }
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_owned()
    }
}

/// Skips the rest of an escape sequence (`ESC [ … final`, or `ESC x`).
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    if chars.next_if_eq(&'[').is_none() {
        chars.next();
        return;
    }
    // Parameters and intermediates, at most a few dozen, then one final byte in @..~.
    for _ in 0..32 {
        match chars.next() {
            Some('@'..='~') | None => return,
            Some(_) => {}
        }
    }
}

/// Cuts a byte stream into lines of at most `max` bytes. A line without its
/// newline yet is held (at most `max + 1` bytes) until it is completed; a
/// longer one is emitted in pieces of at most `max` bytes.
#[derive(Debug)]
pub struct Lines {
    pending: Vec<u8>,
    max: usize,
}

impl Lines {
    /// Lines of at most `max` bytes (at least 4, room for any character).
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self {
            pending: Vec::new(),
            max: max.max(4),
        }
    }

    /// Bytes held for an unfinished line.
    #[must_use]
    pub fn held(&self) -> usize {
        self.pending.len()
    }

    /// Forgets the unfinished line (the file it came from was truncated).
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Feeds bytes; `emit` receives every completed line (without its newline) or piece.
    pub fn push(&mut self, mut data: &[u8], emit: &mut impl FnMut(&[u8])) {
        while let Some(i) = data.iter().position(|&b| b == b'\n') {
            self.extend(&data[..i], emit);
            self.finish(emit);
            data = &data[i + 1..];
        }
        self.extend(data, emit);
    }

    /// Emits the unfinished line as it is (its file will not grow any more).
    pub fn finish(&mut self, emit: &mut impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            emit(&self.pending);
            self.pending.clear();
        }
    }

    fn extend(&mut self, mut data: &[u8], emit: &mut impl FnMut(&[u8])) {
        while !data.is_empty() {
            // Hold one byte more than `max`: a line of exactly `max` bytes is
            // then emitted whole when its newline comes, not as a piece plus "".
            let room = self.max + 1 - self.pending.len();
            let take = room.min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() > self.max {
                let cut = char_boundary(&self.pending, self.max);
                emit(&self.pending[..cut]);
                self.pending.drain(..cut);
            }
        }
    }
}

/// The largest cut `<= at` that does not split a UTF-8 character (`at` itself
/// when the bytes there are not UTF-8 anyway).
fn char_boundary(bytes: &[u8], at: usize) -> usize {
    match std::str::from_utf8(&bytes[at.saturating_sub(4)..at]) {
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            at.saturating_sub(4) + e.valid_up_to()
        }
        _ => at,
    }
}

/// How far into a line level markers are looked for.
const LEVEL_SCAN: usize = 256;

/// Guesses a line's level from common markers; `Info` when none is found.
///
/// Recognised: a syslog `<N>` prefix, a glog prefix (`E0123 12:00:00…`, or
/// `E ` / `W ` / `F `), and the first level word: upper-case anywhere
/// (`ERROR`, `[WARN]`, `FATAL`, …), other cases when marked as a level
/// (`error:`, `[error]`, `level=error`, `"level":"error"`).
#[must_use]
pub fn guess_level(line: &str) -> Level {
    if let Some(level) = syslog_prefix(line).or_else(|| glog_prefix(line.as_bytes())) {
        return level;
    }
    let bytes = &line.as_bytes()[..line.len().min(LEVEL_SCAN)];
    let mut start: usize = 0;
    for word in bytes.split(|b| !b.is_ascii_alphanumeric()) {
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(start + word.len()).copied();
        start += word.len() + 1;
        if let Some(level) = word_level(word, before, after) {
            return level;
        }
    }
    Level::Info
}

fn word_level(word: &[u8], before: Option<u8>, after: Option<u8>) -> Option<Level> {
    if word.len() < 3 || word.len() > 8 {
        return None;
    }
    let upper = word.iter().all(u8::is_ascii_uppercase);
    let marked = matches!(after, Some(b':' | b']')) || matches!(before, Some(b'=' | b'"' | b'['));
    if !upper && !marked {
        return None;
    }
    let level = match word.to_ascii_lowercase().as_slice() {
        b"fatal" | b"panic" | b"crit" | b"critical" | b"emerg" | b"alert" => Level::Critical,
        b"error" | b"err" => Level::Error,
        b"warn" | b"warning" => Level::Warning,
        b"notice" => Level::Notice,
        b"info" => Level::Info,
        b"debug" | b"trace" => Level::Debug,
        _ => return None,
    };
    Some(level)
}

/// `<N>` or `<NNN>` at the start: syslog priority, severity in the low 3 bits.
fn syslog_prefix(line: &str) -> Option<Level> {
    let rest = line.strip_prefix('<')?;
    let (num, _) = rest.split_once('>')?;
    if num.is_empty() || num.len() > 3 {
        return None;
    }
    let pri: u16 = num.parse().ok()?;
    #[allow(clippy::cast_possible_truncation)] // masked to 0..=7
    Some(Level::from_syslog((pri & 7) as u8))
}

/// glog's `Lmmdd ` prefix, or a bare `E ` / `W ` / `F `.
fn glog_prefix(b: &[u8]) -> Option<Level> {
    let level = |c: u8| match c {
        b'E' => Some(Level::Error),
        b'W' => Some(Level::Warning),
        b'F' => Some(Level::Critical),
        b'I' => Some(Level::Info),
        _ => None,
    };
    match b {
        [c, d @ ..] if d.len() >= 5 && d[..4].iter().all(u8::is_ascii_digit) && d[4] == b' ' => {
            level(*c)
        }
        [c @ (b'E' | b'W' | b'F'), b' ', ..] => level(*c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_removes_controls_and_escapes_and_caps_length() {
        assert_eq!(clean(b"a\tb\x07c\r", 100), "a\tbc");
        assert_eq!(clean(b"\x1b[31mred\x1b[0m text", 100), "red text");
        assert_eq!(
            clean(b"ok \xff\xfe bytes", 100),
            "ok \u{fffd}\u{fffd} bytes"
        );
        assert_eq!(clean("ééé".as_bytes(), 5), "éé");
        assert_eq!(clean(b"\0\0\0", 10), "");
    }

    fn split(max: usize, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, usize) {
        let mut lines = Lines::new(max);
        let mut out = Vec::new();
        for c in chunks {
            lines.push(c, &mut |l| out.push(l.to_vec()));
        }
        (out, lines.held())
    }

    #[test]
    fn partial_lines_are_held_until_their_newline() {
        let (out, held) = split(100, &[b"one\ntw", b"o\nthr"]);
        assert_eq!(out, [b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(held, 3);
    }

    #[test]
    fn long_lines_are_cut_into_bounded_pieces() {
        let (out, held) = split(8, &[b"0123456789abcdefXY\nshort\n"]);
        assert_eq!(out, [&b"01234567"[..], b"89abcdef", b"XY", b"short"]);
        assert_eq!(held, 0);
        let (exact, _) = split(8, &[b"01234567\n"]);
        assert_eq!(
            exact,
            [b"01234567".to_vec()],
            "a line of exactly max bytes is one line"
        );
        let (utf8, _) = split(8, &["aaaaaaaé".as_bytes(), b"\n"]);
        assert_eq!(
            utf8,
            ["aaaaaaa".as_bytes().to_vec(), "é".as_bytes().to_vec()]
        );
    }

    #[test]
    fn levels_are_guessed_from_common_markers() {
        let cases = [
            (
                "2024-01-01 12:00:00 ERROR db: connection refused",
                Level::Error,
            ),
            ("[ERROR] [1700000000.1] [planner]: no path", Level::Error),
            ("[WARN] [1700000000.1] [nav]: slow", Level::Warning),
            ("error: could not open device", Level::Error),
            (
                "E0123 12:00:00.000000  1234 main.cc:42] camera lost",
                Level::Error,
            ),
            (
                "W0123 12:00:00.000000  1234 main.cc:42] retrying",
                Level::Warning,
            ),
            ("E camera lost", Level::Error),
            ("<3>kernel: disk failure", Level::Error),
            ("<12>app: something", Level::Warning),
            ("ts=1 level=error msg=boom", Level::Error),
            (r#"{"level":"warn","msg":"x"}"#, Level::Warning),
            ("FATAL: out of cheese", Level::Critical),
            ("DEBUG loop tick", Level::Debug),
            ("INFO retrying after ERROR", Level::Info),
            ("the errors were fine", Level::Info),
            ("Everything is fine", Level::Info),
            ("", Level::Info),
        ];
        for (line, want) in cases {
            assert_eq!(guess_level(line), want, "{line:?}");
        }
    }
}
