//! Every way a hostile or damaged bundle is refused, with the exact variant.

use std::io::{Cursor, Write};

use rewind_bundle::{Error, Limits, read_bundle};
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use crate::common::{
    CPU_CSV, Members, edit_manifest, member, relist, small_limits, tampered, valid_bundle, zip,
};

fn read(bytes: &[u8]) -> Error {
    read_bundle(bytes, &small_limits()).unwrap_err()
}

#[test]
fn the_valid_fixture_passes() {
    read_bundle(&valid_bundle(), &small_limits()).unwrap();
}

#[test]
fn too_large_bundles_are_refused_before_unzipping() {
    let limits = Limits {
        max_bundle_bytes: 100,
        ..Limits::default()
    };
    let err = read_bundle(&valid_bundle(), &limits).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit: 100, size } if size > 100),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_too_large");
}

#[test]
fn garbage_is_not_a_zip() {
    let err = read(b"definitely not a zip file");
    assert!(matches!(err, Error::Zip(_)), "{err}");
    assert_eq!(err.code(), "bundle_zip_invalid");
}

#[test]
fn too_many_entries() {
    let limits = Limits {
        max_entries: 3,
        ..small_limits()
    };
    let err = read_bundle(&valid_bundle(), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyEntries {
                count: 10,
                limit: 3
            }
        ),
        "{err}"
    );
}

#[test]
fn missing_manifest() {
    let err = read(&tampered(|m| m.retain(|(n, _)| n != "manifest.json")));
    assert!(matches!(err, Error::ManifestMissing), "{err}");
    assert_eq!(err.code(), "bundle_manifest_missing");
}

#[test]
fn manifest_that_is_not_json() {
    let err = read(&tampered(|m| {
        *member(m, "manifest.json") = b"{\"format_version\": 1,".to_vec()
    }));
    assert!(matches!(err, Error::ManifestInvalid { .. }), "{err}");
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["device_id"] = "a/b".into())
    }));
    assert!(err.to_string().contains("invalid device id"), "{err}");
}

#[test]
fn unsupported_version() {
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["format_version"] = 2.into())
    }));
    assert!(
        matches!(
            err,
            Error::UnsupportedVersion {
                found: 2,
                supported: 1
            }
        ),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_unsupported_version");
}

#[test]
fn tampered_member_is_a_hash_mismatch() {
    let err = read(&tampered(|m| {
        let csv = member(m, CPU_CSV);
        let pos = csv.iter().rposition(|&b| b == b'5').unwrap();
        csv[pos] = b'6'; // 97.25 becomes 97.26: same size, other bytes
    }));
    match err {
        Error::HashMismatch {
            path,
            expected,
            actual,
        } => {
            assert_eq!(path, CPU_CSV);
            assert_ne!(expected, actual);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn grown_member_is_a_size_mismatch() {
    let err = read(&tampered(|m| member(m, CPU_CSV).push(b'\n')));
    assert!(
        matches!(err, Error::SizeMismatch { ref path, .. } if path == CPU_CSV),
        "{err}"
    );
}

#[test]
fn unlisted_member() {
    let err = read(&tampered(|m| m.push(("notes.txt".into(), b"hi".to_vec()))));
    assert!(
        matches!(err, Error::UnlistedMember { ref path } if path == "notes.txt"),
        "{err}"
    );
}

#[test]
fn missing_member() {
    let err = read(&tampered(|m| m.retain(|(n, _)| n != CPU_CSV)));
    assert!(
        matches!(err, Error::MissingMember { ref path } if path == CPU_CSV),
        "{err}"
    );
    let err = read(&tampered(|m| {
        m.retain(|(n, _)| n != "trigger.json");
        relist(m);
    }));
    assert!(
        matches!(err, Error::MissingMember { ref path } if path == "trigger.json"),
        "{err}"
    );
}

#[test]
fn unsafe_paths_are_refused_before_anything_is_read() {
    for name in [
        "../evil",
        "/etc/passwd",
        "metrics/../../evil",
        "a\\b",
        "a\0b",
        "C:/evil",
    ] {
        let err = read(&tampered(|m| m.push((name.into(), b"x".to_vec()))));
        assert!(matches!(err, Error::UnsafePath { .. }), "{name:?}: {err}");
        assert_eq!(err.code(), "bundle_unsafe_path");
    }
}

#[test]
fn duplicate_names_are_refused() {
    // The zip writer refuses duplicates: write a twin name of equal length and patch it.
    let twin = tampered(|m| m.push(("trigger.jsoX".into(), b"x".to_vec())));
    let err = read(&replace_all(&twin, b"trigger.jsoX", b"trigger.json"));
    assert!(matches!(err, Error::DuplicateMember), "{err}");
    assert_eq!(err.code(), "bundle_duplicate_member");
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = haystack.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn bad_csv_row_names_the_line() {
    let err = read(&tampered(|m| {
        let csv = member(m, CPU_CSV);
        let text = String::from_utf8(csv.clone())
            .unwrap()
            .replace(",99.5\n", ",ninety\n");
        *csv = text.into_bytes();
        relist(m);
    }));
    match err {
        Error::Csv { path, line, reason } => {
            assert_eq!((path.as_str(), line), (CPU_CSV, 3));
            assert!(reason.contains("`ninety`"), "{reason}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn sample_count_must_match() {
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["series"][0]["samples"] = 4.into())
    }));
    assert!(
        matches!(
            err,
            Error::SampleCountMismatch {
                declared: 4,
                actual: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn trigger_must_parse_and_agree_with_the_manifest() {
    let err = read(&tampered(|m| {
        let trigger = member(m, "trigger.json");
        let mut v: serde_json::Value = serde_json::from_slice(trigger).unwrap();
        v["rule"] = "something-else".into();
        *trigger = serde_json::to_vec(&v).unwrap();
        relist(m);
    }));
    assert!(
        matches!(err, Error::TriggerMismatch { field: "rule", .. }),
        "{err}"
    );
    let err = read(&tampered(|m| {
        *member(m, "trigger.json") = b"[]".to_vec();
        relist(m);
    }));
    assert!(matches!(err, Error::TriggerInvalid { .. }), "{err}");
}

/// A member of `size` zero bytes, deflated to a few KiB.
fn bomb_bundle(size: usize, declared: usize) -> Vec<u8> {
    tampered(|m: &mut Members| {
        m.push(("bomb.bin".into(), vec![0; size]));
        relist(m);
        edit_manifest(m, |v| {
            let files = v["files"].as_array_mut().unwrap();
            files.last_mut().unwrap()["size"] = declared.into();
        });
    })
}

#[test]
fn zip_bomb_is_stopped_at_the_member_limit() {
    let bytes = bomb_bundle(8 << 20, 10);
    assert!(bytes.len() < 64 << 10, "{} bytes", bytes.len());
    let err = read(&bytes);
    assert!(
        matches!(err, Error::MemberTooLarge { ref path, limit } if path == "bomb.bin" && limit == 1 << 20),
        "{err}"
    );
}

#[test]
fn zip_bomb_with_a_lying_zip_header_is_stopped_while_decompressing() {
    let size = 8 << 20;
    let bytes = bomb_bundle(size, 10);
    // Patch the uncompressed size (0x800000) in the local and central headers to 10.
    let patched = replace_all(&bytes, &(size as u32).to_le_bytes(), &10_u32.to_le_bytes());
    assert_ne!(patched, bytes);
    // The zip reader stops at the declared size and reports the excess; the
    // reader's own cap (unit-tested in `read.rs`) is the backstop behind it.
    let err = read(&patched);
    assert!(
        matches!(err, Error::Corrupt { ref path, .. } if path == "bomb.bin"),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_member_corrupt");
}

#[test]
fn many_small_members_hit_the_total_limit() {
    let bytes = tampered(|m| {
        for i in 0..5 {
            m.push((format!("part{i}.bin"), vec![0; 1 << 20]));
        }
        relist(m);
    });
    let err = read(&bytes);
    assert!(
        matches!(err, Error::UncompressedTooLarge { limit } if limit == 4 << 20),
        "{err}"
    );
}

#[test]
fn directories_and_stored_members_are_handled() {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.add_directory("metrics/", SimpleFileOptions::default())
        .unwrap();
    let err = read(&w.finish().unwrap().into_inner());
    assert!(matches!(err, Error::UnsafePath { .. }), "{err}");

    let mut members = crate::common::unzip(&valid_bundle());
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, data) in &mut members {
        w.start_file(name.as_str(), stored).unwrap();
        w.write_all(data).unwrap();
    }
    read_bundle(&w.finish().unwrap().into_inner(), &small_limits()).unwrap();
    read_bundle(&zip(&members), &small_limits()).unwrap();
}
