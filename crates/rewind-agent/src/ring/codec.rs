//! The two Gorilla codecs of a block: delta-of-delta timestamps and
//! XOR-compressed values (Pelkonen et al., "Gorilla", VLDB 2015, §4.1).

use super::bits::{BitReader, BitWriter};

/// Payload widths a delta-of-delta can be written in (as `zigzag(dod)`).
///
/// Gorilla's fixed buckets (7, 9, 12, 32 bits) suit second timestamps from a
/// steady scraper. Nanosecond timestamps from a timer wheel jitter by
/// hundreds of µs, so most dods need 18 to 22 bits and `dod = 0` is rare:
/// a fixed prefix per bucket would waste bits. Instead the width is sticky:
/// `0` + payload in the previous width, or `1` + 4-bit index + payload in a
/// new one. A steady clock costs 1 bit a sample, ±300 µs of jitter about 22
/// (24 with fixed nanosecond buckets). The fine steps from 16 to 22 bits
/// cover 16 µs to 1 ms of jitter; 64 takes anything.
const WIDTHS: [u32; 16] = [0, 4, 8, 10, 12, 14, 16, 17, 18, 19, 20, 21, 22, 24, 32, 64];

/// Bits of a width index.
const INDEX_BITS: u32 = 4;

/// For each bit length `0..=64`, the index of the narrowest width holding it.
const WIDTH_FOR_BITS: [u8; 65] = {
    let mut table = [0; 65];
    let (mut bits, mut index) = (0, 0);
    while bits <= 64 {
        while WIDTHS[index] < bits as u32 {
            index += 1;
        }
        table[bits] = index as u8;
        bits += 1;
    }
    table
};

/// The index of the narrowest width holding `z`.
#[inline]
fn width_for(z: u64) -> usize {
    let bits = (64 - z.leading_zeros()) as usize;
    WIDTH_FOR_BITS
        .get(bits)
        .map_or(WIDTHS.len() - 1, |&i| usize::from(i))
}

#[inline]
fn width(index: usize) -> u32 {
    // An index is 4 bits, so this never wraps: it only spares a bounds check.
    WIDTHS[index % WIDTHS.len()]
}

/// Zigzag: small magnitudes of either sign become small unsigned numbers.
#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)).cast_unsigned()
}

fn unzigzag(z: u64) -> i64 {
    (z >> 1).cast_signed() ^ -((z & 1).cast_signed())
}

/// Timestamp state shared by encoder and decoder: the previous timestamp,
/// the previous delta (wrapping arithmetic, so any `i64` round-trips) and
/// the current width index.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimeCodec {
    prev: i64,
    delta: i64,
    width: u8,
}

impl TimeCodec {
    /// Starts a block at `first` (kept raw by the caller); the first delta
    /// is taken against 0.
    pub(super) fn starting_at(first: i64) -> Self {
        Self {
            prev: first,
            delta: 0,
            width: 0,
        }
    }

    /// The last timestamp encoded or decoded.
    pub(super) fn prev(&self) -> i64 {
        self.prev
    }

    /// The last delta (0 before the second timestamp; wrapping).
    pub(super) fn delta(&self) -> i64 {
        self.delta
    }

    /// Appends `ts`, which the caller guarantees is `>=` the previous one.
    ///
    /// One write but for 64-bit payloads. Both codes are computed and one
    /// kept (the compiler chooses between a branch and a select: forcing
    /// selects with `select_unpredictable` measured slower on `bench agent`).
    #[inline]
    pub(super) fn encode(&mut self, ts: i64, w: &mut BitWriter) {
        let delta = ts.wrapping_sub(self.prev);
        let z = zigzag(delta.wrapping_sub(self.delta));
        (self.prev, self.delta) = (ts, delta);
        let (current, needed) = (usize::from(self.width), width_for(z));
        let (current_bits, needed_bits) = (width(current), width(needed));
        // Staying costs `1 + width(current)`, switching `1 + 4 + width(needed)`.
        let stay = (needed <= current) & (current_bits <= needed_bits + INDEX_BITS);
        let (prefix, prefix_len, bits, index) = if stay {
            (0, 1, current_bits, current)
        } else {
            (
                (1 << INDEX_BITS) | needed as u64,
                1 + INDEX_BITS,
                needed_bits,
                needed,
            )
        };
        self.width = index as u8;
        write_code(w, prefix, prefix_len, z, bits);
    }

    /// Reads the next timestamp: one 64-bit peek holds the whole code but
    /// for 64-bit payloads.
    #[inline]
    pub(super) fn decode(&mut self, r: &mut BitReader<'_>) -> i64 {
        let peek = r.peek();
        let prefix = if peek >> 63 == 0 {
            1
        } else {
            self.width = ((peek >> (63 - INDEX_BITS)) & ((1 << INDEX_BITS) - 1)) as u8;
            1 + INDEX_BITS
        };
        let bits = width(usize::from(self.width));
        let z = if prefix + bits <= 64 {
            r.skip(prefix + bits);
            if bits == 0 {
                0
            } else {
                (peek << prefix) >> (64 - bits)
            }
        } else {
            r.skip(prefix);
            r.read(bits)
        };
        self.delta = self.delta.wrapping_add(unzigzag(z));
        self.prev = self.prev.wrapping_add(self.delta);
        self.prev
    }
}

/// Writes `prefix` (`prefix_len` bits, at least one, `prefix <
/// 2^prefix_len`) then `z` (`bits` bits, `z < 2^bits`), in one write when
/// they fit a word.
#[inline(always)]
fn write_code(w: &mut BitWriter, prefix: u64, prefix_len: u32, z: u64, bits: u32) {
    if prefix_len + bits <= 64 {
        // `bits < 64` here; `z` is 0 when `bits` is.
        w.put((prefix << bits) | z, prefix_len + bits);
    } else {
        // `bits > 64 - prefix_len >= 51` here, so both writes are non-empty.
        w.put(prefix, prefix_len);
        w.put(z, bits);
    }
}

/// Value state shared by encoder and decoder: the previous value's bits and
/// the window (leading, trailing zeros) of the last XOR written in full.
#[derive(Debug, Clone, Copy)]
pub(super) struct ValueCodec {
    prev: u64,
    lead: u8,
    trail: u8,
}

impl ValueCodec {
    /// Starts a block at `first` (kept raw by the caller).
    pub(super) fn starting_at(first: u64) -> Self {
        // The whole word: reused only by an XOR that needs 53+ bits anyway.
        Self {
            prev: first,
            lead: 0,
            trail: 0,
        }
    }

    /// Appends a value (as bits, so NaN payloads, -0.0 and the rest survive).
    ///
    /// `0`: same as before; `10` + meaningful bits: the XOR fits the previous
    /// window; `11` + 5 bits leading zeros + 6 bits length + the bits: a new
    /// window.
    ///
    /// One write but for codes longer than a word (a window of 63 or 64
    /// bits, a new one of 52 or more). The three codes are computed and one
    /// kept (as for timestamps, forcing selects measured slower).
    #[inline]
    pub(super) fn encode(&mut self, bits: u64, w: &mut BitWriter) {
        let xor = bits ^ self.prev;
        self.prev = bits;
        let same = xor == 0;
        // Leading is capped to fit 5 bits. Both are below 64 when `xor != 0`
        // (when it is 0 they are unused, and kept in range).
        let lead = xor.leading_zeros().min(31);
        let trail = xor.trailing_zeros() % 64;
        let len = 64 - lead - trail;
        let (old_lead, old_trail) = (u32::from(self.lead), u32::from(self.trail));
        let window_len = 64 - old_lead - old_trail;
        // Unlike the paper, a new window is also written when the old one
        // fits but is wider by more than the 11 bits a new one costs:
        // otherwise one full-mantissa XOR would make every later one cost
        // 50+ bits.
        let fits = (lead >= old_lead) & (trail >= old_trail) & (window_len <= len + 11);
        // `11`, lead (5 bits), len (6 bits, 64 written as 0).
        let header = (0b11 << 11) | u64::from(lead << 6) | u64::from(len % 64);
        // `xor >> old_trail` fits `window_len` bits when `fits`, as `lead >= old_lead`.
        let (prefix, prefix_len, payload, payload_len) = if same {
            (0, 1, 0, 0)
        } else if fits {
            (0b10, 2, xor >> old_trail, window_len)
        } else {
            (header, 13, xor >> trail, len)
        };
        let new_window = !same & !fits;
        self.lead = if new_window { lead as u8 } else { self.lead };
        self.trail = if new_window { trail as u8 } else { self.trail };
        write_code(w, prefix, prefix_len, payload, payload_len);
    }

    /// Reads the next value's bits.
    #[inline]
    pub(super) fn decode(&mut self, r: &mut BitReader<'_>) -> u64 {
        if !r.read_bit() {
            return self.prev;
        }
        if r.read_bit() {
            self.lead = r.read(5) as u8;
            let len = match r.read(6) as u8 {
                0 => 64,
                n => n,
            };
            self.trail = (64 - self.lead).saturating_sub(len);
        }
        let len = 64 - u32::from(self.lead) - u32::from(self.trail);
        self.prev ^= r.read(len) << self.trail;
        self.prev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_round_trips_the_extremes() {
        for v in [0, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }

    /// Bits a timestamp after 10 000 at 10 Hz with `jitter(i)` added.
    fn bits_per_timestamp(jitter: impl Fn(u64) -> i64) -> f64 {
        let mut w = BitWriter::with_expected(0);
        let mut codec = TimeCodec::starting_at(jitter(0));
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 1..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            codec.encode(i * 100_000_000 + jitter(x), &mut w);
        }
        let mut r = w.reader();
        let mut decoder = TimeCodec::starting_at(jitter(0));
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 1..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            assert_eq!(decoder.decode(&mut r), i * 100_000_000 + jitter(x));
        }
        r.position() as f64 / 9_999.0
    }

    #[test]
    fn timestamp_widths_suit_nanosecond_jitter() {
        let steady = bits_per_timestamp(|_| 0);
        let fine = bits_per_timestamp(|x| (x % 10_001) as i64 - 5_000);
        let timer = bits_per_timestamp(|x| (x % 600_001) as i64 - 300_000);
        let wheel = bits_per_timestamp(|x| (x % 1_000_001) as i64);
        eprintln!(
            "bits a timestamp: steady {steady:.2}, ±5 µs {fine:.2}, ±300 µs {timer:.2}, \
             0..1 ms {wheel:.2}"
        );
        assert!(steady < 1.1 && fine < 18.0 && timer < 23.0 && wheel < 24.0);
    }

    #[test]
    fn widths_are_sorted_and_end_with_64() {
        assert!(WIDTHS.windows(2).all(|p| p[0] < p[1]));
        assert_eq!(WIDTHS.last(), Some(&64));
        assert_eq!(width_for(0), 0);
        assert_eq!(width(width_for(u64::MAX)), 64);
        assert_eq!(width(width_for(600_000)), 20);
        for z in [1u64, 15, 16, 1 << 20, (1 << 21) - 1, 1 << 40] {
            let fits = |w: u32| w == 64 || z < 1 << w;
            let index = width_for(z);
            assert!(
                fits(width(index)) && (index == 0 || !fits(width(index - 1))),
                "{z}"
            );
        }
    }
}
