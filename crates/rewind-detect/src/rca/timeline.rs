//! The input: an incident's whole timeline as plain data.

use rewind_model::{Deploy, Event, Sample, SeriesName, TimeRange, Timestamp, Trigger};

/// Everything recorded around one incident: what the analysis reads.
///
/// Built from model types only, so it can come from a bundle (the CLI), a
/// stored incident (the server) or a test. Nothing needs to be sorted: the
/// analysis sorts what it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The trigger that opened the incident; times are judged relative to
    /// its `fired_at`.
    pub trigger: Trigger,
    /// Numeric series (a bundle's metric CSVs): name and samples.
    pub series: Vec<(SeriesName, Vec<Sample>)>,
    /// Text states (`gpu.thermal_state` = `throttling`): name and
    /// `(time, state)` points.
    pub text_states: Vec<(SeriesName, Vec<(Timestamp, String)>)>,
    /// Events: log lines, process, node, OOM, thermal, I/O and deploy events.
    pub events: Vec<Event>,
    /// Deploys known around the incident (the server's records).
    pub deploys: Vec<Deploy>,
    /// The span the recording covers, when known (a bundle's
    /// `time_range`): what happened outside it is unknown.
    pub window: Option<TimeRange>,
}

impl Timeline {
    /// A timeline holding only `trigger`.
    #[must_use]
    pub fn new(trigger: Trigger) -> Self {
        Self {
            trigger,
            series: Vec::new(),
            text_states: Vec::new(),
            events: Vec::new(),
            deploys: Vec::new(),
            window: None,
        }
    }

    /// When the trigger fired: the time everything is measured from.
    #[must_use]
    pub fn fired_at(&self) -> Timestamp {
        self.trigger.fired_at
    }

    /// Adds one numeric series.
    #[must_use]
    pub fn with_series(mut self, name: SeriesName, samples: Vec<Sample>) -> Self {
        self.series.push((name, samples));
        self
    }

    /// Adds one text-state series.
    #[must_use]
    pub fn with_text_state(mut self, name: SeriesName, points: Vec<(Timestamp, String)>) -> Self {
        self.text_states.push((name, points));
        self
    }

    /// Adds events.
    #[must_use]
    pub fn with_events(mut self, events: impl IntoIterator<Item = Event>) -> Self {
        self.events.extend(events);
        self
    }

    /// Adds a deploy record.
    #[must_use]
    pub fn with_deploy(mut self, deploy: Deploy) -> Self {
        self.deploys.push(deploy);
        self
    }

    /// Sets the span the recording covers.
    #[must_use]
    pub fn with_window(mut self, window: TimeRange) -> Self {
        self.window = Some(window);
        self
    }

    /// The earliest and latest instants in the timeline (the window when
    /// set, else every sample, point, event and the trigger).
    #[must_use]
    pub fn span(&self) -> TimeRange {
        if let Some(w) = self.window {
            return w;
        }
        let at = self.fired_at();
        let times = self
            .series
            .iter()
            .flat_map(|(_, s)| s.iter().map(|x| x.ts))
            .chain(
                self.text_states
                    .iter()
                    .flat_map(|(_, p)| p.iter().map(|x| x.0)),
            )
            .chain(self.events.iter().map(|e| e.ts));
        let (mut start, mut end) = (at, at);
        for t in times {
            start = start.min(t);
            end = end.max(t);
        }
        TimeRange { start, end }
    }
}
