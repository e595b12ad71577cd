//! HTTPS: serving the router through rustls (`axum-server`) when the server
//! terminates TLS itself, and the rule that keeps tokens off the network in
//! clear text.

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::Router;
use axum_server::{Handle, tls_rustls::RustlsConfig};
use tokio::net::TcpListener;

use crate::{Error, TlsFiles};

/// How long in-flight requests get to finish once shutdown starts; after
/// that the remaining connections are closed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Refuses to listen on a non-loopback address in clear text, unless TLS
/// is configured or `insecure` says the network is trusted (a TLS proxy on
/// the same host should make the server listen on 127.0.0.1 instead).
///
/// # Errors
/// [`Error::InsecureListen`], whose message says what to do.
pub fn check_listen(addr: SocketAddr, tls: bool, insecure: bool) -> Result<(), Error> {
    if addr.ip().is_loopback() || tls || insecure {
        Ok(())
    } else {
        Err(Error::InsecureListen { addr })
    }
}

/// Reads the certificate chain and private key (PEM).
///
/// # Errors
/// [`Error::Tls`] naming both files and the reason.
pub async fn load(files: &TlsFiles) -> Result<RustlsConfig, Error> {
    let fail = |reason: String| Error::Tls {
        cert: files.cert.display().to_string(),
        key: files.key.display().to_string(),
        reason,
    };
    for (what, path) in [("certificate", &files.cert), ("key", &files.key)] {
        if !path.is_file() {
            return Err(fail(format!(
                "the {what} file {} does not exist or is not a file",
                path.display()
            )));
        }
    }
    RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .map_err(|e| {
            fail(format!(
                "{e} (both must be PEM: the certificate chain, then an unencrypted PKCS#8, PKCS#1 or SEC1 key)"
            ))
        })
}

/// Serves `app` over TLS on `listener` until `shutdown` completes; then
/// stops accepting and gives in-flight requests [`SHUTDOWN_GRACE`] to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: RustlsConfig,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let listener = listener.into_std().map_err(Error::Listen)?;
    let handle = Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!(
            grace_secs = SHUTDOWN_GRACE.as_secs(),
            "shutting down: finishing in-flight requests"
        );
        stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    axum_server::from_tcp_rustls(listener, tls)
        .map_err(Error::Listen)?
        .handle(handle)
        .serve(app.into_make_service())
        .await
        .map_err(Error::Listen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_text_is_refused_off_loopback_unless_asked_for() {
        let lo: SocketAddr = "127.0.0.1:8420".parse().unwrap();
        let lo6: SocketAddr = "[::1]:8420".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8420".parse().unwrap();
        assert!(check_listen(lo, false, false).is_ok());
        assert!(check_listen(lo6, false, false).is_ok());
        assert!(check_listen(any, true, false).is_ok());
        assert!(check_listen(any, false, true).is_ok());
        let err = check_listen(any, false, false).unwrap_err();
        assert!(matches!(err, Error::InsecureListen { .. }));
        let text = err.to_string();
        assert!(
            text.contains("0.0.0.0:8420") && text.contains("--insecure"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn missing_files_are_named() {
        let files = TlsFiles {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let err = load(&files).await.unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent/cert.pem") && err.contains("does not exist"),
            "{err}"
        );
    }
}
