//! Keys and AEAD for the vault: the master key (KEK) that wraps data keys
//! (DEKs), and AES-256-GCM-SIV sealing with associated data.
//!
//! GCM-SIV, because a repeated random nonce then only reveals that two
//! identical plaintexts were sealed, instead of the keystream (as with GCM).

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

/// Nonce length of AES-GCM-SIV.
pub const NONCE_LEN: usize = 12;

/// The key-encryption key from outside the store (credential, file, env).
pub struct MasterKey(Zeroizing<[u8; 32]>);

/// A short public identifier of a master key: HMAC(KEK, label), truncated.
/// Lets errors say "the keyring wants key X, you gave key Y" without ever
/// showing either key.
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint(pub [u8; 16]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0[..8]))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A master key of the wrong shape. Says how long it was, never what it held.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected 32 raw bytes or 64 hex digits, found {len} bytes that are neither \
     (make one with `openssl rand -hex 32`)"
)]
pub struct KeyShapeError {
    /// The length found.
    pub len: usize,
}

impl MasterKey {
    /// A fresh key from the OS RNG.
    pub fn generate() -> std::io::Result<MasterKey> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(std::io::Error::other)?;
        Ok(MasterKey(key))
    }

    /// Parses a key as stored in a file, credential or variable: 32 raw
    /// bytes, or 64 hex digits (surrounding whitespace ignored). The error
    /// describes the shape only, never the content.
    pub fn parse(bytes: &[u8]) -> Result<MasterKey, KeyShapeError> {
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() == 32 {
            key.copy_from_slice(bytes);
            return Ok(MasterKey(key));
        }
        let text = bytes.trim_ascii();
        if text.len() == 64 && hex::decode_to_slice(text, key.as_mut()).is_ok() {
            return Ok(MasterKey(key));
        }
        Err(KeyShapeError { len: bytes.len() })
    }

    /// The key as 64 hex digits, for writing a key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    /// The key's public fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(self.0.as_ref())
            .expect("HMAC takes any key length");
        mac.update(b"vigil-master-key-fingerprint");
        let mut out = [0u8; 16];
        out.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        Fingerprint(out)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.fingerprint())
    }
}

/// A data key: encrypts secret values; stored only wrapped by the master key.
pub(crate) struct DataKey(pub Zeroizing<[u8; 32]>);

impl DataKey {
    pub fn generate() -> std::io::Result<DataKey> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(std::io::Error::other)?;
        Ok(DataKey(key))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Encrypts with a fresh random nonce.
pub(crate) fn seal(
    key: &[u8; 32],
    aad: &[u8],
    plaintext: &[u8],
) -> std::io::Result<([u8; NONCE_LEN], Vec<u8>)> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
    let cipher = Aes256GcmSiv::new(key.into());
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| std::io::Error::other("AES-GCM-SIV refused to encrypt"))?;
    Ok((nonce, sealed))
}

/// Decrypts; `None` when the key, nonce, associated data or ciphertext is wrong.
pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256GcmSiv::new(key.into());
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_parses_from_raw_or_hex_and_nothing_else() {
        let hex_key = "00".repeat(31) + "ff";
        let k = MasterKey::parse(format!("{hex_key}\n").as_bytes()).unwrap();
        assert_eq!(k.bytes()[31], 0xff);
        assert!(MasterKey::parse(&[7u8; 32]).is_ok());
        let err = MasterKey::parse(b"hunter2-hunter2").unwrap_err();
        assert_eq!(err, KeyShapeError { len: 15 });
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(MasterKey::parse(&[1u8; 33]).is_err());
    }

    #[test]
    fn debug_shows_the_fingerprint_only() {
        let k = MasterKey::parse(&[0xab; 32]).unwrap();
        let shown = format!("{k:?}");
        assert!(!shown.contains("abab"), "{shown}");
        assert!(shown.contains(&k.fingerprint().to_string()));
        assert_ne!(
            k.fingerprint(),
            MasterKey::parse(&[0xac; 32]).unwrap().fingerprint()
        );
    }

    #[test]
    fn sealed_data_opens_only_with_the_same_key_and_associated_data() {
        let key = [3u8; 32];
        let (nonce, ct) = seal(&key, b"name-a", b"value").unwrap();
        assert_eq!(
            open(&key, &nonce, b"name-a", &ct).unwrap().as_slice(),
            b"value"
        );
        assert!(open(&key, &nonce, b"name-b", &ct).is_none());
        assert!(open(&[4u8; 32], &nonce, b"name-a", &ct).is_none());
        let mut flipped = ct.clone();
        flipped[0] ^= 1;
        assert!(open(&key, &nonce, b"name-a", &flipped).is_none());
        let (nonce2, _) = seal(&key, b"name-a", b"value").unwrap();
        assert_ne!(nonce, nonce2);
    }
}
