//! NAB's scoring on hand-made windows.

use super::load::parse_time;
use super::*;

const STANDARD: Profile = PROFILES[0];
const LOW_FP: Profile = PROFILES[1];
const LOW_FN: Profile = PROFILES[2];

/// 1,000 rows (probation: the first 150) with windows at 300–399 and 700–799.
const ROWS: usize = 1_000;
const WINDOWS: [Window; 2] = [
    Window {
        start: 300,
        end: 399,
    },
    Window {
        start: 700,
        end: 799,
    },
];

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn the_scaled_sigmoid_matches_nab() {
    // The values quoted in nab/sweeper.py's docstring.
    assert!((scaled_sigmoid(-1.0) - 0.986_61).abs() < 1e-5);
    assert!((scaled_sigmoid(-0.5) - 0.848_28).abs() < 1e-5);
    assert!(close(scaled_sigmoid(0.0), 0.0));
    assert!((scaled_sigmoid(1.0) + 0.986_61).abs() < 1e-5);
    assert!(close(scaled_sigmoid(3.0), -1.0) && close(scaled_sigmoid(50.0), -1.0));
    assert_eq!(probation(1_000), 150);
    assert_eq!(probation(100_000), 750);
}

#[test]
fn a_detection_at_the_window_start_scores_a_tp() {
    // A_TP · σ(−1) / σ(−1): the first row of a window is worth A_TP; the
    // other window is missed (−A_FN).
    let s = score_file(ROWS, &WINDOWS, &[300], &STANDARD);
    assert!(close(s.raw, 1.0 - 1.0), "{s:?}");
    assert_eq!((s.windows_found, s.false_positives), (1, 0));
    // Halfway in: σ(−0.5) / σ(−1).
    let s = score_file(ROWS, &WINDOWS, &[350, 700], &STANDARD);
    let half = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0);
    assert!(close(s.raw, half + 1.0), "{s:?}");
    // Only the best detection of a window counts, and later ones cost nothing.
    let s = score_file(ROWS, &WINDOWS, &[350, 300, 399, 700], &STANDARD);
    assert!(close(s.raw, 2.0) && s.false_positives == 0, "{s:?}");
}

#[test]
fn a_miss_scores_minus_a_fn() {
    let s = score_file(ROWS, &WINDOWS, &[], &STANDARD);
    assert!(close(s.raw, -2.0) && close(s.null, -2.0) && close(s.perfect, 2.0));
    let s = score_file(ROWS, &WINDOWS, &[300], &LOW_FN);
    assert!(close(s.raw, 1.0 - 2.0), "{s:?}");
}

#[test]
fn a_false_positive_outside_the_windows_scores_a_fp() {
    // Before the first window (after probation): the full −A_FP.
    let s = score_file(ROWS, &WINDOWS, &[300, 700, 200], &STANDARD);
    assert!(close(s.raw, 2.0 - 0.11), "{s:?}");
    assert_eq!(s.false_positives, 1);
    let s = score_file(ROWS, &WINDOWS, &[300, 700, 200], &LOW_FP);
    assert!(close(s.raw, 2.0 - 0.22), "{s:?}");
    // Far past a window (3 widths or more): the full −A_FP.
    let s = score_file(ROWS, &WINDOWS[..1], &[300, 999], &STANDARD);
    assert!(close(s.raw, 1.0 - 0.11), "{s:?}");
    // Just past a window: a small cost, A_FP · σ(1 / 99).
    let s = score_file(ROWS, &WINDOWS, &[300, 700, 400], &STANDARD);
    let cost = scaled_sigmoid(1.0 / 99.0) * 0.11;
    assert!(cost < 0.0 && cost > -0.01);
    assert!(close(s.raw, 2.0 + cost), "{s:?}");
    // In the probationary period: not scored at all.
    let s = score_file(ROWS, &WINDOWS, &[300, 700, 10], &STANDARD);
    assert!(close(s.raw, 2.0) && s.false_positives == 0, "{s:?}");
}

#[test]
fn the_null_detector_normalises_to_0_and_the_perfect_one_to_100() {
    for p in &PROFILES {
        let mut null = Score::default();
        let mut perfect = Score::default();
        let mut fp_only = Score::default();
        for rows in [ROWS, 2_000] {
            null.add(score_file(rows, &WINDOWS, &[], p));
            perfect.add(score_file(rows, &WINDOWS, &[300, 700], p));
            fp_only.add(score_file(rows, &WINDOWS, &[200, 999], p));
        }
        assert!(close(null.normalised().unwrap(), 0.0), "{p:?}");
        assert!(close(perfect.normalised().unwrap(), 100.0), "{p:?}");
        // Alarms only outside the windows score below the null detector.
        assert!(fp_only.normalised().unwrap() < 0.0);
    }
    // Without windows there is nothing to normalise by.
    assert_eq!(score_file(ROWS, &[], &[500], &STANDARD).normalised(), None);
}

#[test]
fn timestamps_in_nab_rfc_3339_and_unix_forms() {
    let want = parse_time("2014-04-01T00:00:00Z").unwrap();
    assert_eq!(parse_time("2014-04-01 00:00:00"), Some(want));
    assert_eq!(parse_time("2014-04-01 00:00:00.000000"), Some(want));
    assert_eq!(parse_time("1396310400"), Some(want));
    assert_eq!(parse_time("yesterday"), None);
}
