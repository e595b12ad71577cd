//! `rewind agent`.

use std::time::Duration;

use rewind_agent::AgentConfig;
use rewind_model::DeviceId;

use crate::{UsageError, cli::AgentArgs};

/// The longest window the ring buffer accepts.
const MAX_WINDOW: Duration = Duration::from_secs(300);

/// Validates the arguments into an [`AgentConfig`]; nothing starts half-configured.
pub(crate) fn config(args: AgentArgs) -> anyhow::Result<AgentConfig> {
    let rules = super::rules::load(&args.rules)?;
    let device_id = match args.device_id {
        Some(id) => {
            DeviceId::new(id).map_err(|e| UsageError(format!("error: --device-id: {e}")))?
        }
        None => DeviceId::from_hostname(&hostname()),
    };
    if args.window.is_zero() || args.window > MAX_WINDOW {
        return Err(UsageError("error: --window must be between 1ms and 300s".into()).into());
    }
    if args.interval < Duration::from_millis(10) || args.interval > args.window {
        return Err(UsageError(
            "error: --interval must be at least 10ms and at most --window".into(),
        )
        .into());
    }
    if args.post_trigger > MAX_WINDOW {
        return Err(UsageError("error: --post-trigger must be at most 300s".into()).into());
    }
    if let Some(url) = &args.server {
        rewind_agent::Uploader::new(url)
            .map_err(|e| UsageError(format!("error: --server: {e}")))?;
    }
    let mut config = AgentConfig::new(device_id, args.state_dir, rules);
    config.server_url = args.server;
    config.interval = args.interval;
    config.window = args.window;
    config.post_trigger = args.post_trigger;
    config.proc_root = args.proc_root;
    Ok(config)
}

/// The kernel's host name, or `unknown-host`.
pub(crate) fn hostname() -> String {
    fs_err::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Runs the agent until SIGINT/SIGTERM.
pub(crate) async fn run(args: AgentArgs) -> anyhow::Result<()> {
    let config = config(args)?;
    rewind_agent::run(config, super::shutdown::signal()).await?;
    Ok(())
}
