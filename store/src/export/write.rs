//! Writing an export: [`plan`] picks the range, [`Exporter`] writes it.

use super::lines::{
    Before, EXPORT_VERSION, ExportFilter, ExportHeader, HEADER_SEAL_LABEL, HeaderSeal, Record,
    Trailer, kind_label,
};
use crate::entry::Entry;
use crate::error::{Result, StoreError};
use crate::event::Event;
use crate::hash::Hash;
use crate::log::{Log, now_micros};
use rayon::prelude::*;
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

impl ExportRange {
    /// Refuses bounds that cross (nothing could be exported, and saying so
    /// beats an empty file).
    pub fn check(&self) -> Result<()> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(StoreError::InvalidRequest(format!(
                "the range starts at seq {from}, after its end at seq {to}"
            )));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(StoreError::InvalidRequest(
                "the range starts at a time after its end".into(),
            ));
        }
        Ok(())
    }
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
    range.check()?;
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

/// The chain fields entry `first` links to (`None` when `first` is 1):
/// the entry before it, or the cut a checkpoint records.
pub fn before(log: &Log, first: u64) -> Result<Option<Before>> {
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
    /// The header line as written (without its newline), for its seal.
    header_line: Vec<u8>,
    filter: ExportFilter,
    first: u64,
    next: u64,
    last: u64,
    last_link: Hash,
    /// Lines rendered and not yet written: they are written while the
    /// next entries are rendered.
    pending: Vec<Vec<u8>>,
    /// Buffers written out, to render into again (fresh ones of this size
    /// would be pages to fault in and zero, chunk after chunk).
    spare: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl<W: Write> Exporter<W> {
    /// Writes the header line.
    pub fn start(mut out: W, header: &ExportHeader) -> Result<Exporter<W>> {
        let mut line = Vec::with_capacity(4096);
        serde_json::to_writer(&mut line, header).expect("a header encodes");
        out.write_all(&line).map_err(write_failed)?;
        out.write_all(b"\n").map_err(write_failed)?;
        Ok(Exporter {
            out,
            header_line: line,
            filter: header.filter.clone(),
            first: header.first,
            next: header.first,
            last: header.last,
            last_link: header.before.map_or(Hash::ZERO, |b| b.link),
            pending: Vec::new(),
            spare: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Writes the lines of the next entries of the range, in order; the
    /// lines are rendered in parallel.
    pub fn write_all(&mut self, entries: &[Entry]) -> Result<()> {
        for (i, entry) in entries.iter().enumerate() {
            let expected = self.next + i as u64;
            if entry.seq() != expected || entry.seq() > self.last {
                return Err(StoreError::ExportGap { seq: expected });
            }
        }
        let (filter, out) = (&self.filter, &mut self.out);
        let mut pending = std::mem::take(&mut self.pending);
        let spare = &self.spare;
        let mut rendered = Vec::new();
        let mut written = Ok(());
        // On this thread (the writer needs not be `Send`), while the pool
        // renders the next lines.
        rayon::in_place_scope(|scope| {
            scope.spawn(|_| rendered = render(filter, entries, spare));
            written = write_lines(out, &pending);
        });
        written?;
        pending.iter_mut().for_each(Vec::clear);
        self.spare
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .append(&mut pending);
        self.pending = rendered;
        if let Some(last) = entries.last() {
            self.next = last.seq() + 1;
            self.last_link = last.seal().link;
        }
        Ok(())
    }

    /// Entry lines written so far.
    pub fn written(&self) -> u64 {
        self.next - self.first
    }

    /// The bytes a header seal covers.
    pub fn sealed_bytes(&self) -> Vec<u8> {
        [HEADER_SEAL_LABEL, &self.header_line].concat()
    }

    /// Writes the trailer (with the header's seal, if given) and flushes;
    /// fails if the range was not written in full.
    pub fn finish(mut self, header_seal: Option<HeaderSeal>) -> Result<W> {
        if self.next != self.last + 1 {
            return Err(StoreError::ExportGap { seq: self.next });
        }
        write_lines(&mut self.out, &std::mem::take(&mut self.pending))?;
        let trailer = Trailer {
            record: Record::Trailer,
            count: self.written(),
            last_seq: self.last,
            last_link: self.last_link,
            header_seal,
        };
        serde_json::to_writer(&mut self.out, &trailer).map_err(|e| write_failed(e.into()))?;
        self.out.write_all(b"\n").map_err(write_failed)?;
        self.out.flush().map_err(write_failed)?;
        Ok(self.out)
    }
}

/// Entries per buffer of rendered lines.
const RENDERED_PER_BUFFER: usize = 64;

/// The lines of `entries`, rendered in parallel into a few buffers.
fn render(
    filter: &ExportFilter,
    entries: &[Entry],
    spare: &std::sync::Mutex<Vec<Vec<u8>>>,
) -> Vec<Vec<u8>> {
    entries
        .par_chunks(RENDERED_PER_BUFFER)
        .map(|chunk| {
            let bytes: usize = chunk.iter().map(|e| e.body().map_or(0, <[u8]>::len)).sum();
            let reused = spare
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop();
            let mut text = reused.unwrap_or_default();
            text.reserve(chunk.len() * 400 + bytes * 3);
            for entry in chunk {
                line_into(&mut text, filter, entry);
            }
            text
        })
        .collect()
}

fn write_lines<W: Write>(out: &mut W, lines: &[Vec<u8>]) -> Result<()> {
    for l in lines {
        out.write_all(l).map_err(write_failed)?;
    }
    Ok(())
}

/// The line of one entry, newline included.
pub(super) fn line(filter: &ExportFilter, entry: &Entry) -> Vec<u8> {
    let mut text = Vec::with_capacity(400 + entry.body().map_or(0, <[u8]>::len) * 3);
    line_into(&mut text, filter, entry);
    text
}

/// Appends the line of one entry, newline included, to `text`. The fixed
/// fields are written by hand (none needs escaping, and the body is
/// base64); only the event goes through the JSON serializer. The shape is
/// [`EntryOut`]'s, which the tests compare this with.
fn line_into(text: &mut Vec<u8>, filter: &ExportFilter, entry: &Entry) {
    let seal = entry.seal();
    let event = entry.body().map(|_| entry.event().ok().flatten());
    let full = entry.body().is_some()
        && filter.selects(seal.kind, event.as_ref().and_then(Option::as_ref));
    let mut hex = [0u8; 64];
    let name = |text: &mut Vec<u8>, name: &str| {
        text.extend_from_slice(b",\"");
        text.extend_from_slice(name.as_bytes());
        text.extend_from_slice(b"\":");
    };
    text.extend_from_slice(b"{\"record\":\"entry\"");
    name(text, "seq");
    push_number(text, seal.seq);
    name(text, "time");
    if seal.time < 0 {
        text.push(b'-');
    }
    push_number(text, seal.time.unsigned_abs());
    name(text, "kind");
    text.push(b'"');
    text.extend_from_slice(kind_label(seal.kind).as_bytes());
    text.push(b'"');
    name(text, "kind_code");
    push_number(text, u64::from(seal.kind));
    name(text, "epoch");
    push_number(text, seal.epoch);
    for (field, hash) in [
        ("digest", seal.digest),
        ("link", seal.link),
        ("tag", seal.tag),
    ] {
        name(text, field);
        text.push(b'"');
        text.extend_from_slice(hash.hex_str(&mut hex).as_bytes());
        text.push(b'"');
    }
    name(text, "pruned");
    text.extend_from_slice(if entry.is_pruned() { b"true" } else { b"false" });
    if !entry.is_pruned() && !full {
        name(text, "omitted");
        text.extend_from_slice(b"true");
    }
    if full {
        let body = entry.body().expect("checked");
        text.extend_from_slice(b",\"body\":\"");
        // With the CPU's vector instructions: a quarter of the time.
        let at = text.len();
        text.resize(at + base64_simd::STANDARD.encoded_length(body.len()), 0);
        let written = base64_simd::STANDARD
            .encode(body, base64_simd::Out::from_slice(&mut text[at..]))
            .len();
        text.truncate(at + written);
        text.extend_from_slice(b"\",\"event\":");
        serde_json::to_writer(&mut *text, &event.as_ref().and_then(Option::as_ref))
            .expect("an event encodes");
    }
    text.extend_from_slice(b"}\n");
}

/// Appends `value` in decimal.
fn push_number(text: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    text.extend_from_slice(&digits[at..]);
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
    if header.last >= header.first {
        // The store is read ahead while the chunk before is rendered and written.
        log.read_ahead(header.first, header.last, 4096, |chunk| {
            exporter.write_all(&chunk)?;
            progress(exporter.written());
            Ok(())
        })?;
    }
    progress(exporter.written());
    // Sealed by the writer with the current epoch key, when this log has
    // one (a store opened read-only does not).
    let seal = log
        .tag_bytes(exporter.sealed_bytes())
        .ok()
        .map(|(epoch, tag)| HeaderSeal { epoch, tag });
    exporter.finish(seal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::examples::every_variant;
    use crate::export::lines::EntryOut;
    use crate::log::LogOptions;

    /// The hand-written line is byte for byte what serde makes of
    /// [`EntryOut`], for every kind of event, in full, compact and pruned.
    #[test]
    fn lines_are_the_documented_shape() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::create(
            &dir.path().join("s"),
            &dir.path().join("vk"),
            LogOptions::default(),
        )
        .unwrap();
        let events: Vec<Event> = every_variant().into_iter().map(|(_, e)| e).collect();
        log.append_all(&events).unwrap();
        log.prune(vec![3], "test").unwrap();
        let only_custom = ExportFilter {
            kinds: Some(vec![crate::EventKind::Custom]),
            source: None,
        };
        for filter in [ExportFilter::default(), only_custom] {
            for entry in log.entries(1) {
                let entry = entry.unwrap();
                let seal = entry.seal();
                let event = entry.body().map(|_| entry.event().ok().flatten());
                let full = entry.body().is_some()
                    && filter.selects(seal.kind, event.as_ref().and_then(Option::as_ref));
                use base64::Engine as _;
                let base64 = base64::engine::general_purpose::STANDARD;
                let body = full.then(|| base64.encode(entry.body().unwrap()));
                let kind = kind_label(seal.kind);
                let expected = EntryOut {
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
                    body: body.as_deref(),
                    event: full.then(|| event.as_ref().and_then(Option::as_ref)),
                };
                let mut expected = serde_json::to_vec(&expected).unwrap();
                expected.push(b'\n');
                assert_eq!(
                    String::from_utf8(line(&filter, &entry)).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }
}
