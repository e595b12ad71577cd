//! rewind-server
