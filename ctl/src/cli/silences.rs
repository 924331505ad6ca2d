//! `vigilctl silences …`: mute notifications for matching alerts.

use super::output::{Out, Table, time};
use super::{Failure, listing};
use super::{done, finish};
use clap::Subcommand;
use vigil_proto::Request;
use vigilctl::Client;

#[derive(Subcommand, Debug)]
pub enum SilencesCommand {
    /// Mute notifications for alerts matching every matcher; the alerts are
    /// still recorded.
    Add {
        /// `name=value`, `name!=value`, `name=~regex` or `name!~regex`
        /// (repeatable; at least one).
        #[arg(long = "matcher", value_name = "MATCHER", required = true)]
        matchers: Vec<String>,
        /// How long, e.g. `2h`, `30m`.
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
        /// Start later, e.g. `1h` (default: now).
        #[arg(long, value_parser = humantime::parse_duration)]
        starts_in: Option<std::time::Duration>,
        /// Why (recorded with your identity).
        #[arg(long)]
        comment: String,
    },
    /// Pending and active silences.
    List {
        /// Include silences that ended in the last 5 days.
        #[arg(long)]
        all: bool,
        /// At most this many (vigilctl says so on stderr when more match).
        #[arg(long)]
        limit: Option<u64>,
    },
    /// End a silence now.
    Expire {
        /// Silence id.
        id: String,
    },
}

/// Runs one `silences` command.
pub fn silences(client: &mut Client, command: SilencesCommand, out: &Out) -> Result<(), Failure> {
    match command {
        SilencesCommand::Add {
            matchers,
            duration,
            starts_in,
            comment,
        } => done(
            client,
            Request::silences_add(
                matchers,
                duration.as_secs(),
                starts_in.map(|d| d.as_secs()),
                comment,
            ),
            out,
        ),
        SilencesCommand::List { all, limit } => {
            let mut table =
                Table::new(&["ID", "STATE", "MATCHERS", "STARTS", "ENDS", "BY", "COMMENT"]);
            let request = Request::silences_list(all, limit);
            listing(
                client,
                request,
                out,
                "silences",
                "raise --limit",
                |silences| {
                    out.page(&silences, &mut table, |s| {
                        vec![
                            s.id.clone(),
                            s.state.to_string(),
                            s.matchers.join(" "),
                            time(s.starts_at),
                            time(s.ends_at),
                            s.created_by.clone(),
                            s.comment.clone(),
                        ]
                    })
                },
            )?;
            finish(out, &mut table)
        }
        SilencesCommand::Expire { id } => done(client, Request::silences_expire(id), out),
    }
}
