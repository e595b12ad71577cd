//! `rewind deploy notify` and `examples/hooks/deploy-hook.sh` against a real
//! `rewind server`.

use std::process::Command;

use crate::proc::{make_token, rewind, start_server};

const HOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hooks/deploy-hook.sh");

fn token(state: &str, name: &str, role: &str) -> String {
    make_token(std::path::Path::new(state), name, &["--role", role])
}

fn notify(url: &str, token: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["deploy", "notify", "--server", url, "--service", "planner"];
    args.extend_from_slice(extra);
    rewind(&args).env("REWIND_TOKEN", token).output().unwrap()
}

fn hook(env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new("sh");
    cmd.arg(HOOK);
    for var in [
        "REWIND_SERVER",
        "REWIND_TOKEN",
        "REWIND_SERVICE",
        "REWIND_VERSION",
        "REWIND_COMMIT",
        "REWIND_ACTOR",
        "REWIND_AT",
        "REWIND_BIN",
        "GITHUB_SHA",
        "GITHUB_ACTOR",
        "CI_COMMIT_SHA",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied()).env("REWIND_LOG", "warn");
    cmd.output().unwrap()
}

fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn deploys_are_recorded_from_the_cli_and_the_hook_script() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("server");
    let state_s = state.to_str().unwrap();
    let responder = token(state_s, "ci-deploys", "responder");
    let viewer = token(state_s, "victor", "viewer");
    let (_server, url) = start_server(&state, &[]);

    let out = notify(
        &url,
        &responder,
        &["--version", "2.14.1", "--commit", "abc123", "--json"],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let d: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(d["version"], "2.14.1");
    assert_eq!(d["commit"], "abc123");
    assert_eq!(
        d["actor"], "ci-deploys",
        "the token's name when --actor is not given"
    );

    let out = notify(
        &url,
        &responder,
        &["--version", "2.14.2", "--at", "2026-05-13T10:00:00Z"],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("recorded deploy "), "{stdout}");
    assert!(
        stdout.contains("planner 2.14.2 to production at 2026-05-13T10:00:00Z"),
        "{stdout}"
    );

    // Refusals say why and what to do, with the server's hint.
    let out = notify(&url, &viewer, &["--version", "1"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("may not record deploys") && stderr.contains("hint:"),
        "{stderr}"
    );
    let out = notify(
        &url,
        "rwd_0000000000000000000000000000000000000000",
        &["--version", "1"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did not accept the token"), "{stderr}");
    let out = notify(&url, &responder, &["--version", "1", "--at", "yesterday"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--at"), "{stderr}");

    // The hook script, through the rewind binary and through curl.
    let bin = env!("CARGO_BIN_EXE_rewind");
    let base = [
        ("REWIND_SERVER", url.as_str()),
        ("REWIND_TOKEN", responder.as_str()),
        ("REWIND_SERVICE", "perception"),
        ("GITHUB_SHA", "feedbeef"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env = base.to_vec();
        env.extend_from_slice(extra);
        hook(&env)
    };
    let out = with(&[("REWIND_VERSION", "3.0"), ("REWIND_BIN", bin)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("perception 3.0") && stdout.contains("commit feedbeef"),
        "{stdout}"
    );

    let out = with(&[
        ("REWIND_VERSION", "3.1 \"quoted\""),
        ("REWIND_BIN", "curl"),
        ("REWIND_ACTOR", "pipeline"),
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(r#""version":"3.1 \"quoted\"""#), "{stdout}");
    assert!(stdout.contains(r#""actor":"pipeline""#), "{stdout}");

    let out = hook(&[
        ("REWIND_SERVER", url.as_str()),
        ("REWIND_TOKEN", viewer.as_str()),
        ("REWIND_SERVICE", "x"),
        ("REWIND_VERSION", "1"),
        ("REWIND_BIN", "curl"),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("HTTP 403") && stderr.contains("--role responder"),
        "{stderr}"
    );
    let out = hook(&[
        ("REWIND_SERVER", url.as_str()),
        ("REWIND_TOKEN", viewer.as_str()),
        ("REWIND_SERVICE", "x"),
        ("REWIND_VERSION", "1"),
        ("REWIND_BIN", "curl"),
        ("REWIND_HOOK_SOFT_FAIL", "1"),
    ]);
    assert_eq!(out.status.code(), Some(0), "soft failure");

    let out = hook(&[("REWIND_SERVER", url.as_str())]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("REWIND_TOKEN is not set"), "{stderr}");
}
