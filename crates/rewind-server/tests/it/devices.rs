//! `POST /api/v1/devices/{id}/register`, `GET /api/v1/devices[/{id}]`.

use axum::http::StatusCode;
use serde_json::json;

use crate::TestServer;

#[tokio::test]
async fn a_device_registers_its_identity_and_viewers_see_it() {
    for s in TestServer::each_backend(1 << 20).await {
        let b = s.backend();
        let identity = json!({"fleet": "warehouse-bots", "site": "berlin-2",
                              "hardware": "jetson-orin-nx-16gb", "software_version": "2.14.1",
                              "agent_version": "0.1.0"});
        let (status, device) = s
            .post_as(
                &s.device,
                "/api/v1/devices/robot-7/register",
                identity.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b}: {device}");
        assert_eq!(device["device_id"], "robot-7", "{b}");
        assert_eq!(device["fleet"], "warehouse-bots", "{b}");
        let first_seen = device["first_seen_at"].clone();

        let (status, list) = s.get("/api/v1/devices").await;
        assert_eq!(status, StatusCode::OK, "{b}: {list}");
        assert_eq!(list.as_array().unwrap().len(), 1, "{b}: {list}");
        assert_eq!(list[0]["hardware"], "jetson-orin-nx-16gb", "{b}");

        // Registering again replaces the identity and keeps the first sighting.
        let (status, again) = s
            .post_as(
                &s.device,
                "/api/v1/devices/robot-7/register",
                json!({"fleet": "warehouse-bots", "software_version": "2.15.0"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b}: {again}");
        let (status, one) = s.get("/api/v1/devices/robot-7").await;
        assert_eq!(status, StatusCode::OK, "{b}: {one}");
        assert_eq!(one["software_version"], "2.15.0", "{b}: {one}");
        assert_eq!(one["first_seen_at"], first_seen, "{b}");

        // An admin may register a device by hand.
        let (status, _) = s
            .post_as(&s.admin, "/api/v1/devices/robot-9/register", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{b}");
    }
}

#[tokio::test]
async fn registration_is_for_the_tokens_own_device() {
    let s = TestServer::new(1 << 20).await;
    let uri = "/api/v1/devices/robot-7/register";
    let (status, err) = s.post_as(&s.other_device, uri, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["error"]["code"], "wrong_device");
    assert!(
        err["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("rewind token create --device")
    );
    for token in [&s.viewer, &s.responder] {
        let (status, _) = s.post_as(token, uri, json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = s.post_as("", uri, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Device tokens read nothing.
    let (status, _) = s.get_as(&s.device, "/api/v1/devices").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.get_as("", "/api/v1/devices/robot-7").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_identities_are_422_naming_the_field_and_bad_ids_400() {
    let s = TestServer::new(1 << 20).await;
    let uri = "/api/v1/devices/robot-7/register";
    for (body, field) in [
        (json!({"fleet": "x".repeat(257)}), "`fleet`"),
        (json!({"site": "a\u{7}b"}), "`site`"),
        (json!({"hardware": "h", "colour": "red"}), "colour"),
        (json!({"software_version": 7}), "software_version"),
    ] {
        let (status, err) = s.post_as(&s.device, uri, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    let (status, err) = s
        .post_as(&s.admin, "/api/v1/devices/bad!id/register", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = s.get("/api/v1/devices/bad!id").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = s.get("/api/v1/devices/robot-404").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    assert!(
        err["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("/api/v1/devices")
    );
}
