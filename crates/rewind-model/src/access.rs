//! Who may do what: token roles and scopes.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{DeviceId, Timestamp, TokenId};

/// What a user token may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads incidents, timelines, bundles, deploys and devices.
    Viewer,
    /// Also moves incidents along their lifecycle, writes notes, records deploys.
    Responder,
    /// Also manages tokens and devices.
    Admin,
}

impl Role {
    /// Every role, least powerful first.
    pub const ALL: [Self; 3] = [Self::Viewer, Self::Responder, Self::Admin];

    /// The lowercase name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Responder => "responder",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`: expected viewer, responder or admin"))
    }
}

/// What a token is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TokenScope {
    /// A person or a script, with a role.
    User {
        /// What it may do.
        role: Role,
    },
    /// One device's agent: may only ingest (bundles, samples, registration)
    /// for that device.
    Device {
        /// The only device it may speak for.
        device_id: DeviceId,
    },
}

/// A token as listed: everything but the secret, which is stored hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    /// The token's id.
    pub id: TokenId,
    /// A name for people (`alice`, `ci-deploys`, `robot-7`); recorded as the
    /// actor of everything the token does.
    pub name: String,
    /// What it is for.
    pub scope: TokenScope,
    /// The first characters of the secret (`rwd_ab12`), to tell tokens apart.
    pub prefix: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
}

impl TokenInfo {
    /// Whether the token may be used at `now`.
    #[must_use]
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }

    /// The name recorded on timelines for what this token does.
    #[must_use]
    pub fn actor(&self) -> String {
        match &self.scope {
            TokenScope::User { .. } => self.name.clone(),
            TokenScope::Device { device_id } => format!("device:{device_id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Admin > Role::Responder && Role::Responder > Role::Viewer);
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().unwrap_err().contains("viewer"));
    }

    #[test]
    fn expired_and_revoked_tokens_are_unusable() {
        let mut t = TokenInfo {
            id: TokenId::new_v7(),
            name: "a".into(),
            scope: TokenScope::User { role: Role::Viewer },
            prefix: "rwd_x".into(),
            created_at: Timestamp::from_unix_millis(0),
            expires_at: Some(Timestamp::from_unix_millis(10)),
            revoked_at: None,
        };
        assert!(t.is_usable(Timestamp::from_unix_millis(9)));
        assert!(!t.is_usable(Timestamp::from_unix_millis(10)));
        t.expires_at = None;
        t.revoked_at = Some(Timestamp::from_unix_millis(1));
        assert!(!t.is_usable(Timestamp::from_unix_millis(2)));
    }
}
