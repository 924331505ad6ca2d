//! [`SecretValue`]: the one type a secret lives in while in memory.
//!
//! It zeroizes its bytes on drop, prints `[REDACTED]` under both `Debug`
//! and `Display`, and implements no `Serialize`: a secret cannot reach a log
//! line, an error message or an encoded event by accident. Code that needs
//! the bytes calls [`SecretValue::expose`] at the point of use.

use secrecy::{ExposeSecret, SecretSlice};
use std::fmt;

/// A sensitive value (webhook secret, password, token, key).
pub struct SecretValue(SecretSlice<u8>);

impl SecretValue {
    /// Takes ownership of `bytes` (they are zeroized when this is dropped).
    pub fn new(bytes: Vec<u8>) -> SecretValue {
        SecretValue(bytes.into())
    }

    /// Takes ownership of a string's bytes.
    pub fn from_string(value: String) -> SecretValue {
        SecretValue::new(value.into_bytes())
    }

    /// The bytes, for use right here and now.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The value as UTF-8 text, for protocols that need a string.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(self.expose()).ok()
    }

    /// Length in bytes (not secret in any useful sense; shown by `secrets list`).
    pub fn len(&self) -> usize {
        self.expose().len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Clone for SecretValue {
    fn clone(&self) -> SecretValue {
        SecretValue::new(self.expose().to_vec())
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Constant-time equality, so comparing a secret leaks nothing through timing.
impl PartialEq for SecretValue {
    fn eq(&self, other: &SecretValue) -> bool {
        use subtle::ConstantTimeEq;
        self.expose().ct_eq(other.expose()).into()
    }
}

impl Eq for SecretValue {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_debug_nor_display_shows_the_value() {
        let s = SecretValue::from_string("canary-5ecret-value".into());
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some([REDACTED])");
        assert_eq!(s.expose(), b"canary-5ecret-value");
        assert_eq!(s.expose_str(), Some("canary-5ecret-value"));
    }

    #[test]
    fn equality_compares_the_bytes() {
        let a = SecretValue::new(b"abc".to_vec());
        assert_eq!(a, SecretValue::new(b"abc".to_vec()));
        assert_ne!(a, SecretValue::new(b"abd".to_vec()));
        assert_ne!(a, SecretValue::new(b"ab".to_vec()));
    }
}
