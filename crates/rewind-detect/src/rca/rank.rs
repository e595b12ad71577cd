//! Every chain against the timeline, the matches ranked with a reason each.

use rewind_model::Trigger;
use serde::Serialize;

use super::Timeline;
use super::correlate::{self, Correlated, Notable};
use super::eval::{self, EvidenceItem, Outcome, Prepared};
use super::lang::{Chain, ChainSet, Template};
use crate::words::number;

/// How many correlated changes an analysis lists.
const CORRELATED: usize = 5;
/// How many notable events an analysis lists.
const NOTABLE: usize = 5;
/// How many near misses an analysis lists.
const PARTIALS: usize = 5;

/// The result of a root-cause analysis of one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The trigger analysed.
    pub trigger: Trigger,
    /// How many chains were tried.
    pub chains_checked: usize,
    /// The chains that matched, best first. Empty: no known cause.
    pub causes: Vec<Cause>,
    /// Chains that began (some steps seen) but missed a required step,
    /// most steps first: what was *not* seen.
    pub partial: Vec<Partial>,
    /// The series that changed most around the trigger, most first.
    pub correlated: Vec<Correlated>,
    /// Events at warning or above close to the trigger, closest first.
    pub notable: Vec<Notable>,
    /// Seconds of recording before the trigger.
    pub recorded_before_s: f64,
    /// Seconds of recording after the trigger.
    pub recorded_after_s: f64,
}

/// One chain that matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cause {
    /// 1 for the best.
    pub rank: usize,
    /// The chain's name.
    pub chain: String,
    /// The chain's title.
    pub title: String,
    /// The primary cause: the chain's `cause`, filled from the evidence.
    pub primary: String,
    /// `prior × (0.5 + 0.5 × coverage) × timing`, in `(0, 1]`, to 3 decimals.
    pub confidence: f64,
    /// The chain's prior.
    pub prior: f64,
    /// Steps seen over steps in the chain.
    pub coverage: f64,
    /// 1 when each step followed the one before at once, down to 0.5 when
    /// each came at the end of its `within`.
    pub timing: f64,
    /// Steps seen.
    pub steps_seen: usize,
    /// Steps in the chain.
    pub steps_total: usize,
    /// The chain of evidence, one item per step seen, in order.
    pub evidence: Vec<EvidenceItem>,
    /// `what` of the optional steps not seen.
    pub missing: Vec<String>,
    /// Suggested actions, filled.
    pub actions: Vec<String>,
    /// What happens if nothing is done, filled.
    pub risk: Option<String>,
    /// Why it ranks where it does, one sentence.
    pub reason: String,
}

/// A chain that began but did not complete.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Partial {
    /// The chain's name.
    pub chain: String,
    /// The chain's title.
    pub title: String,
    /// The steps seen before the first required one that was not.
    pub seen: Vec<EvidenceItem>,
    /// `what` of that step.
    pub missing: String,
}

impl Analysis {
    /// The best cause, if any chain matched.
    #[must_use]
    pub fn best(&self) -> Option<&Cause> {
        self.causes.first()
    }
}

/// Runs every chain of `chains` over `timeline` and ranks the matches.
///
/// Pure and deterministic: the same timeline and chains give the same
/// analysis. Never fails: an empty or odd timeline gives no causes.
#[must_use]
pub fn analyze(timeline: &Timeline, chains: &ChainSet) -> Analysis {
    let prepared = Prepared::new(timeline);
    let mut causes = Vec::new();
    let mut partial = Vec::new();
    for chain in chains.chains() {
        match eval::evaluate(chain, &prepared) {
            Outcome::Matched(m) => causes.push(cause(chain, m, timeline)),
            Outcome::Partial { seen, missing } => partial.push(Partial {
                chain: chain.name.clone(),
                title: chain.title.clone(),
                seen,
                missing,
            }),
            Outcome::Nothing => {}
        }
    }
    causes.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(b.steps_seen.cmp(&a.steps_seen))
            .then(b.timing.total_cmp(&a.timing))
            .then_with(|| a.chain.cmp(&b.chain))
    });
    let reasons: Vec<String> = (0..causes.len()).map(|i| reason(&causes, i)).collect();
    for (i, (c, r)) in causes.iter_mut().zip(reasons).enumerate() {
        c.rank = i + 1;
        c.reason = r;
    }
    partial.sort_by(|a, b| {
        b.seen
            .len()
            .cmp(&a.seen.len())
            .then_with(|| a.chain.cmp(&b.chain))
    });
    partial.truncate(PARTIALS);
    let (recorded_before_s, recorded_after_s) = correlate::reach(timeline);
    Analysis {
        trigger: timeline.trigger.clone(),
        chains_checked: chains.chains().len(),
        causes,
        partial,
        correlated: correlate::strongest(timeline, CORRELATED),
        notable: correlate::notable(timeline, NOTABLE),
        recorded_before_s,
        recorded_after_s,
    }
}

fn cause(chain: &Chain, m: eval::Matched, timeline: &Timeline) -> Cause {
    let fill = |t: &Template| t.fill(|step, key| lookup(&m.items, timeline, step, key));
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    let coverage = round(m.coverage);
    let timing = round(m.timing);
    Cause {
        rank: 0,
        chain: chain.name.clone(),
        title: chain.title.clone(),
        primary: fill(&chain.cause),
        confidence: round(chain.prior * (0.5 + 0.5 * m.coverage) * m.timing),
        prior: chain.prior,
        coverage,
        timing,
        steps_seen: m.items.len(),
        steps_total: chain.steps.len(),
        actions: chain.actions.iter().map(fill).collect(),
        risk: chain.risk.as_ref().map(fill),
        evidence: m.items,
        missing: m.missing,
        reason: String::new(),
    }
}

/// The value a placeholder names: `{trigger.rule}` or `{step.key}`.
fn lookup(items: &[EvidenceItem], timeline: &Timeline, step: &str, key: &str) -> Option<String> {
    if step == "trigger" {
        let t = &timeline.trigger;
        return match key {
            "rule" => Some(t.rule.clone()),
            "type" => Some(t.rule_type.clone()),
            "severity" => Some(t.severity.as_str().to_owned()),
            "summary" => Some(t.summary.clone()),
            "time" => Some(t.fired_at.to_string()),
            label => t.labels.get(label).cloned(),
        };
    }
    items
        .iter()
        .find(|i| i.step == step)
        .and_then(|i| i.values.get(key).cloned())
}

/// "first", "second", …
pub(crate) fn ordinal(rank: usize) -> String {
    const WORDS: [&str; 8] = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
    ];
    WORDS
        .get(rank.wrapping_sub(1))
        .map_or_else(|| format!("number {rank}"), |w| (*w).to_owned())
}

/// The factors of a confidence, in words.
fn factors(c: &Cause) -> String {
    format!(
        "confidence {} (prior {}, {} of {} steps seen, timing {})",
        number(c.confidence),
        number(c.prior),
        c.steps_seen,
        c.steps_total,
        number(c.timing)
    )
}

/// Why `causes[i]` ranks where it does, against its neighbour.
fn reason(causes: &[Cause], i: usize) -> String {
    let me = &causes[i];
    if causes.len() == 1 {
        return format!("The only chain that matched, with {}.", factors(me));
    }
    let place = ordinal(i + 1);
    if i == 0 {
        let next = &causes[1];
        let why = advantage(me, next).map_or_else(
            || "level on confidence, listed first by steps seen, then name".to_owned(),
            |w| format!("for its {w}"),
        );
        return format!(
            "Ranked {place} with {}; above `{}` ({}), {why}.",
            factors(me),
            next.chain,
            number(next.confidence),
        );
    }
    let above = &causes[i - 1];
    let why = advantage(above, me).map_or_else(
        || "level on confidence, listed after it by steps seen, then name".to_owned(),
        |w| format!("which has the {w}"),
    );
    format!(
        "Ranked {place} with {}; below `{}` ({}), {why}.",
        factors(me),
        above.chain,
        number(above.confidence),
    )
}

/// What `a` has over `b`: the factor of the confidence where `a` leads most.
fn advantage(a: &Cause, b: &Cause) -> Option<&'static str> {
    let ratio = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::INFINITY };
    let options = [
        (ratio(a.prior, b.prior), "higher prior"),
        (
            ratio(0.5 + 0.5 * a.coverage, 0.5 + 0.5 * b.coverage),
            "larger share of its steps seen",
        ),
        (ratio(a.timing, b.timing), "tighter timing"),
    ];
    options
        .iter()
        .filter(|(r, _)| *r > 1.0)
        .max_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(_, w)| *w)
}
