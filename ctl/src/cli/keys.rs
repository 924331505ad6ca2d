//! The keys family: create, list, revoke.

use super::output::{Out, Table, opt_time, time};
use super::{Failure, done, finish, listing};
use clap::Subcommand;
use vigil_proto::Request;
use vigil_store::KeyScope;
use vigilctl::Client;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create an API key; the key is printed once, only now.
    Create {
        /// What it is for.
        #[arg(long)]
        name: String,
        /// A source it may post to (repeatable; default: all; only with
        /// the ingest scope).
        #[arg(long = "source", value_name = "SOURCE")]
        sources: Vec<String>,
        /// What it may do (repeatable; default: ingest): `ingest` posts
        /// alerts, `alerts.read` reads Alertmanager's API (amtool alert
        /// query), `silences.write` adds and expires silences through it.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<KeyScope>,
        /// Lifetime, e.g. `90d`, `12h` (default: until revoked).
        #[arg(long, value_parser = humantime::parse_duration)]
        expires: Option<std::time::Duration>,
    },
    /// Every key: prefix, scopes, created, expires, last used.
    List {
        /// At most this many (vigilctl says so on stderr when more exist).
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Revoke a key at once.
    Revoke {
        /// Its id or prefix (`vgl_...`).
        id: String,
    },
}

/// Runs one `keys` command.
pub fn run(client: &mut Client, command: KeysCommand, out: &Out) -> Result<(), Failure> {
    match command {
        KeysCommand::Create {
            name,
            sources,
            scopes,
            expires,
        } => {
            let asked: Vec<String> = scopes.iter().map(|s| s.name().to_string()).collect();
            let (key, secret) = client.ask(Request::keys_create(
                name,
                sources,
                scopes,
                expires.map(|d| d.as_secs().max(1)),
            ))?;
            // A daemon older than scopes ignores them: say so rather than
            // hand out a key that cannot do what was asked.
            if let Some(missing) = asked.iter().find(|s| !key.scopes.contains(s)) {
                return Err(Failure::Error(format!(
                    "vigild did not give key {} the {missing} scope (it predates scopes; \
                     restart it on this version); revoke it with `vigilctl keys revoke {}`",
                    key.prefix, key.id
                )));
            }
            if out.json() {
                return out.json_line(&serde_json::json!({ "key": key, "secret": secret }));
            }
            let text = serde_json::to_string(&secret).map_err(|e| Failure::Error(e.to_string()))?;
            out.print(&format!(
                "API key {} ({}) created; it is shown only now:\n{}\n",
                key.prefix,
                key.name,
                text.trim_matches('"')
            ))
        }
        KeysCommand::List { limit } => {
            let mut table = Table::new(&[
                "PREFIX",
                "NAME",
                "SOURCES",
                "SCOPES",
                "CREATED",
                "EXPIRES",
                "LAST USED",
                "STATE",
            ]);
            let request = Request::keys_list(limit);
            listing(client, request, out, "API keys", "raise --limit", |keys| {
                out.page(&keys, &mut table, |k| {
                    vec![
                        k.prefix.clone(),
                        k.name.clone(),
                        if k.sources.is_empty() {
                            "all".into()
                        } else {
                            k.sources.join(",")
                        },
                        k.scopes.join(","),
                        time(k.created),
                        opt_time(k.expires_at),
                        opt_time(k.last_used),
                        if k.revoked_at.is_some() {
                            "revoked".into()
                        } else {
                            "active".into()
                        },
                    ]
                })
            })?;
            finish(out, &mut table)
        }
        KeysCommand::Revoke { id } => done(client, Request::keys_revoke(id), out),
    }
}
