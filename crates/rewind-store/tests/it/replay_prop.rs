//! The property: whatever sequence of ingests, transitions, notes and
//! reopenings happens, every incident's timeline replays to its stored status
//! and occurrence count, each operation succeeds exactly when the lifecycle
//! allows it, and a refused operation changes nothing.

use std::collections::BTreeMap;

use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use rewind_model::{
    IncidentId, IncidentStatus, IncidentSummary, TimelineEntry, Timestamp, timeline::replay,
};
use rewind_store::{Error, IngestOutcome, NewBundle, Store};

use crate::{Backend, backends, bundle, lifecycle::to};

#[derive(Debug, Clone)]
enum Op {
    /// A new bundle from one of two devices (two fingerprints).
    Ingest {
        device: u8,
    },
    /// An earlier bundle uploaded again.
    Resend {
        pick: usize,
    },
    Transition {
        pick: usize,
        to: IncidentStatus,
    },
    Note {
        pick: usize,
    },
    Reopen {
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let status = prop::sample::select(IncidentStatus::ALL.to_vec());
    prop_oneof![
        3 => (0u8..2).prop_map(|device| Op::Ingest { device }),
        1 => any::<usize>().prop_map(|pick| Op::Resend { pick }),
        4 => (any::<usize>(), status).prop_map(|(pick, to)| Op::Transition { pick, to }),
        2 => any::<usize>().prop_map(|pick| Op::Note { pick }),
        2 => any::<usize>().prop_map(|pick| Op::Reopen { pick }),
    ]
}

type Snapshot = BTreeMap<IncidentId, (IncidentSummary, Vec<TimelineEntry>)>;

/// Every incident of the case as stored, checking each replays to its row.
async fn snapshot(store: &dyn Store, ids: &[IncidentId]) -> Result<Snapshot, TestCaseError> {
    let mut out = BTreeMap::new();
    for id in ids {
        let summary = store.get_incident(*id).await.map_err(fail)?.summary;
        let timeline = store.timeline(*id).await.map_err(fail)?;
        let r = replay(&timeline).map_err(fail)?;
        prop_assert_eq!(
            (r.status, r.occurrences),
            (summary.status, summary.occurrences),
            "incident {} does not replay to its row",
            id
        );
        prop_assert_eq!(
            timeline.last().map(|e| e.seq),
            Some(u32::try_from(timeline.len()).unwrap_or(u32::MAX))
        );
        out.insert(*id, (summary, timeline));
    }
    Ok(out)
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

async fn run_case(store: &dyn Store, case: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut ids: Vec<IncidentId> = Vec::new();
    let mut sent: Vec<(NewBundle, IncidentId)> = Vec::new();
    let mut clock = 1_000_i64;
    let mut before = snapshot(store, &ids).await?;
    for op in ops {
        clock += 1_000;
        let at = Timestamp::from_unix_millis(clock);
        let pick = |p: usize| (!ids.is_empty()).then(|| ids[p % ids.len()]);
        let active_with = |fp: &str, snap: &Snapshot| {
            snap.values()
                .find(|(s, _)| s.fingerprint == fp && s.status.is_active())
                .map(|(s, _)| s.id)
        };
        // Ok(()) when the store did what the lifecycle says; refused is Err.
        let refused: Option<Error> = match op {
            Op::Ingest { device } => {
                let new = bundle(&format!("case{case}-d{device}"), clock);
                let active = active_with(&new.fingerprint, &before);
                let got = store.ingest(&new).await.map_err(fail)?;
                match active {
                    Some(id) => {
                        prop_assert_eq!(got.outcome, IngestOutcome::Joined);
                        prop_assert_eq!(got.incident.id, id);
                    }
                    None => {
                        prop_assert_eq!(got.outcome, IngestOutcome::Opened);
                        ids.push(got.incident.id);
                    }
                }
                sent.push((new, got.incident.id));
                None
            }
            Op::Resend { pick } => {
                if sent.is_empty() {
                    continue;
                }
                let (new, owner) = &sent[pick % sent.len()];
                let got = store.ingest(new).await.map_err(fail)?;
                prop_assert_eq!(got.outcome, IngestOutcome::AlreadyStored);
                prop_assert_eq!(got.incident.id, *owner);
                // Nothing changed: checked like a refusal below.
                let after = snapshot(store, &ids).await?;
                prop_assert_eq!(&after, &before);
                None
            }
            Op::Transition {
                pick: p,
                to: target,
            } => {
                let Some(id) = pick(p) else { continue };
                let from = before[&id].0.status;
                let result = store.transition(id, &to(target, clock)).await;
                match result {
                    Ok(s) => {
                        prop_assert!(from.can_transition(target), "{from} -> {target} allowed");
                        prop_assert_eq!(s.status, target);
                        None
                    }
                    Err(e) => {
                        prop_assert!(!from.can_transition(target), "{from} -> {target}: {e}");
                        match &e {
                            Error::InvalidTransition {
                                from: f,
                                to: t,
                                allowed,
                            } => {
                                prop_assert_eq!((*f, *t), (from, target));
                                prop_assert_eq!(allowed.as_slice(), from.allowed_next());
                            }
                            other => return Err(fail(format!("unexpected {other:?}"))),
                        }
                        Some(e)
                    }
                }
            }
            Op::Note { pick: p } => {
                let Some(id) = pick(p) else { continue };
                let active = before[&id].0.status.is_active();
                match store.add_note(id, "bob", "a note", at).await {
                    Ok(e) => {
                        prop_assert!(active);
                        prop_assert_eq!(e.seq as usize, before[&id].1.len() + 1);
                        None
                    }
                    Err(e) => {
                        prop_assert!(!active && matches!(e, Error::Immutable { .. }), "{e}");
                        Some(e)
                    }
                }
            }
            Op::Reopen { pick: p } => {
                let Some(id) = pick(p) else { continue };
                let (s, _) = &before[&id];
                let blocked = active_with(&s.fingerprint, &before).is_some();
                match store.reopen(id, "alice", Some("again"), at).await {
                    Ok(new) => {
                        prop_assert!(s.status == IncidentStatus::Resolved && !blocked);
                        prop_assert_eq!(new.reopened_from, Some(id));
                        ids.push(new.id);
                        None
                    }
                    Err(e) => {
                        let expected = match (&e, s.status) {
                            (Error::InvalidTransition { .. }, st) => st.is_active(),
                            (Error::Conflict { .. }, IncidentStatus::Resolved) => blocked,
                            _ => false,
                        };
                        prop_assert!(expected, "reopen of {} refused: {e:?}", s.status);
                        Some(e)
                    }
                }
            }
        };
        let after = snapshot(store, &ids).await?;
        if let Some(e) = refused {
            prop_assert_eq!(&after, &before, "refused ({}) yet something changed", e);
        }
        before = after;
    }
    Ok(())
}

fn run(b: &Backend, rt: &tokio::runtime::Handle, cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicU64::new(0);
    let store = b.store.clone();
    let result = runner.run(&prop::collection::vec(op(), 1..30), |ops| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::task::block_in_place(|| rt.block_on(run_case(store.as_ref(), case, ops)))
    });
    if let Err(e) = result {
        panic!("{}: {e}", b.name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_sequence_of_operations_keeps_the_timeline_and_the_rows_in_step() {
    let rt = tokio::runtime::Handle::current();
    for b in backends().await {
        let cases = if b.name() == "postgres" { 16 } else { 64 };
        run(&b, &rt, cases);
    }
}
