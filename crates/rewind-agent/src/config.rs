//! Agent settings, already validated.

use std::{path::PathBuf, time::Duration};

use rewind_detect::RuleSet;
use rewind_model::DeviceId;

/// Everything the agent needs to run.
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
    /// Time between two collections.
    pub interval: Duration,
    /// How much history the ring keeps, and a bundle covers before its trigger.
    pub window: Duration,
    /// How long to keep recording after a trigger before the bundle is written.
    pub post_trigger: Duration,
    /// Root of the proc filesystem (`/proc`; a fixture tree in tests).
    pub proc_root: PathBuf,
}

impl AgentConfig {
    /// Defaults: 10 Hz, a 60 s window, 3 s after the trigger, `/proc`.
    #[must_use]
    pub fn new(device_id: DeviceId, state_dir: PathBuf, rules: RuleSet) -> Self {
        Self {
            device_id,
            server_url: None,
            state_dir,
            rules,
            interval: Duration::from_millis(100),
            window: Duration::from_secs(60),
            post_trigger: Duration::from_secs(3),
            proc_root: PathBuf::from("/proc"),
        }
    }

    /// The spool directory.
    #[must_use]
    pub fn spool_dir(&self) -> PathBuf {
        self.state_dir.join("spool")
    }
}
