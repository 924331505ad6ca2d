//! Forwarding a range of a log: batches read and rendered on the blocking
//! pool while the previous batch is published, so the broker is not kept
//! waiting on the log. The daemon's forwarder and the benchmark run this.

use crate::error::FleetError;
use crate::publish::{Acked, Outgoing, Publisher, Window};
use vigil_store::Log;

/// A batch being read in the background.
type ReadAhead = tokio::task::JoinHandle<Result<Vec<Outgoing>, FleetError>>;

/// Entries `from..=to` of `log`, ready to go (on the blocking pool).
fn read(log: &Log, from: u64, to: u64) -> ReadAhead {
    let log = log.clone();
    tokio::task::spawn_blocking(move || {
        let entries = log
            .entries_between(from, to)
            .map(|e| e.map(|e| Outgoing::of(&e)))
            .collect::<Result<Vec<_>, _>>()?;
        if entries.first().map(|e| e.seq) != Some(from) {
            return Err(FleetError::Truncated { from });
        }
        Ok(entries)
    })
}

/// Publishes entries `next..=last` of `log` in batches of `batch`, at most
/// `in_flight` awaiting acknowledgement, calling `acked` after each batch
/// with the last entry acknowledged. Returns the next seq to forward. On an
/// error, everything acknowledged before it was reported to `acked`.
pub async fn forward_range(
    publisher: &Publisher,
    log: &Log,
    mut next: u64,
    last: u64,
    batch: usize,
    in_flight: usize,
    mut acked: impl FnMut(Acked),
) -> Result<u64, FleetError> {
    let span = batch.max(1) as u64;
    let mut window = Window::new(publisher, in_flight);
    let mut reported = None;
    let mut report = |window: &Window<'_>, acked: &mut dyn FnMut(Acked)| {
        if window.acked() != reported {
            reported = window.acked();
            if let Some(a) = reported {
                acked(a);
            }
        }
    };
    let mut ahead = (next <= last).then(|| read(log, next, last.min(next + span - 1)));
    while let Some(reading) = ahead.take() {
        let entries = match reading.await {
            Ok(Ok(entries)) => entries,
            Ok(Err(e)) => {
                report(&window, &mut acked);
                return Err(e);
            }
            Err(e) => {
                report(&window, &mut acked);
                return Err(FleetError::Config(format!("reading the log: {e}")));
            }
        };
        let after = entries.last().map_or(next, |e| e.seq + 1);
        if after <= last {
            ahead = Some(read(log, after, last.min(after + span - 1)));
        }
        for entry in &entries {
            if let Err(e) = window.push(entry).await {
                report(&window, &mut acked);
                return Err(e);
            }
        }
        report(&window, &mut acked);
    }
    let drained = window.drain().await;
    report(&window, &mut acked);
    drained?;
    if let Some(a) = window.acked() {
        next = a.seq + 1;
    }
    Ok(next)
}
