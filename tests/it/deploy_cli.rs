//! `rewind deploy notify` and `examples/hooks/deploy-hook.sh` against a real
//! `rewind server`.

use std::{process::Command, time::Duration};

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

/// One metric line of the `checkout` service, `ms` milliseconds after `t0`.
fn metric_line(t0: rewind_model::Timestamp, ms: i64, errors: f64) -> String {
    let s = ms / 250;
    let wobble = [0.0, 0.7, -0.4, 1.0, -0.9, 0.3, -0.2, 0.5, -0.6, -0.1][s.rem_euclid(10) as usize];
    format!(
        "{{\"timestamp\":\"{}\",\"service\":\"checkout\",\"error_rate\":{},\"request_rate\":{}}}\n",
        t0.add_nanos(ms * 1_000_000),
        errors * (1.0 + 0.05 * wobble),
        1200.0 + 10.0 * wobble
    )
}

#[test]
fn a_deploy_is_watched_from_the_cli_until_its_verdict_from_a_followed_metrics_file() {
    use std::io::Write as _;

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("server");
    let metrics = dir.path().join("metrics.jsonl");
    let config = dir.path().join("server.yaml");
    std::fs::write(
        &config,
        "regression:\n  window: 4s\n  baseline: 90s\n  guard: 2s\n  lateness: 1s\n  min_interval: 0s\n  metric_files: [metrics.jsonl]\n",
    )
    .unwrap();
    // The service's history: a minute and a half of healthy samples.
    let t0 = rewind_model::Timestamp::now();
    let history: String = (-85..0).map(|s| metric_line(t0, s * 1_000, 0.01)).collect();
    std::fs::write(&metrics, history).unwrap();
    let responder = token(state.to_str().unwrap(), "ci-deploys", "responder");
    let (_server, url) = start_server(&state, &["--config", config.to_str().unwrap()]);
    crate::proc::wait_for(Duration::from_secs(20), || {
        let series =
            crate::proc::get_json_as(&format!("{url}/api/v1/regression/series"), &responder)?;
        let n = series
            .as_array()?
            .iter()
            .map(|s| s["points"].as_u64().unwrap_or(0))
            .sum::<u64>();
        (n == 170).then_some(())
    })
    .expect("the followed file's 170 points never reached the watch");

    // Record the deploy and wait for its verdict in one command, while the
    // service (the followed file) gets worse.
    let child = rewind(&[
        "deploy",
        "watch",
        "--server",
        &url,
        "--service",
        "checkout",
        "--version",
        "2.0.0",
        "--interval",
        "1s",
    ])
    .env("REWIND_TOKEN", &responder)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let deploy = crate::proc::wait_for(Duration::from_secs(20), || {
        let list = crate::proc::get_json_as(&format!("{url}/api/v1/deploys"), &responder)?;
        list.as_array()?.first().cloned()
    })
    .expect("the deploy was never recorded");
    let at = rewind_model::Timestamp::parse_rfc3339(deploy["at"].as_str().unwrap()).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&metrics)
        .unwrap();
    // Four samples a second: enough after the deploy to confirm the change.
    let bad: String = (0..28)
        .map(|i| metric_line(at.add_nanos(100_000_000), i * 250, 0.08))
        .collect();
    file.write_all(bad.as_bytes()).unwrap();
    drop(file);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a regression fails the step: {stdout}{stderr}"
    );
    assert!(stdout.contains("recorded deploy "), "{stdout}");
    assert!(
        stdout.contains("checkout 2.0.0 to production") && stdout.contains(": REGRESSION"),
        "{stdout}"
    );
    assert!(
        stdout.contains("checkout/error_rate") && stdout.contains("regression"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("incident: {url}/#/incidents/")),
        "{stdout}"
    );
    assert!(stderr.contains("regressed (exit code 1)"), "{stderr}");

    // The same check by id, as JSON, right away.
    let id = deploy["id"].as_str().unwrap();
    let out = rewind(&[
        "deploy",
        "watch",
        id,
        "--server",
        &url,
        "--json",
        "--no-wait",
    ])
    .env("REWIND_TOKEN", &responder)
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let check: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(check["state"], "decided");
    assert_eq!(check["verdict"], "regression");
    assert!(check["incident_id"].is_string());

    // Neither an id nor a service: told what to give.
    let out = rewind(&["deploy", "watch", "--server", &url])
        .env("REWIND_TOKEN", &responder)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("give a deploy id"),
        "{}",
        text(&out).1
    );
}
