//! `events.jsonl`: every event in the window, one `rewind_model::Event` as
//! compact JSON per line, in time order (ties keep the agent's order).

use std::io::{self, Write};

use rewind_model::Event;

use crate::{EVENTS_PATH, Error, Result, error::clip};

/// The events sorted by time; events at the same instant keep their order.
pub(crate) fn sorted(events: &[Event]) -> Vec<&Event> {
    let mut out: Vec<&Event> = events.iter().collect();
    out.sort_by_key(|e| e.ts);
    out
}

/// Writes one JSON object per event, each followed by `\n`.
pub(crate) fn write_events(w: &mut impl Write, events: &[&Event]) -> io::Result<()> {
    for e in events {
        serde_json::to_writer(&mut *w, e).map_err(io::Error::other)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// Parses `events.jsonl`: at most `max` lines, each one event, in time order.
///
/// # Errors
/// [`Error::TooManyEvents`] before parsing anything if there are more than
/// `max` lines; [`Error::EventsInvalid`] naming the first bad line.
pub(crate) fn parse_events(bytes: &[u8], max: u64) -> Result<Vec<Event>> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let count = u64::try_from(body.split(|&b| b == b'\n').count()).unwrap_or(u64::MAX);
    if count > max {
        return Err(Error::TooManyEvents { count, limit: max });
    }
    let err = |line: usize, reason: String| Error::EventsInvalid {
        path: EVENTS_PATH.to_owned(),
        line: u64::try_from(line).unwrap_or(u64::MAX),
        reason: clip(reason),
    };
    let mut out: Vec<Event> = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let event: Event = serde_json::from_slice(line).map_err(|e| err(i + 1, e.to_string()))?;
        if let Some(prev) = out.last()
            && event.ts < prev.ts
        {
            return Err(err(
                i + 1,
                format!(
                    "event at {} comes after one at {}: events must be in time order",
                    event.ts, prev.ts
                ),
            ));
        }
        out.push(event);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rewind_model::{EventKind, Level, Timestamp};

    use super::*;

    fn event(ns: i64, message: &str) -> Event {
        Event::new(
            Timestamp::from_unix_nanos(ns),
            "kmsg",
            EventKind::Log,
            Level::Info,
            message,
        )
    }

    #[test]
    fn events_round_trip_in_time_order() {
        let events = [
            event(5, "b").with("pid", 42),
            event(1, "a\nwith a newline"),
            event(5, "c"),
            Event::new(
                Timestamp::from_unix_nanos(-3),
                "socket",
                EventKind::Custom("x".into()),
                Level::Critical,
                "",
            ),
        ];
        let order = sorted(&events);
        let mut out = Vec::new();
        write_events(&mut out, &order).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text.starts_with(
            r#"{"ts":"1969-12-31T23:59:59.999999997Z","source":"socket","kind":{"custom":"x"}"#
        ));
        let back = parse_events(&out, 10).unwrap();
        let want: Vec<Event> = order.into_iter().cloned().collect();
        assert_eq!(back, want);
        assert_eq!(back[2].message, "b");
        assert_eq!(back[3].message, "c");
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse_events(b"", 0).unwrap().is_empty());
        let two = b"{\"ts\":\"1970-01-01T00:00:00Z\",\"source\":\"s\",\"kind\":\"log\",\"level\":\"info\",\"message\":\"m\"}\n";
        let mut bytes = two.to_vec();
        bytes.extend_from_slice(b"{}\n");
        match parse_events(&bytes, 10) {
            Err(Error::EventsInvalid { line: 2, .. }) => {}
            other => panic!("{other:?}"),
        }
        let mut doubled = two.to_vec();
        doubled.extend_from_slice(two);
        assert!(matches!(
            parse_events(&doubled, 1),
            Err(Error::TooManyEvents { count: 2, limit: 1 })
        ));
        let mut out = Vec::new();
        write_events(&mut out, &[&event(5, "late"), &event(1, "early")]).unwrap();
        let err = parse_events(&out, 10).unwrap_err();
        assert!(err.to_string().contains("time order"), "{err}");
        assert!(matches!(
            parse_events(b"\n\n", 10),
            Err(Error::EventsInvalid { line: 1, .. })
        ));
    }
}
