//! The report's conclusions as sentences, each quoting its figures.

use super::{LAYER_NAMES, LatencyStats, ReasonCount, TriageReport, ViolationCycle};

pub(super) fn findings(r: &TriageReport) -> Vec<String> {
    let mut out = Vec::new();
    for f in r.session.files.iter().filter(|f| !f.complete) {
        out.push(format!(
            "`{}` was read only up to its last complete chunk ({}): it is still being \
             written, or its writer was killed.",
            f.path.display(),
            f.problem.as_deref().unwrap_or("no data end")
        ));
    }
    violations(r, &mut out);
    clamps(r, &mut out);
    for j in r.joints.iter().filter(|j| j.unresponsive) {
        if let Some(s) = &j.longest_unresponsive {
            out.push(format!(
                "Joint {} received validated commands for {} cycles ({} to {}, {:.2} s) \
                 without an observed response: it stayed at {:.3} while commanded up to {:.3} away.",
                j.joint,
                s.cycles,
                s.first_cycle,
                s.last_cycle,
                s.seconds,
                s.observed_position,
                s.max_gap
            ));
        }
    }
    for l in &r.layers {
        if let Some(lat) = &l.latency {
            latency(&format!("L{} ({}) latency", l.layer, l.name), lat, &mut out);
        }
    }
    if let Some(lat) = &r.cycle_latency {
        latency("Cycle total_ms", lat, &mut out);
    }
    for (topic, n) in &r.unreadable {
        out.push(format!(
            "{n} payload(s) on {topic} did not match the seed's schema and were skipped."
        ));
    }
    let other: u64 = r.layers.iter().map(|l| l.decisions.other).sum();
    if other > 0 {
        out.push(format!(
            "{other} guard result(s) had no PASS, CLAMP, REJECT or FAULT decision."
        ));
    }
    out
}

fn violations(r: &TriageReport, out: &mut Vec<String>) {
    if r.violation_cycles == 0 {
        if r.cycles > 0 {
            out.push(format!("No violations in {} cycles.", r.cycles));
        } else {
            out.push(
                "No /dam/cycle messages and no rejecting guard results: no violations seen."
                    .to_owned(),
            );
        }
        return;
    }
    let first = r
        .violations
        .first()
        .map(|v| format!("; the first at cycle {}: {}", v.cycle_id, describe(v)))
        .unwrap_or_default();
    let counted = if r.cycles > 0 {
        format!("{} of {} cycles", r.violation_cycles, r.cycles)
    } else {
        plural(r.violation_cycles, "cycle")
    };
    out.push(format!("{counted} had a violation{first}."));
    if let Some(top) = r.reasons.iter().find(|x| x.decision != "CLAMP") {
        out.push(format!("Most frequent violation: {}.", reason(top)));
    }
}

fn clamps(r: &TriageReport, out: &mut Vec<String>) {
    let clamp_results: u64 = r.layers.iter().map(|l| l.decisions.clamp).sum();
    if clamp_results == 0 && r.clamp_cycles == 0 {
        return;
    }
    let top = r
        .reasons
        .iter()
        .find(|x| x.decision == "CLAMP")
        .map(|x| format!("; most frequent: {}", reason(x)))
        .unwrap_or_default();
    out.push(format!(
        "{} flagged has_clamp and guards clamped {}{top}.",
        plural(r.clamp_cycles, "cycle"),
        plural(clamp_results, "time")
    ));
}

fn latency(what: &str, lat: &LatencyStats, out: &mut Vec<String>) {
    if lat.outliers == 0 {
        return;
    }
    let slowest = lat
        .slowest
        .first()
        .map(|s| match s.cycle_id {
            Some(c) => format!("; the slowest {:.2} ms at cycle {c}", s.ms),
            None => format!("; the slowest {:.2} ms", s.ms),
        })
        .unwrap_or_default();
    out.push(format!(
        "{what}: {} above {:.2} ms (p50 {:.2} ms){slowest}.",
        plural(lat.outliers, "outlier"),
        lat.threshold_ms,
        lat.p50_ms
    ));
}

/// `L2 (task) \`zone\` REJECT "outside" (3 times, cycles 10 to 12)`.
fn reason(x: &ReasonCount) -> String {
    let cycles = match (x.first_cycle, x.last_cycle) {
        (Some(a), Some(b)) if a != b => format!(", cycles {a} to {b}"),
        (Some(a), _) => format!(", cycle {a}"),
        _ => String::new(),
    };
    format!(
        "L{} ({}) `{}` {}{} ({}{cycles})",
        x.layer,
        layer_name(x.layer),
        x.guard,
        x.decision,
        quoted(&x.reason),
        plural(x.count, "time"),
    )
}

/// What a violation cycle's guards said, or what its cycle record says.
pub(super) fn describe(v: &ViolationCycle) -> String {
    let mut parts: Vec<String> = v
        .results
        .iter()
        .map(|g| {
            format!(
                "L{} `{}` {}{}",
                g.layer,
                g.guard,
                g.decision,
                quoted(&g.reason)
            )
        })
        .collect();
    if parts.is_empty() {
        let layers: Vec<String> = v.layers.iter().map(|l| format!("L{l}")).collect();
        parts.push(format!(
            "flagged by /dam/cycle (layers {}) without a rejecting guard result",
            if layers.is_empty() {
                "unknown".to_owned()
            } else {
                layers.join(", ")
            }
        ));
    }
    if let Some(t) = &v.failure_type {
        parts.push(format!("failure_type {t}"));
    }
    parts.join("; ")
}

fn quoted(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" \"{reason}\"")
    }
}

fn layer_name(layer: u8) -> &'static str {
    LAYER_NAMES.get(usize::from(layer)).copied().unwrap_or("?")
}

pub(super) fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
