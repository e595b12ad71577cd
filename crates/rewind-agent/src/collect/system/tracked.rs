//! Counters of things that come and go between passes (block devices,
//! network interfaces), keyed by their name in the file, with their series
//! names built once. Things not seen in a pass are forgotten, and at most
//! `cap` are tracked, so hostile input cannot grow the table.

use std::{collections::HashMap, time::Duration};

use rewind_model::SeriesName;

use super::common::{rate, secs_between};

/// One thing: `None` names when it is filtered out (remembered so the
/// filter runs once per thing).
#[derive(Debug)]
struct Tracked<const N: usize> {
    names: Option<[SeriesName; N]>,
    prev: Option<([u64; N], Duration)>,
    pass: u64,
}

/// Every thing seen in the current file.
#[derive(Debug)]
pub(super) struct Table<const N: usize> {
    things: HashMap<String, Tracked<N>>,
    pass: u64,
    cap: usize,
}

impl<const N: usize> Table<N> {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            things: HashMap::new(),
            pass: 0,
            cap,
        }
    }

    /// Starts a pass (call before the first [`Table::rates`] of a file).
    pub(super) fn begin(&mut self) {
        self.pass += 1;
    }

    /// Forgets what the pass did not see (call after the last [`Table::rates`]).
    pub(super) fn end(&mut self) {
        let pass = self.pass;
        self.things.retain(|_, t| t.pass == pass);
    }

    /// Records `counters` of `name` at `now`; returns each counter's
    /// per-second rate since the previous pass with its series name.
    /// `names` is asked once per new thing (`None` filters it out).
    pub(super) fn rates(
        &mut self,
        name: &str,
        counters: [u64; N],
        now: Duration,
        names: impl FnOnce() -> Option<[SeriesName; N]>,
    ) -> Vec<(SeriesName, usize, f64)> {
        if !self.things.contains_key(name) {
            if self.things.len() >= self.cap {
                return Vec::new();
            }
            self.things.insert(
                name.to_owned(),
                Tracked {
                    names: names(),
                    prev: None,
                    pass: 0,
                },
            );
        }
        let Some(t) = self.things.get_mut(name) else {
            return Vec::new();
        };
        t.pass = self.pass;
        let Some(series) = &t.names else {
            return Vec::new();
        };
        let Some((prev, at)) = t.prev.replace((counters, now)) else {
            return Vec::new();
        };
        let Some(secs) = secs_between(at, now) else {
            return Vec::new();
        };
        (0..N)
            .filter_map(|i| Some((series[i].clone(), i, rate(prev[i], counters[i], secs)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(n: &str) -> Option<[SeriesName; 1]> {
        Some([SeriesName::new(format!("t.{n}.x")).unwrap()])
    }

    #[test]
    fn rates_forgetting_and_the_cap() {
        let mut t = Table::<1>::new(2);
        t.begin();
        assert!(t.rates("a", [10], Duration::ZERO, || one("a")).is_empty());
        assert!(t.rates("b", [10], Duration::ZERO, || None).is_empty());
        assert!(
            t.rates("c", [10], Duration::ZERO, || one("c")).is_empty(),
            "over the cap"
        );
        t.end();
        t.begin();
        let r = t.rates("a", [30], Duration::from_secs(2), || one("a"));
        assert_eq!(r, [(SeriesName::new("t.a.x").unwrap(), 0, 10.0)]);
        assert!(
            t.rates("b", [30], Duration::from_secs(2), || one("b"))
                .is_empty(),
            "filtered once, for good"
        );
        t.end();
        t.begin();
        t.end();
        assert!(t.things.is_empty(), "unseen things are forgotten");
    }
}
