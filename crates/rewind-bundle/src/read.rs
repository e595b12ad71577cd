//! Reading and validating bundles that arrive from the network.
//!
//! Order of checks, cheapest first, nothing decompressed before the sizes
//! declared in the zip's central directory pass the limits:
//! 1. bundle size; 2. the zip opens; 3. entry count, duplicates, member
//!    paths, declared sizes; 4. `manifest.json` (version, fields,
//!    consistency); 5. every member listed, every listed file present;
//! 6. sizes and SHA-256 of every file, decompressed under hard caps;
//! 7. `trigger.json` and its agreement with the manifest; 8. the CSVs.

use std::{
    collections::{HashMap, HashSet},
    io::{Cursor, Read, Seek},
};

use rewind_model::{SeriesData, Trigger};
use sha2::{Digest, Sha256};
use zip::ZipArchive;

use crate::{
    Error, Limits, MANIFEST_PATH, Result, TRIGGER_PATH,
    csv::parse_csv,
    error::clip,
    manifest::{FileEntry, Manifest},
    paths::check_member_path,
};

/// A bundle that passed every check of [`read_bundle`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The manifest.
    pub manifest: Manifest,
    /// The full trigger from `trigger.json`.
    pub trigger: Trigger,
    /// Every series, in manifest order, in chart-ready columnar form.
    pub series: Vec<SeriesData>,
}

/// Validates a bundle completely and returns its contents.
///
/// Nothing is returned unless everything checks out; see
/// `docs/bundle-format.md` for the rules. Safe on hostile input: memory use is
/// bounded by `limits`, whatever the zip or the manifest declare.
///
/// # Errors
/// The [`Error`] variant naming the first problem found.
pub fn read_bundle(bytes: &[u8], limits: &Limits) -> Result<Bundle> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > limits.max_bundle_bytes {
        return Err(Error::TooLarge {
            size,
            limit: limits.max_bundle_bytes,
        });
    }
    let mut archive = ZipArchive::new(Cursor::new(bytes))?;
    let members = scan_members(&archive, limits)?;
    let mut budget = Budget::new(limits);
    let manifest_index = *members.get(MANIFEST_PATH).ok_or(Error::ManifestMissing)?;
    let manifest_bytes = read_member(&mut archive, manifest_index, MANIFEST_PATH, &mut budget)?;
    let manifest = Manifest::from_json(&manifest_bytes)?;
    check_listing(&archive, &manifest, &members)?;
    let mut contents = verify_files(&mut archive, &manifest, &members, &mut budget)?;
    let trigger = parse_trigger(contents.remove(TRIGGER_PATH).unwrap_or_default(), &manifest)?;
    let series = parse_series(&manifest, &mut contents)?;
    Ok(Bundle {
        manifest,
        trigger,
        series,
    })
}

/// Checks every entry's name and declared size; returns name → index.
fn scan_members<R: Read + Seek>(
    archive: &ZipArchive<R>,
    limits: &Limits,
) -> Result<HashMap<String, usize>> {
    if archive.len() > limits.max_entries {
        return Err(Error::TooManyEntries {
            count: archive.len(),
            limit: limits.max_entries,
        });
    }
    if archive.has_duplicate_names() {
        return Err(Error::DuplicateMember);
    }
    let mut members = HashMap::with_capacity(archive.len());
    let mut declared_total = 0_u64;
    for index in 0..archive.len() {
        let entry = archive.by_index_data(index)?;
        let path = check_member_path(entry.name_raw())?.to_owned();
        if entry.is_symlink() || entry.is_dir() {
            return Err(Error::UnsafePath {
                path,
                reason: "it is not a regular file",
            });
        }
        if entry.size() > limits.max_member_bytes {
            return Err(Error::MemberTooLarge {
                path,
                limit: limits.max_member_bytes,
            });
        }
        declared_total = declared_total.saturating_add(entry.size());
        if declared_total > limits.max_uncompressed_bytes {
            return Err(Error::UncompressedTooLarge {
                limit: limits.max_uncompressed_bytes,
            });
        }
        members.insert(path, index);
    }
    Ok(members)
}

/// Every zip member is listed in `files`; every listed or referenced file exists.
fn check_listing<R: Read + Seek>(
    archive: &ZipArchive<R>,
    manifest: &Manifest,
    members: &HashMap<String, usize>,
) -> Result<()> {
    let listed: HashSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    // Zip order, so the first unlisted member reported is deterministic.
    for name in archive.file_names_raw() {
        let name = String::from_utf8_lossy(name);
        if name != MANIFEST_PATH && !listed.contains(name.as_ref()) {
            return Err(Error::UnlistedMember {
                path: name.into_owned(),
            });
        }
    }
    let needed = manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .chain([TRIGGER_PATH])
        .chain(manifest.series.iter().map(|s| s.path.as_str()));
    for path in needed {
        if !members.contains_key(path) {
            return Err(Error::MissingMember {
                path: path.to_owned(),
            });
        }
    }
    Ok(())
}

/// Reads every listed file, checks size and hash, and keeps the bytes of
/// `trigger.json` and the series CSVs.
fn verify_files<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    manifest: &Manifest,
    members: &HashMap<String, usize>,
    budget: &mut Budget,
) -> Result<HashMap<String, Vec<u8>>> {
    let keep: HashSet<&str> = manifest
        .series
        .iter()
        .map(|s| s.path.as_str())
        .chain([TRIGGER_PATH])
        .collect();
    let mut contents = HashMap::new();
    for file in &manifest.files {
        let index = members
            .get(&file.path)
            .copied()
            .ok_or_else(|| Error::MissingMember {
                path: file.path.clone(),
            })?;
        let bytes = read_member(archive, index, &file.path, budget)?;
        check_size_and_hash(file, &bytes)?;
        if keep.contains(file.path.as_str()) {
            contents.insert(file.path.clone(), bytes);
        }
    }
    Ok(contents)
}

/// The bytes found for `file` have the size and SHA-256 the manifest declares.
fn check_size_and_hash(file: &FileEntry, bytes: &[u8]) -> Result<()> {
    let path = || file.path.clone();
    let actual = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if actual != file.size {
        return Err(Error::SizeMismatch {
            path: path(),
            declared: file.size,
            actual,
        });
    }
    let actual = hex::encode(Sha256::digest(bytes));
    if actual != file.sha256 {
        return Err(Error::HashMismatch {
            path: path(),
            expected: file.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

fn parse_trigger(bytes: Vec<u8>, manifest: &Manifest) -> Result<Trigger> {
    let trigger: Trigger = serde_json::from_slice(&bytes).map_err(|e| Error::TriggerInvalid {
        reason: clip(e.to_string()),
    })?;
    manifest.trigger.check_matches(&trigger)?;
    Ok(trigger)
}

fn parse_series(
    manifest: &Manifest,
    contents: &mut HashMap<String, Vec<u8>>,
) -> Result<Vec<SeriesData>> {
    let mut out = Vec::with_capacity(manifest.series.len());
    for entry in &manifest.series {
        let bytes = contents.remove(&entry.path).unwrap_or_default();
        let samples = parse_csv(&entry.path, &bytes)?;
        let actual = u64::try_from(samples.len()).unwrap_or(u64::MAX);
        if actual != entry.samples {
            let path = entry.path.clone();
            return Err(Error::SampleCountMismatch {
                path,
                declared: entry.samples,
                actual,
            });
        }
        out.push(SeriesData {
            name: entry.name.to_string(),
            unit: entry.unit.clone(),
            t: samples.iter().map(|s| s.ts.as_unix_secs_f64()).collect(),
            v: samples.iter().map(|s| s.value).collect(),
        });
    }
    Ok(out)
}

/// What is left of the decompression allowance.
#[derive(Debug)]
struct Budget {
    member_limit: u64,
    total_limit: u64,
    remaining: u64,
}

impl Budget {
    fn new(limits: &Limits) -> Self {
        Self {
            member_limit: limits.max_member_bytes,
            total_limit: limits.max_uncompressed_bytes,
            remaining: limits.max_uncompressed_bytes,
        }
    }
}

/// Decompresses one member, never holding more than the member limit or the
/// remaining total allowance (plus one byte to notice the overflow).
fn read_member<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
    path: &str,
    budget: &mut Budget,
) -> Result<Vec<u8>> {
    let file = archive.by_index(index)?;
    read_capped(file, path, budget)
}

fn read_capped(reader: impl Read, path: &str, budget: &mut Budget) -> Result<Vec<u8>> {
    let cap = budget.member_limit.min(budget.remaining);
    let mut bytes = Vec::new();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Corrupt {
            path: path.to_owned(),
            source,
        })?;
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if len > cap {
        return Err(if cap == budget.member_limit {
            Error::MemberTooLarge {
                path: path.to_owned(),
                limit: budget.member_limit,
            }
        } else {
            Error::UncompressedTooLarge {
                limit: budget.total_limit,
            }
        });
    }
    budget.remaining -= len;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(member: u64, total: u64) -> Budget {
        Budget::new(&Limits {
            max_member_bytes: member,
            max_uncompressed_bytes: total,
            ..Limits::default()
        })
    }

    #[test]
    fn an_endless_member_stops_at_the_member_limit() {
        let mut b = budget(1024, 1 << 20);
        let err = read_capped(std::io::repeat(0), "bomb", &mut b).unwrap_err();
        assert!(
            matches!(err, Error::MemberTooLarge { limit: 1024, .. }),
            "{err}"
        );
    }

    #[test]
    fn the_total_allowance_is_shared_between_members() {
        let mut b = budget(100, 150);
        assert_eq!(
            read_capped(&[1_u8; 100][..], "a", &mut b).unwrap().len(),
            100
        );
        let err = read_capped(&[1_u8; 60][..], "b", &mut b).unwrap_err();
        assert!(
            matches!(err, Error::UncompressedTooLarge { limit: 150 }),
            "{err}"
        );
        assert_eq!(read_capped(&[1_u8; 50][..], "c", &mut b).unwrap().len(), 50);
    }
}
