//! Collectors: everything the agent sees, one module per source.
//!
//! Two shapes:
//! - **polled** ([`Poll`]): read something every `interval` (proc files,
//!   sysfs, NVML). Each runs on its own thread, so a slow read delays only
//!   itself, and may block (they are plain file reads).
//! - **streams** ([`Stream`]): follow something that produces data on its own
//!   schedule (log files, the journal, the kernel log, the custom-stream
//!   socket, Prometheus scrapes). Each is a tokio task.
//!
//! Both hand [`Batch`]es to the hub through a bounded [`Sink`]; a failure is
//! reported as a [`Problem`] in the batch and the collector carries on.
//! Hardware readers take an injectable root directory (`/proc`, `/sys`) so
//! they are tested on fixture trees as well as on the live machine.

pub mod gpu;
pub mod logs;
pub mod processes;
pub mod prometheus;
pub mod socket;
pub mod system;

mod sink;

use std::{future::Future, pin::Pin, time::Duration};

use rewind_model::Timestamp;
use serde::Deserialize;

pub use sink::{Batch, Problem, Reading, Sink, Stop, StopHandle, Unit};

/// A collector read on a timer.
pub trait Poll: Send + std::fmt::Debug + 'static {
    /// One pass. Rates need two passes: the first may report nothing for them.
    fn poll(&mut self, out: &mut Batch);
}

/// A polled collector with its name and interval.
#[derive(Debug)]
pub struct Scheduled {
    /// Stable name (`system`, `system/disk`, `processes`, …) for logs and telemetry.
    pub name: &'static str,
    /// Time between two passes.
    pub interval: Duration,
    /// The collector.
    pub poll: Box<dyn Poll>,
}

/// A boxed task future.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A collector that runs as a task and sends batches when it has them.
pub trait Stream: Send + std::fmt::Debug + 'static {
    /// Stable name for logs and telemetry.
    fn name(&self) -> &'static str;
    /// The task: runs until `stop` is raised.
    fn run(self: Box<Self>, sink: Sink, stop: Stop) -> Task;
}

/// Which collectors run, and how. Each section is documented in its module.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorsConfig {
    /// CPU, memory, swap, load, pressure, disks, network, thermal, frequency, cgroups.
    pub system: system::Config,
    /// Watched processes.
    pub processes: processes::Config,
    /// NVIDIA (NVML) and Jetson (tegrastats) GPUs.
    pub gpu: gpu::Config,
    /// Log files, the systemd journal and the kernel log.
    pub logs: logs::Config,
    /// The local Unix socket for custom streams (JSON lines).
    pub socket: socket::Config,
    /// Prometheus text endpoints to scrape.
    pub prometheus: prometheus::Config,
}

/// Everything that will run, built from the config.
#[derive(Debug, Default)]
pub struct Collectors {
    /// Polled collectors.
    pub polled: Vec<Scheduled>,
    /// Streaming collectors.
    pub streams: Vec<Box<dyn Stream>>,
}

impl CollectorsConfig {
    /// Builds every enabled collector. Notices (e.g. "no GPU found") are logged once here.
    ///
    /// # Errors
    /// A configuration problem that only shows when building (a bad regex, …).
    pub fn build(&self) -> crate::Result<Collectors> {
        let mut out = Collectors::default();
        out.polled.extend(self.system.pollers());
        out.polled.extend(self.processes.pollers()?);
        let (gpu_polled, gpu_streams) = self.gpu.build();
        out.polled.extend(gpu_polled);
        out.streams.extend(gpu_streams);
        out.streams.extend(self.logs.streams());
        out.streams.extend(self.socket.streams());
        out.streams.extend(self.prometheus.streams()?);
        Ok(out)
    }
}

/// Runs a polled collector on its own thread until `stop`.
pub(crate) fn spawn_polled(
    mut s: Scheduled,
    sink: Sink,
    stop: Stop,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("collect-{}", s.name))
        .spawn(move || {
            let mut next = std::time::Instant::now();
            while !stop.is_stopped() {
                let mut batch = Batch::new(Timestamp::now());
                s.poll.poll(&mut batch);
                sink.send(batch);
                next += s.interval;
                let now = std::time::Instant::now();
                if next < now {
                    next = now; // fell behind: skip missed passes rather than burst
                }
                // Sleep in short slices so a stop is noticed quickly.
                while !stop.is_stopped() && std::time::Instant::now() < next {
                    std::thread::sleep(
                        (next - std::time::Instant::now()).min(Duration::from_millis(50)),
                    );
                }
            }
        })
}

/// Runs every polled collector once (twice, 250 ms apart, where rates need
/// two readings) and returns what they saw: `rewind agent snapshot`.
#[must_use]
pub fn snapshot(collectors: &mut Collectors) -> Batch {
    let mut out = Batch::new(Timestamp::now());
    for s in &mut collectors.polled {
        let mut first = Batch::new(Timestamp::now());
        s.poll.poll(&mut first);
    }
    std::thread::sleep(Duration::from_millis(250));
    out.ts = Timestamp::now();
    for s in &mut collectors.polled {
        s.poll.poll(&mut out);
    }
    out.readings.sort_by(|a, b| a.series.cmp(&b.series));
    out
}
/// Resolves a program: a name with a `/` is taken as a path, anything else
/// is looked up on `PATH`. Only executable files count; an empty name is
/// `None`. Shared by the collectors that run tools (`tegrastats`) and the
/// diagnostics (`eu-stack`, `gdb`).
pub(crate) fn find_program(program: &std::path::Path) -> Option<std::path::PathBuf> {
    if program.as_os_str().is_empty() {
        return None;
    }
    if program.components().count() > 1 {
        return is_executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
