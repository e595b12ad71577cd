//! `rewind token create|list|revoke`: API tokens, straight in the server's
//! database (found exactly as `rewind server` finds it), so the first admin
//! token can be made before any token exists, and a lost one revoked while
//! the server is down. Secrets are made by `rewind_server::auth::mint_token`,
//! the same code the API uses.

use std::sync::Arc;

use anyhow::Context as _;
use rewind_model::{DeviceId, Timestamp, TokenId, TokenInfo, TokenScope};
use rewind_server::auth;
use rewind_store::Store;

use super::server::store_location;
use crate::{
    UsageError,
    cli::{ServerStoreArgs, TokenCommand, TokenCreateArgs},
};

/// Runs one `rewind token` command.
pub(crate) async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => create(args).await,
        TokenCommand::List { store, json } => list(&store, json).await,
        TokenCommand::Revoke { id, store } => revoke(&id, &store).await,
    }
}

/// Opens the server's database. `create` may create it (the first token
/// comes before the first server start); `list` and `revoke` refuse a state
/// directory with no database, which is almost always a wrong --state-dir.
async fn open(store: &ServerStoreArgs, may_create: bool) -> anyhow::Result<Arc<dyn Store>> {
    let config = store_location(store)?;
    if config.database_url.is_none() {
        let db = config.state_dir.join("rewind.db");
        if may_create {
            fs_err::create_dir_all(&config.state_dir)
                .context("cannot create the server's state directory")?;
        } else if !db.is_file() {
            return Err(UsageError(format!(
                "error: there is no server database at {}\n  hint: give the server's --state-dir \
                 (or --database-url, or --config) as you give it to `rewind server`",
                db.display()
            ))
            .into());
        }
    }
    let url = config.database_url();
    rewind_store::open(&url)
        .await
        .with_context(|| format!("cannot open the server's database {}", redact_url(&url)))
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

async fn create(args: TokenCreateArgs) -> anyhow::Result<()> {
    auth::check_token_name(&args.name).map_err(|e| UsageError(format!("error: --name: {e}")))?;
    let scope = match (args.role, args.device) {
        (Some(role), None) => TokenScope::User { role },
        (None, Some(device)) => TokenScope::Device {
            device_id: DeviceId::new(device.as_str()).map_err(|e| {
                UsageError(format!(
                    "error: --device: {e}\n  hint: use the agent's --device-id (letters, digits, `.`, `_`, `-`)"
                ))
            })?,
        },
        _ => {
            return Err(UsageError(
                "error: give either --role (a user token) or --device (a device token)".into(),
            )
            .into());
        }
    };
    let store = open(&args.store, true).await?;
    let now = Timestamp::now();
    let expires_at = args.expires_in_days.map(|d| auth::days_from(now, d));
    let (secret, new) = auth::mint_token(&args.name, scope, now, expires_at);
    let token = store
        .create_token(&new)
        .await
        .context("cannot store the token")?;
    if args.json {
        let mut value = serde_json::to_value(&token)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("secret".into(), serde_json::Value::String(secret));
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "created token `{}` ({}), id {}, expires {}",
        token.name,
        scope_text(&token.scope),
        token.id,
        token.expires_at.map_or_else(|| "never".to_owned(), day)
    );
    println!("secret: {secret}");
    println!("This secret cannot be shown again: store it now. Only its hash is kept.");
    match token.scope {
        TokenScope::User { .. } => println!(
            "Use it as `Authorization: Bearer <secret>`, or paste it into the dashboard's sign-in."
        ),
        TokenScope::Device { .. } => println!(
            "Give it to that device's agent only; it may upload for that device and nothing else."
        ),
    }
    Ok(())
}

fn scope_text(scope: &TokenScope) -> String {
    match scope {
        TokenScope::User { role } => role.to_string(),
        TokenScope::Device { device_id } => format!("device {device_id}"),
    }
}

/// `2026-11-23 10:00` (UTC), for tables.
fn day(t: Timestamp) -> String {
    let s = t.to_string();
    // RFC 3339 from jiff: `2026-11-23T10:00:00.123Z`; keep date and minutes.
    match (s.get(..10), s.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm}"),
        _ => s,
    }
}

async fn list(store: &ServerStoreArgs, json: bool) -> anyhow::Result<()> {
    let store = open(store, false).await?;
    let tokens = store
        .list_tokens()
        .await
        .context("cannot list the tokens")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&tokens)?);
        return Ok(());
    }
    if tokens.is_empty() {
        println!("no tokens yet; make one with: rewind token create --name you --role admin");
        return Ok(());
    }
    print!("{}", table(&tokens, Timestamp::now()));
    Ok(())
}

fn table(tokens: &[TokenInfo], now: Timestamp) -> String {
    let header = [
        "ID",
        "NAME",
        "SCOPE",
        "PREFIX",
        "CREATED (UTC)",
        "EXPIRES",
        "REVOKED",
    ]
    .map(String::from);
    let rows: Vec<[String; 7]> = tokens
        .iter()
        .map(|t| {
            let expires = match t.expires_at {
                None => "never".to_owned(),
                Some(e) if e <= now => format!("{} (expired)", day(e)),
                Some(e) => day(e),
            };
            [
                t.id.to_string(),
                t.name.clone(),
                scope_text(&t.scope),
                t.prefix.clone(),
                day(t.created_at),
                expires,
                t.revoked_at.map_or_else(|| "-".to_owned(), day),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

async fn revoke(id: &str, store: &ServerStoreArgs) -> anyhow::Result<()> {
    let id: TokenId = id.parse().map_err(|e| {
        UsageError(format!(
            "error: `{id}` is not a token id: {e}\n  hint: `rewind token list` shows the ids (the first column), not the secrets"
        ))
    })?;
    let store = open(store, false).await?;
    let token = match store.revoke_token(id, Timestamp::now()).await {
        Ok(t) => t,
        Err(rewind_store::Error::NotFound { .. }) => {
            return Err(UsageError(format!(
                "error: there is no token {id} in this database\n  hint: `rewind token list` shows the tokens (check --state-dir)"
            ))
            .into());
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot revoke the token")),
    };
    println!(
        "revoked token `{}` ({}), id {}, at {}; it stops working at once",
        token.name,
        scope_text(&token.scope),
        token.id,
        token.revoked_at.map_or_else(|| "now".to_owned(), day)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use rewind_model::Role;

    use super::*;

    #[test]
    fn the_table_lines_up_and_marks_expired_and_revoked_tokens() {
        let t = |ms| Timestamp::from_unix_millis(ms);
        let tokens = [
            TokenInfo {
                id: TokenId::new_v7(),
                name: "alice".into(),
                scope: TokenScope::User { role: Role::Admin },
                prefix: "rwd_ab12cd".into(),
                created_at: t(1_795_428_000_000),
                expires_at: Some(t(1_795_428_060_000)),
                revoked_at: None,
            },
            TokenInfo {
                id: TokenId::new_v7(),
                name: "robot-7".into(),
                scope: TokenScope::Device {
                    device_id: DeviceId::new("robot-7").unwrap(),
                },
                prefix: "rwd_ef34gh".into(),
                created_at: t(1_795_428_000_000),
                expires_at: None,
                revoked_at: Some(t(1_795_428_000_000)),
            },
        ];
        let text = table(&tokens, t(1_795_428_120_000));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with("ID") && lines[0].contains("REVOKED"),
            "{text}"
        );
        assert!(
            lines[1].contains("admin") && lines[1].contains("(expired)"),
            "{text}"
        );
        assert!(
            lines[2].contains("device robot-7") && lines[2].contains("never"),
            "{text}"
        );
        let col = lines[0].find("NAME").unwrap();
        assert_eq!(lines[1].find("alice"), Some(col), "{text}");
        assert!(!text.contains("rwd_ab12cd0"), "only the prefix is listed");
    }

    #[test]
    fn passwords_are_kept_out_of_messages() {
        assert_eq!(
            redact_url("postgres://u:secret@db/rewind"),
            "postgres://u:***@db/rewind"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
