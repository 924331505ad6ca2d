//! One entry as a record that stands alone: the export's entry line, with
//! its body always in full. The fleet forwarder sends one per message, so
//! a broker carries exactly what an export holds and the same rules check
//! it (`docs/export.md`, `docs/scaling.md`).

use super::check::{Parsed, Shape, parse};
use super::lines::ExportFilter;
use crate::chain::Seal;
use crate::entry::Entry;
use crate::verify::{EntryRules, Precheck, StreamVerifier};

/// The record of `entry`: its export line without the newline.
pub fn entry_record(entry: &Entry) -> Vec<u8> {
    let mut line = super::write::line(&ExportFilter::default(), entry);
    line.pop();
    line
}

/// A record read back and checked on its own (digest, seal, rendering);
/// its place in the chain is checked by [`EntryRecord::push_to`].
#[derive(Debug)]
pub struct EntryRecord {
    seal: Seal,
    /// The body with its precheck; `None` when pruned.
    body: Option<(Vec<u8>, Precheck)>,
}

impl EntryRecord {
    /// Parses a record. `Err` says what is wrong with it (not JSON, fields
    /// that contradict each other, a rendering that is not its body's, a
    /// compact line: a record always carries its body or says it was pruned).
    pub fn parse(text: &[u8], rules: &EntryRules) -> Result<EntryRecord, (Option<u64>, String)> {
        match parse(1, text, rules) {
            Parsed::Entry(e) => {
                if let Some(detail) = e.rendering {
                    return Err((Some(e.seal.seq), detail));
                }
                let body = match e.shape {
                    Shape::Full(body, pre) => Some((body, pre)),
                    Shape::Pruned => None,
                    Shape::Omitted => {
                        return Err((
                            Some(e.seal.seq),
                            "a compact record: a forwarded entry carries its body or is pruned"
                                .into(),
                        ));
                    }
                };
                Ok(EntryRecord { seal: e.seal, body })
            }
            Parsed::Bad { seq, detail } => Err((seq, detail.replace("line 1 ", "the record "))),
            Parsed::Trailer(_) | Parsed::Blank => Err((None, "the record is not an entry".into())),
        }
    }

    /// Its chain fields.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }

    /// Its body (`None`: pruned).
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_ref().map(|(b, _)| b.as_slice())
    }

    /// Checks it as the next entry of `verifier`'s chain.
    pub fn push_to(self, verifier: &mut StreamVerifier) {
        match self.body {
            Some((body, pre)) => verifier.push_prechecked(&self.seal, Some(&body), pre),
            None => verifier.push(&self.seal, None),
        }
    }
}
