//! Devices and deploys: what the server knows besides incidents.

use serde::{Deserialize, Serialize};

use crate::{DeployId, DeviceId, IncidentId, Timestamp};

/// What an agent reports about its device when it registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceIdentity {
    /// The fleet it belongs to (`warehouse-bots`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<String>,
    /// Where it is (`berlin-2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Hardware model (`jetson-orin-nx-16gb`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<String>,
    /// The software release it runs (`2.14.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    /// The agent's own version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
}

/// A device as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    /// Its id.
    pub device_id: DeviceId,
    /// What it last reported.
    #[serde(flatten)]
    pub identity: DeviceIdentity,
    /// When it first registered or uploaded.
    pub first_seen_at: Timestamp,
    /// When it last registered, uploaded or streamed.
    pub last_seen_at: Timestamp,
}

/// A deploy as reported by CI or `rewind deploy notify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDeploy {
    /// The service deployed (`planner`).
    pub service: String,
    /// The version deployed (`2.14.1`, a tag or an image digest).
    pub version: String,
    /// Where (`production`, `staging`, a fleet name).
    #[serde(default = "default_environment")]
    pub environment: String,
    /// The source commit, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Who deployed (a person or a pipeline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// When the deploy happened; the server's clock when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
}

fn default_environment() -> String {
    "production".to_owned()
}

impl NewDeploy {
    /// Longest accepted text field, in bytes.
    pub const MAX_FIELD: usize = 256;

    /// Checks the fields a client sent.
    ///
    /// # Errors
    /// A message naming the field and what is wrong with it.
    pub fn validate(&self) -> Result<(), String> {
        let fields = [
            ("service", Some(&self.service)),
            ("version", Some(&self.version)),
            ("environment", Some(&self.environment)),
            ("commit", self.commit.as_ref()),
            ("actor", self.actor.as_ref()),
        ];
        for (name, value) in fields {
            let Some(v) = value else { continue };
            if v.trim().is_empty() {
                return Err(format!("`{name}` is empty"));
            }
            if v.len() > Self::MAX_FIELD {
                return Err(format!(
                    "`{name}` is {} bytes; the limit is {}",
                    v.len(),
                    Self::MAX_FIELD
                ));
            }
            if v.chars().any(char::is_control) {
                return Err(format!("`{name}` contains control characters"));
            }
        }
        Ok(())
    }
}

/// A stored deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deploy {
    /// Its id.
    pub id: DeployId,
    /// The service deployed.
    pub service: String,
    /// The version deployed.
    pub version: String,
    /// Where.
    pub environment: String,
    /// The source commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Who deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// When it happened.
    pub at: Timestamp,
    /// When the server recorded it.
    pub recorded_at: Timestamp,
}

/// Where the server's regression watch is with one deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Its window is still open; the verdict so far is partial.
    Watching,
    /// The window has passed and the verdict is final.
    Decided,
    /// This server did not watch it: recorded before the server started,
    /// or long ago, or after a restart lost the window's samples.
    NotWatched,
}

/// A deploy's regression check: the answer to "did this deploy make things
/// worse?" (`GET /api/v1/deploys/{id}/check`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployCheck {
    /// The deploy.
    pub deploy: Deploy,
    /// Watching, decided, or not watched.
    pub state: CheckState,
    /// `regression`, `no_regression` or `inconclusive` (partial while
    /// watching); absent when not watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// The verdict in plain words: which metric, by how much, since when,
    /// which new error signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// When the window ends (or ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<Timestamp>,
    /// The incident a regression opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<IncidentId>,
    /// When the final verdict was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// The evidence: the verdict per metric (baseline, effect, p-value,
    /// confidence, minimum detectable effect, change point) and the log
    /// signatures that are new or more frequent, as `rewind deploy analyze
    /// --json` prints them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub evidence: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploys_are_checked_field_by_field() {
        let mut d: NewDeploy =
            serde_json::from_str(r#"{"service":"planner","version":"2.1"}"#).unwrap();
        assert_eq!(d.environment, "production");
        assert!(d.validate().is_ok());
        d.version = " ".into();
        assert!(d.validate().unwrap_err().contains("`version`"));
        d.version = "x".repeat(300);
        assert!(d.validate().unwrap_err().contains("limit"));
        let unknown =
            serde_json::from_str::<NewDeploy>(r#"{"service":"a","version":"1","sha":"x"}"#);
        assert!(unknown.is_err());
    }
}
