//! Publish rates of topics, from `topic` reports.
//!
//! Each report with a `count` covers the time since the previous counted
//! report of the same topic (measured with the client's `ts` when both
//! reports carry one, else with the agent's arrival times). The rate is
//! Σcount / Σspan over the reports that arrived within the window (at least
//! the newest one), so periodic counts and per-message notifications
//! (`count: 1`) both give the true rate. A topic whose reports stop reads 0
//! once it has been quiet for longer than the window (and three of its last
//! spans), and is forgotten, series and all, after [`Topics::forget_after`].

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use rewind_model::SeriesName;

use super::protocol::{Refusal, TopicReport};
use crate::collect::Batch;

/// Most spans kept per topic; older ones are merged (which keeps Σcount/Σspan exact).
const MAX_SPANS: usize = 64;
/// Longest span measured with client timestamps; longer gaps use arrival times.
const MAX_CLIENT_SPAN_S: f64 = 60.0;

/// All tracked topics.
#[derive(Debug)]
pub(super) struct Topics {
    by_stem: HashMap<String, Topic>,
    window: Duration,
    max: usize,
}

#[derive(Debug)]
struct Topic {
    rate_series: SeriesName,
    publishers_series: SeriesName,
    publishers: Option<u32>,
    /// Arrival of the newest report of any kind.
    last_at: Instant,
    /// Arrival and client time of the newest report with a `count`.
    last_counted: Option<(Instant, Option<rewind_model::Timestamp>)>,
    spans: VecDeque<Span>,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    at: Instant,
    count: f64,
    secs: f64,
}

impl Topics {
    /// Rates over `window`; at most `max` topics.
    pub(super) fn new(window: Duration, max: usize) -> Self {
        Self {
            by_stem: HashMap::new(),
            window,
            max,
        }
    }

    /// How long a topic without reports is kept.
    pub(super) fn forget_after(&self) -> Duration {
        (self.window * 5).max(Duration::from_secs(10))
    }

    /// Records a report that arrived at `now`.
    pub(super) fn report(&mut self, r: TopicReport, now: Instant) -> Result<(), Refusal> {
        let stem = stem(&r.topic);
        if !self.by_stem.contains_key(&stem) {
            if self.by_stem.len() >= self.max {
                let msg = format!(
                    "topic `{}` refused: already tracking {} topics",
                    r.topic, self.max
                );
                return Err(Refusal::new("limit", msg));
            }
            let topic = Topic::new(&stem, now)?;
            self.by_stem.insert(stem.clone(), topic);
        }
        let Some(t) = self.by_stem.get_mut(&stem) else {
            return Ok(());
        };
        t.last_at = now;
        if r.publishers.is_some() {
            t.publishers = r.publishers;
        }
        if let Some(count) = r.count {
            t.count(count, r.ts, now);
        }
        Ok(())
    }

    /// Adds `topic.<t>.rate_hz` and `topic.<t>.publishers` of every live topic.
    pub(super) fn emit(&mut self, now: Instant, out: &mut Batch) {
        let forget = self.forget_after();
        self.by_stem
            .retain(|_, t| now.saturating_duration_since(t.last_at) <= forget);
        for t in self.by_stem.values_mut() {
            if let Some(rate) = t.rate(now, self.window) {
                out.reading(t.rate_series.clone(), "hertz", rate);
            }
            if let Some(p) = t.publishers {
                out.reading(t.publishers_series.clone(), "count", f64::from(p));
            }
        }
    }
}

impl Topic {
    fn new(stem: &str, now: Instant) -> Result<Self, Refusal> {
        let name = |suffix: &str| {
            SeriesName::new(format!("topic.{stem}.{suffix}"))
                .map_err(|e| Refusal::new("invalid_message", e.to_string()))
        };
        Ok(Self {
            rate_series: name("rate_hz")?,
            publishers_series: name("publishers")?,
            publishers: None,
            last_at: now,
            last_counted: None,
            spans: VecDeque::new(),
        })
    }

    fn count(&mut self, count: u64, ts: Option<rewind_model::Timestamp>, now: Instant) {
        if let Some((prev_at, prev_ts)) = self.last_counted {
            let arrival = now.saturating_duration_since(prev_at).as_secs_f64();
            #[allow(clippy::cast_precision_loss)] // nanoseconds to seconds
            let client = match (prev_ts, ts) {
                (Some(a), Some(b)) => Some(b.nanos_since(a) as f64 / 1e9),
                _ => None,
            };
            let secs = client
                .filter(|s| *s > 0.0 && *s <= MAX_CLIENT_SPAN_S)
                .unwrap_or(arrival);
            #[allow(clippy::cast_precision_loss)] // counts are at most 1e9
            self.spans.push_back(Span {
                at: now,
                count: count as f64,
                secs,
            });
            if self.spans.len() > MAX_SPANS
                && let (Some(a), Some(b)) = (self.spans.pop_front(), self.spans.pop_front())
            {
                self.spans.push_front(Span {
                    at: b.at,
                    count: a.count + b.count,
                    secs: a.secs + b.secs,
                });
            }
        }
        self.last_counted = Some((now, ts));
    }

    /// The rate at `now`, or `None` before two counted reports.
    fn rate(&mut self, now: Instant, window: Duration) -> Option<f64> {
        let newest = *self.spans.back()?;
        let quiet = now.saturating_duration_since(newest.at).as_secs_f64();
        if quiet > window.as_secs_f64().max(3.0 * newest.secs) {
            return Some(0.0);
        }
        while self.spans.len() > 1
            && self
                .spans
                .front()
                .is_some_and(|s| now.saturating_duration_since(s.at) > window)
        {
            self.spans.pop_front();
        }
        let (count, secs) = self
            .spans
            .iter()
            .fold((0.0, 0.0), |(c, s), x| (c + x.count, s + x.secs));
        (secs > 0.0).then(|| count / secs)
    }
}

/// A topic or node name as one series segment: characters a series name may
/// not hold, and dots, become `_` (`/camera/rgb` stays `/camera/rgb`).
pub(super) fn stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(count: Option<u64>, ts_ms: Option<i64>) -> TopicReport {
        TopicReport {
            topic: "/camera/rgb".into(),
            count,
            publishers: Some(1),
            ts: ts_ms.map(rewind_model::Timestamp::from_unix_millis),
        }
    }

    fn emitted(t: &mut Topics, now: Instant) -> Vec<(String, f64)> {
        let mut b = Batch::new(rewind_model::Timestamp::from_unix_millis(0));
        t.emit(now, &mut b);
        let mut v: Vec<_> = b
            .readings
            .into_iter()
            .map(|r| (r.series.to_string(), r.value))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    #[test]
    fn periodic_counts_give_the_rate_from_client_timestamps() {
        let mut t = Topics::new(Duration::from_secs(2), 10);
        let t0 = Instant::now();
        // Arrival jitter does not matter: the client's timestamps are 1 s apart.
        t.report(report(Some(7), Some(0)), t0).unwrap();
        t.report(
            report(Some(30), Some(1000)),
            t0 + Duration::from_millis(1300),
        )
        .unwrap();
        t.report(
            report(Some(30), Some(2000)),
            t0 + Duration::from_millis(2000),
        )
        .unwrap();
        let got = emitted(&mut t, t0 + Duration::from_millis(2100));
        assert_eq!(
            got,
            vec![
                ("topic./camera/rgb.publishers".into(), 1.0),
                ("topic./camera/rgb.rate_hz".into(), 30.0)
            ]
        );
    }

    #[test]
    fn per_message_notifications_use_arrival_times_and_decay_to_zero() {
        let mut t = Topics::new(Duration::from_secs(2), 10);
        let t0 = Instant::now();
        for i in 0..=20 {
            t.report(report(Some(1), None), t0 + Duration::from_millis(100 * i))
                .unwrap();
        }
        let rate = |t: &mut Topics, at_ms| emitted(t, t0 + Duration::from_millis(at_ms))[1].1;
        assert!((rate(&mut t, 2050) - 10.0).abs() < 1e-9);
        assert!(
            (rate(&mut t, 3900) - 10.0).abs() < 1e-9,
            "still within the window of the last report"
        );
        assert_eq!(rate(&mut t, 4100), 0.0, "quiet for longer than the window");
        assert!(
            emitted(&mut t, t0 + Duration::from_secs(13)).is_empty(),
            "forgotten after 10 s"
        );
    }

    #[test]
    fn one_report_gives_no_rate_and_publishers_alone_are_kept() {
        let mut t = Topics::new(Duration::from_secs(2), 10);
        let t0 = Instant::now();
        t.report(report(Some(5), Some(0)), t0).unwrap();
        t.report(report(None, None), t0).unwrap();
        assert_eq!(
            emitted(&mut t, t0),
            vec![("topic./camera/rgb.publishers".into(), 1.0)]
        );
    }

    #[test]
    fn spans_stay_bounded_and_exact_when_merged() {
        let mut t = Topics::new(Duration::from_secs(60), 10);
        let t0 = Instant::now();
        for i in 0..1000 {
            t.report(report(Some(2), None), t0 + Duration::from_millis(10 * i))
                .unwrap();
        }
        let topic = t.by_stem.values().next().unwrap();
        assert!(topic.spans.len() <= MAX_SPANS);
        let got = emitted(&mut t, t0 + Duration::from_millis(9990));
        assert!((got[1].1 - 200.0).abs() < 1e-6, "{got:?}");
    }

    #[test]
    fn topics_beyond_the_limit_are_refused() {
        let mut t = Topics::new(Duration::from_secs(2), 1);
        let now = Instant::now();
        t.report(report(Some(1), None), now).unwrap();
        let mut other = report(Some(1), None);
        other.topic = "/other".into();
        assert_eq!(t.report(other, now).unwrap_err().code, "limit");
    }

    #[test]
    fn stems_keep_slashes_and_replace_dots_and_spaces() {
        assert_eq!(stem("/camera/rgb"), "/camera/rgb");
        assert_eq!(stem("a.b c~d"), "a_b_c_d");
    }
}
