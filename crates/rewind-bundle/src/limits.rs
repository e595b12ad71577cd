//! Resource limits for reading untrusted bundles.

/// Caps applied by [`read_bundle`](crate::read_bundle) before and while it
/// decompresses anything, so hostile input cannot exhaust memory.
///
/// Sizes declared inside the zip or the manifest are never trusted: the reader
/// stops decompressing a member as soon as it passes `max_member_bytes`, and
/// stops the whole bundle once `max_uncompressed_bytes` have come out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted bundle (the zip itself), in bytes. Default 64 MiB.
    pub max_bundle_bytes: u64,
    /// Largest total of decompressed bytes over all members. Default 512 MiB.
    pub max_uncompressed_bytes: u64,
    /// Most zip entries accepted. Default 10 000.
    pub max_entries: usize,
    /// Largest decompressed size of one member, in bytes. Default 256 MiB.
    pub max_member_bytes: u64,
}

const MIB: u64 = 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bundle_bytes: 64 * MIB,
            max_uncompressed_bytes: 512 * MIB,
            max_entries: 10_000,
            max_member_bytes: 256 * MIB,
        }
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
    }
}
