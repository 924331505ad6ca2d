//! How an aggregation group holds its alerts. A daemon with a dead
//! receiver may hold a hundred thousand groups of one alert each, so an
//! alert is kept packed ([`Held`]: boxed strings, [`LabelSet`]s) and a small
//! group's alerts in a vector of exactly their number ([`Alerts`]) rather
//! than a B-tree node of eleven. Both encode exactly as the [`Alert`] and
//! the `BTreeMap<String, Alert>` they replace, so saved groups still load.

use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use vigil_store::{Alert, AlertStatus, LabelSet, Severity};

/// An [`Alert`], packed. Its fingerprint is shared with the record of what
/// was notified. Fields in [`Alert`]'s order: it encodes as one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Held {
    #[serde(with = "shared_str")]
    pub fingerprint: Arc<str>,
    pub status: AlertStatus,
    pub severity: Severity,
    pub summary: Box<str>,
    pub labels: LabelSet,
    pub annotations: LabelSet,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub links: Box<[Box<str>]>,
}

impl Held {
    /// `alert`, packed.
    pub fn new(alert: &Alert) -> Held {
        Held {
            fingerprint: alert.fingerprint.as_str().into(),
            status: alert.status,
            severity: alert.severity,
            summary: alert.summary.as_str().into(),
            labels: LabelSet::new(&alert.labels),
            annotations: LabelSet::new(&alert.annotations),
            starts_at: alert.starts_at,
            ends_at: alert.ends_at,
            links: alert.links.iter().map(|l| l.as_str().into()).collect(),
        }
    }

    /// The alert, unpacked (to notify, or to show).
    pub fn to_alert(&self) -> Alert {
        Alert {
            fingerprint: self.fingerprint.to_string(),
            status: self.status,
            severity: self.severity,
            summary: self.summary.to_string(),
            labels: self.labels.to_labels(),
            annotations: self.annotations.to_labels(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            links: self.links.iter().map(|l| l.to_string()).collect(),
        }
    }
}

/// Up to this many alerts a group keeps in a vector.
const FEW: usize = 16;

/// A group's alerts, by fingerprint.
#[derive(Clone, Debug, PartialEq)]
pub enum Alerts {
    /// Sorted by fingerprint, at most [`FEW`], capacity their number.
    Few(Vec<Held>),
    /// More.
    Many(BTreeMap<Arc<str>, Held>),
}

impl Default for Alerts {
    fn default() -> Alerts {
        Alerts::Few(Vec::new())
    }
}

impl Alerts {
    /// Puts `held` in, replacing the alert of the same fingerprint.
    pub fn insert(&mut self, held: Held) {
        match self {
            Alerts::Few(few) => {
                match few.binary_search_by(|h| h.fingerprint.cmp(&held.fingerprint)) {
                    Ok(at) => few[at] = held,
                    Err(_) if few.len() == FEW => {
                        let mut many: BTreeMap<Arc<str>, Held> = std::mem::take(few)
                            .into_iter()
                            .map(|h| (h.fingerprint.clone(), h))
                            .collect();
                        many.insert(held.fingerprint.clone(), held);
                        *self = Alerts::Many(many);
                    }
                    Err(at) => {
                        // Room for one more, not the doubling a push makes.
                        few.reserve_exact(1);
                        few.insert(at, held);
                    }
                }
            }
            Alerts::Many(many) => {
                many.insert(held.fingerprint.clone(), held);
            }
        }
    }

    /// The alert of `fingerprint`.
    pub fn get_mut(&mut self, fingerprint: &str) -> Option<&mut Held> {
        match self {
            Alerts::Few(few) => few.iter_mut().find(|h| &*h.fingerprint == fingerprint),
            Alerts::Many(many) => many.get_mut(fingerprint),
        }
    }

    /// Keeps the alerts `keep` says to.
    pub fn retain(&mut self, mut keep: impl FnMut(&Held) -> bool) {
        match self {
            Alerts::Few(few) => {
                few.retain(|h| keep(h));
                few.shrink_to_fit();
            }
            Alerts::Many(many) => {
                many.retain(|_, h| keep(h));
                if many.len() <= FEW / 2 {
                    let few = std::mem::take(many).into_values().collect();
                    *self = Alerts::Few(few);
                }
            }
        }
    }

    /// The alerts in fingerprint order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Held> + Clone {
        let (few, many) = match self {
            Alerts::Few(few) => (Some(few.iter()), None),
            Alerts::Many(many) => (None, Some(many.values())),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }

    /// How many.
    pub fn len(&self) -> usize {
        match self {
            Alerts::Few(few) => few.len(),
            Alerts::Many(many) => many.len(),
        }
    }

    /// Whether none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Encoded as a map by fingerprint.
impl Serialize for Alerts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for held in self.values() {
            map.serialize_entry(&*held.fingerprint, held)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Alerts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Alerts, D::Error> {
        let map = BTreeMap::<String, Held>::deserialize(deserializer)?;
        let mut alerts = Alerts::default();
        for held in map.into_values() {
            alerts.insert(held);
        }
        Ok(alerts)
    }
}

/// Shared strings as plain ones (serde's own impl needs its `rc` feature).
pub mod shared_str {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::sync::Arc;

    /// Writes the string.
    pub fn serialize<S: Serializer>(s: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(s)
    }

    /// Reads a string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
        Ok(Arc::from(String::deserialize(deserializer)?))
    }
}

/// Sorted shared strings as a list (a `BTreeSet<String>` encodes the same).
pub mod shared_strs {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::sync::Arc;

    /// Writes the strings.
    pub fn serialize<S: Serializer>(all: &[Arc<str>], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(all.len()))?;
        for s in all {
            seq.serialize_element(&**s)?;
        }
        seq.end()
    }

    /// Reads strings, sorted, each once.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Box<[Arc<str>]>, D::Error> {
        let all = std::collections::BTreeSet::<String>::deserialize(deserializer)?;
        Ok(all.into_iter().map(Arc::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(fp: &str) -> Alert {
        Alert {
            fingerprint: fp.into(),
            status: AlertStatus::Firing,
            severity: Severity::Error,
            summary: format!("{fp} is down"),
            labels: [("instance".to_string(), fp.to_string())].into(),
            annotations: [("runbook".to_string(), "r".to_string())].into(),
            starts_at: Some(1),
            ends_at: None,
            links: vec!["http://x/".into()],
        }
    }

    #[test]
    fn a_held_alert_unpacks_and_encodes_as_the_alert() {
        let a = alert("a");
        let held = Held::new(&a);
        assert_eq!(held.to_alert(), a);
        let bytes = postcard::to_allocvec(&held).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&a).unwrap());
        assert_eq!(postcard::from_bytes::<Held>(&bytes).unwrap(), held);
    }

    #[test]
    fn alerts_stay_sorted_small_or_large_and_encode_as_the_map() {
        let mut alerts = Alerts::default();
        let mut map = BTreeMap::new();
        // Out of order, past the vector's bound, then back under it.
        for i in (0..40).rev().chain([5, 7]) {
            let a = alert(&format!("f{i:02}"));
            alerts.insert(Held::new(&a));
            map.insert(a.fingerprint.clone(), a);
            if alerts.len() <= FEW {
                assert!(matches!(&alerts, Alerts::Few(v) if v.capacity() == v.len()));
            }
        }
        assert!(matches!(alerts, Alerts::Many(_)));
        let fps = |alerts: &Alerts| -> Vec<String> {
            alerts.values().map(|h| h.fingerprint.to_string()).collect()
        };
        assert_eq!(fps(&alerts), map.keys().cloned().collect::<Vec<_>>());
        let bytes = postcard::to_allocvec(&alerts).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&map).unwrap());
        assert_eq!(postcard::from_bytes::<Alerts>(&bytes).unwrap(), alerts);
        alerts.get_mut("f03").unwrap().status = AlertStatus::Resolved;
        alerts.retain(|h| h.fingerprint.as_ref() < "f04" && h.status == AlertStatus::Firing);
        assert_eq!(fps(&alerts), ["f00", "f01", "f02"]);
        assert!(matches!(alerts, Alerts::Few(_)));
        assert!(alerts.get_mut("f39").is_none());
    }
}
