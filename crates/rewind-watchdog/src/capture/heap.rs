//! Heap statistics and heap profiles from jemalloc (the `jemalloc`
//! feature). They describe the program's heap only when its global
//! allocator is tikv-jemallocator (the same `tikv-jemalloc-sys`).
//!
//! A heap profile (`heap.prof`, jeprof format, readable by `jeprof` and
//! `pprof`) is written by `prof.dump` when jemalloc profiling is on: start
//! the program with `_RJEM_MALLOC_CONF=prof:true` (or `MALLOC_CONF` for an
//! unprefixed jemalloc). jemalloc writes to a path given as a C string
//! that must live for ever; the watchdog leaks one small scratch path per
//! install and renames the dump into the capture.

use std::path::Path;

/// Bytes allocated by the program, when jemalloc reports them.
#[cfg(feature = "jemalloc")]
pub(crate) fn in_use() -> Option<u64> {
    tikv_jemalloc_ctl::epoch::advance().ok()?;
    tikv_jemalloc_ctl::stats::allocated::read()
        .ok()
        .and_then(|v| u64::try_from(v).ok())
}

#[cfg(not(feature = "jemalloc"))]
pub(crate) fn in_use() -> Option<u64> {
    None
}

/// The scratch path jemalloc dumps into, as a leaked C string (only with
/// the `jemalloc` feature; nothing is leaked without it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scratch(#[cfg(feature = "jemalloc")] &'static [u8]);

impl Scratch {
    /// Leaks `path` as a NUL-terminated string (once per install).
    #[cfg(feature = "jemalloc")]
    pub(crate) fn new(path: &Path) -> Self {
        let mut bytes = path.to_string_lossy().into_owned().into_bytes();
        bytes.retain(|b| *b != 0);
        bytes.push(0);
        Self(Box::leak(bytes.into_boxed_slice()))
    }

    #[cfg(not(feature = "jemalloc"))]
    pub(crate) fn new(_path: &Path) -> Self {
        Self()
    }

    #[cfg(feature = "jemalloc")]
    fn path(&self) -> std::path::PathBuf {
        let bytes = self.0.strip_suffix(&[0]).unwrap_or(self.0);
        std::path::PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// Writes a heap profile to `dest`, or says why not.
#[cfg(feature = "jemalloc")]
pub(crate) fn dump(scratch: Scratch, dest: &Path) -> Result<(), String> {
    match tikv_jemalloc_ctl::profiling::prof::read() {
        Ok(true) => {}
        Ok(false) => {
            return Err(
                "heap profile unavailable: jemalloc profiling is off (start the program with \
                        _RJEM_MALLOC_CONF=prof:true)"
                    .to_owned(),
            );
        }
        Err(e) => {
            return Err(format!(
                "heap profile unavailable: jemalloc was built without profiling ({e})"
            ));
        }
    }
    tikv_jemalloc_ctl::raw::write_str(b"prof.dump\0", scratch.0)
        .map_err(|e| format!("heap profile failed: prof.dump: {e}"))?;
    std::fs::rename(scratch.path(), dest)
        .map_err(|e| format!("heap profile failed: cannot move the dump: {e}"))
}

#[cfg(not(feature = "jemalloc"))]
pub(crate) fn dump(_scratch: Scratch, _dest: &Path) -> Result<(), String> {
    Err("heap profile unavailable: built without the `jemalloc` feature".to_owned())
}
