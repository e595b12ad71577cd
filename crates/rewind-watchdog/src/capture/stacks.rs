//! User-space stacks of every thread of this process, through elfutils'
//! `eu-stack -p <own pid>` (the approach of the agent's diagnostics, aimed
//! at ourselves). Linux gives no safe in-process API for other threads'
//! stacks.
//!
//! eu-stack attaches with ptrace, which stops every thread of the process
//! (including the watchdog's, which is only waiting) for the tens of
//! milliseconds it takes, then detaches. Two dangers are handled:
//!
//! - **A tracer killed mid-way can leave the process stopped**, and a
//!   stopped process cannot resume itself. So eu-stack runs under
//!   `sh -c 'timeout -s KILL <t> eu-stack -p <pid> || kill -CONT <pid>'`:
//!   the shell, a separate process, sends `SIGCONT` whenever eu-stack did
//!   not finish cleanly.
//! - **Yama** (`kernel.yama.ptrace_scope` = 1) lets only ancestors trace a
//!   process, and eu-stack is our child. When that is the setting, the
//!   shell waits for a line on its stdin; we declare it our tracer
//!   (`PR_SET_PTRACER`, which covers its descendants), send the line, and
//!   reset the declaration afterwards. With scope 2 or 3, or without
//!   `CAP_SYS_PTRACE` in a container, eu-stack fails and the capture notes
//!   it; the /proc thread table is always there.
//!
//! `sh` and `timeout` are looked up once, with the tool; without them no
//! tool is used.

use std::{
    io::{Read as _, Write as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use rustix::process::{PTracer, Pid};

/// Standard output kept.
pub(crate) const STDOUT_CAP: u64 = 8 * 1024 * 1024;
/// Standard error kept for a note.
const STDERR_CAP: u64 = 4096;
/// How often the child is checked.
const POLL: Duration = Duration::from_millis(2);

/// The stack tool, with the shell and `timeout` that guard it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tool {
    program: PathBuf,
    sh: PathBuf,
    timeout: PathBuf,
}

impl Tool {
    /// The tool named `program` (a path, or a name on `PATH`), if it and
    /// `sh` and `timeout` are all found.
    pub(crate) fn find(program: &Path) -> Option<Self> {
        Some(Self {
            program: find_program(program)?,
            sh: find_program(Path::new("sh"))?,
            timeout: find_program(Path::new("timeout"))?,
        })
    }

    /// The tool's file name, for notes.
    pub(crate) fn name(&self) -> String {
        self.program.file_name().map_or_else(
            || "stack tool".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// The stacks of `pid`, or why not.
    pub(crate) fn dump(
        &self,
        pid: u32,
        timeout: Duration,
        yama_scope: Option<u8>,
    ) -> Result<Vec<u8>, String> {
        let secs = format!("{:.3}", timeout.as_secs_f64());
        let script = r#"read _ || exit 97; "$1" -s KILL "$2" "$3" -p "$4" || { s=$?; kill -CONT "$4"; exit $s; }"#;
        let mut child = Command::new(&self.sh)
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&self.timeout)
            .arg(&secs)
            .arg(&self.program)
            .arg(pid.to_string())
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.sh.display()))?;
        let declared = yama_scope == Some(1) && declare_tracer(child.id());
        let go = child.stdin.take().map(|mut s| s.write_all(b"go\n").is_ok());
        let stdout = reader(child.stdout.take(), STDOUT_CAP);
        let stderr = reader(child.stderr.take(), STDERR_CAP);
        let status = wait(&mut child, timeout + Duration::from_secs(1));
        if declared {
            rustix::process::set_ptracer(PTracer::None).ok();
        }
        let (out, _) = stdout
            .recv_timeout(Duration::from_millis(500))
            .unwrap_or_default();
        let (err, _) = stderr
            .recv_timeout(Duration::from_millis(100))
            .unwrap_or_default();
        match (go, status) {
            (Some(true), Some(s)) if s.success() && !out.is_empty() => Ok(out),
            (Some(true), Some(s)) if !out.is_empty() => {
                // eu-stack exits non-zero when one thread could not be unwound; keep the rest.
                let mut out = out;
                out.extend_from_slice(
                    format!(
                        "\n# {} exited with {s}: {}\n",
                        self.name(),
                        first_line(&err)
                    )
                    .as_bytes(),
                );
                Ok(out)
            }
            (Some(true), Some(s)) => Err(format!(
                "{} failed ({s}): {}",
                self.name(),
                first_line(&err)
            )),
            (_, None) => Err(format!("{} did not finish within {timeout:?}", self.name())),
            (_, Some(_)) => Err(format!("{} could not be started", self.name())),
        }
    }
}

/// `kernel.yama.ptrace_scope`, when Yama is on.
pub(crate) fn yama_scope(proc_root: &Path) -> Option<u8> {
    std::fs::read_to_string(proc_root.join("sys/kernel/yama/ptrace_scope"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn declare_tracer(pid: u32) -> bool {
    let pid = i32::try_from(pid).ok().and_then(Pid::from_raw);
    pid.is_some_and(|p| rustix::process::set_ptracer(PTracer::ProcessID(p)).is_ok())
}

/// A program by path (if it is a file), or by name on `PATH`.
pub(crate) fn find_program(program: &Path) -> Option<PathBuf> {
    if program.as_os_str().is_empty() {
        return None;
    }
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_owned());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output");
    line.chars().take(300).collect()
}

type Reader = mpsc::Receiver<(Vec<u8>, bool)>;

/// Reads a pipe to its end on a thread, keeping `cap` bytes and draining
/// the rest so the tool never blocks on a full pipe.
fn reader(pipe: Option<impl std::io::Read + Send + 'static>, cap: u64) -> Reader {
    let (tx, rx) = mpsc::channel();
    // If the thread cannot start, the sender is dropped and nothing is read.
    std::thread::Builder::new()
        .name("rewind-watchdog-pipe".into())
        .spawn(move || tx.send(drain(pipe, cap)).ok())
        .ok();
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

/// Waits up to `limit`; past it the shell is killed (its `timeout` still
/// ends the tool and the `SIGCONT` logic is not needed: the tool is gone
/// or will be) and a thread reaps it.
fn wait(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) | Err(_) => break,
        }
    }
    child.kill().ok();
    child.wait().ok();
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        assert_eq!(find_program(Path::new("")), None);
        assert_eq!(find_program(Path::new("no-such-program-rewind")), None);
        assert!(find_program(Path::new("sh")).is_some());
        assert_eq!(
            find_program(Path::new("/bin/sh")),
            Some(PathBuf::from("/bin/sh"))
        );
    }

    #[test]
    fn a_failing_tool_is_reported_not_fatal() {
        let Some(mut tool) = Tool::find(Path::new("false")) else {
            return;
        };
        tool.program = PathBuf::from("/bin/false");
        let e = tool
            .dump(std::process::id(), Duration::from_secs(2), None)
            .unwrap_err();
        assert!(e.contains("false failed"), "{e}");
    }

    #[test]
    fn eu_stack_dumps_this_process_when_installed() {
        let Some(tool) = Tool::find(Path::new("eu-stack")) else {
            return; // elfutils not installed: the /proc table stands in
        };
        match tool.dump(
            std::process::id(),
            Duration::from_secs(5),
            yama_scope(Path::new("/proc")),
        ) {
            Ok(out) => {
                let text = String::from_utf8_lossy(&out);
                assert!(text.contains("TID"), "{text}");
            }
            // Not permitted here (no CAP_SYS_PTRACE, Yama 2/3): said so, and the process runs on.
            Err(e) => assert!(e.contains("eu-stack"), "{e}"),
        }
    }
}
