//! The pre-incident ring buffer: per series, the samples of the last
//! `window`, oldest dropped first, compressed as in Facebook's Gorilla
//! (Pelkonen et al., VLDB 2015): timestamps as delta-of-delta, values as the
//! XOR with the previous value. The agent's series at 10 Hz take about 2.5
//! bytes a sample instead of 16 (the `shapes` test prints the figures).
//!
//! # Maintenance
//!
//! [`Ring::push`] only appends to its series' open block; the slow work is
//! left to [`Ring::maintain`], which the owner calls regularly between
//! pushes (the agent's hub: at its 100 ms tick):
//!
//! - a push whose sample starts a new block (a later time slot, or 4096
//!   samples) swaps in the series' spare block, reserved in advance, and
//!   queues the full one; `maintain` seals it (exact-size streams, timestamp
//!   column shared with the other series);
//! - a push moves the window but not the series' edge cursor (see below):
//!   `maintain` moves it, and frees the blocks that left the window whole
//!   (dead blocks);
//! - `maintain` prepares the room the next pushes take: it grows the open
//!   blocks' streams ahead of them, and gives a spare block to the series
//!   whose next push may start a new block before the maintenance after
//!   next (judged from the series' push interval and how far time moved
//!   between the last two maintenances).
//!
//! Answers never depend on it: [`Ring::snapshot`], [`Ring::len`] and the
//! rest read a queued block as they read sealed ones, and find the edge of
//! now from the last maintenance's, so they are the same whether `maintain`
//! ran or not (the model test interleaves it at random, or never calls it).
//! Only costs do: without it a push that starts a block allocates the new
//! one, and one that finds a block still queued frees the dead blocks and
//! seals that one itself, so memory stays bounded (the memory and sharing
//! tests run rings never maintained too). [`Ring::memory_bytes`] counts
//! everything held: queued, dead and spare blocks included.
//!
//! # Layout
//!
//! ```text
//! Ring        { keep: {window, slot = window / 6},
//!               series: Vec<{name, next-push guess, SeriesRing}> sorted by name,
//!               shared: the TimeBlocks sealed in the newest slot, for reuse,
//!               maintained_at: the newest timestamp at the last maintain }
//! SeriesRing  { unit, sealed: VecDeque<Block>, queued: Option<Box<OpenBlock>>,
//!               open: OpenBlock, spare: Option<Box<OpenBlock>>,
//!               dead: blocks wholly out of the window, edge: TimeCursor }
//! Block       { times: Arc<TimeBlock>, values: Box<[u64]>, last: i64 }  // sealed
//! TimeBlock   { words: Box<[u64]>, first: i64, last: i64, count: u32 }  // immutable
//! OpenBlock   { times: TimeWriter, values: BitWriter, codec state, slot }
//!                                                   // open, queued or spare
//!
//! streams: bits, most significant first, packed in u64 words
//! times  = one ts code for each sample after `first`
//! values = first value (64 raw bits of f64::to_bits), then one value code
//!          for each further sample
//!
//! ts code: dod = (ts - prev) - (prev - prev_prev) in wrapping i64
//!          arithmetic, the block's first delta taken against 0;
//!          z = zigzag(dod), written in a sticky width from
//!          W = [0, 4, 8, 10, 12, 14, 16, 17, 18, 19, 20, 21, 22, 24, 32, 64]
//!     0 + z in the current width           when z fits it and it is at most
//!                                          4 bits wider than the narrowest
//!                                          width z fits
//!     1 + index:4 + z in W[index]          otherwise (the narrowest fitting)
//!     (the width starts at W[0] = 0, so a steady clock costs 1 bit a sample)
//! value code: xor = bits ^ prev_bits
//!     0                                    xor = 0 (value repeated)
//!     10 + xor's meaningful bits           xor fits the current window (its
//!                                          leading and trailing zeros), which
//!                                          is at most 11 bits wider than xor
//!     11 + lead:5 + len:6 + meaningful     new window; lead capped at 31,
//!                                          len 64 written as 0
//! ```
//!
//! # Invariants
//!
//! - Within a series timestamps never decrease: a push older than the newest
//!   sample held is ignored (an equal timestamp is kept).
//! - Blocks are in order, sealed then queued then the open one, which is
//!   never empty: every sample of a block is no newer than any sample of the
//!   next.
//! - A block holds the samples of one time slot (`ts.div_euclid(slot)`), at
//!   most 4096 of them; it is closed by the first push of a later slot and
//!   sealed by the next maintenance. As slots are the same for every series,
//!   series pushed with the same timestamps seal equal `TimeBlock`s, and the
//!   ring keeps one of them (shared through the `Arc`; the agent stamps all
//!   readings of a tick with one clock reading). Sealed streams are exactly
//!   sized and never change; a queued block does not change either, and
//!   reads the same once sealed.
//! - Values and timestamps round-trip bit for bit (NaN payloads, -0.0, any
//!   `i64`): nothing is quantised.
//!
//! # At the window edge
//!
//! A sample is held while `ts >= newest - window` (`newest`: the newest
//! sample of its series, the subtraction saturating), exactly as if every
//! older sample were popped at each push. Storage is coarser: a block is
//! freed once its *last* sample has left the window (by the next
//! maintenance), so only the oldest live block can straddle the edge. Its
//! samples already outside stay in memory (at most one slot's worth: memory
//! is bounded by the window plus a sixth, plus what waits for maintenance)
//! but are invisible. Each series keeps a cursor on its oldest sample
//! inside the window as of the last maintenance, and the count of dead
//! blocks before it; as the window only moves forward, [`Ring::len`] walks
//! on from there to the edge of now (at 10 Hz and a maintenance every
//! 100 ms, a sample or so) and subtracts what lies before it, and
//! [`Ring::snapshot`] filters by time. A series is never removed, even once
//! it stops being pushed: its last window stays.
//!
//! # Cost
//!
//! A push is a lookup (usually one name comparison, see `Entry`), one
//! comparison with the open block's slot end, and per stream one code built
//! whole in a register and stored with one branch-free write (two for codes
//! longer than a word) into room that is already there, zeroed (see
//! `bits::BitWriter`). Once a slot it also swaps the open block for the
//! spare, whose slot maintenance set (no division), queues the full one
//! (moving a 176-byte struct) and writes the first sample raw. Nothing is
//! decoded, allocated or sealed on the path when the ring is maintained, so
//! pushes that start a block cost about what the others do. On the `bench
//! agent` series: about 220 instructions (callgrind) against 235 before
//! this change, and p50 10 ns, p99 30 ns once the timer's 30 ns is
//! subtracted, against 20 and 40. `maintain` walks the series: per series
//! the edge moved on by the samples pushed since the last one and a few
//! comparisons, and once a slot a seal (two exact-size reallocations and a
//! comparison with the timestamp columns other series sealed in that slot),
//! the freeing of the oldest block and a spare's allocation. `len` walks
//! the same few samples and adds up per-block counts; `memory_bytes` only
//! adds up. A snapshot decodes the blocks overlapping its range, about 15
//! ns a sample.

mod bits;
mod block;
mod codec;
mod series;
#[cfg(test)]
mod tests;
mod times;

use rewind_model::{Sample, SeriesName, TimeRange};

use crate::collect::Unit;

use series::{Retention, SeriesRing};
use times::SharedTimes;

/// Recent samples of every series, bounded by time.
#[derive(Debug)]
pub struct Ring {
    keep: Retention,
    /// Sorted by name.
    series: Vec<Entry>,
    /// Index of the series pushed last, whose `next` guesses the next push.
    last: usize,
    shared: SharedTimes,
    /// The newest timestamp held at the last [`Ring::maintain`].
    maintained_at: i64,
}

/// A series and its name. Collectors push their series in the same order
/// every tick, so `next`, the index of the series pushed after this one
/// last time, usually finds the next one with a single comparison instead
/// of a search (which costs a quarter of a push). Indices shift when a
/// series is inserted: a wrong guess only costs the search.
#[derive(Debug)]
struct Entry {
    name: SeriesName,
    next: usize,
    ring: SeriesRing,
}

impl Ring {
    /// A ring keeping `window_nanos` of history per series.
    #[must_use]
    pub fn new(window_nanos: i64) -> Self {
        Self {
            keep: Retention::new(window_nanos),
            series: Vec::new(),
            last: 0,
            shared: SharedTimes::default(),
            maintained_at: i64::MIN,
        }
    }

    /// Appends a sample and drops (from view; from memory at the next
    /// [`Self::maintain`]) the samples that fell out of the window. A sample older than the newest
    /// one held is dropped (time never runs backwards inside a series). The
    /// unit is the one of the first push.
    pub fn push(&mut self, name: &SeriesName, unit: &Unit, sample: Sample) {
        let index = match self.find(name) {
            Ok(index) => {
                if let Some(entry) = self.series.get_mut(index) {
                    entry.ring.push(sample, self.keep, &mut self.shared);
                }
                index
            }
            Err(index) => self.insert(index, name, unit, sample),
        };
        if let Some(previous) = self.series.get_mut(self.last) {
            previous.next = index;
        }
        self.last = index;
    }

    /// A new series at `index`, holding `sample`: kept off the inlined
    /// push path (its stack frame and code would slow every push).
    #[cold]
    #[inline(never)]
    fn insert(&mut self, index: usize, name: &SeriesName, unit: &Unit, sample: Sample) -> usize {
        let ring = SeriesRing::new(unit.clone(), sample, self.keep);
        let (name, next) = (name.clone(), index + 1);
        self.series.insert(index, Entry { name, next, ring });
        index
    }

    /// Seals the blocks that pushes filled, frees those that left the window
    /// and prepares room for the next pushes (see the module docs): the work
    /// kept off [`Self::push`]. Call it regularly between pushes (the agent:
    /// every 100 ms); nothing it does changes what the ring answers.
    pub fn maintain(&mut self) {
        let newest = self.series.iter().map(|e| e.ring.newest()).max();
        let newest = newest.unwrap_or(self.maintained_at);
        let period = newest.saturating_sub(self.maintained_at).max(0);
        self.maintained_at = newest;
        for entry in &mut self.series {
            entry.ring.maintain(self.keep, period, &mut self.shared);
        }
    }

    /// Where `name` is (`Ok`) or would be inserted (`Err`).
    #[inline(always)]
    fn find(&self, name: &SeriesName) -> Result<usize, usize> {
        let guess = self.series.get(self.last).map_or(0, |e| e.next);
        if self.series.get(guess).is_some_and(|e| e.name == *name) {
            return Ok(guess);
        }
        self.search(name)
    }

    /// [`Self::find`] when the guess was wrong: kept out of line, so that
    /// the inlined path is short.
    #[inline(never)]
    fn search(&self, name: &SeriesName) -> Result<usize, usize> {
        self.series.binary_search_by(|e| e.name.cmp(name))
    }

    /// Every series' samples inside `range` (inclusive), in chronological
    /// order, sorted by name; series with no sample in it are left out.
    #[must_use]
    pub fn snapshot(&self, range: TimeRange) -> Vec<(SeriesName, Unit, Vec<Sample>)> {
        self.series
            .iter()
            .filter_map(|e| {
                let samples = e.ring.snapshot(range, self.keep);
                (!samples.is_empty()).then(|| (e.name.clone(), e.ring.unit().clone(), samples))
            })
            .collect()
    }

    /// Whether `name` has a series here.
    #[must_use]
    pub fn contains(&self, name: &SeriesName) -> bool {
        self.find(name).is_ok()
    }

    /// How many distinct series are held.
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Total samples held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.series.iter().map(|e| e.ring.len(self.keep)).sum()
    }

    /// Whether no sample is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes used by sample storage: per series its state, block
    /// headers and value streams, its unsealed blocks (queued, open and
    /// spare), and each sealed timestamp column once however many series
    /// share it; allocated capacity, not length. Series names
    /// and allocator overhead are not counted. Cheap: no stream is walked.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        let series: usize = self.series.iter().map(|e| e.ring.memory_bytes()).sum();
        series + self.shared.bytes()
    }

    /// [`Self::memory_bytes`] found the slow way, by collecting the distinct
    /// timestamp columns.
    #[cfg(test)]
    fn memory_bytes_by_walking(&self) -> usize {
        let series: usize = self.series.iter().map(|e| e.ring.memory_bytes()).sum();
        let blocks = self.series.iter().flat_map(|e| e.ring.time_blocks());
        series + self.shared.count_bytes(blocks)
    }
}
