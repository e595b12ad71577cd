//! Integration tests of the recorder: files written through the public API,
//! read back with the Rust `mcap` crate (and Python's, when installed).

#![allow(clippy::unwrap_used)]

mod bench;
mod common;
mod cut;
mod python;
mod recover;
mod rotation;
mod round_trip;
mod sigkill;
mod violation;
