//! `rewind deploy analyze`: recorded metrics, deploys and logs in, one
//! verdict per deploy out — `regression`, `no_regression` or
//! `inconclusive` — with its evidence, as text or JSON.
//!
//! The files are read by [`recorded`]; the verdicts come from
//! [`analyze_deploys`] (which also attributes each change to the right
//! deploy) and the log signatures from [`logsig::compare`], the same code
//! the server and `rewind bench detect` use. The verdict is the metrics';
//! new log signatures are reported beside it as evidence, never on their
//! own a regression.
//!
//! Exit codes: 0 when no deploy regressed (inconclusive ones included), 1
//! when at least one did, 2 for bad arguments or unusable input.

mod recorded;

use std::fmt::Write as _;
use std::io::Write as _;

use rewind_detect::logsig::{self, ChangeKind, CompareConfig, LogLine, SignatureReport, Windows};
use rewind_detect::regression::{
    DeployRef, DeployVerdict, Finding, InconclusiveReason, MetricKind, MetricVerdict, Period,
    RegressionConfig, Verdict, analyze_deploys, number, p_value,
};
use rewind_model::Timestamp;
use serde::Serialize;

use self::recorded::{DeployRecord, FileCounts, LogRecord};
use crate::commands::detect::input::nanos;
use crate::{UsageError, cli::DeployAnalyzeArgs};

/// The service of a deploy that names none: it is judged on the series
/// that name none either (see [`rewind_detect::regression::Series::belongs_to`]).
const NO_SERVICE: &str = "*";

/// Everything `--json` prints.
#[derive(Debug, Serialize)]
struct Report {
    /// How many deploys got each verdict.
    totals: Totals,
    /// One entry per deploy, in the order of the deploys file.
    deploys: Vec<DeployReport>,
    /// The settings the verdicts depend on.
    settings: Settings,
    /// What was read.
    inputs: Inputs,
}

#[derive(Debug, Default, Serialize)]
struct Totals {
    deploys: usize,
    regression: usize,
    no_regression: usize,
    inconclusive: usize,
}

#[derive(Debug, Serialize)]
struct Settings {
    window_seconds: f64,
    baseline_seconds: f64,
    min_effect: f64,
}

#[derive(Debug, Serialize)]
struct Inputs {
    metrics: FileCounts,
    series: Vec<SeriesInfo>,
    ignored_fields: Vec<String>,
    deploys: FileCounts,
    logs: Vec<FileCounts>,
}

#[derive(Debug, Serialize)]
struct SeriesInfo {
    series: String,
    kind: MetricKind,
    samples: usize,
}

#[derive(Debug, Serialize)]
struct DeployReport {
    deploy: DeployRecord,
    verdict: Verdict,
    summary: String,
    detected_at: Option<Timestamp>,
    /// One per series of the deploy: regressions first (core [`MetricVerdict`]).
    metrics: Vec<MetricVerdict>,
    /// New and more frequent log signatures; absent without `--logs`.
    log_signatures: Option<SignatureReport>,
}

/// `rewind deploy analyze …`.
pub(crate) fn analyze(args: &DeployAnalyzeArgs) -> anyhow::Result<()> {
    let config = RegressionConfig {
        post_window_nanos: nanos(args.window),
        baseline_window_nanos: nanos(args.baseline),
        min_relative_effect: args.min_effect,
        ..RegressionConfig::default()
    };
    config.validate().map_err(|e| {
        UsageError(format!(
            "error: {e}\n  hint: --window and --baseline must be above 0"
        ))
    })?;
    let metrics = recorded::read_metrics(&args.metrics)?;
    if !metrics.ignored_fields.is_empty() {
        eprintln!(
            "warning: {}: field(s) {} are neither labels nor numbers; ignored",
            args.metrics.display(),
            metrics.ignored_fields.join(", ")
        );
    }
    let (deploys, deploy_counts) = recorded::read_deploys(&args.deploys)?;
    let mut logs = Vec::new();
    let mut log_counts = Vec::new();
    for path in &args.logs {
        let (lines, counts) = recorded::read_logs(path)?;
        logs.extend(lines);
        log_counts.push(counts);
    }
    logs.sort_by_key(|l| l.ts);
    let refs: Vec<DeployRef> = deploys.iter().map(deploy_ref).collect();
    let verdicts = analyze_deploys(&refs, &metrics.series, &config)
        .map_err(|e| UsageError(format!("error: {e}")))?;
    let mut totals = Totals::default();
    let mut reports = Vec::new();
    for ((record, r), v) in deploys.into_iter().zip(&refs).zip(verdicts) {
        let log_signatures = if args.logs.is_empty() {
            None
        } else {
            Some(signatures(&record, &logs, &config)?)
        };
        totals.deploys += 1;
        match v.verdict {
            Verdict::Regression => totals.regression += 1,
            Verdict::NoRegression => totals.no_regression += 1,
            Verdict::Inconclusive => totals.inconclusive += 1,
        }
        reports.push(DeployReport {
            summary: summary(&record, r, &v),
            verdict: v.verdict,
            detected_at: v.detected_at,
            metrics: v.metrics,
            deploy: record,
            log_signatures,
        });
    }
    let report = Report {
        totals,
        deploys: reports,
        settings: Settings {
            window_seconds: args.window.as_secs_f64(),
            baseline_seconds: args.baseline.as_secs_f64(),
            min_effect: args.min_effect,
        },
        inputs: Inputs {
            series: metrics
                .series
                .iter()
                .map(|s| SeriesInfo {
                    series: s.label(),
                    kind: s.kind,
                    samples: s.points.len(),
                })
                .collect(),
            metrics: metrics.counts,
            ignored_fields: metrics.ignored_fields,
            deploys: deploy_counts,
            logs: log_counts,
        },
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        out.write_all(render(&report).as_bytes())?;
    }
    out.flush()?;
    let regressed: Vec<&str> = report
        .deploys
        .iter()
        .filter(|d| d.verdict == Verdict::Regression)
        .map(|d| d.deploy.id.as_str())
        .collect();
    if regressed.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} of {} deploy(s) regressed: {} (exit code 1)",
        regressed.len(),
        report.totals.deploys,
        regressed.join(", ")
    )
}

fn deploy_ref(d: &DeployRecord) -> DeployRef {
    let mut r = DeployRef::new(
        d.service.as_deref().unwrap_or(NO_SERVICE),
        d.version.as_deref().unwrap_or(&d.id),
        d.timestamp,
    );
    r.id.clone_from(&d.id);
    r.environment.clone_from(&d.environment);
    r
}

/// The core's sentence, without the placeholder service and the version
/// repeated when the record has neither.
fn summary(d: &DeployRecord, r: &DeployRef, v: &DeployVerdict) -> String {
    let core = format!("deploy {} of {} {}", r.id, r.service, r.version);
    let mut mine = format!("deploy {}", d.id);
    if let Some(s) = &d.service {
        write!(mine, " of {s}").ok();
    }
    if let Some(version) = d.version.as_ref().filter(|v| **v != d.id) {
        write!(mine, " {version}").ok();
    }
    v.summary().replacen(&core, &mine, 1)
}

/// The log signatures around one deploy, from the lines of its service
/// (lines and deploys that name no service go with everything).
fn signatures(
    d: &DeployRecord,
    logs: &[LogRecord],
    cfg: &RegressionConfig,
) -> anyhow::Result<SignatureReport> {
    let at = d.timestamp;
    let windows = Windows::new(
        at.add_nanos(-cfg.baseline_window_nanos),
        at,
        at.add_nanos(cfg.post_window_nanos),
    )?;
    let from = logs.partition_point(|l| l.ts < windows.before_start());
    let to = logs.partition_point(|l| l.ts < windows.after_end());
    let lines = logs[from..to]
        .iter()
        .filter(|l| match (&l.service, &d.service) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        })
        .map(|l| LogLine::new(l.ts, l.level, &l.source, &l.text));
    Ok(logsig::compare(lines, &windows, &CompareConfig::default())?)
}

/// The text report: one block per deploy, then the totals.
fn render(report: &Report) -> String {
    let mut s = String::new();
    for d in &report.deploys {
        render_deploy(&mut s, d);
        s.push('\n');
    }
    let t = &report.totals;
    writeln!(
        s,
        "{} deploy(s): {} regression, {} no regression, {} inconclusive.",
        t.deploys, t.regression, t.no_regression, t.inconclusive
    )
    .ok();
    s
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Regression => "regression",
        Verdict::NoRegression => "no regression",
        Verdict::Inconclusive => "inconclusive",
    }
}

fn render_deploy(s: &mut String, d: &DeployReport) {
    let r = &d.deploy;
    let mut place = Vec::new();
    place.extend(r.service.clone());
    place.extend(r.environment.clone());
    place.push(r.line.clone());
    writeln!(
        s,
        "deploy {} at {} ({}): {}",
        r.id,
        r.timestamp,
        place.join(", "),
        verdict_word(d.verdict).to_uppercase()
    )
    .ok();
    writeln!(s, "  {}", d.summary).ok();
    render_evidence(s, &d.metrics, d.log_signatures.as_ref());
}

/// The per-series table and the log signatures of one verdict.
pub(super) fn render_evidence(
    s: &mut String,
    metrics: &[MetricVerdict],
    signatures: Option<&SignatureReport>,
) {
    if !metrics.is_empty() {
        let rows: Vec<[String; 8]> = metrics.iter().map(metric_row).collect();
        let head = [
            "series",
            "verdict",
            "median before → after",
            "change",
            "p",
            "confidence",
            "could see",
            "change at / note",
        ]
        .map(String::from);
        let mut widths = [0; 8];
        for row in std::iter::once(&head).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&head).chain(&rows) {
            let mut line = String::from("  ");
            for (i, (w, cell)) in widths.iter().zip(row).enumerate() {
                let pad = w - cell.chars().count();
                if (3..7).contains(&i) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i < 7 {
                        line.push_str(&" ".repeat(pad));
                    }
                }
                line.push_str("  ");
            }
            writeln!(s, "{}", line.trim_end()).ok();
        }
    }
    if let Some(sig) = signatures {
        render_signatures(s, sig);
    }
}

/// One table row: series, verdict, medians, change, p, confidence, the
/// minimum detectable effect, and when it changed or why not judged.
fn metric_row(m: &MetricVerdict) -> [String; 8] {
    let dash = || "-".to_owned();
    let medians = match (m.baseline.map(|b| b.median), m.after_median) {
        (Some(b), Some(a)) => format!("{} → {}", number(b), number(a)),
        (Some(b), None) => format!("{} → -", number(b)),
        _ => dash(),
    };
    let note = match &m.finding {
        Finding::Regression => m.detection.map_or_else(
            || "caused by this deploy".to_owned(),
            |x| format!("{} (this deploy)", x.change_at),
        ),
        Finding::AttributedElsewhere { deploy_id } => format!("caused by deploy {deploy_id}"),
        Finding::BeganBeforeDeploy { lead_seconds } => {
            format!(
                "began {} s before the deploy: not caused by it",
                number(*lead_seconds)
            )
        }
        Finding::BelowMinimumEffect => "below the minimum effect".to_owned(),
        Finding::Improvement => "improved".to_owned(),
        Finding::NoChange => dash(),
        Finding::Inconclusive { reason } => reason_words(reason),
    };
    [
        m.series.clone(),
        verdict_word(m.verdict).to_owned(),
        medians,
        m.relative_change
            .map_or_else(dash, |r| format!("{:+.1}%", 100.0 * r)),
        m.p_value.map_or_else(dash, p_value),
        m.confidence
            .map_or_else(dash, |c| format!("{:.1}%", 100.0 * c)),
        m.min_detectable_effect
            .map_or_else(dash, |e| format!("≥ {:.1}%", 100.0 * e)),
        note,
    ]
}

fn reason_words(r: &InconclusiveReason) -> String {
    let period = |p: &Period| match p {
        Period::Baseline => "in the baseline",
        Period::After => "after the deploy",
    };
    match r {
        InconclusiveReason::NoData { period: p } => format!("no data {}", period(p)),
        InconclusiveReason::TooFewSamples {
            period: p,
            have,
            need,
        } => format!("too few samples {} ({have} of {need})", period(p)),
        InconclusiveReason::DataMissing { have, expected } => {
            format!("data missing ({have} of ~{expected} samples)")
        }
        InconclusiveReason::TooLittleTraffic { events } => {
            format!("too little traffic ({events} events)")
        }
        InconclusiveReason::Unconfirmed { have } => {
            format!("too few samples to confirm ({have})")
        }
    }
}

fn render_signatures(s: &mut String, sig: &SignatureReport) {
    let new = sig
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::New)
        .count();
    let jumped = sig.changes.len() - new;
    writeln!(
        s,
        "  log signatures ({} error-ish line(s) before, {} after): {new} new, {jumped} more frequent",
        sig.counts.mined_before, sig.counts.mined_after
    )
    .ok();
    for c in &sig.changes {
        let kind = match c.kind {
            ChangeKind::New => "new",
            _ => "more frequent",
        };
        writeln!(
            s,
            "    {kind}: `{}` ({} after, {} before)",
            cut(&c.template, 160),
            c.count_after,
            c.count_before
        )
        .ok();
        writeln!(s, "      e.g. {} {}", c.first_after, cut(&c.example, 200)).ok();
    }
    if sig.counts.not_reported > 0 {
        writeln!(s, "    … and {} more", sig.counts.not_reported).ok();
    }
}

/// At most `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_only_what_the_record_has() {
        let at = Timestamp::from_unix_millis(1_774_900_800_000);
        let d = DeployRecord {
            id: "v1.4.2".into(),
            service: None,
            version: None,
            environment: Some("production".into()),
            commit: None,
            actor: None,
            timestamp: at,
            line: "d.jsonl:1".into(),
        };
        let r = deploy_ref(&d);
        let v = DeployVerdict::from_metrics(r.clone(), Vec::new(), false, at);
        assert!(
            v.summary().contains("deploy v1.4.2 of * v1.4.2"),
            "{}",
            v.summary()
        );
        let s = summary(&d, &r, &v);
        assert!(
            s.starts_with("Inconclusive for deploy v1.4.2 (production): "),
            "{s}"
        );
        let d = DeployRecord {
            service: Some("checkout".into()),
            version: Some("1.4.2".into()),
            ..d
        };
        let r = deploy_ref(&d);
        let v = DeployVerdict::from_metrics(r.clone(), Vec::new(), false, at);
        assert!(summary(&d, &r, &v).contains("deploy v1.4.2 of checkout 1.4.2 (production)"));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(0.02), "0.02");
        assert_eq!(number(190.0), "190");
        assert_eq!(number(1234.56), "1235");
        assert_eq!(number(0.000_12), "1.20e-4");
        assert_eq!(cut("abcdef", 3), "abc…");
    }
}
