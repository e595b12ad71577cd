//! `rewind mcap info FILE` and `rewind mcap recover FILE [-o OUT] [--force]`:
//! a recorder file's summary, and crash recovery (`rewind_recorder::recover`).

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use rewind_model::Timestamp;
use rewind_recorder::{FileSummary, RecoverReport, read_summary, recover};
use serde::Serialize;

use crate::{UsageError, cli::McapCommand};

/// Runs `rewind mcap …`.
pub(crate) fn run(command: McapCommand) -> anyhow::Result<()> {
    match command {
        McapCommand::Info { file, json } => info(&file, json),
        McapCommand::Recover {
            file,
            output,
            force,
            json,
        } => recover_file(&file, output, force, json),
    }
}

/// What `mcap info --json` prints: the summary, or why there is none.
#[derive(Debug, Serialize)]
struct Info {
    file: PathBuf,
    size_bytes: u64,
    has_summary: bool,
    summary: Option<FileSummary>,
    hint: Option<String>,
}

fn info(file: &Path, json: bool) -> anyhow::Result<()> {
    let size_bytes = existing_file(file)?;
    let info = match read_summary(file) {
        Ok(summary) => Info {
            file: file.to_owned(),
            size_bytes,
            has_summary: true,
            summary: Some(summary),
            hint: None,
        },
        Err(rewind_recorder::Error::NoSummary { .. }) => Info {
            file: file.to_owned(),
            size_bytes,
            has_summary: false,
            summary: None,
            hint: Some(format!("run `rewind mcap recover {}`", file.display())),
        },
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::stdout().lock();
    if json {
        out.write_all(serde_json::to_string_pretty(&info)?.as_bytes())?;
        writeln!(out)?;
    } else {
        print_info(&mut out, &info)?;
    }
    out.flush()?;
    Ok(())
}

fn print_info(out: &mut impl std::io::Write, info: &Info) -> std::io::Result<()> {
    writeln!(out, "{}", info.file.display())?;
    let Some(s) = &info.summary else {
        writeln!(out, "  size        {}", fmt_bytes(info.size_bytes))?;
        writeln!(
            out,
            "  no summary: the file is still being written, or its writer was killed"
        )?;
        if let Some(hint) = &info.hint {
            writeln!(out, "  hint: {hint} to rewrite it with one")?;
        }
        return Ok(());
    };
    print_file_header(out, s, info.size_bytes)?;
    writeln!(out)?;
    writeln!(out, "  {:<28} {:<26} {:>10}", "topic", "schema", "messages")?;
    for c in &s.channels {
        writeln!(
            out,
            "  {:<28} {:<26} {:>10}",
            c.topic,
            c.schema_name.as_deref().unwrap_or("-"),
            c.messages
        )?;
    }
    for (name, map) in &s.metadata {
        writeln!(out)?;
        writeln!(out, "  metadata {name}")?;
        for (k, v) in map {
            writeln!(out, "{}", format!("    {k:<22} {v}").trim_end())?;
        }
    }
    Ok(())
}

/// Session, program, time, messages and cycles of one file.
fn print_file_header(
    out: &mut impl std::io::Write,
    s: &FileSummary,
    size_bytes: u64,
) -> std::io::Result<()> {
    if let Some(m) = &s.session {
        let index = m
            .file_index
            .map_or_else(|| "?".to_owned(), |i| i.to_string());
        writeln!(
            out,
            "  session     {} (file {index}, {})",
            m.session_id, m.recorder
        )?;
        let hz = m
            .control_frequency_hz
            .map(|f| format!(" at {f} Hz"))
            .unwrap_or_default();
        let version = m.app_version.as_deref().unwrap_or("-");
        writeln!(out, "  program     {version}{hz}")?;
        if let Some(path) = &m.config_path {
            let hash = m.config_hash.as_deref().unwrap_or("");
            writeln!(out, "  config      {path} {hash}")?;
        }
    }
    writeln!(out, "  time        {}", fmt_range(s.start_time, s.end_time))?;
    let compression = if s.compression.is_empty() {
        "-".to_owned()
    } else {
        s.compression.join(", ")
    };
    writeln!(
        out,
        "  messages    {} in {} chunk(s) ({compression}): {} of records, {} compressed; file {}",
        s.message_count,
        s.chunk_count,
        fmt_bytes(s.uncompressed_bytes),
        fmt_bytes(s.compressed_bytes),
        fmt_bytes(size_bytes)
    )?;
    if let Some(end) = &s.file_end {
        let c = &end.cycles;
        writeln!(
            out,
            "  cycles      {} ({} with a violation, {} with a clamp; ids {})",
            c.cycles,
            c.violation_cycles,
            c.clamp_cycles,
            fmt_id_range(c.first_cycle, c.last_cycle)
        )?;
        writeln!(
            out,
            "  finished    {}; next file: {}",
            end.reason,
            end.next_file.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

fn recover_file(
    file: &Path,
    output: Option<PathBuf>,
    force: bool,
    json: bool,
) -> anyhow::Result<()> {
    existing_file(file)?;
    let output = output.unwrap_or_else(|| default_output(file));
    if same_file(file, &output) {
        return Err(UsageError(format!(
            "error: OUT is FILE itself ({}); recovery never changes its input\n  hint: give another -o",
            output.display()
        ))
        .into());
    }
    let exists = output.try_exists().unwrap_or(true);
    if exists && !force {
        return Err(UsageError(format!(
            "error: {} already exists; refusing to overwrite it\n  hint: give --force to replace it, or another -o",
            output.display()
        ))
        .into());
    }
    let report = if exists {
        replace(file, &output)?
    } else {
        recover(file, &output).with_context(|| format!("cannot recover {}", file.display()))?
    };
    let mut out = std::io::stdout().lock();
    if json {
        out.write_all(serde_json::to_string_pretty(&report)?.as_bytes())?;
        writeln!(out)?;
    } else {
        print_report(&mut out, file, &report)?;
    }
    out.flush()?;
    drop(out);
    if !report.input_complete {
        return Err(crate::ExitWith {
            code: 3,
            message: format!(
                "warning: data after the last complete chunk of {} was lost (exit code 3)",
                file.display()
            ),
        }
        .into());
    }
    Ok(())
}

/// `--force` over an existing OUT: recover beside it, then rename over it.
fn replace(file: &Path, output: &Path) -> anyhow::Result<RecoverReport> {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = output.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let mut report = match recover(file, &partial) {
        Ok(r) => r,
        Err(e) => {
            fs_err::remove_file(&partial).ok();
            return Err(anyhow::Error::new(e).context(format!("cannot recover {}", file.display())));
        }
    };
    if let Err(e) = fs_err::rename(&partial, output) {
        fs_err::remove_file(&partial).ok();
        return Err(e.into());
    }
    output.clone_into(&mut report.output);
    Ok(report)
}

fn print_report(
    out: &mut impl std::io::Write,
    file: &Path,
    r: &RecoverReport,
) -> std::io::Result<()> {
    writeln!(
        out,
        "recovered {} -> {}",
        file.display(),
        r.output.display()
    )?;
    writeln!(out, "  messages    {}", r.messages)?;
    writeln!(out, "  channels    {}", r.channels)?;
    writeln!(out, "  metadata    {} record(s)", r.metadata)?;
    if r.input_complete {
        writeln!(
            out,
            "  input       complete: it had its data end, nothing was lost"
        )?;
    } else {
        writeln!(
            out,
            "  input       incomplete: what came after the last complete chunk is lost"
        )?;
    }
    if let Some(p) = &r.problem {
        writeln!(out, "  problem     {p}")?;
    }
    Ok(())
}

/// `<stem>.recovered.mcap` beside `file`.
fn default_output(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map_or_else(|| "recovered".into(), |s| s.to_string_lossy().into_owned());
    file.with_file_name(format!("{stem}.recovered.mcap"))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs_err::canonicalize(a), fs_err::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The size of `file`, or a usage error when it is missing or not a file.
pub(super) fn existing_file(file: &Path) -> anyhow::Result<u64> {
    match fs_err::metadata(file) {
        Ok(m) if m.is_file() => Ok(m.len()),
        Ok(_) => Err(UsageError(format!("error: {} is not a file", file.display())).into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(UsageError(format!("error: no such file: {}", file.display())).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// `1.97 MB`, `812 B` (powers of 1000, as the recorder's `rotate_mb`).
pub(super) fn fmt_bytes(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let x = n as f64;
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", x / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} MB", x / 1e6),
        _ => format!("{:.2} GB", x / 1e9),
    }
}

/// `start .. end (12.3 s)`, or `-`.
pub(super) fn fmt_range(start: Option<Timestamp>, end: Option<Timestamp>) -> String {
    match (start, end) {
        (Some(a), Some(b)) => format!("{a} .. {b} ({})", fmt_seconds(b.nanos_since(a))),
        (Some(a), None) => format!("{a} .. ?"),
        _ => "-".to_owned(),
    }
}

/// `12.3 s`, `4 min 10 s`, `2 h 5 min`.
pub(super) fn fmt_seconds(nanos: i64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let s = nanos as f64 / 1e9;
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.0} min {:.0} s", (s / 60.0).floor(), (s % 60.0).floor())
    } else {
        format!(
            "{:.0} h {:.0} min",
            (s / 3600.0).floor(),
            ((s % 3600.0) / 60.0).floor()
        )
    }
}

/// `12..340`, or `-`.
pub(super) fn fmt_id_range(first: Option<u64>, last: Option<u64>) -> String {
    match (first, last) {
        (Some(a), Some(b)) => format!("{a}..{b}"),
        _ => "-".to_owned(),
    }
}
