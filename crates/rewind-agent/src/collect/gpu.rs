//! GPUs: NVIDIA cards through NVML, Jetson boards through `tegrastats`.
//!
//! Both sources are looked for once, when the collectors are built. When
//! neither is there, one `info` line says so and nothing runs.
//!
//! **NVML** (polled every `interval`, `libnvidia-ml.so.1` loaded at run
//! time), per device index `N`:
//! - `gpu.N.util_pct`, `gpu.N.memory_util_pct` (`percent`)
//! - `gpu.N.memory_used_bytes`, `gpu.N.memory_total_bytes` (`bytes`)
//! - `gpu.N.temp_c` (`celsius`), `gpu.N.power_w` (`watts`)
//! - `gpu.N.sm_clock_hz`, `gpu.N.mem_clock_hz` (`hertz`)
//! - `gpu.N.throttle_thermal`, `gpu.N.throttle_power`,
//!   `gpu.N.throttle_hw_slowdown` (`bool`: 0 or 1, from the clock throttle reasons)
//! - a [`Thermal`](rewind_model::EventKind::Thermal) event (`Warning`, source
//!   `nvml`) when thermal or hardware-slowdown throttling turns on.
//!
//! A reading the GPU does not support is dropped quietly from then on.
//!
//! **tegrastats** (a stream: `tegrastats --interval <ms>`, one line per
//! interval; formats from L4T R24 / JetPack 2 to JetPack 6):
//! - `jetson.ram_used_bytes`, `jetson.ram_total_bytes`,
//!   `jetson.swap_used_bytes`, `jetson.swap_total_bytes` (`bytes`)
//! - `jetson.cpu<i>.util_pct` (`percent`), `jetson.cpu<i>.freq_hz` (`hertz`); offline cores are skipped
//! - `jetson.gpu.util_pct`, `jetson.emc.util_pct` (`percent`) and, when
//!   given, `jetson.gpu.freq_hz`, `jetson.emc.freq_hz` (`hertz`)
//! - `jetson.temp.<sensor>_c` (`celsius`; sensors reading -256, i.e. off, are skipped)
//! - `jetson.power.<rail>_w` (`watts`, the instant value, not the average)

mod nvml;
mod tegrastats;
mod tegrastats_line;

use std::{path::PathBuf, time::Duration};

use serde::Deserialize;

use super::{Scheduled, Stream, find_program};
use crate::config::duration;

/// `collectors.gpu` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether GPUs are looked for and sampled.
    pub enabled: bool,
    /// Time between two NVML passes.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Whether NVIDIA GPUs are read through NVML (`libnvidia-ml.so.1`).
    pub nvml: bool,
    /// Whether Jetson boards are read through `tegrastats`.
    pub tegrastats: bool,
    /// The `tegrastats` program: a name looked up on `PATH`, or a path.
    pub tegrastats_path: PathBuf,
    /// Time between two `tegrastats` lines (its `--interval`).
    #[serde(with = "duration")]
    pub tegrastats_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(1),
            nvml: true,
            tegrastats: true,
            tegrastats_path: PathBuf::from("tegrastats"),
            tegrastats_interval: Duration::from_secs(1),
        }
    }
}

impl Config {
    /// The collectors this section enables: an NVML poller when NVML loads
    /// and sees a GPU, a `tegrastats` stream when the program is found.
    /// When neither is there, logs one `info` line and returns nothing.
    #[must_use]
    pub fn build(&self) -> (Vec<Scheduled>, Vec<Box<dyn Stream>>) {
        let mut polled = Vec::new();
        let mut streams: Vec<Box<dyn Stream>> = Vec::new();
        if !self.enabled {
            return (polled, streams);
        }
        let mut absent = Vec::new();
        if !self.nvml {
            absent.push("NVML off in config".to_owned());
        } else {
            match nvml::Poller::open() {
                Ok(poller) => polled.push(Scheduled {
                    name: "gpu/nvml",
                    interval: self.interval,
                    poll: Box::new(poller),
                }),
                Err(why) => absent.push(why),
            }
        }
        if !self.tegrastats {
            absent.push("tegrastats off in config".to_owned());
        } else {
            match find_program(&self.tegrastats_path) {
                Some(path) => streams.push(Box::new(tegrastats::Tegrastats::new(
                    path,
                    self.tegrastats_interval,
                ))),
                None => absent.push(format!("{} not on PATH", self.tegrastats_path.display())),
            }
        }
        if polled.is_empty() && streams.is_empty() {
            tracing::info!("{}", notice(&absent));
        }
        (polled, streams)
    }
}

/// The one line logged when no GPU source is there.
fn notice(absent: &[String]) -> String {
    format!("no GPU found ({}): GPU metrics off", absent.join("; "))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn defaults_match_the_documentation() {
        let c = Config::default();
        assert!(c.enabled && c.nvml && c.tegrastats);
        assert_eq!(c.interval, Duration::from_secs(1));
        assert_eq!(c.tegrastats_interval, Duration::from_secs(1));
        assert_eq!(c.tegrastats_path, PathBuf::from("tegrastats"));
    }

    #[test]
    fn the_live_machine_without_a_gpu_builds_nothing_and_does_not_fail() {
        let (polled, streams) = Config::default().build();
        let has_nvml =
            nvml_wrapper::Nvml::init().is_ok_and(|n| n.device_count().is_ok_and(|c| c > 0));
        let has_tegrastats = find_program(Path::new("tegrastats")).is_some();
        assert_eq!(polled.len(), usize::from(has_nvml));
        assert_eq!(streams.len(), usize::from(has_tegrastats));
    }

    #[test]
    fn disabled_or_absent_sources_build_nothing() {
        let off = Config {
            enabled: false,
            ..Config::default()
        };
        let (p, s) = off.build();
        assert!(p.is_empty() && s.is_empty());
        let absent = Config {
            nvml: false,
            tegrastats_path: PathBuf::from("/nonexistent/tegrastats"),
            ..Config::default()
        };
        let (p, s) = absent.build();
        assert!(p.is_empty() && s.is_empty());
    }

    #[test]
    fn a_tegrastats_program_found_by_path_builds_a_stream() {
        let dir = tempfile::tempdir().unwrap();
        let script = tegrastats::tests::fake_tegrastats(dir.path(), "");
        let c = Config {
            nvml: false,
            tegrastats_path: script,
            ..Config::default()
        };
        let (p, s) = c.build();
        assert!(p.is_empty());
        assert_eq!(
            s.iter().map(|s| s.name()).collect::<Vec<_>>(),
            ["gpu/tegrastats"]
        );
    }

    #[test]
    fn programs_are_found_on_path_only_when_executable() {
        assert!(find_program(Path::new("sh")).is_some(), "sh is on PATH");
        assert!(find_program(Path::new("no-such-program-rewind")).is_none());
        assert!(find_program(Path::new("")).is_none());
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("tegrastats");
        std::fs::write(&plain, "not executable").unwrap();
        assert!(find_program(&plain).is_none());
        assert!(
            find_program(dir.path()).is_none(),
            "a directory is not a program"
        );
    }

    #[test]
    fn the_notice_names_every_missing_source() {
        let why = [
            "NVML not loadable: libnvidia-ml.so.1: not found".to_owned(),
            "tegrastats not on PATH".to_owned(),
        ];
        assert_eq!(
            notice(&why),
            "no GPU found (NVML not loadable: libnvidia-ml.so.1: not found; tegrastats not on PATH): GPU metrics off"
        );
    }

    #[test]
    fn config_parses_every_field() {
        let c: Config = serde_json::from_str(
            r#"{"enabled": true, "interval": "2s", "nvml": false, "tegrastats": true,
                "tegrastats_path": "/usr/bin/tegrastats", "tegrastats_interval": "500ms"}"#,
        )
        .unwrap();
        assert_eq!(c.interval, Duration::from_secs(2));
        assert!(!c.nvml);
        assert_eq!(c.tegrastats_path, PathBuf::from("/usr/bin/tegrastats"));
        assert_eq!(c.tegrastats_interval, Duration::from_millis(500));
        assert!(serde_json::from_str::<Config>(r#"{"nvml_path": "x"}"#).is_err());
    }
}
