//! An in-process runtime watchdog for Rust services: a few runtime
//! thresholds checked on a tight loop, and at the moment one trips, the
//! diagnostics that explain it captured in the same tick, with a
//! notification pointing at them. Plus a panic hook and a startup history
//! that make crash loops visible. Linux only (it reads `/proc`).
//!
//! # API
//!
//! - [`Watchdog::builder`]`(dir)` … [`install`](WatchdogBuilder::install)
//!   starts it: one call. [`WatchdogBuilder::tokio`]`(handle)` adds the
//!   scheduling-latency probe (feature `tokio`, on by default).
//! - Thresholds per [`Metric`] (RSS, heap, threads, fds, scheduling
//!   latency), each a list of [`Rule`]s (`above`, `fraction_of_limit`,
//!   `jump_above` its rolling average) with an [`Action`] (capture or warn).
//! - [`Watchdog::status`], [`Watchdog::events`] (the in-memory ring),
//!   [`Watchdog::start_contention`], [`Watchdog::tick_now`],
//!   [`Watchdog::shutdown`].
//! - [`Notifier`] receives captures and warnings; [`WebhookNotifier`]
//!   posts them as JSON over `http://`.
//! - Reading a directory, for the CLI: [`list_captures`], [`find_capture`],
//!   [`read_history`] ([`Run`], [`RunEnd`], [`crash_loops`]),
//!   [`request_contention`].
//! - [`bench::run`] measures the figures of `rewind bench watchdog`.
//!
//! # Invariants
//!
//! - **It never harms its host.** Nothing here panics on what it reads
//!   (no `unwrap` outside tests). The tick runs on its own thread and never
//!   takes a lock the program holds; the probe's critical section is one
//!   push. A failure to write a capture stops capturing (the metrics are
//!   still checked; breaches become warnings) and is reported in
//!   [`WatchdogStatus::capture_error`] and an [`EventKind::Error`] event. A
//!   panic inside the tick stops the watchdog, not the program.
//! - **Memory is bounded**: the event ring (`ring_capacity`), the probe's
//!   window, each metric's history (its largest `jump_above` window), the
//!   notifier queue ([`notify::QUEUE`]), and every file read or kept.
//! - **On a breach, in the same tick**: thread stacks (eu-stack, else the
//!   /proc thread table) and the /proc snapshots are written, the heap
//!   profile where jemalloc profiling is on, and the CPU profile *starts*
//!   (it ends on its own thread after its window and is added to the
//!   capture then). The capture directory appears whole (temporary
//!   directory, then rename) and its kind is rotated (`keep`, default 5).
//! - **Budgets**: a cooldown per capture kind (default 2 min); a warning
//!   budget (default 10 per 10 min) that captures never spend.
//! - **Time comes from a [`Clock`]**: cooldowns, budgets and baselines can
//!   be tested by moving a [`ManualClock`].
//!
//! The directory layout, the defaults and the machine's limits are in
//! `docs/watchdog.md`.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use rewind_watchdog::{Metric, MetricConfig, Rule, Watchdog};
//!
//! # fn main() -> Result<(), rewind_watchdog::Error> {
//! let rt = tokio::runtime::Runtime::new().map_err(rewind_watchdog::Error::Spawn)?;
//! let dog = Watchdog::builder("/var/lib/my-service/watchdog")
//!     .version(env!("CARGO_PKG_VERSION"))
//!     .tokio(rt.handle().clone())
//!     // Also capture when the thread count jumps 50% above its one-minute average.
//!     .rule(Metric::Threads, Rule::jump_above(50.0, 120))
//!     .install()?;
//! // … run the service …
//! let status = dog.shutdown();
//! println!("{} captures", status.captures);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod atomic;
mod baseline;
pub mod bench;
mod budget;
pub mod capture;
mod clock;
mod config;
mod contention;
mod engine;
mod error;
mod event;
mod history;
pub mod notify;
mod panic;
mod probe;
mod read;
mod rotate;
mod status;
mod stop;
mod thresholds;
mod watchdog;

#[cfg(test)]
mod fixture;

pub use capture::{FileEntry, MANIFEST, Manifest, Trigger};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    Action, BaselineConfig, Config, ContentionConfig, CpuProfileConfig, Metric, MetricConfig, Rule,
};
pub use contention::{CONTENTION_FILE, CONTROL_DIR, request_contention};
pub use error::{Error, Result};
pub use event::{Event, EventKind};
pub use history::{HISTORY_FILE, Row};
pub use notify::{Notification, Notifier, WebhookNotifier};
#[cfg(feature = "tokio")]
pub use probe::LatencyProbe;
pub use probe::LatencyWindow;
pub use read::{
    CRASH_LOOP_ENDS, CRASH_LOOP_WITHIN, CaptureInfo, CrashLoop, Run, RunEnd, crash_loops,
    find_capture, list_captures, read_history, read_history_at,
};
pub use status::WatchdogStatus;
pub use thresholds::{Breach, Limits, Sample};
pub use watchdog::{Watchdog, WatchdogBuilder};
