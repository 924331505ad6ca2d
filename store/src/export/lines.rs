//! The lines of an export, as written and as read back.

use crate::chain::{Head, Seal};
use crate::event::{Event, EventKind};
use crate::hash::Hash;
use crate::seal::StoreId;
use serde::{Deserialize, Serialize};

/// Version of the export format this build writes and reads.
pub const EXPORT_VERSION: u32 = 1;

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// The first line.
    Header,
    /// One entry.
    Entry,
    /// The last line.
    Trailer,
}

/// The first line: where the range sits in the chain, and what was left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportHeader {
    /// Always [`Record::Header`].
    pub record: Record,
    /// [`EXPORT_VERSION`].
    pub version: u32,
    /// The store exported.
    pub store_id: StoreId,
    /// Its format.
    pub store_format: u32,
    /// The software that wrote the export.
    pub software: String,
    /// When the export began (UTC micros).
    pub exported_at: i64,
    /// Seq of the first entry line.
    pub first: u64,
    /// Seq of the last entry line (`first - 1` when there is none).
    pub last: u64,
    /// The entry before `first`, which `first` links to (`None` when `first` is 1).
    pub before: Option<Before>,
    /// The store's head when the export began.
    pub head: Head,
    /// What is exported in full.
    pub filter: ExportFilter,
    /// The verification key's fingerprint, if the store recorded it.
    pub key_fingerprint: Option<String>,
}

/// The chain fields of the entry before an export's first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Before {
    /// Its seq.
    pub seq: u64,
    /// Its time.
    pub time: i64,
    /// Its epoch.
    pub epoch: u64,
    /// Its link.
    pub link: Hash,
    /// Its tag.
    pub tag: Hash,
}

impl Before {
    /// As a seal, for checking its tag (kind and digest are not known, and
    /// neither is needed: the tag covers the link).
    pub fn seal(&self) -> Seal {
        Seal {
            seq: self.seq,
            time: self.time,
            kind: 0,
            epoch: self.epoch,
            digest: Hash::ZERO,
            link: self.link,
            tag: self.tag,
        }
    }
}

/// Which entries are exported with their bodies; the others are compact
/// lines (chain fields only), so the range stays verifiable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFilter {
    /// Only these kinds (`None`: every kind).
    pub kinds: Option<Vec<EventKind>>,
    /// Only events of this source (see [`Event::source`]).
    pub source: Option<String>,
}

impl ExportFilter {
    /// Whether the kind alone excludes an entry.
    pub fn excludes_kind(&self, kind: u16) -> bool {
        // A verifier needs the accounting kinds in full whatever the filter says.
        !EventKind::accounts(kind)
            && self
                .kinds
                .as_ref()
                .is_some_and(|ks| !ks.iter().any(|k| k.code() == kind))
    }

    /// Whether an entry whose body decodes to `event` is exported in full.
    pub fn selects(&self, kind: u16, event: Option<&Event>) -> bool {
        if EventKind::accounts(kind) {
            return true;
        }
        if self.excludes_kind(kind) {
            return false;
        }
        match &self.source {
            None => true,
            Some(source) => event.and_then(Event::source) == Some(source.as_str()),
        }
    }

    /// Whether it selects everything.
    pub fn is_everything(&self) -> bool {
        self.kinds.is_none() && self.source.is_none()
    }
}

/// What a header's seal covers: this label, then the header line's bytes
/// (without its newline).
pub const HEADER_SEAL_LABEL: &[u8] = b"vigil-export-header\n";

/// A header sealed by the daemon with the epoch key current when it wrote
/// the trailer: a verifier holding `K(0)` derives that key and checks the
/// header's range, head and filter were not changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderSeal {
    /// The epoch whose key made the tag.
    pub epoch: u64,
    /// `HMAC-SHA256(K(epoch), HEADER_SEAL_LABEL ‖ header line)`.
    pub tag: Hash,
}

/// The last line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    /// Always [`Record::Trailer`].
    pub record: Record,
    /// Entry lines written.
    pub count: u64,
    /// Seq of the last entry line (the header's `last`).
    pub last_seq: u64,
    /// Its link (with no entry line: `before`'s, or zeros).
    pub last_link: Hash,
    /// The header's seal (`None`: written without the sealing key, as
    /// `vigilctl export --offline` does).
    #[serde(default)]
    pub header_seal: Option<HeaderSeal>,
}

/// An entry line as written (the exporter writes it by hand; a test holds
/// it to this shape).
#[cfg(test)]
#[derive(Serialize)]
pub(crate) struct EntryOut<'a> {
    pub record: Record,
    pub seq: u64,
    pub time: i64,
    pub kind: &'a str,
    pub kind_code: u16,
    pub epoch: u64,
    pub digest: Hash,
    pub link: Hash,
    pub tag: Hash,
    pub pruned: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub omitted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Option<&'a Event>>,
}

/// An entry line as read, borrowing from the line's text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryIn<'a> {
    pub record: Record,
    pub seq: u64,
    pub time: i64,
    #[serde(borrow)]
    pub kind: std::borrow::Cow<'a, str>,
    pub kind_code: u16,
    pub epoch: u64,
    pub digest: Hash,
    pub link: Hash,
    pub tag: Hash,
    pub pruned: bool,
    #[serde(default)]
    pub omitted: bool,
    #[serde(default, borrow)]
    pub body: Option<std::borrow::Cow<'a, str>>,
    /// The rendering as written. Absent and `null` differ: `null` is a
    /// body this build could not decode.
    #[serde(default, borrow, deserialize_with = "present")]
    pub event: Option<&'a serde_json::value::RawValue>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<&'de serde_json::value::RawValue>, D::Error> {
    <&serde_json::value::RawValue>::deserialize(d).map(Some)
}

impl EntryIn<'_> {
    pub fn seal(&self) -> Seal {
        Seal {
            seq: self.seq,
            time: self.time,
            kind: self.kind_code,
            epoch: self.epoch,
            digest: self.digest,
            link: self.link,
            tag: self.tag,
        }
    }
}

/// The name written for a kind code (the code itself when unknown).
pub(crate) fn kind_label(code: u16) -> std::borrow::Cow<'static, str> {
    match EventKind::from_code(code) {
        Some(k) => k.name().into(),
        None => code.to_string().into(),
    }
}
