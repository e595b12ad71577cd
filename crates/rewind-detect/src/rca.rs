//! Root cause: which known chain of events led to an incident, shown with
//! its evidence and explained in words that cite only what was recorded.
//!
//! Symptoms appear far from their causes: a camera topic drops because a
//! perception node crashed because the GPU throttled. A **chain** names such
//! a sequence declaratively (YAML, `docs/root-cause.md`): ordered steps, each
//! an event, metric, text-state, deploy or trigger predicate with a time
//! window relative to the step before or to the trigger, and what it means
//! when they all happened — a primary cause with placeholders filled from
//! the evidence, suggested actions and a risk.
//!
//! The pieces, each usable on its own:
//!
//! - [`ChainSet::parse`] reads chain files ([`lang`]); every problem is
//!   reported with its line, column and a hint, like rules files.
//! - [`builtin`] is the library shipped with Rewind: thermal throttling,
//!   memory leaks ending in OOM kills, full disks, network errors, CPU
//!   contention, bad deploys, undervoltage and clock jumps.
//! - [`analyze`] runs every chain over a [`Timeline`] (the incident's series,
//!   text states, events, deploys and trigger) and returns an [`Analysis`]:
//!   the matching chains ranked with a reason each, the near misses, and the
//!   strongest correlated changes — what is left when no chain matches.
//! - [`explain()`] writes the [`Explanation`] from the analysis alone: summary,
//!   chain, actions, risk and triage. [`grounded()`] checks that every number
//!   and name a text states is in the [`Facts`] of the analysis; it is how
//!   an explanation written by a language model is vetted.
//!
//! Like the rest of the crate, no I/O and no clock: the same timeline gives
//! the same analysis and the same words.
//!
//! ```
//! use rewind_detect::rca::{self, Timeline};
//! use rewind_model::{Event, EventKind, Level, Severity, Timestamp, Trigger};
//!
//! let at = |s: i64| Timestamp::from_unix_millis(1_800_000_000_000 + s * 1000);
//! let trigger = Trigger {
//!     rule: "Planner crash-looping".into(),
//!     rule_type: "process_status".into(),
//!     severity: Severity::Critical,
//!     fired_at: at(0),
//!     summary: "planner restarted 3 times in 300 s".into(),
//!     evidence: Vec::new(),
//!     labels: Default::default(),
//! };
//! let kill = Event::new(at(-20), "kmsg", EventKind::OomKill, Level::Error,
//!     "Out of memory: Killed process 4242 (planner)")
//!     .with("pid", 4242).with("process", "planner");
//! let restart = |s| Event::new(at(s), "process", EventKind::ProcessRestarted, Level::Warning,
//!     "watched process planner restarted").with("process", "planner");
//! let timeline = Timeline::new(trigger).with_events([kill, restart(-18), restart(-9), restart(0)]);
//!
//! let chains = rca::builtin()?;
//! let analysis = rca::analyze(&timeline, &chains);
//! let best = analysis.best().expect("a known cause");
//! assert_eq!(best.chain, "oom-restart-loop");
//! let explanation = rca::explain(&timeline, &analysis);
//! assert!(rca::grounded(&explanation.to_markdown(), &rca::Facts::of(&timeline, &analysis)).is_ok());
//! # Ok::<(), rewind_detect::RulesError>(())
//! ```

mod correlate;
mod eval;
mod explain;
mod grounded;
pub mod lang;
mod library;
mod rank;
mod timeline;

#[cfg(test)]
mod tests;

pub use correlate::{Correlated, Notable};
pub use eval::{EvidenceItem, ItemKind};
pub use explain::{Explanation, Risk, Triage, explain};
pub use grounded::{Facts, grounded};
pub use lang::{Chain, ChainSet};
pub use library::{LIBRARY, builtin};
pub use rank::{Analysis, Cause, Partial, analyze};
pub use timeline::Timeline;
