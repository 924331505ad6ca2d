//! `vigilctl deliveries …` and `vigilctl notify …`: what the notifier sent,
//! is still trying, or gave up on; and a test notification to a receiver.

use super::done;
use super::output::{Out, Table};
use super::{Failure, listing_with_header};
use clap::Subcommand;
use std::time::Duration;
use vigil_proto::{
    DELIVERIES_DEFAULT_LIMIT, DeliveryFilter, DeliveryListing, DeliveryTotals, Request,
};
use vigilctl::Client;

#[derive(Subcommand, Debug)]
pub enum DeliveriesCommand {
    /// Deliveries, newest first: one per notification and integration.
    List {
        /// pending (intended, attempting or failed), intended, attempting,
        /// sent, failed or given_up.
        #[arg(long)]
        state: Option<String>,
        /// Only this receiver.
        #[arg(long)]
        receiver: Option<String>,
        /// How many, newest first (vigilctl says so on stderr when more
        /// match).
        #[arg(long, default_value_t = DELIVERIES_DEFAULT_LIMIT, conflicts_with = "all")]
        limit: u64,
        /// Every matching delivery.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// Send a test notification to a receiver through every integration it
    /// has (recorded, retried and listed like any other).
    Test {
        /// Receiver name, as in `[[notify.receivers]]`.
        receiver: String,
    },
}

/// "3m 20s ago" for a time in UTC micros.
fn age(micros: i64) -> String {
    let secs =
        u64::try_from(vigil_store::now_micros().saturating_sub(micros) / 1_000_000).unwrap_or(0);
    format!(
        "{} ago",
        humantime::format_duration(Duration::from_secs(secs))
    )
}

fn cause(d: &DeliveryListing) -> String {
    match &d.fallback_for {
        Some(original) => format!("{} for {original}", d.cause),
        None => d.cause.to_string(),
    }
}

const HEADER: [&str; 9] = [
    "ID",
    "RECEIVER",
    "INTEGRATION",
    "STATE",
    "ATTEMPTS",
    "ALERTS/FIRING",
    "CAUSE",
    "UPDATED",
    "DETAIL",
];

fn row(d: &DeliveryListing) -> Vec<String> {
    vec![
        d.id.clone(),
        d.receiver.clone(),
        d.integration.clone(),
        d.state.to_string(),
        d.attempts.to_string(),
        format!("{}/{}", d.alerts, d.firing),
        cause(d),
        age(d.updated_at),
        // One line per delivery, whatever the receiver answered.
        d.detail.replace(['\n', '\r'], " "),
    ]
}

fn totals_line(t: &DeliveryTotals) -> String {
    format!(
        "{} pending, {} sent, {} given up, {} failed attempts ({} deliveries intended since the log began)\n",
        t.pending, t.sent, t.given_up, t.failed_attempts, t.intended
    )
}

/// Runs one `deliveries` command.
pub fn deliveries(
    client: &mut Client,
    command: DeliveriesCommand,
    out: &Out,
) -> Result<(), Failure> {
    match command {
        DeliveriesCommand::List {
            state,
            receiver,
            limit,
            all,
        } => {
            let state = state
                .map(|s| {
                    s.parse::<DeliveryFilter>().map_err(|e| {
                        Failure::Error(format!(
                            "--state `{s}` is not a delivery state; use one of {}",
                            e.allowed.join(", ")
                        ))
                    })
                })
                .transpose()?;
            let mut table = Table::new(&HEADER);
            let mut totals = None;
            listing_with_header(
                client,
                Request::deliveries_list(state, receiver, (!all).then_some(limit)),
                out,
                "deliveries",
                "raise --limit, or pass --all",
                |t| totals = Some(t),
                |deliveries| out.page(&deliveries, &mut table, row),
            )?;
            if out.json() {
                return Ok(());
            }
            let totals =
                totals.ok_or_else(|| Failure::Error("vigild sent no delivery totals".into()))?;
            out.print(&format!("{}{}", table.finish(), totals_line(&totals)))
        }
    }
}

/// Runs one `notify` command.
pub fn notify(client: &mut Client, command: NotifyCommand, out: &Out) -> Result<(), Failure> {
    match command {
        NotifyCommand::Test { receiver } => done(client, Request::notify_test(receiver), out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing() -> DeliveryListing {
        DeliveryListing {
            id: "ntf_1-0".into(),
            notification: "ntf_1".into(),
            intent_seq: 9,
            receiver: "ops".into(),
            integration: "webhook/0".into(),
            state: vigil_store::DeliveryState::Failed,
            attempts: 2,
            alerts: 3,
            firing: 1,
            cause: vigil_proto::DeliveryCause::Fallback,
            fallback_for: Some("ntf_0-1".into()),
            created_at: 0,
            updated_at: 0,
            detail: "HTTP 503\n(retry in 20s)".into(),
        }
    }

    #[test]
    fn a_delivery_is_one_row_with_every_column() {
        let row = &row(&listing());
        assert_eq!(row.len(), HEADER.len());
        assert_eq!(row[3], "failed");
        assert_eq!(row[5], "3/1");
        assert_eq!(row[6], "fallback for ntf_0-1");
        assert!(row[7].ends_with(" ago"), "{}", row[7]);
        assert_eq!(row[8], "HTTP 503 (retry in 20s)");
        let mut table = Table::new(&HEADER);
        assert_eq!(table.page(vec![row.clone()]).lines().count(), 2);
        assert_eq!(table.finish(), "", "the header came with the first page");
    }
}
