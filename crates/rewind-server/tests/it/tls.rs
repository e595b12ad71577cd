//! HTTPS: the real server on 127.0.0.1:0 with a self-signed certificate made
//! here, a client that trusts it, a `Secure` session cookie, and a graceful
//! shutdown.

use std::time::Duration;

use rewind_model::{Role, TokenScope};
use rewind_server::{Error, ServerConfig, TlsFiles};
use serde_json::Value;
use tokio::sync::oneshot;

/// Writes a self-signed certificate for 127.0.0.1 and localhost; returns its PEM too.
fn self_signed(dir: &std::path::Path) -> (TlsFiles, String) {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert = made.cert.pem();
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.cert, &cert).unwrap();
    std::fs::write(&files.key, made.signing_key.serialize_pem()).unwrap();
    (files, cert)
}

#[tokio::test]
async fn the_server_speaks_https_with_secure_cookies_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let (files, cert_pem) = self_signed(dir.path());
    let mut config = ServerConfig::new(dir.path().join("state"));
    config.tls = Some(files);

    // A token, stored before the server opens the same database.
    std::fs::create_dir_all(&config.state_dir).unwrap();
    let store = rewind_store::open(&config.database_url()).await.unwrap();
    let (secret, new) = rewind_server::auth::mint_token(
        "alice",
        TokenScope::User { role: Role::Viewer },
        rewind_model::Timestamp::now(),
        None,
    );
    store.create_token(&new).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(rewind_server::launch_with_listener(
        config,
        listener,
        async {
            let _ = stopped.await;
        },
    ));

    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("https://127.0.0.1:{port}");

    let health: Value = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");

    let res = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"token": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.ends_with("; Secure"),
        "{cookie}"
    );

    let res = client
        .get(format!("{base}/api/v1/incidents"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Plain HTTP on the TLS port gets nowhere.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // A client that does not trust the certificate is refused.
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err());

    stop.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(40), server)
        .await
        .expect("the server stops after the shutdown signal")
        .unwrap();
    assert!(ended.is_ok(), "{ended:?}");
}

#[tokio::test]
async fn bad_tls_files_stop_the_server_before_it_opens_anything() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    std::fs::write(&key, "not a key").unwrap();
    let state_dir = dir.path().join("state");
    let mut config = ServerConfig::new(state_dir.clone());
    config.tls = Some(TlsFiles {
        cert: cert.clone(),
        key,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = rewind_server::launch_with_listener(config, listener, std::future::pending())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&cert.display().to_string()) && text.contains("PEM"),
        "{text}"
    );
    assert!(
        !state_dir.exists(),
        "nothing opened before the TLS files were read"
    );
}
