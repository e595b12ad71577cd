//! Timestamps: removed at the start of a line, `<TS>` inside it.
//!
//! Every matcher reads a fixed number of bytes (digit counts are exact, a
//! fraction at most nine digits), so none can cost more than a few dozen
//! byte reads.

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The line without a leading timestamp and the separator after it, or the
/// line unchanged when it does not start with one.
pub(super) fn strip_leading(line: &str) -> &str {
    let b = line.as_bytes();
    let mut i = skip_spaces(b, 0);
    let bracketed = b.get(i) == Some(&b'[');
    if bracketed {
        i = skip_spaces(b, i + 1);
    }
    let end = iso(b, i)
        .or_else(|| syslog(b, i))
        .or_else(|| common_log(b, i))
        .or_else(|| time_of_day(b, i))
        .or_else(|| bracketed.then(|| uptime(b, i)).flatten())
        .or_else(|| epoch(b, i));
    let Some(mut j) = end else {
        return line;
    };
    if bracketed {
        j = skip_spaces(b, j);
        if b.get(j) != Some(&b']') {
            return line;
        }
        j += 1;
    }
    if b.get(j).is_some_and(|c| !c.is_ascii_whitespace()) {
        return line;
    }
    j = skip_spaces(b, j);
    if matches!(b.get(j), Some(b'-' | b'|' | b':'))
        && b.get(j + 1).is_none_or(u8::is_ascii_whitespace)
    {
        j = skip_spaces(b, j + 1);
    }
    // `j` is after ASCII bytes only.
    line.get(j..).unwrap_or(line)
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Exactly `n` digits at `i` (not followed by another), as a number
/// (saturating), and the index after them.
fn digits(b: &[u8], i: usize, n: usize) -> Option<(u64, usize)> {
    let span = b.get(i..i + n)?;
    if !span.iter().all(u8::is_ascii_digit) || b.get(i + n).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let value = span.iter().fold(0u64, |v, &c| {
        v.saturating_mul(10).saturating_add(u64::from(c - b'0'))
    });
    Some((value, i + n))
}

fn byte(b: &[u8], i: usize, set: &[u8]) -> Option<usize> {
    b.get(i).is_some_and(|c| set.contains(c)).then_some(i + 1)
}

/// `YYYY-MM-DD` or `YYYY/MM/DD`, then optionally `T`, `_` or a space and a
/// time of day with an optional zone (`Z`, `+02:00`, `+0200`, ` UTC`).
pub(super) fn iso(b: &[u8], i: usize) -> Option<usize> {
    let (_, j) = digits(b, i, 4)?;
    let sep = *b.get(j)?;
    if sep != b'-' && sep != b'/' {
        return None;
    }
    let (month, j) = digits(b, j + 1, 2)?;
    let j = byte(b, j, &[sep])?;
    let (day, j) = digits(b, j, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let Some(t) = byte(b, j, b"T _") else {
        return Some(j);
    };
    let Some(j) = time_of_day(b, t) else {
        return Some(j);
    };
    Some(zone(b, j))
}

/// `HH:MM` with optional `:SS` and a fraction after `.` or `,`.
fn time_of_day(b: &[u8], i: usize) -> Option<usize> {
    let (hour, j) = digits(b, i, 2)?;
    let j = byte(b, j, b":")?;
    let (minute, mut j) = digits(b, j, 2)?;
    if hour > 23 || minute > 59 {
        return None;
    }
    if let Some((second, k)) = byte(b, j, b":").and_then(|k| digits(b, k, 2)) {
        if second > 60 {
            return None;
        }
        j = k;
        if let Some(k) = byte(b, j, b".,") {
            let end = (k..k + 9)
                .take_while(|&n| b.get(n).is_some_and(u8::is_ascii_digit))
                .last();
            if let Some(last) = end {
                j = last + 1;
            }
        }
    }
    Some(j)
}

/// An optional zone after a time: `Z`, `±HH:MM`, `±HHMM`, `±HH`, ` UTC`, ` GMT`.
fn zone(b: &[u8], j: usize) -> usize {
    if let Some(k) = byte(b, j, b"Zz") {
        return k;
    }
    let two_digits = |k: usize| {
        b.get(k..k + 2)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            .then_some(k + 2)
    };
    if let Some(k) = byte(b, j, b"+-").and_then(two_digits) {
        let colon = byte(b, k, b":").unwrap_or(k);
        return two_digits(colon).map_or(k, |end| end);
    }
    if b[j..].starts_with(b" UTC") || b[j..].starts_with(b" GMT") {
        return j + 4;
    }
    j
}

fn month(b: &[u8], i: usize) -> Option<usize> {
    let word = b.get(i..i + 3)?;
    MONTHS.contains(&word).then_some(i + 3)
}

/// syslog's `Mar 30 14:03:05` (the day may be space-padded).
fn syslog(b: &[u8], i: usize) -> Option<usize> {
    let j = byte(b, month(b, i)?, b" ")?;
    let j = byte(b, j, b" ").unwrap_or(j);
    let (day, j) = digits(b, j, 2).or_else(|| digits(b, j, 1))?;
    if !(1..=31).contains(&day) {
        return None;
    }
    time_of_day(b, byte(b, j, b" ")?)
}

/// The common log format's `30/Mar/2026:14:03:05 +0000` (inside brackets).
fn common_log(b: &[u8], i: usize) -> Option<usize> {
    let (_, j) = digits(b, i, 2)?;
    let j = byte(b, month(b, byte(b, j, b"/")?)?, b"/")?;
    let (_, j) = digits(b, j, 4)?;
    let j = time_of_day(b, byte(b, j, b":")?)?;
    Some(byte(b, j, b" ").map_or(j, |k| zone(b, k)))
}

/// The kernel's seconds since boot: `12.345678`.
fn uptime(b: &[u8], i: usize) -> Option<usize> {
    let end = (i..i + 12)
        .take_while(|&n| b.get(n).is_some_and(u8::is_ascii_digit))
        .last()?
        + 1;
    let j = byte(b, end, b".")?;
    let frac = (j..j + 9)
        .take_while(|&n| b.get(n).is_some_and(u8::is_ascii_digit))
        .last()?;
    Some(frac + 1)
}

/// Unix time in seconds (10 digits) or milli-, micro- or nanoseconds, with
/// an optional fraction.
fn epoch(b: &[u8], i: usize) -> Option<usize> {
    let j = [10, 13, 16, 19]
        .into_iter()
        .find_map(|n| digits(b, i, n))?
        .1;
    match byte(b, j, b".") {
        Some(k) => Some(
            (k..k + 9)
                .take_while(|&n| b.get(n).is_some_and(u8::is_ascii_digit))
                .last()
                .map_or(j, |last| last + 1),
        ),
        None => Some(j),
    }
}
