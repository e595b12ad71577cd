//! Reading a dataset laid out like NAB's: `DIR/data/**/*.csv` files of
//! `timestamp,value` rows, and a JSON file mapping each file's path
//! relative to `DIR/data` to its anomaly windows, `[[start, end], …]`
//! (NAB's `labels/combined_windows.json`). Timestamps are NAB's
//! `2014-04-01 00:00:00` (UTC, optional fraction), RFC 3339, or Unix
//! seconds. Every problem names the file and, where there is one, the line.

use std::{
    collections::BTreeMap,
    path::{Component, Path, PathBuf},
};

use anyhow::{anyhow, bail};
use rewind_model::Timestamp;

/// A labelled window as row indices, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub start: usize,
    pub end: usize,
}

/// One labelled file.
#[derive(Debug)]
pub(super) struct File {
    /// Its path relative to `DIR/data`, as in the labels.
    pub name: String,
    pub times: Vec<Timestamp>,
    pub values: Vec<f64>,
    /// Sorted and disjoint.
    pub windows: Vec<Window>,
}

/// The labelled files, in the labels' order (sorted by path).
#[derive(Debug)]
pub(super) struct Dataset {
    pub files: Vec<File>,
    pub labels: PathBuf,
    pub notes: Vec<String>,
}

type Labels = BTreeMap<String, Vec<(String, String)>>;

/// Reads the labels (default `DIR/labels/combined_windows.json`) and every
/// file they name.
pub(super) fn load(dir: &Path, labels: Option<&Path>) -> anyhow::Result<Dataset> {
    let data = dir.join("data");
    if !data.is_dir() {
        bail!(
            "{}: no `data` directory\nhint: --dataset takes a directory laid out like NAB's: \
             data/**/*.csv and labels/combined_windows.json",
            dir.display()
        );
    }
    let labels_path = labels.map_or_else(
        || dir.join("labels").join("combined_windows.json"),
        Path::to_path_buf,
    );
    let text = fs_err::read_to_string(&labels_path)
        .map_err(|e| anyhow!("{e}\nhint: point --labels at NAB's labels/combined_windows.json"))?;
    let parsed: Labels = serde_json::from_str(&text).map_err(|e| {
        let msg = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        anyhow!(
            "{}:{}:{}: {}\nhint: the labels map each file's path under data/ to a list of \
             [start, end] timestamps",
            labels_path.display(),
            e.line(),
            e.column(),
            msg.strip_suffix(&position).unwrap_or(&msg)
        )
    })?;
    let mut files = Vec::new();
    let mut notes = Vec::new();
    for (name, raw) in &parsed {
        let path = inside(&data, name).ok_or_else(|| {
            anyhow!(
                "{}: `{name}` is not a path under data/",
                labels_path.display()
            )
        })?;
        let (times, values) = read_csv(&path)?;
        let (windows, empty) = windows(&labels_path, name, raw, &times)?;
        if empty > 0 {
            notes.push(format!(
                "{name}: {empty} labelled window(s) hold no rows and were left out"
            ));
        }
        files.push(File {
            name: name.clone(),
            times,
            values,
            windows,
        });
    }
    let mut unlabelled = Vec::new();
    csv_files(&data, &data, &mut unlabelled)?;
    unlabelled.retain(|n| !parsed.contains_key(n));
    if !unlabelled.is_empty() {
        notes.push(format!(
            "{} CSV file(s) under data/ have no labels and were not scored",
            unlabelled.len()
        ));
    }
    if files.is_empty() {
        bail!("{}: no labelled files", labels_path.display());
    }
    Ok(Dataset {
        files,
        labels: labels_path,
        notes,
    })
}

/// `data/name` if `name` is a relative path that stays inside `data`.
fn inside(data: &Path, name: &str) -> Option<PathBuf> {
    let rel = Path::new(name);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| data.join(rel))
}

/// Every `*.csv` under `dir`, as paths relative to `root` with `/`.
fn csv_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            csv_files(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "csv")
            && let Ok(rel) = path.strip_prefix(root)
        {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// A timestamp in any of the accepted forms.
pub(super) fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim().trim_matches('"');
    if let Ok(t) = Timestamp::parse_rfc3339(s) {
        return Some(t);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        let ts = dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
        return i64::try_from(ts.as_nanosecond())
            .ok()
            .map(Timestamp::from_unix_nanos);
    }
    let secs: f64 = s.parse().ok()?;
    #[allow(clippy::cast_possible_truncation)]
    let nanos = (secs * 1e9).round() as i64;
    (secs.is_finite() && secs.abs() < 9e9).then(|| Timestamp::from_unix_nanos(nanos))
}

/// The `timestamp` and `value` columns of a CSV file, which must be in time order.
fn read_csv(path: &Path) -> anyhow::Result<(Vec<Timestamp>, Vec<f64>)> {
    let text = fs_err::read_to_string(path)?;
    let (mut times, mut values) = (Vec::new(), Vec::new());
    let (mut t_col, mut v_col) = (0, 1);
    let mut header_seen = false;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if line.trim().is_empty() {
            continue;
        }
        if !header_seen {
            header_seen = true;
            if parse_time(fields[0]).is_none() {
                let find = |name: &str| fields.iter().position(|f| f.eq_ignore_ascii_case(name));
                (t_col, v_col) = (find("timestamp").unwrap_or(0), find("value").unwrap_or(1));
                continue;
            }
        }
        let at = |msg: String| anyhow!("{}:{line_no}: {msg}", path.display());
        let (Some(t), Some(v)) = (fields.get(t_col), fields.get(v_col)) else {
            return Err(at(format!("expected `timestamp,value`, found `{line}`")));
        };
        let t = parse_time(t).ok_or_else(|| {
            at(format!(
                "`{t}` is not a timestamp (expected e.g. `2014-04-01 00:00:00`, RFC 3339 or \
                 Unix seconds)"
            ))
        })?;
        let v: f64 = v
            .parse()
            .map_err(|_| at(format!("`{v}` is not a number")))?;
        if times.last().is_some_and(|last| *last > t) {
            return Err(at(
                "the timestamps go backwards; sort the file by time".to_owned()
            ));
        }
        times.push(t);
        values.push(v);
    }
    if times.is_empty() {
        bail!("{}: no rows", path.display());
    }
    Ok((times, values))
}

/// The windows of one file as row ranges (sorted, disjoint), and how many
/// held no rows.
fn windows(
    labels: &Path,
    name: &str,
    raw: &[(String, String)],
    times: &[Timestamp],
) -> anyhow::Result<(Vec<Window>, usize)> {
    let mut out = Vec::new();
    let mut empty = 0;
    for (k, (a, b)) in raw.iter().enumerate() {
        let bad = |s: &str| {
            anyhow!(
                "{}: `{name}` window {}: `{s}` is not a timestamp",
                labels.display(),
                k + 1
            )
        };
        let (from, to) = (
            parse_time(a).ok_or_else(|| bad(a))?,
            parse_time(b).ok_or_else(|| bad(b))?,
        );
        if to < from {
            bail!(
                "{}: `{name}` window {}: it ends before it starts",
                labels.display(),
                k + 1
            );
        }
        let start = times.partition_point(|t| *t < from);
        let end = times.partition_point(|t| *t <= to);
        if start >= end {
            empty += 1;
            continue;
        }
        out.push(Window {
            start,
            end: end - 1,
        });
    }
    out.sort_by_key(|w| w.start);
    if out.windows(2).any(|w| w[1].start <= w[0].end) {
        bail!("{}: `{name}` has overlapping windows", labels.display());
    }
    Ok((out, empty))
}
