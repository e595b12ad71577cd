//! `rewind bundle inspect FILE [--json]`.

use std::{collections::BTreeMap, io::Write as _, path::Path};

use rewind_bundle::{Bundle, FileEntry, MANIFEST_PATH};
use serde::Serialize;

/// Files listed by name in the table; the rest are counted.
const FILES_SHOWN: usize = 20;

/// What `inspect --json` prints.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    file: String,
    bundle_id: String,
    format_version: u32,
    device_id: &'a str,
    agent_version: &'a str,
    created_at: String,
    fleet: Option<&'a str>,
    labels: &'a BTreeMap<String, String>,
    trigger: Trigger<'a>,
    window: Window,
    counts: Counts,
    redactions: BTreeMap<&'a str, u64>,
    losses: &'a BTreeMap<String, u64>,
    notes: &'a [String],
    /// Every member, largest first (`manifest.json` included).
    files: Vec<File>,
    total_bytes: u64,
    bundle_bytes: u64,
}

#[derive(Debug, Serialize)]
struct Trigger<'a> {
    rule: &'a str,
    rule_type: &'a str,
    severity: String,
    fired_at: String,
    summary: &'a str,
    evidence: Vec<&'a str>,
}

#[derive(Debug, Serialize)]
struct Window {
    start: String,
    end: String,
    seconds: f64,
    /// Seconds from the window's start to the trigger.
    trigger_offset_seconds: f64,
}

#[derive(Debug, Serialize)]
struct Counts {
    series: usize,
    samples: usize,
    events: usize,
    log_files: usize,
    log_lines: usize,
    attachments: BTreeMap<&'static str, usize>,
    recording_channels: u64,
    recording_messages: u64,
    recording_compression: Option<String>,
}

#[derive(Debug, Serialize)]
struct File {
    path: String,
    size: u64,
}

/// Seconds between two timestamps.
#[allow(clippy::cast_precision_loss)]
fn secs(nanos: i64) -> f64 {
    nanos as f64 / 1e9
}

pub(super) fn run(path: &Path, json: bool) -> anyhow::Result<()> {
    let (bytes, bundle) = super::load(path)?;
    let manifest_size = zip::ZipArchive::new(std::io::Cursor::new(&bytes))
        .ok()
        .and_then(|mut zip| zip.by_name(MANIFEST_PATH).ok().map(|f| f.size()))
        .unwrap_or(0);
    let bundle_bytes = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let summary = summarise(path, bundle_bytes, manifest_size, &bundle);
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        print(&mut out, &summary)?;
    }
    Ok(())
}

fn summarise<'a>(
    path: &Path,
    bundle_bytes: u64,
    manifest_size: u64,
    bundle: &'a Bundle,
) -> Summary<'a> {
    let m = &bundle.manifest;
    let mut attachments = BTreeMap::new();
    for a in &m.attachments {
        *attachments.entry(a.kind.dir()).or_insert(0) += 1;
    }
    let mut files: Vec<File> = m
        .files
        .iter()
        .map(|FileEntry { path, size, .. }| File {
            path: path.clone(),
            size: *size,
        })
        .chain(std::iter::once(File {
            path: MANIFEST_PATH.to_owned(),
            size: manifest_size,
        }))
        .collect();
    files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    let total_bytes = files.iter().map(|f| f.size).sum();
    Summary {
        file: path.display().to_string(),
        bundle_id: m.bundle_id.to_string(),
        format_version: m.format_version,
        device_id: m.device_id.as_str(),
        agent_version: &m.agent_version,
        created_at: m.created_at.to_string(),
        fleet: m.fleet.as_deref(),
        labels: &m.labels,
        trigger: Trigger {
            rule: &bundle.trigger.rule,
            rule_type: &bundle.trigger.rule_type,
            severity: bundle.trigger.severity.to_string(),
            fired_at: bundle.trigger.fired_at.to_string(),
            summary: &bundle.trigger.summary,
            evidence: bundle
                .trigger
                .evidence
                .iter()
                .map(|e| e.series.as_str())
                .collect(),
        },
        window: Window {
            start: m.time_range.start.to_string(),
            end: m.time_range.end.to_string(),
            seconds: secs(m.time_range.end.nanos_since(m.time_range.start)),
            trigger_offset_seconds: secs(bundle.trigger.fired_at.nanos_since(m.time_range.start)),
        },
        counts: Counts {
            series: bundle.series.len(),
            samples: bundle.series.iter().map(|s| s.v.len()).sum(),
            events: bundle.events.len(),
            log_files: bundle.logs.len(),
            log_lines: bundle.logs.iter().map(|l| l.lines.len()).sum(),
            attachments,
            recording_channels: m.recording.as_ref().map_or(0, |r| r.channels),
            recording_messages: m.recording.as_ref().map_or(0, |r| r.messages),
            recording_compression: m.recording.as_ref().map(|r| r.compression.clone()),
        },
        redactions: m
            .redactions
            .iter()
            .map(|r| (r.name.as_str(), r.count))
            .collect(),
        losses: &m.losses,
        notes: &m.notes,
        files,
        total_bytes,
        bundle_bytes,
    }
}

fn print(out: &mut impl std::io::Write, s: &Summary<'_>) -> std::io::Result<()> {
    let t = &s.trigger;
    writeln!(out, "{}", s.file)?;
    writeln!(
        out,
        "  bundle      {} (format {})",
        s.bundle_id, s.format_version
    )?;
    writeln!(
        out,
        "  trigger     [{}] {} ({})",
        t.severity, t.rule, t.rule_type
    )?;
    writeln!(out, "              {}", t.summary)?;
    writeln!(out, "  fired at    {}", t.fired_at)?;
    if !t.evidence.is_empty() {
        writeln!(out, "  evidence    {}", t.evidence.join(", "))?;
    }
    writeln!(
        out,
        "  window      {} .. {} ({:.1} s, trigger at +{:.1} s)",
        s.window.start, s.window.end, s.window.seconds, s.window.trigger_offset_seconds
    )?;
    writeln!(
        out,
        "  device      {}{}  agent {}  written {}",
        s.device_id,
        s.fleet.map(|f| format!(" (fleet {f})")).unwrap_or_default(),
        s.agent_version,
        s.created_at
    )?;
    if !s.labels.is_empty() {
        let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(out, "  labels      {}", labels.join(", "))?;
    }
    let c = &s.counts;
    writeln!(out, "  series      {} ({} samples)", c.series, c.samples)?;
    writeln!(out, "  events      {}", c.events)?;
    writeln!(
        out,
        "  logs        {} files, {} lines",
        c.log_files, c.log_lines
    )?;
    let attachments: Vec<String> = c
        .attachments
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    writeln!(
        out,
        "  attachments {}",
        if attachments.is_empty() {
            "none".to_owned()
        } else {
            attachments.join(", ")
        }
    )?;
    match &c.recording_compression {
        Some(compression) => writeln!(
            out,
            "  recording   {} channels, {} messages ({compression})",
            c.recording_channels, c.recording_messages
        )?,
        None => writeln!(out, "  recording   none")?,
    }
    let pairs = |m: &mut dyn Iterator<Item = (String, u64)>| {
        let v: Vec<String> = m.map(|(k, n)| format!("{k} {n}")).collect();
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    writeln!(
        out,
        "  redactions  {}",
        pairs(&mut s.redactions.iter().map(|(k, n)| ((*k).to_owned(), *n)))
    )?;
    writeln!(
        out,
        "  losses      {}",
        pairs(&mut s.losses.iter().map(|(k, n)| (k.clone(), *n)))
    )?;
    for note in s.notes {
        writeln!(out, "  note        {note}")?;
    }
    writeln!(
        out,
        "  files       {} ({} bytes uncompressed, {} bytes zipped)",
        s.files.len(),
        s.total_bytes,
        s.bundle_bytes
    )?;
    for f in s.files.iter().take(FILES_SHOWN) {
        writeln!(out, "    {:>10}  {}", f.size, f.path)?;
    }
    if s.files.len() > FILES_SHOWN {
        let rest = &s.files[FILES_SHOWN..];
        writeln!(
            out,
            "    {:>10}  … {} more",
            rest.iter().map(|f| f.size).sum::<u64>(),
            rest.len()
        )?;
    }
    Ok(())
}
