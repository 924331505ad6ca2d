//! The single writer: group commit, epoch advance, pruning, truncation,
//! and the record of its head (`seal.head`) at each epoch advance and stop.
//!
//! fjall is blocking and the daemon is async, so one thread owns the chain
//! head and the epoch key. Callers hand it prepared events (encoded and
//! digested on their own threads) over a bounded queue (backpressure, not
//! unbounded memory); it seals whatever is queued into one batch and writes
//! it to the engine. Durable appends are pipelined ([`durable`]): while one
//! fdatasync runs, the writer seals and writes the next batches, and the
//! sync thread answers every caller of a batch, in order, only once an
//! fdatasync begun after its write has returned. Any storage error is
//! fatal: the error is recorded and answered, and the writer stops, so
//! nothing is ever acknowledged that might not be on disk.
//!
//! A stopped writer (failed, or closed by [`Log::close`](crate::Log::close))
//! keeps its thread and goes on answering every request with the error until
//! the log is dropped and the queue disconnects. It must not leave earlier:
//! a request queued between its last look at the queue and the end of the
//! thread would sit in the channel, which the log's sender keeps alive, and
//! its caller would wait for an answer forever.

mod durable;
mod group;
mod maintain;

use crate::chain::Head;
use crate::entry;
use crate::error::{Result, StoreError};
use crate::event::{Event, ViewState};
use crate::hash::Hash;
use crate::seal::EpochKey;
use fjall::{Database, Keyspace, PersistMode};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// When an append counts as done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// After fdatasync of the batch holding it (the default).
    #[default]
    Synced,
    /// After the batch reached the OS (survives a process crash, not power
    /// loss). For comparison and bulk loads; [`Log::sync`](crate::Log::sync) persists.
    Buffered,
}

/// Called by the writer after each durable commit with the new head.
pub type CommitListener = Arc<dyn Fn(&Head) + Send + Sync>;

/// The retention cut, as recorded in the `meta` keyspace under `cut`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    /// Entries `1..=cut_seq` are truncated.
    pub cut_seq: u64,
    /// The checkpoint entry describing the cut.
    pub checkpoint_seq: u64,
}

/// Meta key of the [`Cut`].
pub const CUT_KEY: &str = "cut";

/// What [`Log::prune`](crate::Log::prune) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneOutcome {
    /// Bodies dropped now.
    pub pruned: u64,
    /// Already without a body.
    pub already: u64,
    /// Kept because the chain needs them (genesis, epoch, checkpoint) or
    /// they account for other prunes (retention).
    pub protected: u64,
    /// Not in the log (truncated or beyond the head).
    pub missing: u64,
}

/// An event encoded and digested on the caller's thread, as a stored value
/// whose header the writer fills in once the entry is sealed.
pub(crate) struct Prepared {
    pub kind: u16,
    pub time: i64,
    pub value: Vec<u8>,
    pub digest: Hash,
}

impl Prepared {
    pub fn new(event: &Event, time: i64) -> Prepared {
        let mut reserved = Vec::with_capacity(entry::HEADER_LEN + 384);
        reserved.resize(entry::HEADER_LEN, 0);
        let value = event.encode_after(reserved);
        Prepared {
            kind: event.kind().code(),
            time,
            digest: Hash::sha256(&value[entry::HEADER_LEN..]),
            value,
        }
    }
}

pub(crate) type Reply<T> = flume::Sender<Result<T>>;

pub(crate) enum Request {
    Append {
        events: Vec<Prepared>,
        reply: Reply<Vec<Head>>,
    },
    AdvanceEpoch {
        reason: String,
        reply: Reply<Head>,
    },
    Prune {
        seqs: Vec<u64>,
        reason: String,
        reply: Reply<PruneOutcome>,
    },
    Truncate {
        upto: u64,
        views: Vec<ViewState>,
        reply: Reply<Head>,
    },
    Sync {
        reply: Reply<()>,
    },
    /// HMAC of bytes under the current epoch key (an export's header).
    Tag {
        bytes: Vec<u8>,
        reply: Reply<(u64, Hash)>,
    },
    /// Persist everything and stop accepting work ([`Log::close`](crate::Log::close)).
    Shutdown {
        reply: Reply<()>,
    },
}

/// Counters of the writer's work since the log was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterStats {
    /// Batches committed.
    pub commits: u64,
    /// Entries written.
    pub entries: u64,
    /// fdatasync/fsync calls.
    pub syncs: u64,
    // Where the time went, for benchmarks; not part of the control
    // protocol's status (they change with every request).
    /// Time spent sealing entries (chain link and tag), in nanoseconds.
    #[serde(skip)]
    pub seal_ns: u64,
    /// Time spent writing batches to the engine.
    #[serde(skip)]
    pub write_ns: u64,
    /// Time spent making batches durable (flush and fdatasync).
    #[serde(skip)]
    pub sync_ns: u64,
    /// Time spent publishing heads and answering callers.
    #[serde(skip)]
    pub wake_ns: u64,
}

#[derive(Default)]
pub(crate) struct StatCounters {
    commits: AtomicU64,
    entries: AtomicU64,
    syncs: AtomicU64,
    seal_ns: AtomicU64,
    write_ns: AtomicU64,
    sync_ns: AtomicU64,
    wake_ns: AtomicU64,
}

impl StatCounters {
    pub fn snapshot(&self) -> WriterStats {
        WriterStats {
            commits: self.commits.load(Ordering::Relaxed),
            entries: self.entries.load(Ordering::Relaxed),
            syncs: self.syncs.load(Ordering::Relaxed),
            seal_ns: self.seal_ns.load(Ordering::Relaxed),
            write_ns: self.write_ns.load(Ordering::Relaxed),
            sync_ns: self.sync_ns.load(Ordering::Relaxed),
            wake_ns: self.wake_ns.load(Ordering::Relaxed),
        }
    }
}

/// State the writer publishes to readers.
pub(crate) struct Published {
    pub stats: StatCounters,
    pub head: Mutex<Head>,
    pub cut: RwLock<Option<Cut>>,
    /// Highest truncated seq, read by the compaction filter.
    pub cut_filter: Arc<AtomicU64>,
    pub failed: OnceLock<String>,
    pub on_commit: Option<CommitListener>,
}

/// The failure a panic on the writer's threads is recorded as.
fn panicked(panic: &(dyn std::any::Any + Send)) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("the log writer panicked: {what}")
}

impl Published {
    fn set_head(&self, head: Head) {
        *self.head.lock().expect("head lock") = head;
        if let Some(listener) = &self.on_commit {
            listener(&head);
        }
    }
}

pub(crate) struct Writer {
    pub db: Database,
    pub log: Keyspace,
    pub meta: Keyspace,
    pub dir: PathBuf,
    pub head: Head,
    pub key: EpochKey,
    pub published: Arc<Published>,
    pub rx: flume::Receiver<Request>,
    pub durability: Durability,
    pub max_batch: usize,
    /// The durable half of group commit, while the writer runs with
    /// [`Durability::Synced`].
    pub pipeline: Option<durable::Pipeline>,
}

impl Writer {
    /// Serves requests until every sender is gone (the log was dropped).
    ///
    /// After a storage failure or a shutdown the writer stops working but
    /// not receiving: it answers each request with the error. Only the
    /// disconnect ends the thread, and flume reports it once the queue is
    /// empty, so every request that made it into the queue is answered.
    pub fn run(mut self) {
        let mut stopped = false;
        if self.durability == Durability::Synced {
            match durable::Pipeline::start(self.db.clone(), &self.dir, self.published.clone()) {
                Ok(pipeline) => self.pipeline = Some(pipeline),
                Err(e) => {
                    let _ = self.published.failed.set(e.to_string());
                    stopped = true;
                }
            }
        }
        while let Ok(request) = self.rx.recv() {
            if stopped {
                self.refuse(request);
                continue;
            }
            // A panic (a bug, or a commit listener's) must not end the thread
            // with requests queued: the writer records it as its failure and
            // answers the rest. The panicking request's reply is dropped, so
            // its caller gets the failure too.
            let handled =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle(request)));
            stopped = match handled {
                Ok(go_on) => !go_on || self.published.failed.get().is_some(),
                Err(panic) => {
                    let _ = self.published.failed.set(panicked(panic.as_ref()));
                    true
                }
            };
        }
        // The log was dropped without a close: persist what is written.
        if !stopped {
            let result = self.settle().and_then(|()| self.persist_and_record());
            drop(self.fatal(result));
        }
        // Answers whatever the sync thread still holds.
        drop(self.pipeline.take());
    }

    /// Waits until every batch written so far is durable and answered, so
    /// that what follows (a sync, a prune, a new epoch) publishes heads
    /// after theirs.
    fn settle(&self) -> Result<()> {
        match &self.pipeline {
            Some(pipeline) => pipeline.settle(),
            None => Ok(()),
        }
    }

    /// Answers a request reaching a stopped writer with why it stopped.
    fn refuse(&self, request: Request) {
        let err = || match self.published.failed.get() {
            Some(reason) => StoreError::WriterFailed(reason.clone()),
            None => StoreError::Closed,
        };
        match request {
            Request::Append { reply, .. } => drop(reply.send(Err(err()))),
            Request::AdvanceEpoch { reply, .. } | Request::Truncate { reply, .. } => {
                drop(reply.send(Err(err())))
            }
            Request::Prune { reply, .. } => drop(reply.send(Err(err()))),
            // Closing a stopped writer: it is already closed.
            Request::Shutdown { reply } => drop(reply.send(Ok(()))),
            Request::Sync { reply } => drop(reply.send(Err(err()))),
            Request::Tag { reply, .. } => drop(reply.send(Err(err()))),
        }
    }

    /// Handles a request; false means stop.
    fn handle(&mut self, request: Request) -> bool {
        if !matches!(request, Request::Append { .. })
            && let Err(e) = self.settle()
        {
            let _ = self.published.failed.set(e.to_string());
            self.refuse(request);
            return false;
        }
        match request {
            Request::Append { events, reply } => {
                if let Some(next) = self.group_commit(events, reply) {
                    if self.published.failed.get().is_some() {
                        self.refuse(next);
                        return false;
                    }
                    return self.handle(next);
                }
            }
            Request::AdvanceEpoch { reason, reply } => {
                let result = self.advance_epoch(&reason);
                drop(reply.send(self.fatal(result)));
            }
            Request::Prune {
                seqs,
                reason,
                reply,
            } => {
                let result = self.prune(seqs, &reason);
                drop(reply.send(self.fatal(result)));
            }
            Request::Truncate { upto, views, reply } => {
                let result = self.truncate(upto, views);
                drop(reply.send(self.fatal(result)));
            }
            Request::Sync { reply } => {
                let result = self
                    .db
                    .persist(PersistMode::SyncData)
                    .map_err(StoreError::engine);
                drop(reply.send(self.fatal(result)));
            }
            Request::Tag { bytes, reply } => {
                let tag = crate::seal::tag_bytes(&self.key, &bytes);
                drop(reply.send(Ok((self.key.epoch(), tag))));
            }
            Request::Shutdown { reply } => {
                let result = self.persist_and_record();
                drop(reply.send(self.fatal(result)));
                return false;
            }
        }
        true
    }

    /// Storage errors are fatal for the writer; invalid requests are not.
    fn fatal<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result
            && !matches!(e, StoreError::InvalidRequest(_))
        {
            let _ = self.published.failed.set(e.to_string());
        }
        result
    }
}
