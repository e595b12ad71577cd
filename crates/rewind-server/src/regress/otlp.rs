//! OpenTelemetry over OTLP/HTTP: `POST /v1/metrics` and `POST /v1/logs`
//! (issue 7, metric source (c); logs for the log signatures).
//!
//! Both encodings of the OTLP/HTTP specification are taken: binary
//! protobuf (`Content-Type: application/x-protobuf`) and the OTLP JSON
//! mapping (`application/json`), either plain or with
//! `Content-Encoding: gzip`. A compressed body may be at most the server's
//! JSON limit, and inflates to at most [`GZIP_FACTOR`] times that (413
//! beyond: a zip bomb stops there).
//!
//! Answers follow the specification: 200 with an `Export…ServiceResponse`
//! in the request's encoding, whose `partial_success` counts and describes
//! the data points or log records rejected; errors carry a
//! `google.rpc.Status` in the request's encoding (JSON when the encoding
//! is unknown): 400 for a body that does not decode, 413, 415 for another
//! content type or encoding, 503 with `Retry-After` when the regression
//! watch is behind (nothing was taken; retry). The token is checked first,
//! as for every Rewind route: 401, 403 and 429 have Rewind's error body.
//!
//! The mapping to [`MetricPoint`](rewind_model::metrics::MetricPoint)s and
//! [`LogPoint`](rewind_model::metrics::LogPoint)s is in [`convert`]. The
//! previous points of cumulative series (to turn counters into rates) are
//! kept per router, bounded, and only updated once a request's points were
//! taken.

mod convert;

use std::{
    io::Read as _,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{
    Extension,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use opentelemetry_proto::tonic::collector::{
    logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse},
    metrics::v1::{
        ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
    },
};
use prost::Message as _;
use serde::de::DeserializeOwned;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{AppState, auth::Responder, metrics::SourceLabel};

/// How much a gzip body may inflate, relative to the server's JSON limit.
pub(crate) const GZIP_FACTOR: usize = 8;
/// How long a client is asked to wait when the watch is behind.
const RETRY_AFTER: Duration = Duration::from_secs(2);
const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// The previous points of cumulative series, shared by the OTLP routes.
type SharedMemory = Arc<Mutex<convert::Memory>>;

/// The OTLP routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    let memory: SharedMemory = Arc::default();
    OpenApiRouter::new()
        .routes(routes!(post_metrics))
        .routes(routes!(post_logs))
        .layer(Extension(memory))
}

/// How a request (and so its answer) is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// From the `Content-Type` header; `None` for anything else.
    fn of(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
        let media = value.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case(PROTOBUF)
            || media.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Self::Protobuf)
        } else if media.eq_ignore_ascii_case(JSON) {
            Some(Self::Json)
        } else {
            None
        }
    }

    const fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => PROTOBUF,
            Self::Json => JSON,
        }
    }
}

/// `google.rpc.Status`, the body of OTLP/HTTP errors (its `details` are
/// never sent).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// An OTLP error answer.
#[derive(Debug)]
struct OtlpError {
    status: StatusCode,
    encoding: Encoding,
    message: String,
}

impl OtlpError {
    fn new(status: StatusCode, encoding: Encoding, message: impl Into<String>) -> Self {
        Self {
            status,
            encoding,
            message: message.into(),
        }
    }
}

impl IntoResponse for OtlpError {
    fn into_response(self) -> Response {
        // google.rpc.Code for the HTTP status.
        let code = match self.status {
            StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3, // INVALID_ARGUMENT
            StatusCode::PAYLOAD_TOO_LARGE => 8,                                // RESOURCE_EXHAUSTED
            StatusCode::SERVICE_UNAVAILABLE => 14,                             // UNAVAILABLE
            _ => 2,                                                            // UNKNOWN
        };
        let body = match self.encoding {
            Encoding::Protobuf => RpcStatus {
                code,
                message: self.message,
            }
            .encode_to_vec(),
            Encoding::Json => serde_json::json!({ "code": code, "message": self.message })
                .to_string()
                .into_bytes(),
        };
        let mut res = (
            self.status,
            [(header::CONTENT_TYPE, self.encoding.content_type())],
            body,
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER.as_secs()),
            );
        }
        res
    }
}

/// The encoding and the (inflated) body of a request; a gzip body may
/// inflate to `limit` bytes.
fn read_body(
    limit: usize,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Encoding, Bytes), OtlpError> {
    let Some(encoding) = Encoding::of(headers) else {
        let got = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        return Err(OtlpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Encoding::Json,
            format!("the content type {got:?} is not taken; send {PROTOBUF} or {JSON}"),
        ));
    };
    let body = body.map_err(|e| OtlpError::new(e.status(), encoding, e.body_text()))?;
    let coding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match coding.as_deref() {
        None | Some("" | "identity") => Ok((encoding, body)),
        Some("gzip" | "x-gzip") => gunzip(&body, limit, encoding).map(|b| (encoding, b)),
        Some(other) => Err(OtlpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            encoding,
            format!("the content encoding {other:?} is not taken; send gzip or nothing"),
        )),
    }
}

/// Inflates a gzip body, refusing one that would exceed `limit` bytes
/// (without ever holding more than that).
fn gunzip(body: &[u8], limit: usize, encoding: Encoding) -> Result<Bytes, OtlpError> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(body)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| {
            OtlpError::new(
                StatusCode::BAD_REQUEST,
                encoding,
                format!("the body is not valid gzip: {e}"),
            )
        })?;
    if out.len() > limit {
        return Err(OtlpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            encoding,
            format!("the body inflates to more than {limit} bytes; send smaller batches"),
        ));
    }
    Ok(out.into())
}

/// Decodes an OTLP request in its encoding.
fn decode<T: prost::Message + Default + DeserializeOwned>(
    encoding: Encoding,
    body: &[u8],
    what: &str,
) -> Result<T, OtlpError> {
    let result = match encoding {
        Encoding::Protobuf => T::decode(body).map_err(|e| e.to_string()),
        Encoding::Json => serde_json::from_slice(body).map_err(|e| e.to_string()),
    };
    result.map_err(|e| {
        OtlpError::new(
            StatusCode::BAD_REQUEST,
            encoding,
            format!("the body is not an OTLP {what}: {e}"),
        )
    })
}

/// Reads and decodes a request off the async workers (inflating and
/// decoding megabytes takes a while).
async fn export<T>(
    state: &AppState,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    what: &'static str,
) -> Result<(Encoding, T), OtlpError>
where
    T: prost::Message + Default + DeserializeOwned + Send + 'static,
{
    let limit = state.max_json_bytes().saturating_mul(GZIP_FACTOR);
    let fallback = Encoding::of(&headers).unwrap_or(Encoding::Json);
    tokio::task::spawn_blocking(move || {
        let (encoding, body) = read_body(limit, &headers, body)?;
        decode(encoding, &body, what).map(|request| (encoding, request))
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "decoding an OTLP request failed");
        Err(OtlpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            fallback,
            "internal server error; the server log has the details",
        ))
    })
}

fn busy(encoding: Encoding) -> OtlpError {
    OtlpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        encoding,
        "the regression watch is behind; nothing was taken: retry",
    )
}

/// A 200 answer: the protobuf message, or its OTLP JSON form (built by
/// hand: int64 as a string, nothing for an empty message).
fn success(encoding: Encoding, protobuf: Vec<u8>, json: serde_json::Value) -> Response {
    let body = match encoding {
        Encoding::Protobuf => protobuf,
        Encoding::Json => json.to_string().into_bytes(),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response()
}

fn partial_json(rejected_field: &str, rejected: u64, message: String) -> serde_json::Value {
    if rejected == 0 {
        return serde_json::json!({});
    }
    serde_json::json!({
        "partialSuccess": { rejected_field: rejected.to_string(), "errorMessage": message }
    })
}

/// Send OpenTelemetry metrics (OTLP/HTTP) to the regression watch.
///
/// An `ExportMetricsServiceRequest`, as binary protobuf
/// (`application/x-protobuf`) or OTLP JSON (`application/json`), optionally
/// gzipped (`Content-Encoding: gzip`). The resource's `service.name`,
/// `deployment.environment.name` and `service.instance.id` (or `host.name`)
/// are the labels; data point attributes are appended to the name
/// (`name{key="value",…}`). Gauges and non-monotonic sums are taken as they
/// are, monotonic sums as per-second rates, histograms as `.p50`, `.p95`,
/// `.p99` and a `.count` rate, summaries as their quantiles. Point an
/// OpenTelemetry Collector's `otlphttp` exporter at the server with an
/// `Authorization: Bearer` header. Rejected points are counted and
/// described in `partial_success`.
#[utoipa::path(
    post,
    path = "/v1/metrics",
    tag = "regressions",
    security(("token" = ["responder"])),
    request_body(
        description = "An ExportMetricsServiceRequest",
        content((Vec<u8> = "application/x-protobuf"), (String = "application/json"))
    ),
    responses(
        (status = 200, description = "Taken: an ExportMetricsServiceResponse in the request's encoding, with partial_success when points were rejected",
            content(("application/x-protobuf"), ("application/json"))),
        (status = 400, description = "The body does not decode: a google.rpc.Status"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 413, description = "Over the JSON limit, or inflating beyond 8 times it: a google.rpc.Status"),
        (status = 415, description = "Another content type or encoding: a google.rpc.Status (JSON)"),
        (status = 429, body = rewind_model::ApiErrorBody),
        (status = 503, description = "The watch is behind; retry after Retry-After: a google.rpc.Status"),
    )
)]
async fn post_metrics(
    _: Responder,
    State(state): State<AppState>,
    Extension(memory): Extension<SharedMemory>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OtlpError> {
    let (encoding, request): (_, ExportMetricsServiceRequest) =
        export(&state, headers, body, "metrics export").await?;
    let (taken, rejected, message) = {
        let mut memory = memory.lock().unwrap_or_else(PoisonError::into_inner);
        let (converted, pending) = convert::metrics(&request, &memory);
        let message = converted.message();
        let (taken, rejected) = (converted.items.len() as u64, converted.rejected);
        state
            .feed()
            .try_metrics(converted.items)
            .map_err(|_| busy(encoding))?;
        memory.commit(pending);
        (taken, rejected, message)
    };
    let metrics = state.metrics();
    metrics
        .regression_points
        .get_or_create(&SourceLabel { source: "otlp" })
        .inc_by(taken);
    if rejected > 0 {
        metrics.regression_dropped.inc_by(rejected);
        tracing::debug!(rejected, "OTLP metrics: {message}");
    }
    let protobuf = ExportMetricsServiceResponse {
        partial_success: (rejected > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
            error_message: message.clone(),
        }),
    }
    .encode_to_vec();
    Ok(success(
        encoding,
        protobuf,
        partial_json("rejectedDataPoints", rejected, message),
    ))
}

/// Send OpenTelemetry logs (OTLP/HTTP) to the regression watch.
///
/// An `ExportLogsServiceRequest`, encoded as for `POST /v1/metrics`. Each
/// log record becomes a line for the log signatures of the deploys whose
/// windows it falls in: its time (else its observed time), its level (from
/// the severity number, else the severity text), its body as text, the
/// resource's service and environment, and `otlp:<scope name>` as its
/// source. Rejected records are counted and described in `partial_success`.
#[utoipa::path(
    post,
    path = "/v1/logs",
    tag = "regressions",
    security(("token" = ["responder"])),
    request_body(
        description = "An ExportLogsServiceRequest",
        content((Vec<u8> = "application/x-protobuf"), (String = "application/json"))
    ),
    responses(
        (status = 200, description = "Taken: an ExportLogsServiceResponse in the request's encoding, with partial_success when records were rejected",
            content(("application/x-protobuf"), ("application/json"))),
        (status = 400, description = "The body does not decode: a google.rpc.Status"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 413, description = "Over the JSON limit, or inflating beyond 8 times it: a google.rpc.Status"),
        (status = 415, description = "Another content type or encoding: a google.rpc.Status (JSON)"),
        (status = 429, body = rewind_model::ApiErrorBody),
        (status = 503, description = "The watch is behind; retry after Retry-After: a google.rpc.Status"),
    )
)]
async fn post_logs(
    _: Responder,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OtlpError> {
    let (encoding, request): (_, ExportLogsServiceRequest) =
        export(&state, headers, body, "logs export").await?;
    let converted = convert::logs(&request);
    let message = converted.message();
    let rejected = converted.rejected;
    state
        .feed()
        .try_logs(converted.items)
        .map_err(|_| busy(encoding))?;
    if rejected > 0 {
        tracing::debug!(rejected, "OTLP logs: {message}");
    }
    let protobuf = ExportLogsServiceResponse {
        partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: i64::try_from(rejected).unwrap_or(i64::MAX),
            error_message: message.clone(),
        }),
    }
    .encode_to_vec();
    Ok(success(
        encoding,
        protobuf,
        partial_json("rejectedLogRecords", rejected, message),
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn content_types_are_recognised() {
        assert_eq!(
            Encoding::of(&headers(&[("content-type", "application/x-protobuf")])),
            Some(Encoding::Protobuf)
        );
        assert_eq!(
            Encoding::of(&headers(&[(
                "content-type",
                "Application/JSON; charset=utf-8"
            )])),
            Some(Encoding::Json)
        );
        assert_eq!(
            Encoding::of(&headers(&[("content-type", "text/plain")])),
            None
        );
        assert_eq!(Encoding::of(&HeaderMap::new()), None);
    }

    #[test]
    fn gzip_is_inflated_within_a_limit() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[0u8; 10_000]).unwrap();
        let body = gz.finish().unwrap();
        assert_eq!(gunzip(&body, 10_000, Encoding::Json).unwrap().len(), 10_000);
        let e = gunzip(&body, 9_999, Encoding::Json).unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        let e = gunzip(b"not gzip", 100, Encoding::Protobuf).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn errors_are_rpc_statuses_in_the_request_encoding() {
        let res = busy(Encoding::Protobuf).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROTOBUF);
        let res = OtlpError::new(StatusCode::BAD_REQUEST, Encoding::Json, "no").into_response();
        assert_eq!(res.headers()[header::CONTENT_TYPE], JSON);
        assert!(res.headers().get(header::RETRY_AFTER).is_none());
        assert_eq!(
            partial_json("rejectedDataPoints", 2, "why".into()),
            serde_json::json!({"partialSuccess": {"rejectedDataPoints": "2", "errorMessage": "why"}})
        );
        assert_eq!(
            partial_json("rejectedLogRecords", 0, String::new()),
            serde_json::json!({})
        );
    }

    /// The OTLP JSON mapping as the specification's examples write it:
    /// lowerCamelCase, int64 as strings (or numbers), enums as integers,
    /// hex trace ids.
    #[test]
    fn otlp_json_as_the_specification_writes_it_decodes() {
        let metrics = r#"{"resourceMetrics":[{"resource":{"attributes":[
            {"key":"service.name","value":{"stringValue":"my.service"}}]},
          "scopeMetrics":[{"scope":{"name":"my.library","version":"1.0.0",
            "attributes":[{"key":"my.scope.attribute","value":{"stringValue":"some scope attribute"}}]},
          "metrics":[
            {"name":"my.counter","unit":"1","description":"I am a Counter","sum":{"aggregationTemporality":1,"isMonotonic":true,
              "dataPoints":[{"asDouble":5,"startTimeUnixNano":"1544712660300000000","timeUnixNano":"1544712661300000000",
                "attributes":[{"key":"my.counter.attr","value":{"stringValue":"some value"}}]}]}},
            {"name":"my.gauge","unit":"1","description":"I am a Gauge","gauge":{"dataPoints":[
              {"asInt":"10","timeUnixNano":"1544712660300000000","attributes":[{"key":"my.gauge.attr","value":{"intValue":"7"}}]}]}},
            {"name":"my.histogram","unit":"1","description":"I am a Histogram","histogram":{"aggregationTemporality":1,
              "dataPoints":[{"startTimeUnixNano":"1544712660300000000","timeUnixNano":"1544712661300000000",
                "count":"2","sum":2,"bucketCounts":["1","1"],"explicitBounds":[1],"min":0,"max":2,
                "exemplars":[{"asDouble":1.5,"timeUnixNano":"1544712660300000000","traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174"}]}]}},
            {"name":"my.exponential.histogram","exponentialHistogram":{"aggregationTemporality":1,
              "dataPoints":[{"startTimeUnixNano":"1544712660300000000","timeUnixNano":"1544712661300000000",
                "count":3,"sum":10,"scale":0,"zeroCount":1,"positive":{"offset":1,"bucketCounts":[0,2]},"min":0,"max":5,"zeroThreshold":0}]}},
            {"name":"my.unknown","someFutureField":{"x":1}},
            {"name":"my.string","gauge":{"dataPoints":[{"asDouble":"NaN","timeUnixNano":"1544712660300000000"}]}}
          ]}]}]}"#;
        let req: ExportMetricsServiceRequest =
            decode(Encoding::Json, metrics.as_bytes(), "metrics export").unwrap();
        let (out, _) = convert::metrics(&req, &convert::Memory::default());
        // A metric of an unknown kind, and a value written as a string (the
        // decoder leaves such data out): rejected, and named.
        assert_eq!(out.rejected, 2, "{}", out.message());
        assert!(
            out.message().contains("my.unknown: no gauge"),
            "{}",
            out.message()
        );
        assert!(
            out.message()
                .contains("my.string: a data point without a value"),
            "{}",
            out.message()
        );
        let got: Vec<(String, f64)> = out
            .items
            .iter()
            .map(|p| (p.name.clone(), p.value))
            .collect();
        assert_eq!(
            got[0],
            (
                r#"my.counter{my.counter.attr="some value"}"#.to_owned(),
                5.0
            )
        );
        assert_eq!(got[1], (r#"my.gauge{my.gauge.attr="7"}"#.to_owned(), 10.0));
        assert_eq!(got[2], ("my.histogram.p50".to_owned(), 1.0));
        assert!(
            got.iter().any(|(n, _)| n == "my.exponential.histogram.p95"),
            "{got:?}"
        );
        assert_eq!(out.items[0].service.as_deref(), Some("my.service"));

        let logs = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
          "scopeLogs":[{"scope":{"name":"my.library","version":"1.0.0"},"logRecords":[
            {"timeUnixNano":"1544712660300000000","observedTimeUnixNano":"1544712660300000000","severityNumber":10,
             "severityText":"Information","traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
             "body":{"stringValue":"Example log record"},
             "attributes":[{"key":"string.attribute","value":{"stringValue":"some string"}},
               {"key":"boolean.attribute","value":{"boolValue":true}},{"key":"int.attribute","value":{"intValue":"10"}},
               {"key":"double.attribute","value":{"doubleValue":637.704}},
               {"key":"array.attribute","value":{"arrayValue":{"values":[{"stringValue":"many"},{"stringValue":"values"}]}}},
               {"key":"map.attribute","value":{"kvlistValue":{"values":[{"key":"some.map.key","value":{"stringValue":"some value"}}]}}}]}
          ]}]}]}"#;
        let req: ExportLogsServiceRequest =
            decode(Encoding::Json, logs.as_bytes(), "logs export").unwrap();
        let out = convert::logs(&req);
        assert_eq!(out.items.len(), 1, "{}", out.message());
        assert_eq!(out.items[0].text, "Example log record");
        assert_eq!(out.items[0].level, Some(rewind_model::Level::Info));
        assert_eq!(out.items[0].source, "otlp:my.library");

        let e = decode::<ExportLogsServiceRequest>(
            Encoding::Json,
            b"{\"resourceLogs\":7}",
            "logs export",
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = decode::<ExportLogsServiceRequest>(
            Encoding::Protobuf,
            &[0xff, 0xff, 0xff],
            "logs export",
        )
        .unwrap_err();
        assert!(
            e.message.contains("not an OTLP logs export"),
            "{}",
            e.message
        );
    }
}
