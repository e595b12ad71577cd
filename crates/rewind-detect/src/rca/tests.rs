//! Tests of the root-cause analysis over recorded-style scenarios.
//!
//! Scenarios are built the way the agent records (see
//! `crates/rewind-agent/src/collect/`): system series at 10 Hz, process
//! series at 1 Hz, disk space every 10 s, and events shaped like the
//! collectors' (sources `kmsg`, `journal`, `process`, `socket`, `nvml`).
//! Every scenario's trigger fires at [`T`], 2026-11-23T10:00:00Z.

mod explain;
mod lang;
mod library;
mod props;
mod rank;
mod scenarios;

use std::collections::BTreeMap;

use rewind_model::{
    Comparison, Event, EventKind, Evidence, Level, Sample, SeriesName, Severity, Timestamp, Trigger,
};

use super::{Analysis, ChainSet, Timeline, analyze, builtin};

/// When every scenario's trigger fires: 2026-11-23T10:00:00Z, in ms.
pub(super) const T: i64 = 1_795_428_000_000;

/// `secs` seconds from the trigger (negative: before it).
pub(super) fn at(secs: f64) -> Timestamp {
    #[allow(clippy::cast_possible_truncation)] // test times are small
    Timestamp::from_unix_millis(T + (secs * 1000.0).round() as i64)
}

/// A series sampled at `hz` from `from` to `to` seconds (inclusive) with
/// value `f(t)`.
pub(super) fn sampled(
    name: &str,
    from: f64,
    to: f64,
    hz: f64,
    f: impl Fn(f64) -> f64,
) -> (SeriesName, Vec<Sample>) {
    let step = 1.0 / hz;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = ((to - from) * hz).round() as usize;
    let samples = (0..=n)
        .map(|i| {
            #[allow(clippy::cast_precision_loss)]
            let t = from + i as f64 * step;
            let t = (t * 1000.0).round() / 1000.0;
            Sample::new(at(t), f(t))
        })
        .collect();
    (SeriesName::new(name).unwrap(), samples)
}

/// `a` before `t0`, `b` from `t0` on.
pub(super) fn step(t0: f64, a: f64, b: f64) -> impl Fn(f64) -> f64 {
    move |t| if t < t0 { a } else { b }
}

/// A small deterministic wobble, so flat series are not perfectly flat.
pub(super) fn wobble(t: f64, amplitude: f64) -> f64 {
    amplitude * ((t * 7.3).sin() + 0.5 * (t * 2.9).cos()) / 1.5
}

/// A trigger at [`T`] with one piece of evidence.
pub(super) fn trigger(
    rule: &str,
    rule_type: &str,
    severity: Severity,
    summary: &str,
    evidence: Option<(&str, Comparison, f64)>,
) -> Trigger {
    let evidence = evidence
        .map(|(series, condition, value)| {
            Evidence::new(
                SeriesName::new(series).unwrap(),
                condition,
                value,
                value,
                at(-2.0),
                20,
            )
        })
        .into_iter()
        .collect();
    Trigger {
        rule: rule.into(),
        rule_type: rule_type.into(),
        severity,
        fired_at: at(0.0),
        summary: summary.into(),
        evidence,
        labels: BTreeMap::new(),
    }
}

/// A kernel log line as the kmsg collector reports it.
pub(super) fn kmsg(t: f64, level: Level, message: &str) -> Event {
    Event::new(at(t), "kmsg", EventKind::Log, level, message)
}

/// A journal line of a systemd unit.
pub(super) fn journal(t: f64, level: Level, unit: &str, identifier: &str, message: &str) -> Event {
    Event::new(at(t), "journal", EventKind::Log, level, message)
        .with("unit", unit)
        .with("identifier", identifier)
        .with("pid", 1432)
}

/// A line of a followed log file.
pub(super) fn file_log(t: f64, path: &str, level: Level, message: &str) -> Event {
    Event::new(
        at(t),
        format!("file:{path}"),
        EventKind::Log,
        level,
        message,
    )
}

/// `oom_kill` from the kernel log, as `collect/logs/kernel.rs` recognises it.
pub(super) fn oom_kill(t: f64, pid: u32, process: &str) -> Event {
    let message = format!(
        "Out of memory: Killed process {pid} ({process}) total-vm:2871044kB, anon-rss:1934212kB, \
         file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:4100kB oom_score_adj:0"
    );
    Event::new(at(t), "kmsg", EventKind::OomKill, Level::Error, message)
        .with("pid", pid)
        .with("process", process)
}

/// `process_missing` from the processes collector.
pub(super) fn process_missing(t: f64, process: &str, pid: u32) -> Event {
    Event::new(
        at(t),
        "process",
        EventKind::ProcessMissing,
        Level::Error,
        format!("watched process {process} is gone (pid {pid})"),
    )
    .with("process", process)
    .with("pid", pid)
}

/// `process_restarted` from the processes collector.
pub(super) fn process_restarted(t: f64, process: &str, old: u32, new: u32) -> Event {
    Event::new(
        at(t),
        "process",
        EventKind::ProcessRestarted,
        Level::Warning,
        format!("watched process {process} restarted (pid {old} -> {new})"),
    )
    .with("process", process)
    .with("old_pid", old)
    .with("new_pid", new)
}

/// `node_missing` from the socket collector.
pub(super) fn node_missing(t: f64, node: &str) -> Event {
    Event::new(
        at(t),
        "socket",
        EventKind::NodeMissing,
        Level::Error,
        format!("node `{node}` missed its heartbeat: nothing for 2.0 s"),
    )
    .with("node", node)
    .with("ttl_s", 2.0)
}

/// A `thermal` event from NVML, as `collect/gpu/nvml.rs` writes it.
pub(super) fn nvml_throttle(t: f64, gpu: u32, temp_c: u32) -> Event {
    Event::new(
        at(t),
        "nvml",
        EventKind::Thermal,
        Level::Warning,
        format!("GPU {gpu} (Orin) is throttling its clocks: thermal slowdown"),
    )
    .with("gpu", gpu)
    .with("name", "Orin")
    .with("reason", "thermal")
    .with("temp_c", temp_c)
}

/// The built-in library.
pub(super) fn library() -> ChainSet {
    builtin().unwrap()
}

/// The analysis of `timeline` with the built-in library.
pub(super) fn analysis(timeline: &Timeline) -> Analysis {
    analyze(timeline, &library())
}
