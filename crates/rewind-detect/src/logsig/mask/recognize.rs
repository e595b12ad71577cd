//! The recognisers, each a small hand-written matcher over bytes.
//!
//! Each takes the line and a start that is at a word start, and returns where
//! the match ends, or `None`. A match must end at a word end (checked by
//! [`Scan::at`]). Reaches are bounded or memoised: see the module doc above.

use super::timestamp;

/// What a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Timestamp,
    Uuid,
    Ip,
    HexLiteral,
    HexId,
    Number,
    Size,
    Duration,
    Path,
    Url,
    Email,
    Quoted,
}

/// A match from a start: its kind and where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Match {
    pub kind: Kind,
    pub end: usize,
}

/// Letters, digits and every non-ASCII byte: what words are made of.
pub(super) const fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// The end of the run of word bytes starting at `i`.
pub(super) fn word_end(b: &[u8], i: usize) -> usize {
    run(b, i, is_word)
}

/// The end of a word that goes on across dots between word bytes, so that
/// `v1.4.2`, `file.go` and `java.lang.Error` are copied whole.
pub(super) fn dotted_word_end(b: &[u8], i: usize) -> usize {
    let mut end = word_end(b, i);
    while b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(|&c| is_word(c)) {
        end = word_end(b, end + 1);
    }
    end
}

/// The end of the run of bytes from `i` for which `f` holds.
fn run(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && f(b[i]) {
        i += 1;
    }
    i
}

/// Whether a match may end at `end`: at the end of the line or before a
/// byte that is not part of a word.
fn ends_word(b: &[u8], end: usize) -> bool {
    b.get(end).is_none_or(|&c| !is_word(c))
}

/// The recognisers over one line, with the marks that keep a failed long
/// scan from being repeated inside the span it covered.
#[derive(Debug)]
pub(super) struct Scan<'a> {
    b: &'a [u8],
    quoted: bool,
    /// No e-mail can start before this: the local part scanned from an
    /// earlier start ran to here without meeting a usable `@`.
    email_fail_until: usize,
    /// No number, duration or path can start before these: one scanned from
    /// an earlier start reached here and failed on what follows, which a
    /// later start inside the span would reach too.
    number_fail_until: usize,
    path_fail_until: usize,
    /// No quoted string of this quote can close: none did from an earlier opener.
    no_close_double: bool,
    no_close_single: bool,
}

impl<'a> Scan<'a> {
    pub(super) fn new(b: &'a [u8], quoted: bool) -> Self {
        Self {
            b,
            quoted,
            email_fail_until: 0,
            number_fail_until: 0,
            path_fail_until: 0,
            no_close_double: false,
            no_close_single: false,
        }
    }

    /// The match starting at `i` (a word start), trying the recognisers in
    /// order: the first that matches wins.
    pub(super) fn at(&mut self, i: usize) -> Option<Match> {
        let b = self.b;
        let first = b[i];
        let whole = |kind, end| Match { kind, end };
        if first == b'"' || first == b'\'' {
            return self.quoted(i).map(|end| whole(Kind::Quoted, end));
        }
        if let Some(end) = self.url(i) {
            return Some(whole(Kind::Url, end));
        }
        if let Some(end) = self.email(i) {
            return Some(whole(Kind::Email, end));
        }
        if let Some(end) = self.path(i) {
            return Some(whole(Kind::Path, end));
        }
        let found = timestamp::iso(b, i)
            .map(|end| (Kind::Timestamp, end))
            .or_else(|| uuid(b, i).map(|end| (Kind::Uuid, end)))
            .or_else(|| ipv6(b, i).map(|end| (Kind::Ip, end)))
            .or_else(|| ipv4(b, i).map(|end| (Kind::Ip, end)))
            .or_else(|| hex_literal(b, i).map(|end| (Kind::HexLiteral, end)));
        if let Some((kind, end)) = found.filter(|&(_, end)| ends_word(b, end)) {
            return Some(whole(kind, end));
        }
        if i >= self.number_fail_until {
            match number(b, i) {
                Ok(m) => return Some(m),
                Err(reached) => self.number_fail_until = reached,
            }
        }
        hex_id(b, i)
            .filter(|&end| ends_word(b, end))
            .map(|end| whole(Kind::HexId, end))
    }

    /// `"…"` or `'…'`, when quoted strings are masked. A single quote
    /// closes only before whitespace, the end, or a byte that can start
    /// neither a word nor a match (see [`stable_end`]), so `don't` does
    /// not open or close one. Backslash escapes are not honoured: a path may
    /// take the backslash, and masking again would then pair the quotes
    /// differently; an escaped quote just ends the string early.
    fn quoted(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        let q = b[i];
        let no_close = if q == b'"' {
            &mut self.no_close_double
        } else {
            &mut self.no_close_single
        };
        if !self.quoted || *no_close {
            return None;
        }
        for j in i + 1..b.len() {
            if b[j] == q && (q == b'"' || stable_end(b, j + 1)) {
                return Some(j + 1);
            }
        }
        // No closer from here means none from any later opener either.
        *no_close = true;
        None
    }

    /// A path (see [`path`]); a failed scan is not retried inside its span
    /// from a start that could not be a drive letter.
    fn path(&mut self, i: usize) -> Option<usize> {
        if i < self.path_fail_until && !self.b[i].is_ascii_alphabetic() {
            return None;
        }
        match path(self.b, i) {
            Ok(end) => Some(end),
            Err(reached) => {
                self.path_fail_until = self.path_fail_until.max(reached);
                None
            }
        }
    }

    /// `scheme://rest`, the rest running to whitespace or a quote or angle
    /// bracket, trailing punctuation left out.
    fn url(&self, i: usize) -> Option<usize> {
        let b = self.b;
        if !b[i].is_ascii_alphabetic() {
            return None;
        }
        let scheme_ok = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-');
        let limit = b.len().min(i + 32);
        let scheme_end = run(&b[..limit], i, scheme_ok);
        if !b[scheme_end..].starts_with(b"://") {
            return None;
        }
        let body = scheme_end + 3;
        let end = run(b, body, |c| {
            !c.is_ascii_whitespace() && !matches!(c, b'"' | b'\'' | b'<' | b'>' | b'`')
        });
        let end = trim_trailing(b, body, end, b".,;:!?)]}");
        (end > body).then_some(end)
    }

    /// `local@domain.tld`: a local part of `[A-Za-z0-9._%+-]`, then at least
    /// two dot-separated labels, the last alphabetic and two or more long.
    fn email(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        if i < self.email_fail_until || !b[i].is_ascii_alphanumeric() {
            return None;
        }
        let local_end = run(b, i, |c| {
            c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
        });
        let found = (b.get(local_end) == Some(&b'@'))
            .then(|| domain(b, local_end + 1))
            .flatten();
        if found.is_none() {
            self.email_fail_until = local_end;
        }
        found
    }
}

/// Whether `next` is the end, whitespace, or a byte that no match can
/// start and no placeholder starts with. A match that ends on a non-word
/// byte (a closing single quote, an IPv6 address's trailing `::`) may only
/// end there: bytes that may start a match (a word byte, `/`, `~`, `.`, a
/// backslash, `[`, a quote, the `::` of an IPv6 address) become `<` when
/// masked, so masking again then decides the same way.
fn stable_end(b: &[u8], next: usize) -> bool {
    b.get(next).is_none_or(|&c| match c {
        // `: ` cannot start or end up in a match; `::…` can.
        b':' => b.get(next + 1).is_none_or(u8::is_ascii_whitespace),
        b'<' | b'/' | b'~' | b'.' | b'\\' | b'[' | b'"' | b'\'' => false,
        c => !is_word(c),
    })
}

/// Labels of `[A-Za-z0-9-]` joined by dots, at least two, the last one
/// alphabetic and two or more long; ends at a word end.
fn domain(b: &[u8], start: usize) -> Option<usize> {
    let label = |c: u8| c.is_ascii_alphanumeric() || c == b'-';
    let mut j = start;
    let mut labels = 0;
    let mut last = (start, start);
    loop {
        let end = run(b, j, label);
        if end == j {
            break;
        }
        labels += 1;
        last = (j, end);
        if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(|&c| label(c)) {
            j = end + 1;
        } else {
            break;
        }
    }
    let tld = &b[last.0..last.1];
    let ok = labels >= 2 && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic);
    (ok && ends_word(b, last.1)).then_some(last.1)
}

/// `end` moved back over any bytes in `set`, not before `start`.
fn trim_trailing(b: &[u8], start: usize, mut end: usize, set: &[u8]) -> usize {
    while end > start && set.contains(&b[end - 1]) {
        end -= 1;
    }
    end
}

/// An absolute or home- or dot-relative path with at least two separators
/// (`/a/b`, `~/a/b`, `./a/b`), or a Windows path (`C:\x`, `\\host\share`).
/// On failure, how far the scan reached.
fn path(b: &[u8], i: usize) -> Result<usize, usize> {
    let path_byte = |c: u8| {
        is_word(c)
            || matches!(
                c,
                b'/' | b'\\' | b'.' | b'_' | b'-' | b'~' | b'@' | b'%' | b'+'
            )
    };
    let rest = &b[i..];
    let (body, min_separators) = if rest.len() >= 3
        && rest[0].is_ascii_alphabetic()
        && rest[1] == b':'
        && rest[2] == b'\\'
    {
        (i + 2, 1)
    } else if rest.starts_with(b"\\\\") {
        (i, 3)
    } else if rest.starts_with(b"/") || rest.starts_with(b"~/") || rest.starts_with(b"./") {
        (i, 2)
    } else if rest.starts_with(b"../") {
        (i + 1, 2)
    } else {
        return Err(i);
    };
    let end = run(b, body, path_byte);
    let end = trim_trailing(b, body, end, b".");
    let span = &b[body..end];
    let separators = span.iter().filter(|&&c| c == b'/' || c == b'\\').count();
    let has_name = span.iter().any(|&c| is_word(c));
    if separators >= min_separators && has_name {
        Ok(end)
    } else {
        Err(end)
    }
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

/// `8-4-4-4-12` hex digits.
fn uuid(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    for (n, group) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if n > 0 {
            (b.get(j) == Some(&b'-')).then_some(())?;
            j += 1;
        }
        let end = run(b, j, is_hex);
        (end - j == group).then_some(())?;
        j = end;
    }
    Some(j)
}

/// Four dotted octets (each 0..=255), then an optional `:port` or `/prefix`.
/// Not followed by `.digit`, which makes it a longer dotted number.
fn ipv4(b: &[u8], i: usize) -> Option<usize> {
    let mut j = ipv4_plain(b, i)?;
    if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if matches!(b.get(j), Some(b':' | b'/')) {
        let end = run(b, j + 1, |c| c.is_ascii_digit());
        if (1..=5).contains(&(end - j - 1)) && ends_word(b, end) {
            j = end;
        }
    }
    Some(j)
}

fn ipv4_plain(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    for n in 0..4 {
        if n > 0 {
            (b.get(j) == Some(&b'.')).then_some(())?;
            j += 1;
        }
        let end = run(b, j, |c| c.is_ascii_digit());
        (1..=3).contains(&(end - j)).then_some(())?;
        let value = b[j..end]
            .iter()
            .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
        (value <= 255).then_some(())?;
        j = end;
    }
    Some(j)
}

/// IPv6: eight groups of 1-4 hex digits, or fewer with one `::`, possibly
/// ending in an IPv4 address; with at least one decimal digit (so `add::be`
/// is not an address); optionally `[…]` with a `:port`.
fn ipv6(b: &[u8], i: usize) -> Option<usize> {
    let bracketed = b[i] == b'[';
    let start = i + usize::from(bracketed);
    let (mut j, mut groups, mut compressed) = if b[start..].starts_with(b"::") {
        (start + 2, 0, true)
    } else {
        (start, 0, false)
    };
    loop {
        if groups <= 6
            && let Some(end) = ipv4_plain(b, j)
        {
            groups += 2;
            j = end;
            break;
        }
        let end = run(b, j, is_hex);
        if end == j || end - j > 4 {
            if end - j > 4 {
                return None;
            }
            break;
        }
        groups += 1;
        j = end;
        if groups == 8 {
            break;
        }
        if b[j..].starts_with(b"::") && !compressed {
            compressed = true;
            j += 2;
        } else if b.get(j) == Some(&b':') && b.get(j + 1).is_some_and(|&c| is_hex(c)) {
            j += 1;
        } else {
            break;
        }
    }
    let complete = if compressed { groups <= 7 } else { groups == 8 };
    let has_digit = b[start..j].iter().any(u8::is_ascii_digit);
    let trailing_colon = b[..j].ends_with(b":");
    if !complete || !has_digit || (trailing_colon && !bracketed && !stable_end(b, j)) {
        return None;
    }
    if bracketed {
        (b.get(j) == Some(&b']')).then_some(())?;
        j += 1;
        if b.get(j) == Some(&b':') {
            let end = run(b, j + 1, |c| c.is_ascii_digit());
            if (1..=5).contains(&(end - j - 1)) {
                j = end;
            }
        }
    }
    Some(j)
}

/// `0x` or `0X` and hex digits.
fn hex_literal(b: &[u8], i: usize) -> Option<usize> {
    if b[i] != b'0' || !matches!(b.get(i + 1), Some(b'x' | b'X')) {
        return None;
    }
    let end = run(b, i + 2, is_hex);
    (end > i + 2).then_some(end)
}

/// 8 or more hex digits, with at least one decimal digit and one letter.
fn hex_id(b: &[u8], i: usize) -> Option<usize> {
    let end = run(b, i, is_hex);
    let span = &b[i..end];
    let ok = span.len() >= 8
        && span.iter().any(u8::is_ascii_digit)
        && span.iter().any(u8::is_ascii_alphabetic);
    ok.then_some(end)
}

/// The end of a decimal number at `i`: digits, any `.digits`, an exponent.
fn decimal(b: &[u8], i: usize) -> Option<usize> {
    let mut j = run(b, i, |c| c.is_ascii_digit());
    if j == i {
        return None;
    }
    while b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        j = run(b, j + 1, |c| c.is_ascii_digit());
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(j + 1), Some(b'+' | b'-')));
        let end = run(b, j + 1 + sign, |c| c.is_ascii_digit());
        if end > j + 1 + sign {
            j = end;
        }
    }
    Some(j)
}

const TIME_UNITS: &[&[u8]] = &[
    b"ns",
    b"us",
    "µs".as_bytes(),
    b"ms",
    b"s",
    b"sec",
    b"secs",
    b"m",
    b"min",
    b"mins",
    b"h",
    b"hr",
    b"hrs",
    b"d",
];
const SIZE_UNITS: &[&[u8]] = &[
    b"B", b"b", b"k", b"K", b"KB", b"kB", b"kb", b"M", b"MB", b"mb", b"G", b"GB", b"gb", b"T",
    b"TB", b"KiB", b"MiB", b"GiB", b"TiB",
];

/// A number, a duration (`12ms`, `1h2m3.5s`) or a size (`12KiB`), ending at
/// a word end. On failure, where the digits ended: a start inside them
/// fails the same way.
fn number(b: &[u8], i: usize) -> Result<Match, usize> {
    let end = decimal(b, i).ok_or(i)?;
    if ends_word(b, end) {
        return Ok(Match {
            kind: Kind::Number,
            end,
        });
    }
    let unit_end = word_end(b, end);
    if SIZE_UNITS.contains(&&b[end..unit_end]) {
        return Ok(Match {
            kind: Kind::Size,
            end: unit_end,
        });
    }
    duration(b, i)
        .map(|end| Match {
            kind: Kind::Duration,
            end,
        })
        .ok_or(end)
}

/// One or more `number unit` pairs with time units, ending at a word end.
fn duration(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    loop {
        let num_end = decimal(b, j)?;
        let unit_end = run(b, num_end, |c| c.is_ascii_alphabetic() || c >= 0x80);
        let unit = &b[num_end..unit_end];
        if !TIME_UNITS.contains(&unit) {
            return None;
        }
        j = unit_end;
        if ends_word(b, j) {
            return Some(j);
        }
    }
}
