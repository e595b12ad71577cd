//! The spool's eviction policy, as a pure function over what the spool holds.
//!
//! When the waiting bundles exceed the budget (bytes or count), bundles are
//! evicted **lowest severity first, then oldest**, until the rest fit. Two
//! kinds are never evicted: the bundle being uploaded right now, and
//! critical bundles. When only those are left and the budget is still
//! exceeded, the plan says so (`over_budget`) and the spool keeps them all:
//! losing a critical incident is worse than using more disk than planned.

use rewind_model::Severity;

/// How much the waiting bundles may take together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of all waiting bundles together.
    pub max_bytes: u64,
    /// Waiting bundles.
    pub max_bundles: usize,
}

impl Budget {
    fn holds(self, bytes: u64, count: usize) -> bool {
        bytes <= self.max_bytes && count <= self.max_bundles
    }
}

/// One waiting bundle, as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// File size in bytes.
    pub size: u64,
    /// The severity of the rule that wrote it.
    pub severity: Severity,
    /// Its age rank: smaller is older (the spool passes the position in
    /// name order, which is the trigger time). Ties go to the earlier item.
    pub time: u64,
    /// Whether the uploader is sending it now.
    pub in_flight: bool,
}

impl Candidate {
    fn evictable(&self) -> bool {
        !self.in_flight && self.severity < Severity::Critical
    }
}

/// What to evict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Indices into the candidates, in eviction order.
    pub evict: Vec<usize>,
    /// Still over budget after the evictions: only critical bundles and the
    /// one in flight are left to evict, and those are kept.
    pub over_budget: bool,
}

/// Which of `items` to evict so that the rest fit `budget`.
pub(crate) fn plan(items: &[Candidate], budget: Budget) -> Plan {
    let mut bytes: u64 = items.iter().map(|c| c.size).sum();
    let mut count = items.len();
    let mut order: Vec<usize> = (0..items.len()).filter(|&i| items[i].evictable()).collect();
    order.sort_by_key(|&i| (items[i].severity, items[i].time, i));
    let mut evict = Vec::new();
    for i in order {
        if budget.holds(bytes, count) {
            break;
        }
        evict.push(i);
        bytes -= items[i].size;
        count -= 1;
    }
    Plan {
        evict,
        over_budget: !budget.holds(bytes, count),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rewind_model::Severity::{Critical, High, Info, Low};

    use super::*;

    fn c(size: u64, severity: Severity, time: u64) -> Candidate {
        Candidate {
            size,
            severity,
            time,
            in_flight: false,
        }
    }

    const ROOMY: Budget = Budget {
        max_bytes: u64::MAX,
        max_bundles: usize::MAX,
    };

    #[test]
    fn nothing_is_evicted_within_budget() {
        let items = [c(10, Info, 0), c(10, Low, 1)];
        assert_eq!(plan(&items, ROOMY), Plan::default());
        let exact = Budget {
            max_bytes: 20,
            max_bundles: 2,
        };
        assert_eq!(
            plan(&items, exact),
            Plan::default(),
            "the limits are inclusive"
        );
    }

    #[test]
    fn lowest_severity_goes_first_then_the_oldest() {
        let items = [c(10, High, 0), c(10, Low, 1), c(10, Info, 5), c(10, Low, 2)];
        let budget = Budget {
            max_bundles: 2,
            ..ROOMY
        };
        assert_eq!(
            plan(&items, budget).evict,
            [2, 1],
            "info, then the older low"
        );
    }

    #[test]
    fn bytes_alone_can_force_evictions() {
        let items = [c(700, Low, 0), c(100, Low, 1), c(300, Low, 2)];
        let budget = Budget {
            max_bytes: 500,
            ..ROOMY
        };
        assert_eq!(plan(&items, budget).evict, [0], "the oldest, however big");
    }

    #[test]
    fn the_bundle_in_flight_and_critical_ones_are_kept_even_over_budget() {
        let mut uploading = c(10, Info, 0);
        uploading.in_flight = true;
        let items = [
            uploading,
            c(10, Critical, 1),
            c(10, Critical, 2),
            c(10, Low, 3),
        ];
        let budget = Budget {
            max_bundles: 1,
            ..ROOMY
        };
        assert_eq!(
            plan(&items, budget),
            Plan {
                evict: vec![3],
                over_budget: true
            }
        );
    }

    /// The model: evict the least (severity, time, index) evictable bundle,
    /// one at a time, while over budget.
    fn model(items: &[Candidate], budget: Budget) -> Plan {
        let mut kept: Vec<usize> = (0..items.len()).collect();
        let mut evict = Vec::new();
        let over = |kept: &[usize]| {
            let bytes: u64 = kept.iter().map(|&i| items[i].size).sum();
            !budget.holds(bytes, kept.len())
        };
        while over(&kept) {
            let Some(pos) = (0..kept.len())
                .filter(|&p| items[kept[p]].evictable())
                .min_by_key(|&p| (items[kept[p]].severity, items[kept[p]].time, kept[p]))
            else {
                break;
            };
            evict.push(kept.remove(pos));
        }
        Plan {
            over_budget: over(&kept),
            evict,
        }
    }

    fn candidate() -> impl Strategy<Value = Candidate> {
        (
            0..1_000_u64,
            0..Severity::ALL.len(),
            0..20_u64,
            prop::bool::weighted(0.1),
        )
            .prop_map(|(size, s, time, in_flight)| Candidate {
                size,
                severity: Severity::ALL[s],
                time,
                in_flight,
            })
    }

    proptest! {
        #[test]
        fn the_plan_matches_the_model_and_keeps_what_must_stay(
            items in prop::collection::vec(candidate(), 0..40),
            max_bytes in 0..20_000_u64,
            max_bundles in 0..30_usize,
        ) {
            let budget = Budget { max_bytes, max_bundles };
            let got = plan(&items, budget);
            prop_assert_eq!(&got, &model(&items, budget));
            let mut seen = std::collections::HashSet::new();
            for &i in &got.evict {
                prop_assert!(seen.insert(i), "evicted twice");
                prop_assert!(!items[i].in_flight, "evicted the bundle in flight");
                prop_assert!(items[i].severity != Critical, "evicted a critical bundle");
            }
            let kept: Vec<usize> = (0..items.len()).filter(|i| !seen.contains(i)).collect();
            let bytes: u64 = kept.iter().map(|&i| items[i].size).sum();
            prop_assert_eq!(got.over_budget, !budget.holds(bytes, kept.len()));
            if got.over_budget {
                prop_assert!(kept.iter().all(|&i| !items[i].evictable()), "stopped with evictable bundles left");
            }
            if let Some(&last) = got.evict.last() {
                let before = bytes + items[last].size;
                prop_assert!(!budget.holds(before, kept.len() + 1), "evicted one more than needed");
            }
        }
    }
}
