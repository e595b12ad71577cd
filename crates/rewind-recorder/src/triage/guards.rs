//! Guard outcomes per guard and per layer, the cycles with violations and
//! why, and the reasons given for clamps, rejections and faults.

use std::collections::{BTreeMap, VecDeque};

use rewind_model::Timestamp;
use serde::Serialize;

use super::{
    TriageOptions,
    latency::{Dist, LatencyStats},
    payload::{CycleMsg, Decision, GuardMsg},
};

/// Layer names, as the seed maps `event_class` to layers.
pub const LAYER_NAMES: [&str; 4] = ["perception", "motion", "task", "hardware"];

/// Distinct reasons kept; past this, further ones are counted only.
const MAX_REASONS: usize = 1000;
/// Violation cycles remembered to merge a cycle's messages once the list is
/// full.
const RECENT_KEPT: usize = 4096;

/// How often each decision was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DecisionCounts {
    /// `PASS`.
    pub pass: u64,
    /// `CLAMP`.
    pub clamp: u64,
    /// `REJECT`.
    pub reject: u64,
    /// `FAULT`.
    pub fault: u64,
    /// A missing or unknown `decision`.
    pub other: u64,
}

impl DecisionCounts {
    pub(super) fn add(&mut self, d: Decision) {
        match d {
            Decision::Pass => self.pass += 1,
            Decision::Clamp => self.clamp += 1,
            Decision::Reject => self.reject += 1,
            Decision::Fault => self.fault += 1,
            Decision::Other => self.other += 1,
        }
    }

    /// Every result counted.
    pub fn total(&self) -> u64 {
        self.pass + self.clamp + self.reject + self.fault + self.other
    }

    /// Clamps, rejections and faults.
    pub fn not_passed(&self) -> u64 {
        self.clamp + self.reject + self.fault
    }

    /// Rejections and faults.
    pub fn violations(&self) -> u64 {
        self.reject + self.fault
    }
}

/// One guard's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardStats {
    /// Its layer (the `/dam/L{n}` topic it was recorded on).
    pub layer: u8,
    /// `guard_name`.
    pub guard: String,
    /// `event_class`, as last seen.
    pub event_class: Option<String>,
    /// Its decisions.
    pub decisions: DecisionCounts,
    /// Its `latency_ms`, when recorded.
    pub latency: Option<LatencyStats>,
}

/// One layer's results, over its guards.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerStats {
    /// 0 to 3.
    pub layer: u8,
    /// `perception`, `motion`, `task` or `hardware`.
    pub name: &'static str,
    /// Its guards' decisions, added up.
    pub decisions: DecisionCounts,
    /// Its `/dam/latency` `L{n}_ms`, when recorded.
    pub latency: Option<LatencyStats>,
}

/// A guard's result that was not a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardFinding {
    /// Its layer.
    pub layer: u8,
    /// `guard_name`.
    pub guard: String,
    /// `CLAMP`, `REJECT` or `FAULT`.
    pub decision: &'static str,
    /// `reason`.
    pub reason: String,
}

/// A cycle with a violation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViolationCycle {
    /// The cycle.
    pub cycle_id: u64,
    /// Log time of its `/dam/cycle` message (or of its first rejecting
    /// guard result).
    pub time: Option<Timestamp>,
    /// Whether `/dam/cycle` says `has_violation`.
    pub flagged_by_cycle: bool,
    /// Layers with a violation, from `violated_layer_mask` and the guard
    /// results.
    pub layers: Vec<u8>,
    /// `failure_type`.
    pub failure_type: Option<String>,
    /// `failure_guard_names`.
    pub failure_guard_names: Vec<String>,
    /// `active_context`.
    pub active_context: Option<String>,
    /// The guards that rejected or faulted, with their reasons.
    pub results: Vec<GuardFinding>,
}

/// How often one guard gave one reason for one decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// Its layer.
    pub layer: u8,
    /// `guard_name`.
    pub guard: String,
    /// `CLAMP`, `REJECT` or `FAULT`.
    pub decision: &'static str,
    /// `reason` (empty when none was given).
    pub reason: String,
    /// Results with this reason.
    pub count: u64,
    /// First cycle it was given in.
    pub first_cycle: Option<u64>,
    /// Last cycle it was given in.
    pub last_cycle: Option<u64>,
}

#[derive(Debug, Default)]
struct GuardAcc {
    event_class: Option<String>,
    decisions: DecisionCounts,
    latency: Dist,
}

/// Accumulates guard results and violation cycles.
#[derive(Debug, Default)]
pub(super) struct Guards {
    guards: BTreeMap<(u8, String), GuardAcc>,
    layers: [DecisionCounts; 4],
    violations: BTreeMap<u64, ViolationCycle>,
    /// Violation cycles not listed, kept to count each once.
    recent: VecDeque<u64>,
    pub(super) violation_cycles: u64,
    reasons: BTreeMap<(u8, String, Decision, String), ReasonCount>,
    pub(super) reasons_dropped: u64,
}

impl Guards {
    pub(super) fn guard(&mut self, layer: u8, time: Timestamp, m: GuardMsg, max_listed: usize) {
        let name = m.guard_name.unwrap_or_default();
        let decision = Decision::parse(m.decision.as_deref());
        let acc = self.guards.entry((layer, name.clone())).or_default();
        if m.event_class.is_some() {
            acc.event_class = m.event_class;
        }
        acc.decisions.add(decision);
        if let Some(ms) = m.latency_ms {
            acc.latency.add(ms, m.cycle_id);
        }
        if let Some(counts) = self.layers.get_mut(usize::from(layer)) {
            counts.add(decision);
        }
        if matches!(decision, Decision::Pass | Decision::Other) {
            return;
        }
        let reason = m.reason.unwrap_or_default();
        self.reason(layer, &name, decision, &reason, m.cycle_id);
        if let (true, Some(cycle)) = (decision.is_violation(), m.cycle_id) {
            let finding = GuardFinding {
                layer,
                guard: name,
                decision: decision.as_str(),
                reason,
            };
            if let Some(v) = self.violation(cycle, time, max_listed) {
                if !v.layers.contains(&layer) {
                    v.layers.push(layer);
                    v.layers.sort_unstable();
                }
                v.results.push(finding);
            }
        }
    }

    pub(super) fn cycle(&mut self, time: Timestamp, m: &CycleMsg, max_listed: usize) {
        let (Some(cycle), Some(true)) = (m.cycle_id, m.has_violation) else {
            return;
        };
        let Some(v) = self.violation(cycle, time, max_listed) else {
            return;
        };
        v.flagged_by_cycle = true;
        v.time = Some(time);
        let mask = m.violated_layer_mask.unwrap_or(0);
        for layer in 0..4_u8 {
            if mask & (1 << layer) != 0 && !v.layers.contains(&layer) {
                v.layers.push(layer);
            }
        }
        v.layers.sort_unstable();
        v.failure_type.clone_from(&m.failure_type);
        v.failure_guard_names = m.failure_guard_names.clone().unwrap_or_default();
        v.active_context.clone_from(&m.active_context);
    }

    /// The listed entry of a violation cycle, counting the cycle the first
    /// time it is seen; `None` once the list is full.
    fn violation(
        &mut self,
        cycle: u64,
        time: Timestamp,
        max_listed: usize,
    ) -> Option<&mut ViolationCycle> {
        if !self.violations.contains_key(&cycle) {
            if self.violations.len() >= max_listed {
                if !self.recent.contains(&cycle) {
                    self.violation_cycles += 1;
                    self.recent.push_back(cycle);
                    if self.recent.len() > RECENT_KEPT {
                        self.recent.pop_front();
                    }
                }
                return None;
            }
            self.violation_cycles += 1;
            self.violations.insert(
                cycle,
                ViolationCycle {
                    cycle_id: cycle,
                    time: Some(time),
                    flagged_by_cycle: false,
                    layers: Vec::new(),
                    failure_type: None,
                    failure_guard_names: Vec::new(),
                    active_context: None,
                    results: Vec::new(),
                },
            );
        }
        self.violations.get_mut(&cycle)
    }

    fn reason(&mut self, layer: u8, guard: &str, d: Decision, reason: &str, cycle: Option<u64>) {
        let key = (layer, guard.to_owned(), d, reason.to_owned());
        if !self.reasons.contains_key(&key) && self.reasons.len() >= MAX_REASONS {
            self.reasons_dropped += 1;
            return;
        }
        let r = self.reasons.entry(key).or_insert_with(|| ReasonCount {
            layer,
            guard: guard.to_owned(),
            decision: d.as_str(),
            reason: reason.to_owned(),
            count: 0,
            first_cycle: None,
            last_cycle: None,
        });
        r.count += 1;
        if let Some(c) = cycle {
            r.first_cycle = Some(r.first_cycle.map_or(c, |f| f.min(c)));
            r.last_cycle = Some(r.last_cycle.map_or(c, |l| l.max(c)));
        }
    }

    /// Guards sorted by layer and name; layers 0 to 3 (with their
    /// `/dam/latency` distributions); violation cycles in cycle order;
    /// reasons, most frequent first.
    pub(super) fn finish(
        self,
        layer_latency: &[Dist; 4],
        o: &TriageOptions,
    ) -> (
        Vec<GuardStats>,
        Vec<LayerStats>,
        Vec<ViolationCycle>,
        Vec<ReasonCount>,
    ) {
        let guards = self
            .guards
            .into_iter()
            .map(|((layer, guard), acc)| GuardStats {
                layer,
                guard,
                event_class: acc.event_class,
                decisions: acc.decisions,
                latency: (!acc.latency.is_empty())
                    .then(|| acc.latency.stats(o.outlier_factor, o.outlier_margin_ms)),
            })
            .collect();
        let layers = (0..4_u8)
            .zip(self.layers)
            .zip(layer_latency)
            .map(|((layer, decisions), dist)| LayerStats {
                layer,
                name: LAYER_NAMES[usize::from(layer)],
                decisions,
                latency: (!dist.is_empty())
                    .then(|| dist.stats(o.outlier_factor, o.outlier_margin_ms)),
            })
            .collect();
        let mut reasons: Vec<ReasonCount> = self.reasons.into_values().collect();
        reasons.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (a.layer, &a.guard, &a.reason).cmp(&(b.layer, &b.guard, &b.reason)))
        });
        (
            guards,
            layers,
            self.violations.into_values().collect(),
            reasons,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(cycle: u64, name: &str, decision: &str, reason: &str) -> GuardMsg {
        GuardMsg {
            cycle_id: Some(cycle),
            guard_name: Some(name.to_owned()),
            decision: Some(decision.to_owned()),
            reason: Some(reason.to_owned()),
            latency_ms: Some(1.0),
            ..GuardMsg::default()
        }
    }

    fn cycle(id: u64, mask: u64) -> CycleMsg {
        CycleMsg {
            cycle_id: Some(id),
            has_violation: Some(true),
            violated_layer_mask: Some(mask),
            failure_type: Some("guard_triggered".to_owned()),
            ..CycleMsg::default()
        }
    }

    #[test]
    fn a_cycle_and_its_guards_make_one_violation() {
        let mut g = Guards::default();
        let t = Timestamp::from_unix_nanos(5);
        g.guard(1, t, guard(7, "speed", "PASS", ""), 10);
        g.guard(2, t, guard(7, "zone", "REJECT", "outside"), 10);
        g.guard(3, t, guard(7, "motor", "FAULT", "temp"), 10);
        g.cycle(t, &cycle(7, 0b0101), 10);
        g.guard(1, t, guard(8, "speed", "CLAMP", "fast"), 10);
        assert_eq!(g.violation_cycles, 1);
        let (guards, layers, violations, reasons) =
            g.finish(&Default::default(), &TriageOptions::default());
        assert_eq!(guards.len(), 3);
        assert_eq!(layers[1].decisions.pass, 1);
        assert_eq!(layers[1].decisions.clamp, 1);
        assert_eq!(layers[2].decisions.reject, 1);
        assert_eq!(layers[3].decisions.fault, 1);
        assert_eq!(violations.len(), 1);
        let v = &violations[0];
        assert!(v.flagged_by_cycle);
        assert_eq!(v.layers, vec![0, 2, 3]);
        assert_eq!(v.results.len(), 2);
        assert_eq!(v.failure_type.as_deref(), Some("guard_triggered"));
        assert_eq!(reasons.len(), 3);
    }

    #[test]
    fn past_the_list_limit_cycles_are_still_counted_once() {
        let mut g = Guards::default();
        let t = Timestamp::from_unix_nanos(0);
        for c in 0..10 {
            g.cycle(t, &cycle(c, 1), 3);
            g.guard(0, t, guard(c, "ood", "REJECT", "ood"), 3);
        }
        assert_eq!(g.violation_cycles, 10);
        let (_, _, violations, reasons) = g.finish(&Default::default(), &TriageOptions::default());
        assert_eq!(violations.len(), 3);
        assert_eq!(reasons[0].count, 10);
        assert_eq!(
            (reasons[0].first_cycle, reasons[0].last_cycle),
            (Some(0), Some(9))
        );
    }
}
