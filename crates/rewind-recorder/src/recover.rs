//! Crash recovery: rewrite a session file whose writer was killed, with a
//! fresh summary.
//!
//! The input is read from the start, record by record. Chunks are checked
//! whole (length, decompression, CRC) before any of their messages is taken,
//! so the output holds exactly the messages of the complete chunks (and of
//! any message records outside chunks) before the first broken record. The
//! recorder's open chunk at the moment of the kill still carries its
//! placeholder length, so reading stops there. Schemas and channels keep
//! their ids; metadata records are copied; a `rewind.recovered` metadata
//! record says what happened. The output is written to a temporary file in
//! its directory and renamed into place; an existing output is never
//! overwritten.

use std::{
    collections::BTreeMap,
    collections::HashMap,
    fs::File,
    io::{self, BufReader, BufWriter},
    path::{Path, PathBuf},
};

use mcap::{
    records::{Metadata, Record},
    sans_io::linear_reader::{LinearReadEvent, LinearReader, LinearReaderOptions},
};
use serde::Serialize;

use crate::{Error, Result, rotate::write_options};

/// Name of the metadata record `recover` adds.
pub const RECOVERED_METADATA: &str = "rewind.recovered";

/// The longest record (or decompressed chunk) read, in bytes.
pub(crate) const MAX_RECORD: usize = 1 << 30;

/// What [`recover`] found and wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoverReport {
    /// The output file.
    pub output: PathBuf,
    /// Messages written.
    pub messages: u64,
    /// Channels written.
    pub channels: usize,
    /// Metadata records copied.
    pub metadata: usize,
    /// Whether the input's data section was whole (it had a data end
    /// record): nothing was lost.
    pub input_complete: bool,
    /// Why reading stopped before the data end, when it did.
    pub problem: Option<String>,
}

/// Reads `input` up to its first broken record and writes every complete
/// message, schema, channel and metadata record to `output`, with a summary.
///
/// # Errors
/// [`Error::OutputExists`], [`Error::Io`], or [`Error::Mcap`] when the
/// output cannot be written. A damaged input is not an error: reading stops
/// at the damage and the report says why.
pub fn recover(input: &Path, output: &Path) -> Result<RecoverReport> {
    if output.exists() {
        return Err(Error::OutputExists {
            path: output.to_owned(),
        });
    }
    let source = File::open(input).map_err(|e| Error::io("open", input, e))?;
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".rewind-recover-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    let mut report = {
        let sink = BufWriter::new(tmp.as_file_mut());
        let mut out = write_options(true)
            .create(sink)
            .map_err(|e| Error::mcap(output, e))?;
        let mut report = copy_records(BufReader::new(source), &mut out, input, output)?;
        let mut note = BTreeMap::from([
            ("source".to_owned(), input.display().to_string()),
            ("messages".to_owned(), report.messages.to_string()),
            (
                "input_complete".to_owned(),
                report.input_complete.to_string(),
            ),
        ]);
        if let Some(problem) = &report.problem {
            note.insert("problem".to_owned(), problem.clone());
        }
        out.write_metadata(&Metadata {
            name: RECOVERED_METADATA.to_owned(),
            metadata: note,
        })
        .map_err(|e| Error::mcap(output, e))?;
        out.finish().map_err(|e| Error::mcap(output, e))?;
        out.into_inner()
            .into_inner()
            .map_err(|e| Error::io("write", output, e.into_error()))?;
        report.output = output.to_owned();
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
    crate::rotate::sync_dir(dir);
    report.output = output.to_owned();
    Ok(report)
}

/// Copies records from `source` into `out` until the data end or the first
/// broken record.
fn copy_records<R: io::Read, W: io::Write + io::Seek>(
    mut source: R,
    out: &mut mcap::Writer<W>,
    input: &Path,
    output: &Path,
) -> Result<RecoverReport> {
    let mut reader = LinearReader::new_with_options(
        LinearReaderOptions::default()
            .with_prevalidate_chunk_crcs(true)
            .with_record_length_limit(MAX_RECORD),
    );
    let mut report = RecoverReport {
        output: PathBuf::new(),
        messages: 0,
        channels: 0,
        metadata: 0,
        input_complete: false,
        problem: None,
    };
    // Input schema id → output schema id.
    let mut schemas: HashMap<u16, u16> = HashMap::new();
    let out_err = |e| Error::mcap(output, e);
    while let Some(event) = reader.next_event() {
        let (opcode, data) = match event {
            Ok(LinearReadEvent::ReadRequest(n)) => {
                let read = loop {
                    match source.read(reader.insert(n)) {
                        Ok(read) => break read,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Error::io("read", input, e)),
                    }
                };
                reader.notify_read(read);
                continue;
            }
            Ok(LinearReadEvent::Record { opcode, data }) => (opcode, data),
            Err(e) => {
                report.problem = Some(e.to_string());
                break;
            }
        };
        let record = match mcap::parse_record(opcode, data) {
            Ok(r) => r,
            Err(e) => {
                report.problem = Some(e.to_string());
                break;
            }
        };
        match record {
            Record::Schema { header, data } => {
                let id = out
                    .add_schema(&header.name, &header.encoding, &data)
                    .map_err(out_err)?;
                schemas.insert(header.id, id);
            }
            Record::Channel(c) => {
                let schema = match c.schema_id {
                    0 => 0,
                    id => match schemas.get(&id) {
                        Some(&s) => s,
                        None => {
                            report.problem = Some(format!(
                                "channel {} names schema {id}, which is not defined before it",
                                c.id
                            ));
                            break;
                        }
                    },
                };
                out.add_channel_with_id(c.id, schema, &c.topic, &c.message_encoding, &c.metadata)
                    .map_err(out_err)?;
                report.channels += 1;
            }
            Record::Message { header, data } => {
                if let Err(e) = out.write_to_known_channel(&header, &data) {
                    report.problem = Some(format!("message on channel {}: {e}", header.channel_id));
                    break;
                }
                report.messages += 1;
            }
            Record::Metadata(m) => {
                out.write_metadata(&m).map_err(out_err)?;
                report.metadata += 1;
            }
            Record::Attachment { header, data, .. } => {
                out.attach(&mcap::Attachment {
                    log_time: header.log_time,
                    create_time: header.create_time,
                    name: header.name,
                    media_type: header.media_type,
                    data,
                })
                .map_err(out_err)?;
            }
            Record::DataEnd(_) => {
                report.input_complete = true;
                break;
            }
            // Indexes and statistics are rebuilt; the header is written anew.
            _ => {}
        }
    }
    Ok(report)
}
