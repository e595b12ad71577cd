//! Triage of a recorded session: the seed's read-only triage helper
//! (`mcap_triage.py`), behind `rewind triage`.
//!
//! The analysis is pure: payloads go into an [`Analyzer`] (or [`analyze`])
//! and a [`TriageReport`] comes out, with no clock and no I/O. [`compare()`]
//! sets a report against one of a known-good session. [`triage_files`] is
//! the only part that reads: it streams a session's files (up to their
//! first broken record, so live and crashed files count too) into an
//! analyzer.
//!
//! # What it reports
//!
//! - **Guard outcomes**: PASS, CLAMP, REJECT and FAULT per guard and per
//!   layer, from `/dam/L0` … `/dam/L3` (`guard_name`, `decision`; the layer
//!   is the topic's), with each guard's `latency_ms`.
//! - **Violation cycles and their reasons**: each cycle whose `/dam/cycle`
//!   has `has_violation`, or with a guard result REJECT or FAULT, with the
//!   rejecting guards and their `reason`, `violated_layer_mask`,
//!   `failure_type`, `failure_guard_names` and `active_context`; and every
//!   (guard, decision, reason) of the clamps, rejections and faults,
//!   counted. `clamp_cycles` counts `/dam/cycle` `has_clamp`.
//! - **Joints without response**: joints that received validated commands
//!   (`/dam/action` `validated_positions`, not rejected) that their observed
//!   position (`/dam/obs` `joint_positions`, `joint_velocities`) did not
//!   follow; the rule is in the `joints` module below and in
//!   `docs/recorder.md`.
//! - **Latency outliers** per layer (`/dam/latency` `L{n}_ms`), per guard
//!   (`latency_ms`) and per cycle (`/dam/cycle` `total_ms`): a sample above
//!   `max(outlier_factor × p50, p50 + outlier_margin_ms)`.
//! - **The initial pose**: the `/dam/obs` of the lowest cycle.
//! - **Context transitions** from `/dam/context_events`.
//! - [`compare()`]: initial poses, guard statistics and latency against a
//!   known-good session, with warnings when the two differ in
//!   configuration, version or task (the seed: compare sessions only when
//!   robot, task and calibration match).
//!
//! Every conclusion is also written as a sentence quoting its figures
//! ([`TriageReport::findings`], [`Comparison::findings`]). A payload that is
//! not a JSON object of the seed's shape is counted in
//! [`TriageReport::unreadable`] and skipped; nothing here panics on data.
//!
//! # Example
//!
//! ```
//! use rewind_recorder::triage::{SessionHeader, TriageOptions, analyze};
//!
//! let guard = br#"{"cycle_id":7,"guard_name":"zone","layer":2,"decision":"REJECT","reason":"outside"}"#;
//! let cycle = br#"{"cycle_id":7,"timestamp":0,"has_violation":true,"has_clamp":false}"#;
//! let messages = [("/dam/cycle", 1_u64, &cycle[..]), ("/dam/L2", 1, &guard[..])];
//! let report = analyze(messages, SessionHeader::named("s"), &TriageOptions::default());
//! assert_eq!(report.violation_cycles, 1);
//! assert_eq!(report.layers[2].decisions.reject, 1);
//! assert_eq!(report.violations[0].results[0].reason, "outside");
//! ```

mod compare;
mod findings;
mod guards;
mod joints;
mod latency;
mod payload;
mod read;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use rewind_model::Timestamp;
use serde::{Serialize, de::DeserializeOwned};

pub use self::{
    compare::{
        Comparison, GuardComparison, JointDelta, LatencyComparison, PoseComparison, compare,
    },
    guards::{
        DecisionCounts, GuardFinding, GuardStats, LAYER_NAMES, LayerStats, ReasonCount,
        ViolationCycle,
    },
    joints::{JointStats, Pose, Streak},
    latency::{LatencyStats, Outlier},
    read::triage_files,
};
use self::{
    guards::Guards,
    joints::Joints,
    latency::Dist,
    payload::{ActionMsg, ContextEventMsg, CycleMsg, GuardMsg, LatencyMsg, ObsMsg, Topic},
};

/// Thresholds of the analysis; [`Default`] gives the documented values.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageOptions {
    /// Violation cycles listed in full (all are counted). Default 200.
    pub max_listed: usize,
    /// Context transitions listed (all are counted). Default 100.
    pub max_context_events: usize,
    /// A command this far from the observed position (rad, or the joint's
    /// unit) commands the joint, and a move this large is a response.
    /// Default 0.01.
    pub position_tolerance: f64,
    /// An observed joint velocity above this is a response. Default 0.01.
    pub velocity_tolerance: f64,
    /// Shortest run of commands without response reported, in cycles.
    /// Default 10.
    pub min_unresponsive_cycles: u64,
    /// Shortest run of commands without response reported, in seconds of
    /// log time. Default 0.25.
    pub min_unresponsive_sec: f64,
    /// A latency above this many medians may be an outlier. Default 3.
    pub outlier_factor: f64,
    /// … and must also be this many milliseconds above the median.
    /// Default 1.0.
    pub outlier_margin_ms: f64,
    /// Initial joint positions further apart than this differ (compare).
    /// Default 0.05 rad.
    pub pose_tolerance: f64,
    /// Initial end-effector positions further apart than this differ, in
    /// metres (compare). Default 0.02.
    pub end_effector_tolerance: f64,
    /// A guard's share of non-passing results must grow by at least this
    /// much (and double) to be flagged (compare). Default 0.01.
    pub guard_rate_margin: f64,
}

impl Default for TriageOptions {
    fn default() -> Self {
        Self {
            max_listed: 200,
            max_context_events: 100,
            position_tolerance: 0.01,
            velocity_tolerance: 0.01,
            min_unresponsive_cycles: 10,
            min_unresponsive_sec: 0.25,
            outlier_factor: 3.0,
            outlier_margin_ms: 1.0,
            pose_tolerance: 0.05,
            end_effector_tolerance: 0.02,
            guard_rate_margin: 0.01,
        }
    }
}

/// Which session was analysed, from its `rewind.session` metadata and its
/// files (filled by the reader; plain data for the analysis).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionHeader {
    /// The session id.
    pub session_id: String,
    /// The control program's version.
    pub app_version: Option<String>,
    /// The loop's nominal frequency.
    pub control_frequency_hz: Option<f64>,
    /// The loop's configuration file hash, `sha256:<hex>`.
    pub config_hash: Option<String>,
    /// The files read, in order.
    pub files: Vec<TriagedFile>,
}

impl SessionHeader {
    /// A header with only a session id.
    pub fn named(session_id: impl Into<String>) -> Self {
        Self {
            session_id: session_id.into(),
            ..Self::default()
        }
    }
}

/// One file read for triage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TriagedFile {
    /// The file.
    pub path: PathBuf,
    /// Messages read from it.
    pub messages: u64,
    /// Whether it was read to its data end (false: still being written,
    /// or its writer was killed; read up to its last complete chunk).
    pub complete: bool,
    /// Why reading stopped early.
    pub problem: Option<String>,
}

/// A `/dam/context_events` transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextEvent {
    /// Its cycle.
    pub cycle_id: Option<u64>,
    /// Its log time.
    pub time: Timestamp,
    /// `enter`, `exit`, `preempt` or `escalate`.
    pub event: Option<String>,
    /// The context entered.
    pub ctx_name: Option<String>,
    /// The context left.
    pub from_ctx_name: Option<String>,
    /// The guard that caused it.
    pub trigger_guard: Option<String>,
    /// Why.
    pub trigger_reason: Option<String>,
}

/// Everything triage found in one session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageReport {
    /// The session.
    pub session: SessionHeader,
    /// Log time of the first message.
    pub start_time: Option<Timestamp>,
    /// Log time of the last message.
    pub end_time: Option<Timestamp>,
    /// Messages per topic.
    pub messages: BTreeMap<String, u64>,
    /// Payloads per topic that did not match the seed's schema (skipped).
    pub unreadable: BTreeMap<String, u64>,
    /// `/dam/cycle` messages.
    pub cycles: u64,
    /// Lowest `cycle_id` on `/dam/cycle`.
    pub first_cycle: Option<u64>,
    /// Highest `cycle_id` on `/dam/cycle`.
    pub last_cycle: Option<u64>,
    /// Cycles with a violation: `has_violation`, or a REJECT or FAULT.
    pub violation_cycles: u64,
    /// `/dam/cycle` messages with `has_clamp`.
    pub clamp_cycles: u64,
    /// `active_task` values seen (at most 20).
    pub active_tasks: Vec<String>,
    /// Decisions and `/dam/latency` per layer, L0 to L3.
    pub layers: Vec<LayerStats>,
    /// Decisions and latency per guard, by layer and name.
    pub guards: Vec<GuardStats>,
    /// Violation cycles in cycle order (the first `max_listed`).
    pub violations: Vec<ViolationCycle>,
    /// Clamp, reject and fault reasons, most frequent first.
    pub reasons: Vec<ReasonCount>,
    /// Joints, by index.
    pub joints: Vec<JointStats>,
    /// Cycles whose observation and action were paired.
    pub paired_cycles: u64,
    /// Observations or actions without their other half.
    pub unpaired: u64,
    /// `/dam/cycle` `total_ms`.
    pub cycle_latency: Option<LatencyStats>,
    /// The first observed pose.
    pub initial_pose: Option<Pose>,
    /// Context transitions (the first `max_context_events`).
    pub context_events: Vec<ContextEvent>,
    /// All context transitions.
    pub context_events_total: u64,
    /// The conclusions, as sentences.
    pub findings: Vec<String>,
    /// Against a known-good session, when asked ([`compare()`]).
    pub comparison: Option<Comparison>,
}

/// Takes a session's messages one at a time, in file order.
#[derive(Debug)]
pub struct Analyzer {
    options: TriageOptions,
    guards: Guards,
    joints: Joints,
    layer_latency: [Dist; 4],
    cycle_latency: Dist,
    messages: BTreeMap<String, u64>,
    unreadable: BTreeMap<String, u64>,
    cycles: u64,
    cycle_range: Option<(u64, u64)>,
    clamp_cycles: u64,
    tasks: BTreeSet<String>,
    context_events: Vec<ContextEvent>,
    context_events_total: u64,
    time_range: Option<(u64, u64)>,
}

impl Analyzer {
    /// An empty analysis.
    pub fn new(options: TriageOptions) -> Self {
        Self {
            joints: Joints::new(&options),
            options,
            guards: Guards::default(),
            layer_latency: Default::default(),
            cycle_latency: Dist::default(),
            messages: BTreeMap::new(),
            unreadable: BTreeMap::new(),
            cycles: 0,
            cycle_range: None,
            clamp_cycles: 0,
            tasks: BTreeSet::new(),
            context_events: Vec::new(),
            context_events_total: 0,
            time_range: None,
        }
    }

    /// One message: its topic, log time (Unix nanoseconds) and JSON payload.
    pub fn observe(&mut self, topic: &str, log_time: u64, payload: &[u8]) {
        match self.messages.get_mut(topic) {
            Some(n) => *n += 1,
            None => {
                self.messages.insert(topic.to_owned(), 1);
            }
        }
        self.time_range = Some(self.time_range.map_or((log_time, log_time), |(a, b)| {
            (a.min(log_time), b.max(log_time))
        }));
        let time = Timestamp::from_unix_nanos(i64::try_from(log_time).unwrap_or(i64::MAX));
        let max = self.options.max_listed;
        let read = match Topic::of(topic) {
            Topic::Cycle => parse(payload).map(|m| self.cycle(time, &m)),
            Topic::Obs => parse::<ObsMsg>(payload).map(|m| self.joints.obs(log_time, m)),
            Topic::Action => parse::<ActionMsg>(payload).map(|m| self.joints.action(m)),
            Topic::Guard(layer) => {
                parse::<GuardMsg>(payload).map(|m| self.guards.guard(layer, time, m, max))
            }
            Topic::Latency => parse(payload).map(|m| self.latency(&m)),
            Topic::ContextEvents => parse(payload).map(|m| self.context_event(time, m)),
            Topic::Other => Some(()),
        };
        if read.is_none() {
            *self.unreadable.entry(topic.to_owned()).or_default() += 1;
        }
    }

    fn cycle(&mut self, time: Timestamp, m: &CycleMsg) {
        self.cycles += 1;
        if let Some(c) = m.cycle_id {
            self.cycle_range = Some(
                self.cycle_range
                    .map_or((c, c), |(a, b)| (a.min(c), b.max(c))),
            );
        }
        self.clamp_cycles += u64::from(m.has_clamp == Some(true));
        if let Some(task) = &m.active_task
            && self.tasks.len() < 20
        {
            self.tasks.insert(task.clone());
        }
        if let Some(ms) = m.total_ms {
            self.cycle_latency.add(ms, m.cycle_id);
        }
        self.guards.cycle(time, m, self.options.max_listed);
    }

    fn latency(&mut self, m: &LatencyMsg) {
        for (dist, ms) in self.layer_latency.iter_mut().zip(m.layers()) {
            if let Some(ms) = ms {
                dist.add(ms, m.cycle_id);
            }
        }
    }

    fn context_event(&mut self, time: Timestamp, m: ContextEventMsg) {
        self.context_events_total += 1;
        if self.context_events.len() < self.options.max_context_events {
            self.context_events.push(ContextEvent {
                cycle_id: m.cycle_id,
                time,
                event: m.event,
                ctx_name: m.ctx_name,
                from_ctx_name: m.from_ctx_name,
                trigger_guard: m.trigger_guard,
                trigger_reason: m.trigger_reason,
            });
        }
    }

    /// The report, with its findings.
    pub fn finish(self, session: SessionHeader) -> TriageReport {
        let o = &self.options;
        let violation_cycles = self.guards.violation_cycles;
        let (guards, layers, violations, reasons) = self.guards.finish(&self.layer_latency, o);
        let paired_cycles = self.joints.paired;
        let unpaired = self.joints.unpaired();
        let initial_pose = self.joints.initial.clone();
        let time = |ns: u64| Timestamp::from_unix_nanos(i64::try_from(ns).unwrap_or(i64::MAX));
        let mut report = TriageReport {
            session,
            start_time: self.time_range.map(|(a, _)| time(a)),
            end_time: self.time_range.map(|(_, b)| time(b)),
            messages: self.messages,
            unreadable: self.unreadable,
            cycles: self.cycles,
            first_cycle: self.cycle_range.map(|(a, _)| a),
            last_cycle: self.cycle_range.map(|(_, b)| b),
            violation_cycles,
            clamp_cycles: self.clamp_cycles,
            active_tasks: self.tasks.into_iter().collect(),
            layers,
            guards,
            violations,
            reasons,
            joints: self.joints.finish(o),
            paired_cycles,
            unpaired,
            cycle_latency: (!self.cycle_latency.is_empty()).then(|| {
                self.cycle_latency
                    .stats(o.outlier_factor, o.outlier_margin_ms)
            }),
            initial_pose,
            context_events: self.context_events,
            context_events_total: self.context_events_total,
            findings: Vec::new(),
            comparison: None,
        };
        report.findings = findings::findings(&report);
        report
    }
}

/// Analyses `(topic, log time, payload)` messages in file order.
pub fn analyze<'a>(
    messages: impl IntoIterator<Item = (&'a str, u64, &'a [u8])>,
    session: SessionHeader,
    options: &TriageOptions,
) -> TriageReport {
    let mut a = Analyzer::new(options.clone());
    for (topic, log_time, payload) in messages {
        a.observe(topic, log_time, payload);
    }
    a.finish(session)
}

fn parse<T: DeserializeOwned>(payload: &[u8]) -> Option<T> {
    serde_json::from_slice(payload).ok()
}

#[cfg(test)]
mod tests;
