//! `rewind server`.

use anyhow::Context as _;
use rewind_server::ServerConfig;
use tokio::net::TcpListener;

use crate::cli::ServerArgs;

/// Binds, prints the URL on stdout, and serves until SIGINT/SIGTERM.
pub(crate) async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (is another server running? choose another with --listen)",
            args.listen
        )
    })?;
    let addr = listener.local_addr()?;
    let mut config = ServerConfig::new(args.state_dir);
    config.database_url = args.database_url;
    config.max_bundle_bytes = args.max_bundle_bytes;
    println!("rewind server listening on http://{addr}");
    rewind_server::launch_with_listener(config, listener, super::shutdown::signal()).await?;
    Ok(())
}
