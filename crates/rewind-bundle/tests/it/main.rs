//! Integration tests of the bundle writer and reader.

#![allow(clippy::unwrap_used)]

mod atomic;
mod common;
mod props;
mod reject;
mod round_trip;
