//! Graceful shutdown with a real server on loopback: an upload in flight
//! when shutdown starts still finishes and is stored whole; nothing is
//! half-written.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_in_flight_at_shutdown_finishes_and_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let config = rewind_server::ServerConfig::new(dir.path().to_path_buf());
    let state = rewind_server::AppState::open(&config).await.unwrap();
    let token = crate::make_token(
        &**state.store(),
        "robot-7",
        rewind_model::TokenScope::Device {
            device_id: rewind_model::DeviceId::new("robot-7").unwrap(),
        },
    )
    .await;
    let store = std::sync::Arc::clone(state.store());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rewind_server::serve(state, listener, async {
        let _ = stopped.await;
    }));

    let body = crate::bundle(200);
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/bundles HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/zip\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let half = body.len() / 2;
    conn.write_all(&body[..half]).await.unwrap();
    conn.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Shutdown starts while the upload is half sent.
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        TcpStream::connect(addr).await.is_err() || !server.is_finished(),
        "the listener stops taking new connections"
    );
    conn.write_all(&body[half..]).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops once the upload is done")
        .unwrap()
        .unwrap();
    let page = store
        .list_incidents(&rewind_store::IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(page.incidents.len(), 1, "the upload was stored whole");
    let files = std::fs::read_dir(dir.path().join("bundles/sha256"))
        .unwrap()
        .count();
    assert_eq!(files, 1);
}
