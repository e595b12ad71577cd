//! Blocks: one series' samples of one time slot as two Gorilla streams, a
//! timestamp column (shareable, see [`super::times`]) and a value column.
//! The open block is being appended to; a sealed block never changes.

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

    #[cfg(test)]
    pub(super) fn times(&self) -> &Arc<TimeBlock> {
        &self.times
    }
}

/// The block being appended to. Empty right after a seal.
#[derive(Debug)]
pub(super) struct OpenBlock {
    times: TimeWriter,
    values: BitWriter,
    codec: ValueCodec,
    /// The time slot all its samples are in.
    slot: i64,
}

impl OpenBlock {
    /// An empty block expecting streams of about these sizes in words.
    pub(super) fn with_expected(time_words: usize, value_words: usize) -> Self {
        Self {
            times: TimeWriter::with_expected(time_words),
            values: BitWriter::with_expected(value_words),
            codec: ValueCodec::starting_at(0),
            slot: 0,
        }
    }

    /// Appends a sample of time slot `slot`, no older than the last one;
    /// the caller seals first when the slot changes.
    #[inline]
    pub(super) fn push(&mut self, sample: Sample, slot: i64) {
        let bits = sample.value.to_bits();
        if self.times.len() == 0 {
            self.values.write(bits, 64);
            self.codec = ValueCodec::starting_at(bits);
            self.slot = slot;
        } else {
            self.codec.encode(bits, &mut self.values);
        }
        self.times.push(sample.ts.as_unix_nanos());
    }

    pub(super) fn slot(&self) -> i64 {
        self.slot
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

    /// Seals the samples into a [`Block`], its timestamps shared through
    /// `shared` when another series sealed the same ones, and leaves this
    /// block empty. `None` when empty.
    pub(super) fn seal(&mut self, shared: &mut SharedTimes) -> Option<Block> {
        let times = self.times.seal()?;
        let expected = self.values.full_words() + 1;
        let values = std::mem::replace(&mut self.values, BitWriter::with_expected(expected));
        Some(Block {
            last: times.last(),
            times: shared.share(self.slot, times),
            values: values.finish(),
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
