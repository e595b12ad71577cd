//! The predicates of a step (`event`, `metric`, `state`, `deploy`,
//! `fired`), checked.

use regex::{Regex, RegexBuilder};
use rewind_model::{Comparison, EventKind, Level};
use serde_saphyr::Location;

use super::duration;
use crate::Pattern;
use crate::rules::check::{Checker, Fields};
use crate::rules::raw::{Node, Value, sanitize};
use crate::rules::suggest;

/// The predicate fields of a step (one of them) and of an `any:` item.
pub(super) const PREDICATES: &[&str] = &["event", "metric", "state", "deploy", "fired"];
const EVENT_FIELDS: &[&str] = &[
    "kind",
    "source",
    "level",
    "message",
    "fields",
    "count",
    "over",
    "per",
    "new_signature",
];
const METRIC_FIELDS: &[&str] = &[
    "series", "above", "below", "outside", "change", "by_pct", "spreads", "baseline", "for",
];
const STATE_FIELDS: &[&str] = &["series", "is", "for"];
const DEPLOY_FIELDS: &[&str] = &["service", "version"];
const FIRED_FIELDS: &[&str] = &["rule", "type", "series", "labels", "summary"];
/// The event kinds `kind:` names (plus `custom:<name>`).
const KINDS: &[&str] = &[
    "log",
    "process_missing",
    "process_restarted",
    "oom_kill",
    "thermal",
    "io_error",
    "node_missing",
    "node_seen",
    "deploy",
];
/// The values of `level:`, lowest first.
const LEVELS: &[(&str, Level)] = &[
    ("debug", Level::Debug),
    ("info", Level::Info),
    ("notice", Level::Notice),
    ("warning", Level::Warning),
    ("error", Level::Error),
    ("critical", Level::Critical),
];
/// The most memory a compiled `message:` regex may take.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The longest `message:` regex, in characters.
const MAX_REGEX_CHARS: usize = 1000;
/// Default `over:` of counted events: one minute.
const DEFAULT_OVER_NANOS: i64 = 60_000_000_000;
/// Default `by_pct:` of a change.
const DEFAULT_BY_PCT: f64 = 20.0;
/// Default `spreads:` of a change.
const DEFAULT_SPREADS: f64 = 4.0;
/// Default `baseline:` of a change: the series' first 30 s.
const DEFAULT_BASELINE_NANOS: i64 = 30_000_000_000;

/// What a step looks for.
#[derive(Debug, Clone)]
pub enum Predicate {
    /// An event (a log line, a process gone, an OOM kill, …).
    Event(EventPredicate),
    /// A numeric series beyond a limit or changed from its own earlier level.
    Metric(MetricPredicate),
    /// A text state (`gpu.thermal_state` is `throttling`).
    State(StatePredicate),
    /// A deploy: a deploy record, a `deploy` event, or the trigger's
    /// `deploy_id`/`version` labels.
    Deploy(DeployPredicate),
    /// The trigger itself.
    Fired(FiredPredicate),
}

/// `event:`.
#[derive(Debug, Clone)]
pub struct EventPredicate {
    /// `kind:`; `None` is any kind.
    pub kind: Option<EventKind>,
    /// `source:` (wildcards), default any.
    pub source: Pattern,
    /// `level:`: at least this important.
    pub level: Option<Level>,
    /// `message:`: a regex the message must contain a match of.
    pub message: Option<Regex>,
    /// `fields:`: each named field must be present and match its pattern.
    pub fields: Vec<(String, Pattern)>,
    /// `count:`: this many matching events …
    pub count: u32,
    /// … within `over:` nanoseconds (default 60 s).
    pub over_nanos: i64,
    /// `per:`: counted separately per value of this field (`process`).
    pub per: Option<String>,
    /// `new_signature: true`: only lines whose masked template was not seen
    /// before the previous step.
    pub new_signature: bool,
}

/// `metric:`.
#[derive(Debug, Clone)]
pub struct MetricPredicate {
    /// `series:` (wildcards).
    pub series: Pattern,
    /// `above:`, `below:` or `outside:`.
    pub threshold: Option<Comparison>,
    /// `change:` with its `by_pct`, `spreads` and `baseline`.
    pub change: Option<ChangeSpec>,
    /// `for:`: the condition must hold this long (nanoseconds).
    pub for_nanos: i64,
}

/// A change of a series from its own earlier level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangeSpec {
    /// Which way.
    pub direction: ChangeDirection,
    /// At least this many percent of the earlier level (`by_pct:`, default 20).
    pub by_pct: f64,
    /// And at least this many robust spreads (`spreads:`, default 4).
    pub spreads: f64,
    /// The earlier level is learnt from the series' first `baseline:`
    /// nanoseconds (default 30 s, at most half its samples).
    pub baseline_nanos: i64,
}

/// `change: up | down | either`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeDirection {
    /// Rose.
    Up,
    /// Fell.
    Down,
    /// Either way.
    Either,
}

/// `state:`.
#[derive(Debug, Clone)]
pub struct StatePredicate {
    /// `series:` (wildcards).
    pub series: Pattern,
    /// `is:`: the text state, exactly.
    pub is: String,
    /// `for:`, nanoseconds.
    pub for_nanos: i64,
}

/// `deploy:`.
#[derive(Debug, Clone)]
pub struct DeployPredicate {
    /// `service:` (wildcards), default any.
    pub service: Pattern,
    /// `version:` (wildcards), default any.
    pub version: Pattern,
}

/// `fired:`: the trigger of the incident.
#[derive(Debug, Clone)]
pub struct FiredPredicate {
    /// `rule:` (wildcards), default any.
    pub rule: Pattern,
    /// `type:` the rule type (wildcards), default any.
    pub rule_type: Pattern,
    /// `series:`: some evidence series must match.
    pub series: Option<Pattern>,
    /// `labels:`: each label present and matching.
    pub labels: Vec<(String, Pattern)>,
    /// `summary:`: a regex the trigger's summary must contain a match of.
    pub summary: Option<Regex>,
}

impl Predicate {
    /// The placeholder keys this predicate fills; `*` means any key (event
    /// fields and trigger labels are open-ended).
    #[must_use]
    pub fn keys(&self) -> &'static [&'static str] {
        match self {
            Self::Event(_) => &["*"],
            Self::Fired(_) => &["*"],
            Self::Metric(_) => &[
                "series",
                "star",
                "value",
                "peak",
                "since",
                "onset",
                "held",
                "limit",
                "level",
                "spread",
                "change_pct",
                "spreads",
            ],
            Self::State(_) => &["series", "star", "state", "since", "onset", "held"],
            Self::Deploy(_) => &["service", "version", "id", "environment", "commit", "actor"],
        }
    }
}

pub(super) fn predicate(ck: &mut Checker<'_>, name: &str, node: &Node) -> Option<Predicate> {
    let example = match name {
        "event" => "event: { kind: oom_kill }",
        "metric" => "metric: { series: \"gpu.*.temp_c\", above: 85 }",
        "state" => "state: { series: gpu.thermal_state, is: throttling }",
        "deploy" => "deploy: { service: \"*\" }",
        _ => "fired: { rule: \"*\" }",
    };
    let entries = ck.mapping(node, name, example)?;
    let at = &node.referenced;
    match name {
        "event" => {
            let fields = ck.fields(entries, EVENT_FIELDS);
            event(ck, &fields).map(Predicate::Event)
        }
        "metric" => {
            let fields = ck.fields(entries, METRIC_FIELDS);
            metric(ck, &fields, at).map(Predicate::Metric)
        }
        "state" => {
            let fields = ck.fields(entries, STATE_FIELDS);
            state(ck, &fields, at).map(Predicate::State)
        }
        "deploy" => {
            let fields = ck.fields(entries, DEPLOY_FIELDS);
            let service = any_pattern(ck, &fields, "service", "checkout");
            let version = any_pattern(ck, &fields, "version", "\"v1.*\"");
            Some(Predicate::Deploy(DeployPredicate {
                service: service?,
                version: version?,
            }))
        }
        _ => {
            let fields = ck.fields(entries, FIRED_FIELDS);
            fired(ck, &fields).map(Predicate::Fired)
        }
    }
}

fn any_pattern(
    ck: &mut Checker<'_>,
    fields: &Fields<'_>,
    field: &str,
    example: &str,
) -> Option<Pattern> {
    fields
        .get_some(field)
        .map_or(Some(Pattern::new("*")), |n| ck.pattern(n, field, example))
}

fn event(ck: &mut Checker<'_>, fields: &Fields<'_>) -> Option<EventPredicate> {
    let kind = match fields.get_some("kind") {
        None => Some(None),
        Some(n) => event_kind(ck, n).map(Some),
    };
    let source = any_pattern(ck, fields, "source", "kmsg");
    let level = match fields.get_some("level") {
        None => Some(None),
        Some(n) => level(ck, n).map(Some),
    };
    let message = match fields.get_some("message") {
        None => Some(None),
        Some(n) => regex(ck, n, "message").map(Some),
    };
    let field_patterns = match fields.get_some("fields") {
        None => Some(Vec::new()),
        Some(n) => pattern_map(ck, n, "fields", "fields: { process: planner }"),
    };
    let count = fields
        .get_some("count")
        .map_or(Some(1), |n| ck.count(n, "count", 1, 1000));
    let over = fields
        .get_some("over")
        .map_or(Some(DEFAULT_OVER_NANOS), |n| {
            duration(ck, n, "over", "over: 60s")
        });
    let per = match fields.get_some("per") {
        None => Some(None),
        Some(n) => ck.text(n, "per").map(|t| Some(t.to_owned())),
    };
    let new_signature = fields
        .get_some("new_signature")
        .map_or(Some(false), |n| ck.boolean(n, "new_signature"));
    Some(EventPredicate {
        kind: kind?,
        source: source?,
        level: level?,
        message: message?,
        fields: field_patterns?,
        count: count?,
        over_nanos: over?,
        per: per?,
        new_signature: new_signature?,
    })
}

fn event_kind(ck: &mut Checker<'_>, node: &Node) -> Option<EventKind> {
    let text = ck.text(node, "kind")?;
    let kind = match text {
        "log" => Some(EventKind::Log),
        "process_missing" => Some(EventKind::ProcessMissing),
        "process_restarted" => Some(EventKind::ProcessRestarted),
        "oom_kill" => Some(EventKind::OomKill),
        "thermal" => Some(EventKind::Thermal),
        "io_error" => Some(EventKind::IoError),
        "node_missing" => Some(EventKind::NodeMissing),
        "node_seen" => Some(EventKind::NodeSeen),
        "deploy" => Some(EventKind::Deploy),
        other => other
            .strip_prefix("custom:")
            .filter(|n| !n.is_empty())
            .map(|n| EventKind::Custom(n.to_owned())),
    };
    if kind.is_none() {
        let close = suggest::closest(text, KINDS)
            .map(|c| format!("did you mean `{c}`? "))
            .unwrap_or_default();
        ck.report(
            &node.referenced,
            format!("unknown event kind `{}`", sanitize(text)),
            format!(
                "{close}the kinds are: {}, or `custom:<name>` for a custom stream's",
                KINDS.join(", ")
            ),
        );
    }
    kind
}

fn level(ck: &mut Checker<'_>, node: &Node) -> Option<Level> {
    let text = ck.text(node, "level")?;
    if let Some((_, level)) = LEVELS.iter().find(|(n, _)| *n == text) {
        return Some(*level);
    }
    let names: Vec<&str> = LEVELS.iter().map(|(n, _)| *n).collect();
    let close = suggest::closest(text, &names)
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default();
    ck.report(
        &node.referenced,
        format!("unknown level `{}`", sanitize(text)),
        format!("{close}use one of {}", names.join(", ")),
    );
    None
}

fn regex(ck: &mut Checker<'_>, node: &Node, field: &str) -> Option<Regex> {
    let text = ck.text(node, field)?;
    if text.is_empty() || text.chars().count() > MAX_REGEX_CHARS {
        ck.report(
            &node.referenced,
            format!("`{field}` must be a regex of 1 to 1000 characters"),
            format!("say what to look for, e.g. `{field}: \"(?i)no space left\"`"),
        );
        return None;
    }
    match RegexBuilder::new(text)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(re) => Some(re),
        Err(err) => {
            let what = err.to_string();
            let what = what
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            ck.report(
                &node.referenced,
                format!("invalid regex `{}`: {}", sanitize(text), sanitize(what)),
                "see the syntax at https://docs.rs/regex/latest/regex/#syntax; escape `.`, `(` \
                 and `[` to match them as written",
            );
            None
        }
    }
}

/// A mapping of names to wildcard patterns (`fields:`, `labels:`).
fn pattern_map(
    ck: &mut Checker<'_>,
    node: &Node,
    field: &str,
    example: &str,
) -> Option<Vec<(String, Pattern)>> {
    let entries = ck.mapping(node, field, example)?;
    let mut out = Vec::with_capacity(entries.len());
    let mut ok = true;
    for (key, value) in entries {
        let key = ck.text(key, field).map(str::to_owned);
        let value = match &value.value {
            Value::Int(i) => Some(Pattern::new(i.to_string())),
            _ => ck.pattern(value, field, example),
        };
        match (key, value) {
            (Some(k), Some(v)) => out.push((k, v)),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

fn metric(ck: &mut Checker<'_>, fields: &Fields<'_>, at: &Location) -> Option<MetricPredicate> {
    let series = ck
        .required(fields, at, "series", "add e.g. `series: \"gpu.*.temp_c\"`")
        .and_then(|n| ck.pattern(n, "series", "\"gpu.*.temp_c\""));
    let mut threshold = Some(None);
    let limits: Vec<(&str, &Node)> = ["above", "below", "outside"]
        .into_iter()
        .filter_map(|k| Some((k, fields.get_some(k)?)))
        .collect();
    if let [_, (name, second), ..] = limits.as_slice() {
        ck.report(
            &second.referenced,
            format!("`{name}` with another limit: a metric step has at most one"),
            "keep one of `above`, `below` and `outside`",
        );
        threshold = None;
    } else if let Some((name, node)) = limits.first() {
        threshold = limit(ck, name, node).map(Some);
    }
    let change = match fields.get_some("change") {
        None => Some(None),
        Some(n) => change(ck, fields, n).map(Some),
    };
    if fields.get_some("change").is_none() {
        for extra in ["by_pct", "spreads", "baseline"] {
            if let Some(n) = fields.get_some(extra) {
                ck.report(
                    &n.referenced,
                    format!("`{extra}` without `change`"),
                    "add `change: up`, `down` or `either`, or remove the line",
                );
                threshold = None;
            }
        }
    }
    let for_nanos = fields
        .get_some("for")
        .map_or(Some(0), |n| duration(ck, n, "for", "for: 2s"));
    if limits.is_empty() && fields.get_some("change").is_none() {
        ck.report(
            at,
            "the metric step has no condition",
            "add `above: N`, `below: N`, `outside: [low, high]` or `change: up|down|either`",
        );
        return None;
    }
    Some(MetricPredicate {
        series: series?,
        threshold: threshold?,
        change: change?,
        for_nanos: for_nanos?,
    })
}

fn limit(ck: &mut Checker<'_>, name: &str, node: &Node) -> Option<Comparison> {
    match name {
        "above" => ck.number(node, "above", "above: 85").map(Comparison::Above),
        "below" => ck.number(node, "below", "below: 20").map(Comparison::Below),
        _ => {
            if let Value::List(items) = &node.value
                && let [low, high] = items.as_slice()
            {
                let low = ck.number(low, "outside", "outside: [10, 90]");
                let high = ck.number(high, "outside", "outside: [10, 90]");
                let (low, high) = (low?, high?);
                if low <= high {
                    return Some(Comparison::Outside { low, high });
                }
            }
            ck.report(
                &node.referenced,
                "`outside` must be two numbers, the lower first",
                "write e.g. `outside: [10, 90]`",
            );
            None
        }
    }
}

fn change(ck: &mut Checker<'_>, fields: &Fields<'_>, node: &Node) -> Option<ChangeSpec> {
    let direction = match ck.text(node, "change")? {
        "up" => Some(ChangeDirection::Up),
        "down" => Some(ChangeDirection::Down),
        "either" => Some(ChangeDirection::Either),
        other => {
            ck.report(
                &node.referenced,
                format!("unknown change direction `{}`", sanitize(other)),
                "use `up`, `down` or `either`",
            );
            None
        }
    };
    let positive = |ck: &mut Checker<'_>, field: &str, default: f64, example: &str| {
        let Some(n) = fields.get_some(field) else {
            return Some(default);
        };
        let v = ck.number(n, field, example)?;
        if v >= 0.0 {
            return Some(v);
        }
        let found = ck.snippet(n);
        ck.report(
            &n.referenced,
            format!("`{field}` must not be negative, found {found}"),
            format!("write e.g. `{example}`"),
        );
        None
    };
    let by_pct = positive(ck, "by_pct", DEFAULT_BY_PCT, "by_pct: 30");
    let spreads = positive(ck, "spreads", DEFAULT_SPREADS, "spreads: 4");
    let baseline = fields
        .get_some("baseline")
        .map_or(Some(DEFAULT_BASELINE_NANOS), |n| {
            duration(ck, n, "baseline", "baseline: 30s")
        });
    Some(ChangeSpec {
        direction: direction?,
        by_pct: by_pct?,
        spreads: spreads?,
        baseline_nanos: baseline?,
    })
}

fn state(ck: &mut Checker<'_>, fields: &Fields<'_>, at: &Location) -> Option<StatePredicate> {
    let series = ck
        .required(fields, at, "series", "add e.g. `series: gpu.thermal_state`")
        .and_then(|n| ck.pattern(n, "series", "gpu.thermal_state"));
    let is = ck
        .required(fields, at, "is", "add e.g. `is: throttling`")
        .and_then(|n| ck.text(n, "is").map(str::to_owned));
    let for_nanos = fields
        .get_some("for")
        .map_or(Some(0), |n| duration(ck, n, "for", "for: 2s"));
    Some(StatePredicate {
        series: series?,
        is: is?,
        for_nanos: for_nanos?,
    })
}

fn fired(ck: &mut Checker<'_>, fields: &Fields<'_>) -> Option<FiredPredicate> {
    let rule = any_pattern(ck, fields, "rule", "\"Camera*\"");
    let rule_type = any_pattern(ck, fields, "type", "topic_rate");
    let series = match fields.get_some("series") {
        None => Some(None),
        Some(n) => ck.pattern(n, "series", "\"topic.*.rate_hz\"").map(Some),
    };
    let labels = match fields.get_some("labels") {
        None => Some(Vec::new()),
        Some(n) => pattern_map(ck, n, "labels", "labels: { service: checkout }"),
    };
    let summary = match fields.get_some("summary") {
        None => Some(None),
        Some(n) => regex(ck, n, "summary").map(Some),
    };
    Some(FiredPredicate {
        rule: rule?,
        rule_type: rule_type?,
        series: series?,
        labels: labels?,
        summary: summary?,
    })
}
