//! Property tests: no input panics the reader; any series round-trips.

use std::io::Cursor;

use proptest::prelude::*;
use rewind_bundle::{BundleInput, Limits, SeriesInput, read_bundle, write_bundle_to};
use rewind_model::{Sample, SeriesName, TimeRange, Timestamp};

use crate::common::{Fixture, small_limits, valid_bundle};

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = read_bundle(&bytes, &small_limits());
        let mut zipish = b"PK\x03\x04".to_vec();
        zipish.extend_from_slice(&bytes);
        let _ = read_bundle(&zipish, &small_limits());
    }

    #[test]
    fn damaged_bundles_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = valid_bundle();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = read_bundle(&bytes, &small_limits());
        bytes.truncate(cut.index(bytes.len()));
        prop_assert!(read_bundle(&bytes, &small_limits()).is_err());
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
            prop_assert_eq!(&got.name, want.name.as_str());
            prop_assert_eq!(&got.unit, &want.unit);
            prop_assert_eq!(got.v.len(), want.samples.len());
            for ((v, t), s) in got.v.iter().zip(&got.t).zip(&want.samples) {
                prop_assert!(v.to_bits() == s.value.to_bits() || (v.is_nan() && s.value.is_nan()));
                prop_assert_eq!(t.to_bits(), s.ts.as_unix_secs_f64().to_bits());
            }
        }
    }
}
