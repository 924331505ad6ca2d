//! Verifying an export with no store: the chain rules of [`StreamVerifier`]
//! over its entry lines, plus what only an export can get wrong (its header,
//! its trailer, an `event` that is not what its `body` decodes to).

use super::lines::{EXPORT_VERSION, EntryIn, ExportHeader, Record, Trailer, kind_label};
use crate::chain::Head;
use crate::error::{Result, StoreError};
use crate::event::Event;
use crate::seal::{StoreId, VerificationKey};
use crate::verify::{Problem, StreamVerifier, VerifyReport};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
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
}

/// Verifies an export read line by line from `input`: with `key`, every
/// seal too. `Err` only when `input` cannot be read; anything wrong with
/// the export is a report with a failure. Memory stays bounded.
pub fn verify_export<R: BufRead>(
    mut input: R,
    key: Option<&VerificationKey>,
    progress: Option<&dyn Fn(u64)>,
) -> Result<ExportReport> {
    let mut line = String::new();
    let read = |input: &mut R, line: &mut String| {
        line.clear();
        input
            .read_line(line)
            .map_err(|e| StoreError::io("reading the export", e))
    };
    if read(&mut input, &mut line)? == 0 {
        return Ok(rejected(None, 0, "line 1: the file is empty".into()));
    }
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

    let mut checker = Lines {
        header: &header,
        verifier: &mut verifier,
        count: 0,
        trailer: None,
    };
    let mut number = 1u64;
    while read(&mut input, &mut line)? > 0 {
        number += 1;
        checker.line(number, line.trim_end_matches(['\n', '\r']));
        if checker.verifier.failed() {
            break;
        }
        if let Some(progress) = progress
            && checker.count.is_multiple_of(16_384)
        {
            progress(checker.count);
        }
    }
    checker.end();
    let omitted = verifier.omitted();
    let report = verifier.finish(Head {
        seq: header.last,
        ..header.head
    });
    Ok(ExportReport {
        header: Some(header),
        report,
        omitted,
    })
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
    }
}

/// The entry lines and the trailer, checked one at a time.
struct Lines<'a> {
    header: &'a ExportHeader,
    verifier: &'a mut StreamVerifier,
    count: u64,
    trailer: Option<Trailer>,
}

impl Lines<'_> {
    fn expected(&self) -> u64 {
        self.verifier.last().seq.max(self.header.first - 1) + 1
    }

    fn bad(&mut self, seq: u64, detail: String) {
        self.verifier.fail(seq, Problem::BadExport { detail });
    }

    fn line(&mut self, number: u64, text: &str) {
        if self.trailer.is_some() {
            if !text.trim().is_empty() {
                let seq = self.expected();
                self.bad(seq, format!("line {number} follows the trailer"));
            }
            return;
        }
        match serde_json::from_str::<EntryIn>(text) {
            Ok(entry) => self.entry(number, entry),
            Err(entry_error) => match serde_json::from_str::<Trailer>(text) {
                Ok(t) if t.record == Record::Trailer => self.trailer = Some(t),
                _ => {
                    let seq = self.expected();
                    self.bad(seq, format!("line {number} is not an entry: {entry_error}"));
                }
            },
        }
    }

    fn entry(&mut self, number: u64, e: EntryIn) {
        let seq = e.seq;
        if e.record != Record::Entry {
            return self.bad(seq, format!("line {number} is not an entry line"));
        }
        if seq > self.header.last {
            return self.bad(
                seq,
                format!(
                    "line {number} is past the last entry the header names ({})",
                    self.header.last
                ),
            );
        }
        if e.kind != kind_label(e.kind_code) {
            return self.bad(
                seq,
                format!(
                    "kind `{}` is not the name of kind code {}",
                    e.kind, e.kind_code
                ),
            );
        }
        self.count += 1;
        let seal = e.seal();
        match (e.pruned, e.omitted, &e.body, &e.event) {
            (true, false, None, None) => self.verifier.push(&seal, None),
            (false, true, None, None) => {
                let filter = &self.header.filter;
                if filter.source.is_none() && !filter.excludes_kind(seal.kind) {
                    return self.bad(
                        seq,
                        format!(
                            "a compact line, but the header says {} entries are exported in full",
                            e.kind
                        ),
                    );
                }
                self.verifier.push_omitted(&seal);
            }
            (false, false, Some(body), Some(event)) => {
                let Ok(bytes) = BASE64.decode(body) else {
                    return self.bad(seq, "the body is not base64".into());
                };
                self.verifier.push(&seal, Some(&bytes));
                if !self.verifier.failed()
                    && let Err(detail) = rendering_matches(&bytes, seal.kind, event)
                {
                    self.bad(seq, detail);
                }
            }
            _ => self.bad(
                seq,
                "its fields contradict each other (pruned, omitted, body and event)".into(),
            ),
        }
    }

    /// Checks the trailer once every line is read.
    fn end(&mut self) {
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
            self.bad(
                last.seq,
                "the export reaches the head its header names, with another link".into(),
            );
        }
    }
}

/// Whether `event` is exactly what `body` decodes to (`null` for a body
/// this build cannot decode).
fn rendering_matches(body: &[u8], kind: u16, event: &serde_json::Value) -> Result<(), String> {
    match Event::decode(body) {
        Ok(decoded) => {
            if decoded.kind().code() != kind {
                return Err(format!(
                    "the body is a {} event, and the entry says kind {}",
                    decoded.kind(),
                    kind_label(kind)
                ));
            }
            let rendered = serde_json::to_value(&decoded).expect("an event renders as JSON");
            if rendered == *event {
                Ok(())
            } else {
                Err("`event` is not what `body` decodes to (the rendering was altered)".into())
            }
        }
        Err(_) if event.is_null() => Ok(()),
        Err(e) => Err(format!(
            "the body does not decode ({e}), and `event` renders one"
        )),
    }
}
