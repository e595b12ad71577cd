//! The regression watch end to end: metrics and logs posted as JSON Lines,
//! a deploy recorded, the check followed from partial to final, and a
//! regression turned into an incident whose bundle holds the evidence.

use std::time::Duration;

use axum::{body::Body, http::Request, http::StatusCode};
use rewind_model::Timestamp;
use serde_json::{Value, json};

use crate::TestServer;

/// A server whose windows are short enough for a test: 20 s after, 2 min
/// before, every point kept.
async fn server() -> TestServer {
    TestServer::with_config(|c| {
        c.regression.window = Duration::from_secs(20);
        c.regression.baseline = Duration::from_secs(120);
        c.regression.guard = Duration::from_secs(5);
        c.regression.lateness = Duration::from_secs(1);
        c.regression.min_interval = Duration::ZERO;
    })
    .await
}

fn at(base: Timestamp, seconds: f64) -> String {
    base.add_nanos((seconds * 1e9) as i64).to_string()
}

/// `POST` JSON Lines as `token`.
async fn post_lines(
    s: &TestServer,
    token: &str,
    uri: &str,
    lines: &[Value],
) -> (StatusCode, Value) {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let req = Request::post(uri)
        .header("content-type", "application/x-ndjson")
        .body(Body::from(body))
        .unwrap();
    s.request_as(token, req).await
}

/// A small deterministic wobble in [-1, 1].
fn wobble(i: i64) -> f64 {
    [0.0, 0.7, -0.4, 1.0, -0.9, 0.3, -0.2, 0.5, -0.6, -0.1][(i.rem_euclid(10)) as usize]
}

/// Metric lines for `checkout` from `from` to `to` seconds (step 1 s) around `base`.
fn metrics(base: Timestamp, from: i64, to: i64, error_rate: f64, latency: f64) -> Vec<Value> {
    (from..to)
        .map(|i| {
            json!({
                "timestamp": at(base, i as f64),
                "service": "checkout",
                "environment": "production",
                "error_rate": error_rate * (1.0 + 0.05 * wobble(i)),
                "p95_latency_ms": latency + 3.0 * wobble(i + 3),
                "request_rate": 1200.0 + 10.0 * wobble(i + 5),
            })
        })
        .collect()
}

async fn record_deploy(s: &TestServer, version: &str, when: Timestamp) -> String {
    let (status, deploy) = s
        .post(
            "/api/v1/deploys",
            json!({"service": "checkout", "version": version, "at": when.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deploy}");
    deploy["id"].as_str().unwrap().to_owned()
}

/// Polls the check until it is decided.
async fn decided(s: &TestServer, id: &str) -> Value {
    for _ in 0..200 {
        let (status, check) = s.get(&format!("/api/v1/deploys/{id}/check")).await;
        assert_eq!(status, StatusCode::OK, "{check}");
        if check["state"] == "decided"
            && (check["verdict"] != "regression" || check["incident_id"].is_string())
        {
            return check;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deploy {id} was never decided");
}

#[tokio::test]
async fn a_bad_deploy_becomes_an_incident_with_its_verdict_and_new_log_signature() {
    let s = server().await;
    let now = Timestamp::now();
    // Two minutes of healthy baseline, and routine log lines.
    let (status, taken) = post_lines(
        &s,
        &s.responder,
        "/api/v1/metrics",
        &metrics(now, -110, 0, 0.01, 190.0),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{taken}");
    assert_eq!(taken["accepted"], 330, "{taken}");
    let before: Vec<Value> = (-110..0)
        .step_by(5)
        .map(|i| json!({"timestamp": at(now, i as f64), "level": "warn", "service": "checkout", "message": format!("cart {} took {} ms", i + 500, 90 - i)}))
        .collect();
    assert_eq!(
        post_lines(&s, &s.responder, "/api/v1/logs", &before)
            .await
            .0,
        StatusCode::ACCEPTED
    );

    let id = record_deploy(&s, "1.4.3", now).await;
    // The release fails payments: errors ×5, latency +70 ms, and a new error line.
    let after: Vec<Value> = (0..20)
        .map(|i| json!({"timestamp": at(now, i as f64 + 0.5), "level": "error", "service": "checkout", "message": format!("payment {} failed: connection to 10.0.0.{}:5432 refused", 9000 + i, i % 4)}))
        .collect();
    assert_eq!(
        post_lines(&s, &s.responder, "/api/v1/logs", &after).await.0,
        StatusCode::ACCEPTED
    );
    let (status, _) = post_lines(
        &s,
        &s.responder,
        "/api/v1/metrics",
        &metrics(now, 0, 23, 0.05, 260.0),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let check = decided(&s, &id).await;
    assert_eq!(check["verdict"], "regression", "{check:#}");
    let summary = check["summary"].as_str().unwrap();
    assert!(summary.contains("checkout/error_rate"), "{summary}");
    assert!(summary.contains("New log signature"), "{summary}");
    assert!(summary.contains("refused"), "{summary}");
    let metrics = check["evidence"]["verdict"]["metrics"].as_array().unwrap();
    let regressed: Vec<&str> = metrics
        .iter()
        .filter(|m| m["verdict"] == "regression")
        .map(|m| m["series"].as_str().unwrap())
        .collect();
    assert!(regressed.contains(&"checkout/error_rate"), "{regressed:?}");
    assert!(
        regressed.contains(&"checkout/p95_latency_ms"),
        "{regressed:?}"
    );
    assert!(
        !regressed.contains(&"checkout/request_rate"),
        "{regressed:?}"
    );
    let sigs = check["evidence"]["log_signatures"]["changes"]
        .as_array()
        .unwrap();
    assert_eq!(sigs.len(), 1, "{sigs:#?}");
    assert_eq!(sigs[0]["kind"], "new");
    assert_eq!(sigs[0]["count_after"], 20);

    // The incident: the verdict as its trigger, the deploy on its timeline,
    // the series and the signature's line in its bundle.
    let incident = check["incident_id"].as_str().unwrap();
    let (status, detail) = s.get(&format!("/api/v1/incidents/{incident}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["trigger"]["rule"], "deploy-regression");
    assert_eq!(detail["trigger"]["labels"]["deploy_id"], id.as_str());
    assert_eq!(detail["device_id"], "checkout");
    let evidence = detail["trigger"]["evidence"].as_array().unwrap();
    assert!(
        evidence.iter().any(|e| e["series"] == "checkout/error_rate"
            && e["baseline"]["samples"].as_u64().unwrap() > 50),
        "{evidence:#?}"
    );
    let series: Vec<&str> = detail["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert!(series.contains(&"checkout/error_rate"), "{series:?}");
    // The signature's first line is among the bundle's events, in the detail.
    let events = detail["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["message"].as_str().unwrap_or("").contains("refused")
                && e["fields"]["count_after"] == "20"),
        "{events:#?}"
    );
    assert_eq!(detail["events_truncated"], false);
    let (_, timeline) = s
        .get(&format!("/api/v1/incidents/{incident}/timeline"))
        .await;
    let kinds: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("?"))
        .collect();
    assert!(kinds.contains(&"deploy"), "{timeline:#}");
    let (status, md) = s
        .get(&format!("/api/v1/incidents/{incident}/export.md"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(md.as_str().unwrap_or_default().contains("refused"), "{md}");

    // Decided once: asking again gives the same stored answer.
    let again = decided(&s, &id).await;
    assert_eq!(again["decided_at"], check["decided_at"]);
}

#[tokio::test]
async fn a_healthy_deploy_is_no_regression_and_opens_nothing() {
    let s = server().await;
    let now = Timestamp::now();
    post_lines(
        &s,
        &s.responder,
        "/api/v1/metrics",
        &metrics(now, -110, 0, 0.01, 190.0),
    )
    .await;
    let id = record_deploy(&s, "1.4.4", now).await;
    post_lines(
        &s,
        &s.responder,
        "/api/v1/metrics",
        &metrics(now, 0, 23, 0.01, 190.0),
    )
    .await;
    let check = decided(&s, &id).await;
    assert_eq!(check["verdict"], "no_regression", "{check:#}");
    assert!(check.get("incident_id").is_none());
    let (_, list) = s.get("/api/v1/incidents").await;
    assert_eq!(list["incidents"].as_array().unwrap().len(), 0, "{list}");

    // What is watched, with kinds from the names.
    let (status, series) = s.get("/api/v1/regression/series").await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<(String, String)> = series
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_owned(),
                x["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("error_rate".into(), "rate".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("p95_latency_ms".into(), "latency".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("request_rate".into(), "throughput".into())),
        "{kinds:?}"
    );
    assert!(
        series
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["points"] == 133 && x["service"] == "checkout")
    );
}

#[tokio::test]
async fn a_check_is_partial_while_its_window_is_open() {
    let s = server().await;
    let now = Timestamp::now();
    post_lines(
        &s,
        &s.responder,
        "/api/v1/metrics",
        &metrics(now, -110, 0, 0.01, 190.0),
    )
    .await;
    let id = record_deploy(&s, "1.5.0", now).await;
    post_lines(
        &s,
        &s.responder,
        "/api/v1/metrics",
        &metrics(now, 0, 8, 0.08, 190.0),
    )
    .await;
    let (status, check) = s.get(&format!("/api/v1/deploys/{id}/check")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(check["state"], "watching", "{check:#}");
    assert_eq!(check["verdict"], "regression", "{check:#}");
    assert_eq!(check["evidence"]["partial"], true, "{check:#}");
    assert!(
        check["summary"]
            .as_str()
            .unwrap()
            .contains("Detected early"),
        "{check:#}"
    );
    assert_eq!(check["window_end"], at(now, 20.0));

    // A deploy long over was never watched; unknown and malformed ids are refused.
    let old = record_deploy(&s, "0.9", now.add_nanos(-3_600_000_000_000)).await;
    let (_, check) = s.get(&format!("/api/v1/deploys/{old}/check")).await;
    assert_eq!(check["state"], "not_watched", "{check:#}");
    let (status, _) = s
        .get(&format!(
            "/api/v1/deploys/{}/check",
            rewind_model::DeployId::new_v7()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s.get("/api/v1/deploys/nope/check").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn metric_lines_are_checked_and_need_a_responder() {
    let s = server().await;
    let line = json!({"timestamp": Timestamp::now().to_string(), "error_rate": 0.1});
    let (status, _) = post_lines(
        &s,
        &s.viewer,
        "/api/v1/metrics",
        std::slice::from_ref(&line),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post_lines(&s, "", "/api/v1/metrics", std::slice::from_ref(&line)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let bad = [
        json!({"error_rate": 0.1}),
        json!({"timestamp": "soon", "x": 1}),
    ];
    let (status, body) = post_lines(&s, &s.responder, "/api/v1/metrics", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1: no `timestamp`"),
        "{body}"
    );
    let mixed = [line.clone(), json!({"timestamp": 1, "x": "high"})];
    let (status, body) = post_lines(&s, &s.responder, "/api/v1/metrics", &mixed).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        (body["accepted"].as_u64(), body["refused"].as_u64()),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn agent_samples_are_watched_as_series_of_the_device_in_its_fleet() {
    let s = server().await;
    let now = Timestamp::now();
    let sample =
        |v: f64| json!({"series": "cpu.total.busy_pct", "ts": now.to_string(), "value": v});
    // Not in a fleet: not watched (it would be judged for every deploy).
    let (status, _) = s
        .post_as(
            &s.device,
            "/api/v1/samples",
            json!({"device_id": "robot-7", "samples": [sample(1.0)], "events": []}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let req = Request::post("/api/v1/devices/robot-7/register")
        .header("content-type", "application/json")
        .body(Body::from(json!({"fleet": "warehouse-bots"}).to_string()))
        .unwrap();
    let (status, body) = s.request_as(&s.device, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let batch = json!({
        "device_id": "robot-7",
        "samples": [
            {"series": "cpu.total.busy_pct", "ts": now.to_string(), "value": 12.5},
            {"series": "cpu.total.busy_pct", "ts": at(now, 1.0), "value": 13.0},
        ],
        "events": [],
    });
    let (status, body) = s.post_as(&s.device, "/api/v1/samples", batch).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    for _ in 0..100 {
        let (_, series) = s.get("/api/v1/regression/series").await;
        if let Some(x) = series
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "cpu.total.busy_pct")
        {
            assert_eq!(x["instance"], "robot-7");
            assert_eq!(x["environment"], "warehouse-bots");
            assert_eq!(x["points"], 2);
            assert_eq!(x["last_value"], 13.0);
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the agent's series never reached the regression watch");
}
