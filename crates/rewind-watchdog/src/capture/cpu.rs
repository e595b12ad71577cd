//! The short CPU profile of a breach and of the contention diagnostic, in
//! pprof format (`cpu.pprof`: an uncompressed `perftools.profiles.Profile`
//! protobuf, read by `go tool pprof` and `pprof`), through pprof-rs.
//!
//! pprof-rs samples with `SIGPROF` (`setitimer(ITIMER_PROF)`) and unwinds
//! in the signal handler; frames in libc, libgcc, pthread and the vDSO are
//! skipped, as its documentation advises against deadlocks there. Only
//! one profile can run in a process at a time: a second one asked for
//! meanwhile is refused and the capture says so.
//!
//! The profile starts in the tick of the breach ([`start`]); a thread of
//! its own waits out the window and writes it ([`finish`]).
//!
//! **Memory.** pprof-rs preallocates a sample table of 4096 × 4 entries of
//! up to 128 frames: the first profile adds about 100 MiB of resident
//! memory, and about 170 MiB stay resident after it (measured; tikv/pprof-rs
//! issue 244). So a profile is skipped for RSS and heap breaches and when
//! the memory headroom is below `profile_headroom`.

use std::time::Duration;

/// What a profile costs the process, for notes.
pub(crate) const MEMORY_COST: &str = "a CPU profile adds about 100-170 MiB of resident memory for the rest of \
     the process's life (pprof-rs's sample table)";

/// A running profile.
pub(crate) struct Running {
    #[cfg(feature = "cpu-profile")]
    guard: pprof::ProfilerGuard<'static>,
    /// Its window.
    pub(crate) window: Duration,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// Starts sampling at `frequency` Hz.
#[cfg(feature = "cpu-profile")]
pub(crate) fn start(frequency: u32, window: Duration) -> Result<Running, String> {
    let hz = i32::try_from(frequency).unwrap_or(99);
    pprof::ProfilerGuardBuilder::default()
        .frequency(hz)
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
        .map(|guard| Running { guard, window })
        .map_err(|e| format!("the CPU profiler did not start: {e}"))
}

/// Without the `cpu-profile` feature there is no profiler.
#[cfg(not(feature = "cpu-profile"))]
pub(crate) fn start(_frequency: u32, _window: Duration) -> Result<Running, String> {
    Err("CPU profile unavailable: built without the `cpu-profile` feature".to_owned())
}

/// Stops sampling and encodes the profile.
#[cfg(feature = "cpu-profile")]
pub(crate) fn finish(running: Running) -> Result<Vec<u8>, String> {
    use pprof::protos::Message as _;
    let report = running
        .guard
        .report()
        .build()
        .map_err(|e| format!("the CPU profile could not be built: {e}"))?;
    drop(running.guard);
    let profile = report
        .pprof()
        .map_err(|e| format!("the CPU profile could not be encoded: {e}"))?;
    let mut out = Vec::new();
    profile
        .encode(&mut out)
        .map_err(|e| format!("the CPU profile could not be encoded: {e}"))?;
    Ok(out)
}

#[cfg(not(feature = "cpu-profile"))]
pub(crate) fn finish(_running: Running) -> Result<Vec<u8>, String> {
    Err("CPU profile unavailable: built without the `cpu-profile` feature".to_owned())
}
