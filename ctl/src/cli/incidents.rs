//! `vigilctl keys …` and `vigilctl incidents …`.

use super::output::{Out, Table, summary, time};
use super::{Failure, done, finish, listing};
use clap::Subcommand;
use vigil_proto::{IncidentDetail, IncidentState, Request};
use vigil_store::IncidentOp;
use vigilctl::Client;

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

/// Runs one `incidents` command.
pub fn incidents(client: &mut Client, command: IncidentsCommand, out: &Out) -> Result<(), Failure> {
    match command {
        IncidentsCommand::List { state, limit } => {
            let mut table = Table::new(&[
                "ID", "STATE", "SEVERITY", "SOURCE", "UPDATED", "FIRED", "SUMMARY",
            ]);
            let state = state
                .map(|s| {
                    s.parse::<IncidentState>().map_err(|e| {
                        Failure::Error(format!("unknown state {s}; use {}", one_of(&e.allowed)))
                    })
                })
                .transpose()?;
            let request = Request::incidents_list(state, limit);
            listing(
                client,
                request,
                out,
                "incidents",
                "raise --limit",
                |incidents| {
                    out.page(&incidents, &mut table, |i| {
                        vec![
                            i.id.clone(),
                            format!("{}{}", i.state, if i.flapping { " (flapping)" } else { "" }),
                            i.severity.to_string(),
                            i.source.clone(),
                            time(i.updated_at),
                            i.fired.to_string(),
                            i.summary.clone(),
                        ]
                    })
                },
            )?;
            finish(out, &mut table)
        }
        IncidentsCommand::Show { id } => {
            let IncidentDetail {
                incident,
                annotations,
                history,
            } = client.ask(Request::incident_show(id))?;

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
        IncidentsCommand::Ack { id, note } => done(
            client,
            Request::incident_act(id, IncidentOp::Ack, note),
            out,
        ),
        IncidentsCommand::Resolve { id, note } => done(
            client,
            Request::incident_act(id, IncidentOp::Resolve, note),
            out,
        ),
        IncidentsCommand::Note { id, text } => done(
            client,
            Request::incident_act(id, IncidentOp::Note, Some(text)),
            out,
        ),
    }
}

/// `a, b or c`: the names the protocol knows, as a sentence.
fn one_of(names: &[&str]) -> String {
    match names.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_states_named_are_the_protocols() {
        let names: Vec<&str> = IncidentState::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(one_of(&names), "open, acked or resolved");
        assert_eq!(one_of(&["a"]), "a");
    }
}
