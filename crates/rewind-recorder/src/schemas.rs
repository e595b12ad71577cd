//! The built-in channels of the seed (`/dam/...`) and their JSON Schemas,
//! stored in each file's schema records (encoding `jsonschema`; messages are
//! `json`). The schema documents live in `src/schemas/*.schema.json`.

use crate::{Error, Result};

/// Topic of the per-cycle summary, the channel cycles are counted on.
pub const CYCLE_TOPIC: &str = "/dam/cycle";
/// Topic of the per-cycle sensor observation.
pub const OBS_TOPIC: &str = "/dam/obs";
/// Topic of the proposed and validated action.
pub const ACTION_TOPIC: &str = "/dam/action";
/// Topic of the runtime context transitions.
pub const CONTEXT_EVENTS_TOPIC: &str = "/dam/context_events";
/// Topic of the per-layer latency aggregates.
pub const LATENCY_TOPIC: &str = "/dam/latency";
/// Prefix of the camera topics: `/dam/images/{camera}`.
pub const IMAGES_TOPIC_PREFIX: &str = "/dam/images/";
/// Guard layers: `/dam/L0` (perception) … `/dam/L3` (hardware).
pub const GUARD_LAYERS: u8 = 4;

/// Schema encoding of every channel this crate writes.
pub const SCHEMA_ENCODING: &str = "jsonschema";
/// Message encoding of every channel this crate writes.
pub const MESSAGE_ENCODING: &str = "json";

const CYCLE: &str = include_str!("schemas/cycle.schema.json");
const OBS: &str = include_str!("schemas/obs.schema.json");
const ACTION: &str = include_str!("schemas/action.schema.json");
const GUARD: &str = include_str!("schemas/guard.schema.json");
const CONTEXT_EVENT: &str = include_str!("schemas/context_event.schema.json");
const IMAGE: &str = include_str!("schemas/image.schema.json");
const LATENCY: &str = include_str!("schemas/latency.schema.json");

/// One of the seed's channels. [`ChannelSpec::builtin`](crate::ChannelSpec::builtin)
/// turns it into a registrable channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin<'a> {
    /// `/dam/cycle`: written every cycle; its `has_violation` and
    /// `has_clamp` open the image window.
    Cycle,
    /// `/dam/obs`: joint state, end-effector pose, force/torque.
    Obs,
    /// `/dam/action`: the proposed and the validated command.
    Action,
    /// `/dam/L{n}`: the guard results of layer `n` (0 to 3).
    Guard(u8),
    /// `/dam/context_events`: context transitions (sparse).
    ContextEvents,
    /// `/dam/images/{camera}`: JPEG frames, held in the image ring and
    /// written only around violations.
    Image(&'a str),
    /// `/dam/latency`: per-layer latency.
    Latency,
}

impl Builtin<'_> {
    /// The channel's topic.
    ///
    /// # Errors
    /// [`Error::InvalidBuiltin`] for a guard layer above 3 or a camera name
    /// that is not 1 to 64 ASCII letters, digits, `_` or `-`.
    pub fn topic(&self) -> Result<String> {
        Ok(match *self {
            Self::Cycle => CYCLE_TOPIC.to_owned(),
            Self::Obs => OBS_TOPIC.to_owned(),
            Self::Action => ACTION_TOPIC.to_owned(),
            Self::Guard(layer) if layer < GUARD_LAYERS => format!("/dam/L{layer}"),
            Self::Guard(layer) => {
                return Err(Error::InvalidBuiltin {
                    problem: format!("guard layer {layer}: layers are 0 to 3"),
                });
            }
            Self::ContextEvents => CONTEXT_EVENTS_TOPIC.to_owned(),
            Self::Image(camera) if valid_camera(camera) => {
                format!("{IMAGES_TOPIC_PREFIX}{camera}")
            }
            Self::Image(camera) => {
                return Err(Error::InvalidBuiltin {
                    problem: format!(
                        "camera `{camera}`: use 1 to 64 ASCII letters, digits, `_` or `-`"
                    ),
                });
            }
            Self::Latency => LATENCY_TOPIC.to_owned(),
        })
    }

    /// The schema record's name (`rewind.dam.Cycle`, …).
    pub fn schema_name(&self) -> &'static str {
        match self {
            Self::Cycle => "rewind.dam.Cycle",
            Self::Obs => "rewind.dam.Obs",
            Self::Action => "rewind.dam.Action",
            Self::Guard(_) => "rewind.dam.GuardResult",
            Self::ContextEvents => "rewind.dam.ContextEvent",
            Self::Image(_) => "rewind.dam.Image",
            Self::Latency => "rewind.dam.Latency",
        }
    }

    /// The JSON Schema document.
    pub fn schema(&self) -> &'static str {
        match self {
            Self::Cycle => CYCLE,
            Self::Obs => OBS,
            Self::Action => ACTION,
            Self::Guard(_) => GUARD,
            Self::ContextEvents => CONTEXT_EVENT,
            Self::Image(_) => IMAGE,
            Self::Latency => LATENCY,
        }
    }
}

fn valid_camera(camera: &str) -> bool {
    (1..=64).contains(&camera.len())
        && camera
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_schema_is_a_json_object_named_like_its_record() {
        let all = [
            Builtin::Cycle,
            Builtin::Obs,
            Builtin::Action,
            Builtin::Guard(0),
            Builtin::ContextEvents,
            Builtin::Image("top"),
            Builtin::Latency,
        ];
        for b in all {
            let v: serde_json::Value = serde_json::from_str(b.schema()).unwrap();
            assert_eq!(v["title"], b.schema_name(), "{b:?}");
            assert_eq!(v["type"], "object");
        }
    }

    #[test]
    fn topics_follow_the_seed() {
        assert_eq!(Builtin::Guard(3).topic().unwrap(), "/dam/L3");
        assert_eq!(
            Builtin::Image("wrist").topic().unwrap(),
            "/dam/images/wrist"
        );
        assert!(Builtin::Guard(4).topic().is_err());
        assert!(Builtin::Image("a/b").topic().is_err());
        assert!(Builtin::Image("").topic().is_err());
    }
}
