//! The crate layering in docs/architecture.md, enforced: detection and the
//! bundle format (and the in-process recorder) stay free of runtimes and
//! I/O stacks, the agent and the server never depend on each other.

use std::collections::BTreeSet;

/// Names under `[dependencies]` of a crate's manifest (not dev-dependencies).
fn dependencies(krate: &str) -> BTreeSet<String> {
    let path = format!("{}/crates/{krate}/Cargo.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut in_deps = false;
    let mut out = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
        } else if in_deps && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['.', '=', ' ']).next().unwrap_or_default();
            out.insert(name.to_owned());
        }
    }
    out
}

fn assert_none_of(krate: &str, forbidden: &[&str]) {
    let deps = dependencies(krate);
    assert!(
        !deps.is_empty(),
        "{krate} has no [dependencies]? the parser is wrong"
    );
    let bad: Vec<_> = forbidden.iter().filter(|f| deps.contains(**f)).collect();
    assert!(
        bad.is_empty(),
        "{krate} must not depend on {bad:?} (see docs/architecture.md)"
    );
}

const RUNTIMES: &[&str] = &[
    "tokio",
    "axum",
    "sqlx",
    "reqwest",
    "tower",
    "tower-http",
    "hyper",
];

#[test]
fn pure_crates_have_no_runtime_or_io_stack() {
    let rewind_crates = [
        "rewind-detect",
        "rewind-bundle",
        "rewind-store",
        "rewind-agent",
        "rewind-server",
    ];
    assert_none_of("rewind-model", &[RUNTIMES, &rewind_crates[..]].concat());
    assert_none_of("rewind-detect", &[RUNTIMES, &rewind_crates[1..]].concat());
    assert_none_of(
        "rewind-bundle",
        &[
            RUNTIMES,
            &[
                "rewind-detect",
                "rewind-store",
                "rewind-agent",
                "rewind-server",
            ][..],
        ]
        .concat(),
    );
    // The recorder runs inside control loops: the model, nothing heavier.
    assert_none_of("rewind-recorder", &[RUNTIMES, &rewind_crates[..]].concat());
    // The watchdog runs inside the service it watches: tokio is optional
    // (the scheduling-latency probe), nothing else of the server stack.
    assert_none_of(
        "rewind-watchdog",
        &[&RUNTIMES[1..], &rewind_crates[..]].concat(),
    );
}

#[test]
fn agent_and_server_never_meet_except_through_the_model() {
    assert_none_of(
        "rewind-agent",
        &["rewind-server", "rewind-store", "sqlx", "axum"],
    );
    assert_none_of("rewind-server", &["rewind-agent"]);
    assert_none_of(
        "rewind-store",
        &["rewind-agent", "rewind-server", "rewind-bundle", "axum"],
    );
}
