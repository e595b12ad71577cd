//! `rewind rules …`: check, explain and test rules files.

mod explain;
mod replay;
mod words;

use std::{io::Write as _, path::Path};

use anyhow::Context as _;
use rewind_detect::RuleSet;

use crate::{UsageError, cli::RulesCommand};

/// Runs one `rewind rules` command.
pub(crate) fn run(command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Check { file } => check(&file),
        RulesCommand::Explain { file } => explain::run(&file),
        RulesCommand::Test {
            file,
            bundles,
            expect_fire,
            json,
        } => replay::run(&file, &bundles, &expect_fire, json),
    }
}

/// Reads and validates a rules file; every problem becomes one [`UsageError`].
pub(crate) fn load(path: &Path) -> anyhow::Result<RuleSet> {
    let text = fs_err::read_to_string(path)
        .map_err(|e| UsageError(format!("error: cannot read the rules file: {e}")))?;
    RuleSet::parse(&text, &path.display().to_string()).map_err(|e| {
        UsageError(format!(
            "{e}\nThe rules file was refused; nothing was started. See docs/rules.md."
        ))
        .into()
    })
}

/// `rewind rules check FILE`: the rules on stdout, warnings on stderr.
fn check(path: &Path) -> anyhow::Result<()> {
    let rules = load(path)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {} rule(s) OK",
        path.display(),
        rules.rules().len()
    )
    .context("writing to stdout")?;
    for rule in rules.rules() {
        writeln!(
            out,
            "  [{}] {} ({}): {}",
            rule.severity,
            rule.name,
            rule.kind.type_name(),
            rule.kind.describe()
        )
        .context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    let mut err = std::io::stderr().lock();
    for warning in series_warnings(&rules) {
        writeln!(err, "{}: {warning}", path.display()).context("writing to stderr")?;
    }
    Ok(())
}

/// One warning per rule watching a literal series the agent does not
/// collect but that is close to one it does (most likely a typo).
fn series_warnings(rules: &RuleSet) -> Vec<String> {
    rules
        .rules()
        .iter()
        .filter_map(|rule| {
            let pattern = rule.kind.series().filter(|p| p.is_literal())?;
            let meant = rewind_agent::catalogue::suggest(pattern.as_str())?;
            Some(format!(
                "warning: `{pattern}` (rule \"{}\") is not a series the agent collects; did you mean `{meant}`?",
                rule.name
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_close_misses_are_warned_about() {
        let yaml = "triggers:\n\
            - { name: typo, type: metric_threshold, metric: cpu.total.busy_pc, threshold: { above: 1 }, severity: low }\n\
            - { name: fine, type: metric_threshold, metric: cpu.total.busy_pct, threshold: { above: 1 }, severity: low }\n\
            - { name: own, type: metric_threshold, metric: robot.arm.torque_nm, threshold: { above: 1 }, severity: low }\n\
            - { name: any, type: metric_threshold, metric: 'disk.*.used_pc', threshold: { above: 1 }, severity: low }\n";
        let rules = RuleSet::parse(yaml, "t.yaml").unwrap();
        assert_eq!(
            series_warnings(&rules),
            [
                "warning: `cpu.total.busy_pc` (rule \"typo\") is not a series the agent collects; did you mean `cpu.total.busy_pct`?"
            ]
        );
    }
}
