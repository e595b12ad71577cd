//! Timestamp columns. A sealed one is immutable, so series whose samples
//! carry the very same timestamps (all the agent's series: one clock reading
//! a tick) share one through an [`Arc`].

use std::sync::Arc;

use super::bits::{BitReader, BitWriter};
use super::codec::TimeCodec;

/// The sealed timestamps of one block: at least one, in order.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct TimeBlock {
    /// Delta-of-delta codes of every timestamp after the first.
    words: Box<[u64]>,
    first: i64,
    last: i64,
    count: u32,
}

impl TimeBlock {
    pub(super) fn last(&self) -> i64 {
        self.last
    }

    /// Words of the stream.
    pub(super) fn words(&self) -> usize {
        self.words.len()
    }

    /// Heap bytes of one shared copy: the `Arc` allocation and the stream.
    fn heap_bytes(&self) -> usize {
        2 * size_of::<usize>() + size_of::<Self>() + self.words.len() * size_of::<u64>()
    }

    pub(super) fn column(&self) -> TimeColumn<'_> {
        TimeColumn {
            bits: BitReader::new(&self.words, 0),
            first: self.first,
            count: self.count,
        }
    }
}

/// The timestamps of the open block. Empty until the first push.
#[derive(Debug)]
pub(super) struct TimeWriter {
    w: BitWriter,
    codec: TimeCodec,
    first: i64,
    count: u32,
}

impl TimeWriter {
    /// An empty column expected to take about `words` words.
    pub(super) fn with_expected(words: usize) -> Self {
        Self {
            w: BitWriter::with_expected(words),
            codec: TimeCodec::starting_at(0),
            first: 0,
            count: 0,
        }
    }

    /// An empty column expected to take about `words` words, with room for
    /// a quarter of them (see [`BitWriter::with_room_for_a_quarter`]).
    pub(super) fn with_room_for_a_quarter(words: usize) -> Self {
        Self {
            w: BitWriter::with_room_for_a_quarter(words),
            ..Self::with_expected(0)
        }
    }

    /// Sets the first timestamp of an empty column.
    pub(super) fn push_first(&mut self, ts: i64) {
        debug_assert_eq!(self.count, 0);
        self.first = ts;
        self.codec = TimeCodec::starting_at(ts);
        self.count = 1;
    }

    /// Appends `ts` to a column that is not empty, no older than the last
    /// timestamp (the caller checks).
    #[inline]
    pub(super) fn push_next(&mut self, ts: i64) {
        debug_assert!(self.count > 0);
        self.codec.encode(ts, &mut self.w);
        self.count += 1;
    }

    /// The newest timestamp (meaningless when empty).
    pub(super) fn last(&self) -> i64 {
        self.codec.prev()
    }

    pub(super) fn len(&self) -> usize {
        self.count as usize
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.w.heap_bytes()
    }

    pub(super) fn column(&self) -> TimeColumn<'_> {
        TimeColumn {
            bits: self.w.reader(),
            first: self.first,
            count: self.count,
        }
    }

    /// The delta between the last two timestamps (0 with fewer than two).
    pub(super) fn last_delta(&self) -> i64 {
        self.codec.delta()
    }

    /// Whole words written so far.
    pub(super) fn full_words(&self) -> usize {
        self.w.full_words()
    }

    /// See [`BitWriter::reserve_ahead`].
    pub(super) fn reserve_ahead(&mut self) {
        self.w.reserve_ahead();
    }

    /// The sealed column, its stream exactly sized. `None` when empty.
    pub(super) fn seal(self) -> Option<TimeBlock> {
        if self.count == 0 {
            return None;
        }
        Some(TimeBlock {
            first: self.first,
            last: self.codec.prev(),
            count: self.count,
            words: self.w.finish(),
        })
    }
}

/// A read-only view of a column, sealed or open. A sealed column reads the
/// same as the open one it was (same bits), so cursors stay valid.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimeColumn<'a> {
    bits: BitReader<'a>,
    first: i64,
    count: u32,
}

/// A position in a column: on timestamp number `index`, which the codec
/// state holds as its previous one; the next code starts at bit `pos`.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimeCursor {
    index: u32,
    pos: usize,
    codec: TimeCodec,
}

impl TimeCursor {
    pub(super) fn index(&self) -> usize {
        self.index as usize
    }

    pub(super) fn ts(&self) -> i64 {
        self.codec.prev()
    }
}

impl<'a> TimeColumn<'a> {
    pub(super) fn first(&self) -> i64 {
        self.first
    }

    pub(super) fn len(&self) -> usize {
        self.count as usize
    }

    /// On the first timestamp (the column must not be empty).
    pub(super) fn start(&self) -> TimeCursor {
        TimeCursor {
            index: 0,
            pos: 0,
            codec: TimeCodec::starting_at(self.first),
        }
    }

    /// On the timestamp after `at`'s, if any.
    #[inline]
    pub(super) fn next(&self, at: TimeCursor) -> Option<TimeCursor> {
        if at.index + 1 >= self.count {
            return None;
        }
        let mut r = self.bits.moved_to(at.pos);
        let mut codec = at.codec;
        codec.decode(&mut r);
        Some(TimeCursor {
            index: at.index + 1,
            pos: r.position(),
            codec,
        })
    }

    /// The timestamps, oldest first.
    pub(super) fn iter(self) -> Times<'a> {
        Times {
            column: self,
            at: None,
        }
    }
}

/// Decodes a column in order.
#[derive(Debug)]
pub(super) struct Times<'a> {
    column: TimeColumn<'a>,
    at: Option<TimeCursor>,
}

impl Iterator for Times<'_> {
    type Item = i64;

    #[inline]
    fn next(&mut self) -> Option<i64> {
        let at = match self.at {
            Some(at) => self.column.next(at)?,
            None if self.column.count > 0 => self.column.start(),
            None => return None,
        };
        self.at = Some(at);
        Some(at.ts())
    }
}

/// The sealed timestamp columns of the newest time slot, for sharing, and
/// the bytes of every distinct column alive.
#[derive(Debug, Default)]
pub(super) struct SharedTimes {
    slot: i64,
    recent: Vec<Arc<TimeBlock>>,
    bytes: usize,
}

/// Distinct columns remembered per slot; more series than that with
/// different clocks simply stop sharing.
const MAX_RECENT: usize = 8;

impl SharedTimes {
    /// `block` (of time slot `slot`) as a shared column: an equal one sealed
    /// before in the same slot, or a new one remembered for the next series.
    pub(super) fn share(&mut self, slot: i64, block: TimeBlock) -> Arc<TimeBlock> {
        if slot > self.slot || self.recent.is_empty() {
            self.slot = slot;
            for old in std::mem::take(&mut self.recent) {
                self.release(old);
            }
        }
        if slot == self.slot
            && let Some(same) = self.recent.iter().find(|b| ***b == block)
        {
            return Arc::clone(same);
        }
        self.bytes += block.heap_bytes();
        let block = Arc::new(block);
        if slot == self.slot && self.recent.len() < MAX_RECENT {
            self.recent.push(Arc::clone(&block));
        }
        block
    }

    /// Drops a reference to a column, keeping the count of bytes right.
    /// Every `Arc` from [`Self::share`] must end here.
    pub(super) fn release(&mut self, block: Arc<TimeBlock>) {
        if let Some(block) = Arc::into_inner(block) {
            self.bytes -= block.heap_bytes();
        }
    }

    /// Heap bytes of every distinct column still alive, shared or not.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Heap bytes of the distinct columns among `blocks` and the remembered
    /// ones, found by address: what [`Self::bytes`] must equal.
    #[cfg(test)]
    pub(super) fn count_bytes<'a>(
        &'a self,
        blocks: impl Iterator<Item = &'a Arc<TimeBlock>>,
    ) -> usize {
        let mut seen = std::collections::HashSet::new();
        blocks
            .chain(&self.recent)
            .filter(|b| seen.insert(Arc::as_ptr(b)))
            .map(|b| b.heap_bytes())
            .sum()
    }
}
