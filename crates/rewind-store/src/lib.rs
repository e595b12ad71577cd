//! rewind-store
