mod model;
mod round_trip;
mod shapes;

use rewind_model::Timestamp;

use super::*;

const S: i64 = 1_000_000_000;

fn at(secs: i64, v: f64) -> Sample {
    Sample::new(Timestamp::from_unix_nanos(secs * S), v)
}

fn everything() -> TimeRange {
    TimeRange {
        start: Timestamp::from_unix_nanos(i64::MIN),
        end: Timestamp::from_unix_nanos(i64::MAX),
    }
}

#[test]
fn keeps_exactly_the_window_newest_first_kept() {
    let name = SeriesName::new("x").unwrap();
    let mut ring = Ring::new(10 * S);
    for i in 0..=100 {
        ring.push(&name, &"count".into(), at(i, i as f64));
    }
    let all = TimeRange {
        start: Timestamp::from_unix_nanos(0),
        end: Timestamp::from_unix_nanos(i64::MAX),
    };
    let snap = ring.snapshot(all);
    let values: Vec<f64> = snap[0].2.iter().map(|s| s.value).collect();
    assert_eq!(values, (90..=100).map(f64::from).collect::<Vec<_>>());
    assert_eq!(ring.len(), 11);
}

#[test]
fn snapshot_is_limited_to_the_range_and_drops_backwards_samples() {
    let name = SeriesName::new("x").unwrap();
    let mut ring = Ring::new(60 * S);
    for i in [1, 2, 3, 2, 4, 5] {
        ring.push(&name, &"count".into(), at(i, i as f64));
    }
    let range = TimeRange {
        start: at(2, 0.0).ts,
        end: at(4, 0.0).ts,
    };
    let values: Vec<f64> = ring.snapshot(range)[0].2.iter().map(|s| s.value).collect();
    assert_eq!(values, [2.0, 3.0, 4.0]);
    assert_eq!(ring.len(), 5);
}

#[test]
fn series_come_sorted_by_name_with_the_unit_of_their_first_push() {
    let mut ring = Ring::new(60 * S);
    assert!(ring.is_empty());
    for (name, unit) in [("b", "bytes"), ("a", "percent"), ("b", "ignored")] {
        ring.push(&SeriesName::new(name).unwrap(), &unit.into(), at(1, 1.0));
    }
    let snap = ring.snapshot(everything());
    let names: Vec<_> = snap
        .iter()
        .map(|(n, u, s)| (n.as_str(), &**u, s.len()))
        .collect();
    assert_eq!(names, [("a", "percent", 1), ("b", "bytes", 2)]);
    assert!(ring.contains(&SeriesName::new("a").unwrap()));
    assert!(!ring.contains(&SeriesName::new("c").unwrap()));
    assert_eq!(ring.series_count(), 2);
}

#[test]
fn empty_and_inverted_ranges_give_nothing() {
    let name = SeriesName::new("x").unwrap();
    let mut ring = Ring::new(60 * S);
    for i in 0..10 {
        ring.push(&name, &"count".into(), at(i, 0.5));
    }
    let inverted = TimeRange {
        start: at(5, 0.0).ts,
        end: at(4, 0.0).ts,
    };
    assert!(ring.snapshot(inverted).is_empty());
    let before = TimeRange {
        start: at(-9, 0.0).ts,
        end: at(-1, 0.0).ts,
    };
    assert!(
        ring.snapshot(before).is_empty(),
        "series with no sample in range are left out"
    );
    let single = TimeRange {
        start: at(3, 0.0).ts,
        end: at(3, 0.0).ts,
    };
    assert_eq!(ring.snapshot(single)[0].2, [at(3, 0.5)]);
}

#[test]
fn a_zero_window_keeps_only_the_newest_instant() {
    let name = SeriesName::new("x").unwrap();
    let mut ring = Ring::new(0);
    for (t, v) in [(1, 1.0), (2, 2.0), (2, 3.0), (3, 4.0), (3, 5.0)] {
        ring.push(&name, &"count".into(), at(t, v));
    }
    assert_eq!(ring.snapshot(everything())[0].2, [at(3, 4.0), at(3, 5.0)]);
    assert_eq!(ring.len(), 2);
    assert_eq!(Ring::new(-5).len(), 0, "a negative window is an empty one");
}

#[test]
fn memory_stays_bounded_by_the_window_plus_a_slot() {
    // Maintained at each push as in the agent (one push a hub tick), or never.
    for maintained in [true, false] {
        let name = SeriesName::new("x").unwrap();
        let mut ring = Ring::new(60 * S);
        let mut peak_after_warmup = 0;
        for i in 0..60_000 {
            let sample = Sample::new(Timestamp::from_unix_nanos(i * S / 10), (i % 7) as f64);
            ring.push(&name, &"count".into(), sample);
            if maintained {
                ring.maintain();
            }
            if i == 1_200 {
                peak_after_warmup = ring.memory_bytes();
            }
        }
        assert_eq!(ring.len(), 601);
        assert!(
            ring.memory_bytes() <= peak_after_warmup * 5 / 4,
            "maintained {maintained}: {} vs {peak_after_warmup}",
            ring.memory_bytes()
        );
    }
}

#[test]
fn maintenance_frees_what_left_the_window_and_changes_no_answer() {
    let name = SeriesName::new("x").unwrap();
    let mut ring = Ring::new(10 * S);
    for i in 0..=60 {
        ring.push(&name, &"count".into(), at(i, i as f64));
    }
    // Slots of 1.67 s: the blocks of 48 s and before left the window.
    let before = ring.snapshot(everything());
    assert_eq!(ring.len(), 11);
    ring.maintain();
    assert_eq!(ring.snapshot(everything()), before);
    assert_eq!(ring.len(), 11);
    assert_eq!(ring.memory_bytes(), ring.memory_bytes_by_walking());
    // A jump past the whole window leaves every older block dead at once,
    // held until maintenance.
    ring.push(&name, &"count".into(), at(1_000, 0.5));
    assert_eq!(ring.snapshot(everything())[0].2, [at(1_000, 0.5)]);
    assert_eq!(ring.len(), 1);
    let held = ring.memory_bytes();
    ring.maintain();
    assert_eq!(ring.snapshot(everything())[0].2, [at(1_000, 0.5)]);
    assert_eq!(ring.len(), 1);
    assert!(
        ring.memory_bytes() < held,
        "{} vs {held}",
        ring.memory_bytes()
    );
    assert_eq!(ring.memory_bytes(), ring.memory_bytes_by_walking());
}

#[test]
fn series_sampled_together_share_their_timestamps() {
    // A pseudo-random jitter of up to 600 µs, like a timer wheel's.
    let jittery = |i: i64| {
        let jitter = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 44;
        Timestamp::from_unix_nanos(i * S / 10 + (jitter % 600_000) as i64)
    };
    // Maintained at each tick as in the agent, or never (pushes seal then).
    for maintained in [true, false] {
        let mut one = Ring::new(60 * S);
        let mut six = Ring::new(60 * S);
        for i in 0..3_000 {
            for k in 0..6 {
                let name = SeriesName::new(format!("s{k}")).unwrap();
                let sample = Sample::new(jittery(i), 1.0);
                six.push(&name, &"count".into(), sample);
                if k == 0 {
                    one.push(&name, &"count".into(), sample);
                }
            }
            if maintained {
                one.maintain();
                six.maintain();
            }
        }
        // Without sharing, six would take six times as much (they take 2.8).
        let (one, six) = (one.memory_bytes(), six.memory_bytes());
        assert!(
            six < one * 7 / 2,
            "maintained {maintained}: six series took {six} bytes, one {one}"
        );
    }
}

#[test]
fn blocks_are_also_cut_by_count() {
    let name = SeriesName::new("fast").unwrap();
    let mut ring = Ring::new(i64::MAX);
    let samples: Vec<Sample> = (0..10_000)
        .map(|i| {
            Sample::new(
                Timestamp::from_unix_nanos(i * 1_000 + i % 3),
                (i % 100) as f64,
            )
        })
        .collect();
    for &s in &samples {
        ring.push(&name, &"count".into(), s);
    }
    assert_eq!(ring.snapshot(everything())[0].2, samples);
}
