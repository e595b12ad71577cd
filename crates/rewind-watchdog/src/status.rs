//! [`WatchdogStatus`]: what the watchdog is doing, for the program.

use std::{path::PathBuf, time::Instant};

use serde::Serialize;

use crate::thresholds::{Limits, Sample};

/// A snapshot of the watchdog's state and counters.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct WatchdogStatus {
    /// The tick is running (false after shutdown, or after the tick failed).
    pub running: bool,
    /// Checks done.
    pub ticks: u64,
    /// Breach captures written.
    pub captures: u64,
    /// Baselines written.
    pub baselines: u64,
    /// Contention diagnostics written.
    pub contentions: u64,
    /// Breaches that did not capture because their kind was cooling down.
    pub suppressed: u64,
    /// Warning events emitted.
    pub warnings: u64,
    /// Warning events dropped by the warning budget.
    pub warnings_dropped: u64,
    /// Notifications dropped because the notifier's queue was full.
    pub notifications_dropped: u64,
    /// Notifications the notifier failed to deliver.
    pub notifications_failed: u64,
    /// Set when capturing has stopped after an internal error; the metrics
    /// are still checked and breaches become warnings.
    pub capture_error: Option<String>,
    /// Set when the tick itself failed and the watchdog stopped.
    pub tick_error: Option<String>,
    /// The last sample.
    pub last_sample: Option<Sample>,
    /// The limits in force.
    pub limits: Limits,
    /// The last breach capture's directory.
    pub last_capture: Option<PathBuf>,
    /// Milliseconds from the start of that capture's tick to its thread stacks being written.
    pub last_stacks_ms: Option<f64>,
    /// A contention diagnostic is running.
    pub contention_running: bool,
    /// Where the stack snapshots come from: `eu-stack`, or `proc` (the /proc thread table only).
    pub stack_source: String,
    /// The Linux thread id of the tick thread (for measuring its CPU time).
    pub tick_thread: Option<u32>,
    /// What is inactive and why, as sentences (no cgroup limit, no probe, …).
    pub notes: Vec<String>,
    /// When the last capture's stacks were written (for the bench).
    #[serde(skip)]
    pub(crate) stacks_written_at: Option<Instant>,
}
