//! The writer's work besides appends: epoch advance, the recorded head,
//! pruning and truncation. Each runs after the pipeline settled, so the
//! published head never goes back.

use super::{CUT_KEY, Cut, Prepared, PruneOutcome, Writer};
use crate::chain::Head;
use crate::entry::{self, Entry};
use crate::error::{Result, StoreError};
use crate::event::{BodiesPruned, Checkpoint, EpochStarted, Event, EventKind, SeqRange, ViewState};
use crate::head_file::{self, RecordedHead};
use crate::key_file;
use fjall::PersistMode;
use std::sync::atomic::Ordering;

impl Writer {
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
    pub(crate) fn record_head(&self) -> Result<()> {
        head_file::write(&self.dir, &RecordedHead::from(&self.head))
    }

    /// Persists everything written, then records the head (a stop).
    pub(super) fn persist_and_record(&self) -> Result<()> {
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
    pub(super) fn prune(&mut self, mut seqs: Vec<u64>, reason: &str) -> Result<PruneOutcome> {
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
    pub(super) fn truncate(&mut self, upto: u64, views: Vec<ViewState>) -> Result<Head> {
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
