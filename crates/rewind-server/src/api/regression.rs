//! Inputs of the regression watch: `POST /api/v1/metrics` and
//! `POST /api/v1/logs` take JSON Lines in the release-regression seed's
//! format; `GET /api/v1/regression/series` shows what is being watched.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
};
use rewind_model::metrics::{LogPoint, MetricPoint, log_from_json, points_from_json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ApiError, AppState,
    auth::{Responder, Viewer},
    metrics::SourceLabel,
    regress::{FeedFull, SeriesStatus},
};

/// Most lines in one request.
pub(crate) const MAX_LINES: usize = 10_000;
/// Bad lines described in an answer; the rest are only counted.
const MAX_PROBLEMS: usize = 20;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_metrics))
        .routes(routes!(post_logs))
        .routes(routes!(series))
}

/// What the server took from a JSON Lines body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct LinesAccepted {
    /// Lines read (blank ones excluded).
    pub lines: usize,
    /// Metric points or log lines taken.
    pub accepted: usize,
    /// Lines refused.
    pub refused: usize,
    /// The first refused lines, as `line N: what`.
    pub problems: Vec<String>,
}

impl LinesAccepted {
    fn refuse(&mut self, number: usize, why: &str) {
        self.refused += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(format!("line {number}: {why}"));
        }
    }
}

/// Splits a JSON Lines body (or a JSON array of objects) and parses each
/// line with `parse`; refuses the request when nothing is usable.
fn read_lines<T>(
    headers: &HeaderMap,
    body: &[u8],
    mut parse: impl FnMut(&str) -> Result<Vec<T>, String>,
    example: &str,
) -> Result<(Vec<T>, LinesAccepted), ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("the body is not UTF-8 ({e})"),
        )
        .hint("send JSON Lines: one JSON object a line")
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // A JSON array of objects is also taken, as one object a "line".
    let owned: Vec<String>;
    let lines: Vec<&str> =
        if content_type.starts_with("application/json") && text.trim_start().starts_with('[') {
            let items: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    format!("not a JSON array of objects: {e}"),
                )
                .hint(format!("send one object a line, e.g. {example}"))
            })?;
            owned = items.iter().map(ToString::to_string).collect();
            owned.iter().map(String::as_str).collect()
        } else {
            text.lines().collect()
        };
    let mut out = Vec::new();
    let mut counts = LinesAccepted::default();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        counts.lines += 1;
        if counts.lines > MAX_LINES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch_too_large",
                format!("more than {MAX_LINES} lines in one request"),
            )
            .hint(format!("send at most {MAX_LINES} lines per request")));
        }
        match parse(line) {
            Ok(items) => {
                counts.accepted += items.len();
                out.extend(items);
            }
            Err(why) => counts.refuse(i + 1, &why),
        }
    }
    if counts.accepted == 0 {
        let first = counts
            .problems
            .first()
            .cloned()
            .unwrap_or_else(|| "the body has no lines".into());
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("nothing usable in {} line(s); {first}", counts.lines),
        )
        .hint(format!("send one JSON object a line, e.g. {example}")));
    }
    Ok((out, counts))
}

fn busy(_: FeedFull) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the regression watch is behind; nothing was taken",
    )
    .hint("retry in a few seconds")
    .retry_after(std::time::Duration::from_secs(2))
}

/// Send service metrics (JSON Lines) to the regression watch.
///
/// One object a line, in the release-regression seed's format:
/// `{"timestamp":"2026-03-30T19:30:00Z","service":"checkout","error_rate":0.02,"p95_latency_ms":190.0,"request_rate":1200.0}`.
/// `timestamp` is RFC 3339 or Unix seconds; `service`, `environment` and
/// `instance` are labels; every other numeric field is one metric. With
/// `Content-Type: application/json` a JSON array of such objects is taken
/// too. At most 10,000 lines and the server's JSON size limit per request.
/// Bad lines are skipped and described; the request fails only when no
/// line is usable.
#[utoipa::path(
    post,
    path = "/api/v1/metrics",
    tag = "regressions",
    security(("token" = ["responder"])),
    request_body(content = String, content_type = "application/x-ndjson", description = "JSON Lines"),
    responses(
        (status = 202, body = LinesAccepted, description = "Taken; refused lines are described"),
        (status = 400, body = rewind_model::ApiErrorBody, description = "Not UTF-8"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 413, body = rewind_model::ApiErrorBody, description = "Over 10,000 lines or the JSON limit"),
        (status = 422, body = rewind_model::ApiErrorBody, description = "No usable line; the message names the first problem"),
        (status = 429, body = rewind_model::ApiErrorBody),
        (status = 503, body = rewind_model::ApiErrorBody, description = "The watch is behind; retry"),
    )
)]
async fn post_metrics(
    _: Responder,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<LinesAccepted>), ApiError> {
    let (points, counts): (Vec<MetricPoint>, _) = read_lines(
        &headers,
        &body,
        points_from_json,
        r#"{"timestamp":"2026-03-30T19:30:00Z","service":"checkout","error_rate":0.02}"#,
    )?;
    let n = points.len() as u64;
    state.feed().try_metrics(points).map_err(busy)?;
    state
        .metrics()
        .regression_points
        .get_or_create(&SourceLabel { source: "jsonl" })
        .inc_by(n);
    Ok((StatusCode::ACCEPTED, Json(counts)))
}

/// Send log lines (JSON Lines) to the regression watch.
///
/// One object a line: `timestamp`, `message` (or `msg`), optional `level`,
/// `service`, `environment` and `source`. They are kept for the log
/// signatures of the deploys whose windows they fall in (lines without a
/// service go with every deploy).
#[utoipa::path(
    post,
    path = "/api/v1/logs",
    tag = "regressions",
    security(("token" = ["responder"])),
    request_body(content = String, content_type = "application/x-ndjson", description = "JSON Lines"),
    responses(
        (status = 202, body = LinesAccepted, description = "Taken; refused lines are described"),
        (status = 400, body = rewind_model::ApiErrorBody, description = "Not UTF-8"),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
        (status = 413, body = rewind_model::ApiErrorBody, description = "Over 10,000 lines or the JSON limit"),
        (status = 422, body = rewind_model::ApiErrorBody, description = "No usable line; the message names the first problem"),
        (status = 429, body = rewind_model::ApiErrorBody),
        (status = 503, body = rewind_model::ApiErrorBody, description = "The watch is behind; retry"),
    )
)]
async fn post_logs(
    _: Responder,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<LinesAccepted>), ApiError> {
    let (lines, counts): (Vec<LogPoint>, _) = read_lines(
        &headers,
        &body,
        |line| log_from_json(line, "api").map(|l| vec![l]),
        r#"{"timestamp":"2026-03-30T19:30:00Z","level":"error","service":"checkout","message":"db refused"}"#,
    )?;
    state.feed().try_logs(lines).map_err(busy)?;
    Ok((StatusCode::ACCEPTED, Json(counts)))
}

/// The series the regression watch is following.
///
/// Each with its kind (which decides the direction and the tests), labels,
/// points received since the server started, and the newest value: the
/// place to check that metrics arrive before trusting a verdict.
#[utoipa::path(
    get,
    path = "/api/v1/regression/series",
    tag = "regressions",
    security(("token" = ["viewer"])),
    responses(
        (status = 200, body = Vec<SeriesStatus>),
        (status = 401, body = rewind_model::ApiErrorBody),
        (status = 403, body = rewind_model::ApiErrorBody),
    )
)]
async fn series(_: Viewer, State(state): State<AppState>) -> Json<Vec<SeriesStatus>> {
    Json(state.feed().series().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        h
    }

    #[test]
    fn good_lines_are_taken_and_bad_ones_described() {
        let body = b"{\"timestamp\":1,\"x\":1,\"y\":2}\n\nnot json\n{\"timestamp\":2,\"x\":3}\n";
        let (points, counts) =
            read_lines(&HeaderMap::new(), body, points_from_json, "e.g.").unwrap();
        assert_eq!(points.len(), 3);
        assert_eq!(counts.lines, 3);
        assert_eq!(counts.accepted, 3);
        assert_eq!(counts.refused, 1);
        assert!(
            counts.problems[0].starts_with("line 3: not a JSON object"),
            "{:?}",
            counts.problems
        );
    }

    #[test]
    fn arrays_are_taken_as_json_and_nothing_usable_is_refused() {
        let body = br#"[{"timestamp":1,"x":1},{"timestamp":2,"x":2}]"#;
        let (points, _) = read_lines(&json_headers(), body, points_from_json, "e.g.").unwrap();
        assert_eq!(points.len(), 2);
        let e = read_lines(&HeaderMap::new(), b"{}\n", points_from_json, "e.g.").unwrap_err();
        assert_eq!(e.code(), "invalid_body");
        assert!(format!("{e:?}").contains("no `timestamp`"));
        let e = read_lines(&HeaderMap::new(), &[0xff, 0xfe], points_from_json, "e.g.").unwrap_err();
        assert_eq!(e.code(), "bad_body");
        let many = "{\"timestamp\":1,\"x\":1}\n".repeat(MAX_LINES + 1);
        let e =
            read_lines(&HeaderMap::new(), many.as_bytes(), points_from_json, "e.g.").unwrap_err();
        assert_eq!(e.code(), "batch_too_large");
    }
}
