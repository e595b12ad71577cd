//! The deterministic explainer: an incident's summary, chain, actions, risk
//! and triage, written from the analysis alone.
//!
//! Every number and name it writes is copied from the timeline or the
//! analysis (the values of the evidence, the trigger, the deploys, the
//! matched chains' own text); nothing is computed that the analysis does
//! not already hold. [`grounded`](super::grounded()) checks it, and the tests
//! check it on every scenario of the library.

use std::fmt::Write as _;

use rewind_model::Severity;
use serde::Serialize;

use super::eval::ItemKind;
use super::grounded::{balanced, plain};
use super::rank::ordinal;
use super::{Analysis, Cause, EvidenceItem, Timeline};
use crate::words::number;

/// Confidence from which a cause is called likely.
const HIGH: f64 = 0.7;
/// Confidence from which a cause is called possible.
const MEDIUM: f64 = 0.4;
/// Two causes closer than this in confidence are both worth checking.
const CLOSE: f64 = 0.1;

/// What the explainer says about one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// One line: the likely cause, or "no known cause".
    pub headline: String,
    /// A paragraph: what fired, the chain, the numbers, the deploy, what to check.
    pub summary: String,
    /// The chain of evidence, one line per step seen.
    pub chain: Vec<String>,
    /// Suggested actions, most useful first.
    pub actions: Vec<String>,
    /// What is at stake.
    pub risk: Risk,
    /// The triage summary.
    pub triage: Triage,
}

/// A risk assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    /// How bad: the trigger's severity.
    pub level: Severity,
    /// Why, in a sentence or two.
    pub text: String,
}

/// A triage summary: how sure, what next, what the evidence cannot say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triage {
    /// The best cause's confidence; 0 when none matched.
    pub confidence: f64,
    /// `high`, `medium`, `low` or `none`.
    pub confidence_word: String,
    /// The one thing to do next.
    pub next_action: String,
    /// What the evidence does not show.
    pub limits: Vec<String>,
}

/// Explains `analysis` of `timeline`.
#[must_use]
pub fn explain(timeline: &Timeline, analysis: &Analysis) -> Explanation {
    match analysis.best() {
        Some(best) => known(timeline, analysis, best),
        None => unknown(timeline, analysis),
    }
}

fn fired(analysis: &Analysis) -> String {
    let t = &analysis.trigger;
    format!(
        "`{}` ({}, {}) fired at {}: {}",
        plain(&t.rule),
        t.rule_type,
        t.severity.as_str(),
        t.fired_at,
        balanced(&t.summary).trim_end_matches('.')
    )
}

fn known(timeline: &Timeline, analysis: &Analysis, best: &Cause) -> Explanation {
    let mut summary = format!("{}. ", fired(analysis));
    write!(
        summary,
        "The likely cause is {} (`{}`, confidence {}): {}",
        best.title,
        best.chain,
        number(best.confidence),
        sentence(&best.primary)
    )
    .ok();
    let steps: Vec<String> = best
        .evidence
        .iter()
        .map(|i| format!("{} ({})", i.what, placed(i)))
        .collect();
    write!(summary, " The chain, in order: {}.", steps.join(" → ")).ok();
    summary.push(' ');
    summary.push_str(&deploy_sentence(timeline, &best.evidence));
    for other in analysis.causes.iter().skip(1) {
        write!(
            summary,
            " Also matched: {} (`{}`, confidence {}).",
            other.title,
            other.chain,
            number(other.confidence)
        )
        .ok();
    }
    let next =
        best.actions.first().cloned().unwrap_or_else(|| {
            format!("Review the evidence of `{}` in the recording.", best.chain)
        });
    write!(summary, " Check next: {}", sentence(&next)).ok();
    Explanation {
        headline: format!(
            "Likely cause: {} (confidence {})",
            best.title,
            number(best.confidence)
        ),
        summary,
        chain: chain_lines(&best.evidence),
        actions: best.actions.clone(),
        risk: risk(analysis, best.risk.as_deref()),
        triage: Triage {
            confidence: best.confidence,
            confidence_word: word(best.confidence).to_owned(),
            next_action: next,
            limits: limits(analysis, Some(best)),
        },
    }
}

fn unknown(timeline: &Timeline, analysis: &Analysis) -> Explanation {
    let mut summary = format!("{}. ", fired(analysis));
    write!(
        summary,
        "No known cause: none of the {} chains matched.",
        analysis.chains_checked
    )
    .ok();
    if let Some(p) = analysis.partial.first() {
        let seen: Vec<String> = p
            .seen
            .iter()
            .map(|i| format!("{} ({})", i.what, placed(i)))
            .collect();
        write!(
            summary,
            " Closest: {} (`{}`) saw {}, but not {}.",
            p.title,
            p.chain,
            seen.join(" and "),
            p.missing
        )
        .ok();
    }
    let changes: Vec<&str> = analysis
        .correlated
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    if changes.is_empty() {
        summary.push_str(" No recorded series changed markedly around the trigger.");
    } else {
        write!(
            summary,
            " The strongest changes around the trigger: {}.",
            changes.join("; ")
        )
        .ok();
    }
    let lines: Vec<String> = analysis
        .notable
        .iter()
        .map(|n| {
            let when = if n.offset_s < 0.0 {
                format!("{} s before", number(-n.offset_s))
            } else {
                format!("{} s after", number(n.offset_s))
            };
            format!("{} from {} ({when}): \"{}\"", n.kind, n.source, n.message)
        })
        .collect();
    if !lines.is_empty() {
        write!(summary, " Events near the trigger: {}.", lines.join("; ")).ok();
    }
    summary.push(' ');
    summary.push_str(&deploy_sentence(timeline, &[]));
    let next = match analysis.correlated.first() {
        Some(c) => format!(
            "Look at `{}` and what it depends on around the trigger.",
            c.series
        ),
        None => "Read the recorded events and logs around the trigger.".to_owned(),
    };
    write!(summary, " Check next: {next}").ok();
    let mut actions = vec![next.clone()];
    if !analysis.correlated.is_empty() {
        actions.push(
            "Compare the changed series with the same device's earlier incidents.".to_owned(),
        );
    }
    actions.push(
        "Once the cause is understood, write a chain for it so the next incident is named."
            .to_owned(),
    );
    Explanation {
        headline: "No known cause".to_owned(),
        summary,
        chain: Vec::new(),
        actions,
        risk: risk(analysis, None),
        triage: Triage {
            confidence: 0.0,
            confidence_word: "none".to_owned(),
            next_action: next,
            limits: limits(analysis, None),
        },
    }
}

/// "8.2 s before the trigger", or "time not recorded".
fn placed(item: &EvidenceItem) -> String {
    if item.approximate {
        return "time not recorded".to_owned();
    }
    let abs = number(item.offset_s.abs());
    if item.offset_s < 0.0 {
        format!("{abs} s before the trigger")
    } else if item.offset_s > 0.0 {
        format!("{abs} s after the trigger")
    } else {
        "at the trigger".to_owned()
    }
}

/// One line per item; the time from the step before is left out when that
/// step's time is not known.
fn chain_lines(items: &[EvidenceItem]) -> Vec<String> {
    let mut prev_known = false;
    items
        .iter()
        .map(|item| {
            let mut line = format!("{}, {}: {}", item.what, placed(item), item.text);
            match item.gap_s {
                Some(gap) if prev_known && gap > 0.0 => {
                    write!(line, " ({} s after the step before)", number(gap)).ok();
                }
                Some(_) if prev_known => line.push_str(" (with the step before)"),
                _ => {}
            }
            prev_known = !item.approximate;
            line
        })
        .collect()
}

/// What the recording says about deploys.
fn deploy_sentence(timeline: &Timeline, evidence: &[EvidenceItem]) -> String {
    if let Some(item) = evidence.iter().find(|i| i.kind == ItemKind::Deploy) {
        return format!("Deploy: {}.", sentence_body(&item.text));
    }
    let at = timeline.fired_at();
    let nearest = timeline
        .deploys
        .iter()
        .min_by_key(|d| d.at.nanos_since(at).saturating_abs());
    if let Some(d) = nearest {
        let offset = super::eval::seconds(d.at.nanos_since(at));
        let when = if offset <= 0.0 {
            format!("{} s before the trigger", number(-offset))
        } else {
            format!("{} s after the trigger", number(offset))
        };
        return format!(
            "The nearest deploy is {} of {} version {}, {when}, but no chain ties it to the incident.",
            d.id, d.service, d.version
        );
    }
    match timeline.trigger.labels.get("version") {
        Some(v) => format!("The trigger's labels name version {v}."),
        None => "No deploy is recorded around the incident.".to_owned(),
    }
}

fn risk(analysis: &Analysis, chain_risk: Option<&str>) -> Risk {
    let level = analysis.trigger.severity;
    let mut text = format!("The trigger's severity is {}.", level.as_str());
    match chain_risk {
        Some(r) => {
            text.push(' ');
            text.push_str(&sentence(r));
        }
        None => {
            text.push_str(" With the cause unknown, the same failure can recur without warning.")
        }
    }
    if analysis.causes.len() > 1 {
        text.push_str(" More than one chain matched: several faults may compound.");
    }
    Risk { level, text }
}

fn limits(analysis: &Analysis, best: Option<&Cause>) -> Vec<String> {
    let mut out = vec![format!(
        "The recording covers {} s before and {} s after the trigger; anything earlier or later is unknown.",
        number(analysis.recorded_before_s),
        number(analysis.recorded_after_s)
    )];
    let Some(best) = best else {
        out.push(
            "Changes around the trigger are correlations, not causes; none matches a known chain."
                .to_owned(),
        );
        return out;
    };
    out.push("Order and closeness in time support the chain but do not prove it.".to_owned());
    for missing in &best.missing {
        out.push(format!("Not seen (optional step): {missing}."));
    }
    for item in best.evidence.iter().filter(|i| i.approximate) {
        out.push(format!(
            "The time of {} is not recorded; the chain only assumes it came before the next step.",
            item.what
        ));
    }
    if let Some(second) = analysis.causes.get(1)
        && best.confidence - second.confidence < CLOSE
    {
        out.push(format!(
            "`{}` ranks {} at confidence {}, close to `{}` at {}: both may be involved.",
            second.chain,
            ordinal(second.rank),
            number(second.confidence),
            best.chain,
            number(best.confidence)
        ));
    }
    out
}

fn word(confidence: f64) -> &'static str {
    if confidence >= HIGH {
        "high"
    } else if confidence >= MEDIUM {
        "medium"
    } else {
        "low"
    }
}

/// `text` ending with one full stop.
fn sentence(text: &str) -> String {
    format!("{}.", sentence_body(text))
}

/// `text` without its final full stop.
fn sentence_body(text: &str) -> &str {
    text.trim().trim_end_matches('.')
}

impl Explanation {
    /// The explanation as Markdown: what the dashboard, the CLI and the
    /// export show.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut out = format!("## {}\n\n{}\n", self.headline, self.summary);
        if !self.chain.is_empty() {
            out.push_str("\n### Chain\n\n");
            for line in &self.chain {
                writeln!(out, "- {line}").ok();
            }
        }
        out.push_str("\n### Suggested actions\n\n");
        for a in &self.actions {
            writeln!(out, "- {a}").ok();
        }
        write!(
            out,
            "\n### Risk: {}\n\n{}\n\n### Triage\n\n- Confidence: {} ({})\n- Next: {}\n- Limits:\n",
            self.risk.level.as_str(),
            self.risk.text,
            number(self.triage.confidence),
            self.triage.confidence_word,
            self.triage.next_action
        )
        .ok();
        for l in &self.triage.limits {
            writeln!(out, "  - {l}").ok();
        }
        out
    }
}
