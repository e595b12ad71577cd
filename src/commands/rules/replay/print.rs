//! The replay's output: a table per bundle for people, or one JSON document.

use std::io::Write;

use anyhow::Context as _;
use serde::Serialize;

use super::Report;
use crate::commands::rules::words::{offset, seconds};

/// The whole JSON document.
#[derive(Debug, Serialize)]
struct Output<'a> {
    rules: &'a str,
    bundles: &'a [Report],
    expectations: Vec<Expectation<'a>>,
}

/// One `--expect-fire` rule and the bundles it fired in and missed.
#[derive(Debug, Serialize)]
struct Expectation<'a> {
    rule: &'a str,
    fired_in: Vec<&'a str>,
    missed_in: Vec<&'a str>,
}

/// Writes the reports to stdout.
pub(super) fn write(
    rules: &str,
    reports: &[Report],
    expect_fire: &[String],
    json: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let expectations = expect_fire
            .iter()
            .map(|rule| {
                let (fired, missed): (Vec<&Report>, Vec<&Report>) =
                    reports.iter().partition(|r| r.fired.contains_key(rule));
                Expectation {
                    rule,
                    fired_in: fired.iter().map(|r| r.bundle.as_str()).collect(),
                    missed_in: missed.iter().map(|r| r.bundle.as_str()).collect(),
                }
            })
            .collect();
        let doc = Output {
            rules,
            bundles: reports,
            expectations,
        };
        // Serialised first, so a closed pipe is an I/O error `main` recognises.
        let text = serde_json::to_string_pretty(&doc).context("serialising the report")?;
        writeln!(out, "{text}").context("writing to stdout")?;
        return Ok(());
    }
    for (i, report) in reports.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        table(&mut out, rules, report).context("writing to stdout")?;
    }
    if reports.len() > 1 {
        let fired = reports.iter().filter(|r| r.original.fired).count();
        writeln!(
            out,
            "\n{} bundles replayed; the original trigger fired again in {fired} of them.",
            reports.len()
        )?;
    }
    Ok(())
}

fn table(out: &mut impl Write, rules: &str, r: &Report) -> std::io::Result<()> {
    let span = r.window.end.nanos_since(r.window.start);
    writeln!(out, "Replaying {} through {rules}", r.bundle)?;
    writeln!(
        out,
        "  bundle   {} from {}, {} series, {} samples",
        r.bundle_id, r.device_id, r.series, r.samples
    )?;
    writeln!(
        out,
        "  window   {:.3} .. {:.3} ({} s)",
        r.window.start,
        r.window.end,
        seconds(span)
    )?;
    writeln!(
        out,
        "  recorded [{}] \"{}\" fired at {:.3}: {}",
        r.recorded.severity, r.recorded.rule, r.recorded.fired_at, r.recorded.summary
    )?;
    writeln!(out)?;
    if r.signals.is_empty() {
        writeln!(
            out,
            "  No rule changed state: nothing was pending or fired."
        )?;
    } else {
        rows(out, r)?;
    }
    writeln!(out)?;
    for note in &r.notes {
        writeln!(out, "note: {note}")?;
    }
    let sentence = capitalised(&r.original.message);
    writeln!(out, "{sentence}.")
}

fn rows(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let header = [
        "time", "at", "rule", "subject", "state", "decision", "summary",
    ];
    let cells: Vec<[String; 7]> = r
        .signals
        .iter()
        .map(|s| {
            [
                offset(s.at.nanos_since(r.recorded.fired_at), 1),
                format!("{:.3}", s.at),
                s.rule.clone(),
                s.subject.clone(),
                s.state.to_owned(),
                s.decision_text.clone(),
                s.summary.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 7]| {
        let mut text = String::from(" ");
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == 0 {
                text.push_str(&format!(" {cell:>w$}")); // times align on the right
            } else if i == 6 {
                text.push_str(&format!("  {cell}"));
            } else {
                text.push_str(&format!("  {cell:<w$}"));
            }
        }
        text
    };
    writeln!(out, "{}", line(header))?;
    for row in &cells {
        writeln!(out, "{}", line(row.each_ref().map(String::as_str)))?;
    }
    Ok(())
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
