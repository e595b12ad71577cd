//! The server's own metrics, served at `/metrics` in the Prometheus text
//! format (`prometheus-client`).

use std::sync::{Arc, Mutex};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Labels of per-outcome counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `opened`, `joined`, `already_stored`, or an error code.
    pub outcome: String,
}

/// Labels of per-route request metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    /// HTTP method.
    pub method: String,
    /// The matched route template (`/api/v1/incidents/{id}`), never the raw path.
    pub route: String,
    /// Status class: `2xx`, `4xx`, `5xx`.
    pub status: String,
}

/// Every server metric.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    /// Bundles received, by outcome.
    pub bundles: Family<OutcomeLabel, Counter>,
    /// Bundle bytes stored.
    pub bundle_bytes: Counter,
    /// Seconds from request body complete to stored.
    pub ingest_seconds: Histogram,
    /// Live samples received.
    pub samples: Counter,
    /// Deploys recorded.
    pub deploys: Counter,
    /// HTTP requests by route and status class.
    pub requests: Family<RouteLabel, Counter>,
    /// HTTP request duration by route.
    pub request_seconds: Family<RouteLabel, Histogram>,
    /// Requests refused by the per-token rate limit.
    pub rate_limited: Counter,
    /// Live stream clients connected now.
    pub stream_clients: Gauge,
    /// Live stream clients dropped for falling behind.
    pub stream_dropped: Counter,
    /// Uploads in flight now (the ingest queue).
    pub uploads_in_flight: Gauge,
    /// Metric points taken by the regression watch, by source.
    pub regression_points: Family<SourceLabel, Counter>,
    /// Metric points dropped by the regression watch (too old, too far
    /// ahead, or beyond the series limit).
    pub regression_dropped: Counter,
    /// Deploy verdicts reached, by verdict.
    pub regression_verdicts: Family<OutcomeLabel, Counter>,
}

/// Where regression inputs came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct SourceLabel {
    /// `agent`, `jsonl`, `file`, `otlp`, `prometheus`.
    pub source: &'static str,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn seconds_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

impl Metrics {
    /// Registers every metric under the `rewind_server_` prefix.
    #[must_use]
    pub fn new() -> Self {
        let mut reg = Registry::with_prefix("rewind_server");
        let m = Self {
            registry: Arc::new(Mutex::new(Registry::default())),
            bundles: Family::default(),
            bundle_bytes: Counter::default(),
            ingest_seconds: seconds_histogram(),
            samples: Counter::default(),
            deploys: Counter::default(),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(seconds_histogram),
            rate_limited: Counter::default(),
            stream_clients: Gauge::default(),
            stream_dropped: Counter::default(),
            uploads_in_flight: Gauge::default(),
            regression_points: Family::default(),
            regression_dropped: Counter::default(),
            regression_verdicts: Family::default(),
        };
        reg.register("bundles", "Bundles received, by outcome", m.bundles.clone());
        reg.register(
            "bundle_bytes",
            "Bundle bytes received and stored",
            m.bundle_bytes.clone(),
        );
        reg.register(
            "ingest_seconds",
            "Time from a complete upload to the incident stored",
            m.ingest_seconds.clone(),
        );
        reg.register(
            "samples",
            "Live samples received from agents",
            m.samples.clone(),
        );
        reg.register("deploys", "Deploy events recorded", m.deploys.clone());
        reg.register(
            "http_requests",
            "HTTP requests by route and status class",
            m.requests.clone(),
        );
        reg.register(
            "http_request_seconds",
            "HTTP request duration by route and status class",
            m.request_seconds.clone(),
        );
        reg.register(
            "rate_limited",
            "Requests refused by the per-token rate limit",
            m.rate_limited.clone(),
        );
        reg.register(
            "stream_clients",
            "Live stream clients connected",
            m.stream_clients.clone(),
        );
        reg.register(
            "stream_dropped",
            "Live stream clients dropped for falling behind",
            m.stream_dropped.clone(),
        );
        reg.register(
            "uploads_in_flight",
            "Bundle uploads being received or stored",
            m.uploads_in_flight.clone(),
        );
        reg.register(
            "regression_points",
            "Metric points taken by the regression watch, by source",
            m.regression_points.clone(),
        );
        reg.register(
            "regression_points_dropped",
            "Metric points the regression watch dropped: too old, too far ahead, or beyond the series limit",
            m.regression_dropped.clone(),
        );
        reg.register(
            "regression_verdicts",
            "Deploy verdicts reached, by verdict",
            m.regression_verdicts.clone(),
        );
        if let Ok(mut slot) = m.registry.lock() {
            *slot = reg;
        }
        m
    }

    /// The Prometheus text exposition of every metric.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(reg) = self.registry.lock() {
            // Writing into a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut out, &reg);
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_registered_metrics_with_the_prefix() {
        let m = Metrics::new();
        m.bundles
            .get_or_create(&OutcomeLabel {
                outcome: "opened".into(),
            })
            .inc();
        let text = m.render();
        assert!(
            text.contains("rewind_server_bundles_total{outcome=\"opened\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE rewind_server_ingest_seconds histogram"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
