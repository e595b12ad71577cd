//! Process-level tests of the real `rewind` binary: exit codes, agent and
//! server as separate processes talking over loopback, and the demo.

mod cli;
mod e2e;
mod proc;
