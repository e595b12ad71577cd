//! Diagnostics to stderr through `tracing`; `REWIND_LOG` (or `RUST_LOG`) overrides the level.

use tracing_subscriber::EnvFilter;

pub(crate) fn init(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info,sqlx=warn,tower_http=warn",
        (false, 1) => "debug,sqlx=info,hyper=info",
        (false, _) => "trace",
    };
    let mut bad = None;
    let filter = std::env::var("REWIND_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|s| {
            EnvFilter::try_new(&s)
                .map_err(|e| bad = Some(format!("`{s}`: {e}")))
                .ok()
        })
        .unwrap_or_else(|| EnvFilter::new(default));
    let ansi = std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .init();
    if let Some(bad) = bad {
        tracing::warn!("ignoring the log filter in REWIND_LOG/RUST_LOG {bad}; using `{default}`");
    }
}
