//! `rewind deploy notify`: records a deploy on the server
//! (`POST /api/v1/deploys`) and prints what the server recorded.
//! `rewind deploy analyze` (in [`mod@analyze`]) judges recorded deploys offline;
//! `rewind deploy watch` (in [`mod@watch`]) follows the server's verdict.

mod analyze;
mod watch;

use std::time::Duration;

use anyhow::Context as _;
use rewind_model::{ApiErrorBody, Deploy, NewDeploy, Timestamp};

pub(crate) use analyze::analyze;

use crate::{
    UsageError,
    cli::{DeployFields, DeployNotifyArgs, DeployWatchArgs, DeployWatchFields},
};

/// `rewind deploy watch …`.
pub(crate) async fn watch(args: DeployWatchArgs) -> anyhow::Result<()> {
    watch::check_interval(args.interval)?;
    watch::watch(args).await
}

impl DeployWatchFields {
    /// The deploy to record, when --service and --version are given.
    fn fields(&self) -> Option<DeployFields> {
        Some(DeployFields {
            service: self.service.clone()?,
            version: self.version.clone()?,
            environment: self.environment.clone(),
            commit: self.commit.clone(),
            actor: self.actor.clone(),
            at: self.at.clone(),
        })
    }
}

/// The request body the flags describe, checked as the server checks it.
fn new_deploy(args: &DeployFields) -> Result<NewDeploy, UsageError> {
    let at = args
        .at
        .as_deref()
        .map(|s| {
            Timestamp::parse_rfc3339(s.trim()).map_err(|e| {
                UsageError(format!(
                    "error: --at {s:?} is not an RFC 3339 time: {e}\n  hint: e.g. 2026-05-13T14:30:00Z, or leave it out for now"
                ))
            })
        })
        .transpose()?;
    let deploy = NewDeploy {
        service: args.service.trim().to_owned(),
        version: args.version.trim().to_owned(),
        environment: args
            .environment
            .as_deref()
            .map_or_else(|| "production".to_owned(), |e| e.trim().to_owned()),
        commit: args.commit.clone().filter(|c| !c.trim().is_empty()),
        actor: args.actor.clone().filter(|a| !a.trim().is_empty()),
        at,
    };
    deploy.validate().map_err(|e| {
        // The model names fields as `service`; here they are flags.
        let flag = ["service", "version", "environment", "commit", "actor"]
            .iter()
            .fold(e, |e, f| e.replace(&format!("`{f}`"), &format!("--{f}")));
        UsageError(format!(
            "error: {flag}\n  hint: --service and --version are required; every text is 1 to 256 bytes without control characters"
        ))
    })?;
    Ok(deploy)
}

/// Explains a refusal with the server's own message and hint.
fn refusal(status: reqwest::StatusCode, body: &[u8], server: &str) -> anyhow::Error {
    let parsed = serde_json::from_slice::<ApiErrorBody>(body).ok();
    let (message, hint) = match &parsed {
        Some(b) => (
            format!("{} ({})", b.error.message, b.error.code),
            b.error.hint.clone(),
        ),
        None => (
            String::from_utf8_lossy(&body[..body.len().min(300)])
                .trim()
                .to_owned(),
            None,
        ),
    };
    let what = match status.as_u16() {
        401 => "the server did not accept the token".to_owned(),
        403 => "the token may not record deploys".to_owned(),
        404 => format!("{server} has no deploy API; is it a Rewind server, and new enough?"),
        422 => "the server refused the deploy".to_owned(),
        429 => "the server is rate-limiting this token".to_owned(),
        _ => format!("the server answered {status}"),
    };
    let hint = hint.unwrap_or_else(|| match status.as_u16() {
        401 | 403 => "use a token with the responder role: `rewind token create --name ci-deploys --role responder`, then REWIND_TOKEN".to_owned(),
        _ => "see the server's log".to_owned(),
    });
    anyhow::anyhow!("{what}: {message}\n  hint: {hint}")
}

/// The server's API, for the deploy commands.
pub(super) struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// Checks the server URL and the token, and sets up the client.
    fn new(server: &str, token: &str) -> anyhow::Result<Self> {
        let base = server.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(UsageError(format!(
                "error: --server {base:?} is not an http(s) URL\n  hint: e.g. --server http://127.0.0.1:8420 (or REWIND_SERVER)"
            ))
            .into());
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(UsageError(
                "error: no token\n  hint: set REWIND_TOKEN (or --token) to a token from `rewind token create`".into(),
            )
            .into());
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("rewind/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Self {
            client,
            base: base.to_owned(),
            token: token.to_owned(),
        })
    }

    fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request and reads a JSON answer, explaining refusals.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> anyhow::Result<T> {
        let base = &self.base;
        let res = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| {
                format!("cannot reach the server at {base} (is it running? is --server right?)")
            })?;
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .with_context(|| format!("the server at {base} broke off its answer"))?;
        if !status.is_success() {
            return Err(refusal(status, &bytes, base));
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("unexpected answer from {url} ({status})"))
    }

    /// `POST /api/v1/deploys`.
    async fn record(&self, body: &NewDeploy) -> anyhow::Result<Deploy> {
        let url = format!("{}/api/v1/deploys", self.base);
        self.send(self.client.post(&url).json(body), &url).await
    }

    /// `GET path`.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        self.send(self.client.get(&url), &url).await
    }
}

/// `rewind deploy notify …`.
pub(crate) async fn notify(args: DeployNotifyArgs) -> anyhow::Result<()> {
    let body = new_deploy(&args.deploy)?;
    let api = Api::new(&args.server, &args.token)?;
    let deploy = api.record(&body).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&deploy)?);
    } else {
        println!("{}", describe(&deploy));
    }
    Ok(())
}

/// One line about a recorded deploy.
fn describe(d: &Deploy) -> String {
    let mut line = format!(
        "recorded deploy {}: {} {} to {} at {}",
        d.id, d.service, d.version, d.environment, d.at
    );
    if let Some(commit) = &d.commit {
        line.push_str(&format!(", commit {commit}"));
    }
    if let Some(actor) = &d.actor {
        line.push_str(&format!(", by {actor}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> DeployFields {
        DeployFields {
            service: "planner".into(),
            version: "2.1".into(),
            environment: None,
            commit: Some(String::new()),
            actor: None,
            at: None,
        }
    }

    #[test]
    fn flags_become_a_checked_deploy() {
        let d = new_deploy(&args()).unwrap();
        assert_eq!(d.environment, "production");
        assert_eq!(d.commit, None);
        let mut a = args();
        a.at = Some("yesterday".into());
        assert!(new_deploy(&a).unwrap_err().0.contains("--at"));
        let mut a = args();
        a.version = " ".into();
        assert!(new_deploy(&a).unwrap_err().0.contains("--version"));
    }

    #[test]
    fn refusals_show_the_servers_hint() {
        let body = br#"{"error":{"code":"forbidden","message":"this needs the responder role","hint":"ask an admin"}}"#;
        let e = refusal(reqwest::StatusCode::FORBIDDEN, body, "http://x").to_string();
        assert!(e.contains("may not record deploys"), "{e}");
        assert!(e.contains("hint: ask an admin"), "{e}");
        let e = refusal(reqwest::StatusCode::UNAUTHORIZED, b"", "http://x").to_string();
        assert!(e.contains("--role responder"), "{e}");
    }
}
