//! Prometheus scraping: each target's text endpoint (`/metrics`) is fetched
//! every `interval` with an HTTP GET, and each sample becomes a reading of
//! `<prefix>.<metric>[.<label>_<value>…]` (see [`series`] for the naming
//! and the units). Samples' own timestamps are ignored: a scrape's readings
//! are dated when the scrape started.
//!
//! A scrape that fails (refused, timed out, HTTP error, body over
//! `max_body_bytes`) is a problem of `prometheus/<url>`, and the next try
//! waits twice as long (up to 5 minutes, or `interval` if longer); the first
//! success resets the delay. Lines that cannot be parsed, samples beyond
//! `max_samples`, and samples whose names cannot be made valid are counted
//! in one problem per scrape; the rest is kept. Proxy environment variables
//! are not used: targets are normally on the machine itself.

mod parse;
mod series;

use std::time::Duration;

use rewind_model::{SeriesName, Timestamp};
use serde::Deserialize;

use super::{Batch, Sink, Stop, Stream, Task};
use crate::{Error, config::duration};

/// What is asked for: the text format, never protobuf.
const ACCEPT: &str =
    "text/plain;version=0.0.4;q=1.0,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1";
/// The longest wait between two tries of a failing target (unless `interval` is longer).
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// `collectors.prometheus` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether the targets are scraped.
    pub enabled: bool,
    /// The endpoints to scrape; none by default.
    pub targets: Vec<Target>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            targets: Vec::new(),
        }
    }
}

/// One endpoint to scrape.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Target {
    /// `http://` or `https://` URL of the text endpoint, e.g. `http://127.0.0.1:9100/metrics`. Required.
    pub url: String,
    /// Time between two scrapes (at least 100ms).
    #[serde(with = "duration")]
    pub interval: Duration,
    /// First segment of every series from this target. Give targets that
    /// export the same metric names different prefixes.
    pub prefix: String,
    /// Longest a scrape may take, body included (capped at `interval`).
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Most samples kept per scrape; the rest are dropped and counted.
    pub max_samples: usize,
    /// Largest response body read, in bytes; a larger one fails the scrape.
    pub max_body_bytes: usize,
}

impl Default for Target {
    fn default() -> Self {
        Self {
            url: String::new(),
            interval: Duration::from_secs(10),
            prefix: "prom".to_owned(),
            timeout: Duration::from_secs(5),
            max_samples: 10_000,
            max_body_bytes: 8 * 1024 * 1024,
        }
    }
}

impl Config {
    /// The streams this section enables: one per target.
    ///
    /// # Errors
    /// A target that cannot be used: no or a bad URL, a bad prefix, a zero limit.
    pub fn streams(&self) -> crate::Result<Vec<Box<dyn Stream>>> {
        if !self.enabled {
            return Ok(Vec::new());
        }
        let mut out: Vec<Box<dyn Stream>> = Vec::new();
        for (i, target) in self.targets.iter().enumerate() {
            let fail = |reason: String| Error::Collector {
                collector: "prometheus",
                reason: format!("targets[{i}]: {reason}"),
            };
            out.push(Box::new(Scraper::new(target).map_err(fail)?));
        }
        Ok(out)
    }
}

/// Scrapes one target.
#[derive(Debug)]
pub struct Scraper {
    target: Target,
    url: reqwest::Url,
    client: reqwest::Client,
    /// `prometheus/<url>`.
    source: String,
}

impl Scraper {
    fn new(t: &Target) -> Result<Self, String> {
        let url = reqwest::Url::parse(&t.url).map_err(|e| format!("url `{}`: {e}", t.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("url `{url}`: only http and https are scraped"));
        }
        if SeriesName::new(&t.prefix).is_err() {
            return Err(format!(
                "prefix `{}`: use a dotted series name such as `prom` or `prom.app`",
                t.prefix
            ));
        }
        if t.interval < Duration::from_millis(100)
            || t.timeout.is_zero()
            || t.max_samples == 0
            || t.max_body_bytes == 0
        {
            return Err("interval must be at least 100ms, and timeout, max_samples and max_body_bytes above 0".into());
        }
        let client = reqwest::Client::builder()
            .timeout(t.timeout.min(t.interval))
            .no_proxy()
            .user_agent(concat!("rewind-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Self {
            source: format!("prometheus/{url}"),
            target: t.clone(),
            url,
            client,
        })
    }

    async fn run_loop(self, sink: Sink, mut stop: Stop) {
        let mut failures = 0;
        loop {
            let started = tokio::time::Instant::now();
            let mut batch = Batch::new(Timestamp::now());
            let result = tokio::select! {
                () = stop.stopped() => return,
                r = self.scrape(&mut batch) => r,
            };
            match result {
                Ok(()) => failures = 0,
                Err(err) => {
                    failures += 1;
                    batch.problem(&self.source, err);
                }
            }
            sink.send(batch);
            tokio::select! {
                () = stop.stopped() => return,
                () = tokio::time::sleep_until(started + backoff(self.target.interval, failures)) => {}
            }
        }
    }

    /// One scrape into `out`; parse problems go into `out` too.
    async fn scrape(&self, out: &mut Batch) -> Result<(), String> {
        let body = self.fetch().await?;
        let prefix = self.target.prefix.clone();
        let max = self.target.max_samples;
        let work = tokio::task::spawn_blocking(move || {
            let text = String::from_utf8_lossy(&body);
            let e = parse::parse(&text, max);
            (series::convert(&e, &prefix), e)
        });
        let (converted, e) = work.await.map_err(|e| format!("parsing failed: {e}"))?;
        for (series, unit, value) in converted.readings {
            out.reading(series, unit, value);
        }
        let mut notes = Vec::new();
        if e.bad_lines > 0 {
            notes.push(format!(
                "{} malformed lines skipped ({})",
                e.bad_lines,
                e.first_error.unwrap_or_default()
            ));
        }
        if e.over_limit > 0 {
            notes.push(format!(
                "{} samples over max_samples ({max}) dropped",
                e.over_limit
            ));
        }
        if converted.dropped > 0 {
            notes.push(format!(
                "{} samples dropped ({})",
                converted.dropped,
                converted.example.unwrap_or_default()
            ));
        }
        if !notes.is_empty() {
            out.problem(&self.source, notes.join("; "));
        }
        Ok(())
    }

    /// The response body, refused past `max_body_bytes`.
    async fn fetch(&self) -> Result<Vec<u8>, String> {
        let max = self.target.max_body_bytes;
        let mut resp = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, ACCEPT)
            .send()
            .await
            .map_err(|e| format!("scrape failed: {}", chain(&e)))?;
        if !resp.status().is_success() {
            return Err(format!("scrape failed: HTTP {}", resp.status()));
        }
        let too_big = || format!("response larger than max_body_bytes ({max})");
        if resp.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("reading the response failed: {}", chain(&e)))?
        {
            if body.len() + chunk.len() > max {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

impl Stream for Scraper {
    fn name(&self) -> &'static str {
        "prometheus"
    }

    fn run(self: Box<Self>, sink: Sink, stop: Stop) -> Task {
        Box::pin(self.run_loop(sink, stop))
    }
}

/// Time from one scrape's start to the next: `interval`, doubled per
/// consecutive failure up to 5 minutes (or `interval` if longer).
fn backoff(interval: Duration, failures: u32) -> Duration {
    let cap = MAX_BACKOFF.max(interval);
    interval.saturating_mul(1 << failures.min(16)).min(cap)
}

/// An error and its causes (reqwest's own message hides the interesting part).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests;
