//! `vigilctl forward status` (this host's forwarding, from the daemon) and
//! `vigilctl fleet verify|status` (the fleet's stream, read directly from
//! the broker: no daemon and no local store needed).

use super::Failure;
use super::output::{Out, Table, time};
use clap::{Args, Subcommand};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vigil_fleet::check::FleetCheck;
use vigil_fleet::{Endpoint, FleetReport, Login, StreamReader, Tls};
use vigil_proto::{ForwardStatus, Request};
use vigil_store::{SecretValue, VerificationKey};
use vigilctl::Client;

#[derive(Subcommand, Debug)]
pub enum ForwardCommand {
    /// Where this host's chain stands on the fleet's broker: acknowledged
    /// position, lag, last error.
    Status,
}

#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// Verify every host's chain on the stream (exit status 1 if one is damaged).
    Verify(VerifyArgs),
    /// Each host on the stream and its last-seen head.
    Status(Broker),
}

/// Where the fleet's stream is, and how to log in. Secrets come from files
/// or the environment, never from the command line.
#[derive(Args, Debug)]
pub struct Broker {
    /// NATS servers, comma-separated (nats://HOST:PORT, tls://HOST:PORT).
    #[arg(long, value_delimiter = ',', required = true)]
    servers: Vec<String>,
    /// The JetStream stream.
    #[arg(long, default_value = "VIGIL")]
    stream: String,
    /// CA certificates (PEM) the servers must chain to (implies TLS).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Client certificate (PEM), with --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// User name; the password is read from $VIGIL_NATS_PASSWORD or --password-file.
    #[arg(long)]
    user: Option<String>,
    /// File holding the password.
    #[arg(long, value_name = "FILE", requires = "user")]
    password_file: Option<PathBuf>,
    /// File holding a token.
    #[arg(long, value_name = "FILE", conflicts_with = "user")]
    token_file: Option<PathBuf>,
    /// How long to wait for the broker.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    broker: Broker,
    /// A directory of hosts' verification keys (`vigil-vk1:...` files,
    /// named `<store id>.key`): seals are checked, and a host without a key
    /// fails. Without it, links and digests only.
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// Keep verifying as entries arrive; exit 1 at the first break.
    #[arg(long)]
    follow: bool,
}

/// Runs `forward status`.
pub fn forward(client: &mut Client, command: ForwardCommand, out: &Out) -> Result<(), Failure> {
    match command {
        ForwardCommand::Status => {
            let status = client.ask(Request::forward_status())?;
            match status {
                None if out.json() => out.json_line(&serde_json::Value::Null),
                None => {
                    out.message("forwarding is not configured (no [forward] in the configuration)")
                }
                Some(s) if out.json() => out.json_line(&*s),
                Some(s) => out.print(&super::output::table(&status_rows(Some(&s)))),
            }
        }
    }
}

/// The rows `status` and `forward status` show.
pub fn status_rows(s: Option<&ForwardStatus>) -> Vec<Vec<String>> {
    let Some(s) = s else { return Vec::new() };
    let mut rows = vec![
        vec![
            "forward".into(),
            format!(
                "{} to {} on {} ({})",
                s.subject,
                s.stream,
                s.servers,
                if s.connected {
                    "connected"
                } else {
                    "not connected"
                }
            ),
        ],
        vec![
            "forwarded".into(),
            format!(
                "up to seq {} of {}; {} entries waiting, oldest {:.1} s",
                s.acked_seq, s.head_seq, s.lag_entries, s.lag_secs
            ),
        ],
    ];
    if let Some(reason) = &s.halted {
        rows.push(vec!["forward STOPPED".into(), reason.clone()]);
    }
    if let Some((at, error)) = &s.last_error {
        rows.push(vec![
            "forward error".into(),
            format!("{} ({})", error, time(*at)),
        ]);
    }
    if let Some(since) = s.failing_since {
        rows.push(vec![
            "forward failing".into(),
            format!("since {}", time(since)),
        ]);
    }
    rows
}

/// Runs a `fleet` command.
pub fn fleet(command: &FleetCommand, out: &Out) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Error(format!("cannot start: {e}")))?;
    match command {
        FleetCommand::Verify(args) => runtime.block_on(verify(args, out)),
        FleetCommand::Status(broker) => runtime.block_on(status(broker, out)),
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::Error(format!("cannot read the {what} {}: {e}", path.display())))
}

fn secret_file(path: &Path, what: &str) -> Result<SecretValue, Failure> {
    let mut bytes = read_file(path, what)?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    Ok(SecretValue::new(bytes))
}

impl Broker {
    fn endpoint(&self) -> Result<Endpoint, Failure> {
        let login = if let Some(user) = &self.user {
            let password = match &self.password_file {
                Some(path) => secret_file(path, "password file")?,
                None => std::env::var("VIGIL_NATS_PASSWORD")
                    .map(SecretValue::from_string)
                    .map_err(|_| {
                        Failure::Error(
                            "--user needs a password: set VIGIL_NATS_PASSWORD or pass --password-file"
                                .into(),
                        )
                    })?,
            };
            Login::Password {
                user: user.clone(),
                password,
            }
        } else if let Some(path) = &self.token_file {
            Login::Token(secret_file(path, "token file")?)
        } else {
            Login::Anonymous
        };
        let tls_wanted = self.ca.is_some()
            || self.cert.is_some()
            || self.servers.iter().any(|s| s.starts_with("tls://"));
        let tls = if tls_wanted {
            let client = match (&self.cert, &self.key) {
                (Some(cert), Some(key)) => Some((
                    read_file(cert, "client certificate")?,
                    secret_file(key, "client key")?,
                )),
                _ => None,
            };
            Some(Tls {
                ca_pem: self
                    .ca
                    .as_deref()
                    .map(|p| read_file(p, "CA file"))
                    .transpose()?,
                client,
            })
        } else {
            None
        };
        Ok(Endpoint {
            servers: self.servers.clone(),
            tls,
            login,
            name: "vigilctl fleet".into(),
            timeout: self.timeout,
        })
    }

    async fn reader(&self) -> Result<StreamReader, Failure> {
        let client = self
            .endpoint()?
            .connect()
            .await
            .map_err(|e| Failure::Error(e.to_string()))?;
        Ok(StreamReader::new(client, self.timeout, &self.stream))
    }
}

/// Every key file in `dir`.
fn keys(dir: &Path) -> Result<Vec<VerificationKey>, Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::Error(format!("cannot read {}: {e}", dir.display())))?;
    let mut keys = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Failure::Error(e.to_string()))?.path();
        if path.extension().is_some_and(|e| e == "key") {
            keys.push(
                vigil_store::read_verification_key(&path)
                    .map_err(|e| Failure::Error(e.to_string()))?,
            );
        }
    }
    if keys.is_empty() {
        return Err(Failure::Error(format!(
            "no verification key (*.key) in {}",
            dir.display()
        )));
    }
    Ok(keys)
}

async fn verify(args: &VerifyArgs, out: &Out) -> Result<(), Failure> {
    let keys = args.keys.as_deref().map(keys).transpose()?;
    let reader = args.broker.reader().await?;
    let mut check = FleetCheck::new(keys);
    reader
        .each(args.follow, |message| {
            check.take(message);
            if args.follow && check.failed() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
        .map_err(|e| Failure::Error(e.to_string()))?;
    let report = check.report(!args.follow);
    print_report(&report, out)?;
    if report.ok() {
        Ok(())
    } else {
        Err(Failure::Check)
    }
}

fn print_report(report: &FleetReport, out: &Out) -> Result<(), Failure> {
    if out.json() {
        return out.json_line(report);
    }
    let mut table = Table::new(&["HOST", "STORE", "ENTRIES", "RANGE", "HEAD", "LAG", "RESULT"]);
    let rows: Vec<Vec<String>> = report
        .hosts
        .iter()
        .map(|h| {
            let mut result = match &h.failure {
                None if h.keyed => "ok (sealed)".to_string(),
                None => "ok (links and digests; no key)".to_string(),
                Some((seq, reason)) => format!("FAILED at seq {seq}: {reason}"),
            };
            for (from, to) in &h.gaps {
                result.push_str(&format!("; not forwarded: {from}..={to}"));
            }
            vec![
                h.host.clone(),
                h.store_id.clone(),
                h.entries.to_string(),
                h.first
                    .map_or_else(|| "-".into(), |f| format!("{f}..={}", h.head_seq)),
                h.head_link
                    .as_deref()
                    .map_or_else(|| "-".into(), |l| format!("{}:{}", h.head_seq, &l[..16])),
                format!("{:.1}s", h.lag_secs),
                result,
            ]
        })
        .collect();
    out.print(&table.page(rows))?;
    out.print(&table.finish())?;
    out.print(&format!(
        "{} messages, {} hosts, {}\n",
        report.messages,
        report.hosts.len(),
        if report.ok() {
            "all verified"
        } else {
            "DAMAGED"
        }
    ))
}

async fn status(broker: &Broker, out: &Out) -> Result<(), Failure> {
    let reader = broker.reader().await?;
    let seen = reader
        .seen()
        .await
        .map_err(|e| Failure::Error(e.to_string()))?;
    if out.json() {
        for s in &seen {
            out.json_line(s)?;
        }
        return Ok(());
    }
    let mut table = Table::new(&[
        "SUBJECT",
        "HOST",
        "STORE",
        "MESSAGES",
        "LAST SEQ",
        "LAST SEEN",
    ]);
    let rows = seen
        .iter()
        .map(|s| {
            vec![
                s.subject.clone(),
                s.host.clone().unwrap_or_else(|| "-".into()),
                s.store_id.clone().unwrap_or_else(|| "-".into()),
                s.messages.to_string(),
                s.seq.map_or_else(|| "-".into(), |q| q.to_string()),
                time(s.time),
            ]
        })
        .collect();
    out.print(&table.page(rows))?;
    out.print(&table.finish())
}
