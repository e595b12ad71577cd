//! Process-level tests of the real `rewind` binary: exit codes, agent and
//! server as separate processes talking over loopback, and the demo.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is the failure report

mod analyze_cli;
mod bench_detect;
mod bundle_cli;
mod cli;
mod delivery;
mod deploy_cli;
mod e2e;
mod layering;
mod mcap_cli;
mod proc;
mod rules_cli;
mod token_cli;
mod watchdog_cli;
