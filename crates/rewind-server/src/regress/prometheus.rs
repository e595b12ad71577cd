//! Pulling a Prometheus server's `query_range` API for configured queries
//! (issue 7, metric source (d)).
//!
//! Every `interval`, each query is asked for the range from where its
//! previous pull ended up to now (the first pull reaches `lookback` back,
//! so a deploy right after the server starts has a baseline), on a grid of
//! its `step`; a long range is split into calls of at most
//! [`MAX_POINTS`](window::MAX_POINTS) points a series. Each result series
//! becomes [`MetricPoint`]s named by the query ([`response::identity`]);
//! a point at or before the newest one already sent of its series is not
//! sent again ([`window::Sent`]).
//!
//! A failed pull (connection refused, a timeout, an HTTP error, a body that
//! is not a Prometheus answer, `"status":"error"`) is logged with the
//! query's name and the server's text — the first time, then every
//! [`REPEAT_LOG`] while it lasts, and once when it recovers — and the same
//! range is asked for again at the next interval. Nothing here panics or
//! ends the loop but the server stopping.

mod response;
mod window;

use std::{
    collections::BTreeMap,
    fmt,
    time::{Duration, Instant},
};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use rewind_model::{Timestamp, metrics::MetricPoint};
use serde::{Deserialize, Serialize};

use super::{Feed, WeakState};
use crate::metrics::SourceLabel;

/// How often a persisting failure is logged again.
const REPEAT_LOG: Duration = Duration::from_secs(300);
/// Points sent to the engine at once.
const BATCH: usize = 5_000;
/// The shortest interval and step allowed.
const MIN_STEP: Duration = Duration::from_secs(1);
/// The longest lookback allowed (the watch keeps well under an hour).
const MAX_LOOKBACK: Duration = Duration::from_secs(24 * 3600);

/// A Prometheus server to pull, and what to ask it.
///
/// ```yaml
/// url: http://prometheus:9090
/// interval: 15s
/// queries:
///   - name: error_rate
///     query: sum by (service) (rate(http_requests_total{code=~"5.."}[1m])) / sum by (service) (rate(http_requests_total[1m]))
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// Base URL, e.g. `http://prometheus:9090` (a path prefix such as
    /// `https://example.com/prometheus` is kept; `user:password@` is sent
    /// as basic authentication).
    pub url: String,
    /// How often to pull (default 15 s).
    #[serde(default = "default_interval", with = "rewind_model::duration")]
    pub interval: Duration,
    /// Extra HTTP headers sent with every request (e.g. `X-Scope-OrgID`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Sent as `Authorization: Bearer …`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<String>,
    /// Longest a request may take, body included (default 10 s).
    #[serde(default = "default_timeout", with = "rewind_model::duration")]
    pub timeout: Duration,
    /// How far back the first pull of each query reaches (default 40 min:
    /// the 30 min baseline, the guard and a little more), and the furthest
    /// back any pull reaches after a long failure.
    #[serde(default = "default_lookback", with = "rewind_model::duration")]
    pub lookback: Duration,
    /// The queries.
    pub queries: Vec<PrometheusQuery>,
}

fn default_interval() -> Duration {
    Duration::from_secs(15)
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_lookback() -> Duration {
    Duration::from_secs(40 * 60)
}

impl fmt::Debug for PrometheusConfig {
    /// Secrets (the URL's password, header values, the token) are not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: BTreeMap<&str, &str> =
            self.headers.keys().map(|k| (k.as_str(), "***")).collect();
        f.debug_struct("PrometheusConfig")
            .field("url", &redacted(&self.url))
            .field("interval", &self.interval)
            .field("headers", &headers)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("lookback", &self.lookback)
            .field("queries", &self.queries)
            .finish()
    }
}

/// One PromQL query whose result series become metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusQuery {
    /// The metric name the results get (`error_rate`). Its words decide how
    /// the series is judged (`error`: a rate; `latency`: a latency; …).
    pub name: String,
    /// The PromQL expression.
    pub query: String,
    /// The service of every result series; by default each series' own
    /// `service` label, else its `job` label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The environment of every result series; by default each series'
    /// own `environment` label, else its `env` label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The resolution asked for (default: the pull interval).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_duration"
    )]
    pub step: Option<Duration>,
}

/// An optional duration in config text.
mod optional_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    struct Text(#[serde(with = "rewind_model::duration")] Duration);

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<Text>::deserialize(d)?.map(|t| t.0))
    }

    pub(super) fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => rewind_model::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

impl PrometheusConfig {
    /// A config pulling `url` every 15 s with the default timeout and
    /// lookback.
    #[must_use]
    pub fn new(url: impl Into<String>, queries: Vec<PrometheusQuery>) -> Self {
        Self {
            url: url.into(),
            interval: default_interval(),
            headers: BTreeMap::new(),
            bearer_token: None,
            timeout: default_timeout(),
            lookback: default_lookback(),
            queries,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// Every problem, each naming its key: `prometheus.queries[2].query: empty`.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        let mut bad = |key: &str, what: String| errors.push(format!("prometheus.{key}: {what}"));
        if let Err(e) = base_url(&self.url) {
            bad("url", e);
        }
        if self.interval < MIN_STEP {
            bad("interval", "must be at least 1s".into());
        }
        if self.timeout.is_zero() {
            bad("timeout", "must be more than 0s".into());
        }
        if self.lookback.is_zero() || self.lookback > MAX_LOOKBACK {
            bad("lookback", "must be more than 0s and at most 24h".into());
        }
        for (name, value) in &self.headers {
            let key = format!("headers.{name}");
            match HeaderName::from_bytes(name.as_bytes()) {
                Err(_) => bad(&key, "not a valid header name".into()),
                Ok(h) if h == AUTHORIZATION && self.bearer_token.is_some() => {
                    bad(
                        &key,
                        "set together with prometheus.bearer_token; keep one".into(),
                    );
                }
                Ok(_) => {}
            }
            if HeaderValue::from_str(value).is_err() {
                bad(
                    &key,
                    "the value has characters a header cannot carry".into(),
                );
            }
        }
        if let Some(token) = &self.bearer_token {
            if token.trim().is_empty() {
                bad("bearer_token", "empty".into());
            } else if HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
                bad(
                    "bearer_token",
                    "has characters a header cannot carry".into(),
                );
            }
        }
        if self.queries.is_empty() {
            bad("queries", "empty (give at least one query)".into());
        }
        let mut seen = BTreeMap::new();
        for (i, q) in self.queries.iter().enumerate() {
            let key = |field: &str| format!("queries[{i}].{field}");
            if let Err(e) = label(&q.name, response::MAX_NAME_BYTES) {
                bad(&key("name"), e);
            }
            if q.query.trim().is_empty() {
                bad(&key("query"), "empty".into());
            }
            for (field, value) in [("service", &q.service), ("environment", &q.environment)] {
                if let Some(v) = value
                    && let Err(e) = label(v, rewind_model::metrics::MAX_LABEL_BYTES)
                {
                    bad(&key(field), e);
                }
            }
            if q.step.is_some_and(|s| s < MIN_STEP) {
                bad(&key("step"), "must be at least 1s".into());
            }
            let id = (&q.name, &q.service, &q.environment);
            if let Some(j) = seen.insert(id, i) {
                bad(
                    &format!("queries[{i}]"),
                    format!("the same name, service and environment as queries[{j}]"),
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A name or label value of 1 to `max` bytes without control characters.
fn label(value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        Err("empty".into())
    } else if value.len() > max {
        Err(format!("{} bytes; at most {max} are allowed", value.len()))
    } else if value.chars().any(char::is_control) {
        Err("contains a control character".into())
    } else {
        Ok(())
    }
}

/// The configured URL, checked.
fn base_url(text: &str) -> Result<url::Url, String> {
    if text.trim().is_empty() {
        return Err("empty".into());
    }
    let url = url::Url::parse(text.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or a fragment".into());
    }
    Ok(url)
}

/// The URL for logs: any password hidden.
fn redacted(text: &str) -> String {
    match url::Url::parse(text.trim()) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => text.to_owned(),
    }
}

/// Whether a failure is worth a line now.
#[derive(Debug, Default)]
struct Health {
    failing: Option<Failing>,
}

#[derive(Debug)]
struct Failing {
    since: Instant,
    logged: Instant,
    failures: u64,
}

/// What to log about a pull.
#[derive(Debug, PartialEq)]
enum Note {
    /// Nothing.
    Quiet,
    /// A failure, the first or the first for a while: `failures` so far,
    /// over `lasting`.
    Failed { failures: u64, lasting: Duration },
    /// It works again after `failures` failed pulls over `lasted`.
    Recovered { failures: u64, lasted: Duration },
}

impl Health {
    fn failed(&mut self, now: Instant) -> Note {
        match &mut self.failing {
            None => {
                self.failing = Some(Failing {
                    since: now,
                    logged: now,
                    failures: 1,
                });
                Note::Failed {
                    failures: 1,
                    lasting: Duration::ZERO,
                }
            }
            Some(f) => {
                f.failures += 1;
                if now.saturating_duration_since(f.logged) >= REPEAT_LOG {
                    f.logged = now;
                    Note::Failed {
                        failures: f.failures,
                        lasting: now.saturating_duration_since(f.since),
                    }
                } else {
                    Note::Quiet
                }
            }
        }
    }

    fn succeeded(&mut self, now: Instant) -> Note {
        match self.failing.take() {
            Some(f) => Note::Recovered {
                failures: f.failures,
                lasted: now.saturating_duration_since(f.since),
            },
            None => Note::Quiet,
        }
    }
}

/// The HTTP side: one client, the `query_range` URL.
struct Client {
    http: reqwest::Client,
    endpoint: url::Url,
    timeout: Duration,
}

impl Client {
    fn new(config: &PrometheusConfig) -> Result<Self, String> {
        let mut endpoint = base_url(&config.url)?;
        let path = format!(
            "{}/api/v1/query_range",
            endpoint.path().trim_end_matches('/')
        );
        endpoint.set_path(&path);
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            let mut value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        if let Some(token) = &config.bearer_token {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .default_headers(headers)
            .user_agent(concat!("rewind-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| error_text(e, config.timeout))?;
        Ok(Self {
            http,
            endpoint,
            timeout: config.timeout,
        })
    }

    /// One `query_range` call.
    async fn query_range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<response::Matrix, String> {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("query", query)
            .append_pair("start", &seconds(start))
            .append_pair("end", &seconds(end))
            .append_pair("step", &seconds(step));
        let mut res = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| error_text(e, self.timeout))?;
        let status = res.status().as_u16();
        if res
            .content_length()
            .is_some_and(|n| n > response::MAX_BODY as u64)
        {
            return Err(format!(
                "HTTP {status}: the answer is larger than {} MiB: refused (narrow the query)",
                response::MAX_BODY / (1024 * 1024)
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| error_text(e, self.timeout))? {
            response::append_capped(&mut body, &chunk, response::MAX_BODY)?;
        }
        response::parse(status, &body)
    }
}

/// Unix milliseconds as the API's seconds (`1774899000.250`).
fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    let (s, frac) = (abs / 1_000, abs % 1_000);
    if frac == 0 {
        format!("{sign}{s}")
    } else {
        format!("{sign}{s}.{frac:03}")
    }
}

/// A request error with its causes, without the URL (it may carry a
/// password).
fn error_text(e: reqwest::Error, timeout: Duration) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        return format!("timed out after {}", humantime::format_duration(timeout));
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    response::clean(&text)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One query's pulls.
struct Pull {
    query: PrometheusQuery,
    step: i64,
    /// Where the previous pull ended (Unix ms).
    cursor: Option<i64>,
    sent: window::Sent,
    health: Health,
    /// Whether refused points have been logged at warning level yet.
    refusal_logged: bool,
}

impl Pull {
    fn new(query: PrometheusQuery, interval: Duration) -> Self {
        let step = millis(query.step.unwrap_or(interval)).max(1);
        Self {
            query,
            step,
            cursor: None,
            sent: window::Sent::default(),
            health: Health::default(),
            refusal_logged: false,
        }
    }

    /// Pulls what is new. Returns false once the engine has stopped.
    async fn once(
        &mut self,
        client: &Client,
        lookback: i64,
        feed: &Feed,
        state: &WeakState,
    ) -> bool {
        let now = Timestamp::now().as_unix_millis();
        let Some((start, end)) = window::plan(self.cursor, now, lookback, self.step) else {
            return true;
        };
        for (from, to) in window::split(start, end, self.step, window::MAX_POINTS) {
            let matrix = match client
                .query_range(&self.query.query, from, to, self.step)
                .await
            {
                Ok(m) => m,
                Err(e) => {
                    self.failed(&e);
                    return true;
                }
            };
            self.succeeded();
            for w in &matrix.warnings {
                tracing::debug!(query = %self.query.name, warning = %w, "Prometheus warned");
            }
            let converted = response::to_points(&self.query, matrix);
            self.note_refusals(&converted);
            let points: Vec<MetricPoint> = converted
                .points
                .into_iter()
                .filter(|p| self.sent.admit(p))
                .collect();
            if !send(points, feed, state).await {
                return false;
            }
            self.cursor = Some(to);
        }
        if let Some(c) = self.cursor {
            self.sent.forget_before(Timestamp::from_unix_millis(c));
        }
        true
    }

    fn failed(&mut self, error: &str) {
        let name = &self.query.name;
        match self.health.failed(Instant::now()) {
            Note::Failed { failures: 1, .. } => {
                tracing::warn!(query = %name, %error, "Prometheus query failed; retrying every interval");
            }
            Note::Failed { failures, lasting } => tracing::warn!(
                query = %name,
                %error,
                failures,
                "Prometheus query still failing after {}",
                humantime::format_duration(round(lasting))
            ),
            Note::Quiet | Note::Recovered { .. } => {}
        }
    }

    fn succeeded(&mut self) {
        if let Note::Recovered { failures, lasted } = self.health.succeeded(Instant::now()) {
            tracing::info!(
                query = %self.query.name,
                failures,
                "Prometheus query works again after {}",
                humantime::format_duration(round(lasted))
            );
        }
    }

    fn note_refusals(&mut self, c: &response::Converted) {
        let Some(why) = &c.first_refusal else { return };
        if self.refusal_logged {
            tracing::debug!(query = %self.query.name, refused = c.refused, first = %why, "points refused");
        } else {
            self.refusal_logged = true;
            tracing::warn!(
                query = %self.query.name,
                refused = c.refused,
                first = %why,
                "points of a Prometheus query refused (bad time or label); later ones are logged at debug level"
            );
        }
    }
}

/// A duration to whole seconds, for logs.
fn round(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// Sends points to the engine in batches, counting them.
async fn send(points: Vec<MetricPoint>, feed: &Feed, state: &WeakState) -> bool {
    if points.is_empty() {
        return true;
    }
    if let Some(app) = state.upgrade() {
        app.metrics()
            .regression_points
            .get_or_create(&SourceLabel {
                source: "prometheus",
            })
            .inc_by(points.len() as u64);
    }
    let mut points = points;
    while !points.is_empty() {
        let rest = points.split_off(points.len().min(BATCH));
        if !feed.metrics(points).await {
            return false;
        }
        points = rest;
    }
    true
}

/// Whether the server is gone or stopping.
fn stopped(state: &WeakState) -> bool {
    state.upgrade().is_none_or(|app| app.is_stopping())
}

/// Pulls until the server stops.
pub(crate) async fn run(config: PrometheusConfig, feed: Feed, state: WeakState) {
    if let Err(errors) = config.validate() {
        for e in errors {
            tracing::error!("{e}");
        }
        tracing::error!("Prometheus is not pulled: its settings are wrong");
        return;
    }
    let client = match Client::new(&config) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "Prometheus is not pulled: no HTTP client");
            return;
        }
    };
    tracing::info!(
        url = %redacted(&config.url),
        queries = config.queries.len(),
        interval = %humantime::format_duration(config.interval),
        "pulling Prometheus for the regression watch"
    );
    let lookback = millis(config.lookback);
    let mut pulls: Vec<Pull> = config
        .queries
        .iter()
        .map(|q| Pull::new(q.clone(), config.interval))
        .collect();
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for pull in &mut pulls {
            if stopped(&state) || !pull.once(&client, lookback, &feed, &state).await {
                tracing::debug!("Prometheus pulls stopped");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, query: &str) -> PrometheusQuery {
        PrometheusQuery {
            name: name.into(),
            query: query.into(),
            service: None,
            environment: None,
            step: None,
        }
    }

    #[test]
    fn config_text_parses_with_defaults() {
        let c: PrometheusConfig = serde_json::from_str(
            r#"{"url":"http://prometheus:9090","queries":[
                {"name":"error_rate","query":"sum(rate(x[1m]))"},
                {"name":"p95_latency_ms","query":"y","service":"checkout","step":"30s"}]}"#,
        )
        .unwrap();
        assert_eq!(c.interval, Duration::from_secs(15));
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.lookback, Duration::from_secs(2_400));
        assert_eq!(c.queries[0].step, None);
        assert_eq!(c.queries[1].step, Some(Duration::from_secs(30)));
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(
            c,
            PrometheusConfig::new("http://prometheus:9090", c.queries.clone())
        );
        let again: PrometheusConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(again, c);
        for (text, why) in [
            (
                r#"{"url":"http://p","queries":[],"intervall":"1s"}"#,
                "unknown field `intervall`",
            ),
            (
                r#"{"url":"http://p","queries":[],"interval":"soon"}"#,
                "is not a duration",
            ),
            (
                r#"{"url":"http://p","queries":[{"name":"a","query":"b","stepp":"1s"}]}"#,
                "unknown field `stepp`",
            ),
            (
                r#"{"url":"http://p","queries":[{"name":"a","query":"b","step":"1 fortnight"}]}"#,
                "is not a duration",
            ),
        ] {
            let e = serde_json::from_str::<PrometheusConfig>(text)
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn validation_names_the_key() {
        let mut c = PrometheusConfig::new(
            "ftp://prometheus",
            vec![
                query("error_rate", "x"),
                query("", "y"),
                query("z", "  "),
                query("error_rate", "w"),
            ],
        );
        c.interval = Duration::from_millis(10);
        c.timeout = Duration::ZERO;
        c.lookback = Duration::from_secs(3 * 24 * 3600);
        c.headers.insert("Authorization".into(), "Basic abc".into());
        c.headers.insert("bad header".into(), "v".into());
        c.headers.insert("X-Scope-OrgID".into(), "a\nb".into());
        c.bearer_token = Some("t".into());
        c.queries[2].service = Some(String::new());
        c.queries[0].step = Some(Duration::from_millis(500));
        c.queries[2].environment = Some("e".repeat(300));
        let errors = c.validate().unwrap_err();
        let expected = [
            "prometheus.url: the scheme must be http or https, not ftp",
            "prometheus.interval: must be at least 1s",
            "prometheus.timeout: must be more than 0s",
            "prometheus.lookback: must be more than 0s and at most 24h",
            "prometheus.headers.Authorization: set together with prometheus.bearer_token; keep one",
            "prometheus.headers.X-Scope-OrgID: the value has characters a header cannot carry",
            "prometheus.headers.bad header: not a valid header name",
            "prometheus.queries[2].service: empty",
            "prometheus.queries[0].step: must be at least 1s",
            "prometheus.queries[1].name: empty",
            "prometheus.queries[2].query: empty",
            "prometheus.queries[2].environment: 300 bytes; at most 256 are allowed",
            "prometheus.queries[3]: the same name, service and environment as queries[0]",
        ];
        for e in expected {
            assert!(
                errors.iter().any(|x| x == e),
                "missing {e:?} in {errors:#?}"
            );
        }
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");

        for (url, why) in [
            ("", "prometheus.url: empty"),
            (
                "prometheus:9090",
                "prometheus.url: the scheme must be http or https, not prometheus",
            ),
            ("http://", "prometheus.url: not a URL (empty host)"),
            (
                "http://p:9090/?x=1",
                "prometheus.url: must not have a query or a fragment",
            ),
        ] {
            let c = PrometheusConfig::new(url, vec![query("a", "b")]);
            assert_eq!(c.validate(), Err(vec![why.to_owned()]), "{url}");
        }
        let c = PrometheusConfig::new("https://example.com/prometheus/", vec![]);
        assert_eq!(
            c.validate(),
            Err(vec![
                "prometheus.queries: empty (give at least one query)".to_owned()
            ])
        );
        let long = PrometheusConfig::new("http://p", vec![query(&"n".repeat(201), "b")]);
        assert_eq!(
            long.validate(),
            Err(vec![
                "prometheus.queries[0].name: 201 bytes; at most 200 are allowed".to_owned()
            ])
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let mut c = PrometheusConfig::new("http://me:hunter2@p:9090", vec![query("a", "b")]);
        c.bearer_token = Some("s3cret".into());
        c.headers.insert("X-Api-Key".into(), "k3y".into());
        let text = format!("{c:?}");
        for secret in ["hunter2", "s3cret", "k3y"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(
            text.contains("X-Api-Key") && text.contains("me:***@p:9090"),
            "{text}"
        );
    }

    #[test]
    fn the_endpoint_keeps_a_path_prefix() {
        let c = Client::new(&PrometheusConfig::new("https://example.com/prom/", vec![])).unwrap();
        assert_eq!(
            c.endpoint.as_str(),
            "https://example.com/prom/api/v1/query_range"
        );
        let c = Client::new(&PrometheusConfig::new("http://p:9090", vec![])).unwrap();
        assert_eq!(c.endpoint.as_str(), "http://p:9090/api/v1/query_range");
        assert_eq!(seconds(1_774_899_000_250), "1774899000.250");
        assert_eq!(seconds(15_000), "15");
        assert_eq!(seconds(-1), "-0.001");
        assert_eq!(seconds(i64::MIN), "-9223372036854775.808");
    }

    #[test]
    fn failures_are_logged_first_then_rarely_then_on_recovery() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut h = Health::default();
        assert_eq!(h.succeeded(at(0)), Note::Quiet);
        assert_eq!(
            h.failed(at(0)),
            Note::Failed {
                failures: 1,
                lasting: Duration::ZERO
            }
        );
        assert_eq!(h.failed(at(15)), Note::Quiet);
        assert_eq!(h.failed(at(299)), Note::Quiet);
        assert_eq!(
            h.failed(at(300)),
            Note::Failed {
                failures: 4,
                lasting: Duration::from_secs(300)
            }
        );
        assert_eq!(h.failed(at(315)), Note::Quiet);
        assert_eq!(
            h.succeeded(at(330)),
            Note::Recovered {
                failures: 5,
                lasted: Duration::from_secs(330)
            }
        );
        assert_eq!(h.succeeded(at(345)), Note::Quiet);
        assert!(matches!(
            h.failed(at(360)),
            Note::Failed { failures: 1, .. }
        ));
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_error_with_its_cause() {
        // A port nobody listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Client::new(&PrometheusConfig::new(
            format!("http://user:pw@127.0.0.1:{port}"),
            vec![],
        ))
        .unwrap();
        let e = c.query_range("up", 0, 15_000, 15_000).await.unwrap_err();
        assert!(e.to_lowercase().contains("refused"), "{e}");
        assert!(!e.contains("pw"), "{e}");
    }
}
