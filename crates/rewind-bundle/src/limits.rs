//! Resource limits for reading untrusted bundles.

/// Caps applied by [`read_bundle`](crate::read_bundle) before and while it
/// decompresses anything, so hostile input cannot exhaust memory.
///
/// Sizes declared inside the zip or the manifest are never trusted: the reader
/// stops decompressing a member as soon as it passes `max_member_bytes` (or
/// its compression ratio passes `max_compression_ratio`), and stops the whole
/// bundle once `max_uncompressed_bytes` have come out, the recording's
/// decompressed chunks included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted bundle (the zip itself), in bytes. Default 64 MiB.
    pub max_bundle_bytes: u64,
    /// Largest total of decompressed bytes over all members, and inside
    /// `recording.mcap`. Default 512 MiB.
    pub max_uncompressed_bytes: u64,
    /// Most zip entries accepted. Default 10 000.
    pub max_entries: usize,
    /// Largest decompressed size of one member (and of one record or chunk
    /// inside `recording.mcap`), in bytes. Default 256 MiB.
    pub max_member_bytes: u64,
    /// Most events in `events.jsonl`. Default 1 000 000.
    pub max_events: u64,
    /// Largest total size of the attachments (`system/`, `processes/`,
    /// `baseline/`, `diagnostics/`), in bytes. Default 128 MiB.
    pub max_attachment_bytes: u64,
    /// Largest ratio of decompressed to compressed size of one member, applied
    /// to members that decompress to more than [`RATIO_FLOOR_BYTES`]. Default 200.
    pub max_compression_ratio: u64,
}

/// Members up to this many decompressed bytes are exempt from
/// [`Limits::max_compression_ratio`]: small files of repeated text legitimately
/// compress very well, and they cannot exhaust anything.
pub const RATIO_FLOOR_BYTES: u64 = MIB;

const MIB: u64 = 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bundle_bytes: 64 * MIB,
            max_uncompressed_bytes: 512 * MIB,
            max_entries: 10_000,
            max_member_bytes: 256 * MIB,
            max_events: 1_000_000,
            max_attachment_bytes: 128 * MIB,
            max_compression_ratio: 200,
        }
    }
}

impl Limits {
    /// The most bytes a member of `compressed` bytes may decompress to under
    /// the ratio limit (never less than [`RATIO_FLOOR_BYTES`]).
    pub(crate) fn ratio_cap(&self, compressed: u64) -> u64 {
        compressed
            .saturating_mul(self.max_compression_ratio)
            .max(RATIO_FLOOR_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let l = Limits::default();
        assert_eq!(l.max_bundle_bytes, 67_108_864);
        assert_eq!(l.max_uncompressed_bytes, 536_870_912);
        assert_eq!(l.max_entries, 10_000);
        assert_eq!(l.max_member_bytes, 268_435_456);
        assert_eq!(l.max_events, 1_000_000);
        assert_eq!(l.max_attachment_bytes, 134_217_728);
        assert_eq!(l.max_compression_ratio, 200);
    }

    #[test]
    fn small_members_are_exempt_from_the_ratio() {
        let l = Limits::default();
        assert_eq!(l.ratio_cap(0), RATIO_FLOOR_BYTES);
        assert_eq!(l.ratio_cap(10 * MIB), 2000 * MIB);
        assert_eq!(l.ratio_cap(u64::MAX), u64::MAX);
    }
}
