//! What is wrong with a rules file: every problem, where it is, and what to do.

use std::fmt;

/// Everything wrong with one rules file, found in one pass.
///
/// Rendered with [`Display`](fmt::Display) as one block per problem, in file
/// order:
///
/// ```text
/// rules.yaml:7:11: error: unknown rule type `cpu_hot`
///   hint: supported types are: metric_threshold
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", blocks(.origin, .problems))]
pub struct RulesError {
    /// Where the text came from (usually a file name), as passed to
    /// [`RuleSet::parse`](crate::RuleSet::parse).
    pub origin: String,
    /// The problems, sorted by position. Never empty.
    pub problems: Vec<Problem>,
}

/// One problem at one place in a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, or 0 when the position is unknown.
    pub line: usize,
    /// 1-based column in characters, or 0 when the position is unknown.
    pub column: usize,
    /// What is wrong, quoting the offending text.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Problem {
    /// A problem at `line`:`column` without a hint.
    #[must_use]
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            column,
            message: message.into(),
            hint: None,
        }
    }

    /// The same problem with `hint` attached.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// This problem as a block of text naming `origin`, e.g.
    /// `rules.yaml:3:5: error: …` followed by an indented `hint:` line.
    #[must_use]
    pub fn display_in<'a>(&'a self, origin: &'a str) -> impl fmt::Display + 'a {
        Block {
            origin,
            problem: self,
        }
    }
}

struct Block<'a> {
    origin: &'a str,
    problem: &'a Problem,
}

impl fmt::Display for Block<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Problem {
            line,
            column,
            message,
            hint,
        } = self.problem;
        if *line == 0 {
            write!(f, "{}: error: {message}", self.origin)?;
        } else {
            write!(f, "{}:{line}:{column}: error: {message}", self.origin)?;
        }
        if let Some(hint) = hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

fn blocks<'a>(origin: &'a str, problems: &'a [Problem]) -> Blocks<'a> {
    Blocks { origin, problems }
}

struct Blocks<'a> {
    origin: &'a str,
    problems: &'a [Problem],
}

impl fmt::Display for Blocks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}", problem.display_in(self.origin))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_block_per_problem() {
        let err = RulesError {
            origin: "rules.yaml".into(),
            problems: vec![
                Problem::new(7, 11, "unknown rule type `cpu_hot`")
                    .with_hint("supported types are: metric_threshold"),
                Problem::new(0, 0, "no position"),
            ],
        };
        assert_eq!(
            err.to_string(),
            "rules.yaml:7:11: error: unknown rule type `cpu_hot`\n  \
             hint: supported types are: metric_threshold\n\
             rules.yaml: error: no position"
        );
    }
}
