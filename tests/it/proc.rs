//! Starting `rewind` processes and waiting on them without sleeping blindly.

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_rewind");

/// A child process killed when dropped, so a failing test leaves nothing running.
pub(crate) struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// `rewind` with the given arguments and quiet logs.
pub(crate) fn rewind(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("REWIND_LOG", "warn")
        .env("NO_COLOR", "1");
    cmd
}

/// What one finished `rewind` run gave.
pub(crate) struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `rewind` with the given arguments to completion.
pub(crate) fn run(args: &[&str]) -> Ran {
    let out = rewind(args).output().unwrap();
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Starts `rewind server` on a free port; returns it with its base URL.
pub(crate) fn start_server(state_dir: &Path, extra: &[&str]) -> (Guard, String) {
    let state = state_dir.to_str().unwrap();
    let mut args = vec!["server", "--listen", "127.0.0.1:0", "--state-dir", state];
    args.extend_from_slice(extra);
    let mut child = rewind(&args).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "unexpected first line: {line:?}"
    );
    wait_for(Duration::from_secs(20), || {
        get_json(&format!("{url}/healthz"))
    })
    .expect("server never became healthy");
    (guard, url)
}

/// GET a URL and parse JSON, or `None` on any failure.
pub(crate) fn get_json(url: &str) -> Option<serde_json::Value> {
    get_json_as(url, "")
}

/// GET a URL with a bearer token (none when empty) and parse JSON, or
/// `None` on any failure, a non-2xx answer included.
pub(crate) fn get_json_as(url: &str, token: &str) -> Option<serde_json::Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.ok()?.error_for_status().ok()?;
        res.json().await.ok()
    })
}

/// Makes a token in the database of the server whose state is in
/// `state_dir` (`rewind token create --json`, before or while it runs) and
/// returns its secret. `scope` is `["--role", "viewer"]`, `["--device", ID]`, ….
pub(crate) fn make_token(state_dir: &Path, name: &str, scope: &[&str]) -> String {
    let state = state_dir.to_str().unwrap();
    let mut args = vec![
        "token",
        "create",
        "--name",
        name,
        "--json",
        "--state-dir",
        state,
    ];
    args.extend_from_slice(scope);
    let made = run(&args);
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    let v: serde_json::Value = serde_json::from_str(&made.stdout).unwrap();
    v["secret"].as_str().unwrap().to_owned()
}

/// Polls `probe` every 100 ms until it returns `Some`, or gives up after `limit`.
pub(crate) fn wait_for<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Some(v) = probe() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}
