//! `rewind bench server`: bundle ingest throughput and incident-list query
//! latency over real HTTP on loopback, on SQLite and PostgreSQL.
//!
//! Per backend: a fresh database, an in-process server on 127.0.0.1:0,
//! demo-sized bundles (generated before the clock starts) uploaded by
//! several concurrent clients with device tokens, then the store seeded to
//! `--incidents` incidents and the list queried the ways the dashboard does.
//! Baselines from the same run: validating the same bundles on one thread
//! without storing them, and `GET /healthz` (HTTP with no database).

use std::{
    io::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use rewind_bundle::{BundleExtras, BundleInput, SeriesInput};
use rewind_model::{
    BundleId, Comparison, DeviceId, Event, EventKind, Evidence, Level, Role, Sample, SeriesName,
    Severity, TimeRange, Timestamp, TokenScope, Trigger,
};
use rewind_server::{AppState, ServerConfig, auth, blobs::Blobs};
use rewind_store::{NewBundle, Store};
use serde::Serialize;
use tokio::{net::TcpListener, sync::Semaphore, task::JoinSet};

use super::percentiles;
use crate::cli::{BenchServerArgs, ServerBackend};

/// Devices the generated bundles come from.
const DEVICES: usize = 50;
/// Distinct rules per device, so some uploads open incidents and some join.
const RULES: usize = 8;

/// Figures for one backend.
#[derive(Debug, Serialize)]
struct BackendFigures {
    backend: &'static str,
    bundles: usize,
    bundle_bytes_mean: u64,
    concurrency: usize,
    ingest_per_second: f64,
    ingest_p50_ms: f64,
    ingest_p99_ms: f64,
    baseline_validate_per_second: f64,
    incidents_opened: u64,
    incidents_stored: u64,
    seed_seconds: f64,
    queries: Vec<QueryFigures>,
    baseline_healthz_p50_ms: f64,
    baseline_healthz_p99_ms: f64,
}

/// One kind of list query.
#[derive(Debug, Serialize)]
struct QueryFigures {
    query: String,
    p50_ms: f64,
    p99_ms: f64,
    rows: usize,
}

/// `rewind bench server`.
pub(crate) async fn run(args: &BenchServerArgs) -> anyhow::Result<()> {
    let bundles = args.bundles.clamp(1, 100_000);
    eprintln!("rewind bench server: generating {bundles} demo-sized bundles…");
    let generated = generate(bundles)?;
    let baseline_validate = validate_rate(&generated);
    let mut all = Vec::new();
    let backends: &[ServerBackend] = match args.backend {
        ServerBackend::Both => &[ServerBackend::Sqlite, ServerBackend::Postgres],
        ServerBackend::Sqlite => &[ServerBackend::Sqlite],
        ServerBackend::Postgres => &[ServerBackend::Postgres],
    };
    for backend in backends {
        let dir = tempfile::tempdir()?;
        let store = match backend {
            ServerBackend::Postgres => {
                let schema = format!("rewind_bench_{}", uuid_suffix());
                match rewind_store::open_postgres_in_schema(&args.postgres_url, &schema).await {
                    Ok(s) => s,
                    Err(e) if matches!(args.backend, ServerBackend::Both) => {
                        eprintln!(
                            "rewind bench server: SKIPPED PostgreSQL ({e}); pass --postgres-url or start it"
                        );
                        continue;
                    }
                    Err(e) => return Err(e).context("cannot open the PostgreSQL database"),
                }
            }
            _ => {
                let url = format!("sqlite://{}", dir.path().join("rewind.db").display());
                rewind_store::open(&url).await?
            }
        };
        let mut figures = measure(args, store, dir.path(), &generated).await?;
        figures.baseline_validate_per_second = baseline_validate;
        all.push(figures);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &all)?;
        writeln!(out)?;
    } else {
        for f in &all {
            print_table(&mut out, f)?;
        }
    }
    Ok(())
}

fn uuid_suffix() -> String {
    BundleId::new_v7().to_string().replace('-', "")[..16].to_owned()
}

/// One generated bundle and the device it claims.
struct Generated {
    device: usize,
    bytes: Vec<u8>,
}

/// Bundles like the demo's: 100 series of 10 s at 10 Hz and 50 events,
/// from [`DEVICES`] devices and [`RULES`] rules each.
fn generate(n: usize) -> anyhow::Result<Vec<Generated>> {
    let names: Vec<SeriesName> = (0..100)
        .map(|i| SeriesName::new(format!("bench.series_{i:03}.value")))
        .collect::<Result<_, _>>()?;
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let chunks: Vec<Vec<usize>> = (0..threads)
        .map(|t| (0..n).filter(|i| i % threads == t).collect())
        .collect();
    let mut out: Vec<Option<Generated>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let names = &names;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&i| one_bundle(i, names).map(|g| (i, g)))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        for h in handles {
            let made = h
                .join()
                .map_err(|_| anyhow::anyhow!("a bundle generator thread panicked"))??;
            for (i, g) in made {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(g);
                }
            }
        }
        Ok(())
    })?;
    Ok(out.into_iter().flatten().collect())
}

fn one_bundle(i: usize, names: &[SeriesName]) -> anyhow::Result<Generated> {
    let device_no = i % DEVICES;
    let rule_no = (i / DEVICES) % RULES;
    let device = DeviceId::new(format!("bench-robot-{device_no:03}"))?;
    let base = 1_795_428_000_000 + i64::try_from(i)? * 1_000;
    let t = |ms: i64| Timestamp::from_unix_millis(base + ms);
    let series: Vec<SeriesInput> = names
        .iter()
        .enumerate()
        .map(|(s, name)| SeriesInput {
            name: name.clone(),
            unit: "percent".into(),
            #[allow(clippy::cast_precision_loss)]
            samples: (0..100)
                .map(|k| Sample::new(t(k * 100), ((k * 7 + s as i64 * 13) % 100) as f64 * 0.5))
                .collect(),
        })
        .collect();
    let events: Vec<Event> = (0..50)
        .map(|k| {
            Event::new(
                t(k * 200),
                "journal",
                EventKind::Log,
                Level::Info,
                format!("bench line {k} from bundle {i}"),
            )
        })
        .collect();
    let trigger = Trigger {
        rule: format!("bench rule {rule_no}"),
        rule_type: "metric_threshold".into(),
        severity: Severity::ALL[rule_no % Severity::ALL.len()],
        fired_at: t(8_000),
        summary: format!("bench.series_000.value stayed above 40 (bundle {i})"),
        evidence: vec![Evidence::new(
            names[0].clone(),
            Comparison::Above(40.0),
            45.0,
            49.5,
            t(6_000),
            20,
        )],
        labels: Default::default(),
    };
    let input = BundleInput {
        bundle_id: BundleId::new_v7(),
        device_id: &device,
        agent_version: "bench",
        created_at: t(10_000),
        trigger: &trigger,
        window: TimeRange {
            start: t(0),
            end: t(10_000),
        },
        series: &series,
        events: &events,
        attachments: &[],
        extras: &BundleExtras::default(),
    };
    let mut bytes = std::io::Cursor::new(Vec::new());
    rewind_bundle::write_bundle_to(&mut bytes, &input)?;
    Ok(Generated {
        device: device_no,
        bytes: bytes.into_inner(),
    })
}

/// Bundles validated per second on one thread, storing nothing.
fn validate_rate(generated: &[Generated]) -> f64 {
    let limits = rewind_bundle::Limits::default();
    let started = Instant::now();
    let ok = generated
        .iter()
        .filter(|g| rewind_bundle::read_bundle(&g.bytes, &limits).is_ok())
        .count();
    #[allow(clippy::cast_precision_loss)]
    let rate = ok as f64 / started.elapsed().as_secs_f64().max(1e-9);
    rate
}

async fn measure(
    args: &BenchServerArgs,
    store: Arc<dyn Store>,
    state_dir: &std::path::Path,
    generated: &[Generated],
) -> anyhow::Result<BackendFigures> {
    let backend = store.backend();
    let mut config = ServerConfig::new(state_dir.to_path_buf());
    config.rate_limit_per_second = 1_000_000;
    config.rate_limit_burst = 1_000_000;
    let blobs = Blobs::local(&config.bundle_dir())?;
    let now = Timestamp::now();
    let mut device_tokens = Vec::with_capacity(DEVICES);
    for d in 0..DEVICES {
        let device_id = DeviceId::new(format!("bench-robot-{d:03}"))?;
        let (secret, new) = auth::mint_token(
            &device_id.to_string(),
            TokenScope::Device { device_id },
            now,
            None,
        );
        store.create_token(&new).await?;
        device_tokens.push(secret);
    }
    let (viewer, new) =
        auth::mint_token("bench", TokenScope::User { role: Role::Viewer }, now, None);
    store.create_token(&new).await?;

    let state = AppState::new(Arc::clone(&store), blobs, &config);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rewind_server::serve(state, listener, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(60))
        .build()?;

    // Ingest.
    let concurrency = args.concurrency.clamp(1, 256);
    let gate = Arc::new(Semaphore::new(concurrency));
    let bar = progress(generated.len() as u64, &format!("{backend}: uploading"));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let mut opened = 0u64;
    for g in generated {
        let permit = Arc::clone(&gate).acquire_owned().await?;
        let client = client.clone();
        let url = format!("{base}/api/v1/bundles");
        let token = device_tokens[g.device].clone();
        let body = g.bytes.clone();
        tasks.spawn(async move {
            let t = Instant::now();
            let res = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/zip")
                .body(body)
                .send()
                .await;
            drop(permit);
            let status = res.map(|r| r.status().as_u16()).unwrap_or(0);
            (status, t.elapsed().as_secs_f64() * 1e3)
        });
    }
    let mut latencies = Vec::with_capacity(generated.len());
    while let Some(done) = tasks.join_next().await {
        let (status, ms) = done?;
        anyhow::ensure!(
            status == 200 || status == 201,
            "an upload failed with HTTP {status}"
        );
        opened += u64::from(status == 201);
        latencies.push(ms);
        bar.inc(1);
    }
    let ingest_secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let (ingest_p50, ingest_p99) = percentiles(&mut latencies);

    // Seed the list to --incidents with synthetic rows (no files needed).
    let seed_started = Instant::now();
    let have = opened;
    let want = args.incidents.max(have);
    seed(&store, want - have, backend).await?;
    let seed_secs = seed_started.elapsed().as_secs_f64();

    // Queries the dashboard makes.
    let queries = [
        ("first page (limit 50)", "limit=50".to_owned()),
        ("default page (limit 200)", String::new()),
        (
            "status=open&min_severity=high",
            "status=open&min_severity=high&limit=50".into(),
        ),
        (
            "device=… (one device)",
            "device=seed-device-007&limit=50".into(),
        ),
        ("q=text (substring)", "q=rule%2042&limit=50".into()),
    ];
    let mut figures = Vec::new();
    for (name, query) in queries {
        let url = format!("{base}/api/v1/incidents?{query}");
        let (p50, p99, rows) = time_get(&client, &url, &viewer, args.queries).await?;
        figures.push(QueryFigures {
            query: name.to_owned(),
            p50_ms: p50,
            p99_ms: p99,
            rows,
        });
    }
    // Page 2 through the cursor.
    let first: serde_json::Value = client
        .get(format!("{base}/api/v1/incidents?limit=50"))
        .bearer_auth(&viewer)
        .send()
        .await?
        .json()
        .await?;
    if let Some(cursor) = first["next_cursor"].as_str() {
        let url = format!("{base}/api/v1/incidents?limit=50&cursor={cursor}");
        let (p50, p99, rows) = time_get(&client, &url, &viewer, args.queries).await?;
        figures.push(QueryFigures {
            query: "next page via cursor".into(),
            p50_ms: p50,
            p99_ms: p99,
            rows,
        });
    }
    let (h50, h99, _) =
        time_get(&client, &format!("{base}/healthz"), &viewer, args.queries).await?;
    let _ = stop.send(());
    server.await??;
    #[allow(clippy::cast_precision_loss)]
    Ok(BackendFigures {
        backend,
        bundles: generated.len(),
        bundle_bytes_mean: generated.iter().map(|g| g.bytes.len() as u64).sum::<u64>()
            / generated.len().max(1) as u64,
        concurrency,
        ingest_per_second: generated.len() as f64 / ingest_secs.max(1e-9),
        ingest_p50_ms: ingest_p50,
        ingest_p99_ms: ingest_p99,
        baseline_validate_per_second: 0.0,
        incidents_opened: opened,
        incidents_stored: want,
        seed_seconds: seed_secs,
        queries: figures,
        baseline_healthz_p50_ms: h50,
        baseline_healthz_p99_ms: h99,
    })
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Stores `n` synthetic incidents straight through the store (distinct
/// fingerprints, spread over devices, fleets, severities and a year), four
/// writers at a time.
async fn seed(store: &Arc<dyn Store>, n: u64, backend: &str) -> anyhow::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let bar = progress(n, &format!("{backend}: seeding incidents"));
    let gate = Arc::new(Semaphore::new(4));
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let permit = Arc::clone(&gate).acquire_owned().await?;
        let store = Arc::clone(store);
        let bar = bar.clone();
        tasks.spawn(async move {
            let r = store.ingest(&synthetic(i)?).await;
            drop(permit);
            bar.inc(1);
            r.map(|_| ()).map_err(anyhow::Error::from)
        });
        while let Some(done) = tasks.try_join_next() {
            done??;
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    bar.finish_and_clear();
    Ok(())
}

fn synthetic(i: u64) -> anyhow::Result<NewBundle> {
    let device = DeviceId::new(format!("seed-device-{:03}", i % 200))?;
    let at = Timestamp::from_unix_millis(1_763_000_000_000 + i64::try_from(i)? * 300_000);
    let trigger = Trigger {
        rule: format!("rule {}", i % 997),
        rule_type: "metric_threshold".into(),
        severity: Severity::ALL[usize::try_from(i % 5)?],
        fired_at: at,
        summary: format!("seeded incident {i}: cpu.total.busy_pct stayed above 90"),
        evidence: Vec::new(),
        labels: [("seed".to_owned(), i.to_string())].into_iter().collect(),
    };
    Ok(NewBundle {
        fingerprint: rewind_model::fingerprint(&device, &trigger),
        device_id: device,
        bundle_id: BundleId::new_v7(),
        trigger,
        fleet: Some(format!("fleet-{}", i % 7)),
        service: Some(format!("svc-{}", i % 13)),
        window: TimeRange {
            start: at.add_nanos(-60_000_000_000),
            end: at.add_nanos(10_000_000_000),
        },
        received_at: at.add_nanos(12_000_000_000),
        blob_key: "sha256/00/seeded.zip".into(),
        bytes: 0,
        sha256: "00".repeat(32),
        actor: "bench".into(),
    })
}

/// `n` sequential GETs of `url`: p50 and p99 in ms, and the rows of the last answer.
async fn time_get(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    n: usize,
) -> anyhow::Result<(f64, f64, usize)> {
    let mut times = Vec::with_capacity(n);
    let mut rows = 0;
    for _ in 0..n.max(1) {
        let t = Instant::now();
        let res = client.get(url).bearer_auth(token).send().await?;
        let status = res.status();
        let body = res.bytes().await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(status.is_success(), "GET {url} answered {status}");
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
            rows = v["incidents"].as_array().map_or(0, Vec::len);
        }
    }
    let (p50, p99) = percentiles(&mut times);
    Ok((p50, p99, rows))
}

fn print_table(out: &mut impl std::io::Write, f: &BackendFigures) -> std::io::Result<()> {
    writeln!(
        out,
        "rewind bench server: {} — {} bundles of {} KiB from {} devices, {} concurrent uploads",
        f.backend,
        f.bundles,
        f.bundle_bytes_mean / 1024,
        DEVICES,
        f.concurrency
    )?;
    writeln!(out, "{:<40} {:>16}  baseline / target", "figure", "value")?;
    let ratio = f.ingest_per_second / f.baseline_validate_per_second.max(1e-9);
    writeln!(
        out,
        "{:<40} {:>16.0}  validate only, 1 thread: {:.0} ({:.2}×); target ≥ 200 on SQLite",
        "bundles ingested per second", f.ingest_per_second, f.baseline_validate_per_second, ratio
    )?;
    writeln!(
        out,
        "{:<40} {:>16}",
        "upload p50 / p99, ms",
        format!("{:.1} / {:.1}", f.ingest_p50_ms, f.ingest_p99_ms)
    )?;
    writeln!(
        out,
        "{:<40} {:>16}  (seeded in {:.0} s)",
        "incidents stored", f.incidents_stored, f.seed_seconds
    )?;
    for q in &f.queries {
        writeln!(
            out,
            "{:<40} {:>16}  {} rows; target p99 < 20 ms",
            format!("list {}, ms", q.query),
            format!("{:.2} / {:.2}", q.p50_ms, q.p99_ms),
            q.rows
        )?;
    }
    writeln!(
        out,
        "{:<40} {:>16}  (HTTP round trip, no database)",
        "baseline GET /healthz p50 / p99, ms",
        format!(
            "{:.2} / {:.2}",
            f.baseline_healthz_p50_ms, f.baseline_healthz_p99_ms
        )
    )?;
    writeln!(out)
}
