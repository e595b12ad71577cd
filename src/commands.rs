//! One module per subcommand; [`dispatch`] runs the chosen one.

mod agent;
mod bundle;
mod demo;
mod rules;
mod server;
mod shutdown;

use crate::cli::{BundleCommand, Command, RulesCommand};

/// Runs `command` to completion.
pub(crate) async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Agent(args) => agent::run(args).await,
        Command::Server(args) => server::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Rules(RulesCommand::Check { file }) => rules::check(&file),
        Command::Bundle(BundleCommand::Verify { file, json }) => bundle::verify(&file, json),
    }
}
