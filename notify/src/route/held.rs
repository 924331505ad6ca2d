//! How an aggregation group holds its alerts. A daemon with a dead
//! receiver may hold a hundred thousand groups of one alert each, so an
//! alert is kept packed ([`Held`]: a [`LabelSet`] and one block for what
//! is only sent) and a small
//! group's alerts in a vector of exactly their number ([`Alerts`]) rather
//! than a B-tree node of eleven. Both encode exactly as the [`Alert`] and
//! the `BTreeMap<String, Alert>` they replace, so saved groups still load.

use serde::de::Deserializer;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use vigil_store::compact::{Strs, packed_len, put_str};
use vigil_store::{Alert, AlertStatus, LabelSet, Severity};

/// An [`Alert`], packed: what a group decides by (fingerprint, labels,
/// status, times) in fields, and what it only sends (summary, links,
/// annotations) in one block. The fingerprint is shared with the record
/// of what was notified. Encodes as the [`Alert`].
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    /// The alert's fingerprint.
    pub fingerprint: Arc<str>,
    /// Its labels.
    pub labels: LabelSet,
    /// The summary, the links, then the annotations' names and values.
    body: Box<[u8]>,
    starts_at: i64,
    ends_at: i64,
    links: u16,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Its severity.
    pub severity: Severity,
}

/// A time of `None`.
const NO_TIME: i64 = i64::MIN;

fn time(t: Option<i64>) -> i64 {
    t.unwrap_or(NO_TIME)
}

fn maybe(t: i64) -> Option<i64> {
    (t != NO_TIME).then_some(t)
}

impl Held {
    /// `alert`, packed. An alert's time of `i64::MIN` is read back as none
    /// (it is before any time an alert is given).
    pub fn new(alert: &Alert) -> Held {
        // Links past 65,535 are not kept (ingest allows far fewer).
        let links = &alert.links[..alert.links.len().min(usize::from(u16::MAX))];
        let strs = std::iter::once(alert.summary.as_str())
            .chain(links.iter().map(String::as_str))
            .chain(
                alert
                    .annotations
                    .iter()
                    .flat_map(|(k, v)| [k.as_str(), v.as_str()]),
            );
        let mut body = Vec::with_capacity(strs.clone().map(packed_len).sum());
        for s in strs {
            put_str(&mut body, s);
        }
        Held {
            fingerprint: alert.fingerprint.as_str().into(),
            labels: LabelSet::new(&alert.labels),
            body: body.into_boxed_slice(),
            starts_at: time(alert.starts_at),
            ends_at: time(alert.ends_at),
            links: links.len() as u16,
            status: alert.status,
            severity: alert.severity,
        }
    }

    /// When it ends, if it says.
    pub fn ends_at(&self) -> Option<i64> {
        maybe(self.ends_at)
    }

    /// Resolves it at `end`.
    pub fn resolve(&mut self, end: i64) {
        self.status = AlertStatus::Resolved;
        self.ends_at = end;
    }

    /// The summary, the links and the annotations' pairs.
    fn body(
        &self,
    ) -> (
        &str,
        impl Iterator<Item = &str>,
        impl Iterator<Item = (&str, &str)>,
    ) {
        let mut strs = Strs::new(&self.body);
        let summary = strs.next().unwrap_or_default();
        let links = strs.clone().take(usize::from(self.links));
        let mut pairs = strs.skip(usize::from(self.links));
        let annotations = std::iter::from_fn(move || Some((pairs.next()?, pairs.next()?)));
        (summary, links, annotations)
    }

    /// The alert, unpacked (to notify, or to show).
    pub fn to_alert(&self) -> Alert {
        let (summary, links, annotations) = self.body();
        Alert {
            fingerprint: self.fingerprint.to_string(),
            status: self.status,
            severity: self.severity,
            summary: summary.to_string(),
            labels: self.labels.to_labels(),
            annotations: annotations
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            starts_at: maybe(self.starts_at),
            ends_at: self.ends_at(),
            links: links.map(str::to_string).collect(),
        }
    }
}

/// Written as the [`Alert`] it packs, field by field, its strings
/// borrowed from the block.
impl Serialize for Held {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (summary, links, annotations) = self.body();
        // A map of borrowed pairs writes as the alert's map of strings.
        let annotations: BTreeMap<&str, &str> = annotations.collect();
        let links: Vec<&str> = links.collect();
        let mut alert = serializer.serialize_struct("Alert", 9)?;
        alert.serialize_field("fingerprint", &*self.fingerprint)?;
        alert.serialize_field("status", &self.status)?;
        alert.serialize_field("severity", &self.severity)?;
        alert.serialize_field("summary", summary)?;
        alert.serialize_field("labels", &self.labels)?;
        alert.serialize_field("annotations", &annotations)?;
        alert.serialize_field("starts_at", &maybe(self.starts_at))?;
        alert.serialize_field("ends_at", &self.ends_at())?;
        alert.serialize_field("links", &links)?;
        alert.end()
    }
}

/// Read as an [`Alert`], then packed.
impl<'de> Deserialize<'de> for Held {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Held, D::Error> {
        Alert::deserialize(deserializer).map(|alert| Held::new(&alert))
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
        let mut other = alert("b");
        other.summary = String::new();
        other.links = vec!["http://a/".into(), String::new(), "é".repeat(100)];
        other.annotations = [("a", "1"), ("desc", ""), ("z", "last")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        (other.starts_at, other.ends_at) = (None, Some(-5));
        let mut bare = alert("c");
        (bare.links, bare.annotations) = (Vec::new(), Default::default());
        for a in [alert("a"), other, bare] {
            let held = Held::new(&a);
            assert_eq!(held.to_alert(), a);
            let bytes = postcard::to_allocvec(&held).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&a).unwrap());
            assert_eq!(postcard::from_bytes::<Held>(&bytes).unwrap(), held);
            let json = serde_json::to_string(&held).unwrap();
            assert_eq!(json, serde_json::to_string(&a).unwrap());
        }
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
