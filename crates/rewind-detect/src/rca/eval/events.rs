//! Candidates from events, deploys and the trigger itself.

use std::collections::BTreeMap;

use rewind_model::{Event, EventKind, Level};

use super::{Candidate, ItemKind, Prepared, cap};
use crate::Pattern;
use crate::rca::grounded::{balanced, plain};
use crate::rca::lang::{DeployPredicate, EventPredicate, FiredPredicate};

/// The longest message quoted in evidence, in characters.
const MAX_MESSAGE_CHARS: usize = 300;
/// Fields that name what an event is about, in order of preference.
const SUBJECT_FIELDS: &[&str] = &["process", "node", "device", "unit", "identifier", "service"];

/// The events matching `p`: one candidate per event, per counted group
/// (`count:`), or per new signature (`new_signature:`).
pub(crate) fn event(p: &EventPredicate, prepared: &Prepared<'_>) -> Vec<Candidate> {
    let matching: Vec<usize> = prepared
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches(p, e))
        .map(|(i, _)| i)
        .collect();
    if matching.is_empty() {
        return Vec::new();
    }
    let signatures = p.new_signature.then(|| prepared.signatures());
    // Group by the `per:` field and, for new signatures, by template.
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for &i in &matching {
        let e = prepared.events[i];
        let per = p
            .per
            .as_ref()
            .map(|f| e.fields.get(f).cloned().unwrap_or_default())
            .unwrap_or_default();
        let sig = signatures
            .and_then(|s| s.get(i))
            .map(|(k, _)| k.trim().to_owned())
            .unwrap_or_default();
        if p.new_signature && sig.is_empty() {
            continue; // an empty line has no signature
        }
        groups.entry((per, sig)).or_default().push(i);
    }
    let n = usize::try_from(p.count).unwrap_or(1).max(1);
    let mut out = Vec::new();
    for group in groups.values() {
        // `end` runs ahead of `j`: the first event more than `over` after
        // the group's j-th, so the counting is linear.
        let mut end = 0;
        for (j, &first) in group.iter().enumerate() {
            let Some(&nth) = group.get(j + n - 1) else {
                break;
            };
            let e0 = prepared.events[first];
            if prepared.events[nth].ts.nanos_since(e0.ts) > p.over_nanos {
                continue;
            }
            end = end.max(j);
            while group
                .get(end)
                .is_some_and(|&k| prepared.events[k].ts.nanos_since(e0.ts) <= p.over_nanos)
            {
                end += 1;
            }
            let count = if n == 1 && !p.new_signature {
                1
            } else {
                end - j
            };
            let first_seen = signatures.and_then(|s| s.get(first));
            out.push(candidate(
                p,
                e0,
                count,
                first_seen.map(|(k, t)| (k.as_str(), *t)),
            ));
            // A new signature is told once, where it first appears.
            if p.new_signature {
                break;
            }
        }
    }
    out.sort_by_key(|c| c.start);
    cap(out)
}

fn matches(p: &EventPredicate, e: &Event) -> bool {
    p.kind.as_ref().is_none_or(|k| *k == e.kind)
        && p.source.matches(&e.source)
        && p.level.is_none_or(|l| e.level >= l)
        && p.message.as_ref().is_none_or(|re| re.is_match(&e.message))
        && p.fields
            .iter()
            .all(|(k, pat)| e.fields.get(k).is_some_and(|v| pat.matches(v)))
}

fn candidate(
    p: &EventPredicate,
    e: &Event,
    count: usize,
    signature: Option<(&str, rewind_model::Timestamp)>,
) -> Candidate {
    let mut values: BTreeMap<String, String> = e.fields.clone();
    let message = quote(&e.message);
    values.insert("source".into(), e.source.clone());
    values.insert("kind".into(), e.kind.to_string());
    values.insert("level".into(), level_name(e.level).into());
    values.insert("message".into(), message.clone());
    values.insert("count".into(), count.to_string());
    if p.count > 1 {
        values.insert("over".into(), crate::words::seconds(p.over_nanos));
    }
    let subject = SUBJECT_FIELDS
        .iter()
        .find_map(|f| e.fields.get(*f))
        .cloned()
        .unwrap_or_else(|| e.source.clone());
    let text = match signature {
        Some((template, _)) => {
            values.insert("signature".into(), template.to_owned());
            let lines = if count == 1 { "line" } else { "lines" };
            format!(
                "new log signature `{}` from {} ({count} {lines}), e.g. \"{message}\"",
                plain(template),
                e.source
            )
        }
        None if p.count > 1 => format!(
            "{count} {} events from {} within {} s, the first \"{message}\"",
            e.kind,
            e.source,
            crate::words::seconds(p.over_nanos)
        ),
        None => format!("{} event from {}: \"{message}\"", e.kind, e.source),
    };
    Candidate {
        start: e.ts,
        end: e.ts,
        not_before: signature.map(|(_, first_seen)| first_seen),
        kind: ItemKind::Event,
        subject,
        text,
        values,
        approximate: false,
    }
}

/// The message cut for quoting, made [`plain`].
fn quote(message: &str) -> String {
    plain(message)
        .chars()
        .take(MAX_MESSAGE_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

pub(crate) fn level_name(level: Level) -> &'static str {
    match level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Notice => "notice",
        Level::Warning => "warning",
        Level::Error => "error",
        Level::Critical => "critical",
    }
}

/// Deploy records and `deploy` events; failing both, the deploy the
/// trigger's labels name, placed anywhere from the recording's start to the
/// trigger (its time is not known).
pub(crate) fn deploy(p: &DeployPredicate, prepared: &Prepared<'_>) -> Vec<Candidate> {
    let tl = prepared.timeline;
    let mut out = Vec::new();
    for d in &tl.deploys {
        if !(p.service.matches(&d.service) && p.version.matches(&d.version)) {
            continue;
        }
        let mut values = BTreeMap::from([
            ("service".to_owned(), d.service.clone()),
            ("version".to_owned(), d.version.clone()),
            ("id".to_owned(), d.id.to_string()),
            ("environment".to_owned(), d.environment.clone()),
        ]);
        values.extend(d.commit.clone().map(|c| ("commit".to_owned(), c)));
        values.extend(d.actor.clone().map(|a| ("actor".to_owned(), a)));
        out.push(Candidate {
            start: d.at,
            end: d.at,
            not_before: None,
            kind: ItemKind::Deploy,
            subject: d.service.clone(),
            text: format!(
                "deploy {} of {} version {} to {}",
                d.id, d.service, d.version, d.environment
            ),
            values,
            approximate: false,
        });
    }
    for e in prepared
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Deploy)
    {
        let get = |k: &str| e.fields.get(k).cloned().unwrap_or_default();
        let (service, version) = (get("service"), get("version"));
        if !(p.service.matches(&service) && p.version.matches(&version)) {
            continue;
        }
        let mut values = e.fields.clone();
        values.insert("service".into(), service.clone());
        values.insert("version".into(), version.clone());
        values.insert("source".into(), e.source.clone());
        out.push(Candidate {
            start: e.ts,
            end: e.ts,
            not_before: None,
            kind: ItemKind::Deploy,
            subject: service.clone(),
            text: format!("deploy of {service} version {version} (from {})", e.source),
            values,
            approximate: false,
        });
    }
    if out.is_empty() {
        out.extend(deploy_from_labels(p, prepared));
    }
    out.sort_by_key(|c| c.start);
    cap(out)
}

fn deploy_from_labels(p: &DeployPredicate, prepared: &Prepared<'_>) -> Option<Candidate> {
    let labels = &prepared.timeline.trigger.labels;
    let version = labels.get("version")?.clone();
    let service = labels.get("service").cloned().unwrap_or_default();
    if !(p.service.matches(&service) && p.version.matches(&version)) {
        return None;
    }
    let mut values = BTreeMap::from([
        ("service".to_owned(), service.clone()),
        ("version".to_owned(), version.clone()),
    ]);
    let id = labels.get("deploy_id").cloned();
    values.extend(id.clone().map(|i| ("id".to_owned(), i)));
    values.extend(
        labels
            .get("environment")
            .map(|e| ("environment".to_owned(), e.clone())),
    );
    let named = id
        .map(|i| format!("deploy {i}"))
        .unwrap_or_else(|| "a deploy".into());
    Some(Candidate {
        start: prepared.timeline.span().start.min(prepared.at),
        end: prepared.at,
        not_before: None,
        kind: ItemKind::Deploy,
        subject: service.clone(),
        text: format!(
            "the trigger's labels name {named} of {service} version {version}; its exact time \
             is not in the recording"
        ),
        values,
        approximate: true,
    })
}

/// The trigger itself, when it matches.
pub(crate) fn fired(p: &FiredPredicate, prepared: &Prepared<'_>) -> Vec<Candidate> {
    let t = &prepared.timeline.trigger;
    let evidence = match &p.series {
        Some(pat) => match t.evidence.iter().find(|e| pat.matches(e.series.as_str())) {
            Some(e) => Some(e),
            None => return Vec::new(),
        },
        None => t.evidence.first(),
    };
    let labels_ok = p
        .labels
        .iter()
        .all(|(k, pat)| t.labels.get(k).is_some_and(|v| pat.matches(v)));
    let summary_ok = p.summary.as_ref().is_none_or(|re| re.is_match(&t.summary));
    if !(p.rule.matches(&t.rule) && p.rule_type.matches(&t.rule_type) && labels_ok && summary_ok) {
        return Vec::new();
    }
    let mut values: BTreeMap<String, String> = t.labels.clone();
    values.insert("rule".into(), t.rule.clone());
    values.insert("type".into(), t.rule_type.clone());
    values.insert("severity".into(), t.severity.as_str().into());
    values.insert("summary".into(), t.summary.clone());
    let mut subject = t.rule.clone();
    if let Some(e) = evidence {
        subject = e.series.to_string();
        values.insert("series".into(), subject.clone());
        if let Some(star) = p
            .series
            .as_ref()
            .and_then(|pat| star(pat, e.series.as_str()))
        {
            values.insert("star".into(), star);
        }
        if e.observed.is_finite() {
            values.insert("value".into(), crate::words::number(e.observed));
        }
        if e.peak.is_finite() {
            values.insert("peak".into(), crate::words::number(e.peak));
        }
    }
    vec![Candidate {
        start: t.fired_at,
        end: t.fired_at,
        not_before: None,
        kind: ItemKind::Trigger,
        subject,
        text: format!(
            "the trigger `{}` ({}): {}",
            plain(&t.rule),
            t.rule_type,
            balanced(&t.summary)
        ),
        values,
        approximate: false,
    }]
}

/// What the `*` of a one-wildcard pattern stood for in `name`
/// (`topic.*.rate_hz` and `topic./camera/rgb.rate_hz` give `/camera/rgb`).
pub(crate) fn star(pattern: &Pattern, name: &str) -> Option<String> {
    let text = pattern.as_str();
    let (head, tail) = text.split_once('*')?;
    if tail.contains('*') || !pattern.matches(name) {
        return None;
    }
    name.get(head.len()..name.len().checked_sub(tail.len())?)
        .map(str::to_owned)
}
