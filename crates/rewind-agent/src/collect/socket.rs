//! The custom-stream socket: any local process connects to a Unix socket
//! (default `/run/rewind/agent.sock`, mode 0660) and writes JSON lines. The
//! protocol is specified in `docs/agent-protocol.md`.
//!
//! What it produces:
//! - `metric` messages: the client's own series, in the client's unit
//!   (names are validated; `topic.` and `node.` are reserved).
//! - `event` messages: events of the client's kind (`custom:<kind>` or a
//!   typed kind such as `io_error`), source `socket/<client>` or `socket/<source>`.
//! - `topic` reports, every `interval`: `topic.<topic>.rate_hz` (hertz,
//!   messages per second over `rate_window`) and `topic.<topic>.publishers` (count).
//! - `heartbeat` messages: `node.<node>.alive` (bool: 1 alive, 0 missing)
//!   every `interval`; events `node_seen` (info) on the first heartbeat or
//!   one after missing, `node_missing` (error) when a TTL runs out, both
//!   with source `socket` and fields `node` and `ttl_s`.
//!
//! Topic and node names keep `/` (`topic./camera/rgb.rate_hz`); other
//! characters a series name cannot hold, and dots, become `_`. Refused lines
//! are problems of `socket/<client command name>`; nothing a client sends is
//! buffered without bound (see [`conn`] and [`state`] for the limits).

mod conn;
mod listen;
mod nodes;
mod protocol;
mod state;
mod topics;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use rewind_model::Timestamp;
use serde::Deserialize;
use tokio::{task::JoinSet, time::MissedTickBehavior};

use self::state::State;
use super::{Batch, Sink, Stop, Stream, Task};
use crate::config::duration;

/// Where the socket is when `path` is not set.
pub const DEFAULT_PATH: &str = "/run/rewind/agent.sock";
/// How often pending messages are handed to the hub (and heartbeat TTLs checked).
const FLUSH: Duration = Duration::from_millis(100);
/// Longest wait between two attempts to bind the socket.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// `collectors.socket` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether the agent listens on the socket.
    pub enabled: bool,
    /// Path of the socket file; unset means `/run/rewind/agent.sock`. Its
    /// directory is created if missing. A socket file left by a dead agent is
    /// replaced; anything else there (a live socket, a regular file) is left
    /// alone and reported, and binding is retried with a growing delay.
    pub path: Option<PathBuf>,
    /// Group given the socket file (mode 0660), so that its members may
    /// connect; unset keeps the agent's own group.
    pub group: Option<String>,
    /// Longest line accepted, in bytes, newline excluded (at least 1024).
    /// A longer line is skipped and answered with a `line_too_long` error.
    pub max_line_bytes: usize,
    /// Most clients connected at once (at least 1); one more is answered
    /// with a `too_many_connections` error and closed.
    pub max_connections: usize,
    /// Lines per second one connection may send (at least 1, burst of one
    /// second's worth); further lines are dropped with a `rate_limited` error.
    pub max_lines_per_second: u32,
    /// Bytes per second one connection may send (at least 1024); a faster
    /// client is read more slowly, so its writes block.
    pub max_bytes_per_second: u64,
    /// A connection that sends nothing for this long is closed.
    #[serde(with = "duration")]
    pub idle_timeout: Duration,
    /// How often `topic.*` and `node.*` series are emitted (at least 100ms).
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Window over which topic rates are averaged (at least 100ms).
    #[serde(with = "duration")]
    pub rate_window: Duration,
    /// Most topics tracked at once; reports of more are refused (`limit`).
    pub max_topics: usize,
    /// Most nodes tracked at once; the node missing longest makes room, else
    /// heartbeats of new nodes are refused (`limit`).
    pub max_nodes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            path: None,
            group: None,
            max_line_bytes: 64 * 1024,
            max_connections: 64,
            max_lines_per_second: 1000,
            max_bytes_per_second: 1024 * 1024,
            idle_timeout: Duration::from_secs(300),
            interval: Duration::from_secs(1),
            rate_window: Duration::from_secs(2),
            max_topics: 512,
            max_nodes: 512,
        }
    }
}

impl Config {
    /// The streams this section enables.
    #[must_use]
    pub fn streams(&self) -> Vec<Box<dyn Stream>> {
        if !self.enabled {
            return Vec::new();
        }
        vec![Box::new(Listener {
            config: self.clone(),
        })]
    }

    /// The socket path in effect.
    #[must_use]
    pub fn socket_path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(DEFAULT_PATH))
    }

    fn limits(&self) -> conn::Limits {
        #[allow(clippy::cast_precision_loss)] // configured rates are far below 2^52
        conn::Limits {
            max_line: self.max_line_bytes.max(1024),
            lines_per_second: f64::from(self.max_lines_per_second.max(1)),
            bytes_per_second: self.max_bytes_per_second.max(1024) as f64,
            idle: self.idle_timeout.max(Duration::from_secs(1)),
        }
    }
}

/// The socket listener and everything its clients feed.
#[derive(Debug)]
pub struct Listener {
    config: Config,
}

impl Stream for Listener {
    fn name(&self) -> &'static str {
        "socket"
    }

    fn run(self: Box<Self>, sink: Sink, stop: Stop) -> Task {
        Box::pin(self.listen(sink, stop))
    }
}

impl Listener {
    /// Binds (retrying with a growing delay), then serves until `stop`.
    async fn listen(self: Box<Self>, sink: Sink, mut stop: Stop) {
        let path = self.config.socket_path().to_owned();
        let mut retry = Duration::from_secs(1);
        loop {
            match listen::bind(&path, self.config.group.as_deref()).await {
                Ok(bound) => {
                    tracing::info!(path = %path.display(), "custom-stream socket listening");
                    return self.serve(bound, &sink, stop).await;
                }
                Err(err) => {
                    let mut b = Batch::new(Timestamp::now());
                    b.problem(
                        "socket",
                        format!("{err} (retrying in {} s)", retry.as_secs()),
                    );
                    sink.send(b);
                }
            }
            tokio::select! {
                () = stop.stopped() => return,
                () = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(MAX_RETRY);
        }
    }

    async fn serve(&self, bound: listen::Bound, sink: &Sink, mut stop: Stop) {
        let c = &self.config;
        let interval = c.interval.max(FLUSH);
        let state = State::new(
            interval,
            c.rate_window.max(FLUSH),
            c.max_topics,
            c.max_nodes,
        );
        let state = Arc::new(Mutex::new(state));
        let (limits, max_connections) = (c.limits(), c.max_connections.max(1));
        let mut connections = JoinSet::new();
        let mut tick = tokio::time::interval(FLUSH);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = stop.stopped() => break,
                _ = tick.tick() => flush(&state, sink),
                accepted = bound.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        while connections.try_join_next().is_some() {}
                        if connections.len() >= max_connections {
                            let msg = format!("already {max_connections} clients connected: try again later");
                            conn::refuse(&stream, &protocol::Refusal::new("too_many_connections", msg.clone()));
                            lock(&state).problem("socket", msg);
                        } else {
                            connections.spawn(conn::serve(stream, Arc::clone(&state), limits));
                        }
                    }
                    Err(err) => {
                        // Out of file descriptors and the like: do not spin.
                        lock(&state).problem("socket", format!("accept failed: {err}"));
                        tokio::time::sleep(FLUSH).await;
                    }
                },
            }
        }
        connections.shutdown().await;
        flush(&state, sink);
    }
}

fn flush(state: &Mutex<State>, sink: &Sink) {
    let batches = lock(state).flush(Instant::now(), Timestamp::now());
    for b in batches {
        sink.send(b);
    }
}

/// Locks the shared state; a panic elsewhere cannot poison the collector.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
