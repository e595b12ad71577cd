//! Profiles over HTTP: each configured URL fetched once per capture, all at
//! the same time, each within its own timeout, and kept as
//! `diagnostics/pprof/<name>` exactly as served (a Go heap profile is
//! gzipped protobuf, `goroutine?debug=2` is text). A failure (refused,
//! timeout, an HTTP error status) is a note; the other profiles are kept.
//!
//! Requests go straight to the URL, never through an HTTP proxy: profile
//! endpoints are debug ports on the machine itself.

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config::duration;

/// One entry of `diagnostics.pprof`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileConfig {
    /// The file name in the bundle (`diagnostics/pprof/<name>`): `a-z`, `0-9`, `.`, `_`, `-`, unique.
    pub name: String,
    /// The URL (`http://` or `https://`), e.g. `http://127.0.0.1:6060/debug/pprof/heap`.
    pub url: String,
    /// The longest wait for the whole response; must exceed `seconds=N` of a CPU profile.
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Largest body kept; a longer one is cut and said so in a note.
    pub max_bytes: u64,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            url: String::new(),
            timeout: Duration::from_secs(10),
            max_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Longest `timeout` accepted.
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

impl ProfileConfig {
    /// Problems with this entry (`at` names it), as sentences.
    pub(super) fn problems(&self, at: &str, max_total: u64) -> Vec<String> {
        let mut out = Vec::new();
        if !super::is_file_name(&self.name) {
            out.push(format!(
                "{at}: give it a `name` of 1 to 64 characters from a-z, 0-9, `.`, `_`, `-` (not starting or ending with `.`, not a Windows device name such as `nul`); it names diagnostics/pprof/<name> in the bundle"
            ));
        }
        match reqwest::Url::parse(&self.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {
                let seconds = url
                    .query_pairs()
                    .find(|(k, _)| k == "seconds")
                    .and_then(|(_, v)| v.parse::<f64>().ok());
                if let Some(s) = seconds
                    && self.timeout.as_secs_f64() <= s
                {
                    out.push(format!(
                        "{at}: `timeout` ({}) must be longer than the profile's seconds={s}: the server answers only after profiling",
                        humantime::format_duration(self.timeout)
                    ));
                }
            }
            Ok(url) => out.push(format!(
                "{at}: `url` must be http:// or https://, not {}://",
                url.scheme()
            )),
            Err(e) => out.push(format!("{at}: `url` {:?} is not a URL ({e})", self.url)),
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            out.push(format!(
                "{at}: `timeout` must be more than 0 and at most 10m"
            ));
        }
        if self.max_bytes == 0 || self.max_bytes > max_total {
            out.push(format!(
                "{at}: `max_bytes` must be at least 1 and at most diagnostics.max_total_bytes ({max_total})"
            ));
        }
        out
    }
}

/// The result of one fetch.
#[derive(Debug)]
pub(super) struct Fetched {
    pub(super) name: String,
    pub(super) max_bytes: u64,
    /// The body and whether it was cut, or why there is none.
    pub(super) body: Result<(Vec<u8>, bool), String>,
}

/// The HTTP client profiles are fetched with.
///
/// # Errors
/// When the TLS backend cannot start (a broken install).
pub(super) fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .user_agent(concat!("rewind-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// Fetches every profile at once; results in config order.
pub(super) async fn fetch_all(
    client: &reqwest::Client,
    profiles: &[ProfileConfig],
) -> Vec<Fetched> {
    let mut set = tokio::task::JoinSet::new();
    for (i, p) in profiles.iter().enumerate() {
        let (client, p) = (client.clone(), p.clone());
        set.spawn(async move { (i, fetch(&client, &p).await) });
    }
    let mut done: Vec<(usize, Fetched)> = Vec::with_capacity(profiles.len());
    while let Some(joined) = set.join_next().await {
        if let Ok(one) = joined {
            done.push(one);
        }
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, f)| f).collect()
}

async fn fetch(client: &reqwest::Client, p: &ProfileConfig) -> Fetched {
    let started = Instant::now();
    let body = match tokio::time::timeout(p.timeout, get(client, p)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no complete answer within its timeout ({})",
            humantime::format_duration(p.timeout)
        )),
    };
    tracing::debug!(profile = %p.name, elapsed_ms = started.elapsed().as_millis(), ok = body.is_ok(), "profile fetched");
    Fetched {
        name: p.name.clone(),
        max_bytes: p.max_bytes,
        body,
    }
}

async fn get(client: &reqwest::Client, p: &ProfileConfig) -> Result<(Vec<u8>, bool), String> {
    let mut response = client.get(&p.url).send().await.map_err(describe)?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the server answered {status}"));
    }
    let cap = usize::try_from(p.max_bytes).unwrap_or(usize::MAX);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        let room = cap.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(chunk.get(..room).unwrap_or_default());
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// A reqwest error with its causes, without the URL (the note names the profile).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
