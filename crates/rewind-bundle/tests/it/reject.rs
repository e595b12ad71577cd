//! Every way a hostile or damaged zip is refused, with the exact variant.
//! Member contents that do not parse are in `reject_content.rs`.

use std::io::{Cursor, Write};

use rewind_bundle::{Error, Limits, read_bundle};
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use crate::common::{
    CPU_CSV, Members, attach, edit_manifest, member, relist, small_limits, tampered, unzip,
    valid_bundle, with_entry, zip,
};

pub fn read(bytes: &[u8]) -> Error {
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
    let count = unzip(&valid_bundle()).len();
    let err = read_bundle(&valid_bundle(), &limits).unwrap_err();
    assert!(
        matches!(err, Error::TooManyEntries { count: c, limit: 3 } if c == count),
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
    for version in [0, 2, 99] {
        let err = read(&tampered(|m| {
            edit_manifest(m, |v| v["format_version"] = version.into())
        }));
        assert!(
            matches!(err, Error::UnsupportedVersion { found, supported: 1 } if found == version),
            "{err}"
        );
        assert_eq!(err.code(), "bundle_unsupported_version");
    }
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
fn a_flipped_byte_in_any_member_is_caught() {
    for (name, data) in unzip(&valid_bundle()) {
        if name == "manifest.json" || data.is_empty() {
            continue;
        }
        let err = read(&tampered(|m| {
            let bytes = member(m, &name);
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x01;
        }));
        assert!(
            matches!(err, Error::HashMismatch { ref path, .. } if *path == name),
            "{name}: {err}"
        );
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
fn listed_member_outside_the_layout() {
    for path in [
        "notes.txt",
        "system.txt",
        "metrics/extra.csv",
        "logs/extra.log",
    ] {
        let err = read(&tampered(|m| {
            m.push((path.into(), b"hi".to_vec()));
            relist(m);
        }));
        assert!(
            matches!(err, Error::UnexpectedMember { path: ref p } if p == path),
            "{path}: {err}"
        );
        assert_eq!(err.code(), "bundle_unexpected_member");
    }
    let err = read(&tampered(|m| {
        edit_manifest(m, |v| v["recording"] = serde_json::Value::Null);
    }));
    assert!(
        matches!(err, Error::UnexpectedMember { ref path } if path == "recording.mcap"),
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
    for gone in [
        "trigger.json",
        "events.jsonl",
        "recording.mcap",
        "logs/kmsg.log",
        "system/os-release",
    ] {
        let err = read(&tampered(|m| {
            m.retain(|(n, _)| n != gone);
            relist(m);
        }));
        assert!(
            matches!(err, Error::MissingMember { ref path } if path == gone),
            "{gone}: {err}"
        );
    }
}

#[test]
fn unsafe_paths_are_refused_before_anything_is_read() {
    for name in [
        "../evil",
        "/etc/passwd",
        "metrics/../../evil",
        "system/../../evil",
        "a\\b",
        "a\0b",
        "C:/evil",
        "system/./x",
    ] {
        let err = read(&tampered(|m| m.push((name.into(), b"x".to_vec()))));
        assert!(matches!(err, Error::UnsafePath { .. }), "{name:?}: {err}");
        assert_eq!(err.code(), "bundle_unsafe_path");
    }
}

#[test]
fn attachment_paths_outside_their_directories_are_refused() {
    let err = read(&tampered(|m| {
        attach(m, "etc/passwd", "system", b"x".to_vec())
    }));
    assert!(
        matches!(err, Error::UnsafePath { ref path, reason } if path == "etc/passwd" && reason.contains("attachments go under")),
        "{err}"
    );
    let err = read(&tampered(|m| {
        attach(m, "processes/x", "process", b"x".to_vec())
    }));
    assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
    let err = read(&tampered(|m| {
        attach(m, "system/x", "process", b"x".to_vec())
    }));
    assert!(
        matches!(err, Error::ManifestInvalid { ref reason } if reason.contains("kind")),
        "{err}"
    );
    let err = read(&tampered(|m| {
        attach(m, "system/x", "firmware", b"x".to_vec())
    }));
    assert!(matches!(err, Error::ManifestInvalid { .. }), "{err}");
}

#[test]
fn symlinks_and_special_files_are_refused() {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (n, d) in unzip(&valid_bundle()) {
        w.start_file(n.as_str(), SimpleFileOptions::default())
            .unwrap();
        w.write_all(&d).unwrap();
    }
    w.add_symlink("system/passwd", "/etc/passwd", SimpleFileOptions::default())
        .unwrap();
    let err = read(&w.finish().unwrap().into_inner());
    assert!(
        matches!(err, Error::UnsafePath { ref path, reason } if path == "system/passwd" && reason.contains("regular")),
        "{err}"
    );
    for (mode, why) in [
        (0o010_644, "not a regular file"), // a FIFO
        (0o020_644, "not a regular file"), // a character device
        (0o104_755, "setuid"),
        (0o102_755, "setgid"),
    ] {
        let options = SimpleFileOptions::default().external_attributes(mode << 16);
        let err = read(&with_entry("system/special", b"x", options));
        assert!(
            matches!(err, Error::UnsafePath { reason, .. } if reason.contains(why)),
            "{mode:o}: {err}"
        );
    }
}

#[test]
fn duplicate_names_are_refused() {
    // The zip writer refuses duplicates: write a twin name of equal length and patch it.
    let twin = tampered(|m| m.push(("trigger.jsoX".into(), b"x".to_vec())));
    let err = read(&replace_all(&twin, b"trigger.jsoX", b"trigger.json"));
    assert!(
        matches!(err, Error::DuplicateMember { ref path } if path == "trigger.json"),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_duplicate_member");
}

#[test]
fn names_that_differ_only_in_case_are_duplicates() {
    let err = read(&tampered(|m| {
        m.push(("TRIGGER.json".into(), b"x".to_vec()))
    }));
    assert!(
        matches!(err, Error::DuplicateMember { ref path } if path == "TRIGGER.json"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_also_a_directory_is_refused() {
    let err = read(&tampered(|m| {
        m.push(("system/os-release/x".into(), b"x".to_vec()))
    }));
    assert!(
        matches!(err, Error::UnsafePath { reason, .. } if reason.contains("both a file and the directory")),
        "{err}"
    );
}

pub fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
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

/// An attachment of `size` zero bytes, deflated to a few KiB, whose `files`
/// entry declares `declared` bytes.
fn bomb_bundle(size: usize, declared: usize) -> Vec<u8> {
    tampered(|m: &mut Members| {
        attach(m, "diagnostics/bomb.bin", "diagnostics", vec![0; size]);
        edit_manifest(m, |v| {
            let files = v["files"].as_array_mut().unwrap();
            let bomb = files
                .iter_mut()
                .find(|f| f["path"] == "diagnostics/bomb.bin");
            bomb.unwrap()["size"] = declared.into();
        });
    })
}

#[test]
fn zip_bomb_is_stopped_at_the_member_limit() {
    let bytes = bomb_bundle(8 << 20, 10);
    assert!(bytes.len() < 64 << 10, "{} bytes", bytes.len());
    let err = read(&bytes);
    assert!(
        matches!(err, Error::MemberTooLarge { ref path, limit } if path == "diagnostics/bomb.bin" && limit == 1 << 20),
        "{err}"
    );
}

#[test]
fn zip_bomb_is_stopped_by_the_compression_ratio() {
    let bytes = bomb_bundle(2 << 20, 2 << 20);
    let err = read_bundle(&bytes, &Limits::default()).unwrap_err();
    match err {
        Error::CompressionRatio {
            ref path,
            size,
            compressed,
            limit: 200,
        } => {
            assert_eq!((path.as_str(), size), ("diagnostics/bomb.bin", 2 << 20));
            assert!(compressed < 64 << 10, "{compressed}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(err.code(), "bundle_compression_ratio");
    // Raising the ratio lets the honest (if silly) member through.
    let lenient = Limits {
        max_compression_ratio: 100_000,
        ..Limits::default()
    };
    let bundle = read_bundle(&bomb_bundle(2 << 20, 2 << 20), &lenient).unwrap();
    assert!(bundle.attachments.iter().any(|a| a.bytes.len() == 2 << 20));
}

#[test]
fn zip_bomb_with_a_lying_zip_header_is_stopped_while_decompressing() {
    let size = 8 << 20;
    let bytes = bomb_bundle(size, 10);
    // Patch the uncompressed size (0x800000) in the local and central headers to 10.
    let patched = replace_all(&bytes, &(size as u32).to_le_bytes(), &10_u32.to_le_bytes());
    assert_ne!(patched, bytes);
    // The zip reader stops at the declared size and reports the excess; the
    // reader's own caps (unit-tested in `read/archive.rs`) are the backstop.
    let err = read(&patched);
    assert!(
        matches!(err, Error::Corrupt { ref path, .. } if path == "diagnostics/bomb.bin"),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_member_corrupt");
}

#[test]
fn many_small_members_hit_the_total_limit() {
    let bytes = tampered(|m| {
        for i in 0..5 {
            attach(
                m,
                &format!("diagnostics/part{i}.bin"),
                "diagnostics",
                vec![7; 1 << 20],
            );
        }
    });
    let err = read(&bytes);
    assert!(
        matches!(err, Error::UncompressedTooLarge { limit } if limit == 4 << 20),
        "{err}"
    );
}

#[test]
fn attachments_over_their_limit_are_refused_before_decompressing() {
    let limits = Limits {
        max_attachment_bytes: 10,
        ..Limits::default()
    };
    let err = read_bundle(&valid_bundle(), &limits).unwrap_err();
    assert!(
        matches!(err, Error::AttachmentsTooLarge { size, limit: 10 } if size > 10),
        "{err}"
    );
    assert_eq!(err.code(), "bundle_attachments_too_large");
}

#[test]
fn directories_and_stored_members_are_handled() {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.add_directory("metrics/", SimpleFileOptions::default())
        .unwrap();
    let err = read(&w.finish().unwrap().into_inner());
    assert!(matches!(err, Error::UnsafePath { .. }), "{err}");

    let mut members = unzip(&valid_bundle());
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, data) in &mut members {
        w.start_file(name.as_str(), stored).unwrap();
        w.write_all(data).unwrap();
    }
    read_bundle(&w.finish().unwrap().into_inner(), &small_limits()).unwrap();
    read_bundle(&zip(&members), &small_limits()).unwrap();
}
