//! Verdicts in plain words: which metric, by how much, since when, which deploy.

use std::fmt::Write as _;

use rewind_model::Timestamp;

use super::verdict::{DeployVerdict, Finding, InconclusiveReason, MetricVerdict, Period, Verdict};

/// A number with about three significant figures, as verdicts print them
/// (the CLI's tables use it too, so both agree).
#[must_use]
pub fn number(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(0.01..100_000.0).contains(&a) {
        format!("{x:.2e}")
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        format!("{x:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        format!("{x:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// A p-value: four decimals, or scientific notation below 10⁻⁴.
#[must_use]
pub fn p_value(x: f64) -> String {
    if x < 1e-4 {
        format!("{x:.1e}")
    } else {
        format!("{x:.4}")
    }
}

fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    #[allow(clippy::cast_precision_loss)] // seconds for display
    let s = b.nanos_since(a) as f64 / 1e9;
    s
}

/// One series in words; `deploy_at` adds "N s after the deploy".
pub(crate) fn metric_summary(m: &MetricVerdict, deploy_at: Option<Timestamp>) -> String {
    let mut s = String::new();
    let (before, after) = (m.baseline.map(|b| b.median), m.after_median);
    let moved = match m.relative_change {
        Some(r) if r >= 0.0 => "rose",
        Some(_) => "fell",
        None => "changed",
    };
    let by = |s: &mut String| {
        if let (Some(r), Some(b), Some(a)) = (m.relative_change, before, after) {
            write!(
                s,
                " {} (median {} → {})",
                pct(r.abs()),
                number(b),
                number(a)
            )
            .ok();
        }
    };
    match &m.finding {
        Finding::Regression | Finding::BeganBeforeDeploy { .. } => {
            let spread_only = m.relative_change.is_none_or(|r| r.abs() < 1e-12)
                || m.spread_ratio.is_some_and(|q| q > 1.0) && m.detection.is_none();
            if spread_only && m.spread_ratio.is_some() {
                write!(
                    s,
                    "{} became unsteady: its spread grew {}×",
                    m.series,
                    number(m.spread_ratio.unwrap_or(1.0))
                )
                .ok();
            } else if let Some(rate) = m.rate {
                write!(
                    s,
                    "{} {moved} from {} to {} events per sample ({}×; {} events in {} samples)",
                    m.series,
                    number(rate.before_rate),
                    number(rate.after_rate),
                    number(rate.ratio),
                    rate.after,
                    m.after_samples
                )
                .ok();
            } else {
                write!(s, "{} {moved}", m.series).ok();
                by(&mut s);
            }
            if let Some(d) = m.detection {
                write!(s, " since {}", d.change_at).ok();
                if let Some(at) = deploy_at {
                    let lag = secs_between(at, d.change_at);
                    if lag >= 0.0 {
                        write!(s, ", {} s after the deploy", number(lag)).ok();
                    }
                }
            }
            if let Finding::BeganBeforeDeploy { lead_seconds } = m.finding {
                write!(
                    s,
                    ", {} s before the deploy: not caused by it",
                    number(lead_seconds)
                )
                .ok();
            }
            if let Some(pv) = m.p_value {
                write!(s, " (p = {}", p_value(pv)).ok();
                if let Some(d) = m.cliffs_delta.filter(|_| !spread_only) {
                    write!(s, ", Cliff's δ = {}", number(d)).ok();
                }
                s.push(')');
            }
        }
        Finding::AttributedElsewhere { deploy_id } => {
            write!(s, "{} {moved}", m.series).ok();
            by(&mut s);
            write!(s, ", attributed to deploy {deploy_id}").ok();
        }
        Finding::BelowMinimumEffect => {
            write!(s, "{} {moved} significantly but only", m.series).ok();
            by(&mut s);
            s.push_str(", below the minimum effect");
        }
        Finding::Improvement => {
            write!(s, "{} improved:", m.series).ok();
            by(&mut s);
        }
        Finding::NoChange => {
            write!(s, "{} did not change", m.series).ok();
            if let Some(mde) = m.min_detectable_effect {
                write!(s, " (it could have seen a shift of ≥ {})", pct(mde)).ok();
            }
        }
        Finding::Inconclusive { reason } => {
            write!(s, "{}: {}", m.series, reason_words(reason)).ok();
        }
    }
    s
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
        } => {
            format!("too few samples {} ({have} of {need} needed)", period(p))
        }
        InconclusiveReason::DataMissing { have, expected } => {
            format!("data missing after the deploy ({have} samples of about {expected} expected)")
        }
        InconclusiveReason::TooLittleTraffic { events } => {
            format!("too little traffic to tell ({events} events in all)")
        }
        InconclusiveReason::Unconfirmed { have } => {
            format!("a change of at least the minimum effect that {have} samples cannot confirm")
        }
    }
}

/// The deploy in words.
pub(crate) fn deploy_summary(v: &DeployVerdict) -> String {
    let d = &v.deploy;
    let mut s = String::new();
    let what = match v.verdict {
        Verdict::Regression => "Regression after",
        Verdict::NoRegression => "No regression after",
        Verdict::Inconclusive => "Inconclusive for",
    };
    write!(s, "{what} deploy {} of {} {}", d.id, d.service, d.version).ok();
    if let Some(env) = &d.environment {
        write!(s, " ({env})").ok();
    }
    if v.partial {
        write!(s, " so far (window still open at {})", v.evaluated_until).ok();
    }
    s.push_str(": ");
    let pick: Vec<&MetricVerdict> = match v.verdict {
        Verdict::Regression | Verdict::Inconclusive => v
            .metrics
            .iter()
            .filter(|m| m.verdict == v.verdict)
            .collect(),
        Verdict::NoRegression => Vec::new(),
    };
    if v.metrics.is_empty() {
        s.push_str("no series of this service to judge.");
        return s;
    }
    if pick.is_empty() {
        write!(s, "{} series checked", v.metrics.len()).ok();
        let worst = v
            .metrics
            .iter()
            .filter_map(|m| m.min_detectable_effect.map(|e| (e, m)))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((e, m)) = worst {
            write!(
                s,
                "; it could have seen a shift of ≥ {} in {}",
                pct(e),
                m.series
            )
            .ok();
        }
        let pre: Vec<String> = v
            .metrics
            .iter()
            .filter(|m| {
                matches!(
                    m.finding,
                    Finding::BeganBeforeDeploy { .. } | Finding::AttributedElsewhere { .. }
                )
            })
            .map(|m| metric_summary(m, Some(d.at)))
            .collect();
        if !pre.is_empty() {
            write!(s, "; {}", pre.join("; ")).ok();
        }
        s.push('.');
        return s;
    }
    let parts: Vec<String> = pick.iter().map(|m| metric_summary(m, Some(d.at))).collect();
    s.push_str(&parts.join("; "));
    s.push('.');
    s
}
