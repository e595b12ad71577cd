//! Recent log lines, bounded, for the log signatures of a deploy's verdict.

use std::collections::VecDeque;

use rewind_detect::{
    logsig::{self, CompareConfig, LogLine, SignatureReport, Windows},
    regression::{DeployRef, RegressionConfig},
};
use rewind_model::{Timestamp, metrics::LogPoint};

/// Most lines kept, whatever their age: at 4 KiB a line at most, about
/// 400 MiB in the worst case, and far less for real logs.
const MAX_LINES: usize = 100_000;

/// Recent lines in arrival order (sorted by time when compared), trimmed
/// by age by the engine. The oldest go first when the buffer is full.
#[derive(Debug, Default)]
pub(crate) struct LogBuffer {
    lines: VecDeque<LogPoint>,
    /// Lines dropped for room, since the server started.
    pub(crate) evicted: u64,
}

impl LogBuffer {
    pub(crate) fn has_any(&self) -> bool {
        !self.lines.is_empty()
    }

    pub(crate) fn push(&mut self, line: LogPoint) {
        if self.lines.len() >= MAX_LINES {
            self.lines.pop_front();
            self.evicted += 1;
        }
        self.lines.push_back(line);
    }

    /// Drops lines older than `oldest` from the front (arrival order is
    /// close to time order; a stray old line in the middle goes later).
    pub(crate) fn trim(&mut self, oldest: Timestamp) {
        while self.lines.front().is_some_and(|l| l.at < oldest) {
            self.lines.pop_front();
        }
    }

    /// The signatures new or more frequent after `deploy`, from the lines
    /// of its service and environment (lines that name neither go with
    /// every deploy). `None` when no line falls in its windows.
    pub(crate) fn signatures(
        &self,
        deploy: &DeployRef,
        config: &RegressionConfig,
    ) -> Option<SignatureReport> {
        let windows = Windows::new(
            deploy.at.add_nanos(-config.baseline_window_nanos),
            deploy.at,
            deploy.at.add_nanos(config.post_window_nanos),
        )
        .ok()?;
        let mut mine: Vec<&LogPoint> = self
            .lines
            .iter()
            .filter(|l| l.at >= windows.before_start() && l.at < windows.after_end())
            .filter(|l| l.service.as_ref().is_none_or(|s| *s == deploy.service))
            .filter(|l| match (&l.environment, &deploy.environment) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            })
            .collect();
        if mine.is_empty() {
            return None;
        }
        mine.sort_by_key(|l| l.at);
        let lines = mine
            .into_iter()
            .map(|l| LogLine::new(l.at, l.level, &l.source, &l.text));
        match logsig::compare(lines, &windows, &CompareConfig::default()) {
            Ok(report) => Some(report),
            Err(e) => {
                tracing::warn!(error = %e, "log signatures could not be compared");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_model::Level;

    fn line(s: i64, service: Option<&str>, text: &str) -> LogPoint {
        LogPoint {
            at: Timestamp::from_unix_millis(1_790_000_000_000 + s * 1_000),
            level: Some(Level::Error),
            service: service.map(str::to_owned),
            environment: None,
            source: "app".into(),
            text: text.into(),
        }
    }

    #[test]
    fn signatures_come_from_the_deploys_service_only() {
        let mut buf = LogBuffer::default();
        for s in (-600..0).step_by(30) {
            buf.push(line(
                s,
                Some("checkout"),
                &format!("slow query took {s} ms"),
            ));
        }
        for s in (0..300).step_by(10) {
            buf.push(line(
                s,
                Some("checkout"),
                &format!("payment {s} declined: card_invalid"),
            ));
            buf.push(line(
                s,
                Some("search"),
                &format!("index shard {s} unavailable"),
            ));
        }
        let config = RegressionConfig::default();
        let deploy = DeployRef::new(
            "checkout",
            "2.0",
            Timestamp::from_unix_millis(1_790_000_000_000),
        );
        let report = buf.signatures(&deploy, &config).unwrap();
        let new: Vec<String> = report.changes.iter().map(|c| c.template.clone()).collect();
        assert_eq!(new.len(), 1, "{new:?}");
        assert!(new[0].starts_with("payment"), "{new:?}");
        let other = DeployRef::new("billing", "1", Timestamp::from_unix_millis(0));
        assert!(buf.signatures(&other, &config).is_none());
    }

    #[test]
    fn the_buffer_is_bounded_and_trimmed_by_age() {
        let mut buf = LogBuffer::default();
        for i in 0..(MAX_LINES as i64 + 10) {
            buf.push(line(i / 1_000, None, "x"));
        }
        assert_eq!(buf.lines.len(), MAX_LINES);
        assert_eq!(buf.evicted, 10);
        buf.trim(Timestamp::from_unix_millis(1_790_000_000_000 + 50_000));
        assert!(buf.lines.front().unwrap().at >= Timestamp::from_unix_millis(1_790_000_050_000));
    }
}
