//! Stored entries: the value format of the `log` keyspace.
//!
//! Key: seq as 8 big-endian bytes. Value: a fixed 116-byte header followed
//! by the body bytes (absent when pruned). A fixed layout, rather than
//! postcard, keeps decoding to a few loads and is simpler for third-party
//! verifiers:
//!
//! ```text
//! 0    u8      ENTRY_FORMAT (1)
//! 1    u8      flags: bit 0 = pruned
//! 2    u16 BE  kind
//! 4    u64 BE  epoch
//! 12   i64 BE  time
//! 20   [32]    digest
//! 52   [32]    link
//! 84   [32]    tag
//! 116  ...     body
//! ```

use crate::chain::Seal;
use crate::error::{Result, StoreError};
use crate::event::{Event, EventKind};
use crate::hash::Hash;
use fjall::Slice;

/// Version byte that prefixes every stored value.
pub const ENTRY_FORMAT: u8 = 1;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 116;
const PRUNED: u8 = 1;

/// Key bytes of `seq`.
pub fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Encodes a value. `body: None` writes a pruned entry.
pub fn encode(seal: &Seal, body: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.map_or(0, <[u8]>::len));
    encode_into(&mut out, seal, body);
    out
}

/// Appends an encoded value to `out`.
pub fn encode_into(out: &mut Vec<u8>, seal: &Seal, body: Option<&[u8]>) {
    let at = out.len();
    out.resize(at + HEADER_LEN, 0);
    write_header(&mut out[at..], seal, body.is_none());
    if let Some(body) = body {
        out.extend_from_slice(body);
    }
}

/// Fills the first `HEADER_LEN` bytes of `value` (the body follows).
pub(crate) fn write_header(value: &mut [u8], seal: &Seal, pruned: bool) {
    value[0] = ENTRY_FORMAT;
    value[1] = if pruned { PRUNED } else { 0 };
    value[2..4].copy_from_slice(&seal.kind.to_be_bytes());
    value[4..12].copy_from_slice(&seal.epoch.to_be_bytes());
    value[12..20].copy_from_slice(&seal.time.to_be_bytes());
    value[20..52].copy_from_slice(&seal.digest.0);
    value[52..84].copy_from_slice(&seal.link.0);
    value[84..116].copy_from_slice(&seal.tag.0);
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes[at..at + N]
        .try_into()
        .expect("length checked by the caller")
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
        if value.len() < HEADER_LEN {
            return Err(StoreError::Decode(format!(
                "entry {seq} is {} bytes, shorter than its header",
                value.len()
            )));
        }
        if value[0] != ENTRY_FORMAT {
            return Err(StoreError::Decode(format!(
                "entry {seq} has format {}, this build reads {ENTRY_FORMAT}",
                value[0]
            )));
        }
        let flags = value[1];
        if flags & !PRUNED != 0 {
            return Err(StoreError::Decode(format!(
                "entry {seq} has unknown flags {flags:#04x}"
            )));
        }
        let pruned = flags & PRUNED != 0;
        if pruned && value.len() != HEADER_LEN {
            return Err(StoreError::Decode(format!(
                "entry {seq} is marked pruned but has a body"
            )));
        }
        let seal = Seal {
            seq,
            kind: u16::from_be_bytes(array(&value, 2)),
            epoch: u64::from_be_bytes(array(&value, 4)),
            time: i64::from_be_bytes(array(&value, 12)),
            digest: Hash(array(&value, 20)),
            link: Hash(array(&value, 52)),
            tag: Hash(array(&value, 84)),
        };
        Ok(Entry {
            seal,
            value,
            body_at: HEADER_LEN,
            pruned,
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
        let mut long_pruned = vec![1, 1];
        long_pruned.resize(HEADER_LEN + 1, 0);
        let mut bad_flags = vec![1, 4];
        bad_flags.resize(HEADER_LEN, 0);
        let mut newer = vec![2, 0];
        newer.resize(HEADER_LEN, 0);
        for bad in [
            vec![],
            vec![9],
            vec![1],
            vec![1, 0xff, 0xff, 0xff],
            long_pruned,
            bad_flags,
            newer,
        ] {
            assert!(Entry::decode_value(5, Slice::from(bad)).is_err());
        }
        assert!(Entry::decode(b"short", Slice::from(vec![1])).is_err());
    }
}
