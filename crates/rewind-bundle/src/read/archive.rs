//! The zip layer of reading: entry checks before anything is decompressed,
//! and decompression under hard caps.

use std::{
    collections::{HashMap, HashSet},
    io::{Read, Seek},
};

use zip::ZipArchive;

use crate::{Error, Limits, Result, error::clip, paths::check_member_path};

/// Unix file-type bits, and the regular-file type.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

/// Checks every entry before anything is decompressed: count, duplicates
/// (also ignoring case), paths, file types, declared sizes and compression
/// ratios. Returns name → (index, compressed size).
pub(super) fn scan_members<R: Read + Seek>(
    archive: &ZipArchive<R>,
    bytes: &[u8],
    limits: &Limits,
) -> Result<HashMap<String, (usize, u64)>> {
    if archive.len() > limits.max_entries {
        return Err(Error::TooManyEntries {
            count: archive.len(),
            limit: limits.max_entries,
        });
    }
    if archive.has_duplicate_names() {
        let start = archive.central_directory_start();
        let path = [start, start.saturating_add(archive.offset())]
            .into_iter()
            .filter_map(|at| usize::try_from(at).ok())
            .find_map(|at| exact_duplicate(bytes, at, limits.max_entries))
            .unwrap_or_else(|| "?".into());
        return Err(Error::DuplicateMember { path });
    }
    let mut members = HashMap::with_capacity(archive.len());
    let mut lowercase = HashSet::with_capacity(archive.len());
    let mut dirs = HashSet::new();
    let mut declared_total = 0_u64;
    for index in 0..archive.len() {
        let entry = archive.by_index_data(index)?;
        let path = check_member_path(entry.name_raw())?.to_owned();
        let not_regular = |reason| Error::UnsafePath {
            path: path.clone(),
            reason,
        };
        if entry.is_symlink() || entry.is_dir() {
            return Err(not_regular("it is not a regular file"));
        }
        // The raw mode: `unix_mode()` clears the setuid, setgid and sticky bits.
        if entry.system() == zip::System::Unix {
            let mode = entry.external_attributes() >> 16;
            if mode & S_IFMT != 0 && mode & S_IFMT != S_IFREG {
                return Err(not_regular("its unix mode is not a regular file"));
            }
            if mode & 0o7000 != 0 {
                return Err(not_regular(
                    "its unix mode has setuid, setgid or sticky bits",
                ));
            }
        }
        if entry.name().ok().as_deref() != Some(path.as_str()) {
            return Err(not_regular(
                "its unicode path field names another path than its raw name",
            ));
        }
        let (size, compressed) = (entry.size(), entry.compressed_size());
        if size > limits.max_member_bytes {
            return Err(Error::MemberTooLarge {
                path,
                limit: limits.max_member_bytes,
            });
        }
        if size > limits.ratio_cap(compressed) {
            return Err(Error::CompressionRatio {
                path,
                size,
                compressed,
                limit: limits.max_compression_ratio,
            });
        }
        declared_total = declared_total.saturating_add(size);
        if declared_total > limits.max_uncompressed_bytes {
            return Err(Error::UncompressedTooLarge {
                limit: limits.max_uncompressed_bytes,
            });
        }
        let lower = path.to_ascii_lowercase();
        for (i, _) in lower.match_indices('/') {
            dirs.insert(lower[..i].to_owned());
        }
        if !lowercase.insert(lower) {
            return Err(Error::DuplicateMember { path });
        }
        members.insert(path, (index, compressed));
    }
    if let Some(path) = members
        .keys()
        .find(|p| dirs.contains(&p.to_ascii_lowercase()))
    {
        return Err(Error::UnsafePath {
            path: path.clone(),
            reason: "it is both a file and the directory of another member",
        });
    }
    Ok(members)
}

/// The first name that appears twice in the central directory starting at
/// `start`, found by walking at most `max_entries + 1` headers (the zip crate
/// keeps only one entry per name, so it cannot say which).
fn exact_duplicate(bytes: &[u8], start: usize, max_entries: usize) -> Option<String> {
    const SIGNATURE: &[u8] = b"PK\x01\x02";
    let slice = |at: usize, len: usize| bytes.get(at..at.checked_add(len)?);
    let u16_at = |at: usize| -> Option<usize> {
        let b = slice(at, 2)?;
        Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let mut seen = HashSet::new();
    let mut at = start;
    for _ in 0..=max_entries {
        if slice(at, 4)? != SIGNATURE {
            return None;
        }
        let name_len = u16_at(at.checked_add(28)?)?;
        let extra_len = u16_at(at.checked_add(30)?)?;
        let comment_len = u16_at(at.checked_add(32)?)?;
        let name = slice(at.checked_add(46)?, name_len)?;
        if !seen.insert(name) {
            return Some(clip(String::from_utf8_lossy(name).into_owned()));
        }
        at = at.checked_add(46 + name_len + extra_len + comment_len)?;
    }
    None
}

/// What is left of the decompression allowance.
#[derive(Debug)]
pub(super) struct Budget {
    member_limit: u64,
    total_limit: u64,
    remaining: u64,
    limits: Limits,
}

impl Budget {
    pub(super) fn new(limits: &Limits) -> Self {
        Self {
            member_limit: limits.max_member_bytes,
            total_limit: limits.max_uncompressed_bytes,
            remaining: limits.max_uncompressed_bytes,
            limits: *limits,
        }
    }

    /// What is left of the total allowance.
    pub(super) const fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Takes `bytes` from the total allowance (for data decompressed inside a member).
    pub(super) fn charge(&mut self, bytes: u64) -> Result<()> {
        self.remaining = self
            .remaining
            .checked_sub(bytes)
            .ok_or(Error::UncompressedTooLarge {
                limit: self.total_limit,
            })?;
        Ok(())
    }
}

/// Decompresses one member, never holding more than the member limit, the
/// ratio cap or the remaining total allowance (plus one byte to notice the
/// overflow).
pub(super) fn read_member<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    (index, compressed): (usize, u64),
    path: &str,
    budget: &mut Budget,
) -> Result<Vec<u8>> {
    let file = archive.by_index(index)?;
    read_capped(file, path, compressed, budget)
}

pub(super) fn read_capped(
    reader: impl Read,
    path: &str,
    compressed: u64,
    budget: &mut Budget,
) -> Result<Vec<u8>> {
    let ratio_cap = budget.limits.ratio_cap(compressed);
    let cap = budget.member_limit.min(budget.remaining).min(ratio_cap);
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
        } else if cap == ratio_cap {
            Error::CompressionRatio {
                path: path.to_owned(),
                size: len,
                compressed,
                limit: budget.limits.max_compression_ratio,
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
        let err = read_capped(std::io::repeat(0), "bomb", 1 << 20, &mut b).unwrap_err();
        assert!(
            matches!(err, Error::MemberTooLarge { limit: 1024, .. }),
            "{err}"
        );
    }

    #[test]
    fn an_endless_member_stops_at_the_ratio_cap() {
        let mut b = budget(1 << 30, 1 << 31);
        let err = read_capped(std::io::repeat(0), "bomb", 10_000, &mut b).unwrap_err();
        match err {
            Error::CompressionRatio {
                size,
                compressed: 10_000,
                limit: 200,
                ..
            } => assert_eq!(size, 2_000_001),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn the_total_allowance_is_shared_between_members() {
        let mut b = budget(100, 150);
        assert_eq!(
            read_capped(&[1_u8; 100][..], "a", 1, &mut b).unwrap().len(),
            100
        );
        let err = read_capped(&[1_u8; 60][..], "b", 1, &mut b).unwrap_err();
        assert!(
            matches!(err, Error::UncompressedTooLarge { limit: 150 }),
            "{err}"
        );
        assert_eq!(
            read_capped(&[1_u8; 50][..], "c", 1, &mut b).unwrap().len(),
            50
        );
        assert!(matches!(
            b.charge(1),
            Err(Error::UncompressedTooLarge { .. })
        ));
        b.charge(0).unwrap();
    }

    #[test]
    fn duplicates_are_found_in_the_central_directory() {
        let mut cd = Vec::new();
        for name in [&b"a"[..], b"bb", b"a"] {
            cd.extend_from_slice(b"PK\x01\x02");
            cd.extend_from_slice(&[0; 24]);
            cd.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
            cd.extend_from_slice(&[0; 16]);
            cd.extend_from_slice(name);
        }
        assert_eq!(exact_duplicate(&cd, 0, 10).as_deref(), Some("a"));
        assert_eq!(exact_duplicate(&cd, 0, 1), None);
        assert_eq!(exact_duplicate(&cd, 1, 10), None);
        assert_eq!(exact_duplicate(&cd[..60], 0, 10), None);
        assert_eq!(exact_duplicate(b"no zip here", 0, 10), None);
        assert_eq!(exact_duplicate(b"", usize::MAX, 10), None);
    }
}
