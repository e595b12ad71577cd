//! A deploy's final verdict, kept: the check row, and for a regression an
//! incident whose bundle holds the evidence (the regressed series around
//! the deploy, the lines of the new log signatures, the full verdict).
//!
//! The incident goes through the same path as an uploaded bundle
//! ([`crate::ingest::ingest_own`]): the server writes a bundle in the
//! documented format, validates it like any other, and records it. So a
//! regression incident downloads, exports and replays like every other.

use std::{collections::BTreeMap, io::Cursor};

use bytes::Bytes;
use rewind_bundle::{BundleExtras, BundleInput, SeriesInput, write_bundle_to};
use rewind_detect::{
    logsig::{ChangeKind, SignatureReport},
    regression::{DeployVerdict, Direction, MetricVerdict, Series, Verdict},
};
use rewind_model::{
    Baseline, BundleId, CheckState, Comparison, Deploy, DeployCheck, DeviceId, Event, EventKind,
    IncidentId, Level, LiveEvent, Sample, SeriesName, Severity, TimeRange, Timestamp, Trigger,
};
use rewind_store::StoredCheck;

use super::engine::verdict_word;
use crate::AppState;

/// Who the timeline says did it.
pub(crate) const ACTOR: &str = "rewind regression watch";
/// The rule name of regression incidents.
pub(crate) const RULE: &str = "deploy-regression";
/// Most example lines of one signature put in the bundle.
const LINES_PER_SIGNATURE: usize = 1;

/// Stores a decided verdict; a regression also opens an incident. Failures
/// are logged: the verdict row is written even when the incident is not.
pub(crate) async fn store(
    state: AppState,
    deploy: Deploy,
    window_end: Timestamp,
    verdict: DeployVerdict,
    signatures: Option<SignatureReport>,
    series: Vec<Series>,
    baseline_nanos: i64,
) {
    let summary = summary(&verdict, signatures.as_ref());
    let evidence = serde_json::json!({
        "verdict": verdict,
        "log_signatures": signatures,
    });
    let incident_id = if verdict.verdict == Verdict::Regression {
        let found = Found {
            deploy: &deploy,
            verdict: &verdict,
            signatures: signatures.as_ref(),
            series: &series,
            summary: &summary,
            baseline_nanos,
        };
        match open_incident(&state, &found).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::error!(deploy = %deploy.id, error = %e, "cannot open the regression incident");
                None
            }
        }
    } else {
        None
    };
    let check = StoredCheck {
        deploy_id: deploy.id,
        verdict: verdict_word(verdict.verdict).to_owned(),
        summary: summary.clone(),
        evidence,
        incident_id,
        window_end,
        decided_at: Timestamp::now(),
    };
    match state.store().record_check(&check).await {
        Ok(stored) => {
            tracing::info!(
                deploy = %deploy.id,
                service = %deploy.service,
                verdict = %stored.verdict,
                incident = ?stored.incident_id,
                "{}", stored.summary
            );
            state
                .metrics()
                .regression_verdicts
                .get_or_create(&crate::metrics::OutcomeLabel {
                    outcome: stored.verdict.clone(),
                })
                .inc();
            state.publish(LiveEvent::Check {
                check: decided(deploy, stored),
            });
        }
        Err(e) => tracing::error!(deploy = %deploy.id, error = %e, "cannot store the verdict"),
    }
}

/// A stored check as the API shows it.
pub(crate) fn decided(deploy: Deploy, stored: StoredCheck) -> DeployCheck {
    DeployCheck {
        deploy,
        state: CheckState::Decided,
        verdict: Some(stored.verdict),
        summary: Some(stored.summary),
        window_end: Some(stored.window_end),
        incident_id: stored.incident_id,
        decided_at: Some(stored.decided_at),
        evidence: Some(stored.evidence),
    }
}

/// The verdict's sentence, and for a regression the signatures that are new
/// or more frequent.
fn summary(verdict: &DeployVerdict, signatures: Option<&SignatureReport>) -> String {
    let mut s = verdict.summary().to_owned();
    if verdict.verdict != Verdict::Regression {
        return s;
    }
    for c in signatures
        .into_iter()
        .flat_map(|r| r.changes.iter().take(3))
    {
        let (what, counts) = match c.kind {
            ChangeKind::New => (
                "New log signature",
                format!("{} times after the deploy, never before", c.count_after),
            ),
            _ => (
                "More frequent log signature",
                format!(
                    "{} times after the deploy, {} before",
                    c.count_after, c.count_before
                ),
            ),
        };
        s.push_str(&format!(
            " {what} `{}` ({counts}), e.g. \"{}\".",
            c.template, c.example
        ));
    }
    s
}

/// What a regression incident is made of.
struct Found<'a> {
    deploy: &'a Deploy,
    verdict: &'a DeployVerdict,
    signatures: Option<&'a SignatureReport>,
    series: &'a [Series],
    summary: &'a str,
    baseline_nanos: i64,
}

async fn open_incident(state: &AppState, found: &Found<'_>) -> Result<IncidentId, String> {
    let deploy = found.deploy;
    let bytes = bundle(found)?;
    let ingested = crate::ingest::ingest_own(state, Bytes::from(bytes), ACTOR)
        .await
        .map_err(|e| format!("the server's own bundle was refused: {}", e.message()))?;
    let incident = ingested.incident;
    if let Err(e) = state
        .store()
        .attach_deploy(incident.id, deploy.id, ACTOR, Timestamp::now())
        .await
    {
        tracing::warn!(incident = %incident.id, error = %e, "cannot link the deploy to its incident");
    }
    crate::ingest::publish_latest(state, &incident).await;
    Ok(incident.id)
}

/// The regression's bundle, written in memory.
fn bundle(found: &Found<'_>) -> Result<Vec<u8>, String> {
    let Found {
        deploy,
        verdict,
        signatures,
        series,
        summary,
        baseline_nanos,
    } = *found;
    let device = device_for(&deploy.service)?;
    let regressed: Vec<&MetricVerdict> = verdict
        .metrics
        .iter()
        .filter(|m| m.verdict == Verdict::Regression)
        .collect();
    let fired_at = verdict.detected_at.unwrap_or(verdict.evaluated_until);
    let trigger = Trigger {
        rule: RULE.into(),
        rule_type: "deploy_regression".into(),
        severity: Severity::High,
        fired_at,
        summary: summary.to_owned(),
        evidence: regressed
            .iter()
            .filter_map(|m| evidence(m, deploy, baseline_nanos))
            .collect(),
        labels: BTreeMap::from([
            ("service".to_owned(), deploy.service.clone()),
            ("environment".to_owned(), deploy.environment.clone()),
            ("deploy_id".to_owned(), deploy.id.to_string()),
            ("version".to_owned(), deploy.version.clone()),
        ]),
    };
    let inputs: Vec<SeriesInput> = series
        .iter()
        .filter_map(|s| {
            Some(SeriesInput {
                name: series_name(&s.label())?,
                unit: String::new(),
                samples: s.points.iter().map(|(t, v)| Sample::new(*t, *v)).collect(),
            })
        })
        .collect();
    let events = signature_events(signatures);
    let mut start = deploy.at;
    for t in inputs
        .iter()
        .filter_map(|s| s.samples.first().map(|x| x.ts))
        .chain(events.iter().map(|e| e.ts))
    {
        start = start.min(t);
    }
    let end = verdict.evaluated_until.max(fired_at).max(start);
    let verdict_json =
        serde_json::to_vec_pretty(verdict).map_err(|e| format!("verdict as JSON: {e}"))?;
    let mut attachments = vec![rewind_bundle::Attachment::new(
        "diagnostics/regression/verdict.json",
        verdict_json,
    )];
    if let Some(report) = signatures {
        let json =
            serde_json::to_vec_pretty(report).map_err(|e| format!("signatures as JSON: {e}"))?;
        attachments.push(rewind_bundle::Attachment::new(
            "diagnostics/regression/log-signatures.json",
            json,
        ));
    }
    let extras = BundleExtras {
        fleet: Some(deploy.environment.clone()),
        notes: vec![format!(
            "Written by the server's regression watch for deploy {} of {} {} to {}.",
            deploy.id, deploy.service, deploy.version, deploy.environment
        )],
        ..BundleExtras::default()
    };
    let input = BundleInput {
        bundle_id: BundleId::new_v7(),
        device_id: &device,
        agent_version: concat!("rewind-server/", env!("CARGO_PKG_VERSION")),
        created_at: Timestamp::now(),
        trigger: &trigger,
        window: TimeRange { start, end },
        series: &inputs,
        events: &events,
        attachments: &attachments,
        extras: &extras,
    };
    let mut out = Cursor::new(Vec::new());
    write_bundle_to(&mut out, &input).map_err(|e| format!("cannot write the bundle: {e}"))?;
    Ok(out.into_inner())
}

/// The service as a device id: the incident's "device" is the service.
fn device_for(service: &str) -> Result<DeviceId, String> {
    let clean: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect();
    DeviceId::new(clean).map_err(|e| format!("service {service:?} as a device id: {e}"))
}

/// A series label (`service/name@instance`) as a bundle series name.
fn series_name(label: &str) -> Option<SeriesName> {
    let clean: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    SeriesName::new(clean.trim_matches('.')).ok()
}

/// The measured facts of one regressed series.
fn evidence(
    m: &MetricVerdict,
    deploy: &Deploy,
    baseline_nanos: i64,
) -> Option<rewind_model::Evidence> {
    let base = m.baseline?;
    let after = m.after_median?;
    let condition = match m.direction {
        Direction::HigherIsWorse => Comparison::Above(base.median),
        Direction::LowerIsWorse => Comparison::Below(base.median),
        Direction::Either => Comparison::Outside {
            low: base.median - base.spread,
            high: base.median + base.spread,
        },
    };
    let since = m.detection.map_or(deploy.at, |d| d.change_at);
    let mut e = rewind_model::Evidence::new(
        series_name(&m.series)?,
        condition,
        after,
        after,
        since,
        m.after_samples as u64,
    );
    e.baseline = Some(Baseline {
        level: base.median,
        spread: base.spread,
        samples: base.samples as u64,
        window_nanos: baseline_nanos,
    });
    e.text = Some(m.summary());
    Some(e)
}

/// The example line of each new or more frequent signature, as log events.
fn signature_events(signatures: Option<&SignatureReport>) -> Vec<Event> {
    signatures
        .into_iter()
        .flat_map(|r| r.changes.iter())
        .flat_map(|c| {
            std::iter::repeat_n(c, LINES_PER_SIGNATURE).map(|c| {
                let mut e = Event::new(
                    c.first_after,
                    source_name(&c.example_source),
                    EventKind::Log,
                    Level::Error,
                    c.example.clone(),
                );
                e.fields.insert("signature".into(), c.template.clone());
                e.fields
                    .insert("count_after".into(), c.count_after.to_string());
                e.fields
                    .insert("count_before".into(), c.count_before.to_string());
                e
            })
        })
        .collect()
}

fn source_name(source: &str) -> String {
    if source.is_empty() {
        "logs".to_owned()
    } else {
        source.to_owned()
    }
}
