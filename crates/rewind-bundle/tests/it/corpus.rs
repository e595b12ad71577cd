//! `tests/it/corpus/`: hostile and damaged archives kept as regression tests.
//!
//! Each file is named `<expected error code>--<what it is>.zip` (or
//! `any--<what>.zip` when only "no panic, a typed error" is promised, e.g. an
//! input a fuzzer found; `ok--<what>.zip` for bundles that must be accepted).
//! Every file is read on every test run. The seed files are written by
//! `write_seed_corpus` (ignored; run it with
//! `REWIND_WRITE_CORPUS=1 cargo test -p rewind-bundle --test it corpus -- --ignored`
//! after changing the format). When a fuzzer finds a crash, save its input
//! here as `any--issue-NNNN-<what>.zip` and fix the reader.

use std::{io::Cursor, path::PathBuf};

use rewind_bundle::{Limits, read_bundle};
use zip::{CompressionMethod, write::SimpleFileOptions};

use crate::{
    common::{attach, edit_manifest, member, relist, tampered, valid_bundle, with_entry},
    reject::replace_all,
};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus")
}

#[test]
fn every_corpus_archive_is_refused_as_named() {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "the seed corpus is missing: {}",
        files.len()
    );
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let (want, _) = name
            .split_once("--")
            .unwrap_or_else(|| panic!("{name}: no `--`"));
        let bytes = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| read_bundle(&bytes, &Limits::default()));
        let Ok(result) = result else {
            panic!("{name}: the reader panicked");
        };
        match (want, result) {
            ("ok", Ok(_)) => {}
            ("ok", Err(e)) => panic!("{name}: {e}"),
            (_, Ok(_)) => panic!("{name}: accepted"),
            ("any", Err(e)) => assert!(e.code().starts_with("bundle_"), "{name}"),
            (code, Err(e)) => assert_eq!(e.code(), code, "{name}: {e}"),
        }
    }
}

/// The hostile archives of issue 5, built from the valid fixture.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let plain = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let twin = tampered(|m| m.push(("trigger.jsoX".into(), b"x".to_vec())));
    let bomb = |m: &mut _| attach(m, "diagnostics/bomb.bin", "diagnostics", vec![0; 16 << 20]);
    let flipped = tampered(|m| {
        let mcap = member(m, "recording.mcap");
        let mid = mcap.len() / 2;
        mcap[mid] ^= 0x40;
        relist(m);
    });
    vec![
        ("ok--valid-fixture", valid_bundle()),
        (
            "bundle_unsafe_path--dotdot",
            tampered(|m| m.push(("../../etc/cron.d/evil".into(), b"x".to_vec()))),
        ),
        (
            "bundle_unsafe_path--absolute",
            tampered(|m| m.push(("/etc/passwd".into(), b"x".to_vec()))),
        ),
        (
            "bundle_unsafe_path--windows-drive",
            tampered(|m| m.push(("C:/evil".into(), b"x".to_vec()))),
        ),
        (
            "bundle_unsafe_path--backslash",
            tampered(|m| m.push(("system\\..\\evil".into(), b"x".to_vec()))),
        ),
        ("bundle_unsafe_path--symlink", {
            let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
            w.add_symlink("system/passwd", "/etc/passwd", plain)
                .unwrap();
            w.finish().unwrap().into_inner()
        }),
        (
            "bundle_unsafe_path--fifo",
            with_entry(
                "system/fifo",
                b"",
                plain.external_attributes(0o010_644 << 16),
            ),
        ),
        (
            "bundle_unsafe_path--setuid",
            with_entry(
                "system/tool",
                b"#!",
                plain.external_attributes(0o104_755 << 16),
            ),
        ),
        (
            "bundle_unsafe_path--attachment-outside-its-dirs",
            tampered(|m| attach(m, "etc/passwd", "system", b"x".to_vec())),
        ),
        (
            "bundle_duplicate_member--same-name",
            replace_all(&twin, b"trigger.jsoX", b"trigger.json"),
        ),
        (
            "bundle_duplicate_member--same-name-but-case",
            tampered(|m| m.push(("TRIGGER.JSON".into(), b"x".to_vec()))),
        ),
        ("bundle_compression_ratio--zip-bomb", tampered(bomb)),
        (
            "bundle_unlisted_member--extra-file",
            tampered(|m| m.push(("notes.txt".into(), b"hi".to_vec()))),
        ),
        (
            "bundle_unexpected_member--listed-extra-file",
            tampered(|m| {
                m.push(("notes.txt".into(), b"hi".to_vec()));
                relist(m);
            }),
        ),
        (
            "bundle_missing_member--no-recording",
            tampered(|m| {
                m.retain(|(n, _)| n != "recording.mcap");
                relist(m);
            }),
        ),
        (
            "bundle_hash_mismatch--flipped-byte",
            tampered(|m| member(m, "events.jsonl")[10] ^= 1),
        ),
        (
            "bundle_size_mismatch--grown-log",
            tampered(|m| member(m, "logs/kmsg.log").push(b'\n')),
        ),
        (
            "bundle_unsupported_version--v2",
            tampered(|m| edit_manifest(m, |v| v["format_version"] = 2.into())),
        ),
        (
            "bundle_manifest_invalid--not-json",
            tampered(|m| *member(m, "manifest.json") = b"{".to_vec()),
        ),
        (
            "bundle_count_mismatch--events",
            tampered(|m| edit_manifest(m, |v| v["events"] = 99.into())),
        ),
        ("bundle_recording_invalid--flipped-mcap", flipped),
        ("bundle_manifest_missing--empty-zip", {
            let w = zip::ZipWriter::new(Cursor::new(Vec::new()));
            w.finish().unwrap().into_inner()
        }),
        (
            "bundle_zip_invalid--not-a-zip",
            b"PK\x03\x04 this is not a zip".to_vec(),
        ),
    ]
}

#[test]
#[ignore = "writes tests/it/corpus; run with REWIND_WRITE_CORPUS=1 after a format change"]
fn write_seed_corpus() {
    if std::env::var_os("REWIND_WRITE_CORPUS").is_none() {
        return;
    }
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds() {
        assert!(bytes.len() < 128 << 10, "{name} is {} bytes", bytes.len());
        std::fs::write(dir.join(format!("{name}.zip")), bytes).unwrap();
    }
}
