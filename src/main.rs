//! `rewind`: the incident flight recorder's one binary.
//!
//! `main` is thin: it parses arguments, runs the chosen command and maps the
//! outcome to an exit code (0 ok, 1 failure, 2 usage or configuration error,
//! or a command's own code through [`ExitWith`]).
//! Errors are printed once, here, with their causes.

mod cli;
mod commands;
mod logging;

use std::process::ExitCode;

use clap::Parser as _;

/// Raised for bad arguments or configuration: exit code 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A command that finished but must exit with a code of its own (3: done
/// with data loss, for `rewind mcap recover`); the message goes to stderr.
#[derive(Debug)]
pub(crate) struct ExitWith {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitWith {}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.global.verbose, cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(usage) = err.downcast_ref::<UsageError>() {
                eprintln!("{usage}");
                return ExitCode::from(2);
            }
            if let Some(exit) = err.downcast_ref::<ExitWith>() {
                eprintln!("{exit}");
                return ExitCode::from(exit.code);
            }
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
