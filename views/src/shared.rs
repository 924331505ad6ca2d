//! What the compact views share: strings held once and encoded as plain
//! ones, and maps keyed by a hash already computed.

/// An `Arc<str>` as a string (serde's own impl needs its `rc` feature).
pub mod shared_str {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::sync::Arc;

    /// Writes the string.
    pub fn serialize<S: Serializer>(s: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(s)
    }

    /// Reads a string (the view then shares one copy of it).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
        Ok(Arc::from(String::deserialize(deserializer)?))
    }
}

pub use vigil_store::compact::Hashed;

/// The shared copy of `name` in `names`, added if new.
pub fn intern(
    names: &mut std::collections::HashSet<std::sync::Arc<str>>,
    name: &str,
) -> std::sync::Arc<str> {
    if let Some(s) = names.get(name) {
        return s.clone();
    }
    let s: std::sync::Arc<str> = name.into();
    names.insert(s.clone());
    s
}
