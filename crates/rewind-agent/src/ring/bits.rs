//! Hand-written bit I/O for the Gorilla streams: MSB-first into `u64` words.
//!
//! No crate does what the ring needs, checked on crates.io: `tsz` 0.1 takes
//! `u64` times and truncates a delta-of-delta to `i32` (an hour's jump in
//! nanoseconds is lost); `gorilla` 0.2 takes `u64` timestamps (nothing
//! before 1970) with dods of at most 48 bits; `tsz-compress` packs integers
//! only; `pco` compresses whole chunks at once, with no per-sample append.
//! The bit I/O itself is these hundred lines.

/// Appends bits, most significant first, into whole `u64` words plus a
/// partly filled `tail` word.
#[derive(Debug)]
pub(super) struct BitWriter {
    words: Vec<u64>,
    /// The bits not yet in `words`, left-aligned (the first at bit 63).
    tail: u64,
    /// How many bits of `tail` are used, `0..64`.
    used: u32,
    /// Words added to the capacity when full: small steps keep the unused
    /// capacity small, which is what the ring is about.
    step: usize,
    /// `words.len()` at the last [`Self::reserve_ahead`].
    mark: usize,
}

impl BitWriter {
    /// An empty writer for a stream expected to take about `words` words:
    /// it starts with room for all of them plus one, so a push rarely
    /// reallocates (growth inside a block was the tail of push latency), and
    /// grows by quarters when a block comes out larger than the last.
    pub(super) fn with_expected(words: usize) -> Self {
        Self {
            words: Vec::with_capacity(words + 1),
            tail: 0,
            used: 0,
            step: (words / 4).max(2),
            mark: 0,
        }
    }

    /// An empty writer for a stream expected to take about `words` words,
    /// with room for a quarter of them only: for a block that maintenance
    /// grows ahead of the pushes (see [`Self::reserve_ahead`]).
    pub(super) fn with_room_for_a_quarter(words: usize) -> Self {
        let step = (words / 4).max(2);
        Self {
            words: Vec::with_capacity(step + 2),
            tail: 0,
            used: 0,
            step,
            mark: 0,
        }
    }

    /// Makes room, if there is not, for twice the words written since the
    /// last call (and at least one), so that pushes coming at the same pace
    /// until the next call do not reallocate. Called off the push path, by
    /// the ring's maintenance.
    pub(super) fn reserve_ahead(&mut self) {
        let len = self.words.len();
        let want = 2 * len.saturating_sub(self.mark) + 1;
        self.mark = len;
        if self.words.capacity() - len < want {
            self.words.reserve_exact(want.max(self.step));
        }
    }

    #[inline]
    fn push_word(&mut self, word: u64) {
        if self.words.len() == self.words.capacity() {
            self.words.reserve_exact(self.step);
        }
        self.words.push(word);
    }

    /// Whole words written so far (the partly filled tail not included).
    pub(super) fn full_words(&self) -> usize {
        self.words.len()
    }

    /// Appends the low `n` bits of `value` (`n` in `0..=64`; higher bits of
    /// `value` are ignored).
    #[inline]
    pub(super) fn write(&mut self, value: u64, n: u32) {
        if n == 0 {
            return;
        }
        let v = if n == 64 {
            value
        } else {
            value & ((1 << n) - 1)
        };
        let free = 64 - self.used;
        if n < free {
            self.tail |= v << (free - n);
            self.used += n;
        } else {
            // `free` is 1..=64 and `n <= 64`, so `n - free <= 63`.
            let rest = n - free;
            self.push_word(self.tail | (v >> rest));
            self.tail = if rest == 0 { 0 } else { v << (64 - rest) };
            self.used = rest;
        }
    }

    /// Appends one bit.
    #[inline]
    pub(super) fn write_bit(&mut self, bit: bool) {
        self.write(u64::from(bit), 1);
    }

    /// A reader over everything written so far.
    pub(super) fn reader(&self) -> BitReader<'_> {
        BitReader::new(&self.words, self.tail)
    }

    /// Heap bytes held (capacity, not length: that is what is allocated).
    pub(super) fn heap_bytes(&self) -> usize {
        self.words.capacity() * size_of::<u64>()
    }

    /// The finished stream as exactly-sized words (the tail word included
    /// when it holds any bit).
    pub(super) fn finish(mut self) -> Box<[u64]> {
        if self.used > 0 {
            self.words.reserve_exact(1);
            self.words.push(self.tail);
        }
        self.words.into_boxed_slice()
    }
}

/// Reads back what a [`BitWriter`] wrote. Reading past the end yields zero
/// bits rather than panicking; decoders stop by count, so they never do.
#[derive(Debug, Clone, Copy)]
pub(super) struct BitReader<'a> {
    words: &'a [u64],
    /// The word that follows `words` (a writer's partly filled tail).
    tail: u64,
    /// Index of the next bit to read.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader over `words` followed by `tail`.
    pub(super) fn new(words: &'a [u64], tail: u64) -> Self {
        Self {
            words,
            tail,
            pos: 0,
        }
    }

    /// The same stream, read from bit `pos`.
    pub(super) fn moved_to(self, pos: usize) -> Self {
        Self { pos, ..self }
    }

    /// Index of the next bit to read.
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    #[inline]
    fn word(&self, i: usize) -> u64 {
        match self.words.get(i) {
            Some(&w) => w,
            None if i == self.words.len() => self.tail,
            None => 0,
        }
    }

    /// The next `n` bits (`n` in `0..=64`) as the low bits of the result.
    #[inline]
    pub(super) fn read(&mut self, n: u32) -> u64 {
        if n == 0 {
            return 0;
        }
        let (index, offset) = (self.pos / 64, (self.pos % 64) as u32);
        self.pos += n as usize;
        let mut bits = self.word(index) << offset;
        if offset + n > 64 {
            // `offset >= 1` here, so the shift is at most 63.
            bits |= self.word(index + 1) >> (64 - offset);
        }
        bits >> (64 - n)
    }

    /// The next 64 bits, not consumed (zeros past the end).
    #[inline]
    pub(super) fn peek(&self) -> u64 {
        let (index, offset) = (self.pos / 64, (self.pos % 64) as u32);
        let bits = self.word(index) << offset;
        if offset == 0 {
            bits
        } else {
            bits | (self.word(index + 1) >> (64 - offset))
        }
    }

    /// Consumes `n` bits.
    #[inline]
    pub(super) fn skip(&mut self, n: u32) {
        self.pos += n as usize;
    }

    /// The next bit.
    #[inline]
    pub(super) fn read_bit(&mut self) -> bool {
        self.read(1) == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_width_across_word_boundaries() {
        let mut w = BitWriter::with_expected(0);
        let mut expected = Vec::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..3 {
            for n in 0..=64u32 {
                x = x.rotate_left(7).wrapping_mul(0x2545_F491_4F6C_DD1D) ^ round;
                w.write(x, n);
                let mask = if n == 64 { u64::MAX } else { (1 << n) - 1 };
                expected.push((x & mask, n));
            }
        }
        let check = |mut r: BitReader<'_>| {
            for &(v, n) in &expected {
                assert_eq!(r.read(n), v, "width {n}");
            }
        };
        check(w.reader());
        let mut r = w.reader();
        for &(v, n) in &expected {
            if n > 0 {
                assert_eq!(r.peek() >> (64 - n), v, "peek {n}");
            }
            r.skip(n);
        }
        let words = w.finish();
        check(BitReader::new(&words, 0));
    }

    #[test]
    fn single_bits_and_empty_writes() {
        let mut w = BitWriter::with_expected(1);
        for i in 0..130 {
            w.write_bit(i % 3 == 0);
            w.write(u64::MAX, 0);
        }
        let mut r = w.reader();
        for i in 0..130 {
            assert_eq!(r.read_bit(), i % 3 == 0);
        }
        assert_eq!(r.read(64), 0, "past the end reads zeros");
    }
}
