//! The single writer: group commit, epoch advance, pruning, truncation,
//! and the record of its head (`seal.head`) at each epoch advance and stop.
//!
//! fjall is blocking and the daemon is async, so one thread owns the chain
//! head and the epoch key. Callers hand it prepared events over a bounded
//! queue (backpressure, not unbounded memory); it seals whatever is queued
//! into one batch, commits it, makes it durable with one fdatasync, and only
//! then answers every caller in the batch. Any storage error is fatal: the
//! writer answers with the error, records it, and stops, so nothing is ever
//! acknowledged that might not be on disk.
//!
//! A stopped writer (failed, or closed by [`Log::close`](crate::Log::close))
//! keeps its thread and goes on answering every request with the error until
//! the log is dropped and the queue disconnects. It must not leave earlier:
//! a request queued between its last look at the queue and the end of the
//! thread would sit in the channel, which the log's sender keeps alive, and
//! its caller would wait for an answer forever.

use crate::chain::Head;
use crate::entry::{self, Entry};
use crate::error::{Result, StoreError};
use crate::event::{BodiesPruned, Checkpoint, EpochStarted, Event, EventKind, SeqRange, ViewState};
use crate::hash::Hash;
use crate::head_file::{self, RecordedHead};
use crate::key_file;
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
}

#[derive(Default)]
pub(crate) struct StatCounters {
    commits: AtomicU64,
    entries: AtomicU64,
    syncs: AtomicU64,
}

impl StatCounters {
    pub fn snapshot(&self) -> WriterStats {
        WriterStats {
            commits: self.commits.load(Ordering::Relaxed),
            entries: self.entries.load(Ordering::Relaxed),
            syncs: self.syncs.load(Ordering::Relaxed),
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
    /// Longest wait for the callers of the last group to come back.
    pub linger: std::time::Duration,
    /// Callers in flight at the end of the last group commit: those it
    /// answered (who usually come straight back) and those already queued.
    pub last_group: usize,
    /// How long the last commit took (write and fsync).
    pub last_commit: std::time::Duration,
}

/// Requests of one group commit, with where to answer.
type Group = Vec<(Vec<Prepared>, Reply<Vec<Head>>)>;

impl Writer {
    /// Serves requests until every sender is gone (the log was dropped).
    ///
    /// After a storage failure or a shutdown the writer stops working but
    /// not receiving: it answers each request with the error. Only the
    /// disconnect ends the thread, and flume reports it once the queue is
    /// empty, so every request that made it into the queue is answered.
    pub fn run(mut self) {
        let mut stopped = false;
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
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    let _ = self
                        .published
                        .failed
                        .set(format!("the log writer panicked: {what}"));
                    true
                }
            };
        }
        // The log was dropped without a close: persist what is written.
        if !stopped {
            let result = self.persist_and_record();
            drop(self.fatal(result));
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

    /// Handles a non-append request; false means stop.
    fn handle(&mut self, request: Request) -> bool {
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

    /// Gathers queued appends into one batch; returns a non-append request
    /// that ended the gathering, to be handled after the commit.
    fn group_commit(&mut self, events: Vec<Prepared>, reply: Reply<Vec<Head>>) -> Option<Request> {
        let mut count = events.len();
        let mut group: Group = vec![(events, reply)];
        let mut pending = None;
        // Callers answered by the last commit usually come straight back;
        // lingering for every caller in flight turns alternating half-full
        // groups into full ones (one fsync instead of two). The wait is at
        // most half of what the last commit cost, and capped. A lone
        // appender is never delayed: it expects only itself.
        let expected = self.last_group;
        let linger = self.linger.min(self.last_commit / 2);
        let deadline = std::time::Instant::now() + linger;
        while count < self.max_batch {
            let next = match self.rx.try_recv() {
                Ok(request) => Ok(request),
                Err(_) if group.len() < expected => self.rx.recv_deadline(deadline).map_err(|_| ()),
                Err(_) => Err(()),
            };
            match next {
                Ok(Request::Append { events, reply }) => {
                    count += events.len();
                    group.push((events, reply));
                }
                Ok(other) => {
                    pending = Some(other);
                    break;
                }
                Err(()) => break,
            }
        }
        let sync = self.durability == Durability::Synced;
        let started = std::time::Instant::now();
        let committed = self.commit(
            group.iter_mut().map(|(events, _)| events.as_mut_slice()),
            sync,
        );
        self.last_commit = started.elapsed();
        self.last_group = group.len() + self.rx.len();
        match committed {
            Ok(mut receipts) => {
                for (events, reply) in group.into_iter().rev() {
                    let mine = receipts.split_off(receipts.len() - events.len());
                    drop(reply.send(Ok(mine)));
                }
            }
            Err(e) => {
                let reason = e.to_string();
                let _ = self.published.failed.set(reason.clone());
                for (_, reply) in group {
                    drop(reply.send(Err(StoreError::WriterFailed(reason.clone()))));
                }
            }
        }
        pending
    }

    /// Seals and writes a group as one atomic batch.
    fn commit<'a>(
        &mut self,
        groups: impl Iterator<Item = &'a mut [Prepared]>,
        sync: bool,
    ) -> Result<Vec<Head>> {
        let mut batch = self.db.batch();
        let mut head = self.head;
        let mut receipts = Vec::new();
        for events in groups {
            for p in events {
                let seal = head.seal_next(p.time, p.kind, p.digest, &self.key);
                let mut value = std::mem::take(&mut p.value);
                entry::write_header(&mut value, &seal, false);
                batch.insert(&self.log, entry::key(seal.seq), value);
                head = Head::from(&seal);
                receipts.push(head);
            }
        }
        batch.commit().map_err(StoreError::engine)?;
        let stats = &self.published.stats;
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats
            .entries
            .fetch_add(receipts.len() as u64, Ordering::Relaxed);
        if sync {
            self.db
                .persist(PersistMode::SyncData)
                .map_err(StoreError::engine)?;
            stats.syncs.fetch_add(1, Ordering::Relaxed);
        }
        self.head = head;
        self.published.set_head(head);
        Ok(receipts)
    }

    /// Appends one event durably, outside the request queue (creation, recovery).
    pub fn append_now(&mut self, event: &Event) -> Result<Head> {
        let mut p = [Prepared::new(event, crate::now_micros())];
        let receipts = self.commit(std::iter::once(&mut p[..]), true)?;
        Ok(receipts[0])
    }

    /// Evolves the key, durably replaces it on disk (erasing the old one),
    /// opens the epoch with an `EpochStarted` entry, and records the head.
    pub fn advance_epoch(&mut self, reason: &str) -> Result<Head> {
        let next = self.key.evolve();
        key_file::replace(&self.dir, &next)?;
        // The old key is zeroized as it drops here.
        self.key = next;
        let head = self.start_epoch(reason)?;
        self.record_head()?;
        Ok(head)
    }

    /// Records the head in `seal.head`. Only ever after the head is
    /// durable, so the record never runs ahead of the log.
    pub fn record_head(&self) -> Result<()> {
        head_file::write(&self.dir, &RecordedHead::from(&self.head))
    }

    /// Persists everything written, then records the head (a stop).
    fn persist_and_record(&self) -> Result<()> {
        self.db
            .persist(PersistMode::SyncAll)
            .map_err(StoreError::engine)?;
        self.record_head()
    }

    /// Appends the `EpochStarted` entry for the current key's epoch.
    pub fn start_epoch(&mut self, reason: &str) -> Result<Head> {
        let event = Event::EpochStarted(EpochStarted {
            epoch: self.key.epoch(),
            reason: reason.to_string(),
        });
        self.append_now(&event)
    }

    /// Brings the log to the key file's epoch after a crash between the key
    /// replacement and the `EpochStarted` entry. Any other mismatch means the
    /// key file or the log's tail was tampered with.
    pub fn reconcile_epoch(&mut self) -> Result<()> {
        let (file, log) = (self.key.epoch(), self.head.epoch);
        if file == log {
            Ok(())
        } else if file == log + 1 {
            self.start_epoch("recovered").map(drop)
        } else {
            Err(StoreError::Corrupt {
                path: self.dir.join(key_file::KEY_FILE),
                reason: format!(
                    "the sealing key is for epoch {file} but the newest entry is sealed in epoch {log}: \
                     the key file was replaced or the log's tail was removed; run verify with the verification key"
                ),
            })
        }
    }

    fn cut(&self) -> Option<Cut> {
        *self.published.cut.read().expect("cut lock")
    }

    fn read(&self, seq: u64) -> Result<Option<Entry>> {
        match self.log.get(entry::key(seq)).map_err(StoreError::engine)? {
            Some(value) => Entry::decode_value(seq, value).map(Some),
            None => Ok(None),
        }
    }

    /// Drops bodies, a chunk at a time. Each chunk is one atomic batch that
    /// first appends a sealed `BodiesPruned` entry naming the bodies it
    /// drops, so no body is ever missing without a record of why.
    fn prune(&mut self, mut seqs: Vec<u64>, reason: &str) -> Result<PruneOutcome> {
        seqs.sort_unstable();
        seqs.dedup();
        let floor = self.cut().map_or(0, |c| c.cut_seq);
        let mut outcome = PruneOutcome::default();
        for chunk in seqs.chunks(8192) {
            let mut dropped = Vec::new();
            for &seq in chunk {
                let entry = if seq <= floor { None } else { self.read(seq)? };
                let Some(entry) = entry else {
                    outcome.missing += 1;
                    continue;
                };
                if entry.is_pruned() {
                    outcome.already += 1;
                } else if matches!(
                    entry.kind(),
                    Some(
                        EventKind::Genesis
                            | EventKind::Epoch
                            | EventKind::Checkpoint
                            | EventKind::Retention
                    )
                ) {
                    outcome.protected += 1;
                } else {
                    dropped.push(entry);
                }
            }
            if dropped.is_empty() {
                continue;
            }
            let seqs: Vec<u64> = dropped.iter().map(Entry::seq).collect();
            let record = Event::BodiesPruned(BodiesPruned {
                ranges: SeqRange::collapse(&seqs),
                reason: reason.to_string(),
            });
            let mut p = Prepared::new(&record, crate::now_micros());
            let seal = self.head.seal_next(p.time, p.kind, p.digest, &self.key);
            entry::write_header(&mut p.value, &seal, false);
            let mut batch = self.db.batch();
            batch.insert(&self.log, entry::key(seal.seq), p.value);
            for e in &dropped {
                batch.insert(&self.log, entry::key(e.seq()), e.pruned_value());
            }
            batch.commit().map_err(StoreError::engine)?;
            self.db
                .persist(PersistMode::SyncData)
                .map_err(StoreError::engine)?;
            let stats = &self.published.stats;
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats.entries.fetch_add(1, Ordering::Relaxed);
            stats.syncs.fetch_add(1, Ordering::Relaxed);
            self.head = Head::from(&seal);
            self.published.set_head(self.head);
            outcome.pruned += dropped.len() as u64;
        }
        Ok(outcome)
    }

    /// Appends a checkpoint for the cut at `upto` and records the cut, in one
    /// atomic batch. Space is reclaimed later by compaction.
    fn truncate(&mut self, upto: u64, views: Vec<ViewState>) -> Result<Head> {
        let previous = self.cut();
        if upto == 0 || upto > self.head.seq {
            return Err(StoreError::InvalidRequest(format!(
                "cannot truncate up to seq {upto}: the log holds seqs up to {}",
                self.head.seq
            )));
        }
        if let Some(prev) = previous
            && upto <= prev.cut_seq
        {
            return Err(StoreError::InvalidRequest(format!(
                "the log is already truncated up to seq {}",
                prev.cut_seq
            )));
        }
        let at_cut = self.read(upto)?.ok_or_else(|| StoreError::Corrupt {
            path: self.dir.clone(),
            reason: format!("entry {upto} is missing below the head"),
        })?;
        let s = at_cut.seal();
        let event = Event::Checkpoint(Checkpoint {
            cut_seq: upto,
            cut_time: s.time,
            cut_epoch: s.epoch,
            cut_link: s.link,
            cut_tag: s.tag,
            previous: previous.map(|c| c.checkpoint_seq),
            views,
        });
        let mut p = Prepared::new(&event, crate::now_micros());
        let seal = self.head.seal_next(p.time, p.kind, p.digest, &self.key);
        entry::write_header(&mut p.value, &seal, false);
        let cut = Cut {
            cut_seq: upto,
            checkpoint_seq: seal.seq,
        };
        let mut batch = self.db.batch();
        batch.insert(&self.log, entry::key(seal.seq), p.value);
        batch.insert(
            &self.meta,
            CUT_KEY,
            postcard::to_allocvec(&cut).expect("encode cut"),
        );
        batch.commit().map_err(StoreError::engine)?;
        self.db
            .persist(PersistMode::SyncAll)
            .map_err(StoreError::engine)?;
        *self.published.cut.write().expect("cut lock") = Some(cut);
        self.published.cut_filter.store(upto, Ordering::SeqCst);
        self.head = Head::from(&seal);
        self.published.set_head(self.head);
        Ok(self.head)
    }
}
