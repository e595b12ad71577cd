//! Turning Prometheus samples into Rewind series.
//!
//! `<prefix>.<metric>` followed by one `.<label>_<value>` segment per
//! non-empty label, sorted by label name:
//! `http_requests_total{method="GET",code="200"}` with prefix `prom` becomes
//! `prom.http_requests_total.code_200.method_GET`. Characters a series name
//! cannot hold, and dots, become `_` (`le="0.5"` → `le_0_5`,
//! `le="+Inf"` → `le__Inf`); `/` and `:` are kept. A sample whose name ends
//! up longer than 200 characters, or equal to an earlier sample's, is
//! dropped and counted.
//!
//! The unit comes from the metric name's suffix, following Prometheus
//! naming conventions (`_seconds`, `_bytes`, `_celsius`, …, with `_total`
//! and `_sum` looked through); `_bucket` and `_count` are `count`, as are
//! other counters; anything else has no unit. Values are kept as they are
//! (counters stay cumulative, NaN stays NaN).

use std::collections::HashSet;

use rewind_model::SeriesName;

use super::parse::Exposition;

/// Suffix → unit, checked after `_total`/`_sum` are removed.
const UNITS: [(&str, &str); 12] = [
    ("_seconds", "seconds"),
    ("_bytes", "bytes"),
    ("_celsius", "celsius"),
    ("_hertz", "hertz"),
    ("_ratio", "ratio"),
    ("_percent", "percent"),
    ("_volts", "volts"),
    ("_amperes", "amperes"),
    ("_watts", "watts"),
    ("_joules", "joules"),
    ("_meters", "meters"),
    ("_grams", "grams"),
];

/// Readings made from one exposition, and what was left out.
#[derive(Debug, Default)]
pub(super) struct Converted {
    pub readings: Vec<(SeriesName, &'static str, f64)>,
    /// Samples dropped because their name was too long or taken; one example.
    pub dropped: usize,
    pub example: Option<String>,
}

/// Names every sample of `e` under `prefix` (a valid series name).
pub(super) fn convert(e: &Exposition, prefix: &str) -> Converted {
    let mut out = Converted::default();
    let mut seen = HashSet::new();
    for s in &e.samples {
        let name = name(prefix, &s.name, &s.labels);
        match SeriesName::new(name) {
            Ok(series) if seen.insert(series.clone()) => {
                out.readings.push((
                    series,
                    unit(&s.name, e.types.get(family(&s.name)).map(String::as_str)),
                    s.value,
                ));
            }
            Ok(series) => drop_one(&mut out, format!("`{series}` appears twice")),
            Err(err) => drop_one(
                &mut out,
                err.0.chars().take(80).collect::<String>() + "… is too long",
            ),
        }
    }
    out
}

fn drop_one(out: &mut Converted, why: String) {
    out.dropped += 1;
    out.example.get_or_insert(why);
}

/// `<prefix>.<metric>[.<label>_<value>…]`, labels sorted by name, empty values left out.
pub(super) fn name(prefix: &str, metric: &str, labels: &[(String, String)]) -> String {
    let mut sorted: Vec<_> = labels.iter().filter(|(_, v)| !v.is_empty()).collect();
    sorted.sort();
    let mut out = format!("{prefix}.{}", clean(metric));
    for (k, v) in sorted {
        out.push('.');
        out.push_str(&clean(k));
        out.push('_');
        out.push_str(&clean(v));
    }
    out
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '/') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The family a sample belongs to (`x_bucket` → `x`), to look up its `# TYPE`.
fn family(metric: &str) -> &str {
    ["_bucket", "_count", "_sum", "_total", "_created"]
        .iter()
        .find_map(|s| metric.strip_suffix(s))
        .unwrap_or(metric)
}

/// The unit of `metric`, from its name and its family's `# TYPE`.
pub(super) fn unit(metric: &str, kind: Option<&str>) -> &'static str {
    if metric.ends_with("_bucket") || metric.ends_with("_count") {
        return "count";
    }
    if metric.ends_with("_created") {
        return "seconds"; // OpenMetrics: when the counter was created, Unix seconds
    }
    let base = metric
        .strip_suffix("_total")
        .or_else(|| metric.strip_suffix("_sum"))
        .unwrap_or(metric);
    if let Some((_, unit)) = UNITS.iter().find(|(suffix, _)| base.ends_with(suffix)) {
        return unit;
    }
    if metric.ends_with("_total") || kind == Some("counter") {
        "count"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::prometheus::parse::parse;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn labels_are_folded_sorted_and_cleaned() {
        let l = labels(&[("method", "GET"), ("code", "200")]);
        assert_eq!(
            name("prom", "http_requests_total", &l),
            "prom.http_requests_total.code_200.method_GET"
        );
        let l = labels(&[("le", "+Inf"), ("path", "/api/v1.2 x"), ("empty", "")]);
        assert_eq!(
            name("app", "req_bucket", &l),
            "app.req_bucket.le__Inf.path_/api/v1_2_x"
        );
        assert_eq!(
            name("p", "ns:rule", &labels(&[("a.b", "é")])),
            "p.ns:rule.a_b__"
        );
        assert!(SeriesName::new(name("prom", "x", &labels(&[("q", "\"\\\n")]))).is_ok());
    }

    #[test]
    fn units_follow_naming_conventions() {
        let cases = [
            ("process_cpu_seconds_total", Some("counter"), "seconds"),
            ("node_memory_MemAvailable_bytes", Some("gauge"), "bytes"),
            (
                "http_request_duration_seconds_sum",
                Some("histogram"),
                "seconds",
            ),
            (
                "http_request_duration_seconds_bucket",
                Some("histogram"),
                "count",
            ),
            (
                "http_request_duration_seconds_count",
                Some("histogram"),
                "count",
            ),
            ("http_requests_total", None, "count"),
            ("errors", Some("counter"), "count"),
            ("node_hwmon_temp_celsius", None, "celsius"),
            ("up", Some("gauge"), ""),
            ("a_created", None, "seconds"),
        ];
        for (metric, kind, want) in cases {
            assert_eq!(unit(metric, kind), want, "{metric}");
        }
    }

    #[test]
    fn long_and_duplicate_names_are_dropped_and_counted() {
        let long = "v".repeat(250);
        let text = format!(
            "a{{x=\"1.5\"}} 1\na{{x=\"1_5\"}} 2\nb{{x=\"{long}\"}} 3\nc_total 4\n# TYPE c counter\n"
        );
        let c = convert(&parse(&text, 100), "prom");
        let got: Vec<_> = c
            .readings
            .iter()
            .map(|(s, u, v)| (s.as_str(), *u, *v))
            .collect();
        assert_eq!(
            got,
            [("prom.a.x_1_5", "", 1.0), ("prom.c_total", "count", 4.0)]
        );
        assert_eq!(c.dropped, 2);
        assert!(c.example.unwrap().contains("appears twice"));
    }
}
