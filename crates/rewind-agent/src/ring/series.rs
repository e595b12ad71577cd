//! One series: sealed blocks, oldest first, then the full block waiting for
//! maintenance if any, then the open block.

use std::collections::VecDeque;
#[cfg(test)]
use std::sync::Arc;

use rewind_model::{Sample, TimeRange};

use super::block::{Block, OpenBlock, Samples};
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

/// A block is also cut at this many samples, so a fast series keeps no
/// more than that beyond its window (and a seal copies no more).
const MAX_BLOCK_SAMPLES: usize = 4096;

/// Maintenance gives a series a spare block when its next push may start a
/// new block before the maintenance after next: when the next slot starts
/// within one push interval of the series plus this many maintenance
/// intervals (both measured in sample time) of its newest sample, or it is
/// an eighth of [`MAX_BLOCK_SAMPLES`] from the count cut. Spares are held
/// for a few maintenance intervals a slot, so they cost little memory.
const SPARE_LEAD_MAINTENANCES: i64 = 3;
const SPARE_LEAD_SAMPLES: usize = MAX_BLOCK_SAMPLES / 8;

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

    /// The time slot of `ts` and its last instant (two divisions, so
    /// once a block).
    fn slot_of(self, ts: i64) -> (i64, i64) {
        let rest = self.slot - 1 - ts.rem_euclid(self.slot);
        (ts.div_euclid(self.slot), ts.saturating_add(rest))
    }

    /// The time slot after `(slot, last)` and its last instant, as
    /// [`Self::slot_of`] gives them for any instant of it (but for the ends
    /// of time, where the caller finds no instant later than `last`).
    fn slot_after(self, (slot, last): (i64, i64)) -> (i64, i64) {
        (slot.wrapping_add(1), last.saturating_add(self.slot))
    }

    /// The oldest timestamp still inside the window when `newest` is held.
    fn cutoff(self, newest: i64) -> i64 {
        newest.saturating_sub(self.window)
    }
}

/// One series' samples with its unit.
///
/// Blocks, oldest first: `sealed`, then `queued`, then `open`; "block `i`"
/// counts through all three. A push only appends to `open`, or swaps in the
/// `spare` when the slot changes and queues the full block; sealing it,
/// moving the edge and freeing the blocks that left the window is
/// [`Self::maintain`]'s work.
/// One block waits at most: a push that closes another while one waits
/// does that work itself first (see [`Self::overdue`]).
#[derive(Debug)]
pub(super) struct SeriesRing {
    unit: Unit,
    sealed: VecDeque<Block>,
    /// A full block, newer than the sealed ones, to be sealed by maintenance.
    queued: Option<Box<OpenBlock>>,
    /// Never empty: a new block is always opened by the push that needs it.
    open: OpenBlock,
    /// An empty block with its streams reserved, for the next slot.
    spare: Option<Box<OpenBlock>>,
    /// How many blocks, from the oldest, had left the window whole at the
    /// last maintenance: held until the next one frees them.
    dead: usize,
    /// On the oldest sample inside the window at the last maintenance, in
    /// block `dead`. The window has moved on since (pushes do not move the
    /// edge): readers walk on from here to the edge of now, see
    /// [`Self::edge`].
    edge: TimeCursor,
}

/// A held block, sealed or not.
#[derive(Clone, Copy)]
enum Held<'a> {
    Sealed(&'a Block),
    Open(&'a OpenBlock),
}

impl<'a> Held<'a> {
    fn column(self) -> TimeColumn<'a> {
        match self {
            Self::Sealed(b) => b.column(),
            Self::Open(b) => b.column(),
        }
    }

    fn last(self) -> i64 {
        match self {
            Self::Sealed(b) => b.last(),
            Self::Open(b) => b.last(),
        }
    }

    fn samples(self) -> Samples<'a> {
        match self {
            Self::Sealed(b) => b.samples(),
            Self::Open(b) => b.samples(),
        }
    }
}

impl SeriesRing {
    /// A series holding just `first`.
    pub(super) fn new(unit: Unit, first: Sample, keep: Retention) -> Self {
        let mut open = OpenBlock::with_expected(8, 4);
        let (slot, last) = keep.slot_of(first.ts.as_unix_nanos());
        open.start_slot(slot, last);
        open.push_first(first);
        let edge = open.column().start();
        Self {
            unit,
            sealed: VecDeque::new(),
            queued: None,
            open,
            spare: None,
            dead: 0,
            edge,
        }
    }

    pub(super) fn unit(&self) -> &Unit {
        &self.unit
    }

    /// Appends `sample` unless it is older than the newest one held, in a
    /// new block when its slot is a later one. The samples it pushes out of
    /// the window stay held, invisible, until maintenance.
    #[inline(always)]
    pub(super) fn push(&mut self, sample: Sample, keep: Retention, shared: &mut SharedTimes) {
        let ts = sample.ts.as_unix_nanos();
        if ts < self.newest() {
            return;
        }
        if ts > self.open.slot_last() || self.open.len() >= MAX_BLOCK_SAMPLES {
            self.rotate(sample, keep, shared);
            return;
        }
        self.open.push_next(sample);
    }

    /// Queues the full open block, opens the spare for the slot of `sample`
    /// and pushes it there: a swap, when maintenance prepared the spare
    /// (for the next slot, so that no division is left either).
    #[cold]
    #[inline(never)]
    fn rotate(&mut self, sample: Sample, keep: Retention, shared: &mut SharedTimes) {
        if self.queued.is_some() {
            self.overdue(keep, shared);
        }
        let ts = sample.ts.as_unix_nanos();
        let (_, full_last) = self.open.slot();
        let (full, prepared) = match self.spare.take() {
            Some(mut spare) => {
                std::mem::swap(&mut self.open, &mut spare);
                (spare, true)
            }
            None => (self.unprepared(), false),
        };
        self.queued = Some(full);
        // A prepared spare is set for the slot after the full block's: right
        // unless this push skipped slots or the block was cut by count.
        let (_, spare_last) = self.open.slot();
        if !(prepared && ts > full_last && ts <= spare_last) {
            let (slot, last) = keep.slot_of(ts);
            self.open.start_slot(slot, last);
        }
        self.open.push_first(sample);
    }

    /// Maintenance that did not come before the next block: moves the edge,
    /// frees the dead blocks and seals the waiting one, so that a ring never
    /// maintained still keeps its memory and its readers' walk to the edge
    /// bounded (and series pushed together still seal each slot one after
    /// the other, sharing its timestamps).
    #[cold]
    #[inline(never)]
    fn overdue(&mut self, keep: Retention, shared: &mut SharedTimes) {
        (self.dead, self.edge) = self.edge(keep, false);
        self.free_dead(shared);
        self.seal_queued(shared);
    }

    /// The full open block, replaced by a new one: allocations that
    /// maintenance did not do in advance.
    #[cold]
    #[inline(never)]
    fn unprepared(&mut self) -> Box<OpenBlock> {
        let (time_words, value_words) = self.open.words();
        let open = OpenBlock::with_expected(time_words, value_words);
        Box::new(std::mem::replace(&mut self.open, open))
    }

    /// The newest timestamp held.
    pub(super) fn newest(&self) -> i64 {
        self.open.last()
    }

    /// Block `i` (see [`SeriesRing`]).
    #[inline]
    fn block(&self, i: usize) -> Option<Held<'_>> {
        if let Some(block) = self.sealed.get(i) {
            return Some(Held::Sealed(block));
        }
        match (i - self.sealed.len(), self.queued.as_deref()) {
            (0, Some(queued)) => Some(Held::Open(queued)),
            (0, None) | (1, Some(_)) => Some(Held::Open(&self.open)),
            _ => None,
        }
    }

    /// Every block, oldest first.
    fn blocks(&self) -> impl Iterator<Item = Held<'_>> {
        let sealed = self.sealed.iter().map(Held::Sealed);
        let queued = self.queued.as_deref().map(Held::Open);
        sealed.chain(queued).chain([Held::Open(&self.open)])
    }

    /// The edge now: the number of dead blocks and a cursor on the oldest
    /// sample inside the window, found by walking on from the last
    /// maintenance's over the blocks wholly outside, then, if `samples`,
    /// sample by sample (else the cursor may stay behind, in the right
    /// block). There is one: the open block holds the newest sample.
    fn edge(&self, keep: Retention, samples: bool) -> (usize, TimeCursor) {
        let cutoff = keep.cutoff(self.newest());
        let (mut dead, mut edge) = (self.dead, self.edge);
        if edge.ts() >= cutoff {
            return (dead, edge);
        }
        while let Some(block) = self.block(dead) {
            if block.last() < cutoff {
                match self.block(dead + 1) {
                    Some(next) => (dead, edge) = (dead + 1, next.column().start()),
                    None => break,
                }
                continue;
            }
            let column = block.column();
            while samples && edge.ts() < cutoff {
                match column.next(edge) {
                    Some(next) => edge = next,
                    None => break,
                }
            }
            break;
        }
        (dead, edge)
    }

    /// Moves the edge, frees the dead blocks, seals the queued one, and
    /// prepares the room the next pushes will take: the open block's streams, and a
    /// spare block when the next push may start a new block. Pushes do not
    /// allocate after it as long as they come at the pace of the last ones.
    ///
    /// `period` is how far the ring's newest sample moved since the last
    /// maintenance: the pace at which it comes.
    pub(super) fn maintain(&mut self, keep: Retention, period: i64, shared: &mut SharedTimes) {
        (self.dead, self.edge) = self.edge(keep, true);
        self.free_dead(shared);
        self.seal_queued(shared);
        self.open.reserve_ahead();
        if self.spare.is_none() && self.next_push_may_rotate(period) {
            let (time_words, value_words) =
                self.sealed.back().map_or(self.open.words(), Block::words);
            let mut spare = OpenBlock::spare(time_words, value_words);
            let (slot, last) = keep.slot_after(self.open.slot());
            spare.start_slot(slot, last);
            self.spare = Some(Box::new(spare));
        }
    }

    /// Frees the dead blocks, sealed or not (never the open one, which
    /// holds the newest sample).
    fn free_dead(&mut self, shared: &mut SharedTimes) {
        let dead_sealed = self.dead.min(self.sealed.len());
        for block in self.sealed.drain(..dead_sealed) {
            shared.release(block.into_times());
        }
        if self.dead > dead_sealed {
            self.queued = None;
        }
        self.dead = 0;
    }

    /// Seals the waiting block, if any.
    fn seal_queued(&mut self, shared: &mut SharedTimes) {
        if let Some(block) = self.queued.take().and_then(|full| full.seal(shared)) {
            if self.sealed.len() == self.sealed.capacity() {
                self.sealed.reserve_exact(1);
            }
            self.sealed.push_back(block);
        }
    }

    /// Whether a push before the maintenance after next may start a new
    /// block: see [`SPARE_LEAD_MAINTENANCES`].
    fn next_push_may_rotate(&self, period: i64) -> bool {
        if self.open.len() + SPARE_LEAD_SAMPLES >= MAX_BLOCK_SAMPLES {
            return true;
        }
        let newest = self.newest();
        let interval = if self.open.len() >= 2 {
            self.open.last_delta()
        } else {
            self.sealed
                .back()
                .map_or(0, |b| newest.saturating_sub(b.last()))
        };
        let lead = interval
            .max(0)
            .saturating_add(period.saturating_mul(SPARE_LEAD_MAINTENANCES));
        self.open.slot_last().saturating_sub(newest) < lead
    }

    /// Samples inside the window: those held but the dead blocks' and the
    /// ones before the edge.
    pub(super) fn len(&self, keep: Retention) -> usize {
        let (dead, edge) = self.edge(keep, true);
        let held: usize = self.blocks().skip(dead).map(|b| b.column().len()).sum();
        held - edge.index()
    }

    /// The samples inside both `range` and the window, oldest first.
    pub(super) fn snapshot(&self, range: TimeRange, keep: Retention) -> Vec<Sample> {
        let lo = range.start.as_unix_nanos().max(keep.cutoff(self.newest()));
        let hi = range.end.as_unix_nanos();
        let mut out = Vec::new();
        if lo > hi {
            return out;
        }
        for block in self.blocks().skip(self.dead) {
            if block.column().first() > hi {
                break;
            }
            if block.last() >= lo {
                let inside = |s: &Sample| (lo..=hi).contains(&s.ts.as_unix_nanos());
                out.extend(block.samples().filter(inside));
            }
        }
        out
    }

    /// Heap bytes but for the sealed timestamp columns (counted by
    /// [`SharedTimes`]): this struct (in the ring's vector), the block
    /// headers (by capacity), the value columns, and the unsealed blocks:
    /// queued, open and spare.
    pub(super) fn memory_bytes(&self) -> usize {
        let unsealed = |b: &OpenBlock| size_of::<OpenBlock>() + b.heap_bytes();
        size_of::<Self>()
            + self.sealed.capacity() * size_of::<Block>()
            + self.sealed.iter().map(Block::value_bytes).sum::<usize>()
            + self.queued.as_deref().map_or(0, unsealed)
            + self.open.heap_bytes()
            + self.spare.as_deref().map_or(0, unsealed)
    }

    /// The sealed blocks' timestamp columns, to check [`SharedTimes`]' count.
    #[cfg(test)]
    pub(super) fn time_blocks(&self) -> impl Iterator<Item = &Arc<TimeBlock>> {
        self.sealed.iter().map(Block::times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_after_is_the_one_any_of_its_instants_is_in() {
        for window in [1, 5, 6, 7, 60_000_000_000, i64::MAX] {
            let keep = Retention::new(window);
            for ts in [i64::MIN, -13, -1, 0, 1, 17, 1_795_428_000_123_456_789] {
                let (slot, last) = keep.slot_of(ts);
                assert_eq!(keep.slot_of(last), (slot, last), "{window} {ts}");
                if last < i64::MAX {
                    let after = keep.slot_after((slot, last));
                    assert_eq!(keep.slot_of(last + 1), after, "{window} {ts}");
                    assert_eq!(keep.slot_of(after.1), after, "{window} {ts}");
                }
            }
        }
    }
}
