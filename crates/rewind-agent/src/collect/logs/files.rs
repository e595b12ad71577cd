//! The file tailer stream (`logs/files`): every configured path, followed by
//! a [`Tail`](super::tail::Tail) each, on one dedicated thread.
//!
//! Why a hand-written poll loop on a thread rather than `notify`/inotify or
//! `tokio::fs`: a look at a file is one `stat` and, when it grew, one `read`,
//! so a pass every `poll_interval` (250 ms) costs next to nothing, works the
//! same on every filesystem (inotify misses changes on NFS and some bind or
//! overlay mounts, and its queue can overflow), and rotation detection needs
//! the `stat` by (device, inode) anyway. Reads are plain blocking reads, which
//! belong on a thread of their own: `tokio::fs` would hand each of them to the
//! blocking pool, for more overhead and no benefit. A file that grows faster
//! than [`READ_BUDGET`](super::tail::READ_BUDGET) per pass is read again at
//! once instead of after the interval. Latency is at most one interval.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use super::{
    Chunker, Config, nap,
    offsets::{Offsets, Position},
    on_thread,
    tail::Tail,
};
use crate::collect::{Sink, Stop, Stream, Task};

/// The problem source of the stream as a whole (offsets file trouble).
const SOURCE: &str = "logs/files";

/// Follows the configured files.
#[derive(Debug)]
pub struct Files {
    paths: Vec<PathBuf>,
    offsets_file: Option<PathBuf>,
    poll_interval: Duration,
    max: usize,
}

impl Files {
    /// From the `logs` config section.
    #[must_use]
    pub fn new(config: &Config) -> Self {
        let mut paths: Vec<PathBuf> = Vec::new();
        for p in &config.files {
            if !paths.contains(p) {
                paths.push(p.clone());
            }
        }
        Self {
            paths,
            offsets_file: config.offsets_file.clone(),
            poll_interval: config.poll_interval.max(Duration::from_millis(10)),
            max: config.line_cap(),
        }
    }

    fn run_blocking(self, sink: &Sink, stop: &Stop) {
        let mut out = Chunker::new(sink.clone());
        let (mut offsets, mut saved, error) = Offsets::load(self.offsets_file.as_deref());
        if let Some(e) = error {
            out.problem(SOURCE, e);
        }
        let mut tails: Vec<Tail> = self
            .paths
            .iter()
            .map(|p| Tail::new(p.clone(), saved.remove(p), self.max))
            .collect();
        let mut buf = vec![0u8; 64 * 1024];
        while !stop.is_stopped() {
            let mut busy = false;
            for t in &mut tails {
                busy |= t.poll(&mut out, &mut buf);
            }
            save(&mut offsets, &tails, &mut out, false);
            out.flush();
            if !busy && !nap(stop, self.poll_interval) {
                break;
            }
        }
        save(&mut offsets, &tails, &mut out, true);
        out.flush();
    }
}

fn save(offsets: &mut Offsets, tails: &[Tail], out: &mut Chunker, force: bool) {
    let now: BTreeMap<PathBuf, Position> = tails
        .iter()
        .filter_map(|t| Some((t.path().clone(), t.position()?)))
        .collect();
    if let Err(e) = offsets.save(now, force) {
        out.problem(SOURCE, e);
    }
}

impl Stream for Files {
    fn name(&self) -> &'static str {
        "logs/files"
    }

    fn run(self: Box<Self>, sink: Sink, stop: Stop) -> Task {
        on_thread(SOURCE, sink, move |sink| self.run_blocking(&sink, &stop))
    }
}

#[cfg(test)]
mod tests;
