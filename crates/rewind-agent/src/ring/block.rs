//! Blocks: one series' samples of one time slot as two Gorilla streams, a
//! timestamp column (shareable, see [`super::times`]) and a value column.
//! The open block is being appended to; once full it waits, unchanged, for
//! the ring's maintenance to seal it; a sealed block never changes.

use std::sync::Arc;

use rewind_model::{Sample, Timestamp};

use super::bits::{BitReader, BitWriter};
use super::codec::ValueCodec;
use super::times::{SharedTimes, TimeBlock, TimeColumn, TimeWriter, Times};

/// A sealed block of at least one sample.
#[derive(Debug)]
pub(super) struct Block {
    times: Arc<TimeBlock>,
    /// The first value as 64 raw bits, then XOR codes.
    values: Box<[u64]>,
    /// `times.last()`, here too as every push checks it.
    last: i64,
}

impl Block {
    pub(super) fn last(&self) -> i64 {
        self.last
    }

    pub(super) fn column(&self) -> TimeColumn<'_> {
        self.times.column()
    }

    /// The timestamp column, for [`SharedTimes::release`].
    pub(super) fn into_times(self) -> Arc<TimeBlock> {
        self.times
    }

    /// Heap bytes of the value column (the timestamps are counted once per
    /// distinct column by [`SharedTimes`]).
    pub(super) fn value_bytes(&self) -> usize {
        self.values.len() * size_of::<u64>()
    }

    /// The samples, oldest first.
    pub(super) fn samples(&self) -> Samples<'_> {
        Samples::new(self.column().iter(), BitReader::new(&self.values, 0))
    }

    /// Words of its (timestamp, value) streams: what the next block of the
    /// series likely takes.
    pub(super) fn words(&self) -> (usize, usize) {
        (self.times.words(), self.values.len())
    }

    #[cfg(test)]
    pub(super) fn times(&self) -> &Arc<TimeBlock> {
        &self.times
    }
}

/// The block being appended to, or a full one waiting to be sealed. Empty
/// only as a spare, before its first push.
#[derive(Debug)]
pub(super) struct OpenBlock {
    times: TimeWriter,
    values: BitWriter,
    codec: ValueCodec,
    /// The time slot all its samples are in, and its last instant: a push
    /// compares with it rather than dividing.
    slot: i64,
    slot_last: i64,
}

impl OpenBlock {
    /// An empty block expecting streams of about these sizes in words.
    pub(super) fn with_expected(time_words: usize, value_words: usize) -> Self {
        Self {
            times: TimeWriter::with_expected(time_words),
            values: BitWriter::with_expected(value_words),
            codec: ValueCodec::starting_at(0),
            slot: 0,
            slot_last: 0,
        }
    }

    /// An empty block expecting streams of about these sizes in words, with
    /// room for a quarter of them: a spare, which maintenance grows ahead
    /// of the pushes once it is opened.
    pub(super) fn spare(time_words: usize, value_words: usize) -> Self {
        Self {
            times: TimeWriter::with_room_for_a_quarter(time_words),
            values: BitWriter::with_room_for_a_quarter(value_words),
            codec: ValueCodec::starting_at(0),
            slot: 0,
            slot_last: 0,
        }
    }

    /// Sets the time slot of the samples to come (and its last instant),
    /// before the first push.
    pub(super) fn start_slot(&mut self, slot: i64, last: i64) {
        (self.slot, self.slot_last) = (slot, last);
    }

    /// Appends a sample of its time slot, no older than the last one; the
    /// caller starts a new block first when the slot changes.
    #[cfg(test)]
    pub(super) fn push(&mut self, sample: Sample) {
        if self.times.len() == 0 {
            self.push_first(sample);
        } else {
            self.push_next(sample);
        }
    }

    /// Appends the first sample of an empty block: value and timestamp raw.
    pub(super) fn push_first(&mut self, sample: Sample) {
        let bits = sample.value.to_bits();
        self.values.put(bits, 64);
        self.codec = ValueCodec::starting_at(bits);
        self.times.push_first(sample.ts.as_unix_nanos());
    }

    /// Appends a sample to a block that is not empty: [`Self::push`]'s hot
    /// path, which the ring takes as its open block is never empty.
    #[inline(always)]
    pub(super) fn push_next(&mut self, sample: Sample) {
        self.codec.encode(sample.value.to_bits(), &mut self.values);
        self.times.push_next(sample.ts.as_unix_nanos());
    }

    /// The time slot of its samples and its last instant.
    pub(super) fn slot(&self) -> (i64, i64) {
        (self.slot, self.slot_last)
    }

    /// The last instant of its time slot.
    pub(super) fn slot_last(&self) -> i64 {
        self.slot_last
    }

    /// The newest timestamp (meaningless when empty).
    pub(super) fn last(&self) -> i64 {
        self.times.last()
    }

    pub(super) fn len(&self) -> usize {
        self.times.len()
    }

    pub(super) fn column(&self) -> TimeColumn<'_> {
        self.times.column()
    }

    /// Heap bytes allocated for both streams.
    pub(super) fn heap_bytes(&self) -> usize {
        self.times.heap_bytes() + self.values.heap_bytes()
    }

    /// The samples, oldest first.
    pub(super) fn samples(&self) -> Samples<'_> {
        Samples::new(self.column().iter(), self.values.reader())
    }

    /// The delta between its last two timestamps (0 with fewer than two).
    pub(super) fn last_delta(&self) -> i64 {
        self.times.last_delta()
    }

    /// Words of its (timestamp, value) streams, the partly filled tails
    /// included: what the next block of the series likely takes.
    pub(super) fn words(&self) -> (usize, usize) {
        (self.times.full_words() + 1, self.values.full_words() + 1)
    }

    /// Makes room for the pushes until the next maintenance (see
    /// [`super::bits::BitWriter::reserve_ahead`]).
    pub(super) fn reserve_ahead(&mut self) {
        self.times.reserve_ahead();
        self.values.reserve_ahead();
    }

    /// Seals the samples into a [`Block`] with exactly sized streams, its
    /// timestamps shared through `shared` when another series sealed the
    /// same ones. `None` when empty.
    pub(super) fn seal(self, shared: &mut SharedTimes) -> Option<Block> {
        let times = self.times.seal()?;
        Some(Block {
            last: times.last(),
            times: shared.share(self.slot, times),
            values: self.values.finish(),
        })
    }
}

/// Decodes a block's samples in order.
#[derive(Debug)]
pub(super) struct Samples<'a> {
    times: Times<'a>,
    values: BitReader<'a>,
    codec: Option<ValueCodec>,
}

impl<'a> Samples<'a> {
    fn new(times: Times<'a>, values: BitReader<'a>) -> Self {
        Self {
            times,
            values,
            codec: None,
        }
    }
}

impl Iterator for Samples<'_> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        let ts = self.times.next()?;
        let bits = match &mut self.codec {
            Some(codec) => codec.decode(&mut self.values),
            None => {
                let bits = self.values.read(64);
                self.codec = Some(ValueCodec::starting_at(bits));
                bits
            }
        };
        Some(Sample::new(
            Timestamp::from_unix_nanos(ts),
            f64::from_bits(bits),
        ))
    }
}
