//! `POST /api/v1/deploys` and `GET /api/v1/deploys`.

use axum::http::StatusCode;
use serde_json::json;

use crate::TestServer;

#[tokio::test]
async fn a_responder_records_deploys_and_a_viewer_lists_them_newest_first() {
    for s in TestServer::each_backend(1 << 20).await {
        let b = s.backend();
        let (status, first) = s
            .post(
                "/api/v1/deploys",
                json!({"service": "planner", "version": "2.14.0", "at": "2026-05-13T10:00:00Z"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{b}: {first}");
        assert_eq!(first["environment"], "production", "{b}");
        assert_eq!(
            first["actor"], "alice",
            "{b}: the token's owner when not given"
        );
        assert_eq!(first["at"], "2026-05-13T10:00:00Z", "{b}");
        let (status, second) = s
            .post(
                "/api/v1/deploys",
                json!({"service": "planner", "version": "2.14.1", "environment": "staging",
                       "commit": "abc123", "actor": "ci", "at": "2026-05-13T11:00:00Z"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{b}: {second}");
        let (status, other) = s
            .post(
                "/api/v1/deploys",
                json!({"service": "perception", "version": "1.0"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{b}: {other}");
        assert!(
            other["at"].is_string() && other["recorded_at"].is_string(),
            "{b}: {other}"
        );

        let (status, all) = s.get("/api/v1/deploys").await;
        assert_eq!(status, StatusCode::OK, "{b}: {all}");
        let ids: Vec<&serde_json::Value> =
            all.as_array().unwrap().iter().map(|d| &d["id"]).collect();
        assert_eq!(
            ids,
            [&other["id"], &second["id"], &first["id"]],
            "{b}: newest first"
        );

        let (_, planner) = s.get("/api/v1/deploys?service=planner&limit=1").await;
        assert_eq!(planner.as_array().unwrap().len(), 1, "{b}: {planner}");
        assert_eq!(planner[0]["version"], "2.14.1", "{b}");
        let (_, staging) = s.get("/api/v1/deploys?environment=staging").await;
        assert_eq!(staging.as_array().unwrap().len(), 1, "{b}: {staging}");
        let (_, window) = s
            .get("/api/v1/deploys?since=2026-05-13T09:00:00Z&until=2026-05-13T10:30:00Z")
            .await;
        assert_eq!(window.as_array().unwrap().len(), 1, "{b}: {window}");
        assert_eq!(window[0]["version"], "2.14.0", "{b}");

        let (_, metrics) = s.get("/metrics").await;
        let text = metrics.as_str().unwrap_or_default();
        assert!(
            text.contains("rewind_server_deploys_total 3"),
            "{b}: {text}"
        );
    }
}

#[tokio::test]
async fn bad_deploys_are_422_naming_the_field() {
    let s = TestServer::new(1 << 20).await;
    let cases = [
        (json!({"service": "planner", "version": " "}), "`version`"),
        (
            json!({"service": "x".repeat(300), "version": "1"}),
            "`service`",
        ),
        (
            json!({"service": "planner", "version": "1", "commit": "a\nb"}),
            "`commit`",
        ),
        (json!({"service": "planner"}), "version"),
        (
            json!({"service": "planner", "version": "1", "sha": "x"}),
            "sha",
        ),
        (
            json!({"service": "planner", "version": "1", "at": "yesterday"}),
            "at",
        ),
    ];
    for (body, field) in cases {
        let (status, err) = s.post("/api/v1/deploys", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
        assert!(err["error"]["hint"].is_string(), "{err}");
    }
    let (_, all) = s.get("/api/v1/deploys").await;
    assert_eq!(all, json!([]), "nothing recorded");
}

#[tokio::test]
async fn bad_list_parameters_are_400_naming_the_parameter() {
    let s = TestServer::new(1 << 20).await;
    for (query, name) in [
        ("limit=0", "limit"),
        ("limit=lots", "limit"),
        ("limit=1001", "limit"),
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        (
            "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "since",
        ),
        ("colour=blue", "colour"),
    ] {
        let (status, err) = s.get(&format!("/api/v1/deploys?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {err}");
        assert_eq!(err["error"]["code"], "bad_query", "{query}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(name), "{query}: {message}");
    }
}

#[tokio::test]
async fn deploys_need_the_right_token() {
    let s = TestServer::new(1 << 20).await;
    let body = json!({"service": "planner", "version": "1"});
    for (token, want) in [
        ("", StatusCode::UNAUTHORIZED),
        (s.viewer.as_str(), StatusCode::FORBIDDEN),
        (s.device.as_str(), StatusCode::FORBIDDEN),
    ] {
        let (status, err) = s.post_as(token, "/api/v1/deploys", body.clone()).await;
        assert_eq!(status, want, "{err}");
    }
    let (status, _) = s.get_as("", "/api/v1/deploys").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s.get_as(&s.device, "/api/v1/deploys").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.post_as(&s.admin, "/api/v1/deploys", body).await;
    assert_eq!(status, StatusCode::CREATED);
}
