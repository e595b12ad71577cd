//! The one integration-test binary of `rewind-detect`: rules files in,
//! triggers out, through the public API only.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is the failure report

mod change;
mod docs;
mod engine;
mod lifecycle;
mod log_match;
mod props;
mod rejects;
mod seed;
mod snapshots;
mod status;
mod trend;

use rewind_detect::{Signal, SignalKind};
use rewind_model::Trigger;

/// The triggers among an engine's signals.
pub(crate) trait Fired {
    fn fired(self) -> Vec<Trigger>;
}

impl Fired for Vec<Signal> {
    fn fired(self) -> Vec<Trigger> {
        self.into_iter()
            .filter(|s| s.kind == SignalKind::Firing)
            .filter_map(|s| s.trigger)
            .collect()
    }
}
