//! Pure, deterministic detection for Rewind: rules files in, triggers out.
//!
//! This crate owns
//!
//! - the **rules file format** (YAML, documented in `docs/rules.md`): parsing
//!   and validation into a [`RuleSet`], with every problem reported at once,
//!   each with file, line, column and a hint ([`RulesError`]);
//! - the **rule types**, one module each under [`kinds`]: thresholds (and
//!   topic rates), absence, process and node status, log matches, CUSUM
//!   change detection, trend prediction, and composites;
//! - the **evaluation** of rules: an [`Engine`] fed samples, text states,
//!   events and the passing of time, which returns [`Signal`]s — a rule
//!   going pending, firing (with its [`Trigger`](rewind_model::Trigger) and
//!   evidence), resolving or being cancelled — each with a [`Decision`]
//!   (capture, dry run, or suppressed by a budget);
//! - **root cause** ([`rca`], `docs/root-cause.md`): chains of events over
//!   an incident's whole timeline, ranked, and explained from the evidence.
//!
//! It does no I/O and reads no clock: callers pass the file's text and a
//! name for it, and time arrives with the samples. The same samples in the
//! same order always give the same triggers.
//!
//! ```
//! use rewind_detect::{Decision, Engine, RuleSet, SignalKind};
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
//! let mut signals = Vec::new();
//! for (secs, busy) in [(0, 50.0), (1, 85.0), (2, 97.5), (3, 96.1), (4, 90.0), (5, 20.0)] {
//!     signals.extend(engine.observe(&cpu, Sample::new(at(secs), busy)));
//! }
//! let kinds: Vec<_> = signals.iter().map(|s| (s.kind, s.at)).collect();
//! assert_eq!(
//!     kinds,
//!     [(SignalKind::Pending, at(1)), (SignalKind::Firing, at(3)), (SignalKind::Resolved, at(5))],
//!     "one excursion: pending, one trigger, resolved"
//! );
//! assert_eq!(signals[1].decision, Decision::Capture);
//! let trigger = signals[1].trigger.as_ref().unwrap();
//! assert_eq!(trigger.summary, "cpu.total.busy_pct stayed above 80 for 2.0 s (peak 97.5, now 96.1)");
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
pub mod logsig;
mod pattern;
pub mod rca;
pub mod regression;
mod rules;
pub mod words;

pub use engine::{Decision, Engine, EngineStats, RuleStatus, Signal, SignalKind, Suppression};
pub use error::{Problem, RulesError};
pub use kinds::RuleKind;
pub use pattern::Pattern;
pub use rules::suggest::edit_distance;
pub use rules::{Budgets, Capture, Rule, RuleSet};
