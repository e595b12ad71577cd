//! End-to-end tests of the watchdog on the live process: the scheduling
//! probe on a blocked runtime, a live capture, the crash record after a
//! panic and the fd-leak example (both in a re-executed copy of this test
//! binary), and the bench.

#![allow(clippy::unwrap_used)]

mod bench;
mod child;
mod crash;
mod fd_leak;
mod live;
mod probe;

use std::{
    path::Path,
    process::{Command, Stdio},
};

/// Selects what a re-executed copy of this binary does (see `child.rs`).
pub const CHILD_MODE: &str = "REWIND_WATCHDOG_CHILD";
/// The watchdog directory of the child.
pub const CHILD_DIR: &str = "REWIND_WATCHDOG_CHILD_DIR";

/// This test binary again, running only `child::entry` in `mode` over `dir`.
pub fn child(mode: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child::entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_MODE, mode)
        .env(CHILD_DIR, dir)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null());
    cmd
}

/// A child process killed (and reaped) when the test ends, passed or not.
#[derive(Debug)]
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Polls `f` every 20 ms for up to `secs` seconds.
pub fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    f()
}
