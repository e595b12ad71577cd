//! Agent and server as real processes on loopback.

use std::{process::Stdio, time::Duration};

use crate::proc::{Guard, get_json, rewind, start_server, wait_for};

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

#[test]
fn an_agent_trip_becomes_an_incident_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = start_server(&dir.path().join("server"), &[]);
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, ALWAYS_TRIPS).unwrap();
    let agent_state = dir.path().join("agent");
    let _agent = Guard(
        rewind(&[
            "agent",
            "--server",
            &url,
            "--rules",
            rules.to_str().unwrap(),
            "--state-dir",
            agent_state.to_str().unwrap(),
            "--device-id",
            "e2e-box",
            "--window",
            "10s",
            "--post-trigger",
            "500ms",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap(),
    );

    let list = wait_for(Duration::from_secs(30), || {
        let list = get_json(&format!("{url}/api/v1/incidents"))?;
        (!list["incidents"].as_array()?.is_empty()).then_some(list)
    })
    .expect("no incident reached the server within 30 s");
    let incident = &list["incidents"][0];
    assert_eq!(incident["device_id"], "e2e-box");
    assert_eq!(incident["rule"], "Memory is present");
    assert_eq!(incident["severity"], "low");

    let detail = get_json(&format!(
        "{url}/api/v1/incidents/{}",
        incident["id"].as_str().unwrap()
    ))
    .unwrap();
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
    // Once uploaded, the agent's spool is empty again.
    let spooled = wait_for(Duration::from_secs(10), || {
        let n = std::fs::read_dir(agent_state.join("spool"))
            .ok()?
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "zip"))
            .count();
        (n == 0).then_some(())
    });
    assert!(
        spooled.is_some(),
        "uploaded bundles are removed from the spool"
    );
}

#[test]
fn bundles_written_while_the_server_is_down_are_uploaded_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, ALWAYS_TRIPS).unwrap();
    let agent_state = dir.path().join("agent");
    // Pick a port, then free it: the agent starts with no server there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let _agent = Guard(
        rewind(&[
            "agent",
            "--server",
            &url,
            "--rules",
            rules.to_str().unwrap(),
            "--state-dir",
            agent_state.to_str().unwrap(),
            "--window",
            "5s",
            "--post-trigger",
            "200ms",
        ])
        .spawn()
        .unwrap(),
    );
    let spooled = wait_for(Duration::from_secs(20), || {
        let n = std::fs::read_dir(agent_state.join("spool"))
            .ok()?
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "zip"))
            .count();
        (n > 0).then_some(n)
    });
    assert!(
        spooled.is_some(),
        "the bundle waits in the spool while the server is down"
    );

    let state = dir.path().join("server");
    let _server = Guard(
        rewind(&[
            "server",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--state-dir",
            state.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let stored = wait_for(Duration::from_secs(30), || {
        let list = get_json(&format!("{url}/api/v1/incidents"))?;
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
}

#[test]
fn sigterm_during_the_post_trigger_time_still_writes_the_bundle() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, ALWAYS_TRIPS).unwrap();
    let state = dir.path().join("agent");
    let mut agent = Guard(
        rewind(&[
            "agent",
            "--rules",
            rules.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--window",
            "5s",
            "--post-trigger",
            "60s",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap(),
    );
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
    let bundles: Vec<_> = std::fs::read_dir(state.join("spool"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "zip"))
        .collect();
    assert_eq!(
        bundles.len(),
        1,
        "the pending capture was written at shutdown"
    );
    let verify = rewind(&["bundle", "verify", bundles[0].path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}
