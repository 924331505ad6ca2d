//! Writing an export: [`plan`] picks the range, [`Exporter`] writes it.

use super::lines::{
    Before, EXPORT_VERSION, EntryOut, ExportFilter, ExportHeader, Record, Trailer, kind_label,
};
use crate::entry::Entry;
use crate::error::{Result, StoreError};
use crate::event::Event;
use crate::hash::Hash;
use crate::log::{Log, now_micros};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::io::Write;

/// Which entries an export covers; every bound is optional and they combine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportRange {
    /// First seq.
    pub from: Option<u64>,
    /// Last seq.
    pub to: Option<u64>,
    /// First time (UTC micros): entries at or after it.
    pub since: Option<i64>,
    /// Last time (UTC micros): entries at or before it.
    pub until: Option<i64>,
}

/// Resolves `range` against the log as it is now into the header of an
/// export: the seqs it covers (clamped to what is retained, never past the
/// head) and the entry before them. Writes nothing.
pub fn plan(
    log: &Log,
    range: &ExportRange,
    filter: ExportFilter,
    software: &str,
) -> Result<ExportHeader> {
    let head = log.head();
    let mut first = range.from.unwrap_or(1).max(log.first_seq());
    if let Some(since) = range.since {
        first = first.max(first_at_or_after(log, since)?);
    }
    let mut last = range.to.unwrap_or(u64::MAX).min(head.seq);
    if let Some(until) = range.until {
        let after = first_at_or_after(log, until.saturating_add(1))?;
        last = last.min(after - 1);
    }
    first = first.min(head.seq + 1);
    if last < first {
        last = first - 1;
    }
    Ok(ExportHeader {
        record: Record::Header,
        version: EXPORT_VERSION,
        store_id: log.store_id(),
        store_format: log.format(),
        software: software.to_string(),
        exported_at: now_micros(),
        first,
        last,
        before: before(log, first)?,
        head,
        filter,
        key_fingerprint: log.key_fingerprint()?,
    })
}

/// The first retained seq whose time is at or after `time` (head + 1 if none).
/// Times never decrease along the chain, so this is a binary search.
fn first_at_or_after(log: &Log, time: i64) -> Result<u64> {
    let (mut lo, mut hi) = (log.first_seq(), log.head().seq + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match log.get(mid)? {
            Some(e) if e.time() >= time => hi = mid,
            // Gone meanwhile (truncated): it was older still.
            _ => lo = mid + 1,
        }
    }
    Ok(lo)
}

/// The chain fields entry `first` links to.
fn before(log: &Log, first: u64) -> Result<Option<Before>> {
    if first <= 1 {
        return Ok(None);
    }
    let seq = first - 1;
    if let Some(cut) = log.cut()
        && cut.cut_seq == seq
    {
        let checkpoint = log
            .get(cut.checkpoint_seq)?
            .and_then(|e| e.event().ok().flatten());
        let Some(Event::Checkpoint(cp)) = checkpoint else {
            return Err(StoreError::Corrupt {
                path: log.path().to_path_buf(),
                reason: format!(
                    "the retention cut names checkpoint entry {}, which is not a readable checkpoint",
                    cut.checkpoint_seq
                ),
            });
        };
        return Ok(Some(Before {
            seq: cp.cut_seq,
            time: cp.cut_time,
            epoch: cp.cut_epoch,
            link: cp.cut_link,
            tag: cp.cut_tag,
        }));
    }
    match log.get(seq)? {
        Some(e) => {
            let s = e.seal();
            Ok(Some(Before {
                seq,
                time: s.time,
                epoch: s.epoch,
                link: s.link,
                tag: s.tag,
            }))
        }
        None => Err(StoreError::ExportGap { seq }),
    }
}

/// Writes an export: the header at [`Exporter::start`], one line per
/// [`Exporter::write`], the trailer at [`Exporter::finish`].
pub struct Exporter<W: Write> {
    out: W,
    filter: ExportFilter,
    first: u64,
    next: u64,
    last: u64,
    last_link: Hash,
    line: Vec<u8>,
    body: String,
}

impl<W: Write> Exporter<W> {
    /// Writes the header line.
    pub fn start(mut out: W, header: &ExportHeader) -> Result<Exporter<W>> {
        let mut line = Vec::with_capacity(4096);
        serde_json::to_writer(&mut line, header).expect("a header encodes");
        line.push(b'\n');
        out.write_all(&line).map_err(write_failed)?;
        Ok(Exporter {
            out,
            filter: header.filter.clone(),
            first: header.first,
            next: header.first,
            last: header.last,
            last_link: header.before.map_or(Hash::ZERO, |b| b.link),
            line,
            body: String::new(),
        })
    }

    /// Writes the line of the next entry of the range.
    pub fn write(&mut self, entry: &Entry) -> Result<()> {
        if entry.seq() != self.next || entry.seq() > self.last {
            return Err(StoreError::ExportGap { seq: self.next });
        }
        let seal = entry.seal();
        let event = entry.body().map(|_| entry.event().ok().flatten());
        let full = entry.body().is_some()
            && self
                .filter
                .selects(seal.kind, event.as_ref().and_then(Option::as_ref));
        let body = if full {
            self.body.clear();
            BASE64.encode_string(entry.body().expect("checked"), &mut self.body);
            Some(self.body.as_str())
        } else {
            None
        };
        let kind = kind_label(seal.kind);
        let line = EntryOut {
            record: Record::Entry,
            seq: seal.seq,
            time: seal.time,
            kind: &kind,
            kind_code: seal.kind,
            epoch: seal.epoch,
            digest: seal.digest,
            link: seal.link,
            tag: seal.tag,
            pruned: entry.is_pruned(),
            omitted: !entry.is_pruned() && !full,
            body,
            event: if full {
                Some(event.as_ref().and_then(Option::as_ref))
            } else {
                None
            },
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &line).expect("an entry line encodes");
        self.line.push(b'\n');
        self.out.write_all(&self.line).map_err(write_failed)?;
        self.next += 1;
        self.last_link = seal.link;
        Ok(())
    }

    /// Entry lines written so far.
    pub fn written(&self) -> u64 {
        self.next - self.first
    }

    /// Writes the trailer and flushes; fails if the range was not written in full.
    pub fn finish(mut self) -> Result<W> {
        if self.next != self.last + 1 {
            return Err(StoreError::ExportGap { seq: self.next });
        }
        let trailer = Trailer {
            record: Record::Trailer,
            count: self.written(),
            last_seq: self.last,
            last_link: self.last_link,
        };
        serde_json::to_writer(&mut self.out, &trailer).map_err(|e| write_failed(e.into()))?;
        self.out.write_all(b"\n").map_err(write_failed)?;
        self.out.flush().map_err(write_failed)?;
        Ok(self.out)
    }
}

fn write_failed(e: std::io::Error) -> StoreError {
    StoreError::io("writing the export", e)
}

/// Writes the whole export `header` describes from `log` to `out`, calling
/// `progress` with the number of entry lines written now and then.
pub fn export_to<W: Write>(
    log: &Log,
    header: &ExportHeader,
    out: W,
    mut progress: impl FnMut(u64),
) -> Result<W> {
    let mut exporter = Exporter::start(out, header)?;
    let mut done = 0u64;
    if header.last >= header.first {
        for entry in log.entries_between(header.first, header.last) {
            exporter.write(&entry?)?;
            done += 1;
            if done.is_multiple_of(16_384) {
                progress(done);
            }
        }
    }
    progress(done);
    exporter.finish()
}
