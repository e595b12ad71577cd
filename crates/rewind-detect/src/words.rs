//! Numbers and durations written for people, in summaries and explanations.

/// A measured value for people: at most three decimals, no trailing zeros,
/// but never rounded to zero.
#[must_use]
pub fn number(value: f64) -> String {
    let rounded = format!("{value:.3}");
    let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        "0" | "-0" if value != 0.0 => value.to_string(),
        "-0" => "0".to_owned(),
        _ => trimmed.to_owned(),
    }
}

/// Nanoseconds as seconds with one to three decimals: `2.0`, `0.25`, `120.0`.
#[allow(clippy::cast_precision_loss)] // nanosecond precision is not needed for display
#[must_use]
pub fn seconds(nanos: i64) -> String {
    let rounded = format!("{:.3}", nanos as f64 / 1e9);
    let trimmed = rounded.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_but_not_lost() {
        assert_eq!(number(80.0), "80");
        assert_eq!(number(97.5), "97.5");
        assert_eq!(number(33.333_333_3), "33.333");
        assert_eq!(number(52_428_800.0), "52428800");
        assert_eq!(number(0.000_12), "0.00012");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(-2.5), "-2.5");
    }

    #[test]
    fn seconds_keep_one_decimal() {
        assert_eq!(seconds(2_000_000_000), "2.0");
        assert_eq!(seconds(250_000_000), "0.25");
        assert_eq!(seconds(120_000_000_000), "120.0");
        assert_eq!(seconds(1), "0.0");
    }
}
