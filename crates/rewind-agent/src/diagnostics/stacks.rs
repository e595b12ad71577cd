//! User-space stacks of a process through `eu-stack -p PID` (elfutils,
//! preferred: fast) or `gdb -p PID -batch -ex "thread apply all bt"`.
//!
//! Both attach with ptrace, which pauses every thread of the process while
//! the stacks are read (typically tens of milliseconds with eu-stack, up to
//! seconds with gdb loading symbols), and need the agent to be allowed to
//! trace it (root, or `CAP_SYS_PTRACE`, or the same user with
//! `kernel.yama.ptrace_scope` 0). The agent never attaches to itself: that
//! would stop the thread waiting for the tool.
//!
//! The tool gets `stack_timeout`; then it is asked to stop (`SIGTERM`: gdb
//! detaches), given one second, and killed. If the process was left stopped
//! (it was running before) it gets `SIGCONT`, and a note says so.

use std::{
    io::Read as _,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use rustix::process::{Pid, Signal};

use super::Config;
use crate::collect::find_program;

/// Time given to a tool to exit after `SIGTERM`.
const GRACE: Duration = Duration::from_secs(1);
/// How often a running tool is checked.
const POLL: Duration = Duration::from_millis(5);
/// Stderr kept for a note.
const STDERR_CAP: u64 = 4096;

/// A stack tool found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tool {
    /// elfutils' `eu-stack`.
    EuStack(PathBuf),
    /// `gdb`.
    Gdb(PathBuf),
}

impl Tool {
    /// eu-stack when found, else gdb, else `None`.
    pub(super) fn find(cfg: &Config) -> Option<Self> {
        find_program(&cfg.eu_stack)
            .map(Self::EuStack)
            .or_else(|| find_program(&cfg.gdb).map(Self::Gdb))
    }

    /// Its name in notes and file headers.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Self::EuStack(_) => "eu-stack",
            Self::Gdb(_) => "gdb",
        }
    }

    fn command(&self, pid: u32) -> Command {
        let pid = pid.to_string();
        match self {
            Self::EuStack(path) => {
                let mut c = Command::new(path);
                c.args(["-p", &pid]);
                c
            }
            Self::Gdb(path) => {
                let mut c = Command::new(path);
                c.args(["-nx", "-batch", "-p", &pid]).args([
                    "-ex",
                    "set pagination off",
                    "-ex",
                    "thread apply all bt",
                ]);
                c
            }
        }
    }
}

/// What one run of a tool gave.
#[derive(Debug)]
pub(super) struct Dump {
    /// Its standard output, at most `cap` bytes.
    pub(super) stdout: Vec<u8>,
    /// Whether the output was longer.
    pub(super) cut: bool,
    /// Problems to note (failure, timeout, a process left stopped).
    pub(super) notes: Vec<String>,
}

/// Runs `tool` on `pid` for at most `timeout`; `proc_root` tells whether
/// the process was left stopped.
pub(super) fn dump(tool: &Tool, pid: u32, proc_root: &Path, timeout: Duration, cap: u64) -> Dump {
    let was_stopped = state(proc_root, pid) == Some('T');
    let mut notes = Vec::new();
    let mut child = match spawn(tool, pid) {
        Ok(c) => c,
        Err(e) => {
            notes.push(format!("cannot run {}: {e}", tool.name()));
            return Dump {
                stdout: Vec::new(),
                cut: false,
                notes,
            };
        }
    };
    let stdout = reader(child.stdout.take(), cap);
    let stderr = reader(child.stderr.take(), STDERR_CAP);
    let status = wait(&mut child, timeout);
    // A grandchild still holding the pipes must not hold the capture up.
    let (stdout, cut) = stdout.recv_timeout(GRACE).unwrap_or_default();
    let (stderr, _) = stderr.recv_timeout(GRACE).unwrap_or_default();
    match &status {
        Waited::Exited(status) if status.success() && !stdout.is_empty() => {}
        Waited::Exited(status) => notes.push(format!(
            "{} failed ({status}): {}",
            tool.name(),
            first_line(&stderr)
        )),
        Waited::TimedOut => notes.push(format!(
            "{} did not finish within diagnostics.stack_timeout ({}); it was stopped",
            tool.name(),
            humantime::format_duration(timeout)
        )),
        Waited::Failed(e) => notes.push(format!("{} could not be waited for: {e}", tool.name())),
    }
    if !matches!(status, Waited::Exited(_)) && !was_stopped && state(proc_root, pid) == Some('T') {
        let resumed = signal(pid, Signal::CONT);
        notes.push(format!(
            "the process was left stopped by the interrupted {}; {}",
            tool.name(),
            if resumed {
                "it was sent SIGCONT"
            } else {
                "sending it SIGCONT failed: resume it by hand"
            }
        ));
    }
    Dump { stdout, cut, notes }
}

/// The first meaningful line of a tool's error output.
fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output");
    line.chars().take(300).collect()
}

fn spawn(tool: &Tool, pid: u32) -> std::io::Result<Child> {
    let mut attempt = 0;
    loop {
        let spawned = tool
            .command(pid)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn();
        match spawned {
            // A program just written by another thread can be briefly busy.
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < 5 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

type Reader = std::sync::mpsc::Receiver<(Vec<u8>, bool)>;

/// Reads a pipe to its end on a thread, keeping `cap` bytes (the rest is
/// drained so the tool never blocks on a full pipe); the result arrives on
/// the channel.
fn reader(pipe: Option<impl std::io::Read + Send + 'static>, cap: u64) -> Reader {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(drain(pipe, cap)).ok());
    rx
}

fn drain(pipe: Option<impl std::io::Read>, cap: u64) -> (Vec<u8>, bool) {
    let Some(mut pipe) = pipe else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    (&mut pipe).take(cap).read_to_end(&mut kept).ok();
    let mut rest = [0u8; 8192];
    let mut cut = false;
    while let Ok(n) = pipe.read(&mut rest) {
        if n == 0 {
            break;
        }
        cut = true;
    }
    (kept, cut)
}

#[derive(Debug)]
enum Waited {
    Exited(std::process::ExitStatus),
    TimedOut,
    Failed(std::io::Error),
}

fn wait(child: &mut Child, timeout: Duration) -> Waited {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status),
            Ok(None) if Instant::now() >= deadline => break,
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => return Waited::Failed(e),
        }
    }
    // Ask first (gdb detaches from the process on SIGTERM), then kill the
    // tool's whole process group.
    signal_group(child.id(), Signal::TERM);
    let grace = Instant::now() + GRACE;
    while Instant::now() < grace {
        if matches!(child.try_wait(), Ok(Some(_))) {
            signal_group(child.id(), Signal::KILL);
            return Waited::TimedOut;
        }
        std::thread::sleep(POLL);
    }
    signal_group(child.id(), Signal::KILL);
    child.kill().ok();
    child.wait().ok();
    Waited::TimedOut
}

fn pid(pid: u32) -> Option<Pid> {
    i32::try_from(pid).ok().and_then(Pid::from_raw)
}

fn signal(p: u32, sig: Signal) -> bool {
    pid(p).is_some_and(|p| rustix::process::kill_process(p, sig).is_ok())
}

/// Signals the process group led by `leader` (the tool runs in its own).
fn signal_group(leader: u32, sig: Signal) {
    if let Some(p) = pid(leader) {
        rustix::process::kill_process_group(p, sig).ok();
    }
}

/// The state letter of `<proc_root>/<pid>/stat`.
fn state(proc_root: &Path, pid: u32) -> Option<char> {
    let text = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    rest.split_whitespace().next()?.chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        assert_eq!(find_program(Path::new("")), None);
        assert_eq!(find_program(Path::new("no-such-program-rewind")), None);
        assert_eq!(
            find_program(Path::new("/bin/sh")),
            Some(PathBuf::from("/bin/sh"))
        );
        assert!(find_program(Path::new("sh")).is_some());
    }

    #[test]
    fn the_first_error_line_is_kept() {
        assert_eq!(
            first_line(b"\n  ptrace: Operation not permitted.\nmore"),
            "ptrace: Operation not permitted."
        );
        assert_eq!(first_line(b""), "no output");
    }
}
