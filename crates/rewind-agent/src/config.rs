//! Agent settings: the YAML file (`rewind agent --config`), parsed into raw
//! structs and then checked into an [`AgentConfig`] that cannot be invalid.
//!
//! Command-line flags override the file; the documented example with every
//! default is `examples/agent.yaml` (`rewind agent --print-default-config`).

use std::{path::PathBuf, time::Duration};

use rewind_detect::RuleSet;
use rewind_model::DeviceId;
use serde::Deserialize;

use crate::{HistoryConfig, SpoolConfig, collect::CollectorsConfig};

/// The longest history the ring keeps.
pub const MAX_WINDOW: Duration = Duration::from_secs(300);

/// The agent config file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    /// Format version of this file; only 1 exists.
    pub version: u32,
    /// This machine's name in incidents (default: the host name).
    #[serde(default)]
    pub device_id: Option<String>,
    /// Base URL of the server; without it bundles stay in the spool.
    #[serde(default)]
    pub server: Option<String>,
    /// The rules file, relative to the working directory.
    #[serde(default)]
    pub rules: Option<PathBuf>,
    /// Where the spool and other state live.
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// The pre-incident buffer.
    #[serde(default)]
    pub ring: RingConfig,
    /// Which collectors run.
    #[serde(default)]
    pub collectors: CollectorsConfig,
    /// The spool's disk budget and the upload retry.
    #[serde(default)]
    pub spool: SpoolConfig,
    /// The startup history.
    #[serde(default)]
    pub history: HistoryConfig,
    /// Diagnostics taken when a rule trips (watched processes' `/proc` files
    /// and stacks, HTTP profiles) and as routine baselines.
    #[serde(default)]
    pub diagnostics: crate::diagnostics::Config,
    /// Secrets and personal data scrubbed from logs and the config before they go into a bundle.
    #[serde(default)]
    pub redaction: crate::redact::Config,
    /// The deployment (service and version) this machine runs, for `system/deploy.json`.
    #[serde(default)]
    pub deployment: crate::sysinfo::DeploymentConfig,
    /// The token sent to the server with every request: this device's token
    /// from `rewind token create --device <id>`. `--token`/`REWIND_TOKEN` win.
    #[serde(default)]
    pub token: Option<Token>,
    /// Also stream samples to the server as they are taken, for its live
    /// dashboard (default off). Needs `server`.
    #[serde(default)]
    pub live: bool,
    /// What this device reports about itself when it registers with the server.
    #[serde(default)]
    pub identity: IdentityConfig,
}

/// A server token. `Debug` shows only its first characters, so configs can
/// be logged.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a token secret (checked by [`AgentConfig::problems`]).
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into().trim().to_owned())
    }

    /// The secret, for the `Authorization` header.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Why this cannot be a Rewind token, if it cannot.
    #[must_use]
    pub fn problem(&self) -> Option<String> {
        let s = &self.0;
        if !s.starts_with("rwd_") || s.len() > 128 || !s.chars().all(|c| c.is_ascii_graphic()) {
            Some(
                "token is not a Rewind token (rwd_…): create one with `rewind token create --device <id>`"
                    .to_owned(),
            )
        } else {
            None
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: String = self.0.chars().take(10).collect();
        write!(f, "Token({shown}…)")
    }
}

/// `identity` in the agent config: reported to the server at start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// The fleet this device belongs to (`warehouse-bots`).
    pub fleet: Option<String>,
    /// Where it is (`berlin-2`).
    pub site: Option<String>,
    /// Its hardware model (`jetson-orin-nx-16gb`).
    pub hardware: Option<String>,
}

impl IdentityConfig {
    /// Problems with this section, as sentences.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, value) in [
            ("fleet", &self.fleet),
            ("site", &self.site),
            ("hardware", &self.hardware),
        ] {
            let Some(v) = value else { continue };
            if v.len() > 256 || v.chars().any(char::is_control) {
                out.push(format!(
                    "identity.{name} must be at most 256 bytes without control characters"
                ));
            }
        }
        out
    }
}

/// `ring` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RingConfig {
    /// History kept per series, and covered by a bundle before its trigger (at most 300s).
    #[serde(with = "duration")]
    pub window: Duration,
    /// Recording kept after a trigger before the bundle is written (at most 300s).
    #[serde(with = "duration")]
    pub post_trigger: Duration,
    /// At most this many distinct series; new ones beyond it are dropped and counted.
    pub max_series: usize,
    /// Bytes of log lines and events kept (the same window applies).
    pub event_bytes: usize,
}

impl Default for RingConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            post_trigger: Duration::from_secs(3),
            max_series: 5_000,
            event_bytes: 4 * 1024 * 1024,
        }
    }
}

impl AgentFile {
    /// Parses a config file; `origin` names it in errors.
    ///
    /// # Errors
    /// A message with `origin:line:column` for YAML and shape errors.
    pub fn parse(yaml: &str, origin: &str) -> Result<Self, String> {
        let file: Self = serde_saphyr::from_str(yaml).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            format!(
                "{origin}{at}: error: {}\n  hint: see examples/agent.yaml for every setting",
                first_line(&e)
            )
        })?;
        if file.version != 1 {
            return Err(format!(
                "{origin}: error: unsupported config version {}\n  hint: write `version: 1`",
                file.version
            ));
        }
        Ok(file)
    }
}

fn first_line(e: &serde_saphyr::Error) -> String {
    e.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Everything the agent needs to run, checked.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// This machine's name in incidents.
    pub device_id: DeviceId,
    /// Base URL of the server (`http://host:8420`); `None` keeps bundles in the spool only.
    pub server_url: Option<String>,
    /// Where the spool lives.
    pub state_dir: PathBuf,
    /// The rules to evaluate.
    pub rules: RuleSet,
    /// The pre-incident buffer's settings.
    pub ring: RingConfig,
    /// Which collectors run.
    pub collectors: CollectorsConfig,
    /// The spool's disk budget and the upload retry.
    pub spool: SpoolConfig,
    /// The startup history.
    pub history: HistoryConfig,
    /// Diagnostics at a trip and baselines.
    pub diagnostics: crate::diagnostics::Config,
    /// Redaction of logs and the config in bundles.
    pub redaction: crate::redact::Config,
    /// The deployment running, for `system/deploy.json`.
    pub deployment: crate::sysinfo::DeploymentConfig,
    /// The config file's text (redacted into `system/agent-config.yaml`); `None` without a file.
    pub config_text: Option<crate::sysinfo::ConfigText>,
    /// The token sent to the server (`Authorization: Bearer`); `None` sends none.
    pub token: Option<Token>,
    /// Whether samples are also streamed to the server live.
    pub live: bool,
    /// What the device reports when it registers.
    pub identity: IdentityConfig,
}

impl AgentConfig {
    /// Defaults: every default collector, a 60 s window, 3 s after the trigger.
    #[must_use]
    pub fn new(device_id: DeviceId, state_dir: PathBuf, rules: RuleSet) -> Self {
        Self {
            device_id,
            server_url: None,
            state_dir,
            rules,
            ring: RingConfig::default(),
            collectors: CollectorsConfig::default(),
            spool: SpoolConfig::default(),
            history: HistoryConfig::default(),
            diagnostics: crate::diagnostics::Config::default(),
            redaction: crate::redact::Config::default(),
            deployment: crate::sysinfo::DeploymentConfig::default(),
            config_text: None,
            token: None,
            live: false,
            identity: IdentityConfig::default(),
        }
    }

    /// What the agent reports when it registers: `identity`, the deployed
    /// version (`REWIND_DEPLOY_VERSION`, else `deployment.version`) and its own version.
    #[must_use]
    pub fn device_identity(&self) -> rewind_model::DeviceIdentity {
        rewind_model::DeviceIdentity {
            fleet: self.identity.fleet.clone(),
            site: self.identity.site.clone(),
            hardware: self.identity.hardware.clone(),
            software_version: crate::sysinfo::env_deploy_version()
                .or_else(|| self.deployment.version.clone()),
            agent_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }
    }

    /// The spool directory.
    #[must_use]
    pub fn spool_dir(&self) -> PathBuf {
        self.state_dir.join("spool")
    }

    /// Problems that make this config unusable, as sentences.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let ring = &self.ring;
        if ring.window.is_zero() || ring.window > MAX_WINDOW {
            out.push("ring.window must be more than 0 and at most 300s".to_owned());
        }
        if ring.post_trigger > MAX_WINDOW {
            out.push("ring.post_trigger must be at most 300s".to_owned());
        }
        if ring.max_series == 0 {
            out.push("ring.max_series must be at least 1".to_owned());
        }
        let sys = &self.collectors.system;
        if sys.enabled && (sys.interval < Duration::from_millis(10) || sys.interval > ring.window) {
            out.push(
                "collectors.system.interval must be at least 10ms and at most ring.window"
                    .to_owned(),
            );
        }
        out.extend(self.spool.problems());
        out.extend(self.history.problems());
        out.extend(self.diagnostics.problems());
        if let Err(e) = self.redaction.build() {
            out.push(e);
        }
        out.extend(self.deployment.problems());
        out.extend(self.identity.problems());
        if let Some(problem) = self.token.as_ref().and_then(Token::problem) {
            out.push(problem);
        }
        if self.live && self.server_url.is_none() {
            out.push("live: true needs a server to stream to (`server:` or --server)".to_owned());
        }
        out
    }
}

/// Serde for durations written as `100ms`, `2s`, `1m30s` or a number of seconds.
pub use rewind_model::duration;

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../examples/agent.yaml");

    #[test]
    fn durations_parse_in_every_documented_form() {
        assert_eq!(duration::parse("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(duration::parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration::parse("2"), Ok(Duration::from_secs(2)));
        assert_eq!(duration::parse("1m"), Ok(Duration::from_secs(60)));
        assert!(duration::parse("-1s").unwrap_err().contains("-1s"));
        assert!(duration::parse("soon").unwrap_err().contains("write e.g."));
    }

    #[test]
    fn the_example_file_parses_and_holds_the_defaults() {
        let file = AgentFile::parse(EXAMPLE, "examples/agent.yaml").unwrap();
        assert_eq!(
            format!("{:?}", file.ring),
            format!("{:?}", RingConfig::default())
        );
        assert_eq!(
            format!("{:?}", file.collectors),
            format!("{:?}", CollectorsConfig::default())
        );
        assert_eq!(
            format!("{:?}", file.spool),
            format!("{:?}", SpoolConfig::default())
        );
        assert_eq!(
            format!("{:?}", file.history),
            format!("{:?}", HistoryConfig::default())
        );
        assert_eq!(
            format!("{:?}", file.diagnostics),
            format!("{:?}", crate::diagnostics::Config::default())
        );
        assert_eq!(
            format!("{:?}", file.redaction),
            format!("{:?}", crate::redact::Config::default())
        );
        assert_eq!(
            format!("{:?}", file.deployment),
            format!("{:?}", crate::sysinfo::DeploymentConfig::default())
        );
    }

    #[test]
    fn tokens_identity_and_live_are_checked_and_tokens_never_logged() {
        let file = AgentFile::parse(
            "version: 1\ntoken: rwd_0123456789abcdef\nlive: true\nidentity:\n  fleet: bots\n",
            "a.yaml",
        )
        .unwrap();
        let token = file.token.clone().unwrap();
        assert_eq!(token.secret(), "rwd_0123456789abcdef");
        assert!(
            !format!("{file:?}").contains("0123456789abcdef"),
            "{file:?}"
        );
        assert!(file.live);
        assert_eq!(file.identity.fleet.as_deref(), Some("bots"));
        let rules = RuleSet::parse(
            "triggers:\n  - name: x\n    type: metric_threshold\n    metric: a\n    threshold: { above: 1 }\n    severity: low\n",
            "r.yaml",
        )
        .unwrap();
        let mut c = AgentConfig::new(DeviceId::new("d").unwrap(), "s".into(), rules);
        c.token = Some(Token::new("hunter2"));
        c.live = true;
        c.identity.site = Some("a\nb".into());
        let problems = c.problems().join("\n");
        for want in [
            "rewind token create --device",
            "live: true needs a server",
            "identity.site",
        ] {
            assert!(problems.contains(want), "{problems}");
        }
        c.token = Some(token);
        c.server_url = Some("http://x".into());
        c.identity.site = None;
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        let id = c.device_identity();
        assert_eq!(id.agent_version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn unknown_fields_and_bad_values_are_located() {
        let err = AgentFile::parse("version: 1\nring:\n  windw: 5s\n", "a.yaml").unwrap_err();
        assert!(err.starts_with("a.yaml:3:"), "{err}");
        assert!(err.contains("windw"), "{err}");
        let err = AgentFile::parse("version: 1\nring:\n  window: soon\n", "a.yaml").unwrap_err();
        assert!(err.contains("a.yaml:3:"), "{err}");
        let err = AgentFile::parse("version: 2\n", "a.yaml").unwrap_err();
        assert!(err.contains("version 2"), "{err}");
    }

    #[test]
    fn out_of_range_settings_are_problems() {
        let rules = RuleSet::parse(
            "triggers:\n  - name: x\n    type: metric_threshold\n    metric: a\n    threshold: { above: 1 }\n    severity: low\n",
            "r.yaml",
        )
        .unwrap();
        let mut c = AgentConfig::new(DeviceId::new("d").unwrap(), "s".into(), rules);
        assert!(c.problems().is_empty());
        c.ring.window = Duration::from_secs(301);
        c.ring.max_series = 0;
        c.ring.post_trigger = Duration::from_secs(301);
        assert_eq!(c.problems().len(), 3, "{:?}", c.problems());
        c.ring.window = Duration::from_millis(50);
        c.ring.post_trigger = Duration::ZERO;
        c.ring.max_series = 1;
        assert_eq!(
            c.problems(),
            ["collectors.system.interval must be at least 10ms and at most ring.window"]
        );
    }
}
