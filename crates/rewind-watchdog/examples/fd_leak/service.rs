//! The fd-leak service of `examples/fd_leak_service.rs`, also run by the
//! crate's end-to-end test: a tokio program with a line protocol on
//! 127.0.0.1 that leaks file descriptors on request, watched by the
//! watchdog with a low fd threshold.
//!
//! Protocol (one command per line, one answer per line):
//!
//! ```text
//! leak N    open N more descriptors of /dev/null and keep them   -> ok open=<leaked>
//! free      close every leaked descriptor                        -> ok open=0
//! status    the watchdog's status as JSON                        -> {...}
//! quit      shut the watchdog down cleanly and exit               -> bye
//! ```

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use rewind_watchdog::{Metric, MetricConfig, Rule, Watchdog};
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::TcpListener,
    sync::Notify,
};

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The watchdog's directory.
    pub dir: PathBuf,
    /// Capture when the process holds more than this many descriptors
    /// beyond those open at start.
    pub fd_margin: u64,
    /// The watchdog's cooldown.
    pub cooldown: Duration,
    /// Captures kept per kind.
    pub keep: usize,
    /// Where to listen (`127.0.0.1:0`: any free port).
    pub addr: String,
}

/// Runs until `quit`; prints `listening on <addr>` on stdout once ready.
pub fn run(opts: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let base = std::fs::read_dir("/proc/self/fd")
        .map(Iterator::count)
        .unwrap_or(16) as u64;
    #[allow(clippy::cast_precision_loss)]
    let threshold = (base + opts.fd_margin) as f64;
    let dog = Watchdog::builder(&opts.dir)
        .version(env!("CARGO_PKG_VERSION"))
        .tokio(rt.handle().clone())
        .metric(
            Metric::Fds,
            MetricConfig::capture([Rule::above(threshold), Rule::fraction_of_limit(0.8)]),
        )
        .cooldown(opts.cooldown)
        .keep(opts.keep)
        .cpu_profile(Some(rewind_watchdog::CpuProfileConfig {
            window: Duration::from_secs(1),
            frequency: 99,
        }))
        .install()?;
    let dog = Arc::new(dog);
    let listener = rt.block_on(TcpListener::bind(&opts.addr))?;
    println!("listening on {}", listener.local_addr()?);
    let leaked: Arc<Mutex<Vec<std::fs::File>>> = Arc::default();
    let quit = Arc::new(Notify::new());
    rt.block_on(async {
        loop {
            tokio::select! {
                () = quit.notified() => break,
                accepted = listener.accept() => {
                    let Ok((conn, _)) = accepted else { continue };
                    tokio::spawn(serve(conn, Arc::clone(&dog), Arc::clone(&leaked), Arc::clone(&quit)));
                }
            }
        }
    });
    leaked
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    rt.shutdown_timeout(Duration::from_secs(2));
    if let Ok(dog) = Arc::try_unwrap(dog) {
        dog.shutdown();
    }
    Ok(())
}

async fn serve(
    conn: tokio::net::TcpStream,
    dog: Arc<Watchdog>,
    leaked: Arc<Mutex<Vec<std::fs::File>>>,
    quit: Arc<Notify>,
) {
    let (read, mut write) = conn.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next().map(str::parse::<usize>)) {
            (Some("leak"), Some(Ok(n))) => {
                let mut held = leaked.lock().unwrap_or_else(PoisonError::into_inner);
                for _ in 0..n.min(100_000) {
                    match std::fs::File::open("/dev/null") {
                        Ok(f) => held.push(f),
                        Err(_) => break,
                    }
                }
                format!("ok open={}", held.len())
            }
            (Some("free"), None) => {
                leaked
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear();
                "ok open=0".to_owned()
            }
            (Some("status"), None) => serde_json::to_string(&dog.status()).unwrap_or_default(),
            (Some("quit"), None) => {
                write.write_all(b"bye\n").await.ok();
                quit.notify_one();
                return;
            }
            _ => "error: commands are `leak N`, `free`, `status`, `quit`".to_owned(),
        };
        if write
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}
