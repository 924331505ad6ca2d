//! The 32-byte hash value used for digests, links and tags.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use std::fmt;

/// A SHA-256 or HMAC-SHA256 output.
///
/// Encoded as 32 raw bytes by postcard and as lowercase hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// All zero bytes: the link that precedes the first entry of a store.
    pub const ZERO: Hash = Hash([0; 32]);

    /// SHA-256 of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        self.hex_str(&mut [0; 64]).to_string()
    }

    /// Lowercase hex, written into `buf` (no allocation: exports write
    /// three per entry).
    pub fn hex_str<'a>(&self, buf: &'a mut [u8; 64]) -> &'a str {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in self.0.iter().enumerate() {
            buf[2 * i] = DIGITS[usize::from(b >> 4)];
            buf[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
        }
        std::str::from_utf8(buf).expect("hex digits are ASCII")
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Option<Hash> {
        Hash::from_hex_bytes(text.trim().as_bytes())
    }

    /// Parses exactly 64 hex digits (either case), nothing around them.
    pub fn from_hex_bytes(text: &[u8]) -> Option<Hash> {
        /// Each byte's value as a hex digit; 0xff for any other byte.
        const DIGIT: [u8; 256] = {
            let mut table = [0xff; 256];
            let mut i = 0;
            while i < 10 {
                table[b'0' as usize + i] = i as u8;
                i += 1;
            }
            let mut i = 0;
            while i < 6 {
                table[b'a' as usize + i] = 10 + i as u8;
                table[b'A' as usize + i] = 10 + i as u8;
                i += 1;
            }
            table
        };
        let text: &[u8; 64] = text.try_into().ok()?;
        let mut out = [0u8; 32];
        let mut bad = 0u8;
        for (i, pair) in text.chunks_exact(2).enumerate() {
            let (high, low) = (DIGIT[usize::from(pair[0])], DIGIT[usize::from(pair[1])]);
            bad |= high | low;
            out[i] = (high << 4) | (low & 0xf);
        }
        (bad & 0xf0 == 0).then_some(Hash(out))
    }

    /// Compares in constant time (for tags and secret-derived values).
    pub fn ct_eq(&self, other: &Hash) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(self.hex_str(&mut [0; 64]))
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(HexVisitor)
        } else {
            Ok(Hash(<[u8; 32]>::deserialize(d)?))
        }
    }
}

/// Parses the text where it lies (an export reads three hashes per line).
struct HexVisitor;

impl serde::de::Visitor<'_> for HexVisitor {
    type Value = Hash;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("64 hex digits")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Hash, E> {
        Hash::from_hex(text).ok_or_else(|| E::custom("expected 64 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_published_vector() {
        // FIPS 180-2 example "abc".
        assert_eq!(
            Hash::sha256(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let h = Hash::sha256(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash::from_hex("zz"), None);
        assert_eq!(Hash::from_hex(&"ab".repeat(31)), None);
    }

    #[test]
    fn postcard_encodes_32_raw_bytes_and_json_encodes_hex() {
        let h = Hash([7; 32]);
        assert_eq!(postcard::to_allocvec(&h).unwrap(), vec![7u8; 32]);
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            format!("\"{}\"", "07".repeat(32))
        );
    }
}
