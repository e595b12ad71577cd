//! Durations and thresholds.

use super::{case, check, with};

#[test]
fn durations() {
    check(&[
        case(
            "negative",
            with("2.0", "-1"),
            (7, 15),
            "`duration` must not be negative, found `-1`",
            "give a number of seconds, e.g. `duration: 2.0`, or 0",
        ),
        case(
            "NaN",
            with("2.0", ".nan"),
            (7, 15),
            "`duration` must be a finite number, found `.nan`",
            "duration: 2.0",
        ),
        case(
            "infinite",
            with("2.0", ".inf"),
            (7, 15),
            "`duration` must be a finite number, found `.inf`",
            "duration: 2.0",
        ),
        case(
            "text",
            with("2.0", "soon"),
            (7, 15),
            "`duration` must be a number, found the text `soon`",
            "duration: 2.0",
        ),
        case(
            "with a unit",
            with("2.0", "2s"),
            (7, 15),
            "`duration` must be a number of seconds, found the text `2s`",
            "`duration: 2`",
        ),
        case(
            "quoted",
            with("2.0", "\"2.5\""),
            (7, 15),
            "`duration` must be a number, found the text `2.5`",
            "remove the quotes: `duration: 2.5`",
        ),
        case(
            "empty",
            with("2.0", ""),
            (7, 13),
            "field `duration` has no value",
            "give `duration:` a value or remove the line",
        ),
        case(
            "too long",
            with("2.0", "1e300"),
            (7, 15),
            "`duration` is too long: `1e300` seconds",
            "9223372036",
        ),
    ]);
}

#[test]
fn thresholds() {
    let threshold = "threshold:\n      above: 80";
    check(&[
        case(
            "text limit",
            with("80", "\"hot\""),
            (6, 14),
            "`above` must be a number, found the text `hot`",
            "above: 80",
        ),
        case(
            "quoted number",
            with("80", "\"80\""),
            (6, 14),
            "`above` must be a number, found the text `80`",
            "remove the quotes: `above: 80`",
        ),
        case(
            "boolean limit",
            with("80", "true"),
            (6, 14),
            "`above` must be a number, found the boolean `true`",
            "above: 80",
        ),
        case(
            "overflowing limit",
            with("80", "1e400"),
            (6, 14),
            "`above` must be a finite number, found `1e400`",
            "above: 80",
        ),
        case(
            "two comparisons",
            with("above: 80", "above: 80\n      below: 10"),
            (7, 7),
            "`threshold` has both `above` and `below`; a threshold makes one comparison",
            "second rule",
        ),
        case(
            "no comparison",
            with(threshold, "threshold: {}"),
            (5, 16),
            "`threshold` needs one of `above`, `below`, `equals` or `outside`",
            "threshold: { above: 80 }",
        ),
        case(
            "a bare number",
            with(threshold, "threshold: 80"),
            (5, 16),
            "`threshold` must be a mapping with one of `above`, `below`, `equals` or `outside`, found the number `80`",
            "threshold: { above: 80 }",
        ),
        case(
            "empty",
            with(threshold, "threshold:"),
            (5, 14),
            "field `threshold` has no value",
            "threshold: { above: 80 }",
        ),
    ]);
}
