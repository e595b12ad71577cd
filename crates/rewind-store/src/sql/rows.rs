//! Rows as the database returns them, and their conversion to model types.
//!
//! The row structs derive `sqlx::FromRow`, which is generic over the
//! dialect, so decoding is written once; every value is then checked here
//! (a hand-edited database answers [`Error::Corrupt`], never a panic).

use rewind_model::{
    BundleId, BundleRef, Change, Deploy, DeployId, Device, DeviceId, DeviceIdentity, IncidentId,
    IncidentStatus, IncidentSummary, Role, Severity, TimeRange, TimelineEntry, Timestamp, TokenId,
    TokenInfo, TokenScope, Trigger,
};

use crate::{BundleRecord, Error, Result};

/// The incident columns listed by the API, as a macro so that queries stay
/// `&'static str`.
macro_rules! summary_columns {
    () => {
        "id, device_id, fleet, service, rule, severity, status, summary, fingerprint, \
         occurrences, triggered_at, last_triggered_at, window_start, window_end, received_at, \
         updated_at, latest_bundle_id, latest_bundle_bytes, reopened_from, last_seq"
    };
}
pub(crate) use summary_columns;

/// [`summary_columns`] and the first trigger.
macro_rules! record_columns {
    () => {
        concat!($crate::sql::rows::summary_columns!(), ", trigger_json")
    };
}
pub(crate) use record_columns;

/// The bundle columns.
macro_rules! bundle_columns {
    () => {
        "bundle_id, incident_id, device_id, triggered_at, received_at, bytes, sha256, blob_key"
    };
}
pub(crate) use bundle_columns;

/// The timeline columns.
macro_rules! timeline_columns {
    () => {
        "seq, at, actor, kind, bundle_id, triggered_at, from_status, to_status, text, ref_id, \
         service, version"
    };
}
pub(crate) use timeline_columns;

/// The token columns (the hash stays in the database).
macro_rules! token_columns {
    () => {
        "id, name, kind, role, device_id, prefix, created_at, expires_at, revoked_at"
    };
}
pub(crate) use token_columns;

/// The device columns.
macro_rules! device_columns {
    () => {
        "device_id, fleet, site, hardware, software_version, agent_version, first_seen_at, \
         last_seen_at"
    };
}
pub(crate) use device_columns;

/// The deploy columns.
macro_rules! deploy_columns {
    () => {
        "id, service, version, environment, commit_sha, actor, at, recorded_at"
    };
}
pub(crate) use deploy_columns;

fn parse<T: std::str::FromStr>(column: &'static str, s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| Error::corrupt(column, e))
}

fn ts(nanos: i64) -> Timestamp {
    Timestamp::from_unix_nanos(nanos)
}

fn device(column: &'static str, s: String) -> Result<DeviceId> {
    DeviceId::new(s).map_err(|e| Error::corrupt(column, e))
}

fn count(column: &'static str, n: i64) -> Result<u32> {
    u32::try_from(n).map_err(|e| Error::corrupt(column, e))
}

fn size(column: &'static str, n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|e| Error::corrupt(column, e))
}

/// A byte count as the database stores it (sizes never reach 2^63).
pub(crate) fn bytes_to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One `incidents` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct IncidentRow {
    pub id: String,
    pub device_id: String,
    pub fleet: Option<String>,
    pub service: Option<String>,
    pub rule: String,
    pub severity: String,
    pub status: String,
    pub summary: String,
    pub fingerprint: String,
    pub occurrences: i64,
    pub triggered_at: i64,
    pub last_triggered_at: i64,
    pub window_start: i64,
    pub window_end: i64,
    pub received_at: i64,
    pub updated_at: i64,
    pub latest_bundle_id: String,
    pub latest_bundle_bytes: i64,
    pub reopened_from: Option<String>,
    pub last_seq: i64,
    /// Only selected by [`record_columns`].
    #[sqlx(default)]
    pub trigger_json: Option<String>,
}

impl IncidentRow {
    /// The stored status.
    pub(crate) fn status(&self) -> Result<IncidentStatus> {
        parse("status", &self.status)
    }

    /// The row's timeline length.
    pub(crate) fn last_seq(&self) -> Result<u32> {
        count("last_seq", self.last_seq)
    }

    /// The first trigger (selected with [`record_columns`]).
    pub(crate) fn trigger(&self) -> Result<Trigger> {
        let json = self
            .trigger_json
            .as_deref()
            .ok_or_else(|| Error::corrupt("trigger_json", "not selected"))?;
        serde_json::from_str(json).map_err(|e| Error::corrupt("trigger_json", e))
    }

    /// The listed fields.
    pub(crate) fn summary(&self) -> Result<IncidentSummary> {
        Ok(IncidentSummary {
            id: parse("id", &self.id)?,
            device_id: device("device_id", self.device_id.clone())?,
            fleet: self.fleet.clone(),
            service: self.service.clone(),
            bundle_id: parse("latest_bundle_id", &self.latest_bundle_id)?,
            rule: self.rule.clone(),
            severity: parse::<Severity>("severity", &self.severity)?,
            status: self.status()?,
            summary: self.summary.clone(),
            fingerprint: self.fingerprint.clone(),
            occurrences: count("occurrences", self.occurrences)?,
            triggered_at: ts(self.triggered_at),
            last_triggered_at: ts(self.last_triggered_at),
            window: TimeRange {
                start: ts(self.window_start),
                end: ts(self.window_end),
            },
            received_at: ts(self.received_at),
            updated_at: ts(self.updated_at),
            bundle_bytes: size("latest_bundle_bytes", self.latest_bundle_bytes)?,
            reopened_from: self
                .reopened_from
                .as_deref()
                .map(|s| parse::<IncidentId>("reopened_from", s))
                .transpose()?,
        })
    }
}

/// One `bundles` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BundleRow {
    pub bundle_id: String,
    pub incident_id: String,
    pub device_id: String,
    pub triggered_at: i64,
    pub received_at: i64,
    pub bytes: i64,
    pub sha256: String,
    pub blob_key: String,
}

impl BundleRow {
    pub(crate) fn record(self) -> Result<BundleRecord> {
        Ok(BundleRecord {
            bundle: BundleRef {
                bundle_id: parse::<BundleId>("bundle_id", &self.bundle_id)?,
                triggered_at: ts(self.triggered_at),
                received_at: ts(self.received_at),
                bytes: size("bytes", self.bytes)?,
                sha256: self.sha256,
            },
            incident_id: parse("incident_id", &self.incident_id)?,
            device_id: device("device_id", self.device_id)?,
            blob_key: self.blob_key,
        })
    }
}

/// One `timeline` row: `kind` says which typed columns are set.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TimelineRow {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub bundle_id: Option<String>,
    pub triggered_at: Option<i64>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub text: Option<String>,
    pub ref_id: Option<String>,
    pub service: Option<String>,
    pub version: Option<String>,
}

fn required<T>(column: &'static str, v: Option<T>) -> Result<T> {
    v.ok_or_else(|| Error::corrupt(column, "missing for this kind of entry"))
}

impl TimelineRow {
    pub(crate) fn entry(self) -> Result<TimelineEntry> {
        let bundle = |v: Option<String>| -> Result<BundleId> {
            parse("timeline.bundle_id", &required("timeline.bundle_id", v)?)
        };
        let status = |column, v: Option<String>| -> Result<IncidentStatus> {
            parse(column, &required(column, v)?)
        };
        let change = match self.kind.as_str() {
            "opened" => Change::Opened {
                bundle_id: bundle(self.bundle_id)?,
                triggered_at: ts(required("timeline.triggered_at", self.triggered_at)?),
                reopened_from: self
                    .ref_id
                    .as_deref()
                    .map(|s| parse::<IncidentId>("timeline.ref_id", s))
                    .transpose()?,
                reason: self.text,
            },
            "occurrence" => Change::Occurrence {
                bundle_id: bundle(self.bundle_id)?,
                triggered_at: ts(required("timeline.triggered_at", self.triggered_at)?),
            },
            "transition" => Change::Transition {
                from: status("timeline.from_status", self.from_status)?,
                to: status("timeline.to_status", self.to_status)?,
                reason: self.text,
            },
            "note" => Change::Note {
                text: required("timeline.text", self.text)?,
            },
            "deploy" => Change::Deploy {
                deploy_id: parse::<DeployId>(
                    "timeline.ref_id",
                    &required("timeline.ref_id", self.ref_id)?,
                )?,
                service: required("timeline.service", self.service)?,
                version: required("timeline.version", self.version)?,
            },
            other => {
                return Err(Error::corrupt(
                    "timeline.kind",
                    format!("unknown `{other}`"),
                ));
            }
        };
        Ok(TimelineEntry {
            seq: count("timeline.seq", self.seq)?,
            at: ts(self.at),
            actor: self.actor,
            change,
        })
    }
}

/// A timeline entry split into the typed columns it is stored in.
#[derive(Debug, Default)]
pub(crate) struct EntryColumns {
    pub kind: &'static str,
    pub bundle_id: Option<String>,
    pub triggered_at: Option<i64>,
    pub from_status: Option<&'static str>,
    pub to_status: Option<&'static str>,
    pub text: Option<String>,
    pub ref_id: Option<String>,
    pub service: Option<String>,
    pub version: Option<String>,
}

impl EntryColumns {
    pub(crate) fn of(change: &Change) -> Self {
        match change {
            Change::Opened {
                bundle_id,
                triggered_at,
                reopened_from,
                reason,
            } => Self {
                kind: "opened",
                bundle_id: Some(bundle_id.to_string()),
                triggered_at: Some(triggered_at.as_unix_nanos()),
                ref_id: reopened_from.map(|id| id.to_string()),
                text: reason.clone(),
                ..Self::default()
            },
            Change::Occurrence {
                bundle_id,
                triggered_at,
            } => Self {
                kind: "occurrence",
                bundle_id: Some(bundle_id.to_string()),
                triggered_at: Some(triggered_at.as_unix_nanos()),
                ..Self::default()
            },
            Change::Transition { from, to, reason } => Self {
                kind: "transition",
                from_status: Some(from.as_str()),
                to_status: Some(to.as_str()),
                text: reason.clone(),
                ..Self::default()
            },
            Change::Note { text } => Self {
                kind: "note",
                text: Some(text.clone()),
                ..Self::default()
            },
            Change::Deploy {
                deploy_id,
                service,
                version,
            } => Self {
                kind: "deploy",
                ref_id: Some(deploy_id.to_string()),
                service: Some(service.clone()),
                version: Some(version.clone()),
                ..Self::default()
            },
        }
    }
}

/// One `tokens` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub role: Option<String>,
    pub device_id: Option<String>,
    pub prefix: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl TokenRow {
    pub(crate) fn info(self) -> Result<TokenInfo> {
        let scope = match self.kind.as_str() {
            "user" => TokenScope::User {
                role: parse::<Role>("tokens.role", &required("tokens.role", self.role)?)?,
            },
            "device" => TokenScope::Device {
                device_id: device(
                    "tokens.device_id",
                    required("tokens.device_id", self.device_id)?,
                )?,
            },
            other => return Err(Error::corrupt("tokens.kind", format!("unknown `{other}`"))),
        };
        Ok(TokenInfo {
            id: parse::<TokenId>("tokens.id", &self.id)?,
            name: self.name,
            scope,
            prefix: self.prefix,
            created_at: ts(self.created_at),
            expires_at: self.expires_at.map(ts),
            revoked_at: self.revoked_at.map(ts),
        })
    }
}

/// A token scope as the `kind`, `role` and `device_id` columns.
pub(crate) fn scope_columns(
    scope: &TokenScope,
) -> (&'static str, Option<&'static str>, Option<String>) {
    match scope {
        TokenScope::User { role } => ("user", Some(role.as_str()), None),
        TokenScope::Device { device_id } => ("device", None, Some(device_id.to_string())),
    }
}

/// One `devices` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeviceRow {
    pub device_id: String,
    pub fleet: Option<String>,
    pub site: Option<String>,
    pub hardware: Option<String>,
    pub software_version: Option<String>,
    pub agent_version: Option<String>,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
}

impl DeviceRow {
    pub(crate) fn device(self) -> Result<Device> {
        Ok(Device {
            device_id: device("devices.device_id", self.device_id)?,
            identity: DeviceIdentity {
                fleet: self.fleet,
                site: self.site,
                hardware: self.hardware,
                software_version: self.software_version,
                agent_version: self.agent_version,
            },
            first_seen_at: ts(self.first_seen_at),
            last_seen_at: ts(self.last_seen_at),
        })
    }
}

/// One `deploys` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeployRow {
    pub id: String,
    pub service: String,
    pub version: String,
    pub environment: String,
    pub commit_sha: Option<String>,
    pub actor: Option<String>,
    pub at: i64,
    pub recorded_at: i64,
}

impl DeployRow {
    pub(crate) fn deploy(self) -> Result<Deploy> {
        Ok(Deploy {
            id: parse::<DeployId>("deploys.id", &self.id)?,
            service: self.service,
            version: self.version,
            environment: self.environment,
            commit: self.commit_sha,
            actor: self.actor,
            at: ts(self.at),
            recorded_at: ts(self.recorded_at),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CheckRow {
    pub deploy_id: String,
    pub verdict: String,
    pub summary: String,
    pub evidence: String,
    pub incident_id: Option<String>,
    pub window_end: i64,
    pub decided_at: i64,
}

impl CheckRow {
    pub(crate) fn check(self) -> Result<crate::StoredCheck> {
        Ok(crate::StoredCheck {
            deploy_id: parse::<DeployId>("deploy_checks.deploy_id", &self.deploy_id)?,
            verdict: self.verdict,
            summary: self.summary,
            evidence: serde_json::from_str(&self.evidence)
                .map_err(|e| Error::corrupt("deploy_checks.evidence", e))?,
            incident_id: self
                .incident_id
                .as_deref()
                .map(|i| parse::<IncidentId>("deploy_checks.incident_id", i))
                .transpose()?,
            window_end: ts(self.window_end),
            decided_at: ts(self.decided_at),
        })
    }
}

/// Severities at or above `min`, as SQL string literals (they come from an
/// enum, never from input, so inlining them is safe).
pub(crate) fn severity_in_list(min: Severity) -> String {
    quoted(
        Severity::ALL
            .iter()
            .filter(|s| **s >= min)
            .map(|s| s.as_str()),
    )
}

/// Statuses as SQL string literals (from an enum, never from input).
pub(crate) fn status_in_list(statuses: &[IncidentStatus]) -> String {
    quoted(statuses.iter().map(|s| s.as_str()))
}

fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A `LIKE … ESCAPE '\'` pattern matching `text` anywhere, with `%`, `_`
/// and `\` in `text` taken literally.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Whether the text index can answer a search for `text`: trigrams need
/// three characters (shorter texts are tested on every row).
pub(crate) fn text_is_indexable(text: &str) -> bool {
    text.chars().nth(2).is_some()
}

/// `text` as one FTS5 phrase: every character literal, `"` doubled. With the
/// trigram tokenizer it matches the rows that contain `text` (case folded).
pub(crate) fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The JSON stored for a trigger.
pub(crate) fn trigger_json(trigger: &Trigger) -> Result<String> {
    serde_json::to_string(trigger).map_err(|e| Error::corrupt("trigger_json", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
        assert_eq!(fts_phrase(r#"say "hi" 100%"#), r#""say ""hi"" 100%""#);
        assert!(!text_is_indexable("éé") && text_is_indexable("ééé"));
        assert_eq!(severity_in_list(Severity::High), "'high', 'critical'");
    }

    #[test]
    fn every_change_round_trips_through_its_columns() {
        let changes = [
            Change::Opened {
                bundle_id: BundleId::new_v7(),
                triggered_at: ts(5),
                reopened_from: Some(IncidentId::new_v7()),
                reason: Some("again".into()),
            },
            Change::Occurrence {
                bundle_id: BundleId::new_v7(),
                triggered_at: ts(6),
            },
            Change::Transition {
                from: IncidentStatus::Open,
                to: IncidentStatus::Resolved,
                reason: None,
            },
            Change::Note { text: "n".into() },
            Change::Deploy {
                deploy_id: DeployId::new_v7(),
                service: "s".into(),
                version: "v".into(),
            },
        ];
        for change in changes {
            let c = EntryColumns::of(&change);
            let row = TimelineRow {
                seq: 3,
                at: 9,
                actor: "a".into(),
                kind: c.kind.into(),
                bundle_id: c.bundle_id,
                triggered_at: c.triggered_at,
                from_status: c.from_status.map(Into::into),
                to_status: c.to_status.map(Into::into),
                text: c.text,
                ref_id: c.ref_id,
                service: c.service,
                version: c.version,
            };
            assert_eq!(row.entry().unwrap().change, change);
        }
    }
}
