//! Group commit: what is queued becomes one sealed batch, written to the
//! engine at once and handed to the durable half, or answered at once when
//! appends are buffered.
//!
//! The writer never waits for more callers: while an fdatasync runs, the
//! batches written meanwhile queue up behind it and the next fdatasync
//! covers them all, so groups grow with the load by themselves and a lone
//! appender is never delayed.

use super::durable::{Written, nanos};
use super::{Prepared, Reply, Request, Writer};
use crate::chain::Head;
use crate::entry;
use crate::error::{Result, StoreError};
use crate::event::Event;
use fjall::PersistMode;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Requests of one group commit, with where to answer.
type Group = Vec<(Vec<Prepared>, Reply<Vec<Head>>)>;

impl Writer {
    /// Writes the queued appends as one batch; returns a non-append request
    /// that ended the gathering, to be handled after it.
    pub(super) fn group_commit(
        &mut self,
        events: Vec<Prepared>,
        reply: Reply<Vec<Head>>,
    ) -> Option<Request> {
        let mut count = events.len();
        let mut group: Group = vec![(events, reply)];
        let mut pending = None;
        while count < self.max_batch {
            match self.rx.try_recv() {
                Ok(Request::Append { events, reply }) => {
                    count += events.len();
                    group.push((events, reply));
                }
                Ok(other) => {
                    pending = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        let written = self.write(group.iter_mut().map(|(events, _)| events.as_mut_slice()));
        let callers: Vec<_> = group
            .into_iter()
            .map(|(events, reply)| (reply, events.len()))
            .collect();
        let receipts = match written {
            Ok(receipts) => receipts,
            Err(e) => {
                let reason = e.to_string();
                let _ = self.published.failed.set(reason.clone());
                for (reply, _) in callers {
                    drop(reply.send(Err(StoreError::WriterFailed(reason.clone()))));
                }
                return pending;
            }
        };
        let written = Written {
            head: self.head,
            receipts,
            callers,
        };
        match &self.pipeline {
            Some(pipeline) => {
                if let Err(written) = pipeline.hand(written) {
                    let reason = "the log sync thread stopped";
                    let _ = self.published.failed.set(reason.into());
                    written.refuse(reason);
                }
            }
            // Buffered: the batch reached the OS, which is all that is promised.
            None => {
                let started = Instant::now();
                self.published.set_head(written.head);
                written.answer();
                let stats = &self.published.stats;
                stats.wake_ns.fetch_add(nanos(started), Ordering::Relaxed);
            }
        }
        pending
    }

    /// Seals and writes events as one atomic batch. The writer's head
    /// moves; nothing is durable or published yet.
    fn write<'a>(&mut self, groups: impl Iterator<Item = &'a mut [Prepared]>) -> Result<Vec<Head>> {
        let started = Instant::now();
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
        let sealed = Instant::now();
        batch.commit().map_err(StoreError::engine)?;
        let stats = &self.published.stats;
        let seal_ns = u64::try_from((sealed - started).as_nanos()).unwrap_or(u64::MAX);
        stats.seal_ns.fetch_add(seal_ns, Ordering::Relaxed);
        stats.write_ns.fetch_add(nanos(sealed), Ordering::Relaxed);
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats
            .entries
            .fetch_add(receipts.len() as u64, Ordering::Relaxed);
        self.head = head;
        Ok(receipts)
    }

    /// Appends one event durably, outside the request queue and the
    /// pipeline (creation, recovery, a new epoch after the pipeline settled).
    pub fn append_now(&mut self, event: &Event) -> Result<Head> {
        let mut p = [Prepared::new(event, crate::now_micros())];
        let receipts = self.write(std::iter::once(&mut p[..]))?;
        self.db
            .persist(PersistMode::SyncData)
            .map_err(StoreError::engine)?;
        self.published.stats.syncs.fetch_add(1, Ordering::Relaxed);
        self.published.set_head(self.head);
        Ok(receipts[0])
    }
}
