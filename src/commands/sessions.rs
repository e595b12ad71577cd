//! `rewind sessions ls|show|cut`: the recorder's sessions in a recording
//! directory, read from the files' summaries (`rewind_recorder::list_sessions`,
//! `read_session`), and filtered copies (`rewind_recorder::cut_files`).

use std::{io::Write as _, path::Path};

use rewind_model::Timestamp;
use rewind_recorder::{
    CutFilter, CutReport, SessionSummary, cut_files, list_sessions, read_session, session_files,
};
use serde::Serialize;

use super::mcap::{fmt_bytes, fmt_id_range, fmt_range, fmt_seconds};
use crate::{
    UsageError,
    cli::{SessionsCommand, SessionsCutArgs},
};

/// Runs `rewind sessions …`.
pub(crate) fn run(command: SessionsCommand) -> anyhow::Result<()> {
    match command {
        SessionsCommand::Ls { dir, json } => ls(&dir.dir, json),
        SessionsCommand::Show { id, dir, json } => show(&dir.dir, &id, json),
        SessionsCommand::Cut(args) => cut(&args),
    }
}

/// The recording directory, or a usage error naming how to give another.
pub(super) fn check_dir(dir: &Path) -> anyhow::Result<()> {
    match fs_err::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(UsageError(format!("error: {} is not a directory", dir.display())).into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(UsageError(format!(
            "error: no recording directory {}\n  hint: give --dir DIR (the recorder's output_dir) or set REWIND_SESSIONS_DIR",
            dir.display()
        ))
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// One session in `sessions ls --json`.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    session_id: &'a str,
    files: usize,
    /// Files without a summary: being written, or left by a killed writer.
    live_files: usize,
    size_bytes: u64,
    start_time: Option<Timestamp>,
    end_time: Option<Timestamp>,
    message_count: u64,
    cycles: u64,
    violation_cycles: u64,
    clamp_cycles: u64,
    has_images: bool,
    app_version: Option<&'a str>,
}

/// `sessions ls --json`.
#[derive(Debug, Serialize)]
struct Listing<'a> {
    dir: &'a Path,
    sessions: Vec<Listed<'a>>,
}

fn listed(s: &SessionSummary) -> Listed<'_> {
    Listed {
        session_id: &s.session_id,
        files: s.files.len(),
        live_files: s.unreadable_files,
        size_bytes: s.size_bytes,
        start_time: s.start_time,
        end_time: s.end_time,
        message_count: s.message_count,
        cycles: s.cycles,
        violation_cycles: s.violation_cycles,
        clamp_cycles: s.clamp_cycles,
        has_images: s.has_images,
        app_version: s.meta.as_ref().and_then(|m| m.app_version.as_deref()),
    }
}

fn ls(dir: &Path, json: bool) -> anyhow::Result<()> {
    check_dir(dir)?;
    let sessions = list_sessions(dir)?;
    let listing = Listing {
        dir,
        sessions: sessions.iter().map(listed).collect(),
    };
    let mut out = std::io::stdout().lock();
    if json {
        out.write_all(serde_json::to_string_pretty(&listing)?.as_bytes())?;
        writeln!(out)?;
    } else {
        print_listing(&mut out, &listing)?;
    }
    out.flush()?;
    Ok(())
}

fn print_listing(out: &mut impl std::io::Write, l: &Listing<'_>) -> std::io::Result<()> {
    if l.sessions.is_empty() {
        return writeln!(
            out,
            "no sessions in {} (no <session>_<NNN>.mcap files)",
            l.dir.display()
        );
    }
    let width = l
        .sessions
        .iter()
        .map(|s| s.session_id.len())
        .max()
        .unwrap_or(0)
        .max("session".len());
    writeln!(
        out,
        "{:<width$}  {:>5}  {:>9}  {:<20}  {:>12}  {:>8}  {:>10}  {:>6}  {:<6}  note",
        "session", "files", "size", "start", "duration", "cycles", "violations", "clamps", "images"
    )?;
    for s in &l.sessions {
        let duration = match (s.start_time, s.end_time) {
            (Some(a), Some(b)) => fmt_seconds(b.nanos_since(a)),
            _ => "-".to_owned(),
        };
        let note = if s.live_files > 0 {
            format!(
                "{} live file(s): being written, or crashed (not counted)",
                s.live_files
            )
        } else {
            String::new()
        };
        let row = format!(
            "{:<width$}  {:>5}  {:>9}  {:<20}  {:>12}  {:>8}  {:>10}  {:>6}  {:<6}  {note}",
            s.session_id,
            s.files,
            fmt_bytes(s.size_bytes),
            s.start_time.map_or_else(|| "-".to_owned(), to_second),
            duration,
            s.cycles,
            s.violation_cycles,
            s.clamp_cycles,
            if s.has_images { "yes" } else { "no" },
        );
        writeln!(out, "{}", row.trim_end())?;
    }
    writeln!(
        out,
        "{} session(s) in {}",
        l.sessions.len(),
        l.dir.display()
    )
}

/// RFC 3339 to the second (`2024-12-10T14:30:22Z`).
fn to_second(t: Timestamp) -> String {
    let s = t.to_string();
    match (s.find('.'), s.ends_with('Z')) {
        (Some(dot), true) => format!("{}Z", &s[..dot]),
        _ => s,
    }
}

/// The session, or a usage error naming the directory.
fn find(dir: &Path, id: &str) -> anyhow::Result<SessionSummary> {
    check_dir(dir)?;
    read_session(dir, id)?.ok_or_else(|| {
        UsageError(format!(
            "error: no session `{id}` in {}\n  hint: `rewind sessions ls --dir {}` lists them",
            dir.display(),
            dir.display()
        ))
        .into()
    })
}

fn show(dir: &Path, id: &str, json: bool) -> anyhow::Result<()> {
    let s = find(dir, id)?;
    let mut out = std::io::stdout().lock();
    if json {
        out.write_all(serde_json::to_string_pretty(&s)?.as_bytes())?;
        writeln!(out)?;
    } else {
        print_session(&mut out, dir, &s)?;
    }
    out.flush()?;
    Ok(())
}

fn print_session(
    out: &mut impl std::io::Write,
    dir: &Path,
    s: &SessionSummary,
) -> std::io::Result<()> {
    writeln!(out, "session {} in {}", s.session_id, dir.display())?;
    if let Some(m) = &s.meta {
        let hz = m
            .control_frequency_hz
            .map(|f| format!(" at {f} Hz"))
            .unwrap_or_default();
        writeln!(
            out,
            "  program     {}{hz} (recorded by {})",
            m.app_version.as_deref().unwrap_or("-"),
            m.recorder
        )?;
        if m.config_path.is_some() || m.config_hash.is_some() {
            writeln!(
                out,
                "  config      {} {}",
                m.config_path.as_deref().unwrap_or("-"),
                m.config_hash.as_deref().unwrap_or("")
            )?;
        }
        if let Some(t) = m.start_time {
            writeln!(out, "  started     {t}")?;
        }
        for (k, v) in &m.extra {
            writeln!(out, "  {k:<11} {v}")?;
        }
    }
    writeln!(out, "  time        {}", fmt_range(s.start_time, s.end_time))?;
    writeln!(
        out,
        "  size        {} in {} file(s){}",
        fmt_bytes(s.size_bytes),
        s.files.len(),
        if s.unreadable_files > 0 {
            format!(
                ", {} live (being written, or crashed: not counted below)",
                s.unreadable_files
            )
        } else {
            String::new()
        }
    )?;
    writeln!(
        out,
        "  cycles      {} ({} with a violation, {} with a clamp)",
        s.cycles, s.violation_cycles, s.clamp_cycles
    )?;
    writeln!(
        out,
        "  images      {}",
        if s.has_images { "yes" } else { "none" }
    )?;
    writeln!(out)?;
    writeln!(out, "  {:<28} {:>10}", "topic", "messages")?;
    for (topic, n) in &s.channels {
        writeln!(out, "  {topic:<28} {n:>10}")?;
    }
    writeln!(out)?;
    print_files(out, s)
}

/// Each file with its size, cycles and state.
fn print_files(out: &mut impl std::io::Write, s: &SessionSummary) -> std::io::Result<()> {
    writeln!(
        out,
        "  {:<36} {:>9}  {:<10}  state",
        "file", "size", "cycles"
    )?;
    for f in &s.files {
        let name = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (cycles, state) = match &f.summary {
            Some(sum) => match &sum.file_end {
                Some(end) => (
                    fmt_id_range(end.cycles.first_cycle, end.cycles.last_cycle),
                    format!("finished ({})", end.reason),
                ),
                None => ("-".to_owned(), "finished (recovered or cut)".to_owned()),
            },
            None => (
                "-".to_owned(),
                "live: no summary (being written, or crashed: `rewind mcap recover`)".to_owned(),
            ),
        };
        writeln!(
            out,
            "  {name:<36} {:>9}  {cycles:<10}  {state}",
            fmt_bytes(f.size_bytes)
        )?;
    }
    Ok(())
}

/// `sessions cut --json`.
#[derive(Debug, Serialize)]
struct CutOutput<'a> {
    output: &'a Path,
    filter: &'a CutFilter,
    #[serde(flatten)]
    report: &'a CutReport,
}

fn cut(args: &SessionsCutArgs) -> anyhow::Result<()> {
    let session = find(&args.dir.dir, &args.id)?;
    if args.output.try_exists().unwrap_or(true) {
        return Err(UsageError(format!(
            "error: {} already exists; refusing to overwrite it\n  hint: give another -o",
            args.output.display()
        ))
        .into());
    }
    let filter = filter(args, session.start_time)?;
    let files = session_files(&args.dir.dir, &args.id)?;
    let report = cut_files(&files, &args.output, &filter).map_err(|e| match e {
        rewind_recorder::Error::InvalidFilter { .. }
        | rewind_recorder::Error::OutputExists { .. } => UsageError(format!("error: {e}")).into(),
        e => anyhow::Error::new(e),
    })?;
    for f in &report.incomplete_inputs {
        eprintln!(
            "warning: {} is still being written (or its writer crashed): cut up to its last complete chunk",
            f.display()
        );
    }
    if report.messages == 0 {
        eprintln!(
            "warning: no message matched; {} holds none",
            args.output.display()
        );
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let shown = CutOutput {
            output: &args.output,
            filter: &filter,
            report: &report,
        };
        out.write_all(serde_json::to_string_pretty(&shown)?.as_bytes())?;
        writeln!(out)?;
    } else {
        let cycles = match (report.first_cycle, report.last_cycle) {
            (Some(a), Some(b)) => format!(", cycles {a}..{b}"),
            _ => String::new(),
        };
        writeln!(
            out,
            "wrote {}: {} message(s){cycles}",
            args.output.display(),
            report.messages,
        )?;
        for (topic, n) in &report.topics {
            writeln!(out, "  {topic:<28} {n:>10}")?;
        }
    }
    out.flush()?;
    Ok(())
}

fn filter(args: &SessionsCutArgs, start: Option<Timestamp>) -> anyhow::Result<CutFilter> {
    let time = |flag: &str, v: &Option<String>| {
        v.as_deref().map(|v| parse_time(flag, v, start)).transpose()
    };
    let filter = CutFilter {
        start_time: time("--start-time", &args.start_time)?,
        end_time: time("--end-time", &args.end_time)?,
        start_cycle: args.start_cycle,
        end_cycle: args.end_cycle,
        topics: Vec::new(),
    }
    .with_topics_csv(args.topics.as_deref().unwrap_or(""));
    filter
        .validate()
        .map_err(|e| UsageError(format!("error: {e}")))?;
    Ok(filter)
}

/// RFC 3339, or seconds from `start` (the session's first message).
fn parse_time(flag: &str, v: &str, start: Option<Timestamp>) -> Result<Timestamp, UsageError> {
    if let Ok(secs) = v.trim().parse::<f64>() {
        let start = start.ok_or_else(|| {
            UsageError(format!(
                "error: {flag} {v}: the session has no readable start (no file has a summary)\n  hint: give an RFC 3339 time, or recover its files first"
            ))
        })?;
        let nanos = secs * 1e9;
        #[allow(clippy::cast_precision_loss)]
        let limit = i64::MAX as f64;
        if !(nanos.is_finite() && nanos.abs() < limit) {
            return Err(UsageError(format!(
                "error: {flag} {v}: not a usable number of seconds"
            )));
        }
        #[allow(clippy::cast_possible_truncation)]
        return Ok(start.add_nanos(nanos.round() as i64));
    }
    Timestamp::parse_rfc3339(v).map_err(|e| {
        UsageError(format!(
            "error: {flag}: {e}\n  hint: give RFC 3339 (2024-12-10T14:31:00Z) or seconds from the session's first message (12.5)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_seconds_from_the_start() {
        let start = Timestamp::from_unix_nanos(1_700_000_000_000_000_000);
        assert_eq!(
            parse_time("--start-time", "12.5", Some(start)).unwrap(),
            start.add_nanos(12_500_000_000)
        );
        assert_eq!(
            parse_time("--start-time", "2023-11-14T22:13:21Z", None).unwrap(),
            Timestamp::from_unix_nanos(1_700_000_001_000_000_000)
        );
        assert!(parse_time("--end-time", "5", None).is_err());
        assert!(parse_time("--end-time", "inf", Some(start)).is_err());
        assert!(parse_time("--end-time", "yesterday", Some(start)).is_err());
    }

    #[test]
    fn table_times_are_cut_to_the_second() {
        let t = Timestamp::from_unix_nanos(1_700_000_000_123_000_000);
        assert_eq!(to_second(t), "2023-11-14T22:13:20Z");
    }
}
