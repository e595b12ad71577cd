//! OTLP messages to the regression watch's [`MetricPoint`]s and
//! [`LogPoint`]s: pure functions, no I/O, no clock.
//!
//! **Labels** come from the resource: `service.name` is the service,
//! `deployment.environment.name` (else `deployment.environment`) the
//! environment, `service.instance.id` (else `host.name`) the instance.
//! Other resource attributes only tell apart the series whose previous
//! value is remembered (two processes without an instance id are still one
//! series for the watch).
//!
//! **Names**: a data point's attributes make it a series of its own, so
//! they are appended to the metric name, sorted by key, in PromQL form as
//! the Prometheus source writes them:
//! `http.server.duration.p95{http.method="POST",http.route="/pay"}` (a
//! derived suffix comes before the braces; quotes, backslashes and control
//! characters are escaped). A name over [`MAX_LABEL_BYTES`] keeps what
//! fits and ends with a hash of its labels (`…#0123456789abcdef}`), so
//! distinct series stay distinct and the name stays stable.
//!
//! **Values** (see also `docs/regressions.md`):
//! - Gauge, and Sum that is not monotonic: the value, as is.
//! - Monotonic Sum: a per-second rate, under the metric's own name. A
//!   cumulative one needs the previous point of its series ([`Memory`]):
//!   the first point only primes it, a restart (a lower value or a new
//!   start time) is measured from its new start time. A delta one is
//!   divided by its interval (start to time, else since the previous point).
//! - Histogram and ExponentialHistogram: `<name>.p50`, `.p95`, `.p99`, by
//!   linear interpolation within the bucket that holds the rank (the open
//!   first and last buckets are closed by `min`/`max` when known, else by 0
//!   and the last finite bound), over the counts of the interval (cumulative
//!   histograms are differenced against their previous point), plus
//!   `<name>.count`, observations per second.
//! - Summary: each quantile as `<name>.p<q>` (`p50`, `p99`, `p999` for
//!   0.999), plus `<name>.count` per second.
//!
//! A point without a time (`time_unix_nano`, else `start_time_unix_nano`),
//! without a value, with a value that is not finite, or that fails
//! [`MetricPoint::check`] is rejected and counted; a point flagged "no
//! recorded value" is skipped silently.

use std::collections::{BTreeMap, HashMap};

use opentelemetry_proto::tonic::{
    collector::{logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest},
    common::v1::{AnyValue, KeyValue, any_value},
    logs::v1::LogRecord,
    metrics::v1::{
        AggregationTemporality, DataPointFlags, ExponentialHistogramDataPoint, HistogramDataPoint,
        NumberDataPoint, SummaryDataPoint, exponential_histogram_data_point::Buckets, metric::Data,
        number_data_point,
    },
    resource::v1::Resource,
};
use rewind_model::{
    Level, Timestamp,
    metrics::{LogPoint, MAX_LABEL_BYTES, MetricPoint},
};
use sha2::{Digest as _, Sha256};

/// The percentiles derived from histograms.
const PERCENTILES: [(f64, &str); 3] = [(0.5, ".p50"), (0.95, ".p95"), (0.99, ".p99")];
/// Series whose previous cumulative point is remembered; beyond it the
/// least recently updated eighth is forgotten.
pub(crate) const MAX_REMEMBERED: usize = 20_000;
/// Problems named in a partial success message.
const MAX_PROBLEMS: usize = 5;
/// Scales an exponential histogram may have (the OTLP specification's range).
const EXP_SCALES: std::ops::RangeInclusive<i32> = -10..=20;

/// What a request became: the items taken, and the ones rejected.
#[derive(Debug)]
pub(crate) struct Converted<T> {
    /// Checked points or lines.
    pub items: Vec<T>,
    /// OTLP data points or log records rejected.
    pub rejected: u64,
    problems: Vec<String>,
}

impl<T> Default for Converted<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            rejected: 0,
            problems: Vec::new(),
        }
    }
}

impl<T> Converted<T> {
    fn reject(&mut self, why: String) {
        self.rejected += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(why);
        }
    }

    /// The partial success message: the first problems, and how many.
    pub(crate) fn message(&self) -> String {
        if self.rejected == 0 {
            return String::new();
        }
        let mut out = format!("{} rejected: {}", self.rejected, self.problems.join("; "));
        if self.rejected > self.problems.len() as u64 {
            out.push_str("; …");
        }
        out
    }
}

/// The labels of a resource, and a hash of all its attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Labels {
    pub service: Option<String>,
    pub environment: Option<String>,
    pub instance: Option<String>,
    identity: u64,
}

/// The labels of a resource (see the module documentation).
pub(crate) fn resource_labels(resource: Option<&Resource>) -> Labels {
    let attrs = resource.map_or(&[][..], |r| r.attributes.as_slice());
    let find = |keys: &[&str]| {
        keys.iter().find_map(|key| {
            attrs
                .iter()
                .find(|kv| kv.key == *key)
                .and_then(|kv| kv.value.as_ref())
                .map(render)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
    };
    let mut all: Vec<String> = attrs
        .iter()
        .map(|kv| {
            format!(
                "{}={}",
                kv.key,
                kv.value.as_ref().map(render).unwrap_or_default()
            )
        })
        .collect();
    all.sort();
    Labels {
        service: find(&["service.name"]),
        environment: find(&["deployment.environment.name", "deployment.environment"]),
        instance: find(&["service.instance.id", "host.name"]),
        identity: fnv(all.iter().map(String::as_bytes)),
    }
}

/// What the previous point of a cumulative (or start-less delta) series
/// said.
#[derive(Debug, Clone, PartialEq)]
struct Prev {
    start: u64,
    time: u64,
    last: Last,
}

/// The totals of a point.
#[derive(Debug, Clone, PartialEq)]
enum Last {
    /// A sum, or a count.
    Value(f64),
    /// Explicit buckets and the count.
    Buckets {
        bounds: Vec<f64>,
        counts: Vec<u64>,
        count: u64,
    },
    /// Exponential buckets and the count.
    Exp(Exp, u64),
    /// Nothing but the time (a delta series without start times).
    Time,
}

impl Last {
    /// `self − earlier`, or `None` when something went down or the
    /// buckets changed: the series restarted.
    fn minus(&self, earlier: &Self) -> Option<Self> {
        match (self, earlier) {
            (Self::Value(a), Self::Value(b)) if a >= b => Some(Self::Value(a - b)),
            (
                Self::Buckets {
                    bounds,
                    counts,
                    count,
                },
                Self::Buckets {
                    bounds: b0,
                    counts: c0,
                    count: n0,
                },
            ) if bounds == b0 && counts.len() == c0.len() => Some(Self::Buckets {
                bounds: bounds.clone(),
                counts: counts
                    .iter()
                    .zip(c0)
                    .map(|(a, b)| a.checked_sub(*b))
                    .collect::<Option<_>>()?,
                count: count.checked_sub(*n0)?,
            }),
            (Self::Exp(a, n), Self::Exp(b, n0)) => {
                Some(Self::Exp(a.minus(b)?, n.checked_sub(*n0)?))
            }
            _ => None,
        }
    }
}

/// An exponential histogram's counts, sparse.
#[derive(Debug, Clone, PartialEq, Default)]
struct Exp {
    scale: i32,
    zero: u64,
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
}

impl Exp {
    fn from_point(p: &ExponentialHistogramDataPoint) -> Result<Self, String> {
        if !EXP_SCALES.contains(&p.scale) {
            return Err(format!("scale {} is out of range", p.scale));
        }
        let side = |b: Option<&Buckets>| -> Result<BTreeMap<i32, u64>, String> {
            let mut map = BTreeMap::new();
            if let Some(b) = b {
                for (k, &n) in b.bucket_counts.iter().enumerate() {
                    let index = i32::try_from(k)
                        .ok()
                        .and_then(|k| b.offset.checked_add(k))
                        .ok_or_else(|| "bucket index out of range".to_owned())?;
                    if n > 0 {
                        map.insert(index, n);
                    }
                }
            }
            Ok(map)
        };
        Ok(Self {
            scale: p.scale,
            zero: p.zero_count,
            positive: side(p.positive.as_ref())?,
            negative: side(p.negative.as_ref())?,
        })
    }

    /// The same counts at a coarser scale (`by` steps down).
    fn downscale(&self, by: u32) -> Self {
        let merge = |m: &BTreeMap<i32, u64>| {
            let mut out = BTreeMap::new();
            for (&i, &n) in m {
                *out.entry(i >> by).or_insert(0u64) += n;
            }
            out
        };
        Self {
            scale: self.scale - by.cast_signed(),
            zero: self.zero,
            positive: merge(&self.positive),
            negative: merge(&self.negative),
        }
    }

    fn minus(&self, earlier: &Self) -> Option<Self> {
        let scale = self.scale.min(earlier.scale);
        let (a, b) = (
            self.downscale((self.scale - scale).cast_unsigned()),
            earlier.downscale((earlier.scale - scale).cast_unsigned()),
        );
        let side = |a: &BTreeMap<i32, u64>, b: &BTreeMap<i32, u64>| {
            if b.keys().any(|k| !a.contains_key(k)) {
                return None;
            }
            a.iter()
                .map(|(&i, &n)| Some((i, n.checked_sub(b.get(&i).copied().unwrap_or(0))?)))
                .collect::<Option<BTreeMap<_, _>>>()
        };
        Some(Self {
            scale,
            zero: a.zero.checked_sub(b.zero)?,
            positive: side(&a.positive, &b.positive)?,
            negative: side(&a.negative, &b.negative)?,
        })
    }

    /// The buckets in ascending order of value, as `(low, high, count)`.
    fn buckets(&self) -> Vec<(f64, f64, u64)> {
        let width = f64::from(-self.scale).exp2();
        let edge = |i: i32| (f64::from(i) * width).exp2();
        let mut out: Vec<(f64, f64, u64)> = self
            .negative
            .iter()
            .rev()
            .map(|(&i, &n)| (-edge(i.saturating_add(1)), -edge(i), n))
            .collect();
        if self.zero > 0 {
            out.push((0.0, 0.0, self.zero));
        }
        out.extend(
            self.positive
                .iter()
                .map(|(&i, &n)| (edge(i), edge(i.saturating_add(1)), n)),
        );
        out
    }
}

/// The previous points of cumulative series, across requests; bounded by
/// [`MAX_REMEMBERED`].
#[derive(Debug, Default)]
pub(crate) struct Memory {
    seen: HashMap<u64, Prev>,
}

/// What a request would change in [`Memory`]: committed only once its
/// points were taken, so a retried request is measured again.
#[derive(Debug, Default)]
pub(crate) struct Pending(HashMap<u64, Prev>);

impl Memory {
    /// Keeps what a taken request said.
    pub(crate) fn commit(&mut self, pending: Pending) {
        self.seen.extend(pending.0);
        if self.seen.len() > MAX_REMEMBERED {
            let forget = self.seen.len() - MAX_REMEMBERED * 7 / 8;
            let mut times: Vec<u64> = self.seen.values().map(|p| p.time).collect();
            let (_, &mut cutoff, _) = times.select_nth_unstable(forget - 1);
            let mut left = forget;
            self.seen.retain(|_, p| {
                if left > 0 && p.time <= cutoff {
                    left -= 1;
                    false
                } else {
                    true
                }
            });
        }
    }

    /// Series remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }
}

/// What a cumulative point says about the interval since the previous one.
#[derive(Debug, PartialEq)]
enum Step {
    /// The first point of a series: nothing to say yet.
    Prime,
    /// Not newer than the previous point: a duplicate or late.
    Stale,
    /// The increase over `nanos`.
    Interval { nanos: u64, increase: Last },
}

/// One cumulative point against its series' previous point.
fn cumulative_step(prev: Option<&Prev>, start: u64, time: u64, current: &Last) -> Step {
    let Some(p) = prev else {
        return Step::Prime;
    };
    if time <= p.time {
        return Step::Stale;
    }
    let same_run = start == 0 || p.start == 0 || start == p.start;
    if same_run && let Some(increase) = current.minus(&p.last) {
        return Step::Interval {
            nanos: time - p.time,
            increase,
        };
    }
    // A restart: the new totals count from the new start.
    if start > 0 && start >= p.time && start < time {
        return Step::Interval {
            nanos: time - start,
            increase: current.clone(),
        };
    }
    Step::Prime
}

/// The interval a delta point covers: start to time, else since the
/// previous point of its series.
fn delta_nanos(prev: Option<&Prev>, start: u64, time: u64) -> Option<u64> {
    if start > 0 && start < time {
        return Some(time - start);
    }
    prev.filter(|p| p.time < time).map(|p| time - p.time)
}

fn per_second(increase: f64, nanos: u64) -> f64 {
    increase / (nanos as f64 / 1e9)
}

/// Converts the metrics of a request; `memory` holds the previous points of
/// cumulative series, and what the request changes there is returned to be
/// [committed](Memory::commit) once its points are taken.
pub(crate) fn metrics(
    request: &ExportMetricsServiceRequest,
    memory: &Memory,
) -> (Converted<MetricPoint>, Pending) {
    let mut cx = Context {
        memory,
        pending: Pending::default(),
        out: Converted::default(),
    };
    for rm in &request.resource_metrics {
        let labels = resource_labels(rm.resource.as_ref());
        for sm in &rm.scope_metrics {
            let scope = sm.scope.as_ref().map_or("", |s| s.name.as_str());
            for metric in &sm.metrics {
                let Some(data) = &metric.data else {
                    // In OTLP JSON, data that does not decode is left out too.
                    cx.out.reject(format!(
                        "{}: no gauge, sum, histogram, exponential histogram or summary that decodes",
                        metric.name
                    ));
                    continue;
                };
                let series = Series {
                    labels: &labels,
                    scope,
                    name: &metric.name,
                };
                match data {
                    Data::Gauge(g) => {
                        for p in &g.data_points {
                            cx.number(&series, p, None);
                        }
                    }
                    Data::Sum(s) => {
                        let rate = s
                            .is_monotonic
                            .then(|| temporality(s.aggregation_temporality));
                        for p in &s.data_points {
                            cx.number(&series, p, rate.flatten());
                        }
                    }
                    Data::Histogram(h) => {
                        let t = temporality(h.aggregation_temporality);
                        for p in &h.data_points {
                            cx.histogram(&series, p, t);
                        }
                    }
                    Data::ExponentialHistogram(h) => {
                        let t = temporality(h.aggregation_temporality);
                        for p in &h.data_points {
                            cx.exponential(&series, p, t);
                        }
                    }
                    Data::Summary(s) => {
                        for p in &s.data_points {
                            cx.summary(&series, p);
                        }
                    }
                }
            }
        }
    }
    (cx.out, cx.pending)
}

/// Cumulative or delta; unspecified is neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Temporality {
    Delta,
    Cumulative,
}

fn temporality(value: i32) -> Option<Temporality> {
    match AggregationTemporality::try_from(value) {
        Ok(AggregationTemporality::Delta) => Some(Temporality::Delta),
        Ok(AggregationTemporality::Cumulative) => Some(Temporality::Cumulative),
        _ => None,
    }
}

/// Where a metric's points belong.
struct Series<'a> {
    labels: &'a Labels,
    scope: &'a str,
    name: &'a str,
}

/// One data point being converted.
struct PointCx<'a> {
    name: String,
    at: Timestamp,
    start: u64,
    time: u64,
    key: u64,
    attributes: &'a [KeyValue],
}

struct Context<'a> {
    memory: &'a Memory,
    pending: Pending,
    out: Converted<MetricPoint>,
}

impl Context<'_> {
    fn previous(&self, key: u64) -> Option<&Prev> {
        self.pending
            .0
            .get(&key)
            .or_else(|| self.memory.seen.get(&key))
    }

    fn remember(&mut self, key: u64, prev: Prev) {
        self.pending.0.insert(key, prev);
    }

    /// The common part of every data point; `None` when rejected or skipped.
    fn begin<'p>(
        &mut self,
        series: &Series<'_>,
        kind: &str,
        attributes: &'p [KeyValue],
        start: u64,
        time: u64,
        flags: u32,
    ) -> Option<PointCx<'p>> {
        if flags & DataPointFlags::NoRecordedValueMask as u32 != 0 {
            return None;
        }
        if series.name.trim().is_empty() {
            self.out.reject("a metric without a name".into());
            return None;
        }
        let name = series_name(series.name, "", attributes);
        let time = if time > 0 { time } else { start };
        let Some(at) = timestamp(time) else {
            self.out
                .reject(format!("{name}: a data point without a time"));
            return None;
        };
        let key = fnv([
            kind.as_bytes(),
            series.scope.as_bytes(),
            name.as_bytes(),
            &series.labels.identity.to_le_bytes(),
        ]);
        Some(PointCx {
            name,
            at,
            start,
            time,
            key,
            attributes,
        })
    }

    /// Checks and keeps the points derived from one data point; one that
    /// fails rejects the data point (the others are kept).
    fn emit(&mut self, series: &Series<'_>, p: &PointCx<'_>, values: Vec<(String, f64)>) {
        let mut problem = None;
        for (suffix, value) in values {
            let point = MetricPoint {
                at: p.at,
                name: series_name(series.name, &suffix, p.attributes),
                value,
                service: series.labels.service.clone(),
                environment: series.labels.environment.clone(),
                instance: series.labels.instance.clone(),
            };
            match point.check() {
                Ok(()) => self.out.items.push(point),
                Err(e) => problem = Some(format!("{}: {e}", p.name)),
            }
        }
        if let Some(why) = problem {
            self.out.reject(why);
        }
    }

    /// A Gauge or Sum point; `rate` for monotonic sums.
    fn number(&mut self, series: &Series<'_>, dp: &NumberDataPoint, rate: Option<Temporality>) {
        let Some(p) = self.begin(
            series,
            "sum",
            &dp.attributes,
            dp.start_time_unix_nano,
            dp.time_unix_nano,
            dp.flags,
        ) else {
            return;
        };
        let value = match dp.value {
            Some(number_data_point::Value::AsDouble(v)) => v,
            Some(number_data_point::Value::AsInt(v)) => v as f64,
            None => {
                return self
                    .out
                    .reject(format!("{}: a data point without a value", p.name));
            }
        };
        if !value.is_finite() {
            return self
                .out
                .reject(format!("{}: the value {value} is not finite", p.name));
        }
        let value = match rate {
            None => Some(value),
            Some(Temporality::Cumulative) => {
                let current = Last::Value(value);
                let step = cumulative_step(self.previous(p.key), p.start, p.time, &current);
                if step == Step::Stale {
                    return;
                }
                self.remember(
                    p.key,
                    Prev {
                        start: p.start,
                        time: p.time,
                        last: current,
                    },
                );
                match step {
                    Step::Interval {
                        nanos,
                        increase: Last::Value(v),
                    } => Some(per_second(v, nanos)),
                    _ => None,
                }
            }
            Some(Temporality::Delta) => {
                let nanos = delta_nanos(self.previous(p.key), p.start, p.time);
                self.remember_delta(&p);
                nanos.map(|n| per_second(value, n))
            }
        };
        if let Some(v) = value {
            self.emit(series, &p, vec![(String::new(), v)]);
        }
    }

    /// A delta series without start times needs the previous point's time.
    fn remember_delta(&mut self, p: &PointCx<'_>) {
        if p.start == 0 || p.start >= p.time {
            self.remember(
                p.key,
                Prev {
                    start: 0,
                    time: p.time,
                    last: Last::Time,
                },
            );
        }
    }

    fn histogram(&mut self, series: &Series<'_>, dp: &HistogramDataPoint, t: Option<Temporality>) {
        let Some(p) = self.begin(
            series,
            "histogram",
            &dp.attributes,
            dp.start_time_unix_nano,
            dp.time_unix_nano,
            dp.flags,
        ) else {
            return;
        };
        let shaped = dp.bucket_counts.is_empty()
            || (dp.bucket_counts.len() == dp.explicit_bounds.len() + 1
                && dp.explicit_bounds.iter().all(|b| b.is_finite())
                && dp.explicit_bounds.windows(2).all(|w| w[0] < w[1]));
        if !shaped {
            return self.out.reject(format!(
                "{}: {} bucket counts do not fit {} increasing finite bounds",
                p.name,
                dp.bucket_counts.len(),
                dp.explicit_bounds.len()
            ));
        }
        let current = Last::Buckets {
            bounds: dp.explicit_bounds.clone(),
            counts: dp.bucket_counts.clone(),
            count: dp.count,
        };
        let Some((nanos, interval, exact_range)) = self.interval(&p, t, current) else {
            return;
        };
        let Last::Buckets {
            bounds,
            counts,
            count,
        } = interval
        else {
            return;
        };
        let buckets: Vec<(f64, f64, u64)> = counts
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let low = if i == 0 {
                    f64::NEG_INFINITY
                } else {
                    bounds[i - 1]
                };
                let high = bounds.get(i).copied().unwrap_or(f64::INFINITY);
                (low, high, n)
            })
            .collect();
        let range = if exact_range {
            (dp.min, dp.max)
        } else {
            (None, None)
        };
        self.emit_distribution(series, &p, &buckets, range, count, nanos);
    }

    fn exponential(
        &mut self,
        series: &Series<'_>,
        dp: &ExponentialHistogramDataPoint,
        t: Option<Temporality>,
    ) {
        let Some(p) = self.begin(
            series,
            "exponential",
            &dp.attributes,
            dp.start_time_unix_nano,
            dp.time_unix_nano,
            dp.flags,
        ) else {
            return;
        };
        let exp = match Exp::from_point(dp) {
            Ok(e) => e,
            Err(why) => return self.out.reject(format!("{}: {why}", p.name)),
        };
        let Some((nanos, interval, exact_range)) = self.interval(&p, t, Last::Exp(exp, dp.count))
        else {
            return;
        };
        let Last::Exp(exp, count) = interval else {
            return;
        };
        let range = if exact_range {
            (dp.min, dp.max)
        } else {
            (None, None)
        };
        self.emit_distribution(series, &p, &exp.buckets(), range, count, nanos);
    }

    /// The counts of the interval a histogram point covers, the interval's
    /// length when known, and whether the point's own min and max apply to
    /// it. `None` when there is nothing to say yet.
    fn interval(
        &mut self,
        p: &PointCx<'_>,
        t: Option<Temporality>,
        current: Last,
    ) -> Option<(Option<u64>, Last, bool)> {
        if t == Some(Temporality::Cumulative) {
            let step = cumulative_step(self.previous(p.key), p.start, p.time, &current);
            if step == Step::Stale {
                return None;
            }
            self.remember(
                p.key,
                Prev {
                    start: p.start,
                    time: p.time,
                    last: current,
                },
            );
            match step {
                Step::Interval { nanos, increase } => Some((Some(nanos), increase, false)),
                Step::Prime | Step::Stale => None,
            }
        } else {
            let nanos = if t == Some(Temporality::Delta) {
                delta_nanos(self.previous(p.key), p.start, p.time)
            } else {
                None
            };
            self.remember_delta(p);
            Some((nanos, current, true))
        }
    }

    /// Percentiles of a distribution and its observations per second.
    /// `range` is the interval's min and max, when known.
    fn emit_distribution(
        &mut self,
        series: &Series<'_>,
        p: &PointCx<'_>,
        buckets: &[(f64, f64, u64)],
        (min, max): (Option<f64>, Option<f64>),
        count: u64,
        nanos: Option<u64>,
    ) {
        let mut values: Vec<(String, f64)> = PERCENTILES
            .iter()
            .filter_map(|&(q, suffix)| {
                quantile(buckets, q, min, max).map(|v| (suffix.to_owned(), v))
            })
            .collect();
        if let Some(n) = nanos {
            values.push((".count".to_owned(), per_second(count as f64, n)));
        }
        self.emit(series, p, values);
    }

    fn summary(&mut self, series: &Series<'_>, dp: &SummaryDataPoint) {
        let Some(p) = self.begin(
            series,
            "summary",
            &dp.attributes,
            dp.start_time_unix_nano,
            dp.time_unix_nano,
            dp.flags,
        ) else {
            return;
        };
        let mut values = Vec::new();
        for q in &dp.quantile_values {
            if !(0.0..=1.0).contains(&q.quantile) || !q.value.is_finite() {
                return self.out.reject(format!(
                    "{}: the quantile {} = {} cannot be used",
                    p.name, q.quantile, q.value
                ));
            }
            values.push((percentile_suffix(q.quantile), q.value));
        }
        // A summary's count is cumulative.
        let current = Last::Value(dp.count as f64);
        let step = cumulative_step(self.previous(p.key), p.start, p.time, &current);
        if step != Step::Stale {
            self.remember(
                p.key,
                Prev {
                    start: p.start,
                    time: p.time,
                    last: current,
                },
            );
        }
        if let Step::Interval {
            nanos,
            increase: Last::Value(n),
        } = step
        {
            values.push((".count".to_owned(), per_second(n, nanos)));
        }
        if !values.is_empty() {
            self.emit(series, &p, values);
        }
    }
}

/// `.p50` for 0.5, `.p999` for 0.999, `.p0` and `.p100` for the extremes.
fn percentile_suffix(q: f64) -> String {
    let text = format!("{:.6}", q * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!(".p{}", text.replace('.', ""))
}

/// The value at quantile `q` of bucketed counts, `(low, high, count)` in
/// ascending order, by linear interpolation within the bucket holding the
/// rank. Open edges are closed by `min`/`max` when known, else by 0 (or
/// the bucket's upper bound) below and the last finite bound above.
fn quantile(
    buckets: &[(f64, f64, u64)],
    q: f64,
    min: Option<f64>,
    max: Option<f64>,
) -> Option<f64> {
    let total: f64 = buckets.iter().map(|b| b.2 as f64).sum();
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut seen = 0.0;
    let last = buckets.iter().rposition(|b| b.2 > 0)?;
    for (i, &(low, high, n)) in buckets.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let next = seen + n as f64;
        if next >= rank || i == last {
            let low = if low.is_finite() {
                low
            } else {
                match min.filter(|m| m.is_finite() && *m <= high) {
                    Some(m) => m,
                    None if high.is_finite() && high > 0.0 => 0.0,
                    None => high,
                }
            };
            let high = if high.is_finite() {
                high
            } else {
                max.filter(|m| m.is_finite() && *m >= low).unwrap_or(low)
            };
            if !low.is_finite() || !high.is_finite() {
                return None;
            }
            let fraction = ((rank - seen) / n as f64).clamp(0.0, 1.0);
            let mut value = low + (high - low) * fraction;
            if let Some(m) = min.filter(|m| m.is_finite()) {
                value = value.max(m);
            }
            if let Some(m) = max.filter(|m| m.is_finite()) {
                value = value.min(m);
            }
            return Some(value);
        }
        seen = next;
    }
    None
}

/// Converts the log records of a request.
pub(crate) fn logs(request: &ExportLogsServiceRequest) -> Converted<LogPoint> {
    let mut out = Converted::default();
    for rl in &request.resource_logs {
        let labels = resource_labels(rl.resource.as_ref());
        for sl in &rl.scope_logs {
            let scope = sl.scope.as_ref().map_or("", |s| s.name.trim());
            let source = if scope.is_empty() {
                "otlp".to_owned()
            } else {
                fit(&format!("otlp:{}", clean(scope)), MAX_LABEL_BYTES)
            };
            for record in &sl.log_records {
                match log_point(record, &labels, &source) {
                    Ok(line) => out.items.push(line),
                    Err(why) => out.reject(why),
                }
            }
        }
    }
    out
}

fn log_point(record: &LogRecord, labels: &Labels, source: &str) -> Result<LogPoint, String> {
    let at = timestamp(record.time_unix_nano)
        .or_else(|| timestamp(record.observed_time_unix_nano))
        .ok_or("a log record without a time")?;
    let mut line = LogPoint {
        at,
        level: severity(record.severity_number, &record.severity_text),
        service: labels.service.clone(),
        environment: labels.environment.clone(),
        source: source.to_owned(),
        text: record.body.as_ref().map(render).unwrap_or_default(),
    };
    line.check()?;
    Ok(line)
}

/// A record's level: its severity number, else its severity text.
pub(crate) fn severity(number: i32, text: &str) -> Option<Level> {
    match number {
        1..=8 => Some(Level::Debug),
        9..=12 => Some(Level::Info),
        13..=16 => Some(Level::Warning),
        17..=20 => Some(Level::Error),
        21..=24 => Some(Level::Critical),
        _ => Level::from_word(text.trim()),
    }
}

/// A timestamp from Unix nanoseconds; 0 (unset) and out of range are none.
fn timestamp(nanos: u64) -> Option<Timestamp> {
    i64::try_from(nanos)
        .ok()
        .filter(|&n| n > 0)
        .map(Timestamp::from_unix_nanos)
}

/// A value as text: a string as it is, anything else as JSON.
pub(crate) fn render(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        _ => to_json(value).to_string(),
    }
}

fn to_json(value: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &value.value {
        None => J::Null,
        Some(any_value::Value::StringValue(s)) => J::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => J::Bool(*b),
        Some(any_value::Value::IntValue(i)) => J::from(*i),
        Some(any_value::Value::DoubleValue(d)) => J::from(*d),
        Some(any_value::Value::BytesValue(b)) => J::String(hex::encode(b)),
        Some(any_value::Value::ArrayValue(a)) => J::Array(a.values.iter().map(to_json).collect()),
        Some(any_value::Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(J::Null, to_json)))
                .collect(),
        ),
        Some(any_value::Value::StringValueStrindex(i)) => J::from(*i),
    }
}

/// A series name: the metric, a suffix, and the point's attributes sorted
/// by key in PromQL form, as the Prometheus source names its series (see
/// the module documentation).
fn series_name(base: &str, suffix: &str, attributes: &[KeyValue]) -> String {
    let name = format!("{}{suffix}", clean(base.trim()));
    if attributes.is_empty() {
        return name;
    }
    let mut pairs: Vec<(&str, String)> = attributes
        .iter()
        .map(|kv| {
            (
                kv.key.as_str(),
                kv.value.as_ref().map(render).unwrap_or_default(),
            )
        })
        .collect();
    pairs.sort();
    let labels: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}=\"{}\"", escape(k), escape(v)))
        .collect();
    let labels = labels.join(",");
    let full = format!("{name}{{{labels}}}");
    if full.len() <= MAX_LABEL_BYTES {
        return full;
    }
    let hash = hex::encode(&Sha256::digest(labels.as_bytes())[..8]);
    let tail = format!("…#{hash}}}");
    let mut short = fit(&full, MAX_LABEL_BYTES.saturating_sub(tail.len()));
    short.push_str(&tail);
    short
}

/// A label key or value as PromQL would quote it; control characters are
/// escaped so that the name passes [`MetricPoint::check`].
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Control characters replaced, so names pass [`MetricPoint::check`].
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// At most `max` bytes, cut at a character boundary.
fn fit(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// FNV-1a over parts (a separator between them): stable across runs and
/// releases, unlike the standard library's hasher.
fn fnv<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::{
        collector::logs::v1::ExportLogsServiceRequest,
        common::v1::{ArrayValue, InstrumentationScope, KeyValueList},
        logs::v1::{ResourceLogs, ScopeLogs},
        metrics::v1::{
            ExponentialHistogram, Gauge, Histogram, Metric, ResourceMetrics, ScopeMetrics, Sum,
            Summary, summary_data_point::ValueAtQuantile,
        },
    };

    use super::*;

    const T0: u64 = 1_800_000_000_000_000_000;
    const SEC: u64 = 1_000_000_000;

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
            ..Default::default()
        }
    }

    fn resource(attrs: Vec<KeyValue>) -> Resource {
        Resource {
            attributes: attrs,
            ..Default::default()
        }
    }

    fn checkout() -> Resource {
        resource(vec![
            kv("service.name", "checkout"),
            kv("deployment.environment.name", "production"),
            kv("service.instance.id", "pod-1"),
        ])
    }

    fn request(resource: Resource, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(resource),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "app".into(),
                        ..Default::default()
                    }),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn metric(name: &str, data: Data) -> Metric {
        Metric {
            name: name.into(),
            data: Some(data),
            ..Default::default()
        }
    }

    fn number(time: u64, value: f64, attrs: Vec<KeyValue>) -> NumberDataPoint {
        NumberDataPoint {
            attributes: attrs,
            time_unix_nano: time,
            value: Some(number_data_point::Value::AsDouble(value)),
            ..Default::default()
        }
    }

    fn gauge(name: &str, points: Vec<NumberDataPoint>) -> Metric {
        metric(
            name,
            Data::Gauge(Gauge {
                data_points: points,
            }),
        )
    }

    fn sum(
        name: &str,
        t: AggregationTemporality,
        monotonic: bool,
        points: Vec<NumberDataPoint>,
    ) -> Metric {
        metric(
            name,
            Data::Sum(Sum {
                data_points: points,
                aggregation_temporality: t as i32,
                is_monotonic: monotonic,
            }),
        )
    }

    /// Converts and commits, like a taken request.
    fn run(memory: &mut Memory, req: &ExportMetricsServiceRequest) -> Converted<MetricPoint> {
        let (out, pending) = metrics(req, memory);
        memory.commit(pending);
        out
    }

    fn values(out: &Converted<MetricPoint>) -> Vec<(String, f64)> {
        out.items
            .iter()
            .map(|p| (p.name.clone(), p.value))
            .collect()
    }

    #[test]
    fn gauges_keep_their_value_and_resource_labels() {
        let mut memory = Memory::default();
        let out = run(
            &mut memory,
            &request(
                checkout(),
                vec![gauge("queue.depth", vec![number(T0, 7.0, vec![])])],
            ),
        );
        assert_eq!(out.rejected, 0);
        let p = &out.items[0];
        assert_eq!(p.name, "queue.depth");
        assert_eq!(p.value, 7.0);
        assert_eq!(p.at, Timestamp::from_unix_nanos(T0 as i64));
        assert_eq!(p.service.as_deref(), Some("checkout"));
        assert_eq!(p.environment.as_deref(), Some("production"));
        assert_eq!(p.instance.as_deref(), Some("pod-1"));
        // Integers too.
        let mut int = number(T0, 0.0, vec![]);
        int.value = Some(number_data_point::Value::AsInt(-3));
        let out = run(
            &mut memory,
            &request(checkout(), vec![gauge("g", vec![int])]),
        );
        assert_eq!(out.items[0].value, -3.0);
    }

    #[test]
    fn older_resource_keys_and_fallbacks_are_used() {
        let labels = resource_labels(Some(&resource(vec![
            kv("deployment.environment", "staging"),
            kv("host.name", "web-3"),
        ])));
        assert_eq!(labels.service, None);
        assert_eq!(labels.environment.as_deref(), Some("staging"));
        assert_eq!(labels.instance.as_deref(), Some("web-3"));
        let both = resource_labels(Some(&resource(vec![
            kv("deployment.environment", "old"),
            kv("deployment.environment.name", "new"),
            kv("host.name", "web-3"),
            kv("service.instance.id", "i-1"),
            kv("service.name", "  "),
        ])));
        assert_eq!(both.environment.as_deref(), Some("new"));
        assert_eq!(both.instance.as_deref(), Some("i-1"));
        assert_eq!(both.service, None, "blank is absent");
        assert_eq!(
            resource_labels(None),
            Labels {
                identity: fnv([]),
                ..Labels::default()
            }
        );
    }

    #[test]
    fn cumulative_monotonic_sums_become_rates() {
        let mut memory = Memory::default();
        let point = |t: u64, v: f64| {
            let mut p = number(T0 + t * SEC, v, vec![kv("code", "500")]);
            p.start_time_unix_nano = T0 - 100 * SEC;
            p
        };
        let send = |memory: &mut Memory, p| {
            let req = request(
                checkout(),
                vec![sum(
                    "http.errors",
                    AggregationTemporality::Cumulative,
                    true,
                    vec![p],
                )],
            );
            run(memory, &req)
        };
        // The first point only primes the series.
        let out = send(&mut memory, point(0, 100.0));
        assert!(out.items.is_empty() && out.rejected == 0);
        // 30 more in 10 s: 3 per second.
        let out = send(&mut memory, point(10, 130.0));
        assert_eq!(
            values(&out),
            vec![(r#"http.errors{code="500"}"#.to_owned(), 3.0)]
        );
        // A duplicate (a retried request) says nothing.
        assert!(send(&mut memory, point(10, 130.0)).items.is_empty());
        // A restart: lower value, new start; counted from the new start.
        let mut restarted = number(T0 + 30 * SEC, 10.0, vec![kv("code", "500")]);
        restarted.start_time_unix_nano = T0 + 25 * SEC;
        let out = send(&mut memory, restarted);
        assert_eq!(out.items[0].value, 2.0);
        // Two points of one series in one request.
        let req = request(
            checkout(),
            vec![sum(
                "http.errors",
                AggregationTemporality::Cumulative,
                true,
                vec![
                    number(T0 + 40 * SEC, 30.0, vec![kv("code", "500")]),
                    number(T0 + 50 * SEC, 80.0, vec![kv("code", "500")]),
                ],
            )],
        );
        assert_eq!(out_values(&run(&mut memory, &req)), vec![2.0, 5.0]);
    }

    fn out_values(out: &Converted<MetricPoint>) -> Vec<f64> {
        out.items.iter().map(|p| p.value).collect()
    }

    #[test]
    fn pending_changes_count_only_once_committed() {
        let memory = Memory::default();
        let req = request(
            checkout(),
            vec![sum(
                "requests",
                AggregationTemporality::Cumulative,
                true,
                vec![number(T0, 5.0, vec![])],
            )],
        );
        let (_, pending) = metrics(&req, &memory);
        assert_eq!(pending.0.len(), 1);
        assert_eq!(memory.len(), 0, "nothing changes until committed");
    }

    #[test]
    fn delta_sums_are_divided_by_their_interval_and_others_kept() {
        let mut memory = Memory::default();
        let mut p = number(T0 + 20 * SEC, 40.0, vec![]);
        p.start_time_unix_nano = T0;
        let delta = sum("requests", AggregationTemporality::Delta, true, vec![p]);
        let up_down = sum(
            "inflight",
            AggregationTemporality::Cumulative,
            false,
            vec![number(T0, 12.0, vec![])],
        );
        let out = run(&mut memory, &request(checkout(), vec![delta, up_down]));
        assert_eq!(out_values(&out), vec![2.0, 12.0]);
        // Without start times: since the previous point.
        let first = sum(
            "jobs",
            AggregationTemporality::Delta,
            true,
            vec![number(T0, 5.0, vec![])],
        );
        assert!(
            run(&mut memory, &request(checkout(), vec![first]))
                .items
                .is_empty()
        );
        let next = sum(
            "jobs",
            AggregationTemporality::Delta,
            true,
            vec![number(T0 + 5 * SEC, 5.0, vec![])],
        );
        assert_eq!(
            out_values(&run(&mut memory, &request(checkout(), vec![next]))),
            vec![1.0]
        );
    }

    fn histogram_point(
        start: u64,
        time: u64,
        bounds: &[f64],
        counts: &[u64],
    ) -> HistogramDataPoint {
        HistogramDataPoint {
            start_time_unix_nano: start,
            time_unix_nano: time,
            count: counts.iter().sum(),
            bucket_counts: counts.to_vec(),
            explicit_bounds: bounds.to_vec(),
            ..Default::default()
        }
    }

    fn histogram(name: &str, t: AggregationTemporality, points: Vec<HistogramDataPoint>) -> Metric {
        metric(
            name,
            Data::Histogram(Histogram {
                data_points: points,
                aggregation_temporality: t as i32,
            }),
        )
    }

    #[test]
    fn histogram_percentiles_interpolate_within_buckets() {
        let mut memory = Memory::default();
        // 50 in (0, 100], 40 in (100, 200], 10 in (200, 400] over 10 s.
        let p = histogram_point(T0, T0 + 10 * SEC, &[100.0, 200.0, 400.0], &[50, 40, 10, 0]);
        let req = request(
            checkout(),
            vec![histogram(
                "http.server.duration",
                AggregationTemporality::Delta,
                vec![p],
            )],
        );
        let out = run(&mut memory, &req);
        let got = values(&out);
        let want = [
            ("http.server.duration.p50", 100.0),
            ("http.server.duration.p95", 300.0),
            ("http.server.duration.p99", 380.0),
            ("http.server.duration.count", 10.0),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for ((name, value), (want_name, want_value)) in got.iter().zip(want) {
            assert_eq!(name, want_name);
            assert!(
                (value - want_value).abs() < 1e-9,
                "{name}: {value} != {want_value}"
            );
        }
    }

    #[test]
    fn histogram_open_buckets_use_min_and_max_or_the_bounds() {
        let buckets = [(f64::NEG_INFINITY, 10.0, 10), (10.0, f64::INFINITY, 10)];
        assert_eq!(
            quantile(&buckets, 0.25, None, None),
            Some(5.0),
            "0 closes the first bucket"
        );
        assert_eq!(
            quantile(&buckets, 0.99, None, None),
            Some(10.0),
            "the last finite bound"
        );
        assert_eq!(quantile(&buckets, 0.25, Some(4.0), None), Some(7.0));
        assert_eq!(quantile(&buckets, 0.75, None, Some(30.0)), Some(20.0));
        assert_eq!(
            quantile(&[(f64::NEG_INFINITY, f64::INFINITY, 5)], 0.5, None, None),
            None
        );
        assert_eq!(
            quantile(&[(0.0, 1.0, 0)], 0.5, None, None),
            None,
            "nothing observed"
        );
    }

    #[test]
    fn cumulative_histograms_are_differenced() {
        let mut memory = Memory::default();
        let bounds = [100.0, 200.0, 400.0];
        let send = |memory: &mut Memory, p| {
            run(
                memory,
                &request(
                    checkout(),
                    vec![histogram(
                        "latency",
                        AggregationTemporality::Cumulative,
                        vec![p],
                    )],
                ),
            )
        };
        assert!(
            send(
                &mut memory,
                histogram_point(T0, T0 + SEC, &bounds, &[1000, 0, 0, 0])
            )
            .items
            .is_empty()
        );
        // Since the previous point: 50/40/10 as above, over 20 s.
        let out = send(
            &mut memory,
            histogram_point(T0, T0 + 21 * SEC, &bounds, &[1050, 40, 10, 0]),
        );
        assert_eq!(out_values(&out), vec![100.0, 300.0, 380.0, 5.0]);
        // Changed bounds: a restart without a usable start primes again.
        let out = send(
            &mut memory,
            histogram_point(T0, T0 + 31 * SEC, &[1.0], &[1, 1]),
        );
        assert!(out.items.is_empty());
        assert_eq!(out.rejected, 0);
    }

    #[test]
    fn malformed_histograms_are_rejected() {
        let mut memory = Memory::default();
        let p = histogram_point(T0, T0 + SEC, &[100.0, 50.0], &[1, 2, 3]);
        let q = histogram_point(T0, T0 + SEC, &[100.0], &[1, 2, 3]);
        let out = run(
            &mut memory,
            &request(
                checkout(),
                vec![histogram("h", AggregationTemporality::Delta, vec![p, q])],
            ),
        );
        assert_eq!(out.rejected, 2);
        assert!(out.message().contains("bucket counts"), "{}", out.message());
    }

    #[test]
    fn exponential_histograms_give_percentiles() {
        let mut memory = Memory::default();
        // Scale 0: bucket i is (2^i, 2^(i+1)]. 10 in (1, 2], 80 in (2, 4], 10 in (4, 8].
        let p = ExponentialHistogramDataPoint {
            start_time_unix_nano: T0,
            time_unix_nano: T0 + 10 * SEC,
            count: 100,
            scale: 0,
            positive: Some(Buckets {
                offset: 0,
                bucket_counts: vec![10, 80, 10],
            }),
            ..Default::default()
        };
        let m = metric(
            "rpc.duration",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![p.clone()],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            }),
        );
        let out = run(&mut memory, &request(checkout(), vec![m]));
        assert_eq!(
            values(&out),
            vec![
                ("rpc.duration.p50".to_owned(), 3.0),
                ("rpc.duration.p95".to_owned(), 6.0),
                ("rpc.duration.p99".to_owned(), 7.6),
                ("rpc.duration.count".to_owned(), 10.0),
            ]
        );
        // Negative and zero buckets come first, in order of value.
        let mut signed = Exp::from_point(&p).unwrap();
        signed.zero = 5;
        signed.negative.insert(1, 2);
        let buckets = signed.buckets();
        assert_eq!(&buckets[..2], &[(-4.0, -2.0, 2), (0.0, 0.0, 5)]);
        // Cumulative points at different scales are differenced at the coarser one.
        let fine = Exp::from_point(&ExponentialHistogramDataPoint {
            scale: 1,
            positive: Some(Buckets {
                offset: 2,
                bucket_counts: vec![3, 4],
            }),
            ..Default::default()
        })
        .unwrap();
        let coarse = Exp::from_point(&ExponentialHistogramDataPoint {
            scale: 0,
            positive: Some(Buckets {
                offset: 1,
                bucket_counts: vec![10],
            }),
            ..Default::default()
        })
        .unwrap();
        let d = coarse.minus(&fine).unwrap();
        assert_eq!((d.scale, d.positive.get(&1).copied()), (0, Some(3)));
        assert_eq!(fine.minus(&coarse), None, "went down: a restart");
        assert!(
            Exp::from_point(&ExponentialHistogramDataPoint {
                scale: 21,
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn summaries_give_their_quantiles_and_count_rate() {
        let mut memory = Memory::default();
        let point = |t: u64, count: u64| SummaryDataPoint {
            start_time_unix_nano: T0,
            time_unix_nano: T0 + t * SEC,
            count,
            quantile_values: vec![
                ValueAtQuantile {
                    quantile: 0.5,
                    value: 12.0,
                },
                ValueAtQuantile {
                    quantile: 0.999,
                    value: 90.0,
                },
                ValueAtQuantile {
                    quantile: 1.0,
                    value: 120.0,
                },
            ],
            ..Default::default()
        };
        let send = |memory: &mut Memory, p| {
            run(
                memory,
                &request(
                    checkout(),
                    vec![metric(
                        "db.query",
                        Data::Summary(Summary {
                            data_points: vec![p],
                        }),
                    )],
                ),
            )
        };
        let out = send(&mut memory, point(0, 100));
        let names: Vec<String> = out.items.iter().map(|p| p.name.clone()).collect();
        assert_eq!(names, ["db.query.p50", "db.query.p999", "db.query.p100"]);
        let out = send(&mut memory, point(10, 150));
        assert_eq!(
            values(&out).last(),
            Some(&("db.query.count".to_owned(), 5.0))
        );
        assert_eq!(percentile_suffix(0.95), ".p95");
        assert_eq!(percentile_suffix(0.0), ".p0");
        assert_eq!(percentile_suffix(0.9999), ".p9999");
    }

    #[test]
    fn attributes_make_stable_names_within_limits() {
        let attrs = vec![kv("http.route", "/pay"), kv("http.method", "POST")];
        let reversed: Vec<KeyValue> = attrs.iter().rev().cloned().collect();
        let name = series_name("http.server.duration", ".p95", &attrs);
        assert_eq!(
            name,
            r#"http.server.duration.p95{http.method="POST",http.route="/pay"}"#
        );
        assert_eq!(series_name("http.server.duration", ".p95", &reversed), name);
        let mut n = kv("code", "");
        n.value = Some(AnyValue {
            value: Some(any_value::Value::IntValue(503)),
        });
        assert_eq!(
            series_name("x", "", &[n, kv("bad", "a\nb")]),
            r#"x{bad="a\nb",code="503"}"#
        );
        // Too long: cut, and told apart by a hash.
        let a = series_name("m", "", &[kv("q", &"a".repeat(300))]);
        let b = series_name("m", "", &[kv("q", &format!("{}b", "a".repeat(299)))]);
        assert!(a.len() <= MAX_LABEL_BYTES && b.len() <= MAX_LABEL_BYTES);
        assert_ne!(a, b);
        assert!(a.ends_with('}') && a.contains("…#"), "{a}");
        assert!(
            MetricPoint::new(Timestamp::from_unix_millis(1), a, 1.0)
                .check()
                .is_ok()
        );
        // Points of one metric with different attributes are different series.
        let mut memory = Memory::default();
        let out = run(
            &mut memory,
            &request(
                checkout(),
                vec![gauge(
                    "temp",
                    vec![
                        number(T0, 1.0, vec![kv("zone", "a")]),
                        number(T0, 2.0, vec![kv("zone", "b")]),
                    ],
                )],
            ),
        );
        assert_eq!(
            values(&out),
            vec![
                (r#"temp{zone="a"}"#.to_owned(), 1.0),
                (r#"temp{zone="b"}"#.to_owned(), 2.0)
            ]
        );
    }

    #[test]
    fn points_without_time_or_finite_value_are_rejected() {
        let mut memory = Memory::default();
        let mut start_only = number(0, 4.0, vec![]);
        start_only.start_time_unix_nano = T0;
        let mut no_value = number(T0, 0.0, vec![]);
        no_value.value = None;
        let mut no_recorded = number(T0, 1.0, vec![]);
        no_recorded.flags = DataPointFlags::NoRecordedValueMask as u32;
        let req = request(
            checkout(),
            vec![
                gauge(
                    "g",
                    vec![
                        number(0, 1.0, vec![]),
                        start_only,
                        number(T0, f64::NAN, vec![]),
                    ],
                ),
                gauge(
                    "h",
                    vec![number(T0, f64::INFINITY, vec![]), no_value, no_recorded],
                ),
                gauge("", vec![number(T0, 1.0, vec![])]),
                gauge("huge", vec![number(u64::MAX, 1.0, vec![])]),
            ],
        );
        let out = run(&mut memory, &req);
        assert_eq!(
            values(&out),
            vec![("g".to_owned(), 4.0)],
            "the start time stands in"
        );
        assert_eq!(out.items[0].at, Timestamp::from_unix_nanos(T0 as i64));
        assert_eq!(out.rejected, 6);
        let message = out.message();
        assert!(
            message.starts_with("6 rejected: g: a data point without a time"),
            "{message}"
        );
        assert!(
            message.contains("not finite") && message.ends_with('…'),
            "{message}"
        );
        // A label that fails the check rejects the point.
        let long = resource(vec![kv("service.name", &"s".repeat(300))]);
        let out = run(
            &mut memory,
            &request(long, vec![gauge("g", vec![number(T0, 1.0, vec![])])]),
        );
        assert_eq!((out.items.len(), out.rejected), (0, 1));
        assert!(out.message().contains("at most 256"), "{}", out.message());
    }

    #[test]
    fn memory_stays_bounded() {
        let mut memory = Memory::default();
        let points: Vec<NumberDataPoint> = (0..MAX_REMEMBERED as u64 + 10)
            .map(|i| number(T0 + i, 1.0, vec![kv("i", &i.to_string())]))
            .collect();
        run(
            &mut memory,
            &request(
                checkout(),
                vec![sum("c", AggregationTemporality::Cumulative, true, points)],
            ),
        );
        assert!(
            memory.len() <= MAX_REMEMBERED * 7 / 8 + 1,
            "{}",
            memory.len()
        );
        assert!(
            memory.len() >= MAX_REMEMBERED * 7 / 8 - 1,
            "{}",
            memory.len()
        );
    }

    fn log_request(scope: &str, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(checkout()),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: scope.into(),
                        ..Default::default()
                    }),
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn record(time: u64, severity: i32, text: &str, body: &str) -> LogRecord {
        LogRecord {
            time_unix_nano: time,
            severity_number: severity,
            severity_text: text.into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(body.into())),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn severities_map_to_levels() {
        let cases = [
            (1, Some(Level::Debug)),
            (4, Some(Level::Debug)),
            (5, Some(Level::Debug)),
            (8, Some(Level::Debug)),
            (9, Some(Level::Info)),
            (12, Some(Level::Info)),
            (13, Some(Level::Warning)),
            (16, Some(Level::Warning)),
            (17, Some(Level::Error)),
            (20, Some(Level::Error)),
            (21, Some(Level::Critical)),
            (24, Some(Level::Critical)),
            (0, None),
            (25, None),
        ];
        for (n, want) in cases {
            assert_eq!(severity(n, ""), want, "{n}");
        }
        assert_eq!(severity(0, "WARN"), Some(Level::Warning));
        assert_eq!(severity(0, "Information"), Some(Level::Info));
        assert_eq!(severity(17, "info"), Some(Level::Error), "the number wins");
        assert_eq!(severity(0, "loud"), None);
    }

    #[test]
    fn log_records_become_lines() {
        let mut observed = record(0, 0, "ERROR", "db refused");
        observed.observed_time_unix_nano = T0 + SEC;
        let mut structured = record(T0, 9, "", "");
        structured.body = Some(AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![
                    kv("msg", "paid"),
                    KeyValue {
                        key: "ids".into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::ArrayValue(ArrayValue {
                                values: vec![AnyValue {
                                    value: Some(any_value::Value::IntValue(7)),
                                }],
                            })),
                        }),
                        ..Default::default()
                    },
                ],
            })),
        });
        let out = logs(&log_request(
            "com.shop.Payments",
            vec![
                record(T0, 17, "", "timeout calling bank"),
                observed,
                structured,
                record(0, 9, "", "no time"),
                record(T0, 9, "", "  "),
            ],
        ));
        assert_eq!(out.items.len(), 3);
        assert_eq!(out.rejected, 2);
        let first = &out.items[0];
        assert_eq!(first.at, Timestamp::from_unix_nanos(T0 as i64));
        assert_eq!(first.level, Some(Level::Error));
        assert_eq!(first.text, "timeout calling bank");
        assert_eq!(first.source, "otlp:com.shop.Payments");
        assert_eq!(first.service.as_deref(), Some("checkout"));
        assert_eq!(first.environment.as_deref(), Some("production"));
        assert_eq!(
            out.items[1].at,
            Timestamp::from_unix_nanos((T0 + SEC) as i64),
            "observed time"
        );
        assert_eq!(out.items[1].level, Some(Level::Error), "from the text");
        assert_eq!(out.items[2].text, r#"{"ids":[7],"msg":"paid"}"#);
        assert!(
            out.message().contains("without a time"),
            "{}",
            out.message()
        );
        assert!(
            out.message().contains("`text` is empty"),
            "{}",
            out.message()
        );
        // Without a scope name, the source is plain `otlp`.
        let out = logs(&log_request("", vec![record(T0, 9, "", "hello")]));
        assert_eq!(out.items[0].source, "otlp");
    }
}
