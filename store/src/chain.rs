//! The chain: how each entry commits to everything before it.
//!
//! ```text
//! digest = SHA-256(body)
//! link   = SHA-256(prev_link ‖ seq:u64be ‖ time:i64be ‖ kind:u16be ‖ digest)
//! tag    = HMAC-SHA256(K(epoch), link)
//! ```
//!
//! `prev_link` of seq 1 is 32 zero bytes. Pure functions only: the writer,
//! the verifier and third-party tools all compute the same bytes.

use crate::hash::Hash;
use crate::seal::EpochKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Link of entry `seq` given the link of `seq - 1`.
pub fn link(prev: &Hash, seq: u64, time: i64, kind: u16, digest: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(prev.0);
    h.update(seq.to_be_bytes());
    h.update(time.to_be_bytes());
    h.update(kind.to_be_bytes());
    h.update(digest.0);
    Hash(h.finalize().into())
}

/// The chain fields of one entry (everything but the body).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// Position, contiguous from 1.
    pub seq: u64,
    /// UTC microseconds since the Unix epoch; never decreases along the chain.
    pub time: i64,
    /// [`EventKind`](crate::EventKind) code.
    pub kind: u16,
    /// Sealing epoch.
    pub epoch: u64,
    /// SHA-256 of the body.
    pub digest: Hash,
    /// Chain link.
    pub link: Hash,
    /// HMAC of the link under the epoch key.
    pub tag: Hash,
}

/// The end of the chain: what the next entry links to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Last seq (0 before the first entry).
    pub seq: u64,
    /// Its time.
    pub time: i64,
    /// Its epoch.
    pub epoch: u64,
    /// Its link.
    pub link: Hash,
}

impl Head {
    /// The head of an empty chain.
    pub const EMPTY: Head = Head {
        seq: 0,
        time: i64::MIN,
        epoch: 0,
        link: Hash::ZERO,
    };

    /// Seals the next entry after this head and returns its fields.
    ///
    /// `time` is clamped so it never goes below the head's.
    pub fn seal_next(&self, time: i64, kind: u16, digest: Hash, key: &EpochKey) -> Seal {
        let seq = self.seq + 1;
        let time = time.max(self.time);
        let link = link(&self.link, seq, time, kind, &digest);
        Seal {
            seq,
            time,
            kind,
            epoch: key.epoch(),
            digest,
            link,
            tag: key.tag(&link),
        }
    }
}

impl From<&Seal> for Head {
    fn from(s: &Seal) -> Head {
        Head {
            seq: s.seq,
            time: s.time,
            epoch: s.epoch,
            link: s.link,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_covers_every_field() {
        let d = Hash::sha256(b"body");
        let base = link(&Hash::ZERO, 1, 10, 25, &d);
        assert_ne!(base, link(&Hash([1; 32]), 1, 10, 25, &d));
        assert_ne!(base, link(&Hash::ZERO, 2, 10, 25, &d));
        assert_ne!(base, link(&Hash::ZERO, 1, 11, 25, &d));
        assert_ne!(base, link(&Hash::ZERO, 1, 10, 24, &d));
        assert_ne!(base, link(&Hash::ZERO, 1, 10, 25, &Hash::sha256(b"other")));
    }

    #[test]
    fn sealing_advances_and_clamps_time() {
        let key = EpochKey::from_bytes(1, [4; 32]);
        let first = Head::EMPTY.seal_next(100, 25, Hash::sha256(b"a"), &key);
        assert_eq!(first.seq, 1);
        assert_eq!(first.tag, key.tag(&first.link));
        let second = Head::from(&first).seal_next(50, 25, Hash::sha256(b"b"), &key);
        assert_eq!(second.seq, 2);
        assert_eq!(second.time, 100, "time never goes backwards");
        assert_eq!(second.link, link(&first.link, 2, 100, 25, &second.digest));
    }
}
