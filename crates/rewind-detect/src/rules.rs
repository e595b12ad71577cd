//! Rules files: parsing and validation into rules that cannot be invalid.
//!
//! Parsing runs in two passes. [`raw`] turns the YAML text into a lenient
//! tree that remembers the line and column of every node; [`validate`] walks
//! that tree, checks every field of every rule, and either builds the
//! [`Rule`]s or returns every problem it found. The fields every rule has
//! are checked in [`common`]; each rule type checks its own in
//! [`crate::kinds`].

pub(crate) mod check;
mod common;
pub(crate) mod raw;
pub mod suggest;
mod validate;

use std::collections::BTreeMap;

use rewind_model::{SeriesName, Severity};

use crate::{Pattern, RuleKind, RulesError};

/// A validated set of detection rules, read from one rules file.
///
/// Rule names are unique, the list is never empty, and every rule a
/// composite rule names exists (without cycles).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    rules: Vec<Rule>,
    budgets: Budgets,
}

/// One validated detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The rule's name, unique within its rule set; it names the incidents it causes.
    pub name: String,
    /// How bad it is when the rule fires.
    pub severity: Severity,
    /// Free text from the rules file, if any.
    pub description: Option<String>,
    /// `labels:` from the rules file, copied onto every trigger.
    pub labels: BTreeMap<String, String>,
    /// How long, in nanoseconds, the condition must hold before the rule
    /// fires (`duration:`; 0 fires at once). Until then the rule is pending.
    pub duration_nanos: i64,
    /// `dry_run: true`: the rule is evaluated and its trips logged, but it
    /// captures and notifies nothing.
    pub dry_run: bool,
    /// After a capture, further trips of this rule capture nothing for this
    /// long (`cooldown:`, default 120 s); they are counted as suppressed.
    pub cooldown_nanos: i64,
    /// At most this many of this rule's bundles are kept on the agent
    /// (`max_bundles:`, default 5); the oldest is rotated out.
    pub max_bundles: u32,
    /// What the rule's bundles hold.
    pub capture: Capture,
    /// What the rule watches and when it fires.
    pub kind: RuleKind,
}

/// What a rule's bundle holds: `capture:` in the rules file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Capture {
    /// Seconds of history before the trip (`pre:`), in nanoseconds; `None`
    /// uses the agent's ring window.
    pub pre_nanos: Option<i64>,
    /// Seconds recorded after the trip (`post:`), in nanoseconds; `None`
    /// uses the agent's `post_trigger`.
    pub post_nanos: Option<i64>,
    /// The series to include (`series:`); empty means every series.
    pub series: Vec<Pattern>,
    /// The event and log sources to include (`logs:`); empty means all.
    pub logs: Vec<Pattern>,
    /// Start recording the post-trip window as soon as the rule is pending
    /// (`on_pending: true`, the default), so it is already running when the
    /// rule confirms; a pending rule that clears drops its capture.
    pub on_pending: bool,
}

/// Budgets over all rules: `budgets:` at the top of the rules file.
#[derive(Debug, Clone, PartialEq)]
pub struct Budgets {
    /// Trips of rules with a severity below this are warnings (`warning_below:`,
    /// default `high`): they draw on their own budget.
    pub warning_below: Severity,
    /// At most this many warning captures (`warnings:`, default 3) …
    pub warnings: u32,
    /// … per this window (`per:`, default 600 s), in nanoseconds.
    pub warning_window_nanos: i64,
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            warning_below: Severity::High,
            warnings: 3,
            warning_window_nanos: 600_000_000_000,
        }
    }
}

impl RuleSet {
    /// Parses and validates the text of a rules file.
    ///
    /// `origin` names the text in messages, usually the file's path; this
    /// function reads no files itself.
    ///
    /// # Errors
    /// A [`RulesError`] listing every problem found, each with its line,
    /// column and a hint: YAML syntax errors (reported alone, as nothing
    /// after them can be trusted), and otherwise all problems in all rules.
    pub fn parse(yaml: &str, origin: &str) -> Result<Self, RulesError> {
        let error = |problems| RulesError {
            origin: origin.to_owned(),
            problems,
        };
        let root = raw::parse(yaml).map_err(|problem| error(vec![problem]))?;
        let (rules, budgets) = validate::validate(&root, yaml).map_err(error)?;
        Ok(Self { rules, budgets })
    }

    /// The rules, in file order.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule named `name`.
    #[must_use]
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// The budgets over all rules.
    #[must_use]
    pub fn budgets(&self) -> &Budgets {
        &self.budgets
    }

    /// Every series name some rule watches without wildcards, sorted and
    /// without duplicates (wildcard patterns are in [`Self::watched_patterns`]).
    #[must_use]
    pub fn watched_series(&self) -> Vec<SeriesName> {
        let mut names: Vec<SeriesName> = self
            .watched_patterns()
            .into_iter()
            .filter(|p| p.is_literal())
            .filter_map(|p| SeriesName::new(p.as_str()).ok())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every series pattern some rule watches, sorted and without duplicates.
    #[must_use]
    pub fn watched_patterns(&self) -> Vec<Pattern> {
        let mut patterns: Vec<Pattern> = self
            .rules
            .iter()
            .filter_map(|r| r.kind.series().cloned())
            .collect();
        patterns.sort();
        patterns.dedup();
        patterns
    }
}
