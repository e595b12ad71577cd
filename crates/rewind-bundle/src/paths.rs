//! Which member paths a bundle may contain.

use crate::{Error, Result, error::clip};

/// Checks that a member path is a plain relative path that cannot escape the
/// directory it is extracted into, on Unix or on Windows.
///
/// Allowed: printable ASCII without `\` and `:`, `/`-separated components that
/// are neither empty, `.` nor `..`, not starting with `/`, at most 1024 bytes.
pub(crate) fn check_member_path(raw: &[u8]) -> Result<&str> {
    let reject = |reason| Error::UnsafePath {
        path: clip(String::from_utf8_lossy(raw).into_owned()),
        reason,
    };
    if raw.is_empty() {
        return Err(reject("it is empty"));
    }
    if raw.len() > 1024 {
        return Err(reject("it is longer than 1024 bytes"));
    }
    if raw.contains(&0) {
        return Err(reject("it contains a NUL byte"));
    }
    if raw.contains(&b'\\') {
        return Err(reject("it contains a backslash"));
    }
    if raw.contains(&b':') {
        return Err(reject(
            "it contains `:` (a drive letter or stream name on Windows)",
        ));
    }
    if !raw.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(reject("it contains control or non-ASCII characters"));
    }
    if raw.starts_with(b"/") {
        return Err(reject("it is absolute"));
    }
    if raw.ends_with(b"/") {
        return Err(reject("it is a directory entry; bundles hold files only"));
    }
    let path = std::str::from_utf8(raw).map_err(|_| reject("it is not UTF-8"))?;
    for part in path.split('/') {
        match part {
            ".." => return Err(reject("it contains `..`")),
            "." | "" => return Err(reject("it has an empty or `.` component")),
            _ => {}
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_layout_paths() {
        for ok in [
            "manifest.json",
            "trigger.json",
            "metrics/cpu.total.busy_pct.csv",
            "a b/c-2.csv",
        ] {
            assert_eq!(check_member_path(ok.as_bytes()).ok(), Some(ok));
        }
    }

    #[test]
    fn rejects_escapes_and_oddities() {
        let bad: [&[u8]; 12] = [
            b"",
            b"/etc/passwd",
            b"../evil",
            b"metrics/../../evil",
            b"a\\b",
            b"a\0b",
            b"C:/x",
            b"metrics/",
            b"./a",
            b"a//b",
            b"caf\xc3\xa9",
            b"a\nb",
        ];
        for raw in bad {
            let err = check_member_path(raw).unwrap_err();
            assert!(matches!(err, Error::UnsafePath { .. }), "{raw:?}: {err}");
        }
    }
}
