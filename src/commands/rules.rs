//! `rewind rules …`.

use std::path::Path;

use anyhow::Context as _;
use rewind_detect::RuleSet;

use crate::UsageError;

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

/// `rewind rules check FILE`.
pub(crate) fn check(path: &Path) -> anyhow::Result<()> {
    let rules = load(path)?;
    let mut out = std::io::stdout().lock();
    use std::io::Write as _;
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
    Ok(())
}
