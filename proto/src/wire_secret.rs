//! [`WireSecret`]: a secret value on its way from `vigilctl` to the daemon.
//!
//! The control protocol is the one place a value must be serialized (the
//! client sends what it read from stdin). This type does that and nothing
//! more: `Debug` and `Display` print `[REDACTED]`, the buffer is zeroized on
//! drop, and the daemon turns it into a `vigil_store::SecretValue` at once.

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// A secret value in a control request.
#[derive(Clone)]
pub struct WireSecret(Zeroizing<String>);

impl Serialize for WireSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for WireSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WireSecret, D::Error> {
        String::deserialize(d).map(WireSecret::new)
    }
}

impl WireSecret {
    /// Wraps a value read from stdin or a prompt.
    pub fn new(value: String) -> WireSecret {
        WireSecret(Zeroizing::new(value))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Moves the value into the daemon's secret type.
    pub fn into_secret(self) -> vigil_store::SecretValue {
        vigil_store::SecretValue::new(self.0.as_bytes().to_vec())
    }
}

impl fmt::Debug for WireSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl PartialEq for WireSecret {
    fn eq(&self, other: &WireSecret) -> bool {
        subtle::ConstantTimeEq::ct_eq(self.0.as_bytes(), other.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_travels_as_a_plain_string_and_never_prints() {
        let s = WireSecret::new("canary-w1re".into());
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"canary-w1re\"");
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        let back: WireSecret = serde_json::from_str("\"canary-w1re\"").unwrap();
        assert_eq!(back, s);
        assert_eq!(back.into_secret().expose(), b"canary-w1re");
    }
}
