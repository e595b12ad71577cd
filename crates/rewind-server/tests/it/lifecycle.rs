//! The incident lifecycle over HTTP: moves, refusals, notes, reopening,
//! deploy links and exports, on every backend.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{TestServer, bundle};

async fn opened(server: &TestServer) -> String {
    let (status, body) = server.upload(bundle(20)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn move_to(server: &TestServer, id: &str, to: &str) -> (StatusCode, Value) {
    server
        .post(
            &format!("/api/v1/incidents/{id}/transitions"),
            json!({"to": to, "reason": format!("going {to}")}),
        )
        .await
}

#[tokio::test]
async fn an_incident_walks_its_lifecycle_and_the_timeline_records_who_and_why() {
    for server in TestServer::each_backend(1 << 20).await {
        let id = opened(&server).await;
        for to in [
            "acknowledged",
            "mitigated",
            "acknowledged",
            "mitigated",
            "resolved",
        ] {
            let (status, body) = move_to(&server, &id, to).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{}: → {to}: {body}",
                server.backend()
            );
            assert_eq!(body["status"], to);
        }
        let (_, timeline) = server
            .get(&format!("/api/v1/incidents/{id}/timeline"))
            .await;
        let entries = timeline.as_array().unwrap();
        assert_eq!(entries.len(), 6);
        let last = &entries[5];
        assert_eq!(last["kind"], "transition");
        assert_eq!(
            (last["from"].as_str(), last["to"].as_str()),
            (Some("mitigated"), Some("resolved"))
        );
        assert_eq!(last["actor"], "alice");
        assert_eq!(last["reason"], "going resolved");
        let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    }
}

#[tokio::test]
async fn a_disallowed_move_is_409_with_the_allowed_ones_and_changes_nothing() {
    for server in TestServer::each_backend(1 << 20).await {
        let id = opened(&server).await;
        let (status, body) = move_to(&server, &id, "open").await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "invalid_transition");
        assert_eq!(
            body["error"]["details"]["allowed"],
            json!(["acknowledged", "mitigated", "resolved"])
        );
        assert!(
            body["error"]["hint"]
                .as_str()
                .unwrap()
                .contains("acknowledged")
        );
        move_to(&server, &id, "resolved").await;
        let (status, body) = move_to(&server, &id, "acknowledged").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"]["details"]["allowed"], json!([]));
        assert!(
            body["error"]["hint"].as_str().unwrap().contains("reopen"),
            "{body}"
        );
        let (_, timeline) = server
            .get(&format!("/api/v1/incidents/{id}/timeline"))
            .await;
        assert_eq!(
            timeline.as_array().unwrap().len(),
            2,
            "refusals leave no trace"
        );
        let (status, body) = move_to(&server, &id, "sideways").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "invalid_body");
    }
}

#[tokio::test]
async fn notes_go_on_active_incidents_only_and_resolved_ones_reopen_as_new() {
    for server in TestServer::each_backend(1 << 20).await {
        let id = opened(&server).await;
        let (status, note) = server
            .post(
                &format!("/api/v1/incidents/{id}/notes"),
                json!({"text": "  fan is loud  "}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{note}");
        assert_eq!(
            (note["kind"].as_str(), note["text"].as_str()),
            (Some("note"), Some("fan is loud"))
        );
        let (status, _) = server
            .post(
                &format!("/api/v1/incidents/{id}/notes"),
                json!({"text": " "}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        move_to(&server, &id, "resolved").await;
        let (status, body) = server
            .post(
                &format!("/api/v1/incidents/{id}/notes"),
                json!({"text": "late"}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "immutable");

        let (status, reopened) = server
            .post(
                &format!("/api/v1/incidents/{id}/reopen"),
                json!({"reason": "it came back"}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}: {reopened}",
            server.backend()
        );
        let new_id = reopened["id"].as_str().unwrap();
        assert_ne!(new_id, id);
        assert_eq!(reopened["status"], "open");
        assert_eq!(reopened["reopened_from"], id.as_str());
        let (_, old) = server.get(&format!("/api/v1/incidents/{id}")).await;
        assert_eq!(
            old["status"], "resolved",
            "the resolved incident stays as it was"
        );
        assert_eq!(old["reopened_as"], new_id);
        let (_, timeline) = server
            .get(&format!("/api/v1/incidents/{new_id}/timeline"))
            .await;
        assert_eq!(timeline[0]["kind"], "opened");
        assert_eq!(timeline[0]["reopened_from"], id.as_str());
        assert_eq!(timeline[0]["reason"], "it came back");
        // Reopening something that is not resolved is refused, and says so.
        let (status, body) = server
            .post(&format!("/api/v1/incidents/{new_id}/reopen"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"]["code"], "not_resolved", "{body}");
    }
}

#[tokio::test]
async fn a_resolved_fingerprint_trips_again_as_a_new_incident() {
    let server = TestServer::new(1 << 20).await;
    let id = opened(&server).await;
    move_to(&server, &id, "resolved").await;
    let (status, body) = server
        .upload(crate::bundle_from("robot-7", "CPU saturated", 600_000, 10))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_ne!(body["id"].as_str().unwrap(), id);
    assert_eq!(body["occurrences"], 1);
}

#[tokio::test]
async fn reopening_while_the_fingerprint_is_active_again_points_at_the_active_incident() {
    let server = TestServer::new(1 << 20).await;
    let old = opened(&server).await;
    move_to(&server, &old, "resolved").await;
    let (_, active) = server
        .upload(crate::bundle_from("robot-7", "CPU saturated", 600_000, 10))
        .await;
    let (status, body) = server
        .post(&format!("/api/v1/incidents/{old}/reopen"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "already_active");
    assert_eq!(body["error"]["details"]["active"], active["id"]);
    assert!(
        body["error"]["hint"]
            .as_str()
            .unwrap()
            .contains(active["id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn linked_deploys_show_in_the_timeline_and_exports() {
    let server = TestServer::new(1 << 20).await;
    let id = opened(&server).await;
    let (status, deploy) = server
        .post(
            "/api/v1/deploys",
            json!({"service": "planner", "version": "2.14.1", "commit": "abc123"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deploy}");
    let (status, entry) = server
        .post(
            &format!("/api/v1/incidents/{id}/deploys"),
            json!({"deploy_id": deploy["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    assert_eq!(entry["kind"], "deploy");
    let (_, export) = server
        .get(&format!("/api/v1/incidents/{id}/export.json"))
        .await;
    assert_eq!(export["deploys"][0]["id"], deploy["id"], "{export}");
    let (_, md) = server
        .get(&format!("/api/v1/incidents/{id}/export.md"))
        .await;
    assert!(
        md.as_str()
            .unwrap()
            .contains("planner 2.14.1 to production"),
        "{md}"
    );
    let (status, body) = server
        .post(
            &format!("/api/v1/incidents/{id}/deploys"),
            json!({"deploy_id": "0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("/api/v1/deploys"),
        "{body}"
    );
}

#[tokio::test]
async fn viewers_read_but_may_not_change_anything() {
    let server = TestServer::new(1 << 20).await;
    let id = opened(&server).await;
    let uri = format!("/api/v1/incidents/{id}/transitions");
    let (status, body) = server
        .post_as(&server.viewer, &uri, json!({"to": "acknowledged"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("responder"),
        "{body}"
    );
    let (status, _) = server.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn exports_carry_the_timeline_and_evidence() {
    let server = TestServer::new(1 << 20).await;
    let id = opened(&server).await;
    move_to(&server, &id, "acknowledged").await;
    server
        .post(
            &format!("/api/v1/incidents/{id}/notes"),
            json!({"text": "swapped | the fan"}),
        )
        .await;
    let (status, md) = server
        .get(&format!("/api/v1/incidents/{id}/export.md"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let md = md.as_str().unwrap();
    assert!(
        md.starts_with("# Postmortem draft: CPU saturated on robot-7"),
        "{md}"
    );
    assert!(
        md.contains("| 2 |") && md.contains("open → **acknowledged**: going acknowledged"),
        "{md}"
    );
    assert!(
        md.contains("note: swapped \\| the fan"),
        "pipes are escaped: {md}"
    );
    assert!(md.contains("`cpu.total.busy_pct`"), "{md}");
    assert!(md.contains("## Root cause") && md.contains("## Actions"));
    let (status, json) = server
        .get(&format!("/api/v1/incidents/{id}/export.json"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["export_version"], 1);
    assert_eq!(json["incident"]["status"], "acknowledged");
    assert_eq!(json["timeline"].as_array().unwrap().len(), 3);
    assert_eq!(json["bundles"].as_array().unwrap().len(), 1);
    assert_eq!(json["trigger"]["rule"], "CPU saturated");
}

#[tokio::test]
async fn the_list_filters_and_pages_with_a_cursor() {
    for server in TestServer::each_backend(1 << 20).await {
        for i in 0..7 {
            let rule = format!("rule {i}");
            let (status, _) = server
                .upload(crate::bundle_from("robot-7", &rule, i * 1000, 5))
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let mut seen = Vec::new();
        let mut uri = "/api/v1/incidents?limit=3".to_owned();
        loop {
            let (status, page) = server.get(&uri).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            for i in page["incidents"].as_array().unwrap() {
                seen.push(i["rule"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => uri = format!("/api/v1/incidents?limit=3&cursor={c}"),
                None => break,
            }
        }
        let want: Vec<String> = (0..7).rev().map(|i| format!("rule {i}")).collect();
        assert_eq!(
            seen,
            want,
            "{}: newest first, every incident once",
            server.backend()
        );
        let (_, found) = server.get("/api/v1/incidents?q=RULE%203").await;
        assert_eq!(found["incidents"].as_array().unwrap().len(), 1, "{found}");
        let (_, open) = server
            .get("/api/v1/incidents?status=acknowledged,resolved")
            .await;
        assert_eq!(open["incidents"].as_array().unwrap().len(), 0);
    }
}
