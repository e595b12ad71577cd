//! rewind-agent
