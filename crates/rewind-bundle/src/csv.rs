//! The metrics CSV: `timestamp,unix_nanos,value`, one sample per row.
//!
//! Deliberately tiny and strict: no quoting (no field can contain a comma),
//! `\n` line ends (a `\r` before it is tolerated on reading), exactly three
//! fields per row. `unix_nanos` is authoritative; `timestamp` is the same
//! instant in RFC 3339 for people and must agree with it.

use std::io::Write as _;

use rewind_model::{Sample, Timestamp};

use crate::{Error, Result};

/// The header line, without its line end.
pub const CSV_HEADER: &str = "timestamp,unix_nanos,value";

/// Appends `samples` as CSV (header included) to `out`: the same text as
/// `{timestamp},{unix_nanos},{value:?}` per row, without the formatting
/// machinery on the hot path (a bundle holds tens of thousands of rows):
/// the date and time of day are computed once per second, and digits,
/// integral values and values with one decimal are written directly.
///
/// Values use Rust's shortest round-trip formatting (`{:?}`), so they read
/// back bit-exact; NaN is `NaN`, infinities are `inf` and `-inf`.
pub(crate) fn render_csv(out: &mut Vec<u8>, samples: &[Sample]) {
    out.reserve(CSV_HEADER.len() + 1 + samples.len() * 56);
    out.extend_from_slice(CSV_HEADER.as_bytes());
    out.push(b'\n');
    let mut second = SecondCache::default();
    for s in samples {
        let nanos = s.ts.as_unix_nanos();
        second.push(out, nanos);
        out.push(b',');
        push_i64(out, nanos);
        out.push(b',');
        push_value(out, s.value);
        out.push(b'\n');
    }
}

const NANOS: i64 = 1_000_000_000;

/// The last whole second formatted, `YYYY-MM-DDTHH:MM:SS`.
#[derive(Default)]
struct SecondCache {
    second: Option<i64>,
    text: [u8; 19],
}

impl SecondCache {
    /// Appends the RFC 3339 form of `nanos`, as [`format_timestamp`] does.
    fn push(&mut self, out: &mut Vec<u8>, nanos: i64) {
        let (second, frac) = (nanos.div_euclid(NANOS), nanos.rem_euclid(NANOS));
        if self.second != Some(second) {
            self.text = date_time(second);
            self.second = Some(second);
        }
        out.extend_from_slice(&self.text);
        let (digits, scaled) = if frac % 1_000_000 == 0 {
            (3, frac / 1_000_000)
        } else if frac % 1_000 == 0 {
            (6, frac / 1_000)
        } else {
            (9, frac)
        };
        out.push(b'.');
        push_padded(out, scaled.unsigned_abs(), digits);
        out.push(b'Z');
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix second (UTC, proleptic Gregorian; the
/// years of an `i64` of nanoseconds, 1677 to 2262, all have four digits).
fn date_time(second: i64) -> [u8; 19] {
    let (days, secs) = (second.div_euclid(86_400), second.rem_euclid(86_400));
    // Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut text = *b"0000-00-00T00:00:00";
    let mut put = |at: usize, width: usize, n: i64| {
        let mut n = n.unsigned_abs();
        for i in (at..at + width).rev() {
            if let Some(b) = text.get_mut(i) {
                *b = b'0' + (n % 10) as u8;
            }
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, secs / 3600);
    put(14, 2, secs / 60 % 60);
    put(17, 2, secs % 60);
    text
}

/// Appends `n` in decimal with exactly `width` digits (leading zeros).
fn push_padded(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let width = width.min(buf.len());
    let mut i = buf.len();
    while i > buf.len() - width {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `n` in decimal, as `{n}` does.
fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Appends `n` in decimal, two digits at a time.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";
    let mut buf = [0_u8; 20];
    let mut i = buf.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `v` as `{v:?}` does. Integral values below 10^15 (bytes,
/// counts, rates) are `N.0`, and values with one decimal (percentages)
/// `N.D`, written directly; the rest go through `Debug`.
///
/// `N.D` is what `Debug` writes when `ND / 10` rounds to `v` (division is
/// correctly rounded, so it is the double nearest to the decimal, as parsing
/// `N.D` gives) and `D` is not 0: `Debug` writes the shortest text that reads
/// back as `v`, and the only shorter ones, integers, are other doubles;
/// below 10^12 no other one-decimal text reads back as `v` either.
pub(crate) fn push_value(out: &mut Vec<u8>, v: f64) {
    const LIMIT: f64 = 1e15;
    let a = v.abs();
    if a < LIMIT && !(v == 0.0 && v.is_sign_negative()) {
        if a.fract() == 0.0 {
            if v < 0.0 {
                out.push(b'-');
            }
            // Integral and below 10^15: the cast is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            push_u64(out, a as u64);
            out.extend_from_slice(b".0");
            return;
        }
        let tenths = (a * 10.0).round();
        // Below 10^12 a double is far closer to one decimal than to the next.
        if (0.1..1e12).contains(&a) && tenths / 10.0 == a {
            // Below 10^13 and integral: exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let tenths = tenths as u64;
            if !tenths.is_multiple_of(10) {
                if v < 0.0 {
                    out.push(b'-');
                }
                push_u64(out, tenths / 10);
                out.push(b'.');
                out.push(b'0' + (tenths % 10) as u8);
                return;
            }
        }
    }
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{v:?}");
}

/// RFC 3339 in UTC with 3, 6 or 9 fractional digits, whichever is lossless.
pub(crate) fn format_timestamp(ts: Timestamp) -> String {
    let nanos = ts.as_unix_nanos();
    let t =
        jiff::Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let digits = if nanos.rem_euclid(1_000_000) == 0 {
        3
    } else if nanos.rem_euclid(1_000) == 0 {
        6
    } else {
        9
    };
    format!("{t:.digits$}")
}

/// Parses a whole CSV member. `path` is only used in errors.
///
/// # Errors
/// [`Error::Csv`] with the 1-based line number of the first bad line.
pub(crate) fn parse_csv(path: &str, bytes: &[u8]) -> Result<Vec<Sample>> {
    let err = |line: usize, reason: String| Error::Csv {
        path: path.to_owned(),
        line: u64::try_from(line).unwrap_or(u64::MAX),
        reason,
    };
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut lines = body
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l));
    let header = lines.next().map_or(&b""[..], |(_, l)| l);
    if strip_cr(header) != CSV_HEADER.as_bytes() {
        let found = String::from_utf8_lossy(header);
        return Err(err(
            1,
            format!("header is `{found}`, expected `{CSV_HEADER}`"),
        ));
    }
    let mut samples = Vec::new();
    for (n, line) in lines {
        let text = std::str::from_utf8(strip_cr(line))
            .map_err(|_| err(n, "line is not UTF-8".to_owned()))?;
        samples.push(parse_row(text).map_err(|reason| err(n, reason))?);
    }
    Ok(samples)
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn parse_row(line: &str) -> Result<Sample, String> {
    let mut fields = line.split(',');
    let (Some(ts), Some(nanos), Some(value), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        let count = line.split(',').count();
        return Err(format!(
            "expected 3 fields `timestamp,unix_nanos,value`, found {count} in `{}`",
            truncate(line)
        ));
    };
    let nanos: i64 = nanos
        .parse()
        .map_err(|_| format!("unix_nanos `{}` is not a 64-bit integer", truncate(nanos)))?;
    let stated = Timestamp::parse_rfc3339(ts).map_err(|e| truncate(&e).to_owned())?;
    if stated.as_unix_nanos() != nanos {
        return Err(format!(
            "timestamp `{ts}` is {} ns but unix_nanos says {nanos}",
            stated.as_unix_nanos()
        ));
    }
    let value: f64 = value
        .parse()
        .map_err(|_| format!("value `{}` is not a number", truncate(value)))?;
    Ok(Sample::new(Timestamp::from_unix_nanos(nanos), value))
}

/// At most 80 bytes of hostile text for an error message.
fn truncate(s: &str) -> &str {
    let mut end = s.len().min(80);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy as _;

    use super::*;

    fn to_string(samples: &[Sample]) -> String {
        let mut out = Vec::new();
        render_csv(&mut out, samples);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_the_documented_shape() {
        let s = Sample::new(Timestamp::from_unix_nanos(1_763_892_004_100_000_000), 12.5);
        assert_eq!(
            to_string(&[s]),
            "timestamp,unix_nanos,value\n2025-11-23T10:00:04.100Z,1763892004100000000,12.5\n"
        );
    }

    /// What the writer wrote before the fast path: the reference.
    fn reference(samples: &[Sample]) -> String {
        let mut out = format!("{CSV_HEADER}\n");
        for s in samples {
            out.push_str(&format!(
                "{},{},{:?}\n",
                format_timestamp(s.ts),
                s.ts.as_unix_nanos(),
                s.value
            ));
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_writes_what_format_writes(
            rows in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        proptest::num::i64::ANY,
                        (-3_000_000_000_i64..3_000_000_000).prop_map(|n| n * 1_000_000),
                        (-3_000_000_000_i64..3_000_000_000).prop_map(|n| n * 1_000),
                        -5_000_000_000_i64..5_000_000_000,
                    ],
                    proptest::prop_oneof![
                        proptest::num::f64::ANY,
                        (-2e15_f64..2e15).prop_map(f64::round),
                        (-1e6_f64..1e6).prop_map(|v| (v * 10.0).round() / 10.0),
                        (-1e15_f64..1e15).prop_map(|v| (v * 10.0).round() / 10.0),
                        (-1e3_f64..1e3).prop_map(|v| (v * 100.0).round() / 100.0),
                        (-1.0_f64..1.0),
                        proptest::sample::select(vec![
                            0.0, -0.0, 1e15, -1e15, 999_999_999_999_999.0, 1e16, 0.5, f64::NAN,
                            f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE,
                        ]),
                    ],
                ),
                0..40,
            )
        ) {
            let samples: Vec<_> = rows
                .iter()
                .map(|&(t, v)| Sample::new(Timestamp::from_unix_nanos(t), v))
                .collect();
            proptest::prop_assert_eq!(to_string(&samples), reference(&samples));
        }
    }

    #[test]
    fn timestamps_keep_full_precision() {
        for (nanos, text) in [
            (1, "1970-01-01T00:00:00.000000001Z"),
            (-1, "1969-12-31T23:59:59.999999999Z"),
            (1_000, "1970-01-01T00:00:00.000001Z"),
            (0, "1970-01-01T00:00:00.000Z"),
        ] {
            assert_eq!(format_timestamp(Timestamp::from_unix_nanos(nanos)), text);
        }
    }

    #[test]
    fn special_values_round_trip() {
        let values = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            5e-324,
            f64::MAX,
            0.1,
        ];
        let samples: Vec<_> = values
            .iter()
            .map(|&v| Sample::new(Timestamp::from_unix_nanos(7), v))
            .collect();
        let back = parse_csv("m.csv", to_string(&samples).as_bytes()).unwrap();
        for (a, b) in samples.iter().zip(&back) {
            assert!(
                a.value.to_bits() == b.value.to_bits() || (a.value.is_nan() && b.value.is_nan())
            );
            assert_eq!(a.ts, b.ts);
        }
    }

    #[test]
    fn errors_name_the_line() {
        let cases: [(&str, u64, &str); 6] = [
            ("", 1, "header"),
            ("time,value\n", 1, "header"),
            (
                "timestamp,unix_nanos,value\n1970-01-01T00:00:00Z,0,x\n",
                2,
                "not a number",
            ),
            (
                "timestamp,unix_nanos,value\r\n1970-01-01T00:00:00Z,0,1\r\nyesterday,0,1\n",
                3,
                "RFC 3339",
            ),
            (
                "timestamp,unix_nanos,value\n1970-01-01T00:00:00Z,5,1\n",
                2,
                "unix_nanos says 5",
            ),
            (
                "timestamp,unix_nanos,value\n1970-01-01T00:00:00Z,0,1,2\n",
                2,
                "found 4",
            ),
        ];
        for (text, want_line, want) in cases {
            match parse_csv("m.csv", text.as_bytes()) {
                Err(Error::Csv { line, reason, .. }) => {
                    assert_eq!(line, want_line, "{text:?}: {reason}");
                    assert!(reason.contains(want), "{text:?}: {reason}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn empty_series_and_crlf_are_fine() {
        assert!(
            parse_csv("m.csv", b"timestamp,unix_nanos,value\n")
                .unwrap()
                .is_empty()
        );
        assert!(
            parse_csv("m.csv", b"timestamp,unix_nanos,value")
                .unwrap()
                .is_empty()
        );
        let one = parse_csv(
            "m.csv",
            b"timestamp,unix_nanos,value\r\n1970-01-01T00:00:00Z,0,1\r\n",
        );
        assert_eq!(one.unwrap().len(), 1);
    }
}
