//! Verifying an export with no store: the chain rules of [`StreamVerifier`]
//! over its entry lines, plus what only an export can get wrong (its header,
//! its trailer, an `event` that is not what its `body` decodes to).

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
use serde_json::value::RawValue;
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
pub fn verify_export<R: BufRead>(
    mut input: R,
    key: Option<&VerificationKey>,
    progress: Option<&dyn Fn(u64)>,
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
    // Lines are parsed, decoded and hashed in parallel a chunk at a time;
    // the chain is then checked in order.
    // Lines are read into one block (no allocation or UTF-8 pass per
    // line), then parsed, decoded and hashed in parallel.
    let mut number = 1u64;
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK + (1 << 20));
    let mut ends: Vec<usize> = Vec::with_capacity(CHUNK);
    let mut done = false;
    while !done && !checker.verifier.failed() {
        block.clear();
        ends.clear();
        while block.len() < BLOCK && ends.len() < CHUNK {
            let n = input
                .read_until(b'\n', &mut block)
                .map_err(|e| StoreError::io("reading the export", e))?;
            if n == 0 {
                done = true;
                break;
            }
            ends.push(block.len());
        }
        let first = number + 1;
        number += ends.len() as u64;
        let rules = checker.verifier.rules();
        let parsed: Vec<Parsed> = (0..ends.len())
            .into_par_iter()
            .map(|i| {
                let start = if i == 0 { 0 } else { ends[i - 1] };
                let mut line = &block[start..ends[i]];
                while let [rest @ .., b'\n' | b'\r'] = line {
                    line = rest;
                }
                parse(first + i as u64, line, rules)
            })
            .collect();
        for p in parsed {
            checker.take(p);
            if checker.verifier.failed() {
                break;
            }
        }
        if let Some(progress) = progress {
            progress(checker.count);
        }
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
    kind: String,
    pub(super) shape: Shape,
    /// What is wrong with its `event` rendering, if anything.
    pub(super) rendering: Option<String>,
}

/// What an entry line carries.
pub(super) enum Shape {
    /// The body, and its digest and the seal checked already.
    Full(Vec<u8>, Precheck),
    Pruned,
    Omitted,
}

pub(super) fn parse(number: u64, text: &[u8], rules: &EntryRules) -> Parsed {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Parsed::Blank;
    }
    let e = match serde_json::from_slice::<EntryIn>(text) {
        Ok(e) => e,
        Err(entry_error) => {
            return match serde_json::from_slice::<Trailer>(text) {
                Ok(t) if t.record == Record::Trailer => Parsed::Trailer(t),
                _ => Parsed::Bad {
                    seq: None,
                    detail: format!("line {number} is not an entry: {entry_error}"),
                },
            };
        }
    };
    let bad = |detail: String| Parsed::Bad {
        seq: Some(e.seq),
        detail,
    };
    if e.record != Record::Entry {
        return bad(format!("line {number} is not an entry line"));
    }
    if e.kind != kind_label(e.kind_code) {
        return bad(format!(
            "kind `{}` is not the name of kind code {}",
            e.kind, e.kind_code
        ));
    }
    let (shape, rendering) = match (e.pruned, e.omitted, &e.body, e.event) {
        (true, false, None, None) => (Shape::Pruned, None),
        (false, true, None, None) => (Shape::Omitted, None),
        (false, false, Some(body), Some(event)) => {
            let Ok(bytes) = BASE64.decode(body.as_bytes()) else {
                return bad("the body is not base64".into());
            };
            let rendering = rendering_matches(&bytes, e.kind_code, event).err();
            let pre = rules.precheck(&e.seal(), Some(&bytes));
            (Shape::Full(bytes, pre), rendering)
        }
        _ => {
            return bad(
                "its fields contradict each other (pruned, omitted, body and event)".into(),
            );
        }
    };
    Parsed::Entry(Box::new(Checked {
        number,
        seal: e.seal(),
        kind: e.kind.into_owned(),
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
                            e.kind
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
fn rendering_matches(body: &[u8], kind: u16, event: &RawValue) -> Result<(), String> {
    match Event::decode(body) {
        Ok(decoded) => {
            if decoded.kind().code() != kind {
                return Err(format!(
                    "the body is a {} event, and the entry says kind {}",
                    decoded.kind(),
                    kind_label(kind)
                ));
            }
            let rendered = serde_json::to_vec(&decoded).expect("an event renders as JSON");
            if rendered == event.get().as_bytes() {
                Ok(())
            } else {
                Err("`event` is not what `body` decodes to (the rendering was altered)".into())
            }
        }
        Err(_) if event.get() == "null" => Ok(()),
        Err(e) => Err(format!(
            "the body does not decode ({e}), and `event` renders one"
        )),
    }
}
