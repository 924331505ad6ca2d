//! [`LabelSet`]: a label set as state held in memory for long (an open
//! incident's labels, a pending group's) keeps it.
//!
//! A [`Labels`] map costs a B-tree node plus two strings per pair, about
//! 600 bytes for four short labels; packed, the same set is one block of
//! about 70 bytes. Sets are immutable and cheap to clone (a reference
//! count), so the same set can be held in several places as one copy.

use super::Labels;
use crate::compact::{Strs, packed_len, put_str};
use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::fmt;
use std::sync::Arc;

/// Sorted (name, value) pairs packed in one shared block: each string is
/// its length (LEB128) then its bytes. The empty set allocates nothing.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSet(Option<Arc<[u8]>>);

impl LabelSet {
    /// The set with these pairs (a map is sorted and has each name once).
    pub fn new(labels: &Labels) -> LabelSet {
        Self::from_sorted(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The set of `pairs`, which come sorted by name, each name once.
    fn from_sorted<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> LabelSet {
        let size: usize = pairs
            .clone()
            .map(|(k, v)| packed_len(k) + packed_len(v))
            .sum();
        if size == 0 {
            return LabelSet(None);
        }
        let mut packed = Vec::with_capacity(size);
        for (k, v) in pairs {
            put_str(&mut packed, k);
            put_str(&mut packed, v);
        }
        LabelSet(Some(Arc::from(packed)))
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> Pairs<'_> {
        Pairs {
            strs: Strs::new(self.0.as_deref().unwrap_or_default()),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// How many pairs.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there is no pair.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The set as a map, for the wire and for code that wants one.
    pub fn to_labels(&self) -> Labels {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Whether this set has exactly the pairs of `labels`.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.iter()
            .eq(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

impl From<&Labels> for LabelSet {
    fn from(labels: &Labels) -> LabelSet {
        LabelSet::new(labels)
    }
}

/// The pairs of a [`LabelSet`].
#[derive(Clone)]
pub struct Pairs<'a> {
    strs: Strs<'a>,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        Some((self.strs.next()?, self.strs.next()?))
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Encoded as a map, the same bytes as the [`Labels`] it holds.
impl Serialize for LabelSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // With its length first, as postcard needs.
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for LabelSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LabelSet, D::Error> {
        Labels::deserialize(deserializer).map(|l| LabelSet::new(&l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_set_holds_its_pairs_sorted_and_reads_back_as_the_map() {
        let long = "x".repeat(300);
        let map = labels(&[
            ("job", "node"),
            ("alertname", "Up"),
            ("long", &long),
            ("e", ""),
        ]);
        let set = LabelSet::new(&map);
        let names: Vec<&str> = set.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["alertname", "e", "job", "long"]);
        assert_eq!(set.get("long"), Some(long.as_str()));
        assert_eq!(set.get("e"), Some(""));
        assert_eq!(set.get("nope"), None);
        assert_eq!(set.len(), 4);
        assert_eq!(set.to_labels(), map);
        assert!(set.matches(&map));
        assert!(!set.matches(&labels(&[("job", "node")])));
        assert_eq!(format!("{set:?}"), format!("{map:?}"));
    }

    #[test]
    fn the_empty_set_allocates_nothing() {
        let set = LabelSet::new(&Labels::new());
        assert!(set.is_empty() && set.0.is_none());
        assert_eq!(set.len(), 0);
        assert_eq!(set, LabelSet::default());
        // A pair of empty strings is still a pair.
        assert_eq!(LabelSet::new(&labels(&[("", "")])).len(), 1);
    }

    #[test]
    fn it_encodes_as_the_map_it_holds() {
        let map = labels(&[("alertname", "Up"), ("instance", "db-1")]);
        let set = LabelSet::new(&map);
        let bytes = postcard::to_allocvec(&set).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&map).unwrap());
        let back: LabelSet = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, set);
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"{"alertname":"Up","instance":"db-1"}"#
        );
    }
}
