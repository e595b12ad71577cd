//! `rewind bundle timeline FILE [--step S] [--series PATTERN …]`: metrics and
//! events side by side, one row per step, aligned on the trigger.

use std::{fmt::Write as _, io::Write as _, path::Path};

use rewind_bundle::Series;

use crate::UsageError;

/// Most metric columns, to keep the table readable.
const MAX_COLUMNS: usize = 6;
/// Most rows printed.
const MAX_ROWS: i64 = 5000;
/// Widest metric column, in characters (longer names are shortened).
const HEADER_WIDTH: usize = 22;
/// Narrowest metric column, in characters.
const MIN_WIDTH: usize = 8;
/// Width of the events cell, in characters.
const EVENTS_WIDTH: usize = 60;

pub(super) fn run(path: &Path, step: f64, patterns: &[String]) -> anyhow::Result<()> {
    if !(step.is_finite() && step >= 0.001) {
        return Err(
            UsageError(format!("--step must be at least 0.001 seconds, not {step}")).into(),
        );
    }
    let (_, bundle) = super::load(path)?;
    #[allow(clippy::cast_possible_truncation)]
    let step_ns = (step * 1e9).round() as i64;
    let window = bundle.manifest.time_range;
    let (start, end) = (window.start.as_unix_nanos(), window.end.as_unix_nanos());
    let fired = bundle.trigger.fired_at.as_unix_nanos();
    let first =
        (start - fired).div_euclid(step_ns) + i64::from((start - fired).rem_euclid(step_ns) != 0);
    let last = (end - fired).div_euclid(step_ns);
    if last - first + 1 > MAX_ROWS {
        return Err(UsageError(format!(
            "--step {step} gives {} rows; use a larger step (at most {MAX_ROWS} rows)",
            last - first + 1
        ))
        .into());
    }
    let (columns, left_out) = choose(&bundle, patterns);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: [{}] {} at {}",
        path.display(),
        bundle.trigger.severity,
        bundle.trigger.rule,
        bundle.trigger.fired_at
    )?;
    let widths: Vec<usize> = columns
        .iter()
        .map(|s| {
            s.name
                .as_str()
                .chars()
                .count()
                .clamp(MIN_WIDTH, HEADER_WIDTH)
        })
        .collect();
    let mut header = format!("{:<18}", "time");
    for (s, w) in columns.iter().zip(&widths) {
        let _ = write!(header, " {:>w$}", short(s.name.as_str()));
    }
    header.push_str("  events");
    writeln!(out, "{}", header.trim_end())?;
    let mut next_event = 0;
    for k in first..=last {
        let t = fired + k * step_ns;
        let mut row = format!("{:<18}", label(k, step_ns));
        for (s, w) in columns.iter().zip(&widths) {
            let _ = write!(row, " {:>w$}", value_at(s, t));
        }
        // Events since the previous row (the first row takes everything
        // before it, the last everything up to the window's end).
        let upto = if k == last { i64::MAX } else { t };
        let mut cell = Vec::new();
        while let Some(e) = bundle.events.get(next_event) {
            if e.ts.as_unix_nanos() > upto {
                break;
            }
            cell.push(format!("{}: {}", e.kind, cut(e.message.trim(), 40)));
            next_event += 1;
        }
        if !cell.is_empty() {
            let _ = write!(row, "  {}", cut(&cell.join("; "), EVENTS_WIDTH));
            if cell.len() > 1 {
                let _ = write!(row, " ({} events)", cell.len());
            }
        }
        writeln!(out, "{}", row.trim_end())?;
    }
    if columns.is_empty() {
        writeln!(
            out,
            "(no series matched; list them with `rewind bundle inspect`)"
        )?;
    }
    if left_out > 0 {
        writeln!(
            out,
            "({left_out} more series matched; at most {MAX_COLUMNS} columns: narrow them with --series)"
        )?;
    }
    for s in &columns {
        if short(s.name.as_str()) != s.name.as_str() {
            writeln!(
                out,
                "  {} = {} ({})",
                short(s.name.as_str()),
                s.name,
                s.unit
            )?;
        }
    }
    Ok(())
}

/// The columns: `patterns` in order, else the defaults; and how many more matched.
fn choose<'a>(bundle: &'a rewind_bundle::Bundle, patterns: &[String]) -> (Vec<&'a Series>, usize) {
    let defaults: Vec<String>;
    let patterns: &[String] = if patterns.is_empty() {
        defaults = bundle
            .trigger
            .evidence
            .iter()
            .map(|e| e.series.as_str().to_owned())
            .chain(
                [
                    "cpu.total.busy_pct",
                    "memory.available_bytes",
                    "topic.*.rate_hz",
                    "node.*.alive",
                ]
                .map(str::to_owned),
            )
            .collect();
        &defaults
    } else {
        patterns
    };
    let mut chosen: Vec<&Series> = Vec::new();
    for p in patterns {
        for s in &bundle.series {
            if glob(p, s.name.as_str()) && !chosen.iter().any(|c| c.name == s.name) {
                chosen.push(s);
            }
        }
    }
    let left_out = chosen.len().saturating_sub(MAX_COLUMNS);
    chosen.truncate(MAX_COLUMNS);
    (chosen, left_out)
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (head, tail) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(head) || name.len() < head.len() + tail.len() || !name.ends_with(tail) {
        return false;
    }
    let mut rest = &name[head.len()..name.len() - tail.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// `T-3.0s`, `T+0.0s ◀ trigger`.
fn label(k: i64, step_ns: i64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let secs = (k * step_ns) as f64 / 1e9;
    if k == 0 {
        "T+0.0s ◀ trigger".to_owned()
    } else {
        format!("T{secs:+.1}s")
    }
}

/// A header that fits the column: the name's end, which says the most.
fn short(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= HEADER_WIDTH {
        return name.to_owned();
    }
    let tail: String = chars[chars.len() - (HEADER_WIDTH - 1)..].iter().collect();
    format!("…{tail}")
}

/// The last sample at or before `t`, formatted with its unit; `-` if none.
fn value_at(s: &Series, t: i64) -> String {
    let n = s.t_nanos.partition_point(|&x| x <= t);
    let Some(v) = n.checked_sub(1).and_then(|i| s.v.get(i)) else {
        return "-".to_owned();
    };
    format_value(*v, &s.unit)
}

fn format_value(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    match unit {
        "percent" => format!("{v:.1}%"),
        "bytes" => format!("{:.0}MiB", v / 1_048_576.0),
        "bytes_per_second" => format!("{:.1}MiB/s", v / 1_048_576.0),
        "hertz" | "hz" | "Hz" => format!("{v:.1}Hz"),
        "celsius" => format!("{v:.1}°C"),
        "seconds" => format!("{v:.2}s"),
        "bool" => (if v == 0.0 { "no" } else { "yes" }).to_owned(),
        _ if v.fract() == 0.0 && v.abs() < 1e12 => format!("{v:.0}"),
        _ => format!("{v:.3}"),
    }
}

/// `s` cut to `max` characters, ending in `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut c: String = s.chars().take(max.saturating_sub(1)).collect();
    c.push('…');
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars() {
        assert!(glob("topic.*.rate_hz", "topic.cam.rate_hz"));
        assert!(!glob("topic.*.rate_hz", "topic.cam.bytes"));
        assert!(glob("cpu.*", "cpu.total.busy_pct"));
        assert!(glob("*", "x"));
        assert!(!glob("cpu", "cpu.total"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "ac"));
    }

    #[test]
    fn labels_and_values_are_compact() {
        assert_eq!(label(0, 1_000_000_000), "T+0.0s ◀ trigger");
        assert_eq!(label(-3, 1_000_000_000), "T-3.0s");
        assert_eq!(format_value(99.5, "percent"), "99.5%");
        assert_eq!(format_value(4.0 * 1_048_576.0, "bytes"), "4MiB");
        assert_eq!(format_value(10.0, "hertz"), "10.0Hz");
    }
}
