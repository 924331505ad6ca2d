//! `vigilctl secrets …`. Values come from stdin or a no-echo prompt, never
//! from the command line (argv is readable by every local user).

use super::output::{Out, Table, time};
use super::{Failure, listing_with_header};
use clap::Subcommand;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use vigil_proto::{Call, Request, WireSecret};
use vigilctl::Client;

use vigil_store::vault::MAX_VALUE;

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Store a secret: the value is read from stdin, or prompted for
    /// without echo on a terminal. Replaces any previous value.
    Set {
        /// Name (A-Z a-z 0-9 . _ -); reference it in vigil.toml as `secret:NAME`.
        name: String,
    },
    /// Secrets' names, data keys, dates and users; never values.
    List {
        /// At most this many, by name (vigilctl says so on stderr when more
        /// exist).
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Delete a secret (refused while the configuration references it).
    Delete {
        /// Name.
        name: String,
        /// Delete even while referenced.
        #[arg(long)]
        force: bool,
    },
    /// New data key; every secret re-encrypted; unused data keys erased.
    Rotate,
    /// Re-wrap the keyring under a new master key.
    Rewrap {
        /// File with the new key (32 bytes or 64 hex digits), readable by
        /// the daemon's user only (mode 0600 or 0400).
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
}

/// Reads the value: a prompt on a terminal, else all of stdin minus one
/// trailing newline.
fn read_value(name: &str) -> Result<WireSecret, Failure> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("value for {name} (not echoed): "))?
    } else {
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(MAX_VALUE as u64 + 2)
            .read_to_end(&mut bytes)?;
        let mut text = String::from_utf8(bytes)
            .map_err(|_| Failure::Error("the value on stdin is not UTF-8".into()))?;
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        text
    };
    let value = WireSecret::new(value);
    if value.is_empty() {
        return Err(Failure::Error(format!(
            "no value for {name}: pipe it on stdin (e.g. `vigilctl secrets set {name} < file`)"
        )));
    }
    if value.len() > MAX_VALUE {
        return Err(Failure::Error(format!(
            "the value for {name} is over {MAX_VALUE} bytes"
        )));
    }
    Ok(value)
}

fn changed(client: &mut Client, call: Call<String>, out: &Out) -> Result<(), Failure> {
    out.message(&client.ask(call)?)
}

/// Runs one `secrets` command.
pub fn run(client: &mut Client, command: SecretsCommand, out: &Out) -> Result<(), Failure> {
    match command {
        SecretsCommand::Set { name } => {
            let value = read_value(&name)?;
            changed(client, Request::secrets_set(name, value), out)
        }
        SecretsCommand::List { limit } => {
            let mut table = Table::new(&["NAME", "DATA KEY", "CREATED", "UPDATED", "USED BY"]);
            let mut source = None;
            listing_with_header(
                client,
                Request::secrets_list(limit),
                out,
                "secrets",
                "raise --limit",
                |master_key| source = Some(master_key),
                |secrets| {
                    out.page(&secrets, &mut table, |s| {
                        vec![
                            s.name.clone(),
                            s.key_id.to_string(),
                            time(s.created),
                            time(s.updated),
                            if s.used_by.is_empty() {
                                "-".into()
                            } else {
                                s.used_by.join(", ")
                            },
                        ]
                    })
                },
            )?;
            if out.json() {
                return Ok(());
            }
            let mut text = table.finish();
            text.push_str(&match source.flatten() {
                Some(source) => format!("master key: {source}\n"),
                None => "no master key: secrets cannot be stored\n".into(),
            });
            out.print(&text)
        }
        SecretsCommand::Delete { name, force } => {
            changed(client, Request::secrets_delete(name, force), out)
        }
        SecretsCommand::Rotate => changed(client, Request::secrets_rotate(), out),
        SecretsCommand::Rewrap { new_key_file } => {
            // The daemon reads the file, so the path must be absolute.
            let new_key_file = std::path::absolute(&new_key_file)?;
            changed(client, Request::secrets_rewrap(new_key_file), out)
        }
    }
}
