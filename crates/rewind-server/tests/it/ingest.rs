use axum::http::StatusCode;

use crate::{TestServer, bundle};

#[tokio::test]
async fn a_valid_bundle_becomes_an_incident_and_a_retry_is_idempotent() {
    for server in TestServer::each_backend(1 << 20).await {
        let zip = bundle(80);
        let (status, created) = server.upload(zip.clone()).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}: {created}",
            server.backend()
        );
        assert_eq!(created["rule"], "CPU saturated");
        assert_eq!(created["status"], "open");
        assert_eq!(created["occurrences"], 1);
        assert_eq!(created["bundle_bytes"], zip.len());

        let (status, again) = server.upload(zip).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a retried upload must not fail: {again}"
        );
        assert_eq!(again["id"], created["id"]);
        assert_eq!(again["occurrences"], 1, "a retry is not a new occurrence");
        assert_eq!(server.stored_files(), 1);
    }
}

#[tokio::test]
async fn a_flapping_rule_makes_one_incident_with_a_count_per_device() {
    for server in TestServer::each_backend(1 << 20).await {
        let mut ids = std::collections::BTreeSet::new();
        for i in 0..5 {
            let (status, body) = server
                .upload(crate::bundle_from(
                    "robot-7",
                    "CPU saturated",
                    i * 60_000,
                    10,
                ))
                .await;
            let want = if i == 0 {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            assert_eq!(status, want, "{}: {body}", server.backend());
            assert_eq!(body["occurrences"], i + 1);
            ids.insert(body["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), 1, "one incident, five occurrences");
        // Another device with the same rule is another incident.
        let (status, other) = server
            .upload_as(
                &server.other_device,
                crate::bundle_from("robot-8", "CPU saturated", 0, 10),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{other}");
        assert!(!ids.contains(other["id"].as_str().unwrap()));
        let id = ids.into_iter().next().unwrap();
        let (_, detail) = server.get(&format!("/api/v1/incidents/{id}")).await;
        assert_eq!(detail["bundles"].as_array().unwrap().len(), 5, "{detail}");
        let (_, timeline) = server
            .get(&format!("/api/v1/incidents/{id}/timeline"))
            .await;
        let kinds: Vec<&str> = timeline
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "opened",
                "occurrence",
                "occurrence",
                "occurrence",
                "occurrence"
            ]
        );
        assert_eq!(timeline[0]["actor"], "device:robot-7");
    }
}

#[tokio::test]
async fn device_tokens_ingest_only_for_their_own_device() {
    let server = TestServer::new(1 << 20).await;
    let zip = bundle(10); // from robot-7
    let (status, body) = server.upload_as(&server.other_device, zip.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "wrong_device");
    let (status, body) = server.upload_as(&server.responder, zip.clone()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a responder may not upload: {body}"
    );
    let (status, body) = server.upload_as("", zip.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(server.stored_files(), 0, "refused uploads store nothing");
    let (status, body) = server.upload_as(&server.admin, zip).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "an admin may upload by hand: {body}"
    );
    assert_eq!(body["device_id"], "robot-7");
}

async fn assert_refused(server: &TestServer, body: Vec<u8>, status: StatusCode, code: &str) {
    let (got, json) = server.upload(body).await;
    assert_eq!(got, status, "{json}");
    assert_eq!(json["error"]["code"], code, "{json}");
    assert!(!json["error"]["message"].as_str().unwrap().is_empty());
    let (_, list) = server.get("/api/v1/incidents").await;
    assert_eq!(
        list["incidents"].as_array().unwrap().len(),
        0,
        "nothing may be stored"
    );
    assert_eq!(server.stored_files(), 0, "no bundle file may be kept");
}

#[tokio::test]
async fn garbage_empty_and_oversized_bodies_are_refused_and_nothing_is_stored() {
    let server = TestServer::new(4096).await;
    assert_refused(
        &server,
        b"definitely not a zip".to_vec(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "bundle_zip_invalid",
    )
    .await;
    assert_refused(&server, Vec::new(), StatusCode::BAD_REQUEST, "empty_body").await;
    assert_refused(
        &server,
        bundle(2_000),
        StatusCode::PAYLOAD_TOO_LARGE,
        "bundle_too_large",
    )
    .await;
}

#[tokio::test]
async fn a_tampered_bundle_is_refused_with_the_hash_mismatch() {
    let server = TestServer::new(1 << 20).await;
    // Rewrite the zip with one CSV row changed but the manifest untouched.
    let original = bundle(10);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(original)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).unwrap();
        let name = member.name().unwrap().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut member, &mut data).unwrap();
        if name.ends_with(".csv") {
            // Change the last digit of the last row: same length, new hash.
            let i = data.iter().rposition(u8::is_ascii_digit).unwrap();
            data[i] = if data[i] == b'9' { b'0' } else { data[i] + 1 };
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut out, &data).unwrap();
    }
    let tampered = out.finish().unwrap().into_inner();
    assert_refused(
        &server,
        tampered,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bundle_hash_mismatch",
    )
    .await;
}

#[tokio::test]
async fn a_bundle_without_manifest_is_refused() {
    let server = TestServer::new(1 << 20).await;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    out.start_file("trigger.json", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut out, b"{}").unwrap();
    let zip = out.finish().unwrap().into_inner();
    assert_refused(
        &server,
        zip,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bundle_manifest_missing",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_uploads_store_one_incident_and_keep_its_file() {
    let server = TestServer::new(1 << 20).await;
    let zip = bundle(40);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        tasks.spawn(crate::upload_to(
            server.app.clone(),
            server.device.clone(),
            zip.clone(),
        ));
    }
    let mut ids = std::collections::BTreeSet::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one incident for one bundle");
    assert_eq!(server.stored_files(), 1);
    let id = ids.into_iter().next().unwrap();
    let (status, detail) = server.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the stored file must survive: {detail}"
    );
}
