//! Which deploy caused which change.
//!
//! For each change (a series, its service, and its change point):
//!
//! 1. **Own service.** The deploy of the series' service (same environment
//!    where both are labelled) nearest before the change point, within
//!    `max_lag`, caused it ([`Cause::CausedBy`]).
//! 2. **Began before.** Otherwise, if a deploy of that service came after the
//!    change point (within `lookback`), the change is reported as not caused
//!    by it ([`Cause::NotCausedBy`], with how long before the deploy it began).
//! 3. **First mover.** A series with no deploy of its own service (a shared
//!    dependency, or an unlabelled series) is attributed, among the deploys
//!    before it within `max_lag`, to the one whose own service's series moved
//!    first (earliest change point at or after that deploy, and not after
//!    this change): overlapping deploys of different services are told apart
//!    by which service moved first ([`Cause::FollowedFirstMover`]). When no
//!    candidate service moved, the nearest deploy before it is named.
//! 4. Otherwise [`Cause::Unattributed`], with the reason.
//!
//! Ties (two deploys at the same instant) go to the one listed first.

use rewind_model::Timestamp;
use serde::Serialize;

use super::DeployRef;
use super::config::SECOND;

/// A change seen in one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeObservation {
    /// The series' label.
    pub series: String,
    /// Its service, when labelled.
    pub service: Option<String>,
    /// Its environment, when labelled.
    pub environment: Option<String>,
    /// The estimated start of the change.
    pub change_at: Timestamp,
}

/// The outcome of attributing one change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Cause {
    /// The deploy of the series' own service nearest before the change.
    CausedBy {
        /// The deploy.
        deploy_id: String,
        /// Seconds from the deploy to the change point.
        lag_seconds: f64,
    },
    /// The change began before this deploy of its service: not caused by it.
    NotCausedBy {
        /// The deploy.
        deploy_id: String,
        /// Seconds from the change point to the deploy.
        lead_seconds: f64,
    },
    /// Another service's deploy, whose own series moved first.
    FollowedFirstMover {
        /// The deploy.
        deploy_id: String,
        /// Its service.
        service: String,
        /// Seconds from the deploy to this change point.
        lag_seconds: f64,
        /// When that service's series first moved, if one did.
        first_move_at: Option<Timestamp>,
    },
    /// No deploy explains it.
    Unattributed {
        /// Why, in words.
        reason: String,
    },
}

/// One change with its cause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// The change.
    pub change: ChangeObservation,
    /// Its cause.
    pub cause: Cause,
}

/// How far attribution reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AttributionConfig {
    /// Longest time from a deploy to a change it may have caused, ns (default 10 min).
    pub max_lag_nanos: i64,
    /// Longest time from a change to a later deploy of its service for the
    /// change to be reported as "not caused by" it, ns (default 10 min).
    pub lookback_nanos: i64,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        Self {
            max_lag_nanos: 600 * SECOND,
            lookback_nanos: 600 * SECOND,
        }
    }
}

fn secs(nanos: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // seconds for reports
    let s = nanos as f64 / 1e9;
    s
}

fn env_ok(d: &DeployRef, c: &ChangeObservation) -> bool {
    match (&d.environment, &c.environment) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Attributes every change (in the order given).
#[must_use]
pub fn attribute(
    deploys: &[DeployRef],
    changes: &[ChangeObservation],
    cfg: &AttributionConfig,
) -> Vec<Attribution> {
    changes
        .iter()
        .map(|c| Attribution {
            change: c.clone(),
            cause: cause_of(deploys, changes, c, cfg),
        })
        .collect()
}

fn cause_of(
    deploys: &[DeployRef],
    changes: &[ChangeObservation],
    c: &ChangeObservation,
    cfg: &AttributionConfig,
) -> Cause {
    let before = |d: &&DeployRef| {
        d.at <= c.change_at && c.change_at.nanos_since(d.at) <= cfg.max_lag_nanos && env_ok(d, c)
    };
    fn nearest<'d>(it: impl Iterator<Item = &'d DeployRef>) -> Option<&'d DeployRef> {
        it.fold(None, |best: Option<&DeployRef>, d| match best {
            Some(b) if b.at >= d.at => Some(b),
            _ => Some(d),
        })
    }
    let own = |d: &&DeployRef| c.service.as_ref().is_some_and(|s| *s == d.service);
    if let Some(d) = nearest(deploys.iter().filter(own).filter(before)) {
        return Cause::CausedBy {
            deploy_id: d.id.clone(),
            lag_seconds: secs(c.change_at.nanos_since(d.at)),
        };
    }
    let after = deploys
        .iter()
        .filter(own)
        .filter(|d| {
            d.at > c.change_at
                && d.at.nanos_since(c.change_at) <= cfg.lookback_nanos
                && env_ok(d, c)
        })
        .min_by_key(|d| d.at);
    if let Some(d) = after {
        return Cause::NotCausedBy {
            deploy_id: d.id.clone(),
            lead_seconds: secs(d.at.nanos_since(c.change_at)),
        };
    }
    let candidates: Vec<&DeployRef> = deploys.iter().filter(before).collect();
    let first_move = |d: &DeployRef| {
        changes
            .iter()
            .filter(|o| {
                o.service.as_ref() == Some(&d.service)
                    && o.change_at >= d.at
                    && o.change_at <= c.change_at
            })
            .map(|o| o.change_at)
            .min()
    };
    let mover = candidates
        .iter()
        .filter_map(|d| first_move(d).map(|t| (t, *d)))
        .min_by_key(|(t, _)| *t);
    let pick = mover
        .map(|(t, d)| (Some(t), d))
        .or_else(|| nearest(candidates.iter().copied()).map(|d| (None, d)));
    match pick {
        Some((first_move_at, d)) => Cause::FollowedFirstMover {
            deploy_id: d.id.clone(),
            service: d.service.clone(),
            lag_seconds: secs(c.change_at.nanos_since(d.at)),
            first_move_at,
        },
        None => Cause::Unattributed {
            reason: format!(
                "no deploy within {} s before the change",
                secs(cfg.max_lag_nanos)
            ),
        },
    }
}

#[cfg(test)]
mod tests;
