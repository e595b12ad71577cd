//! `rewind deploy watch`: follows one deploy's regression check on the
//! server until its verdict is final, and prints it with its evidence.
//!
//! Given `--service` and `--version` it records the deploy first (as
//! `rewind deploy notify` does), so one CI step both announces a deploy and
//! waits for the answer. Exit codes: 0 no regression (or inconclusive, or
//! not watched), 1 regression, 2 bad arguments.

use std::{fmt::Write as _, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};
use rewind_detect::{
    logsig::SignatureReport,
    regression::{DeployVerdict, MetricVerdict},
};
use rewind_model::{CheckState, DeployCheck, Timestamp};
use serde::Deserialize;

use super::{Api, analyze::render_evidence};
use crate::{UsageError, cli::DeployWatchArgs};

/// The evidence a check carries, as the server writes it.
#[derive(Debug, Default, Deserialize)]
struct Evidence {
    #[serde(default)]
    verdict: Option<DeployVerdict>,
    #[serde(default)]
    log_signatures: Option<SignatureReport>,
}

/// `rewind deploy watch …`.
pub(crate) async fn watch(args: DeployWatchArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.server, &args.token)?;
    let id = match (&args.deploy, args.notify.fields()) {
        (Some(id), None) => id.trim().to_owned(),
        (None, Some(fields)) => {
            let deploy = api.record(&super::new_deploy(&fields)?).await?;
            if !args.json {
                println!("{}", super::describe(&deploy));
            }
            deploy.id.to_string()
        }
        _ => {
            return Err(UsageError(
                "error: give a deploy id, or --service and --version to record one and watch it\n  hint: rewind deploy watch 0192…  or  rewind deploy watch --service checkout --version 1.4.3".into(),
            )
            .into());
        }
    };
    let check = follow(&api, &id, &args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&check)?);
    } else {
        print!("{}", render(&check, api.base()));
    }
    if check.verdict.as_deref() == Some("regression") {
        anyhow::bail!(
            "deploy {} of {} {} regressed (exit code 1)",
            check.deploy.id,
            check.deploy.service,
            check.deploy.version
        );
    }
    Ok(())
}

/// Polls the check until it is no longer `watching` (or `--no-wait`).
async fn follow(api: &Api, id: &str, args: &DeployWatchArgs) -> anyhow::Result<DeployCheck> {
    let path = format!("/api/v1/deploys/{id}/check");
    let bar = (!args.json).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let mut last_summary = None;
    loop {
        let check: DeployCheck = api.get_json(&path).await?;
        if check.state != CheckState::Watching || args.no_wait {
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            return Ok(check);
        }
        if let Some(bar) = &bar {
            let left = check.window_end.map_or(0, |end| {
                end.nanos_since(Timestamp::now()).max(0) / 1_000_000_000
            });
            let so_far = check
                .verdict
                .as_deref()
                .map_or("no verdict yet", |v| match v {
                    "regression" => "REGRESSION so far",
                    "no_regression" => "no regression so far",
                    _ => "inconclusive so far",
                });
            bar.set_message(format!(
                "watching deploy {} of {}: {so_far}; window ends in {}m {:02}s",
                check.deploy.id,
                check.deploy.service,
                left / 60,
                left % 60
            ));
            if check.summary != last_summary {
                if let Some(s) = &check.summary {
                    bar.println(format!("[{}] {s}", Timestamp::now()));
                }
                last_summary.clone_from(&check.summary);
            }
        }
        tokio::time::sleep(args.interval).await;
    }
}

/// The check in words: the verdict, the per-series table, the new log
/// signatures and the incident it opened.
fn render(check: &DeployCheck, base: &str) -> String {
    let d = &check.deploy;
    let word = match (check.state, check.verdict.as_deref()) {
        (CheckState::NotWatched, _) => "NOT WATCHED",
        (_, Some("regression")) => "REGRESSION",
        (_, Some("no_regression")) => "NO REGRESSION",
        (_, Some(_)) => "INCONCLUSIVE",
        (_, None) => "NO VERDICT YET",
    };
    let mut s = String::new();
    let partial = if check.state == CheckState::Watching {
        " (partial: the window is still open)"
    } else {
        ""
    };
    writeln!(
        s,
        "deploy {} of {} {} to {} at {}: {word}{partial}",
        d.id, d.service, d.version, d.environment, d.at
    )
    .ok();
    match (&check.summary, check.state) {
        (Some(summary), _) => writeln!(s, "  {summary}").ok(),
        (None, CheckState::NotWatched) => writeln!(
            s,
            "  The server did not watch this deploy: it was recorded before the server started, \
             long after its window, or its window passed during a restart."
        )
        .ok(),
        (None, _) => None,
    };
    let evidence: Evidence = check
        .evidence
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let metrics: Vec<MetricVerdict> = evidence.verdict.map(|v| v.metrics).unwrap_or_default();
    render_evidence(&mut s, &metrics, evidence.log_signatures.as_ref());
    if let Some(incident) = check.incident_id {
        writeln!(s, "  incident: {base}/#/incidents/{incident}").ok();
    }
    s
}

/// The flags' duration check (`--interval` of at least 1 s).
pub(crate) fn check_interval(d: Duration) -> Result<(), UsageError> {
    if d < Duration::from_secs(1) {
        return Err(UsageError(
            "error: --interval must be at least 1s\n  hint: the server's verdicts change once a second at most".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(state: CheckState, verdict: Option<&str>) -> DeployCheck {
        let at = Timestamp::from_unix_millis(1_790_000_000_000);
        DeployCheck {
            deploy: rewind_model::Deploy {
                id: rewind_model::DeployId::new_v7(),
                service: "checkout".into(),
                version: "1.4.3".into(),
                environment: "production".into(),
                commit: None,
                actor: None,
                at,
                recorded_at: at,
            },
            state,
            verdict: verdict.map(str::to_owned),
            summary: verdict.map(|_| "checkout/error_rate rose from 0.01 to 0.2.".to_owned()),
            window_end: Some(at.add_nanos(300_000_000_000)),
            incident_id: None,
            decided_at: None,
            evidence: None,
        }
    }

    #[test]
    fn checks_read_in_words() {
        let mut c = check(CheckState::Decided, Some("regression"));
        c.incident_id = Some(rewind_model::IncidentId::new_v7());
        let text = render(&c, "http://h:1");
        assert!(text.contains(": REGRESSION\n"), "{text}");
        assert!(text.contains("rose from 0.01 to 0.2"), "{text}");
        assert!(text.contains("incident: http://h:1/#/incidents/"), "{text}");
        let text = render(&check(CheckState::Watching, Some("no_regression")), "x");
        assert!(text.contains("NO REGRESSION (partial"), "{text}");
        let text = render(&check(CheckState::NotWatched, None), "x");
        assert!(
            text.contains("NOT WATCHED") && text.contains("did not watch"),
            "{text}"
        );
    }

    #[test]
    fn intervals_below_a_second_are_refused() {
        assert!(check_interval(Duration::from_millis(500)).is_err());
        assert!(check_interval(Duration::from_secs(5)).is_ok());
    }
}
