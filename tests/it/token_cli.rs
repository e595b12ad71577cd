//! `rewind token` on the server's database, and `rewind server`'s settings:
//! precedence (flag > environment > config file > default), the refusal to
//! serve clear text off loopback, and config-file errors.

use crate::proc::{rewind, run, start_server};

fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The secret on the `secret: rwd_…` line of `rewind token create`.
fn secret_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap_or_else(|| panic!("no secret line in:\n{stdout}"))
        .trim()
        .to_owned()
}

#[test]
fn tokens_are_made_listed_and_revoked_in_the_servers_database() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("server");
    let state_s = state.to_str().unwrap();

    // Before any server ran: the first admin token.
    let made = run(&[
        "token",
        "create",
        "--name",
        "root",
        "--role",
        "admin",
        "--state-dir",
        state_s,
    ]);
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    let admin = secret_of(&made.stdout);
    assert!(admin.starts_with("rwd_"), "{}", made.stdout);
    assert!(
        made.stdout.contains("cannot be shown again"),
        "{}",
        made.stdout
    );

    let json = run(&[
        "token",
        "create",
        "--name",
        "robot-7",
        "--device",
        "robot-7",
        "--expires-in-days",
        "30",
        "--json",
        "--state-dir",
        state_s,
    ]);
    assert_eq!(json.code, Some(0), "{}", json.stderr);
    let device: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(device["scope"]["device_id"], "robot-7");
    assert!(device["secret"].as_str().unwrap().starts_with("rwd_"));
    assert!(device["expires_at"].is_string());

    let listed = run(&["token", "list", "--state-dir", state_s]);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", listed.stdout);
    for column in ["NAME", "SCOPE", "PREFIX", "CREATED", "EXPIRES", "REVOKED"] {
        assert!(lines[0].contains(column), "{column}: {}", listed.stdout);
    }
    assert!(listed.stdout.contains("device robot-7") && listed.stdout.contains("admin"));
    assert!(!listed.stdout.contains(&admin), "secrets are never listed");

    // A server on the same state directory takes the admin token.
    let (_server, url) = start_server(&state, &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = |secret: &str| {
        rt.block_on(async {
            reqwest::Client::new()
                .get(format!("{url}/api/v1/tokens"))
                .bearer_auth(secret)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    assert_eq!(status(&admin), 200);

    // Revoked by id, while the server runs: refused at once.
    let id = device["id"].as_str().unwrap();
    let root_id = lines
        .iter()
        .find(|l| l.contains(" root "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let revoked = run(&["token", "revoke", &root_id, "--state-dir", state_s]);
    assert_eq!(revoked.code, Some(0), "{}", revoked.stderr);
    assert!(
        revoked.stdout.contains("revoked token `root`"),
        "{}",
        revoked.stdout
    );
    assert_eq!(status(&admin), 401);
    let listed = run(&["token", "list", "--state-dir", state_s]);
    let root_line = listed
        .stdout
        .lines()
        .find(|l| l.contains(" root "))
        .unwrap();
    assert!(
        !root_line.trim_end().ends_with('-'),
        "revoked time shown: {root_line}"
    );
    assert!(listed.stdout.contains(id));
}

#[test]
fn token_commands_explain_their_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("nowhere");
    let state_s = state.to_str().unwrap();

    let list = run(&["token", "list", "--state-dir", state_s]);
    assert_eq!(list.code, Some(2), "{}", list.stderr);
    assert!(
        list.stderr.contains("no server database") && list.stderr.contains("--state-dir"),
        "{}",
        list.stderr
    );
    assert!(!state.exists(), "listing creates nothing");

    let revoke = run(&["token", "revoke", "rwd_abc", "--state-dir", state_s]);
    assert_eq!(revoke.code, Some(2));
    assert!(
        revoke.stderr.contains("not a token id") && revoke.stderr.contains("token list"),
        "{}",
        revoke.stderr
    );

    let no_scope = run(&["token", "create", "--name", "x", "--state-dir", state_s]);
    assert_eq!(no_scope.code, Some(2));
    assert!(no_scope.stderr.contains("--role"), "{}", no_scope.stderr);

    let long = "x".repeat(65);
    let bad_name = run(&[
        "token",
        "create",
        "--name",
        &long,
        "--role",
        "viewer",
        "--state-dir",
        state_s,
    ]);
    assert_eq!(bad_name.code, Some(2));
    assert!(
        bad_name.stderr.contains("--name") && bad_name.stderr.contains("64"),
        "{}",
        bad_name.stderr
    );

    let bad_role = run(&[
        "token",
        "create",
        "--name",
        "x",
        "--role",
        "root",
        "--state-dir",
        state_s,
    ]);
    assert_eq!(bad_role.code, Some(2));
    assert!(
        bad_role.stderr.contains("viewer, responder or admin"),
        "{}",
        bad_role.stderr
    );
}

#[test]
fn server_settings_come_from_flags_then_environment_then_file_then_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.yaml");
    std::fs::write(
        &file,
        "# test settings\nlisten: 127.0.0.1:9001\nstate_dir: data\nmax_json_bytes: 5000\nrate_limit_burst: 9\n",
    )
    .unwrap();
    let cfg = file.to_str().unwrap();
    let printed = |env: &[(&str, &str)], flags: &[&str]| {
        let mut args = vec!["server", "--print-config", "--config", cfg];
        args.extend_from_slice(flags);
        let mut cmd = rewind(&args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        stdout
    };

    let from_file = printed(&[], &[]);
    assert!(from_file.contains("listen: 127.0.0.1:9001"), "{from_file}");
    assert!(from_file.contains("max_json_bytes: 5000"), "{from_file}");
    assert!(
        from_file.contains("rate_limit_per_second: 50"),
        "default: {from_file}"
    );
    let data = dir.path().join("data");
    assert!(
        from_file.contains(data.to_str().unwrap()),
        "relative to the file: {from_file}"
    );

    let from_env = printed(
        &[
            ("REWIND_LISTEN", "127.0.0.1:9002"),
            ("REWIND_RATE_LIMIT_BURST", "11"),
        ],
        &[],
    );
    assert!(from_env.contains("listen: 127.0.0.1:9002"), "{from_env}");
    assert!(from_env.contains("rate_limit_burst: 11"), "{from_env}");
    assert!(from_env.contains("max_json_bytes: 5000"), "{from_env}");

    let from_flag = printed(
        &[("REWIND_LISTEN", "127.0.0.1:9002")],
        &["--listen", "127.0.0.1:9003"],
    );
    assert!(from_flag.contains("listen: 127.0.0.1:9003"), "{from_flag}");

    // What was printed reads back as a config file.
    let again = dir.path().join("printed.yaml");
    std::fs::write(&again, &from_flag).unwrap();
    let out = rewind(&[
        "server",
        "--print-config",
        "--config",
        again.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("listen: 127.0.0.1:9003"));
}

#[test]
fn the_server_refuses_clear_text_off_loopback_and_bad_config_files() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out = rewind(&[
        "server",
        "--listen",
        "0.0.0.0:0",
        "--state-dir",
        state.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without TLS"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--tls-cert") && stderr.contains("--insecure"),
        "{stderr}"
    );
    assert!(!state.exists(), "nothing was created");

    // The environment may allow it (checked with --print-config: nothing listens).
    let out = rewind(&["server", "--listen", "0.0.0.0:0", "--print-config"])
        .env("REWIND_INSECURE", "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("insecure: true"));

    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "listen: 127.0.0.1:1\nmax_bundle_bytez: 5\n").unwrap();
    let out = rewind(&["server", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.yaml:2:") && stderr.contains("max_bundle_bytez"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");

    let out = rewind(&["server", "--tls-cert", "c.pem"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("tls_key"), "{}", text(&out).1);
}
