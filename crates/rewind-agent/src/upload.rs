//! Uploading spooled bundles to the server, with backoff.

use std::{path::Path, time::Duration};

use rewind_model::{ApiErrorBody, IncidentSummary};

use crate::{Error, Result, Spool};

/// What the server said to one upload.
#[derive(Debug)]
pub enum UploadOutcome {
    /// Stored (or stored before): the incident it became.
    Stored(Box<IncidentSummary>),
    /// Refused for good (a 4xx other than 408/429): retrying cannot help.
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's error message.
        message: String,
    },
    /// Not stored this time (network error, 5xx, 408, 429): try again later.
    Retry(String),
}

/// Sends bundles to `POST {server}/api/v1/bundles`.
#[derive(Debug, Clone)]
pub struct Uploader {
    client: reqwest::Client,
    url: String,
}

impl Uploader {
    /// An uploader for the server at `base_url` (e.g. `http://127.0.0.1:8420`).
    ///
    /// # Errors
    /// [`Error::ServerUrl`] when the URL is not http(s).
    pub fn new(base_url: &str) -> Result<Self> {
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::ServerUrl {
                url: base_url.to_owned(),
                reason: "use http://HOST:PORT or https://HOST".into(),
            });
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("rewind-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::ServerUrl {
                url: base_url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            client,
            url: format!("{base}/api/v1/bundles"),
        })
    }

    /// Uploads one bundle file.
    pub async fn upload(&self, path: &Path) -> UploadOutcome {
        let body = match tokio::fs::read(path).await {
            Ok(b) => b,
            Err(e) => return UploadOutcome::Retry(format!("cannot read {}: {e}", path.display())),
        };
        let sent = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/zip")
            .body(body)
            .send()
            .await;
        let res = match sent {
            Ok(r) => r,
            Err(e) => return UploadOutcome::Retry(format!("server unreachable: {e}")),
        };
        let status = res.status();
        if status.is_success() {
            return match res.json::<IncidentSummary>().await {
                Ok(s) => UploadOutcome::Stored(Box::new(s)),
                Err(e) => UploadOutcome::Retry(format!("unreadable server answer: {e}")),
            };
        }
        let message = match res.json::<ApiErrorBody>().await {
            Ok(b) => format!("{} ({})", b.error.message, b.error.code),
            Err(_) => status.to_string(),
        };
        if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
            UploadOutcome::Refused {
                status: status.as_u16(),
                message,
            }
        } else {
            UploadOutcome::Retry(format!("server answered {status}: {message}"))
        }
    }

    /// Uploads every waiting bundle, oldest first. Stops at the first one
    /// that must be retried and returns `false`; `true` when the spool is empty.
    /// `on_stored` is called with each incident the server stored.
    pub async fn drain(&self, spool: &Spool, mut on_stored: impl FnMut(&IncidentSummary)) -> bool {
        for path in spool.pending() {
            match self.upload(&path).await {
                UploadOutcome::Stored(incident) => {
                    tracing::info!(incident = %incident.id, bundle = %path.display(), "bundle uploaded");
                    spool.done(&path);
                    on_stored(&incident);
                }
                UploadOutcome::Refused { status, message } => {
                    tracing::error!(status, %message, bundle = %path.display(), "server refused bundle; moved to rejected/");
                    spool.reject(&path);
                }
                UploadOutcome::Retry(reason) => {
                    tracing::warn!(%reason, bundle = %path.display(), "upload failed; will retry");
                    return false;
                }
            }
        }
        true
    }
}

/// Waits before the next retry: 1 s doubling up to 60 s.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Self(Duration::from_secs(1))
    }
}

impl Backoff {
    pub(crate) fn next(&mut self) -> Duration {
        let now = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(60));
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_ceiling() {
        let mut b = Backoff::default();
        let secs: Vec<u64> = (0..9).map(|_| b.next().as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn refuses_non_http_urls() {
        assert!(Uploader::new("ftp://x").is_err());
        assert!(Uploader::new("http://127.0.0.1:1/").is_ok());
    }

    #[tokio::test]
    async fn an_unreachable_server_means_retry_and_the_bundle_stays() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().to_path_buf()).unwrap();
        std::fs::write(spool.dir().join("incident_1.zip"), b"zip").unwrap();
        // Port 9 (discard) on loopback: nothing listens there.
        let up = Uploader::new("http://127.0.0.1:9").unwrap();
        assert!(!up.drain(&spool, |_| panic!("nothing can be stored")).await);
        assert_eq!(spool.pending().len(), 1);
    }
}
