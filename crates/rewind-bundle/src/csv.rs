//! The metrics CSV: `timestamp,unix_nanos,value`, one sample per row.
//!
//! Deliberately tiny and strict: no quoting (no field can contain a comma),
//! `\n` line ends (a `\r` before it is tolerated on reading), exactly three
//! fields per row. `unix_nanos` is authoritative; `timestamp` is the same
//! instant in RFC 3339 for people and must agree with it.

use std::io::{self, Write};

use rewind_model::{Sample, Timestamp};

use crate::{Error, Result};

/// The header line, without its line end.
pub const CSV_HEADER: &str = "timestamp,unix_nanos,value";

/// Writes `samples` as CSV (header included) to `w`.
///
/// Values use Rust's shortest round-trip formatting (`{:?}`), so they read
/// back bit-exact; NaN is `NaN`, infinities are `inf` and `-inf`.
pub(crate) fn write_csv(w: &mut impl Write, samples: &[Sample]) -> io::Result<()> {
    writeln!(w, "{CSV_HEADER}")?;
    for s in samples {
        writeln!(
            w,
            "{},{},{:?}",
            format_timestamp(s.ts),
            s.ts.as_unix_nanos(),
            s.value
        )?;
    }
    Ok(())
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
    use super::*;

    fn to_string(samples: &[Sample]) -> String {
        let mut out = Vec::new();
        write_csv(&mut out, samples).unwrap();
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
