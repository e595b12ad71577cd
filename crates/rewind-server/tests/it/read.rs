use axum::http::StatusCode;

use crate::{TestServer, bundle};

#[tokio::test]
async fn detail_returns_the_trigger_and_the_series_from_the_bundle() {
    let server = TestServer::new(1 << 20).await;
    let (_, created) = server.upload(bundle(50)).await;
    let id = created["id"].as_str().unwrap();

    let (status, list) = server.get("/api/v1/incidents").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["incidents"][0]["id"], id);

    let (status, detail) = server.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["trigger"]["evidence"][0]["condition"]["above"], 70.0);
    let series = &detail["series"][0];
    assert_eq!(series["name"], "cpu.total.busy_pct");
    assert_eq!(series["unit"], "percent");
    assert_eq!(series["v"].as_array().unwrap().len(), 50);
    assert_eq!(series["t"].as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn unknown_and_malformed_ids_and_routes_get_json_errors() {
    let server = TestServer::new(1 << 20).await;
    let (status, body) = server
        .get("/api/v1/incidents/0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = server.get("/api/v1/incidents/nope").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_id"))
    );
    let (status, body) = server.get("/api/v1/nothing-here").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = server.get("/api/v1/incidents?min_severity=urgent").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_query"))
    );
}

#[tokio::test]
async fn list_filters_by_severity_and_device() {
    let server = TestServer::new(1 << 20).await;
    server.upload(bundle(5)).await;
    let (_, high) = server.get("/api/v1/incidents?min_severity=high").await;
    assert_eq!(high["incidents"].as_array().unwrap().len(), 1);
    let (_, crit) = server.get("/api/v1/incidents?min_severity=critical").await;
    assert_eq!(crit["incidents"].as_array().unwrap().len(), 0);
    let (_, other) = server.get("/api/v1/incidents?device=robot-8").await;
    assert_eq!(other["incidents"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn health_and_dashboard_answer() {
    let server = TestServer::new(1 << 20).await;
    let (status, health) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["storage"], "sqlite");
    // Either the built dashboard or the page saying how to build it.
    let (status, page) = server.get("/incidents/whatever").await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(
        page.contains("<!doctype html>") || page.contains("<!DOCTYPE html>"),
        "{page}"
    );
}

#[tokio::test]
async fn a_wrong_method_on_a_real_route_gets_a_json_405() {
    let server = TestServer::new(1 << 20).await;
    let (status, body) = server.get("/api/v1/bundles").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
}
