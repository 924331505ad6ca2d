//! Stored entries: the value format of the `log` keyspace.
//!
//! Key: seq as 8 big-endian bytes. Value: `ENTRY_FORMAT` (one byte) ‖
//! postcard([`StoredHeader`]) ‖ body bytes (absent when pruned).

use crate::chain::Seal;
use crate::error::{Result, StoreError};
use crate::event::{Event, EventKind};
use crate::hash::Hash;
use fjall::Slice;
use serde::{Deserialize, Serialize};

/// Version byte that prefixes every stored value.
pub const ENTRY_FORMAT: u8 = 1;

/// Header fields as postcard encodes them, in this order.
#[derive(Serialize, Deserialize)]
struct StoredHeader {
    time: i64,
    kind: u16,
    epoch: u64,
    digest: Hash,
    link: Hash,
    tag: Hash,
    pruned: bool,
}

/// Key bytes of `seq`.
pub fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Encodes a value. `body: None` writes a pruned entry.
pub fn encode(seal: &Seal, body: Option<&[u8]>) -> Vec<u8> {
    let header = StoredHeader {
        time: seal.time,
        kind: seal.kind,
        epoch: seal.epoch,
        digest: seal.digest,
        link: seal.link,
        tag: seal.tag,
        pruned: body.is_none(),
    };
    let mut out = Vec::with_capacity(128 + body.map_or(0, <[u8]>::len));
    out.push(ENTRY_FORMAT);
    postcard::to_io(&header, &mut out).expect("postcard encoding into a Vec");
    if let Some(body) = body {
        out.extend_from_slice(body);
    }
    out
}

/// One entry of the log, body decoded only on demand.
#[derive(Clone)]
pub struct Entry {
    seal: Seal,
    value: Slice,
    body_at: usize,
    pruned: bool,
}

impl Entry {
    /// Decodes a stored key and value.
    pub fn decode(key: &[u8], value: Slice) -> Result<Entry> {
        let seq = key.try_into().map(u64::from_be_bytes).map_err(|_| {
            StoreError::Decode(format!("log key of {} bytes, expected 8", key.len()))
        })?;
        Entry::decode_value(seq, value)
    }

    /// Decodes a stored value known to be at `seq`.
    pub fn decode_value(seq: u64, value: Slice) -> Result<Entry> {
        let Some((&format, rest)) = value.split_first() else {
            return Err(StoreError::Decode(format!("entry {seq} is empty")));
        };
        if format != ENTRY_FORMAT {
            return Err(StoreError::Decode(format!(
                "entry {seq} has format {format}, this build reads {ENTRY_FORMAT}"
            )));
        }
        let (h, body) = postcard::take_from_bytes::<StoredHeader>(rest)
            .map_err(|e| StoreError::Decode(format!("entry {seq} header: {e}")))?;
        if h.pruned && !body.is_empty() {
            return Err(StoreError::Decode(format!(
                "entry {seq} is marked pruned but has a body"
            )));
        }
        let body_at = value.len() - body.len();
        Ok(Entry {
            seal: Seal {
                seq,
                time: h.time,
                kind: h.kind,
                epoch: h.epoch,
                digest: h.digest,
                link: h.link,
                tag: h.tag,
            },
            value,
            body_at,
            pruned: h.pruned,
        })
    }

    /// Chain fields.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }

    /// Position.
    pub fn seq(&self) -> u64 {
        self.seal.seq
    }

    /// Time (UTC micros).
    pub fn time(&self) -> i64 {
        self.seal.time
    }

    /// Kind, if this build knows its code.
    pub fn kind(&self) -> Option<EventKind> {
        EventKind::from_code(self.seal.kind)
    }

    /// Body bytes, unless retention dropped them.
    pub fn body(&self) -> Option<&[u8]> {
        (!self.pruned).then(|| &self.value[self.body_at..])
    }

    /// Whether retention dropped the body.
    pub fn is_pruned(&self) -> bool {
        self.pruned
    }

    /// Decodes the body; `Ok(None)` when pruned.
    pub fn event(&self) -> Result<Option<Event>> {
        self.body().map(Event::decode).transpose()
    }

    /// The stored value with the body removed.
    pub(crate) fn pruned_value(&self) -> Vec<u8> {
        encode(&self.seal, None)
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("seal", &self.seal)
            .field("pruned", &self.pruned)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Head;
    use crate::seal::EpochKey;

    #[test]
    fn values_round_trip_with_and_without_body() {
        let key = EpochKey::from_bytes(3, [1; 32]);
        let body = b"\x01hello".to_vec();
        let seal = Head::EMPTY.seal_next(7, 25, Hash::sha256(&body), &key);
        let e = Entry::decode(&super::key(1), Slice::from(encode(&seal, Some(&body)))).unwrap();
        assert_eq!(e.seal(), &seal);
        assert_eq!(e.body(), Some(&body[..]));
        let p = Entry::decode_value(1, Slice::from(e.pruned_value())).unwrap();
        assert!(p.is_pruned());
        assert_eq!(p.body(), None);
        assert_eq!(p.seal(), &seal);
    }

    #[test]
    fn garbage_values_are_errors_not_panics() {
        for bad in [vec![], vec![9], vec![1], vec![1, 0xff, 0xff, 0xff]] {
            assert!(Entry::decode_value(5, Slice::from(bad)).is_err());
        }
        assert!(Entry::decode(b"short", Slice::from(vec![1])).is_err());
    }
}
