//! Verifying an export with no store: the chain rules of [`StreamVerifier`]
//! over its entry lines, plus what only an export can get wrong (its header,
//! its trailer, an `event` that is not what its `body` decodes to).

use super::canonical::{self, LineFields};
use super::lines::{
    EXPORT_VERSION, EntryIn, ExportHeader, HEADER_SEAL_LABEL, Record, Trailer, kind_label,
};
use crate::chain::{Head, Seal};
use crate::error::{Result, StoreError};
use crate::event::Event;
use crate::seal::{StoreId, VerificationKey};
use crate::verify::{EntryRules, Precheck, Problem, StreamVerifier, VerifyReport};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rayon::prelude::*;
use std::io::BufRead;

/// What verifying an export found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportReport {
    /// The header, when the first line was one.
    pub header: Option<ExportHeader>,
    /// The chain's verdict over the entry lines (the first failure, if any).
    pub report: VerifyReport,
    /// Compact lines (bodies left out by the export's filter).
    pub omitted: u64,
    /// Whether the header's seal was checked with the key (`None`: no key,
    /// or the export failed first; `Some(false)`: the export has no seal,
    /// so its range, head and filter are claims).
    pub header_sealed: Option<bool>,
}

/// Verifies an export read line by line from `input`: with `key`, every
/// seal too. `Err` only when `input` cannot be read; anything wrong with
/// the export is a report with a failure. Memory stays bounded.
pub fn verify_export<R: BufRead + Send>(
    mut input: R,
    key: Option<&VerificationKey>,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<ExportReport> {
    // Read as bytes: a first line that is not UTF-8 is a bad export, not a
    // failed read.
    let mut first = Vec::new();
    if input
        .read_until(b'\n', &mut first)
        .map_err(|e| StoreError::io("reading the export", e))?
        == 0
    {
        return Ok(rejected(None, 0, "line 1: the file is empty".into()));
    }
    let Ok(line) = String::from_utf8(first) else {
        return Ok(rejected(
            None,
            0,
            "line 1 is not an export header: it is not UTF-8".into(),
        ));
    };
    let header: ExportHeader = match serde_json::from_str(line.trim_end()) {
        Ok(h) => h,
        Err(e) => {
            return Ok(rejected(
                None,
                0,
                format!("line 1 is not an export header: {e}"),
            ));
        }
    };
    if let Some(problem) = header_problem(&header, key) {
        let first = header.first;
        return Ok(rejected(Some(header), first.saturating_sub(1), problem));
    }
    let mut verifier = StreamVerifier::after(
        header.store_id,
        key,
        false,
        header.before.map(|b| b.seal()).as_ref(),
    )?
    // Every store that writes is format 2 (opening one upgrades it), and
    // the header is not sealed: a claimed format 1 excuses nothing.
    .open_ended(header.last < header.head.seq);

    let header_line = line.trim_end_matches(['\n', '\r']).as_bytes().to_vec();
    let mut checker = Lines {
        header: &header,
        verifier: &mut verifier,
        count: 0,
        trailer: None,
        header_sealed: None,
    };
    // Three stages overlap, a block of lines each: the next block is read
    // and the one before is taken in order by the verifier while this one
    // is parsed, decoded and hashed in parallel.
    let rules = checker.verifier.shared_rules();
    let (mut current, mut spare) = (Block::new(), Block::new());
    let mut next_number = 2 + current.fill(&mut input, 2)?;
    let mut parsed: Vec<Parsed> = Vec::new();
    while !current.is_empty() && !checker.verifier.failed() {
        let (now_parsed, read) = rayon::join(
            || current.parse(&rules),
            || -> Result<u64> {
                checker.take_all(&mut parsed);
                if let Some(progress) = progress {
                    progress(checker.count);
                }
                if checker.verifier.failed() {
                    spare.clear();
                    return Ok(0);
                }
                spare.fill(&mut input, next_number)
            },
        );
        next_number += read?;
        parsed = now_parsed;
        std::mem::swap(&mut current, &mut spare);
    }
    checker.take_all(&mut parsed);
    if let Some(progress) = progress {
        progress(checker.count);
    }
    checker.end(key, &header_line);
    let header_sealed = checker.header_sealed;
    let omitted = verifier.omitted();
    let report = verifier.finish(Head {
        seq: header.last,
        ..header.head
    });
    Ok(ExportReport {
        header: Some(header),
        report,
        omitted,
        header_sealed,
    })
}

/// How many epochs after the head's a header may be sealed in: an export
/// takes minutes, not years (15-minute epochs: about a week).
const MAX_SEAL_EPOCHS_AFTER_HEAD: u64 = 1000;

/// Lines checked in parallel at a time.
const CHUNK: usize = 8192;
/// Bytes of lines read at a time.
const BLOCK: usize = 8 << 20;

/// Lines read into one buffer: no allocation or UTF-8 pass per line.
struct Block {
    bytes: Vec<u8>,
    /// Where each line ends (after its newline).
    ends: Vec<usize>,
    /// The first line's number in the file.
    first: u64,
}

impl Block {
    fn new() -> Block {
        Block {
            bytes: Vec::with_capacity(BLOCK + (1 << 20)),
            ends: Vec::with_capacity(CHUNK),
            first: 0,
        }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Reads the next lines, the first of them line `first`; returns how
    /// many (0 at the end of the input).
    fn fill<R: BufRead>(&mut self, input: &mut R, first: u64) -> Result<u64> {
        self.clear();
        self.first = first;
        while self.bytes.len() < BLOCK && self.ends.len() < CHUNK {
            let n = input
                .read_until(b'\n', &mut self.bytes)
                .map_err(|e| StoreError::io("reading the export", e))?;
            if n == 0 {
                break;
            }
            self.ends.push(self.bytes.len());
        }
        Ok(self.ends.len() as u64)
    }

    /// Parses and checks every line on its own, in parallel.
    fn parse(&self, rules: &EntryRules) -> Vec<Parsed> {
        (0..self.ends.len())
            .into_par_iter()
            .map(|i| {
                let start = if i == 0 { 0 } else { self.ends[i - 1] };
                let mut line = &self.bytes[start..self.ends[i]];
                while let [rest @ .., b'\n' | b'\r'] = line {
                    line = rest;
                }
                parse(self.first + i as u64, line, rules)
            })
            .collect()
    }
}

/// What is wrong with a header before any entry is read, if anything.
fn header_problem(header: &ExportHeader, key: Option<&VerificationKey>) -> Option<String> {
    if header.record != Record::Header {
        return Some("line 1 is not the export header".into());
    }
    if header.version != EXPORT_VERSION {
        return Some(format!(
            "export format version {} is not supported by this build (it reads {EXPORT_VERSION})",
            header.version
        ));
    }
    let before_fits = match header.before {
        None => header.first == 1,
        Some(b) => b.seq.checked_add(1) == Some(header.first),
    };
    if header.last > header.head.seq {
        return Some(format!(
            "the header's last entry {} is past the head it names ({})",
            header.last, header.head.seq
        ));
    }
    if !before_fits || header.last.checked_add(1).is_none_or(|l| l < header.first) {
        return Some(format!(
            "the header's range {}..={} does not fit the entry before it",
            header.first, header.last
        ));
    }
    let key = key?;
    if key.store_id() != header.store_id {
        return Some(format!(
            "the verification key belongs to store {}, and this export is of store {}",
            key.store_id(),
            header.store_id
        ));
    }
    match &header.key_fingerprint {
        Some(fp) if *fp != key.fingerprint() => Some(format!(
            "the verification key's fingerprint is {}, and the export names {fp}",
            key.fingerprint()
        )),
        _ => None,
    }
}

/// A report for an export rejected before its entries.
fn rejected(header: Option<ExportHeader>, seq: u64, detail: String) -> ExportReport {
    let store_id = header.as_ref().map_or(StoreId::default(), |h| h.store_id);
    let mut verifier =
        StreamVerifier::after(store_id, None, false, None).expect("no key, nothing to mismatch");
    verifier.fail(seq, Problem::BadExport { detail });
    ExportReport {
        header,
        report: verifier.finish(Head::EMPTY),
        omitted: 0,
        header_sealed: None,
    }
}

/// The entry lines and the trailer, checked one at a time.
struct Lines<'a> {
    header: &'a ExportHeader,
    verifier: &'a mut StreamVerifier,
    count: u64,
    trailer: Option<Trailer>,
    header_sealed: Option<bool>,
}

/// One line, parsed and checked on its own (in parallel with others).
pub(super) enum Parsed {
    /// An entry line whose own fields agree.
    Entry(Box<Checked>),
    /// The trailer.
    Trailer(Trailer),
    /// An empty line.
    Blank,
    /// A line that is neither, or an entry that contradicts itself.
    Bad {
        /// Its entry's seq, if it got that far.
        seq: Option<u64>,
        /// What is wrong.
        detail: String,
    },
}

/// An entry line and what it says of itself.
pub(super) struct Checked {
    number: u64,
    pub(super) seal: Seal,
    pub(super) shape: Shape,
    /// What is wrong with its `event` rendering, if anything.
    pub(super) rendering: Option<String>,
}

thread_local! {
    /// A body decoded and an event rendered, reused line after line.
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new()))
    };
}

/// What an entry line carries.
pub(super) enum Shape {
    /// The body (empty when the chain check does not read it: its digest
    /// and the seal are checked already).
    Full(Vec<u8>, Precheck),
    Pruned,
    Omitted,
}

pub(super) fn parse(number: u64, text: &[u8], rules: &EntryRules) -> Parsed {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Parsed::Blank;
    }
    // The writer's own layout first. Only a line that passes every check is
    // taken this way; any other is read again by serde, which names what
    // is wrong in its own words.
    if let Some(fields) = canonical::entry(text) {
        let parsed = checked(number, &fields, rules);
        if matches!(&parsed, Parsed::Entry(e) if e.rendering.is_none()) {
            return parsed;
        }
    }
    match serde_json::from_slice::<EntryIn>(text) {
        Ok(e) if e.record != Record::Entry => Parsed::Bad {
            seq: Some(e.seq),
            detail: format!("line {number} is not an entry line"),
        },
        Ok(e) => checked(number, &LineFields::of(&e), rules),
        Err(entry_error) => match serde_json::from_slice::<Trailer>(text) {
            Ok(t) if t.record == Record::Trailer => Parsed::Trailer(t),
            _ => Parsed::Bad {
                seq: None,
                detail: format!("line {number} is not an entry: {entry_error}"),
            },
        },
    }
}

/// Checks what an entry line says of itself.
fn checked(number: u64, e: &LineFields, rules: &EntryRules) -> Parsed {
    let bad = |detail: String| Parsed::Bad {
        seq: Some(e.seal.seq),
        detail,
    };
    if e.kind != kind_label(e.seal.kind) {
        return bad(format!(
            "kind `{}` is not the name of kind code {}",
            e.kind, e.seal.kind
        ));
    }
    let (shape, rendering) = match (e.pruned, e.omitted, e.body, e.event) {
        (true, false, None, None) => (Shape::Pruned, None),
        (false, true, None, None) => (Shape::Omitted, None),
        (false, false, Some(body), Some(event)) => {
            // Decoded and rendered into buffers each thread reuses: the body
            // is copied out only when the chain check reads it.
            let checked = SCRATCH.with_borrow_mut(|(bytes, rendered)| {
                bytes.clear();
                BASE64.decode_vec(body, bytes).ok()?;
                let rendering = rendering_matches(bytes, e.seal.kind, event, rendered).err();
                let pre = rules.precheck(&e.seal, Some(bytes));
                let kept = if rules.reads_body(e.seal.kind) {
                    bytes.clone()
                } else {
                    Vec::new()
                };
                Some((Shape::Full(kept, pre), rendering))
            });
            match checked {
                Some(checked) => checked,
                None => return bad("the body is not base64".into()),
            }
        }
        _ => {
            return bad(
                "its fields contradict each other (pruned, omitted, body and event)".into(),
            );
        }
    };
    Parsed::Entry(Box::new(Checked {
        number,
        seal: e.seal,
        shape,
        rendering,
    }))
}

impl Lines<'_> {
    fn expected(&self) -> u64 {
        self.verifier.last().seq.max(self.header.first - 1) + 1
    }

    fn bad(&mut self, seq: u64, detail: String) {
        self.verifier.fail(seq, Problem::BadExport { detail });
    }

    /// Takes lines in order until one fails, leaving `lines` empty.
    fn take_all(&mut self, lines: &mut Vec<Parsed>) {
        for line in lines.drain(..) {
            if self.verifier.failed() {
                continue;
            }
            self.take(line);
        }
    }

    /// Takes the next line, in order.
    fn take(&mut self, line: Parsed) {
        if self.trailer.is_some() {
            if !matches!(line, Parsed::Blank) {
                let seq = self.expected();
                self.bad(seq, "a line follows the trailer".into());
            }
            return;
        }
        match line {
            Parsed::Blank => {}
            Parsed::Trailer(t) => self.trailer = Some(t),
            Parsed::Bad { seq, detail } => {
                let seq = seq.unwrap_or_else(|| self.expected());
                self.bad(seq, detail);
            }
            Parsed::Entry(e) => self.entry(*e),
        }
    }

    fn entry(&mut self, e: Checked) {
        let seq = e.seal.seq;
        if seq > self.header.last {
            return self.bad(
                seq,
                format!(
                    "line {} is past the last entry the header names ({})",
                    e.number, self.header.last
                ),
            );
        }
        self.count += 1;
        match e.shape {
            Shape::Pruned => self.verifier.push(&e.seal, None),
            Shape::Omitted => {
                let filter = &self.header.filter;
                if filter.source.is_none() && !filter.excludes_kind(e.seal.kind) {
                    return self.bad(
                        seq,
                        format!(
                            "a compact line, but the header says {} entries are exported in full",
                            kind_label(e.seal.kind)
                        ),
                    );
                }
                self.verifier.push_omitted(&e.seal);
            }
            Shape::Full(body, pre) => {
                self.verifier.push_prechecked(&e.seal, Some(&body), pre);
                if let Some(detail) = e.rendering
                    && !self.verifier.failed()
                {
                    self.bad(seq, detail);
                }
            }
        }
    }

    /// Checks the trailer once every line is read, and with the key the
    /// header's seal.
    fn end(&mut self, key: Option<&VerificationKey>, header_line: &[u8]) {
        if self.verifier.failed() {
            return;
        }
        let last = self.verifier.last();
        let Some(trailer) = self.trailer.take() else {
            let seq = self.expected();
            return self.bad(
                seq,
                "the export ends without its trailer: it was cut short".into(),
            );
        };
        if last.seq < self.header.last {
            // The verifier reports the missing entry as a gap.
            return;
        }
        if trailer.count != self.count || trailer.last_seq != self.header.last {
            return self.bad(
                last.seq,
                format!(
                    "the trailer counts {} entries up to {}, and the export holds {} up to {}",
                    trailer.count, trailer.last_seq, self.count, self.header.last
                ),
            );
        }
        if trailer.last_link != last.link {
            return self.bad(
                last.seq,
                "the trailer's last link is not the last entry's".into(),
            );
        }
        if self.header.last == self.header.head.seq && last.link != self.header.head.link {
            return self.bad(
                last.seq,
                "the export reaches the head its header names, with another link".into(),
            );
        }
        let Some(key) = key else { return };
        let Some(seal) = trailer.header_seal else {
            self.header_sealed = Some(false);
            return;
        };
        // Sealed at or after the head it names, and never past what any
        // entry could reach (keys are derived one epoch at a time).
        let epoch_ok = seal.epoch >= self.header.head.epoch
            && seal.epoch
                <= self
                    .header
                    .head
                    .epoch
                    .saturating_add(MAX_SEAL_EPOCHS_AFTER_HEAD);
        let sealed = epoch_ok && {
            let keys = key.epoch_keys(seal.epoch);
            let k = keys.last().expect("K(0) at least");
            k.tag_bytes(&[HEADER_SEAL_LABEL, header_line].concat())
                .ct_eq(&seal.tag)
        };
        if sealed {
            self.header_sealed = Some(true);
        } else {
            self.bad(
                self.header.first.saturating_sub(1),
                "the header's seal does not match: its range, head or filter was changed".into(),
            );
        }
    }
}

/// Whether `event` is exactly what `body` decodes to (`null` for a body
/// this build cannot decode), byte for byte in Vigil's compact rendering:
/// a re-spelled rendering could hide a duplicated key (JSON readers differ
/// on which one wins), so none is accepted.
fn rendering_matches(
    body: &[u8],
    kind: u16,
    event: &[u8],
    rendered: &mut Vec<u8>,
) -> Result<(), String> {
    match Event::decode(body) {
        Ok(decoded) => {
            if decoded.kind().code() != kind {
                return Err(format!(
                    "the body is a {} event, and the entry says kind {}",
                    decoded.kind(),
                    kind_label(kind)
                ));
            }
            rendered.clear();
            serde_json::to_writer(&mut *rendered, &decoded).expect("an event renders as JSON");
            if rendered.as_slice() == event {
                Ok(())
            } else {
                Err("`event` is not what `body` decodes to (the rendering was altered)".into())
            }
        }
        Err(_) if event == b"null" => Ok(()),
        Err(e) => Err(format!(
            "the body does not decode ({e}), and `event` renders one"
        )),
    }
}
