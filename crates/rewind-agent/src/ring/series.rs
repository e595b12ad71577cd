//! One series: sealed blocks, oldest first, then the open block.

use std::collections::VecDeque;
#[cfg(test)]
use std::sync::Arc;

use rewind_model::{Sample, TimeRange};

use super::block::{Block, OpenBlock};
#[cfg(test)]
use super::times::TimeBlock;
use super::times::{SharedTimes, TimeColumn, TimeCursor};
use crate::collect::Unit;

/// Time slots per window. Blocks are cut where `ts.div_euclid(slot)`
/// changes, the same instants for every series, so series sampled together
/// seal equal timestamp columns and share them. Up to a slot (a sixth of
/// the window) of samples already outside it stays in memory; 4 or 8 slots
/// cost 1 to 4 % more on the `shapes` test (fewer blocks but more of that
/// dead history, or the reverse).
const SLOTS_PER_WINDOW: i64 = 6;

/// A block is also sealed at this many samples, so a fast series keeps no
/// more than that beyond its window (and a seal copies no more).
const MAX_BLOCK_SAMPLES: usize = 4096;

/// The window and the slot width derived from it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Retention {
    window: i64,
    slot: i64,
}

impl Retention {
    pub(super) fn new(window: i64) -> Self {
        let window = window.max(0);
        Self {
            window,
            slot: (window / SLOTS_PER_WINDOW).max(1),
        }
    }

    pub(super) fn slot_of(self, ts: i64) -> i64 {
        ts.div_euclid(self.slot)
    }

    /// The oldest timestamp still inside the window when `newest` is held.
    fn cutoff(self, newest: i64) -> i64 {
        newest.saturating_sub(self.window)
    }
}

/// One series' samples with its unit.
#[derive(Debug)]
pub(super) struct SeriesRing {
    unit: Unit,
    sealed: VecDeque<Block>,
    /// Never empty: a seal is always followed by the push that caused it.
    open: OpenBlock,
    /// On the oldest sample inside the window, in the oldest block: the
    /// samples before it are held but no longer visible.
    edge: TimeCursor,
}

impl SeriesRing {
    /// A series holding just `first`.
    pub(super) fn new(unit: Unit, first: Sample, keep: Retention) -> Self {
        let mut open = OpenBlock::with_expected(8, 4);
        open.push(first, keep.slot_of(first.ts.as_unix_nanos()));
        let edge = open.column().start();
        Self {
            unit,
            sealed: VecDeque::new(),
            open,
            edge,
        }
    }

    pub(super) fn unit(&self) -> &Unit {
        &self.unit
    }

    /// Appends `sample` unless it is older than the newest one held, then
    /// frees every sealed block wholly older than `newest - window` and
    /// moves the edge past the samples that left the window.
    #[inline]
    pub(super) fn push(&mut self, sample: Sample, keep: Retention, shared: &mut SharedTimes) {
        let ts = sample.ts.as_unix_nanos();
        if ts < self.newest() {
            return;
        }
        let slot = keep.slot_of(ts);
        let full = self.open.len() >= MAX_BLOCK_SAMPLES;
        if slot != self.open.slot() || full {
            self.seal(shared);
        }
        self.open.push(sample, slot);
        let cutoff = keep.cutoff(ts);
        while self.sealed.front().is_some_and(|b| b.last() < cutoff) {
            if let Some(block) = self.sealed.pop_front() {
                shared.release(block.into_times());
            }
            self.edge = self.oldest().start();
        }
        if self.edge.ts() < cutoff {
            self.advance_edge(cutoff);
        }
    }

    /// The newest timestamp held.
    fn newest(&self) -> i64 {
        self.open.last()
    }

    /// The timestamps of the oldest block, sealed or open.
    fn oldest(&self) -> TimeColumn<'_> {
        self.sealed
            .front()
            .map_or_else(|| self.open.column(), Block::column)
    }

    /// Moves the edge to the first sample at or after `cutoff`. The oldest
    /// block has one: its newest sample is inside the window, or it would
    /// have been freed (or it is the open block, holding the newest sample).
    fn advance_edge(&mut self, cutoff: i64) {
        let column = self.oldest();
        let mut edge = self.edge;
        while edge.ts() < cutoff {
            match column.next(edge) {
                Some(next) => edge = next,
                None => break,
            }
        }
        self.edge = edge;
    }

    #[cold]
    fn seal(&mut self, shared: &mut SharedTimes) {
        if let Some(block) = self.open.seal(shared) {
            if self.sealed.len() == self.sealed.capacity() {
                self.sealed.reserve_exact(1);
            }
            self.sealed.push_back(block);
        }
    }

    /// Samples inside the window: those held but the ones before the edge.
    pub(super) fn len(&self) -> usize {
        let sealed: usize = self.sealed.iter().map(|b| b.column().len()).sum();
        sealed + self.open.len() - self.edge.index()
    }

    /// The samples inside both `range` and the window, oldest first.
    pub(super) fn snapshot(&self, range: TimeRange, keep: Retention) -> Vec<Sample> {
        let lo = range.start.as_unix_nanos().max(keep.cutoff(self.newest()));
        let hi = range.end.as_unix_nanos();
        let mut out = Vec::new();
        if lo > hi {
            return out;
        }
        let sealed = self
            .sealed
            .iter()
            .map(|b| (b.column(), b.last(), b.samples()));
        let open = (self.open.column(), self.newest(), self.open.samples());
        for (column, last, samples) in sealed.chain([open]) {
            if column.first() > hi {
                break;
            }
            if last >= lo {
                let inside = |s: &Sample| (lo..=hi).contains(&s.ts.as_unix_nanos());
                out.extend(samples.filter(inside));
            }
        }
        out
    }

    /// Heap bytes but for the timestamp columns (counted by
    /// [`SharedTimes`]): this struct (in the ring's vector), the block
    /// headers (by capacity), the value columns and the open block's streams.
    pub(super) fn memory_bytes(&self) -> usize {
        size_of::<Self>()
            + self.sealed.capacity() * size_of::<Block>()
            + self.sealed.iter().map(Block::value_bytes).sum::<usize>()
            + self.open.heap_bytes()
    }

    /// The sealed blocks' timestamp columns, to check [`SharedTimes`]' count.
    #[cfg(test)]
    pub(super) fn time_blocks(&self) -> impl Iterator<Item = &Arc<TimeBlock>> {
        self.sealed.iter().map(Block::times)
    }
}
