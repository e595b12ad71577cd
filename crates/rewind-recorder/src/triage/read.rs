//! Reading a session's files into an [`Analyzer`]: the only I/O of triage.
//!
//! Each file is read from its start, record by record, with chunk CRCs
//! checked, up to its data end or its first broken record: a file still
//! being written, or left by a killed writer, gives its complete chunks and
//! is marked incomplete. Read-only.

use std::{
    collections::HashMap,
    fs::File,
    io::{self, BufReader, Read as _},
    path::{Path, PathBuf},
};

use mcap::{
    records::Record,
    sans_io::linear_reader::{LinearReadEvent, LinearReader, LinearReaderOptions},
};

use super::{Analyzer, SessionHeader, TriageOptions, TriageReport, TriagedFile};
use crate::{
    Error, Result,
    recover::MAX_RECORD,
    session::{SESSION_METADATA, SessionMeta, parse_file_name},
};

/// Reads `files` in order (one session's, or any MCAP files written by this
/// crate) and analyses their messages. The session is named by the first
/// `rewind.session` metadata found, else by the first file's name.
///
/// # Errors
/// [`Error::Io`] when a file cannot be opened or read. Damage inside a file
/// is not an error: reading stops there and the file is marked incomplete.
pub fn triage_files(files: &[PathBuf], options: &TriageOptions) -> Result<TriageReport> {
    let mut analyzer = Analyzer::new(options.clone());
    let mut header = SessionHeader::default();
    for path in files {
        let file = read_file(path, &mut analyzer, &mut header)?;
        header.files.push(file);
    }
    if header.session_id.is_empty()
        && let Some(first) = files.first()
    {
        header.session_id = parse_file_name(first).map_or_else(
            || {
                first
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            },
            |(session, _)| session,
        );
    }
    Ok(analyzer.finish(header))
}

fn read_file(
    path: &Path,
    analyzer: &mut Analyzer,
    header: &mut SessionHeader,
) -> Result<TriagedFile> {
    let mut source = BufReader::new(File::open(path).map_err(|e| Error::io("open", path, e))?);
    let mut reader = LinearReader::new_with_options(
        LinearReaderOptions::default()
            .with_prevalidate_chunk_crcs(true)
            .with_record_length_limit(MAX_RECORD),
    );
    let mut topics: HashMap<u16, String> = HashMap::new();
    let mut out = TriagedFile {
        path: path.to_owned(),
        messages: 0,
        complete: false,
        problem: None,
    };
    while let Some(event) = reader.next_event() {
        let record = match event {
            Ok(LinearReadEvent::ReadRequest(n)) => {
                let read = loop {
                    match source.read(reader.insert(n)) {
                        Ok(read) => break read,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Error::io("read", path, e)),
                    }
                };
                reader.notify_read(read);
                continue;
            }
            Ok(LinearReadEvent::Record { opcode, data }) => mcap::parse_record(opcode, data),
            Err(e) => Err(e),
        };
        match record {
            Ok(Record::Channel(c)) => {
                topics.insert(c.id, c.topic);
            }
            Ok(Record::Message { header: h, data }) => {
                if let Some(topic) = topics.get(&h.channel_id) {
                    analyzer.observe(topic, h.log_time, &data);
                    out.messages += 1;
                }
            }
            Ok(Record::Metadata(m)) if m.name == SESSION_METADATA => {
                if header.session_id.is_empty() {
                    fill(header, &SessionMeta::parse(&m.metadata));
                }
            }
            Ok(Record::DataEnd(_)) => {
                out.complete = true;
                break;
            }
            Ok(_) => {}
            Err(e) => {
                out.problem = Some(e.to_string());
                break;
            }
        }
    }
    if !out.complete && out.problem.is_none() {
        out.problem = Some("the file ends before its data end record".to_owned());
    }
    Ok(out)
}

fn fill(header: &mut SessionHeader, meta: &SessionMeta) {
    header.session_id.clone_from(&meta.session_id);
    header.app_version.clone_from(&meta.app_version);
    header.control_frequency_hz = meta.control_frequency_hz;
    header.config_hash.clone_from(&meta.config_hash);
}

#[cfg(test)]
mod tests {
    use rewind_model::Timestamp;

    use super::*;
    use crate::{Builtin, Recorder, RecorderConfig, SessionInfo};

    fn record(dir: &Path) -> PathBuf {
        let info = SessionInfo {
            session_id: Some("sess_t".to_owned()),
            app_version: Some("1.5.0".to_owned()),
            ..SessionInfo::default()
        };
        let rec = Recorder::start(RecorderConfig::new(dir), info).unwrap();
        let cycle = rec.builtin(Builtin::Cycle).unwrap();
        let guard = rec.builtin(Builtin::Guard(2)).unwrap();
        for c in 0..200_u64 {
            let t = Timestamp::from_unix_nanos(1_700_000_000_000_000_000 + c as i64 * 1_000_000);
            let bad = c == 150;
            let payloads = [
                (
                    &cycle,
                    format!(
                        r#"{{"cycle_id":{c},"timestamp":0,"has_violation":{bad},"has_clamp":false}}"#
                    ),
                ),
                (
                    &guard,
                    format!(
                        r#"{{"cycle_id":{c},"guard_name":"zone","layer":2,"decision":"{}"}}"#,
                        if bad { "REJECT" } else { "PASS" }
                    ),
                ),
            ];
            for (ch, p) in payloads {
                while !rec.record(ch, t, p.clone().into_bytes()).is_queued() {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            }
            if c % 50 == 49 {
                rec.flush().unwrap();
            }
        }
        rec.close().unwrap().files.remove(0)
    }

    #[test]
    fn a_finished_file_is_read_whole_and_a_truncated_one_up_to_its_damage() {
        let dir = tempfile::tempdir().unwrap();
        let file = record(dir.path());
        let r = triage_files(std::slice::from_ref(&file), &TriageOptions::default()).unwrap();
        assert_eq!(r.session.session_id, "sess_t");
        assert_eq!(r.session.app_version.as_deref(), Some("1.5.0"));
        assert!(r.session.files[0].complete);
        assert_eq!(r.session.files[0].messages, 400);
        assert_eq!((r.cycles, r.violation_cycles), (200, 1));
        assert_eq!(r.layers[2].decisions.reject, 1);

        let bytes = std::fs::read(&file).unwrap();
        let cut = dir.path().join("cut.mcap");
        let data_end = mcap::read::footer(&bytes).unwrap().summary_start as usize;
        std::fs::write(&cut, &bytes[..data_end * 2 / 3]).unwrap();
        let r = triage_files(std::slice::from_ref(&cut), &TriageOptions::default()).unwrap();
        let f = &r.session.files[0];
        assert!(!f.complete);
        assert!(f.problem.is_some());
        assert!(f.messages > 0 && f.messages < 400, "{}", f.messages);
        assert_eq!(r.cycles * 2, f.messages);
        assert!(r.findings[0].contains("was read only up to its last complete chunk"));
    }
}
