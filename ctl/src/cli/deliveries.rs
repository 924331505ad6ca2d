//! `vigilctl deliveries …` and `vigilctl notify …`: what the notifier sent,
//! is still trying, or gave up on; and a test notification to a receiver.

use super::incidents::done;
use super::output::{Out, table};
use super::{Failure, unexpected};
use clap::Subcommand;
use std::time::Duration;
use vigilctl::{Client, DeliveryListing, DeliveryTotals, Request, Response};

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
        /// How many (default 100, at most 10000).
        #[arg(long)]
        limit: Option<u32>,
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
        None => d.cause.clone(),
    }
}

fn rows(deliveries: &[DeliveryListing]) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        "ID".into(),
        "RECEIVER".into(),
        "INTEGRATION".into(),
        "STATE".into(),
        "ATTEMPTS".into(),
        "ALERTS/FIRING".into(),
        "CAUSE".into(),
        "UPDATED".into(),
        "DETAIL".into(),
    ]];
    for d in deliveries {
        rows.push(vec![
            d.id.clone(),
            d.receiver.clone(),
            d.integration.clone(),
            d.state.clone(),
            d.attempts.to_string(),
            format!("{}/{}", d.alerts, d.firing),
            cause(d),
            age(d.updated_at),
            // One line per delivery, whatever the receiver answered.
            d.detail.replace(['\n', '\r'], " "),
        ]);
    }
    rows
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
        } => match client.call(&Request::DeliveriesList {
            state,
            receiver,
            limit,
        })? {
            Response::Deliveries { deliveries, totals } => {
                if out.json() {
                    return deliveries.iter().try_for_each(|d| out.json_line(d));
                }
                out.print(&format!(
                    "{}{}",
                    table(&rows(&deliveries)),
                    totals_line(&totals)
                ))
            }
            other => Err(unexpected(&other)),
        },
    }
}

/// Runs one `notify` command.
pub fn notify(client: &mut Client, command: NotifyCommand, out: &Out) -> Result<(), Failure> {
    match command {
        NotifyCommand::Test { receiver } => done(client, &Request::NotifyTest { receiver }, out),
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
            state: "failed".into(),
            attempts: 2,
            alerts: 3,
            firing: 1,
            cause: "fallback".into(),
            fallback_for: Some("ntf_0-1".into()),
            created_at: 0,
            updated_at: 0,
            detail: "HTTP 503\n(retry in 20s)".into(),
        }
    }

    #[test]
    fn a_delivery_is_one_row_with_every_column() {
        let rows = rows(&[listing()]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].len(), rows[1].len());
        let row = &rows[1];
        assert_eq!(row[3], "failed");
        assert_eq!(row[5], "3/1");
        assert_eq!(row[6], "fallback for ntf_0-1");
        assert!(row[7].ends_with(" ago"), "{}", row[7]);
        assert_eq!(row[8], "HTTP 503 (retry in 20s)");
        assert_eq!(table(&rows).lines().count(), 2);
    }
}
