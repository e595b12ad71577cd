//! `docs/manifest.schema.json` describes the manifests this crate writes
//! (and the example in `docs/bundle-format.md`), and refuses broken ones.

use std::io::Cursor;

use proptest::prelude::*;
use rewind_bundle::{BundleExtras, BundleInput, Manifest, write_bundle_to};
use serde_json::{Value, json};

use crate::common::{Fixture, edit_manifest, series, tampered, unzip};

const SCHEMA: &str = include_str!("../../../../docs/manifest.schema.json");
const FORMAT_DOC: &str = include_str!("../../../../docs/bundle-format.md");

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    jsonschema::draft202012::new(&schema).unwrap()
}

fn errors(v: &jsonschema::Validator, manifest: &Value) -> Vec<String> {
    v.iter_errors(manifest)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn manifest_json(input: &BundleInput<'_>) -> Value {
    let m = write_bundle_to(Cursor::new(Vec::new()), input).unwrap();
    serde_json::from_slice(&m.to_json().unwrap()).unwrap()
}

#[test]
fn written_manifests_match_the_schema() {
    let v = validator();
    let fixture = Fixture::new();
    let full = manifest_json(&fixture.input());
    assert!(full["fleet"].is_string() && full["attachments"].as_array().unwrap().len() == 6);
    let bare = manifest_json(&BundleInput {
        series: &[],
        events: &[],
        attachments: &[],
        extras: &BundleExtras::default(),
        ..fixture.input()
    });
    let mut one = Fixture::new();
    one.series = vec![series("topic./camera/rgb.rate_hz", "hz", &[30.0, f64::NAN])];
    one.events.clear();
    let topic = manifest_json(&one.input());
    for (name, manifest) in [("full", full), ("bare", bare), ("topic", topic)] {
        let found = errors(&v, &manifest);
        assert!(found.is_empty(), "{name}: {found:#?}");
    }
}

#[test]
fn a_manifest_from_before_the_additions_matches_the_schema() {
    let bytes = tampered(|m| {
        edit_manifest(m, |v| {
            for key in [
                "fleet",
                "labels",
                "events",
                "logs",
                "recording",
                "attachments",
                "redactions",
                "losses",
                "notes",
            ] {
                v.as_object_mut().unwrap().remove(key);
            }
        })
    });
    let members = unzip(&bytes);
    let manifest: Value = serde_json::from_slice(
        &members
            .iter()
            .find(|(n, _)| n == "manifest.json")
            .unwrap()
            .1,
    )
    .unwrap();
    assert!(errors(&validator(), &manifest).is_empty());
}

#[test]
fn the_documented_example_matches_the_schema_and_the_reader() {
    let start = FORMAT_DOC
        .find("Example manifest:")
        .expect("docs/bundle-format.md has an example manifest");
    let rest = &FORMAT_DOC[start..];
    let json_start = rest.find("```json\n").unwrap() + "```json\n".len();
    let json_end = json_start + rest[json_start..].find("```").unwrap();
    let text = &rest[json_start..json_end];
    let example: Value = serde_json::from_str(text).unwrap();
    let found = errors(&validator(), &example);
    assert!(found.is_empty(), "{found:#?}");
    let m = Manifest::from_json(text.as_bytes()).unwrap();
    assert_eq!(m.format_version, 1);
}

#[test]
fn broken_manifests_do_not_match() {
    let v = validator();
    let fixture = Fixture::new();
    let good = manifest_json(&fixture.input());
    let cases: [(&str, Value); 14] = [
        ("/format_version", json!(2)),
        ("/bundle_id", json!("not-a-uuid")),
        ("/device_id", json!("a/b")),
        ("/created_at", json!("yesterday")),
        ("/trigger/severity", json!("apocalyptic")),
        ("/series/0/path", json!("metrics/../x.csv")),
        ("/series/0/samples", json!(-1)),
        ("/files/0/sha256", json!("ABC")),
        ("/files/0/path", json!("../evil")),
        ("/attachments/0/kind", json!("firmware")),
        ("/attachments/0/path", json!("etc/passwd")),
        ("/recording/compression", json!("lz4")),
        ("/logs/0/path", json!("logs/../x.log")),
        ("/losses/samples_dropped_queue_full", json!("many")),
    ];
    for (pointer, value) in cases {
        let mut m = good.clone();
        *m.pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer}")) = value;
        assert!(!errors(&v, &m).is_empty(), "{pointer} accepted");
    }
    let mut m = good.clone();
    m.as_object_mut().unwrap().remove("files");
    assert!(!errors(&v, &m).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn arbitrary_series_names_give_valid_manifests(
        names in prop::collection::btree_set("[a-zA-Z0-9][a-zA-Z0-9._/:-]{0,12}[a-zA-Z0-9_]", 0..5),
        fleet in proptest::option::of("[ -~]{1,40}"),
    ) {
        let fixture = Fixture::new();
        let series: Vec<_> = names.iter().map(|n| series(n, "u", &[1.0])).collect();
        let extras = BundleExtras { fleet, ..BundleExtras::default() };
        let manifest = manifest_json(&BundleInput { series: &series, extras: &extras, ..fixture.input() });
        let found = errors(&validator(), &manifest);
        prop_assert!(found.is_empty(), "{:#?}", found);
    }
}
