//! Filtered copies: a new MCAP holding only part of a session (backs
//! `GET /api/v1/sessions/{id}/download` and `rewind sessions cut`).
//!
//! # What a message must satisfy to be kept (all that are set)
//!
//! - **topics**: its topic is one of `topics`, or starts with the part
//!   before a trailing `*` of one of them (`/dam/images/*`, `/dam/L*`).
//!   Empty: every topic.
//! - **time**: its log time `t` is in `[start_time, end_time)`.
//! - **cycles**: its cycle is in `[start_cycle, end_cycle)` (so
//!   `start_cycle=0&end_cycle=100` is 100 cycles). A message's cycle is the
//!   top-level unsigned integer `cycle_id` of its JSON payload, which every
//!   `/dam/...` channel carries. A message without one (a user channel, a
//!   payload that is not JSON) is kept when its log time lies within the
//!   first and last log times of the `/dam/cycle` messages whose cycle is in
//!   range; with no such message, it is not kept.
//!
//! Inputs are read in order, up to their first broken record: a file still
//! being written, or left by a killed writer, gives its complete chunks and
//! is named in [`CutReport::incomplete_inputs`]. Channels and schemas are
//! written once per distinct content, the first input's `rewind.session`
//! metadata is copied, and a `rewind.cut` metadata record names the inputs
//! and the filter.

use std::{
    collections::{BTreeMap, HashMap},
    fs::File,
    io::{self, BufReader, BufWriter, Seek, Write},
    path::{Path, PathBuf},
};

use mcap::{
    records::{MessageHeader, Metadata},
    sans_io::LinearReaderOptions,
};
use rewind_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{
    Error, Result, recorder::mcap_time, recover::MAX_RECORD, rotate::write_options,
    schemas::CYCLE_TOPIC, session::SESSION_METADATA, summary::read_summary,
};

/// Name of the metadata record a cut adds.
pub const CUT_METADATA: &str = "rewind.cut";

/// Which messages a cut keeps; see the module documentation. Every bound is
/// optional; the default keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CutFilter {
    /// Keep messages at or after this log time.
    pub start_time: Option<Timestamp>,
    /// Keep messages before this log time.
    pub end_time: Option<Timestamp>,
    /// Keep cycles from this one.
    pub start_cycle: Option<u64>,
    /// Keep cycles before this one.
    pub end_cycle: Option<u64>,
    /// Keep these topics (`*` at the end matches a prefix); empty: all.
    pub topics: Vec<String>,
}

impl CutFilter {
    /// Adds the topics of a comma-separated list (as in `?topics=a,b`).
    #[must_use]
    pub fn with_topics_csv(mut self, csv: &str) -> Self {
        self.topics.extend(
            csv.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        );
        self
    }

    /// Checks that each range is not empty or reversed.
    ///
    /// # Errors
    /// [`Error::InvalidFilter`].
    pub fn validate(&self) -> Result<()> {
        if let (Some(s), Some(e)) = (self.start_time, self.end_time)
            && s >= e
        {
            return Err(Error::InvalidFilter {
                problem: format!("start_time {s} is not before end_time {e}"),
            });
        }
        if let (Some(s), Some(e)) = (self.start_cycle, self.end_cycle)
            && s >= e
        {
            return Err(Error::InvalidFilter {
                problem: format!(
                    "start_cycle {s} is not before end_cycle {e} (the end is excluded)"
                ),
            });
        }
        Ok(())
    }

    fn wants_topic(&self, topic: &str) -> bool {
        self.topics.is_empty()
            || self.topics.iter().any(|t| match t.strip_suffix('*') {
                Some(prefix) => topic.starts_with(prefix),
                None => t == topic,
            })
    }

    fn wants_time(&self, t: u64) -> bool {
        self.start_time.is_none_or(|s| t >= mcap_time(s))
            && self.end_time.is_none_or(|e| t < mcap_time(e))
    }

    fn has_cycles(&self) -> bool {
        self.start_cycle.is_some() || self.end_cycle.is_some()
    }

    fn wants_cycle(&self, cycle: u64) -> bool {
        self.start_cycle.is_none_or(|s| cycle >= s) && self.end_cycle.is_none_or(|e| cycle < e)
    }
}

/// What a cut wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CutReport {
    /// Messages written.
    pub messages: u64,
    /// Messages written per topic.
    pub topics: BTreeMap<String, u64>,
    /// Smallest cycle written.
    pub first_cycle: Option<u64>,
    /// Largest cycle written.
    pub last_cycle: Option<u64>,
    /// Inputs read only up to a broken record (being written, or crashed).
    pub incomplete_inputs: Vec<PathBuf>,
}

/// Cuts one file into a new file.
///
/// # Errors
/// As [`cut_files`].
pub fn cut(input: &Path, output: &Path, filter: &CutFilter) -> Result<CutReport> {
    cut_files(&[input.to_owned()], output, filter)
}

/// Cuts the files of a session, in order, into one new file, written to a
/// temporary file and renamed into place (never over an existing file).
///
/// # Errors
/// [`Error::InvalidFilter`], [`Error::OutputExists`], [`Error::Io`],
/// [`Error::Mcap`].
pub fn cut_files(inputs: &[PathBuf], output: &Path, filter: &CutFilter) -> Result<CutReport> {
    filter.validate()?;
    if output.exists() {
        return Err(Error::OutputExists {
            path: output.to_owned(),
        });
    }
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".rewind-cut-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    let report = {
        let sink = BufWriter::new(tmp.as_file_mut());
        let mut out = write_options(true)
            .create(sink)
            .map_err(|e| Error::mcap(output, e))?;
        let report = cut_into(inputs, &mut out, filter, output)?;
        out.into_inner()
            .into_inner()
            .map_err(|e| Error::io("write", output, e.into_error()))?;
        report
    };
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("sync", tmp.path(), e))?;
    tmp.persist_noclobber(output).map_err(|e| {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            Error::OutputExists {
                path: output.to_owned(),
            }
        } else {
            Error::io("rename into", output, e.error)
        }
    })?;
    Ok(report)
}

/// Cuts into any writer, without seeking (chunks are built in memory), for
/// streaming a download as it is produced.
///
/// # Errors
/// [`Error::InvalidFilter`], [`Error::Io`], [`Error::Mcap`] (also for a
/// failing writer).
pub fn cut_to_writer<W: Write>(
    inputs: &[PathBuf],
    out: W,
    filter: &CutFilter,
) -> Result<CutReport> {
    filter.validate()?;
    let name = Path::new("<output>");
    let mut writer = write_options(false)
        .create(mcap::write::NoSeek::new(out))
        .map_err(|e| Error::mcap(name, e))?;
    let report = cut_into(inputs, &mut writer, filter, name)?;
    let mut inner = writer.into_inner().into_inner();
    inner.flush().map_err(|e| Error::io("write", name, e))?;
    Ok(report)
}

fn cut_into<W: Write + Seek>(
    inputs: &[PathBuf],
    out: &mut mcap::Writer<W>,
    filter: &CutFilter,
    output: &Path,
) -> Result<CutReport> {
    let out_err = |e| Error::mcap(output, e);
    if let Some(first) = inputs.first()
        && let Ok(summary) = read_summary(first)
        && let Some(session) = summary.metadata.get(SESSION_METADATA)
    {
        out.write_metadata(&Metadata {
            name: SESSION_METADATA.to_owned(),
            metadata: session.clone(),
        })
        .map_err(out_err)?;
    }
    let span = if filter.has_cycles() {
        cycle_span(inputs, filter)?
    } else {
        None
    };
    let mut report = CutReport::default();
    // (input, input channel id) → output channel id, or None: not wanted.
    let mut channels: HashMap<(usize, u16), Option<u16>> = HashMap::new();
    for (n, input) in inputs.iter().enumerate() {
        let complete = for_each_message(input, |m| {
            let wanted = match channels.get(&(n, m.channel.id)) {
                Some(&w) => w,
                None => {
                    let w = if filter.wants_topic(&m.channel.topic) {
                        Some(add_channel(out, &m.channel).map_err(out_err)?)
                    } else {
                        None
                    };
                    channels.insert((n, m.channel.id), w);
                    w
                }
            };
            let Some(id) = wanted else {
                return Ok(());
            };
            if !filter.wants_time(m.log_time) {
                return Ok(());
            }
            let cycle = if filter.has_cycles() {
                let cycle = cycle_of(&m.data);
                let keep = match cycle {
                    Some(c) => filter.wants_cycle(c),
                    None => span.is_some_and(|(a, b)| (a..=b).contains(&m.log_time)),
                };
                if !keep {
                    return Ok(());
                }
                cycle
            } else {
                None
            };
            let header = MessageHeader {
                channel_id: id,
                sequence: m.sequence,
                log_time: m.log_time,
                publish_time: m.publish_time,
            };
            out.write_to_known_channel(&header, &m.data)
                .map_err(out_err)?;
            report.messages += 1;
            *report.topics.entry(m.channel.topic.clone()).or_default() += 1;
            if let Some(c) = cycle {
                report.first_cycle = Some(report.first_cycle.map_or(c, |f| f.min(c)));
                report.last_cycle = Some(report.last_cycle.map_or(c, |l| l.max(c)));
            }
            Ok(())
        })?;
        if !complete {
            report.incomplete_inputs.push(input.clone());
        }
    }
    let sources: Vec<String> = inputs
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    out.write_metadata(&Metadata {
        name: CUT_METADATA.to_owned(),
        metadata: BTreeMap::from([
            ("sources".to_owned(), sources.join(",")),
            ("filter".to_owned(), serde_json::to_string(filter)?),
            ("messages".to_owned(), report.messages.to_string()),
        ]),
    })
    .map_err(out_err)?;
    out.finish().map_err(out_err)?;
    Ok(report)
}

fn add_channel<W: Write + Seek>(
    out: &mut mcap::Writer<W>,
    channel: &mcap::Channel<'_>,
) -> mcap::McapResult<u16> {
    let schema = match &channel.schema {
        Some(s) => out.add_schema(&s.name, &s.encoding, &s.data)?,
        None => 0,
    };
    out.add_channel(
        schema,
        &channel.topic,
        &channel.message_encoding,
        &channel.metadata,
    )
}

/// The first and last log times of the `/dam/cycle` messages in range.
fn cycle_span(inputs: &[PathBuf], filter: &CutFilter) -> Result<Option<(u64, u64)>> {
    let mut span: Option<(u64, u64)> = None;
    for input in inputs {
        for_each_message(input, |m| {
            if m.channel.topic == CYCLE_TOPIC
                && filter.wants_time(m.log_time)
                && cycle_of(&m.data).is_some_and(|c| filter.wants_cycle(c))
            {
                span = Some(span.map_or((m.log_time, m.log_time), |(a, b)| {
                    (a.min(m.log_time), b.max(m.log_time))
                }));
            }
            Ok(())
        })?;
    }
    Ok(span)
}

/// Calls `f` on every message of the complete chunks of `input`, in file
/// order; returns whether the file was read to its end without damage.
fn for_each_message(
    input: &Path,
    mut f: impl FnMut(mcap::Message<'static>) -> Result<()>,
) -> Result<bool> {
    let file = File::open(input).map_err(|e| Error::io("open", input, e))?;
    let options = LinearReaderOptions::default()
        .with_prevalidate_chunk_crcs(true)
        .with_record_length_limit(MAX_RECORD);
    for message in mcap::io::MessageReader::new_with_options(BufReader::new(file), options) {
        match message {
            Ok(m) => f(m)?,
            Err(mcap::McapError::Io(e)) => return Err(Error::io("read", input, e)),
            Err(_) => return Ok(false),
        }
    }
    Ok(true)
}

/// The top-level `cycle_id` of a JSON payload.
fn cycle_of(payload: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Cycle {
        #[serde(default)]
        cycle_id: Option<u64>,
    }
    serde_json::from_slice::<Cycle>(payload).ok()?.cycle_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_match_exactly_or_by_prefix() {
        let f = CutFilter::default().with_topics_csv("/dam/cycle, /dam/images/*,");
        assert!(f.wants_topic("/dam/cycle"));
        assert!(!f.wants_topic("/dam/cycles"));
        assert!(f.wants_topic("/dam/images/top"));
        assert!(!f.wants_topic("/dam/obs"));
        assert!(CutFilter::default().wants_topic("/anything"));
    }

    #[test]
    fn ranges_include_the_start_and_exclude_the_end() {
        let f = CutFilter {
            start_cycle: Some(10),
            end_cycle: Some(20),
            start_time: Some(Timestamp::from_unix_nanos(100)),
            end_time: Some(Timestamp::from_unix_nanos(200)),
            ..CutFilter::default()
        };
        assert!(f.wants_cycle(10) && f.wants_cycle(19));
        assert!(!f.wants_cycle(9) && !f.wants_cycle(20));
        assert!(f.wants_time(100) && f.wants_time(199));
        assert!(!f.wants_time(99) && !f.wants_time(200));
        f.validate().unwrap();
        let reversed = CutFilter {
            start_cycle: Some(5),
            end_cycle: Some(5),
            ..CutFilter::default()
        };
        assert!(matches!(
            reversed.validate(),
            Err(Error::InvalidFilter { .. })
        ));
    }

    #[test]
    fn the_cycle_is_the_top_level_cycle_id() {
        assert_eq!(
            cycle_of(br#"{"cycle_id": 42, "x": {"cycle_id": 1}}"#),
            Some(42)
        );
        assert_eq!(cycle_of(br#"{"x": 1}"#), None);
        assert_eq!(cycle_of(br#"{"cycle_id": -1}"#), None);
        assert_eq!(cycle_of(b"\xff\xd8 jpeg"), None);
    }
}
