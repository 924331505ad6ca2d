//! The events family: emit, list, tail (and follow), show.

use super::output::Out;
use super::{Failure, listing, unexpected};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use vigil_proto::{EventsRequest, Request, Response};
use vigil_store::{EventKind, Severity};
use vigilctl::Client;

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// List events, oldest first.
    List {
        #[command(flatten)]
        filter: Filter,
        /// Start at this seq (default: the newest --limit events).
        #[arg(long)]
        from: Option<u64>,
        /// How many (vigilctl says so on stderr when more match).
        #[arg(long, default_value_t = 50, conflicts_with = "all")]
        limit: u64,
        /// Every event (from --from, or from the first).
        #[arg(long)]
        all: bool,
    },
    /// The newest events; with --follow, keep printing new ones.
    Tail {
        #[command(flatten)]
        filter: Filter,
        /// How many to show first.
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: u64,
        /// Keep following.
        #[arg(long, short)]
        follow: bool,
    },
    /// One event in full.
    Show {
        /// Its seq.
        seq: u64,
    },
}

#[derive(Args, Debug)]
pub struct Filter {
    /// Only this kind (genesis, epoch, checkpoint, ingest, collect, auth, notify, config, key, secret, incident, retention, custom, system).
    #[arg(long)]
    kind: Option<EventKind>,
}

/// Appends a custom event; prints its position once durable.
pub fn emit(
    client: &mut Client,
    message: String,
    severity: Severity,
    labels: Vec<(String, String)>,
    out: &Out,
) -> Result<(), Failure> {
    let labels: BTreeMap<String, String> = labels.into_iter().collect();
    out.appended(&client.ask(Request::emit(message, severity, labels))?)
}

/// Runs one `events` command.
pub fn run(client: &mut Client, command: EventsCommand, out: &Out) -> Result<(), Failure> {
    match command {
        EventsCommand::List {
            filter,
            from,
            limit,
            all,
        } => {
            let request = Request::events_list(filter.kind, from, (!all).then_some(limit));
            let hint = if from.is_some() {
                "raise --limit, or pass --all"
            } else {
                "raise --limit, pass --from SEQ, or --all"
            };
            listing(client, request, out, "events", hint, |events| {
                out.events(&events)?;
                Ok(events.len() as u64)
            })
        }
        EventsCommand::Tail {
            filter,
            lines,
            follow,
        } => {
            client.send(&Request::Events(EventsRequest::List {
                kind: filter.kind,
                from: None,
                limit: Some(lines),
            }))?;
            // The newest `lines`, as asked: no word about older ones.
            let last = stream_events(client, out)?;
            if follow {
                let from = match last {
                    Some(seq) => seq + 1,
                    None => current_head(client)? + 1,
                };
                client.send(&Request::Events(EventsRequest::Follow {
                    kind: filter.kind,
                    from,
                }))?;
                stream_events(client, out)?;
            }
            Ok(())
        }
        EventsCommand::Show { seq } => {
            let event = client.ask(Request::show(seq))?;
            out.event_full(&event)
        }
    }
}

fn current_head(client: &mut Client) -> Result<u64, Failure> {
    Ok(client.ask(Request::status())?.head.seq)
}

/// Prints `Events` frames until the end of the listing or stream; returns
/// the last seq printed.
fn stream_events(client: &mut Client, out: &Out) -> Result<Option<u64>, Failure> {
    let mut last = None;
    loop {
        match client.receive()? {
            Response::Events { events } => {
                out.events(&events)?;
                if let Some(e) = events.last() {
                    last = Some(e.seq);
                }
            }
            Response::End | Response::ListEnd(_) => return Ok(last),
            other => return Err(unexpected(&other)),
        }
    }
}
