//! Rules files: parsing and validation into rules that cannot be invalid.
//!
//! Parsing runs in two passes. [`raw`] turns the YAML text into a lenient
//! tree that remembers the line and column of every node; [`validate`] walks
//! that tree, checks every field of every rule, and either builds the
//! [`Rule`]s or returns every problem it found.

mod check;
mod raw;
mod suggest;
mod threshold;
mod validate;

use rewind_model::{Comparison, SeriesName, Severity};

use crate::RulesError;

/// A validated set of detection rules, read from one rules file.
///
/// Rule names are unique and the list is never empty.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    rules: Vec<Rule>,
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
    /// What the rule watches and when it fires.
    pub kind: RuleKind,
}

/// What a rule watches and when it fires, by rule type.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// `type: metric_threshold`: fires once when `metric` has met `condition`
    /// on consecutive samples for at least `duration_nanos`.
    MetricThreshold {
        /// The series watched.
        metric: SeriesName,
        /// The comparison each sample must meet.
        condition: Comparison,
        /// How long, in nanoseconds, the condition must hold without a break
        /// before the rule fires; 0 fires on the first sample that meets it.
        duration_nanos: i64,
    },
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
        let rules = validate::validate(&root, yaml).map_err(error)?;
        Ok(Self { rules })
    }

    /// The rules, in file order.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Every series some rule watches, sorted and without duplicates.
    #[must_use]
    pub fn watched_series(&self) -> Vec<SeriesName> {
        let mut names: Vec<SeriesName> =
            self.rules.iter().map(|r| r.kind.series().clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}

impl RuleKind {
    /// The rule type as written in the rules file, e.g. `metric_threshold`.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::MetricThreshold { .. } => threshold::TYPE,
        }
    }

    /// The series this rule watches.
    #[must_use]
    pub fn series(&self) -> &SeriesName {
        match self {
            Self::MetricThreshold { metric, .. } => metric,
        }
    }
}

#[cfg(test)]
mod tests {
    use rewind_model::{Comparison, Severity};

    use super::*;

    #[test]
    fn the_demo_rules_parse() {
        let yaml = include_str!("../../../examples/rules/demo.yaml");
        let set = RuleSet::parse(yaml, "examples/rules/demo.yaml").unwrap();
        let [cpu, memory] = set.rules() else {
            panic!("{set:?}")
        };

        assert_eq!(cpu.name, "CPU saturated");
        assert_eq!(cpu.severity, Severity::High);
        assert_eq!(
            cpu.kind,
            RuleKind::MetricThreshold {
                metric: SeriesName::new("cpu.total.busy_pct").unwrap(),
                condition: Comparison::Above(70.0),
                duration_nanos: 2_000_000_000,
            }
        );
        assert_eq!(memory.name, "Memory nearly exhausted");
        assert_eq!(memory.severity, Severity::Critical);
        assert_eq!(
            memory.kind,
            RuleKind::MetricThreshold {
                metric: SeriesName::new("memory.available_bytes").unwrap(),
                condition: Comparison::Below(52_428_800.0),
                duration_nanos: 5_000_000_000,
            }
        );
        assert_eq!(
            set.watched_series(),
            vec![cpu.kind.series().clone(), memory.kind.series().clone()]
        );
    }
}
