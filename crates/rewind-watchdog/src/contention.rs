//! The on-demand contention diagnostic: for a bounded window (default
//! 60 s), a CPU profile at a high frequency (default 999 Hz) and a thread
//! snapshot every `snapshot_every` (default 5 s: eu-stack stacks when
//! available, and the /proc thread table), then one capture
//! `captures/contention/<name>/`:
//!
//! ```text
//! manifest.json  cpu.pprof  snapshots/000-stacks.txt  snapshots/000-threads.txt  snapshots/001-…
//! ```
//!
//! It runs on a thread of its own, one at a time, outside the tick. It is
//! started by [`Watchdog::start_contention`](crate::Watchdog::start_contention),
//! by the control file `<dir>/control/contention` (which the tick polls;
//! [`request_contention`] writes it, so a CLI can poke a running process),
//! or automatically after `auto_after` scheduling-latency breaches within
//! `auto_within` (then a cooldown applies). The control file may hold the
//! window in seconds; it is removed when picked up.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, atomic::Ordering},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::{
    Error, Result,
    capture::{cpu, procfs},
    engine::Ctx,
    event::{Event, EventKind},
};

/// The control directory under the watchdog directory.
pub const CONTROL_DIR: &str = "control";
/// The trigger file in it.
pub const CONTENTION_FILE: &str = "contention";
/// Snapshots taken at most in one diagnostic.
pub const MAX_SNAPSHOTS: usize = 1000;
/// The longest window accepted from the control file.
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// Asks the watchdog running over `dir` for a contention diagnostic (of
/// `window`, or its configured default): writes the control file, which
/// the watchdog picks up within one tick. Returns the file's path.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written.
pub fn request_contention(dir: &Path, window: Option<Duration>) -> Result<PathBuf> {
    let control = dir.join(CONTROL_DIR);
    std::fs::create_dir_all(&control).map_err(|e| Error::io("create", &control, e))?;
    let path = control.join(CONTENTION_FILE);
    let text = window
        .map(|w| format!("{}\n", w.as_secs_f64()))
        .unwrap_or_default();
    crate::atomic::write_file(&path, text.as_bytes()).map_err(|e| Error::io("write", &path, e))?;
    Ok(path)
}

/// Takes the control file if present: `Some(window asked for)`.
pub(crate) fn take_trigger_file(dir: &Path) -> Option<Option<Duration>> {
    let path = dir.join(CONTROL_DIR).join(CONTENTION_FILE);
    let text = crate::thresholds::read::read_capped(&path, 64).ok()?;
    std::fs::remove_file(&path).ok()?;
    let window = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| {
            Duration::from_secs_f64(s.min(MAX_WINDOW.as_secs_f64())).max(Duration::from_secs(1))
        });
    Some(window)
}

/// Starts a diagnostic of `window` unless one is running (`Ok(None)`).
pub(crate) fn start(
    ctx: Arc<Ctx>,
    window: Duration,
    why: String,
) -> Result<Option<JoinHandle<()>>, String> {
    let running = &ctx.shared.contention_running;
    if running
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        ctx.emit(
            Event::new(
                EventKind::Contention,
                format!("a contention diagnostic is already running; {why} was ignored"),
            ),
            false,
        );
        return Ok(None);
    }
    ctx.shared.status().contention_running = true;
    let c = Arc::clone(&ctx);
    std::thread::Builder::new()
        .name("rewind-watchdog-contention".into())
        .spawn(move || {
            run(&c, window, &why);
            c.shared.status().contention_running = false;
            c.shared.contention_running.store(false, Ordering::SeqCst);
        })
        .map(Some)
        .map_err(|e| {
            ctx.shared.contention_running.store(false, Ordering::SeqCst);
            ctx.shared.status().contention_running = false;
            format!("the contention thread did not start: {e}")
        })
}

fn run(ctx: &Ctx, window: Duration, why: &str) {
    let cfg = ctx.cfg.contention;
    let now = ctx.clock.now();
    let mut draft = match ctx.captures.begin("contention", now) {
        Ok(d) => d,
        Err(e) => return fail(ctx, format!("cannot create a contention capture: {e}")),
    };
    ctx.emit(
        Event::new(
            EventKind::Contention,
            format!("contention diagnostic started by {why} for {window:?}"),
        ),
        false,
    );
    draft.note(format!("started by {why}; {window:?} of sampling"));
    let rss = crate::thresholds::read::status(&ctx.cfg.proc_root)
        .ok()
        .and_then(|s| s.rss_bytes);
    let limits = crate::thresholds::Limits::read(&ctx.cfg);
    let profile = match ctx.low_headroom(rss, &limits) {
        Some(why) => {
            draft.note(format!("cpu.pprof: skipped: {why}"));
            None
        }
        None => match cpu::start(cfg.frequency, window) {
            Ok(p) => Some(p),
            Err(e) => {
                draft.note(format!("cpu.pprof: {e}"));
                None
            }
        },
    };
    if ctx.tool.is_none() {
        draft.note("snapshots: no stack tool (install elfutils for eu-stack); only thread tables");
    }
    let end = Instant::now() + window;
    for i in 0..MAX_SNAPSHOTS {
        if ctx.tool.is_some() {
            ctx.stacks(&mut draft, &format!("snapshots/{i:03}-stacks.txt"));
        }
        procfs::threads(
            &ctx.cfg.proc_root,
            &mut draft,
            &format!("snapshots/{i:03}-threads.txt"),
            false,
        );
        let next = (Instant::now() + cfg.snapshot_every).min(end);
        if ctx.shared.stop.wait_until(next) || next >= end {
            break;
        }
    }
    ctx.shared.stop.wait_until(end);
    if let Some(p) = profile {
        match cpu::finish(p) {
            Ok(bytes) => draft.file(
                "cpu.pprof",
                &bytes,
                &format!("CPU profile, {} Hz", cfg.frequency),
            ),
            Err(e) => draft.note(format!("cpu.pprof: {e}")),
        }
    }
    match ctx.captures.commit(draft, cfg.keep) {
        Ok(path) => {
            ctx.shared.status().contentions += 1;
            let mut e = Event::new(
                EventKind::Contention,
                format!("contention diagnostic captured to {}", path.display()),
            );
            e.capture = Some(path);
            ctx.emit(e, true);
        }
        Err(e) => fail(ctx, e),
    }
}

/// Stops capturing and says why.
pub(crate) fn fail(ctx: &Ctx, why: String) {
    ctx.shared.status().capture_error = Some(why.clone());
    ctx.emit(
        Event::new(EventKind::Error, format!("capturing has stopped: {why}")),
        true,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_control_file_is_taken_once_with_its_window() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(take_trigger_file(dir.path()), None);
        request_contention(dir.path(), Some(Duration::from_secs(7))).unwrap();
        assert_eq!(
            take_trigger_file(dir.path()),
            Some(Some(Duration::from_secs(7)))
        );
        assert_eq!(take_trigger_file(dir.path()), None);
        request_contention(dir.path(), None).unwrap();
        assert_eq!(take_trigger_file(dir.path()), Some(None));
        std::fs::write(dir.path().join("control/contention"), "99999\n").unwrap();
        assert_eq!(take_trigger_file(dir.path()), Some(Some(MAX_WINDOW)));
    }
}
