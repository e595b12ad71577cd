//! `rewind agent`, `rewind agent snapshot`, `history` and `fsck`.

mod fsck;
mod history;

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use rewind_agent::{AgentConfig, AgentFile};
use rewind_model::DeviceId;

pub(crate) use self::{fsck::run as fsck, history::run as history};
use crate::{
    UsageError,
    cli::{AgentRunArgs, StateDirArgs},
};

/// The documented example config, with every default.
const EXAMPLE_CONFIG: &str = include_str!("../../examples/agent.yaml");

/// Reads the config file, if one is named.
fn read_file(path: Option<&Path>) -> anyhow::Result<Option<(AgentFile, String)>> {
    let Some(path) = path else { return Ok(None) };
    let text = fs_err::read_to_string(path)
        .map_err(|e| UsageError(format!("error: cannot read the agent config: {e}")))?;
    let file = AgentFile::parse(&text, &path.display().to_string()).map_err(UsageError)?;
    Ok(Some((file, text)))
}

/// The file's settings overlaid with the flags, checked; nothing starts half-configured.
pub(crate) fn config(args: AgentRunArgs) -> anyhow::Result<AgentConfig> {
    let file = read_file(args.config.as_deref())?;
    let (f_device, f_server, f_rules, f_state) = match &file {
        Some((f, _)) => (
            f.device_id.clone(),
            f.server.clone(),
            f.rules.clone(),
            f.state_dir.clone(),
        ),
        None => (None, None, None, None),
    };
    let rules_path = args.rules.or(f_rules).ok_or_else(|| {
        UsageError("error: no rules file: give --rules FILE or `rules:` in the config file\n  hint: start from examples/rules/demo.yaml".into())
    })?;
    let rules = super::rules::load(&rules_path)?;
    let device_id = match args.device_id.or(f_device) {
        Some(id) => DeviceId::new(id).map_err(|e| UsageError(format!("error: device id: {e}")))?,
        None => DeviceId::from_hostname(&hostname()),
    };
    let server = args.server.or(f_server);
    if let Some(url) = &server {
        rewind_agent::Uploader::new(url).map_err(|e| UsageError(format!("error: server: {e}")))?;
    }
    let state_dir = args
        .state_dir
        .or(f_state)
        .unwrap_or_else(|| ".rewind-agent".into());
    let mut config = AgentConfig::new(device_id, state_dir, rules);
    config.server_url = server;
    config.live = args.live;
    if let Some((f, text)) = file {
        config.ring = f.ring;
        config.collectors = f.collectors;
        config.spool = f.spool;
        config.history = f.history;
        config.diagnostics = f.diagnostics;
        config.redaction = f.redaction;
        config.deployment = f.deployment;
        config.token = f.token;
        config.live |= f.live;
        config.identity = f.identity;
        // Bundles carry it as system/agent-config.yaml, redacted.
        config.config_text = Some(rewind_agent::sysinfo::ConfigText(text));
    }
    if let Some(t) = args.token.filter(|t| !t.trim().is_empty()) {
        config.token = Some(rewind_agent::Token::new(t));
    }
    if let Some(v) = args.window {
        config.ring.window = v;
    }
    if let Some(v) = args.post_trigger {
        config.ring.post_trigger = v;
    }
    if let Some(v) = args.interval {
        config.collectors.system.interval = v;
    }
    if let Some(v) = args.proc_root {
        config.collectors.system.proc_root = v;
    }
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(UsageError(format!("error: {}", problems.join("\nerror: "))).into());
    }
    Ok(config)
}

/// The state directory named by `--state-dir`, else by the config file's
/// `state_dir`, else `.rewind-agent`; it must exist.
fn state_dir(at: &StateDirArgs) -> anyhow::Result<PathBuf> {
    let from_file = match &at.state_dir {
        Some(_) => None,
        None => read_file(at.config.as_deref())?.and_then(|(f, _)| f.state_dir),
    };
    let dir = at
        .state_dir
        .clone()
        .or(from_file)
        .unwrap_or_else(|| ".rewind-agent".into());
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "error: no agent state directory at {}\n  hint: give the agent's --state-dir (or --config with its `state_dir:`)",
            dir.display()
        ))
        .into());
    }
    Ok(dir)
}

/// The kernel's host name, or empty.
pub(crate) fn hostname() -> String {
    fs_err::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Runs the agent until SIGINT/SIGTERM.
pub(crate) async fn run(args: AgentRunArgs) -> anyhow::Result<()> {
    if args.print_default_config {
        print!("{EXAMPLE_CONFIG}");
        return Ok(());
    }
    let config = config(args)?;
    rewind_agent::run(config, super::shutdown::signal()).await?;
    Ok(())
}

/// `rewind agent snapshot [--config FILE] [--json]`.
pub(crate) fn snapshot(config: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let collectors = read_file(config)?
        .map(|(f, _)| f.collectors)
        .unwrap_or_default();
    let mut built = collectors
        .build()
        .map_err(|e| UsageError(format!("error: {e}")))?;
    let batch = rewind_agent::collect::snapshot(&mut built);
    let mut out = std::io::stdout().lock();
    if json {
        let readings: Vec<_> = batch
            .readings
            .iter()
            .map(|r| serde_json::json!({"series": r.series.as_str(), "value": r.value, "unit": r.unit}))
            .collect();
        let problems: Vec<_> = batch
            .problems
            .iter()
            .map(|p| serde_json::json!({"source": p.source, "error": p.error}))
            .collect();
        let doc = serde_json::json!({"ts": batch.ts, "readings": readings, "problems": problems});
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(());
    }
    let width = batch
        .readings
        .iter()
        .map(|r| r.series.as_str().len())
        .max()
        .unwrap_or(6);
    writeln!(out, "{:<width$}  {:>18}  unit", "series", "value").context("writing to stdout")?;
    for r in &batch.readings {
        writeln!(
            out,
            "{:<width$}  {:>18}  {}",
            r.series.as_str(),
            format_value(r.value),
            r.unit
        )?;
    }
    for p in &batch.problems {
        eprintln!("warning: {}: {}", p.source, p.error);
    }
    writeln!(out, "{} series", batch.readings.len())?;
    Ok(())
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}
