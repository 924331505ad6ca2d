//! Appending behind the reading: a batch is redacted and made durable on
//! its own thread while the collector reads and matches the next one.
//!
//! At most one batch is in flight, and the next is handed over only once
//! the previous is known to be durable: a refused batch is never followed
//! by a later one of the same file (which would record a position past
//! lines that were not), and the collector rewinds to the log's positions
//! before it reads on.

use crate::intake::{Intake, admit};
use crate::state::Shared;
use std::sync::Arc;
use vigil_store::{Event, StoreError};

/// The appending thread and the batch it holds.
pub struct Appender {
    /// Test hook: appends to refuse, as a full disk would.
    #[cfg(test)]
    pub refuse: Arc<std::sync::atomic::AtomicU32>,
    batches: Option<flume::Sender<Vec<Event>>>,
    results: flume::Receiver<Result<(), StoreError>>,
    in_flight: bool,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Appender {
    /// Starts the thread (or appends in place when it cannot start).
    pub fn new(shared: Arc<Shared>) -> Appender {
        let (batches, to_append) = flume::bounded::<Vec<Event>>(1);
        let (answer, results) = flume::bounded(1);
        #[cfg(test)]
        let refuse = Arc::new(std::sync::atomic::AtomicU32::new(0));
        #[cfg(test)]
        let refusing = refuse.clone();
        let thread = std::thread::Builder::new()
            .name("vigil-logs-append".into())
            .spawn(move || {
                for batch in to_append {
                    let redactor = &shared.ingest.redactor;
                    let admitted: Vec<Event> = batch
                        .into_iter()
                        .map(|event| match event {
                            Event::Logs(logs) => admit(redactor, Intake::Logs(logs)).event,
                            other => other,
                        })
                        .collect();
                    #[cfg(test)]
                    if refusing
                        .fetch_update(
                            std::sync::atomic::Ordering::SeqCst,
                            std::sync::atomic::Ordering::SeqCst,
                            |n| n.checked_sub(1),
                        )
                        .is_ok()
                    {
                        let full =
                            StoreError::Engine("No space left on device (os error 28)".into());
                        if answer.send(Err(full)).is_err() {
                            return;
                        }
                        continue;
                    }
                    let result = shared.log.append_all(&admitted).map(|_| ());
                    if answer.send(result).is_err() {
                        return;
                    }
                }
            });
        match thread {
            Ok(thread) => Appender {
                #[cfg(test)]
                refuse,
                batches: Some(batches),
                results,
                in_flight: false,
                thread: Some(thread),
            },
            Err(e) => {
                tracing::error!("log collection cannot start its appending thread: {e}");
                Appender {
                    #[cfg(test)]
                    refuse,
                    batches: None,
                    results,
                    in_flight: false,
                    thread: None,
                }
            }
        }
    }

    /// Waits for the previous batch, then hands `events` over; the
    /// previous batch's refusal, if it was refused (then `events` is not
    /// appended).
    pub fn submit(&mut self, events: Vec<Event>) -> Result<(), StoreError> {
        self.settle()?;
        let Some(batches) = &self.batches else {
            return Err(StoreError::Closed);
        };
        batches.send(events).map_err(|_| StoreError::Closed)?;
        self.in_flight = true;
        Ok(())
    }

    /// Waits until the batch in flight, if any, is durable (or refused).
    pub fn settle(&mut self) -> Result<(), StoreError> {
        if !std::mem::take(&mut self.in_flight) {
            return Ok(());
        }
        self.results.recv().unwrap_or(Err(StoreError::Closed))
    }
}

impl Drop for Appender {
    fn drop(&mut self) {
        let _ = self.settle();
        self.batches = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
