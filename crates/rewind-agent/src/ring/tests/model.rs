//! Model check: the ring answers exactly like a plain `VecDeque` per series
//! with the same retention rule, whenever maintenance runs (often, seldom or
//! never: the model has none).

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;
use rewind_model::{Sample, SeriesName, TimeRange, Timestamp};

use crate::Ring;
use crate::collect::Unit;

/// A snapshot with samples as `(nanos, value bits)`, so NaNs compare.
type Snapshot = Vec<(SeriesName, Unit, Vec<(i64, u64)>)>;

/// The reference: every sample, popped one by one as it leaves the window.
#[derive(Debug, Default)]
struct Model {
    window: i64,
    series: BTreeMap<SeriesName, (Unit, VecDeque<Sample>)>,
}

impl Model {
    fn push(&mut self, name: &SeriesName, unit: &Unit, sample: Sample) {
        let (_, samples) = self
            .series
            .entry(name.clone())
            .or_insert_with(|| (unit.clone(), VecDeque::new()));
        if samples.back().is_some_and(|last| last.ts > sample.ts) {
            return;
        }
        samples.push_back(sample);
        let oldest_kept = sample.ts.add_nanos(-self.window);
        while samples.front().is_some_and(|s| s.ts < oldest_kept) {
            samples.pop_front();
        }
    }

    fn snapshot(&self, range: TimeRange) -> Snapshot {
        self.series
            .iter()
            .map(|(name, (unit, samples))| {
                let inside = samples.iter().filter(|s| range.contains(s.ts));
                (
                    name.clone(),
                    unit.clone(),
                    inside.map(|s| bits(*s)).collect(),
                )
            })
            .filter(|(_, _, s): &(_, _, Vec<_>)| !s.is_empty())
            .collect()
    }

    fn len(&self) -> usize {
        self.series.values().map(|(_, s)| s.len()).sum()
    }
}

fn bits(s: Sample) -> (i64, u64) {
    (s.ts.as_unix_nanos(), s.value.to_bits())
}

fn ring_snapshot(ring: &Ring, range: TimeRange) -> Snapshot {
    let bits_of = |(name, unit, samples): (_, _, Vec<Sample>)| {
        (name, unit, samples.into_iter().map(bits).collect())
    };
    ring.snapshot(range).into_iter().map(bits_of).collect()
}

#[derive(Debug, Clone)]
enum Op {
    /// Advance the shared clock by `step`, then push to series `series` at
    /// the clock minus `lag` (lag > 0 may go backwards), with one of two
    /// units (only a series' first one counts).
    Push {
        series: usize,
        unit: usize,
        step: i64,
        lag: i64,
        value: f64,
    },
    /// Snapshot `[clock - back, clock - back + len]`.
    Snapshot { back: i64, len: i64 },
    /// [`Ring::maintain`], which must change no answer.
    Maintain,
}

fn step() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => Just(0),
        2 => 1..2_000i64,
        8 => 99_000_000..101_000_000i64,
        1 => 1_000_000_000..20_000_000_000i64,
        1 => 3_600_000_000_000..7_200_000_000_000i64,
    ]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        (0..8i32).prop_map(|k| f64::from(k) * 0.5),
        Just(f64::NAN),
        Just(-0.0),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let lag = prop_oneof![6 => Just(0i64), 1 => 1..300_000_000i64];
    let push = (0..3usize, 0..2usize, step(), lag, value()).prop_map(
        |(series, unit, step, lag, value)| Op::Push {
            series,
            unit,
            step,
            lag,
            value,
        },
    );
    let snapshot = (
        -2_000_000_000..40_000_000_000i64,
        -1_000_000_000..40_000_000_000i64,
    )
        .prop_map(|(back, len)| Op::Snapshot { back, len });
    prop_oneof![12 => push, 1 => snapshot, 3 => Just(Op::Maintain)]
}

/// Runs of operations with maintenance now and then, or none at all.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    let ops = prop::collection::vec(op(), 1..400);
    (prop::bool::weighted(0.25), ops).prop_map(|(never, ops)| {
        ops.into_iter()
            .filter(|op| !(never && matches!(op, Op::Maintain)))
            .collect()
    })
}

fn window() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0),
        1..1_000i64,
        Just(1_000_000_000),
        Just(10_000_000_000),
        Just(63_000_000_000),
        Just(i64::MAX),
    ]
}

fn start() -> impl Strategy<Value = i64> {
    prop_oneof![
        -2_000_000_000_000_000_000..2_000_000_000_000_000_000i64,
        Just(i64::MIN),
        Just(i64::MAX - 30_000_000_000_000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ring_answers_like_the_model(window in window(), start in start(), ops in ops()) {
        let names: Vec<SeriesName> = ["a", "b", "c"].iter().map(|n| SeriesName::new(*n).unwrap()).collect();
        let units: [Unit; 2] = ["bytes".into(), String::from("count").into()];
        let (mut ring, mut model) = (Ring::new(window), Model { window, ..Model::default() });
        let mut clock = start;
        for op in ops {
            match op {
                Op::Push { series, unit, step, lag, value } => {
                    clock = clock.saturating_add(step);
                    let sample = Sample::new(Timestamp::from_unix_nanos(clock.saturating_sub(lag)), value);
                    ring.push(&names[series], &units[unit], sample);
                    model.push(&names[series], &units[unit], sample);
                }
                Op::Snapshot { back, len } => {
                    let start = clock.saturating_sub(back);
                    let range = TimeRange {
                        start: Timestamp::from_unix_nanos(start),
                        end: Timestamp::from_unix_nanos(start.saturating_add(len)),
                    };
                    prop_assert_eq!(ring_snapshot(&ring, range), model.snapshot(range));
                }
                Op::Maintain => ring.maintain(),
            }
            prop_assert_eq!(ring.len(), model.len());
            prop_assert_eq!(ring.memory_bytes(), ring.memory_bytes_by_walking());
        }
        let everything = TimeRange { start: Timestamp::from_unix_nanos(i64::MIN), end: Timestamp::from_unix_nanos(i64::MAX) };
        prop_assert_eq!(ring_snapshot(&ring, everything), model.snapshot(everything));
    }
}
