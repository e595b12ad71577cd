//! `recording.mcap` against the manifest and the other members: it must
//! hold exactly the series, events and log lines the bundle holds.

use std::collections::BTreeMap;

use super::{Series, archive::Budget, count_matches};
use crate::{
    Error, Limits, Result,
    manifest::{Manifest, RecordingEntry},
    recording::{EVENTS_TOPIC, LOGS_TOPIC, METADATA_NAME, SERIES_TOPIC_PREFIX, verify},
};

/// What the recording must agree with.
pub(super) struct Parts<'a> {
    pub(super) manifest: &'a Manifest,
    pub(super) series: &'a [Series],
    pub(super) events: usize,
    pub(super) log_lines: usize,
}

/// Parses the recording under the limits and compares it with `parts`.
pub(super) fn check(
    entry: &RecordingEntry,
    bytes: &[u8],
    parts: &Parts<'_>,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<()> {
    let path = entry.path.as_str();
    // No chunk may decompress to more than is left of the total allowance.
    let record_limit = limits.max_member_bytes.min(budget.remaining());
    let record_limit = usize::try_from(record_limit).unwrap_or(usize::MAX);
    let facts = verify(path, bytes, record_limit, |n| budget.charge(n))?;
    count_matches(
        path,
        "messages",
        entry.messages,
        usize::try_from(facts.messages).unwrap_or(usize::MAX),
    )?;
    count_matches(path, "channels", entry.channels, facts.topics.len())?;
    if let Some(other) = facts.compressions.iter().find(|c| **c != entry.compression) {
        return Err(Error::recording(
            path,
            format!(
                "a chunk is compressed with `{other}` but the manifest says `{}`",
                entry.compression
            ),
        ));
    }
    let mut expected: BTreeMap<String, (&str, usize)> = parts
        .series
        .iter()
        .map(|s| {
            (
                format!("{SERIES_TOPIC_PREFIX}{}", s.name),
                ("rewind.Sample", s.v.len()),
            )
        })
        .collect();
    expected.insert(EVENTS_TOPIC.to_owned(), ("rewind.Event", parts.events));
    expected.insert(LOGS_TOPIC.to_owned(), ("foxglove.Log", parts.log_lines));
    let mut found = facts.topics.iter();
    for (topic, (schema, count)) in &expected {
        let Some((schema_found, count_found)) = facts.topics.get(topic) else {
            return Err(Error::recording(
                path,
                format!("it has no channel `{topic}`"),
            ));
        };
        if schema_found != schema || usize::try_from(*count_found).ok() != Some(*count) {
            return Err(Error::recording(
                path,
                format!(
                    "channel `{topic}` has {count_found} `{schema_found}` messages; the bundle has {count} `{schema}`"
                ),
            ));
        }
    }
    if let Some((topic, _)) = found.find(|(t, _)| !expected.contains_key(*t)) {
        return Err(Error::recording(
            path,
            format!("channel `{topic}` is no series, `{EVENTS_TOPIC}` or `{LOGS_TOPIC}`"),
        ));
    }
    let id = parts.manifest.bundle_id.to_string();
    match facts.metadata.as_ref().and_then(|m| m.get("bundle_id")) {
        Some(found) if *found == id => Ok(()),
        found => Err(Error::recording(
            path,
            format!(
                "its `{METADATA_NAME}` metadata names bundle `{}`, not `{id}`",
                clip_opt(found)
            ),
        )),
    }
}

fn clip_opt(s: Option<&String>) -> String {
    s.map_or_else(|| "(none)".to_owned(), |s| crate::error::clip(s.clone()))
}
