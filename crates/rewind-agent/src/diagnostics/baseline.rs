//! Baselines: the same diagnostics taken on a schedule while nothing is
//! wrong, so an incident can be compared with a healthy moment. The newest
//! `keep` are held in memory; a bundle carries the newest one under
//! `baseline/<time>/` (time as `20260513T143022Z`: bundle paths may not
//! hold `:`).
//!
//! Pure logic: [`Baselines::tick`] takes the time and says when to capture;
//! the capture itself is the caller's ([`super::Capturer::capture`] with
//! [`super::Purpose::Baseline`]), handed back with [`Baselines::record`].

use std::{collections::VecDeque, time::Duration};

use rewind_model::Timestamp;
use serde::Deserialize;

use super::Diagnostics;
use crate::config::duration;

/// The first baseline is taken this long after start at most (or after
/// `interval`, if shorter), so the watched processes have settled.
const FIRST_AFTER: Duration = Duration::from_secs(60);

/// `diagnostics.baselines` in the agent config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineConfig {
    /// Whether baselines are taken.
    pub enabled: bool,
    /// Time between two baselines (the first comes 1 minute after start, or `interval` if shorter).
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Baselines kept in memory (the newest goes into each bundle).
    pub keep: usize,
    /// Whether baselines include user-space stacks (eu-stack/gdb pause the process while they read it).
    pub user_stacks: bool,
    /// Whether baselines fetch the `diagnostics.pprof` profiles too.
    pub pprof: bool,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(600),
            keep: 6,
            user_stacks: false,
            pprof: true,
        }
    }
}

impl BaselineConfig {
    pub(super) fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.interval < Duration::from_secs(10) || self.interval > Duration::from_secs(86_400) {
            out.push(
                "diagnostics.baselines.interval must be at least 10s and at most 24h".to_owned(),
            );
        }
        if self.keep == 0 || self.keep > 100 {
            out.push("diagnostics.baselines.keep must be from 1 to 100".to_owned());
        }
        out
    }
}

/// One baseline.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// What was captured (its `taken_at` is the baseline's time).
    pub diagnostics: Diagnostics,
}

impl Baseline {
    /// The folder in the bundle: `baseline/20260513T143022Z`.
    #[must_use]
    pub fn dir(&self) -> String {
        format!("baseline/{}", compact_time(self.diagnostics.taken_at))
    }

    /// The files for the bundle, under [`dir`](Self::dir).
    #[must_use]
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let dir = self.dir();
        self.diagnostics
            .files
            .iter()
            .map(|(path, bytes)| (format!("{dir}/{path}"), bytes.clone()))
            .collect()
    }

    /// The notes for the manifest, each naming the baseline.
    #[must_use]
    pub fn notes(&self) -> Vec<String> {
        let dir = self.dir();
        self.diagnostics
            .notes
            .iter()
            .map(|note| format!("{dir}: {note}"))
            .collect()
    }
}

/// `20260513T143022Z`.
fn compact_time(t: Timestamp) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(t.as_unix_nanos()))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// The schedule and the newest baselines.
#[derive(Debug)]
pub struct Baselines {
    config: BaselineConfig,
    next: Option<Timestamp>,
    kept: VecDeque<Baseline>,
}

impl Baselines {
    /// Nothing taken yet; the first is due a minute after the first [`tick`](Self::tick).
    #[must_use]
    pub fn new(config: &BaselineConfig) -> Self {
        Self {
            config: config.clone(),
            next: None,
            kept: VecDeque::new(),
        }
    }

    /// Whether a baseline should be captured now; when it says yes the next
    /// one is scheduled `interval` later. Never yes when baselines are off.
    /// A clock that jumped back by more than `interval` reschedules.
    pub fn tick(&mut self, now: Timestamp) -> bool {
        if !self.config.enabled {
            return false;
        }
        let interval = nanos(self.config.interval);
        let Some(next) = self.next else {
            self.next = Some(now.add_nanos(nanos(FIRST_AFTER.min(self.config.interval))));
            return false;
        };
        if next.nanos_since(now) > interval {
            self.next = Some(now.add_nanos(interval));
            return false;
        }
        if now < next {
            return false;
        }
        self.next = Some(now.add_nanos(interval));
        true
    }

    /// Keeps a capture, dropping the oldest beyond `keep`.
    pub fn record(&mut self, diagnostics: Diagnostics) {
        self.kept.push_back(Baseline { diagnostics });
        while self.kept.len() > self.config.keep.max(1) {
            self.kept.pop_front();
        }
    }

    /// The newest baseline: the one a bundle carries.
    #[must_use]
    pub fn newest(&self) -> Option<&Baseline> {
        self.kept.back()
    }

    /// The newest baseline taken before `t` (e.g. before a rule went pending).
    #[must_use]
    pub fn newest_before(&self, t: Timestamp) -> Option<&Baseline> {
        self.kept.iter().rev().find(|b| b.diagnostics.taken_at < t)
    }

    /// Every baseline kept, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Baseline> {
        self.kept.iter()
    }

    /// Baselines kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether none is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;
    const T0: i64 = 1_778_682_622 * S; // 2026-05-13T14:30:22Z

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_nanos(T0 + secs * S)
    }

    fn capture(t: Timestamp, file: &str) -> Diagnostics {
        Diagnostics {
            taken_at: t,
            files: vec![(file.to_owned(), b"x".to_vec())],
            notes: vec!["a note".to_owned()],
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn the_schedule_starts_after_a_minute_then_follows_the_interval() {
        let mut b = Baselines::new(&BaselineConfig::default());
        let due: Vec<i64> = (0..=1300).filter(|s| b.tick(at(*s))).collect();
        assert_eq!(due, [60, 660, 1260]);
    }

    #[test]
    fn short_intervals_start_sooner_and_off_means_never() {
        let mut b = Baselines::new(&BaselineConfig {
            interval: Duration::from_secs(20),
            ..BaselineConfig::default()
        });
        let due: Vec<i64> = (0..=70).filter(|s| b.tick(at(*s))).collect();
        assert_eq!(due, [20, 40, 60]);
        let mut off = Baselines::new(&BaselineConfig {
            enabled: false,
            ..BaselineConfig::default()
        });
        assert!(!(0..=5000).any(|s| off.tick(at(s))));
    }

    #[test]
    fn a_clock_jumping_back_reschedules_instead_of_stalling() {
        let mut b = Baselines::new(&BaselineConfig::default());
        assert!(!b.tick(at(0)));
        assert!(b.tick(at(60)));
        // The wall clock goes back an hour: the next baseline is one interval
        // from the new "now", not an hour and ten minutes away.
        assert!(!b.tick(at(60 - 3600)));
        assert!(b.tick(at(60 - 3600 + 600)));
    }

    #[test]
    fn the_newest_are_kept_and_laid_out_under_their_time() {
        let mut b = Baselines::new(&BaselineConfig {
            keep: 2,
            ..BaselineConfig::default()
        });
        assert!(b.newest().is_none() && b.is_empty());
        for (i, s) in [0, 600, 1200].into_iter().enumerate() {
            b.record(capture(at(s), &format!("processes/p/{i}/status.txt")));
        }
        assert_eq!(b.len(), 2);
        let newest = b.newest().unwrap();
        assert_eq!(newest.dir(), "baseline/20260513T145022Z");
        assert_eq!(
            newest.files(),
            [(
                "baseline/20260513T145022Z/processes/p/2/status.txt".to_owned(),
                b"x".to_vec()
            )]
        );
        assert_eq!(newest.notes(), ["baseline/20260513T145022Z: a note"]);
        assert_eq!(
            b.newest_before(at(1200)).map(Baseline::dir).as_deref(),
            Some("baseline/20260513T144022Z")
        );
        assert!(b.newest_before(at(600)).is_none());
    }
}
