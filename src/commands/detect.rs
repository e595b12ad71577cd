//! `rewind detect`: one recorded series scored row by row by
//! [`RollingDetector`], causally, into a CSV of scores and alarms.
//!
//! Each row is scored when it is read, from the rows before it only, and
//! written at once: the score of a row cannot depend on a later one. The
//! output goes to a temp file beside `--output`, renamed into place once
//! complete (fsynced first), so a reader never sees half a file.

pub(super) mod input;

use std::io::{BufWriter, Write as _};
use std::path::Path;

use anyhow::Context as _;
use rewind_detect::RuleKind;
use rewind_detect::kinds::change::Direction as ChangeDirection;
use rewind_detect::regression::{MetricKind, RegressionConfig, RollingDetector};
use rewind_model::Timestamp;

use self::input::{BadLines, for_each_line, nanos, parse_time};
use crate::{UsageError, cli::DetectArgs};

/// Inputs this large show a progress bar on stderr (when it is a terminal).
const PROGRESS_FROM_BYTES: u64 = 16 << 20;

/// The detector's settings and where they came from.
#[derive(Debug)]
struct Settings {
    config: RegressionConfig,
    kind: MetricKind,
    /// Feed −value, so that a detector watching rises catches falls.
    negate: bool,
    /// The `change` rule used, if any.
    rule: Option<String>,
}

/// The settings from `--rules`/`--rule` and `--baseline`.
fn settings(args: &DetectArgs) -> anyhow::Result<Settings> {
    let mut s = Settings {
        config: RegressionConfig::default(),
        kind: MetricKind::Other,
        negate: false,
        rule: None,
    };
    if let Some(path) = &args.rules {
        let rules = super::rules::load(path)?;
        let changes: Vec<_> = rules
            .rules()
            .iter()
            .filter_map(|r| match &r.kind {
                RuleKind::Change(c) => Some((r.name.as_str(), c)),
                _ => None,
            })
            .collect();
        let names = || {
            changes
                .iter()
                .map(|(n, _)| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let picked = match &args.rule {
            Some(want) => changes.iter().find(|(n, _)| n == want).ok_or_else(|| {
                UsageError(format!(
                    "error: {} has no `change` rule named {want:?}\n  hint: its change rules: {}",
                    path.display(),
                    if changes.is_empty() { "none".to_owned() } else { names() }
                ))
            })?,
            None => changes.first().ok_or_else(|| {
                UsageError(format!(
                    "error: {} has no rule of type `change`\n  hint: --rules takes the parameters of a `change` rule (baseline, min_samples, slack, limit, direction); see docs/rules.md",
                    path.display()
                ))
            })?,
        };
        let (name, c) = *picked;
        s.config.baseline_window_nanos = c.baseline_nanos;
        s.config.min_baseline_samples = usize::try_from(c.min_samples.max(2)).unwrap_or(2);
        s.config.cusum_k = c.slack;
        s.config.cusum_h = c.limit;
        (s.kind, s.negate) = match c.direction {
            ChangeDirection::Up => (MetricKind::Latency, false),
            ChangeDirection::Down => (MetricKind::Latency, true),
            ChangeDirection::Both => (MetricKind::Other, false),
        };
        s.rule = Some(name.to_owned());
    }
    if let Some(b) = args.baseline {
        s.config.baseline_window_nanos = nanos(b);
    }
    s.config
        .validate()
        .map_err(|e| UsageError(format!("error: {e}")))?;
    Ok(s)
}

/// What one run did.
#[derive(Debug, Default)]
struct Tally {
    rows: u64,
    alarms: Vec<Timestamp>,
    backwards: u64,
    scored: u64,
}

/// `rewind detect --input … --output …`.
pub(crate) fn run(args: &DetectArgs) -> anyhow::Result<()> {
    let s = settings(args)?;
    let mut detector = RollingDetector::new(s.config.clone(), s.kind)
        .map_err(|e| UsageError(format!("error: {e}")))?;
    let dir = match args.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".rewind-detect-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a temp file in {}", dir.display()))?;
    let mut out = BufWriter::new(tmp);
    writeln!(out, "timestamp,value,anomaly_score,alarm")?;
    let size = fs_err::metadata(&args.input).map(|m| m.len()).unwrap_or(0);
    let bar = progress(size);
    let mut bad = BadLines::new(&args.input);
    let mut tally = Tally::default();
    let mut first = true;
    let mut last: Option<Timestamp> = None;
    for_each_line(&args.input, |(number, line), read| {
        if tally.rows % 4096 == 0 {
            bar.set_position(read);
        }
        let text = match line {
            Ok(t) if t.trim().is_empty() || t.trim_start().starts_with('#') => return Ok(()),
            Ok(t) => t,
            Err(why) => {
                bad.push(number, why);
                return Ok(());
            }
        };
        let was_first = std::mem::replace(&mut first, false);
        let (ts_text, value_text, at, value) = match parse_row(text) {
            Ok(row) => row,
            // A first line that does not start with a time is the header.
            Err(_) if was_first && !starts_with_time(text) => return Ok(()),
            Err(why) => {
                bad.push(number, why);
                return Ok(());
            }
        };
        tally.backwards += u64::from(last.is_some_and(|l| at < l));
        last = Some(at);
        let scored = detector.push(at, if s.negate { -value } else { value });
        tally.rows += 1;
        tally.scored += u64::from(scored.anomaly_score > 0.0 || scored.z != 0.0);
        if scored.alarm.is_some() {
            tally.alarms.push(at);
        }
        writeln!(
            out,
            "{ts_text},{value_text},{:.4},{}",
            scored.anomaly_score,
            u8::from(scored.alarm.is_some())
        )
        .with_context(|| format!("cannot write to {}", dir.display()))
    })?;
    bar.finish_and_clear();
    if tally.rows == 0 {
        return Err(bad
            .nothing_usable(
                "row",
                "write one `timestamp,value` row a line, e.g. 2026-03-30T19:30:00Z,190.5",
            )
            .into());
    }
    bad.warn();
    let tmp = out
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write to {}: {}", dir.display(), e.error()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("cannot sync the temp file in {}", dir.display()))?;
    tmp.persist(&args.output)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", args.output.display(), e.error))?;
    report(args, &s, &tally, bad.count());
    Ok(())
}

/// `timestamp,value` as written, and parsed.
fn parse_row(text: &str) -> Result<(&str, &str, Timestamp, f64), String> {
    let mut fields = text.split(',').map(|f| f.trim().trim_matches('"').trim());
    let (Some(ts), Some(value)) = (fields.next(), fields.next()) else {
        return Err("expected `timestamp,value`".into());
    };
    let at = parse_time(ts)?;
    let v: f64 = value
        .parse()
        .map_err(|_| format!("the value `{value}` is not a number"))?;
    Ok((ts, value, at, v))
}

fn starts_with_time(text: &str) -> bool {
    text.split(',')
        .next()
        .is_some_and(|f| parse_time(f.trim().trim_matches('"')).is_ok())
}

fn progress(size: u64) -> indicatif::ProgressBar {
    if size < PROGRESS_FROM_BYTES {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(size),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template("scoring {bar:30} {bytes}/{total_bytes} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// One line on stdout: what was written, and the alarms.
fn report(args: &DetectArgs, s: &Settings, t: &Tally, skipped: u64) {
    let mut line = format!(
        "{}: {} row(s) scored, {} alarm(s)",
        args.output.display(),
        t.rows,
        t.alarms.len()
    );
    if let Some(first) = t.alarms.first() {
        line.push_str(&format!(", the first at {first}"));
    }
    if skipped > 0 {
        line.push_str(&format!(", {skipped} bad line(s) skipped"));
    }
    if let Some(rule) = &s.rule {
        line.push_str(&format!(" (change rule {rule:?})"));
    }
    println!("{line}");
    if t.backwards > 0 {
        eprintln!(
            "warning: {}: {} row(s) go back in time; rows are scored in file order",
            args.input.display(),
            t.backwards
        );
    }
    if t.scored == 0 {
        eprintln!(
            "warning: every score is 0: the baseline never held {} samples within {} s\n  hint: give a longer --baseline for sparse data (e.g. --baseline 4h for a sample every 5 minutes)",
            s.config.min_baseline_samples,
            s.config.baseline_window_nanos / 1_000_000_000
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_text_and_bad_ones_say_why() {
        let (ts, v, at, x) = parse_row(" \"2026-03-30 19:30:00\" , 1.50 ,extra").unwrap();
        assert_eq!((ts, v, x), ("2026-03-30 19:30:00", "1.50", 1.5));
        assert_eq!(at, parse_time("2026-03-30T19:30:00Z").unwrap());
        assert!(
            parse_row("2026-03-30T19:30:00Z")
                .unwrap_err()
                .contains("timestamp,value")
        );
        assert!(
            parse_row("2026-03-30T19:30:00Z,abc")
                .unwrap_err()
                .contains("`abc`")
        );
        assert!(parse_row("yesterday,1").unwrap_err().contains("not a time"));
    }
}
