//! `rewind agent history`: the agent's starts, stops and crashes, and its
//! watched processes' events, newest first.

use std::io::Write as _;

use rewind_agent::history::{HistoryView, RunRow, RunStatus, read_history};
use rewind_model::Timestamp;

use super::state_dir;
use crate::cli::StateDirArgs;

/// `rewind agent history [--state-dir D] [--limit N] [--json]`.
pub(crate) fn run(at: &StateDirArgs, limit: usize, json: bool) -> anyhow::Result<()> {
    let dir = state_dir(at)?;
    let mut view = read_history(&dir, Timestamp::now())?;
    if limit > 0 {
        view.runs.truncate(limit);
        view.processes.truncate(limit);
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &view)?;
        writeln!(out)?;
        return Ok(());
    }
    print(&mut out, &view)?;
    if view.unreadable_lines > 0 {
        eprintln!(
            "warning: {} unreadable line(s) in {} (a line torn by a crash); the agent rewrites the file at its next start",
            view.unreadable_lines,
            view.path.display()
        );
    }
    Ok(())
}

fn print(out: &mut impl std::io::Write, view: &HistoryView) -> std::io::Result<()> {
    writeln!(out, "agent runs ({}), newest first", view.path.display())?;
    if view.runs.is_empty() {
        writeln!(out, "  none recorded")?;
    } else {
        writeln!(
            out,
            "{:>5}  {:<8}  {:<20}  {:<20}  {:>9}  {:>8}  {:<16}  {:<8}  note",
            "run", "status", "started", "stopped", "uptime", "pid", "host", "version"
        )?;
        for r in &view.runs {
            let line = format!(
                "{:>5}  {:<8}  {:<20}  {:<20}  {:>9}  {:>8}  {:<16}  {:<8}  {}",
                r.run,
                r.status.as_str(),
                time(r.started),
                r.stopped.map_or_else(|| "-".to_owned(), time),
                r.uptime_secs.map_or_else(|| "-".to_owned(), uptime),
                r.pid,
                r.host,
                r.version,
                note(r)
            );
            writeln!(out, "{}", line.trim_end())?;
        }
        let count = |s: RunStatus| view.runs.iter().filter(|r| r.status == s).count();
        writeln!(
            out,
            "{} runs shown: {} running, {} stopped, {} crashed",
            view.runs.len(),
            count(RunStatus::Running),
            count(RunStatus::Stopped),
            count(RunStatus::Crashed)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "watched processes, newest first")?;
    if view.processes.is_empty() {
        return writeln!(out, "  no process went missing or restarted");
    }
    writeln!(
        out,
        "{:<20}  {:>5}  {:<16}  {:<9}  message",
        "time", "run", "process", "event"
    )?;
    for p in &view.processes {
        writeln!(
            out,
            "{:<20}  {:>5}  {:<16}  {:<9}  {}",
            time(p.at),
            p.run,
            p.process,
            p.event,
            p.message
        )?;
    }
    Ok(())
}

fn note(r: &RunRow) -> String {
    match (r.status, r.reason.as_deref()) {
        (RunStatus::Crashed, None) if r.last_seen > r.started => {
            format!("no clean stop; last recorded {}", time(r.last_seen))
        }
        (RunStatus::Crashed, None) => "no clean stop".to_owned(),
        (_, Some(reason)) => reason.to_owned(),
        (_, None) => String::new(),
    }
}

/// `2026-11-23T10:00:05Z`: to the second, in UTC.
fn time(t: Timestamp) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(t.as_unix_nanos())).map_or_else(
        |_| t.to_string(),
        |j| j.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// `4.2s`, `12m04s`, `3h07m`, `2d05h`.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // rounded, non-negative seconds
fn uptime(secs: f64) -> String {
    if secs < 60.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as u64;
    if s < 3_600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h{:02}m", s / 3_600, s % 3_600 / 60)
    } else {
        format!("{}d{:02}h", s / 86_400, s % 86_400 / 3_600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptimes_read_at_a_glance() {
        assert_eq!(uptime(4.25), "4.2s");
        assert_eq!(uptime(724.0), "12m04s");
        assert_eq!(uptime(3.0 * 3600.0 + 7.0 * 60.0), "3h07m");
        assert_eq!(uptime(2.0 * 86_400.0 + 5.0 * 3600.0), "2d05h");
    }
}
