//! The one integration-test binary of `rewind-detect`: rules files in,
//! triggers out, through the public API only.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is the failure report

mod docs;
mod engine;
mod props;
mod rejects;
mod snapshots;
