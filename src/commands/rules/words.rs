//! Times written for people, shared by `explain` and `test`.

pub(super) use rewind_detect::words::seconds;

/// A signed offset in seconds with `decimals` decimals: `-12.5 s`, `+0.0 s`.
#[allow(clippy::cast_precision_loss)] // display only
pub(super) fn offset(nanos: i64, decimals: usize) -> String {
    let secs = nanos as f64 / 1e9;
    // `{:+}` would print `-0.0` for a small negative offset.
    let text = format!("{secs:+.decimals$}");
    let zero = text[1..].chars().all(|c| c == '0' || c == '.');
    if zero {
        format!("+{} s", &text[1..])
    } else {
        format!("{text} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_one_decimal() {
        assert_eq!(seconds(2_000_000_000), "2.0");
        assert_eq!(seconds(250_000_000), "0.25");
        assert_eq!(seconds(120_000_000_000), "120.0");
    }

    #[test]
    fn offsets_are_signed_and_never_minus_zero() {
        assert_eq!(offset(-12_500_000_000, 1), "-12.5 s");
        assert_eq!(offset(0, 1), "+0.0 s");
        assert_eq!(offset(-10_000_000, 1), "+0.0 s");
        assert_eq!(offset(300_000_000, 3), "+0.300 s");
    }
}
