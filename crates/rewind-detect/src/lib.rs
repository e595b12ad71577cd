//! rewind-detect
