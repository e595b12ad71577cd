//! Property tests: no input panics the reader (random bytes, damaged zips,
//! and structured mutations that keep the zip and the hashes valid so they
//! reach the parsers behind them); any series round-trips.

use std::io::{Cursor, Write};

use proptest::prelude::*;
use rewind_bundle::{BundleInput, Limits, SeriesInput, read_bundle, write_bundle_to};
use rewind_model::{Sample, SeriesName, TimeRange, Timestamp};
use serde_json::Value;
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use crate::common::{Fixture, Members, edit_manifest, relist, small_limits, unzip, valid_bundle};

/// Up to 6 series with unique names (whose file stems often collide), any
/// units, any timestamps and any values, NaN and infinities included.
fn series_strategy() -> impl Strategy<Value = Vec<SeriesInput>> {
    let name = "[a-zA-Z0-9][a-zA-Z0-9._/:-]{0,12}[a-zA-Z0-9_]";
    let sample = (any::<i64>(), any::<f64>())
        .prop_map(|(ns, v)| Sample::new(Timestamp::from_unix_nanos(ns), v));
    let body = (".{0,12}", prop::collection::vec(sample, 0..40));
    prop::collection::btree_map(name, body, 0..6).prop_map(|m| {
        m.into_iter()
            .map(|(name, (unit, samples))| SeriesInput {
                name: SeriesName::new(name).unwrap(),
                unit,
                samples,
            })
            .collect()
    })
}

/// Reads `bytes`; the only acceptable outcomes are a bundle or a typed error.
pub fn check_outcome(bytes: &[u8]) -> Result<(), TestCaseError> {
    match read_bundle(bytes, &small_limits()) {
        Ok(bundle) => {
            let m = &bundle.manifest;
            prop_assert_eq!(bundle.series.len(), m.series.len());
            prop_assert_eq!(bundle.events.len() as u64, m.events);
            prop_assert_eq!(bundle.logs.len(), m.logs.len());
            prop_assert_eq!(bundle.attachments.len(), m.attachments.len());
        }
        Err(e) => {
            prop_assert!(e.code().starts_with("bundle_"), "{}", e.code());
            prop_assert!(!e.to_string().is_empty());
        }
    }
    Ok(())
}

/// Member names worth trying: hostile, colliding and legitimate ones.
const NAMES: [&str; 16] = [
    "../evil",
    "/etc/passwd",
    "system/../../x",
    "TRIGGER.json",
    "trigger.json",
    "manifest.json",
    "events.jsonl",
    "recording.mcap",
    "system/os-release",
    "system/os-release/x",
    "processes/camera",
    "logs/kmsg.log",
    "metrics/cpu.total.busy_pct.csv",
    "notes.txt",
    "a\\b",
    "C:/x",
];

#[derive(Debug, Clone)]
enum Op {
    Rename(prop::sample::Index, usize),
    Drop(prop::sample::Index),
    Replace(prop::sample::Index, Vec<u8>),
    Flip(prop::sample::Index, prop::sample::Index, u8),
    Truncate(prop::sample::Index, prop::sample::Index),
    Manifest(usize, Value),
}

/// JSON pointers into the fixture's manifest, and values to put there.
const POINTERS: [&str; 14] = [
    "/format_version",
    "/events",
    "/series/0/samples",
    "/series/0/path",
    "/logs/0/lines",
    "/logs/0/path",
    "/recording/messages",
    "/recording/channels",
    "/recording/path",
    "/attachments/0/path",
    "/attachments/0/kind",
    "/files/0/size",
    "/labels",
    "/time_range/start",
];

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,24}".prop_map(Value::from),
        prop::sample::select(NAMES.to_vec()).prop_map(Value::from),
        Just(Value::Null),
        Just(serde_json::json!({"x": 1})),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let index = any::<prop::sample::Index>;
    prop_oneof![
        (index(), 0..NAMES.len()).prop_map(|(i, n)| Op::Rename(i, n)),
        index().prop_map(Op::Drop),
        (index(), prop::collection::vec(any::<u8>(), 0..256)).prop_map(|(i, b)| Op::Replace(i, b)),
        (index(), index(), any::<u8>()).prop_map(|(i, at, b)| Op::Flip(i, at, b)),
        (index(), index()).prop_map(|(i, at)| Op::Truncate(i, at)),
        (0..POINTERS.len(), json_value()).prop_map(|(p, v)| Op::Manifest(p, v)),
    ]
}

fn apply(members: &mut Members, op: &Op) {
    let n = members.len();
    if n == 0 {
        return;
    }
    match op {
        Op::Rename(i, name) => members[i.index(n)].0 = NAMES[*name].to_owned(),
        Op::Drop(i) => {
            members.remove(i.index(n));
        }
        Op::Replace(i, bytes) => members[i.index(n)].1.clone_from(bytes),
        Op::Flip(i, at, byte) => {
            let data = &mut members[i.index(n)].1;
            if !data.is_empty() {
                let at = at.index(data.len());
                data[at] ^= byte | 1;
            }
        }
        Op::Truncate(i, at) => {
            let data = &mut members[i.index(n)].1;
            let at = at.index(data.len() + 1);
            data.truncate(at);
        }
        Op::Manifest(p, value) => {
            if first_manifest_parses(members) {
                edit_manifest(members, |m| {
                    if let Some(slot) = m.pointer_mut(POINTERS[*p]) {
                        *slot = value.clone();
                    }
                });
            }
        }
    }
}

/// Zips `members`, skipping names the zip writer refuses (duplicates).
fn zip_lenient(members: &Members, stored: bool) -> Vec<u8> {
    let method = if stored {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    let options = SimpleFileOptions::default().compression_method(method);
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in members {
        if w.start_file(name.as_str(), options).is_ok() {
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// Whether the first `manifest.json` (the one the test helpers edit) is a JSON object.
fn first_manifest_parses(members: &Members) -> bool {
    members
        .iter()
        .find(|(n, _)| n == "manifest.json")
        .is_some_and(|(_, d)| serde_json::from_slice::<Value>(d).is_ok_and(|v| v.is_object()))
}

fn relist_if_possible(members: &mut Members) {
    if first_manifest_parses(members) {
        relist(members);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        check_outcome(&bytes)?;
        let mut zipish = b"PK\x03\x04".to_vec();
        zipish.extend_from_slice(&bytes);
        check_outcome(&zipish)?;
    }

    #[test]
    fn damaged_bundles_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = valid_bundle();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        check_outcome(&bytes)?;
        bytes.truncate(cut.index(bytes.len()));
        prop_assert!(read_bundle(&bytes, &small_limits()).is_err());
    }

    #[test]
    fn mutated_members_never_panic(ops in prop::collection::vec(op(), 1..5), relist_after in any::<bool>(), stored in any::<bool>()) {
        let mut members = unzip(&valid_bundle());
        for op in &ops {
            apply(&mut members, op);
        }
        if relist_after {
            relist_if_possible(&mut members);
        }
        check_outcome(&zip_lenient(&members, stored))?;
    }

    #[test]
    fn mutated_recordings_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        splice in proptest::option::of((any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 0..64))),
    ) {
        let mut members = unzip(&valid_bundle());
        let mcap = &mut members.iter_mut().find(|(n, _)| n == "recording.mcap").unwrap().1;
        for (at, byte) in flips {
            let i = at.index(mcap.len());
            mcap[i] ^= byte;
        }
        if let Some((at, bytes)) = splice {
            let i = at.index(mcap.len());
            mcap.splice(i..i, bytes);
        }
        if let Some(cut) = cut {
            let i = cut.index(mcap.len() + 1);
            mcap.truncate(i);
        }
        relist(&mut members);
        check_outcome(&zip_lenient(&members, false))?;
    }

    #[test]
    fn arbitrary_series_round_trip(series in series_strategy()) {
        let fixture = Fixture::new();
        let input = BundleInput {
            series: &series,
            window: TimeRange {
                start: Timestamp::from_unix_nanos(i64::MIN),
                end: Timestamp::from_unix_nanos(i64::MAX),
            },
            ..fixture.input()
        };
        let mut out = Cursor::new(Vec::new());
        let manifest = write_bundle_to(&mut out, &input).unwrap();
        let bundle = read_bundle(out.get_ref(), &Limits::default()).unwrap();
        prop_assert_eq!(bundle.manifest, manifest);
        prop_assert_eq!(bundle.series.len(), series.len());
        for (got, want) in bundle.series.iter().zip(&series) {
            prop_assert_eq!(&got.name, &want.name);
            prop_assert_eq!(&got.unit, &want.unit);
            prop_assert_eq!(got.v.len(), want.samples.len());
            for (((v, t), ns), s) in got.v.iter().zip(&got.t).zip(&got.t_nanos).zip(&want.samples) {
                prop_assert!(v.to_bits() == s.value.to_bits() || (v.is_nan() && s.value.is_nan()));
                prop_assert_eq!(t.to_bits(), s.ts.as_unix_secs_f64().to_bits());
                prop_assert_eq!(*ns, s.ts.as_unix_nanos());
            }
        }
    }
}
