//! The built-in chain library: one YAML file per failure mode, embedded in
//! the binary, each tested against a recorded-style scenario in
//! `rca/tests/library.rs` (a match, and a near miss that must not match).

use super::ChainSet;
use crate::RulesError;

/// The built-in chain files: name and text.
pub const LIBRARY: &[(&str, &str)] = &[
    (
        "thermal-throttling.yaml",
        include_str!("library/thermal-throttling.yaml"),
    ),
    (
        "oom-restart-loop.yaml",
        include_str!("library/oom-restart-loop.yaml"),
    ),
    ("disk-full.yaml", include_str!("library/disk-full.yaml")),
    (
        "network-starvation.yaml",
        include_str!("library/network-starvation.yaml"),
    ),
    (
        "cpu-contention.yaml",
        include_str!("library/cpu-contention.yaml"),
    ),
    ("bad-deploy.yaml", include_str!("library/bad-deploy.yaml")),
    (
        "undervoltage.yaml",
        include_str!("library/undervoltage.yaml"),
    ),
    ("clock-jump.yaml", include_str!("library/clock-jump.yaml")),
];

/// The built-in chains, parsed.
///
/// # Errors
/// Never in a released build (a test parses every file); the error names
/// the file as `builtin:<name>` if one were broken.
pub fn builtin() -> Result<ChainSet, RulesError> {
    let mut set = ChainSet::default();
    for (name, text) in LIBRARY {
        set.extend(ChainSet::parse(text, &format!("builtin:{name}"))?);
    }
    Ok(set)
}
