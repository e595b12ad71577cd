//! Delivery and the agent's housekeeping, as real processes on loopback:
//! bundles captured during a server outage arrive exactly once, a crash is
//! in the history (and trips a rule), `rewind agent fsck` exit codes.
//!
//! SLOW: `issue_0005_*_outage_*` takes about 70 s on purpose (issue 5 asks
//! for a one-minute outage); the others take a few seconds.

use std::{
    io::Write as _,
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::proc::{Guard, get_json, get_json_as, make_token, rewind, wait_for};

/// Trips on every excursion of `test.value` above 5, which the test sends
/// over the agent socket: one incident per excursion, no cooldown.
const RULES: &str = "\
triggers:
  - name: Test value high
    type: metric_threshold
    metric: test.value
    threshold: { above: 5 }
    severity: high
    cooldown: 0
    max_bundles: 10
  - name: Agent crashed
    type: log_match
    source: agent
    literal: ended without a clean stop
    severity: high
";

/// A test's directory: rules, agent config (socket inside it, quick retries).
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yaml"), RULES).unwrap();
        let config = format!(
            "version: 1\n\
             spool:\n  retry_initial: 200ms\n  retry_max: 2s\n\
             collectors:\n  processes: {{ enabled: false }}\n  gpu: {{ enabled: false }}\n  \
             logs: {{ kmsg: false }}\n  socket:\n    path: {}\n",
            dir.path().join("agent.sock").display()
        );
        std::fs::write(dir.path().join("agent.yaml"), config).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    /// `rewind agent` with the rules and config, state in `agent/`.
    fn agent(&self, extra: &[&str]) -> Command {
        let (rules, config, state) = (
            self.arg("rules.yaml"),
            self.arg("agent.yaml"),
            self.arg("agent"),
        );
        let mut args = vec![
            "agent",
            "--rules",
            &rules,
            "--config",
            &config,
            "--state-dir",
            &state,
            "--window",
            "5s",
            "--post-trigger",
            "500ms",
        ];
        args.extend_from_slice(extra);
        rewind(&args)
    }

    /// Complete bundles waiting in the agent's spool.
    fn spooled(&self) -> Vec<PathBuf> {
        let mut zips: Vec<PathBuf> = std::fs::read_dir(self.path("agent/spool"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "zip"))
                    .collect()
            })
            .unwrap_or_default();
        zips.sort();
        zips
    }

    /// Sends `test.value = value` over the agent socket, once it listens.
    fn send(&self, value: f64) {
        let line = format!("{{\"type\":\"metric\",\"name\":\"test.value\",\"value\":{value}}}\n");
        let socket = self.path("agent.sock");
        let sent = wait_for(Duration::from_secs(30), || {
            let mut stream = UnixStream::connect(&socket).ok()?;
            stream.write_all(line.as_bytes()).ok()
        });
        assert!(sent.is_some(), "the agent socket never accepted a line");
    }

    /// One excursion: above the limit until its bundle is spooled, then back.
    fn trip(&self) {
        let before = self.spooled().len();
        self.send(10.0);
        let written = wait_for(Duration::from_secs(30), || {
            (self.spooled().len() > before).then_some(())
        });
        assert!(written.is_some(), "no bundle was written for the trip");
        self.send(0.0);
        // The socket hands readings over every 100 ms: keep the next trip's
        // value out of this batch so the rule sees it resolve in between.
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A free port below the kernel's ephemeral range, so that no other test's
/// `bind(0)` (nor an outgoing connection) can take it while the server is
/// down for a minute.
fn quiet_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let span = low.saturating_sub(20_000).max(1);
    let seed = std::process::id() ^ std::time::UNIX_EPOCH.elapsed().unwrap().subsec_nanos();
    (0..200_u32)
        .map(|i| {
            20_000
                + u16::try_from(seed.wrapping_add(i.wrapping_mul(7_919)) % u32::from(span)).unwrap()
        })
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("no free port below the ephemeral range")
}

/// `rewind server` on a given port and state directory, once healthy.
fn serve_on(state: &Path, port: u16) -> Guard {
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = rewind(&[
        "server",
        "--listen",
        &listen,
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    let server = Guard(cmd.stdout(Stdio::null()).spawn().unwrap());
    let healthy = wait_for(Duration::from_secs(30), || {
        get_json(&format!("http://{listen}/healthz"))
    });
    assert!(
        healthy.is_some(),
        "the server never became healthy on port {port}"
    );
    server
}

fn terminate(child: &mut Guard) -> std::process::ExitStatus {
    let pid = child.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    child.0.wait().unwrap()
}

fn incidents(url: &str, viewer: &str) -> Option<Vec<serde_json::Value>> {
    let list = get_json_as(&format!("{url}/api/v1/incidents?limit=1000"), viewer)?;
    list["incidents"].as_array().cloned()
}

/// POSTs a bundle file with a device token; returns the status and the body.
fn post_bundle(url: &str, token: &str, file: &Path) -> (u16, serde_json::Value) {
    let body = std::fs::read(file).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let res = reqwest::Client::new()
            .post(format!("{url}/api/v1/bundles"))
            .bearer_auth(token)
            .header("content-type", "application/zip")
            .body(body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    })
}

/// Issue 5, "done when": the server is down for a minute while the agent
/// captures three incidents; once it is back all three arrive, exactly once.
/// SLOW: about 70 s.
#[test]
fn issue_0005_a_minute_long_outage_delivers_every_bundle_exactly_once() {
    const OUTAGE: Duration = Duration::from_secs(60);
    let setup = Setup::new();
    let server_state = setup.path("server");
    let port = quiet_port();
    let url = format!("http://127.0.0.1:{port}");
    let state_dir = Path::new(&server_state);
    let device = make_token(state_dir, "outage-box", &["--device", "outage-box"]);
    let viewer = make_token(state_dir, "victor", &["--role", "viewer"]);
    let mut server = serve_on(&server_state, port);
    let mut agent = Guard(
        setup
            .agent(&[
                "--server",
                &url,
                "--device-id",
                "outage-box",
                "--token",
                &device,
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    setup.send(0.0); // waits until the agent listens

    assert!(terminate(&mut server).success(), "the server stops cleanly");
    let down = Instant::now();
    for _ in 0..3 {
        setup.trip();
    }
    let spooled = setup.spooled();
    assert_eq!(spooled.len(), 3, "three bundles wait for the server");
    let copy = setup.path("copy-of-first.zip");
    std::fs::copy(&spooled[0], &copy).unwrap();
    std::thread::sleep(OUTAGE.saturating_sub(down.elapsed()));
    assert!(
        agent.0.try_wait().unwrap().is_none(),
        "the agent rode out the outage"
    );
    assert_eq!(
        setup.spooled(),
        spooled,
        "nothing lost, nothing added while down"
    );

    let _server = serve_on(&server_state, port);
    // One rule on one device: the three trips are one incident (same
    // fingerprint) with three occurrences, each carried by its own bundle.
    let arrived = wait_for(Duration::from_secs(60), || {
        incidents(&url, &viewer).filter(|list| list.iter().any(|i| i["occurrences"] == 3))
    });
    let list = arrived.expect("the three bundles did not all reach the server within 60 s");
    let emptied = wait_for(Duration::from_secs(30), || {
        setup.spooled().is_empty().then_some(())
    });
    assert!(emptied.is_some(), "confirmed bundles leave the spool");
    let list = incidents(&url, &viewer).unwrap_or(list);
    assert_eq!(list.len(), 1, "one incident for one fingerprint: {list:#?}");
    let incident = &list[0];
    assert_eq!(
        incident["occurrences"], 3,
        "exactly once each: {incident:#}"
    );
    assert_eq!(incident["rule"], "Test value high");
    assert_eq!(incident["device_id"], "outage-box");
    let id = incident["id"].as_str().unwrap();
    let detail = get_json_as(&format!("{url}/api/v1/incidents/{id}"), &viewer).unwrap();
    let mut bundles: Vec<&str> = detail["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bundle_id"].as_str().unwrap())
        .collect();
    bundles.sort_unstable();
    bundles.dedup();
    assert_eq!(bundles.len(), 3, "three different bundles");

    // A retry after a lost answer stores nothing twice.
    let (status, again) = post_bundle(&url, &device, &copy);
    assert_eq!(status, 200, "a known bundle is answered 200: {again}");
    assert_eq!(again["id"], incident["id"], "the same incident: {again}");
    assert_eq!(again["occurrences"], 3, "a retry is not an occurrence");
    assert_eq!(incidents(&url, &viewer).unwrap().len(), 1);

    assert!(terminate(&mut agent).success(), "the agent stops cleanly");
    let out = rewind(&[
        "agent",
        "history",
        "--json",
        "--state-dir",
        &setup.arg("agent"),
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(history["runs"][0]["status"], "stopped", "{history:#}");
    assert_eq!(history["runs"][0]["reason"], "shutdown");
}

#[test]
fn a_killed_agent_is_a_crash_in_the_history_and_its_event_trips_a_rule() {
    let setup = Setup::new();
    let mut first = Guard(setup.agent(&[]).stdout(Stdio::null()).spawn().unwrap());
    setup.send(0.0); // it is up
    first.0.kill().unwrap(); // SIGKILL: no clean stop
    first.0.wait().unwrap();

    let mut second = Guard(setup.agent(&[]).stdout(Stdio::null()).spawn().unwrap());
    let captured = wait_for(Duration::from_secs(30), || {
        setup
            .spooled()
            .into_iter()
            .find(|p| p.to_string_lossy().contains("agent-crashed"))
    });
    assert!(
        captured.is_some(),
        "the agent_crash event tripped the log_match rule"
    );
    let out = rewind(&["agent", "history", "--state-dir", &setup.arg("agent")])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[2].contains(" 2  running "), "{table}");
    assert!(
        lines[3].contains(" 1  crashed ") && lines[3].contains("no clean stop"),
        "{table}"
    );
    assert!(
        table.contains("2 runs shown: 1 running, 0 stopped, 1 crashed"),
        "{table}"
    );
    assert!(terminate(&mut second).success());
}

#[test]
fn fsck_exits_0_when_whole_1_after_quarantining_and_2_without_a_state_dir() {
    let setup = Setup::new();
    let state = setup.arg("agent");
    let fsck = |json: bool| {
        let mut args = vec!["agent", "fsck", "--state-dir", &state];
        if json {
            args.push("--json");
        }
        rewind(&args).output().unwrap()
    };
    let out = fsck(false);
    assert_eq!(out.status.code(), Some(2), "no state directory yet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint:"));

    // A real bundle: a trip with no server writes it into the spool.
    let mut agent = Guard(setup.agent(&[]).stdout(Stdio::null()).spawn().unwrap());
    setup.trip();
    assert!(terminate(&mut agent).success());
    let out = fsck(false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("result: 1 ok, 0 quarantined"), "{text}");

    let bundle = setup.spooled().remove(0);
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&bundle, &bytes[..bytes.len() - 10]).unwrap();
    std::fs::write(setup.path("agent/spool/.rewind-bundle-left.tmp"), b"x").unwrap();
    let out = fsck(true);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["bundles"][0]["status"], "quarantined", "{report:#}");
    assert_eq!(
        report["temp_files"][0]["removed"], false,
        "fresh: perhaps being written"
    );
    assert!(!bundle.exists());
    let name = bundle.file_name().unwrap();
    assert!(setup.path("agent/spool/quarantine").join(name).exists());
    assert_eq!(
        fsck(false).status.code(),
        Some(0),
        "quarantined bundles are not checked again"
    );
}
