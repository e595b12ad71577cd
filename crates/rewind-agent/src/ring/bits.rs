//! Hand-written bit I/O for the Gorilla streams: MSB-first into `u64` words.
//!
//! No crate does what the ring needs, checked on crates.io: `tsz` 0.1 takes
//! `u64` times and truncates a delta-of-delta to `i32` (an hour's jump in
//! nanoseconds is lost); `gorilla` 0.2 takes `u64` timestamps (nothing
//! before 1970) with dods of at most 48 bits; `tsz-compress` packs integers
//! only; `pco` compresses whole chunks at once, with no per-sample append.
//! The bit I/O itself is these hundred lines.

/// Appends bits, most significant first, into `u64` words.
///
/// A write is branch-free: it ORs the head of the code into the word that
/// holds the next bit and stores the rest (zeros, when the code ends inside
/// that word) into the word after it. So every allocated word is in use
/// (`words.len()` is the capacity) and zero past the bits written, and the
/// word after the one holding the next bit must exist: the only check on
/// the path is that bounds check, which fails only when the stream needs
/// more room ([`Self::reserve_ahead`] gives it that room off the push path).
#[derive(Debug)]
pub(super) struct BitWriter {
    /// The bits written, then zeros up to the capacity.
    words: Vec<u64>,
    /// How many bits are written.
    pos: usize,
    /// Words added to the room when full: small steps keep the unused room
    /// small, which is what the ring is about.
    step: usize,
    /// [`Self::full_words`] at the last [`Self::reserve_ahead`].
    mark: usize,
}

impl BitWriter {
    /// An empty writer for a stream expected to take about `words` words:
    /// it starts with room for all of them plus the one a write may spill
    /// into, so a push rarely grows it (growth inside a block was the tail
    /// of push latency), and grows by quarters when a block comes out larger
    /// than the last.
    pub(super) fn with_expected(words: usize) -> Self {
        Self {
            words: vec![0; words + 1],
            pos: 0,
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
            words: vec![0; step + 2],
            pos: 0,
            step,
            mark: 0,
        }
    }

    /// Makes room, if there is not, for twice the words completed since the
    /// last call (and at least one), so that pushes coming at the same pace
    /// until the next call do not grow the stream. Called off the push path,
    /// by the ring's maintenance.
    pub(super) fn reserve_ahead(&mut self) {
        let full = self.full_words();
        let want = 2 * full.saturating_sub(self.mark) + 1;
        self.mark = full;
        // Words that can still be completed: all but the spill word.
        let room = self.words.len().saturating_sub(full + 1);
        if room < want {
            self.grow(want.max(self.step) - room);
        }
    }

    /// Adds `extra` zero words of room.
    fn grow(&mut self, extra: usize) {
        self.words.reserve_exact(extra);
        self.words.resize(self.words.len() + extra, 0);
    }

    /// Whole words written so far (the partly filled last one not included).
    pub(super) fn full_words(&self) -> usize {
        self.pos / 64
    }

    /// Appends the low `n` bits of `value` (`n` in `0..=64`; higher bits of
    /// `value` are ignored).
    #[cfg(test)]
    pub(super) fn write(&mut self, value: u64, n: u32) {
        match n {
            0 => {}
            64 => self.put(value, 64),
            _ => self.put(value & ((1 << n) - 1), n),
        }
    }

    /// Appends `code`, `n` bits long: `n` in `1..=64` and `code < 2^n`, as
    /// the codecs build their codes (the hot path: no branch on `n`).
    #[inline(always)]
    pub(super) fn put(&mut self, code: u64, n: u32) {
        debug_assert!((1..=64).contains(&n) && (n == 64 || code >> n == 0));
        let (index, offset) = (self.pos / 64, (self.pos % 64) as u32);
        // Left-aligned: `n >= 1`, so the shift is at most 63.
        let code_high = code << (64 - n);
        if let Some([word, spill]) = self.words.get_mut(index..index + 2) {
            *word |= code_high >> offset;
            // `code_high << (64 - offset)`, which is 0 when `offset == 0`.
            *spill = (code_high << 1) << (63 - offset);
            self.pos += n as usize;
        } else {
            self.grow_then_put(code, n);
        }
    }

    /// [`Self::put`] into a stream that is out of room: grows it first.
    #[cold]
    #[inline(never)]
    fn grow_then_put(&mut self, code: u64, n: u32) {
        let need = (self.full_words() + 2).saturating_sub(self.words.len());
        self.grow(need.max(self.step));
        self.put(code, n);
    }

    /// Appends one bit.
    #[cfg(test)]
    pub(super) fn write_bit(&mut self, bit: bool) {
        self.put(u64::from(bit), 1);
    }

    /// A reader over everything written so far.
    pub(super) fn reader(&self) -> BitReader<'_> {
        let full = self.full_words();
        let words = self.words.get(..full).unwrap_or(&self.words);
        BitReader::new(words, self.words.get(full).copied().unwrap_or(0))
    }

    /// Heap bytes held (capacity, not length: that is what is allocated).
    pub(super) fn heap_bytes(&self) -> usize {
        self.words.capacity() * size_of::<u64>()
    }

    /// The finished stream as exactly-sized words (the last word included
    /// when it holds any bit).
    pub(super) fn finish(mut self) -> Box<[u64]> {
        self.words.truncate(self.pos.div_ceil(64));
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
    fn grows_from_any_room_and_finishes_exactly_sized() {
        // Codes of 1..=64 bits, from the smallest room, with and without
        // maintenance's reservations between them.
        for reserving in [false, true] {
            let mut w = BitWriter::with_room_for_a_quarter(0);
            let mut expected = Vec::new();
            let mut x: u64 = 0x2545_F491_4F6C_DD1D;
            for i in 0..2_000u32 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let n = 1 + (x % 64) as u32;
                let code = if n == 64 { x } else { x >> (64 - n) };
                w.put(code, n);
                expected.push((code, n));
                if reserving && i % 7 == 0 {
                    w.reserve_ahead();
                }
                assert_eq!(w.heap_bytes(), w.words.len() * 8, "all the room is usable");
            }
            let bits: usize = expected.iter().map(|&(_, n)| n as usize).sum();
            let mut r = w.reader();
            for &(code, n) in &expected {
                assert_eq!(r.read(n), code);
            }
            let words = w.finish();
            assert_eq!(words.len(), bits.div_ceil(64));
            let mut r = BitReader::new(&words, 0);
            for &(code, n) in &expected {
                assert_eq!(r.read(n), code);
            }
        }
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
