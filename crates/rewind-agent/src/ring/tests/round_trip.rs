//! Values and timestamps come back bit for bit.

use rewind_model::{Sample, SeriesName, TimeRange, Timestamp};

use crate::Ring;
use crate::ring::block::OpenBlock;
use crate::ring::times::SharedTimes;

const HOUR: i64 = 3_600_000_000_000;

/// Pushes `samples` into a ring that keeps everything and reads them back.
fn round_trip(samples: &[Sample]) -> Vec<Sample> {
    let name = SeriesName::new("x").unwrap();
    let mut ring = Ring::new(i64::MAX);
    for &s in samples {
        ring.push(&name, &"count".into(), s);
    }
    assert_eq!(ring.len(), samples.len());
    let all = TimeRange {
        start: Timestamp::from_unix_nanos(i64::MIN),
        end: Timestamp::from_unix_nanos(i64::MAX),
    };
    ring.snapshot(all)
        .pop()
        .map(|(_, _, s)| s)
        .unwrap_or_default()
}

/// Samples as `(nanos, value bits)`, so NaNs compare and -0.0 differs from 0.0.
fn bits(samples: &[Sample]) -> Vec<(i64, u64)> {
    samples
        .iter()
        .map(|s| (s.ts.as_unix_nanos(), s.value.to_bits()))
        .collect()
}

fn at(nanos: i64, value: f64) -> Sample {
    Sample::new(Timestamp::from_unix_nanos(nanos), value)
}

#[test]
fn special_values_round_trip_bit_for_bit() {
    let specials = [
        0.0,
        -0.0,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7FF0_0000_DEAD_BEEF), // signalling NaN with a payload
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::from_bits(1), // smallest subnormal
        -f64::from_bits(0x000F_FFFF_FFFF_FFFF),
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        1e-300,
        1e300,
        std::f64::consts::PI,
        42.0,
        42.0,
        42.5,
    ];
    // Every ordered pair, so each value follows each other one.
    let mut samples = Vec::new();
    for (i, &a) in specials.iter().enumerate() {
        for (j, &b) in specials.iter().enumerate() {
            let t = ((i * specials.len() + j) * 2) as i64;
            samples.extend([at(t, a), at(t + 1, b)]);
        }
    }
    let back = round_trip(&samples);
    assert_eq!(bits(&back), bits(&samples));
    assert!(
        back.iter()
            .zip(&samples)
            .all(|(b, s)| b.value.is_nan() == s.value.is_nan())
    );
}

#[test]
fn irregular_timestamps_round_trip_exactly() {
    let mut t = -3 * HOUR; // before 1970
    let mut samples = Vec::new();
    let steps = [
        0,
        0,
        1,
        100_000_000,
        100_000_313,
        99_999_700,
        0,
        7,
        HOUR,
        2 * HOUR,
        1,
        0,
        123_456_789_012,
        999_999_999,
        1_000_000_001,
        5,
        3 * HOUR,
        0,
    ];
    for (i, step) in steps.iter().cycle().take(500).enumerate() {
        t += step + (i as i64 % 13) * 17_041;
        samples.push(at(t, i as f64 * 0.25));
    }
    assert!(samples.first().unwrap().ts.as_unix_nanos() < 0);
    assert_eq!(bits(&round_trip(&samples)), bits(&samples));
}

#[test]
fn the_ends_of_time_round_trip() {
    // The window is counted back from the newest sample, so one ring cannot
    // hold both ends: each half in its own, and the whole jump in a block.
    let samples = [
        at(i64::MIN, 1.0),
        at(i64::MIN, 2.0),
        at(i64::MIN + 1, 3.0),
        at(-1, 4.0),
        at(0, 5.0),
        at(i64::MAX - 1, 6.0),
        at(i64::MAX, 7.0),
        at(i64::MAX, 8.0),
    ];
    let (older, newer) = samples.split_at(4);
    assert_eq!(bits(&round_trip(older)), bits(older));
    assert_eq!(bits(&round_trip(newer)), bits(newer));

    let mut block = OpenBlock::with_expected(4, 4);
    for &s in &samples {
        block.push(s);
    }
    assert_eq!(bits(&block.samples().collect::<Vec<_>>()), bits(&samples));
    let sealed = block.seal(&mut SharedTimes::default()).unwrap();
    assert_eq!(bits(&sealed.samples().collect::<Vec<_>>()), bits(&samples));
}

#[test]
fn random_bits_round_trip() {
    let mut x: u64 = 0x1234_5678_9ABC_DEF0;
    let mut t = 0i64;
    let samples: Vec<Sample> = (0..5_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += (x >> 40) as i64;
            at(t, f64::from_bits(x))
        })
        .collect();
    assert_eq!(bits(&round_trip(&samples)), bits(&samples));
}
