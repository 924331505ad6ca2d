//! The durable half of group commit: a thread that makes written batches
//! durable and answers their callers, while the writer seals and writes
//! the next ones.
//!
//! fjall holds its journal lock through `persist(SyncData)`, so a write
//! would wait for the fsync before it. Instead this thread flushes the
//! journal's buffer to the OS under the lock (quick), then fdatasyncs the
//! journal file through its own descriptor outside it. One fdatasync covers
//! everything the writer wrote before the flush, however many batches: a
//! batch handed over while a sync runs is covered by the next one.

use super::{Published, Reply};
use crate::chain::Head;
use crate::error::{Result, StoreError};
use fjall::{Database, PersistMode};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// A batch the writer committed to the engine, not yet durable.
pub(crate) struct Written {
    /// The head after the batch.
    pub head: Head,
    /// The head of every entry in the batch, in order.
    pub receipts: Vec<Head>,
    /// Each caller and how many of the receipts are theirs, in order.
    pub callers: Vec<(Reply<Vec<Head>>, usize)>,
}

impl Written {
    /// Answers every caller with their entries' heads.
    pub fn answer(self) {
        let mut receipts = self.receipts;
        for (reply, count) in self.callers.into_iter().rev() {
            let mine = receipts.split_off(receipts.len() - count);
            drop(reply.send(Ok(mine)));
        }
    }

    /// Answers every caller with the failure.
    pub fn refuse(self, reason: &str) {
        for (reply, _) in self.callers {
            drop(reply.send(Err(StoreError::WriterFailed(reason.to_string()))));
        }
    }
}

/// What the writer hands over.
pub(crate) enum Handoff {
    Written(Written),
    /// Answered once everything handed over before it is durable.
    Barrier(Reply<()>),
}

/// The running durable half.
pub(crate) struct Pipeline {
    tx: Option<flume::Sender<Handoff>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Pipeline {
    pub fn start(db: Database, dir: &Path, published: Arc<Published>) -> Result<Pipeline> {
        let (tx, rx) = flume::unbounded();
        let journal = JournalSync::new(dir.join(crate::layout::DB_DIR));
        let thread = std::thread::Builder::new()
            .name("vigil-log-sync".into())
            .spawn(move || run(rx, db, journal, published))
            .map_err(|e| StoreError::io("starting the log sync thread", e))?;
        Ok(Pipeline {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Hands a written batch over; false if the durable half is gone.
    pub fn hand(&self, written: Written) -> std::result::Result<(), Written> {
        let tx = self.tx.as_ref().expect("pipeline running");
        tx.send(Handoff::Written(written))
            .map_err(|flume::SendError(h)| match h {
                Handoff::Written(w) => w,
                Handoff::Barrier(_) => unreachable!("sent a batch"),
            })
    }

    /// Waits until everything handed over is durable and answered.
    pub fn settle(&self) -> Result<()> {
        let (reply, answer) = flume::bounded(1);
        let tx = self.tx.as_ref().expect("pipeline running");
        if tx.send(Handoff::Barrier(reply)).is_err() {
            return Err(StoreError::WriterFailed(
                "the log sync thread stopped".into(),
            ));
        }
        answer.recv().unwrap_or_else(|_| {
            Err(StoreError::WriterFailed(
                "the log sync thread stopped".into(),
            ))
        })
    }
}

impl Drop for Pipeline {
    /// Lets the thread answer what it holds, then joins it.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    rx: flume::Receiver<Handoff>,
    db: Database,
    mut journal: JournalSync,
    published: Arc<Published>,
) {
    // Waking the callers of a round overlaps with the next round's
    // fdatasync: the device is never idle while callers are being woken.
    let (answers, to_answer) = flume::unbounded::<Vec<Answer>>();
    let stats = published.clone();
    let answerer = std::thread::Builder::new()
        .name("vigil-log-answer".into())
        .spawn(move || {
            for round in to_answer {
                let started = Instant::now();
                round.into_iter().for_each(Answer::give);
                stats
                    .stats
                    .wake_ns
                    .fetch_add(nanos(started), Ordering::Relaxed);
            }
        });
    let answerer = match answerer {
        Ok(thread) => Some(thread),
        Err(e) => {
            let reason = StoreError::io("starting the log answer thread", e).to_string();
            let _ = published.failed.set(reason);
            None
        }
    };
    let mut failed: Option<String> = published.failed.get().cloned();
    while let Ok(first) = rx.recv() {
        // Everything taken here was written before the flush below.
        let mut round = vec![first];
        round.extend(rx.try_iter());
        if failed.is_none() {
            let started = Instant::now();
            let synced = journal.sync(&db);
            let stats = &published.stats;
            stats.sync_ns.fetch_add(nanos(started), Ordering::Relaxed);
            stats.syncs.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = synced {
                let reason = e.to_string();
                let _ = published.failed.set(reason.clone());
                failed = Some(reason);
            }
        }
        let newest = round.iter().rev().find_map(|h| match h {
            Handoff::Written(w) => Some(w.head),
            Handoff::Barrier(_) => None,
        });
        if let (Some(head), None) = (newest, &failed) {
            // A panicking commit listener fails the log, as on the writer's
            // thread; the callers of this round are refused.
            let published_head =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| published.set_head(head)));
            if let Err(panic) = published_head {
                let reason = super::panicked(panic.as_ref());
                let _ = published.failed.set(reason.clone());
                failed = Some(reason);
            }
        }
        let round: Vec<Answer> = round
            .into_iter()
            .map(|handoff| Answer::of(handoff, failed.as_deref()))
            .collect();
        if let Err(flume::SendError(round)) = answers.send(round) {
            // No answer thread: answer here.
            round.into_iter().for_each(Answer::give);
        }
    }
    drop(answers);
    if let Some(thread) = answerer {
        let _ = thread.join();
    }
}

/// What a caller is told once a round is settled.
enum Answer {
    Heads(Written),
    Refused(Written, String),
    Barrier(Reply<()>, Option<String>),
}

impl Answer {
    fn of(handoff: Handoff, failed: Option<&str>) -> Answer {
        match (handoff, failed) {
            (Handoff::Written(w), None) => Answer::Heads(w),
            (Handoff::Written(w), Some(reason)) => Answer::Refused(w, reason.to_string()),
            (Handoff::Barrier(reply), failed) => Answer::Barrier(reply, failed.map(str::to_string)),
        }
    }

    fn give(self) {
        match self {
            Answer::Heads(w) => w.answer(),
            Answer::Refused(w, reason) => w.refuse(&reason),
            Answer::Barrier(reply, None) => drop(reply.send(Ok(()))),
            Answer::Barrier(reply, Some(reason)) => {
                drop(reply.send(Err(StoreError::WriterFailed(reason))))
            }
        }
    }
}

pub(crate) fn nanos(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// fdatasync of the engine's active journal without its lock.
///
/// fjall keeps its journals as `<n>.jnl` in the database directory and
/// writes only to the newest. Before it starts journal `n + 1` it fsyncs
/// journal `n` (`sync_all`), so once a newer journal exists every older one
/// is durable: syncing the newest journal found *after* the flush covers
/// whatever the flush wrote, wherever it went. If no journal is found (a
/// future layout), it falls back to the engine's own sync.
pub(crate) struct JournalSync {
    dir: PathBuf,
    active: Option<(u64, File)>,
}

impl JournalSync {
    pub fn new(dir: PathBuf) -> JournalSync {
        JournalSync { dir, active: None }
    }

    /// Makes everything written to the engine before the call durable.
    pub fn sync(&mut self, db: &Database) -> Result<()> {
        db.persist(PersistMode::Buffer)
            .map_err(StoreError::engine)?;
        match self.newest()? {
            Some(file) => file
                .sync_data()
                .map_err(|e| StoreError::io("syncing the log's journal", e)),
            None => db
                .persist(PersistMode::SyncData)
                .map_err(StoreError::engine),
        }
    }

    /// The newest journal, opened once per journal.
    fn newest(&mut self) -> Result<Option<&File>> {
        // Journals are numbered in order, so one stat tells whether the
        // open one is still the newest; the directory is listed only when not.
        if let Some((id, _)) = &self.active
            && !self.dir.join(format!("{}.jnl", id + 1)).exists()
        {
            return Ok(self.active.as_ref().map(|(_, file)| file));
        }
        let Some((id, path)) = newest_journal(&self.dir)? else {
            return Ok(None);
        };
        if self.active.as_ref().is_none_or(|(open, _)| *open != id) {
            let file =
                File::open(&path).map_err(|e| StoreError::io("opening the log's journal", e))?;
            self.active = Some((id, file));
        }
        Ok(self.active.as_ref().map(|(_, file)| file))
    }
}

/// The highest-numbered `<n>.jnl` in `dir`.
pub(crate) fn newest_journal(dir: &Path) -> Result<Option<(u64, PathBuf)>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| StoreError::io("listing the log's journals", e))?;
    let mut newest: Option<(u64, PathBuf)> = None;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("listing the log's journals", e))?;
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".jnl"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if newest.as_ref().is_none_or(|(best, _)| id > *best) {
            newest = Some((id, entry.path()));
        }
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fjall::KeyspaceCreateOptions;

    /// Pins the engine's journal layout this module relies on: if a new
    /// fjall named or placed its journals differently, syncing would fall
    /// back to the engine's own (slower, still durable) path.
    #[test]
    fn the_newest_journal_is_the_one_the_engine_writes_to() {
        let tmp = tempfile::tempdir().unwrap();
        let db = Database::builder(tmp.path()).open().unwrap();
        let ks = db.keyspace("log", KeyspaceCreateOptions::default).unwrap();
        ks.insert("a", "1").unwrap();
        let mut sync = JournalSync::new(tmp.path().to_path_buf());
        sync.sync(&db).unwrap();
        let (first, path) = newest_journal(tmp.path()).unwrap().unwrap();
        assert!(std::fs::read(&path).unwrap().windows(1).any(|w| w == b"1"));
        // The engine starts a new journal once the current one passes 64 MiB
        // (random filler, so compression cannot shrink it).
        let mut filler = vec![0u8; 1 << 20];
        for _ in 0..66 {
            getrandom::fill(&mut filler).unwrap();
            ks.insert("filler", filler.as_slice()).unwrap();
        }
        ks.insert("b", "journal-two").unwrap();
        sync.sync(&db).unwrap();
        let (second, path) = newest_journal(tmp.path()).unwrap().unwrap();
        assert!(second > first, "{second} after {first}");
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.windows(11).any(|w| w == b"journal-two"));
        assert_eq!(sync.active.as_ref().map(|(id, _)| *id), Some(second));
    }
}
