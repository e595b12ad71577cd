//! The Prometheus source (`regression.prometheus`) against a real
//! Prometheus: Debian's `prometheus` package, its data backfilled with
//! `promtool tsdb create-blocks-from openmetrics`. Skipped, loudly, when
//! `prometheus` or `promtool` is not installed.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use axum::http::StatusCode;
use rewind_server::{PrometheusConfig, PrometheusQuery};
use serde_json::Value;

use crate::TestServer;

/// Sampling interval of the backfilled series, in seconds.
const STEP: i64 = 15;

/// `name` on the `PATH`, or in `/usr/bin`.
fn find(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A Prometheus server, killed on drop.
struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts `bin` over the TSDB in `data` and waits until it is ready.
    async fn start(bin: &Path, dir: &Path, data: &Path) -> Self {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            "global:\n  scrape_interval: 15s\nscrape_configs: []\n",
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("prometheus.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut prom = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/-/ready", prom.url)).send().await
                && r.status().is_success()
            {
                return prom;
            }
            if let Some(status) = prom.child.try_wait().unwrap() {
                panic!("prometheus exited ({status}):\n{}", prom.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready after 60 s:\n{}",
                prom.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The OpenMetrics text of two series sampled every 15 s over the 40
/// minutes up to `end` (Unix seconds): the error ratio of
/// checkout/production, 0.01 until `step_at` and 0.05 from then on, and
/// the same ratio in zone b, 0.02 throughout.
fn openmetrics(end: i64, step_at: i64) -> String {
    let mut text = String::from("# HELP checkout_error_ratio Failed checkouts per checkout.\n");
    text.push_str("# TYPE checkout_error_ratio gauge\n");
    let first = end - 40 * 60;
    // OpenMetrics wants a series' samples together, oldest first.
    for t in (first..=end).step_by(STEP as usize) {
        let v = if t >= step_at { 0.05 } else { 0.01 };
        text.push_str(&format!(
            "checkout_error_ratio{{service=\"checkout\",env=\"production\"}} {v} {t}\n"
        ));
    }
    for t in (first..=end).step_by(STEP as usize) {
        text.push_str(&format!(
            "checkout_error_ratio{{service=\"checkout\",env=\"production\",zone=\"b\"}} 0.02 {t}\n"
        ));
    }
    text.push_str("# EOF\n");
    text
}

/// `GET` as the viewer, expecting 200.
async fn get(srv: &TestServer, uri: &str) -> Value {
    let (status, body) = srv.get(uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    body
}

/// The watched series.
async fn series(srv: &TestServer) -> Vec<Value> {
    get(srv, "/api/v1/regression/series")
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn named<'a>(all: &'a [Value], name: &str) -> Option<&'a Value> {
    all.iter().find(|s| s["name"] == name)
}

fn query(name: &str, promql: &str) -> PrometheusQuery {
    PrometheusQuery {
        name: name.into(),
        query: promql.into(),
        service: None,
        environment: None,
        step: Some(Duration::from_secs(STEP as u64)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_are_pulled_from_a_real_prometheus() {
    let (Some(prometheus), Some(promtool)) = (find("prometheus"), find("promtool")) else {
        eprintln!(
            "\n*** SKIPPED: prometheus/promtool not installed (apt-get install prometheus) ***\n"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    // 40 minutes of history up to now, with a step up 10 minutes ago.
    let now = rewind_model::Timestamp::now().as_unix_millis() / 1_000;
    let end = now - now % STEP;
    let step_at = end - 10 * 60;
    let file = dir.path().join("history.om");
    std::fs::write(&file, openmetrics(end, step_at)).unwrap();
    let data = dir.path().join("data");
    let out = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool refused the backfill:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let prom = Prometheus::start(&prometheus, dir.path(), &data).await;

    let mut total = query("total_error_ratio", "sum(checkout_error_ratio)");
    total.service = Some("shop".into());
    total.environment = Some("staging".into());
    let mut config = PrometheusConfig::new(
        prom.url.clone(),
        vec![
            // A query Prometheus refuses must not hold the others up.
            query("broken", "sum(rate(checkout_error_ratio[1m]"),
            query("checkout_error_ratio", "checkout_error_ratio"),
            total,
        ],
    );
    config.interval = Duration::from_secs(1);
    config.validate().unwrap();
    let srv = TestServer::with_config(|c| c.regression.prometheus = Some(config)).await;

    // Wait for the three series.
    let deadline = Instant::now() + Duration::from_secs(30);
    let all = loop {
        let all = series(&srv).await;
        if all.len() >= 3 {
            break all;
        }
        assert!(
            Instant::now() < deadline,
            "the series did not arrive within 30 s: {all:#?}\nprometheus log:\n{}",
            prom.log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(named(&all, "broken").is_none());

    // The plain series: labels from the series' own `service` and `env`.
    let main = named(&all, "checkout_error_ratio").unwrap_or_else(|| panic!("{all:#?}"));
    assert_eq!(main["service"], "checkout");
    assert_eq!(main["environment"], "production");
    assert!(main.get("instance").is_none(), "{main}");
    assert_eq!(main["last_value"], 0.05, "{main}");
    assert_eq!(main["kind"], "rate");
    // The first pull reached back 40 minutes; the watch keeps the last
    // 37.5 (baseline, guard, window, lateness): about 150 points at 15 s.
    let points = main["points"].as_u64().unwrap();
    assert!((145..=160).contains(&points), "{main}");
    let last_at = rewind_model::Timestamp::parse_rfc3339(main["last_at"].as_str().unwrap())
        .unwrap()
        .as_unix_millis()
        / 1_000;
    assert!(last_at >= end && last_at % STEP == 0, "{main} (end {end})");

    // The series that differs only in `zone` is named by it.
    let zone =
        named(&all, "checkout_error_ratio{zone=\"b\"}").unwrap_or_else(|| panic!("{all:#?}"));
    assert_eq!(zone["service"], "checkout");
    assert_eq!(zone["environment"], "production");
    assert_eq!(zone["last_value"], 0.02);
    assert_eq!(zone["points"], main["points"]);

    // The aggregate: labels from the query.
    let sum = named(&all, "total_error_ratio").unwrap_or_else(|| panic!("{all:#?}"));
    assert_eq!(sum["service"], "shop");
    assert_eq!(sum["environment"], "staging");
    assert!(
        (sum["last_value"].as_f64().unwrap() - 0.07).abs() < 1e-9,
        "{sum}"
    );

    // Pulls every second overlap by one step: nothing is counted twice.
    // At most one new 15 s point can appear while we wait.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let later = series(&srv).await;
    let again = named(&later, "checkout_error_ratio").unwrap()["points"]
        .as_u64()
        .unwrap();
    assert!(
        again == points || again == points + 1,
        "{points} points, then {again}: pulls repeat points"
    );

    // Counted as the `prometheus` source.
    let metrics = get(&srv, "/metrics").await;
    let text = metrics.as_str().unwrap_or_default();
    let counted: u64 = text
        .lines()
        .find(|l| l.starts_with("rewind_server_regression_points_total{source=\"prometheus\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no prometheus count in /metrics:\n{text}"));
    let watched: u64 = later.iter().filter_map(|s| s["points"].as_u64()).sum();
    assert!(counted >= watched, "counted {counted}, watched {watched}");
    // Sent: the whole 40 minutes (161 points a series), each point once;
    // the watch dropped the oldest 2.5 minutes as older than it keeps.
    assert!(
        (3 * 160..=3 * 163).contains(&counted),
        "counted {counted}: not 40 minutes of 3 series"
    );
}
