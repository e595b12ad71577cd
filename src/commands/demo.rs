//! `rewind demo`: a server and an agent in this process, a real but bounded
//! CPU load, and the incident it causes, ready in the dashboard; beside
//! them a simulated `checkout` service ([`service`]) whose bad release the
//! server's regression watch catches as a second incident.

mod service;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use rewind_agent::{AgentConfig, AgentEvent};
use rewind_detect::RuleSet;
use rewind_model::{DeviceId, IncidentSummary};
use rewind_server::ServerConfig;
use tokio::{net::TcpListener, sync::mpsc};

use crate::cli::DemoArgs;

/// The demo's rules, also shipped as `examples/rules/demo.yaml`.
const DEMO_RULES: &str = include_str!("../../examples/rules/demo.yaml");
/// Quiet time before the load, so the bundle shows a baseline.
const BASELINE: Duration = Duration::from_secs(5);
/// How long after the bad release the server judges it.
const REGRESSION_WINDOW: Duration = Duration::from_secs(15);
/// The load never lasts longer than this.
const MAX_LOAD: Duration = Duration::from_secs(20);

pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{} (choose another with --port)",
                args.port
            )
        })?;
    let url = format!("http://{}", listener.local_addr()?);
    let mut server_config = ServerConfig::new(args.state_dir.join("server"));
    // Short windows, so the bad release is judged while you watch.
    server_config.regression.window = REGRESSION_WINDOW;
    server_config.regression.baseline = service::HISTORY;
    server_config.regression.guard = Duration::from_secs(3);
    server_config.regression.lateness = Duration::from_secs(2);
    let device = DeviceId::from_hostname(&super::agent::hostname());
    let tokens = provision(&server_config, &device).await?;
    let server = tokio::spawn(rewind_server::launch_with_listener(
        server_config,
        listener,
        super::shutdown::signal(),
    ));
    say(
        &args,
        &format!("server: {url} (state in {})", args.state_dir.display()),
    );

    let checkout = service::Service::new(&url, &tokens.dashboard)?;
    let checkout_task = tokio::spawn(checkout.clone().run());
    say(
        &args,
        &format!(
            "service: `{}` reports its metrics and logs ({}s of history first)",
            service::SERVICE,
            service::HISTORY.as_secs()
        ),
    );

    let (tx, mut events) = mpsc::channel(64);
    let agent = tokio::spawn(rewind_agent::run_with(
        agent_config(&args, &url, device, &tokens.device)?,
        Some(tx),
        None,
        std::future::pending(),
    ));
    say(
        &args,
        &format!(
            "agent: recording this machine; waiting {}s for a baseline",
            BASELINE.as_secs()
        ),
    );
    tokio::time::sleep(BASELINE).await;

    let deploy = checkout.deploy_bad_release().await?;
    say(
        &args,
        &format!(
            "deploy: {} {} recorded ({deploy}); the server judges it over the next {}s",
            service::SERVICE,
            service::BAD_VERSION,
            REGRESSION_WINDOW.as_secs()
        ),
    );

    let load = CpuLoad::start();
    say(
        &args,
        &format!(
            "load: {} busy threads until the rule trips (at most {}s)",
            load.threads,
            MAX_LOAD.as_secs()
        ),
    );
    let wait = tokio::time::timeout(args.timeout.saturating_sub(started.elapsed()), async {
        while let Some(event) = events.recv().await {
            match event {
                AgentEvent::Tripped(t) => {
                    load.stop();
                    say(
                        &args,
                        &format!("tripped: [{}] {}: {}", t.severity, t.rule, t.summary),
                    );
                }
                AgentEvent::BundleWritten(path) => {
                    say(&args, &format!("bundle: {}", path.display()))
                }
                AgentEvent::Uploaded(incident) => return Some(*incident),
                _ => {}
            }
        }
        None
    });
    let incident = tokio::select! {
        r = wait => r,
        () = super::shutdown::signal() => {
            load.stop();
            bail!("interrupted before the incident was stored");
        }
    };
    load.stop();
    let Ok(Some(incident)) = incident else {
        agent.abort();
        bail!(
            "no incident was stored within {}s\nhint: is this machine already saturated? run with -v to see the samples, or raise --timeout",
            args.timeout.as_secs()
        );
    };
    report(&args, &url, &incident, &tokens.dashboard);
    agent.abort();

    let verdict = tokio::time::timeout(
        args.timeout.saturating_sub(started.elapsed()),
        checkout.wait_for_verdict(&deploy),
    );
    let verdict = tokio::select! {
        r = verdict => r,
        () = super::shutdown::signal() => bail!("interrupted before the deploy was judged"),
    };
    checkout_task.abort();
    let check = match verdict {
        Ok(check) => check?,
        Err(_) => bail!(
            "the deploy was not judged within {}s\nhint: raise --timeout",
            args.timeout.as_secs()
        ),
    };
    report_regression(&url, &check, &tokens.dashboard)?;
    if args.exit_after_incident {
        server.abort();
        return Ok(());
    }
    server.await.context("server task failed")??;
    Ok(())
}

/// The bad release's verdict: a regression incident, or an error saying
/// the watch missed it (the demo's story would be wrong).
fn report_regression(
    url: &str,
    check: &rewind_model::DeployCheck,
    token: &str,
) -> anyhow::Result<()> {
    let summary = check.summary.as_deref().unwrap_or("");
    let Some(incident) = check.incident_id else {
        bail!(
            "the bad release was judged `{}`, not a regression: {summary}",
            check.verdict.as_deref().unwrap_or("-")
        );
    };
    println!(
        "deploy {} {} judged: regression, incident {incident}: {summary}",
        check.deploy.service, check.deploy.version
    );
    println!("dashboard: {url}/#/incidents/{incident}?token={token}");
    Ok(())
}

/// The demo's tokens: one for the dashboard link, one for its agent.
struct DemoTokens {
    dashboard: String,
    device: String,
}

/// Makes the demo's tokens in the server's database before it starts: a
/// responder for whoever opens the dashboard link (it expires after a day)
/// and a device token for the agent. Every run makes new ones.
async fn provision(config: &ServerConfig, device: &DeviceId) -> anyhow::Result<DemoTokens> {
    fs_err::create_dir_all(&config.state_dir)?;
    let store = rewind_store::open(&config.database_url())
        .await
        .context("cannot open the demo server's database")?;
    let now = rewind_model::Timestamp::now();
    let (dashboard, user) = rewind_server::auth::mint_token(
        "demo",
        rewind_model::TokenScope::User {
            role: rewind_model::Role::Responder,
        },
        now,
        Some(rewind_server::auth::days_from(now, 1)),
    );
    let (device_secret, agent) = rewind_server::auth::mint_token(
        device.as_str(),
        rewind_model::TokenScope::Device {
            device_id: device.clone(),
        },
        now,
        None,
    );
    store.create_token(&user).await?;
    store.create_token(&agent).await?;
    Ok(DemoTokens {
        dashboard,
        device: device_secret,
    })
}

fn agent_config(
    args: &DemoArgs,
    url: &str,
    device: DeviceId,
    token: &str,
) -> anyhow::Result<AgentConfig> {
    let rules = RuleSet::parse(DEMO_RULES, "examples/rules/demo.yaml")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut config = AgentConfig::new(device, args.state_dir.join("agent"), rules);
    config.server_url = Some(url.to_owned());
    config.token = Some(rewind_agent::Token::new(token));
    // Short enough that the baseline before the load fills most of the chart.
    config.ring.window = Duration::from_secs(10);
    config.ring.post_trigger = Duration::from_secs(2);
    config.collectors.socket.path = Some(args.state_dir.join("agent").join("agent.sock"));
    Ok(config)
}

fn say(args: &DemoArgs, line: &str) {
    if args.headless {
        tracing::info!("{line}");
    } else {
        eprintln!("rewind demo: {line}");
    }
}

fn report(args: &DemoArgs, url: &str, incident: &IncidentSummary, token: &str) {
    println!(
        "incident {} stored: [{}] {}: {}",
        incident.id, incident.severity, incident.rule, incident.summary
    );
    // The dashboard signs in with the token from the link, keeps it in an
    // HttpOnly cookie and removes it from the address bar.
    println!("dashboard: {url}/#/incidents/{}?token={token}", incident.id);
    if !args.exit_after_incident {
        eprintln!("rewind demo: the server keeps running; press Ctrl-C to stop");
    }
}

/// Busy threads on every core, stopped by [`CpuLoad::stop`] or after [`MAX_LOAD`].
struct CpuLoad {
    stop: Arc<AtomicBool>,
    threads: usize,
}

impl CpuLoad {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        for _ in 0..threads {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let until = Instant::now() + MAX_LOAD;
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                    x = std::hint::black_box(
                        x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1),
                    );
                }
            });
        }
        Self { stop, threads }
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
