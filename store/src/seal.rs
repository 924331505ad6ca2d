//! Forward-secure sealing keys.
//!
//! Every entry's tag is `HMAC-SHA256(K(e), link)` where `e` is the entry's
//! epoch. Keys evolve one way: `K(e+1) = HMAC-SHA256(K(e), "vigil-evolve" ‖ e)`
//! with `e` as 8 big-endian bytes. `K(0)` is the [`VerificationKey`]: it is
//! handed to the operator at initialization and never kept by the store, so
//! whoever later takes the host holds only the current epoch's key and cannot
//! forge tags for any earlier epoch.

use crate::hash::Hash;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Domain separator for key evolution.
pub const EVOLVE_LABEL: &[u8] = b"vigil-evolve";

/// The random identity of a store, fixed at creation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StoreId(pub [u8; 16]);

impl StoreId {
    /// A fresh id from the OS random number generator.
    pub fn generate() -> std::io::Result<StoreId> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(std::io::Error::other)?;
        Ok(StoreId(id))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 32 hex digits.
    pub fn from_hex(text: &str) -> Option<StoreId> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(text.trim(), &mut out).ok()?;
        Some(StoreId(out))
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreId({})", self.to_hex())
    }
}

impl Serialize for StoreId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for StoreId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            StoreId::from_hex(&text)
                .ok_or_else(|| serde::de::Error::custom("expected 32 hex digits"))
        } else {
            Ok(StoreId(<[u8; 16]>::deserialize(d)?))
        }
    }
}

/// The sealing key of one epoch.
///
/// Holds the raw key (zeroized on drop) and the HMAC state precomputed from
/// it (also zeroized on drop: it is as good as the key for forging tags).
/// It cannot be printed, serialized or cloned by accident.
pub struct EpochKey {
    epoch: u64,
    key: Zeroizing<[u8; 32]>,
    mac: HmacSha256,
}

impl EpochKey {
    /// Builds the key of `epoch` from its raw bytes.
    pub fn from_bytes(epoch: u64, key: [u8; 32]) -> EpochKey {
        let key = Zeroizing::new(key);
        let mac = HmacSha256::new_from_slice(&key[..]).expect("HMAC accepts any key length");
        EpochKey { epoch, key, mac }
    }

    /// A fresh random `K(0)`.
    pub fn generate() -> std::io::Result<EpochKey> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut key[..]).map_err(std::io::Error::other)?;
        Ok(EpochKey::from_bytes(0, *key))
    }

    /// The epoch this key seals.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// `HMAC-SHA256(K(e), link)`.
    pub fn tag(&self, link: &Hash) -> Hash {
        let mut mac = self.mac.clone();
        mac.update(&link.0);
        Hash(mac.finalize().into_bytes().into())
    }

    /// HMAC-SHA256 of arbitrary bytes under this key (an export's header,
    /// prefixed by its own label so it can never pass for a link's tag).
    pub fn tag_bytes(&self, bytes: &[u8]) -> Hash {
        let mut mac = self.mac.clone();
        mac.update(bytes);
        Hash(mac.finalize().into_bytes().into())
    }

    /// `K(e+1) = HMAC-SHA256(K(e), "vigil-evolve" ‖ e)`.
    pub fn evolve(&self) -> EpochKey {
        let mut mac = self.mac.clone();
        mac.update(EVOLVE_LABEL);
        mac.update(&self.epoch.to_be_bytes());
        let mut next: [u8; 32] = mac.finalize().into_bytes().into();
        let key = EpochKey::from_bytes(self.epoch + 1, next);
        next.zeroize();
        key
    }

    /// Evolves forward to `epoch` (which must not be earlier than this one).
    pub fn evolve_to(&self, epoch: u64) -> Option<EpochKey> {
        if epoch < self.epoch {
            return None;
        }
        let mut key = EpochKey::from_bytes(self.epoch, *self.key);
        while key.epoch < epoch {
            key = key.evolve();
        }
        Some(key)
    }

    pub(crate) fn raw(&self) -> &[u8; 32] {
        &self.key
    }
}

impl fmt::Debug for EpochKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochKey")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// `K(0)` of a store, with the store's id, as the operator keeps it offline.
///
/// Text form (one line): `vigil-vk1:<store id, 32 hex>:<K(0), 64 hex>`.
pub struct VerificationKey {
    store_id: StoreId,
    key: EpochKey,
}

/// Prefix of the text form of a verification key.
pub const VERIFICATION_KEY_PREFIX: &str = "vigil-vk1";

impl VerificationKey {
    pub(crate) fn new(store_id: StoreId, key: EpochKey) -> VerificationKey {
        debug_assert_eq!(key.epoch(), 0);
        VerificationKey { store_id, key }
    }

    /// The store this key belongs to.
    pub fn store_id(&self) -> StoreId {
        self.store_id
    }

    /// `K(0)`.
    pub fn initial(&self) -> &EpochKey {
        &self.key
    }

    /// The text form; the caller must treat the result as secret.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{VERIFICATION_KEY_PREFIX}:{}:{}\n",
            self.store_id.to_hex(),
            hex::encode(self.key.raw())
        ))
    }

    /// Parses the text form. The error never echoes the input.
    pub fn parse(text: &str) -> Result<VerificationKey, &'static str> {
        let mut parts = text.trim().split(':');
        let (Some(prefix), Some(id), Some(key), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("expected one line `vigil-vk1:<store id>:<key>`");
        };
        if prefix != VERIFICATION_KEY_PREFIX {
            return Err("not a Vigil verification key (missing `vigil-vk1:` prefix)");
        }
        let store_id = StoreId::from_hex(id).ok_or("store id is not 32 hex digits")?;
        let mut raw = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(key, &mut raw[..]).map_err(|_| "key is not 64 hex digits")?;
        Ok(VerificationKey::new(
            store_id,
            EpochKey::from_bytes(0, *raw),
        ))
    }

    /// `hex(SHA-256("vigil-vk-fingerprint" ‖ K(0)))`: names the key in an
    /// export header so a verifier can tell it holds the right one, without
    /// revealing it.
    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.key)
    }

    /// Every epoch key from `K(0)` to `K(last)` inclusive, in order.
    pub fn epoch_keys(&self, last: u64) -> Vec<EpochKey> {
        let mut keys = Vec::with_capacity(usize::try_from(last).unwrap_or(0).saturating_add(1));
        keys.push(EpochKey::from_bytes(0, *self.key.raw()));
        for _ in 0..last {
            let next = keys.last().expect("never empty").evolve();
            keys.push(next);
        }
        keys
    }
}

pub(crate) fn tag_bytes(key: &EpochKey, bytes: &[u8]) -> Hash {
    key.tag_bytes(bytes)
}

/// Domain separator of [`VerificationKey::fingerprint`].
pub const FINGERPRINT_LABEL: &[u8] = b"vigil-vk-fingerprint";

pub(crate) fn fingerprint_of(k0: &EpochKey) -> String {
    let mut input = Zeroizing::new(Vec::with_capacity(FINGERPRINT_LABEL.len() + 32));
    input.extend_from_slice(FINGERPRINT_LABEL);
    input.extend_from_slice(k0.raw());
    Hash::sha256(&input).to_hex()
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("store_id", &self.store_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evolution_follows_the_documented_formula() {
        let k0 = EpochKey::from_bytes(0, [1; 32]);
        let mut mac = HmacSha256::new_from_slice(&[1; 32]).unwrap();
        mac.update(b"vigil-evolve");
        mac.update(&0u64.to_be_bytes());
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        let k1 = k0.evolve();
        assert_eq!(k1.epoch(), 1);
        assert_eq!(k1.raw(), &expected);
        assert_eq!(k0.evolve_to(3).unwrap().raw(), k1.evolve().evolve().raw());
        assert!(k1.evolve_to(0).is_none());
    }

    #[test]
    fn tags_differ_between_epochs() {
        let k0 = EpochKey::from_bytes(0, [9; 32]);
        let link = Hash::sha256(b"link");
        assert_ne!(k0.tag(&link), k0.evolve().tag(&link));
        assert_eq!(k0.tag(&link), k0.tag(&link));
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = EpochKey::from_bytes(4, [0xAB; 32]);
        let vk = VerificationKey::new(StoreId([1; 16]), EpochKey::from_bytes(0, [0xAB; 32]));
        for text in [format!("{key:?}"), format!("{vk:?}")] {
            assert!(
                !text.contains("ab, ") && !text.contains("abab") && !text.contains("171"),
                "{text}"
            );
        }
    }

    #[test]
    fn verification_key_text_round_trips_and_errors_do_not_echo() {
        let vk = VerificationKey::new(StoreId([2; 16]), EpochKey::from_bytes(0, [3; 32]));
        let text = vk.to_text();
        let back = VerificationKey::parse(&text).unwrap();
        assert_eq!(back.store_id(), vk.store_id());
        assert_eq!(back.initial().raw(), vk.initial().raw());
        let secretish = format!("vigil-vk1:{}:{}", "02".repeat(16), "zz".repeat(32));
        let err = VerificationKey::parse(&secretish).unwrap_err();
        assert!(!err.contains("zz"));
        assert!(VerificationKey::parse("garbage").is_err());
        assert_eq!(vk.epoch_keys(2).len(), 3);
        assert_eq!(
            vk.epoch_keys(2)[2].raw(),
            vk.initial().evolve().evolve().raw()
        );
    }
}
