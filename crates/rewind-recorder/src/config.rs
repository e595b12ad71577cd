//! The recorder's settings: the seed's `loopback:` keys, parsed from YAML or
//! JSON into a raw shape and then checked into a [`RecorderConfig`].
//!
//! ```yaml
//! output_dir: /data/robot/sessions   # required
//! window_sec: 10.0                   # images kept around an event, pre + post
//! pre_event_sec: 10.0                # of which before the event
//! rotate_mb: 500.0                   # start a new file past this size
//! rotate_minutes: 60.0               # or past this span of message time
//! max_queue_depth: 256               # records queued before dropping
//! capture_images_on_clamp: false     # clamps open an image window too
//! # Rewind additions:
//! flush_sec: 1.0                     # close the chunk at least this often
//! image_ring_mb: 256.0               # memory cap of the image ring
//! ```
//!
//! `backend: mcap` is accepted for compatibility with the seed's files; any
//! other backend is refused. Unknown keys are refused.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Default of `max_queue_depth`.
pub const DEFAULT_QUEUE_DEPTH: usize = 256;

/// The recorder's checked settings. Build one with [`RecorderConfig::new`]
/// (and set fields), or parse one with [`RecorderConfig::from_yaml`] or
/// [`RecorderConfig::from_json`]; [`Recorder::start`](crate::Recorder::start)
/// validates it again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecorderConfig {
    /// Directory for the session files (created if missing).
    pub output_dir: PathBuf,
    /// Seconds of heavy-channel data (images) kept around an event, in
    /// total: `[t - pre_event_sec, t - pre_event_sec + window_sec]`.
    pub window_sec: f64,
    /// Seconds of that window before the event; at most `window_sec`.
    pub pre_event_sec: f64,
    /// Start a new file once the current one passes this many megabytes
    /// (10^6 bytes).
    pub rotate_mb: f64,
    /// Start a new file once the current one spans this many minutes of
    /// message time.
    pub rotate_minutes: f64,
    /// Records queued between `record()` and the writer thread; past it,
    /// records are dropped and counted.
    pub max_queue_depth: usize,
    /// Clamps open an image window like violations do.
    pub capture_images_on_clamp: bool,
    /// The writer closes its chunk and hands it to the kernel at least this
    /// often, bounding what a killed process loses (Rewind addition).
    pub flush_sec: f64,
    /// Memory cap of the image ring in megabytes; the oldest frames go first
    /// (Rewind addition).
    pub image_ring_mb: f64,
}

impl RecorderConfig {
    /// The seed's defaults, writing into `output_dir`.
    pub fn new(output_dir: impl Into<PathBuf>) -> Self {
        Self {
            output_dir: output_dir.into(),
            window_sec: 10.0,
            pre_event_sec: 10.0,
            rotate_mb: 500.0,
            rotate_minutes: 60.0,
            max_queue_depth: DEFAULT_QUEUE_DEPTH,
            capture_images_on_clamp: false,
            flush_sec: 1.0,
            image_ring_mb: 256.0,
        }
    }

    /// Parses and validates the YAML form (the keys at the top level).
    ///
    /// # Errors
    /// [`Error::ConfigParse`] naming the line and the key, or
    /// [`Error::Config`] naming the key whose value is out of range.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let raw: RawConfig = serde_saphyr::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!("line {}, column {}: ", l.line(), l.column()))
                .unwrap_or_default();
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default().trim();
            Error::ConfigParse {
                message: format!("{at}{first}"),
            }
        })?;
        raw.build()
    }

    /// Parses and validates the JSON form.
    ///
    /// # Errors
    /// As [`RecorderConfig::from_yaml`].
    pub fn from_json(text: &str) -> Result<Self> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| Error::ConfigParse {
            message: e.to_string(),
        })?;
        raw.build()
    }

    /// Checks every value; the error names the first key that is wrong.
    ///
    /// # Errors
    /// [`Error::Config`].
    pub fn validate(&self) -> Result<()> {
        if self.output_dir.as_os_str().is_empty() {
            return Err(Error::config("output_dir", "\"\"", "must not be empty"));
        }
        positive("window_sec", self.window_sec, 86_400.0)?;
        if !(self.pre_event_sec.is_finite() && self.pre_event_sec >= 0.0) {
            return Err(Error::config(
                "pre_event_sec",
                self.pre_event_sec,
                "must be 0 or more",
            ));
        }
        if self.pre_event_sec > self.window_sec {
            return Err(Error::config(
                "pre_event_sec",
                self.pre_event_sec,
                format!(
                    "must not exceed window_sec ({}): the window is pre + post",
                    self.window_sec
                ),
            ));
        }
        if !(self.rotate_mb.is_finite() && (0.01..=1_000_000.0).contains(&self.rotate_mb)) {
            return Err(Error::config(
                "rotate_mb",
                self.rotate_mb,
                "must be between 0.01 and 1000000",
            ));
        }
        positive("rotate_minutes", self.rotate_minutes, 7.0 * 24.0 * 60.0)?;
        if !(1..=1 << 20).contains(&self.max_queue_depth) {
            return Err(Error::config(
                "max_queue_depth",
                self.max_queue_depth,
                "must be between 1 and 1048576",
            ));
        }
        positive("flush_sec", self.flush_sec, 3600.0)?;
        positive("image_ring_mb", self.image_ring_mb, 1_000_000.0)?;
        Ok(())
    }

    /// Heavy-channel history kept before an event.
    pub fn pre_event(&self) -> Duration {
        secs(self.pre_event_sec)
    }

    /// Heavy-channel time kept after an event: `window_sec - pre_event_sec`.
    pub fn post_event(&self) -> Duration {
        secs((self.window_sec - self.pre_event_sec).max(0.0))
    }

    /// The size past which a file is rotated, in bytes.
    pub fn rotate_bytes(&self) -> u64 {
        // In range after `validate`: at most 10^12.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bytes = (self.rotate_mb * 1e6) as u64;
        bytes
    }

    /// The span of message time past which a file is rotated.
    pub fn rotate_after(&self) -> Duration {
        secs(self.rotate_minutes * 60.0)
    }

    /// The longest time between chunk flushes.
    pub fn flush_every(&self) -> Duration {
        secs(self.flush_sec)
    }

    /// The image ring's memory cap in bytes.
    pub fn image_ring_bytes(&self) -> usize {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bytes = (self.image_ring_mb * 1e6) as usize;
        bytes
    }
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}

fn positive(key: &'static str, value: f64, max: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 && value <= max {
        Ok(())
    } else {
        Err(Error::config(
            key,
            value,
            format!("must be greater than 0 and at most {max}"),
        ))
    }
}

/// The file as written: every key optional but `output_dir`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    backend: Option<String>,
    #[serde(default)]
    output_dir: Option<PathBuf>,
    #[serde(default)]
    window_sec: Option<f64>,
    #[serde(default)]
    pre_event_sec: Option<f64>,
    #[serde(default)]
    rotate_mb: Option<f64>,
    #[serde(default)]
    rotate_minutes: Option<f64>,
    #[serde(default)]
    max_queue_depth: Option<usize>,
    #[serde(default)]
    capture_images_on_clamp: Option<bool>,
    #[serde(default)]
    flush_sec: Option<f64>,
    #[serde(default)]
    image_ring_mb: Option<f64>,
}

impl RawConfig {
    fn build(self) -> Result<RecorderConfig> {
        if let Some(backend) = self.backend
            && backend != "mcap"
        {
            return Err(Error::config(
                "backend",
                backend,
                "is not supported: Rewind records MCAP only (`backend: mcap`)",
            ));
        }
        let Some(output_dir) = self.output_dir else {
            return Err(Error::config(
                "output_dir",
                "nothing",
                "is required: the directory for the session files",
            ));
        };
        let d = RecorderConfig::new(output_dir);
        let config = RecorderConfig {
            window_sec: self.window_sec.unwrap_or(d.window_sec),
            pre_event_sec: self.pre_event_sec.unwrap_or(d.pre_event_sec),
            rotate_mb: self.rotate_mb.unwrap_or(d.rotate_mb),
            rotate_minutes: self.rotate_minutes.unwrap_or(d.rotate_minutes),
            max_queue_depth: self.max_queue_depth.unwrap_or(d.max_queue_depth),
            capture_images_on_clamp: self
                .capture_images_on_clamp
                .unwrap_or(d.capture_images_on_clamp),
            flush_sec: self.flush_sec.unwrap_or(d.flush_sec),
            image_ring_mb: self.image_ring_mb.unwrap_or(d.image_ring_mb),
            output_dir: d.output_dir,
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(e: &Error) -> &'static str {
        match e {
            Error::Config { key, .. } => key,
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn the_seeds_block_parses_with_its_defaults() {
        let yaml = "backend: mcap\noutput_dir: /data/robot/sessions\nwindow_sec: 10.0\n\
                    pre_event_sec: 10.0\nrotate_mb: 500.0\nrotate_minutes: 60.0\n\
                    max_queue_depth: 256\ncapture_images_on_clamp: false\n";
        let c = RecorderConfig::from_yaml(yaml).unwrap();
        assert_eq!(c, RecorderConfig::new("/data/robot/sessions"));
        assert_eq!(c.post_event(), Duration::ZERO);
        assert_eq!(c.rotate_bytes(), 500_000_000);
        assert_eq!(c.rotate_after(), Duration::from_secs(3600));
    }

    #[test]
    fn json_parses_too() {
        let c = RecorderConfig::from_json(
            r#"{"output_dir": "s", "window_sec": 20, "pre_event_sec": 5, "capture_images_on_clamp": true}"#,
        )
        .unwrap();
        assert_eq!(c.post_event(), Duration::from_secs(15));
        assert!(c.capture_images_on_clamp);
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let e = RecorderConfig::from_yaml("output_dir: x\nwindow_secs: 3\n").unwrap_err();
        assert!(e.to_string().contains("window_secs"), "{e}");
        let e = RecorderConfig::from_json(r#"{"output_dir": "x", "rotate_gb": 1}"#).unwrap_err();
        assert!(e.to_string().contains("rotate_gb"), "{e}");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let e = RecorderConfig::from_json(r#"{"output_dir": "x", "max_queue_depth": "lots"}"#)
            .unwrap_err();
        assert!(matches!(e, Error::ConfigParse { .. }), "{e}");
        assert!(e.to_string().contains("lots"), "{e}");
    }

    #[test]
    fn out_of_range_values_name_the_key() {
        let cases = [
            ("window_sec: 0", "window_sec"),
            ("window_sec: -3", "window_sec"),
            ("window_sec: .nan", "window_sec"),
            ("pre_event_sec: -1", "pre_event_sec"),
            ("window_sec: 5\npre_event_sec: 6", "pre_event_sec"),
            ("rotate_mb: 0", "rotate_mb"),
            ("rotate_minutes: 0", "rotate_minutes"),
            ("max_queue_depth: 0", "max_queue_depth"),
            ("flush_sec: 0", "flush_sec"),
            ("image_ring_mb: -1", "image_ring_mb"),
            ("backend: pickle", "backend"),
        ];
        for (line, key) in cases {
            let e = RecorderConfig::from_yaml(&format!("output_dir: x\n{line}\n")).unwrap_err();
            assert_eq!(key_of(&e), key, "{line}: {e}");
            assert!(e.to_string().contains(&format!("`{key}`")), "{e}");
        }
    }

    #[test]
    fn output_dir_is_required() {
        let e = RecorderConfig::from_yaml("window_sec: 3\n").unwrap_err();
        assert_eq!(key_of(&e), "output_dir");
    }
}
