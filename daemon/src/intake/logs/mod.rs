//! Log collection: the files of `[[collect.logs]]` (and the journal of
//! `[[collect.journal]]`), followed exactly once.
//!
//! * Each batch of lines is one durable append holding the events its
//!   lines produced and the position after them: a kill -9 at any moment
//!   neither loses nor repeats a line ([`collector`]).
//! * A file is known by device, inode and a hash of its first bytes, and
//!   a position by a hash of the bytes before it ([`position`]); rotation,
//!   truncation, deletion and links are followed or refused ([`tail`]).
//! * Lines longer than `max_line_bytes` are cut and flagged, never held
//!   whole ([`lines`]); rules, thresholds and alerts are [`matcher`]'s.

mod appender;
mod collector;
mod journal;
mod lines;
mod matcher;
mod open;
mod position;
mod source;
mod tail;
mod wake;

use crate::state::Shared;
use collector::{Collector, Input};
use std::sync::Arc;

/// Runs log collection until vigild stops.
/// `store_error` says why the log refuses its appends, while it does.
pub async fn run(shared: Arc<Shared>, store_error: tokio::sync::watch::Sender<Option<String>>) {
    let (send, inputs) = flume::unbounded();
    let collector = {
        let (shared, send) = (shared.clone(), send.clone());
        tokio::task::spawn_blocking(move || Collector::new(shared, inputs, send, store_error)).await
    };
    let Ok(collector) = collector else {
        tracing::error!("log collection cannot start");
        return;
    };
    let thread = match std::thread::Builder::new()
        .name("vigil-logs".into())
        .spawn(move || collector.run())
    {
        Ok(thread) => thread,
        Err(e) => {
            tracing::error!("log collection cannot start its thread: {e}");
            return;
        }
    };
    let mut shutdown = shared.shutdown.clone();
    let _ = shutdown.changed().await;
    let _ = send.send(Input::Stop);
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
}
