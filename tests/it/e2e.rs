//! Agent and server as real processes on loopback.

use std::{process::Stdio, time::Duration};

use crate::proc::{Guard, get_json_as, make_token, rewind, start_server, wait_for};

/// Trips on a real metric of this machine within a second, deterministically:
/// available memory is always above zero.
const ALWAYS_TRIPS: &str = "\
triggers:
  - name: Memory is present
    type: metric_threshold
    metric: memory.available_bytes
    threshold:
      above: 0
    duration: 0.5
    severity: low
";

/// A test's directory with the always-tripping rules written into it.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yaml"), ALWAYS_TRIPS).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    /// `rewind agent` with these rules, its state in `agent/`, and `extra` flags.
    fn agent(&self, extra: &[&str]) -> std::process::Command {
        let (rules, state) = (self.path("rules.yaml"), self.path("agent"));
        let mut args = vec!["agent", "--rules", &rules, "--state-dir", &state];
        args.extend_from_slice(extra);
        rewind(&args)
    }

    /// Complete bundles waiting in the agent's spool.
    fn spooled(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("agent/spool"))
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "zip"))
                    .count()
            })
            .unwrap_or(0)
    }
}

#[test]
fn an_agent_trip_becomes_an_incident_on_the_server() {
    let setup = Setup::new();
    let server_state = setup.dir.path().join("server");
    let device = make_token(&server_state, "e2e-box", &["--device", "e2e-box"]);
    let viewer = make_token(&server_state, "victor", &["--role", "viewer"]);
    let (_server, url) = start_server(&server_state, &[]);
    let flags = [
        "--server",
        &url,
        "--token",
        &device,
        "--device-id",
        "e2e-box",
        "--window",
        "10s",
        "--post-trigger",
        "500ms",
    ];
    let _agent = Guard(setup.agent(&flags).stdout(Stdio::null()).spawn().unwrap());

    let list = wait_for(Duration::from_secs(30), || {
        let list = get_json_as(&format!("{url}/api/v1/incidents"), &viewer)?;
        (!list["incidents"].as_array()?.is_empty()).then_some(list)
    })
    .expect("no incident reached the server within 30 s");
    let incident = &list["incidents"][0];
    assert_eq!(incident["device_id"], "e2e-box");
    assert_eq!(incident["rule"], "Memory is present");
    assert_eq!(incident["severity"], "low");

    let id = incident["id"].as_str().unwrap();
    let detail = get_json_as(&format!("{url}/api/v1/incidents/{id}"), &viewer).unwrap();
    let series = detail["series"].as_array().unwrap();
    let mem = series
        .iter()
        .find(|s| s["name"] == "memory.available_bytes")
        .expect("memory series in the bundle");
    assert!(
        mem["v"].as_array().unwrap().len() >= 5,
        "at least the 0.5 s before the trigger: {mem}"
    );
    assert!(
        series.iter().any(|s| s["name"] == "cpu.total.busy_pct"),
        "every collected series is in the bundle"
    );
    let emptied = wait_for(Duration::from_secs(10), || {
        (setup.spooled() == 0).then_some(())
    });
    assert!(
        emptied.is_some(),
        "uploaded bundles are removed from the spool"
    );
}

#[test]
fn bundles_written_while_the_server_is_down_are_uploaded_when_it_returns() {
    let setup = Setup::new();
    // Pick a port, then free it: the agent starts with no server there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let server_state = setup.dir.path().join("server");
    let device = make_token(&server_state, "late-box", &["--device", "late-box"]);
    let viewer = make_token(&server_state, "victor", &["--role", "viewer"]);
    let flags = [
        "--server",
        &url,
        "--token",
        &device,
        "--device-id",
        "late-box",
        "--window",
        "5s",
        "--post-trigger",
        "200ms",
    ];
    let _agent = Guard(setup.agent(&flags).spawn().unwrap());
    let spooled = wait_for(Duration::from_secs(20), || {
        (setup.spooled() > 0).then_some(())
    });
    assert!(
        spooled.is_some(),
        "the bundle waits in the spool while the server is down"
    );

    let state = setup.path("server");
    let listen = format!("127.0.0.1:{port}");
    let mut server_cmd = rewind(&["server", "--listen", &listen, "--state-dir", &state]);
    let _server = Guard(server_cmd.stdout(Stdio::null()).spawn().unwrap());
    let stored = wait_for(Duration::from_secs(30), || {
        let list = get_json_as(&format!("{url}/api/v1/incidents"), &viewer)?;
        (!list["incidents"].as_array()?.is_empty()).then_some(())
    });
    assert!(
        stored.is_some(),
        "the spooled bundle reached the server after it came up"
    );
}

#[test]
fn the_demo_stores_an_incident_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = rewind(&[
        "demo",
        "--headless",
        "--exit-after-incident",
        "--port",
        "0",
        "--state-dir",
        dir.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("incident ") && stdout.contains("CPU saturated"),
        "{stdout}"
    );
    assert!(stdout.contains("dashboard: http://127.0.0.1:"), "{stdout}");
    // The demo's bad release is judged a regression, with its new log signature.
    assert!(
        stdout.contains("deploy checkout 2.0.0 judged: regression")
            && stdout.contains("New log signature `payment <NUM> failed: card-gateway timed out"),
        "{stdout}"
    );

    // The agent's stored bundle replays through the demo rules: the
    // recorded rule fires again, at the recorded time.
    let mut zips = Vec::new();
    find_zips(&dir.path().join("server"), &mut zips);
    assert_eq!(
        zips.len(),
        2,
        "the CPU incident's bundle and the regression's: {zips:?}"
    );
    let rule_of = |z: &std::path::PathBuf| {
        let bytes = std::fs::read(z).unwrap();
        let b = rewind_bundle::read_bundle(&bytes, &rewind_bundle::Limits::default()).unwrap();
        b.trigger.rule
    };
    let (cpu, regression): (Vec<_>, Vec<_>) = zips
        .into_iter()
        .partition(|z| rule_of(z) == "CPU saturated");
    let bundle = cpu
        .first()
        .expect("the server stored the agent's bundle")
        .clone();

    // Root cause, offline, on the regression's bundle: the bad-deploy chain.
    let regression = regression.first().expect("the regression's bundle");
    let out = rewind(&["rca", regression.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rca: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rca["analysis"]["causes"][0]["chain"], "bad-deploy",
        "{rca:#}"
    );
    let out = rewind(&["rca", bundle.to_str().unwrap()]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());
    let out = rewind(&[
        "rules",
        "test",
        "examples/rules/demo.yaml",
        "--bundle",
        bundle.to_str().unwrap(),
        "--expect-fire",
        "CPU saturated",
    ])
    .current_dir(env!("CARGO_MANIFEST_DIR"))
    .output()
    .unwrap();
    let replay = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{replay}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        replay.contains("Original trigger \"CPU saturated\" fired at the recorded time (+0.0 s)."),
        "{replay}"
    );
}

/// Every `*.zip` under `dir`.
fn find_zips(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_zips(&path, out);
        } else if path.extension().is_some_and(|e| e == "zip") {
            out.push(path);
        }
    }
}

#[test]
fn sigterm_during_the_post_trigger_time_still_writes_the_bundle() {
    use std::io::BufRead as _;
    let setup = Setup::new();
    let flags = ["--window", "5s", "--post-trigger", "60s"];
    let mut agent = Guard(setup.agent(&flags).stderr(Stdio::piped()).spawn().unwrap());
    let stderr = std::io::BufReader::new(agent.0.stderr.take().unwrap());
    let tripped = stderr
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("rule tripped"));
    assert!(tripped, "the rule never tripped");
    let pid = agent.0.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = agent.0.wait().unwrap();
    assert!(status.success(), "graceful stop exits 0: {status}");
    assert_eq!(
        setup.spooled(),
        1,
        "the pending capture was written at shutdown"
    );
    let spool = setup.dir.path().join("agent/spool");
    let bundle = std::fs::read_dir(spool)
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "zip"))
        .unwrap();
    let verify = rewind(&["bundle", "verify", bundle.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}
