//! The demo's `checkout` service: a simulated web service that reports its
//! metrics and error logs to the server over the real API, as a service's
//! exporter would (`POST /api/v1/metrics` and `/api/v1/logs`, JSON Lines),
//! and whose release 2.0 is bad: payments start failing against a card
//! gateway that times out, errors rise about sixfold and p95 latency by
//! half. The server's regression watch has to notice, with the new log
//! signature, and open an incident.
//!
//! Nothing here is random: the "noise" is a fixed wobble, so every run
//! tells the same story.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use rewind_model::{DeployCheck, Timestamp};
use serde_json::{Value, json};

/// The simulated service.
pub(super) const SERVICE: &str = "checkout";
/// The bad release.
pub(super) const BAD_VERSION: &str = "2.0.0";
/// History reported at start, so the first deploy has a baseline (the
/// service "was running" before the demo began).
pub(super) const HISTORY: Duration = Duration::from_secs(90);

/// A fixed wobble in [-1, 1].
fn wobble(i: i64) -> f64 {
    [0.0, 0.7, -0.4, 1.0, -0.9, 0.3, -0.2, 0.5, -0.6, -0.1][i.rem_euclid(10) as usize]
}

/// One second of the service's metrics, healthy or broken.
fn metrics_at(t: Timestamp, i: i64, broken: bool) -> Value {
    let (errors, p95) = if broken { (0.06, 285.0) } else { (0.01, 190.0) };
    json!({
        "timestamp": t.to_string(),
        "service": SERVICE,
        "environment": "production",
        "error_rate": errors * (1.0 + 0.08 * wobble(i)),
        "p95_latency_ms": p95 + 6.0 * wobble(i + 3),
        "request_rate": 1200.0 + 15.0 * wobble(i + 6),
    })
}

/// The second's log lines: a routine warning now and then; after the bad
/// release, the gateway timeouts.
fn logs_at(t: Timestamp, i: i64, broken: bool) -> Vec<Value> {
    let mut lines = Vec::new();
    if i % 7 == 0 {
        lines.push(json!({
            "timestamp": t.to_string(), "level": "warn", "service": SERVICE,
            "message": format!("slow cart lookup for user {} took {} ms", 4100 + i, 420 + (i % 5) * 10),
        }));
    }
    if broken {
        lines.push(json!({
            "timestamp": t.to_string(), "level": "error", "service": SERVICE,
            "message": format!("payment {} failed: card-gateway timed out after 3000 ms", 880_000 + i),
        }));
    }
    lines
}

/// The service's connection to the server.
#[derive(Clone)]
pub(super) struct Service {
    client: reqwest::Client,
    url: String,
    token: String,
    broken: Arc<AtomicBool>,
}

impl Service {
    pub(super) fn new(url: &str, token: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("cannot set up the demo service's HTTP client")?;
        Ok(Self {
            client,
            url: url.to_owned(),
            token: token.to_owned(),
            broken: Arc::new(AtomicBool::new(false)),
        })
    }

    async fn post_lines(&self, path: &str, lines: &[Value]) -> anyhow::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let res = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .with_context(|| format!("demo service: cannot reach {path}"))?;
        if !res.status().is_success() {
            anyhow::bail!(
                "demo service: {path} answered {}: {}",
                res.status(),
                res.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Reports [`HISTORY`] of healthy past, then one second at a time
    /// until the task is dropped.
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let start = Timestamp::now();
        let first = -(HISTORY.as_secs() as i64);
        let at = |i: i64| start.add_nanos(i * 1_000_000_000);
        let history: Vec<Value> = (first..0).map(|i| metrics_at(at(i), i, false)).collect();
        let old_logs: Vec<Value> = (first..0).flat_map(|i| logs_at(at(i), i, false)).collect();
        self.post_lines("/api/v1/logs", &old_logs).await?;
        self.post_lines("/api/v1/metrics", &history).await?;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        for i in 0.. {
            tick.tick().await;
            let broken = self.broken.load(Ordering::Relaxed);
            let now = Timestamp::now();
            // Logs first: the verdict is reached when metrics pass the window's end.
            self.post_lines("/api/v1/logs", &logs_at(now, i, broken))
                .await?;
            self.post_lines("/api/v1/metrics", &[metrics_at(now, i, broken)])
                .await?;
        }
        Ok(())
    }

    /// Records the bad release and breaks the service; returns the deploy id.
    pub(super) async fn deploy_bad_release(&self) -> anyhow::Result<String> {
        let res = self
            .client
            .post(format!("{}/api/v1/deploys", self.url))
            .bearer_auth(&self.token)
            .json(&json!({
                "service": SERVICE,
                "version": BAD_VERSION,
                "environment": "production",
                "commit": "3f9c2e1",
                "actor": "demo-ci",
            }))
            .send()
            .await
            .context("demo: cannot record the deploy")?;
        let deploy: Value = res.error_for_status()?.json().await?;
        self.broken.store(true, Ordering::Relaxed);
        deploy["id"]
            .as_str()
            .map(str::to_owned)
            .context("demo: the server's deploy has no id")
    }

    /// The deploy's check, once it is decided (and a regression's incident stored).
    pub(super) async fn wait_for_verdict(&self, id: &str) -> anyhow::Result<DeployCheck> {
        loop {
            let check: DeployCheck = self
                .client
                .get(format!("{}/api/v1/deploys/{id}/check", self.url))
                .bearer_auth(&self.token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let stored =
                check.incident_id.is_some() || check.verdict.as_deref() != Some("regression");
            if check.state == rewind_model::CheckState::Decided
                && stored
                && check.decided_at.is_some()
            {
                return Ok(check);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bad_release_is_worse_by_more_than_the_minimum_effect() {
        let t = Timestamp::from_unix_millis(0);
        let good = metrics_at(t, 1, false);
        let bad = metrics_at(t, 1, true);
        let ratio = |k: &str| bad[k].as_f64().unwrap() / good[k].as_f64().unwrap();
        assert!(ratio("error_rate") > 4.0);
        assert!(ratio("p95_latency_ms") > 1.3);
        assert!((ratio("request_rate") - 1.0).abs() < 1e-9);
        assert!(logs_at(t, 1, false).is_empty());
        let broken = logs_at(t, 7, true);
        assert_eq!(broken.len(), 2);
        assert!(
            broken[1]["message"]
                .as_str()
                .unwrap()
                .contains("card-gateway timed out")
        );
    }
}
