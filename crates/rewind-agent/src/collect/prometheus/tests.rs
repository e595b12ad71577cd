//! Scrapes of a real HTTP server on 127.0.0.1 serving an exposition text.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{Router, http::StatusCode, routing::get};
use tokio::sync::mpsc;

use super::*;
use crate::collect::StopHandle;

/// An exposition as a Go service with node_exporter-style collectors writes it,
/// plus one broken line.
const FIXTURE: &str = include_str!("fixture.prom");
const DEADLINE: Duration = Duration::from_secs(10);

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{addr}/metrics")
}

fn target(url: &str) -> Target {
    Target {
        url: url.to_owned(),
        interval: Duration::from_millis(100),
        ..Target::default()
    }
}

fn start(t: Target) -> (mpsc::Receiver<Batch>, StopHandle) {
    let config = Config {
        targets: vec![t],
        ..Config::default()
    };
    let stream = config.streams().unwrap().pop().unwrap();
    let (sink, rx) = Sink::channel(64);
    let (stop, flag) = Stop::new();
    tokio::spawn(stream.run(sink, flag));
    (rx, stop)
}

async fn next(rx: &mut mpsc::Receiver<Batch>) -> Batch {
    tokio::time::timeout(DEADLINE, rx.recv())
        .await
        .unwrap()
        .unwrap()
}

fn get_reading<'a>(b: &'a Batch, series: &str) -> Option<(f64, &'a str)> {
    b.readings
        .iter()
        .find(|r| r.series.as_str() == series)
        .map(|r| (r.value, r.unit.as_ref()))
}

#[tokio::test]
async fn a_scrape_turns_every_sample_into_a_reading() {
    let url = serve(Router::new().route("/metrics", get(|| async { FIXTURE }))).await;
    let (mut rx, _stop) = start(target(&url));
    let b = next(&mut rx).await;
    let expect = [
        ("prom.go_goroutines", 9.0, ""),
        (
            "prom.http_requests_total.code_200.method_post",
            1027.0,
            "count",
        ),
        (
            "prom.http_requests_total.code_400.method_post",
            3.0,
            "count",
        ),
        (
            "prom.http_request_duration_seconds_bucket.le_0_05",
            24054.0,
            "count",
        ),
        (
            "prom.http_request_duration_seconds_bucket.le__Inf",
            144_320.0,
            "count",
        ),
        ("prom.http_request_duration_seconds_sum", 53423.0, "seconds"),
        (
            "prom.go_gc_duration_seconds.quantile_0_75",
            5.8291e-05,
            "seconds",
        ),
        ("prom.go_gc_duration_seconds_count", 231.0, "count"),
        ("prom.node_load1", 0.21, ""),
        (
            "prom.node_memory_MemAvailable_bytes",
            2.944_516_096e9,
            "bytes",
        ),
        (
            "prom.node_hwmon_temp_celsius.chip_platform_coretemp_0.sensor_temp1",
            47.0,
            "celsius",
        ),
        (
            "prom.node_scrape_collector_success.collector_diskstats",
            1.0,
            "",
        ),
        ("prom.something_weird", f64::INFINITY, ""),
    ];
    for (series, value, unit) in expect {
        assert_eq!(get_reading(&b, series), Some((value, unit)), "{series}");
    }
    let nan = get_reading(&b, "prom.rpc_duration_seconds.quantile_0_01").unwrap();
    assert!(nan.0.is_nan());
    let escaped = b
        .readings
        .iter()
        .find(|r| r.series.as_str().starts_with("prom.msdos"))
        .unwrap();
    assert_eq!(
        escaped.series.as_str(),
        "prom.msdos_file_access_time_seconds.error_Cannot_find_file:__FILE_TXT_.path_C:_DIR_FILE_TXT"
    );
    assert_eq!(b.readings.len(), 29, "every sample line but the broken one");
    assert_eq!(b.problems.len(), 1);
    assert!(
        b.problems[0]
            .error
            .starts_with("1 malformed lines skipped (line 44:"),
        "{:?}",
        b.problems
    );
    assert_eq!(b.problems[0].source, format!("prometheus/{url}"));
}

#[tokio::test]
async fn a_failing_target_is_a_problem_and_is_retried_until_it_works() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let app = Router::new().route(
        "/metrics",
        get(move || async move {
            match counter.fetch_add(1, Ordering::SeqCst) {
                0 => (StatusCode::SERVICE_UNAVAILABLE, "warming up"),
                _ => (StatusCode::OK, "up 1\n"),
            }
        }),
    );
    let url = serve(app).await;
    let (mut rx, _stop) = start(Target {
        prefix: "app.exporter".into(),
        ..target(&url)
    });
    let first = next(&mut rx).await;
    assert!(first.readings.is_empty());
    assert!(
        first.problems[0].error.contains("HTTP 503"),
        "{:?}",
        first.problems
    );
    let second = next(&mut rx).await;
    assert_eq!(get_reading(&second, "app.exporter.up"), Some((1.0, "")));
    assert!(second.problems.is_empty());
}

#[tokio::test]
async fn a_refused_connection_and_an_oversized_body_are_problems() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/metrics", l.local_addr().unwrap())
    };
    let (mut rx, stop) = start(target(&closed));
    let b = next(&mut rx).await;
    assert!(
        b.problems[0].error.starts_with("scrape failed"),
        "{:?}",
        b.problems
    );
    stop.stop();

    let url = serve(Router::new().route("/metrics", get(|| async { FIXTURE }))).await;
    let (mut rx, _stop) = start(Target {
        max_body_bytes: 100,
        ..target(&url)
    });
    let b = next(&mut rx).await;
    assert!(
        b.problems[0]
            .error
            .contains("larger than max_body_bytes (100)"),
        "{:?}",
        b.problems
    );
    assert!(b.readings.is_empty());
}

#[tokio::test]
async fn samples_beyond_max_samples_are_dropped_and_counted() {
    let url = serve(Router::new().route("/metrics", get(|| async { "a 1\nb 2\nc 3\n" }))).await;
    let (mut rx, _stop) = start(Target {
        max_samples: 2,
        ..target(&url)
    });
    let b = next(&mut rx).await;
    assert_eq!(b.readings.len(), 2);
    assert!(
        b.problems[0]
            .error
            .contains("1 samples over max_samples (2)"),
        "{:?}",
        b.problems
    );
}

#[test]
fn unusable_targets_are_config_errors() {
    let yaml =
        "targets:\n  - url: http://127.0.0.1:9100/metrics\n    interval: 15s\n    prefix: node\n";
    let c: Config = serde_saphyr::from_str(yaml).unwrap();
    assert_eq!(
        (
            c.targets[0].interval,
            c.targets[0].timeout,
            c.targets[0].prefix.as_str()
        ),
        (Duration::from_secs(15), Duration::from_secs(5), "node")
    );
    assert_eq!(c.streams().unwrap().len(), 1);
    for (t, needle) in [
        (Target::default(), "url ``"),
        (target("ftp://x/metrics"), "only http and https"),
        (
            Target {
                prefix: "prom.".into(),
                ..target("http://x/")
            },
            "prefix",
        ),
        (
            Target {
                max_samples: 0,
                ..target("http://x/")
            },
            "max_samples",
        ),
    ] {
        let err = Config {
            targets: vec![t],
            ..Config::default()
        }
        .streams()
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("collectors.prometheus: targets[0]:") && err.contains(needle),
            "{err}"
        );
    }
    assert!(
        Config {
            enabled: false,
            targets: vec![Target::default()]
        }
        .streams()
        .unwrap()
        .is_empty()
    );
    assert!(serde_saphyr::from_str::<Config>("targets:\n  - url: x\n    intervall: 1s\n").is_err());
}

#[test]
fn backoff_doubles_per_failure_up_to_five_minutes() {
    let s = Duration::from_secs;
    assert_eq!(backoff(s(10), 0), s(10));
    assert_eq!(backoff(s(10), 1), s(20));
    assert_eq!(backoff(s(10), 3), s(80));
    assert_eq!(backoff(s(10), 40), s(300));
    assert_eq!(
        backoff(s(600), 2),
        s(600),
        "never shorter than the interval"
    );
}
