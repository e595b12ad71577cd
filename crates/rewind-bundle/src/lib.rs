//! rewind-bundle
