//! The bundle's `system/` files: what machine this was, which agent, which
//! deployment, and how the agent was configured.
//!
//! ```text
//! system/host.json           hostname, kernel, OS, CPU, memory, boot time, uptime
//! system/agent.json          agent version, pid, start time, device id
//! system/deploy.json         the deployment (service and version) running
//! system/agent-config.yaml   the agent config file as given, redacted
//! ```
//!
//! Sources, each under an injectable root ([`Roots`]): `<proc>/sys/kernel/
//! {hostname,osrelease,version}`, `<proc>/cpuinfo`, `<proc>/meminfo`,
//! `<proc>/stat` (`btime`), `<proc>/uptime`, `<proc>/device-tree/model`
//! (ARM boards such as Jetson), and `<etc>/os-release` (else
//! `<etc>/../usr/lib/os-release`). A value that cannot be read is `null`
//! in the JSON and a note.
//!
//! The deployment's version comes from, first found wins: the environment
//! variable `REWIND_DEPLOY_VERSION` (read when the agent starts), the config
//! (`deployment.version`), the first line of `deployment.version_file`
//! (default `/etc/rewind/version`, read at each capture). `deploy.json` names
//! the source and lists every value found, so a mismatch shows.
//!
//! [`capture`] is a few small file reads: call it off the async loop with
//! the rest of the bundle's blocking work.

use std::{
    collections::BTreeMap,
    io::Read as _,
    path::{Path, PathBuf},
};

use rewind_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::redact::{Counts, Redactor};

/// The environment variable that names the deployed version.
pub const DEPLOY_VERSION_ENV: &str = "REWIND_DEPLOY_VERSION";
/// Longest config text copied into a bundle.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Longest `service` or `version`.
const MAX_LABEL: usize = 256;

/// `deployment` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeploymentConfig {
    /// The service or product this machine runs, e.g. `robot-stack`.
    pub service: Option<String>,
    /// The version deployed; `REWIND_DEPLOY_VERSION` in the environment wins over it.
    pub version: Option<String>,
    /// A file whose first line is the version, used when neither is set; absent is fine.
    pub version_file: PathBuf,
}

impl Default for DeploymentConfig {
    fn default() -> Self {
        Self {
            service: None,
            version: None,
            version_file: PathBuf::from("/etc/rewind/version"),
        }
    }
}

impl DeploymentConfig {
    /// Problems with this section, as sentences.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (field, value) in [("service", &self.service), ("version", &self.version)] {
            if let Some(v) = value
                && (v.trim().is_empty() || v.len() > MAX_LABEL || v.chars().any(char::is_control))
            {
                out.push(format!(
                    "deployment.{field} must be 1 to {MAX_LABEL} characters without control characters (or left out)"
                ));
            }
        }
        out
    }
}

/// `REWIND_DEPLOY_VERSION`, trimmed, when set and not empty.
#[must_use]
pub fn env_deploy_version() -> Option<String> {
    std::env::var(DEPLOY_VERSION_ENV)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The agent config file's text. It may hold secrets, so `Debug` shows only its size.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigText(pub String);

impl std::fmt::Debug for ConfigText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConfigText({} bytes)", self.0.len())
    }
}

/// Where the machine's files are read (fixture trees in tests, `/host/proc`
/// and `/host/etc` in a container).
#[derive(Debug, Clone)]
pub struct Roots {
    /// The proc filesystem.
    pub proc_root: PathBuf,
    /// The `/etc` directory.
    pub etc_root: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            proc_root: PathBuf::from("/proc"),
            etc_root: PathBuf::from("/etc"),
        }
    }
}

/// The running agent, for `system/agent.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentInfo {
    /// The agent's version.
    pub version: String,
    /// Its process id.
    pub pid: u32,
    /// When it started.
    pub started_at: Timestamp,
    /// The device id it reports as.
    pub device_id: String,
    /// The CPU architecture it was built for.
    pub arch: String,
}

impl AgentInfo {
    /// This process, started at `started_at`.
    #[must_use]
    pub fn current(device_id: &str, started_at: Timestamp) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            started_at,
            device_id: device_id.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
        }
    }
}

/// What [`capture`] reads.
#[derive(Debug)]
pub struct SystemInput<'a> {
    /// Where to read the machine's files.
    pub roots: &'a Roots,
    /// The agent.
    pub agent: &'a AgentInfo,
    /// The `deployment` section.
    pub deployment: &'a DeploymentConfig,
    /// `REWIND_DEPLOY_VERSION` as read at start ([`env_deploy_version`]).
    pub env_version: Option<String>,
    /// The agent config file's text, if the agent was given one.
    pub config_text: Option<&'a str>,
    /// Applied to the config text.
    pub redactor: &'a Redactor,
    /// When this is taken.
    pub now: Timestamp,
}

/// The `system/` files, notes, and what redaction replaced in them.
#[derive(Debug, Clone, Default)]
pub struct SystemInfo {
    /// `(path inside the bundle, bytes)`.
    pub files: Vec<(String, Vec<u8>)>,
    /// What could not be read, one sentence each.
    pub notes: Vec<String>,
    /// Replacements made in `agent-config.yaml`, per pattern.
    pub redactions: Counts,
}

/// Builds the `system/` files.
#[must_use]
pub fn capture(input: &SystemInput<'_>) -> SystemInfo {
    let mut notes = Vec::new();
    let host = host(
        &input.roots.proc_root,
        &input.roots.etc_root,
        input.now,
        &mut notes,
    );
    let agent = AgentJson {
        info: input.agent,
        uptime_seconds: seconds_between(input.agent.started_at, input.now),
    };
    let deploy = deploy(input.deployment, input.env_version.as_deref(), &mut notes);
    let mut redactions = Counts::default();
    let config = match input.config_text {
        Some(text) => {
            let mut text = clip(text, MAX_CONFIG_BYTES, "system/agent-config.yaml", &mut notes);
            text = input.redactor.redact(&text, &mut redactions).into_owned();
            text
        }
        None => "# The agent runs without a config file: flags and built-in defaults only\n# (see `rewind agent --print-default-config`).\n".to_owned(),
    };
    let files = vec![
        ("system/host.json".to_owned(), json(&host)),
        ("system/agent.json".to_owned(), json(&agent)),
        ("system/deploy.json".to_owned(), json(&deploy)),
        ("system/agent-config.yaml".to_owned(), config.into_bytes()),
    ];
    SystemInfo {
        files,
        notes,
        redactions,
    }
}

fn json(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
    bytes.push(b'\n');
    bytes
}

fn clip(text: &str, max: u64, path: &str, notes: &mut Vec<String>) -> String {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if text.len() <= max {
        return text.to_owned();
    }
    let end = (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    notes.push(format!("{path}: truncated at {end} bytes"));
    text.get(..end).unwrap_or_default().to_owned()
}

#[allow(clippy::cast_precision_loss)] // seconds of uptime are far below 2^52
fn seconds_between(start: Timestamp, end: Timestamp) -> f64 {
    end.nanos_since(start) as f64 / 1e9
}

#[derive(Debug, Serialize)]
struct AgentJson<'a> {
    #[serde(flatten)]
    info: &'a AgentInfo,
    uptime_seconds: f64,
}

/// `system/host.json`.
#[derive(Debug, Serialize)]
struct Host {
    captured_at: Timestamp,
    hostname: Option<String>,
    kernel_release: Option<String>,
    kernel_version: Option<String>,
    os: Option<String>,
    os_release: BTreeMap<String, String>,
    machine_model: Option<String>,
    arch: &'static str,
    cpu_model: Option<String>,
    cpu_count: Option<usize>,
    memory_total_bytes: Option<u64>,
    boot_time: Option<Timestamp>,
    uptime_seconds: Option<f64>,
}

/// Reads a small text file (first 256 KiB), or notes why not.
fn read(path: &Path, what: &str, notes: &mut Vec<String>) -> Option<String> {
    let mut text = String::new();
    let read = std::fs::File::open(path).and_then(|f| {
        let mut buf = Vec::new();
        f.take(256 * 1024).read_to_end(&mut buf)?;
        text = String::from_utf8_lossy(&buf).into_owned();
        Ok(())
    });
    match read {
        Ok(()) => Some(text),
        Err(e) => {
            notes.push(format!(
                "system/host.json: no {what}: cannot read {}: {e}",
                path.display()
            ));
            None
        }
    }
}

fn first_line(text: &str) -> Option<String> {
    let line = text.lines().next()?.trim().trim_end_matches('\0');
    (!line.is_empty()).then(|| line.to_owned())
}

fn host(proc: &Path, etc: &Path, now: Timestamp, notes: &mut Vec<String>) -> Host {
    let kernel = proc.join("sys/kernel");
    let os_release = os_release(etc, notes);
    let cpuinfo = read(&proc.join("cpuinfo"), "CPU model", notes);
    let stat = read(&proc.join("stat"), "boot time", notes);
    let boot_time = stat
        .as_deref()
        .and_then(btime)
        .map(|secs| Timestamp::from_unix_nanos(secs.saturating_mul(1_000_000_000)));
    // Boards without a device tree (x86) have no model: not worth a note.
    let machine_model = std::fs::read(proc.join("device-tree/model"))
        .ok()
        .and_then(|b| first_line(&String::from_utf8_lossy(&b)));
    Host {
        captured_at: now,
        hostname: read(&kernel.join("hostname"), "hostname", notes).and_then(|t| first_line(&t)),
        kernel_release: read(&kernel.join("osrelease"), "kernel release", notes)
            .and_then(|t| first_line(&t)),
        kernel_version: read(&kernel.join("version"), "kernel version", notes)
            .and_then(|t| first_line(&t)),
        os: os_release
            .get("PRETTY_NAME")
            .or_else(|| os_release.get("NAME"))
            .cloned(),
        os_release,
        machine_model,
        arch: std::env::consts::ARCH,
        cpu_model: cpuinfo.as_deref().and_then(cpu_model),
        cpu_count: cpuinfo.as_deref().map(cpu_count).filter(|n| *n > 0),
        memory_total_bytes: read(&proc.join("meminfo"), "memory total", notes)
            .as_deref()
            .and_then(mem_total),
        boot_time,
        uptime_seconds: read(&proc.join("uptime"), "uptime", notes)
            .and_then(|t| t.split_whitespace().next()?.parse().ok()),
    }
}

/// `os-release` as a map (quotes removed); empty, with a note, when absent.
fn os_release(etc: &Path, notes: &mut Vec<String>) -> BTreeMap<String, String> {
    let primary = etc.join("os-release");
    let fallback = etc.join("../usr/lib/os-release");
    let text = std::fs::read_to_string(&primary).or_else(|_| std::fs::read_to_string(&fallback));
    let Ok(text) = text else {
        notes.push(format!(
            "system/host.json: no OS name: neither {} nor {} could be read",
            primary.display(),
            fallback.display()
        ));
        return BTreeMap::new();
    };
    text.lines()
        .take(200)
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            let key = key.trim();
            if key.is_empty() || key.starts_with('#') {
                return None;
            }
            let value = value.trim().trim_matches('"').trim_matches('\'');
            Some((key.to_owned(), value.chars().take(MAX_LABEL).collect()))
        })
        .collect()
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Hardware", "Model", "Processor", "cpu model"]
        .iter()
        .find_map(|key| {
            cpuinfo.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_owned())
            })
        })
}

fn cpu_count(cpuinfo: &str) -> usize {
    cpuinfo
        .lines()
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(k, _)| k.trim() == "processor")
        })
        .count()
}

fn mem_total(meminfo: &str) -> Option<u64> {
    let kb = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    kb.trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?
        .checked_mul(1024)
}

fn btime(stat: &str) -> Option<i64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
}

/// `system/deploy.json`.
#[derive(Debug, Serialize)]
struct Deploy {
    service: Option<String>,
    version: Option<String>,
    /// Where `version` came from.
    version_source: Option<String>,
    env_version: Option<String>,
    config_version: Option<String>,
    version_file: String,
    file_version: Option<String>,
}

fn deploy(config: &DeploymentConfig, env: Option<&str>, notes: &mut Vec<String>) -> Deploy {
    let file_version = if config.version_file.as_os_str().is_empty() {
        None
    } else {
        match std::fs::File::open(&config.version_file) {
            Ok(f) => {
                let mut buf = Vec::new();
                match f.take(4096).read_to_end(&mut buf) {
                    Ok(_) => first_line(&String::from_utf8_lossy(&buf)),
                    Err(e) => {
                        notes.push(format!(
                            "system/deploy.json: cannot read {}: {e}",
                            config.version_file.display()
                        ));
                        None
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                notes.push(format!(
                    "system/deploy.json: cannot read {}: {e}",
                    config.version_file.display()
                ));
                None
            }
        }
    };
    let sources = [
        (
            env.map(str::to_owned),
            format!("environment {DEPLOY_VERSION_ENV}"),
        ),
        (
            config.version.clone(),
            "config deployment.version".to_owned(),
        ),
        (
            file_version.clone(),
            config.version_file.display().to_string(),
        ),
    ];
    let (version, version_source) = sources
        .into_iter()
        .find_map(|(v, source)| Some((v?, source)))
        .map_or((None, None), |(v, s)| (Some(v), Some(s)));
    if version.is_none() {
        notes.push(format!(
            "system/deploy.json: the deployed version is unknown: set {DEPLOY_VERSION_ENV}, deployment.version or write it to {}",
            config.version_file.display()
        ));
    }
    Deploy {
        service: config.service.clone(),
        version,
        version_source,
        env_version: env.map(str::to_owned),
        config_version: config.version.clone(),
        version_file: config.version_file.display().to_string(),
        file_version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact;

    const NOW: Timestamp = Timestamp::from_unix_nanos(1_778_682_622_000_000_000);

    fn fixture(root: &Path) -> Roots {
        let proc = root.join("proc");
        let etc = root.join("etc");
        std::fs::create_dir_all(proc.join("sys/kernel")).unwrap();
        std::fs::create_dir_all(proc.join("device-tree")).unwrap();
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(proc.join("sys/kernel/hostname"), "robot-7\n").unwrap();
        std::fs::write(proc.join("sys/kernel/osrelease"), "5.10.120-tegra\n").unwrap();
        std::fs::write(
            proc.join("sys/kernel/version"),
            "#1 SMP PREEMPT Tue Jan 1 00:00:00 UTC 2026\n",
        )
        .unwrap();
        std::fs::write(proc.join("device-tree/model"), "NVIDIA Jetson Orin NX\0").unwrap();
        std::fs::write(
            proc.join("cpuinfo"),
            "processor\t: 0\nBogoMIPS\t: 62.50\nCPU part\t: 0xd42\n\nprocessor\t: 1\nCPU part\t: 0xd42\n\nHardware\t: Jetson\n",
        )
        .unwrap();
        std::fs::write(
            proc.join("meminfo"),
            "MemTotal:       16000000 kB\nMemFree: 1 kB\n",
        )
        .unwrap();
        std::fs::write(proc.join("stat"), "cpu  1 2 3\nbtime 1778600000\n").unwrap();
        std::fs::write(proc.join("uptime"), "82622.50 1000.00\n").unwrap();
        std::fs::write(etc.join("os-release"), "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nPRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n# comment\n").unwrap();
        Roots {
            proc_root: proc,
            etc_root: etc,
        }
    }

    fn file<'a>(info: &'a SystemInfo, path: &str) -> &'a [u8] {
        &info.files.iter().find(|(p, _)| p == path).unwrap().1
    }

    fn parsed(info: &SystemInfo, path: &str) -> serde_json::Value {
        serde_json::from_slice(file(info, path)).unwrap()
    }

    #[test]
    fn the_system_files_come_from_the_fixture_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = fixture(tmp.path());
        let version_file = tmp.path().join("version");
        std::fs::write(&version_file, "2.3.1-rc1\nbuilt by ci\n").unwrap();
        let agent = AgentInfo::current(
            "robot-7",
            Timestamp::from_unix_nanos(1_778_682_000_000_000_000),
        );
        let deployment = DeploymentConfig {
            service: Some("robot-stack".into()),
            version: None,
            version_file,
        };
        let redactor = redact::Config::default().build().unwrap();
        let info = capture(&SystemInput {
            roots: &roots,
            agent: &agent,
            deployment: &deployment,
            env_version: None,
            config_text: Some("version: 1\nserver: https://ops:hunter2@rewind.example\n"),
            redactor: &redactor,
            now: NOW,
        });
        assert!(info.notes.is_empty(), "{:?}", info.notes);
        let paths: Vec<_> = info.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "system/host.json",
                "system/agent.json",
                "system/deploy.json",
                "system/agent-config.yaml"
            ]
        );
        let host = parsed(&info, "system/host.json");
        assert_eq!(host["hostname"], "robot-7");
        assert_eq!(host["kernel_release"], "5.10.120-tegra");
        assert_eq!(
            host["kernel_version"],
            "#1 SMP PREEMPT Tue Jan 1 00:00:00 UTC 2026"
        );
        assert_eq!(host["os"], "Ubuntu 22.04.4 LTS");
        assert_eq!(host["os_release"]["VERSION_ID"], "22.04");
        assert_eq!(host["machine_model"], "NVIDIA Jetson Orin NX");
        assert_eq!(host["cpu_model"], "Jetson");
        assert_eq!(host["cpu_count"], 2);
        assert_eq!(host["memory_total_bytes"], 16_000_000_u64 * 1024);
        assert_eq!(host["boot_time"], "2026-05-12T15:33:20Z");
        assert_eq!(host["uptime_seconds"], 82622.5);
        assert_eq!(host["captured_at"], "2026-05-13T14:30:22Z");
        let agent_json = parsed(&info, "system/agent.json");
        assert_eq!(agent_json["pid"], std::process::id());
        assert_eq!(agent_json["device_id"], "robot-7");
        assert_eq!(agent_json["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(agent_json["started_at"], "2026-05-13T14:20:00Z");
        assert_eq!(agent_json["uptime_seconds"], 622.0);
        let deploy = parsed(&info, "system/deploy.json");
        assert_eq!(deploy["service"], "robot-stack");
        assert_eq!(deploy["version"], "2.3.1-rc1");
        assert_eq!(deploy["file_version"], "2.3.1-rc1");
        assert!(
            deploy["version_source"]
                .as_str()
                .unwrap()
                .ends_with("/version")
        );
        assert_eq!(
            file(&info, "system/agent-config.yaml"),
            b"version: 1\nserver: https://ops:<redacted:url_credentials>@rewind.example\n"
        );
        assert_eq!(info.redactions.get("url_credentials"), 1);
    }

    #[test]
    fn the_environment_wins_over_the_config_over_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let version_file = tmp.path().join("version");
        std::fs::write(&version_file, "3\n").unwrap();
        let mut notes = Vec::new();
        let mut config = DeploymentConfig {
            service: None,
            version: Some("2".into()),
            version_file,
        };
        let d = deploy(&config, Some("1"), &mut notes);
        assert_eq!(
            (d.version.as_deref(), d.version_source.as_deref()),
            (Some("1"), Some("environment REWIND_DEPLOY_VERSION"))
        );
        assert_eq!(
            (d.config_version.as_deref(), d.file_version.as_deref()),
            (Some("2"), Some("3"))
        );
        let d = deploy(&config, None, &mut notes);
        assert_eq!(
            (d.version.as_deref(), d.version_source.as_deref()),
            (Some("2"), Some("config deployment.version"))
        );
        config.version = None;
        config.version_file = tmp.path().join("absent");
        let d = deploy(&config, None, &mut notes);
        assert_eq!(d.version, None);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("the deployed version is unknown"),
            "{notes:?}"
        );
    }

    #[test]
    fn a_bare_tree_gives_nulls_and_notes_not_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = Roots {
            proc_root: tmp.path().join("proc"),
            etc_root: tmp.path().join("etc"),
        };
        let agent = AgentInfo::current("d", NOW);
        let info = capture(&SystemInput {
            roots: &roots,
            agent: &agent,
            deployment: &DeploymentConfig::default(),
            env_version: None,
            config_text: None,
            redactor: &Redactor::none(),
            now: NOW,
        });
        let host = parsed(&info, "system/host.json");
        assert!(
            host["hostname"].is_null()
                && host["cpu_count"].is_null()
                && host["boot_time"].is_null()
        );
        for what in [
            "hostname",
            "kernel release",
            "CPU model",
            "memory total",
            "boot time",
            "uptime",
            "OS name",
        ] {
            assert!(
                info.notes.iter().any(|n| n.contains(&format!("no {what}"))),
                "no note on {what}: {:?}",
                info.notes
            );
        }
        assert!(
            std::str::from_utf8(file(&info, "system/agent-config.yaml"))
                .unwrap()
                .starts_with("# The agent runs without a config file")
        );
    }

    #[test]
    fn bad_deployment_labels_are_problems() {
        assert!(DeploymentConfig::default().problems().is_empty());
        let bad = DeploymentConfig {
            service: Some(" ".into()),
            version: Some("1\n2".into()),
            ..DeploymentConfig::default()
        };
        assert_eq!(bad.problems().len(), 2, "{:?}", bad.problems());
    }

    #[test]
    fn the_live_machine_describes_itself() {
        let agent = AgentInfo::current("live", NOW);
        let info = capture(&SystemInput {
            roots: &Roots::default(),
            agent: &agent,
            deployment: &DeploymentConfig::default(),
            env_version: env_deploy_version(),
            config_text: Some(include_str!("../../../examples/agent.yaml")),
            redactor: &redact::Config::default().build().unwrap(),
            now: Timestamp::now(),
        });
        let host = parsed(&info, "system/host.json");
        println!(
            "{}",
            String::from_utf8_lossy(file(&info, "system/host.json"))
        );
        for note in &info.notes {
            println!("note: {note}");
        }
        assert!(host["kernel_release"].is_string(), "{host}");
        assert!(host["cpu_count"].as_u64().is_some_and(|n| n >= 1), "{host}");
        assert!(
            host["memory_total_bytes"].as_u64().is_some_and(|n| n > 0),
            "{host}"
        );
        assert!(
            host["uptime_seconds"].as_f64().is_some_and(|n| n > 0.0),
            "{host}"
        );
    }
}
