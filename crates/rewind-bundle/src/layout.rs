//! Where each kind of member lives in a bundle, and the rules for the names
//! that come from outside (series names, log sources, attachment paths).
//!
//! ```text
//! manifest.json  trigger.json  events.jsonl  recording.mcap
//! metrics/<stem>.csv   topics/<stem>.csv   nodes/<stem>.csv
//! logs/<source>.log
//! system/…  processes/<name>/…  baseline/…  diagnostics/…
//! ```

use std::collections::HashSet;

use rewind_model::{Event, EventKind, SeriesName};
use serde::{Deserialize, Serialize};

use crate::paths::check_member_path;

/// Path of the event log inside the zip.
pub const EVENTS_PATH: &str = "events.jsonl";
/// Path of the MCAP recording inside the zip.
pub const RECORDING_PATH: &str = "recording.mcap";

/// The directories series CSVs may live in.
const SERIES_DIRS: [&str; 3] = ["metrics", "topics", "nodes"];

/// The directory a series' CSV is written to: `topics` for `topic.*`,
/// `nodes` for `node.*`, `metrics` for everything else.
#[must_use]
pub fn series_dir(name: &SeriesName) -> &'static str {
    let name = name.as_str();
    if name.starts_with("topic.") {
        "topics"
    } else if name.starts_with("node.") {
        "nodes"
    } else {
        "metrics"
    }
}

/// `<dir>/<file_stem>.csv` per series; stems that collide in one directory
/// (case-insensitively, for case-insensitive file systems) get `-2`, `-3`, ….
pub(crate) fn series_paths<'a>(names: impl Iterator<Item = &'a SeriesName>) -> Vec<String> {
    let mut taken = HashSet::new();
    names
        .map(|name| {
            let dir = series_dir(name);
            unique(&mut taken, &name.file_stem(), |stem| {
                format!("{dir}/{stem}.csv")
            })
        })
        .collect()
}

/// Checks a series path read from a manifest: `<dir>/<file>.csv` with `dir`
/// one of `metrics`, `topics` (only for `topic.*`) or `nodes` (only for
/// `node.*`). Bundles written before topics and nodes had their own
/// directories keep every series in `metrics/`, which stays valid.
pub(crate) fn check_series_path(name: &SeriesName, path: &str) -> Result<(), String> {
    let Some((dir, file)) = path.split_once('/') else {
        return Err(format!(
            "series `{name}` has path `{path}`, which is not in a series directory"
        ));
    };
    let dir_ok = dir == "metrics" || dir == series_dir(name);
    if !dir_ok || !SERIES_DIRS.contains(&dir) || file.contains('/') || !file.ends_with(".csv") {
        return Err(format!(
            "series `{name}` has path `{path}`: expected `metrics/…csv` or `{}/…csv`",
            series_dir(name)
        ));
    }
    Ok(())
}

/// Whether an event is a log line: kind `log`, or from a log source
/// (`kmsg`, `journal`, `file:…`) whatever its kind.
#[must_use]
pub fn is_log_event(event: &Event) -> bool {
    event.kind == EventKind::Log
        || matches!(event.source.as_str(), "kmsg" | "journal")
        || event.source.starts_with("file:")
}

/// `logs/<name>.log` per log source, in the given order: the source with
/// every run of characters outside `[A-Za-z0-9._-]` replaced by one `_`,
/// trimmed of `._-` at both ends, at most 100 bytes, `source` if nothing is
/// left, made unique (case-insensitively) with `-2`, `-3`, ….
pub(crate) fn log_paths<'a>(sources: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut taken = HashSet::new();
    sources
        .map(|source| unique(&mut taken, &log_stem(source), |s| format!("logs/{s}.log")))
        .collect()
}

fn log_stem(source: &str) -> String {
    let mut out = String::new();
    for c in source.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut stem = out.trim_matches(['.', '_', '-']).to_owned();
    stem.truncate(100);
    let stem = stem.trim_end_matches(['.', '_', '-']);
    if stem.is_empty() {
        "source".to_owned()
    } else if is_reserved_on_windows(stem) {
        format!("{stem}_")
    } else {
        stem.to_owned()
    }
}

/// Checks a log path read from a manifest: `logs/<file>.log`, one level deep.
pub(crate) fn check_log_path(path: &str) -> Result<(), &'static str> {
    match path.strip_prefix("logs/") {
        Some(file) if file.ends_with(".log") && !file.contains('/') => {
            check_portable_component(file)
        }
        _ => Err("a log file must be `logs/<name>.log`"),
    }
}

/// `want` (or `want-2`, `want-3`, …) formatted by `path`, not yet in `taken`
/// (compared in lowercase).
fn unique(taken: &mut HashSet<String>, want: &str, path: impl Fn(&str) -> String) -> String {
    let mut candidate = path(want);
    let mut n = 1_u32;
    while !taken.insert(candidate.to_ascii_lowercase()) {
        n += 1;
        candidate = path(&format!("{want}-{n}"));
    }
    candidate
}

/// What an attachment is, from its top directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// `system/…`: hardware, OS and kernel, the deployment running, the
    /// agent's configuration (secrets redacted).
    System,
    /// `processes/<name>/…`: diagnostics of one watched process.
    Process,
    /// `baseline/…`: the newest routine capture from a healthy moment.
    Baseline,
    /// `diagnostics/…`: anything else captured at the breach (profiles, …).
    Diagnostics,
}

impl AttachmentKind {
    /// Every kind, in layout order.
    pub const ALL: [Self; 4] = [
        Self::System,
        Self::Process,
        Self::Baseline,
        Self::Diagnostics,
    ];

    /// The top directory of this kind's attachments.
    #[must_use]
    pub const fn dir(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Process => "processes",
            Self::Baseline => "baseline",
            Self::Diagnostics => "diagnostics",
        }
    }
}

/// Longest attachment path component, in bytes (the common file-name limit).
const MAX_COMPONENT: usize = 255;
/// Most components in an attachment path.
const MAX_DEPTH: usize = 16;

/// Checks an attachment path and returns its kind.
///
/// On top of the rules for every member (relative, printable ASCII, no `\`,
/// `:`, `.` or `..` components, at most 1024 bytes): the top directory is
/// `system`, `processes`, `baseline` or `diagnostics`; there is a file below
/// it (`processes/<name>/<file>`: one more level); at most 16 components of
/// at most 255 bytes; no component a Windows cannot hold (`<>"|?*`, a
/// trailing `.` or space, a device name such as `con` or `nul`).
///
/// # Errors
/// The reason, for [`Error::UnsafePath`](crate::Error::UnsafePath) or
/// [`Error::InvalidInput`](crate::Error::InvalidInput).
pub(crate) fn check_attachment_path(path: &str) -> Result<AttachmentKind, &'static str> {
    check_member_path(path.as_bytes()).map_err(|_| {
        "it must be relative, printable ASCII without `\\` or `:`, with no empty, `.` or `..` component, at most 1024 bytes"
    })?;
    let parts: Vec<&str> = path.split('/').collect();
    let top = parts.first().copied().unwrap_or_default();
    let kind = AttachmentKind::ALL
        .into_iter()
        .find(|k| k.dir() == top)
        .ok_or(
            "attachments go under `system/`, `processes/<name>/`, `baseline/` or `diagnostics/`",
        )?;
    let min_depth = if kind == AttachmentKind::Process {
        3
    } else {
        2
    };
    if parts.len() < min_depth {
        return Err(if kind == AttachmentKind::Process {
            "a process attachment must be `processes/<name>/<file>`"
        } else {
            "an attachment must be a file below its top directory"
        });
    }
    if parts.len() > MAX_DEPTH {
        return Err("it has more than 16 components");
    }
    parts.iter().try_for_each(|p| check_portable_component(p))?;
    Ok(kind)
}

fn check_portable_component(part: &str) -> Result<(), &'static str> {
    if part.len() > MAX_COMPONENT {
        return Err("a component is longer than 255 bytes");
    }
    if part.contains(['<', '>', '"', '|', '?', '*']) {
        return Err("it contains one of `<>\"|?*`, which Windows cannot hold");
    }
    if part.ends_with(['.', ' ']) {
        return Err("a component ends with `.` or a space, which Windows drops");
    }
    if is_reserved_on_windows(part) {
        return Err("a component is a Windows device name (`con`, `nul`, `com1`, …)");
    }
    Ok(())
}

/// `con`, `prn`, `aux`, `nul`, `com0`–`com9`, `lpt0`–`lpt9`, with or without
/// an extension, in any case.
fn is_reserved_on_windows(part: &str) -> bool {
    let stem = part
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let stem = stem.trim_end();
    matches!(stem, "con" | "prn" | "aux" | "nul")
        || ((stem.starts_with("com") || stem.starts_with("lpt"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use rewind_model::{Level, Timestamp};

    use super::*;

    fn names(list: &[&str]) -> Vec<SeriesName> {
        list.iter().map(|n| SeriesName::new(*n).unwrap()).collect()
    }

    #[test]
    fn series_go_to_their_family_directory() {
        let n = names(&[
            "cpu.total.busy_pct",
            "topic./camera/rgb.rate_hz",
            "node.planner.alive",
            "topic._camera_rgb.rate_hz",
            "CPU.total.busy_pct",
            "nodes.x",
        ]);
        assert_eq!(
            series_paths(n.iter()),
            [
                "metrics/cpu.total.busy_pct.csv",
                "topics/topic._camera_rgb.rate_hz.csv",
                "nodes/node.planner.alive.csv",
                "topics/topic._camera_rgb.rate_hz-2.csv",
                "metrics/CPU.total.busy_pct-2.csv",
                "metrics/nodes.x.csv",
            ]
        );
        let topic = &n[1];
        assert!(check_series_path(topic, "topics/a.csv").is_ok());
        assert!(check_series_path(topic, "metrics/a.csv").is_ok());
        assert!(check_series_path(topic, "nodes/a.csv").is_err());
        assert!(check_series_path(&n[0], "topics/a.csv").is_err());
        assert!(check_series_path(&n[0], "metrics/a/b.csv").is_err());
        assert!(check_series_path(&n[0], "metrics/a.txt").is_err());
        assert!(check_series_path(&n[0], "a.csv").is_err());
    }

    #[test]
    fn log_sources_become_safe_unique_file_names() {
        let sources = [
            "kmsg",
            "journal",
            "file:/var/log/app.log",
            "file:/var/log/app.log?",
            "KMSG",
            "///",
            "con",
            &"x".repeat(300),
        ];
        let paths = log_paths(sources.iter().copied());
        assert_eq!(
            &paths[..7],
            [
                "logs/kmsg.log",
                "logs/journal.log",
                "logs/file_var_log_app.log.log",
                "logs/file_var_log_app.log-2.log",
                "logs/KMSG-2.log",
                "logs/source.log",
                "logs/con_.log",
            ]
        );
        assert_eq!(paths[7].len(), "logs/".len() + 100 + ".log".len());
        for p in &paths {
            check_member_path(p.as_bytes()).unwrap();
            check_log_path(p).unwrap();
        }
        assert!(check_log_path("logs/a/b.log").is_err());
        assert!(check_log_path("logs/a.txt").is_err());
        assert!(check_log_path("metrics/a.log").is_err());
    }

    #[test]
    fn log_events_are_recognised_by_kind_or_source() {
        let t = Timestamp::from_unix_nanos(0);
        let e = |source: &str, kind| Event::new(t, source, kind, Level::Info, "m");
        assert!(is_log_event(&e("socket", EventKind::Log)));
        assert!(is_log_event(&e("kmsg", EventKind::OomKill)));
        assert!(is_log_event(&e("journal", EventKind::Deploy)));
        assert!(is_log_event(&e("file:/x", EventKind::IoError)));
        assert!(!is_log_event(&e("process", EventKind::ProcessMissing)));
    }

    #[test]
    fn attachment_paths_are_checked_strictly() {
        for (ok, kind) in [
            ("system/os-release", AttachmentKind::System),
            ("system/hw/cpuinfo.txt", AttachmentKind::System),
            ("processes/camera/status", AttachmentKind::Process),
            ("baseline/processes/camera/status", AttachmentKind::Baseline),
            ("diagnostics/pprof/heap.pb.gz", AttachmentKind::Diagnostics),
        ] {
            assert_eq!(check_attachment_path(ok), Ok(kind), "{ok}");
        }
        for bad in [
            "",
            "system",
            "system/",
            "processes/camera",
            "/system/x",
            "system/../x",
            "system/./x",
            "system//x",
            "metrics/x.csv",
            "manifest.json",
            "System/x",
            "system/a\\b",
            "system/c:x",
            "system/x?",
            "system/x.",
            "system/x ",
            "system/NUL.txt",
            "system/com1",
            "system/caf\u{e9}",
        ] {
            assert!(check_attachment_path(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("system/{}", "a".repeat(256));
        assert!(check_attachment_path(&long).is_err());
        let deep = format!("system/{}x", "d/".repeat(16));
        assert!(check_attachment_path(&deep).is_err());
        assert!(check_attachment_path("system/com10").is_ok());
    }
}
