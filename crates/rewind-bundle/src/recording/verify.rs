//! Reading a recording back, bounded: every record is parsed, chunk and
//! section CRCs are checked, and what it holds is counted so the reader can
//! compare it with the manifest and the other members.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mcap::{
    records::Record,
    sans_io::linear_reader::{LinearReadEvent, LinearReader, LinearReaderOptions},
};
use serde::de::IgnoredAny;

use crate::{Error, Result};

/// What a valid recording holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// Schema name and message count per channel topic, every channel included.
    pub(crate) topics: BTreeMap<String, (String, u64)>,
    /// Messages over all channels.
    pub(crate) messages: u64,
    /// Compressions named by the chunk indexes.
    pub(crate) compressions: BTreeSet<String>,
    /// The `rewind` metadata record, if any.
    pub(crate) metadata: Option<BTreeMap<String, String>>,
}

/// A channel as first declared.
#[derive(Debug, PartialEq, Eq)]
struct Declared {
    topic: String,
    schema_id: u16,
    message_encoding: String,
}

#[derive(Debug, Default)]
struct State {
    schemas: HashMap<u16, (String, String, Vec<u8>)>,
    channels: HashMap<u16, Declared>,
    counts: HashMap<u16, u64>,
    facts: Facts,
    statistics: Option<u64>,
    footer: bool,
}

/// Parses `bytes` as MCAP. No record or chunk may exceed `record_limit`
/// bytes; `charge` is called with the size of every record read (chunk
/// contents decompressed) and stops the walk by returning an error.
///
/// # Errors
/// [`Error::RecordingInvalid`] naming what is wrong, or what `charge` returns.
pub(crate) fn verify(
    path: &str,
    bytes: &[u8],
    record_limit: usize,
    mut charge: impl FnMut(u64) -> Result<()>,
) -> Result<Facts> {
    let bad = |reason: String| Error::recording(path, reason);
    let options = LinearReaderOptions::default()
        .with_prevalidate_chunk_crcs(true)
        .with_validate_data_section_crc(true)
        .with_validate_summary_section_crc(true)
        .with_check_finishes_after_end_magic(true)
        .with_record_length_limit(record_limit);
    let mut reader = LinearReader::new_with_options(options);
    let mut state = State::default();
    let mut pos = 0_usize;
    while let Some(event) = reader.next_event() {
        match event.map_err(|e| bad(e.to_string()))? {
            LinearReadEvent::ReadRequest(want) => {
                let rest = bytes.get(pos..).unwrap_or_default();
                let n = want.min(rest.len());
                reader.insert(n).copy_from_slice(&rest[..n]);
                reader.notify_read(n);
                pos += n;
            }
            LinearReadEvent::Record { opcode, data } => {
                charge(
                    u64::try_from(data.len())
                        .unwrap_or(u64::MAX)
                        .saturating_add(9),
                )?;
                let record = mcap::parse_record(opcode, data).map_err(|e| bad(e.to_string()))?;
                state.take(record).map_err(bad)?;
            }
        }
    }
    state.finish().map_err(bad)
}

impl State {
    fn take(&mut self, record: Record<'_>) -> Result<(), String> {
        match record {
            Record::Schema { header, data } => {
                if header.id == 0 {
                    return Err("a schema has id 0, which MCAP reserves".into());
                }
                let entry = (header.name, header.encoding, data.into_owned());
                match self.schemas.get(&header.id) {
                    Some(known) if *known != entry => {
                        return Err(format!(
                            "schema {} is declared twice, differently",
                            header.id
                        ));
                    }
                    Some(_) => {}
                    None => {
                        if entry.1 != "jsonschema" {
                            return Err(format!(
                                "schema `{}` has encoding `{}`: expected `jsonschema`",
                                entry.0, entry.1
                            ));
                        }
                        serde_json::from_slice::<IgnoredAny>(&entry.2)
                            .map_err(|e| format!("schema `{}` is not JSON: {e}", entry.0))?;
                        self.schemas.insert(header.id, entry);
                    }
                }
            }
            Record::Channel(c) => self.channel(c)?,
            Record::Message { header, data } => {
                let Some(channel) = self.channels.get(&header.channel_id) else {
                    return Err(format!(
                        "a message is on channel {}, which is not declared before it",
                        header.channel_id
                    ));
                };
                serde_json::from_slice::<IgnoredAny>(&data)
                    .map_err(|e| format!("a message on `{}` is not JSON: {e}", channel.topic))?;
                *self.counts.entry(header.channel_id).or_default() += 1;
                self.facts.messages += 1;
            }
            Record::ChunkIndex(index) => {
                self.facts.compressions.insert(index.compression);
            }
            Record::Statistics(stats) => self.statistics = Some(stats.message_count),
            Record::Metadata(m) if m.name == super::METADATA_NAME => self.metadata(m.metadata)?,
            Record::Footer(_) => self.footer = true,
            _ => {}
        }
        Ok(())
    }

    fn metadata(&mut self, metadata: BTreeMap<String, String>) -> Result<(), String> {
        match self.facts.metadata.replace(metadata) {
            Some(_) => Err("it has two `rewind` metadata records".into()),
            None => Ok(()),
        }
    }

    fn channel(&mut self, c: mcap::records::Channel) -> Result<(), String> {
        let declared = Declared {
            topic: c.topic,
            schema_id: c.schema_id,
            message_encoding: c.message_encoding,
        };
        if let Some(known) = self.channels.get(&c.id) {
            return if *known == declared {
                Ok(()) // repeated in the summary section
            } else {
                Err(format!("channel {} is declared twice, differently", c.id))
            };
        }
        if declared.message_encoding != "json" {
            return Err(format!(
                "channel `{}` has message encoding `{}`: expected `json`",
                declared.topic, declared.message_encoding
            ));
        }
        if !self.schemas.contains_key(&declared.schema_id) {
            return Err(format!(
                "channel `{}` uses schema {}, which is not declared before it",
                declared.topic, declared.schema_id
            ));
        }
        if self.channels.values().any(|k| k.topic == declared.topic) {
            return Err(format!("two channels have the topic `{}`", declared.topic));
        }
        self.channels.insert(c.id, declared);
        Ok(())
    }

    fn finish(mut self) -> Result<Facts, String> {
        if !self.footer {
            return Err("it ends before its footer".into());
        }
        if let Some(declared) = self.statistics
            && declared != self.facts.messages
        {
            return Err(format!(
                "its statistics count {declared} messages but it holds {}",
                self.facts.messages
            ));
        }
        for (id, channel) in self.channels {
            let count = self.counts.get(&id).copied().unwrap_or(0);
            let schema = self
                .schemas
                .get(&channel.schema_id)
                .map(|(name, _, _)| name.clone())
                .unwrap_or_default();
            self.facts.topics.insert(channel.topic, (schema, count));
        }
        Ok(self.facts)
    }
}
