//! One module per subcommand; [`dispatch`] runs the chosen one.

mod agent;
mod bench;
mod bundle;
mod demo;
mod deploy;
mod detect;
mod mcap;
mod rca;
mod rules;
mod server;
mod sessions;
mod shutdown;
mod token;
mod triage;
mod watchdog;

use crate::cli::{AgentAction, BenchCommand, BundleCommand, Command, DeployCommand};

/// Runs `command` to completion.
pub(crate) async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Agent(args) => match args.action {
            Some(AgentAction::Snapshot { config, json }) => {
                agent::snapshot(config.as_deref(), json)
            }
            Some(AgentAction::History { at, limit, json }) => agent::history(&at, limit, json),
            Some(AgentAction::Fsck { at, json }) => agent::fsck(&at, json),
            None => agent::run(args.run).await,
        },
        Command::Bench(BenchCommand::Agent { seconds, json }) => bench::agent(seconds, json).await,
        Command::Bench(BenchCommand::Rules(args)) => bench::rules(&args),
        Command::Bench(BenchCommand::Capture(args)) => bench::capture(&args),
        Command::Bench(BenchCommand::Server(args)) => bench::server(&args).await,
        Command::Bench(BenchCommand::Detect(args)) => bench::detect(&args),
        Command::Bench(BenchCommand::Record(args)) => bench::record(&args),
        Command::Server(args) => server::run(args).await,
        Command::Token(command) => token::run(command).await,
        Command::Deploy(DeployCommand::Notify(args)) => deploy::notify(args).await,
        Command::Deploy(DeployCommand::Analyze(args)) => deploy::analyze(&args),
        Command::Deploy(DeployCommand::Watch(args)) => deploy::watch(args).await,
        Command::Detect(args) => detect::run(&args),
        Command::Mcap(command) => mcap::run(command),
        Command::Sessions(command) => sessions::run(command),
        Command::Triage(args) => triage::run(&args),
        Command::Rca(args) => rca::run(&args),
        Command::Watchdog(command) => watchdog::run(command),
        Command::Bench(BenchCommand::Watchdog(args)) => watchdog::bench(&args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Rules(command) => rules::run(command),
        Command::Bundle(BundleCommand::Verify { file, json }) => bundle::verify(&file, json),
        Command::Bundle(command) => bundle::run(command),
    }
}
