//! Pure, deterministic detection for Rewind: rules files in, triggers out.
//!
//! This crate owns
//!
//! - the **rules file format** (YAML, documented in `docs/rules.md`): parsing
//!   and validation into a [`RuleSet`], with every problem reported at once,
//!   each with file, line, column and a hint ([`RulesError`]);
//! - the **evaluation** of rules over samples: an [`Engine`] that is fed one
//!   [`Sample`](rewind_model::Sample) at a time and returns the
//!   [`Trigger`](rewind_model::Trigger)s that fire.
//!
//! It does no I/O and reads no clock: callers pass the file's text and a
//! name for it, and time arrives with the samples. The same samples in the
//! same order always give the same triggers.
//!
//! Rule types: `metric_threshold` (see [`RuleKind::MetricThreshold`]).
//!
//! ```
//! use rewind_detect::{Engine, RuleSet};
//! use rewind_model::{Sample, SeriesName, Timestamp};
//!
//! let yaml = r#"
//! triggers:
//!   - name: "CPU saturated"
//!     type: metric_threshold
//!     metric: cpu.total.busy_pct
//!     threshold: { above: 80 }
//!     duration: 2.0
//!     severity: high
//! "#;
//! let rules = RuleSet::parse(yaml, "rules.yaml")?;
//! let cpu = SeriesName::new("cpu.total.busy_pct")?;
//! assert_eq!(rules.watched_series(), vec![cpu.clone()]);
//!
//! let mut engine = Engine::new(&rules);
//! let at = |secs: i64| Timestamp::from_unix_millis(1_700_000_000_000 + secs * 1000);
//! let mut fired = Vec::new();
//! for (secs, busy) in [(0, 50.0), (1, 85.0), (2, 97.5), (3, 96.1), (4, 90.0)] {
//!     fired.extend(engine.observe(&cpu, Sample::new(at(secs), busy)));
//! }
//! assert_eq!(fired.len(), 1, "one excursion, one trigger");
//! assert_eq!(fired[0].fired_at, at(3));
//! assert_eq!(fired[0].summary, "cpu.total.busy_pct stayed above 80 for 2.0 s (peak 97.5, now 96.1)");
//!
//! // Problems are reported with their place and a hint.
//! let err = RuleSet::parse("triggers: []\n", "rules.yaml").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "rules.yaml:1:11: error: the `triggers` list is empty\n  \
//!      hint: add at least one rule; see docs/rules.md"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod engine;
mod error;
pub mod kinds;
mod pattern;
mod rules;
mod words;

pub use engine::{Decision, Engine, EngineStats, RuleStatus, Signal, SignalKind, Suppression};
pub use error::{Problem, RulesError};
pub use kinds::RuleKind;
pub use pattern::Pattern;
pub use rules::{Budgets, Capture, Rule, RuleSet};
