//! Integration tests of the bundle writer and reader.

#![allow(clippy::unwrap_used)]

mod atomic;
mod common;
mod corpus;
mod props;
mod recording;
mod reject;
mod reject_content;
mod round_trip;
mod schema;
