//! The command line: argument definitions and dispatch.

mod deliveries;
mod incidents;
mod output;
mod secrets;
mod silences;
mod verify;

use clap::{Args, Parser, Subcommand};
use output::Out;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_proto::{Request, Response};
use vigil_store::{EventKind, Severity};
use vigilctl::{Client, ClientError};

/// Control the Vigil daemon.
#[derive(Parser, Debug)]
#[command(version, about, propagate_version = true)]
struct Cli {
    /// Control socket [default: $VIGIL_SOCKET, /run/vigil/control.sock, ./vigil-data/control.sock]
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Machine-readable output: one JSON object per line.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Daemon status: head, epoch, counts by kind, uptime.
    Status,
    /// Append a custom event; prints its seq once it is durable.
    Emit {
        /// The message.
        #[arg(long, short)]
        message: String,
        /// info, warning, error or critical.
        #[arg(long, default_value = "info")]
        severity: Severity,
        /// A label, `key=value` (repeatable).
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
        labels: Vec<(String, String)>,
    },
    /// Read the event log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Recent connections and denials.
    Logins {
        /// How many of each.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Verify the chain (exit status 1 if it is damaged).
    Verify(verify::VerifyArgs),
    /// Check the deployment's security posture (exit status 1 on errors).
    Doctor,
    /// Make the daemon re-read its configuration file.
    Reload,
    /// Encrypted secrets referenced from the configuration as `secret:NAME`.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// API keys for the ingestion endpoint.
    #[command(subcommand)]
    Keys(incidents::KeysCommand),
    /// Incidents: alerts grouped by fingerprint.
    #[command(subcommand)]
    Incidents(incidents::IncidentsCommand),
    /// Silences: mute notifications for matching alerts.
    #[command(subcommand)]
    Silences(silences::SilencesCommand),
    /// Notification deliveries: sent, retrying, given up.
    #[command(subcommand)]
    Deliveries(deliveries::DeliveriesCommand),
    /// Notifications: send a test to a receiver.
    #[command(subcommand)]
    Notify(deliveries::NotifyCommand),
}

#[derive(Subcommand, Debug)]
enum EventsCommand {
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
struct Filter {
    /// Only this kind (genesis, epoch, checkpoint, ingest, collect, auth, notify, config, key, secret, incident, retention, custom, system).
    #[arg(long)]
    kind: Option<EventKind>,
}

/// A `--label` without `=`.
#[derive(Debug, thiserror::Error)]
#[error("label `{0}` must be KEY=VALUE")]
struct BadLabel(String);

fn parse_label(s: &str) -> Result<(String, String), BadLabel> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| BadLabel(s.to_string()))
}

/// A failure and the exit status it maps to.
pub enum Failure {
    /// A check ran and failed (exit 1).
    Check,
    /// Usage, connection or server errors (exit 2).
    Error(String),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        Failure::Error(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Error(e.to_string())
    }
}

/// Picks the control socket: the flag, `$VIGIL_SOCKET`, then the first of
/// the system and development paths that exists.
fn socket_path(flag: Option<PathBuf>) -> Result<PathBuf, Failure> {
    if let Some(path) = flag.or_else(|| std::env::var_os("VIGIL_SOCKET").map(PathBuf::from)) {
        return Ok(path);
    }
    let candidates = [
        PathBuf::from("/run/vigil/control.sock"),
        PathBuf::from("./vigil-data/control.sock"),
    ];
    candidates.iter().find(|p| p.exists()).cloned().ok_or_else(|| {
        Failure::Error(format!(
            "no control socket at {} or {}; is vigild running? pass --socket or set VIGIL_SOCKET",
            candidates[0].display(),
            candidates[1].display()
        ))
    })
}

fn unexpected(r: &Response) -> Failure {
    Failure::Error(format!(
        "unexpected answer from vigild: {}",
        serde_json::to_string(r).unwrap_or_default()
    ))
}

/// Parses arguments, runs the command, maps the outcome to an exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out::new(cli.json);
    match run(cli, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Check) => ExitCode::from(1),
        Err(Failure::Error(message)) => {
            eprintln!("vigilctl: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli, out: &Out) -> Result<(), Failure> {
    if let Command::Verify(args) = &cli.command
        && args.offline
    {
        return verify::offline(args, out);
    }
    let path = socket_path(cli.socket)?;
    let mut client = Client::connect(&path)?;
    match cli.command {
        Command::Status => match client.call(&Request::Status)? {
            Response::Status(report) => out.status(&report),
            other => Err(unexpected(&other)),
        },
        Command::Emit {
            message,
            severity,
            labels,
        } => {
            let labels: BTreeMap<String, String> = labels.into_iter().collect();
            match client.call(&Request::Emit {
                message,
                severity,
                labels,
            })? {
                Response::Appended { head } => out.appended(&head),
                other => Err(unexpected(&other)),
            }
        }
        Command::Events(EventsCommand::List {
            filter,
            from,
            limit,
            all,
        }) => {
            let request = Request::Events {
                kind: filter.kind,
                from,
                limit: (!all).then_some(limit),
            };
            let hint = if from.is_some() {
                "raise --limit, or pass --all"
            } else {
                "raise --limit, pass --from SEQ, or --all"
            };
            listing(
                &mut client,
                &request,
                out,
                "events",
                hint,
                |frame| match frame {
                    Response::Events { events } => {
                        out.events(&events)?;
                        Ok(events.len() as u64)
                    }
                    other => Err(unexpected(&other)),
                },
            )
        }
        Command::Events(EventsCommand::Tail {
            filter,
            lines,
            follow,
        }) => {
            client.send(&Request::Events {
                kind: filter.kind,
                from: None,
                limit: Some(lines),
            })?;
            // The newest `lines`, as asked: no word about older ones.
            let last = stream_events(&mut client, out)?;
            if follow {
                let from = match last {
                    Some(seq) => seq + 1,
                    None => current_head(&mut client)? + 1,
                };
                client.send(&Request::Follow {
                    kind: filter.kind,
                    from,
                })?;
                stream_events(&mut client, out)?;
            }
            Ok(())
        }
        Command::Events(EventsCommand::Show { seq }) => {
            match client.call(&Request::Show { seq })? {
                Response::Event { event } => out.event_full(&event),
                other => Err(unexpected(&other)),
            }
        }
        Command::Logins { limit } => match client.call(&Request::Logins { limit })? {
            Response::Logins(report) => out.logins(&report),
            other => Err(unexpected(&other)),
        },
        Command::Verify(args) => verify::online(&mut client, &args, out),
        Command::Doctor => match client.call(&Request::Doctor)? {
            Response::Doctor { findings } => out.doctor(&findings),
            other => Err(unexpected(&other)),
        },
        Command::Reload => match client.call(&Request::Reload)? {
            Response::Reloaded { message } => out.message(&message),
            other => Err(unexpected(&other)),
        },
        Command::Secrets(command) => secrets::run(&mut client, command, out),
        Command::Keys(command) => incidents::keys(&mut client, command, out),
        Command::Incidents(command) => incidents::incidents(&mut client, command, out),
        Command::Silences(command) => silences::silences(&mut client, command, out),
        Command::Deliveries(command) => deliveries::deliveries(&mut client, command, out),
        Command::Notify(command) => deliveries::notify(&mut client, command, out),
    }
}

fn current_head(client: &mut Client) -> Result<u64, Failure> {
    match client.call(&Request::Status)? {
        Response::Status(report) => Ok(report.head.seq),
        other => Err(unexpected(&other)),
    }
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

/// Sends a list request and hands each frame of the answer to `frame`,
/// which prints it and says how many items it held, until the end of the
/// listing; then checks that count against the daemon's, and says plainly
/// when the listing stopped at a limit (`what` names the items, `hint` how
/// to see more).
pub(super) fn listing(
    client: &mut Client,
    request: &Request,
    out: &Out,
    what: &str,
    hint: &str,
    mut frame: impl FnMut(Response) -> Result<u64, Failure>,
) -> Result<(), Failure> {
    client.send(request)?;
    let mut printed = 0u64;
    loop {
        match client.receive()? {
            Response::ListEnd(end) => {
                if end.listed != printed {
                    return Err(Failure::Error(format!(
                        "vigild listed {} {what} but {printed} arrived",
                        end.listed
                    )));
                }
                if let Some(t) = &end.truncated {
                    out.truncated(what, end.listed, t, hint)?;
                }
                return Ok(());
            }
            other => printed += frame(other)?,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over every command, argument and
    /// option (they run in builds with debug assertions: `scripts/test`
    /// runs this binary's unit tests in one).
    #[test]
    fn the_command_tree_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
