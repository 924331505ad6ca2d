//! `vigilctl keys …` and `vigilctl incidents …`.

use super::output::{Out, Table, summary, time};
use super::{Failure, listing, unexpected};
use clap::Subcommand;
use vigil_proto::{Request, Response};
use vigil_store::IncidentOp;
use vigilctl::Client;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create an API key for ingestion; the key is printed once, only now.
    Create {
        /// What it is for.
        #[arg(long)]
        name: String,
        /// A source it may post to (repeatable; default: all).
        #[arg(long = "source", value_name = "SOURCE")]
        sources: Vec<String>,
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
        /// Its id or prefix (`vgl_…`).
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum IncidentsCommand {
    /// Incidents, newest first.
    List {
        /// open, acked or resolved.
        #[arg(long)]
        state: Option<String>,
        /// At most this many, newest first (vigilctl says so on stderr when
        /// more match).
        #[arg(long)]
        limit: Option<u64>,
    },
    /// One incident with its alert history.
    Show {
        /// Incident id.
        id: String,
    },
    /// Acknowledge an incident.
    Ack {
        /// Incident id.
        id: String,
        /// A note for the record.
        #[arg(long)]
        note: Option<String>,
    },
    /// Resolve an incident by hand.
    Resolve {
        /// Incident id.
        id: String,
        /// A note for the record.
        #[arg(long)]
        note: Option<String>,
    },
    /// Add a note to an incident.
    Note {
        /// Incident id.
        id: String,
        /// The note.
        text: String,
    },
}

fn opt_time(t: Option<i64>) -> String {
    t.map_or_else(|| "-".into(), time)
}

/// Prints a listing's table header when no row came (not with `--json`).
pub(super) fn finish(out: &Out, table: &mut Table) -> Result<(), Failure> {
    if out.json() {
        return Ok(());
    }
    out.print(&table.finish())
}

pub(super) fn done(client: &mut Client, request: &Request, out: &Out) -> Result<(), Failure> {
    match client.call(request)? {
        Response::Done { message } => out.message(&message),
        other => Err(unexpected(&other)),
    }
}

/// Runs one `keys` command.
pub fn keys(client: &mut Client, command: KeysCommand, out: &Out) -> Result<(), Failure> {
    match command {
        KeysCommand::Create {
            name,
            sources,
            expires,
        } => match client.call(&Request::KeysCreate {
            name,
            sources,
            expires_in_secs: expires.map(|d| d.as_secs().max(1)),
        })? {
            Response::KeyCreated { key, secret } => {
                if out.json() {
                    return out.json_line(&serde_json::json!({ "key": key, "secret": secret }));
                }
                let text =
                    serde_json::to_string(&secret).map_err(|e| Failure::Error(e.to_string()))?;
                out.print(&format!(
                    "API key {} ({}) created; it is shown only now:\n{}\n",
                    key.prefix,
                    key.name,
                    text.trim_matches('"')
                ))
            }
            other => Err(unexpected(&other)),
        },
        KeysCommand::List { limit } => {
            let mut table = Table::new(&[
                "PREFIX",
                "NAME",
                "SOURCES",
                "CREATED",
                "EXPIRES",
                "LAST USED",
                "STATE",
            ]);
            let request = Request::KeysList { limit };
            listing(
                client,
                &request,
                out,
                "API keys",
                "raise --limit",
                |frame| match frame {
                    Response::Keys { keys } => out.page(&keys, &mut table, |k| {
                        vec![
                            k.prefix.clone(),
                            k.name.clone(),
                            if k.sources.is_empty() {
                                "all".into()
                            } else {
                                k.sources.join(",")
                            },
                            time(k.created),
                            opt_time(k.expires_at),
                            opt_time(k.last_used),
                            if k.revoked_at.is_some() {
                                "revoked".into()
                            } else {
                                "active".into()
                            },
                        ]
                    }),
                    other => Err(unexpected(&other)),
                },
            )?;
            finish(out, &mut table)
        }
        KeysCommand::Revoke { id } => done(client, &Request::KeysRevoke { id }, out),
    }
}

/// Runs one `incidents` command.
pub fn incidents(client: &mut Client, command: IncidentsCommand, out: &Out) -> Result<(), Failure> {
    let act = |id, op, note| Request::IncidentAct { id, op, note };
    match command {
        IncidentsCommand::List { state, limit } => {
            let mut table = Table::new(&[
                "ID", "STATE", "SEVERITY", "SOURCE", "UPDATED", "FIRED", "SUMMARY",
            ]);
            let request = Request::Incidents { state, limit };
            listing(
                client,
                &request,
                out,
                "incidents",
                "raise --limit",
                |frame| match frame {
                    Response::Incidents { incidents } => out.page(&incidents, &mut table, |i| {
                        vec![
                            i.id.clone(),
                            format!("{}{}", i.state, if i.flapping { " (flapping)" } else { "" }),
                            i.severity.to_string(),
                            i.source.clone(),
                            time(i.updated_at),
                            i.fired.to_string(),
                            i.summary.clone(),
                        ]
                    }),
                    other => Err(unexpected(&other)),
                },
            )?;
            finish(out, &mut table)
        }
        IncidentsCommand::Show { id } => match client.call(&Request::IncidentShow { id })? {
            Response::Incident {
                incident,
                annotations,
                history,
            } => {
                if out.json() {
                    return out.json_line(&serde_json::json!({
                        "incident": incident, "annotations": annotations, "history": history,
                    }));
                }
                let mut text = format!(
                    "incident {}: {} ({}, {}{})\n  source {} fingerprint {}\n  opened {} updated {} fired {} reopened {}\n",
                    incident.id,
                    incident.summary,
                    incident.state,
                    incident.severity,
                    if incident.flapping { ", flapping" } else { "" },
                    incident.source,
                    incident.fingerprint,
                    time(incident.opened_at),
                    time(incident.updated_at),
                    incident.fired,
                    incident.reopened
                );
                for (k, v) in &incident.labels {
                    text.push_str(&format!("  {k}={v}\n"));
                }
                for a in &annotations {
                    text.push_str(&format!(
                        "  {} {} by {}{}\n",
                        time(a.time),
                        a.op,
                        a.who,
                        a.note
                            .as_ref()
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default()
                    ));
                }
                for e in &history {
                    text.push_str(&format!(
                        "  #{} {} {}\n",
                        e.seq,
                        time(e.time),
                        summary(e.event.as_ref())
                    ));
                }
                out.print(&text)
            }
            other => Err(unexpected(&other)),
        },
        IncidentsCommand::Ack { id, note } => done(client, &act(id, IncidentOp::Ack, note), out),
        IncidentsCommand::Resolve { id, note } => {
            done(client, &act(id, IncidentOp::Resolve, note), out)
        }
        IncidentsCommand::Note { id, text } => {
            done(client, &act(id, IncidentOp::Note, Some(text)), out)
        }
    }
}
