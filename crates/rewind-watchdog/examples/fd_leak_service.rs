//! A tiny tokio service that leaks file descriptors on request, watched by
//! the watchdog with a low fd threshold: at the breach it captures (thread
//! stacks, /proc snapshots with the fd listing, a CPU profile), rotates,
//! cools down, and writes the startup history.
//!
//! ```text
//! cargo run -p rewind-watchdog --example fd_leak_service -- /tmp/wd [margin] [cooldown_secs]
//! # in another terminal:
//! nc 127.0.0.1 <port>      # then type: leak 100 / free / status / quit
//! ls /tmp/wd/captures/fds/; cat /tmp/wd/history.jsonl
//! ```

#[path = "fd_leak/service.rs"]
mod service;

use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "fd-leak-watchdog".to_owned());
    let fd_margin = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let cooldown = args.next().and_then(|a| a.parse().ok()).unwrap_or(120);
    service::run(&service::Options {
        dir: dir.into(),
        fd_margin,
        cooldown: Duration::from_secs(cooldown),
        keep: 5,
        addr: "127.0.0.1:0".to_owned(),
    })
}
