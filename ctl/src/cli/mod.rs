//! The command line: argument definitions and dispatch.

// One file per command family, as in vigil-proto and vigild's control.
mod audit;
mod daemon;
mod deliveries;
mod events;
mod export;
mod files;
mod fleet;
mod generate;
mod import;
mod incidents;
mod keys;
mod logs;
mod retention;
mod secrets;
mod silences;

mod output;

use clap::{Parser, Subcommand};
use output::{Out, Table};
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_proto::{Call, Listed, Listing, Response};
use vigil_store::Severity;
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
    Events(events::EventsCommand),
    /// Recent connections and denials.
    Logins {
        /// How many of each.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Verify the chain, or an export (exit status 1 if it is damaged).
    Verify(audit::VerifyArgs),
    /// Export a range of the log as JSON lines an auditor can verify offline.
    Export(export::ExportArgs),
    /// Check the deployment's security posture (exit status 1 on errors).
    Doctor,
    /// Make the daemon re-read its configuration file.
    Reload,
    /// Encrypted secrets referenced from the configuration as `secret:NAME`.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// API keys for the ingestion endpoint.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
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
    /// File integrity: recorded paths, their changes, a scan now.
    #[command(subcommand)]
    Files(files::FilesCommand),
    /// Log collection: followed files and journals, rules tried on lines.
    #[command(subcommand)]
    Logs(logs::LogsCommand),
    /// Retention: what is kept, what a run would remove, a run now.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Drop the bodies of matching events (recorded with who, why and what).
    Erase(retention::EraseArgs),
    /// Forwarding this host's chain to the fleet's NATS JetStream stream.
    #[command(subcommand)]
    Forward(fleet::ForwardCommand),
    /// The fleet's stream, read from the broker: verify every host's chain,
    /// list hosts (no daemon needed).
    #[command(subcommand)]
    Fleet(fleet::FleetCommand),
    /// Convert another tool's configuration into Vigil's (no daemon needed).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Write the manual pages and shell completions (for packaging).
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
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
    // The first socket that is there; failing that, one we may not even
    // look at (a directory only group vigil may enter), so that connecting
    // says "permission denied" rather than "no socket".
    let there = |p: &&PathBuf| matches!(p.try_exists(), Ok(true));
    let hidden = |p: &&PathBuf| p.try_exists().is_err();
    let found = candidates
        .iter()
        .find(there)
        .or_else(|| candidates.iter().find(hidden));
    found.cloned().ok_or_else(|| {
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
    match &cli.command {
        Command::Verify(args) if args.export.is_some() => return audit::exported(args, out),
        Command::Verify(args) if args.offline => return audit::offline(args, out),
        Command::Export(args) if args.offline() => return export::offline(args, out),
        Command::Generate(args) => return generate::run(args),
        Command::Import(command) => return import::run(command),
        Command::Fleet(command) => return fleet::fleet(command, out),
        _ => {}
    }
    let path = socket_path(cli.socket)?;
    let mut client = Client::connect(&path)?;
    match cli.command {
        Command::Status => daemon::status(&mut client, out),
        Command::Emit {
            message,
            severity,
            labels,
        } => events::emit(&mut client, message, severity, labels, out),
        Command::Events(command) => events::run(&mut client, command, out),
        Command::Logins { limit } => audit::logins(&mut client, limit, out),
        Command::Verify(args) => audit::online(&mut client, &args, out),
        Command::Export(args) => export::online(&mut client, &args, out),
        Command::Doctor => daemon::doctor(&mut client, out),
        Command::Reload => daemon::reload(&mut client, out),
        Command::Secrets(command) => secrets::run(&mut client, command, out),
        Command::Keys(command) => keys::run(&mut client, command, out),
        Command::Incidents(command) => incidents::incidents(&mut client, command, out),
        Command::Silences(command) => silences::silences(&mut client, command, out),
        Command::Deliveries(command) => deliveries::deliveries(&mut client, command, out),
        Command::Notify(command) => deliveries::notify(&mut client, command, out),
        Command::Files(command) => files::files(&mut client, command, out),
        Command::Logs(command) => logs::logs(&mut client, command, out),
        Command::Retention(command) => retention::retention(&mut client, command, out),
        Command::Erase(args) => retention::erase(&mut client, args, out),
        Command::Forward(command) => fleet::forward(&mut client, command, out),
        // Handled above, before connecting.
        Command::Fleet(command) => fleet::fleet(&command, out),
        Command::Generate(args) => generate::run(&args),
        Command::Import(command) => import::run(&command),
    }
}

/// Prints a listing's table header when no row came (not with `--json`).
fn finish(out: &Out, table: &mut Table) -> Result<(), Failure> {
    if out.json() {
        return Ok(());
    }
    out.print(&table.finish())
}

/// Sends a change and prints the daemon's word that it is done.
fn done(client: &mut Client, call: Call<String>, out: &Out) -> Result<(), Failure> {
    out.message(&client.ask(call)?)
}

/// Sends a listing and hands each page to `page`, which prints it and says
/// how many items it held, until the end of the listing; then checks that
/// count against the daemon's, and says plainly when the listing stopped at
/// a limit (`what` names the items, `hint` how to see more).
fn listing<T>(
    client: &mut Client,
    listing: Listing<T>,
    out: &Out,
    what: &str,
    hint: &str,
    page: impl FnMut(Vec<T>) -> Result<u64, Failure>,
) -> Result<(), Failure> {
    listing_with_header(client, listing, out, what, hint, |()| {}, page)
}

/// [`listing`] for a listing that sends a header frame first.
fn listing_with_header<T, H>(
    client: &mut Client,
    listing: Listing<T, H>,
    out: &Out,
    what: &str,
    hint: &str,
    mut header: impl FnMut(H),
    mut page: impl FnMut(Vec<T>) -> Result<u64, Failure>,
) -> Result<(), Failure> {
    client.send(listing.request())?;
    let mut printed = 0u64;
    loop {
        let frame = client.receive()?;
        match listing.read(frame).map_err(|other| unexpected(&other))? {
            Listed::Header(h) => header(h),
            Listed::Page(items) => printed += page(items)?,
            Listed::End(end) => {
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
