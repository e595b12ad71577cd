//! Identifiers, as newtypes so they cannot be mixed up.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An identifier that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// A device id that is empty, too long or has characters outside `[A-Za-z0-9._-]`.
    #[error(
        "invalid device id `{0}`: use 1 to 128 characters from A-Z, a-z, 0-9, `.`, `_` and `-`"
    )]
    Device(String),
    /// A UUID that does not parse.
    #[error("invalid id `{0}`: expected a UUID such as 0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f")]
    Uuid(String),
}

/// Names one machine (robot, host, pod) that runs an agent.
///
/// Restricted to `[A-Za-z0-9._-]{1,128}` because it appears in file names,
/// URLs and SQL, and arrives from the network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceId(String);

impl DeviceId {
    /// Validates and wraps a device id.
    ///
    /// # Errors
    /// [`IdError::Device`] when the id is empty, longer than 128 bytes, or uses
    /// other characters than ASCII letters, digits, `.`, `_` and `-`.
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(id))
        } else {
            Err(IdError::Device(id))
        }
    }

    /// A device id derived from a host name, replacing characters that are not allowed.
    #[must_use]
    pub fn from_hostname(host: &str) -> Self {
        let cleaned: String = host
            .trim()
            .chars()
            .take(128)
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if cleaned.is_empty() {
            Self("unknown-host".into())
        } else {
            Self(cleaned)
        }
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DeviceId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<DeviceId> for String {
    fn from(id: DeviceId) -> Self {
        id.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) id.
            #[must_use]
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID.
            #[must_use]
            pub const fn from_uuid(u: Uuid) -> Self {
                Self(u)
            }

            /// The underlying UUID.
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| IdError::Uuid(s.to_owned()))
            }
        }
    };
}

uuid_id!(
    /// Names one incident held by the server.
    IncidentId
);
uuid_id!(
    /// Names one bundle, chosen by the agent that wrote it.
    BundleId
);
uuid_id!(
    /// Names one deploy event.
    DeployId
);
uuid_id!(
    /// Names one API token (not the secret: the secret is never stored).
    TokenId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_are_checked() {
        assert!(DeviceId::new("robot-7.lab_a").is_ok());
        for bad in ["", "a/b", "../x", "a b", &"x".repeat(129)] {
            assert!(DeviceId::new(bad).is_err(), "{bad:?} accepted");
        }
        let err = serde_json::from_str::<DeviceId>("\"a/b\"").unwrap_err();
        assert!(err.to_string().contains("invalid device id"));
    }

    #[test]
    fn hostnames_are_cleaned_into_valid_ids() {
        assert_eq!(DeviceId::from_hostname("my host\n").as_str(), "my-host");
        assert_eq!(DeviceId::from_hostname("").as_str(), "unknown-host");
    }

    #[test]
    fn uuid_ids_parse_and_name_bad_input() {
        let id = IncidentId::new_v7();
        assert_eq!(id.to_string().parse::<IncidentId>(), Ok(id));
        assert!(
            "nope"
                .parse::<BundleId>()
                .unwrap_err()
                .to_string()
                .contains("`nope`")
        );
    }
}
