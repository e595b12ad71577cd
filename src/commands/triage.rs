//! `rewind triage [SESSION] [--dir D] [--compare KNOWN_GOOD] [--json]`: the
//! seed's read-only triage helper over `rewind_recorder::triage`. This file
//! only picks the files and renders the report.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    io::Write as _,
    path::{Path, PathBuf},
    time::SystemTime,
};

use rewind_recorder::{
    parse_file_name, session_files,
    triage::{
        Comparison, DecisionCounts, GuardStats, LatencyStats, TriageOptions, TriageReport, compare,
        triage_files,
    },
};

use super::{
    mcap::{fmt_id_range, fmt_range},
    sessions::check_dir,
};
use crate::{UsageError, cli::TriageArgs};

/// Runs `rewind triage`.
pub(crate) fn run(args: &TriageArgs) -> anyhow::Result<()> {
    let dir = &args.dir.dir;
    let files = match &args.session {
        Some(spec) => resolve(spec, dir)?,
        None => latest(dir)?,
    };
    let known_good = args
        .compare
        .as_deref()
        .map(|spec| resolve(spec, dir))
        .transpose()?;
    let options = TriageOptions::default();
    let mut report = triage_files(&files, &options)?;
    if let Some(files) = known_good {
        let good = triage_files(&files, &options)?;
        report.comparison = Some(compare(&report, &good, &options));
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        out.write_all(serde_json::to_string_pretty(&report)?.as_bytes())?;
        writeln!(out)?;
    } else {
        out.write_all(render(&report).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// An `.mcap` file, or a session id in `dir`.
fn resolve(spec: &str, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let path = Path::new(spec);
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    if spec.ends_with(".mcap") || spec.contains('/') {
        return Err(UsageError(format!("error: no such file: {spec}")).into());
    }
    check_dir(dir)?;
    let files = session_files(dir, spec)?;
    if files.is_empty() {
        return Err(UsageError(format!(
            "error: no session `{spec}` in {}\n  hint: `rewind sessions ls --dir {}` lists them; an .mcap file works too",
            dir.display(),
            dir.display()
        ))
        .into());
    }
    Ok(files)
}

/// The files of the session in `dir` whose files were modified last.
fn latest(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    check_dir(dir)?;
    let mut newest: BTreeMap<String, SystemTime> = BTreeMap::new();
    for entry in fs_err::read_dir(dir)? {
        let path = entry?.path();
        let Some((session, _)) = parse_file_name(&path) else {
            continue;
        };
        let modified = fs_err::metadata(&path)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let t = newest.entry(session).or_insert(modified);
        *t = (*t).max(modified);
    }
    let Some((session, _)) = newest.into_iter().max_by_key(|(_, t)| *t) else {
        return Err(UsageError(format!(
            "error: no sessions in {} (no <session>_<NNN>.mcap files)\n  hint: give --dir DIR, a session id or an .mcap file",
            dir.display()
        ))
        .into());
    };
    Ok(session_files(dir, &session)?)
}

/// The text report.
fn render(r: &TriageReport) -> String {
    let mut s = String::new();
    header(&mut s, r);
    section(&mut s, "Findings");
    for f in &r.findings {
        line(&mut s, format_args!("  - {f}"));
    }
    guards(&mut s, r);
    violations(&mut s, r);
    reasons(&mut s, r);
    joints(&mut s, r);
    pose_and_context(&mut s, r);
    if let Some(c) = &r.comparison {
        comparison(&mut s, c);
    }
    s
}

fn line(s: &mut String, args: std::fmt::Arguments<'_>) {
    s.write_fmt(args).ok();
    s.truncate(s.trim_end_matches(' ').len());
    s.push('\n');
}

fn section(s: &mut String, title: &str) {
    s.push('\n');
    s.push_str(title);
    s.push('\n');
}

fn header(s: &mut String, r: &TriageReport) {
    let h = &r.session;
    let live = h.files.iter().filter(|f| !f.complete).count();
    line(
        s,
        format_args!(
            "Triage of session {} ({} file(s){})",
            h.session_id,
            h.files.len(),
            if live > 0 {
                format!(", {live} read up to its last complete chunk")
            } else {
                String::new()
            }
        ),
    );
    let hz = h
        .control_frequency_hz
        .map(|f| format!(" at {f} Hz"))
        .unwrap_or_default();
    line(
        s,
        format_args!(
            "  program  {}{hz}; config {}",
            h.app_version.as_deref().unwrap_or("-"),
            h.config_hash.as_deref().unwrap_or("-")
        ),
    );
    line(
        s,
        format_args!("  time     {}", fmt_range(r.start_time, r.end_time)),
    );
    line(
        s,
        format_args!(
            "  cycles   {} (ids {}), {} with a violation, {} with a clamp; tasks {}",
            r.cycles,
            fmt_id_range(r.first_cycle, r.last_cycle),
            r.violation_cycles,
            r.clamp_cycles,
            if r.active_tasks.is_empty() {
                "-".to_owned()
            } else {
                r.active_tasks.join(", ")
            }
        ),
    );
}

fn guards(s: &mut String, r: &TriageReport) {
    section(
        s,
        "Guard outcomes (layer latency from /dam/latency, guard latency from latency_ms)",
    );
    line(
        s,
        format_args!(
            "  {:<24} {:>8} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8}",
            "layer / guard",
            "PASS",
            "CLAMP",
            "REJECT",
            "FAULT",
            "p50 ms",
            "p99 ms",
            "max ms",
            "outliers"
        ),
    );
    for l in &r.layers {
        let members: Vec<&GuardStats> = r.guards.iter().filter(|g| g.layer == l.layer).collect();
        if members.is_empty() && l.latency.is_none() {
            continue;
        }
        let name = format!("L{} {}", l.layer, l.name);
        outcome_row(s, &name, Some(&l.decisions), l.latency.as_ref());
        for g in members {
            outcome_row(
                s,
                &format!("  {}", g.guard),
                Some(&g.decisions),
                g.latency.as_ref(),
            );
        }
    }
    if let Some(c) = &r.cycle_latency {
        outcome_row(s, "cycle total_ms", None, Some(c));
    }
    slowest(s, r);
}

/// One row of the outcomes table: decisions, then latency.
fn outcome_row(s: &mut String, name: &str, d: Option<&DecisionCounts>, l: Option<&LatencyStats>) {
    let decisions = d.map_or_else(
        || format!("{:>8} {:>7} {:>7} {:>7}", "", "", "", ""),
        |d| {
            format!(
                "{:>8} {:>7} {:>7} {:>7}",
                d.pass, d.clamp, d.reject, d.fault
            )
        },
    );
    let latency = match l {
        Some(l) => format!(
            "{:>8.2} {:>8.2} {:>8.2} {:>8}",
            l.p50_ms, l.p99_ms, l.max_ms, l.outliers
        ),
        None => format!("{:>8} {:>8} {:>8} {:>8}", "-", "-", "-", "-"),
    };
    line(s, format_args!("  {name:<24} {decisions} {latency}"));
}

/// The slowest outliers of each layer, with their cycles.
fn slowest(s: &mut String, r: &TriageReport) {
    let mut first = true;
    for l in &r.layers {
        let Some(lat) = l.latency.as_ref().filter(|lat| lat.outliers > 0) else {
            continue;
        };
        if first {
            line(s, format_args!("  slowest outliers:"));
            first = false;
        }
        let cycles: Vec<String> = lat
            .slowest
            .iter()
            .map(|o| match o.cycle_id {
                Some(c) => format!("cycle {c} {:.2} ms", o.ms),
                None => format!("{:.2} ms", o.ms),
            })
            .collect();
        line(
            s,
            format_args!(
                "    L{} above {:.2} ms: {}",
                l.layer,
                lat.threshold_ms,
                cycles.join(", ")
            ),
        );
    }
}

fn violations(s: &mut String, r: &TriageReport) {
    section(s, &format!("Violation cycles ({})", r.violation_cycles));
    if r.violations.is_empty() {
        line(s, format_args!("  none"));
        return;
    }
    line(
        s,
        format_args!(
            "  {:>8}  {:<30}  {:<8}  {:<14}  reasons",
            "cycle", "time", "layers", "context"
        ),
    );
    for v in &r.violations {
        let layers: Vec<String> = v.layers.iter().map(|l| format!("L{l}")).collect();
        let mut reasons: Vec<String> = v
            .results
            .iter()
            .map(|g| {
                format!(
                    "L{} {} {}: {}",
                    g.layer,
                    g.guard,
                    g.decision,
                    or_dash(&g.reason)
                )
            })
            .collect();
        if v.results.is_empty() {
            reasons.push("flagged by /dam/cycle only".to_owned());
        }
        if let Some(t) = &v.failure_type {
            reasons.push(format!("failure_type {t}"));
        }
        line(
            s,
            format_args!(
                "  {:>8}  {:<30}  {:<8}  {:<14}  {}",
                v.cycle_id,
                v.time.map_or_else(|| "-".to_owned(), |t| t.to_string()),
                layers.join(","),
                v.active_context.as_deref().unwrap_or("-"),
                reasons.join("; ")
            ),
        );
    }
    let listed = r.violations.len() as u64;
    if listed < r.violation_cycles {
        line(
            s,
            format_args!(
                "  … {} more (see --json for the first {listed})",
                r.violation_cycles - listed
            ),
        );
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

fn reasons(s: &mut String, r: &TriageReport) {
    if r.reasons.is_empty() {
        return;
    }
    section(s, "Reasons given for clamps, rejections and faults");
    line(
        s,
        format_args!(
            "  {:>7}  {:<8}  {:<5}  {:<18}  {:<12}  reason",
            "count", "decision", "layer", "guard", "cycles"
        ),
    );
    for x in &r.reasons {
        line(
            s,
            format_args!(
                "  {:>7}  {:<8}  L{:<4}  {:<18}  {:<12}  {}",
                x.count,
                x.decision,
                x.layer,
                x.guard,
                fmt_id_range(x.first_cycle, x.last_cycle),
                or_dash(&x.reason)
            ),
        );
    }
}

fn joints(s: &mut String, r: &TriageReport) {
    section(
        s,
        &format!(
            "Joints: validated commands vs observed response ({} cycles paired)",
            r.paired_cycles
        ),
    );
    if r.joints.is_empty() {
        line(
            s,
            format_args!("  no /dam/obs joint_positions paired with /dam/action"),
        );
        return;
    }
    line(
        s,
        format_args!(
            "  {:>5}  {:>9}  {:>8}  longest run without response",
            "joint", "commanded", "max gap"
        ),
    );
    for j in &r.joints {
        let run = j.longest_unresponsive.as_ref().map_or_else(
            || "-".to_owned(),
            |x| {
                format!(
                    "{} cycles {}..{} ({:.2} s) at {:.3}{}",
                    x.cycles,
                    x.first_cycle,
                    x.last_cycle,
                    x.seconds,
                    x.observed_position,
                    if j.unresponsive { "  NO RESPONSE" } else { "" }
                )
            },
        );
        line(
            s,
            format_args!(
                "  {:>5}  {:>9}  {:>8.3}  {run}",
                j.joint, j.commanded_cycles, j.max_gap
            ),
        );
    }
}

fn pose_and_context(s: &mut String, r: &TriageReport) {
    if let Some(p) = &r.initial_pose {
        section(s, &format!("Initial pose (cycle {})", p.cycle_id));
        line(
            s,
            format_args!("  joints        {}", numbers(&p.joint_positions)),
        );
        if let Some(e) = &p.end_effector_pose {
            line(s, format_args!("  end effector  {}", numbers(e)));
        }
    }
    if r.context_events_total > 0 {
        section(
            s,
            &format!("Context transitions ({})", r.context_events_total),
        );
        for e in &r.context_events {
            line(
                s,
                format_args!(
                    "  cycle {}  {} {} -> {}  by {}: {}",
                    e.cycle_id.map_or_else(|| "?".to_owned(), |c| c.to_string()),
                    e.event.as_deref().unwrap_or("?"),
                    e.from_ctx_name.as_deref().unwrap_or("-"),
                    e.ctx_name.as_deref().unwrap_or("?"),
                    e.trigger_guard.as_deref().unwrap_or("-"),
                    e.trigger_reason.as_deref().unwrap_or("-")
                ),
            );
        }
    }
}

fn numbers(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn comparison(s: &mut String, c: &Comparison) {
    section(
        s,
        &format!("Compared with the known-good session {}", c.known_good),
    );
    for f in &c.findings {
        line(s, format_args!("  - {f}"));
    }
    let p = &c.initial_pose;
    if !p.joints.is_empty() {
        line(
            s,
            format_args!(
                "  {:>5}  {:>10}  {:>10}  {:>8}  initial pose",
                "joint", "here", "known-good", "delta"
            ),
        );
        for j in &p.joints {
            let cell = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.3}"));
            line(
                s,
                format_args!(
                    "  {:>5}  {:>10}  {:>10}  {:>8}  {}",
                    j.joint,
                    cell(j.session),
                    cell(j.known_good),
                    j.delta
                        .map_or_else(|| "-".to_owned(), |d| format!("{d:+.3}")),
                    if j.differs { "differs" } else { "" }
                ),
            );
        }
    }
    line(
        s,
        format_args!(
            "  {:<24} {:>16} {:>16}  flag",
            "guard (not passed)", "here", "known-good"
        ),
    );
    for g in &c.guards {
        let share =
            |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{:.2} %", x * 100.0));
        line(
            s,
            format_args!(
                "  {:<24} {:>16} {:>16}  {}",
                format!("L{} {}", g.layer, g.guard),
                share(g.session_not_passed),
                share(g.known_good_not_passed),
                g.flag.as_deref().unwrap_or("")
            ),
        );
    }
    for l in &c.latency {
        line(
            s,
            format_args!(
                "  L{} latency p99 {:.2} ms here, {:.2} ms known-good{}",
                l.layer,
                l.session_p99_ms,
                l.known_good_p99_ms,
                if l.flagged { "  slower" } else { "" }
            ),
        );
    }
}
