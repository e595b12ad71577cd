//! OpenTelemetry over OTLP/HTTP, end to end: metrics posted as protobuf,
//! JSON and gzip arrive as regression series with their labels and values;
//! logs are taken; bad bodies, content types, tokens and zip bombs are
//! refused as the OTLP/HTTP specification says.

use std::{io::Write as _, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, Request, StatusCode},
};
use http_body_util::BodyExt as _;
use opentelemetry_proto::tonic::{
    collector::{
        logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse},
        metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse},
    },
    common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value},
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs},
    metrics::v1::{
        AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
        ResourceMetrics, ScopeMetrics, Sum, metric::Data, number_data_point,
    },
    resource::v1::Resource,
};
use prost::Message as _;
use rewind_model::Timestamp;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::TestServer;

const SEC: u64 = 1_000_000_000;

/// `google.rpc.Status`, as the server sends it.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// Now, in Unix nanoseconds, minus `secs`.
fn ago(secs: u64) -> u64 {
    u64::try_from(Timestamp::now().as_unix_nanos()).unwrap() - secs * SEC
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", service),
            kv("deployment.environment.name", "production"),
            kv("service.instance.id", "pod-1"),
        ],
        ..Default::default()
    }
}

fn request(service: &str, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource(service)),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "shop".into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn number(time: u64, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn metric(name: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        data: Some(data),
        ..Default::default()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Sends a request, keeping the raw answer (OTLP answers are protobuf).
async fn post(
    server: &TestServer,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = Request::post(path);
    if !token.is_empty() {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = server
        .app
        .clone()
        .oneshot(req.body(body.into()).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, bytes)
}

const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");
const JSON: (&str, &str) = ("content-type", "application/json");
const GZIP: (&str, &str) = ("content-encoding", "gzip");

/// Polls the watched series until every name in `names` is there.
async fn series_named(server: &TestServer, names: &[&str]) -> Vec<Value> {
    let mut last = Value::Null;
    for _ in 0..50 {
        let (status, body) = server.get("/api/v1/regression/series").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let all = body.as_array().unwrap();
        let found: Vec<Value> = names
            .iter()
            .filter_map(|n| all.iter().find(|s| s["name"] == *n).cloned())
            .collect();
        if found.len() == names.len() {
            return found;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("series {names:?} never arrived; watched: {last}");
}

#[tokio::test]
async fn protobuf_json_and_gzip_metrics_arrive_as_labelled_series() {
    let server = TestServer::new(1 << 20).await;
    // One clock reading, so intervals are exact.
    let now = ago(0);
    let t = |secs: u64| now - secs * SEC;

    // Protobuf: a gauge, and a cumulative counter (two points: one rate).
    let start = t(600);
    let counter = |time: u64, value: f64| NumberDataPoint {
        start_time_unix_nano: start,
        ..number(time, value)
    };
    let req = request(
        "checkout",
        vec![
            metric(
                "queue.depth",
                Data::Gauge(Gauge {
                    data_points: vec![number(t(30), 7.0)],
                }),
            ),
            metric(
                "http.server.requests",
                Data::Sum(Sum {
                    data_points: vec![counter(t(30), 100.0), counter(t(20), 160.0)],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                }),
            ),
        ],
    );
    let (status, headers, body) = post(
        &server,
        "/v1/metrics",
        &server.responder,
        &[PROTOBUF],
        req.encode_to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(headers["content-type"], "application/x-protobuf");
    let answer = ExportMetricsServiceResponse::decode(body).unwrap();
    assert_eq!(answer.partial_success, None);

    // JSON, as the OTLP JSON mapping writes it.
    let json = serde_json::json!({"resourceMetrics": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "search"}},
            {"key": "deployment.environment", "value": {"stringValue": "staging"}},
            {"key": "host.name", "value": {"stringValue": "web-3"}}
        ]},
        "scopeMetrics": [{"scope": {"name": "search"}, "metrics": [{
            "name": "cpu.load",
            "unit": "1",
            "gauge": {"dataPoints": [{"asDouble": 0.5, "timeUnixNano": t(25).to_string()}]}
        }]}]
    }]});
    let (status, headers, body) = post(
        &server,
        "/v1/metrics",
        &server.responder,
        &[JSON],
        json.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        serde_json::json!({})
    );

    // Gzipped protobuf: a delta histogram of one route.
    let histogram = HistogramDataPoint {
        attributes: vec![kv("http.route", "/pay")],
        start_time_unix_nano: t(30),
        time_unix_nano: t(20),
        count: 100,
        bucket_counts: vec![50, 40, 10, 0],
        explicit_bounds: vec![100.0, 200.0, 400.0],
        ..Default::default()
    };
    let req = request(
        "checkout",
        vec![metric(
            "http.server.duration",
            Data::Histogram(Histogram {
                data_points: vec![histogram],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            }),
        )],
    );
    let (status, _, body) = post(
        &server,
        "/v1/metrics",
        &server.responder,
        &[PROTOBUF, GZIP],
        gzip(&req.encode_to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");

    let found = series_named(
        &server,
        &[
            "queue.depth",
            "http.server.requests",
            "cpu.load",
            r#"http.server.duration.p95{http.route="/pay"}"#,
            r#"http.server.duration.count{http.route="/pay"}"#,
        ],
    )
    .await;
    let [queue, requests, cpu, p95, count] = &found[..] else {
        unreachable!()
    };
    assert_eq!(queue["service"], "checkout");
    assert_eq!(queue["environment"], "production");
    assert_eq!(queue["instance"], "pod-1");
    assert_eq!(queue["last_value"], 7.0);
    assert_eq!(requests["last_value"], 6.0, "60 more in 10 s: {requests}");
    assert_eq!(
        requests["points"], 1,
        "the first cumulative point only primes"
    );
    assert_eq!(cpu["service"], "search");
    assert_eq!(cpu["environment"], "staging");
    assert_eq!(cpu["instance"], "web-3");
    assert_eq!(cpu["last_value"], 0.5);
    assert_eq!(p95["last_value"], 300.0);
    assert_eq!(p95["kind"], "latency");
    assert_eq!(count["last_value"], 10.0, "100 in 10 s");

    // Points that cannot be judged are rejected, counted and described.
    let req = request(
        "checkout",
        vec![metric(
            "queue.depth",
            Data::Gauge(Gauge {
                data_points: vec![number(t(10), f64::NAN), number(t(9), 3.0), number(0, 1.0)],
            }),
        )],
    );
    let (status, _, body) = post(
        &server,
        "/v1/metrics",
        &server.responder,
        &[PROTOBUF],
        req.encode_to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let partial = ExportMetricsServiceResponse::decode(body)
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_data_points, 2);
    assert!(
        partial.error_message.contains("not finite")
            && partial.error_message.contains("without a time"),
        "{}",
        partial.error_message
    );
    // The same in JSON: int64 as a string.
    let json = serde_json::json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{
        "name": "x", "gauge": {"dataPoints": [{"asDouble": 1.0}]}
    }]}]}]});
    let (status, _, body) = post(
        &server,
        "/v1/metrics",
        &server.responder,
        &[JSON],
        json.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        answer["partialSuccess"]["rejectedDataPoints"], "1",
        "{answer}"
    );

    // The points are counted by source.
    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = metrics.as_str().unwrap();
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
            .to_owned()
    };
    // queue.depth, one rate, cpu.load, 3 percentiles and a count, and 1 of 3.
    assert!(
        line("rewind_server_regression_points_total{source=\"otlp\"}").ends_with(" 8"),
        "{text}"
    );
    assert!(
        line("rewind_server_regression_points_dropped_total").ends_with(" 3"),
        "{text}"
    );
}

#[tokio::test]
async fn logs_are_taken_in_both_encodings() {
    let server = TestServer::new(1 << 20).await;
    let record = |text: &str| LogRecord {
        time_unix_nano: ago(5),
        severity_number: 17,
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(text.into())),
        }),
        ..Default::default()
    };
    let req = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource("checkout")),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "payments".into(),
                    ..Default::default()
                }),
                log_records: vec![record("bank timed out"), record("")],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let (status, headers, body) = post(
        &server,
        "/v1/logs",
        &server.responder,
        &[PROTOBUF],
        req.encode_to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(headers["content-type"], "application/x-protobuf");
    let partial = ExportLogsServiceResponse::decode(body)
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_log_records, 1, "the empty one");

    let json = serde_json::json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeLogs": [{"scope": {"name": "payments"}, "logRecords": [{
            "timeUnixNano": ago(4).to_string(),
            "severityText": "ERROR",
            "traceId": "5B8EFFF798038103D269B633813FC60C",
            "spanId": "EEE19B7EC3C1B174",
            "body": {"stringValue": "bank timed out"}
        }]}]
    }]});
    let (status, _, body) = post(
        &server,
        "/v1/logs",
        &server.responder,
        &[JSON, ("content-encoding", "identity")],
        json.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        serde_json::json!({})
    );
}

#[tokio::test]
async fn bad_bodies_and_content_types_are_refused_with_an_rpc_status() {
    let server = TestServer::new(1 << 20).await;
    for path in ["/v1/metrics", "/v1/logs"] {
        // Undecodable protobuf: 400, a google.rpc.Status in protobuf.
        let (status, headers, body) = post(
            &server,
            path,
            &server.responder,
            &[PROTOBUF],
            vec![0xff, 0xff, 0xff, 0xff],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(headers["content-type"], "application/x-protobuf");
        let rpc = RpcStatus::decode(body).unwrap();
        assert_eq!(rpc.code, 3, "INVALID_ARGUMENT");
        assert!(rpc.message.contains("not an OTLP"), "{}", rpc.message);

        // Bad JSON: 400, the status in JSON.
        let (status, headers, body) = post(
            &server,
            path,
            &server.responder,
            &[JSON],
            "{\"resourceMetrics\": 7",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(headers["content-type"], "application/json");
        let rpc: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(rpc["code"], 3);
        assert!(rpc["message"].as_str().unwrap().contains("not an OTLP"));

        // Another content type: 415.
        let (status, _, body) = post(
            &server,
            path,
            &server.responder,
            &[("content-type", "text/plain")],
            "hi",
        )
        .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let rpc: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            rpc["message"].as_str().unwrap().contains("text/plain"),
            "{rpc}"
        );
        // Another content encoding: 415.
        let (status, _, _) = post(
            &server,
            path,
            &server.responder,
            &[PROTOBUF, ("content-encoding", "br")],
            Vec::new(),
        )
        .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        // "gzip" that is not: 400.
        let (status, _, body) = post(
            &server,
            path,
            &server.responder,
            &[PROTOBUF, GZIP],
            b"plain".to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(RpcStatus::decode(body).unwrap().message.contains("gzip"));
        // Over the body limit before inflating: 413.
        let (status, _, body) = post(
            &server,
            path,
            &server.responder,
            &[PROTOBUF],
            vec![0u8; 2 << 20],
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            RpcStatus::decode(body).unwrap().code,
            8,
            "RESOURCE_EXHAUSTED"
        );
        // An empty export is a success.
        let (status, _, _) = post(&server, path, &server.responder, &[PROTOBUF], Vec::new()).await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn tokens_are_checked_like_the_other_metric_routes() {
    let server = TestServer::new(1 << 20).await;
    // Documented, for responders (`access.rs` then checks every documented route).
    let (status, doc) = server.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/v1/metrics", "/v1/logs"] {
        let op = &doc["paths"][path]["post"];
        assert_eq!(op["security"][0]["token"][0], "responder", "{path}: {op}");
        assert!(
            op["requestBody"]["content"]["application/x-protobuf"].is_object(),
            "{op}"
        );
    }
    let body = request("checkout", vec![]).encode_to_vec();
    for path in ["/v1/metrics", "/v1/logs"] {
        let (status, _, answer) = post(&server, path, "", &[PROTOBUF], body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["error"]["code"], "unauthorized");
        let (status, _, _) = post(&server, path, &server.viewer, &[PROTOBUF], body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} with a viewer token");
        let (status, _, _) = post(&server, path, &server.device, &[PROTOBUF], body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} with a device token");
        let (status, _, _) = post(&server, path, &server.admin, &[PROTOBUF], body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path} with an admin token");
    }
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_without_inflating_it() {
    let server = TestServer::new(1 << 20).await;
    // 50 MB of zeros: one 1 MiB gzip member repeated (a gzip body may hold
    // several members), about 50 KB on the wire.
    let member = gzip(&vec![0u8; 1 << 20]);
    let bomb: Vec<u8> = member
        .iter()
        .copied()
        .cycle()
        .take(member.len() * 50)
        .collect();
    assert!(bomb.len() < 1 << 20, "{} bytes compressed", bomb.len());
    // (A single member over the limit is refused alike: see the unit test
    // `gzip_is_inflated_within_a_limit`.) Inflating stops one byte past the
    // limit, 8 times the JSON limit, instead of allocating 50 MB.
    let (status, headers, answer) = post(
        &server,
        "/v1/metrics",
        &server.responder,
        &[PROTOBUF, GZIP],
        bomb,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(headers["content-type"], "application/x-protobuf");
    let rpc = RpcStatus::decode(answer).unwrap();
    assert_eq!(rpc.code, 8, "RESOURCE_EXHAUSTED");
    assert!(
        rpc.message.contains("inflates to more than 8388608 bytes"),
        "{}",
        rpc.message
    );
}
