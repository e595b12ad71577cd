//! `rewind server`, and the settings it shares with `rewind token`.
//!
//! Every setting comes, in this order of precedence, from a flag, a
//! `REWIND_*` environment variable (clap reads both), a key of the YAML
//! `--config` file, or its default. The table in `docs/operations.md` lists
//! them all; `rewind server --print-config` prints the ones in effect.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use rewind_server::{RegressionSettings, ServerConfig, TlsFiles};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::{
    UsageError,
    cli::{ServerArgs, ServerStoreArgs},
};

/// Where `rewind server` listens when nothing says otherwise.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8420";
/// The state directory when nothing says otherwise.
pub(crate) const DEFAULT_STATE_DIR: &str = ".rewind-server";

/// The server config file: every key optional, unknown keys refused.
/// Relative paths are relative to the file's directory.
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bundle_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_json_bytes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_second: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_burst: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<RegressionFile>,
}

/// The `regression:` section: how deploys are judged, and where metrics
/// and logs come from besides the API (docs/regressions.md).
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegressionFile {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_duration"
    )]
    pub window: Option<Duration>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_duration"
    )]
    pub baseline: Option<Duration>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_duration"
    )]
    pub guard: Option<Duration>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_duration"
    )]
    pub lateness: Option<Duration>,
    /// A fraction (`0.05`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_effect: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_series: Option<usize>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_duration"
    )]
    pub min_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_files: Vec<PathBuf>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_files: Vec<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<rewind_server::PrometheusConfig>,
}

/// Optional durations as text (`5m`), through [`rewind_model::duration`].
mod opt_duration {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        rewind_model::duration::deserialize(d).map(Some)
    }

    pub(crate) fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => rewind_model::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

impl RegressionFile {
    /// The file's values over `defaults`, checked.
    fn apply(&self, mut r: RegressionSettings) -> Result<RegressionSettings, UsageError> {
        let bad = |key: &str, what: &str| {
            UsageError(format!(
                "error: regression.{key} {what}\n  hint: docs/regressions.md lists the regression settings"
            ))
        };
        r.window = self.window.unwrap_or(r.window);
        r.baseline = self.baseline.unwrap_or(r.baseline);
        r.guard = self.guard.unwrap_or(r.guard);
        r.lateness = self.lateness.unwrap_or(r.lateness);
        r.min_effect = self.min_effect.unwrap_or(r.min_effect);
        r.max_series = self.max_series.unwrap_or(r.max_series);
        r.min_interval = self.min_interval.unwrap_or(r.min_interval);
        for (key, d) in [("window", r.window), ("baseline", r.baseline)] {
            if d.is_zero() {
                return Err(bad(key, "must be longer than 0"));
            }
        }
        if !(r.min_effect.is_finite() && (0.0..10.0).contains(&r.min_effect)) {
            return Err(bad("min_effect", "must be a fraction such as 0.05"));
        }
        if r.max_series == 0 {
            return Err(bad("max_series", "must be at least 1"));
        }
        r.metric_files.clone_from(&self.metric_files);
        r.log_files.clone_from(&self.log_files);
        r.prometheus.clone_from(&self.prometheus);
        Ok(r)
    }

    /// The settings in effect, as a file section.
    fn from_settings(r: &RegressionSettings) -> Self {
        Self {
            window: Some(r.window),
            baseline: Some(r.baseline),
            guard: Some(r.guard),
            lateness: Some(r.lateness),
            min_effect: Some(r.min_effect),
            max_series: Some(r.max_series),
            min_interval: Some(r.min_interval),
            metric_files: r.metric_files.clone(),
            log_files: r.log_files.clone(),
            prometheus: r.prometheus.clone(),
        }
    }
}

impl ServerFile {
    /// Parses a config file's text; `origin` names it in errors, which carry
    /// the line and column and a hint.
    pub(crate) fn parse(yaml: &str, origin: &str) -> Result<Self, UsageError> {
        // An empty file (or only comments) means "all defaults".
        if yaml
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            return Ok(Self::default());
        }
        serde_saphyr::from_str(yaml).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            UsageError(format!(
                "{origin}{at}: error: {}\n  hint: docs/operations.md lists every setting; \
                 `rewind server --print-config` prints the ones in effect",
                saphyr_message(&e)
            ))
        })
    }

    /// Reads and parses `path`; relative paths in it become relative to its directory.
    pub(crate) fn load(path: &Path) -> Result<Self, UsageError> {
        let text = fs_err::read_to_string(path).map_err(|e| {
            UsageError(format!(
                "error: cannot read the server config file: {e}\n  hint: check --config / REWIND_CONFIG"
            ))
        })?;
        let mut file = Self::parse(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or_else(|| Path::new(""));
        let followed = file
            .regression
            .iter_mut()
            .flat_map(|r| r.metric_files.iter_mut().chain(r.log_files.iter_mut()));
        for p in [&mut file.state_dir, &mut file.tls_cert, &mut file.tls_key]
            .into_iter()
            .flatten()
            .chain(followed)
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(file)
    }
}

/// serde-saphyr's message without its own `error: line N column M:` prefix
/// (the location is given as `file:line:column` instead).
fn saphyr_message(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default().trim();
    let first = first.strip_prefix("error:").unwrap_or(first).trim_start();
    match first
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((place, message)) if place.contains("column") => message.to_owned(),
        _ => first.to_owned(),
    }
}

/// Everything `rewind server` needs, resolved and checked.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub listen: SocketAddr,
    pub insecure: bool,
    pub server: ServerConfig,
}

impl Settings {
    /// The settings as a config file (for `--print-config`).
    fn to_file(&self) -> ServerFile {
        let c = &self.server;
        ServerFile {
            listen: Some(self.listen),
            state_dir: Some(c.state_dir.clone()),
            database_url: c.database_url.clone(),
            blob_url: c.blob_url.clone(),
            max_bundle_bytes: Some(c.max_bundle_bytes),
            max_json_bytes: Some(c.max_json_bytes),
            rate_limit_per_second: Some(c.rate_limit_per_second),
            rate_limit_burst: Some(c.rate_limit_burst),
            tls_cert: c.tls.as_ref().map(|t| t.cert.clone()),
            tls_key: c.tls.as_ref().map(|t| t.key.clone()),
            insecure: Some(self.insecure),
            regression: Some(RegressionFile::from_settings(&c.regression)),
        }
    }
}

fn load_file(store: &ServerStoreArgs) -> Result<ServerFile, UsageError> {
    store
        .config
        .as_deref()
        .map_or_else(|| Ok(ServerFile::default()), ServerFile::load)
}

/// The database location `rewind server` would use: (state dir, database URL).
pub(crate) fn store_location(store: &ServerStoreArgs) -> Result<ServerConfig, UsageError> {
    let file = load_file(store)?;
    let state_dir = store
        .state_dir
        .clone()
        .or(file.state_dir)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    let mut config = ServerConfig::new(state_dir);
    config.database_url = store.database_url.clone().or(file.database_url);
    Ok(config)
}

fn positive<T: PartialEq + Default + std::fmt::Display>(
    key: &str,
    value: T,
) -> Result<T, UsageError> {
    if value == T::default() {
        Err(UsageError(format!(
            "error: {key} must be greater than 0\n  hint: leave it out for the default (docs/operations.md)"
        )))
    } else {
        Ok(value)
    }
}

/// Merges flags and environment (already in `args`, flag first) over the
/// config file over the defaults, and checks the result.
pub(crate) fn resolve(args: &ServerArgs) -> Result<Settings, UsageError> {
    let file = load_file(&args.store)?;
    resolve_with(args, file)
}

fn resolve_with(args: &ServerArgs, file: ServerFile) -> Result<Settings, UsageError> {
    let defaults = ServerConfig::new(PathBuf::from(DEFAULT_STATE_DIR));
    let listen = match args.listen.or(file.listen) {
        Some(addr) => addr,
        None => DEFAULT_LISTEN
            .parse()
            .map_err(|e| UsageError(format!("error: bad built-in listen address: {e}")))?,
    };
    let mut server = ServerConfig::new(
        args.store
            .state_dir
            .clone()
            .or(file.state_dir)
            .unwrap_or(defaults.state_dir),
    );
    server.database_url = args.store.database_url.clone().or(file.database_url);
    server.blob_url = args.blob_url.clone().or(file.blob_url);
    server.max_bundle_bytes = positive(
        "max_bundle_bytes",
        args.max_bundle_bytes
            .or(file.max_bundle_bytes)
            .unwrap_or(defaults.max_bundle_bytes),
    )?;
    server.max_json_bytes = positive(
        "max_json_bytes",
        args.max_json_bytes
            .or(file.max_json_bytes)
            .unwrap_or(defaults.max_json_bytes),
    )?;
    server.rate_limit_per_second = positive(
        "rate_limit_per_second",
        args.rate_limit_per_second
            .or(file.rate_limit_per_second)
            .unwrap_or(defaults.rate_limit_per_second),
    )?;
    server.rate_limit_burst = positive(
        "rate_limit_burst",
        args.rate_limit_burst
            .or(file.rate_limit_burst)
            .unwrap_or(defaults.rate_limit_burst),
    )?;
    let cert = args.tls_cert.clone().or(file.tls_cert);
    let key = args.tls_key.clone().or(file.tls_key);
    server.tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(UsageError(
                "error: tls_cert is set but tls_key is not\n  hint: give both --tls-cert and --tls-key (or REWIND_TLS_KEY, or tls_key in the config file)".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(UsageError(
                "error: tls_key is set but tls_cert is not\n  hint: give both --tls-cert and --tls-key (or REWIND_TLS_CERT, or tls_cert in the config file)".into(),
            ));
        }
    };
    if let Some(r) = &file.regression {
        server.regression = r.apply(server.regression)?;
    }
    if let Some(p) = &server.regression.prometheus {
        p.validate().map_err(|errors| {
            UsageError(format!(
                "error: {}\n  hint: docs/regressions.md shows a working example",
                errors
                    .iter()
                    .map(|e| format!("regression.{e}"))
                    .collect::<Vec<_>>()
                    .join("\nerror: ")
            ))
        })?;
    }
    let insecure = args.insecure.or(file.insecure).unwrap_or(false);
    rewind_server::tls::check_listen(listen, server.tls.is_some(), insecure)
        .map_err(|e| UsageError(format!("error: {e}")))?;
    Ok(Settings {
        listen,
        insecure,
        server,
    })
}

/// Checks the settings, binds, prints the URL on stdout, and serves until
/// SIGINT/SIGTERM.
pub(crate) async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let settings = resolve(&args)?;
    if args.print_config {
        let yaml = serde_saphyr::to_string(&settings.to_file())
            .context("cannot print the settings as YAML")?;
        print!("{yaml}");
        return Ok(());
    }
    let listener = TcpListener::bind(settings.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (is another server running? choose another with --listen)",
            settings.listen
        )
    })?;
    let addr = listener.local_addr()?;
    let scheme = if settings.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    if settings.insecure && settings.server.tls.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "serving plain HTTP off loopback (--insecure): tokens cross the network in clear text"
        );
    }
    rewind_server::launch(settings.server, listener, super::shutdown::signal(), || {
        println!("rewind server listening on {scheme}://{addr}");
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(yaml: &str) -> ServerFile {
        ServerFile::parse(yaml, "server.yaml").unwrap()
    }

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let f = file(
            "listen: 127.0.0.1:9000\nstate_dir: /srv/rewind\nmax_json_bytes: 2048\nrate_limit_burst: 7\n",
        );
        let args = ServerArgs {
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            max_json_bytes: Some(4096),
            ..ServerArgs::default()
        };
        let s = resolve_with(&args, f).unwrap();
        assert_eq!(s.listen.port(), 9100, "flag over file");
        assert_eq!(s.server.max_json_bytes, 4096, "flag over file");
        assert_eq!(
            s.server.state_dir,
            PathBuf::from("/srv/rewind"),
            "file over default"
        );
        assert_eq!(s.server.rate_limit_burst, 7, "file over default");
        assert_eq!(s.server.rate_limit_per_second, 50, "default");
        let s = resolve_with(&ServerArgs::default(), ServerFile::default()).unwrap();
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.server.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
        assert!(!s.insecure && s.server.tls.is_none());
    }

    #[test]
    fn clear_text_off_loopback_is_refused_with_the_way_out() {
        let args = ServerArgs {
            listen: Some("0.0.0.0:8420".parse().unwrap()),
            ..ServerArgs::default()
        };
        let err = resolve_with(&args, ServerFile::default()).unwrap_err().0;
        assert!(
            err.contains("0.0.0.0:8420")
                && err.contains("--tls-cert")
                && err.contains("--insecure"),
            "{err}"
        );
        // The file may say insecure; a flag may take it back.
        assert!(resolve_with(&args, file("insecure: true")).is_ok());
        let no = ServerArgs {
            insecure: Some(false),
            ..args.clone()
        };
        assert!(resolve_with(&no, file("insecure: true")).is_err());
        let tls = ServerArgs {
            tls_cert: Some("c.pem".into()),
            tls_key: Some("k.pem".into()),
            ..args.clone()
        };
        assert!(
            resolve_with(&tls, ServerFile::default())
                .unwrap()
                .server
                .tls
                .is_some()
        );
        let half = ServerArgs {
            tls_cert: Some("c.pem".into()),
            ..args
        };
        let err = resolve_with(&half, ServerFile::default()).unwrap_err().0;
        assert!(err.contains("tls_key"), "{err}");
    }

    #[test]
    fn bad_files_name_the_key_and_line() {
        let err = ServerFile::parse("listen: 127.0.0.1:1\nlisten_on: x\n", "s.yaml")
            .unwrap_err()
            .0;
        assert!(err.starts_with("s.yaml:2:"), "{err}");
        assert!(err.contains("listen_on"), "{err}");
        assert!(
            !err.contains("error: error") && !err.contains("line 2 column"),
            "{err}"
        );
        let err = ServerFile::parse("\nmax_bundle_bytes: lots\n", "s.yaml")
            .unwrap_err()
            .0;
        assert!(err.starts_with("s.yaml:2:"), "{err}");
        let err = ServerFile::parse("listen: nowhere\n", "s.yaml")
            .unwrap_err()
            .0;
        assert!(err.starts_with("s.yaml:1:"), "{err}");
        assert_eq!(file("# nothing yet\n"), ServerFile::default());
        let zero = resolve_with(&ServerArgs::default(), file("rate_limit_per_second: 0"))
            .unwrap_err()
            .0;
        assert!(zero.contains("rate_limit_per_second"), "{zero}");
    }

    #[test]
    fn printed_settings_read_back_as_a_config_file() {
        let s = resolve_with(&ServerArgs::default(), file("blob_url: s3://b/p\n")).unwrap();
        let yaml = serde_saphyr::to_string(&s.to_file()).unwrap();
        let back = ServerFile::parse(&yaml, "printed").unwrap();
        assert_eq!(back.blob_url.as_deref(), Some("s3://b/p"));
        assert_eq!(back.listen, Some(s.listen));
    }
}
